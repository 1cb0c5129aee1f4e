//! The organization's credentials (administrator): import with a full check, list, show with
//! decoded claims and warnings, delete.
//!
//! Import (JWT VC or JSON-LD VC text) verifies the proof with the issuer's key found through
//! DID resolution, the issuer DID, the validity window, the Nuts acceptance rules and that
//! every subject is the organization's DID; a confirmed revocation (StatusList2021) refuses
//! it too. Anything else is refused with a precise reason, and the refusal is logged. The
//! listing data (types, issuer, subject, validity) is stored in the clear for listing; the
//! credential itself is sealed by the vault. The vault records `credential.import` and
//! `credential.delete` in the same transaction as the change.
//!
//! Warnings shown with each credential ([`Warning::code`]): `expired`, `expiring_soon`
//! (within 30 days), `not_yet_valid`, `revoked`, `suspended`, `revocation_unknown` (status
//! list unreachable: soft failure, "unknown, offline"), `untrusted_issuer` (issuer not in the
//! administrator's trusted issuer list, [`set_issuer_trust`]), `unsigned_properties`
//! (JSON-LD properties the proof does not cover). Revocation and unsigned properties are
//! checked at import and by [`credential_detail`], not by the (offline) list.
//!
//! ```text
//! import_credential(vault, admin, text, env).await -> Imported
//! list_credentials(vault, now) -> Vec<CredentialSummary>
//! credential_detail(vault, id, env).await -> CredentialDetail
//! delete_credential(vault, admin, id)
//! export_credential(vault, id) -> stored text
//! issue_x509_credential(vault, admin, source, ca_dn, env).await -> X509Issued
//! trusted_issuers(vault) / set_issuer_trust(vault, admin, did, trusted)
//! ```

//!
//! Layout: `import.rs` (the checks and the refusals), `export.rs` (the stored text),
//! `gate.rs` (what may be presented right now: validity and revocation re-checked), `listing.rs` (list, show, delete, the
//! trusted issuer list), `views.rs` (what the UI and CLI show: summaries, warnings,
//! revocation status), `x509_issue.rs` (the organization's own X509Credential from its UZI
//! server certificate, stored through the import).

mod export;
pub mod gate;
mod import;
mod listing;
mod views;
mod x509_issue;

pub use export::export_credential;
pub use gate::{CredentialNote, NoteCode, Screener, Screening, StatusGate};
pub use import::import_credential;
pub use listing::{
    credential_detail, delete_credential, expiring_credentials, find_credential_id,
    list_credentials, set_issuer_trust, trusted_issuers, SETTING_TRUSTED_ISSUERS,
};
pub use views::{
    organization_facts, CredentialDetail, CredentialSummary, Imported, OrganizationFacts,
    RevocationView, Warning,
};
pub use x509_issue::{
    issue_x509_credential, prepare_x509_credential, x509_authorities, CertificateSource,
    IssueX509Error, X509CredentialView, X509Issued,
};

use std::sync::Arc;

use serde_json::Value;
use wallet_protocol::did::{Did, DidDocument, DidError, DidResolver, UniversalResolver};
use wallet_protocol::net::{BoxFuture, HttpClient, NetPolicy, ReqwestHttpClient};
use wallet_protocol::vc::{normalize, Credential};
use wallet_protocol::{Clock, SystemClock};

use crate::org::{self, IdentityError, Result};

/// The outside world a credential check needs: DID resolution, HTTP for status lists, the
/// network policy and the clock.
#[derive(Clone)]
pub struct VerifyEnv {
    /// DID resolver (did:web over HTTPS, did:jwk locally).
    pub resolver: Arc<dyn DidResolver>,
    /// HTTP client for status lists.
    pub http: Arc<dyn HttpClient>,
    /// Network policy (development mode, extra CA).
    pub policy: NetPolicy,
    /// Clock.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for VerifyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyEnv")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl VerifyEnv {
    /// The production setup under `policy` (from `--dev`/`--ca-file` or the app settings):
    /// reqwest with the SSRF guard, did:web cache, system clock.
    pub fn from_policy(policy: NetPolicy) -> Result<Self> {
        let net = |e: wallet_protocol::net::NetError| IdentityError::Protocol(e.to_string());
        Ok(Self {
            resolver: Arc::new(UniversalResolver::from_policy(&policy).map_err(net)?),
            http: Arc::new(ReqwestHttpClient::new(policy.clone()).map_err(net)?),
            policy,
            clock: Arc::new(SystemClock),
        })
    }
}

/// Resolves the organization's own DID from the vault (self-issued credentials need no
/// network), everything else through `inner`.
pub(crate) struct WithOwnDid<'a> {
    own: Option<(Did, DidDocument)>,
    inner: &'a dyn DidResolver,
}

impl DidResolver for WithOwnDid<'_> {
    fn resolve<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, std::result::Result<DidDocument, DidError>> {
        match &self.own {
            Some((own, doc)) if own == did => {
                let doc = doc.clone();
                Box::pin(async move { Ok(doc) })
            }
            _ => self.inner.resolve(did),
        }
    }
}

pub(crate) fn own_resolver<'a>(org: &org::OrgInfo, inner: &'a dyn DidResolver) -> WithOwnDid<'a> {
    let own = Did::parse(&org.did).ok().and_then(|did| {
        let doc = org::own_did_document(org).ok()?;
        let doc = DidDocument::new(&did, doc).ok()?;
        Some((did, doc))
    });
    WithOwnDid { own, inner }
}

pub(crate) fn normalized_of(c: &Credential) -> Option<Value> {
    match c {
        Credential::Jwt(t) => {
            let jws = wallet_protocol::jose::CompactJws::parse(t).ok()?;
            Some(normalize::jwt_vc(&jws.claims().ok()?))
        }
        Credential::Ldp(v) => Some(normalize::ldp_vc(v)),
    }
}

pub(crate) struct ForwardResolver<'a>(pub(crate) &'a dyn DidResolver);

impl DidResolver for ForwardResolver<'_> {
    fn resolve<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, std::result::Result<DidDocument, DidError>> {
        self.0.resolve(did)
    }
}

#[cfg(test)]
mod tests;
