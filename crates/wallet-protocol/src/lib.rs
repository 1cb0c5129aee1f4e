//! Nuts protocol building blocks: JOSE, DIDs, Verifiable Credentials and Presentations.
//!
//! Pure protocol code: no database, no keyring, no Tauri. Keys are reached only through
//! the [`signer::Signer`] trait so that they can live in the vault (or later an HSM).
//! The network is reached only through the injected [`net::HttpClient`] trait (a reqwest
//! adapter with an SSRF guard is provided), time only through [`clock::Clock`], and DID
//! documents only through [`did::DidResolver`].
//!
//! Entry points:
//! - JOSE: [`jose::sign_jwt`], [`jose::verify_compact`], [`jose::Jwk`] (RFC 7638 thumbprint).
//! - DIDs: [`did::Did`], [`did::DidResolver`], [`did::UniversalResolver`], [`did::web`],
//!   [`did::jwk`], [`did::x509`], [`did::document::build_did_document`].
//! - Credentials: [`vc::jwt`] (JWT VC issue/verify, NutsEmployeeCredential), [`vc::ldp`]
//!   (JsonWebSignature2020), [`vc::normalize`], [`vc::status`] (StatusList2021).
//! - Presentations: [`vp`] (JWT VP and JSON-LD VP).
//! - Publication: [`metadata`] (entity statement, AS metadata, client metadata).
//! - DPoP proofs: [`dpop`].

pub mod clock;
pub mod did;
pub mod dpop;
pub mod jose;
pub mod metadata;
pub mod net;
pub mod signer;
pub mod vc;
pub mod vp;

pub use clock::{Clock, FixedClock, SystemClock};
pub use net::NetPolicy;
