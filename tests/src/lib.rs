//! Helpers for the end-to-end tests: start tauri-driver, open a WebDriver session on the real
//! app binary, wait for elements, take screenshots.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use wallet_testkit::https::{Route, StaticHttpsServer};

pub mod userflow;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The app binary under test: `NUTS_WALLET_APP_BIN`, else `target/debug/nuts-wallet-app`.
pub fn app_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NUTS_WALLET_APP_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target.join("debug/nuts-wallet-app");
    bin.canonicalize().unwrap_or(bin)
}

/// Where screenshots go (`run/screenshots`, kept by CI for inspection).
pub fn screenshot_dir() -> PathBuf {
    let d = workspace_root().join("run/screenshots");
    std::fs::create_dir_all(&d).expect("create screenshot dir");
    d
}

/// A running tauri-driver; stopped with SIGTERM so its WebKitWebDriver child stops too.
pub struct Driver {
    child: Child,
    /// WebDriver port.
    pub port: u16,
}

impl Driver {
    /// Starts `tauri-driver --port P --native-port P+1` with extra environment for the app.
    pub fn start(port: u16, env: &[(&str, String)]) -> Driver {
        let exe = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &(port + 1).to_string(),
        ]);
        // Web view storage (localStorage keeps the language choice) per driver, so one test's
        // choice never leaks into the next test's first screen.
        let web = workspace_root().join(format!("run/e2e/webview-{port}"));
        let _ = std::fs::remove_dir_all(&web);
        std::fs::create_dir_all(&web).expect("create web view dir");
        cmd.env("XDG_DATA_HOME", web.join("data"));
        cmd.env("XDG_CACHE_HOME", web.join("cache"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Its own process group, so that dropping the driver also ends WebKitWebDriver and the
        // app even when a failed test never closed its session: a surviving app would answer
        // the next test's start as the single instance.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe}: {e} (run scripts/deps.sh)"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }

    /// Opens a WebDriver session, which starts the app.
    pub async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary(), "args": [] }),
        );
        // tauri-driver listens before the WebKitWebDriver behind it does; on a loaded machine
        // the first session request can be cut off (hyper's IncompleteMessage). Retry that for
        // a few seconds; any other failure, or the last one, fails the test.
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            // native-tls: the WebDriver connection is plain HTTP on loopback anyway, and it
            // keeps rustls' process-wide crypto provider choice out of this test binary.
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(e @ fantoccini::error::NewSessionError::Lost(_))
                | Err(e @ fantoccini::error::NewSessionError::FailedC(_))
                    if Instant::now() < deadline =>
                {
                    eprintln!("WebDriver session not ready yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    panic!(
                        "WebDriver session (is Xvfb running and WebKitWebDriver installed?): {e:?}"
                    )
                }
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Whatever of the group did not end on TERM (the app, the native driver) ends now.
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Waits until `css` exists and its text contains `needle`; returns the text.
pub async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(t) = el.text().await {
                if t.contains(needle) {
                    return t;
                }
                last = t;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {css:?} to contain {needle:?}; last text: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Attribute value of the first element matching `css`.
pub async fn attr(c: &Client, css: &str, name: &str) -> Option<String> {
    c.find(Locator::Css(css))
        .await
        .ok()?
        .attr(name)
        .await
        .ok()
        .flatten()
}

/// Saves a PNG screenshot of the app's window as the X server shows it (after a short pause so
/// the frame is current).
///
/// Taken from the display (`xwd`, cut to the window with ImageMagick), not with WebDriver's
/// screenshot: the app renders without OpenGL (see `startup::WEBVIEW_DEFAULTS` in the app) and
/// WebKitGTK's snapshot then sometimes never answers. The display shows what a user sees anyway.
pub async fn screenshot(c: &Client, name: &str) -> PathBuf {
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (x, y, w, h) = c.get_window_rect().await.expect("window rectangle");
    let path = screenshot_dir().join(format!("{name}.png"));
    let cmd = format!(
        "xwd -root -silent | convert xwd:- -crop {w}x{h}+{x}+{y} +repage '{}'",
        path.display()
    );
    let status = Command::new("sh")
        .args(["-c", &cmd])
        .status()
        .expect("xwd and ImageMagick (x11-apps, imagemagick)");
    assert!(status.success(), "screenshot {name}: {cmd} failed");
    path
}

/// A plain HTTP/1.1 request to 127.0.0.1:`port` (the loopback API); returns status and body.
pub fn http(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the loopback API");
    s.set_read_timeout(Some(Duration::from_secs(180))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A fresh data directory under `run/e2e/<name>` (kept after the run for inspection).
pub fn scratch_data_dir(name: &str) -> String {
    let d = workspace_root().join("run/e2e").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.canonicalize().unwrap().display().to_string()
}

/// Second launch with a link, as the OS does for a `nuts-wallet:` URL: it must hand the link
/// to the running instance and exit at once.
pub fn second_launch(link: &str) {
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

/// Clicks the element matching `css`.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// "Uploads" the bundle: the web server serves every file of it (README.txt aside).
pub fn upload(server: &StaticHttpsServer, root: &Path, dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            upload(server, root, &p);
            continue;
        }
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        if rel == "README.txt" {
            continue;
        }
        let content_type = if rel.ends_with("did.json") {
            "application/did+json"
        } else if rel.starts_with(".well-known/openid-configuration") {
            wallet_protocol::metadata::ENTITY_STATEMENT_CONTENT_TYPE
        } else {
            "application/json"
        };
        server.route(
            &format!("/{rel}"),
            Route::ok(content_type, std::fs::read(&p).unwrap()),
        );
    }
}

pub async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

/// Waits until `css` has attribute `name` = `want`.
pub async fn wait_attr(c: &Client, css: &str, name: &str, want: &str) {
    let mut last = None;
    for _ in 0..150 {
        last = attr(c, css, name).await;
        if last.as_deref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    panic!("{css} [{name}] is {last:?}, expected {want:?}");
}

pub async fn js(c: &Client, script: &str) {
    c.execute(script, vec![]).await.expect(script);
}

/// Scrolls `id` to the top of the window (before a screenshot).
pub async fn scroll_to(c: &Client, id: &str) {
    js(
        c,
        &format!("document.getElementById('{id}').scrollIntoView({{block: 'start'}})"),
    )
    .await;
}

/// Switches the language with the sidebar buttons, even behind an open dialog.
pub async fn language(c: &Client, lang: &str) {
    js(
        c,
        &format!("document.getElementById('lang-{lang}').click()"),
    )
    .await;
}

/// The serious and critical accessibility violations axe-core (`ui/node_modules/axe-core`,
/// installed by `npm ci`) finds in the app's page as it is now: rule id, help text and the
/// first offending elements. Empty when there are none.
pub async fn axe_violations(c: &Client) -> Vec<String> {
    let path = workspace_root().join("ui/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/deps.sh)", path.display()));
    c.execute(&source, vec![]).await.expect("load axe-core");
    let found = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document)
              .then((r) => done(JSON.stringify({ passes: r.passes.length, bad: r.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`) })))
              .catch((e) => done(JSON.stringify({ passes: 0, bad: [`axe-core failed: ${e}`] })));"#,
            vec![],
        )
        .await
        .expect("run axe-core");
    let text = found.as_str().unwrap_or("{}");
    let v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("axe-core result {text}: {e}"));
    // axe-core really looked at the page: its rules passed on something.
    assert!(
        v["passes"].as_u64().unwrap_or(0) >= 5,
        "axe-core checked nothing: {text}"
    );
    v["bad"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Fails the test when axe-core finds serious or critical violations on `screen`.
pub async fn assert_accessible(c: &Client, screen: &str) {
    let v = axe_violations(c).await;
    assert!(v.is_empty(), "accessibility of {screen}:\n{}", v.join("\n"));
}

/// Milliseconds since the Unix epoch, the clock of the app's `data-received-ms`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Waits (at most 20 s) for the verified consent screen of a link the app received at or after
/// `since_ms`; returns when it was received and when it was on screen (`data-received-ms`,
/// `data-ready-ms`).
pub async fn wait_consent_ready(c: &Client, since_ms: i64) -> (i64, i64) {
    let ready_css = "#presentation[data-phase='ready']";
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = attr(c, ready_css, "data-ready-ms").await;
        let received = attr(c, ready_css, "data-received-ms").await;
        if let (Some(r), Some(d)) = (received, ready) {
            if let (Ok(r), Ok(d)) = (r.parse::<i64>(), d.parse::<i64>()) {
                if r >= since_ms {
                    return (r, d);
                }
            }
        }
        assert!(Instant::now() < deadline, "no consent screen after 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
