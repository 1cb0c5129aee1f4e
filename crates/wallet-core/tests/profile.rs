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
