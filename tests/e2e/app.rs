//! The real app window under Xvfb, driven through tauri-driver + WebKitWebDriver.
//! Needs a display and a D-Bus session bus (`scripts/test.sh` provides both).

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use nuts_wallet_e2e::{
    app_binary, assert_accessible, attr, axe_violations, click, http, scratch_data_dir, screenshot,
    second_launch, wait_attr, wait_text, Driver,
};

/// Every screen of the sidebar, by its `#nav-…` id.
const SCREENS: [&str; 9] = [
    "home",
    "credentials",
    "employees",
    "organization",
    "services",
    "activity",
    "settings",
    "status",
    "about",
];

/// Port of the app's loopback API in this test (not the default 8081, which may be taken).
const API_PORT: u16 = 18_181;

fn nuts_wallet_cli(args: &[&str], data_dir: &str) -> std::process::Output {
    let bin = app_binary().with_file_name("nuts-wallet");
    Command::new(bin)
        .args(args)
        .env("NUTS_WALLET_DATA_DIR", data_dir)
        .output()
        .expect("run nuts-wallet")
}

async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_ipc_deep_links_activity_and_lock() {
    let data_dir = scratch_data_dir("main");
    let driver = Driver::start(
        4444,
        &[
            ("NUTS_WALLET_DATA_DIR", data_dir.clone()),
            ("NUTS_WALLET_DEV", "1".into()),
            ("NUTS_WALLET_API_PORT", API_PORT.to_string()),
        ],
    );
    let c = driver.session().await;

    // First run: the setup screen, with the real OS keyring (gnome-keyring) offered.
    wait_text(&c, "#setup h1", "Set up Nuts Wallet").await;
    let version = wait_text(&c, "#app-version", env!("CARGO_PKG_VERSION")).await;
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    assert!(
        c.find(Locator::Css("#dev-banner")).await.is_ok(),
        "dev banner missing"
    );
    for _ in 0..50 {
        if attr(&c, "#setup-keyring", "disabled").await.is_none()
            && attr(&c, "#setup-create", "disabled").await.is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        attr(&c, "#setup-keyring", "disabled").await,
        None,
        "keyring must be offered"
    );
    // Too-short administrator passphrase: a clear message, nothing created.
    type_into(&c, "#admin-pass", "short").await;
    type_into(&c, "#admin-pass2", "short").await;
    click(&c, "#setup-create").await;
    wait_text(&c, "#admin-pass-error", "at least 8").await;
    screenshot(&c, "00-setup").await;
    assert_accessible(&c, "first-run setup").await;
    assert!(!std::path::Path::new(&data_dir).join("vault.db").exists());
    c.find(Locator::Css("#admin-pass"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    c.find(Locator::Css("#admin-pass2"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#admin-pass", "admin passphrase 1").await;
    type_into(&c, "#admin-pass2", "admin passphrase 1").await;
    click(&c, "#setup-create").await;
    wait_text(&c, "#waiting", "").await;
    wait_text(&c, "#ready", "").await;

    // Language switch: Dutch texts from the same i18n tables.
    click(&c, "#lang-nl").await;
    wait_text(&c, "#waiting h1", "Wachten op een verzoek").await;
    click(&c, "#lang-en").await;
    wait_text(&c, "#waiting h1", "Waiting for a request").await;
    // Before the organization exists Home is the administrator's checklist, with the next
    // step one click away.
    wait_text(&c, "#home-checklist", "Set up your organization").await;
    assert_eq!(
        attr(&c, "#home-checklist [data-step='org']", "data-done")
            .await
            .as_deref(),
        Some("false")
    );
    screenshot(&c, "01-home").await;
    click(&c, "#home-checklist-next").await;
    wait_text(&c, "#org-create", "").await;

    // IPC round trip into the About view: the data dir the app uses is the one we gave it.
    click(&c, "#nav-about").await;
    let shown = wait_text(&c, "#about-data-dir", &data_dir).await;
    assert_eq!(shown, data_dir);
    wait_text(&c, "#about-log-dir", "logs").await;
    screenshot(&c, "02-about").await;

    // A second launch with a valid link reaches this instance and shows the parsed request.
    second_launch(
        "nuts-wallet://authorize?client_id=https%3A%2F%2Fzorg.example%2Foauth2%2Fa\
         &request_uri=https%3A%2F%2Fzorg.example%2Foauth2%2Fa%2Frequest.jwt%2Fabc&request_uri_method=get",
    );
    // It comes from a party the administrator has not listed: refused with a clear message
    // before anything is fetched from it.
    wait_text(&c, "#presentation-from", "zorg.example").await;
    wait_text(&c, "#presentation-refused", "trusted parties").await;
    assert_eq!(
        attr(&c, "#presentation-refused", "data-code")
            .await
            .as_deref(),
        Some("refused.outside_policy")
    );
    screenshot(&c, "03-incoming").await;

    // A malformed link gets a clear, specific message and nothing else happens.
    second_launch("nuts-wallet://authorize?request_uri=https%3A%2F%2Fzorg.example%2Fr");
    wait_text(&c, "#incoming-error", "incomplete").await;
    assert_eq!(
        attr(&c, "#incoming-error", "data-code").await.as_deref(),
        Some("missing_parameter")
    );
    wait_text(&c, "#earlier-requests", "zorg.example").await;
    screenshot(&c, "04-invalid-link").await;

    // Activity: the creation is logged, and the hash chain checks out.
    click(&c, "#nav-activity").await;
    wait_text(&c, "#activity-table", "Wallet created").await;
    click(&c, "#activity-verify").await;
    wait_text(&c, "#activity-check", "Log intact").await;
    assert_eq!(
        attr(&c, "#activity-check", "data-intact").await.as_deref(),
        Some("true")
    );
    screenshot(&c, "05-activity").await;

    // The CLI sees the same vault (same data dir, keyring unlock) and the same log.
    let out = nuts_wallet_cli(&["audit", "verify"], &data_dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Lock; a link arriving while locked waits behind the unlock screen.
    click(&c, "#lock").await;
    wait_text(&c, "#unlock h1", "Wallet is locked").await;
    second_launch(
        "nuts-wallet://authorize?client_id=https%3A%2F%2Fother.example%2Foauth2%2Fb\
         &request_uri=https%3A%2F%2Fother.example%2Foauth2%2Fb%2Frequest.jwt%2Fx",
    );
    wait_text(&c, "#unlock-waiting", "waiting").await;
    screenshot(&c, "06-locked").await;
    assert_accessible(&c, "unlock").await;
    click(&c, "#unlock-keyring").await;
    wait_text(&c, "#presentation-from", "other.example").await;

    // The app logged to the rotating file in its data dir.
    let logs: Vec<_> = std::fs::read_dir(format!("{data_dir}/logs"))
        .expect("log dir")
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!logs.is_empty());
    let log = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    assert!(log.contains("incoming nuts-wallet link"), "{log}");
    assert!(
        !log.contains("admin passphrase 1"),
        "a passphrase reached the log"
    );

    // Settings: the auto-lock time is an administrator setting; with 1 minute the idle app
    // really locks itself (the background timer checks every 5 s).
    click(&c, "#nav-settings").await;
    wait_text(&c, "#admin-gate", "administrator passphrase").await;
    assert_eq!(
        attr(&c, "#auto-lock", "disabled").await.as_deref(),
        Some("true")
    );
    type_into(&c, "#admin-login-pass", "wrong passphrase").await;
    click(&c, "#admin-sign-in").await;
    wait_text(&c, "#admin-error", "not correct").await;
    c.find(Locator::Css("#admin-login-pass"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#admin-login-pass", "admin passphrase 1").await;
    click(&c, "#admin-sign-in").await;
    wait_text(&c, "#admin-active", "Signed in as administrator").await;

    // Organization: set up the identity, then write the publication bundle.
    click(&c, "#nav-organization").await;
    wait_text(&c, "#organization", "not been set up").await;
    type_into(&c, "#org-subject", "e2e-zorg").await;
    let url = c.find(Locator::Css("#org-base-url")).await.unwrap();
    url.clear().await.unwrap();
    url.send_keys("https://zorg.example").await.unwrap();
    click(&c, "#org-create").await;
    let did = wait_text(&c, "#org-show-did", "did:web:zorg.example:iam:").await;
    wait_text(&c, "#org-needs-publish", "publish").await;
    let out = c.find(Locator::Css("#org-out-dir")).await.unwrap();
    out.clear().await.unwrap();
    let bundle = format!("{data_dir}/bundle");
    out.send_keys(&bundle).await.unwrap();
    click(&c, "#org-publish").await;
    wait_text(&c, "#org-published-to", &bundle).await;
    let doc = std::fs::read_dir(&bundle).unwrap().count();
    assert!(doc >= 3, "publication bundle has {doc} entries");
    assert!(std::path::Path::new(&bundle).join("README.txt").exists());
    screenshot(&c, "08-organization").await;

    // Services: the loopback API started with the organization; policy and consent prompt.
    click(&c, "#nav-services").await;
    wait_text(&c, "#svc-api", &format!("http://127.0.0.1:{API_PORT}")).await;
    let (status, _) = http("GET", API_PORT, "/health", &[], "");
    assert_eq!(status, 200);
    let server = "https://as.example/oauth2/a";
    let new_server = c.find(Locator::Css("#svc-new-server")).await.unwrap();
    new_server.clear().await.unwrap();
    new_server.send_keys(server).await.unwrap();
    click(&c, "#svc-add-server").await;
    wait_text(&c, ".policy-server", server).await;
    let policy = nuts_wallet_cli(&["policy", "show"], &data_dir);
    assert!(String::from_utf8_lossy(&policy.stdout).contains(server));
    click(&c, "#svc-show-key").await;
    let key = wait_text(&c, "#svc-key", "").await;
    assert!(key.len() >= 32, "API key looks too short");
    let path = "/internal/auth/v2/e2e-zorg/request-service-access-token";
    let body = format!(r#"{{"authorization_server":"{server}","scope":"test"}}"#);
    let (status, _) = http(
        "POST",
        API_PORT,
        path,
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(status, 401, "no API key must be refused");
    // The scope is not on the no-prompt list: the EHR's request waits for the employee.
    let auth = format!("Bearer {key}");
    let waiting = std::thread::spawn({
        let body = body.clone();
        move || {
            http(
                "POST",
                API_PORT,
                path,
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &auth),
                ],
                &body,
            )
        }
    });
    wait_text(&c, "#consent-dialog", "test").await;
    wait_text(&c, "#consent-countdown", ":").await;
    screenshot(&c, "11-consent").await;
    assert_accessible(&c, "service-token dialog").await;
    // The dialog has the focus, keeps it on Tab (the page behind is inert) and Escape
    // declines.
    let focus_in_dialog = || async {
        c.execute(
            "return document.activeElement !== null && document.activeElement.closest('#consent-dialog') !== null",
            vec![],
        )
        .await
        .unwrap()
            == serde_json::json!(true)
    };
    assert!(focus_in_dialog().await, "focus moved into the dialog");
    for _ in 0..4 {
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
        assert!(focus_in_dialog().await, "Tab stays in the dialog");
    }
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    let (status, answer) = waiting.join().unwrap();
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.contains("declined") || answer.contains("access_denied"),
        "{answer}"
    );
    click(&c, "#nav-home").await;
    click(&c, "#nav-services").await;
    wait_text(&c, "#svc-recent", "as.example").await;
    // Why, in words (the code stays as detail).
    wait_text(
        &c,
        "#svc-recent [data-code='consent_declined']",
        "declined by the employee",
    )
    .await;
    screenshot(&c, "12-services").await;
    // The administrator lets this server's unsolicited wallet requests through (user flow).
    click(&c, ".policy-server input[data-action='unsolicited']").await;
    let mut p = serde_json::Value::Null;
    for _ in 0..50 {
        let out = nuts_wallet_cli(&["policy", "show", "--json"], &data_dir);
        p = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if p["unsolicited_verifiers"] == serde_json::json!([server]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        p["unsolicited_verifiers"],
        serde_json::json!([server]),
        "{p}"
    );
    screenshot(&c, "13-services-unsolicited").await;
    // Wallet-wide: strict revocation checks, set in the app, seen by the CLI.
    click(&c, "#svc-strict-revocation").await;
    let mut p = serde_json::Value::Null;
    for _ in 0..50 {
        let out = nuts_wallet_cli(&["policy", "show", "--json"], &data_dir);
        p = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if p["revocation"] == "strict" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(p["revocation"], "strict", "{p}");
    click(&c, "#svc-strict-revocation").await;

    // Employees: self-attestation roster.
    click(&c, "#nav-employees").await;
    wait_text(&c, "#emp-empty", "No employees").await;
    type_into(&c, "#emp-identifier", "jdoe@zorg.example").await;
    type_into(&c, "#emp-name", "Jan de Vries").await;
    type_into(&c, "#emp-role", "Verpleegkundige").await;
    click(&c, "#emp-add").await;
    wait_text(&c, "#emp-table", "Jan de Vries").await;
    click(
        &c,
        "#emp-table tr[data-identifier='jdoe@zorg.example'] button[data-action='edit']",
    )
    .await;
    let role = c.find(Locator::Css("#emp-edit-role")).await.unwrap();
    role.clear().await.unwrap();
    role.send_keys("Arts").await.unwrap();
    click(&c, "#emp-edit-save").await;
    wait_text(&c, "#emp-table", "Arts").await;
    click(
        &c,
        "#emp-table tr[data-identifier='jdoe@zorg.example'] button[data-action='toggle']",
    )
    .await;
    wait_text(&c, "#emp-table", "Deactivated").await;
    let list = nuts_wallet_cli(&["employee", "list", "--json"], &data_dir);
    let list: serde_json::Value =
        serde_json::from_slice(&list.stdout).expect("employee list --json");
    assert_eq!(list[0]["role"], "Arts");
    assert_eq!(list[0]["active"], false);
    screenshot(&c, "09-employees").await;
    // The activity log names the employee instead of showing the roster id.
    click(&c, "#nav-activity").await;
    wait_text(
        &c,
        "#activity-table tr[data-action='employee.add'] .subject",
        "Jan de Vries",
    )
    .await;
    // A settings change says which setting and what changed: the newest is the strict
    // revocation switch under Services, turned off again.
    let newest_change = "#activity-table tr[data-action='setting.change']";
    wait_text(&c, &format!("{newest_change} .subject"), "Access policy").await;
    wait_text(
        &c,
        &format!("{newest_change} .changes"),
        "Revocation check: strict",
    )
    .await;
    // Export for an audit, as a spreadsheet: written privately, with the header and the rows.
    let export_dir = tempfile::tempdir().unwrap();
    let csv_file = export_dir.path().join("activity.csv");
    c.find(Locator::Css("#activity-export-format option[value='csv']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let field = c.find(Locator::Css("#activity-export-path")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(csv_file.to_str().unwrap()).await.unwrap();
    click(&c, "#activity-export-button").await;
    wait_text(&c, "#activity-exported", "entries written").await;
    let csv = std::fs::read_to_string(&csv_file).unwrap();
    assert!(
        csv.starts_with("seq,time,actor,action,subject,outcome,detail\r\n"),
        "{csv}"
    );
    assert!(csv.contains(",employee.add,"), "{csv}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&csv_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by the owner only");
    }

    // Credentials: a bad import is refused with the reason; nothing is stored.
    click(&c, "#nav-credentials").await;
    wait_text(&c, "#cred-empty", "No credentials").await;
    type_into(&c, "#cred-text", "eyJhbGciOiJub25lIn0.e30.").await;
    click(&c, "#cred-import").await;
    wait_text(&c, "#cred-error", "refused").await;
    assert!(c.find(Locator::Css("#cred-table")).await.is_err());
    screenshot(&c, "10-credentials").await;

    // The organization's X509Credential from its UZI server certificate, in the app: the
    // PKCS#12 file picked, a wrong password refused in words, the preview with the URA and
    // the chain's CAs, then issued and listed with the URA.
    let pki_dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let uzi = wallet_testkit::uzi::UziPki::new(&wallet_testkit::uzi::UziOptions::valid(now));
    let p12 = pki_dir.path().join("server.p12");
    std::fs::write(&p12, uzi.pkcs12("p12 password")).unwrap();
    c.find(Locator::Css("#x509-file"))
        .await
        .unwrap()
        .send_keys(p12.to_str().unwrap())
        .await
        .unwrap();
    type_into(&c, "#x509-password", "not the password").await;
    click(&c, "#x509-check").await;
    wait_text(&c, "#x509-error", "The password does not open this file").await;
    c.find(Locator::Css("#x509-password"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#x509-password", "p12 password").await;
    click(&c, "#x509-check").await;
    wait_text(&c, "#x509-ura", "90000380").await;
    wait_text(&c, "#x509-org", "Zorg & Welzijn").await;
    assert!(c.find(Locator::Css("#x509-error")).await.is_err());
    let cas = c.find_all(Locator::Css("#x509-ca option")).await.unwrap();
    assert_eq!(cas.len(), 2, "the intermediate and the root CA");
    assert_eq!(
        cas[0].text().await.unwrap(),
        wallet_testkit::uzi::INTERMEDIATE_DN
    );
    screenshot(&c, "10b-x509-preview").await;
    click(&c, "#x509-issue").await;
    wait_text(&c, "#cred-notice", "URA 90000380").await;
    wait_text(
        &c,
        "#cred-table tr[data-type='X509Credential'] .org-names",
        "90000380",
    )
    .await;
    assert!(
        c.find(Locator::Css("#x509-preview")).await.is_err(),
        "the form is cleared"
    );
    assert!(
        c.find(Locator::Css("#cred-error")).await.is_err(),
        "the earlier refusal is gone"
    );
    assert!(
        c.find(Locator::Css(
            "tr[data-type='X509Credential'] [data-warning='untrusted_issuer']"
        ))
        .await
        .is_err(),
        "its own certificate: a trusted issuer"
    );
    screenshot(&c, "10c-x509-issued").await;
    // Trusted issuers: listed; no longer trusted after a confirmed removal (the credential
    // gets the warning), trusted again from the warning itself.
    wait_text(&c, "#cred-trusted li", "did:x509:0:sha256:").await;
    click(&c, "#cred-trusted [data-action='untrust']").await;
    click(&c, "#cred-trusted [data-action='untrust-yes']").await;
    wait_text(&c, "#cred-trusted-none", "No trusted issuers").await;
    wait_text(
        &c,
        "tr[data-type='X509Credential'] [data-warning='untrusted_issuer']",
        "",
    )
    .await;
    click(&c, "tr[data-type='X509Credential'] [data-action='trust']").await;
    wait_text(&c, "#cred-notice", "now trusted").await;
    wait_text(&c, "#cred-trusted li", "did:x509:0:sha256:").await;
    assert!(c
        .find(Locator::Css(
            "tr[data-type='X509Credential'] [data-warning='untrusted_issuer']"
        ))
        .await
        .is_err());

    // The CLI sees the organization the app created.
    let show = nuts_wallet_cli(&["org", "show", "--json"], &data_dir);
    let show: serde_json::Value = serde_json::from_slice(&show.stdout).expect("org show --json");
    assert_eq!(show["did"], did.as_str());
    assert_eq!(show["subject"], "e2e-zorg");

    // Accessibility: axe-core finds no serious or critical violation on any screen, in
    // either language.
    let mut problems = Vec::new();
    for lang in ["nl", "en"] {
        click(&c, &format!("#lang-{lang}")).await;
        for screen in SCREENS {
            click(&c, &format!("#nav-{screen}")).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            for v in axe_violations(&c).await {
                problems.push(format!("{screen} ({lang}): {v}"));
            }
            screenshot(&c, &format!("14-{lang}-{screen}")).await;
        }
    }
    assert!(
        problems.is_empty(),
        "accessibility:\n{}",
        problems.join("\n")
    );

    // Status: what `doctor` reports, in the app.
    click(&c, "#nav-status").await;
    wait_attr(&c, "#status-data-dir", "data-status", "ok").await;
    wait_attr(&c, "#status-keyring", "data-status", "ok").await;
    wait_attr(&c, "#status-chain", "data-intact", "true").await;
    wait_text(&c, "#status-api", &format!("127.0.0.1:{API_PORT}")).await;
    screenshot(&c, "16-status").await;

    // At the minimum window size nothing runs off the side: tables reflow, their buttons
    // stay reachable, long identifiers wrap.
    c.set_window_size(720, 520).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let in_view = c
        .execute(
            "const h = window.innerHeight; \
             return ['lock', 'lang-nl', 'lang-en'].every((id) => { \
               const r = document.getElementById(id).getBoundingClientRect(); \
               return r.top >= 0 && r.bottom <= h; });",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        in_view,
        serde_json::json!(true),
        "Lock and NL/EN stay in view"
    );
    for (lang, screen) in ["nl", "en"]
        .into_iter()
        .flat_map(|lang| SCREENS.map(|screen| (lang, screen)))
    {
        click(&c, &format!("#lang-{lang}")).await;
        click(&c, &format!("#nav-{screen}")).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let fits = c
            .execute(
                "const w = document.documentElement.clientWidth; \
                 const main = document.querySelector('main'); \
                 const cut = [...document.querySelectorAll('main button, main input, main td')] \
                   .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 1) \
                   .map((e) => e.id || e.textContent.trim().slice(0, 30)); \
                 return { overflow: main.scrollWidth > main.clientWidth + 1, cut };",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            fits["overflow"], false,
            "{screen} ({lang}) scrolls sideways: {fits}"
        );
        assert_eq!(
            fits["cut"],
            serde_json::json!([]),
            "{screen} ({lang}): {fits}"
        );
        screenshot(&c, &format!("15-min-{lang}-{screen}")).await;
    }
    click(&c, "#lang-en").await;
    c.set_window_size(1100, 760).await.unwrap();

    click(&c, "#nav-settings").await;
    wait_text(&c, "#admin-active", "Signed in as administrator").await;

    // Backup from the app: written, and the CLI restores it into another folder.
    let backup_dir = tempfile::tempdir().unwrap();
    let backup_file = backup_dir.path().join("wallet.nwbackup");
    let path_field = c.find(Locator::Css("#backup-path")).await.unwrap();
    path_field.clear().await.unwrap();
    path_field
        .send_keys(backup_file.to_str().unwrap())
        .await
        .unwrap();
    type_into(&c, "#backup-pass", "backup passphrase 1").await;
    type_into(&c, "#backup-pass2", "backup passphrase 2").await;
    wait_text(&c, "#backup-pass2-error", "not the same").await;
    c.find(Locator::Css("#backup-pass2"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#backup-pass2", "backup passphrase 1").await;
    click(&c, "#backup-make").await;
    wait_text(&c, "#backup-done", "wallet.nwbackup").await;
    let restored = backup_dir.path().join("restored");
    let out = Command::new(app_binary().with_file_name("nuts-wallet"))
        .args(["restore", backup_file.to_str().unwrap(), "--passphrase-env"])
        .env("NUTS_WALLET_DATA_DIR", &restored)
        .env("NUTS_WALLET_BACKUP_PASSPHRASE", "backup passphrase 1")
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", "admin passphrase 1")
        .env("NUTS_WALLET_PASSPHRASE", "restored vault passphrase 1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restore of the app's backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A new administrator passphrase: the old one no longer signs in, the new one does.
    type_into(&c, "#admin-new-pass", "admin passphrase 2").await;
    type_into(&c, "#admin-new-pass2", "admin passphrase 2").await;
    click(&c, "#admin-pass-change").await;
    wait_text(&c, "#admin-pass-done", "changed").await;
    screenshot(&c, "07b-settings-admin-tasks").await;
    click(&c, "#admin-sign-out").await;
    type_into(&c, "#admin-login-pass", "admin passphrase 1").await;
    click(&c, "#admin-sign-in").await;
    wait_attr(&c, "#admin-error", "data-code", "wrong_passphrase").await;
    c.find(Locator::Css("#admin-login-pass"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#admin-login-pass", "admin passphrase 2").await;
    click(&c, "#admin-sign-in").await;
    wait_text(&c, "#admin-active", "Signed in as administrator").await;

    // Activity to the organization: a bad address is refused in place; a real rsyslog on
    // loopback receives the log from the app's forwarder, and Settings says it is delivered.
    wait_text(&c, "#fwd-collector", "Off").await;
    type_into(&c, "#fwd-syslog", "syslog.zorg.example").await;
    click(&c, "#fwd-save").await;
    wait_attr(&c, "#fwd-error", "data-code", "invalid_input").await;
    let rs = wallet_testkit::rsyslog::Rsyslog::tcp();
    c.find(Locator::Css("#fwd-syslog"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#fwd-syslog", &rs.url()).await;
    click(&c, "#fwd-save").await;
    wait_text(&c, "#fwd-collector", &rs.url()).await;
    let lines = rs.wait_for(Duration::from_secs(15), |l| {
        l.iter().any(|x| x.contains(" audit.forward.configure "))
    });
    assert!(!lines.is_empty());
    let mut delivered = String::new();
    for _ in 0..50 {
        click(&c, "#fwd-refresh").await;
        delivered = wait_text(&c, "#fwd-delivered", "").await;
        if delivered.contains('#') {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(delivered.contains('#'), "nothing delivered: {delivered}");
    nuts_wallet_e2e::scroll_to(&c, "forwarding").await;
    screenshot(&c, "07c-settings-forwarding").await;
    click(&c, "#fwd-off").await;
    click(&c, "#fwd-off-yes").await;
    wait_text(&c, "#fwd-collector", "Off").await;

    c.find(Locator::Css("#auto-lock option[value='1']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&c, "#auto-lock-save").await;
    wait_text(&c, "#auto-lock-saved", "Saved").await;
    screenshot(&c, "07-settings").await;
    let idle_start = Instant::now();
    let deadline = Duration::from_secs(100);
    loop {
        if c.find(Locator::Css("#unlock")).await.is_ok() {
            break;
        }
        assert!(
            idle_start.elapsed() < deadline,
            "the idle app did not lock itself"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        idle_start.elapsed() >= Duration::from_secs(55),
        "locked too early"
    );

    // About shows the same version and build commit as `nuts-wallet --version`.
    let about = nuts_wallet_cli(&["--version"], &data_dir);
    let cli_version = String::from_utf8_lossy(&about.stdout).trim().to_string();
    click(&c, "#nav-about").await;
    let commit = wait_text(&c, "#about-commit", "").await;
    assert!(
        cli_version.ends_with(&format!("({commit})")),
        "{cli_version} vs {commit}"
    );

    c.close().await.unwrap();
    drop(driver);

    // A new computer: the first-run screen restores the backup made above; the wallet comes
    // back with its organization, behind the passphrase chosen here.
    let restored_dir = scratch_data_dir("restored");
    let driver = Driver::start(
        4448,
        &[
            ("NUTS_WALLET_DATA_DIR", restored_dir.clone()),
            ("NUTS_WALLET_API_PORT", "0".into()),
        ],
    );
    let c = driver.session().await;
    wait_text(&c, "#setup h1", "Set up Nuts Wallet").await;
    click(&c, "#setup-mode-restore").await;
    wait_attr(&c, "#setup", "data-mode", "restore").await;
    c.find(Locator::Css("#restore-file"))
        .await
        .unwrap()
        .send_keys(backup_file.to_str().unwrap())
        .await
        .unwrap();
    wait_text(&c, "#setup [data-file-name]", "wallet.nwbackup").await;
    type_into(&c, "#restore-backup-pass", "not the backup passphrase").await;
    click(&c, "#setup-passphrase").await;
    type_into(&c, "#vault-pass", "restored vault pass 1").await;
    type_into(&c, "#vault-pass2", "restored vault pass 1").await;
    type_into(&c, "#admin-pass", "admin passphrase 1").await;
    assert_accessible(&c, "restore from a backup").await;
    click(&c, "#restore-submit").await;
    wait_attr(&c, "#setup-error", "data-code", "wrong_passphrase").await;
    assert!(
        !std::path::Path::new(&restored_dir)
            .join("vault.db")
            .exists(),
        "a refused restore leaves nothing"
    );
    let field = c.find(Locator::Css("#restore-backup-pass")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("backup passphrase 1").await.unwrap();
    click(&c, "#restore-submit").await;
    wait_text(&c, "#waiting", "").await;
    screenshot(&c, "14-restored").await;
    click(&c, "#nav-organization").await;
    wait_text(&c, "#org-show-did", &did).await;
    c.close().await.unwrap();
}
