//! Tests of the credential use cases.

use super::*;
use crate::org::tests::{setup, vault};
use serde_json::json;
use wallet_protocol::did::{jwk as didjwk, StaticDidResolver};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::net::{HttpRequest, HttpResponse, NetError};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::jwt::{issue_jwt_vc, JwtVcRequest};
use wallet_protocol::FixedClock;
use wallet_vault::{ActivityFilter, AdminSession, Vault};

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

/// A vault with an organization, an outside issuer and a runtime: where most tests start.
struct World {
    _dir: tempfile::TempDir,
    v: Vault,
    admin: AdminSession,
    org: org::OrgInfo,
    iss: Did,
    signer: SoftwareSigner,
    rt: tokio::runtime::Runtime,
}

fn world() -> World {
    let _dir = tempfile::tempdir().unwrap();
    let (v, admin) = vault(_dir.path());
    let org = setup(&v, &admin);
    let (iss, signer) = issuer();
    World {
        _dir,
        v,
        admin,
        org,
        iss,
        signer,
        rt: rt(),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn import_list_show_delete_with_warnings_and_log() {
    let w = world();
    let env = env();
    // Expires in 10 days: imported with an "expiring soon" warning.
    let jwt = org_credential(&w.signer, &w.iss, &w.org.did, NOW - 60, NOW + 10 * 86_400);
    let imported =
        w.rt.block_on(import_credential(
            &w.v,
            &w.admin,
            &format!("  {jwt}\n"),
            &env,
        ))
        .unwrap();
    let codes: Vec<&str> = imported.summary.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, ["expiring_soon", "untrusted_issuer"]);
    assert_eq!(imported.revocation.status, "no_status");
    assert_eq!(imported.summary.display_type, "NutsOrganizationCredential");
    assert_eq!(
        imported.summary.subject.as_deref(),
        Some(w.org.did.as_str())
    );

    // The same credential again is a duplicate.
    let dup = w.rt.block_on(import_credential(&w.v, &w.admin, &jwt, &env));
    assert!(matches!(dup, Err(IdentityError::Duplicate(ref id)) if *id == imported.summary.id));

    // Trusting the issuer removes that warning; listing later shows "expired".
    set_issuer_trust(&w.v, &w.admin, w.iss.as_str(), true).unwrap();
    let later = list_credentials(&w.v, NOW + 11 * 86_400).unwrap();
    assert_eq!(later.len(), 1);
    assert!(later[0].issuer_trusted);
    let codes: Vec<&str> = later[0].warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, ["expired"]);
    // What Home and the notification warn about: within 30 days, and after the end.
    assert_eq!(expiring_credentials(&w.v, NOW).unwrap().len(), 1);
    assert_eq!(
        expiring_credentials(&w.v, NOW + 11 * 86_400).unwrap().len(),
        1
    );
    assert!(expiring_credentials(&w.v, NOW - 30 * 86_400)
        .unwrap()
        .is_empty());
    // The listing names the organization the credential is about.
    let facts = later[0].organization.as_ref().expect("organization facts");
    assert_eq!(facts.city.as_deref(), Some("Utrecht"));
    assert_eq!(facts.ura, None);

    let prefix = &imported.summary.id[..8];
    let detail =
        w.rt.block_on(credential_detail(&w.v, prefix, &env))
            .unwrap();
    assert_eq!(detail.summary.id, imported.summary.id);
    assert_eq!(detail.claims[0]["organization"]["city"], "Utrecht");
    assert!(detail
        .credential_id
        .as_deref()
        .is_some_and(|id| id.starts_with(w.iss.as_str())));

    assert!(w
        .rt
        .block_on(credential_detail(&w.v, "nope", &env))
        .is_err());
    delete_credential(&w.v, &w.admin, prefix).unwrap();
    assert!(list_credentials(&w.v, NOW).unwrap().is_empty());
    let log =
        w.v.activity_log()
            .list(&ActivityFilter {
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
    let w = world();
    let env = env();
    let other = "did:web:other.example:iam:1";
    let cases: Vec<(String, String)> = vec![
        (
            org_credential(&w.signer, &w.iss, other, NOW - 60, NOW + 3600),
            format!(
                "its subject is {other}, not the organization's DID {}",
                w.org.did
            ),
        ),
        (
            org_credential(&w.signer, &w.iss, &w.org.did, NOW - 7200, NOW - 3600),
            "it expired at".into(),
        ),
        (
            org_credential(&w.signer, &w.iss, &w.org.did, NOW + 3600, NOW + 7200),
            "it is not valid before".into(),
        ),
        (
            {
                let t = org_credential(&w.signer, &w.iss, &w.org.did, NOW - 60, NOW + 3600);
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
                org_credential(&s, &web, &w.org.did, NOW - 60, NOW + 3600)
            },
            "the issuer's DID cannot be resolved".into(),
        ),
    ];
    for (text, expect) in &cases {
        let e =
            w.rt.block_on(import_credential(&w.v, &w.admin, text, &env))
                .unwrap_err();
        assert_eq!(e.code(), "credential_refused", "{e}");
        assert!(e.to_string().contains(expect.as_str()), "{e} / {expect}");
    }
    assert!(list_credentials(&w.v, NOW).unwrap().is_empty());
    let failures =
        w.v.activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("credential.import".into()),
                outcome: Some("failure".into()),
                ..Default::default()
            })
            .unwrap();
    assert_eq!(failures.len(), cases.len());
}

#[test]
fn self_issued_credential_resolves_the_own_did_offline() {
    let World {
        _dir,
        v,
        admin,
        org,
        ..
    } = world();
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
    let w = world();
    let online = VerifyEnv {
        http: Arc::new(StatusServer(status_list(&w.signer, &w.iss, 3))),
        ..env()
    };
    let revoked = with_status(&w.signer, &w.iss, &w.org.did, 3);
    let e =
        w.rt.block_on(import_credential(&w.v, &w.admin, &revoked, &online))
            .unwrap_err();
    assert!(e.to_string().contains("its issuer has revoked it"), "{e}");

    let active = with_status(&w.signer, &w.iss, &w.org.did, 4);
    let ok =
        w.rt.block_on(import_credential(&w.v, &w.admin, &active, &online))
            .unwrap();
    assert_eq!(ok.revocation.status, "active");
    assert_eq!(ok.summary.display_type, "NutsUraCredential");
    assert!(!ok
        .summary
        .warnings
        .iter()
        .any(|w| w.code == "revocation_unknown"));

    // Offline: imported, with the soft failure said out loud.
    let other = with_status(&w.signer, &w.iss, &w.org.did, 5);
    let offline =
        w.rt.block_on(import_credential(&w.v, &w.admin, &other, &env()))
            .unwrap();
    assert_eq!(offline.revocation.status, "unknown");
    let warning = offline
        .summary
        .warnings
        .iter()
        .find(|w| w.code == "revocation_unknown")
        .unwrap();
    assert!(warning.message.contains("offline"), "{}", warning.message);
    // Show re-checks: the list now says index 5 is revoked.
    let now_revoked = VerifyEnv {
        http: Arc::new(StatusServer(status_list(&w.signer, &w.iss, 5))),
        ..env()
    };
    let d =
        w.rt.block_on(credential_detail(&w.v, &offline.summary.id, &now_revoked))
            .unwrap();
    assert_eq!(d.revocation.status, "revoked");
    assert!(d.summary.warnings.iter().any(|w| w.code == "revoked"));
}

#[test]
fn json_ld_credentials_import_and_unsigned_properties_are_flagged() {
    use wallet_protocol::vc::ldp::{self, ProofOptions};
    let w = world();
    let unsigned = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1",
                     "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json"],
        "id": format!("{}#36b83620-13b2-4fbf-a57a-618731839a6f", w.iss),
        "type": ["NutsOrganizationCredential", "VerifiableCredential"],
        "issuer": w.iss.as_str(),
        "issuanceDate": wallet_protocol::clock::format_rfc3339(NOW - 100),
        "credentialSubject": {"id": w.org.did, "organization": {"name": "Zorg B.V.", "city": "Utrecht"}}
    });
    let signed = ldp::sign(
        &unsigned,
        &w.signer,
        &ProofOptions {
            created: NOW - 100,
            ..Default::default()
        },
    )
    .unwrap();
    let ok =
        w.rt.block_on(import_credential(
            &w.v,
            &w.admin,
            &signed.to_string(),
            &env(),
        ))
        .unwrap();
    assert_eq!(ok.summary.format, "ldp_vc");
    assert!(!ok
        .summary
        .warnings
        .iter()
        .any(|w| w.code == "unsigned_properties"));
    let d =
        w.rt.block_on(credential_detail(&w.v, &ok.summary.id, &env()))
            .unwrap();
    assert_eq!(d.claims["organization"]["city"], "Utrecht");

    // A term no context defines is not signed: imported with a warning.
    let mut extra = unsigned.clone();
    extra["id"] = json!(format!("{}#second", w.iss));
    extra["credentialSubject"]["organization"]["nickname"] = json!("ZBV");
    let signed = ldp::sign(
        &extra,
        &w.signer,
        &ProofOptions {
            created: NOW - 100,
            ..Default::default()
        },
    )
    .unwrap();
    let flagged =
        w.rt.block_on(import_credential(
            &w.v,
            &w.admin,
            &signed.to_string(),
            &env(),
        ))
        .unwrap();
    let warning = flagged
        .summary
        .warnings
        .iter()
        .find(|w| w.code == "unsigned_properties")
        .expect("unsigned property warning");
    assert!(warning.message.contains("nickname"), "{}", warning.message);

    // A changed value breaks the JSON-LD proof.
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["organization"]["city"] = json!("Amsterdam");
    let e =
        w.rt.block_on(import_credential(
            &w.v,
            &w.admin,
            &tampered.to_string(),
            &env(),
        ))
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
