//! Settings: named JSON values in the clear (readable while locked, for the auto-lock timer),
//! each with a MAC under a vault subkey so an edit in the file is caught once unlocked.
//! The administrator's policy is stored here by wallet-core.

use rusqlite::{params, Connection, OptionalExtension};

use super::Scope;
use crate::audit::{Actor, NewActivity};
use crate::clock::now_ms;
use crate::crypto;
use crate::secret::Key256;
use crate::vault::{AdminSession, DEFAULT_AUTO_LOCK_SECS};
use crate::{Result, VaultError};

pub(crate) const SETTING_AUTO_LOCK: &str = "auto_lock_secs";

/// The settings. From [`Vault::settings`](crate::Vault::settings) or
/// [`VaultTx::settings`](crate::VaultTx::settings).
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    scope: Scope<'a>,
}

impl<'a> Settings<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        Settings { scope }
    }

    /// Reads a (non-secret) setting. With the vault unlocked the value is checked against its
    /// MAC (`Tampered` if it was edited in the file); while locked it is returned unchecked.
    pub fn get(&self, name: &str) -> Result<Option<serde_json::Value>> {
        self.scope
            .read_maybe_locked(|conn, key| get(conn, key, name))
    }

    /// Writes a (non-secret) setting, such as policy. Administrator action.
    pub fn put(&self, session: &AdminSession, name: &str, value: &serde_json::Value) -> Result<()> {
        self.scope.check_admin(session, "changing settings")?;
        let text = serde_json::to_string(value)
            .map_err(|e| VaultError::InvalidInput(format!("setting value: {e}")))?;
        self.scope.write(|tx, key| {
            let version = tx.version();
            // Read unchecked: a value edited in the file is reported when read, not here.
            let before = get(tx.sql(), None, name)?;
            tx.sql().execute(
                "INSERT INTO settings (name, value, updated_at, mac, version)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value,
                                                   updated_at = excluded.updated_at,
                                                   mac = excluded.mac,
                                                   version = excluded.version",
                params![
                    name,
                    text,
                    now_ms(),
                    setting_mac(key, name, &text, version),
                    version
                ],
            )?;
            tx.record(
                NewActivity::new(Actor::Admin, "setting.change", name).detail({
                    let mut d = super::setting_changes::describe(before.as_ref(), value);
                    d["value"] = value.clone();
                    d
                }),
            )?;
            Ok(())
        })
    }

    /// Idle seconds after which the app locks the vault (default 600). Works while locked
    /// (unverified then; verified against its MAC while unlocked).
    pub fn auto_lock_secs(&self) -> Result<u64> {
        self.scope.read_maybe_locked(|conn, key| match key {
            None => read_auto_lock(conn),
            Some(key) => Ok(get(conn, Some(key), SETTING_AUTO_LOCK)?
                .and_then(|v| v.as_u64())
                .unwrap_or(DEFAULT_AUTO_LOCK_SECS)),
        })
    }

    /// Sets the idle time before the app locks (at least 30 s, at most 24 h). Administrator
    /// action.
    pub fn set_auto_lock_secs(&self, session: &AdminSession, secs: u64) -> Result<()> {
        if !(30..=86_400).contains(&secs) {
            return Err(VaultError::InvalidInput(
                "auto-lock time must be between 30 seconds and 24 hours".into(),
            ));
        }
        self.put(session, SETTING_AUTO_LOCK, &serde_json::json!(secs))
    }
}

fn get(conn: &Connection, key: Option<&Key256>, name: &str) -> Result<Option<serde_json::Value>> {
    let row: Option<(String, Option<Vec<u8>>, i64)> = conn
        .query_row(
            "SELECT value, mac, version FROM settings WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((text, mac, version)) = row else {
        return Ok(None);
    };
    if let Some(key) = key {
        if mac.as_deref() != Some(setting_mac(key, name, &text, version).as_slice()) {
            return Err(VaultError::Tampered {
                table: "settings".into(),
                row: name.to_owned(),
                column: "value".into(),
            });
        }
    }
    Ok(Some(
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    ))
}

/// The MAC of a setting written at `version` (0: written before versions existed).
pub(crate) fn setting_mac(key: &Key256, name: &str, value: &str, version: i64) -> Vec<u8> {
    let sub = crypto::subkey(key, "settings");
    let v = version.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![name.as_bytes(), value.as_bytes()];
    if version != 0 {
        parts.push(&v);
    }
    crypto::hmac_sha256(sub.bytes(), &parts).to_vec()
}

/// The auto-lock time without the vault key (unverified), for the timer of a locked vault.
pub(crate) fn read_auto_lock(conn: &Connection) -> Result<u64> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE name = ?1",
            [SETTING_AUTO_LOCK],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_AUTO_LOCK_SECS))
}
