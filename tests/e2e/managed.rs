//! Managed workstations through the real app window. An administrator's wallet is made with the
//! CLI in one data directory (organization key in SoftHSM2, its public bundle served over HTTPS
//! on loopback with the test CA, a roster with OS accounts, the profile published to a "share"
//! folder); the app on a second data directory joins through the first-run screen (a wrong
//! enrollment secret first: said in plain words, nothing made), then shows "Managed by", the
//! roster from the profile and edit controls that are disabled. A third data directory is set
//! up from a managed-install file (mass rollout) without any typing. The administrator
//! publishes the profile and reveals the enrollment secret in the app.
//! Needs a display and a D-Bus session bus (`scripts/test.sh` provides both).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fantoccini::{Client, Locator};
use nuts_wallet_e2e::{
    app_binary, attr, click, language, scratch_data_dir, screenshot, scroll_to, type_into, upload,
    wait_attr, wait_text, Driver,
};
use wallet_testkit::https::StaticHttpsServer;
use wallet_testkit::pki::TestPki;
use wallet_testkit::softhsm::SoftHsm;

const ADMIN_PW: &str = "admin passphrase 1";
const WS_ADMIN_PW: &str = "workstation admin 1";
/// The WebDriver port of this file's tests (and `PORT + 1` for WebKitWebDriver): clear of
/// `org_hsm` (4448 and 4449), which may run at the same time.
const PORT: u16 = 4452;
/// A well-formed enrollment secret that is not the organization's.
const WRONG_SECRET: &str = "nwe_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The tests share the WebDriver port: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The administrator's side: the organization, its bundle on the web server, the roster and
/// the published profile.
struct Site {
    hsm: SoftHsm,
    tmp: tempfile::TempDir,
    ca_file: PathBuf,
    admin_dir: String,
    org_did: String,
    profile: PathBuf,
    secret: String,
    _web: StaticHttpsServer,
}

/// The login name of the user running the tests (and so the app).
fn os_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Site {
    async fn new(name: &str) -> Site {
        let hsm = SoftHsm::new("e2e-managed");
        let tmp = tempfile::tempdir().unwrap();
        let pki = TestPki::localhost();
        let ca_file = tmp.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        let web = StaticHttpsServer::start(&pki).await;
        let mut site = Site {
            admin_dir: scratch_data_dir(&format!("{name}-admin")),
            hsm,
            ca_file,
            org_did: String::new(),
            profile: tmp.path().join("share/org-profile.jwe"),
            secret: String::new(),
            tmp,
            _web: web,
        };
        let web = &site._web;
        site.cli(&["init", "--keyring"]);
        site.cli(&[
            "org",
            "init",
            "--subject",
            "zorg-oost",
            "--base-url",
            &web.base(),
            "--key",
            &site.hsm.uri("nuts-org"),
        ]);
        let bundle = site.tmp.path().join("bundle");
        site.cli(&["org", "publish", "--out", bundle.to_str().unwrap()]);
        upload(web, &bundle, &bundle);
        let me = os_user();
        site.cli(&[
            "employee",
            "add",
            "--identifier",
            "e-ann",
            "--name",
            "Ann de Vries",
            "--role",
            "Verpleegkundige",
            "--os-account",
            &me,
        ]);
        site.cli(&[
            "employee",
            "add",
            "--identifier",
            "e-bob",
            "--name",
            "Bob Jansen",
            "--role",
            "Arts",
            "--os-account",
            "bjansen",
        ]);
        site.cli(&["policy", "allow-as", "https://as.zorg.example/oauth2/a"]);
        std::fs::create_dir_all(site.profile.parent().unwrap()).unwrap();
        site.cli(&[
            "profile",
            "publish",
            "--out",
            site.profile.to_str().unwrap(),
        ]);
        site.secret = site.cli(&["profile", "secret"]).trim().to_owned();
        assert!(site.secret.starts_with("nwe_"));
        let org: serde_json::Value =
            serde_json::from_str(&site.cli(&["org", "show", "--json"])).unwrap();
        site.org_did = org["did"].as_str().unwrap().to_owned();
        site
    }

    /// Runs `nuts-wallet` on the administrator's wallet (with the HSM PIN); its stdout.
    fn cli(&self, args: &[&str]) -> String {
        let bin = app_binary().with_file_name("nuts-wallet");
        let out = Command::new(&bin)
            .args(args)
            .env("NUTS_WALLET_DATA_DIR", &self.admin_dir)
            .env("NUTS_WALLET_DEV", "1")
            .env("NUTS_WALLET_CA_FILE", &self.ca_file)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
            .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
            .env("NUTS_WALLET_PKCS11_PIN", self.hsm.pin())
            .env("SOFTHSM2_CONF", self.hsm.conf_path())
            .env_remove("NUTS_WALLET_ENROLLMENT_SECRET")
            .output()
            .expect("run nuts-wallet");
        assert!(
            out.status.success(),
            "nuts-wallet {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The app's environment for workstation `data_dir`; `managed_file`: the managed-install
    /// file (a path that does not exist when there is none, so no system file is read).
    fn app_env(&self, data_dir: &str, managed_file: &Path) -> Vec<(&'static str, String)> {
        vec![
            ("NUTS_WALLET_DATA_DIR", data_dir.to_owned()),
            ("NUTS_WALLET_DEV", "1".into()),
            ("NUTS_WALLET_CA_FILE", self.ca_file.display().to_string()),
            ("NUTS_WALLET_API_PORT", "0".into()),
            ("SOFTHSM2_CONF", self.hsm.conf_path().display().to_string()),
            (
                "NUTS_WALLET_MANAGED_FILE",
                managed_file.display().to_string(),
            ),
        ]
    }
}

/// Whether the element matching `css` is disabled.
async fn disabled(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .is_enabled()
        .await
        .map(|e| !e)
        .unwrap()
}

/// Stops the app this test started on `data_dir` when dropped (also after a failed
/// assertion): WebKitWebDriver does not always stop it, and a leftover instance would take the
/// next start's place (the single-instance plugin hands the new launch to it).
struct AppGuard(String);

impl AppGuard {
    /// The app processes of this binary whose data directory is this test's.
    fn pids(&self) -> Vec<String> {
        let want = format!("NUTS_WALLET_DATA_DIR={}", self.0);
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .chars()
                    .all(|c| c.is_ascii_digit())
            })
            .filter(|e| {
                std::fs::read_link(e.path().join("exe"))
                    .is_ok_and(|x| x.file_name() == app_binary().file_name())
                    && std::fs::read(e.path().join("environ"))
                        .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == want.as_bytes()))
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for AppGuard {
    fn drop(&mut self) {
        for _ in 0..50 {
            let left = self.pids();
            if left.is_empty() {
                return;
            }
            let _ = Command::new("kill").arg("-TERM").args(&left).status();
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("the app on {} did not stop", self.0);
    }
}

/// Ends the session; the guard then makes sure the app is gone.
async fn close(c: Client, app: AppGuard) {
    let _ = c.close().await;
    drop(app);
}

fn vault_exists(data_dir: &str) -> bool {
    Path::new(data_dir).join("vault.db").exists()
}

/// The screens of a managed workstation: the banner, the roster from the profile, and edit
/// controls that cannot be used.
async fn managed_screens(c: &Client, shot: &str) {
    click(c, "#nav-organization").await;
    wait_text(c, "#managed-banner", "Managed by zorg-oost").await;
    wait_text(
        c,
        "#managed-banner",
        "changes come from your organization's administrator",
    )
    .await;
    wait_text(c, "#profile-version", "1").await;
    wait_text(c, "#org-show-subject", "zorg-oost").await;
    assert!(
        c.find(Locator::Css("#org-publish-card")).await.is_err(),
        "a workstation does not publish the organization"
    );
    // Checking for new settings finds the same version.
    click(c, "#profile-check").await;
    wait_text(c, "#profile-notice", "The settings are up to date").await;
    screenshot(c, &format!("{shot}-organization")).await;
    language(c, "nl").await;
    wait_text(c, "#managed-banner", "Beheerd door zorg-oost").await;
    wait_text(c, "#profile-status", "Instellingen van uw organisatie").await;
    screenshot(c, &format!("{shot}-organization-nl")).await;
    language(c, "en").await;

    click(c, "#nav-employees").await;
    wait_text(c, "#managed-banner", "Managed by zorg-oost").await;
    wait_text(c, "#emp-table tr[data-identifier='e-ann']", "Ann de Vries").await;
    let me = os_user();
    wait_text(
        c,
        "#emp-table tr[data-identifier='e-ann'] td[data-col='os-account']",
        &me,
    )
    .await;
    wait_text(
        c,
        "#emp-table tr[data-identifier='e-bob'] td[data-col='os-account']",
        "bjansen",
    )
    .await;
    for css in [
        "#emp-table tr[data-identifier='e-ann'] button[data-action='edit']",
        "#emp-table tr[data-identifier='e-ann'] button[data-action='toggle']",
        "#emp-identifier",
        "#emp-os-account",
        "#approver-os",
        "#approver-pick",
        "#approver-save",
        "#emp-validity",
    ] {
        assert!(
            disabled(c, css).await,
            "{css} can be used on a managed workstation"
        );
    }
    assert!(c.find(Locator::Css("#admin-gate")).await.is_err());
    // The profile chose the OS account; this computer's account is named.
    assert_eq!(
        attr(c, "#approver-os", "checked").await.as_deref(),
        Some("true")
    );
    wait_text(
        c,
        "#approver-account",
        &format!("This computer's account: {me}"),
    )
    .await;
    screenshot(c, &format!("{shot}-employees")).await;
    scroll_to(c, "approver").await;
    screenshot(c, &format!("{shot}-approver")).await;
    language(c, "nl").await;
    wait_text(c, "#approver", "Wie keurt goed op deze computer").await;
    screenshot(c, &format!("{shot}-approver-nl")).await;
    language(c, "en").await;

    click(c, "#nav-credentials").await;
    wait_text(c, "#managed-banner", "Managed by zorg-oost").await;
    assert!(disabled(c, "#cred-text").await);
    click(c, "#nav-services").await;
    wait_text(c, "#managed-banner", "Managed by zorg-oost").await;
    wait_text(c, "#services", "https://as.zorg.example/oauth2/a").await;
    assert!(disabled(c, "#svc-new-server").await);
    click(c, "#nav-home").await;
}

/// The organization leaves the access policy and employees of one computer to the workstation
/// (version 3): those controls open for the workstation's administrator, the rest stays
/// locked; a local server shows as this computer's own setting until it is returned to the
/// organization's.
async fn local_changes(c: &Client, site: &Site) {
    site.cli(&[
        "profile",
        "publish",
        "--out",
        site.profile.to_str().unwrap(),
        "--allow-local",
        "access-policy,local-employees",
    ]);
    click(c, "#nav-organization").await;
    wait_text(c, "#profile-version", "2").await;
    click(c, "#profile-check").await;
    wait_text(c, "#profile-version", "3").await;
    wait_text(
        c,
        "#profile-may-change",
        "Access policy, Employees of one computer",
    )
    .await;

    click(c, "#nav-employees").await;
    wait_text(
        c,
        "#managed-banner",
        "This computer may change these itself",
    )
    .await;
    wait_text(c, "#managed-banner", "Employees of one computer").await;
    type_into(c, "#admin-login-pass", WS_ADMIN_PW).await;
    click(c, "#admin-sign-in").await;
    wait_attr(c, "#admin-gate", "data-active", "true").await;
    type_into(c, "#emp-identifier", "e-locum").await;
    type_into(c, "#emp-name", "Lot Invaller").await;
    type_into(c, "#emp-role", "Verpleegkundige").await;
    type_into(c, "#emp-os-account", "linvaller").await;
    click(c, "#emp-add").await;
    wait_text(
        c,
        "#emp-table tr[data-identifier='e-locum']",
        "This computer only",
    )
    .await;
    wait_text(
        c,
        "#emp-table tr[data-identifier='e-locum'] td[data-col='os-account']",
        "linvaller",
    )
    .await;
    // Its own employee is editable; the organization's and its choices stay locked.
    assert!(
        !disabled(
            c,
            "#emp-table tr[data-identifier='e-locum'] button[data-action='edit']"
        )
        .await
    );
    for css in [
        "#emp-table tr[data-identifier='e-ann'] button[data-action='edit']",
        "#emp-table tr[data-identifier='e-ann'] button[data-action='toggle']",
        "#approver-pick",
        "#emp-validity",
    ] {
        assert!(
            disabled(c, css).await,
            "{css} opened without the profile allowing it"
        );
    }
    screenshot(c, "52b-local-employees").await;
    language(c, "nl").await;
    wait_text(
        c,
        "#emp-table tr[data-identifier='e-locum']",
        "Alleen deze computer",
    )
    .await;
    wait_text(c, "#managed-banner", "Deze computer mag dit zelf wijzigen").await;
    screenshot(c, "52b-local-employees-nl").await;
    language(c, "en").await;

    click(c, "#nav-credentials").await;
    assert!(
        disabled(c, "#cred-text").await,
        "credentials stay the organization's"
    );

    click(c, "#nav-services").await;
    wait_text(c, "#managed-banner", "Access policy").await;
    wait_text(c, "#services", "https://as.zorg.example/oauth2/a").await;
    assert!(!disabled(c, "#svc-new-server").await);
    type_into(c, "#svc-new-server", "https://as.local.example/oauth2/x").await;
    click(c, "#svc-add-server").await;
    wait_text(c, "#services", "https://as.local.example/oauth2/x").await;
    wait_text(
        c,
        "#managed-banner [data-changed='accessPolicy']",
        "Access policy: this computer uses its own setting",
    )
    .await;
    scroll_to(c, "services").await;
    screenshot(c, "52c-local-policy").await;
    click(c, "#managed-banner button[data-action='revert']").await;
    for _ in 0..50 {
        if c.find(Locator::Css(
            "[data-server='https://as.local.example/oauth2/x']",
        ))
        .await
        .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        c.find(Locator::Css(
            "[data-server='https://as.local.example/oauth2/x']"
        ))
        .await
        .is_err(),
        "the organization's policy did not come back"
    );
    wait_text(c, "#services", "https://as.zorg.example/oauth2/a").await;
    assert!(c
        .find(Locator::Css("#managed-banner [data-changed]"))
        .await
        .is_err());
    // Audit forwarding is not left to this computer: locked for its administrator too.
    click(c, "#nav-settings").await;
    wait_text(c, "#forwarding #managed-banner", "Managed by zorg-oost").await;
    wait_attr(c, "#admin-gate", "data-active", "true").await;
    assert!(
        disabled(c, "#fwd-syslog").await,
        "forwarding opened without the profile allowing it"
    );
    click(c, "#admin-sign-out").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn joining_the_organization_on_the_first_run_screen() {
    let _serial = SERIAL.lock().await;
    let site = Site::new("managed-join").await;
    let ws = scratch_data_dir("managed-join-ws");
    let driver = Driver::start(
        PORT,
        &site.app_env(&ws, &site.tmp.path().join("no-managed.json")),
    );
    let app = AppGuard(ws.clone());
    let c = driver.session().await;
    wait_text(&c, "#setup h1", "Set up Nuts Wallet").await;
    click(&c, "#setup-mode-join").await;
    wait_attr(&c, "#setup", "data-mode", "join").await;
    type_into(&c, "#join-profile", site.profile.to_str().unwrap()).await;
    type_into(&c, "#join-did", &site.org_did).await;
    type_into(&c, "#join-secret", WRONG_SECRET).await;
    assert_eq!(
        attr(&c, "#join-secret", "type").await.as_deref(),
        Some("password")
    );
    type_into(&c, "#admin-pass", WS_ADMIN_PW).await;
    type_into(&c, "#admin-pass2", WS_ADMIN_PW).await;
    scroll_to(&c, "setup").await;
    screenshot(&c, "50-join-form").await;
    language(&c, "nl").await;
    wait_text(&c, "#setup", "Aansluiten bij uw organisatie").await;
    scroll_to(&c, "setup").await;
    screenshot(&c, "50-join-form-nl").await;
    language(&c, "en").await;

    // A secret that is not the organization's: said in plain words, nothing is made.
    click(&c, "#join-submit").await;
    wait_attr(&c, "#join-error", "data-code", "profile_undecryptable").await;
    wait_text(
        &c,
        "#join-error",
        "The enrollment secret does not open this file, or the file was changed",
    )
    .await;
    let reason = c
        .find(Locator::Css("#join-error-reason"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert!(reason.contains("cannot be opened"), "{reason}");
    assert_eq!(attr(&c, "#join-secret", "value").await.as_deref(), Some(""));
    assert!(!vault_exists(&ws), "nothing may be made after a refusal");
    scroll_to(&c, "join-error").await;
    screenshot(&c, "51-join-wrong-secret").await;
    language(&c, "nl").await;
    wait_text(
        &c,
        "#join-error",
        "Het inschrijfgeheim opent dit bestand niet",
    )
    .await;
    screenshot(&c, "51-join-wrong-secret-nl").await;
    language(&c, "en").await;

    // Another organization's DID: the file is not theirs.
    type_into(&c, "#join-did", "did:web:other.example").await;
    type_into(&c, "#join-secret", &site.secret).await;
    click(&c, "#join-submit").await;
    wait_attr(&c, "#join-error", "data-code", "profile_wrong_organization").await;
    wait_text(
        &c,
        "#join-error",
        "not published by the organization with this DID",
    )
    .await;
    assert!(!vault_exists(&ws));

    // The right DID and secret: the normal home screen.
    type_into(&c, "#join-did", &site.org_did).await;
    type_into(&c, "#join-secret", &site.secret).await;
    click(&c, "#join-submit").await;
    wait_text(&c, "#waiting", "").await;
    assert!(vault_exists(&ws));
    assert!(
        c.find(Locator::Css("#managed-note")).await.is_err(),
        "the set-up note is for unattended enrollment"
    );
    managed_screens(&c, "52-joined").await;

    // The administrator publishes a newer profile (one more employee): "Check for new
    // settings now" applies it.
    site.cli(&[
        "employee",
        "add",
        "--identifier",
        "e-cor",
        "--name",
        "Cor Bakker",
        "--role",
        "Doktersassistent",
    ]);
    site.cli(&[
        "profile",
        "publish",
        "--out",
        site.profile.to_str().unwrap(),
    ]);
    click(&c, "#nav-organization").await;
    wait_text(&c, "#profile-version", "1").await;
    click(&c, "#profile-check").await;
    wait_text(
        &c,
        "#profile-notice",
        "New settings were applied (version 2)",
    )
    .await;
    wait_text(&c, "#profile-version", "2").await;
    click(&c, "#nav-employees").await;
    wait_text(&c, "#emp-table tr[data-identifier='e-cor']", "Cor Bakker").await;
    local_changes(&c, &site).await;

    // The secret never reached the log.
    let logs = std::fs::read_dir(format!("{ws}/logs"))
        .map(|d| {
            d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
                .collect::<String>()
        })
        .unwrap_or_default();
    assert!(
        !logs.contains(&site.secret),
        "the enrollment secret reached the log"
    );
    close(c, app).await;
}

/// Mass rollout: the managed-install file (0640) sets the workstation up at the first start
/// without any typing. A file every user may read, or a wrong secret in it, leaves the
/// first-run screen with the problem in plain words.
#[tokio::test(flavor = "multi_thread")]
async fn a_managed_install_sets_up_without_typing() {
    use std::os::unix::fs::PermissionsExt;
    let _serial = SERIAL.lock().await;
    let site = Site::new("managed-install").await;
    let managed = site.tmp.path().join("managed.json");
    let write = |secret: &str| {
        std::fs::write(
            &managed,
            serde_json::json!({
                "profile": site.profile,
                "org_did": site.org_did,
                "enrollment_secret": secret,
            })
            .to_string(),
        )
        .unwrap();
        std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o640)).unwrap();
    };

    // 0. A file every user may read (it holds the secret): refused, said so.
    write(&site.secret);
    std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ws = scratch_data_dir("managed-install-ws0");
    {
        let driver = Driver::start(PORT, &site.app_env(&ws, &managed));
        let app = AppGuard(ws.clone());
        let c = driver.session().await;
        wait_attr(&c, "#managed-error", "data-code", "profile_install_file").await;
        wait_text(&c, "#managed-error", "cannot be used").await;
        let reason = c
            .find(Locator::Css("#managed-error-reason"))
            .await
            .unwrap()
            .html(true)
            .await
            .unwrap();
        assert!(reason.contains("chmod 0640"), "{reason}");
        assert!(!vault_exists(&ws));
        close(c, app).await;
    }

    // 1. A secret that does not open the profile.
    write(WRONG_SECRET);
    let ws = scratch_data_dir("managed-install-ws");
    {
        let driver = Driver::start(PORT, &site.app_env(&ws, &managed));
        let app = AppGuard(ws.clone());
        let c = driver.session().await;
        wait_attr(&c, "#managed-setup", "data-state", "failed").await;
        wait_text(
            &c,
            "#managed-setup",
            "could not be set up for your organization",
        )
        .await;
        wait_attr(&c, "#managed-error", "data-code", "profile_undecryptable").await;
        wait_text(
            &c,
            "#managed-error",
            "The enrollment secret does not open this file",
        )
        .await;
        // The first-run screen stays, with joining by hand offered.
        wait_attr(&c, "#setup", "data-mode", "join").await;
        assert!(!vault_exists(&ws));
        screenshot(&c, "53-managed-install-failed").await;
        language(&c, "nl").await;
        wait_text(
            &c,
            "#managed-setup",
            "kon niet automatisch worden ingesteld",
        )
        .await;
        screenshot(&c, "53-managed-install-failed-nl").await;
        language(&c, "en").await;
        close(c, app).await;
    }

    // 2. The right secret: set up at start, nothing typed.
    write(&site.secret);
    let ws = scratch_data_dir("managed-install-ws2");
    let driver = Driver::start(PORT, &site.app_env(&ws, &managed));
    let app = AppGuard(ws.clone());
    let c = driver.session().await;
    wait_text(&c, "#waiting", "").await;
    wait_text(&c, "#managed-note", "Set up by zorg-oost").await;
    assert!(vault_exists(&ws));
    screenshot(&c, "54-managed-install-done").await;
    language(&c, "nl").await;
    wait_text(&c, "#managed-note", "Ingesteld door zorg-oost").await;
    screenshot(&c, "54-managed-install-done-nl").await;
    language(&c, "en").await;
    managed_screens(&c, "55-managed-install").await;
    close(c, app).await;

    // A version published while the app was closed is applied at the next start.
    site.cli(&[
        "profile",
        "publish",
        "--out",
        site.profile.to_str().unwrap(),
    ]);
    let driver = Driver::start(PORT, &site.app_env(&ws, &managed));
    let app = AppGuard(ws.clone());
    let c = driver.session().await;
    wait_text(&c, "#waiting", "").await;
    click(&c, "#nav-organization").await;
    wait_text(&c, "#profile-version", "2").await;
    close(c, app).await;
}

/// The administrator's side in the app: publishing the profile next to the public bundle is
/// refused in plain words; on the share it is written, and the enrollment secret is revealed
/// on request.
#[tokio::test(flavor = "multi_thread")]
async fn publishing_the_organization_profile_in_the_app() {
    let _serial = SERIAL.lock().await;
    let site = Site::new("managed-publish").await;
    let mut env = site.app_env(&site.admin_dir, &site.tmp.path().join("no-managed.json"));
    env.push(("NUTS_WALLET_PKCS11_PIN", site.hsm.pin().to_owned()));
    let driver = Driver::start(PORT, &env);
    let app = AppGuard(site.admin_dir.clone());
    let c = driver.session().await;
    // A keyring vault unlocks itself at start.
    wait_text(&c, "#waiting", "").await;
    click(&c, "#nav-organization").await;
    wait_text(&c, "#org-show-subject", "zorg-oost").await;
    assert!(c.find(Locator::Css("#managed-banner")).await.is_err());
    assert!(
        disabled(&c, "#profile-secret-reveal").await,
        "administrator only"
    );
    type_into(&c, "#admin-login-pass", ADMIN_PW).await;
    click(&c, "#admin-sign-in").await;
    wait_text(&c, "#admin-active", "Signed in as administrator").await;

    // Next to the public bundle: refused, in plain words, nothing written.
    let bundle = site.tmp.path().join("bundle");
    let beside = bundle.join("org-profile.jwe");
    type_into(&c, "#profile-out", beside.to_str().unwrap()).await;
    type_into(&c, "#profile-days", "14").await;
    click(&c, "#profile-publish").await;
    wait_attr(&c, "#org-error", "data-code", "profile_next_to_bundle").await;
    wait_text(
        &c,
        "#org-error",
        "This folder holds the public files for the web server",
    )
    .await;
    assert!(!beside.exists());
    scroll_to(&c, "profile-publish-card").await;
    screenshot(&c, "56-profile-publish-refused").await;
    language(&c, "nl").await;
    wait_text(&c, "#org-error", "In deze map staan de openbare bestanden").await;
    screenshot(&c, "56-profile-publish-refused-nl").await;
    language(&c, "en").await;

    // On the share: version 2 (the CLI published version 1), valid for 14 days, leaving the
    // trusted issuers to the workstations.
    let again = site.tmp.path().join("share/org-profile-2.jwe");
    type_into(&c, "#profile-out", again.to_str().unwrap()).await;
    assert_eq!(
        attr(
            &c,
            "#profile-local input[data-area='trustedIssuers']",
            "checked"
        )
        .await,
        None,
        "nothing is left to workstations until chosen"
    );
    click(&c, "#profile-local input[data-area='trustedIssuers']").await;
    click(&c, "#profile-publish").await;
    wait_text(&c, "#profile-published", "Version 2 written to").await;
    wait_text(&c, "#profile-published", "2 employees").await;
    wait_text(
        &c,
        "#profile-published-local",
        "Workstations may change themselves: Trusted issuers.",
    )
    .await;
    assert!(again.exists());
    assert!(
        c.find(Locator::Css("#profile-new-secret")).await.is_err(),
        "the secret was made by the first publication"
    );
    // The secret is shown only when asked for.
    assert!(c.find(Locator::Css("#profile-secret")).await.is_err());
    click(&c, "#profile-secret-reveal").await;
    let shown = wait_text(&c, "#profile-secret", "nwe_").await;
    assert_eq!(shown.trim(), site.secret);
    scroll_to(&c, "profile-publish-card").await;
    screenshot(&c, "57-profile-published").await;
    language(&c, "nl").await;
    wait_text(&c, "#profile-published", "Versie 2 geschreven naar").await;
    screenshot(&c, "57-profile-published-nl").await;
    language(&c, "en").await;
    click(&c, "#profile-secret-hide").await;
    assert!(c.find(Locator::Css("#profile-secret")).await.is_err());
    close(c, app).await;
    // The choice is kept for the next publications.
    let show = site.cli(&["profile", "show", "--json"]);
    assert!(
        show.contains("\"publishes_local_changes\":[\"trusted-issuers\"]"),
        "{show}"
    );
}
