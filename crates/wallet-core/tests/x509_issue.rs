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

    let hsm = CertificateSource::Pem {
        chain: files.chain.clone(),
        key: "pkcs11:token=org;object=uzi".into(),
    };
    let e = prepare_x509_credential(&w.vault, &hsm, INTERMEDIATE_DN, now).unwrap_err();
    assert_eq!(code(e), "pkcs11_rsa_not_supported");

    assert_eq!(count(), before, "nothing stored");
}
