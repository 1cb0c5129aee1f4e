//! The world of the user-flow end-to-end test and the consent benchmark: a test CA, the
//! reference authorization server (`wallet-as`, HTTPS on loopback, the Nuts e2e browser
//! policy), the organization's publication bundle on a local HTTPS server, and a wallet data
//! directory set up by an administrator with the real `nuts-wallet` CLI (keyring-protected
//! vault, organization, NutsOrganizationCredential, one employee, the AS in the policy).
//! The EHR and the browser are played by the test: the EHR calls the loopback API, the browser
//! follows redirects (without following them blindly: it stops at the `nuts-wallet:` link,
//! which the test hands to the app by a second launch, as the OS would).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wallet_protocol::{Clock, SystemClock};
use wallet_testkit::https::{Route, StaticHttpsServer};
use wallet_testkit::pki::TestPki;

use crate::{app_binary, workspace_root};

/// Administrator passphrase of the test wallet.
pub const ADMIN_PW: &str = "administrator passphrase e2e";
/// The scope with an organization and a user presentation definition.
pub const SCOPE: &str = "zorgtoepassing";
/// The approving employee.
pub const EMPLOYEE: (&str, &str, &str) = ("jdoe@example.com", "John Doe", "Verpleegkundige");
/// Where the EHR wants the browser back.
pub const EHR_REDIRECT: &str = "https://ehr.example/return";

/// The running world.
pub struct World {
    /// Keeps the CA, AS key and bundle files.
    pub dir: tempfile::TempDir,
    /// The wallet's data directory.
    pub data_dir: String,
    /// The test CA (PEM file) the app is told to trust.
    pub ca_file: PathBuf,
    /// The AS issuer URL.
    pub as_issuer: String,
    /// The AS base URL.
    pub as_base: String,
    /// The loopback API port of the app.
    pub api_port: u16,
    /// The loopback API key.
    pub api_key: String,
    /// A file the app's "browser" appends every URL it is asked to open to.
    pub browser_log: PathBuf,
    /// The browser script (NUTS_WALLET_BROWSER).
    pub browser_cmd: PathBuf,
    /// The test's browser: trusts the test CA, follows no redirects.
    pub browser: reqwest::Client,
    _org: StaticHttpsServer,
    _as: tokio::task::JoinHandle<()>,
}

fn write(path: &Path, data: impl AsRef<[u8]>) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Runs the `nuts-wallet` CLI (next to the app binary) as the administrator would.
pub fn cli(data_dir: &str, ca_file: &Path, args: &[&str]) -> String {
    let bin = app_binary().with_file_name("nuts-wallet");
    let out = Command::new(&bin)
        .args(args)
        .env("NUTS_WALLET_DATA_DIR", data_dir)
        .env("NUTS_WALLET_DEV", "1")
        .env("NUTS_WALLET_CA_FILE", ca_file)
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "nuts-wallet {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn content_type(path: &str) -> &'static str {
    if path.ends_with("did.json") {
        "application/did+json"
    } else if path.starts_with(".well-known/openid-configuration") {
        wallet_protocol::metadata::ENTITY_STATEMENT_CONTENT_TYPE
    } else {
        "application/json"
    }
}

fn serve_dir(server: &StaticHttpsServer, root: &Path, dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            serve_dir(server, root, &p);
            continue;
        }
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        if rel == "README.txt" {
            continue;
        }
        server.route(
            &format!("/{rel}"),
            Route::ok(content_type(&rel), std::fs::read(&p).unwrap()),
        );
    }
}

fn loopback() -> reqwest::Client {
    wallet_testkit::https::client_builder(None)
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

impl World {
    /// Sets everything up; the app is not started yet (see [`World::app_env`]).
    pub async fn start(name: &str, api_port: u16) -> World {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::localhost();
        let ca_file = dir.path().join("ca.pem");
        write(&ca_file, &pki.ca_pem);
        write(&dir.path().join("server.pem"), &pki.server_cert_pem);
        write(&dir.path().join("server-key.pem"), &pki.server_key_pem);

        // The reference AS with the Nuts e2e browser policy.
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let mut cfg: wallet_as::Config = toml::from_str(&format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
             key_file = \"as-key.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
             dev = true\nca_file = \"ca.pem\"\n"
        ))
        .unwrap();
        cfg.policy = vec![workspace_root()
            .join("vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json")];
        cfg.resolve_paths(dir.path());
        let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
        let router = wallet_as::server::router(state.clone()).unwrap();
        let tls = pki.server_config.clone();
        let as_task = tokio::spawn(async move {
            let _ = wallet_as::server::serve(tcp, tls, router).await;
        });
        let as_issuer = state.identity.issuer.clone();

        // The wallet, set up by the administrator with the CLI.
        let org = StaticHttpsServer::start(&pki).await;
        let data_dir = crate::scratch_data_dir(name);
        cli(&data_dir, &ca_file, &["init", "--keyring"]);
        cli(
            &data_dir,
            &ca_file,
            &[
                "org",
                "init",
                "--subject",
                "zorg",
                "--base-url",
                &org.base(),
            ],
        );
        let info: Value =
            serde_json::from_str(&cli(&data_dir, &ca_file, &["org", "show", "--json"])).unwrap();
        let cred = dir.path().join("org-credential.json");
        write(
            &cred,
            wallet_testkit::vc::org_credential(
                info["did"].as_str().unwrap(),
                SystemClock.now_unix(),
            )
            .to_string(),
        );
        cli(
            &data_dir,
            &ca_file,
            &["credential", "import", cred.to_str().unwrap()],
        );
        let (identifier, name_, role) = EMPLOYEE;
        cli(
            &data_dir,
            &ca_file,
            &[
                "employee",
                "add",
                "--identifier",
                identifier,
                "--name",
                name_,
                "--role",
                role,
            ],
        );
        cli(&data_dir, &ca_file, &["policy", "allow-as", &as_issuer]);
        // The administrator's words for who asks and for what, on the consent screen.
        cli(
            &data_dir,
            &ca_file,
            &["policy", "name-as", &as_issuer, "Ziekenhuis Oost"],
        );
        cli(
            &data_dir,
            &ca_file,
            &[
                "policy",
                "describe-scope",
                &as_issuer,
                "zorgtoepassing",
                "--nl",
                "het patiëntdossier inzien",
                "--en",
                "viewing the patient record",
            ],
        );
        let bundle = dir.path().join("bundle");
        cli(
            &data_dir,
            &ca_file,
            &["org", "publish", "--out", bundle.to_str().unwrap()],
        );
        serve_dir(&org, &bundle, &bundle);
        let api_key = cli(&data_dir, &ca_file, &["api-key", "show"])
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned();

        let browser_log = dir.path().join("browser.log");
        let browser_cmd = dir.path().join("browser.sh");
        write(
            &browser_cmd,
            format!("#!/bin/sh\necho \"$1\" >> '{}'\n", browser_log.display()),
        );
        let mut perm = std::fs::metadata(&browser_cmd).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&browser_cmd, perm).unwrap();

        let browser = wallet_testkit::https::client_trusting(&pki);
        World {
            dir,
            data_dir,
            ca_file,
            as_base: format!("https://localhost:{port}"),
            as_issuer,
            api_port,
            api_key,
            browser_log,
            browser_cmd,
            browser,
            _org: org,
            _as: as_task,
        }
    }

    /// The app's environment: this data dir, development mode, the test CA, the API port and
    /// the test's browser.
    pub fn app_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NUTS_WALLET_DATA_DIR", self.data_dir.clone()),
            ("NUTS_WALLET_DEV", "1".into()),
            ("NUTS_WALLET_CA_FILE", self.ca_file.display().to_string()),
            ("NUTS_WALLET_API_PORT", self.api_port.to_string()),
            (
                "NUTS_WALLET_BROWSER",
                self.browser_cmd.display().to_string(),
            ),
        ]
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Waits until the app's loopback API answers.
    pub async fn wait_for_api(&self) {
        let c = loopback();
        for _ in 0..200 {
            if c.get(format!("{}/health", self.api()))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the app's loopback API did not start");
    }

    /// The EHR asks for a user access token; returns (landing URL, session id).
    pub async fn ehr_request(&self, token_type: &str) -> (String, String) {
        let r = loopback()
            .post(format!(
                "{}/internal/auth/v2/zorg/request-user-access-token",
                self.api()
            ))
            .bearer_auth(&self.api_key)
            .json(&json!({
                "authorization_server": self.as_issuer,
                "scope": SCOPE,
                "redirect_uri": EHR_REDIRECT,
                "token_type": token_type,
                "preauthorized_user": {"id": EMPLOYEE.0, "name": EMPLOYEE.1, "role": EMPLOYEE.2},
            }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{v}");
        (
            v["redirect_uri"].as_str().unwrap().to_owned(),
            v["session_id"].as_str().unwrap().to_owned(),
        )
    }

    /// The browser: GET `url`, return the `Location` of the redirect.
    pub async fn follow(&self, url: &str) -> String {
        let r = self.browser.get(url).send().await.unwrap();
        let status = r.status();
        let loc = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        loc.unwrap_or_else(|| panic!("{url}: HTTP {status} without a redirect"))
    }

    /// The EHR starts a flow and the browser follows it to the wallet link.
    pub async fn wallet_link(&self, token_type: &str) -> (String, String) {
        let (landing, session) = self.ehr_request(token_type).await;
        let authorize = self.follow(&landing).await;
        assert!(authorize.starts_with(&self.as_base), "{authorize}");
        let link = self.follow(&authorize).await;
        assert!(link.starts_with("nuts-wallet:"), "{link}");
        (link, session)
    }

    /// URLs the app opened in the browser so far.
    pub fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(&self.browser_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits for the app to open its `n`-th URL in the browser.
    pub async fn wait_opened(&self, n: usize) -> String {
        for _ in 0..200 {
            if let Some(u) = self.opened().get(n - 1) {
                return u.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the app did not open the browser (opened: {:?})",
            self.opened()
        );
    }

    /// The EHR collects the token of `session`: status and JSON.
    pub async fn collect(&self, session: &str) -> (u16, Value) {
        let r = loopback()
            .get(format!(
                "{}/internal/auth/v2/accesstoken/{session}",
                self.api()
            ))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Introspection at the AS.
    pub async fn introspect(&self, token: &str) -> Value {
        self.browser
            .post(format!(
                "{}/internal/auth/v2/accesstoken/introspect",
                self.as_base
            ))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
