//! [`VaultTx`]: the one write transaction type.

use super::Vault;
use crate::audit::{self, ActivityEntry, NewActivity};
use crate::crypto::{self, Place};
use crate::secret::Key256;
use crate::{Result, VaultError};

/// A write transaction on the vault, with helpers to seal and open values bound to their
/// place and to record activity in the same transaction.
pub struct VaultTx<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
    pub(super) key: Option<&'a Key256>,
    pub(super) vault: &'a Vault,
    /// The version every record written in this transaction gets (the new state sequence
    /// number; 0 for a write without the key).
    pub(super) version: i64,
}

impl<'a> VaultTx<'a> {
    /// The SQL transaction, for the caller's own statements.
    pub fn sql(&self) -> &rusqlite::Transaction<'_> {
        &self.tx
    }

    /// Seals `plaintext` for (table, row, column).
    pub fn seal(&self, table: &str, row: &str, column: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let key = self.key.ok_or(VaultError::Locked)?;
        Ok(crypto::seal(
            key,
            Place::new(table, row, column).versioned(self.version),
            plaintext,
        ))
    }

    /// Opens a value sealed for (table, row, column) at `version` (as returned by
    /// [`VaultTx::version`] when it was sealed); `Tampered` if it fails authentication.
    pub fn open(
        &self,
        table: &str,
        row: &str,
        column: &str,
        version: i64,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let key = self.key.ok_or(VaultError::Locked)?;
        crypto::open(
            key,
            Place::new(table, row, column).versioned(version),
            sealed,
        )
    }

    /// The version records written in this transaction get; [`VaultTx::seal`] binds it into
    /// the sealed value, so it must be stored beside it.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Appends an activity entry in this transaction.
    pub fn record(&self, entry: NewActivity) -> Result<ActivityEntry> {
        audit::append(&self.tx, &self.vault.inner.vault_id, self.key, &entry)
    }

    pub(crate) fn vault(&self) -> &'a Vault {
        self.vault
    }

    /// The vault key this transaction writes with; `Locked` without it.
    pub(crate) fn vault_key(&self) -> Result<&'a Key256> {
        self.key.ok_or(VaultError::Locked)
    }
}
