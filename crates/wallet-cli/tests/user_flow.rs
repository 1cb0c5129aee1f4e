//! `nuts-wallet token user` and `nuts-wallet present` as a user runs them: the real binary
//! against the reference authorization server (`wallet-as`, also the OpenID4VP verifier) over
//! HTTPS on loopback with a test CA (`--dev --ca-file`), the organization's publication bundle
//! (DID document, entity statement) served by a local HTTPS server. Every request the AS gets
//! is counted, so "nothing was sent" is checked, not assumed.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};
use wallet_core::access_policy::ServicePolicy;
use wallet_core::oauth::service::RequesterSource;
use wallet_core::oauth::user::{self, NewUserFlow, UserSessions};
use wallet_core::oauth::{AuthorizationServerId, ChannelKind, Scope, TokenType, VaultOrganization};
use wallet_core::roster::{self, NewRosterEntry};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::net::{HttpClient, HttpRequest, NetPolicy, ReqwestHttpClient};
use wallet_protocol::signer::Signer;
use wallet_protocol::{Clock, SystemClock};
use wallet_testkit::https::StaticHttpsServer;
use wallet_testkit::pki::TestPki;
use wallet_vault::{KdfParams, MemoryKeyStore, Passphrase, Protection, Unlock, Vault};

const VAULT_PW: &str = "vault passphrase for user-flow cli tests";
const ADMIN_PW: &str = "admin passphrase for user-flow cli tests";
const EMPLOYEE: &str = "jdoe@example.com";
const FORMER: &str = "former@example.com";
/// RFC 9278 thumbprint URI prefix: the DPoP key's id is this + its thumbprint.
const THUMBPRINT_URI: &str = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:";

fn zorgtoepassing() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
    ))
}

/// Every request the AS received, as `METHOD /path`.
type Hits = Arc<Mutex<Vec<String>>>;

async fn count(State(hits): State<Hits>, req: Request, next: Next) -> Response {
    hits.lock()
        .unwrap()
        .push(format!("{} {}", req.method(), req.uri().path()));
    next.run(req).await
}

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    ca_file: PathBuf,
    ca_pem: Vec<u8>,
    as_base: String,
    issuer: String,
    hits: Hits,
    /// The organization key's thumbprint: never a token's `cnf.jkt`.
    org_jkt: String,
    client_id: String,
    pki: TestPki,
    http: reqwest::Client,
    _org_server: StaticHttpsServer,
    _as_task: tokio::task::JoinHandle<()>,
}

/// The AS (scopes `zorgtoepassing`: organization + user definition, `orgonly`: organization
/// only), the organization's web server with its publication bundle, and a passphrase vault
/// with the organization, its credential, the roster (one active, one deactivated employee)
/// and a policy that lists the AS. Set up through the library; the CLI does the rest.
async fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    let pki = TestPki::localhost();
    pki.write_files(&pki_dir);

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config =
        toml::from_str(&wallet_testkit::pki::reference_as_toml(port)).unwrap();
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(zorgtoepassing()).unwrap()).unwrap();
    let orgonly = pki_dir.join("orgonly.json");
    let policy = json!({"orgonly": {"organization": v["zorgtoepassing"]["organization"]}});
    std::fs::write(&orgonly, policy.to_string()).unwrap();
    cfg.policy = vec![zorgtoepassing(), orgonly];
    cfg.resolve_paths(&pki_dir);
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let hits: Hits = Arc::default();
    let router = wallet_as::server::router(state.clone())
        .unwrap()
        .layer(axum::middleware::from_fn_with_state(hits.clone(), count));
    let tls = wallet_as::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
    let as_task = tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });

    let org_server = StaticHttpsServer::start(&pki).await;
    let dir = tmp.path().join("wallet");
    let wallet_testkit::wallet::OrgWallet { vault, org } = wallet_testkit::wallet::org_wallet(
        &dir,
        Protection::Passphrase {
            passphrase: Passphrase::from(VAULT_PW),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        &org_server.base(),
    );
    let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    // The publication bundle, as the administrator copies it to the web server.
    let out = tmp.path().join("bundle");
    let report = wallet_core::org::publish(&vault, &admin, &out, &SystemClock).unwrap();
    for f in &report.files {
        let body = std::fs::read(out.join(&f.path)).unwrap();
        org_server.serve(&format!("/{}", f.path), &f.content_type, body);
    }
    for (identifier, name) in [(EMPLOYEE, "John Doe"), (FORMER, "Former Employee")] {
        roster::add_employee(
            &vault,
            &admin,
            NewRosterEntry {
                identifier: identifier.into(),
                name: name.into(),
                role: "Verpleegkundige".into(),
            },
        )
        .unwrap();
    }
    let former = roster::find_employee(&vault, FORMER).unwrap();
    roster::deactivate_employee(&vault, &admin, &former.id).unwrap();
    let mut policy = ServicePolicy::load(&vault).unwrap();
    policy.allow_server(&state.identity.issuer).unwrap();
    policy.save(&vault, &admin).unwrap();
    let org_jkt = Jwk::from_map(org.public_jwk.clone())
        .unwrap()
        .thumbprint_sha256()
        .unwrap();
    vault.lock();
    drop(vault);
    World {
        _tmp: tmp,
        dir,
        ca_file: pki_dir.join("ca.pem"),
        http: wallet_testkit::https::client_trusting(&pki),
        ca_pem: pki.ca_pem.clone(),
        pki,
        as_base: format!("https://localhost:{port}"),
        issuer: state.identity.issuer.clone(),
        hits,
        org_jkt,
        client_id: org.client_id.clone(),
        _org_server: org_server,
        _as_task: as_task,
    }
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
            .stdin(Stdio::null());
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> (String, String) {
        let o = self.run(args).await;
        let (out, err) = texts(&o);
        assert!(o.status.success(), "{args:?}: {out}{err}");
        (out, err)
    }

    fn user(&self, scope: &str, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = ["token", "user", "--as", &self.issuer, "--scope", scope]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .http
            .post(format!(
                "{}/internal/auth/v2/accesstoken/introspect",
                self.as_base
            ))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }

    /// The activity log through the CLI (`audit list --json --action PREFIX`).
    async fn audit(&self, prefix: &str) -> Vec<Value> {
        let (out, _) = self
            .ok(&["audit", "list", "--json", "--action", prefix])
            .await;
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// A wallet authorization link from a flow this wallet's organization started in ANOTHER
    /// process (here: the test, through the library), as a phishing page could forward it.
    async fn foreign_link(&self, scope: &str) -> String {
        let vault = Vault::open(&self.dir, Arc::new(MemoryKeyStore::new())).unwrap();
        vault
            .unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
            .unwrap();
        let sessions = UserSessions::default();
        let now = SystemClock.now_unix();
        let (_, landing) = user::begin_flow(
            &vault,
            &sessions,
            NewUserFlow {
                subject: "zorg".into(),
                authorization_server: AuthorizationServerId::parse(&self.issuer).unwrap(),
                scope: Scope::parse(scope).unwrap(),
                token_type: TokenType::DPoP,
                app_redirect_uri: "https://ehr.example/cb".into(),
                preauthorized_user: None,
                channel: ChannelKind::Api,
            },
            now,
        )
        .unwrap();
        let policy = NetPolicy {
            dev: true,
            extra_ca_pem: Some(self.ca_pem.clone()),
        };
        let http = ReqwestHttpClient::new(policy).unwrap();
        let requester = VaultOrganization.requester(&vault, "zorg").unwrap();
        let url = user::start_flow(
            &http,
            &vault,
            &sessions,
            &requester,
            &landing,
            "https://ehr.example/oauth2/zorg/callback",
            now,
        )
        .await
        .unwrap();
        let r = http
            .execute(HttpRequest::get(url, "application/json"))
            .await
            .unwrap();
        assert_eq!(r.status, 302);
        let link = r.header("location").unwrap().to_owned();
        assert!(link.starts_with("nuts-wallet:"), "{link}");
        vault.lock();
        link
    }
}

fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_user_org_only_and_with_employee_bearer_and_dpop() {
    let w = world().await;

    // Organization-only scope, Bearer, JSON: one round, no employee claims.
    let args = w.user(
        "orgonly",
        &[
            "--employee",
            EMPLOYEE,
            "--token-type",
            "Bearer",
            "--approve",
            "--json",
        ],
    );
    let (out, err) = w.ok(&strs(&args)).await;
    let v: Value = serde_json::from_str(&out).expect("stdout is the token response only");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "orgonly");
    assert!(v["expires_in"].as_i64().is_some_and(|e| e > 0), "{v}");
    assert!(v.get("dpop_kid").is_none(), "{v}");
    let bearer_org = v["access_token"].as_str().unwrap().to_owned();
    let i = w.introspect(&bearer_org).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["organization_name"], "Zorg Utrecht");
    assert!(i.get("employee_identifier").is_none(), "{i}");
    assert!(i.get("cnf").is_none(), "{i}");
    // What was shared is shown (on stderr: stdout is for the token).
    assert!(err.contains("Request from localhost"), "{err}");
    assert!(err.contains("organization_name  Zorg Utrecht"), "{err}");
    assert!(!err.contains("Employee credential"), "{err}");

    // Organization + employee, DPoP (default), JSON.
    let args = w.user(
        "zorgtoepassing",
        &["--employee", EMPLOYEE, "--approve", "--json"],
    );
    let (out, err) = w.ok(&strs(&args)).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["token_type"], "DPoP");
    assert_eq!(v["scope"], "zorgtoepassing");
    let dpop = v["access_token"].as_str().unwrap().to_owned();
    let i = w.introspect(&dpop).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["employee_identifier"], EMPLOYEE, "{i}");
    assert_eq!(i["employee_name"], "John Doe", "{i}");
    assert_eq!(i["employee_role"], "Verpleegkundige", "{i}");
    assert_eq!(i["organization_name"], "Zorg Utrecht", "{i}");
    // Bound to the workstation's DPoP key, which `dpop_kid` names; not the organization key.
    let jkt = i["cnf"]["jkt"].as_str().unwrap();
    assert_eq!(v["dpop_kid"], format!("{THUMBPRINT_URI}{jkt}"), "{v}");
    assert_ne!(jkt, w.org_jkt, "{i}");
    assert!(
        err.contains(&format!(
            "Employee credential (pd_any_employee_credential) for {EMPLOYEE}"
        )),
        "{err}"
    );
    assert!(err.contains("employee_name        John Doe"), "{err}");

    // Organization + employee, Bearer, human output as `token service` prints it.
    let args = w.user(
        "zorgtoepassing",
        &[
            "--employee",
            EMPLOYEE,
            "--token-type",
            "Bearer",
            "--approve",
        ],
    );
    let (out, _) = w.ok(&strs(&args)).await;
    assert!(
        out.starts_with("token type   Bearer\nscope        zorgtoepassing\n"),
        "{out}"
    );
    let bearer = out
        .lines()
        .find_map(|l| l.strip_prefix("access token "))
        .unwrap()
        .trim()
        .to_owned();
    let i = w.introspect(&bearer).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["employee_identifier"], EMPLOYEE, "{i}");
    assert!(i.get("cnf").is_none(), "{i}");

    // The AS saw both rounds and three code exchanges.
    let hits = w.hits();
    assert_eq!(
        hits.iter()
            .filter(|h| *h == "POST /oauth2/as/token")
            .count(),
        3,
        "{hits:?}"
    );

    // The activity log: three finished flows with a token, presentations per round.
    let finished = w.audit(user::ACTION_USER_TOKEN_FINISH).await;
    assert_eq!(finished.len(), 3, "{finished:?}");
    assert!(
        finished.iter().all(|e| e["outcome"] == "success"),
        "{finished:?}"
    );
    assert!(
        finished.iter().all(|e| e["detail"]["channel"] == "cli"),
        "{finished:?}"
    );
    let sent = w.audit("presentation.send").await;
    assert_eq!(sent.len(), 5, "org round ×3, user round ×2: {sent:?}");
    assert!(
        sent.iter().any(|e| e["detail"]["employee"] == EMPLOYEE),
        "{sent:?}"
    );

    // Tokens never reach the log files.
    let mut logs = String::new();
    for e in std::fs::read_dir(w.dir.join("logs")).unwrap() {
        logs.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap_or_default());
    }
    assert!(logs.contains("user flow"), "the flows are logged");
    for t in [&bearer_org, &dpop, &bearer] {
        assert!(!logs.contains(t.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_user_decline_ends_with_access_denied() {
    let w = world().await;
    let args = w.user(
        "zorgtoepassing",
        &["--employee", EMPLOYEE, "--decline", "--json"],
    );
    let o = w.run(&strs(&args)).await;
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"], "access_denied", "{v}");
    assert!(v.get("access_token").is_none());
    assert!(
        err.contains("error: access_denied: the user declined the request"),
        "{err}"
    );
    // The verifier was told (one POST to the response endpoint), no token was asked for.
    let hits = w.hits();
    assert_eq!(
        hits.iter()
            .filter(|h| *h == "POST /oauth2/as/response")
            .count(),
        1,
        "{hits:?}"
    );
    assert!(!hits.iter().any(|h| h.ends_with("/token")), "{hits:?}");
    // The activity log records the decline and the flow's end.
    let declined = w.audit("presentation.decline").await;
    assert_eq!(declined.len(), 1, "{declined:?}");
    assert_eq!(declined[0]["outcome"], "declined");
    assert_eq!(declined[0]["subject"], w.issuer.as_str());
    assert!(w.audit("presentation.send").await.is_empty());
    let finished = w.audit(user::ACTION_USER_TOKEN_FINISH).await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0]["outcome"], "declined");
    assert_eq!(finished[0]["detail"]["error"], "access_denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_user_refuses_unknown_or_deactivated_employees_before_sending() {
    let w = world().await;
    for (employee, why) in [
        (
            "nobody@example.com",
            "employee nobody@example.com is not on the wallet's roster",
        ),
        (FORMER, "employee former@example.com is deactivated"),
    ] {
        let args = w.user("zorgtoepassing", &["--employee", employee, "--approve"]);
        let o = w.run(&strs(&args)).await;
        let (out, err) = texts(&o);
        assert_eq!(o.status.code(), Some(1), "{out}{err}");
        assert!(err.contains(why), "{err}");
        assert!(out.is_empty(), "{out}");
    }
    assert!(w.hits().is_empty(), "the AS got: {:?}", w.hits());
    let started = w.audit(user::ACTION_USER_TOKEN_START).await;
    let errors: Vec<&Value> = started.iter().map(|e| &e["detail"]["error"]).collect();
    assert_eq!(
        errors,
        [&json!("inactive_employee"), &json!("unknown_employee")],
        "{started:?}"
    );
    // A bad --as is a usage error.
    let o = w
        .run(&[
            "token",
            "user",
            "--as",
            "http://as.example/x",
            "--scope",
            "s",
            "--employee",
            EMPLOYEE,
            "--approve",
        ])
        .await;
    let (_, err) = texts(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--as:"), "{err}");
    assert!(w.hits().is_empty());

    // An AS the administrator's policy does not list: refused, with the fix.
    let other = "https://localhost:9/oauth2/other";
    let o = w
        .run(&[
            "token",
            "user",
            "--as",
            other,
            "--scope",
            "orgonly",
            "--employee",
            EMPLOYEE,
            "--approve",
        ])
        .await;
    let (_, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: access_denied: authorization server"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: an administrator can allow it: nuts-wallet policy allow-as {other}"
        )),
        "{err}"
    );

    // A scope the AS does not know: it sends the browser back with invalid_scope.
    let args = w.user(
        "unknown-scope",
        &["--employee", EMPLOYEE, "--approve", "--json"],
    );
    let o = w.run(&strs(&args)).await;
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"], "invalid_scope", "{v}");
    let finished = w.audit(user::ACTION_USER_TOKEN_FINISH).await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0]["detail"]["error"], "invalid_scope");
    assert!(w.audit("presentation.").await.is_empty(), "no presentation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn present_refuses_unsolicited_requests_unless_allowed() {
    let w = world().await;
    let link = w.foreign_link("zorgtoepassing").await;
    let before = w.hits();
    assert_eq!(before.len(), 2, "metadata + authorize: {before:?}");

    // Not started by this process: refused, and the AS receives nothing.
    let o = w
        .run(&["present", &link, "--employee", EMPLOYEE, "--approve"])
        .await;
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("was not started from this wallet (unsolicited)"),
        "{err}"
    );
    assert!(err.contains("Nothing was sent to the verifier."), "{err}");
    assert!(err.contains("--allow-unsolicited"), "{err}");
    assert_eq!(w.hits(), before, "nothing was fetched or posted");
    let o = w
        .run(&[
            "present",
            &link,
            "--employee",
            EMPLOYEE,
            "--approve",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"], "unsolicited");
    assert_eq!(v["verifier_notified"], false);
    assert_eq!(w.hits(), before);
    let refused = w.audit("presentation.refuse").await;
    assert_eq!(refused.len(), 2, "{refused:?}");

    // An unknown employee is refused before anything is fetched, even when allowed.
    let o = w
        .run(&[
            "present",
            &link,
            "--employee",
            "nobody@example.com",
            "--approve",
            "--allow-unsolicited",
        ])
        .await;
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("is not on the wallet's roster"), "{err}");
    assert_eq!(w.hits(), before);

    // Allowed explicitly and declined: the request is fetched and access_denied posted.
    let o = w
        .run(&[
            "present",
            &link,
            "--decline",
            "--allow-unsolicited",
            "--json",
        ])
        .await;
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "declined");
    assert_eq!(v["unsolicited"], true);
    assert_eq!(v["verifier"]["client_id"], w.issuer.as_str());
    assert_eq!(v["verifier"]["host"], "localhost");
    assert!(v["verifier"]["did"]
        .as_str()
        .unwrap()
        .starts_with("did:web:localhost"));
    assert_eq!(v["scope"], "zorgtoepassing");
    assert_eq!(
        v["organization_round"]["descriptors"][0]["claims"]["organization_name"],
        "Zorg Utrecht"
    );
    assert_eq!(
        v["user_round"]["definition_id"],
        "pd_any_employee_credential"
    );
    assert_eq!(v["rounds"], json!(["organization"]));
    let redirect = v["redirect_uri"].as_str().unwrap();
    assert!(
        redirect.starts_with("https://ehr.example/oauth2/zorg/callback?"),
        "{redirect}"
    );
    assert!(redirect.contains("error=access_denied"), "{redirect}");
    let after = w.hits();
    let new = &after[before.len()..];
    let n = |p: &str| new.iter().filter(|h| h.starts_with(p)).count();
    assert_eq!(n("GET /oauth2/as/request.jwt/"), 1, "{new:?}");
    assert_eq!(n("POST /oauth2/as/response"), 1, "{new:?}");
    assert_eq!(n("POST /oauth2/as/token"), 0, "{new:?}");
    let declined = w.audit("presentation.decline").await;
    assert_eq!(declined.len(), 1, "{declined:?}");
    assert_eq!(declined[0]["outcome"], "declined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn present_shows_what_would_be_shared_then_approves() {
    let w = world().await;
    let link = w.foreign_link("zorgtoepassing").await;
    // The administrator lets this verifier's unsolicited requests through (no flag needed).
    let (policy, _) = w.ok(&["policy", "allow-unsolicited", &w.issuer]).await;
    assert!(policy.contains("Policy changed"), "{policy}");
    assert!(
        policy.contains(&format!("shown (with a warning) from {}", w.issuer)),
        "{policy}"
    );
    let (policy, _) = w.ok(&["policy", "unlisted-verifiers", "flag"]).await;
    assert!(
        policy.contains("other verifiers: shown with a warning"),
        "{policy}"
    );
    // The administrator's words for who asks and for what.
    w.ok(&["policy", "allow-as", &w.issuer]).await;
    let (policy, _) = w
        .ok(&["policy", "name-as", &w.issuer, "Ziekenhuis Oost"])
        .await;
    assert!(policy.contains("(Ziekenhuis Oost)"), "{policy}");
    let (policy, _) = w
        .ok(&[
            "policy",
            "describe-scope",
            &w.issuer,
            "zorgtoepassing",
            "--nl",
            "Het dossier inzien",
            "--en",
            "View the patient record",
        ])
        .await;
    assert!(
        policy.contains("scope zorgtoepassing: Het dossier inzien / View the patient record"),
        "{policy}"
    );
    let (out, err) = w
        .ok(&["present", &link, "--employee", EMPLOYEE, "--approve"])
        .await;
    assert!(
        out.contains("Request from Ziekenhuis Oost: localhost ("),
        "{out}"
    );
    assert!(
        out.contains("for           View the patient record"),
        "{out}"
    );
    assert!(
        out.contains("started here  no: unsolicited request"),
        "{out}"
    );
    assert!(out.contains("scope         zorgtoepassing"), "{out}");
    assert!(out.contains("organization_name  Zorg Utrecht"), "{out}");
    assert!(
        out.contains("employee_identifier  jdoe@example.com"),
        "{out}"
    );
    assert!(
        out.contains("NutsEmployeeCredential, issued by the organization when you approve"),
        "{out}"
    );
    assert!(
        out.contains("    NutsOrganizationCredential from did:jwk:"),
        "{out}"
    );
    let org_line = out
        .lines()
        .find(|l| l.contains("NutsOrganizationCredential from"))
        .unwrap();
    assert!(
        org_line.ends_with('…'),
        "long DIDs are shortened: {org_line}"
    );
    assert!(
        out.contains("Presented (organization + employee round)."),
        "{out}"
    );
    let redirect = out.lines().last().unwrap();
    // The client's registered callback URL (with the flow's return key), then the code.
    assert!(
        redirect.starts_with("https://ehr.example/oauth2/zorg/callback?flow=")
            && redirect.contains("&code="),
        "{out}"
    );
    assert!(err.contains("carries an authorization code"), "{err}");
    let sent = w.audit("presentation.send").await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|e| e["outcome"] == "success"), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn present_rejects_malformed_links_as_usage_errors() {
    let w = world().await;
    for (link, why) in [
        ("https://as.example/authorize", "scheme 'https:'"),
        (
            "nuts-wallet://authorize?client_id=https%3A%2F%2Fa.example",
            "missing the parameter 'request_uri'",
        ),
        ("not a url", "not a valid URL"),
    ] {
        let o = w.run(&["present", link, "--decline"]).await;
        let (out, err) = texts(&o);
        assert_eq!(o.status.code(), Some(2), "{link}: {out}{err}");
        assert!(err.contains("not a wallet authorization request"), "{err}");
        assert!(err.contains(why), "{link}: {err}");
    }
    // --approve needs the employee who approves.
    let o = w
        .run(&["present", "nuts-wallet://authorize", "--approve"])
        .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(w.hits().is_empty());
}

/// A verifier of its own (did:web, entity statement, definition, client metadata) whose
/// request object is authentic but unanswerable (`client_id_scheme` other than `entity_id`):
/// the wallet refuses it and, as the request is verified, tells the verifier
/// (docs/protocol.md §4.3, §5.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn present_tells_an_authentic_verifier_why_it_refuses() {
    use wallet_protocol::jose;
    use wallet_protocol::metadata::{self, OrgIdentity};

    let w = world().await;
    let server = StaticHttpsServer::start(&w.pki).await;
    let base = url::Url::parse(&server.base()).unwrap();
    let verifier_did = metadata::default_org_did(&base).unwrap();
    let kid = verifier_did.with_fragment("k1");
    let signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
    let identity = OrgIdentity {
        subject: "verifier".into(),
        base_url: base,
        did: verifier_did.clone(),
        kid,
        public_jwk: Jwk::from_map(signer.public_jwk()).unwrap(),
    };
    for f in metadata::publication_bundle(&signer, &identity, &SystemClock, 3600).unwrap() {
        server.serve(&format!("/{}", f.path), f.content_type, f.content.clone());
    }
    let client_id = identity.client_id().unwrap().to_string();
    let b = server.base();
    let now = SystemClock.now_unix();
    let claims = json!({
        "iss": verifier_did.as_str(),
        "client_id": client_id,
        "client_id_scheme": "did",
        "aud": w.client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": format!("{b}/oauth2/verifier/response"),
        "presentation_definition_uri": format!("{b}/pd?scope=x"),
        "client_metadata_uri": format!("{b}/client"),
        "nonce": "n-1",
        "state": "verifier-state",
        "iat": now,
        "exp": now + 60,
    });
    let Value::Object(claims) = claims else {
        unreachable!()
    };
    server.serve(
        "/req/1",
        "application/oauth-authz-req+jwt",
        jose::sign_jwt(&signer, &claims).unwrap().into_bytes(),
    );
    let answer = "/oauth2/verifier/response?state=verifier-state";
    server.serve(
        answer,
        "application/json",
        json!({"redirect_uri": "https://ehr.example/cb?error=invalid_request"})
            .to_string()
            .into_bytes(),
    );
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let link = format!(
        "nuts-wallet://authorize?client_id={}&request_uri={}",
        enc(&client_id),
        enc(&format!("{b}/req/1"))
    );
    w.ok(&["policy", "allow-as", &client_id]).await;

    let o = w
        .run(&[
            "present",
            &link,
            "--decline",
            "--allow-unsolicited",
            "--json",
        ])
        .await;
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"], "client_id_scheme", "{v}");
    assert_eq!(v["verifier_notified"], true, "{v}");
    assert!(
        err.contains("The verifier was told that the request could not be answered."),
        "{err}"
    );
    assert_eq!(server.hits("/req/1"), 1);
    assert_eq!(
        server.hits(answer),
        1,
        "the error was posted to response_uri"
    );
    assert!(w.hits().is_empty(), "the AS is not involved");
}
