use std::sync::Arc;

use wallet_vault::*;

use crate::common::*;

#[test]
fn admin_actions_need_a_live_session() {
    let (_dir, _ks, v) = new_vault();
    let err = v
        .admin_session(&Passphrase::from("not the admin one"))
        .unwrap_err();
    assert!(matches!(
        err,
        VaultError::WrongPassphrase(PassphraseKind::Admin)
    ));
    let a = admin(&v);
    v.credentials().import(&a, credential(1)).unwrap();
    // Locking invalidates the session, even after unlocking again.
    v.lock();
    assert!(matches!(
        v.credentials().import(&a, credential(2)),
        Err(VaultError::Locked)
    ));
    v.unlock(Unlock::Keyring).unwrap();
    let err = v.credentials().import(&a, credential(2)).unwrap_err();
    assert!(matches!(err, VaultError::AdminRequired(_)), "{err}");
    let a = admin(&v);
    v.credentials().import(&a, credential(2)).unwrap();
    // Admin login attempts are in the log.
    let logins = v
        .activity_log()
        .list(&ActivityFilter {
            action_prefix: Some("admin.login".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(logins.iter().filter(|e| e.outcome == "failure").count(), 1);
    assert_eq!(logins.iter().filter(|e| e.outcome == "success").count(), 2);
}

#[test]
fn session_of_another_vault_is_refused() {
    let (_d1, _k1, v1) = new_vault();
    let (_d2, _k2, v2) = new_vault();
    let a1 = admin(&v1);
    assert!(matches!(
        v2.keys().generate(&a1, "k", "organization"),
        Err(VaultError::AdminRequired(_))
    ));
}

#[test]
fn admin_session_needs_unlocked_vault() {
    let (_dir, _ks, v) = new_vault();
    v.lock();
    assert!(matches!(
        v.admin_session(&Passphrase::from(ADMIN)),
        Err(VaultError::Locked)
    ));
}

#[test]
fn change_admin_passphrase() {
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    v.set_admin_passphrase(
        &a,
        &Passphrase::from("new admin passphrase"),
        KdfParams::INSECURE_TEST,
    )
    .unwrap();
    assert!(v.admin_session(&Passphrase::from(ADMIN)).is_err());
    v.admin_session(&Passphrase::from("new admin passphrase"))
        .unwrap();
    assert!(
        v.activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("admin.passphrase.change".into()),
                ..Default::default()
            })
            .unwrap()
            .len()
            == 1
    );
}

#[test]
fn switch_protection_from_passphrase_to_keyring_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let ks = MemoryKeyStore::new();
    let v = create_with(dir.path(), &ks, pass_protection());
    let a = admin(&v);
    v.credentials().import(&a, credential(7)).unwrap();
    v.set_protection(&a, Protection::Keyring).unwrap();
    // The vault key's wrap and the state anchor.
    assert_eq!(ks.len(), 2);
    drop(v);
    let v = Vault::open(dir.path(), Arc::new(ks.clone())).unwrap();
    assert!(v
        .unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
        .is_err());
    v.unlock(Unlock::Keyring).unwrap();
    let a = admin(&v);
    v.set_protection(&a, pass_protection()).unwrap();
    assert_eq!(
        ks.len(),
        1,
        "old keyring entry removed; the state anchor stays"
    );
    v.lock();
    v.unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
        .unwrap();
    assert_eq!(v.credentials().list(&Default::default()).unwrap().len(), 1);
}

#[test]
fn settings_are_admin_only_and_audited() {
    let (_dir, _ks, v) = new_vault();
    let a = admin(&v);
    let policy = serde_json::json!({"allowed_as": ["https://as.example"]});
    v.settings().put(&a, "policy", &policy).unwrap();
    assert_eq!(v.settings().get("policy").unwrap(), Some(policy));
    assert_eq!(v.settings().get("missing").unwrap(), None);
    let e = &v
        .activity_log()
        .list(&ActivityFilter {
            action_prefix: Some("setting.".into()),
            ..Default::default()
        })
        .unwrap()[0];
    assert_eq!(e.subject, "policy");
    assert_eq!(e.actor, "admin");
}
