//! What an attacker tries against the command line; each test names the attack it stops.

use std::process::{Command, Stdio};

use wallet_vault::{Actor, KdfParams, NewActivity, Outcome, Passphrase, Protection};

const VAULT_PW: &str = "vault passphrase for cli attack tests";
const ADMIN_PW: &str = "admin passphrase for cli attack tests";

/// A received link's `client_id` ends up in the activity log; with a line feed and terminal
/// escapes in it, `audit list` would forge extra lines or recolour and rewrite the terminal.
/// Control characters are printed escaped, one entry per line.
#[test]
fn audit_list_escapes_control_characters_from_links() {
    let tmp = tempfile::tempdir().unwrap();
    let wallet_testkit::wallet::OrgWallet { vault, .. } = wallet_testkit::wallet::org_wallet(
        tmp.path(),
        Protection::Passphrase {
            passphrase: Passphrase::from(VAULT_PW),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        "https://zorg.example",
    );
    let evil = "https://v.example/o\n     9  2026-01-01T00:00:00.000Z  admin  fake.entry\x1b[2J\x1b]0;pwned\x07\u{9b}31m\u{202e}";
    vault
        .activity_log()
        .record(
            NewActivity::new(Actor::System, "presentation.refuse", evil)
                .outcome(Outcome::Failure)
                .detail(serde_json::json!({"message": evil})),
        )
        .unwrap();
    vault.lock();
    drop(vault);
    let out = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"))
        .args(["audit", "list", "--action", "presentation.refuse"])
        .env("NUTS_WALLET_DATA_DIR", tmp.path())
        .env("NUTS_WALLET_PASSPHRASE", VAULT_PW)
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", ADMIN_PW)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
        "{text:?}"
    );
    assert!(text.contains("\\u{1b}[2J"), "{text}");
}

/// An argument that is not UTF-8 (a crafted link or file name) gives a usage error, not a
/// panic.
#[cfg(unix)]
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStringExt;
    let tmp = tempfile::tempdir().unwrap();
    let bad = std::ffi::OsString::from_vec(b"nuts-wallet://authorize?\xff\xfe".to_vec());
    let out = Command::new(env!("CARGO_BIN_EXE_nuts-wallet"))
        .arg("present")
        .arg("--decline")
        .arg(&bad)
        .env("NUTS_WALLET_DATA_DIR", tmp.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("invalid UTF-8"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
