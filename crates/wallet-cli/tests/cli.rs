//! The `nuts-wallet` binary as a user runs it. `scripts/test.sh` runs this inside a D-Bus
//! session with an unlocked gnome-keyring, so the OS keyring check is real.

use std::process::{Command, Output};

fn nuts_wallet(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nuts-wallet"))
        .args(args)
        .env("NUTS_WALLET_DATA_DIR", data_dir)
        .env_remove("NUTS_WALLET_DEV")
        .env_remove("RUST_LOG")
        .output()
        .expect("run nuts-wallet")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn version_prints_the_workspace_version() {
    let tmp = tempfile::tempdir().unwrap();
    let o = nuts_wallet(&["--version"], tmp.path());
    assert!(o.status.success());
    let out = stdout(&o);
    let want = format!("nuts-wallet {} (", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&want), "{out}");
    // The build commit is the checkout's HEAD (12 hex digits), not a placeholder.
    let commit = out.trim().trim_start_matches(&want).trim_end_matches(')');
    assert_eq!(commit.len(), 12, "{out}");
    assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{out}");
    let short = nuts_wallet(&["-V"], tmp.path());
    assert_eq!(
        stdout(&short).trim(),
        format!("nuts-wallet {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn doctor_reports_data_dir_and_real_keyring() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    let o = nuts_wallet(&["doctor", "--json"], &dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["data_dir"], dir.display().to_string());
    assert_eq!(v["data_dir_check"]["status"], "ok");
    // Logging has already created the folder by the time doctor looks, so "writable" suffices.
    assert!(v["data_dir_check"]["detail"]
        .as_str()
        .unwrap()
        .ends_with("writable"));
    assert_eq!(
        v["keyring_check"]["status"], "ok",
        "Secret Service must be reachable in the test session: {v}"
    );
    // The CLI logs into the data dir's rotating log folder.
    assert!(dir.join("logs").is_dir());
}

#[test]
fn doctor_fails_honestly_on_an_unusable_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let o = nuts_wallet(&["doctor"], &file.join("wallet"));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("ERROR"), "{out}");
    assert!(out.contains("cannot create"), "{out}");
}

#[test]
fn dev_flag_is_announced() {
    let tmp = tempfile::tempdir().unwrap();
    let o = nuts_wallet(&["--dev", "doctor"], tmp.path());
    assert!(String::from_utf8_lossy(&o.stderr).contains("development mode is on"));
    assert!(stdout(&o).contains("development mode  ON"));
}

/// `doctor` names credentials that expire within 30 days (a warning) or have expired (an error,
/// exit 1), when the vault opens without typing.
#[test]
fn doctor_warns_about_expiring_and_expired_credentials() {
    use wallet_vault::{
        CreateOptions, CredentialListing, KdfParams, MemoryKeyStore, NewCredential, Passphrase,
        Protection, SecretString, Vault,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wallet");
    let vault = Vault::create(
        &dir,
        std::sync::Arc::new(MemoryKeyStore::new()),
        CreateOptions {
            protection: Protection::Passphrase {
                passphrase: Passphrase::from("doctor vault passphrase"),
                kdf: KdfParams::INSECURE_TEST,
            },
            admin_passphrase: Passphrase::from("doctor admin passphrase"),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    let admin = vault
        .admin_session(&Passphrase::from("doctor admin passphrase"))
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let import = |admin: &wallet_vault::AdminSession, until_ms: i64, n: u32| {
        vault
            .credentials()
            .import(
                admin,
                NewCredential {
                    listing: CredentialListing {
                        types: vec![
                            "VerifiableCredential".into(),
                            "NutsOrganizationCredential".into(),
                        ],
                        format: "jwt_vc".into(),
                        issuer: "did:web:issuer.example".into(),
                        subject: Some("did:web:zorg.example".into()),
                        valid_from_ms: Some(now_ms - 2 * 86_400_000),
                        valid_until_ms: Some(until_ms),
                    },
                    raw: SecretString::from(format!("eyJhbGciOiJFUzI1NiJ9.c{n}.sig")),
                },
            )
            .unwrap()
    };
    let run = |dir: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_nuts-wallet"))
            .args(["doctor", "--json"])
            .env("NUTS_WALLET_DATA_DIR", dir)
            .env("NUTS_WALLET_PASSPHRASE", "doctor vault passphrase")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    import(&admin, now_ms + 10 * 86_400_000, 1);
    drop(admin);
    let o = run(&dir);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["credentials_check"]["status"], "warning", "{v}");
    assert!(
        v["credentials_check"]["detail"]
            .as_str()
            .unwrap()
            .contains("expiring within 30 days"),
        "{v}"
    );
    let admin = vault
        .admin_session(&Passphrase::from("doctor admin passphrase"))
        .unwrap();
    import(&admin, now_ms - 60_000, 2);
    let o = run(&dir);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["credentials_check"]["status"], "error", "{v}");
    assert!(
        v["credentials_check"]["detail"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{v}"
    );
}
