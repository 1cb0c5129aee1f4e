//! Replay memory: one-time values (request-object nonces) already handled, kept until they
//! expire so that a replay is refused by every process and after a restart. Rows hold a
//! SHA-256 of the value, not the value, and are evicted by expiry only (never wholesale).

use rusqlite::params;
use sha2::{Digest, Sha256};

use super::Scope;
use crate::Result;

/// The replay memory. From [`Vault::replay`](crate::Vault::replay).
#[derive(Clone, Copy)]
pub struct Replay<'a> {
    scope: Scope<'a>,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        Replay { scope }
    }

    /// Records `value` in `kind` until `expires_at` (unix seconds); `false` when it is already
    /// recorded and not expired at `now`. Expired rows are removed in the same transaction.
    /// Needs the vault unlocked.
    pub fn first_use(&self, kind: &str, value: &str, now: i64, expires_at: i64) -> Result<bool> {
        let digest = Sha256::digest(value.as_bytes()).to_vec();
        self.scope.write(|tx, _key| {
            tx.sql().execute(
                "DELETE FROM seen_values WHERE expires_at <= ?1",
                params![now],
            )?;
            let inserted = tx.sql().execute(
                "INSERT OR IGNORE INTO seen_values (kind, digest, expires_at) VALUES (?1, ?2, ?3)",
                params![kind, digest, expires_at],
            )?;
            Ok(inserted == 1)
        })
    }
}
