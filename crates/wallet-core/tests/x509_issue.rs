//! The organization's X509Credential from its UZI server certificate, through the wallet-core
//! API: issued, stored through the import (so verified), exported as stored; each refusal
//! with its stable code; the clock decides validity. The UZI-like PKI comes from
//! wallet-testkit (OpenSSL, RSA 2048).

use std::sync::Arc;

use serde_json::Value;
use wallet_core::credentials::{
    self, export_credential, issue_x509_credential, prepare_x509_credential, CertificateSource,
    IssueX509Error, VerifyEnv,
};
use wallet_protocol::did::StaticDidResolver;
use wallet_protocol::jose::CompactJws;
use wallet_protocol::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, NetError, NetPolicy};
use wallet_protocol::{Clock, FixedClock, SystemClock};
use wallet_testkit::uzi::{UziFiles, UziOptions, UziPki, INTERMEDIATE_DN, ROOT_DN};
use wallet_testkit::wallet::{org_wallet, OrgWallet};
use wallet_vault::{
    CredentialListing, KdfParams, NewCredential, Passphrase, Protection, SecretString,
};
use zeroize::Zeroizing;

const ADMIN_PW: &str = "admin passphrase for x509 issue tests";
const P12_PW: &str = "p12 password";

struct Offline;
impl HttpClient for Offline {
    fn execute(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        Box::pin(async { Err(NetError::Transport("offline".into())) })
    }
}

fn env(now: i64) -> VerifyEnv {
    VerifyEnv {
        resolver: Arc::new(StaticDidResolver::new()),
        http: Arc::new(Offline),
        policy: NetPolicy::default(),
        clock: Arc::new(FixedClock(now)),
    }
}

fn setup(tmp: &std::path::Path) -> OrgWallet {
    org_wallet(
        tmp,
        Protection::Passphrase {
            passphrase: Passphrase::from("vault passphrase for x509 tests"),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        "https://zorg.example.nl",
    )
}

fn pem(f: &UziFiles) -> CertificateSource {
    CertificateSource::Pem {
        chain: f.chain.clone(),
        key: f.key.to_str().unwrap().to_owned(),
    }
}

fn code(e: IssueX509Error) -> &'static str {
    e.code()
}

#[tokio::test]
async fn issued_stored_and_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let w = setup(tmp.path());
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let now = SystemClock.now_unix();
    let opts = UziOptions::valid(now);
    let files = UziPki::new(&opts).write_files(&tmp.path().join("pki"), P12_PW);
    let source = CertificateSource::Pkcs12 {
        path: files.pkcs12.clone(),
        password: Zeroizing::new(P12_PW.into()),
        extra_chain: None,
    };
    let issued = issue_x509_credential(&w.vault, &admin, &source, INTERMEDIATE_DN, &env(now))
        .await
        .unwrap();
    assert_eq!(issued.credential.ura, "90000380");
    assert_eq!(issued.credential.organization, "Zorg & Welzijn B.V.");
    assert_eq!(issued.credential.ca, INTERMEDIATE_DN);
    assert!(issued
        .imported
        .summary
        .display_type
        .contains("X509Credential"));
    let exported = export_credential(&w.vault, &issued.imported.summary.id).unwrap();
    let jws = CompactJws::parse(&exported).unwrap();
    let claims = jws.claims().unwrap();
    assert_eq!(
        claims["iss"],
        Value::String(issued.credential.issuer.clone())
    );
    assert_eq!(claims["sub"], Value::String(w.org.did.clone()));
    assert_eq!(claims["exp"], opts.not_after);

    // The same certificate again gives another credential (new id), stored next to it.
    let again = issue_x509_credential(&w.vault, &admin, &pem(&files), ROOT_DN, &env(now))
        .await
        .unwrap();
    assert_ne!(
        again.credential.ca_fingerprint,
        issued.credential.ca_fingerprint
    );
    let n = credentials::list_credentials(&w.vault, now)
        .unwrap()
        .iter()
        .filter(|c| c.display_type.contains("X509Credential"))
        .count();
    assert_eq!(n, 2);

    // The listing names the organization from the certificate: URA, O and L.
    let listed = credentials::list_credentials(&w.vault, now).unwrap();
    let facts = listed
        .iter()
        .find(|c| c.id == issued.imported.summary.id)
        .and_then(|c| c.organization.clone())
        .expect("organization facts");
    assert_eq!(facts.ura.as_deref(), Some("90000380"));
    assert_eq!(facts.name.as_deref(), Some("Zorg & Welzijn B.V."));
    assert_eq!(facts.city, issued.credential.locality);
    assert_eq!(issued.imported.summary.organization, Some(facts));
}

/// The app's path: the PKCS#12 file's bytes as picked, the CA chosen from the chain's CAs.
#[tokio::test]
async fn from_pkcs12_bytes_with_the_ca_chosen_from_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let w = setup(tmp.path());
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let now = SystemClock.now_unix();
    let pki = UziPki::new(&UziOptions::valid(now));
    let bytes = |pw: &str| CertificateSource::Pkcs12Bytes {
        der: Zeroizing::new(pki.pkcs12(P12_PW)),
        password: Zeroizing::new(pw.into()),
    };
    let cas = credentials::x509_authorities(&bytes(P12_PW)).unwrap();
    assert_eq!(cas, [INTERMEDIATE_DN, ROOT_DN], "issuing CA first");
    assert_eq!(
        code(credentials::x509_authorities(&bytes("wrong")).unwrap_err()),
        "wrong_pkcs12_password"
    );
    let issued = issue_x509_credential(&w.vault, &admin, &bytes(P12_PW), &cas[0], &env(now))
        .await
        .unwrap();
    assert_eq!(issued.credential.ca, INTERMEDIATE_DN);
    assert_eq!(issued.credential.ura, "90000380");
    // Its own certificate: the issuer is trusted, no "untrusted issuer" warning.
    assert!(issued.imported.summary.issuer_trusted);
    let listed = credentials::list_credentials(&w.vault, now).unwrap();
    let mine = listed
        .iter()
        .find(|c| c.id == issued.imported.summary.id)
        .unwrap();
    assert!(mine.issuer_trusted);
    assert!(mine.warnings.iter().all(|w| w.code != "untrusted_issuer"));
}

#[test]
fn export_is_byte_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let w = setup(tmp.path());
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let mut ld = wallet_testkit::vc::org_credential(&w.org.did, SystemClock.now_unix());
    ld["id"] = Value::String("urn:uuid:export-exact".into());
    // Pretty-printed with a trailing newline: exported as is, not re-serialized.
    let text = format!("{}\n", serde_json::to_string_pretty(&ld).unwrap());
    let meta = w
        .vault
        .credentials()
        .import(
            &admin,
            NewCredential {
                listing: CredentialListing {
                    types: vec!["VerifiableCredential".into()],
                    format: "ldp_vc".into(),
                    issuer: "did:example:x".into(),
                    subject: Some(w.org.did.clone()),
                    valid_from_ms: None,
                    valid_until_ms: None,
                },
                raw: SecretString::new(text.clone()),
            },
        )
        .unwrap();
    assert_eq!(
        export_credential(&w.vault, &meta.id).unwrap().as_str(),
        text
    );
    assert_eq!(
        export_credential(&w.vault, &meta.id[..6]).unwrap().as_str(),
        text
    );
    assert!(export_credential(&w.vault, "ffffffffffff").is_err());
}

#[tokio::test]
async fn refusals_have_stable_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let w = setup(tmp.path());
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let now = SystemClock.now_unix();
    let opts = UziOptions::valid(now);
    let good_pki = UziPki::new(&opts);
    let files = good_pki.write_files(&tmp.path().join("good"), P12_PW);
    let other = UziPki::new(&opts).write_files(&tmp.path().join("other"), P12_PW);
    let count = || credentials::list_credentials(&w.vault, now).unwrap().len();
    let before = count();

    // The clock decides: after the certificate's notAfter it is expired, before notBefore
    // not yet valid.
    let late = issue_x509_credential(
        &w.vault,
        &admin,
        &pem(&files),
        INTERMEDIATE_DN,
        &env(opts.not_after + 60),
    )
    .await
    .unwrap_err();
    assert_eq!(code(late), "certificate_expired");
    let early = prepare_x509_credential(
        &w.vault,
        &pem(&files),
        INTERMEDIATE_DN,
        opts.not_before - 60,
    )
    .unwrap_err();
    assert_eq!(code(early), "certificate_not_yet_valid");

    let mut no_uzi = UziOptions::valid(now);
    no_uzi.other_name = None;
    let f = UziPki::new(&no_uzi).write_files(&tmp.path().join("no-uzi"), P12_PW);
    let e = prepare_x509_credential(&w.vault, &pem(&f), INTERMEDIATE_DN, now).unwrap_err();
    assert_eq!(code(e), "not_uzi_server_certificate");

    let e = prepare_x509_credential(&w.vault, &pem(&files), "CN=Nobody", now).unwrap_err();
    assert!(e.to_string().contains(ROOT_DN), "{e}");
    assert_eq!(code(e), "ca_not_in_chain");
    // The leaf is not a CA, even when named.
    let leaf_dn =
        "SERIALNUMBER=900030787,CN=zorg.example.nl,L='s-Hertogenbosch,O=Zorg & Welzijn B.V.,C=NL";
    let e = prepare_x509_credential(&w.vault, &pem(&files), leaf_dn, now).unwrap_err();
    assert_eq!(code(e), "ca_not_in_chain");
    // X.500 order with spaces (as `openssl x509 -subject` prints) names the same CA.
    let x500 = "C = NL, O = Nuts Wallet Test, CN = Test UZI-register Private Server CA G1";
    let ok = prepare_x509_credential(&w.vault, &pem(&files), x500, now).unwrap();
    assert_eq!(ok.ca_dn, INTERMEDIATE_DN);

    let wrong_key = CertificateSource::Pem {
        chain: files.chain.clone(),
        key: other.key.to_str().unwrap().to_owned(),
    };
    let e = prepare_x509_credential(&w.vault, &wrong_key, INTERMEDIATE_DN, now).unwrap_err();
    assert_eq!(code(e), "key_mismatch");

    let broken = tmp.path().join("broken.pem");
    let chain = std::fs::read_to_string(&files.chain).unwrap();
    let leaf_only = &chain[..chain.find("-----END CERTIFICATE-----").unwrap() + 26];
    let other_cas = std::fs::read_to_string(&other.intermediate).unwrap()
        + &std::fs::read_to_string(&other.root).unwrap();
    std::fs::write(&broken, format!("{leaf_only}{other_cas}")).unwrap();
    let e = prepare_x509_credential(
        &w.vault,
        &CertificateSource::Pem {
            chain: broken,
            key: files.key.to_str().unwrap().to_owned(),
        },
        INTERMEDIATE_DN,
        now,
    )
    .unwrap_err();
    assert_eq!(code(e), "broken_chain");

    // The leaf is not signed by the next certificate (its signature was altered).
    let tampered = tmp.path().join("tampered.pem");
    std::fs::write(
        &tampered,
        format!(
            "{}{}{}",
            good_pki.tampered_server_pem(),
            good_pki.intermediate.pem(),
            good_pki.root.pem()
        ),
    )
    .unwrap();
    let e = prepare_x509_credential(
        &w.vault,
        &CertificateSource::Pem {
            chain: tampered,
            key: files.key.to_str().unwrap().to_owned(),
        },
        INTERMEDIATE_DN,
        now,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("is not signed by {INTERMEDIATE_DN}")),
        "{e}"
    );
    assert_eq!(code(e), "broken_chain");

    let wrong_pw = CertificateSource::Pkcs12 {
        path: files.pkcs12.clone(),
        password: Zeroizing::new("nope".into()),
        extra_chain: None,
    };
    let e = prepare_x509_credential(&w.vault, &wrong_pw, INTERMEDIATE_DN, now).unwrap_err();
    assert_eq!(code(e), "wrong_pkcs12_password");

    // An HSM key URI without the module to load.
    let hsm = CertificateSource::Pem {
        chain: files.chain.clone(),
        key: "pkcs11:token=org;object=uzi".into(),
    };
    let e = prepare_x509_credential(&w.vault, &hsm, INTERMEDIATE_DN, now).unwrap_err();
    assert!(code(e).starts_with("pkcs11_"));

    assert_eq!(count(), before, "nothing stored");
}

/// The certificate's key in an HSM (SoftHSM2): the token signs PS256
/// (`CKM_SHA256_RSA_PKCS_PSS`), the private key never leaves it, and the credential verifies
/// like one signed from a PKCS#12 file. A key on the token that does not belong to the
/// certificate is refused.
#[tokio::test]
async fn issued_with_the_certificate_key_in_an_hsm() {
    let tmp = tempfile::tempdir().unwrap();
    let w = setup(tmp.path());
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let now = SystemClock.now_unix();
    let files = UziPki::new(&UziOptions::valid(now)).write_files(&tmp.path().join("pki"), P12_PW);
    let other = UziPki::new(&UziOptions::valid(now)).write_files(&tmp.path().join("other"), P12_PW);
    let hsm = wallet_testkit::softhsm::SoftHsm::shared();
    let token = "x509-issue";
    hsm.init_token(token);
    for (label, id, key) in [
        ("uzi", "0a01", &files.key),
        ("stranger", "0a02", &other.key),
    ] {
        let out = hsm.softhsm2_util(&[
            "--import",
            key.to_str().unwrap(),
            "--token",
            token,
            "--label",
            label,
            "--id",
            id,
            "--pin",
            hsm.pin(),
        ]);
        assert!(
            out.status.success(),
            "softhsm2-util --import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wallet_core::org::provide_pin(&hsm.uri_on(token, "uzi").parse().unwrap(), hsm.pin());
    let source = |object: &str| CertificateSource::Pem {
        chain: files.chain.clone(),
        key: hsm.uri_on(token, object),
    };
    let issued =
        issue_x509_credential(&w.vault, &admin, &source("uzi"), INTERMEDIATE_DN, &env(now))
            .await
            .expect("issued with the HSM key");
    assert_eq!(issued.credential.ura, "90000380");
    // An independent check: the x5c leaf's public key verifies the PS256 signature.
    let jwt = export_credential(&w.vault, &issued.imported.summary.id).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value =
        serde_json::from_slice(&wallet_protocol::jose::b64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "PS256");
    let leaf_der = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(header["x5c"][0].as_str().unwrap())
            .unwrap()
    };
    let leaf = openssl::x509::X509::from_der(&leaf_der).unwrap();
    let leaf_key = leaf.public_key().unwrap();
    let mut v =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &leaf_key).unwrap();
    v.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
    v.set_rsa_mgf1_md(openssl::hash::MessageDigest::sha256())
        .unwrap();
    v.update(format!("{}.{}", parts[0], parts[1]).as_bytes())
        .unwrap();
    let sig = wallet_protocol::jose::b64url_decode(parts[2]).unwrap();
    assert!(v.verify(&sig).unwrap(), "PS256 by the certificate's key");

    // A key on the token that is not the certificate's.
    let e =
        prepare_x509_credential(&w.vault, &source("stranger"), INTERMEDIATE_DN, now).unwrap_err();
    assert_eq!(code(e), "key_mismatch");
    // A label that is not on the token.
    let e =
        prepare_x509_credential(&w.vault, &source("nothing"), INTERMEDIATE_DN, now).unwrap_err();
    assert_eq!(code(e), "pkcs11_key_missing");
}
