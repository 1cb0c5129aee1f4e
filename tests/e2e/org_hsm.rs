//! The organization key in an HSM (SoftHSM2), through the real app window: set up by the CLI,
//! the app started without the PIN in its environment. The Organization screen says where the
//! key lives, asks for the PIN when an action needs the key (a wrong PIN is said so, the right
//! one retries the action), rotates the key with the web server check and the refused
//! activation in between, and tells a clinician when the token is gone; once it is back,
//! "Try again" works without a restart.
//! Needs a display and a D-Bus session bus (`scripts/test.sh` provides both).

use std::path::Path;
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
const TOKEN: &str = "e2e-org";
/// The WebDriver port of this file's tests (and `PORT + 1` for WebKitWebDriver).
const PORT: u16 = 4448;

/// The tests share the WebDriver port: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Cli<'a> {
    data_dir: &'a str,
    ca_file: &'a Path,
    hsm: &'a SoftHsm,
}

impl Cli<'_> {
    /// Runs `nuts-wallet`; `pin`: with `NUTS_WALLET_PKCS11_PIN` (the administrator's shell).
    fn output(&self, args: &[&str], pin: bool) -> std::process::Output {
        let bin = app_binary().with_file_name("nuts-wallet");
        let mut cmd = Command::new(&bin);
        cmd.args(args)
            .env("NUTS_WALLET_DATA_DIR", self.data_dir)
            .env("NUTS_WALLET_DEV", "1")
            .env("NUTS_WALLET_CA_FILE", self.ca_file)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
            .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
            .env("SOFTHSM2_CONF", self.hsm.conf_path())
            .env_remove("NUTS_WALLET_PKCS11_PIN");
        if pin {
            cmd.env("NUTS_WALLET_PKCS11_PIN", self.hsm.pin());
        }
        cmd.output().expect("run nuts-wallet")
    }

    /// [`Cli::output`] that must succeed; its stdout.
    fn run(&self, args: &[&str], pin: bool) -> String {
        let out = self.output(args, pin);
        assert!(
            out.status.success(),
            "nuts-wallet {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn org_show(&self) -> serde_json::Value {
        serde_json::from_str(&self.run(&["org", "show", "--json"], false)).expect("org show --json")
    }
}

async fn gone(c: &Client, css: &str) {
    for _ in 0..100 {
        if c.find(Locator::Css(css)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    panic!("{css} is still there");
}

/// A keyring vault unlocks itself at start; otherwise unlock it. Waits for Home.
async fn unlocked(c: &Client) {
    for _ in 0..100 {
        if c.find(Locator::Css("#unlock-keyring")).await.is_ok() {
            click(c, "#unlock-keyring").await;
            break;
        }
        if c.find(Locator::Css("#waiting")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_text(c, "#waiting", "").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_key_in_an_hsm_pin_rotation_and_a_token_that_comes_back() {
    let _serial = SERIAL.lock().await;
    let hsm = SoftHsm::new(TOKEN);
    let key_uri = hsm.uri("nuts-org");
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::localhost();
    let ca_file = tmp.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let web = StaticHttpsServer::start(&pki).await;
    let data_dir = scratch_data_dir("org-hsm");
    let cli = Cli {
        data_dir: &data_dir,
        ca_file: &ca_file,
        hsm: &hsm,
    };
    cli.run(&["init", "--keyring"], false);
    cli.run(
        &[
            "org",
            "init",
            "--subject",
            "hsm-zorg",
            "--base-url",
            &web.base(),
            "--key",
            &key_uri,
        ],
        true,
    );
    let first = cli.org_show();
    assert_eq!(first["key_store"], "pkcs11");

    // The app has no PIN: not in its environment, not in the keyring.
    let driver = Driver::start(
        PORT,
        &[
            ("NUTS_WALLET_DATA_DIR", data_dir.clone()),
            ("NUTS_WALLET_DEV", "1".into()),
            ("NUTS_WALLET_CA_FILE", ca_file.display().to_string()),
            ("NUTS_WALLET_API_PORT", "0".into()),
            ("SOFTHSM2_CONF", hsm.conf_path().display().to_string()),
        ],
    );
    assert!(
        std::env::var_os("NUTS_WALLET_PKCS11_PIN").is_none(),
        "the app under test must not inherit a PIN"
    );
    let c = driver.session().await;
    unlocked(&c).await;
    click(&c, "#nav-organization").await;

    // Where the key lives, in plain words; the status line says the PIN is needed.
    wait_text(
        &c,
        "#org-key-place",
        &format!("In the HSM: token {TOKEN}, key nuts-org"),
    )
    .await;
    wait_text(&c, "#org-show-kid", first["kid"].as_str().unwrap()).await;
    wait_attr(&c, "#org-hsm-status", "data-code", "pkcs11_pin_required").await;
    wait_text(
        &c,
        "#org-hsm-status",
        "The PIN of the security module is needed",
    )
    .await;
    screenshot(&c, "30-org-hsm-pin-needed").await;

    type_into(&c, "#admin-login-pass", ADMIN_PW).await;
    click(&c, "#admin-sign-in").await;
    wait_text(&c, "#admin-active", "Signed in as administrator").await;

    // 1. A new key in the same token: the action needs the token, so the PIN is asked.
    scroll_to(&c, "org-rotation").await;
    click(&c, "#rot-make").await;
    wait_text(&c, "#pin-dialog h1", "PIN of the security module").await;
    assert_eq!(
        attr(&c, "#pin-input", "type").await.as_deref(),
        Some("password")
    );
    screenshot(&c, "31-org-hsm-pin-prompt").await;
    language(&c, "nl").await;
    wait_text(&c, "#pin-dialog h1", "Pincode van de beveiligingsmodule").await;
    screenshot(&c, "31-org-hsm-pin-prompt-nl").await;
    language(&c, "en").await;
    // A wrong PIN is said so, with what it risks; the dialog stays for another try.
    type_into(&c, "#pin-input", "000000").await;
    click(&c, "#pin-ok").await;
    wait_attr(&c, "#pin-dialog", "data-wrong", "true").await;
    wait_text(&c, "#pin-wrong", "not correct").await;
    assert_eq!(attr(&c, "#pin-input", "value").await.as_deref(), Some(""));
    screenshot(&c, "32-org-hsm-wrong-pin").await;
    // The right PIN, remembered in this computer's keyring (checked with the CLI below).
    type_into(&c, "#pin-input", hsm.pin()).await;
    click(&c, "#pin-remember").await;
    click(&c, "#pin-ok").await;
    gone(&c, "#pin-dialog").await;
    wait_text(&c, "#rot-notice", "publish again and upload the files").await;
    wait_text(&c, "#org-other-keys tr[data-role='next']", "New key").await;
    wait_text(
        &c,
        "#org-other-keys tr[data-role='next']",
        &format!("token {TOKEN}"),
    )
    .await;
    wait_attr(&c, "#org-hsm-status", "data-state", "ok").await;
    let shown = cli.org_show();
    let next = &shown["other_keys"][0];
    assert_eq!(next["role"], "next");
    assert_eq!(next["key_store"], "pkcs11");
    assert!(
        next["key_uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("pkcs11:token={TOKEN};object=nuts-org-")),
        "{next}"
    );
    scroll_to(&c, "org-rotation").await;
    screenshot(&c, "33-org-hsm-new-key").await;

    // 2. Nothing uploaded yet: the web server check says so, and activation is refused.
    click(&c, "#rot-check").await;
    wait_attr(&c, "#live-check", "data-verdict", "unreadable").await;
    wait_text(&c, "#live-verdict", "could not read").await;
    click(&c, "#rot-activate").await;
    wait_attr(&c, "#org-error", "data-code", "key_not_published").await;
    wait_text(&c, "#org-error", "not on the web server yet").await;
    let reason = c
        .find(Locator::Css("#org-error-reason"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert!(reason.contains("not served yet"), "{reason}");
    scroll_to(&c, "org-rotation").await;
    screenshot(&c, "34-org-activate-refused").await;
    language(&c, "nl").await;
    wait_text(&c, "#org-error", "staat nog niet op de webserver").await;
    screenshot(&c, "34-org-activate-refused-nl").await;
    language(&c, "en").await;

    // 3. Publish and upload; the check now finds both keys, and activation works.
    let bundle = tmp.path().join("bundle");
    type_into(&c, "#org-out-dir", bundle.to_str().unwrap()).await;
    click(&c, "#org-publish").await;
    wait_text(&c, "#org-published-to", bundle.to_str().unwrap()).await;
    upload(&web, &bundle, &bundle);
    click(&c, "#rot-check").await;
    wait_attr(&c, "#live-check", "data-verdict", "all_served").await;
    for role in ["active", "next"] {
        for col in ["did", "statement"] {
            wait_text(
                &c,
                &format!("#live-check tr[data-role='{role}'] td[data-col='{col}']"),
                "Yes",
            )
            .await;
        }
    }
    scroll_to(&c, "org-rotation").await;
    screenshot(&c, "35-org-live-check").await;
    click(&c, "#rot-activate").await;
    wait_text(&c, "#rot-notice", "The new key is in use").await;
    wait_text(&c, "#org-other-keys tr[data-role='previous']", "Old key").await;
    wait_text(&c, "#org-show-kid", next["kid"].as_str().unwrap()).await;
    wait_text(&c, "#org-key-place", "key nuts-org-").await;
    scroll_to(&c, "organization").await;
    screenshot(&c, "36-org-hsm-activated").await;

    // 4. The token vanishes: publishing (it signs) says so in plain words ...
    let token_dir = hsm.token_dir(TOKEN);
    let parked = hsm.tokens_dir().parent().unwrap().join("parked");
    std::fs::rename(&token_dir, &parked).unwrap();
    click(&c, "#org-publish").await;
    wait_text(&c, "#org-error", "cannot be reached").await;
    let code = attr(&c, "#org-error", "data-code").await.unwrap();
    assert!(
        code == "pkcs11_token_absent" || code == "pkcs11_unreachable",
        "{code}"
    );
    wait_attr(&c, "#org-hsm-status", "data-state", "problem").await;
    scroll_to(&c, "org-publish-card").await;
    screenshot(&c, "37-org-hsm-unreachable").await;
    language(&c, "nl").await;
    wait_text(&c, "#org-error", "niet bereikbaar").await;
    screenshot(&c, "37-org-hsm-unreachable-nl").await;
    language(&c, "en").await;
    // ... and once it is back, the status line finds it by itself (it looks again every 15 s)
    // and "Try again" works, without a restart.
    std::fs::rename(&parked, &token_dir).unwrap();
    let mut state = None;
    for _ in 0..100 {
        state = attr(&c, "#org-hsm-status", "data-state").await;
        if state.as_deref() == Some("ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        state.as_deref(),
        Some("ok"),
        "the status line did not recover"
    );
    assert!(
        c.find(Locator::Css("#org-error")).await.is_ok(),
        "the failed action waits for Try again"
    );
    click(&c, "#org-error-retry").await;
    gone(&c, "#org-error").await;
    wait_text(&c, "#org-published-to", bundle.to_str().unwrap()).await;
    wait_attr(&c, "#org-hsm-status", "data-state", "ok").await;

    // 5. Remove the old key, after a confirmation.
    click(&c, "#rot-retire").await;
    wait_text(&c, "#rot-retire-dialog", "Remove the old key?").await;
    screenshot(&c, "38-org-retire-confirm").await;
    click(&c, "#rot-retire-yes").await;
    wait_text(&c, "#rot-notice", "publish again and upload the files").await;
    gone(&c, "#org-other-keys").await;
    scroll_to(&c, "org-rotation").await;
    screenshot(&c, "39-org-retired").await;
    let last = cli.org_show();
    assert_eq!(last["kid"], next["kid"]);
    assert_eq!(last["other_keys"], serde_json::json!([]));
    assert_eq!(last["key_store"], "pkcs11");
    // The PIN typed in the app with "remember" is in the keyring: the CLI signs without it.
    let again = tmp.path().join("bundle-cli");
    cli.run(&["org", "publish", "--out", again.to_str().unwrap()], false);
    assert!(again.join("README.txt").exists());

    // The PIN never reached the log.
    let logs = std::fs::read_dir(format!("{data_dir}/logs"))
        .expect("log dir")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert!(!logs.contains(hsm.pin()), "the PIN reached the log");
    c.close().await.unwrap();
}

/// The administrator sets up the organization in the app with the key in the HSM: the PIN is
/// typed in the form (and remembered in the keyring), a module that is not installed is said
/// so in plain words, and the corrected address makes the key inside the token.
#[tokio::test(flavor = "multi_thread")]
async fn setting_up_the_organization_with_the_key_in_an_hsm() {
    let _serial = SERIAL.lock().await;
    let hsm = SoftHsm::new("e2e-setup");
    let tmp = tempfile::tempdir().unwrap();
    let ca_file = tmp.path().join("ca.pem");
    std::fs::write(&ca_file, TestPki::localhost().ca_pem).unwrap();
    let data_dir = scratch_data_dir("org-hsm-setup");
    let cli = Cli {
        data_dir: &data_dir,
        ca_file: &ca_file,
        hsm: &hsm,
    };
    cli.run(&["init", "--keyring"], false);
    // Another port than the first test's: its WebKitWebDriver may still hold the native port.
    let driver = Driver::start(
        PORT + 10,
        &[
            ("NUTS_WALLET_DATA_DIR", data_dir.clone()),
            ("NUTS_WALLET_API_PORT", "0".into()),
            ("SOFTHSM2_CONF", hsm.conf_path().display().to_string()),
        ],
    );
    let c = driver.session().await;
    unlocked(&c).await;
    click(&c, "#nav-organization").await;
    wait_text(&c, "#organization", "not been set up").await;
    type_into(&c, "#admin-login-pass", ADMIN_PW).await;
    click(&c, "#admin-sign-in").await;
    wait_text(&c, "#admin-active", "Signed in as administrator").await;

    type_into(&c, "#org-subject", "hsm-setup").await;
    type_into(&c, "#org-base-url", "https://zorg.example").await;
    // In this wallet is the default; the HSM fields appear with the other choice.
    assert_eq!(
        attr(&c, "#org-key-vault", "checked").await.as_deref(),
        Some("true")
    );
    assert!(c.find(Locator::Css("#org-key-uri")).await.is_err());
    click(&c, "#org-key-hsm").await;
    let missing_module = format!(
        "pkcs11:token=e2e-setup;object=nuts-org?module-path={}",
        tmp.path().join("no-such-module.so").display()
    );
    type_into(&c, "#org-key-uri", &missing_module).await;
    type_into(&c, "#org-key-pin", hsm.pin()).await;
    assert_eq!(
        attr(&c, "#org-key-pin", "type").await.as_deref(),
        Some("password")
    );
    click(&c, "#org-key-remember").await;
    scroll_to(&c, "org-key-choice").await;
    screenshot(&c, "40-org-setup-hsm").await;
    language(&c, "nl").await;
    wait_text(
        &c,
        "#organization",
        "Waar wordt de organisatiesleutel bewaard?",
    )
    .await;
    scroll_to(&c, "org-key-choice").await;
    screenshot(&c, "40-org-setup-hsm-nl").await;
    language(&c, "en").await;
    // Remembering checks the PIN on the token first, which needs the module: not installed.
    click(&c, "#org-create").await;
    wait_attr(&c, "#org-error", "data-code", "pkcs11_module_not_found").await;
    wait_text(&c, "#org-error", "not installed on this computer").await;
    assert_eq!(attr(&c, "#org-key-pin", "value").await.as_deref(), Some(""));
    scroll_to(&c, "org-key-choice").await;
    screenshot(&c, "41-org-setup-module-missing").await;
    assert!(
        !cli.output(&["org", "show", "--json"], false)
            .status
            .success(),
        "nothing may be set up after a failure"
    );

    // The right address: the PIN is given, remembered, and the key made in the token.
    type_into(&c, "#org-key-uri", &hsm.uri("nuts-org")).await;
    type_into(&c, "#org-key-pin", hsm.pin()).await;
    click(&c, "#org-create").await;
    wait_text(
        &c,
        "#org-key-place",
        "In the HSM: token e2e-setup, key nuts-org",
    )
    .await;
    wait_attr(&c, "#org-hsm-status", "data-state", "ok").await;
    scroll_to(&c, "organization").await;
    screenshot(&c, "42-org-set-up-hsm").await;
    let shown = cli.org_show();
    assert_eq!(shown["key_store"], "pkcs11");
    assert_eq!(shown["key_uri"], hsm.uri("nuts-org"));
    // The key is inside the token, not extractable.
    let objects = hsm.pkcs11_tool(&[
        "--token-label",
        "e2e-setup",
        "--login",
        "--pin",
        hsm.pin(),
        "--list-objects",
        "--type",
        "privkey",
    ]);
    let listed = String::from_utf8_lossy(&objects.stdout);
    assert!(listed.contains("nuts-org"), "{listed}");
    assert!(listed.contains("never extractable"), "{listed}");
    // Remembered in the keyring: the CLI signs without the PIN in its environment.
    let bundle = tmp.path().join("bundle");
    cli.run(
        &["org", "publish", "--out", bundle.to_str().unwrap()],
        false,
    );
    assert!(bundle.join("README.txt").exists());
    c.close().await.unwrap();
}
