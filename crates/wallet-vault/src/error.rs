//! The vault's error type. Every variant is one the app, the CLI or another crate can act on;
//! messages name what is wrong and never contain a secret (no key, passphrase, token or
//! decrypted value).

use std::path::PathBuf;

/// Result with [`VaultError`].
pub type Result<T> = std::result::Result<T, VaultError>;

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No vault exists in the data directory yet (run setup / `nuts-wallet init`).
    #[error("no vault in {0}: set one up first (nuts-wallet init)")]
    NotInitialized(PathBuf),
    /// A vault already exists where a new one was to be created or restored.
    #[error("a vault already exists in {0}; it was left untouched")]
    AlreadyInitialized(PathBuf),
    /// The operation needs the vault unlocked.
    #[error("the vault is locked")]
    Locked,
    /// The passphrase (vault, administrator or backup) is not the right one.
    #[error("wrong {0} passphrase")]
    WrongPassphrase(PassphraseKind),
    /// The operation is an administrator action and no valid administrator session was given.
    #[error("administrator passphrase required: {0}")]
    AdminRequired(&'static str),
    /// The OS keyring cannot be reached (no Secret Service, locked collection, denied access).
    #[error("OS keyring unavailable: {0}")]
    KeyringUnavailable(String),
    /// The OS keyring is reachable but does not hold this vault's key (e.g. after moving the
    /// data directory to another machine or user account).
    #[error("the OS keyring has no key for this vault (entry {0}); unlock with the passphrase or restore a backup")]
    KeyringEntryMissing(String),
    /// The database was written by a newer version of Nuts Wallet.
    #[error("the vault database has schema version {found}, newer than this program supports ({supported}); update Nuts Wallet. The file was left untouched")]
    NewerSchema {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The database file cannot be used as it is; it was left untouched.
    #[error("the vault database {path} cannot be opened: {detail}. The file was left untouched")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite or the schema check said.
        detail: String,
    },
    /// An encrypted value failed authentication: it was edited, truncated or moved from another
    /// row or column. No data is returned.
    #[error("encrypted value {table}.{column} of row {row} failed authentication (edited, damaged or moved); refusing to use it")]
    Tampered {
        /// Table of the value.
        table: String,
        /// Row id of the value.
        row: String,
        /// Column of the value.
        column: String,
    },
    /// The activity log no longer matches its sealed anchor (entries were cut off its end or
    /// changed); nothing more is appended to it. Restore a backup to continue.
    #[error(
        "the activity log was tampered with: {0}; refusing to append to it (restore a backup)"
    )]
    LogTampered(String),
    /// Records of the vault do not match its sealed state commitment: rows were changed in the
    /// file or copied back from an older copy of it. Nothing is read from or written to them.
    #[error("{0}; refusing to use the vault (restore a backup)")]
    StateMismatch(String),
    /// The whole vault file is older than the state recorded in the OS keyring: it was
    /// replaced by an older copy.
    #[error("the vault file was rolled back: it holds state {file}, but the OS keyring recorded state {anchor}; refusing to use it (restore a backup, or move this file aside and restore the newest backup)")]
    RolledBack {
        /// Sequence number in the file.
        file: i64,
        /// Sequence number recorded in the keyring.
        anchor: i64,
    },
    /// A backup file is damaged or not a Nuts Wallet backup.
    #[error("backup file is damaged or not a Nuts Wallet backup: {0}")]
    BackupDamaged(String),
    /// A record was not found.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A record with the same identity exists already.
    #[error("{kind} {id} already exists")]
    Duplicate {
        /// What kind of record.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The caller passed something unusable (bad key file, secret in an activity detail, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite failed in a way not covered above.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
}

/// Which passphrase was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphraseKind {
    /// The passphrase that unlocks the vault.
    Vault,
    /// The administrator passphrase.
    Admin,
    /// The passphrase of a backup file.
    Backup,
}

impl std::fmt::Display for PassphraseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PassphraseKind::Vault => "vault",
            PassphraseKind::Admin => "administrator",
            PassphraseKind::Backup => "backup",
        })
    }
}

impl VaultError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        VaultError::Io {
            context: context.into(),
            source,
        }
    }

    /// A stable, machine-readable code for the UI and the CLI's JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::NotInitialized(_) => "not_initialized",
            VaultError::AlreadyInitialized(_) => "already_initialized",
            VaultError::Locked => "locked",
            VaultError::WrongPassphrase(_) => "wrong_passphrase",
            VaultError::AdminRequired(_) => "admin_required",
            VaultError::KeyringUnavailable(_) => "keyring_unavailable",
            VaultError::KeyringEntryMissing(_) => "keyring_entry_missing",
            VaultError::NewerSchema { .. } => "newer_schema",
            VaultError::Corrupt { .. } => "corrupt",
            VaultError::Tampered { .. } => "tampered",
            // The UI already explains `tampered`: a value of the vault was changed behind its back.
            VaultError::LogTampered(_) => "tampered",
            VaultError::StateMismatch(_) | VaultError::RolledBack { .. } => "tampered",
            VaultError::BackupDamaged(_) => "backup_damaged",
            VaultError::NotFound { .. } => "not_found",
            VaultError::Duplicate { .. } => "duplicate",
            VaultError::InvalidInput(_) => "invalid_input",
            VaultError::Io { .. } => "io",
            VaultError::Database(_) => "database",
        }
    }
}
