//! The `nuts-wallet-as` binary: `dev-ca`, then `serve` with the written configuration.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn dev_ca_then_serve() {
    let bin = env!("CARGO_BIN_EXE_nuts-wallet-as");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("as-dev");
    let port = wallet_testkit::net::free_port();
    let status = Command::new(bin)
        .args(["dev-ca", "--out"])
        .arg(&out)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::copy(zorgtoepassing(), out.join("policies/z.json")).unwrap();
    // A second dev-ca into the same directory refuses to overwrite.
    let again = Command::new(bin)
        .args(["dev-ca", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!again.success());

    let _child = Child(
        Command::new(bin)
            .args(["serve", "--config"])
            .arg(out.join("as.toml"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ca = std::fs::read(out.join("ca.pem")).unwrap();
    let http = wallet_testkit::https::client_builder(Some(&ca))
        .no_proxy()
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/.well-known/oauth-authorization-server/oauth2/as");
    let mut body = None;
    for _ in 0..100 {
        if let Ok(r) = http.get(&url).send().await {
            body = Some(r.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m: serde_json::Value = serde_json::from_str(&body.expect("server came up")).unwrap();
    assert_eq!(m["issuer"], format!("https://localhost:{port}/oauth2/as"));
    assert!(
        out.join("as-key.pem").exists(),
        "the AS key is created on first start"
    );
}

#[test]
fn serve_refuses_a_public_listen_address() {
    let bin = env!("CARGO_BIN_EXE_nuts-wallet-as");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    assert!(Command::new(bin)
        .args(["dev-ca", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    let o = Command::new(bin)
        .args(["serve", "--listen", "0.0.0.0:0", "--config"])
        .arg(out.join("as.toml"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not loopback"));
}
