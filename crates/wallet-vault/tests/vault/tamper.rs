//! Tampering: every single-byte change of every sealed value, ciphertexts swapped between rows,
//! and edited/deleted/reordered activity entries are all detected; no wrong data comes back.

use std::sync::Arc;

use wallet_protocol::signer::Signer;
use wallet_vault::*;

use crate::common::*;

struct Fixture {
    dir: tempfile::TempDir,
    ks: MemoryKeyStore,
    v: Vault,
    creds: Vec<CredentialMeta>,
    key: KeyInfo,
    emp: Employee,
    token: String,
}

fn fixture() -> Fixture {
    let (dir, ks, v) = new_vault();
    let a = admin(&v);
    let creds = (0..2)
        .map(|i| v.credentials().import(&a, credential(i)).unwrap())
        .collect();
    let key = v.keys().generate(&a, "k", "organization").unwrap();
    let emp = v
        .employees()
        .add(
            &a,
            NewEmployee {
                identifier: "uzi:1".into(),
                personal: serde_json::json!({"name": "A"}),
                key_id: None,
            },
        )
        .unwrap();
    let token = v
        .tokens()
        .put(NewToken {
            kind: "access_token".into(),
            audience: "aud".into(),
            expires_at_ms: None,
            value: SecretString::from("token-value"),
        })
        .unwrap();
    Fixture {
        dir,
        ks,
        v,
        creds,
        key,
        emp,
        token,
    }
}

fn get_blob(c: &rusqlite::Connection, table: &str, col: &str, id: &str) -> Vec<u8> {
    c.query_row(
        &format!("SELECT {col} FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

fn set_blob(c: &rusqlite::Connection, table: &str, col: &str, id: &str, b: &[u8]) {
    let n = c
        .execute(
            &format!("UPDATE {table} SET {col} = ?1 WHERE id = ?2"),
            rusqlite::params![b, id],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// A change in the file is refused either by the value's own seal (`Tampered`) or, first, by
/// the vault's state commitment (`StateMismatch`); both leave nothing read.
fn assert_tampered<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(VaultError::Tampered { .. }) | Err(VaultError::StateMismatch(_)) => {}
        other => panic!("{what}: expected Tampered, got {other:?}"),
    }
}

/// Flips every byte (in two bit positions) of one sealed value and checks each read fails.
fn flip_every_byte(
    f: &Fixture,
    table: &str,
    col: &str,
    id: &str,
    read: &dyn Fn(&Vault) -> Result<()>,
) {
    let c = raw_conn(f.dir.path());
    let good = get_blob(&c, table, col, id);
    assert!(good.len() > 40);
    for i in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= bit;
            set_blob(&c, table, col, id, &bad);
            match read(&f.v) {
                Err(VaultError::Tampered {
                    table: t,
                    row,
                    column,
                }) => {
                    assert_eq!(t, table);
                    assert_eq!(row, id);
                    assert!(column.contains(col) || col == "personal", "{column}");
                }
                Err(VaultError::StateMismatch(m)) => assert!(m.contains(table), "{m}"),
                other => panic!("{table}.{col} byte {i}: expected Tampered, got {other:?}"),
            }
        }
    }
    set_blob(&c, table, col, id, &good);
    read(&f.v).unwrap();
}

#[test]
fn any_flipped_byte_in_any_sealed_value_is_detected() {
    let f = fixture();
    let cid = f.creds[0].id.clone();
    flip_every_byte(&f, "credentials", "raw", &cid, &|v| {
        v.credentials().get(&cid).map(|_| ())
    });
    let kid = f.key.id.clone();
    flip_every_byte(&f, "keys", "private_key", &kid, &|v| {
        v.keys()
            .signer(&kid)?
            .sign(b"m")
            .map(|_| ())
            .map_err(|_| VaultError::Tampered {
                table: "keys".into(),
                row: kid.clone(),
                column: "private_key".into(),
            })
    });
    // The signer error hides the variant; check it directly once more.
    {
        let signer = f.v.keys().signer(&kid).unwrap();
        let c = raw_conn(f.dir.path());
        let mut b = get_blob(&c, "keys", "private_key", &kid);
        b[30] ^= 1;
        set_blob(&c, "keys", "private_key", &kid, &b);
        assert_tampered(f.v.keys().signer(&kid), "signer over a damaged key");
        let err = signer.sign(b"m").unwrap_err();
        assert!(
            err.to_string().contains("failed authentication")
                || err.to_string().contains("sealed state"),
            "{err}"
        );
        b[30] ^= 1;
        set_blob(&c, "keys", "private_key", &kid, &b);
    }
    let eid = f.emp.id.clone();
    flip_every_byte(&f, "employees", "personal", &eid, &|v| {
        v.employees().get(&eid).map(|_| ())
    });
    let tid = f.token.clone();
    flip_every_byte(&f, "tokens", "value", &tid, &|v| {
        v.tokens().get(&tid).map(|_| ())
    });
}

#[test]
fn flipped_wrapped_vault_key_is_detected() {
    let f = fixture();
    f.v.lock();
    let c = raw_conn(f.dir.path());
    let wid: String = c
        .query_row("SELECT id FROM key_wraps", [], |r| r.get(0))
        .unwrap();
    let good = get_blob(&c, "key_wraps", "wrapped_key", &wid);
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x04;
        set_blob(&c, "key_wraps", "wrapped_key", &wid, &bad);
        assert_tampered(f.v.unlock(Unlock::Keyring), "wrapped key");
        assert!(f.v.is_locked());
    }
    set_blob(&c, "key_wraps", "wrapped_key", &wid, &good);
    f.v.unlock(Unlock::Keyring).unwrap();
    let _ = &f.ks;
}

#[test]
fn ciphertexts_swapped_between_rows_are_detected() {
    let f = fixture();
    let c = raw_conn(f.dir.path());
    let (a, b) = (&f.creds[0].id, &f.creds[1].id);
    let ca = get_blob(&c, "credentials", "raw", a);
    let cb = get_blob(&c, "credentials", "raw", b);
    set_blob(&c, "credentials", "raw", a, &cb);
    set_blob(&c, "credentials", "raw", b, &ca);
    assert_tampered(f.v.credentials().get(a), "swapped a");
    assert_tampered(f.v.credentials().get(b), "swapped b");
    set_blob(&c, "credentials", "raw", a, &ca);
    set_blob(&c, "credentials", "raw", b, &cb);
    // Moved to another table/column: a credential ciphertext as a token value.
    let tv = get_blob(&c, "tokens", "value", &f.token);
    set_blob(&c, "tokens", "value", &f.token, &ca);
    assert_tampered(f.v.tokens().get(&f.token), "moved across tables");
    set_blob(&c, "tokens", "value", &f.token, &tv);
    assert_eq!(
        f.v.credentials().get(a).unwrap().raw.expose_secret(),
        "eyJhbGciOiJFUzI1NiJ9.credential-0.sig"
    );
}

#[test]
fn roster_clear_columns_cannot_be_flipped_or_swapped() {
    let f = fixture();
    let a = admin(&f.v);
    let e2 =
        f.v.employees()
            .add(
                &a,
                NewEmployee {
                    identifier: "uzi:2".into(),
                    personal: serde_json::json!({"name": "B"}),
                    key_id: None,
                },
            )
            .unwrap();
    f.v.employees()
        .update(
            &a,
            &e2.id,
            EmployeeUpdate {
                active: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let c = raw_conn(f.dir.path());
    // Re-activating a deactivated employee in the file is caught.
    c.execute("UPDATE employees SET active = 1 WHERE id = ?1", [&e2.id])
        .unwrap();
    assert_tampered(f.v.employees().get(&e2.id), "active flag");
    c.execute("UPDATE employees SET active = 0 WHERE id = ?1", [&e2.id])
        .unwrap();
    // Swapping the lookup hashes makes uzi:1 find employee 2: caught.
    let h1: String = c
        .query_row(
            "SELECT identifier_hash FROM employees WHERE id = ?1",
            [&f.emp.id],
            |r| r.get(0),
        )
        .unwrap();
    let h2: String = c
        .query_row(
            "SELECT identifier_hash FROM employees WHERE id = ?1",
            [&e2.id],
            |r| r.get(0),
        )
        .unwrap();
    c.execute_batch(&format!(
        "UPDATE employees SET identifier_hash = 'tmp' WHERE id = '{0}';
         UPDATE employees SET identifier_hash = '{h1}' WHERE id = '{1}';
         UPDATE employees SET identifier_hash = '{h2}' WHERE id = '{0}';",
        f.emp.id, e2.id
    ))
    .unwrap();
    assert_tampered(f.v.employees().by_identifier("uzi:1"), "swapped hashes");
}

fn unprotect(c: &rusqlite::Connection) {
    c.execute_batch("DROP TRIGGER activity_no_update; DROP TRIGGER activity_no_delete;")
        .unwrap();
}

#[test]
fn activity_edit_delete_reorder_are_detected_by_verify() {
    for attack in ["edit", "edit_detail", "delete", "reorder", "truncate"] {
        let f = fixture();
        let before = f.v.activity_log().verify().unwrap();
        assert!(before.is_ok(), "{before:?}");
        let n = before.entries;
        assert!(n >= 6);
        let c = raw_conn(f.dir.path());
        // The log refuses edits unless the triggers are removed first.
        assert!(c
            .execute("UPDATE activity SET actor = 'x' WHERE seq = 2", [])
            .is_err());
        unprotect(&c);
        let expect_seq = match attack {
            "edit" => {
                c.execute("UPDATE activity SET actor = 'employee:x' WHERE seq = 3", [])
                    .unwrap();
                3
            }
            "edit_detail" => {
                c.execute("UPDATE activity SET detail = '{}' WHERE seq = 4", [])
                    .unwrap();
                4
            }
            "delete" => {
                c.execute("DELETE FROM activity WHERE seq = 2", []).unwrap();
                3
            }
            "reorder" => {
                c.execute_batch(
                    "UPDATE activity SET seq = 1000 WHERE seq = 3;
                     UPDATE activity SET seq = 3 WHERE seq = 4;
                     UPDATE activity SET seq = 4 WHERE seq = 1000;",
                )
                .unwrap();
                3
            }
            _ => {
                c.execute("DELETE FROM activity WHERE seq = ?1", [n])
                    .unwrap();
                n
            }
        };
        let report = f.v.activity_log().verify().unwrap();
        let bad = report
            .first_bad
            .unwrap_or_else(|| panic!("{attack} not detected"));
        assert_eq!(bad.seq, expect_seq, "{attack}: {}", bad.problem);
    }
}

#[test]
fn locked_verify_checks_the_chain_and_says_anchor_was_not_checked() {
    let f = fixture();
    drop(f.v);
    let v = Vault::open(f.dir.path(), Arc::new(f.ks.clone())).unwrap();
    let r = v.activity_log().verify().unwrap();
    assert!(r.is_ok());
    assert!(!r.anchor_checked);
    v.unlock(Unlock::Keyring).unwrap();
    assert!(v.activity_log().verify().unwrap().anchor_checked);
}

#[test]
fn clear_metadata_settings_and_admin_verifier_are_authenticated() {
    let f = fixture();
    let c = raw_conn(f.dir.path());
    // Credential listing columns are bound to the sealed credential.
    let id = &f.creds[0].id;
    c.execute(
        "UPDATE credentials SET issuer = 'did:web:evil.example' WHERE id = ?1",
        [id],
    )
    .unwrap();
    assert_tampered(f.v.credentials().get(id), "edited issuer");
    c.execute(
        "UPDATE credentials SET issuer = ?1 WHERE id = ?2",
        [&f.creds[0].listing.issuer, id],
    )
    .unwrap();
    f.v.credentials().get(id).unwrap();
    let types: String = c
        .query_row("SELECT types FROM credentials WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    c.execute(
        "UPDATE credentials SET types = '[\"VerifiableCredential\",\"NutsUraCredential\"]' WHERE id = ?1",
        [id],
    )
    .unwrap();
    assert_tampered(f.v.credentials().get(id), "edited types");
    // While one table differs from the sealed state, the whole vault refuses to be used.
    assert_tampered(f.v.admin_session(&Passphrase::from(ADMIN)), "any use");
    c.execute(
        "UPDATE credentials SET types = ?1 WHERE id = ?2",
        [&types, id],
    )
    .unwrap();

    // A key's public JWK or thumbprint edited in the file.
    let kid = &f.key.id;
    let jwk: String = c
        .query_row("SELECT public_jwk FROM keys WHERE id = ?1", [kid], |r| {
            r.get(0)
        })
        .unwrap();
    let other = admin(&f.v);
    let k2 = f.v.keys().generate(&other, "k2", "organization").unwrap();
    let jwk2 = serde_json::to_string(&k2.public_jwk).unwrap();
    c.execute(
        "UPDATE keys SET public_jwk = ?1 WHERE id = ?2",
        [&jwk2, kid],
    )
    .unwrap();
    assert_tampered(f.v.keys().signer(kid), "swapped public JWK");
    c.execute(
        "UPDATE keys SET public_jwk = ?1, thumbprint = ?2 WHERE id = ?3",
        [&jwk2, &k2.thumbprint, kid],
    )
    .unwrap_err(); // thumbprints are unique
    c.execute("UPDATE keys SET public_jwk = ?1 WHERE id = ?2", [&jwk, kid])
        .unwrap();
    f.v.keys().signer(kid).unwrap();

    // Policy edited in the file.
    let a = admin(&f.v);
    f.v.settings()
        .put(&a, "policy", &serde_json::json!({"allowed": ["a"]}))
        .unwrap();
    c.execute(
        "UPDATE settings SET value = '{\"allowed\":[\"a\",\"evil\"]}' WHERE name = 'policy'",
        [],
    )
    .unwrap();
    assert_tampered(f.v.settings().get("policy"), "edited policy");
    c.execute(
        "UPDATE settings SET value = '86400' WHERE name = 'auto_lock_secs'",
        [],
    )
    .unwrap();
    assert_tampered(f.v.settings().auto_lock_secs(), "edited auto-lock");

    // The administrator verifier replaced by one of a passphrase the attacker knows (taken
    // from another vault, where the attacker chose it): refused, not accepted.
    let (d2, _k2, v2) = new_vault();
    drop(v2);
    let foreign: Vec<u8> = raw_conn(d2.path())
        .query_row("SELECT admin_verifier FROM vault_meta", [], |r| r.get(0))
        .unwrap();
    c.execute("UPDATE vault_meta SET admin_verifier = ?1", [&foreign])
        .unwrap();
    assert_tampered(
        f.v.admin_session(&Passphrase::from(ADMIN)),
        "swapped verifier",
    );
    // A plain PHC string is not accepted either.
    c.execute(
        "UPDATE vault_meta SET admin_verifier = CAST(?1 AS BLOB)",
        ["$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"],
    )
    .unwrap();
    assert_tampered(
        f.v.admin_session(&Passphrase::from(ADMIN)),
        "plain verifier",
    );
}
