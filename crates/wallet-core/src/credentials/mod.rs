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
//! trusted_issuers(vault) / set_issuer_trust(vault, admin, did, trusted)
//! ```

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use wallet_protocol::clock::format_rfc3339;
use wallet_protocol::did::{Did, DidDocument, DidError, DidResolver, UniversalResolver};
use wallet_protocol::net::{BoxFuture, HttpClient, NetPolicy, ReqwestHttpClient};
use wallet_protocol::vc::jwt::VcError;
use wallet_protocol::vc::status::RevocationStatus;
use wallet_protocol::vc::{self, normalize, Credential, VerifiedCredential};
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::{
    Actor, AdminSession, CredentialFilter, CredentialMeta, NewActivity, NewCredential, Outcome,
    SecretString, Vault, VaultError,
};

use crate::org::{self, IdentityError, Result};

/// Vault setting with the DIDs of issuers the administrator trusts (JSON array of strings).
pub const SETTING_TRUSTED_ISSUERS: &str = "trusted_issuers";

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
struct WithOwnDid<'a> {
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

fn own_resolver<'a>(org: &org::OrgInfo, inner: &'a dyn DidResolver) -> WithOwnDid<'a> {
    let own = Did::parse(&org.did).ok().and_then(|did| {
        let doc = org::own_did_document(org).ok()?;
        let doc = DidDocument::new(&did, doc).ok()?;
        Some((did, doc))
    });
    WithOwnDid { own, inner }
}

/// A warning about a credential; `code` is stable (the UI translates it), `message` is
/// English text for the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `expired`, `expiring_soon`, `not_yet_valid`, `revoked`, `suspended`,
    /// `revocation_unknown`, `untrusted_issuer`, `unsigned_properties`.
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
}

impl Warning {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Warning {
            code,
            message: message.into(),
        }
    }
}

/// A stored credential for the list (from the clear listing data; nothing decrypted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialSummary {
    /// Vault id (for show/delete).
    pub id: String,
    /// All types.
    pub types: Vec<String>,
    /// The type to show (the first that is not `VerifiableCredential`).
    pub display_type: String,
    /// `jwt_vc` or `ldp_vc`.
    pub format: String,
    /// Issuer DID.
    pub issuer: String,
    /// Subject DID.
    pub subject: Option<String>,
    /// Validity start (RFC 3339).
    pub valid_from: Option<String>,
    /// Validity end (RFC 3339).
    pub valid_until: Option<String>,
    /// When it was imported (RFC 3339).
    pub imported_at: String,
    /// Whether the issuer is on the trusted issuer list.
    pub issuer_trusted: bool,
    /// Warnings at the time of listing (revocation is only checked by show/import).
    pub warnings: Vec<Warning>,
}

/// Revocation status for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationView {
    /// `no_status`, `active`, `revoked`, `suspended`, `unknown`.
    pub status: &'static str,
    /// Why it is unknown (soft failure, e.g. offline).
    pub reason: Option<String>,
}

impl From<&RevocationStatus> for RevocationView {
    fn from(s: &RevocationStatus) -> Self {
        let (status, reason) = match s {
            RevocationStatus::NoStatus => ("no_status", None),
            RevocationStatus::Active => ("active", None),
            RevocationStatus::Revoked => ("revoked", None),
            RevocationStatus::Suspended => ("suspended", None),
            RevocationStatus::Unknown { reason } => ("unknown", Some(reason.clone())),
        };
        RevocationView { status, reason }
    }
}

/// One credential with its decoded content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialDetail {
    /// Listing data and warnings (including revocation).
    #[serde(flatten)]
    pub summary: CredentialSummary,
    /// The credential's own id (`id` / JWT `jti`).
    pub credential_id: Option<String>,
    /// Decoded `credentialSubject` (array or object, as normalized).
    pub claims: Value,
    /// The whole normalized credential (Nuts F.2 view).
    pub normalized: Value,
    /// Revocation status as checked now.
    pub revocation: RevocationView,
}

/// Result of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// The stored credential with its warnings.
    #[serde(flatten)]
    pub summary: CredentialSummary,
    /// Revocation status at import.
    pub revocation: RevocationView,
}

fn ms_to_rfc3339(ms: Option<i64>) -> Option<String> {
    ms.map(|m| format_rfc3339(m.div_euclid(1000)))
}

fn display_type(types: &[String]) -> String {
    types
        .iter()
        .find(|t| t.as_str() != "VerifiableCredential")
        .or(types.first())
        .cloned()
        .unwrap_or_default()
}

/// The administrator's trusted issuers.
pub fn trusted_issuers(vault: &Vault) -> Result<Vec<String>> {
    Ok(vault
        .setting(SETTING_TRUSTED_ISSUERS)?
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default())
}

/// Adds (`trusted`) or removes an issuer DID from the trusted issuer list. Administrator
/// action. Returns the new list.
pub fn set_issuer_trust(
    vault: &Vault,
    admin: &AdminSession,
    issuer: &str,
    trusted: bool,
) -> Result<Vec<String>> {
    let did = Did::parse(issuer.trim())
        .map_err(|e| IdentityError::InvalidInput(format!("issuer: {e}")))?;
    let mut list = trusted_issuers(vault)?;
    list.retain(|d| d != did.as_str());
    if trusted {
        list.push(did.to_string());
    }
    vault.put_setting(admin, SETTING_TRUSTED_ISSUERS, &serde_json::json!(list))?;
    Ok(list)
}

fn summarize(meta: &CredentialMeta, trusted: &[String], now: i64) -> CredentialSummary {
    let mut warnings = Vec::new();
    let from = meta.valid_from_ms.map(|m| m.div_euclid(1000));
    let until = meta.valid_until_ms.map(|m| m.div_euclid(1000));
    if let Some(u) = until {
        if now > u {
            warnings.push(Warning::new(
                "expired",
                format!("expired on {}", format_rfc3339(u)),
            ));
        } else if u - now <= vc::EXPIRING_SOON_SECS {
            warnings.push(Warning::new(
                "expiring_soon",
                format!("expires within 30 days, on {}", format_rfc3339(u)),
            ));
        }
    }
    if let Some(f) = from {
        if now < f {
            warnings.push(Warning::new(
                "not_yet_valid",
                format!("not valid before {}", format_rfc3339(f)),
            ));
        }
    }
    let issuer_trusted = trusted.iter().any(|t| t == &meta.issuer);
    if !issuer_trusted {
        warnings.push(Warning::new(
            "untrusted_issuer",
            format!("issuer {} is not on the trusted issuer list", meta.issuer),
        ));
    }
    CredentialSummary {
        id: meta.id.clone(),
        types: meta.types.clone(),
        display_type: display_type(&meta.types),
        format: meta.format.clone(),
        issuer: meta.issuer.clone(),
        subject: meta.subject.clone(),
        valid_from: ms_to_rfc3339(meta.valid_from_ms),
        valid_until: ms_to_rfc3339(meta.valid_until_ms),
        imported_at: format_rfc3339(meta.created_at_ms.div_euclid(1000)),
        issuer_trusted,
        warnings,
    }
}

fn revocation_warning(status: &RevocationStatus) -> Option<Warning> {
    match status {
        RevocationStatus::Revoked => Some(Warning::new("revoked", "revoked by its issuer")),
        RevocationStatus::Suspended => Some(Warning::new("suspended", "suspended by its issuer")),
        RevocationStatus::Unknown { reason } => Some(Warning::new(
            "revocation_unknown",
            format!("revocation status unknown, offline? ({reason})"),
        )),
        RevocationStatus::NoStatus | RevocationStatus::Active => None,
    }
}

/// JSON-LD properties the proof does not cover (the contexts do not define them), as a
/// warning: they could have been added after signing.
fn unsigned_warning(credential: &Credential) -> Option<Warning> {
    let Credential::Ldp(doc) = credential else {
        return None;
    };
    match vc::ldp::unsigned_properties(doc) {
        Ok(props) if !props.is_empty() => Some(Warning::new(
            "unsigned_properties",
            format!("not covered by the signature: {}", props.join(", ")),
        )),
        _ => None,
    }
}

/// Lists the stored credentials with warnings at `now` (Unix seconds). Needs the vault
/// unlocked; nothing is decrypted and nothing is fetched.
pub fn list_credentials(vault: &Vault, now: i64) -> Result<Vec<CredentialSummary>> {
    let trusted = trusted_issuers(vault)?;
    Ok(vault
        .list_credentials(&CredentialFilter::default())?
        .iter()
        .map(|m| summarize(m, &trusted, now))
        .collect())
}

/// Finds a stored credential by its vault id or a unique prefix of it (at least 4 characters).
pub fn find_credential_id(vault: &Vault, id: &str) -> Result<String> {
    let id = id.trim();
    let all = vault.list_credentials(&CredentialFilter::default())?;
    if let Some(m) = all.iter().find(|m| m.id == id) {
        return Ok(m.id.clone());
    }
    let matches: Vec<&CredentialMeta> = if id.len() >= 4 {
        all.iter().filter(|m| m.id.starts_with(id)).collect()
    } else {
        Vec::new()
    };
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(VaultError::NotFound {
            kind: "credential",
            id: id.to_owned(),
        }
        .into()),
        _ => Err(IdentityError::InvalidInput(format!(
            "credential id prefix {id} is ambiguous ({} matches)",
            matches.len()
        ))),
    }
}

fn normalized_of(c: &Credential) -> Option<Value> {
    match c {
        Credential::Jwt(t) => {
            let jws = wallet_protocol::jose::CompactJws::parse(t).ok()?;
            Some(normalize::jwt_vc(&jws.claims().ok()?))
        }
        Credential::Ldp(v) => Some(normalize::ldp_vc(v)),
    }
}

/// Shows one stored credential: decoded claims, validity, warnings, and its revocation
/// status checked now (soft-fails to `unknown` when the status list cannot be fetched).
pub async fn credential_detail(
    vault: &Vault,
    id: &str,
    env: &VerifyEnv,
) -> Result<CredentialDetail> {
    let id = find_credential_id(vault, id)?;
    let stored = vault.credential(&id)?;
    let credential = Credential::parse(stored.raw.expose_secret())
        .map_err(|e| IdentityError::Protocol(format!("stored credential {id}: {e}")))?;
    let normalized = normalized_of(&credential).ok_or_else(|| {
        IdentityError::Protocol(format!("stored credential {id} cannot be decoded"))
    })?;
    let trusted = trusted_issuers(vault)?;
    let mut summary = summarize(&stored.meta, &trusted, env.clock.now_unix());
    let org = org::organization(vault)?;
    let resolver: Box<dyn DidResolver + '_> = match &org {
        Some(o) => Box::new(own_resolver(o, env.resolver.as_ref())),
        None => Box::new(ForwardResolver(env.resolver.as_ref())),
    };
    let unsigned = unsigned_warning(&credential);
    let status = match Did::parse(&stored.meta.issuer) {
        Ok(issuer) => {
            let verified = VerifiedCredential {
                credential,
                issuer,
                kid: None,
                normalized: normalized.clone(),
            };
            vc::revocation_status(
                &verified,
                env.http.as_ref(),
                &env.policy,
                resolver.as_ref(),
                env.clock.as_ref(),
            )
            .await
        }
        Err(e) => RevocationStatus::Unknown {
            reason: format!("issuer is not a DID: {e}"),
        },
    };
    summary.warnings.extend(revocation_warning(&status));
    summary.warnings.extend(unsigned);
    Ok(CredentialDetail {
        summary,
        credential_id: normalized
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        claims: normalized
            .get("credentialSubject")
            .cloned()
            .unwrap_or(Value::Null),
        revocation: RevocationView::from(&status),
        normalized,
    })
}

struct ForwardResolver<'a>(&'a dyn DidResolver);

impl DidResolver for ForwardResolver<'_> {
    fn resolve<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, std::result::Result<DidDocument, DidError>> {
        self.0.resolve(did)
    }
}

/// Deletes a stored credential (by id or unique prefix). Administrator action; recorded by
/// the vault as `credential.delete`.
pub fn delete_credential(vault: &Vault, admin: &AdminSession, id: &str) -> Result<String> {
    let id = find_credential_id(vault, id)?;
    vault.delete_credential(admin, &id)?;
    Ok(id)
}

/// Why an import was refused, as one precise sentence.
fn refusal_reason(e: &VcError, org_did: &str, unverified: Option<&Value>) -> String {
    match e {
        VcError::SubjectMismatch(_) => {
            let ids = unverified.map(normalize::subject_ids).unwrap_or_default();
            if ids.is_empty() {
                format!(
                    "it has no credentialSubject.id; it must be the organization's DID {org_did}"
                )
            } else {
                format!(
                    "its subject is {}, not the organization's DID {org_did}",
                    ids.join(", ")
                )
            }
        }
        VcError::Expired(at) => format!("it expired at {at}"),
        VcError::NotYetValid(at) => format!("it is not valid before {at}"),
        VcError::Jose(j) => format!("the signature does not verify ({j})"),
        VcError::Did(d) => format!("the issuer's DID cannot be resolved ({d})"),
        VcError::IssuerKeyMismatch(m) => format!("the signing key is not the issuer's ({m})"),
        VcError::Ld(l) => format!("the JSON-LD proof does not verify ({l})"),
        VcError::NutsRule(m) => format!("it breaks a Nuts rule: {m}"),
        VcError::Malformed(m) => format!("it is malformed: {m}"),
    }
}

fn refuse(vault: &Vault, reason: String) -> IdentityError {
    // Best effort: the refusal itself is an administrator action worth logging.
    let _ = vault.record(
        NewActivity::new(Actor::Admin, "credential.import", "refused")
            .outcome(Outcome::Failure)
            .detail(serde_json::json!({ "reason": reason })),
    );
    IdentityError::Refused(reason)
}

/// Imports a credential (compact JWT VC or JSON-LD VC text) for the organization after
/// checking it (see the module docs). Administrator action.
pub async fn import_credential(
    vault: &Vault,
    admin: &AdminSession,
    text: &str,
    env: &VerifyEnv,
) -> Result<Imported> {
    if vault.admin_session_remaining(admin).is_none() {
        return Err(VaultError::AdminRequired("importing credentials").into());
    }
    let org = org::require_organization(vault)?;
    let credential = match Credential::parse(text) {
        Ok(c) => c,
        Err(e) => {
            return Err(refuse(
                vault,
                format!("it is neither a JWT VC nor a JSON-LD VC ({e})"),
            ))
        }
    };
    let unverified = normalized_of(&credential);
    let holder = Did::parse(&org.did).map_err(IdentityError::protocol)?;
    let resolver = own_resolver(&org, env.resolver.as_ref());
    let verified =
        match vc::verify_for_holder(&credential, &holder, &resolver, env.clock.as_ref()).await {
            Ok(v) => v,
            Err(e) => {
                return Err(refuse(
                    vault,
                    refusal_reason(&e, &org.did, unverified.as_ref()),
                ))
            }
        };
    let status = vc::revocation_status(
        &verified,
        env.http.as_ref(),
        &env.policy,
        &resolver,
        env.clock.as_ref(),
    )
    .await;
    match status {
        RevocationStatus::Revoked => return Err(refuse(vault, "its issuer has revoked it".into())),
        RevocationStatus::Suspended => {
            return Err(refuse(vault, "its issuer has suspended it".into()))
        }
        _ => {}
    }
    let vc_id = verified
        .normalized
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for m in vault.list_credentials(&CredentialFilter::default())? {
        let stored = vault.credential(&m.id)?;
        let same = Credential::parse(stored.raw.expose_secret())
            .ok()
            .and_then(|c| normalized_of(&c))
            .and_then(|n| n.get("id").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|id| !vc_id.is_empty() && id == vc_id);
        if same {
            return Err(IdentityError::Duplicate(m.id));
        }
    }
    let info = vc::validity_info(&verified.normalized, env.clock.now_unix());
    let types = normalize::types(&verified.normalized);
    let raw = match &credential {
        Credential::Jwt(t) => t.clone(),
        Credential::Ldp(_) => text.trim().to_owned(),
    };
    let meta = vault.import_credential(
        admin,
        NewCredential {
            types,
            format: credential.format().to_owned(),
            issuer: verified.issuer.to_string(),
            subject: Some(org.did.clone()),
            valid_from_ms: info.valid_from.map(|s| s * 1000),
            valid_until_ms: info.valid_until.map(|s| s * 1000),
            raw: SecretString::from(raw),
        },
    )?;
    let trusted = trusted_issuers(vault)?;
    let mut summary = summarize(&meta, &trusted, env.clock.now_unix());
    summary.warnings.extend(revocation_warning(&status));
    summary.warnings.extend(unsigned_warning(&credential));
    Ok(Imported {
        summary,
        revocation: RevocationView::from(&status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::tests::{setup, vault};
    use serde_json::json;
    use wallet_protocol::did::{jwk as didjwk, StaticDidResolver};
    use wallet_protocol::jose::{Jwk, SoftwareSigner};
    use wallet_protocol::net::{HttpRequest, HttpResponse, NetError};
    use wallet_protocol::signer::Signer;
    use wallet_protocol::vc::jwt::{issue_jwt_vc, JwtVcRequest};
    use wallet_protocol::FixedClock;
    use wallet_vault::ActivityFilter;

    struct Offline;
    impl HttpClient for Offline {
        fn execute(
            &self,
            _: HttpRequest,
        ) -> BoxFuture<'_, std::result::Result<HttpResponse, NetError>> {
            Box::pin(async { Err(NetError::Transport("offline".into())) })
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn env() -> VerifyEnv {
        VerifyEnv {
            resolver: Arc::new(StaticDidResolver::new()),
            http: Arc::new(Offline),
            policy: NetPolicy::default(),
            clock: Arc::new(FixedClock(NOW)),
        }
    }

    fn issuer() -> (Did, SoftwareSigner) {
        let mut s = SoftwareSigner::generate_es256("x").unwrap();
        let did = didjwk::create(&Jwk::from_map(s.public_jwk()).unwrap()).unwrap();
        s.set_key_id(didjwk::key_id(&did).as_str());
        (did, s)
    }

    fn org_credential(
        signer: &SoftwareSigner,
        issuer: &Did,
        subject: &str,
        from: i64,
        until: i64,
    ) -> String {
        let mut claims = serde_json::Map::new();
        claims.insert(
            "organization".into(),
            json!({"name": "Zorg B.V.", "city": "Utrecht"}),
        );
        issue_jwt_vc(
            signer,
            &JwtVcRequest {
                issuer: issuer.clone(),
                subject: Did::parse(subject).unwrap(),
                credential_type: "NutsOrganizationCredential".into(),
                extra_contexts: vec![wallet_protocol::vc::contexts::NUTS_V1.into()],
                subject_claims: claims,
                not_before: from,
                expires: until,
            },
        )
        .unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn import_list_show_delete_with_warnings_and_log() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let org = setup(&v, &admin);
        let (iss, signer) = issuer();
        let rt = rt();
        let env = env();
        // Expires in 10 days: imported with an "expiring soon" warning.
        let jwt = org_credential(&signer, &iss, &org.did, NOW - 60, NOW + 10 * 86_400);
        let imported = rt
            .block_on(import_credential(&v, &admin, &format!("  {jwt}\n"), &env))
            .unwrap();
        let codes: Vec<&str> = imported.summary.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, ["expiring_soon", "untrusted_issuer"]);
        assert_eq!(imported.revocation.status, "no_status");
        assert_eq!(imported.summary.display_type, "NutsOrganizationCredential");
        assert_eq!(imported.summary.subject.as_deref(), Some(org.did.as_str()));

        // The same credential again is a duplicate.
        let dup = rt.block_on(import_credential(&v, &admin, &jwt, &env));
        assert!(matches!(dup, Err(IdentityError::Duplicate(ref id)) if *id == imported.summary.id));

        // Trusting the issuer removes that warning; listing later shows "expired".
        set_issuer_trust(&v, &admin, iss.as_str(), true).unwrap();
        let later = list_credentials(&v, NOW + 11 * 86_400).unwrap();
        assert_eq!(later.len(), 1);
        assert!(later[0].issuer_trusted);
        let codes: Vec<&str> = later[0].warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, ["expired"]);

        let prefix = &imported.summary.id[..8];
        let detail = rt.block_on(credential_detail(&v, prefix, &env)).unwrap();
        assert_eq!(detail.summary.id, imported.summary.id);
        assert_eq!(detail.claims[0]["organization"]["city"], "Utrecht");
        assert!(detail
            .credential_id
            .as_deref()
            .is_some_and(|id| id.starts_with(iss.as_str())));

        assert!(rt.block_on(credential_detail(&v, "nope", &env)).is_err());
        delete_credential(&v, &admin, prefix).unwrap();
        assert!(list_credentials(&v, NOW).unwrap().is_empty());
        let log = v
            .activity(&ActivityFilter {
                action_prefix: Some("credential.".into()),
                ..Default::default()
            })
            .unwrap();
        let actions: Vec<(&str, &str)> = log
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("credential.delete", "success"),
                ("credential.import", "success")
            ]
        );
    }

    #[test]
    fn import_refuses_with_precise_reasons_and_logs_them() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let org = setup(&v, &admin);
        let (iss, signer) = issuer();
        let rt = rt();
        let env = env();
        let other = "did:web:other.example:iam:1";
        let cases: Vec<(String, String)> = vec![
            (
                org_credential(&signer, &iss, other, NOW - 60, NOW + 3600),
                format!(
                    "its subject is {other}, not the organization's DID {}",
                    org.did
                ),
            ),
            (
                org_credential(&signer, &iss, &org.did, NOW - 7200, NOW - 3600),
                "it expired at".into(),
            ),
            (
                org_credential(&signer, &iss, &org.did, NOW + 3600, NOW + 7200),
                "it is not valid before".into(),
            ),
            (
                {
                    let t = org_credential(&signer, &iss, &org.did, NOW - 60, NOW + 3600);
                    let (rest, sig) = t.rsplit_once('.').unwrap();
                    let flipped = if sig.starts_with('A') { "B" } else { "A" };
                    format!("{rest}.{flipped}{}", &sig[1..])
                },
                "the signature does not verify".into(),
            ),
            ("hello".into(), "neither a JWT VC nor a JSON-LD VC".into()),
            (
                {
                    let web = Did::parse("did:web:issuer.example").unwrap();
                    let mut s = SoftwareSigner::generate_es256("x").unwrap();
                    s.set_key_id(web.with_fragment("k").as_str());
                    org_credential(&s, &web, &org.did, NOW - 60, NOW + 3600)
                },
                "the issuer's DID cannot be resolved".into(),
            ),
        ];
        for (text, expect) in &cases {
            let e = rt
                .block_on(import_credential(&v, &admin, text, &env))
                .unwrap_err();
            assert_eq!(e.code(), "credential_refused", "{e}");
            assert!(e.to_string().contains(expect.as_str()), "{e} / {expect}");
        }
        assert!(list_credentials(&v, NOW).unwrap().is_empty());
        let failures = v
            .activity(&ActivityFilter {
                action_prefix: Some("credential.import".into()),
                outcome: Some("failure".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(failures.len(), cases.len());
    }

    #[test]
    fn self_issued_credential_resolves_the_own_did_offline() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let org = setup(&v, &admin);
        let signer = crate::org::organization_signer(&v, &org).unwrap();
        let own = Did::parse(&org.did).unwrap();
        let mut claims = serde_json::Map::new();
        claims.insert(
            "organization".into(),
            json!({"name": "Zorg", "city": "Ede"}),
        );
        let jwt = issue_jwt_vc(
            &signer,
            &JwtVcRequest {
                issuer: own.clone(),
                subject: own,
                credential_type: "NutsOrganizationCredential".into(),
                extra_contexts: vec![wallet_protocol::vc::contexts::NUTS_V1.into()],
                subject_claims: claims,
                not_before: NOW - 10,
                expires: NOW + 365 * 86_400,
            },
        )
        .unwrap();
        let imported = rt()
            .block_on(import_credential(&v, &admin, &jwt, &env()))
            .unwrap();
        assert_eq!(imported.summary.issuer, org.did);
    }

    #[test]
    fn import_needs_an_organization() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let (iss, signer) = issuer();
        let jwt = org_credential(&signer, &iss, "did:web:x.example", NOW - 1, NOW + 60);
        let e = rt()
            .block_on(import_credential(&v, &admin, &jwt, &env()))
            .unwrap_err();
        assert!(matches!(e, IdentityError::NoOrganization), "{e}");
        assert!(set_issuer_trust(&v, &admin, "not a did", true).is_err());
    }

    /// A gzip member with one stored deflate block (no compression library needed).
    fn gzip_stored(data: &[u8]) -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in data {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let len = u16::try_from(data.len()).unwrap();
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&crc32(data).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    const LIST_URL: &str = "https://status.example/list/1";

    /// Serves one status list credential; everything else is offline.
    struct StatusServer(String);
    impl HttpClient for StatusServer {
        fn execute(
            &self,
            req: HttpRequest,
        ) -> BoxFuture<'_, std::result::Result<HttpResponse, NetError>> {
            let body = self.0.clone().into_bytes();
            Box::pin(async move {
                if req.url.as_str() != LIST_URL {
                    return Err(NetError::Transport("offline".into()));
                }
                Ok(HttpResponse {
                    status: 200,
                    content_type: Some("application/vc+jwt".into()),
                    body,
                    headers: vec![],
                })
            })
        }
    }

    fn status_list(signer: &SoftwareSigner, issuer: &Did, revoked_index: usize) -> String {
        let mut bits = vec![0u8; 16];
        bits[revoked_index / 8] |= 0x80 >> (revoked_index % 8);
        let claims = json!({
            "iss": issuer.as_str(), "jti": format!("{issuer}#list-1"), "nbf": NOW - 100, "exp": NOW + 86_400,
            "vc": {
                "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/vc/status-list/2021/v1"],
                "type": ["VerifiableCredential", "StatusList2021Credential"],
                "credentialSubject": {
                    "id": format!("{LIST_URL}#list"), "type": "StatusList2021", "statusPurpose": "revocation",
                    "encodedList": wallet_protocol::jose::b64url(&gzip_stored(&bits)),
                }
            }
        });
        wallet_protocol::jose::sign_jwt(signer, claims.as_object().unwrap()).unwrap()
    }

    fn with_status(signer: &SoftwareSigner, issuer: &Did, subject: &str, index: u32) -> String {
        let claims = json!({
            "iss": issuer.as_str(), "sub": subject, "jti": format!("{issuer}#cred-{index}"),
            "nbf": NOW - 60, "exp": NOW + 365 * 86_400,
            "vc": {
                "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1", "https://w3id.org/vc/status-list/2021/v1"],
                "type": ["NutsUraCredential", "VerifiableCredential"],
                "credentialSubject": [{"id": subject, "organization": {"ura": "12345678"}}],
                "credentialStatus": {
                    "id": format!("{LIST_URL}#{index}"), "type": "StatusList2021Entry",
                    "statusPurpose": "revocation", "statusListIndex": index.to_string(),
                    "statusListCredential": LIST_URL,
                }
            }
        });
        wallet_protocol::jose::sign_jwt(signer, claims.as_object().unwrap()).unwrap()
    }

    #[test]
    fn revoked_credentials_are_refused_and_unknown_status_is_a_warning() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let org = setup(&v, &admin);
        let (iss, signer) = issuer();
        let rt = rt();
        let online = VerifyEnv {
            http: Arc::new(StatusServer(status_list(&signer, &iss, 3))),
            ..env()
        };
        let revoked = with_status(&signer, &iss, &org.did, 3);
        let e = rt
            .block_on(import_credential(&v, &admin, &revoked, &online))
            .unwrap_err();
        assert!(e.to_string().contains("its issuer has revoked it"), "{e}");

        let active = with_status(&signer, &iss, &org.did, 4);
        let ok = rt
            .block_on(import_credential(&v, &admin, &active, &online))
            .unwrap();
        assert_eq!(ok.revocation.status, "active");
        assert_eq!(ok.summary.display_type, "NutsUraCredential");
        assert!(!ok
            .summary
            .warnings
            .iter()
            .any(|w| w.code == "revocation_unknown"));

        // Offline: imported, with the soft failure said out loud.
        let other = with_status(&signer, &iss, &org.did, 5);
        let offline = rt
            .block_on(import_credential(&v, &admin, &other, &env()))
            .unwrap();
        assert_eq!(offline.revocation.status, "unknown");
        let w = offline
            .summary
            .warnings
            .iter()
            .find(|w| w.code == "revocation_unknown")
            .unwrap();
        assert!(w.message.contains("offline"), "{}", w.message);
        // Show re-checks: the list now says index 5 is revoked.
        let now_revoked = VerifyEnv {
            http: Arc::new(StatusServer(status_list(&signer, &iss, 5))),
            ..env()
        };
        let d = rt
            .block_on(credential_detail(&v, &offline.summary.id, &now_revoked))
            .unwrap();
        assert_eq!(d.revocation.status, "revoked");
        assert!(d.summary.warnings.iter().any(|w| w.code == "revoked"));
    }

    #[test]
    fn json_ld_credentials_import_and_unsigned_properties_are_flagged() {
        use wallet_protocol::vc::ldp::{self, ProofOptions};
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let org = setup(&v, &admin);
        let (iss, signer) = issuer();
        let unsigned = json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1",
                         "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json"],
            "id": format!("{iss}#36b83620-13b2-4fbf-a57a-618731839a6f"),
            "type": ["NutsOrganizationCredential", "VerifiableCredential"],
            "issuer": iss.as_str(),
            "issuanceDate": wallet_protocol::clock::format_rfc3339(NOW - 100),
            "credentialSubject": {"id": org.did, "organization": {"name": "Zorg B.V.", "city": "Utrecht"}}
        });
        let signed = ldp::sign(
            &unsigned,
            &signer,
            &ProofOptions {
                created: NOW - 100,
                ..Default::default()
            },
        )
        .unwrap();
        let rt = rt();
        let ok = rt
            .block_on(import_credential(&v, &admin, &signed.to_string(), &env()))
            .unwrap();
        assert_eq!(ok.summary.format, "ldp_vc");
        assert!(!ok
            .summary
            .warnings
            .iter()
            .any(|w| w.code == "unsigned_properties"));
        let d = rt
            .block_on(credential_detail(&v, &ok.summary.id, &env()))
            .unwrap();
        assert_eq!(d.claims["organization"]["city"], "Utrecht");

        // A term no context defines is not signed: imported with a warning.
        let mut extra = unsigned.clone();
        extra["id"] = json!(format!("{iss}#second"));
        extra["credentialSubject"]["organization"]["nickname"] = json!("ZBV");
        let signed = ldp::sign(
            &extra,
            &signer,
            &ProofOptions {
                created: NOW - 100,
                ..Default::default()
            },
        )
        .unwrap();
        let flagged = rt
            .block_on(import_credential(&v, &admin, &signed.to_string(), &env()))
            .unwrap();
        let w = flagged
            .summary
            .warnings
            .iter()
            .find(|w| w.code == "unsigned_properties")
            .expect("unsigned property warning");
        assert!(w.message.contains("nickname"), "{}", w.message);

        // A changed value breaks the JSON-LD proof.
        let mut tampered = signed.clone();
        tampered["credentialSubject"]["organization"]["city"] = json!("Amsterdam");
        let e = rt
            .block_on(import_credential(&v, &admin, &tampered.to_string(), &env()))
            .unwrap_err();
        assert_eq!(e.code(), "credential_refused", "{e}");
    }

    #[test]
    fn use_case_futures_are_send_for_the_app() {
        // Tauri's async commands need Send futures.
        fn send<T: Send>(_: &T) {}
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let env = env();
        let import = import_credential(&v, &admin, "x", &env);
        send(&import);
        let detail = credential_detail(&v, "x", &env);
        send(&detail);
        drop((import, detail));
    }
}
