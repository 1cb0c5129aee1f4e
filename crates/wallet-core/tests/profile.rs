//! The organization profile's time rules and the managed-install file: an expired profile is
//! refused at enrollment; once the profile in force expires, nothing is signed for the
//! organization; the managed-install file must not be readable by everyone.

use std::sync::Arc;

use wallet_core::org::{self, IdentityError, NewKeyLocation};
use wallet_core::profile::{
    self, EnrollOptions, EnrollmentSecret, ManagedInstall, ProfileError, ProfileSource,
};
use wallet_core::runtime::Network;
use wallet_protocol::clock::FixedClock;
use wallet_protocol::did::Did;
use wallet_protocol::net::NetPolicy;
use wallet_protocol::SystemClock;
use wallet_testkit::https::StaticHttpsServer;
use wallet_testkit::pki::TestPki;
use wallet_testkit::softhsm::SoftHsm;
use wallet_vault::{KdfParams, MemoryKeyStore, Passphrase, Protection, Vault};

const ADMIN: &str = "admin passphrase for profile core tests";

struct Org {
    tmp: tempfile::TempDir,
    vault: Vault,
    admin: wallet_vault::AdminSession,
    did: Did,
    net: Network,
    _server: StaticHttpsServer,
}

async fn org(token: &str) -> Org {
    let hsm = SoftHsm::shared();
    hsm.init_token(token);
    let uri = hsm.uri_on(token, "org");
    org::provide_pin(&uri.parse().unwrap(), hsm.pin());
    let pki = TestPki::localhost();
    let server = StaticHttpsServer::start(&pki).await;
    let tmp = tempfile::tempdir().unwrap();
    let w = wallet_testkit::wallet::org_wallet_with_key(
        &tmp.path().join("admin"),
        Protection::Keyring,
        ADMIN,
        &server.base(),
        NewKeyLocation::parse(Some(&uri)).unwrap(),
    );
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN)).unwrap();
    let bundle = tmp.path().join("bundle");
    let report = org::publish(&w.vault, &admin, &bundle, &SystemClock).unwrap();
    for f in &report.files {
        server.serve(
            &format!("/{}", f.path),
            &f.content_type,
            std::fs::read(bundle.join(&f.path)).unwrap(),
        );
    }
    let net = Network::from_policy(NetPolicy {
        dev: true,
        extra_ca_pem: Some(pki.ca_pem.clone()),
    })
    .unwrap();
    Org {
        did: Did::parse(&w.org.did).unwrap(),
        vault: w.vault,
        admin,
        tmp,
        net,
        _server: server,
    }
}

impl Org {
    /// Publishes as if at `at`, valid one day.
    fn publish_at(&self, at: i64, name: &str) -> std::path::PathBuf {
        let share = self.tmp.path().join("share");
        std::fs::create_dir_all(&share).unwrap();
        let out = share.join(name);
        profile::publish_profile(&self.vault, &self.admin, &out, Some(1), &FixedClock(at)).unwrap();
        out
    }

    fn secret(&self) -> EnrollmentSecret {
        profile::enrollment_secret(&self.vault, &self.admin)
            .unwrap()
            .0
    }

    async fn enroll(&self, file: &std::path::Path, dir: &str) -> Result<Vault, ProfileError> {
        profile::enroll(
            &self.tmp.path().join(dir),
            Arc::new(MemoryKeyStore::new()),
            EnrollOptions {
                source: ProfileSource::File(file.to_owned()),
                org_did: self.did.clone(),
                secret: self.secret(),
                protection: Protection::Keyring,
                admin_passphrase: Passphrase::from("workstation admin passphrase"),
                admin_kdf: KdfParams::INSECURE_TEST,
            },
            &self.net,
        )
        .await
    }
}

fn now() -> i64 {
    SystemClock.now_unix()
}

use wallet_protocol::Clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_profile_is_refused_and_an_expiring_one_stops_organization_signatures() {
    let o = org("profile-expiry").await;
    // Published two days ago, valid one day: refused, nothing made.
    let old = o.publish_at(now() - 2 * 86_400, "old.jwe");
    let err = o.enroll(&old, "ws-expired").await.unwrap_err();
    assert!(matches!(err, ProfileError::Refused(_)), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(!Vault::exists(&o.tmp.path().join("ws-expired")));

    // Valid for three more seconds: enrolled, signs; then expired: signs nothing.
    let short = o.publish_at(now() - 86_400 + 3, "short.jwe");
    let ws = o.enroll(&short, "ws").await.unwrap();
    let info = org::require_organization(&ws).unwrap();
    org::organization_signer(&ws, &info).expect("in force");
    profile::in_force(&ws, now()).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let err = profile::in_force(&ws, now()).unwrap_err();
    assert_eq!(err.code(), "profile_expired");
    match org::organization_signer(&ws, &info) {
        Err(IdentityError::ProfileExpired(m)) => {
            assert!(m.contains("organization presentations are refused"), "{m}")
        }
        other => panic!("expected ProfileExpired, got {other:?}"),
    }
    // A refresh that finds only the same expired profile changes nothing.
    let r = profile::refresh(&ws, &o.net).await;
    assert!(r.is_err(), "{r:?}");
    assert!(profile::in_force(&ws, now()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workstation_cannot_change_what_the_profile_sets() {
    let o = org("profile-guard").await;
    let file = o.publish_at(now(), "p.jwe");
    let ws = o.enroll(&file, "ws").await.unwrap();
    let admin = ws
        .admin_session(&Passphrase::from("workstation admin passphrase"))
        .unwrap();
    let e = wallet_core::roster::add_employee(
        &ws,
        &admin,
        wallet_core::roster::NewRosterEntry {
            identifier: "x".into(),
            name: "X".into(),
            role: "Y".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "managed");
    let e = wallet_core::credentials::set_issuer_trust(&ws, &admin, "did:web:x.example", true)
        .unwrap_err();
    assert_eq!(e.code(), "managed");
    let mut policy = wallet_core::access_policy::ServicePolicy::load(&ws).unwrap();
    policy.allow_server("https://evil.example").unwrap();
    assert!(policy.save(&ws, &admin).is_err());
    assert!(org::rotate_key(&ws, &admin, None).is_err());
    // The organization's administrator passphrase does not open the workstation.
    assert!(ws.admin_session(&Passphrase::from(ADMIN)).is_err());
}

#[test]
fn the_managed_install_file_must_not_be_readable_by_everyone() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("managed.json");
    std::fs::write(
        &path,
        r#"{"profile":"/srv/share/p.jwe","org_did":"did:web:zorg.example","enrollment_secret":"nwe_x"}"#,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = ManagedInstall::load_from(&path).unwrap_err();
    assert!(e.to_string().contains("chmod 0640"), "{e}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let m = ManagedInstall::load_from(&path).unwrap();
    assert_eq!(m.org_did, "did:web:zorg.example");
    std::fs::write(&path, "{").unwrap();
    assert!(ManagedInstall::load_from(&path).is_err());
}

fn ws_admin(ws: &Vault) -> wallet_vault::AdminSession {
    ws.admin_session(&Passphrase::from("workstation admin passphrase"))
        .unwrap()
}

fn entry(identifier: &str) -> wallet_core::roster::NewRosterEntry {
    wallet_core::roster::NewRosterEntry {
        identifier: identifier.into(),
        name: format!("Name of {identifier}"),
        role: "Verpleegkundige".into(),
    }
}

fn policy_allowing(vault: &Vault, admin: &wallet_vault::AdminSession, server: &str) {
    let mut p = ServicePolicy::load(vault).unwrap();
    p.allow_server(server).unwrap();
    p.save(vault, admin).unwrap();
}

fn servers(vault: &Vault) -> Vec<String> {
    let v = serde_json::to_value(ServicePolicy::load(vault).unwrap()).unwrap();
    let mut out: Vec<String> = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["authorization_server"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

use wallet_core::access_policy::ServicePolicy;
use wallet_core::profile::LocalArea;

/// Only what the profile allows is changed on a workstation; a local change stands over later
/// versions until the workstation returns to the organization's setting, or until a profile no
/// longer allows it; local employees are the workstation's, the profile's entries stay locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workstation_changes_only_what_the_profile_allows() {
    let o = org("profile-local").await;
    wallet_core::roster::add_employee(&o.vault, &o.admin, entry("org-1")).unwrap();
    policy_allowing(&o.vault, &o.admin, "https://as-one.example");
    let allowed = [LocalArea::AccessPolicy, LocalArea::LocalEmployees];
    assert_eq!(
        profile::set_published_local_changes(&o.vault, &o.admin, &allowed).unwrap(),
        allowed.to_vec()
    );
    let file = o.publish_at(now(), "p.jwe");
    let ws = o.enroll(&file, "ws").await.unwrap();
    let admin = ws_admin(&ws);
    let status = profile::local_status(&ws).unwrap().unwrap();
    assert_eq!(status.allowed, allowed.to_vec());
    assert!(status.changed.is_empty());

    // Not allowed: refused, as before.
    let e = wallet_core::credentials::set_issuer_trust(&ws, &admin, "did:web:x.example", true)
        .unwrap_err();
    assert_eq!(e.code(), "managed");
    let e = wallet_core::roster::set_credential_validity(&ws, &admin, 600).unwrap_err();
    assert_eq!(e.code(), "managed");
    // The profile's employee stays as published.
    let e = wallet_core::roster::update_employee(&ws, &admin, "org-1", Some("Other"), None)
        .unwrap_err();
    assert_eq!(e.code(), "managed");
    let e = wallet_core::roster::deactivate_employee(&ws, &admin, "org-1").unwrap_err();
    assert_eq!(e.code(), "managed");

    // Saving the organization's own policy unchanged is not a local change: it keeps
    // following the organization.
    ServicePolicy::load(&ws).unwrap().save(&ws, &admin).unwrap();
    assert!(profile::local_status(&ws)
        .unwrap()
        .unwrap()
        .changed
        .is_empty());

    // Allowed: the access policy and a local employee.
    policy_allowing(&ws, &admin, "https://as-local.example");
    wallet_core::roster::add_employee(&ws, &admin, entry("locum-1")).unwrap();
    wallet_core::roster::set_os_account(&ws, &admin, "locum-1", Some("locum1")).unwrap();
    wallet_core::roster::update_employee(&ws, &admin, "locum-1", None, Some("Arts")).unwrap();
    let status = profile::local_status(&ws).unwrap().unwrap();
    assert_eq!(status.changed, vec![LocalArea::AccessPolicy]);
    assert_eq!(status.local_employees, vec!["locum-1".to_owned()]);

    // A newer profile: the organization's policy changed, the workstation's own stands; the
    // local employee stays active; the organization's new employee arrives, with the OS
    // account the workstation had given its own entry: the profile's employee gets it.
    policy_allowing(&o.vault, &o.admin, "https://as-two.example");
    wallet_core::roster::add_employee(&o.vault, &o.admin, entry("org-2")).unwrap();
    wallet_core::roster::set_os_account(&o.vault, &o.admin, "org-2", Some("LOCUM1")).unwrap();
    o.publish_at(now(), "p.jwe");
    let r = profile::refresh(&ws, &o.net).await.unwrap();
    assert!(
        matches!(r, profile::RefreshOutcome::Applied { to: 2, .. }),
        "{r:?}"
    );
    assert_eq!(
        servers(&ws),
        ["https://as-local.example", "https://as-one.example"]
    );
    let roster = wallet_core::roster::list_employees(&ws).unwrap();
    let active = |id: &str| roster.iter().find(|e| e.identifier == id).unwrap().active;
    assert!(active("locum-1") && active("org-1") && active("org-2"));
    let who = wallet_core::roster::employee_for_os_account(&ws, "locum1")
        .unwrap()
        .unwrap();
    assert_eq!(who.identifier, "org-2");
    let locum = roster.iter().find(|e| e.identifier == "locum-1").unwrap();
    assert_eq!(locum.os_account, None);

    // Back to the organization's setting: version 2's policy, without fetching anything.
    profile::use_organization_setting(&ws, &admin, LocalArea::AccessPolicy).unwrap();
    assert_eq!(
        servers(&ws),
        ["https://as-one.example", "https://as-two.example"]
    );
    assert!(profile::local_status(&ws)
        .unwrap()
        .unwrap()
        .changed
        .is_empty());
    let e = profile::use_organization_setting(&ws, &admin, LocalArea::AccessPolicy).unwrap_err();
    assert!(e.to_string().contains("already follows"), "{e}");
    let revert = ws
        .activity_log()
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "profile.local.revert")
        .count();
    assert_eq!(revert, 1);

    // A local change undone by hand follows the organization again.
    policy_allowing(&ws, &admin, "https://as-local.example");
    let mut p = ServicePolicy::load(&ws).unwrap();
    p.remove_server("https://as-local.example");
    p.save(&ws, &admin).unwrap();
    assert!(profile::local_status(&ws)
        .unwrap()
        .unwrap()
        .changed
        .is_empty());

    // A publication that fails keeps the previous choice of what workstations may change.
    let bundle = o.tmp.path().join("bundle").join("p.jwe");
    assert!(profile::publish_profile_allowing(
        &o.vault,
        &o.admin,
        &bundle,
        Some(1),
        &[],
        &FixedClock(now())
    )
    .is_err());
    assert_eq!(
        profile::published_local_changes(&o.vault).unwrap(),
        allowed.to_vec()
    );

    // Changed locally again, then the organization withdraws the permission: its setting
    // applies again, the local employee is deactivated, and changes are refused.
    policy_allowing(&ws, &admin, "https://as-local.example");
    profile::set_published_local_changes(&o.vault, &o.admin, &[]).unwrap();
    o.publish_at(now(), "p.jwe");
    match profile::refresh(&ws, &o.net).await.unwrap() {
        profile::RefreshOutcome::Applied { to: 3, changes, .. } => {
            let text = changes.join("; ");
            assert!(
                text.contains("access-policy: the organization's setting again"),
                "{text}"
            );
            assert!(text.contains("local-employees: 1 deactivated"), "{text}");
        }
        other => panic!("expected version 3 applied, got {other:?}"),
    }
    assert_eq!(
        servers(&ws),
        ["https://as-one.example", "https://as-two.example"]
    );
    let roster = wallet_core::roster::list_employees(&ws).unwrap();
    assert!(
        !roster
            .iter()
            .find(|e| e.identifier == "locum-1")
            .unwrap()
            .active
    );
    let status = profile::local_status(&ws).unwrap().unwrap();
    assert!(status.allowed.is_empty() && status.changed.is_empty());
    // Still this workstation's entry, inactive and locked until allowed again.
    assert_eq!(status.local_employees, vec!["locum-1".to_owned()]);
    let mut p = ServicePolicy::load(&ws).unwrap();
    p.allow_server("https://as-local.example").unwrap();
    assert!(matches!(
        p.save(&ws, &admin),
        Err(wallet_core::access_policy::PolicyError::Managed(_))
    ));
    let e = wallet_core::roster::add_employee(&ws, &admin, entry("locum-2")).unwrap_err();
    assert_eq!(e.code(), "managed");
    let e = wallet_core::roster::reactivate_employee(&ws, &admin, "locum-1").unwrap_err();
    assert_eq!(e.code(), "managed");
}

/// The collector comes with the profile: applied at enrollment, changed and turned off by later
/// versions; the workstation's administrator cannot turn it off unless the profile allows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_forwarding_comes_with_the_profile() {
    use wallet_core::audit_forward::{self, ForwardConfig};
    let o = org("profile-forward").await;
    let first = ForwardConfig {
        syslog: "tcp://127.0.0.1:6514".into(),
        ca_pem: None,
    };
    audit_forward::set_forwarding(&o.vault, &o.admin, first.clone()).unwrap();
    let file = o.publish_at(now(), "p.jwe");
    let ws = o.enroll(&file, "ws").await.unwrap();
    let admin = ws_admin(&ws);
    assert_eq!(audit_forward::forwarding(&ws).unwrap(), Some(first));
    // Entries of the enrollment already wait for the collector.
    assert!(audit_forward::status(&ws).unwrap().pending > 0);

    // The workstation cannot silence its audit trail.
    let e = audit_forward::turn_off_forwarding(&ws, &admin).unwrap_err();
    assert_eq!(e.code(), "managed");
    let e = audit_forward::set_forwarding(
        &ws,
        &admin,
        ForwardConfig {
            syslog: "tcp://127.0.0.1:9".into(),
            ca_pem: None,
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "managed");

    // Another collector in version 2.
    let second = ForwardConfig {
        syslog: "tcp://127.0.0.1:7514".into(),
        ca_pem: None,
    };
    audit_forward::set_forwarding(&o.vault, &o.admin, second.clone()).unwrap();
    o.publish_at(now(), "p.jwe");
    match profile::refresh(&ws, &o.net).await.unwrap() {
        profile::RefreshOutcome::Applied { changes, .. } => {
            assert!(
                changes.iter().any(|c| c == "audit forwarding"),
                "{changes:?}"
            )
        }
        other => panic!("expected applied, got {other:?}"),
    }
    assert_eq!(
        audit_forward::forwarding(&ws).unwrap(),
        Some(second.clone())
    );

    // Version 3 lets workstations choose: a local collector stands over version 4's.
    profile::set_published_local_changes(&o.vault, &o.admin, &[LocalArea::AuditForwarding])
        .unwrap();
    o.publish_at(now(), "p.jwe");
    profile::refresh(&ws, &o.net).await.unwrap();
    let own = ForwardConfig {
        syslog: "tcp://127.0.0.1:8514".into(),
        ca_pem: None,
    };
    audit_forward::set_forwarding(&ws, &admin, own.clone()).unwrap();
    audit_forward::turn_off_forwarding(&o.vault, &o.admin).unwrap();
    o.publish_at(now(), "p.jwe");
    profile::refresh(&ws, &o.net).await.unwrap();
    assert_eq!(audit_forward::forwarding(&ws).unwrap(), Some(own));
    // Back to the organization's: off.
    profile::use_organization_setting(&ws, &admin, LocalArea::AuditForwarding).unwrap();
    assert_eq!(audit_forward::forwarding(&ws).unwrap(), None);
}

/// The running wallet's loop refreshes at once and then every 15 minutes: a version published
/// while it sleeps is applied at its next turn, and a problem does not stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_fresh_applies_new_versions_every_turn() {
    let o = org("profile-loop").await;
    let file = o.publish_at(now(), "p.jwe");
    let ws = o.enroll(&file, "ws").await.unwrap();
    // The loop's sleep reports each turn and waits for the test to let it go on.
    let (turn_tx, mut turns) = tokio::sync::mpsc::unbounded_channel::<std::time::Duration>();
    let go = Arc::new(tokio::sync::Semaphore::new(0));
    let sleep_go = go.clone();
    let task = tokio::spawn(profile::keep_fresh(
        Arc::new(ws.clone()),
        o.net.clone(),
        move |d| {
            let tx = turn_tx.clone();
            let go = sleep_go.clone();
            async move {
                tx.send(d).unwrap();
                go.acquire().await.unwrap().forget();
            }
        },
    ));
    let version = |ws: &Vault| profile::profile_state(ws).unwrap().unwrap().version;
    assert_eq!(turns.recv().await.unwrap(), profile::REFRESH_EVERY);
    assert_eq!(
        profile::REFRESH_EVERY,
        std::time::Duration::from_secs(15 * 60)
    );
    assert_eq!(version(&ws), 1);

    o.publish_at(now(), "p.jwe");
    go.add_permits(1);
    turns.recv().await.unwrap();
    assert_eq!(version(&ws), 2);

    // The share is gone for a turn: the loop records it and goes on.
    std::fs::rename(&file, file.with_extension("away")).unwrap();
    go.add_permits(1);
    turns.recv().await.unwrap();
    let state = profile::profile_state(&ws).unwrap().unwrap();
    assert!(state.last_error.is_some(), "{state:?}");
    std::fs::rename(file.with_extension("away"), &file).unwrap();
    o.publish_at(now(), "p.jwe");
    go.add_permits(1);
    turns.recv().await.unwrap();
    let state = profile::profile_state(&ws).unwrap().unwrap();
    assert_eq!((state.version, state.last_error), (3, None));
    task.abort();
}

/// A second profile with the version in force but other content (the administrator's wallet
/// restored from an old backup, or a forged publication with a stolen key and secret) is a
/// fork: refused like a rollback and recorded, the profile in force stays. A newer version
/// applies and is recorded with what changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equal_version_with_other_content_is_refused_as_a_fork() {
    let o = org("profile-fork").await;
    let file = o.publish_at(now(), "p.jwe");
    let ws = o.enroll(&file, "ws").await.unwrap();
    let before = profile::profile_state(&ws).unwrap().unwrap();

    // Version 1 again, with another employee in it.
    o.vault
        .settings()
        .put(
            &o.admin,
            profile::SETTING_PROFILE_VERSION,
            &serde_json::json!(0),
        )
        .unwrap();
    wallet_core::roster::add_employee(&o.vault, &o.admin, entry("forked")).unwrap();
    o.publish_at(now(), "p.jwe");
    let e = profile::refresh(&ws, &o.net).await.unwrap_err();
    assert_eq!(e.code(), "profile_rollback", "{e}");
    let after = profile::profile_state(&ws).unwrap().unwrap();
    assert_eq!((after.version, &after.digest), (1, &before.digest));
    assert!(wallet_core::roster::list_employees(&ws)
        .unwrap()
        .iter()
        .all(|e| e.identifier != "forked"));
    let log = ws.activity_log().list(&Default::default()).unwrap();
    assert!(log.iter().any(|a| a.action == "profile.rollback_refused"));

    // Version 2: applied, with what changed in the log.
    o.publish_at(now(), "p.jwe");
    assert!(matches!(
        profile::refresh(&ws, &o.net).await.unwrap(),
        profile::RefreshOutcome::Applied { from: 1, to: 2, .. }
    ));
    let log = ws.activity_log().list(&Default::default()).unwrap();
    let applied = log
        .iter()
        .find(|a| a.action == "profile.apply")
        .expect("profile.apply recorded");
    let detail = &applied.detail;
    assert_eq!(
        (detail["from"].as_u64(), detail["to"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        detail["changes"].to_string().contains("roster: 1 added"),
        "{detail}"
    );
}
