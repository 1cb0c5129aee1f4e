//! The real app window under Xvfb, driven through tauri-driver + WebKitWebDriver.
//! Needs a display and a D-Bus session bus (`scripts/test.sh` provides both).

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use nuts_wallet_e2e::{app_binary, attr, screenshot, wait_text, Driver};

fn scratch_data_dir(name: &str) -> String {
    let d = nuts_wallet_e2e::workspace_root().join("run/e2e").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.canonicalize().unwrap().display().to_string()
}

/// Second launch with a link: must hand it to the running instance and exit at once.
fn second_launch(link: &str) {
    let start = Instant::now();
    let mut child = Command::new(app_binary())
        .arg(link)
        .spawn()
        .expect("second launch");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "second instance exited with {status}");
            return;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("second instance did not hand over its link and exit within 15 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn main_window_ipc_and_deep_link_hand_over() {
    let data_dir = scratch_data_dir("main");
    let driver = Driver::start(
        4444,
        &[
            ("NUTS_WALLET_DATA_DIR", data_dir.clone()),
            ("NUTS_WALLET_DEV", "1".into()),
        ],
    );
    let c = driver.session().await;

    // Main window: waiting view, version from the app_info IPC command, dev-mode banner.
    wait_text(&c, "#waiting", "").await;
    let version = wait_text(&c, "#app-version", env!("CARGO_PKG_VERSION")).await;
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    wait_text(&c, "#ready", "").await;
    assert!(
        c.find(Locator::Css("#dev-banner")).await.is_ok(),
        "dev banner missing"
    );

    // Language switch: Dutch texts from the same i18n tables.
    c.find(Locator::Css("#lang-nl"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#waiting h1", "Wachten op een verzoek").await;
    c.find(Locator::Css("#lang-en"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#waiting h1", "Waiting for a request").await;
    screenshot(&c, "01-home").await;

    // IPC round trip into the About view: the data dir the app uses is the one we gave it.
    c.find(Locator::Css("#nav-about"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = wait_text(&c, "#about-data-dir", &data_dir).await;
    assert_eq!(shown, data_dir);
    wait_text(&c, "#about-log-dir", "logs").await;
    screenshot(&c, "02-about").await;

    // A second launch with a valid link reaches this instance and shows the parsed request.
    second_launch(
        "nuts-wallet://authorize?client_id=https%3A%2F%2Fzorg.example%2Foauth2%2Fa\
         &request_uri=https%3A%2F%2Fzorg.example%2Foauth2%2Fa%2Frequest.jwt%2Fabc&request_uri_method=get",
    );
    wait_text(&c, "#incoming-verifier", "zorg.example").await;
    assert_eq!(
        attr(&c, "#incoming-request", "data-kind").await.as_deref(),
        Some("authorize")
    );
    wait_text(
        &c,
        "#incoming-request-uri",
        "https://zorg.example/oauth2/a/request.jwt/abc",
    )
    .await;
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

    // The app logged to the rotating file in its data dir.
    let logs: Vec<_> = std::fs::read_dir(format!("{data_dir}/logs"))
        .expect("log dir")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.contains("incoming nuts-wallet link"), "{log}");

    c.close().await.unwrap();
}
