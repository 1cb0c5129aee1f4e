//! did:x509 from x5c chains generated here (rcgen): chain to the DID's CA fingerprint,
//! subject/SAN policies, validity, and a full X509Credential JWT VC verification.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, OtherNameValue,
    SanType,
};
use serde_json::{json, Map, Value};
use wallet_protocol::did::x509::{ca_fingerprint_sha256, key_id, resolve_chain};
use wallet_protocol::did::{Did, DidError, StaticDidResolver};
use wallet_protocol::jose::{sign_compact, Jwk, SoftwareSigner};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::jwt::{verify_jwt_vc, VcError, VerifyOptions};
use wallet_protocol::FixedClock;

const NOW: i64 = 1_767_225_600; // 2026-01-01
const URA: &str = "2.16.528.1.1007.99.2110-1-87654321-S-87654321-00.000-12345678";

struct Pki {
    root: Certificate,
    intermediate: Certificate,
    leaf: Certificate,
    leaf_key: KeyPair,
}

fn ca(name: &str, parent: Option<(&Certificate, &KeyPair)>) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let cert = match parent {
        Some((c, k)) => p.signed_by(&key, c, k).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    (cert, key)
}

fn leaf(
    org: &str,
    issuer: (&Certificate, &KeyPair),
    not_after: (i32, u8, u8),
) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::OrganizationName, org);
    p.distinguished_name.push(DnType::LocalityName, "Utrecht");
    p.distinguished_name
        .push(DnType::CommonName, "zorg.example");
    p.subject_alt_names = vec![
        SanType::DnsName("zorg.example".try_into().unwrap()),
        SanType::OtherName((vec![2, 5, 5, 5], OtherNameValue::Utf8String(URA.into()))),
    ];
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    (p.signed_by(&key, issuer.0, issuer.1).unwrap(), key)
}

fn pki() -> Pki {
    let (root, root_key) = ca("Test Root", None);
    let (intermediate, int_key) = ca("Test Intermediate", Some((&root, &root_key)));
    let (leaf, leaf_key) = leaf("Zorg B.V.", (&intermediate, &int_key), (2027, 1, 1));
    Pki {
        root,
        intermediate,
        leaf,
        leaf_key,
    }
}

fn x5c(certs: &[&Certificate]) -> Vec<String> {
    certs.iter().map(|c| STANDARD.encode(c.der())).collect()
}

fn did_for(ca: &Certificate, policies: &str) -> Did {
    Did::parse(&format!(
        "did:x509:0:sha256:{}{policies}",
        ca_fingerprint_sha256(ca.der())
    ))
    .unwrap()
}

const POLICIES: &str = "::subject:O:Zorg%20B.V.::subject:L:Utrecht::san:otherName:2.16.528.1.1007.99.2110-1-87654321-S-87654321-00.000-12345678";

#[test]
fn resolves_chain_to_root_or_intermediate_fingerprint() {
    let pki = pki();
    let chain = x5c(&[&pki.leaf, &pki.intermediate, &pki.root]);
    for anchor in [&pki.root, &pki.intermediate] {
        let did = did_for(anchor, POLICIES);
        let r = resolve_chain(&did, &chain, NOW).unwrap();
        let key = r.document.assertion_key(&key_id(&did)).unwrap();
        let pem_pub = pki.leaf_key.public_key_raw();
        let x = wallet_protocol::jose::b64url(&pem_pub[1..33]);
        assert_eq!(key.get("x"), Some(x.as_str()));
        assert_eq!(r.leaf_not_after, 1_798_761_600); // 2027-01-01
    }
}

fn x509_err(r: Result<impl std::fmt::Debug, DidError>) -> String {
    match r {
        Err(DidError::X509(m)) => m,
        other => panic!("expected a did:x509 error, got {other:?}"),
    }
}

#[test]
fn refuses_wrong_anchor_policy_mismatch_forged_and_expired_chains() {
    let pki = pki();
    let chain = x5c(&[&pki.leaf, &pki.intermediate, &pki.root]);
    let (other_root, other_key) = ca("Other Root", None);
    // Fingerprint of a CA that is not in the chain.
    assert!(
        x509_err(resolve_chain(&did_for(&other_root, POLICIES), &chain, NOW))
            .contains("fingerprint")
    );
    // The leaf's own fingerprint is not an acceptable anchor.
    assert!(resolve_chain(&did_for(&pki.leaf, POLICIES), &chain, NOW).is_err());
    // Policies that the leaf does not satisfy.
    for policies in [
        "::subject:O:Andere%20Zorg::subject:L:Utrecht",
        "::subject:L:Amsterdam",
        "::san:otherName:2.16.528.1.1007.99.2110-1-1-S-1-00.000-1",
        "::san:dns:evil.example",
        "::eku:1.3.6.1.5.5.7.3.1",
    ] {
        assert!(
            resolve_chain(&did_for(&pki.root, policies), &chain, NOW).is_err(),
            "{policies}"
        );
    }
    assert!(resolve_chain(&did_for(&pki.root, "::san:dns:zorg.example"), &chain, NOW).is_ok());
    // A leaf with the same names issued by another CA, presented with the real CA chain.
    let (forged, _) = leaf("Zorg B.V.", (&other_root, &other_key), (2027, 1, 1));
    let forged_chain = x5c(&[&forged, &pki.intermediate, &pki.root]);
    assert!(resolve_chain(&did_for(&pki.root, POLICIES), &forged_chain, NOW).is_err());
    // Outside the leaf's validity.
    assert!(x509_err(resolve_chain(
        &did_for(&pki.root, POLICIES),
        &chain,
        1_830_000_000
    ))
    .contains("not valid"));
    // A chain that is only the leaf.
    assert!(resolve_chain(&did_for(&pki.root, POLICIES), &chain[..1], NOW).is_err());
}

fn x509_vc(pki: &Pki, did: &Did, subject: Value, exp: i64) -> String {
    let signer =
        SoftwareSigner::from_pkcs8_der_es256(key_id(did).as_str(), &pki.leaf_key.serialize_der())
            .unwrap();
    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        json!(x5c(&[&pki.leaf, &pki.intermediate, &pki.root])),
    );
    let claims = json!({
        "iss": did.as_str(), "sub": "did:web:zorg.example:iam:1", "jti": format!("{did}#1"), "nbf": NOW - 60, "exp": exp,
        "vc": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential", "X509Credential"], "credentialSubject": subject}
    });
    assert_eq!(
        Jwk::from_map(signer.public_jwk()).unwrap().get("kty"),
        Some("EC")
    );
    sign_compact(
        &signer,
        Some("JWT"),
        header,
        &serde_json::to_vec(&claims).unwrap(),
    )
    .unwrap()
}

#[test]
fn x509_credential_jwt_verifies_with_policy_backed_subject() {
    let pki = pki();
    let did = did_for(&pki.root, POLICIES);
    let resolver = StaticDidResolver::new();
    let subject = json!({"id": "did:web:zorg.example:iam:1", "subject": {"O": "Zorg B.V.", "L": "Utrecht"}, "san": {"otherName": URA}});
    let token = x509_vc(&pki, &did, subject.clone(), NOW + 86_400);
    let v = futures::executor::block_on(verify_jwt_vc(
        &token,
        &resolver,
        &FixedClock(NOW),
        &VerifyOptions::default(),
    ))
    .unwrap();
    assert_eq!(v.issuer, did);
    assert_eq!(v.kid, key_id(&did));

    // A subject field that no policy backs.
    let mut extra = subject.clone();
    extra["subject"]["OU"] = json!("Cardiologie");
    let token = x509_vc(&pki, &did, extra, NOW + 86_400);
    assert!(futures::executor::block_on(verify_jwt_vc(
        &token,
        &resolver,
        &FixedClock(NOW),
        &VerifyOptions::default()
    ))
    .is_err());
    // Outliving the leaf certificate.
    let token = x509_vc(&pki, &did, subject, 1_800_000_000);
    assert!(matches!(
        futures::executor::block_on(verify_jwt_vc(
            &token,
            &resolver,
            &FixedClock(NOW),
            &VerifyOptions::default()
        )),
        Err(VcError::NutsRule(_))
    ));
}

mod crl {
    use super::*;
    use rcgen::{
        CertificateRevocationListParams, CrlDistributionPoint, KeyIdMethod, RevokedCertParams,
        SerialNumber,
    };
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use wallet_protocol::did::x509::check_revocation;
    use wallet_protocol::net::{NetPolicy, ReqwestHttpClient};
    use wallet_protocol::vc::status::RevocationStatus;

    type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

    /// A plain-HTTP server on loopback (CRLs are published over http).
    async fn serve() -> (u16, Files) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let files: Files = Arc::default();
        let f = files.clone();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = tcp.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let body = f.lock().unwrap().get(&path).cloned();
                    let (status, body) = match body {
                        Some(b) => ("200 OK", b),
                        None => ("404 Not Found", Vec::new()),
                    };
                    let head = format!("HTTP/1.1 {status}\r\ncontent-type: application/pkix-crl\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    let _ = tcp.write_all(head.as_bytes()).await;
                    let _ = tcp.write_all(&body).await;
                });
            }
        });
        (port, files)
    }

    fn crl(issuer: &Certificate, key: &KeyPair, revoked: &[u64]) -> Vec<u8> {
        CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2025, 12, 1),
            next_update: rcgen::date_time_ymd(2026, 2, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: rcgen::date_time_ymd(2025, 12, 2),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(issuer, key)
        .unwrap()
        .der()
        .to_vec()
    }

    #[tokio::test]
    async fn crl_revocation_of_the_chain() {
        let (port, files) = serve().await;
        let (root, root_key) = ca("CRL Root", None);
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::OrganizationName, "Zorg B.V.");
        p.serial_number = Some(SerialNumber::from(4242u64));
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2027, 1, 1);
        // rcgen 0.13 only writes extensions when another one (here a SAN) is present.
        p.subject_alt_names = vec![SanType::DnsName("zorg.example".try_into().unwrap())];
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![format!("http://localhost:{port}/root.crl")],
        }];
        let leaf = p.signed_by(&key, &root, &root_key).unwrap();
        let chain = x5c(&[&leaf, &root]);
        let did = did_for(&root, "::subject:O:Zorg%20B.V.");
        assert!(resolve_chain(&did, &chain, NOW).is_ok());

        let policy = NetPolicy {
            dev: true,
            extra_ca_pem: None,
        };
        let http = ReqwestHttpClient::new(policy.clone()).unwrap();
        // No CRL published yet: unknown, never active.
        match check_revocation(&did, &chain, &http, &policy, NOW).await {
            RevocationStatus::Unknown { reason } => assert!(reason.contains("404"), "{reason}"),
            other => panic!("{other:?}"),
        }
        files
            .lock()
            .unwrap()
            .insert("/root.crl".into(), crl(&root, &root_key, &[7, 8]));
        assert_eq!(
            check_revocation(&did, &chain, &http, &policy, NOW).await,
            RevocationStatus::Active
        );
        files
            .lock()
            .unwrap()
            .insert("/root.crl".into(), crl(&root, &root_key, &[7, 4242]));
        assert_eq!(
            check_revocation(&did, &chain, &http, &policy, NOW).await,
            RevocationStatus::Revoked
        );
        // The same through the credential-level entry point, for a JWT VC issued by the DID.
        let signer =
            SoftwareSigner::from_pkcs8_der_es256(key_id(&did).as_str(), &key.serialize_der())
                .unwrap();
        let mut header = Map::new();
        header.insert("x5c".into(), json!(chain));
        let claims = json!({
            "iss": did.as_str(), "sub": "did:web:zorg.example", "jti": format!("{did}#2"), "nbf": NOW - 10, "exp": NOW + 3600,
            "vc": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential", "X509Credential"],
                   "credentialSubject": {"id": "did:web:zorg.example", "subject": {"O": "Zorg B.V."}}}
        });
        let token = sign_compact(
            &signer,
            Some("JWT"),
            header,
            &serde_json::to_vec(&claims).unwrap(),
        )
        .unwrap();
        let resolver = StaticDidResolver::new();
        let verified = wallet_protocol::vc::verify_credential(
            &wallet_protocol::vc::Credential::Jwt(token),
            &resolver,
            &FixedClock(NOW),
            &VerifyOptions::default(),
        )
        .await
        .unwrap();
        let status = wallet_protocol::vc::revocation_status(
            &verified,
            &http,
            &policy,
            &resolver,
            &FixedClock(NOW),
        )
        .await;
        assert_eq!(status, RevocationStatus::Revoked);
        // A CRL signed by another CA is not trusted; an outdated CRL neither.
        let (other, other_key) = ca("CRL Root", None);
        files
            .lock()
            .unwrap()
            .insert("/root.crl".into(), crl(&other, &other_key, &[]));
        assert!(matches!(
            check_revocation(&did, &chain, &http, &policy, NOW).await,
            RevocationStatus::Unknown { .. }
        ));
        files
            .lock()
            .unwrap()
            .insert("/root.crl".into(), crl(&root, &root_key, &[]));
        assert!(matches!(
            check_revocation(&did, &chain, &http, &policy, 1_780_000_000).await,
            RevocationStatus::Unknown { .. }
        ));
        // Outside development mode, a CRL host on loopback is refused by the address guard.
        let strict = NetPolicy::default();
        let strict_http = ReqwestHttpClient::new(strict.clone()).unwrap();
        assert!(matches!(
            check_revocation(&did, &chain, &strict_http, &strict, NOW).await,
            RevocationStatus::Unknown { .. }
        ));
        // A chain without distribution points cannot be checked.
        let pki = pki();
        let plain_chain = x5c(&[&pki.leaf, &pki.intermediate, &pki.root]);
        let plain_did = did_for(&pki.root, POLICIES);
        match check_revocation(&plain_did, &plain_chain, &http, &policy, NOW).await {
            RevocationStatus::Unknown { reason } => {
                assert!(reason.contains("distribution point"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
