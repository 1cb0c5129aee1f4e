//! Repositories: one per record type, over the vault's one connection and its one transaction
//! type ([`VaultTx`]).
//!
//! | repository                   | records                                   |
//! |------------------------------|-------------------------------------------|
//! | [`Vault::credentials`]       | verifiable credentials                    |
//! | [`Vault::keys`]              | signing keys and their [`VaultSigner`]    |
//! | [`Vault::employees`]         | the employee roster                       |
//! | [`Vault::settings`]          | MAC-protected settings (policy, auto-lock)|
//! | [`Vault::tokens`]            | cached tokens and the API key             |
//! | [`Vault::activity_log`]      | the hash-chained activity log             |
//! | [`Vault::replay`]            | handled one-time values, until they expire|
//! | [`Vault::audit_outbox`]      | entries waiting for the syslog collector  |
//!
//! Reached from the [`Vault`], a read uses the connection and each write is its own
//! `IMMEDIATE` transaction. Reached from a [`VaultTx`] (inside [`Vault::with_tx`]), reads and
//! writes run in that transaction, so several changes and their activity entries commit
//! together or not at all:
//!
//! ```no_run
//! # fn f(vault: &wallet_vault::Vault, admin: &wallet_vault::AdminSession) -> wallet_vault::Result<()> {
//! vault.with_tx(|tx| {
//!     let key = tx.keys().generate(admin, "employee", "employee")?;
//!     tx.keys().set_kid(admin, &key.id, "did:web:example.com#employee")?;
//!     Ok(())
//! })
//! # }
//! ```
//!
//! Inside `with_tx`, use only `tx`: the vault's connection is held by the transaction, so a
//! call on the [`Vault`] itself (or signing with a [`VaultSigner`]) would wait for it forever.
//!
//! [`VaultSigner`]: crate::VaultSigner

mod activity;
mod credentials;
mod employees;
mod keys;
pub mod outbox;
mod replay;
mod setting_changes;
mod settings;
mod tokens;

pub use activity::ActivityLog;
pub use credentials::{
    Credential, CredentialFilter, CredentialListing, CredentialMeta, Credentials, NewCredential,
};
pub use employees::{Employee, EmployeeUpdate, Employees, NewEmployee};
pub use keys::{Keys, VaultSigner};
pub use outbox::{AuditOutbox, ForwardStatus, OutboxEntry};
pub use replay::Replay;
pub use settings::Settings;
pub(crate) use settings::{read_auto_lock, setting_mac, SETTING_AUTO_LOCK};
pub use tokens::{NewToken, Token, Tokens};

use rusqlite::Connection;

use crate::audit::{Actor, NewActivity};
use crate::secret::Key256;
use crate::vault::{AdminSession, Vault, VaultTx};
use crate::{Result, VaultError};

/// Where a repository reads and writes: the vault (a transaction per write) or an open
/// transaction.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    Vault(&'a Vault),
    Tx(&'a VaultTx<'a>),
}

impl<'a> Scope<'a> {
    pub(crate) fn vault(self) -> &'a Vault {
        match self {
            Scope::Vault(v) => v,
            Scope::Tx(tx) => tx.vault(),
        }
    }

    /// Runs `f` on the connection with the vault key; `Locked` without it.
    pub(crate) fn read<T>(self, f: impl FnOnce(&Connection, &Key256) -> Result<T>) -> Result<T> {
        match self {
            Scope::Vault(v) => {
                let key = v.key()?;
                let conn = v.conn();
                v.checked_state(&conn, &key)?;
                f(&conn, &key)
            }
            Scope::Tx(tx) => f(tx.sql(), tx.vault_key()?),
        }
    }

    /// Runs `f` on the connection with the vault key when unlocked (for data that is readable,
    /// unverified, while locked).
    pub(crate) fn read_maybe_locked<T>(
        self,
        f: impl FnOnce(&Connection, Option<&Key256>) -> Result<T>,
    ) -> Result<T> {
        match self {
            Scope::Vault(v) => {
                let key = v.state().key.as_ref().map(Key256::duplicate);
                let conn = v.conn();
                if let Some(key) = &key {
                    v.checked_state(&conn, key)?;
                }
                f(&conn, key.as_ref())
            }
            Scope::Tx(tx) => f(tx.sql(), tx.vault_key().ok()),
        }
    }

    /// Runs `f` in a write transaction with the vault key; `Locked` without it.
    pub(crate) fn write<T>(self, f: impl FnOnce(&VaultTx<'_>, &Key256) -> Result<T>) -> Result<T> {
        match self {
            Scope::Vault(v) => v.write(|tx, key| f(tx, key)),
            Scope::Tx(tx) => f(tx, tx.vault_key()?),
        }
    }

    /// Checks that `session` is a live administrator session of this vault.
    pub(crate) fn check_admin(self, session: &AdminSession, action: &'static str) -> Result<()> {
        self.vault().check_admin(session, action)
    }
}

impl Vault {
    /// The stored credentials.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::new(Scope::Vault(self))
    }

    /// The signing keys.
    pub fn keys(&self) -> Keys<'_> {
        Keys::new(Scope::Vault(self))
    }

    /// The employee roster.
    pub fn employees(&self) -> Employees<'_> {
        Employees::new(Scope::Vault(self))
    }

    /// The settings (administrator policy, auto-lock time).
    pub fn settings(&self) -> Settings<'_> {
        Settings::new(Scope::Vault(self))
    }

    /// The token cache (access tokens, the loopback API key).
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens::new(Scope::Vault(self))
    }

    /// The replay memory (request-object nonces already handled).
    pub fn replay(&self) -> Replay<'_> {
        Replay::new(Scope::Vault(self))
    }

    /// The activity log.
    pub fn activity_log(&self) -> ActivityLog<'_> {
        ActivityLog::new(Scope::Vault(self))
    }

    /// The audit outbox (entries waiting for the organization's syslog collector).
    pub fn audit_outbox(&self) -> AuditOutbox<'_> {
        AuditOutbox::new(Scope::Vault(self))
    }
}

impl<'t> VaultTx<'t> {
    /// The stored credentials, in this transaction.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::new(Scope::Tx(self))
    }

    /// The signing keys, in this transaction.
    pub fn keys(&self) -> Keys<'_> {
        Keys::new(Scope::Tx(self))
    }

    /// The employee roster, in this transaction.
    pub fn employees(&self) -> Employees<'_> {
        Employees::new(Scope::Tx(self))
    }

    /// The settings, in this transaction.
    pub fn settings(&self) -> Settings<'_> {
        Settings::new(Scope::Tx(self))
    }

    /// The token cache, in this transaction.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens::new(Scope::Tx(self))
    }

    /// The activity log, in this transaction.
    pub fn activity_log(&self) -> ActivityLog<'_> {
        ActivityLog::new(Scope::Tx(self))
    }
}

/// Deletes row `id` of `table` and records the administrator's `action` in the same
/// transaction; `NotFound { kind }` when there is no such row.
pub(crate) fn delete_logged(
    tx: &VaultTx<'_>,
    table: &'static str,
    kind: &'static str,
    action: &str,
    id: &str,
) -> Result<()> {
    let n = tx
        .sql()
        .execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
    if n == 0 {
        return Err(VaultError::NotFound {
            kind,
            id: id.to_owned(),
        });
    }
    tx.record(NewActivity::new(Actor::Admin, action, id))?;
    Ok(())
}
