//! The real OS keyring (Secret Service via gnome-keyring in CI; run inside `dbus-run-session`
//! with `gnome-keyring-daemon --unlock`, see the crate README). Uses a unique service name and
//! removes its entries.

use std::sync::Arc;

use wallet_vault::*;

use crate::common::*;

#[test]
fn os_keyring_protects_and_unlocks_the_vault() {
    let service = format!("nuts-wallet-test-{}", std::process::id());
    let ks = Arc::new(OsKeyring::with_service(&service));
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(
        dir.path(),
        ks.clone(),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap_or_else(|e| panic!("OS keyring (Secret Service) needed for this test: {e}"));
    let a = admin(&v);
    let c = v.credentials().import(&a, credential(3)).unwrap();
    drop(v);

    // A fresh handle on the keyring, as after a restart.
    let v = Vault::open(dir.path(), Arc::new(OsKeyring::with_service(&service))).unwrap();
    v.unlock(Unlock::Keyring).unwrap();
    assert_eq!(
        v.credentials().get(&c.id).unwrap().raw.expose_secret(),
        "eyJhbGciOiJFUzI1NiJ9.credential-3.sig"
    );
    // Switching to a passphrase removes the keyring entry.
    let a = admin(&v);
    v.set_protection(&a, pass_protection()).unwrap();
    let account: Option<String> = raw_conn(dir.path())
        .query_row("SELECT keyring_account FROM key_wraps", [], |r| r.get(0))
        .unwrap();
    assert!(account.is_none());
    v.lock();
    // Another service name sees no entry for this vault: a typed error.
    let dir2 = tempfile::tempdir().unwrap();
    let v2 = Vault::create(
        dir2.path(),
        ks.clone(),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    drop(v2);
    let other = Vault::open(
        dir2.path(),
        Arc::new(OsKeyring::with_service(&format!("{service}-other"))),
    )
    .unwrap();
    assert!(matches!(
        other.unlock(Unlock::Keyring),
        Err(VaultError::KeyringEntryMissing(_))
    ));
    // Clean up the entry of vault 2.
    let v2 = Vault::open(dir2.path(), ks.clone()).unwrap();
    v2.unlock(Unlock::Keyring).unwrap();
    let a2 = admin(&v2);
    v2.set_protection(&a2, pass_protection()).unwrap();
}
