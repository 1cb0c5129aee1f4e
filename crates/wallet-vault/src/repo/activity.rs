//! The activity log as a repository: record, list and verify. The hash chain itself is in
//! [`crate::audit`].

use super::Scope;
use crate::audit::{self, ActivityEntry, ActivityFilter, AuditReport, NewActivity};
use crate::Result;

/// The activity log. From [`Vault::activity_log`](crate::Vault::activity_log) or
/// [`VaultTx::activity_log`](crate::VaultTx::activity_log).
#[derive(Clone, Copy)]
pub struct ActivityLog<'a> {
    scope: Scope<'a>,
}

impl<'a> ActivityLog<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        ActivityLog { scope }
    }

    /// Appends an entry (on the vault: on its own, for actions that change nothing in it, like
    /// a presentation sent). Needs the vault unlocked.
    pub fn record(&self, entry: NewActivity) -> Result<ActivityEntry> {
        self.scope.write(|tx, _| tx.record(entry))
    }

    /// Lists entries, newest first. Needs the vault unlocked.
    pub fn list(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEntry>> {
        self.scope.read(|conn, _| audit::list(conn, filter))
    }

    /// Verifies the hash chain; with the vault unlocked, also the sealed anchor that detects
    /// entries cut off the end.
    pub fn verify(&self) -> Result<AuditReport> {
        let vault_id = self.scope.vault().vault_id();
        self.scope
            .read_maybe_locked(|conn, key| audit::verify(conn, vault_id, key))
    }
}
