//! The audit outbox: activity entries waiting to be forwarded to the organization's syslog
//! collector (wallet-core's `audit_forward` sends them).
//!
//! While the forwarding setting ([`SETTING_AUDIT_FORWARD`]) exists, [`crate::audit::append`]
//! copies every new entry into `audit_outbox` in the transaction that appends it, also while
//! the vault is locked, so no entry can be committed without its outbox row. Rows are deleted
//! once the collector has accepted them; `forward_state` keeps the last delivered sequence
//! number and the last error.
//!
//! Neither table is in the state commitment (`vault/state.rs`): delivery must work while
//! locked. Rows copied back from an older file are sent again, which the collector sees as
//! duplicates by `seq` (delivery is at least once anyway); deleted rows are still in the
//! hash-chained log, so `nuts-wallet audit export` can fill a gap.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::settings::setting_mac;
use super::Scope;
use crate::audit::{ActivityEntry, Actor, NewActivity};
use crate::clock::now_ms;
use crate::vault::AdminSession;
use crate::{Result, VaultError};

/// The setting holding the forwarding configuration (MAC-protected like every setting). Its
/// presence is what turns the outbox on.
pub const SETTING_AUDIT_FORWARD: &str = "audit_forward";

/// Activity action recorded when forwarding is configured (this entry is the first one sent).
pub const ACTION_CONFIGURE: &str = "audit.forward.configure";
/// Activity action recorded when forwarding is turned off.
pub const ACTION_OFF: &str = "audit.forward.off";

/// Longest error text kept in `forward_state`.
const MAX_ERROR_CHARS: usize = 500;

/// An entry waiting in the outbox: what a message is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The activity entry's sequence number.
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at_ms: i64,
    /// `admin`, `employee:<id>` or `system`.
    pub actor: String,
    /// Dotted verb.
    pub action: String,
    /// What it was about.
    pub subject: String,
    /// `success`, `failure` or `declined`.
    pub outcome: String,
    /// The detail JSON text as stored in the log (secret-free, see `audit.rs`).
    pub detail: String,
    /// Hex chain hash of the entry.
    pub hash: String,
}

/// How forwarding is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardStatus {
    /// Entries waiting in the outbox.
    pub pending: i64,
    /// Sequence number of the newest entry the collector accepted.
    pub last_delivered_seq: Option<i64>,
    /// Why the last attempt failed; `None` after a successful one.
    pub last_error: Option<String>,
    /// Unix ms of the last attempt.
    pub last_attempt_ms: Option<i64>,
}

/// The outbox. From [`Vault::audit_outbox`](crate::Vault::audit_outbox).
#[derive(Clone, Copy)]
pub struct AuditOutbox<'a> {
    scope: Scope<'a>,
}

impl<'a> AuditOutbox<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        AuditOutbox { scope }
    }

    /// The forwarding configuration, `None` when forwarding is off. Checked against its MAC
    /// while unlocked; unchecked while locked (so delivery goes on after auto-lock).
    pub fn config(&self) -> Result<Option<serde_json::Value>> {
        super::Settings::new(self.scope).get(SETTING_AUDIT_FORWARD)
    }

    /// Turns forwarding on with `config` (or changes it), recording [`ACTION_CONFIGURE`] with
    /// `detail`, or off (`None`), recording [`ACTION_OFF`] and emptying the outbox.
    /// Administrator action. Entries waiting when the configuration changes stay queued for
    /// the new collector.
    pub fn configure(
        &self,
        session: &AdminSession,
        config: Option<&serde_json::Value>,
        detail: serde_json::Value,
    ) -> Result<ActivityEntry> {
        self.scope
            .check_admin(session, "changing audit forwarding")?;
        self.scope.write(|tx, key| {
            let sql = tx.sql();
            match config {
                Some(value) => {
                    let text = serde_json::to_string(value)
                        .map_err(|e| VaultError::InvalidInput(format!("forwarding: {e}")))?;
                    let version = tx.version();
                    sql.execute(
                        "INSERT INTO settings (name, value, updated_at, mac, version)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value,
                                                           updated_at = excluded.updated_at,
                                                           mac = excluded.mac,
                                                           version = excluded.version",
                        params![
                            SETTING_AUDIT_FORWARD,
                            text,
                            now_ms(),
                            setting_mac(key, SETTING_AUDIT_FORWARD, &text, version),
                            version
                        ],
                    )?;
                    sql.execute(
                        "INSERT INTO forward_state (id) VALUES (1)
                         ON CONFLICT (id) DO UPDATE SET last_error = NULL",
                        [],
                    )?;
                    // Recorded after the setting exists: this entry is the first one queued.
                    tx.record(
                        NewActivity::new(Actor::Admin, ACTION_CONFIGURE, SETTING_AUDIT_FORWARD)
                            .detail(detail),
                    )
                }
                None => {
                    sql.execute(
                        "DELETE FROM settings WHERE name = ?1",
                        [SETTING_AUDIT_FORWARD],
                    )?;
                    sql.execute("DELETE FROM audit_outbox", [])?;
                    sql.execute("UPDATE forward_state SET last_error = NULL", [])?;
                    tx.record(
                        NewActivity::new(Actor::Admin, ACTION_OFF, SETTING_AUDIT_FORWARD)
                            .detail(detail),
                    )
                }
            }
        })
    }

    /// The oldest `limit` waiting entries, in log order. Works while locked.
    pub fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, at, actor, action, subject, outcome, detail, hash
                 FROM audit_outbox ORDER BY seq LIMIT ?1",
            )?;
            let rows = stmt.query_map([i64::from(limit)], |r| {
                Ok(OutboxEntry {
                    seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    outcome: r.get(5)?,
                    detail: r.get(6)?,
                    hash: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// Records that the collector accepted every entry up to `through_seq`: their rows go.
    /// Works while locked.
    pub fn delivered(&self, through_seq: i64) -> Result<()> {
        self.write_unkeyed(|conn| {
            conn.execute("DELETE FROM audit_outbox WHERE seq <= ?1", [through_seq])?;
            conn.execute(
                "INSERT INTO forward_state (id, last_delivered_seq, last_error, last_attempt)
                 VALUES (1, ?1, NULL, ?2)
                 ON CONFLICT (id) DO UPDATE SET
                     last_delivered_seq = max(coalesce(last_delivered_seq, 0), ?1),
                     last_error = NULL, last_attempt = ?2",
                params![through_seq, now_ms()],
            )?;
            Ok(())
        })
    }

    /// Records a failed attempt (the text must hold no secret). Works while locked.
    pub fn failed(&self, error: &str) -> Result<()> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        self.write_unkeyed(|conn| {
            conn.execute(
                "INSERT INTO forward_state (id, last_error, last_attempt) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET last_error = ?1, last_attempt = ?2",
                params![error, now_ms()],
            )?;
            Ok(())
        })
    }

    /// The number of waiting entries and how the last attempt went. Works while locked.
    pub fn status(&self) -> Result<ForwardStatus> {
        self.with_conn(|conn| {
            let pending: i64 =
                conn.query_row("SELECT count(*) FROM audit_outbox", [], |r| r.get(0))?;
            let row: Option<(Option<i64>, Option<String>, Option<i64>)> = conn
                .query_row(
                    "SELECT last_delivered_seq, last_error, last_attempt
                     FROM forward_state WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (last_delivered_seq, last_error, last_attempt_ms) = row.unwrap_or_default();
            Ok(ForwardStatus {
                pending,
                last_delivered_seq,
                last_error,
                last_attempt_ms,
            })
        })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self.scope {
            Scope::Vault(v) => f(&v.conn()),
            Scope::Tx(tx) => f(tx.sql()),
        }
    }

    /// A write transaction without the vault key: these tables are outside the state
    /// commitment, so no seal is checked or renewed (and the keyring anchor is not touched on
    /// every delivery).
    fn write_unkeyed(&self, f: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
        match self.scope {
            Scope::Vault(v) => {
                let mut conn = v.conn();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                f(&tx)?;
                tx.commit()?;
                Ok(())
            }
            Scope::Tx(tx) => f(tx.sql()),
        }
    }
}

/// Queues `e` when forwarding is on; called by [`crate::audit::append`] in its transaction.
pub(crate) fn enqueue(conn: &Connection, e: &ActivityEntry, detail: &str) -> Result<()> {
    let n = conn.execute(
        "INSERT INTO audit_outbox (seq, at, actor, action, subject, outcome, detail, hash)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
         WHERE EXISTS (SELECT 1 FROM settings WHERE name = ?9)",
        params![
            e.seq,
            e.at_ms,
            e.actor,
            e.action,
            e.subject,
            e.outcome,
            detail,
            e.hash,
            SETTING_AUDIT_FORWARD
        ],
    )?;
    if n > 0 {
        notify();
    }
    Ok(())
}

/// Counts entries queued in this process, for [`wait_for_entries`].
static NEW_ENTRIES: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

/// Wakes every [`wait_for_entries`] of this process (also used to stop a forwarder).
pub fn notify() {
    let (m, cv) = &NEW_ENTRIES;
    *m.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    cv.notify_all();
}

/// Waits until an entry was queued in this process after `seen` (a value this function
/// returned before; 0 at first) or `timeout` passed; returns the new value. The wake-up may
/// come just before the appending transaction commits: read the outbox through the same
/// [`Vault`](crate::Vault) handle (whose connection the transaction holds) or a moment later.
/// Entries queued by other processes are only seen at the timeout.
pub fn wait_for_entries(seen: u64, timeout: Duration) -> u64 {
    let (m, cv) = &NEW_ENTRIES;
    let guard = m.lock().unwrap_or_else(PoisonError::into_inner);
    let (guard, _) = cv
        .wait_timeout_while(guard, timeout, |n| *n == seen)
        .unwrap_or_else(PoisonError::into_inner);
    *guard
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{append, Actor, NewActivity};

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut c).unwrap();
        c.execute(
            "INSERT INTO vault_meta (id, vault_id, created_at) VALUES (1, 'v', 0)",
            [],
        )
        .unwrap();
        c
    }

    fn add(c: &mut Connection, action: &str) {
        let tx = c.transaction().unwrap();
        append(&tx, "v", None, &NewActivity::new(Actor::Admin, action, "s")).unwrap();
        tx.commit().unwrap();
    }

    fn queued(c: &Connection) -> Vec<(i64, String)> {
        c.prepare("SELECT seq, action FROM audit_outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn entries_are_queued_only_while_forwarding_is_configured() {
        let mut c = db();
        add(&mut c, "before");
        assert!(queued(&c).is_empty());
        c.execute(
            "INSERT INTO settings (name, value, updated_at) VALUES (?1, '{}', 0)",
            [SETTING_AUDIT_FORWARD],
        )
        .unwrap();
        add(&mut c, "after.one");
        add(&mut c, "after.two");
        assert_eq!(
            queued(&c),
            [(2, "after.one".to_owned()), (3, "after.two".to_owned())]
        );
    }

    #[test]
    fn a_rolled_back_append_leaves_no_outbox_row() {
        let mut c = db();
        c.execute(
            "INSERT INTO settings (name, value, updated_at) VALUES (?1, '{}', 0)",
            [SETTING_AUDIT_FORWARD],
        )
        .unwrap();
        {
            let tx = c.transaction().unwrap();
            append(&tx, "v", None, &NewActivity::new(Actor::Admin, "x", "s")).unwrap();
            // Dropped without commit.
        }
        assert!(queued(&c).is_empty());
        let n: i64 = c
            .query_row("SELECT count(*) FROM activity", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
