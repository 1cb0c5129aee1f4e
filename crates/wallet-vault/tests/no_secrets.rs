//! After importing a key and a credential, neither the private key (raw, base64, base64url,
//! hex) nor a distinctive claim value appears in the database, its WAL or the log file.
//!
//! A test binary of its own: it installs a global TRACE subscriber writing to a file, which
//! must not race with other tests' callsites.

#[allow(dead_code)] // shared helpers; this binary uses a few
#[path = "vault/common.rs"]
mod common;

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use wallet_vault::*;

use common::*;

const CLAIM: &str = "Xylofoon-Quintessens-7731";

#[derive(Clone)]
struct LogFile(Arc<Mutex<std::fs::File>>);

impl std::io::Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_private_key_or_claim_in_db_wal_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("wallet.log");
    let log = LogFile(Arc::new(Mutex::new(
        std::fs::File::create(&log_path).unwrap(),
    )));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || log.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sk = p256::SecretKey::random(&mut rand_core::OsRng);
    let d = sk.to_bytes();
    let jwk = sk.to_jwk_string();
    let pem = {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        sk.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    };
    let ks = MemoryKeyStore::new();
    let data = dir.path().join("data");
    let v = create_with(&data, &ks, Protection::Keyring);
    let a = admin(&v);
    v.keys()
        .import(&a, "org", "organization", &SecretString::from(jwk.as_str()))
        .unwrap();
    // A second key from PEM: its DER body must not show up either.
    let sk2 = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem2 = {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        sk2.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    };
    v.keys()
        .import(
            &a,
            "org2",
            "organization",
            &SecretString::from(pem2.as_str()),
        )
        .unwrap();
    let raw_vc = format!(
        r#"{{"@context":["https://www.w3.org/2018/credentials/v1"],"type":["VerifiableCredential","NutsOrganizationCredential"],"credentialSubject":{{"organization":{{"name":"{CLAIM}","city":"Utrecht"}}}}}}"#
    );
    v.credentials()
        .import(
            &a,
            NewCredential {
                listing: CredentialListing {
                    types: vec![
                        "VerifiableCredential".into(),
                        "NutsOrganizationCredential".into(),
                    ],
                    format: "ldp_vc".into(),
                    issuer: "did:web:issuer.example".into(),
                    subject: Some("did:web:org.example".into()),
                    valid_from_ms: None,
                    valid_until_ms: None,
                },
                raw: SecretString::from(raw_vc),
            },
        )
        .unwrap();
    v.employees()
        .add(
            &a,
            NewEmployee {
                identifier: "uzi:900012345".into(),
                personal: serde_json::json!({"name": CLAIM}),
                key_id: None,
            },
        )
        .unwrap();
    v.tokens()
        .put(NewToken {
            kind: "access_token".into(),
            audience: "aud".into(),
            expires_at_ms: None,
            value: SecretString::from(format!("token-{CLAIM}")),
        })
        .unwrap();
    // Use the keys too, so signing paths are covered by the log scan.
    for k in v.keys().list().unwrap() {
        use wallet_protocol::signer::Signer;
        v.keys().signer(&k.id).unwrap().sign(b"m").unwrap();
    }

    let mut needles: Vec<(String, Vec<u8>)> = vec![("claim".into(), CLAIM.as_bytes().to_vec())];
    for (name, secret) in [("d1", d.to_vec()), ("d2", sk2.to_bytes().to_vec())] {
        needles.push((format!("{name} raw"), secret.clone()));
        for (enc, s) in [
            ("b64", STANDARD.encode(&secret)),
            ("b64np", STANDARD_NO_PAD.encode(&secret)),
            ("b64url", URL_SAFE.encode(&secret)),
            ("b64urlnp", URL_SAFE_NO_PAD.encode(&secret)),
            ("hex", secret.iter().map(|b| format!("{b:02x}")).collect()),
        ] {
            needles.push((format!("{name} {enc}"), s.into_bytes()));
        }
    }
    // A line of the PEM bodies.
    for p in [&pem, &pem2] {
        let line = p.lines().nth(1).unwrap();
        needles.push(("pem line".into(), line.as_bytes().to_vec()));
    }

    let wal = data.join("vault.db-wal");
    assert!(
        wal.exists(),
        "the WAL must be scanned while it holds the writes"
    );
    let mut scanned = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += 1;
        for (name, needle) in &needles {
            assert!(
                !contains(&bytes, needle),
                "{name} found in {}",
                path.display()
            );
        }
    }
    assert!(scanned >= 2);
    let log_bytes = std::fs::read(&log_path).unwrap();
    assert!(
        !log_bytes.is_empty(),
        "the vault's tracing output was captured"
    );
    for (name, needle) in &needles {
        assert!(!contains(&log_bytes, needle), "{name} found in the log");
    }
    // Checkpoint and scan the main file again (WAL content folded in).
    drop(v);
    let bytes = std::fs::read(db_path(&data)).unwrap();
    for (name, needle) in &needles {
        assert!(
            !contains(&bytes, needle),
            "{name} found in the checkpointed DB"
        );
    }
    // The scan would have found them: the claim is in the cleartext we fed in.
    assert!(contains(format!("x{CLAIM}x").as_bytes(), CLAIM.as_bytes()));
}
