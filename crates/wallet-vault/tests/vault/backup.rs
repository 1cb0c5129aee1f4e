use std::sync::Arc;

use wallet_vault::*;

use crate::common::*;

const BACKUP_PW: &str = "backup passphrase 1";

fn filled_vault() -> (
    tempfile::TempDir,
    MemoryKeyStore,
    Vault,
    CredentialMeta,
    KeyInfo,
) {
    let (dir, ks, v) = new_vault();
    let a = admin(&v);
    let cred = v.credentials().import(&a, credential(1)).unwrap();
    let key = v.keys().generate(&a, "org", "organization").unwrap();
    (dir, ks, v, cred, key)
}

fn make_backup(v: &Vault, out: &std::path::Path) -> BackupInfo {
    let a = admin(v);
    v.backup(
        &a,
        out,
        &Passphrase::from(BACKUP_PW),
        KdfParams::INSECURE_TEST,
    )
    .unwrap()
}

fn restore_opts(protection: Protection) -> RestoreOptions {
    RestoreOptions {
        protection,
        admin_passphrase: Passphrase::from(ADMIN),
    }
}

#[test]
fn backup_restores_on_another_machine_with_keyring_or_passphrase() {
    use wallet_protocol::signer::Signer;
    let (dir, _ks, v, cred, key) = filled_vault();
    let out = dir.path().join("wallet.nwbak");
    let info = make_backup(&v, &out);
    assert_eq!(info.vault_id, v.vault_id());
    assert!(info.bytes > 1000);
    let sig_jwk = v.keys().signer(&key.id).unwrap().public_jwk();

    // "Another machine": a fresh key store and an empty data dir.
    for protection in [Protection::Keyring, pass_protection()] {
        let is_pass = matches!(protection, Protection::Passphrase { .. });
        let target = tempfile::tempdir().unwrap();
        let ks2 = MemoryKeyStore::new();
        let restored = Vault::restore(
            &out,
            &Passphrase::from(BACKUP_PW),
            target.path(),
            Arc::new(ks2.clone()),
            restore_opts(protection),
        )
        .unwrap();
        assert_eq!(restored.vault_id(), v.vault_id());
        assert_eq!(
            restored
                .credentials()
                .get(&cred.id)
                .unwrap()
                .raw
                .expose_secret(),
            v.credentials().get(&cred.id).unwrap().raw.expose_secret()
        );
        assert_eq!(
            restored.keys().signer(&key.id).unwrap().public_jwk(),
            sig_jwk
        );
        assert!(restored.activity_log().verify().unwrap().is_ok());
        // The keyring wrap (if any) and the restored vault's own state anchor.
        assert_eq!(ks2.len(), usize::from(!is_pass) + 1);
        // Unlockable after a restart, with the new protection only.
        drop(restored);
        let reopened = Vault::open(target.path(), Arc::new(ks2.clone())).unwrap();
        if is_pass {
            reopened
                .unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
                .unwrap();
        } else {
            reopened.unlock(Unlock::Keyring).unwrap();
        }
        assert_eq!(reopened.status().unwrap().protection.len(), 1);
        let last = &reopened
            .activity_log()
            .list(&ActivityFilter::default())
            .unwrap()[1];
        assert_eq!(last.action, "vault.restore");
        // Left no temporary files behind.
        let names: Vec<String> = std::fs::read_dir(target.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.starts_with("vault.db")), "{names:?}");
    }
}

fn assert_target_untouched(target: &std::path::Path, ks: &MemoryKeyStore) {
    let left: Vec<_> = std::fs::read_dir(target).unwrap().collect();
    assert!(left.is_empty(), "target dir must stay empty: {left:?}");
    assert!(ks.is_empty(), "no keyring entry may be left behind");
}

#[test]
fn wrong_passphrase_damaged_file_and_wrong_admin_are_refused_cleanly() {
    let (dir, _ks, v, _c, _k) = filled_vault();
    let out = dir.path().join("wallet.nwbak");
    make_backup(&v, &out);
    let good = std::fs::read(&out).unwrap();
    let target = tempfile::tempdir().unwrap();
    let ks2 = MemoryKeyStore::new();
    let restore = |file: &std::path::Path, pw: &str, admin_pw: &str| {
        Vault::restore(
            file,
            &Passphrase::from(pw),
            target.path(),
            Arc::new(ks2.clone()),
            RestoreOptions {
                protection: Protection::Keyring,
                admin_passphrase: Passphrase::from(admin_pw),
            },
        )
    };

    let err = restore(&out, "wrong backup passphrase", ADMIN).unwrap_err();
    assert!(
        matches!(err, VaultError::WrongPassphrase(PassphraseKind::Backup)),
        "{err}"
    );
    assert_target_untouched(target.path(), &ks2);

    let err = restore(&out, BACKUP_PW, "wrong admin passphrase").unwrap_err();
    assert!(
        matches!(err, VaultError::WrongPassphrase(PassphraseKind::Admin)),
        "{err}"
    );
    assert_target_untouched(target.path(), &ks2);

    // Damage: one flipped byte at several places, truncation, garbage.
    let bad = dir.path().join("bad.nwbak");
    for pos in [0, 9, 20, good.len() / 2, good.len() - 40, good.len() - 1] {
        let mut b = good.clone();
        b[pos] ^= 0x10;
        std::fs::write(&bad, &b).unwrap();
        let err = restore(&bad, BACKUP_PW, ADMIN).unwrap_err();
        assert!(
            matches!(err, VaultError::BackupDamaged(_)),
            "byte {pos}: {err}"
        );
        assert_target_untouched(target.path(), &ks2);
    }
    std::fs::write(&bad, &good[..good.len() - 100]).unwrap();
    assert!(matches!(
        restore(&bad, BACKUP_PW, ADMIN),
        Err(VaultError::BackupDamaged(_))
    ));
    std::fs::write(&bad, b"hello, not a backup").unwrap();
    assert!(matches!(
        restore(&bad, BACKUP_PW, ADMIN),
        Err(VaultError::BackupDamaged(_))
    ));
    assert_target_untouched(target.path(), &ks2);

    // A consistent but maliciously altered file (checksum recomputed) is still refused.
    use sha2::Digest;
    let mut b = good[..good.len() - 32].to_vec();
    let mid = b.len() - 50;
    b[mid] ^= 1;
    let sum = sha2::Sha256::digest(&b);
    b.extend_from_slice(&sum);
    std::fs::write(&bad, &b).unwrap();
    let err = restore(&bad, BACKUP_PW, ADMIN).unwrap_err();
    assert!(matches!(err, VaultError::BackupDamaged(_)), "{err}");
    assert_target_untouched(target.path(), &ks2);

    // And the good file still works into that same directory.
    restore(&out, BACKUP_PW, ADMIN).unwrap();
}

#[test]
fn restore_refuses_a_directory_with_a_vault_and_backup_needs_admin() {
    let (dir, ks, v, _c, _k) = filled_vault();
    let out = dir.path().join("b.nwbak");
    make_backup(&v, &out);
    let before = std::fs::read(db_path(dir.path())).unwrap();
    let err = Vault::restore(
        &out,
        &Passphrase::from(BACKUP_PW),
        dir.path(),
        Arc::new(ks.clone()),
        restore_opts(Protection::Keyring),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::AlreadyInitialized(_)));
    assert_eq!(std::fs::read(db_path(dir.path())).unwrap(), before);
    // Backup refuses to overwrite and needs a live admin session.
    let a = admin(&v);
    assert!(v
        .backup(
            &a,
            &out,
            &Passphrase::from(BACKUP_PW),
            KdfParams::INSECURE_TEST
        )
        .is_err());
    v.lock();
    v.unlock(Unlock::Keyring).unwrap();
    assert!(matches!(
        v.backup(
            &a,
            &dir.path().join("c.nwbak"),
            &Passphrase::from(BACKUP_PW),
            KdfParams::INSECURE_TEST
        ),
        Err(VaultError::AdminRequired(_))
    ));
    assert!(!dir.path().join("c.nwbak").exists());
}
