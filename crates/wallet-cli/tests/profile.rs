//! Organization-wide deployment end to end with the real binary: two data directories stand for
//! the administrator's wallet and a workstation; the organization's DID document is served over
//! HTTPS on loopback with the test CA; the organization key is in SoftHSM2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use wallet_protocol::SystemClock;
use wallet_testkit::https::{Route, StaticHttpsServer};
use wallet_testkit::pki::TestPki;
use wallet_testkit::softhsm::SoftHsm;
use wallet_vault::{KdfParams, Passphrase, Protection};

const VAULT_PW: &str = "vault passphrase for profile tests";
const ADMIN_PW: &str = "admin passphrase for profile tests";
const WS_ADMIN_PW: &str = "workstation admin passphrase";

struct Site {
    tmp: tempfile::TempDir,
    server: StaticHttpsServer,
    ca_file: PathBuf,
    admin_dir: PathBuf,
    org_did: String,
    did_path: String,
    share: PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl Site {
    fn new(token: &str) -> Site {
        let hsm = SoftHsm::shared();
        hsm.init_token(token);
        let uri = hsm.uri_on(token, "org");
        wallet_core::org::provide_pin(&uri.parse().unwrap(), hsm.pin());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let pki = TestPki::localhost();
        let server = StaticHttpsServer::start_on(&rt, &pki);
        let tmp = tempfile::tempdir().unwrap();
        let ca_file = tmp.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        let admin_dir = tmp.path().join("admin");
        let w = wallet_testkit::wallet::org_wallet_with_key(
            &admin_dir,
            Protection::Passphrase {
                passphrase: Passphrase::from(VAULT_PW),
                kdf: KdfParams::INSECURE_TEST,
            },
            ADMIN_PW,
            &server.base(),
            wallet_core::org::NewKeyLocation::parse(Some(&uri)).unwrap(),
        );
        // The public bundle on the organization's web server.
        let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
        let bundle = tmp.path().join("bundle");
        let report = wallet_core::org::publish(&w.vault, &admin, &bundle, &SystemClock).unwrap();
        for f in &report.files {
            server.serve(
                &format!("/{}", f.path),
                &f.content_type,
                std::fs::read(bundle.join(&f.path)).unwrap(),
            );
        }
        let did_path = format!(
            "/{}",
            report
                .files
                .iter()
                .find(|f| f.path.ends_with("did.json"))
                .unwrap()
                .path
        );
        let share = tmp.path().join("share");
        std::fs::create_dir(&share).unwrap();
        let org_did = w.org.did.clone();
        drop(w);
        Site {
            tmp,
            server,
            ca_file,
            admin_dir,
            org_did,
            did_path,
            share,
            _rt: rt,
        }
    }

    fn cli(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let hsm = SoftHsm::shared();
        let mut c = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"));
        c.arg("--dev")
            .arg("--ca-file")
            .arg(&self.ca_file)
            .args(args)
            .env("NUTS_WALLET_DATA_DIR", dir)
            .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
            .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
            .env("NUTS_WALLET_PKCS11_PIN", hsm.pin())
            .env("SOFTHSM2_CONF", hsm.conf_path())
            .env_remove("NUTS_WALLET_ENROLLMENT_SECRET")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn admin_ok(&self, args: &[&str]) -> String {
        let o = self.cli(&self.admin_dir, args, &[]);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn ws(&self) -> PathBuf {
        self.tmp.path().join("workstation")
    }

    fn enroll(&self, profile: &str, org_did: &str, secret: &str) -> Output {
        self.cli(
            &self.ws(),
            &[
                "enroll",
                "--profile",
                profile,
                "--org-did",
                org_did,
                "--passphrase-env",
            ],
            &[
                ("NUTS_WALLET_ENROLLMENT_SECRET", secret),
                ("NUTS_WALLET_ADMIN_PASSPHRASE", WS_ADMIN_PW),
            ],
        )
    }

    fn ws_json(&self, args: &[&str]) -> Value {
        let o = self.cli(
            &self.ws(),
            args,
            &[("NUTS_WALLET_ADMIN_PASSPHRASE", WS_ADMIN_PW)],
        );
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn refused(o: &Output, expect: &str) {
    assert!(!o.status.success(), "should fail");
    let e = stderr(o);
    assert!(e.contains(expect), "stderr lacks {expect:?}: {e}");
}

#[test]
fn publish_enroll_refresh_and_refusals() {
    let site = Site::new("profile-e2e");
    let admin_dir = site.admin_dir.clone();
    let _ = admin_dir;
    site.admin_ok(&[
        "employee",
        "add",
        "--identifier",
        "alice@zorg.example",
        "--name",
        "Alice Jansen",
        "--role",
        "Verpleegkundige",
        "--os-account",
        "alice",
    ]);
    site.admin_ok(&["policy", "allow-as", "https://as.zorg.example"]);

    // Never next to the public bundle.
    let bundle_dir = site.tmp.path().join("bundle");
    let o = site.cli(
        &site.admin_dir,
        &[
            "profile",
            "publish",
            "--out",
            bundle_dir.join("profile.jwe").to_str().unwrap(),
        ],
        &[],
    );
    refused(&o, "holds the public publication bundle");
    assert!(!bundle_dir.join("profile.jwe").exists());

    let file = site.share.join("org-profile.jwe");
    let f = file.to_str().unwrap();
    let out = site.admin_ok(&["profile", "publish", "--out", f]);
    assert!(out.contains("Profile version 1"), "{out}");
    let secret = site.admin_ok(&["profile", "secret"]).trim().to_owned();
    assert!(secret.starts_with("nwe_"));
    // Nothing of the roster is readable without the secret.
    let raw = std::fs::read_to_string(&file).unwrap();
    assert!(!raw.contains("alice") && !raw.contains("Jansen"));
    let v1 = site.tmp.path().join("v1.jwe");
    std::fs::copy(&file, &v1).unwrap();

    // Refusals leave nothing behind.
    let other_secret = format!("nwe_{}", wallet_protocol::random::random_token());
    refused(
        &site.enroll(f, &site.org_did, &other_secret),
        "does not open it",
    );
    assert!(
        !wallet_vault::Vault::exists(&site.ws()),
        "no vault was made"
    );
    let tampered = site.tmp.path().join("tampered.jwe");
    let mut t = raw.clone().into_bytes();
    let mid = t.len() / 2;
    t[mid] = if t[mid] == b'A' { b'B' } else { b'A' };
    std::fs::write(&tampered, t).unwrap();
    refused(
        &site.enroll(tampered.to_str().unwrap(), &site.org_did, &secret),
        "cannot be opened",
    );
    assert!(
        !wallet_vault::Vault::exists(&site.ws()),
        "no vault was made"
    );
    let foreign = format!("did:web:localhost%3A{}:iam:someone-else", site.server.port);
    refused(&site.enroll(f, &foreign, &secret), "signed for");
    assert!(
        !wallet_vault::Vault::exists(&site.ws()),
        "no vault was made"
    );
    site.server.route(&site.did_path, Route::not_found());
    refused(
        &site.enroll(f, &site.org_did, &secret),
        "DID document could not be read",
    );
    assert!(
        !wallet_vault::Vault::exists(&site.ws()),
        "no vault was made"
    );
    site.admin_ok(&[
        "org",
        "publish",
        "--out",
        site.tmp.path().join("bundle").to_str().unwrap(),
    ]);
    let did_doc = std::fs::read(site.tmp.path().join("bundle").join(&site.did_path[1..])).unwrap();
    site.server
        .serve(&site.did_path, "application/did+json", did_doc);

    // Enrolled: the organization, roster and policy come from the profile.
    let o = site.enroll(f, &site.org_did, &secret);
    assert!(o.status.success(), "{}", stderr(&o));
    let show = site.ws_json(&["profile", "show", "--json"]);
    assert_eq!(show["version"], 1);
    assert_eq!(show["org_did"], site.org_did.as_str());
    assert_eq!(show["source"], f);
    assert_eq!(show["last_error"], Value::Null);
    let org = site.ws_json(&["org", "show", "--json"]);
    assert_eq!(org["did"], site.org_did.as_str());
    assert_eq!(org["key_store"], "pkcs11");
    let roster = site.ws_json(&["employee", "list", "--json"]);
    assert_eq!(roster[0]["identifier"], "alice@zorg.example");
    assert_eq!(roster[0]["os_account"], "alice");
    let policy = site.ws_json(&["policy", "show", "--json"]);
    assert_eq!(
        policy["servers"][0]["authorization_server"],
        "https://as.zorg.example"
    );
    // Managed: the workstation's administrator cannot change what the profile sets.
    let o = site.cli(
        &site.ws(),
        &[
            "employee",
            "add",
            "--identifier",
            "x",
            "--name",
            "X",
            "--role",
            "Y",
        ],
        &[("NUTS_WALLET_ADMIN_PASSPHRASE", WS_ADMIN_PW)],
    );
    refused(&o, "managed by");
    // The organization administrator's passphrase is not the workstation's.
    let o = site.cli(&site.ws(), &["profile", "secret"], &[]);
    refused(&o, "wrong administrator passphrase");

    // A newer profile: applied with what changed.
    site.admin_ok(&[
        "employee",
        "add",
        "--identifier",
        "bob@zorg.example",
        "--name",
        "Bob de Vries",
        "--role",
        "Arts",
    ]);
    site.admin_ok(&["profile", "publish", "--out", f]);
    let r = site.ws_json(&["profile", "refresh", "--json"]);
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(r["to"], 2);
    assert!(r["changes"].to_string().contains("roster: 1 added"), "{r}");
    let roster = site.ws_json(&["employee", "list", "--json"]);
    assert_eq!(roster.as_array().unwrap().len(), 2);
    let r = site.ws_json(&["profile", "refresh", "--json"]);
    assert_eq!(r["outcome"], "unchanged");

    // The old file put back: refused as a rollback and recorded.
    std::fs::copy(&file, site.tmp.path().join("v2.jwe")).unwrap();
    std::fs::copy(&v1, &file).unwrap();
    let o = site.cli(&site.ws(), &["profile", "refresh"], &[]);
    refused(&o, "not newer than the one in force");
    let log = site.ws_json(&[
        "audit",
        "list",
        "--json",
        "--action",
        "profile.rollback_refused",
    ]);
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(
        site.ws_json(&["employee", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Unreachable: the last good profile stays, the error is shown.
    std::fs::remove_file(&file).unwrap();
    let o = site.cli(&site.ws(), &["profile", "refresh"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let show = site.ws_json(&["profile", "show", "--json"]);
    assert_eq!(show["version"], 2);
    assert!(
        show["last_error"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{show}"
    );
}

/// Mass rollout: the managed-install file sets a workstation up without any typing (OS keyring
/// protection; needs the Secret Service, which `scripts/test.sh` runs); a file every user may
/// read is refused.
#[test]
fn enroll_from_the_managed_install_file() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new("profile-managed");
    let file = site.share.join("org-profile.jwe");
    let f = file.to_str().unwrap();
    site.admin_ok(&["profile", "publish", "--out", f]);
    let secret = site.admin_ok(&["profile", "secret"]).trim().to_owned();
    let managed = site.tmp.path().join("managed.json");
    std::fs::write(
        &managed,
        serde_json::json!({"profile": f, "org_did": site.org_did, "enrollment_secret": secret})
            .to_string(),
    )
    .unwrap();
    let m = managed.to_str().unwrap();
    std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = site.cli(
        &site.ws(),
        &["enroll", "--managed"],
        &[("NUTS_WALLET_MANAGED_FILE", m)],
    );
    refused(&o, "chmod 0640");
    assert!(!wallet_vault::Vault::exists(&site.ws()));
    std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o640)).unwrap();
    let service = format!("nuts-wallet-test-{}", std::process::id());
    let o = site.cli(
        &site.ws(),
        &["enroll", "--managed"],
        &[
            ("NUTS_WALLET_MANAGED_FILE", m),
            ("NUTS_WALLET_KEYRING_SERVICE", service.as_str()),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Unlocks through the keyring, nothing typed.
    let o = site.cli(
        &site.ws(),
        &["profile", "show", "--json"],
        &[
            ("NUTS_WALLET_KEYRING_SERVICE", service.as_str()),
            ("NUTS_WALLET_PASSPHRASE", ""),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let show: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(show["version"], 1);
    assert_eq!(show["org_did"], site.org_did.as_str());
}

/// The profile on the organization's intranet (HTTPS, the test CA): enrollment and refresh from
/// the URL; a newer version is applied, and while the server answers with an error the last
/// good profile stays in force with the error shown.
#[test]
fn enroll_and_refresh_from_an_https_url() {
    let site = Site::new("profile-url");
    let file = site.share.join("org-profile.jwe");
    let f = file.to_str().unwrap();
    site.admin_ok(&["profile", "publish", "--out", f]);
    let secret = site.admin_ok(&["profile", "secret"]).trim().to_owned();
    let path = "/intranet/nuts-wallet/profile.jwe";
    let serve = || {
        site.server
            .serve(path, "application/jose", std::fs::read(&file).unwrap())
    };
    serve();
    let url = format!("{}{path}", site.server.base());
    let o = site.enroll(&url, &site.org_did, &secret);
    assert!(o.status.success(), "{}", stderr(&o));
    let show = site.ws_json(&["profile", "show", "--json"]);
    assert_eq!(show["version"], 1);
    assert_eq!(show["source"], url.as_str());

    site.admin_ok(&[
        "employee",
        "add",
        "--identifier",
        "carla@zorg.example",
        "--name",
        "Carla Smit",
        "--role",
        "Arts",
    ]);
    site.admin_ok(&["profile", "publish", "--out", f]);
    serve();
    let r = site.ws_json(&["profile", "refresh", "--json"]);
    assert_eq!(r["outcome"], "applied", "{r}");
    assert_eq!(r["to"], 2);
    let roster = site.ws_json(&["employee", "list", "--json"]);
    assert_eq!(roster.as_array().unwrap().len(), 1, "{roster}");

    // The intranet answers 404: the profile in force stays, with the error.
    site.server.route(path, Route::not_found());
    let o = site.cli(&site.ws(), &["profile", "refresh"], &[]);
    assert!(!o.status.success());
    let show = site.ws_json(&["profile", "show", "--json"]);
    assert_eq!(show["version"], 2);
    assert!(show["last_error"].is_string(), "{show}");
    assert_eq!(
        site.ws_json(&["employee", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// What the organization leaves to workstations, from the command line: `--allow-local` is
/// kept for later publications; the workstation changes only what it allows (here the access
/// policy, not the audit trail); `profile show` says what may be and was changed, and
/// `profile revert` returns to the organization's setting.
#[test]
fn local_changes_the_organization_allows() {
    let site = Site::new("profile-local");
    let file = site.share.join("org-profile.jwe");
    let f = file.to_str().unwrap();
    site.admin_ok(&["policy", "allow-as", "https://as.zorg.example"]);
    let o = site.cli(
        &site.admin_dir,
        &[
            "profile",
            "publish",
            "--out",
            f,
            "--allow-local",
            "access-policy,bogus",
        ],
        &[],
    );
    refused(
        &o,
        "\"bogus\" is not something a workstation can be allowed to change",
    );
    assert!(
        !file.exists(),
        "nothing is published after a bad --allow-local"
    );
    let out = site.admin_ok(&[
        "profile",
        "publish",
        "--out",
        f,
        "--allow-local",
        "access-policy",
    ]);
    assert!(
        out.contains("Workstations may change themselves: access-policy."),
        "{out}"
    );
    let secret = site.admin_ok(&["profile", "secret"]).trim().to_owned();
    let o = site.enroll(f, &site.org_did, &secret);
    assert!(o.status.success(), "{}", stderr(&o));
    let show = site.ws_json(&["profile", "show", "--json"]);
    assert_eq!(
        show["local_changes"]["allowed"],
        serde_json::json!(["access-policy"]),
        "{show}"
    );
    assert_eq!(show["local_changes"]["changed"], serde_json::json!([]));

    let ws_env = [("NUTS_WALLET_ADMIN_PASSPHRASE", WS_ADMIN_PW)];
    // Allowed: the workstation's own server.
    let o = site.cli(
        &site.ws(),
        &["policy", "allow-as", "https://as.local.example"],
        &ws_env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Not allowed: the audit trail cannot be silenced on the workstation.
    let o = site.cli(&site.ws(), &["audit", "forward", "--off"], &ws_env);
    refused(&o, "managed by");
    let show = site.ws_json(&["profile", "show", "--json"]);
    assert_eq!(
        show["local_changes"]["changed"],
        serde_json::json!(["access-policy"])
    );

    // A later publication without --allow-local keeps the choice; the local server stands.
    let out = site.admin_ok(&["profile", "publish", "--out", f]);
    assert!(out.contains("access-policy"), "{out}");
    let r = site.ws_json(&["profile", "refresh", "--json"]);
    assert_eq!(r["outcome"], "applied", "{r}");
    let servers = site.ws_json(&["policy", "show", "--json"])["servers"].to_string();
    assert!(servers.contains("https://as.local.example"), "{servers}");

    // Back to the organization's setting.
    let o = site.cli(&site.ws(), &["profile", "revert", "access-policy"], &ws_env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("follows the organization's profile"));
    let servers = site.ws_json(&["policy", "show", "--json"])["servers"].to_string();
    assert!(!servers.contains("https://as.local.example"), "{servers}");
    assert!(servers.contains("https://as.zorg.example"), "{servers}");
    let o = site.cli(&site.ws(), &["profile", "revert", "access-policy"], &ws_env);
    refused(&o, "already follows");
    let log = site.ws_json(&[
        "audit",
        "list",
        "--json",
        "--action",
        "profile.local.revert",
    ]);
    assert_eq!(log.as_array().unwrap().len(), 1);

    // `none` clears it: the next version locks the policy again.
    let out = site.admin_ok(&["profile", "publish", "--out", f, "--allow-local", "none"]);
    assert!(
        out.contains("Workstations may change themselves: nothing."),
        "{out}"
    );
    site.ws_json(&["profile", "refresh", "--json"]);
    let o = site.cli(
        &site.ws(),
        &["policy", "allow-as", "https://as.local.example"],
        &ws_env,
    );
    refused(&o, "managed by");
}

/// `--valid-days`: 1 to 365; the profile expires that many days after publication.
#[test]
fn publish_validity_in_days() {
    let site = Site::new("profile-days");
    let f = site.share.join("org-profile.jwe");
    let f = f.to_str().unwrap();
    for bad in ["0", "366"] {
        let o = site.cli(
            &site.admin_dir,
            &["profile", "publish", "--out", f, "--valid-days", bad],
            &[],
        );
        refused(&o, "--valid-days must be between 1 and 365");
    }
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let out = site.admin_ok(&[
        "profile",
        "publish",
        "--out",
        f,
        "--valid-days",
        "2",
        "--json",
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    let expires = r["expires_at"].as_i64().unwrap();
    assert!(
        (before + 2 * 86_400..=before + 2 * 86_400 + 60).contains(&expires),
        "{r}"
    );
    assert_eq!(r["version"], 1, "refused attempts use no version");
}
