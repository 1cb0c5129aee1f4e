use std::sync::Arc;

use wallet_vault::*;

use crate::common::*;

#[test]
fn create_lock_open_unlock_with_keyring_and_passphrase() {
    let (dir, ks, v) = new_vault();
    assert!(!v.is_locked());
    let st = v.status().unwrap();
    assert_eq!(st.protection, ["keyring"]);
    assert!(st.admin_passphrase_set);
    assert_eq!(st.auto_lock_secs, 600);
    assert_eq!(st.schema_version, schema::LATEST);
    v.lock();
    assert!(v.is_locked());
    assert!(matches!(
        v.credentials().list(&Default::default()),
        Err(VaultError::Locked)
    ));
    drop(v);
    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    assert!(v.is_locked());
    v.unlock(Unlock::Keyring).unwrap();
    assert!(v
        .credentials()
        .list(&Default::default())
        .unwrap()
        .is_empty());

    let dir2 = tempfile::tempdir().unwrap();
    let v2 = create_with(dir2.path(), &ks, pass_protection());
    v2.lock();
    let err = v2
        .unlock(Unlock::Passphrase(&Passphrase::from("wrong passphrase")))
        .unwrap_err();
    assert!(
        matches!(err, VaultError::WrongPassphrase(PassphraseKind::Vault)),
        "{err}"
    );
    assert!(v2.is_locked());
    assert!(matches!(
        v2.unlock(Unlock::Keyring),
        Err(VaultError::InvalidInput(_))
    ));
    v2.unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
        .unwrap();
    // The failed attempt was logged, and the log still verifies.
    let failed = v2
        .activity_log()
        .list(&ActivityFilter {
            action_prefix: Some("vault.unlock".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(failed.iter().any(|e| e.outcome == "failure"));
    assert!(v2.activity_log().verify().unwrap().is_ok());
}

#[test]
fn open_missing_and_create_twice() {
    let dir = tempfile::tempdir().unwrap();
    let ks: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    assert!(matches!(
        Vault::open(dir.path(), ks.clone()),
        Err(VaultError::NotInitialized(_))
    ));
    assert!(!Vault::exists(dir.path()));
    let mks = MemoryKeyStore::new();
    let _v = create_with(dir.path(), &mks, Protection::Keyring);
    assert!(Vault::exists(dir.path()));
    let again = Vault::create(
        dir.path(),
        Arc::new(mks.clone()),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    );
    assert!(matches!(again, Err(VaultError::AlreadyInitialized(_))));
    // The first vault's wrap and state anchor.
    assert_eq!(mks.len(), 2, "the refused create left no keyring entry");
}

#[test]
fn garbage_file_is_reported_corrupt_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(db_path(dir.path()), &garbage).unwrap();
    let err = Vault::open(dir.path(), Arc::new(MemoryKeyStore::new())).unwrap_err();
    assert!(matches!(err, VaultError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
    assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), garbage);
    // Creating over it is refused too.
    let ks = MemoryKeyStore::new();
    let r = Vault::create(
        dir.path(),
        Arc::new(ks),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    );
    assert!(matches!(r, Err(VaultError::AlreadyInitialized(_))));
    assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), garbage);
}

#[test]
fn foreign_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = raw_conn(dir.path());
    c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(c);
    let before = std::fs::read(db_path(dir.path())).unwrap();
    let err = Vault::open(dir.path(), Arc::new(MemoryKeyStore::new())).unwrap_err();
    assert!(err.to_string().contains("not a Nuts Wallet vault"), "{err}");
    assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), before);
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let (dir, ks, v) = new_vault();
    drop(v);
    let c = raw_conn(dir.path());
    c.pragma_update(None, "user_version", schema::LATEST + 1)
        .unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    drop(c);
    let before = std::fs::read(db_path(dir.path())).unwrap();
    let err = Vault::open(dir.path(), Arc::new(ks)).unwrap_err();
    match err {
        VaultError::NewerSchema { found, supported } => {
            assert_eq!(found, schema::LATEST + 1);
            assert_eq!(supported, schema::LATEST);
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), before);
}

#[test]
fn keyring_failures_are_typed() {
    let (dir, ks, v) = new_vault();
    v.lock();
    ks.set_unavailable(true);
    assert!(matches!(
        v.unlock(Unlock::Keyring),
        Err(VaultError::KeyringUnavailable(_))
    ));
    ks.set_unavailable(false);
    // Another machine: same file, empty keyring.
    let other = Vault::open(dir.path(), Arc::new(MemoryKeyStore::new())).unwrap();
    assert!(matches!(
        other.unlock(Unlock::Keyring),
        Err(VaultError::KeyringEntryMissing(_))
    ));
    // Creating with an unavailable keyring fails cleanly and leaves no file behind.
    let dir2 = tempfile::tempdir().unwrap();
    let ks2 = MemoryKeyStore::new();
    ks2.set_unavailable(true);
    let r = Vault::create(
        dir2.path(),
        Arc::new(ks2),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    );
    assert!(matches!(r, Err(VaultError::KeyringUnavailable(_))));
    assert!(!Vault::exists(dir2.path()));
}

#[test]
fn short_passphrases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = Vault::create(
        dir.path(),
        Arc::new(MemoryKeyStore::new()),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from("short"),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    );
    assert!(matches!(r, Err(VaultError::InvalidInput(_))));
    assert!(!Vault::exists(dir.path()));
}

#[test]
fn auto_lock_setting_is_stored_and_bounded() {
    let (dir, ks, v) = new_vault();
    let a = admin(&v);
    assert_eq!(
        v.settings().auto_lock_secs().unwrap(),
        DEFAULT_AUTO_LOCK_SECS
    );
    v.settings().set_auto_lock_secs(&a, 120).unwrap();
    assert!(v.settings().set_auto_lock_secs(&a, 5).is_err());
    drop(v);
    let v = Vault::open(dir.path(), Arc::new(ks)).unwrap();
    // Readable while locked: the app needs it before unlock.
    assert_eq!(v.settings().auto_lock_secs().unwrap(), 120);
    assert_eq!(v.status().unwrap().auto_lock_secs, 120);
}

#[test]
fn vault_is_send_sync_and_usable_from_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Vault>();
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    for i in 0..4 {
        v.credentials().import(&a, credential(i)).unwrap();
    }
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let v = v.clone();
            std::thread::spawn(move || v.credentials().list(&Default::default()).unwrap().len())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 4);
    }
}

#[test]
fn interrupted_setup_can_be_finished_but_a_used_file_is_refused() {
    let ks = MemoryKeyStore::new();
    // A setup killed after the schema was made but before the vault was written: simulate it
    // with an empty file that `open` migrates and then reports as not initialized.
    let dir = tempfile::tempdir().unwrap();
    raw_conn(dir.path())
        .pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
    let err = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap_err();
    assert!(matches!(err, VaultError::NotInitialized(_)), "{err}");
    let n: i64 = raw_conn(dir.path())
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'vault_meta'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1, "the schema exists, the vault does not");
    // Setup can be finished: not a dead end.
    let v = create_with(dir.path(), &ks, Protection::Keyring);
    assert!(v.status().unwrap().activity_entries >= 1);
    drop(v);
    // A file with a vault in it is never reused or changed.
    let before = std::fs::read(db_path(dir.path())).unwrap();
    let again = Vault::create(
        dir.path(),
        Arc::new(ks.clone()),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    );
    assert!(matches!(again, Err(VaultError::AlreadyInitialized(_))));
    assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), before);
    // The first vault's wrap and state anchor.
    assert_eq!(ks.len(), 2, "the refused create left no keyring entry");
}

#[test]
fn idle_tracking_for_auto_lock() {
    let (_dir, _ks, v) = new_vault();
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert!(v.idle_for() >= std::time::Duration::from_millis(30));
    v.credentials().list(&Default::default()).unwrap();
    assert!(v.idle_for() < std::time::Duration::from_millis(30));
    // Just used: the 600 s default does not lock.
    assert!(!v.lock_if_idle().unwrap());
    assert!(!v.is_locked());
}

#[test]
fn two_handles_on_one_file_keep_one_valid_chain() {
    // The app and the CLI may have the vault open at the same time: separate connections
    // appending concurrently must still produce one unbroken chain.
    let (dir, ks, v1) = new_vault();
    let v2 = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    v2.unlock(Unlock::Keyring).unwrap();
    let workers: Vec<_> = [v1.clone(), v2.clone()]
        .into_iter()
        .enumerate()
        .map(|(w, v)| {
            std::thread::spawn(move || {
                for i in 0..40 {
                    v.activity_log()
                        .record(NewActivity::new(
                            Actor::Employee(format!("w{w}")),
                            "test.concurrent",
                            &i.to_string(),
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let r = v1.activity_log().verify().unwrap();
    assert!(r.is_ok(), "{r:?}");
    let n = v2
        .activity_log()
        .list(&ActivityFilter {
            action_prefix: Some("test.concurrent".into()),
            ..Default::default()
        })
        .unwrap()
        .len();
    assert_eq!(n, 80);
}
