//! Nuts Wallet's encrypted vault: the one place where keys, credentials, the employee roster,
//! tokens, settings and the activity log are stored. Tauri-free; the app and the CLI call it.
//!
//! - One SQLite file (`vault.db`, WAL mode) in the data directory, schema migrated as an
//!   ordered ladder on `user_version` ([`schema`]). A file that cannot be used is never
//!   deleted or overwritten: the error says what is wrong.
//! - Envelope encryption ([`crypto`]): a random 256-bit vault key seals every sensitive value
//!   with XChaCha20-Poly1305, bound to its table, row and column. The vault key is stored only
//!   wrapped, by a key in the OS keyring ([`keystore`]) or by an Argon2id passphrase key.
//! - Roles: unlocking opens the vault for employees; administrator actions additionally need
//!   an [`AdminSession`], obtained with the administrator passphrase.
//! - Signing keys (P-256 / ES256) never leave the crate: [`VaultSigner`] implements
//!   [`wallet_protocol::signer::Signer`].
//! - Records are reached through one repository per record type, over one connection and one
//!   transaction type ([`VaultTx`]): [`Vault::credentials`], [`Vault::keys`],
//!   [`Vault::employees`], [`Vault::settings`], [`Vault::tokens`], [`Vault::activity_log`];
//!   [`Vault::with_tx`] runs several changes in one transaction.
//! - A hash-chained activity log ([`audit`]), written in the same transaction as each change.
//! - Encrypted backups that restore into an empty data directory on another machine.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use wallet_vault::*;
//! # fn main() -> wallet_vault::Result<()> {
//! let dir = std::path::Path::new("/tmp/nuts-wallet-example");
//! let keystore: Arc<dyn KeyStore> = Arc::new(OsKeyring::new());
//! let vault = Vault::create(dir, keystore.clone(), CreateOptions {
//!     protection: Protection::Keyring,
//!     admin_passphrase: Passphrase::from("administrator passphrase"),
//!     admin_kdf: KdfParams::DEFAULT,
//! })?;
//! vault.lock();
//! let vault = Vault::open(dir, keystore)?;
//! vault.unlock(Unlock::Keyring)?;
//! let admin = vault.admin_session(&Passphrase::from("administrator passphrase"))?;
//! let key = vault.keys().generate(&admin, "organization", "organization")?;
//! let signer = vault.keys().signer(&key.id)?;
//! # let _ = signer; Ok(()) }
//! ```

pub mod audit;
mod backup;
mod clock;
pub mod crypto;
mod error;

mod keys;
pub mod keystore;
mod repo;
pub mod schema;
mod secret;
mod vault;

pub use audit::{
    ActivityEntry, ActivityFilter, Actor, AuditReport, BadEntry, NewActivity, Outcome,
};
#[doc(hidden)]
pub use backup::fuzz_read_backup;
pub use backup::{BackupInfo, RestoreOptions};
pub use clock::format_rfc3339_ms;
pub use crypto::KdfParams;
pub use error::{PassphraseKind, Result, VaultError};
pub use keys::{jwk_thumbprint, KeyInfo, ES256};
pub use keystore::{KeyStore, KeyStoreError, MemoryKeyStore, OsKeyring, DEFAULT_KEYRING_SERVICE};
pub use repo::{outbox, AuditOutbox, ForwardStatus, OutboxEntry};
pub use repo::{
    ActivityLog, Credential, CredentialFilter, CredentialListing, CredentialMeta, Credentials,
    Employee, EmployeeUpdate, Employees, Keys, NewCredential, NewEmployee, NewToken, Replay,
    Settings, Token, Tokens, VaultSigner,
};
pub use secret::{Key256, Passphrase, SecretString};
pub use vault::{
    db_path, AdminSession, CreateOptions, Protection, Unlock, Vault, VaultStatus, VaultTx,
    ADMIN_SESSION_TTL, APPLICATION_ID, DB_FILE, DEFAULT_AUTO_LOCK_SECS, MIN_PASSPHRASE_CHARS,
};

/// Re-exported so other crates can use [`VaultTx::sql`] without their own rusqlite version.
pub use rusqlite;
