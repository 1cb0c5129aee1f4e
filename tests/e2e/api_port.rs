//! The Home screen when the loopback API cannot start (another program holds its port), in
//! the real app window under Xvfb. Its own test binary: the app is single-instance, so GUI
//! tests of one binary would share one app.

use std::process::Command;
use std::time::Duration;

use fantoccini::Locator;
use nuts_wallet_e2e::{app_binary, attr, click, scratch_data_dir, screenshot, wait_text, Driver};

/// Another program holds the loopback API's port: Home says so at once (an EHR calling that
/// port would talk to the other program), in words, not only on the Services screen.
#[tokio::test(flavor = "multi_thread")]
async fn home_says_when_the_loopback_api_cannot_start() {
    let data_dir = scratch_data_dir("port-taken");
    let env_cli = |args: &[&str]| {
        let bin = app_binary().with_file_name("nuts-wallet");
        let out = Command::new(bin)
            .args(args)
            .env("NUTS_WALLET_DATA_DIR", &data_dir)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", "admin passphrase 1")
            .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
            .output()
            .expect("run nuts-wallet");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    env_cli(&["init", "--keyring"]);
    env_cli(&[
        "org",
        "init",
        "--subject",
        "bezet",
        "--base-url",
        "https://zorg.example",
    ]);
    // The squatter: a listener on the API's port before the app starts.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let driver = Driver::start(
        4460,
        &[
            ("NUTS_WALLET_DATA_DIR", data_dir.clone()),
            ("NUTS_WALLET_API_PORT", port.to_string()),
        ],
    );
    let c = driver.session().await;
    // A keyring vault unlocks itself at start; otherwise unlock it.
    for _ in 0..50 {
        if c.find(Locator::Css("#unlock-keyring")).await.is_ok() {
            click(&c, "#unlock-keyring").await;
            break;
        }
        if c.find(Locator::Css("#waiting")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let banner = wait_text(&c, "#home-api-failed h2", "cannot reach this wallet").await;
    // The status line no longer says all is well; the technical reason is one click away.
    wait_text(&c, "#ready", "cannot reach it").await;
    let reason = attr(&c, "#home-api-failed-reason", "textContent").await;
    let reason = match reason {
        Some(r) => r,
        None => c
            .find(Locator::Css("#home-api-failed-reason"))
            .await
            .unwrap()
            .html(false)
            .await
            .unwrap(),
    };
    assert!(reason.contains(&port.to_string()), "{reason}");
    assert!(reason.contains("in use"), "{reason}");
    screenshot(&c, "21-home-api-port-taken").await;
    click(&c, "#lang-nl").await;
    let nl = wait_text(&c, "#home-api-failed h2", "niet bereiken").await;
    assert_ne!(nl, banner, "translated");
    screenshot(&c, "22-home-api-port-taken-nl").await;
    // And back: the switch works both ways.
    click(&c, "#lang-en").await;
    wait_text(&c, "#home-api-failed h2", "cannot reach this wallet").await;
    drop(squatter);
    c.close().await.unwrap();
}
