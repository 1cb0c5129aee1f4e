use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use wallet_protocol::signer::{SignError, Signer};
use wallet_vault::*;

use crate::common::*;

#[test]
fn credentials_roundtrip_filter_and_delete() {
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    let metas: Vec<_> = (0..6)
        .map(|i| v.credentials().import(&a, credential(i)).unwrap())
        .collect();
    let all = v.credentials().list(&CredentialFilter::default()).unwrap();
    assert_eq!(all.len(), 6);
    let orgs = v
        .credentials()
        .list(&CredentialFilter {
            credential_type: Some("NutsOrganizationCredential".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(orgs.len(), 3);
    let by_issuer = v
        .credentials()
        .list(&CredentialFilter {
            issuer: Some("did:web:issuer1.example".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_issuer.len(), 2);
    let expired = v
        .credentials()
        .list(&CredentialFilter {
            valid_at_ms: Some(4_100_000_000_000),
            ..Default::default()
        })
        .unwrap();
    assert!(expired.is_empty());
    let c = v.credentials().get(&metas[3].id).unwrap();
    assert_eq!(
        c.raw.expose_secret(),
        "eyJhbGciOiJFUzI1NiJ9.credential-3.sig"
    );
    assert_eq!(c.meta, metas[3]);
    assert!(
        !format!("{c:?}").contains("credential-3"),
        "Debug must redact the raw credential"
    );
    v.credentials().delete(&a, &metas[3].id).unwrap();
    assert!(matches!(
        v.credentials().get(&metas[3].id),
        Err(VaultError::NotFound { .. })
    ));
    assert!(matches!(
        v.credentials().delete(&a, &metas[3].id),
        Err(VaultError::NotFound { .. })
    ));
    let log = v
        .activity_log()
        .list(&ActivityFilter {
            subject: Some(metas[3].id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["credential.delete", "credential.import"]
    );
    assert!(v.activity_log().verify().unwrap().is_ok());
}

#[test]
fn generated_key_signs_es256_through_the_signer_trait() {
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    let info = v.keys().generate(&a, "org key", "organization").unwrap();
    assert_eq!(info.alg, "ES256");
    assert!(!info.public_jwk.contains_key("d"));
    assert_eq!(info.thumbprint, jwk_thumbprint(&info.public_jwk).unwrap());
    let signer = v.keys().signer(&info.id).unwrap();
    assert_eq!(signer.algorithm(), "ES256");
    assert_eq!(signer.key_id(), info.thumbprint);
    let sig = signer.sign(b"header.payload").unwrap();
    assert_eq!(sig.len(), 64);
    let jwk = serde_json::to_string(&signer.public_jwk()).unwrap();
    let vk = VerifyingKey::from(p256::PublicKey::from_jwk_str(&jwk).unwrap());
    vk.verify(b"header.payload", &Signature::from_slice(&sig).unwrap())
        .unwrap();
    // kid can be set to a DID URL.
    v.keys()
        .set_kid(&a, &info.id, "did:web:org.example#0")
        .unwrap();
    assert_eq!(
        v.keys().signer(&info.id).unwrap().key_id(),
        "did:web:org.example#0"
    );
    // Locked vault: the signer refuses.
    v.lock();
    assert!(matches!(signer.sign(b"x"), Err(SignError::Unavailable(_))));
}

#[test]
fn import_jwk_and_pem_keys() {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    let jwk = r#"{"kty":"EC","crv":"P-256","x":"gn5tuwlITf89ZcrnGpbGqbs35kJmhNzuI9Lj1gTGtN0","y":"SBvi4-B5PP-RWD08YuajzXKJccuzIUJytQjrResyIDg","d":"jpsQnnGQmL-YBIffH1136cLWlyrpRhp7qaz9_7ek7Nk"}"#;
    let info = v
        .keys()
        .import(&a, "imported", "organization", &SecretString::from(jwk))
        .unwrap();
    assert_eq!(
        info.public_jwk["x"],
        "gn5tuwlITf89ZcrnGpbGqbs35kJmhNzuI9Lj1gTGtN0"
    );
    assert_eq!(
        info.thumbprint,
        "wpl098kGpuVo1K53LuMVYuBj91e4fiGoObiP2GpqdUQ"
    );
    // The same key again is a duplicate.
    assert!(matches!(
        v.keys()
            .import(&a, "again", "organization", &SecretString::from(jwk)),
        Err(VaultError::Duplicate { .. })
    ));
    let sk = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = sk.to_pkcs8_pem(LineEnding::LF).unwrap();
    let info2 = v
        .keys()
        .import(&a, "pem", "employee", &SecretString::from(pem.as_str()))
        .unwrap();
    let sig = v.keys().signer(&info2.id).unwrap().sign(b"m").unwrap();
    VerifyingKey::from(sk.public_key())
        .verify(b"m", &Signature::from_slice(&sig).unwrap())
        .unwrap();
    assert!(matches!(
        v.keys().import(
            &a,
            "bad",
            "x",
            &SecretString::from("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        ),
        Err(VaultError::InvalidInput(_))
    ));
    assert_eq!(v.keys().list().unwrap().len(), 2);
}

#[test]
fn roster_add_lookup_update_and_key_reference() {
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    let key = v.keys().generate(&a, "employee key", "employee").unwrap();
    let e = v
        .employees()
        .add(
            &a,
            NewEmployee {
                identifier: "uzi:900012345".into(),
                personal: serde_json::json!({"name": "J. de Vries", "role": "Verpleegkundige"}),
                key_id: Some(key.id.clone()),
            },
        )
        .unwrap();
    assert!(e.active);
    let found = v
        .employees()
        .by_identifier(" uzi:900012345 ")
        .unwrap()
        .unwrap();
    assert_eq!(found, e);
    assert_eq!(v.employees().by_identifier("uzi:1").unwrap(), None);
    assert!(matches!(
        v.employees().add(
            &a,
            NewEmployee {
                identifier: "uzi:900012345".into(),
                personal: serde_json::json!({}),
                key_id: None
            }
        ),
        Err(VaultError::Duplicate { .. })
    ));
    assert!(matches!(
        v.employees().add(
            &a,
            NewEmployee {
                identifier: "uzi:2".into(),
                personal: serde_json::json!({}),
                key_id: Some("no-such-key".into())
            }
        ),
        Err(VaultError::InvalidInput(_))
    ));
    // The key is in use.
    assert!(matches!(
        v.keys().delete(&a, &key.id),
        Err(VaultError::InvalidInput(_))
    ));
    let upd = v
        .employees()
        .update(
            &a,
            &e.id,
            EmployeeUpdate {
                active: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!upd.active);
    assert_eq!(
        v.employees().get(&e.id).unwrap().personal["name"],
        "J. de Vries"
    );
    assert_eq!(v.employees().list().unwrap().len(), 1);
    v.employees().remove(&a, &e.id).unwrap();
    v.keys().delete(&a, &key.id).unwrap();
    assert!(v.employees().list().unwrap().is_empty());
}

#[test]
fn tokens_roundtrip_and_expiry() {
    let (_dir, _ks, v) = new_vault();
    let now = 1_800_000_000_000i64.max(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let id = v
        .tokens()
        .put(NewToken {
            kind: "access_token".into(),
            audience: "https://as.example|scope".into(),
            expires_at_ms: Some(now + 60_000),
            value: SecretString::from("tok-123"),
        })
        .unwrap();
    v.tokens()
        .put(NewToken {
            kind: "access_token".into(),
            audience: "https://as.example|old".into(),
            expires_at_ms: Some(1),
            value: SecretString::from("expired"),
        })
        .unwrap();
    let t = v
        .tokens()
        .find("access_token", "https://as.example|scope")
        .unwrap()
        .unwrap();
    assert_eq!(t.value.expose_secret(), "tok-123");
    assert_eq!(t.id, id);
    assert!(v
        .tokens()
        .find("access_token", "https://as.example|old")
        .unwrap()
        .is_none());
    assert_eq!(v.tokens().purge_expired().unwrap(), 1);
    assert!(v.tokens().delete(&id).unwrap());
    assert!(!v.tokens().delete(&id).unwrap());
}

#[test]
fn custom_transaction_seals_and_records_atomically() {
    let (_dir, _ks, v) = new_vault();
    // A failing transaction leaves neither its change nor its activity entry.
    let before = v.status().unwrap().activity_entries;
    let r: Result<()> = v.with_tx(|tx| {
        tx.record(NewActivity::new(
            Actor::Employee("e1".into()),
            "presentation.send",
            "as",
        ))?;
        tx.sql().execute(
            "INSERT INTO settings (name, value, updated_at) VALUES ('x', '1', 0)",
            [],
        )?;
        Err(VaultError::InvalidInput("abort".into()))
    });
    assert!(r.is_err());
    assert_eq!(v.status().unwrap().activity_entries, before);
    assert_eq!(v.settings().get("x").unwrap(), None);
    let (sealed, version) = v
        .with_tx(|tx| {
            tx.record(NewActivity::new(
                Actor::Employee("e1".into()),
                "presentation.send",
                "as",
            ))?;
            Ok((tx.seal("settings", "x", "value", b"hello")?, tx.version()))
        })
        .unwrap();
    let plain = v
        .with_tx(|tx| {
            assert!(tx.version() > version);
            tx.open("settings", "x", "value", version, &sealed)
                .map(|p| p.to_vec())
        })
        .unwrap();
    assert_eq!(plain, b"hello");
    // The version is bound: the same bytes do not open as another version.
    let wrong = v.with_tx(|tx| tx.open("settings", "x", "value", version + 1, &sealed));
    assert!(matches!(wrong, Err(VaultError::Tampered { .. })));
    assert_eq!(v.status().unwrap().activity_entries, before + 1);
}

#[test]
fn repositories_share_one_transaction() {
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    let before = v.status().unwrap();
    // Changes through several repositories in one transaction roll back together.
    let r: Result<()> = v.with_tx(|tx| {
        let key = tx.keys().generate(&a, "employee", "employee")?;
        tx.employees().add(
            &a,
            NewEmployee {
                identifier: "uzi:900012345".into(),
                personal: serde_json::json!({"name": "J. de Vries"}),
                key_id: Some(key.id.clone()),
            },
        )?;
        assert_eq!(
            tx.employees().list()?.len(),
            1,
            "visible inside the transaction"
        );
        Err(VaultError::InvalidInput("abort".into()))
    });
    assert!(r.is_err());
    let after = v.status().unwrap();
    assert_eq!(
        (after.keys, after.employees, after.activity_entries),
        (before.keys, before.employees, before.activity_entries)
    );
    // And commit together.
    let key = v
        .with_tx(|tx| {
            let key = tx.keys().generate(&a, "employee", "employee")?;
            tx.keys()
                .set_kid(&a, &key.id, "did:web:example.com#employee")?;
            tx.keys().get(&key.id)
        })
        .unwrap();
    assert_eq!(key.kid.as_deref(), Some("did:web:example.com#employee"));
    assert_eq!(v.keys().list().unwrap(), vec![key]);
    assert!(v.activity_log().verify().unwrap().is_ok());
}
