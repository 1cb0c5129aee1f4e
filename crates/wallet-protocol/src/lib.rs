//! Nuts protocol building blocks: JOSE, DIDs, Verifiable Credentials and Presentations.
//!
//! Pure protocol code: no database, no keyring, no Tauri. Keys are reached only through
//! the [`signer::Signer`] trait so that they can live in the vault (or later an HSM).
//! The network is reached only through the injected [`net::HttpClient`] trait (a reqwest
//! adapter with an SSRF guard is provided), time only through [`clock::Clock`], and DID
//! documents only through [`did::DidResolver`].
//!
//! Entry points:
//! - JOSE: [`jose::sign_jwt`], [`jose::sign_compact`], [`jose::verify_compact`],
//!   [`jose::CompactJws`], [`jose::DetachedJws`], [`jose::Jwk`] (RFC 7638 thumbprint),
//!   [`jose::SoftwareSigner`] (ephemeral/test keys).
//! - DIDs: [`did::Did`], [`did::DidUrl`], [`did::DidResolver`], [`did::UniversalResolver`]
//!   (`from_policy`), [`did::StaticDidResolver`], [`did::verify_jws`] (JWS signed by a DID URL),
//!   [`did::web`] (mapping + resolver), [`did::jwk`] (create/resolve), [`did::x509`],
//!   [`did::document::build_did_document`].
//! - Credentials: [`vc::jwt::issue_jwt_vc`], [`vc::jwt::issue_employee_credential`],
//!   [`vc::jwt::verify_jwt_vc`], [`vc::verify_credential`], [`vc::verify_for_holder`] (import
//!   check), [`vc::ldp`] (JsonWebSignature2020 sign/verify, URDNA2015), [`vc::normalize`],
//!   [`vc::status::check_status`] (StatusList2021, soft-fail).
//! - Presentations: [`vp::issue_jwt_vp`], [`vp::issue_ldp_vp`], [`vp::verify_presentation`].
//! - Publication: [`metadata::publication_bundle`], [`metadata::build_entity_statement`],
//!   [`metadata::verify_entity_statement`], [`metadata::authorization_server_metadata`],
//!   [`metadata::client_metadata`], [`metadata::default_org_did`].
//! - DPoP proofs: [`dpop::create_dpop_proof`] (the only builder), [`dpop::verify_dpop_proof`];
//!   the client side (nonces, one retry) in [`oauth::dpop`].
//! - OAuth client: [`oauth`] (PKCE, JAR, discovery, token requests, error responses).
//! - OpenID4VP holder: [`openid4vp`] (request objects, documents, `direct_post` answers).
//! - Random protocol strings: [`random::random_token`].
//! - Secret files (keys, backups): [`private_file::create_owner_only`].
//! - Network policy: [`NetPolicy`] (`--dev`/`NUTS_WALLET_DEV`, `--ca-file`/`NUTS_WALLET_CA_FILE`),
//!   [`net::ReqwestHttpClient`].

pub mod clock;
pub mod did;
pub mod dpop;
pub mod form;
pub mod jose;
pub mod jwe;
pub mod metadata;
pub mod net;
pub mod oauth;
pub mod openid4vp;
pub mod private_file;
pub mod random;
pub mod signer;
pub mod vc;
pub mod vp;

pub use clock::{Clock, FixedClock, SystemClock};
pub use net::NetPolicy;
