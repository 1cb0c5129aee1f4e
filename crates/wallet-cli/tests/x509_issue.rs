//! `credential issue-x509` through the real `nuts-wallet` binary, from a UZI-like test PKI
//! (root → intermediate → server certificate with the UZI otherName, RSA 2048, made with
//! OpenSSL by wallet-testkit). The result is checked independently of the wallet: chain and
//! PS256 signature with the `openssl` command, the did:x509 rebuilt by hand from the CA's
//! DER; then by the wallet's own did:x509 / X509Credential verifier, and against the Nuts
//! didx509 presentation definition (wallet-pex) that captures the URA. Every refusal once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use wallet_pex::{evaluate, PolicyFile, WalletCredential, WalletOwnerType};
use wallet_protocol::did::UniversalResolver;
use wallet_protocol::jose::{b64_lenient, b64url, b64url_decode, CompactJws};
use wallet_protocol::net::NetPolicy;
use wallet_protocol::vc::jwt::{verify_jwt_vc, VerifyOptions};
use wallet_protocol::{Clock, SystemClock};
use wallet_testkit::uzi::{self, UziOptions, UziPki, INTERMEDIATE_DN, ROOT_DN};

const VAULT_PW: &str = "vault passphrase for the x509 test";
const ADMIN_PW: &str = "admin passphrase for the x509 test";
const P12_PW: &str = "p12 secret for the x509 test";
const URA: &str = "90000380";

struct Wallet {
    dir: PathBuf,
}

impl Wallet {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"));
        c.args(args)
            .env("NUTS_WALLET_DATA_DIR", &self.dir)
            .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
            .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
            .env("NUTS_WALLET_PKCS12_PASSWORD", P12_PW)
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

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}", text(&o.stderr));
        text(&o.stdout)
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn stored(&self) -> usize {
        self.json(&["credential", "list", "--json"])
            .as_array()
            .unwrap()
            .len()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fails_with(o: &Output, expect: &[&str]) {
    assert!(!o.status.success(), "should fail: {}", text(&o.stdout));
    let e = text(&o.stderr);
    eprintln!("refused as expected: {}", e.trim());
    for x in expect {
        assert!(e.contains(x), "stderr lacks {x:?}: {e}");
    }
}

fn wallet(tmp: &Path) -> Wallet {
    let w = Wallet {
        dir: tmp.join("wallet"),
    };
    w.ok(&["init", "--passphrase-env"]);
    w.ok(&[
        "org",
        "init",
        "--subject",
        "zorg",
        "--base-url",
        "https://zorg.example.nl",
    ]);
    w
}

fn now() -> i64 {
    SystemClock.now_unix()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs the `openssl` command; returns stdout.
fn openssl(args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl command");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(i) = input {
        stdin.write_all(i).unwrap();
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    o.stdout
}

/// base64url(SHA-256(DER)) of a PEM certificate, computed by the openssl command.
fn openssl_fingerprint(pem: &Path) -> String {
    let der = openssl(&["x509", "-in", p(pem), "-outform", "DER"], None);
    let digest = openssl(&["dgst", "-sha256", "-binary"], Some(&der));
    b64url(&digest)
}

/// Independent check of a compact JWS from the x5c chain: the chain verifies with
/// `openssl verify` up to the root we made, the leaf is our server certificate, and the
/// PS256 signature verifies with `openssl dgst` (RSASSA-PSS, MGF1-SHA256, 32-byte salt).
fn openssl_check(jwt: &str, dir: &Path, pki: &UziPki) {
    let jws = CompactJws::parse(jwt).unwrap();
    let x5c = jws.header_x5c();
    assert_eq!(x5c.len(), 3, "x5c is leaf, intermediate, root");
    let ders: Vec<Vec<u8>> = x5c.iter().map(|c| b64_lenient(c).unwrap()).collect();
    assert_eq!(ders[0], pki.server.der());
    assert_eq!(ders[1], pki.intermediate.der());
    assert_eq!(ders[2], pki.root.der());
    let pems: Vec<PathBuf> = ders
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let f = dir.join(format!("x5c-{i}.pem"));
            let pem = openssl(&["x509", "-inform", "DER", "-outform", "PEM"], Some(d));
            std::fs::write(&f, pem).unwrap();
            f
        })
        .collect();
    let verified = openssl(
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "any",
            "-CAfile",
            p(&pems[2]),
            "-untrusted",
            p(&pems[1]),
            p(&pems[0]),
        ],
        None,
    );
    assert!(text(&verified).contains(": OK"), "{}", text(&verified));
    let pubkey = dir.join("leaf-pub.pem");
    std::fs::write(
        &pubkey,
        openssl(&["x509", "-in", p(&pems[0]), "-pubkey", "-noout"], None),
    )
    .unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig_file = dir.join("sig.bin");
    std::fs::write(&sig_file, b64url_decode(sig).unwrap()).unwrap();
    let ok = openssl(
        &[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-sigopt",
            "rsa_mgf1_md:sha256",
            "-verify",
            p(&pubkey),
            "-signature",
            p(&sig_file),
        ],
        Some(input.as_bytes()),
    );
    assert!(text(&ok).contains("Verified OK"), "{}", text(&ok));
}

/// The Nuts didx509 definition (vectors) with its issuer pattern pinned to `fingerprint`.
fn didx509_definition(fingerprint: &str) -> wallet_pex::PresentationDefinition {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-didx509-policy.json"
    );
    let text = std::fs::read_to_string(file)
        .unwrap()
        .replace("szqMaTpnD6GN0aRrT98eV4bhAoOgyItEZVyskYyL_Qc", fingerprint);
    PolicyFile::parse(&text)
        .unwrap()
        .definition("test", WalletOwnerType::Organization)
        .unwrap()
        .clone()
}

#[test]
fn issue_x509_from_pkcs12_verifies_independently_and_matches_nuts_definition() {
    let tmp = tempfile::tempdir().unwrap();
    let w = wallet(tmp.path());
    let org_did = w.json(&["org", "show", "--json"])["did"]
        .as_str()
        .unwrap()
        .to_owned();
    let opts = UziOptions::valid(now());
    let pki = UziPki::new(&opts);
    let files = pki.write_files(&tmp.path().join("pki"), P12_PW);
    let before = w.stored();

    // Dry run: the claims, nothing stored.
    let dry = w.json(&[
        "credential",
        "issue-x509",
        "--pkcs12",
        p(&files.pkcs12),
        "--ca",
        INTERMEDIATE_DN,
        "--dry-run",
        "--json",
    ]);
    assert_eq!(dry["ura"], URA);
    assert_eq!(
        dry["claims"]["vc"]["type"],
        json!(["VerifiableCredential", "X509Credential"])
    );
    assert_eq!(w.stored(), before);

    let out = w.ok(&[
        "credential",
        "issue-x509",
        "--pkcs12",
        p(&files.pkcs12),
        "--ca",
        INTERMEDIATE_DN,
    ]);
    eprintln!("{out}");
    for want in [
        URA,
        "Zorg & Welzijn B.V.",
        "'s-Hertogenbosch",
        "did:x509:0:sha256:",
        INTERMEDIATE_DN,
    ] {
        assert!(out.contains(want), "summary lacks {want}: {out}");
    }
    let list = w.json(&["credential", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), before + 1);
    let stored = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["types"].to_string().contains("X509Credential"))
        .expect("the X509Credential is listed")
        .clone();
    let id = stored["id"].as_str().unwrap();
    let jwt = w.ok(&["credential", "export", id]).trim().to_owned();
    assert_eq!(jwt.split('.').count(), 3);

    // The did:x509, rebuilt by hand: fingerprint of the intermediate's DER (openssl),
    // policies in the order and encoding the Nuts toolkit uses.
    let fp = openssl_fingerprint(&files.intermediate);
    let other_name = uzi::uzi_other_name("900030787", URA, "11223344");
    let expected_did = format!(
        "did:x509:0:sha256:{fp}::san:otherName:{}::subject:L:%27s-Hertogenbosch:O:Zorg%20%26%20Welzijn%20B.V.",
        other_name
    );
    let jws = CompactJws::parse(&jwt).unwrap();
    let claims = jws.claims().unwrap();
    assert_eq!(claims["iss"], expected_did.as_str());
    assert_eq!(jws.header["alg"], "PS256");
    assert_eq!(jws.header["typ"], "JWT");
    assert_eq!(jws.header["kid"], format!("{expected_did}#0").as_str());
    let leaf_der = pki.server.der();
    assert_eq!(
        jws.header["x5t#S256"],
        b64url(&openssl(&["dgst", "-sha256", "-binary"], Some(&leaf_der))).as_str()
    );
    assert_eq!(claims["sub"], org_did.as_str());
    assert!(claims["jti"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{expected_did}#")));
    assert_eq!(claims["exp"], opts.not_after);
    let nbf = claims["nbf"].as_i64().unwrap();
    assert!(nbf >= opts.not_before && (nbf - now()).abs() < 300);
    assert_eq!(
        claims["vc"],
        json!({
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential", "X509Credential"],
            "credentialSubject": {
                "id": org_did,
                "san": {"otherName": other_name},
                "subject": {"L": "'s-Hertogenbosch", "O": "Zorg & Welzijn B.V."}
            }
        })
    );
    openssl_check(&jwt, tmp.path(), &pki);

    // The wallet's own verifier (did:x509 from x5c, X509Credential rules).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resolver =
        UniversalResolver::from_policy(&NetPolicy::from_args(false, None).unwrap()).unwrap();
    let verified = rt
        .block_on(verify_jwt_vc(
            &jwt,
            &resolver,
            &SystemClock,
            &VerifyOptions::default(),
        ))
        .expect("the wallet's verifier accepts it");
    assert_eq!(verified.issuer.as_str(), expected_did);

    // The Nuts definition pinned to the intermediate captures the URA.
    let cred = WalletCredential::from_jwt(&jwt).unwrap();
    let eval = evaluate(&didx509_definition(&fp), std::slice::from_ref(&cred), None);
    assert!(eval.fulfilled);
    assert_eq!(
        serde_json::to_value(&eval.descriptors[0].fields).unwrap(),
        json!({"organization_name": "Zorg & Welzijn B.V.", "organization_city": "'s-Hertogenbosch", "organization_ura": URA})
    );
    // Pinned to another CA (the root, or a flipped fingerprint) it does not match.
    let root_fp = openssl_fingerprint(&files.root);
    let mut flipped = fp.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    for other in [root_fp, String::from_utf8(flipped).unwrap()] {
        let eval = evaluate(
            &didx509_definition(&other),
            std::slice::from_ref(&cred),
            None,
        );
        assert!(!eval.fulfilled, "pinned to {other}");
    }

    // The root as the DID's CA works too (PEM chain + key), and its fingerprint is the root's.
    let out = w.json(&[
        "credential",
        "issue-x509",
        "--chain",
        p(&files.chain),
        "--key",
        p(&files.key),
        "--ca",
        ROOT_DN,
        "--json",
    ]);
    assert_eq!(
        out["credential"]["ca_fingerprint"],
        openssl_fingerprint(&files.root).as_str()
    );
    assert_eq!(w.stored(), before + 2);
}

#[test]
fn issue_x509_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let w = wallet(tmp.path());
    let now = now();
    let good = UziPki::new(&UziOptions::valid(now));
    let files = good.write_files(&tmp.path().join("good"), P12_PW);
    let other = UziPki::new(&UziOptions::valid(now));
    let other_files = other.write_files(&tmp.path().join("other"), P12_PW);
    let before = w.stored();
    let issue = |args: &[&str]| {
        let mut all = vec!["credential", "issue-x509"];
        all.extend_from_slice(args);
        w.run(&all)
    };
    let pem = |dir: &str, opts: &UziOptions| {
        let f = UziPki::new(opts).write_files(&tmp.path().join(dir), P12_PW);
        issue(&[
            "--chain",
            p(&f.chain),
            "--key",
            p(&f.key),
            "--ca",
            INTERMEDIATE_DN,
        ])
    };

    // Not a UZI server certificate.
    let mut o = UziOptions::valid(now);
    o.other_name = None;
    fails_with(
        &pem("no-uzi", &o),
        &["not a UZI server certificate", "2.5.5.5"],
    );
    let mut o = UziOptions::valid(now);
    o.other_name = Some("2.16.528.1.1007.99.2110-1-900030787-Z-90000380-01.015-11223344".into());
    fails_with(&pem("card", &o), &["not a UZI server certificate", "not S"]);

    // Expired and not yet valid.
    let mut o = UziOptions::valid(now);
    o.not_before = now - 400 * 86_400;
    o.not_after = now - 86_400;
    fails_with(&pem("expired", &o), &["expired at", "zorg.example.nl"]);
    let mut o = UziOptions::valid(now);
    o.not_before = now + 86_400;
    o.not_after = now + 400 * 86_400;
    fails_with(&pem("future", &o), &["is not valid before"]);

    // Broken chains: the CAs of another PKI with the same names, and no root.
    let mixed = tmp.path().join("mixed.pem");
    std::fs::write(
        &mixed,
        format!(
            "{}{}{}",
            good.server.pem(),
            other.intermediate.pem(),
            other.root.pem()
        ),
    )
    .unwrap();
    fails_with(
        &issue(&[
            "--chain",
            p(&mixed),
            "--key",
            p(&files.key),
            "--ca",
            INTERMEDIATE_DN,
        ]),
        &["broken certificate chain"],
    );
    let no_root = tmp.path().join("no-root.pem");
    std::fs::write(
        &no_root,
        format!("{}{}", good.server.pem(), good.intermediate.pem()),
    )
    .unwrap();
    fails_with(
        &issue(&[
            "--chain",
            p(&no_root),
            "--key",
            p(&files.key),
            "--ca",
            INTERMEDIATE_DN,
        ]),
        &["broken certificate chain", "root"],
    );

    // A PKCS#12 file without the CA certificates: broken, unless --chain adds them.
    let bare = tmp.path().join("bare.p12");
    std::fs::write(&bare, good.pkcs12_server_only(P12_PW)).unwrap();
    fails_with(
        &issue(&["--pkcs12", p(&bare), "--ca", INTERMEDIATE_DN]),
        &["broken certificate chain"],
    );
    let cas = tmp.path().join("cas.pem");
    std::fs::write(
        &cas,
        format!("{}{}", good.intermediate.pem(), good.root.pem()),
    )
    .unwrap();
    let dry = issue(&[
        "--pkcs12",
        p(&bare),
        "--chain",
        p(&cas),
        "--ca",
        INTERMEDIATE_DN,
        "--dry-run",
        "--json",
    ]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let dry: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(dry["ura"], URA);

    // A CA that is not in the chain: the error lists the chain's CAs.
    fails_with(
        &issue(&[
            "--pkcs12",
            p(&files.pkcs12),
            "--ca",
            "CN=Some Other CA,O=Elsewhere,C=NL",
        ]),
        &["is not in the certificate chain", INTERMEDIATE_DN, ROOT_DN],
    );

    // Wrong PKCS#12 password.
    let o = w
        .cmd(&[
            "credential",
            "issue-x509",
            "--pkcs12",
            p(&files.pkcs12),
            "--ca",
            INTERMEDIATE_DN,
        ])
        .env("NUTS_WALLET_PKCS12_PASSWORD", "not the password")
        .output()
        .unwrap();
    fails_with(&o, &["wrong PKCS#12 password"]);

    // A key that is not the certificate's.
    fails_with(
        &issue(&[
            "--chain",
            p(&files.chain),
            "--key",
            p(&other_files.key),
            "--ca",
            INTERMEDIATE_DN,
        ]),
        &["private key does not belong to the certificate"],
    );

    // An HSM key URI without the module to load.
    fails_with(
        &issue(&[
            "--chain",
            p(&files.chain),
            "--key",
            "pkcs11:token=org;object=uzi",
            "--ca",
            INTERMEDIATE_DN,
        ]),
        &["module-path"],
    );

    // Without the administrator passphrase nothing is issued.
    let o = w
        .cmd(&[
            "credential",
            "issue-x509",
            "--pkcs12",
            p(&files.pkcs12),
            "--ca",
            INTERMEDIATE_DN,
        ])
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", "wrong admin passphrase")
        .output()
        .unwrap();
    assert!(!o.status.success());

    assert_eq!(w.stored(), before, "a refusal stores nothing");
}

/// `--key pkcs11:...`: the server certificate's key in an HSM (SoftHSM2, key imported with
/// `softhsm2-util`); the PIN from `NUTS_WALLET_PKCS11_PIN`. Without the PIN: a clear refusal.
#[test]
fn issue_x509_with_the_key_in_an_hsm() {
    let tmp = tempfile::tempdir().unwrap();
    let w = wallet(tmp.path());
    let files = UziPki::new(&UziOptions::valid(now())).write_files(&tmp.path().join("pki"), P12_PW);
    let hsm = wallet_testkit::softhsm::SoftHsm::shared();
    let token = "cli-x509";
    hsm.init_token(token);
    let out = hsm.softhsm2_util(&[
        "--import",
        p(&files.key),
        "--token",
        token,
        "--label",
        "uzi-server",
        "--id",
        "0b01",
        "--pin",
        hsm.pin(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let uri = hsm.uri_on(token, "uzi-server");
    let args = [
        "credential",
        "issue-x509",
        "--chain",
        p(&files.chain),
        "--key",
        &uri,
        "--ca",
        INTERMEDIATE_DN,
        "--json",
    ];
    let before = w.stored();
    let o = w
        .cmd(&args)
        .env("SOFTHSM2_CONF", hsm.conf_path())
        .env_remove("NUTS_WALLET_PKCS11_PIN")
        .output()
        .unwrap();
    fails_with(&o, &["PIN"]);
    assert_eq!(w.stored(), before);
    let o = w
        .cmd(&args)
        .env("SOFTHSM2_CONF", hsm.conf_path())
        .env("NUTS_WALLET_PKCS11_PIN", hsm.pin())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["credential"]["ura"], "90000380", "{v}");
    assert_eq!(w.stored(), before + 1);
    assert!(!text(&o.stdout).contains(hsm.pin()));
}
