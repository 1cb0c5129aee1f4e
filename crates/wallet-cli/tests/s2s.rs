//! `nuts-wallet token service`, `policy`, `api-key` and `serve` as a user runs them, against
//! the reference authorization server (`wallet-as`) over HTTPS on loopback with a test CA
//! (`--dev --ca-file`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use axum::http::{header, Uri};
use axum::response::IntoResponse;
use serde_json::{json, Value};
use wallet_protocol::SystemClock;
use wallet_vault::{KdfParams, Passphrase, Protection};

const VAULT_PW: &str = "vault passphrase for s2s cli tests";
const ADMIN_PW: &str = "admin passphrase for s2s cli tests";

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    ca_file: PathBuf,
    as_base: String,
    issuer: String,
    client_id: String,
    /// The organization key's thumbprint: never a token's `cnf.jkt`.
    org_jkt: String,
    http: reqwest::Client,
    /// The HSM user PIN the CLI gets, when the organization key is in SoftHSM2.
    pin: Option<&'static str>,
}

async fn https(pki_dir: &Path, router: axum::Router) -> (u16, tokio::task::JoinHandle<()>) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let tls =
        wallet_as::server::tls_config(&pki_dir.join("server.pem"), &pki_dir.join("server-key.pem"))
            .unwrap();
    let h = tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });
    (port, h)
}

/// The AS, the organization's DID document server, and a passphrase vault with the
/// organization and its credential (set up through the library; the CLI does the rest).
async fn world() -> (World, Vec<tokio::task::JoinHandle<()>>) {
    world_with(wallet_core::org::NewKeyLocation::Vault, None).await
}

/// [`world`] with the organization key in `key`; the CLI gets `pin` as its PKCS#11 PIN.
async fn world_with(
    key: wallet_core::org::NewKeyLocation,
    pin: Option<&'static str>,
) -> (World, Vec<tokio::task::JoinHandle<()>>) {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    std::fs::create_dir_all(&pki_dir).unwrap();
    let pki = wallet_as::devca::generate(&["localhost".into()]).unwrap();
    std::fs::write(pki_dir.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(pki_dir.join("server.pem"), &pki.cert_pem).unwrap();
    std::fs::write(pki_dir.join("server-key.pem"), &pki.key_pem).unwrap();

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config =
        toml::from_str(&wallet_testkit::pki::reference_as_toml(port)).unwrap();
    cfg.policy = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-rfc021-policy.json"
    ))];
    cfg.resolve_paths(&pki_dir);
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let router = wallet_as::server::router(state.clone()).unwrap();
    let tls = wallet_as::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
    let as_task = tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });

    // The organization's web server: serves the DID document once it is known.
    let doc: Arc<std::sync::Mutex<(String, String)>> = Arc::default();
    let d2 = doc.clone();
    let router = axum::Router::new().fallback(move |uri: Uri| {
        let d = d2.lock().unwrap().clone();
        async move {
            if uri.path() == d.0 {
                ([(header::CONTENT_TYPE, "application/did+json")], d.1).into_response()
            } else {
                (axum::http::StatusCode::NOT_FOUND, "").into_response()
            }
        }
    });
    let (org_port, org_task) = https(&pki_dir, router).await;

    let dir = tmp.path().join("wallet");
    let wallet_testkit::wallet::OrgWallet { vault, org } =
        wallet_testkit::wallet::org_wallet_with_key(
            &dir,
            Protection::Passphrase {
                passphrase: Passphrase::from(VAULT_PW),
                kdf: KdfParams::INSECURE_TEST,
            },
            ADMIN_PW,
            &format!("https://localhost:{org_port}"),
            key,
        );
    // The employee of `employee_file`: the wallet signs an employee credential only for an
    // active roster entry.
    let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    wallet_core::roster::add_employee(
        &vault,
        &admin,
        wallet_core::roster::NewRosterEntry {
            identifier: "123456".into(),
            name: "John Doe".into(),
            role: "Janitor".into(),
        },
    )
    .unwrap();
    *doc.lock().unwrap() = (
        url::Url::parse(&org.did_document_url)
            .unwrap()
            .path()
            .to_owned(),
        wallet_core::org::own_did_document(&org)
            .unwrap()
            .to_string(),
    );

    vault.lock();
    drop(vault);
    let http = wallet_testkit::https::client_builder(Some(pki.ca_pem.as_bytes()))
        .no_proxy()
        .build()
        .unwrap();
    let w = World {
        ca_file: pki_dir.join("ca.pem"),
        dir,
        _tmp: tmp,
        as_base: format!("https://localhost:{port}"),
        issuer: state.identity.issuer.clone(),
        client_id: org.client_id.clone(),
        org_jkt: wallet_protocol::jose::Jwk::from_map(org.public_jwk.clone())
            .unwrap()
            .thumbprint_sha256()
            .unwrap(),
        http,
        pin,
    };
    (w, vec![as_task, org_task])
}

impl World {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"));
        c.arg("--dev")
            .arg("--ca-file")
            .arg(&self.ca_file)
            .args(args)
            .env("NUTS_WALLET_DATA_DIR", &self.dir)
            .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
            .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
            .env_remove("RUST_LOG")
            .env_remove("NUTS_WALLET_PKCS11_PIN")
            .stdin(Stdio::null());
        if let Some(pin) = self.pin {
            c.env("NUTS_WALLET_PKCS11_PIN", pin);
        }
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(
            o.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// `nuts-wallet serve` on a free port, once `/health` answers: the child (its output
    /// captured when `capture`), the API's base URL and a plain HTTP client.
    async fn serve(&self, capture: bool) -> (std::process::Child, String, reqwest::Client) {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let out = || {
            if capture {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let mut child = self
            .cmd(&["serve", "--port", &port.to_string()])
            .stdout(out())
            .stderr(out())
            .spawn()
            .unwrap();
        let api = format!("http://127.0.0.1:{port}");
        let plain = wallet_testkit::https::client_builder(None)
            .no_proxy()
            .build()
            .unwrap();
        for _ in 0..100 {
            if plain.get(format!("{api}/health")).send().await.is_ok() {
                return (child, api, plain);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve did not come up");
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .http
            .post(format!(
                "{}/internal/auth/v2/accesstoken/introspect",
                self.as_base
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }
}

fn employee_file(dir: &Path) -> PathBuf {
    let p = dir.join("employee.json");
    std::fs::write(
        &p,
        json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
            "type": ["VerifiableCredential", "NutsEmployeeCredential"],
            "credentialSubject": {"name": "John Doe", "roleName": "Janitor", "identifier": "123456"}
        })
        .to_string(),
    )
    .unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_service_policy_api_key_and_serve() {
    let (w, _tasks) = world().await;
    let emp = employee_file(&w.dir);
    let emp = emp.to_str().unwrap();
    let base = [
        "token",
        "service",
        "--as",
        &w.issuer,
        "--scope",
        "test",
        "--credential",
        emp,
    ];

    // Outside policy: refused, exit 1, typed error in JSON.
    let o = w.run(&[&base[..], &["--json"]].concat()).await;
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"], "access_denied");
    assert_eq!(v["code"], "not_allowed");

    // The administrator allows the scope without prompting.
    let out = w
        .ok(&["policy", "allow-scope", &w.issuer, "test", "--no-prompt"])
        .await;
    assert!(out.contains("Policy changed"), "{out}");
    let p: Value = serde_json::from_str(&w.ok(&["policy", "show", "--json"]).await).unwrap();
    assert_eq!(p["servers"][0]["authorization_server"], w.issuer.as_str());
    assert_eq!(p["servers"][0]["no_prompt_scopes"], json!(["test"]));

    // Bearer, JSON.
    let v: Value = serde_json::from_str(
        &w.ok(&[&base[..], &["--token-type", "Bearer", "--json"]].concat())
            .await,
    )
    .unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "test");
    let i = w.introspect(v["access_token"].as_str().unwrap()).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], w.client_id.as_str());
    assert_eq!(i["employee_role"], "Janitor");

    // DPoP (default), human output.
    let out = w.ok(&base).await;
    assert!(out.contains("token type   DPoP"), "{out}");
    let dpop_kid = out
        .lines()
        .find_map(|l| l.strip_prefix("DPoP key id  "))
        .expect("the DPoP key id is printed")
        .trim()
        .to_owned();
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("access token "))
        .unwrap()
        .trim()
        .to_owned();
    let i = w.introspect(&token).await;
    assert_eq!(i["active"], true, "{i}");
    // Bound to the workstation's DPoP key, which the key id names; not the organization key.
    let jkt = i["cnf"]["jkt"].as_str().unwrap();
    assert_eq!(
        dpop_kid,
        format!("urn:ietf:params:oauth:jwk-thumbprint:sha-256:{jkt}")
    );
    assert_ne!(jkt, w.org_jkt, "{i}");

    // Without the employee credential: 412-style failure with the explanation.
    let o = w
        .run(&["token", "service", "--as", &w.issuer, "--scope", "test"])
        .await;
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("id_employee_credential_cred"), "{err}");
    assert!(err.contains("no_matching_credential"), "{err}");

    // The activity log lists them.
    let recent: Value = serde_json::from_str(&w.ok(&["policy", "recent", "--json"]).await).unwrap();
    let outcomes: Vec<&str> = recent
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failure", "success", "success", "failure"]);
    assert_eq!(recent[1]["channel"], "cli");

    // API key and the headless loopback API.
    let key = w.ok(&["api-key", "show"]).await.trim().to_owned();
    assert!(key.starts_with("nwk_"), "{key}");
    assert_eq!(w.ok(&["api-key", "show"]).await.trim(), key);
    let (mut child, api, plain) = w.serve(true).await;
    let url = format!("{api}/internal/auth/v2/zorg/request-service-access-token");
    let body = json!({
        "authorization_server": w.issuer,
        "scope": "test",
        "credentials": [serde_json::from_str::<Value>(&std::fs::read_to_string(emp).unwrap()).unwrap()],
    })
    .to_string();
    let r = plain
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = plain
        .post(&url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["token_type"], "DPoP");
    // Another process on the same vault: the same DPoP key.
    assert_eq!(v["dpop_kid"], dpop_kid.as_str());

    // Rotation while it runs: the old key is refused at once.
    let new_key = w.ok(&["api-key", "rotate"]).await.trim().to_owned();
    assert_ne!(new_key, key);
    let r = plain
        .post(&url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = plain
        .post(&url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {new_key}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("listening on {api}")), "{stdout}");
    assert!(!stdout.contains(&key) && !stdout.contains(&new_key));

    // Another process on [::1] at the port would catch EHR calls to `localhost`: serve refuses
    // to start rather than serve IPv4 only.
    let squatter = std::net::TcpListener::bind("[::1]:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let out = w
        .cmd(&["serve", "--port", &taken.to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("[::1]:{taken}")), "{stderr}");
    drop(squatter);

    // Port 0 (multi-user hosts): a free port, announced with the key in a private file.
    let run_dir = tempfile::tempdir().unwrap();
    let mut child = w
        .cmd(&["serve", "--port", "0"])
        .env("XDG_RUNTIME_DIR", run_dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let file = run_dir.path().join("nuts-wallet/api.json");
    let mut found = None;
    for _ in 0..200 {
        if let Ok(b) = std::fs::read(&file) {
            found = serde_json::from_slice::<Value>(&b).ok();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let found = found.expect("discovery file written");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(found["api_key"], new_key.as_str());
    let r = plain
        .get(format!("{}/health", found["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();

    // Neither tokens nor API keys reach the log files.
    let mut logs = String::new();
    for e in std::fs::read_dir(w.dir.join("logs")).unwrap() {
        logs.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap_or_default());
    }
    assert!(
        logs.contains("service access token"),
        "the requests are logged"
    );
    for secret in [&token, &key, &new_key] {
        assert!(!logs.contains(secret.as_str()));
    }
}

/// Service tokens with the organization key in SoftHSM2, from the CLI and the loopback API; a
/// token that goes away is a clear error (CLI exit 1 naming PKCS#11, API 503 JSON) and the next
/// request after it comes back works without restarting `serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_tokens_with_the_organization_key_in_an_hsm() {
    let hsm = wallet_testkit::softhsm::SoftHsm::shared();
    let token = "cli-s2s";
    let token_dir = hsm.init_token(token);
    let uri = hsm.uri_on(token, "org");
    wallet_core::org::provide_pin(&uri.parse().unwrap(), hsm.pin());
    let (w, _tasks) = world_with(
        wallet_core::org::NewKeyLocation::parse(Some(&uri)).unwrap(),
        Some(hsm.pin()),
    )
    .await;
    let show: Value = serde_json::from_str(&w.ok(&["org", "show", "--json"]).await).unwrap();
    assert_eq!(show["key_store"], "pkcs11");
    assert_eq!(show["key_uri"], uri.as_str());
    w.ok(&["policy", "allow-scope", &w.issuer, "test", "--no-prompt"])
        .await;
    let emp = employee_file(&w.dir);
    let emp = emp.to_str().unwrap();
    let args = [
        "token",
        "service",
        "--as",
        &w.issuer,
        "--scope",
        "test",
        "--credential",
        emp,
        "--json",
    ];
    let v: Value = serde_json::from_str(&w.ok(&args).await).unwrap();
    let i = w.introspect(v["access_token"].as_str().unwrap()).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], w.client_id.as_str());
    assert_ne!(i["cnf"]["jkt"].as_str().unwrap(), w.org_jkt);

    // Without the PIN anywhere: a clear error, exit 1.
    let mut c = w.cmd(&args);
    c.env_remove("NUTS_WALLET_PKCS11_PIN");
    let o = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("key_unavailable"), "{out}");
    assert!(
        out.contains("PKCS#11 token \\\"cli-s2s\\\" needs its user PIN"),
        "{out}"
    );

    // The loopback API, then the token goes away and comes back while it runs.
    let key = w.ok(&["api-key", "show"]).await.trim().to_owned();
    let (mut child, api, plain) = w.serve(false).await;
    let url = format!("{api}/internal/auth/v2/zorg/request-service-access-token");
    let body = json!({
        "authorization_server": w.issuer,
        "scope": "test",
        "credentials": [serde_json::from_str::<Value>(&std::fs::read_to_string(emp).unwrap()).unwrap()],
    })
    .to_string();
    // A Bearer token is another cache entry than the DPoP one asked for first, so the later
    // requests need a new signature (a cached token would need none).
    let bearer = {
        let mut b: Value = serde_json::from_str(&body).unwrap();
        b["token_type"] = "Bearer".into();
        b.to_string()
    };
    let ask_with = |body: String| {
        plain
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {key}"))
            .body(body)
            .send()
    };
    assert_eq!(ask_with(body.clone()).await.unwrap().status(), 200);
    let ask = || ask_with(bearer.clone());
    let parked = hsm.tokens_dir().parent().unwrap().join("parked-cli-s2s");
    std::fs::rename(&token_dir, &parked).unwrap();
    let r = ask().await.unwrap();
    assert_eq!(r.status(), 503);
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"], "temporarily_unavailable", "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("no PKCS#11 token with label \"cli-s2s\""),
        "{e}"
    );
    // The CLI says the same, naming the PKCS#11 part.
    let o = w.run(&args[..args.len() - 1]).await;
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("PKCS#11 token"), "{err}");
    std::fs::rename(&parked, &token_dir).unwrap();
    assert_eq!(ask().await.unwrap().status(), 200, "back without a restart");
    child.kill().unwrap();
    let _ = child.wait();
}
