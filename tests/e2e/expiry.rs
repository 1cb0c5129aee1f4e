//! A credential that expires within 30 days: Home says so (which one, when) in both
//! languages, and the administrator's wallet shows a desktop notification once the vault
//! opens (seen on the session bus as the `Notify` call a notification service receives).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nuts_wallet_e2e::{app_binary, click, scratch_data_dir, screenshot, wait_text, Driver};

const ADMIN_PW: &str = "admin passphrase expiry";
const P12_PW: &str = "p12 password expiry";

fn cli(data_dir: &str, args: &[&str]) {
    let bin = app_binary().with_file_name("nuts-wallet");
    let out = Command::new(&bin)
        .args(args)
        .env("NUTS_WALLET_DATA_DIR", data_dir)
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
        .env("NUTS_WALLET_PKCS12_PASSWORD", P12_PW)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "nuts-wallet {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dbus-monitor` on the test's session bus, watching notification calls.
struct Monitor {
    child: Child,
    out: std::path::PathBuf,
}

impl Monitor {
    fn start(out: std::path::PathBuf) -> Self {
        let file = std::fs::File::create(&out).unwrap();
        let child = Command::new("dbus-monitor")
            .args(["--session", "interface='org.freedesktop.Notifications'"])
            .stdout(Stdio::from(file))
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (apt package dbus)");
        std::thread::sleep(Duration::from_millis(500));
        Self { child, out }
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no notification with {needle:?}; the bus saw: {text}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_credential_is_on_home_and_in_a_notification() {
    let data_dir = scratch_data_dir("expiry");
    let tmp = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // The UZI server certificate ends in ten days.
    let mut opts = wallet_testkit::uzi::UziOptions::valid(now);
    opts.not_after = now + 10 * 86_400;
    let p12 = tmp.path().join("server.p12");
    std::fs::write(&p12, wallet_testkit::uzi::UziPki::new(&opts).pkcs12(P12_PW)).unwrap();
    cli(&data_dir, &["init", "--keyring"]);
    cli(
        &data_dir,
        &[
            "org",
            "init",
            "--subject",
            "zorg",
            "--base-url",
            "https://zorg.example",
        ],
    );
    cli(
        &data_dir,
        &[
            "credential",
            "issue-x509",
            "--pkcs12",
            p12.to_str().unwrap(),
            "--ca",
            wallet_testkit::uzi::INTERMEDIATE_DN,
        ],
    );

    let monitor = Monitor::start(tmp.path().join("bus.txt"));
    let driver = Driver::start(4470, &[("NUTS_WALLET_DATA_DIR", data_dir.clone())]);
    let c = driver.session().await;
    // The keyring vault opens at start: Home names the credential and its end date.
    let until = wallet_protocol::clock::format_rfc3339(opts.not_after);
    let date = &until[..10];
    let text = wait_text(&c, "#home-expiry", "needs renewing").await;
    assert!(text.contains("X509Credential (URA 90000380)"), "{text}");
    assert!(text.contains(&format!("expires on {date}")), "{text}");
    screenshot(&c, "60-home-credential-expiring").await;
    click(&c, "#lang-nl").await;
    wait_text(&c, "#home-expiry", &format!("verloopt op {date}")).await;
    screenshot(&c, "61-home-credential-expiring-nl").await;
    click(&c, "#lang-en").await;

    // The administrator's desktop notification, once.
    let bus = monitor.wait_for("a credential expires soon");
    assert!(bus.contains("URA 90000380"), "{bus}");
    assert!(bus.contains(date), "{bus}");
    assert_eq!(bus.matches("member=Notify").count(), 1, "{bus}");
    c.close().await.unwrap();
}
