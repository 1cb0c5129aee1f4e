//! `nuts-wallet audit export` on a vault with real activity (administrator changes, a service
//! token refused by policy and one obtained from the reference authorization server over HTTPS
//! on loopback), checked by an independent FHIR library: `scripts/fhir-validate.py` with
//! fhir.resources in `.tools/fhir-venv` (installed by `scripts/deps.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::{json, Value};
use wallet_protocol::SystemClock;
use wallet_vault::{KdfParams, Passphrase, Protection};

const VAULT_PW: &str = "vault passphrase for fhir export tests";
const ADMIN_PW: &str = "admin passphrase for fhir export tests";
const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the validator; its exit status and output.
fn validate(bundle: &Path, log: Option<&Path>) -> (bool, String) {
    let python = root().join(".tools/fhir-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/deps.sh (it installs fhir.resources)",
        python.display()
    );
    let mut c = Command::new(python);
    c.arg(root().join("scripts/fhir-validate.py")).arg(bundle);
    if let Some(l) = log {
        c.arg("--log").arg(l);
    }
    let o = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    ca_file: PathBuf,
    issuer: String,
    did: String,
}

/// The real binary, as an administrator runs it from a script.
fn cli(dir: &Path, ca_file: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nuts-wallet"))
        .arg("--dev")
        .arg("--ca-file")
        .arg(ca_file)
        .args(args)
        .env("NUTS_WALLET_DATA_DIR", dir)
        .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
        .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

impl World {
    /// Runs the CLI off the runtime's threads (the servers it talks to run on them).
    async fn run(&self, args: &[&str]) -> Output {
        let (dir, ca) = (self.dir.clone(), self.ca_file.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || cli(&dir, &ca, &args))
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

    async fn status(&self, args: &[&str]) -> Option<i32> {
        self.run(args).await.status.code()
    }
}

/// The reference AS, the organization's DID document server, and a passphrase vault with the
/// organization, its credential and one employee.
async fn world() -> (World, Vec<tokio::task::JoinHandle<()>>) {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    let pki = wallet_testkit::pki::TestPki::localhost();
    pki.write_files(&pki_dir);

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config =
        toml::from_str(&wallet_testkit::pki::reference_as_toml(port)).unwrap();
    cfg.policy = vec![root().join("vectors/nuts/presentation-definitions/e2e-rfc021-policy.json")];
    cfg.resolve_paths(&pki_dir);
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let router = wallet_as::server::router(state.clone()).unwrap();
    let tls = wallet_as::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
    let as_task = tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });

    // The organization's web server: serves the DID document once it is known.
    let org_web = wallet_testkit::https::StaticHttpsServer::start(&pki).await;

    let dir = tmp.path().join("wallet");
    let wallet_testkit::wallet::OrgWallet { vault, org } = wallet_testkit::wallet::org_wallet(
        &dir,
        Protection::Passphrase {
            passphrase: Passphrase::from(VAULT_PW),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        &org_web.base(),
    );
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
    org_web.serve(
        url::Url::parse(&org.did_document_url).unwrap().path(),
        "application/did+json",
        wallet_core::org::own_did_document(&org)
            .unwrap()
            .to_string()
            .into_bytes(),
    );
    vault.lock();
    drop(vault);
    let w = World {
        ca_file: pki_dir.join("ca.pem"),
        dir,
        _tmp: tmp,
        issuer: state.identity.issuer.clone(),
        did: org.did.clone(),
    };
    (w, vec![as_task])
}

fn events(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect()
}

fn entity_detail(ev: &Value, name: &str) -> String {
    ev["entity"][0]["detail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == name)
        .and_then(|d| d["valueString"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn agents_of<'a>(ev: &'a Value, code: &str) -> Vec<&'a Value> {
    ev["agent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["type"]["coding"][0]["system"] == DCM && a["type"]["coding"][0]["code"] == code
        })
        .collect()
}

/// A malformed export: why, and how to make it from a good one.
type Mutation<'a> = (&'a str, &'a dyn Fn(&mut Value));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_export_of_real_activity_passes_an_independent_validator() {
    let (w, _tasks) = world().await;
    let emp = w.dir.join("employee.json");
    std::fs::write(
        &emp,
        json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
            "type": ["VerifiableCredential", "NutsEmployeeCredential"],
            "credentialSubject": {"name": "John Doe", "roleName": "Janitor", "identifier": "123456"}
        })
        .to_string(),
    )
    .unwrap();
    let emp = emp.to_str().unwrap();
    let token = [
        "token",
        "service",
        "--as",
        &w.issuer,
        "--scope",
        "test",
        "--credential",
        emp,
        "--token-type",
        "Bearer",
        "--json",
    ];
    // Refused by policy, then allowed, then a token from the AS.
    assert_eq!(w.status(&token).await, Some(1));
    w.ok(&["policy", "allow-scope", &w.issuer, "test", "--no-prompt"])
        .await;
    let t: Value = serde_json::from_str(&w.ok(&token).await).unwrap();
    assert_eq!(t["token_type"], "Bearer");

    let out = w.dir.join("export");
    std::fs::create_dir_all(&out).unwrap();
    let fhir_file = out.join("audit.fhir.json");
    let json_file = out.join("audit.json");
    let printed = w
        .ok(&[
            "audit",
            "export",
            "--format",
            "fhir",
            "--out",
            fhir_file.to_str().unwrap(),
        ])
        .await;
    assert!(printed.starts_with("exported "), "{printed}");
    w.ok(&[
        "audit",
        "export",
        "--format",
        "json",
        "--out",
        json_file.to_str().unwrap(),
    ])
    .await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fhir_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The independent validator accepts it, and it matches the plain export of the same log.
    let (ok, report) = validate(&fhir_file, Some(&json_file));
    assert!(ok, "{report}");
    assert!(report.contains("fhir-validate: OK"), "{report}");

    let bundle: Value = serde_json::from_slice(&std::fs::read(&fhir_file).unwrap()).unwrap();
    let log: Vec<Value> = serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    assert_eq!(bundle["type"], "collection");
    let evs = events(&bundle);
    assert!(
        evs.len() + 1 >= log.len() && evs.len() <= log.len(),
        "{} vs {}",
        evs.len(),
        log.len()
    );
    for (ev, entry) in evs.iter().zip(&log) {
        assert_eq!(entity_detail(ev, "seq"), entry["seq"].to_string());
        assert_eq!(entity_detail(ev, "hash"), entry["hash"].as_str().unwrap());
        assert_eq!(
            entity_detail(ev, "action"),
            entry["action"].as_str().unwrap()
        );
    }

    // The service token: a disclosure by the organization and the employee to the AS.
    let s2s: Vec<&&Value> = evs
        .iter()
        .filter(|e| entity_detail(e, "action") == "s2s.token")
        .collect();
    assert_eq!(s2s.len(), 2, "the refused request and the token");
    let (refused, sent) = (s2s[0], s2s[1]);
    for ev in [refused, sent] {
        assert_eq!(ev["type"]["code"], "110106");
        assert_eq!(ev["purposeOfEvent"][0]["text"], "test");
        assert_eq!(
            agents_of(ev, "110152")[0]["who"]["identifier"]["value"],
            w.issuer.as_str()
        );
    }
    assert_eq!(sent["outcome"], "0");
    assert_eq!(sent["action"], "R");
    let sources = agents_of(sent, "110153");
    assert_eq!(sources[0]["who"]["identifier"]["value"], w.did.as_str());
    assert_eq!(sources[1]["who"]["identifier"]["value"], "123456");
    assert!(
        sent["entity"].as_array().unwrap().len() >= 2,
        "the credentials presented are entities: {sent:#}"
    );
    assert_eq!(refused["outcome"], "4", "refused by policy: {refused:#}");
    assert!(refused["outcomeDesc"].as_str().is_some());
    // Administrator changes: the employee added, the policy changed.
    let change = |action: &str| {
        evs.iter()
            .find(|e| entity_detail(e, "action") == action)
            .unwrap_or_else(|| panic!("no {action}"))
            .to_owned()
    };
    assert_eq!(change("employee.add")["action"], "C");
    assert_eq!(change("employee.add")["type"]["code"], "rest");
    assert_eq!(change("setting.change")["action"], "U");

    // --since: only what happened from the token on.
    let since_file = out.join("since.fhir.json");
    let at = sent["recorded"].as_str().unwrap();
    w.ok(&[
        "audit",
        "export",
        "--format",
        "fhir",
        "--since",
        at,
        "--out",
        since_file.to_str().unwrap(),
    ])
    .await;
    let since: Value = serde_json::from_slice(&std::fs::read(&since_file).unwrap()).unwrap();
    let first = events(&since)[0];
    assert!(first["recorded"].as_str().unwrap() >= at);
    assert!(
        entity_detail(first, "seq").parse::<i64>().unwrap()
            <= entity_detail(sent, "seq").parse().unwrap()
    );
    // The log grew since the first plain export (every unlock is an entry): a newer one.
    let later = out.join("later.json");
    w.ok(&[
        "audit",
        "export",
        "--format",
        "json",
        "--out",
        later.to_str().unwrap(),
    ])
    .await;
    let (ok, report) = validate(&since_file, Some(&later));
    assert!(ok, "{report}");
    assert_eq!(
        w.status(&["audit", "export", "--format", "fhir", "--since", "soon", "--out", "x"])
            .await,
        Some(1)
    );

    // The validator is not a rubber stamp: malformed exports fail it.
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut b = bundle.clone();
        f(&mut b);
        let p = out.join("broken.json");
        std::fs::write(&p, b.to_string()).unwrap();
        validate(&p, Some(&json_file))
    };
    let cases: [Mutation; 6] = [
        ("a date is not an instant", &|b| {
            b["entry"][0]["resource"]["recorded"] = json!("2024-01-01")
        }),
        ("no agent", &|b| {
            b["entry"][1]["resource"]
                .as_object_mut()
                .unwrap()
                .remove("agent");
        }),
        ("unknown element", &|b| {
            b["entry"][0]["resource"]["severity"] = json!("high")
        }),
        ("bad action code", &|b| {
            b["entry"][0]["resource"]["action"] = json!("X")
        }),
        ("searchset", &|b| b["type"] = json!("searchset")),
        ("hash not the log's", &|b| {
            b["entry"][0]["resource"]["entity"][0]["detail"][1]["valueString"] =
                json!("0".repeat(64))
        }),
    ];
    for (why, f) in cases {
        let (ok, report) = broken(f);
        assert!(!ok, "{why}: the validator accepted it: {report}");
        assert!(report.contains("FAILED"), "{why}: {report}");
    }

    // A tampered log is not exported.
    let c = wallet_vault::rusqlite::Connection::open(wallet_vault::db_path(&w.dir)).unwrap();
    c.execute_batch(
        "DROP TRIGGER activity_no_update; UPDATE activity SET subject = 'x' WHERE seq = 2;",
    )
    .unwrap();
    drop(c);
    let tampered = out.join("tampered.json");
    let o = w
        .run(&[
            "audit",
            "export",
            "--format",
            "fhir",
            "--out",
            tampered.to_str().unwrap(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken at entry 2"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!tampered.exists());
}
