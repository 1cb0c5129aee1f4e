//! `nuts-wallet doctor`: an honest report of what the wallet finds on this machine.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::build_info::VERSION;

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Check {
    /// Works.
    Ok(String),
    /// Not available, but the wallet can work around it (e.g. passphrase instead of keyring).
    Warning(String),
    /// The wallet cannot work like this.
    Error(String),
}

impl Check {
    /// True for [`Check::Error`].
    pub fn is_error(&self) -> bool {
        matches!(self, Check::Error(_))
    }
}

/// Everything `doctor` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Wallet version.
    pub version: String,
    /// The data directory checked.
    pub data_dir: PathBuf,
    /// Whether it can be written.
    pub data_dir_check: Check,
    /// Whether the OS keyring can store and return a secret.
    pub keyring_check: Check,
    /// The organization's credentials (expired, expiring within 30 days), when the vault could
    /// be unlocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_check: Option<Check>,
    /// Whether the activity log reaches the organization's syslog collector, when forwarding
    /// is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarding_check: Option<Check>,
}

impl Report {
    /// True when nothing is an error (warnings allowed).
    pub fn healthy(&self) -> bool {
        !self.data_dir_check.is_error()
            && !self.keyring_check.is_error()
            && !self.credentials_check.as_ref().is_some_and(Check::is_error)
    }
}

/// The organization's credentials at `now`: an error when one has expired, a warning when one
/// expires within 30 days (or was revoked or suspended when last checked), else ok. Needs the
/// vault unlocked.
pub fn check_credentials(vault: &wallet_vault::Vault, now: i64) -> Check {
    let list = match crate::credentials::list_credentials(vault, now) {
        Ok(l) => l,
        Err(e) => return Check::Warning(format!("not checked: {e}")),
    };
    let with = |code: &str| -> Vec<String> {
        list.iter()
            .filter(|c| c.warnings.iter().any(|w| w.code == code))
            .map(|c| {
                format!(
                    "{} {} (until {})",
                    c.display_type,
                    &c.id[..c.id.len().min(8)],
                    c.valid_until.as_deref().unwrap_or("?")
                )
            })
            .collect()
    };
    let (expired, soon) = (with("expired"), with("expiring_soon"));
    if list.is_empty() {
        Check::Warning("no organization credentials stored yet".into())
    } else if !expired.is_empty() {
        Check::Error(format!(
            "expired (never presented; import a new one): {}",
            expired.join(", ")
        ))
    } else if !soon.is_empty() {
        Check::Warning(format!(
            "expiring within 30 days (renew them now): {}",
            soon.join(", ")
        ))
    } else {
        Check::Ok(format!(
            "{} credential(s), none expiring within 30 days",
            list.len()
        ))
    }
}

/// Audit forwarding: `None` when off; a warning while entries wait because the last attempt
/// failed (none is lost: they go when the collector answers), else ok.
pub fn check_forwarding(vault: &wallet_vault::Vault) -> Option<Check> {
    let config = match crate::audit_forward::forwarding(vault) {
        Ok(Some(c)) => c,
        Ok(None) => return None,
        Err(e) => return Some(Check::Warning(format!("not checked: {e}"))),
    };
    let st = match crate::audit_forward::status(vault) {
        Ok(s) => s,
        Err(e) => return Some(Check::Warning(format!("not checked: {e}"))),
    };
    let delivered = st
        .last_delivered_seq
        .map_or("none yet".to_owned(), |n| format!("up to #{n}"));
    Some(match st.last_error {
        Some(e) if st.pending > 0 => Check::Warning(format!(
            "{} entries wait for {} (kept until it answers; delivered {delivered}): {e}",
            st.pending, config.syslog
        )),
        _ => Check::Ok(format!(
            "to {}: delivered {delivered}, {} waiting",
            config.syslog, st.pending
        )),
    })
}

/// Runs all checks. `keyring_service` names the probe entry (so tests can isolate it).
pub fn run(data_dir: &Path, keyring_service: &str) -> Report {
    Report {
        version: VERSION.to_string(),
        data_dir: data_dir.to_path_buf(),
        data_dir_check: check_data_dir(data_dir),
        keyring_check: check_keyring(keyring_service),
        credentials_check: None,
        forwarding_check: None,
    }
}

/// Checks that the data directory exists (or can be created) and accepts a file.
pub fn check_data_dir(dir: &Path) -> Check {
    let existed = dir.is_dir();
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::Error(format!("cannot create {}: {e}", dir.display()));
    }
    let probe = dir.join(format!(".doctor-probe-{}", std::process::id()));
    let result = std::fs::write(&probe, b"probe").and_then(|_| std::fs::remove_file(&probe));
    match (result, existed) {
        (Ok(()), true) => Check::Ok("writable".into()),
        (Ok(()), false) => Check::Ok("created, writable".into()),
        (Err(e), _) => Check::Error(format!("not writable: {e}")),
    }
}

/// Stores, reads back and deletes a random probe secret in the OS keyring.
pub fn check_keyring(service: &str) -> Check {
    let user = format!("doctor-probe-{}", std::process::id());
    let entry = match keyring::Entry::new(service, &user) {
        Ok(e) => e,
        Err(e) => return Check::Warning(keyring_unavailable(&e)),
    };
    let secret = format!("probe-{}", std::process::id());
    if let Err(e) = entry.set_password(&secret) {
        return Check::Warning(keyring_unavailable(&e));
    }
    let read = entry.get_password();
    let _ = entry.delete_credential();
    match read {
        Ok(s) if s == secret => Check::Ok(format!("reachable ({})", keyring_backend())),
        Ok(_) => Check::Error("the keyring returned a different secret than was stored".into()),
        Err(e) => Check::Warning(keyring_unavailable(&e)),
    }
}

fn keyring_backend() -> &'static str {
    if cfg!(target_os = "linux") {
        "Secret Service"
    } else if cfg!(target_os = "windows") {
        "Windows Credential Manager"
    } else if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else {
        "platform keyring"
    }
}

fn keyring_unavailable(e: &keyring::Error) -> String {
    // The platform's own text can be long and locale-dependent; keep its first line.
    let detail = e.to_string();
    let first = detail.lines().next().unwrap_or_default();
    format!(
        "{} not usable ({first}); the vault can use a passphrase instead",
        keyring_backend()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_dir_is_ok_and_new_dir_is_created() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(check_data_dir(tmp.path()), Check::Ok("writable".into()));
        let new = tmp.path().join("a/b");
        assert_eq!(check_data_dir(&new), Check::Ok("created, writable".into()));
        assert!(new.is_dir());
    }

    #[test]
    fn dir_below_a_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        let c = check_data_dir(&f.join("sub"));
        assert!(c.is_error(), "{c:?}");
    }

    #[test]
    fn report_serializes_with_status_tags() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Report {
            version: VERSION.into(),
            data_dir: tmp.path().into(),
            data_dir_check: check_data_dir(tmp.path()),
            keyring_check: Check::Warning("x".into()),
            credentials_check: None,
            forwarding_check: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["data_dir_check"]["status"], "ok");
        assert_eq!(v["keyring_check"]["status"], "warning");
        assert!(v.get("credentials_check").is_none());
        assert!(r.healthy());
        let expired = Report {
            credentials_check: Some(Check::Error("expired".into())),
            ..r
        };
        assert!(!expired.healthy());
    }
}
