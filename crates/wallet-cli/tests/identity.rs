//! Organization setup, publication, credentials and the employee roster through the real
//! `nuts-wallet` binary, with a passphrase-protected vault (no keyring needed) and a local
//! HTTPS server (tokio-rustls) whose certificate comes from a test CA (rcgen), both from
//! wallet-testkit. The
//! server hosts the publication bundle exactly as README.txt says, and a did:web issuer.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::{json, Value};
use url::Url;
use wallet_protocol::did::document::build_did_document;
use wallet_protocol::did::web::DidWebResolver;
use wallet_protocol::did::{jwk as didjwk, Did, DidResolver};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::metadata;
use wallet_protocol::net::{HttpClient, HttpRequest, NetPolicy, ReqwestHttpClient};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::jwt::{issue_jwt_vc, verify_jwt_vc, JwtVcRequest, VerifyOptions};
use wallet_protocol::SystemClock;
use wallet_testkit::https::StaticHttpsServer;
use wallet_testkit::pki::TestPki;

// ------------------------------------------------------------------ HTTPS test server

type Pki = TestPki;
type Server = StaticHttpsServer;

fn pki() -> Pki {
    TestPki::new("Nuts Wallet CLI Test CA", &["localhost"])
}

/// Starts the server on `rt` (it keeps serving while the test thread runs the binary).
fn start(rt: &tokio::runtime::Runtime, pki: &Pki) -> Server {
    StaticHttpsServer::start_on(rt, pki)
}

// ------------------------------------------------------------------ the binary

const VAULT_PW: &str = "vault passphrase for the identity test";
const ADMIN_PW: &str = "admin passphrase for the identity test";

struct Wallet {
    dir: PathBuf,
    ca_file: PathBuf,
}

impl Wallet {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"));
        c.args(args)
            .env("NUTS_WALLET_DATA_DIR", &self.dir)
            .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
            .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
            .env_remove("NUTS_WALLET_DEV")
            .env_remove("NUTS_WALLET_CA_FILE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run nuts-wallet")
    }

    /// With `--dev --ca-file <test CA>`.
    fn run_dev(&self, args: &[&str]) -> Output {
        let ca = self.ca_file.to_str().unwrap();
        let mut all = vec!["--dev", "--ca-file", ca];
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}", stderr(&o));
        stdout(&o)
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a non-zero exit whose stderr contains `expect`.
fn fails_with(o: &Output, expect: &str) {
    assert!(!o.status.success(), "should fail: {}", stdout(o));
    let e = stderr(o);
    assert!(e.contains(expect), "stderr lacks {expect:?}: {e}");
}

fn wallet(tmp: &Path, pki: &Pki) -> Wallet {
    let ca_file = tmp.join("test-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let w = Wallet {
        dir: tmp.join("wallet"),
        ca_file,
    };
    w.ok(&["init", "--passphrase-env"]);
    w
}

// ------------------------------------------------------------------ credentials made here

fn did_jwk_issuer() -> (Did, SoftwareSigner) {
    let mut s = SoftwareSigner::generate_es256("pending").unwrap();
    let did = didjwk::create(&Jwk::from_map(s.public_jwk()).unwrap()).unwrap();
    s.set_key_id(didjwk::key_id(&did).as_str());
    (did, s)
}

fn now() -> i64 {
    use wallet_protocol::Clock;
    SystemClock.now_unix()
}

fn org_credential(
    signer: &dyn Signer,
    issuer: &Did,
    subject: &str,
    from: i64,
    until: i64,
) -> String {
    let mut claims = serde_json::Map::new();
    claims.insert(
        "organization".into(),
        json!({"name": "Zorggroep Test", "city": "Amersfoort"}),
    );
    issue_jwt_vc(
        signer,
        &JwtVcRequest {
            issuer: issuer.clone(),
            subject: Did::parse(subject).unwrap(),
            credential_type: "NutsOrganizationCredential".into(),
            extra_contexts: vec![wallet_protocol::vc::contexts::NUTS_V1.into()],
            subject_claims: claims,
            not_before: from,
            expires: until,
        },
    )
    .unwrap()
}

/// Parses README.txt into (path, URL, content type) triples.
fn readme_entries(readme: &str) -> Vec<(String, String, String)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(url) = l.trim().strip_prefix("URL:") {
            let ct = lines[i + 1]
                .trim()
                .strip_prefix("Content-Type:")
                .expect("Content-Type after URL")
                .trim();
            out.push((
                lines[i - 1].trim().to_owned(),
                url.trim().to_owned(),
                ct.to_owned(),
            ));
        }
    }
    out
}

/// Serves every file of the bundle at the path and with the content type README.txt names.
fn serve_bundle(server: &Server, out: &Path) -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
    let entries = readme_entries(&readme);
    for (path, url, ct) in &entries {
        assert_eq!(
            url,
            &format!("https://localhost:{}/{path}", server.port),
            "README URL"
        );
        server.serve(
            &format!("/{path}"),
            ct,
            std::fs::read(out.join(path)).unwrap(),
        );
    }
    entries
}

fn dev_policy(pki: &Pki) -> NetPolicy {
    NetPolicy {
        dev: true,
        extra_ca_pem: Some(pki.ca_pem.clone()),
    }
}

/// A fresh resolver fetches the entity statement over HTTPS and verifies it through did:web.
fn verify_published_statement(
    rt: &tokio::runtime::Runtime,
    pki: &Pki,
    client_id: &str,
) -> metadata::VerifiedEntityStatement {
    let policy = dev_policy(pki);
    let http = Arc::new(ReqwestHttpClient::new(policy.clone()).unwrap());
    let resolver = DidWebResolver::new(http.clone(), policy, Arc::new(SystemClock));
    let url =
        metadata::well_known_url(&Url::parse(client_id).unwrap(), "openid-configuration").unwrap();
    rt.block_on(async {
        let resp = http
            .execute(HttpRequest::get(url, "application/entity-statement+jwt"))
            .await
            .unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.content_type.as_deref(),
            Some("application/entity-statement+jwt")
        );
        let token = String::from_utf8(resp.body).unwrap();
        metadata::verify_entity_statement(&token, &resolver, &SystemClock)
            .await
            .unwrap()
    })
}

// ------------------------------------------------------------------ tests

#[test]
fn organization_publication_is_served_and_verified_by_a_fresh_resolver() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pki = pki();
    let server = start(&rt, &pki);
    let w = wallet(tmp.path(), &pki);

    fails_with(&w.run(&["org", "show"]), "no organization is set up");
    fails_with(
        &w.run(&[
            "org",
            "init",
            "--subject",
            "acme",
            "--base-url",
            "http://localhost",
        ]),
        "must use https",
    );
    let base = format!("https://localhost:{}", server.port);
    let init = w.ok(&["org", "init", "--subject", "acme", "--base-url", &base]);
    assert!(init.contains("org publish"), "{init}");
    fails_with(
        &w.run(&["org", "init", "--subject", "acme", "--base-url", &base]),
        "already set up",
    );
    let org = w.json(&["org", "show", "--json"]);
    let did = org["did"].as_str().unwrap().to_owned();
    assert_eq!(org["subject"], "acme");
    assert!(
        did.starts_with(&format!("did:web:localhost%3A{}:iam:", server.port)),
        "{did}"
    );
    assert_eq!(org["client_id"], format!("{base}/oauth2/acme"));
    assert_eq!(org["base_url"], base.as_str());
    assert!(org["kid"].as_str().unwrap().starts_with(&format!("{did}#")));

    let out = tmp.path().join("bundle");
    let printed = w.ok(&["org", "publish", "--out", out.to_str().unwrap()]);
    assert!(printed.contains("README.txt"), "{printed}");
    let entries = serve_bundle(&server, &out);
    let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert!(paths.contains(&".well-known/openid-configuration/oauth2/acme"));
    assert!(paths.contains(&"oauth2/acme/oauth-client"));
    assert!(paths.iter().any(|p| p.ends_with("/did.json")));

    let statement = verify_published_statement(&rt, &pki, &format!("{base}/oauth2/acme"));
    assert_eq!(statement.kid.as_str(), org["kid"]);
    assert_eq!(statement.openid_provider["issuer"], org["client_id"]);
    assert_eq!(
        statement.openid_provider["authorization_endpoint"],
        "nuts-wallet://authorize"
    );
    assert_eq!(
        statement.openid_provider["client_id_schemes_supported"],
        json!(["entity_id"])
    );

    assert_eq!(org["key_store"], "vault");
    assert_eq!(org["key_uri"], Value::Null);
    let o = w.run_dev(&["org", "publish", "--verify-live"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // Key rotation with overlap: the next key is published first, activation waits for it.
    w.ok(&["org", "key", "rotate"]);
    let rotated = w.json(&["org", "show", "--json"]);
    assert_eq!(rotated["kid"], org["kid"], "the old key keeps signing");
    let next_kid = rotated["other_keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated["other_keys"][0]["role"], "next");
    fails_with(
        &w.run_dev(&["org", "key", "activate"]),
        "does not list it yet",
    );
    let o = w.run_dev(&["org", "publish", "--verify-live", "--json"]);
    assert!(!o.status.success());
    let live: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(live["ok"], false);
    w.ok(&["org", "publish", "--out", out.to_str().unwrap()]);
    serve_bundle(&server, &out);
    let statement = verify_published_statement(&rt, &pki, &format!("{base}/oauth2/acme"));
    assert_eq!(statement.kid.as_str(), org["kid"]);
    assert!(statement.jwk(&next_kid).is_some());
    let o = w.run_dev(&["org", "key", "activate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let active = w.json(&["org", "show", "--json"]);
    assert_eq!(active["kid"], next_kid.as_str());
    assert_eq!(active["other_keys"][0]["role"], "previous");
    w.ok(&["org", "key", "retire"]);
    w.ok(&["org", "publish", "--out", out.to_str().unwrap()]);
    serve_bundle(&server, &out);
    let statement = verify_published_statement(&rt, &pki, &format!("{base}/oauth2/acme"));
    assert_eq!(statement.kid.as_str(), next_kid);
    assert!(statement.jwk(org["kid"].as_str().unwrap()).is_none());
    let o = w.run_dev(&["org", "publish", "--verify-live"]);
    assert!(o.status.success(), "{}", stdout(&o));

    let log = w.json(&["audit", "list", "--json", "--action", "org.publish"]);
    assert_eq!(log.as_array().unwrap().len(), 3);
    w.ok(&["audit", "verify"]);
}

#[test]
fn employees_get_credentials_for_a_did_jwk_until_deactivated() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pki = pki();
    let server = start(&rt, &pki);
    let w = wallet(tmp.path(), &pki);
    let base = format!("https://localhost:{}", server.port);
    w.ok(&["org", "init", "--subject", "zorg", "--base-url", &base]);
    let out = tmp.path().join("bundle");
    w.ok(&["org", "publish", "--out", out.to_str().unwrap()]);
    serve_bundle(&server, &out);
    let org = w.json(&["org", "show", "--json"]);

    for (id, name, role) in [
        ("jan@zorg.test", "Jan de Vries", "Verpleegkundige"),
        ("piet@zorg.test", "Piet Jansen", "Huisarts"),
    ] {
        w.ok(&[
            "employee",
            "add",
            "--identifier",
            id,
            "--name",
            name,
            "--role",
            role,
        ]);
    }
    fails_with(
        &w.run(&[
            "employee",
            "add",
            "--identifier",
            "jan@zorg.test",
            "--name",
            "X",
            "--role",
            "Y",
        ]),
        "already exists",
    );
    let list = w.json(&["employee", "list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["identifier"], "jan@zorg.test");
    assert_eq!(list[0]["name"], "Jan de Vries");
    assert_eq!(list[0]["role"], "Verpleegkundige");
    assert_eq!(list[0]["active"], true);
    assert!(
        list[0].get("did").is_none(),
        "employees have no DID of their own"
    );
    let generated = w.json(&["audit", "list", "--json", "--action", "key.generate"]);
    assert_eq!(
        generated.as_array().unwrap().len(),
        1,
        "only the organization key: {generated}"
    );

    // Issue to a given did:jwk with a chosen validity and verify it over HTTPS against the
    // published DID.
    let jan_did = didjwk::create(
        &Jwk::from_map(SoftwareSigner::generate_es256("k").unwrap().public_jwk()).unwrap(),
    )
    .unwrap()
    .to_string();
    let jwt = w.ok(&[
        "employee",
        "issue",
        "jan@zorg.test",
        "--subject",
        &jan_did,
        "--validity-secs",
        "600",
    ]);
    let jwt = jwt.trim();
    assert_eq!(jwt.split('.').count(), 3, "only the JWT on stdout");
    let policy = dev_policy(&pki);
    let http = Arc::new(ReqwestHttpClient::new(policy.clone()).unwrap());
    let resolver = DidWebResolver::new(http, policy, Arc::new(SystemClock));
    let verified = rt
        .block_on(verify_jwt_vc(
            jwt,
            &resolver,
            &SystemClock,
            &VerifyOptions::default(),
        ))
        .unwrap();
    assert_eq!(verified.issuer.as_str(), org["did"]);
    assert_eq!(verified.kid.as_str(), org["kid"]);
    assert_eq!(verified.claims["sub"], jan_did.as_str());
    let exp = verified.claims["exp"].as_i64().unwrap();
    let nbf = verified.claims["nbf"].as_i64().unwrap();
    assert_eq!(exp - nbf, 600);
    let subject = &verified.normalized["credentialSubject"][0];
    assert_eq!(subject["identifier"], "jan@zorg.test");
    assert_eq!(subject["name"], "Jan de Vries");
    assert_eq!(subject["roleName"], "Verpleegkundige");
    assert_eq!(
        verified.normalized["type"],
        json!(["NutsEmployeeCredential", "VerifiableCredential"])
    );
    // Only a did:jwk can be the subject.
    fails_with(
        &w.run(&[
            "employee",
            "issue",
            "jan@zorg.test",
            "--subject",
            org["did"].as_str().unwrap(),
        ]),
        "must be a did:jwk",
    );
    // Without --subject: a fresh did:jwk each time (its key is not kept). Default validity:
    // one hour.
    let jwt = w.ok(&["employee", "issue", "piet@zorg.test"]);
    let again = w.ok(&["employee", "issue", "piet@zorg.test"]);
    let subject_of = |jwt: &str| {
        wallet_protocol::vp::unverified_claims(jwt.trim()).unwrap()["sub"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(subject_of(&jwt).starts_with("did:jwk:"));
    assert_ne!(subject_of(&jwt), subject_of(&again));
    assert_ne!(subject_of(&jwt), jan_did);
    let default = rt
        .block_on(verify_jwt_vc(
            jwt.trim(),
            &resolver,
            &SystemClock,
            &VerifyOptions::default(),
        ))
        .unwrap();
    assert_eq!(
        default.claims["exp"].as_i64().unwrap() - default.claims["nbf"].as_i64().unwrap(),
        3600
    );
    fails_with(
        &w.run(&["employee", "issue", "jan@zorg.test", "--validity-secs", "5"]),
        "validity must be between",
    );

    w.ok(&["employee", "deactivate", "jan@zorg.test"]);
    let list = w.json(&["employee", "list", "--json"]);
    assert_eq!(list[0]["active"], false);
    assert_eq!(list[1]["active"], true);
    let refused = w.run(&["employee", "issue", "jan@zorg.test"]);
    fails_with(&refused, "deactivated");
    assert!(stdout(&refused).is_empty(), "no credential printed");
    fails_with(&w.run(&["employee", "issue", "nobody"]), "no employee");

    let log = w.json(&["audit", "list", "--json", "--action", "employee."]);
    let actions: Vec<(&str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("employee.credential.issue", "failure"),
            ("employee.update", "success"),
            ("employee.credential.issue", "success"),
            ("employee.credential.issue", "success"),
            ("employee.credential.issue", "success"),
            ("employee.add", "success"),
            ("employee.add", "success"),
        ]
    );
    let wrong_admin = w
        .cmd(&["employee", "deactivate", "piet@zorg.test"])
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", "not the admin passphrase")
        .output()
        .unwrap();
    fails_with(&wrong_admin, "wrong administrator passphrase");
}

#[test]
fn credentials_are_checked_on_import_listed_shown_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pki = pki();
    let server = start(&rt, &pki);
    let w = wallet(tmp.path(), &pki);
    let base = format!("https://localhost:{}", server.port);
    w.ok(&["org", "init", "--subject", "acme", "--base-url", &base]);
    let org = w.json(&["org", "show", "--json"]);
    let org_did = org["did"].as_str().unwrap();
    let file = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };

    // A did:jwk issuer: no network needed. Expires in 10 days: "expiring soon".
    let (jwk_issuer, jwk_signer) = did_jwk_issuer();
    let t = now();
    let good = org_credential(&jwk_signer, &jwk_issuer, org_did, t - 60, t + 10 * 86_400);
    let imported: Value =
        serde_json::from_str(&w.ok(&["credential", "import", &file("good.jwt", &good), "--json"]))
            .unwrap();
    assert_eq!(imported["display_type"], "NutsOrganizationCredential");
    assert_eq!(imported["issuer"], jwk_issuer.as_str());
    let codes: Vec<&str> = imported["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["expiring_soon", "untrusted_issuer"]);
    fails_with(
        &w.run(&["credential", "import", &file("good-again.jwt", &good)]),
        "already stored",
    );

    // From standard input.
    let second = org_credential(&jwk_signer, &jwk_issuer, org_did, t - 60, t + 400 * 86_400);
    let o = w.run_stdin(&["credential", "import", "-"], &format!("{second}\n"));
    assert!(o.status.success(), "{}", stderr(&o));

    // Refusals with precise reasons.
    let wrong_subject = org_credential(
        &jwk_signer,
        &jwk_issuer,
        "did:web:elsewhere.example:iam:1",
        t - 60,
        t + 3600,
    );
    fails_with(
        &w.run(&["credential", "import", &file("wrong.jwt", &wrong_subject)]),
        &format!(
            "its subject is did:web:elsewhere.example:iam:1, not the organization's DID {org_did}"
        ),
    );
    let expired = org_credential(&jwk_signer, &jwk_issuer, org_did, t - 7200, t - 3600);
    fails_with(
        &w.run(&["credential", "import", &file("expired.jwt", &expired)]),
        "credential refused: it expired at",
    );
    let (other_issuer, _) = did_jwk_issuer();
    let (_, other_signer) = did_jwk_issuer();
    let mut forged_signer = other_signer;
    forged_signer.set_key_id(didjwk::key_id(&other_issuer).as_str());
    let forged = org_credential(&forged_signer, &other_issuer, org_did, t - 60, t + 3600);
    fails_with(
        &w.run(&["credential", "import", &file("forged.jwt", &forged)]),
        "the signature does not verify",
    );
    fails_with(
        &w.run(&[
            "credential",
            "import",
            &file("junk.txt", "not a credential"),
        ]),
        "neither a JWT VC nor a JSON-LD VC",
    );
    fails_with(
        &w.run(&[
            "credential",
            "import",
            &tmp.path().join("missing").display().to_string(),
        ]),
        "opening",
    );

    // A did:web issuer on the local HTTPS server: only in development mode with the test CA.
    let issuer_did = Did::parse(&format!("did:web:localhost%3A{}:issuer", server.port)).unwrap();
    let kid = issuer_did.with_fragment("key-1");
    let web_signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
    let doc = build_did_document(
        &issuer_did,
        &kid,
        &Jwk::from_map(web_signer.public_jwk()).unwrap(),
    )
    .unwrap();
    server.serve(
        "/issuer/did.json",
        "application/did+json",
        serde_json::to_vec(&doc).unwrap(),
    );
    let web_cred = org_credential(&web_signer, &issuer_did, org_did, t - 60, t + 100 * 86_400);
    let web_file = file("web.jwt", &web_cred);
    fails_with(
        &w.run(&["credential", "import", &web_file]),
        "localhost is only allowed in development mode",
    );
    fails_with(
        &w.run(&["--dev", "credential", "import", &web_file]),
        "the issuer's DID cannot be resolved",
    );
    let o = w.run_dev(&["credential", "import", &web_file]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The resolver really fetched the issuer's document (sanity: it is served).
    let policy = dev_policy(&pki);
    let http = Arc::new(ReqwestHttpClient::new(policy.clone()).unwrap());
    let r = DidWebResolver::new(http, policy, Arc::new(SystemClock));
    assert_eq!(
        rt.block_on(r.resolve(&issuer_did)).unwrap().id(),
        issuer_did.as_str()
    );

    // Trust the did:web issuer; list shows the three with their warnings.
    w.ok(&["credential", "trust", issuer_did.as_str()]);
    let list = w.json(&["credential", "list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let web = list
        .iter()
        .find(|c| c["issuer"] == issuer_did.as_str())
        .unwrap();
    assert_eq!(web["issuer_trusted"], true);
    assert_eq!(web["warnings"], json!([]));
    assert_eq!(web["subject"], org_did);
    let untrusted = list.iter().filter(|c| c["issuer_trusted"] == false).count();
    assert_eq!(untrusted, 2);

    // Show: decoded claims and revocation status (no status list in these).
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let shown = w.ok(&["credential", "show", &id]);
    assert!(shown.contains("Amersfoort"), "{shown}");
    assert!(shown.contains("revocation  no_status"), "{shown}");
    let detail = w.json(&["credential", "show", &id[..8], "--json"]);
    assert_eq!(detail["id"], id.as_str());
    assert_eq!(
        detail["claims"][0]["organization"]["name"],
        "Zorggroep Test"
    );
    fails_with(&w.run(&["credential", "show", "ffffffffff"]), "not found");

    // The vault's credentials feed `pex evaluate` when no --credential is given.
    let pd = json!({
        "id": "pd_org",
        "input_descriptors": [{
            "id": "org_cred",
            "constraints": {"fields": [
                {"path": ["$.type"], "filter": {"type": "string", "const": "NutsOrganizationCredential"}},
                {"path": ["$.credentialSubject.organization.city", "$.credentialSubject[0].organization.city"],
                 "filter": {"type": "string", "const": "Amersfoort"}}
            ]}
        }]
    });
    let pd_file = file("pd.json", &pd.to_string());
    let eval = w.json(&["pex", "evaluate", "--definition", &pd_file, "--json"]);
    assert_eq!(eval["fulfilled"], true, "{eval}");
    assert_eq!(eval["credentials"].as_array().unwrap().len(), 3);

    // Delete: refused without confirmation when there is no terminal, done with --yes.
    fails_with(&w.run(&["credential", "delete", &id]), "pass --yes");
    assert_eq!(
        w.json(&["credential", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    w.ok(&["credential", "delete", &id, "--yes"]);
    let list = w.json(&["credential", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != id.as_str()));

    let log = w.json(&["audit", "list", "--json", "--action", "credential."]);
    let count = |action: &str, outcome: &str| {
        log.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("credential.import", "success"), 3);
    assert_eq!(count("credential.delete", "success"), 1);
    assert!(count("credential.import", "failure") >= 5, "{log}");
    w.ok(&["audit", "verify"]);
}
