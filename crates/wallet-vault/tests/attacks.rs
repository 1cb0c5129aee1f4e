//! Attacks on the vault file by someone who can write it (another process of the same user, a
//! copied-back file): each test does what such an attacker would with SQLite directly and
//! checks the vault notices.

#[path = "vault/common.rs"]
#[allow(dead_code)]
mod common;

use std::sync::Arc;

use common::*;
use wallet_vault::*;

fn record(v: &Vault, n: usize) {
    for i in 0..n {
        v.activity_log()
            .record(NewActivity::new(Actor::Admin, "test.act", &format!("s{i}")))
            .unwrap();
    }
}

fn drop_log_triggers(c: &rusqlite::Connection) {
    c.execute_batch("DROP TRIGGER activity_no_update; DROP TRIGGER activity_no_delete;")
        .unwrap();
}

fn count(dir: &std::path::Path) -> i64 {
    raw_conn(dir)
        .query_row("SELECT count(*) FROM activity", [], |r| r.get(0))
        .unwrap()
}

/// Deleting the newest activity entries from the file must not be papered over by the next
/// unlock re-sealing the log anchor: the unlock fails with a clear error, and nothing is
/// appended to the cut log.
#[test]
fn cutting_off_the_newest_log_entries_fails_the_next_unlock() {
    let (dir, ks, v) = new_vault();
    record(&v, 4);
    drop(v);
    let c = raw_conn(dir.path());
    drop_log_triggers(&c);
    let max: i64 = c
        .query_row("SELECT max(seq) FROM activity", [], |r| r.get(0))
        .unwrap();
    c.execute("DELETE FROM activity WHERE seq >= ?1", [max - 1])
        .unwrap();
    drop(c);
    let before = count(dir.path());

    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    let err = v.unlock(Unlock::Keyring).unwrap_err();
    assert!(matches!(err, VaultError::LogTampered(_)), "{err:?}");
    assert!(err.to_string().contains("cut off"), "{err}");
    assert!(v.is_locked());
    assert_eq!(count(dir.path()), before, "nothing appended to the cut log");
    // A second attempt does not wear the evidence away either.
    assert!(matches!(
        v.unlock(Unlock::Keyring),
        Err(VaultError::LogTampered(_))
    ));
}

/// The same cut made while the vault is unlocked (by another process) is caught by the next
/// write, which refuses rather than re-seal the anchor over it; `verify` names the cut.
#[test]
fn cutting_off_the_log_while_unlocked_fails_the_next_write_and_verify() {
    let (dir, _ks, v) = new_vault();
    record(&v, 3);
    let c = raw_conn(dir.path());
    drop_log_triggers(&c);
    c.execute(
        "DELETE FROM activity WHERE seq = (SELECT max(seq) FROM activity)",
        [],
    )
    .unwrap();
    drop(c);
    let report = v.activity_log().verify().unwrap();
    assert!(report.anchor_checked);
    let bad = report.first_bad.expect("the cut is reported");
    assert!(bad.problem.contains("cut off"), "{}", bad.problem);
    let err = v
        .activity_log()
        .record(NewActivity::new(Actor::Admin, "test.act", "after"))
        .unwrap_err();
    assert!(matches!(err, VaultError::LogTampered(_)), "{err:?}");
    // Still reported after the refused write.
    assert!(!v.activity_log().verify().unwrap().is_ok());
}

/// Entries written while the vault is locked (failed unlock attempts) cannot be sealed then;
/// they are checked before the next unlock seals over them, so editing one (even with a
/// recomputed hash) fails that unlock, and once sealed, deleting them is caught too.
#[test]
fn entries_written_while_locked_are_checked_and_then_sealed() {
    let (dir, ks, v) = new_vault();
    v.lock();
    assert!(v
        .unlock(Unlock::Passphrase(&Passphrase::from("wrong passphrase")))
        .is_err());
    let failed_seq: i64 = raw_conn(dir.path())
        .query_row(
            "SELECT max(seq) FROM activity WHERE outcome = 'failure'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(v);

    // Rewrite the locked entry's hash so it no longer matches its contents.
    let c = raw_conn(dir.path());
    drop_log_triggers(&c);
    c.execute(
        "UPDATE activity SET hash = '00' || substr(hash, 3) WHERE seq = ?1",
        [failed_seq],
    )
    .unwrap();
    drop(c);
    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    assert!(matches!(
        v.unlock(Unlock::Keyring),
        Err(VaultError::LogTampered(_))
    ));
    drop(v);

    // An untouched locked entry is sealed by the next unlock; cutting it off later is caught.
    let (dir, ks, v) = new_vault();
    v.lock();
    assert!(v
        .unlock(Unlock::Passphrase(&Passphrase::from("wrong passphrase")))
        .is_err());
    v.unlock(Unlock::Keyring).unwrap();
    drop(v);
    let c = raw_conn(dir.path());
    drop_log_triggers(&c);
    // Remove the unlock entry and the failed attempt before it.
    c.execute(
        "DELETE FROM activity WHERE seq >= (SELECT max(seq) - 1 FROM activity)",
        [],
    )
    .unwrap();
    drop(c);
    let v = Vault::open(dir.path(), Arc::new(ks)).unwrap();
    assert!(matches!(
        v.unlock(Unlock::Keyring),
        Err(VaultError::LogTampered(_))
    ));
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Another local user must not be able to read the vault file (wrapped keys, sealed values,
/// the plaintext activity log) or its WAL: the data directory is 0700 and the files 0600, also
/// when the data directory existed already with looser permissions.
#[cfg(unix)]
#[test]
fn the_vault_file_and_data_directory_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ks = MemoryKeyStore::new();
    let v = create_with(&dir, &ks, Protection::Keyring);
    record(&v, 1);
    assert_eq!(mode(&dir), 0o700);
    let db = db_path(&dir);
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    drop(v);

    // A file left readable by an older version is tightened when opened.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let v = Vault::open(&dir, Arc::new(ks)).unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir), 0o700);
    drop(v);
}

/// A backup file with a self-consistent checksum and the given header KDF parameters.
fn crafted_backup(
    dir: &std::path::Path,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
) -> std::path::PathBuf {
    use sha2::Digest;
    let header = serde_json::json!({
        "format": 1,
        "vault_id": "crafted",
        "schema_version": 1,
        "created_at_ms": 0,
        "kdf": {"m_cost_kib": m_cost_kib, "t_cost": t_cost, "p_cost": p_cost},
        "salt": "AAAAAAAAAAAAAAAAAAAAAA==",
    });
    let header = serde_json::to_vec(&header).unwrap();
    let mut file = b"NUTSWBK1".to_vec();
    file.extend_from_slice(&(header.len() as u32).to_be_bytes());
    file.extend_from_slice(&header);
    file.extend_from_slice(&72u32.to_be_bytes());
    file.extend_from_slice(&[7u8; 72]);
    file.extend_from_slice(&100u64.to_be_bytes());
    file.extend_from_slice(&[9u8; 100]);
    let sum = sha2::Sha256::digest(&file);
    file.extend_from_slice(&sum);
    let path = dir.join(format!("crafted-{m_cost_kib}-{t_cost}-{p_cost}.nwbak"));
    std::fs::write(&path, file).unwrap();
    path
}

fn restore_file(file: &std::path::Path, target: &std::path::Path) -> Result<Vault> {
    Vault::restore(
        file,
        &Passphrase::from("backup passphrase 1"),
        target,
        Arc::new(MemoryKeyStore::new()),
        RestoreOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
        },
    )
}

/// A crafted backup header must not make restore spend gigabytes of memory or minutes of CPU
/// on Argon2 (nor accept absurdly weak parameters): anything above what `backup` writes or
/// below the floor is refused before any key derivation.
#[test]
fn crafted_backup_kdf_parameters_are_refused_before_deriving() {
    let tmp = tempfile::tempdir().unwrap();
    let d = KdfParams::DEFAULT;
    let f = KdfParams::BACKUP_FLOOR;
    let cases = [
        (f.m_cost_kib, d.t_cost + 1, 1), // one pass more than backup writes
        (f.m_cost_kib, f.t_cost, d.p_cost + 1), // more lanes
        (f.m_cost_kib / 2, f.t_cost, 1), // below the floor
        (f.m_cost_kib, 0, 1),
        (d.m_cost_kib * 2, f.t_cost, 1), // more memory than backup uses
        (4 * 1024 * 1024, 100, 1),       // 4 GiB and 100 passes
    ];
    for (i, (m, t, p)) in cases.into_iter().enumerate() {
        let file = crafted_backup(tmp.path(), m, t, p);
        let started = std::time::Instant::now();
        let err = restore_file(&file, &tmp.path().join(format!("t{i}"))).unwrap_err();
        assert!(
            matches!(&err, VaultError::BackupDamaged(m) if m.contains("key-derivation")),
            "m={m} t={t} p={p}: {err:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
    // In range: it gets as far as the passphrase check.
    let file = crafted_backup(tmp.path(), f.m_cost_kib, f.t_cost, f.p_cost);
    assert!(matches!(
        restore_file(&file, &tmp.path().join("ok")),
        Err(VaultError::WrongPassphrase(PassphraseKind::Backup))
    ));
}

/// Backups are small: a huge file (here sparse) or an oversized header is refused before it
/// is read into memory.
#[test]
fn oversized_backup_files_and_headers_are_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.nwbak");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(256 * 1024 * 1024 + 1).unwrap();
    drop(f);
    let err = restore_file(&big, &tmp.path().join("t1")).unwrap_err();
    assert!(
        matches!(&err, VaultError::BackupDamaged(m) if m.contains("large")),
        "{err:?}"
    );

    let mut file = b"NUTSWBK1".to_vec();
    file.extend_from_slice(&u32::MAX.to_be_bytes());
    file.extend_from_slice(&[b' '; 1024]);
    let hdr = tmp.path().join("hdr.nwbak");
    std::fs::write(&hdr, file).unwrap();
    let err = restore_file(&hdr, &tmp.path().join("t2")).unwrap_err();
    assert!(
        matches!(&err, VaultError::BackupDamaged(m) if m.contains("header")),
        "{err:?}"
    );
}

/// `backup` itself refuses parameters a restore would refuse.
#[test]
fn backup_refuses_kdf_parameters_restore_would_refuse() {
    let (dir, _ks, v) = new_vault();
    let a = admin(&v);
    let too_many_passes = KdfParams {
        t_cost: KdfParams::DEFAULT.t_cost + 1,
        ..KdfParams::DEFAULT
    };
    assert!(matches!(
        v.backup(
            &a,
            &dir.path().join("b.nwbak"),
            &Passphrase::from("backup passphrase 1"),
            too_many_passes
        ),
        Err(VaultError::InvalidInput(_))
    ));
}

/// Editing a credential's clear `issuer` or `valid_until` column in the file (to pass off a
/// credential as another issuer's, or an expired one as valid) is reported when the
/// credentials are listed, not shown.
#[test]
fn edited_credential_listing_columns_are_reported_by_list() {
    for (column, value) in [
        (
            "issuer",
            rusqlite::types::Value::Text("did:web:forged.example".into()),
        ),
        (
            "valid_until",
            rusqlite::types::Value::Integer(9_000_000_000_000),
        ),
    ] {
        let (dir, _ks, v) = new_vault();
        let a = admin(&v);
        let stored = v.credentials().import(&a, credential(0)).unwrap();
        assert_eq!(
            v.credentials()
                .list(&CredentialFilter::default())
                .unwrap()
                .len(),
            1
        );
        raw_conn(dir.path())
            .execute(
                &format!("UPDATE credentials SET {column} = ?1 WHERE id = ?2"),
                rusqlite::params![value, stored.id],
            )
            .unwrap();
        let err = v
            .credentials()
            .list(&CredentialFilter::default())
            .unwrap_err();
        assert!(
            matches!(
                err,
                VaultError::Tampered { .. } | VaultError::StateMismatch(_)
            ),
            "{column}: {err:?}"
        );
    }
}
