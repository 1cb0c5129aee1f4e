//! `nuts-wallet org init --key pkcs11:...` against SoftHSM2 as an administrator meets it: each
//! failure exits 1 with a message naming the PKCS#11 part and leaves no organization behind;
//! the PIN can live in the OS keyring (`org key pin`); a deleted key is named.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use wallet_testkit::softhsm::SoftHsm;

const VAULT_PW: &str = "vault passphrase for hsm cli tests";
const ADMIN_PW: &str = "admin passphrase for hsm cli tests";

fn cli(dir: &Path, args: &[&str], pin: Option<&str>) -> Output {
    let hsm = SoftHsm::shared();
    let mut c = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"));
    c.args(args)
        .env("NUTS_WALLET_DATA_DIR", dir)
        .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
        .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
        .env("SOFTHSM2_CONF", hsm.conf_path())
        .env_remove("NUTS_WALLET_PKCS11_PIN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    if let Some(p) = pin {
        c.env("NUTS_WALLET_PKCS11_PIN", p);
    }
    c.output().unwrap()
}

fn fails_with(o: &Output, expect: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(expect), "stderr lacks {expect:?}: {err}");
    assert!(
        !err.contains(SoftHsm::shared().pin()),
        "the PIN was printed: {err}"
    );
}

fn init(dir: &Path, key: &str, pin: Option<&str>) -> Output {
    cli(
        dir,
        &[
            "org",
            "init",
            "--subject",
            "acme",
            "--base-url",
            "https://zorg.example",
            "--key",
            key,
        ],
        pin,
    )
}

/// A passphrase vault in `tmp/wallet`, without an organization.
fn new_vault(tmp: &Path) -> std::path::PathBuf {
    let dir = tmp.join("wallet");
    assert!(cli(&dir, &["init", "--passphrase-env"], None)
        .status
        .success());
    dir
}

fn no_organization(dir: &Path) {
    let o = cli(dir, &["org", "show"], None);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no organization is set up yet"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn org_init_with_an_hsm_key_fails_clearly_and_leaves_nothing_behind() {
    let hsm = SoftHsm::shared();
    let token = "cli-init";
    hsm.init_token(token);
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_vault(tmp.path());
    let dir = dir.as_path();
    let pin = Some(hsm.pin());

    let missing_module = "pkcs11:token=cli-init;object=org?module-path=/nonexistent/libpkcs11.so";
    fails_with(
        &init(dir, missing_module, pin),
        "the PKCS#11 module /nonexistent/libpkcs11.so does not exist",
    );
    no_organization(dir);
    fails_with(
        &init(dir, &hsm.uri_on("no-such-token", "org"), pin),
        "no PKCS#11 token with label \"no-such-token\"",
    );
    no_organization(dir);
    fails_with(
        &init(dir, &hsm.uri_on(token, "org"), Some("99999999")),
        "wrong user PIN for the PKCS#11 token \"cli-init\"",
    );
    no_organization(dir);
    fails_with(
        &init(dir, &hsm.uri_on(token, "org"), None),
        "needs its user PIN",
    );
    no_organization(dir);
    fails_with(
        &init(dir, "pkcs11:token=cli-init?module-path=/usr/lib/x.so", pin),
        "invalid PKCS#11 URI",
    );
    fails_with(
        &init(
            dir,
            &format!("{}&pin-value=1234", hsm.uri_on(token, "org")),
            pin,
        ),
        "invalid PKCS#11 URI",
    );
    no_organization(dir);

    // Right: the key pair is generated inside the token; the vault holds no organization key.
    let uri = hsm.uri_on(token, "org");
    let o = init(dir, &uri, pin);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let show: Value =
        serde_json::from_slice(&cli(dir, &["org", "show", "--json"], None).stdout).unwrap();
    assert_eq!(show["key_store"], "pkcs11");
    assert_eq!(show["key_uri"], uri.as_str());
    assert_eq!(show["key_id"], "");
    let text = hsm.list_private_keys(token);
    assert!(
        text.contains("sensitive, always sensitive, never extractable"),
        "{text}"
    );
    // A signing key and nothing else (no decrypt, unwrap or derive).
    let usage = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))
        .unwrap_or_default()
        .trim();
    assert_eq!(usage, "sign", "{text}");
    // The token's public key is the organization's.
    let publish = tmp.path().join("bundle");
    let o = cli(
        dir,
        &["org", "publish", "--out", publish.to_str().unwrap()],
        pin,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let did_doc: Value = serde_json::from_slice(
        &std::fs::read(
            publish.join(
                show["did_document_url"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("https://zorg.example/"),
            ),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        did_doc["verificationMethod"][0]["publicKeyJwk"]["x"],
        show["public_jwk"]["x"]
    );

    // The key deleted on the token: named, not a crash.
    let del = hsm.pkcs11_tool(&[
        "--token-label",
        token,
        "--login",
        "--pin",
        hsm.pin(),
        "--delete-object",
        "--type",
        "privkey",
        "--label",
        "org",
    ]);
    assert!(
        del.status.success(),
        "{}",
        String::from_utf8_lossy(&del.stderr)
    );
    fails_with(
        &cli(
            dir,
            &["org", "publish", "--out", publish.to_str().unwrap()],
            pin,
        ),
        "no private key \"org\" on the PKCS#11 token \"cli-init\"",
    );
}

/// `org key pin` checks the PIN against the token and keeps it in the OS keyring; afterwards the
/// CLI signs without the variable. Needs the Secret Service (`scripts/test.sh` runs one).
#[test]
fn the_pin_can_live_in_the_os_keyring() {
    let hsm = SoftHsm::shared();
    // The keyring outlives test runs on a developer's machine: a label of this run only.
    let token = format!("kr-{}", std::process::id());
    let token = token.as_str();
    hsm.init_token(token);
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_vault(tmp.path());
    let dir = dir.as_path();
    let o = init(dir, &hsm.uri_on(token, "org"), Some(hsm.pin()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fails_with(
        &cli(dir, &["org", "key", "pin"], Some("99999999")),
        "wrong user PIN",
    );
    let publish = tmp.path().join("bundle");
    let out = publish.to_str().unwrap();
    fails_with(
        &cli(dir, &["org", "publish", "--out", out], None),
        "needs its user PIN",
    );
    let o = cli(dir, &["org", "key", "pin"], Some(hsm.pin()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli(dir, &["org", "publish", "--out", out], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
