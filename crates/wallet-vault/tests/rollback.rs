//! Rollback attacks: rows, or the whole file, copied back from an older copy of `vault.db`.
//! Each older row is authentic on its own (its seal opens), so only the vault's sealed state
//! commitment and the keyring anchor can tell; see `vault/state.rs`.

#[path = "vault/common.rs"]
#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use wallet_vault::*;

/// An older copy of the vault file, as a backup tool or an attacker would keep one.
fn copy_of(dir: &Path, name: &str) -> PathBuf {
    let out = dir.parent().unwrap().join(format!(
        "{}-{name}.db",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_file(&out);
    raw_conn(dir)
        .execute("VACUUM INTO ?1", [out.to_str().unwrap()])
        .unwrap();
    out
}

/// Copies rows of `table` matching `filter` from the older copy into the vault file.
fn copy_back(dir: &Path, old: &Path, table: &str, filter: &str) {
    let c = raw_conn(dir);
    c.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
        .unwrap();
    let n = c
        .execute(
            &format!(
                "INSERT OR REPLACE INTO main.{table} SELECT * FROM old.{table} WHERE {filter}"
            ),
            [],
        )
        .unwrap();
    assert!(n > 0, "nothing copied back from {table}");
}

fn assert_state_mismatch<T: std::fmt::Debug>(r: Result<T>, table: &str) {
    match r {
        Err(VaultError::StateMismatch(m)) => {
            assert!(m.contains(table), "{m}");
            let shown = VaultError::StateMismatch(m).to_string();
            assert!(shown.contains("older copy of vault.db"), "{shown}");
            assert!(shown.contains("restore a backup"), "{shown}");
        }
        other => panic!("expected a state mismatch naming {table}, got {other:?}"),
    }
}

fn employee(v: &Vault, a: &AdminSession, identifier: &str) -> Employee {
    v.employees()
        .add(
            a,
            NewEmployee {
                identifier: identifier.into(),
                personal: serde_json::json!({"name": identifier, "roleName": "Arts"}),
                key_id: None,
            },
        )
        .unwrap()
}

fn deactivate(v: &Vault, a: &AdminSession, id: &str) {
    v.employees()
        .update(
            a,
            id,
            EmployeeUpdate {
                active: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
}

#[test]
fn an_old_roster_row_does_not_reactivate_a_deactivated_employee() {
    let (dir, ks, v) = new_vault();
    let a = admin(&v);
    let e = employee(&v, &a, "alice@zorg.example");
    let old = copy_of(dir.path(), "before-deactivation");
    deactivate(&v, &a, &e.id);
    copy_back(dir.path(), &old, "employees", "1");

    assert_state_mismatch(v.employees().get(&e.id), "employees");
    assert_state_mismatch(
        v.employees().by_identifier("alice@zorg.example"),
        "employees",
    );
    // Nothing else is used either, and nothing is written over the mix.
    assert_state_mismatch(
        v.credentials().list(&CredentialFilter::default()),
        "employees",
    );
    assert!(v.admin_session(&Passphrase::from(ADMIN)).is_err());
    // After a restart the unlock itself refuses, and the refusal is logged.
    let entries = v.status().unwrap().activity_entries;
    drop(v);
    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    assert_state_mismatch(v.unlock(Unlock::Keyring), "employees");
    assert!(v.is_locked());
    assert_eq!(v.status().unwrap().activity_entries, entries + 1);
}

#[test]
fn an_old_administrator_verifier_does_not_bring_back_the_old_passphrase() {
    let (dir, _ks, v) = new_vault();
    let a = admin(&v);
    let old = copy_of(dir.path(), "old-admin");
    v.set_admin_passphrase(
        &a,
        &Passphrase::from("the new admin passphrase"),
        KdfParams::INSECURE_TEST,
    )
    .unwrap();
    v.lock();
    v.unlock(Unlock::Keyring).unwrap();
    assert!(v.admin_session(&Passphrase::from(ADMIN)).is_err());
    // The verifier with its version, as it was before the change.
    let c = raw_conn(dir.path());
    c.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
        .unwrap();
    c.execute(
        "UPDATE main.vault_meta SET
             admin_verifier = (SELECT admin_verifier FROM old.vault_meta),
             admin_version = (SELECT admin_version FROM old.vault_meta)",
        [],
    )
    .unwrap();
    assert_state_mismatch(v.admin_session(&Passphrase::from(ADMIN)), "vault_meta");
}

#[test]
fn an_old_api_key_row_and_an_old_policy_with_its_mac_are_refused() {
    let (dir, _ks, v) = new_vault();
    let a = admin(&v);
    let token = |value: &str| NewToken {
        kind: "api_key".into(),
        audience: "loopback-api".into(),
        expires_at_ms: None,
        value: SecretString::from(value.to_owned()),
    };
    let old_key = v.tokens().put(token("old-api-key")).unwrap();
    v.settings()
        .put(
            &a,
            "policy",
            &serde_json::json!({"allowed": ["https://as.example"]}),
        )
        .unwrap();
    let old = copy_of(dir.path(), "old-key-and-policy");
    // Replace the API key and narrow the policy.
    v.tokens().delete(&old_key).unwrap();
    v.tokens().put(token("new-api-key")).unwrap();
    v.settings()
        .put(&a, "policy", &serde_json::json!({"allowed": []}))
        .unwrap();

    copy_back(dir.path(), &old, "tokens", "1");
    assert_state_mismatch(v.tokens().find("api_key", "loopback-api"), "tokens");
    let c = raw_conn(dir.path());
    c.execute("DELETE FROM tokens WHERE id = ?1", [&old_key])
        .unwrap();
    v.tokens().find("api_key", "loopback-api").unwrap().unwrap();

    copy_back(dir.path(), &old, "settings", "name = 'policy'");
    assert_state_mismatch(v.settings().get("policy"), "settings");
}

#[test]
fn a_whole_older_file_is_refused_by_the_keyring_anchor() {
    let (dir, ks, v) = new_vault();
    let a = admin(&v);
    let e = employee(&v, &a, "bob@zorg.example");
    let old = copy_of(dir.path(), "whole");
    deactivate(&v, &a, &e.id);
    drop(a);
    drop(v);
    // The older file, complete and self-consistent, put back in place.
    for suffix in ["-wal", "-shm"] {
        let mut p = db_path(dir.path()).into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    std::fs::copy(&old, db_path(dir.path())).unwrap();
    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    match v.unlock(Unlock::Keyring) {
        Err(e @ VaultError::RolledBack { file, anchor }) => {
            assert!(file < anchor, "{e}");
            assert!(e.to_string().contains("rolled back"), "{e}");
            assert_eq!(e.code(), "tampered");
        }
        other => panic!("expected RolledBack, got {other:?}"),
    }
    assert!(v.is_locked());
}

#[test]
fn writes_from_another_process_are_accepted_and_checked() {
    // Two handles on one file stand for the app and the CLI: each commits a valid state, and
    // each sees the other's writes as valid (no false alarm), while an edit by a third party
    // between them is still caught.
    let (dir, ks, v1) = new_vault();
    let v2 = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    v2.unlock(Unlock::Keyring).unwrap();
    let a1 = admin(&v1);
    let a2 = admin(&v2);
    let e = employee(&v1, &a1, "carol@zorg.example");
    assert!(v2.employees().get(&e.id).unwrap().active);
    deactivate(&v2, &a2, &e.id);
    assert!(!v1.employees().get(&e.id).unwrap().active);
    raw_conn(dir.path())
        .execute("UPDATE employees SET updated_at = updated_at + 1", [])
        .unwrap();
    assert_state_mismatch(v1.employees().list(), "employees");
    assert_state_mismatch(v2.employees().list(), "employees");
}

#[test]
fn removing_the_state_record_is_refused() {
    let (dir, ks, v) = new_vault();
    drop(v);
    raw_conn(dir.path())
        .execute(
            "UPDATE vault_meta SET state_mac = NULL, state_tables = NULL, state_seq = 0",
            [],
        )
        .unwrap();
    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    match v.unlock(Unlock::Keyring) {
        Err(VaultError::StateMismatch(m)) => assert!(m.contains("removed"), "{m}"),
        other => panic!("expected StateMismatch, got {other:?}"),
    }
}

#[test]
fn a_restored_backup_beside_the_original_does_not_trip_either_anchor() {
    let (dir, ks, v) = new_vault();
    let a = admin(&v);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("b.nwb");
    let backup_pw = Passphrase::from("backup passphrase 1");
    v.backup(&a, &file, &backup_pw, KdfParams::INSECURE_TEST)
        .unwrap();
    employee(&v, &a, "dave@zorg.example");
    let target = tmp.path().join("restored");
    let restored = Vault::restore(
        &file,
        &backup_pw,
        &target,
        Arc::new(ks.clone()),
        RestoreOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
        },
    )
    .unwrap();
    assert!(restored.employees().list().unwrap().is_empty());
    drop(restored);
    drop(a);
    drop(v);
    for d in [dir.path(), target.as_path()] {
        let v = Vault::open(d, Arc::new(ks.clone())).unwrap();
        v.unlock(Unlock::Keyring).unwrap();
        admin(&v);
    }
}

/// A vault written by the previous release (schema 2, before state commitments): it opens,
/// gets its commitment at the first unlock, and from then on its own old rows copied back are
/// refused like any other.
#[test]
fn a_schema_2_vault_gets_a_commitment_and_is_then_protected() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vault-v2/vault.db");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&fixture, db_path(&dir)).unwrap();
    let ks = MemoryKeyStore::new();
    let v = Vault::open(&dir, Arc::new(ks.clone())).unwrap();
    assert_eq!(v.status().unwrap().schema_version, schema::LATEST);
    let pw = Passphrase::from("fixture vault passphrase");
    v.unlock(Unlock::Passphrase(&pw)).unwrap();
    let roster = v.employees().list().unwrap();
    let active: Vec<(&str, bool)> = roster
        .iter()
        .map(|e| (e.identifier.as_str(), e.active))
        .collect();
    assert_eq!(
        active,
        [("alice@zorg.example", true), ("bob@zorg.example", false)]
    );
    assert!(v.settings().get("s2s_policy").unwrap().is_some());
    let established = v
        .activity_log()
        .list(&ActivityFilter {
            action_prefix: Some("vault.state.establish".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(established.len(), 1);
    assert_eq!(
        ks.len(),
        1,
        "the keyring anchor was made at the first unlock"
    );
    let a = v
        .admin_session(&Passphrase::from("fixture admin passphrase"))
        .unwrap();
    let alice = roster[0].id.clone();
    deactivate(&v, &a, &alice);
    // Alice's row as the previous release wrote it, copied back (version 0, as migrated).
    let c = raw_conn(&dir);
    c.execute("ATTACH ?1 AS old", [fixture.to_str().unwrap()])
        .unwrap();
    let n = c
        .execute(
            "INSERT OR REPLACE INTO main.employees
                 (id, identifier_hash, active, key_id, personal, created_at, updated_at)
             SELECT * FROM old.employees WHERE id = ?1",
            [&alice],
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_state_mismatch(v.employees().get(&alice), "employees");
}
