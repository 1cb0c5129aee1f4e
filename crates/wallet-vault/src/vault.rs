//! The [`Vault`]: one SQLite file in the data directory, its vault key, and the lifecycle
//! around them (create, open, unlock, lock, status, administrator sessions), and the one
//! transaction type [`VaultTx`]. The records are reached through repositories (`repo/`).
//!
//! The vault key is a random 256-bit key held in memory only while unlocked. On disk it exists
//! only wrapped (`key_wraps`): by a key-encryption key in the OS keyring, or by an Argon2id key
//! derived from a passphrase. Backups live in `backup.rs`.
//!
//! Opening never deletes, recreates or "repairs" an existing database: a file that cannot be
//! used gives a typed error and stays as it is.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::audit::{self, ActivityEntry, Actor, NewActivity, Outcome};
use crate::clock::now_ms;
use crate::crypto::{self, KdfParams, Place};
use crate::keystore::KeyStore;
use crate::repo::{read_auto_lock, setting_mac, SETTING_AUTO_LOCK};
use crate::schema;
use crate::secret::{random_bytes, random_id, Key256, Passphrase};
use crate::{PassphraseKind, Result, VaultError};

/// File name of the vault database inside the data directory.
pub const DB_FILE: &str = "vault.db";
/// SQLite `application_id` marking a Nuts Wallet vault ("NUTS").
pub const APPLICATION_ID: i32 = 0x4E55_5453;
/// How long an administrator session lasts.
pub const ADMIN_SESSION_TTL: Duration = Duration::from_secs(15 * 60);
/// Default idle time before the app locks the vault.
pub const DEFAULT_AUTO_LOCK_SECS: u64 = 600;
/// Shortest passphrase accepted for the vault, the administrator and backups.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// How the vault key is protected at rest.
pub enum Protection {
    /// By a random key in the OS keyring (unlocks without typing anything).
    Keyring,
    /// By a key derived from a passphrase with Argon2id.
    Passphrase {
        /// The passphrase.
        passphrase: Passphrase,
        /// Argon2id cost ([`KdfParams::DEFAULT`] for real use).
        kdf: KdfParams,
    },
}

impl Protection {
    /// Passphrase protection with the default Argon2id cost.
    pub fn passphrase(passphrase: Passphrase) -> Self {
        Protection::Passphrase {
            passphrase,
            kdf: KdfParams::DEFAULT,
        }
    }

    fn method(&self) -> &'static str {
        match self {
            Protection::Keyring => "keyring",
            Protection::Passphrase { .. } => "passphrase",
        }
    }
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.method())
    }
}

/// How to unlock.
#[derive(Debug, Clone, Copy)]
pub enum Unlock<'a> {
    /// With the key in the OS keyring.
    Keyring,
    /// With the vault passphrase.
    Passphrase(&'a Passphrase),
}

/// What [`Vault::create`] needs.
#[derive(Debug)]
pub struct CreateOptions {
    /// How the vault key is protected.
    pub protection: Protection,
    /// The administrator passphrase (required; admin actions need it).
    pub admin_passphrase: Passphrase,
    /// Argon2id cost of the administrator verifier.
    pub admin_kdf: KdfParams,
}

/// Proof that the administrator passphrase was given recently on this vault. Required by every
/// administrator action. It cannot be built outside this crate, expires after
/// [`ADMIN_SESSION_TTL`], and becomes invalid when the vault is locked.
pub struct AdminSession {
    vault_id: String,
    epoch: u64,
    expires: Instant,
}

impl std::fmt::Debug for AdminSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSession")
            .field("vault_id", &self.vault_id)
            .finish_non_exhaustive()
    }
}

/// What the UI and `nuts-wallet status` show.
#[derive(Debug, Clone, Serialize)]
pub struct VaultStatus {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Random id of this vault (kept across backup and restore).
    pub vault_id: String,
    /// Schema version of the file.
    pub schema_version: i64,
    /// Whether the vault key is out of memory.
    pub locked: bool,
    /// How the vault key is protected: `keyring` and/or `passphrase`.
    pub protection: Vec<String>,
    /// Whether an administrator passphrase is set.
    pub admin_passphrase_set: bool,
    /// Idle seconds before the app locks.
    pub auto_lock_secs: u64,
    /// Stored credentials.
    pub credentials: i64,
    /// Roster entries.
    pub employees: i64,
    /// Stored keys.
    pub keys: i64,
    /// Activity log entries.
    pub activity_entries: i64,
    /// Unix ms of creation.
    pub created_at_ms: i64,
}

pub(crate) struct State {
    pub key: Option<Key256>,
    pub epoch: u64,
    /// Last time the vault key was used (for the app's idle auto-lock).
    pub last_used: Instant,
}

pub(crate) struct Inner {
    pub data_dir: PathBuf,
    pub db_path: PathBuf,
    pub vault_id: String,
    pub conn: Mutex<Connection>,
    pub state: Mutex<State>,
    pub keystore: Arc<dyn KeyStore>,
}

/// The vault. Cheap to clone (a handle); `Send + Sync`, so the app can keep one in its state.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("db", &self.inner.db_path)
            .field("locked", &self.is_locked())
            .finish_non_exhaustive()
    }
}

/// The database file of a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

fn corrupt(path: &Path, detail: impl Into<String>) -> VaultError {
    VaultError::Corrupt {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// Maps SQLite errors met while opening to `Corrupt` when they mean "this file is unusable".
fn open_error(path: &Path, e: rusqlite::Error) -> VaultError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => corrupt(path, "the file is not an SQLite database"),
        Some(ErrorCode::DatabaseCorrupt) => corrupt(path, "SQLite reports the file is corrupt"),
        Some(ErrorCode::CannotOpen) => corrupt(path, format!("cannot open the file: {e}")),
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::PermissionDenied) => {
            corrupt(path, format!("the file is not writable: {e}"))
        }
        _ => VaultError::Database(e),
    }
}

/// Opens a connection with the vault's pragmas and migrates it.
pub(crate) fn open_connection(path: &Path, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| open_error(path, e))?;
    // The first read of the file happens here; a non-database fails without being written to.
    let (version, app_id, tables): (i64, i32, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT application_id FROM pragma_application_id),
                    (SELECT count(*) FROM sqlite_master)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| open_error(path, e))?;
    if version == 0 && tables > 0 || version > 0 && app_id != APPLICATION_ID {
        return Err(corrupt(
            path,
            "it is an SQLite database but not a Nuts Wallet vault",
        ));
    }
    if version > schema::LATEST {
        return Err(VaultError::NewerSchema {
            found: version,
            supported: schema::LATEST,
        });
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(corrupt(path, format!("cannot switch to WAL mode ({mode})")));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
    )
    .map_err(|e| open_error(path, e))?;
    if version == 0 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// A wrap of the vault key as stored in `key_wraps`.
pub(crate) struct WrapRow {
    pub id: String,
    pub method: &'static str,
    pub keyring_service: Option<String>,
    pub keyring_account: Option<String>,
    pub kdf_params: Option<String>,
    pub kdf_salt: Option<Vec<u8>>,
    pub wrapped_key: Vec<u8>,
}

fn wrap_place(id: &str) -> Place<'_> {
    Place::new("key_wraps", id, "wrapped_key")
}

/// Wraps `vault_key` per `protection`. For the keyring, the new KEK is already stored there
/// when this returns; callers delete it (`keyring_account`) if their transaction fails.
pub(crate) fn make_wrap(
    keystore: &dyn KeyStore,
    vault_key: &Key256,
    protection: &Protection,
) -> Result<WrapRow> {
    let id = random_id();
    match protection {
        Protection::Keyring => {
            let kek = Key256::random();
            let account = format!("vault-key-{id}");
            keystore.put(&account, &kek)?;
            // Read it back: a keyring that silently drops entries must fail now, not at the
            // next unlock.
            let back = keystore.get(&account)?;
            if back.bytes() != kek.bytes() {
                let _ = keystore.delete(&account);
                return Err(VaultError::KeyringUnavailable(
                    "the keyring returned a different key than was stored".into(),
                ));
            }
            let wrapped_key = crypto::seal(&kek, wrap_place(&id), vault_key.bytes());
            Ok(WrapRow {
                id,
                method: "keyring",
                keyring_service: Some(keystore.kind().to_owned()),
                keyring_account: Some(account),
                kdf_params: None,
                kdf_salt: None,
                wrapped_key,
            })
        }
        Protection::Passphrase { passphrase, kdf } => {
            check_passphrase_strength(passphrase, "vault")?;
            let salt = random_bytes::<16>().to_vec();
            let kek = crypto::derive_key(passphrase, &salt, kdf)?;
            let wrapped_key = crypto::seal(&kek, wrap_place(&id), vault_key.bytes());
            Ok(WrapRow {
                id,
                method: "passphrase",
                keyring_service: None,
                keyring_account: None,
                kdf_params: Some(serde_json::to_string(kdf).unwrap_or_default()),
                kdf_salt: Some(salt),
                wrapped_key,
            })
        }
    }
}

pub(crate) fn insert_wrap(tx: &rusqlite::Transaction<'_>, w: &WrapRow) -> Result<()> {
    tx.execute(
        "INSERT INTO key_wraps (id, method, keyring_service, keyring_account, kdf_params,
                                kdf_salt, wrapped_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            w.id,
            w.method,
            w.keyring_service,
            w.keyring_account,
            w.kdf_params,
            w.kdf_salt,
            w.wrapped_key,
            now_ms()
        ],
    )?;
    Ok(())
}

pub(crate) fn check_passphrase_strength(p: &Passphrase, what: &str) -> Result<()> {
    if p.char_len() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the {what} passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(())
}

/// id, keyring account, KDF parameters, salt, wrapped key.
type WrapQueryRow = (
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Vec<u8>,
);

/// Tries every wrap of the requested method; returns the vault key.
pub(crate) fn unwrap_vault_key(
    conn: &Connection,
    keystore: &dyn KeyStore,
    how: Unlock<'_>,
) -> Result<Key256> {
    let method = match how {
        Unlock::Keyring => "keyring",
        Unlock::Passphrase(_) => "passphrase",
    };
    let mut stmt = conn.prepare(
        "SELECT id, keyring_account, kdf_params, kdf_salt, wrapped_key
         FROM key_wraps WHERE method = ?1 ORDER BY created_at",
    )?;
    let rows: Vec<WrapQueryRow> = stmt
        .query_map([method], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    if rows.is_empty() {
        return Err(VaultError::InvalidInput(format!(
            "this vault is not protected by {}",
            match how {
                Unlock::Keyring => "the OS keyring; unlock it with the passphrase",
                Unlock::Passphrase(_) => "a passphrase; unlock it with the OS keyring",
            }
        )));
    }
    let mut last_err = None;
    for (id, account, params, salt, wrapped) in rows {
        let kek = match how {
            Unlock::Keyring => {
                let account = account.unwrap_or_default();
                match keystore.get(&account) {
                    Ok(k) => k,
                    Err(e) => {
                        last_err = Some(e.into());
                        continue;
                    }
                }
            }
            Unlock::Passphrase(p) => {
                let params: KdfParams = serde_json::from_str(params.as_deref().unwrap_or(""))
                    .map_err(|_| VaultError::Tampered {
                        table: "key_wraps".into(),
                        row: id.clone(),
                        column: "kdf_params".into(),
                    })?;
                crypto::derive_key(p, salt.as_deref().unwrap_or(&[]), &params)?
            }
        };
        match crypto::open(&kek, wrap_place(&id), &wrapped) {
            Ok(plain) => {
                return Key256::from_slice(&plain).ok_or_else(|| wrap_place(&id).tampered());
            }
            Err(e) => {
                last_err = Some(match how {
                    Unlock::Passphrase(_) => VaultError::WrongPassphrase(PassphraseKind::Vault),
                    // The keyring gave a key, but it does not open the wrap.
                    Unlock::Keyring => e,
                });
            }
        }
    }
    Err(last_err.unwrap_or(VaultError::Locked))
}

impl Vault {
    /// Whether a vault database exists in `data_dir`.
    pub fn exists(data_dir: &Path) -> bool {
        db_path(data_dir).exists()
    }

    /// Creates a new vault in `data_dir` (created if missing) and returns it unlocked. Refuses
    /// when a vault exists there already.
    pub fn create(
        data_dir: &Path,
        keystore: Arc<dyn KeyStore>,
        opts: CreateOptions,
    ) -> Result<Vault> {
        check_passphrase_strength(&opts.admin_passphrase, "administrator")?;
        create_data_dir(data_dir)?;
        let path = db_path(data_dir);
        // A file left by a setup that was interrupted after creating the schema but before
        // writing the vault (empty tables) is reused, so first-run setup is never a dead end.
        // Anything else is refused and left alone.
        let existed = path.exists();
        if existed && !is_empty_vault_file(&path)? {
            return Err(VaultError::AlreadyInitialized(data_dir.to_owned()));
        }
        let mut wrap_account = None;
        let result = (|| -> Result<Vault> {
            let mut conn = open_connection(&path, true)?;
            let vault_key = Key256::random();
            let vault_id = random_id();
            let wrap = make_wrap(keystore.as_ref(), &vault_key, &opts.protection)?;
            wrap_account.clone_from(&wrap.keyring_account);
            let verifier = seal_verifier(
                &vault_key,
                &crypto::make_verifier(&opts.admin_passphrase, &opts.admin_kdf)?,
            );
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: i64 =
                tx.query_row("SELECT count(*) FROM vault_meta", [], |r| r.get(0))?;
            if existing > 0 {
                return Err(VaultError::AlreadyInitialized(data_dir.to_owned()));
            }
            tx.execute(
                "INSERT INTO vault_meta (id, vault_id, created_at, admin_verifier)
                 VALUES (1, ?1, ?2, ?3)",
                params![vault_id, now_ms(), verifier],
            )?;
            insert_wrap(&tx, &wrap)?;
            let value = DEFAULT_AUTO_LOCK_SECS.to_string();
            tx.execute(
                "INSERT INTO settings (name, value, updated_at, mac) VALUES (?1, ?2, ?3, ?4)",
                params![
                    SETTING_AUTO_LOCK,
                    value,
                    now_ms(),
                    setting_mac(&vault_key, SETTING_AUTO_LOCK, &value)
                ],
            )?;
            audit::append(
                &tx,
                &vault_id,
                Some(&vault_key),
                &NewActivity::new(Actor::Admin, "vault.create", &vault_id).detail(
                    serde_json::json!({
                        "protection": opts.protection.method(),
                        "schema_version": schema::LATEST,
                    }),
                ),
            )?;
            tx.commit()?;
            let vault = Vault::from_parts(data_dir, path.clone(), vault_id, conn, keystore.clone());
            vault.set_key(vault_key);
            Ok(vault)
        })();
        if result.is_err() {
            if let Some(a) = wrap_account {
                let _ = keystore.delete(&a);
            }
            // Only what this call made is removed: the file did not exist before.
            if !existed {
                remove_db_files(&path);
            }
        }
        result
    }

    /// Opens the vault in `data_dir`, locked. Migrates an older schema; refuses a newer one.
    pub fn open(data_dir: &Path, keystore: Arc<dyn KeyStore>) -> Result<Vault> {
        let path = db_path(data_dir);
        if !path.exists() {
            return Err(VaultError::NotInitialized(data_dir.to_owned()));
        }
        let conn = open_connection(&path, false)?;
        let vault_id: Option<String> = conn
            .query_row("SELECT vault_id FROM vault_meta WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(vault_id) = vault_id else {
            return Err(VaultError::NotInitialized(data_dir.to_owned()));
        };
        Ok(Vault::from_parts(data_dir, path, vault_id, conn, keystore))
    }

    pub(crate) fn from_parts(
        data_dir: &Path,
        db_path: PathBuf,
        vault_id: String,
        conn: Connection,
        keystore: Arc<dyn KeyStore>,
    ) -> Vault {
        Vault {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_owned(),
                db_path,
                vault_id,
                conn: Mutex::new(conn),
                state: Mutex::new(State {
                    key: None,
                    epoch: 0,
                    last_used: Instant::now(),
                }),
                keystore,
            }),
        }
    }

    /// Unlocks with the OS keyring or the vault passphrase. Failed attempts are logged.
    pub fn unlock(&self, how: Unlock<'_>) -> Result<()> {
        let result = {
            let conn = self.conn();
            unwrap_vault_key(&conn, self.inner.keystore.as_ref(), how)
        };
        let method = match how {
            Unlock::Keyring => "keyring",
            Unlock::Passphrase(_) => "passphrase",
        };
        match result {
            Ok(key) => {
                self.write_with(Some(&key), |tx, _| {
                    tx.record(
                        NewActivity::new(Actor::System, "vault.unlock", &self.inner.vault_id)
                            .detail(serde_json::json!({ "method": method })),
                    )?;
                    Ok(())
                })?;
                self.set_key(key);
                Ok(())
            }
            Err(e) => {
                let _ = self.write_with(None, |tx, _| {
                    tx.record(
                        NewActivity::new(Actor::System, "vault.unlock", &self.inner.vault_id)
                            .outcome(Outcome::Failure)
                            .detail(serde_json::json!({ "method": method, "error": e.code() })),
                    )?;
                    Ok(())
                });
                Err(e)
            }
        }
    }

    /// Forgets the vault key and invalidates administrator sessions.
    pub fn lock(&self) {
        let mut st = self.state();
        st.key = None;
        st.epoch += 1;
    }

    /// Whether the vault key is out of memory.
    pub fn is_locked(&self) -> bool {
        self.state().key.is_none()
    }

    /// How long since the vault key was last used (any read or write of vault data).
    pub fn idle_for(&self) -> Duration {
        self.state().last_used.elapsed()
    }

    /// Marks user activity (the app calls this on UI input) so auto-lock waits longer.
    pub fn touch(&self) {
        self.state().last_used = Instant::now();
    }

    /// Locks when the vault has been idle at least the configured auto-lock time. The app calls
    /// this from a timer; returns whether it locked now.
    pub fn lock_if_idle(&self) -> Result<bool> {
        // A setting that fails its check falls back to the default rather than never locking.
        let limit = Duration::from_secs(
            self.settings()
                .auto_lock_secs()
                .unwrap_or(DEFAULT_AUTO_LOCK_SECS)
                .min(86_400),
        );
        if !self.is_locked() && self.idle_for() >= limit {
            self.lock();
            return Ok(true);
        }
        Ok(false)
    }

    /// The vault's random id.
    pub fn vault_id(&self) -> &str {
        &self.inner.vault_id
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Status for the UI / CLI; works while locked.
    pub fn status(&self) -> Result<VaultStatus> {
        let locked = self.is_locked();
        let conn = self.conn();
        let count = |table: &str| -> Result<i64> {
            Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        let mut stmt = conn.prepare("SELECT DISTINCT method FROM key_wraps ORDER BY method")?;
        let protection = stmt
            .query_map([], |r| r.get(0))?
            .collect::<std::result::Result<Vec<String>, _>>()?;
        let (created_at_ms, admin): (i64, Option<Vec<u8>>) = conn.query_row(
            "SELECT created_at, admin_verifier FROM vault_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(VaultStatus {
            data_dir: self.inner.data_dir.clone(),
            vault_id: self.inner.vault_id.clone(),
            schema_version: schema::version(&conn)?,
            locked,
            protection,
            admin_passphrase_set: admin.is_some(),
            auto_lock_secs: read_auto_lock(&conn)?,
            credentials: count("credentials")?,
            employees: count("employees")?,
            keys: count("keys")?,
            activity_entries: count("activity")?,
            created_at_ms,
        })
    }

    /// Verifies the administrator passphrase and returns a session for admin actions.
    /// Needs the vault unlocked. Attempts are logged.
    pub fn admin_session(&self, admin_passphrase: &Passphrase) -> Result<AdminSession> {
        let key = self.key()?;
        let verifier: Option<Vec<u8>> = self.conn().query_row(
            "SELECT admin_verifier FROM vault_meta WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        let Some(verifier) = verifier else {
            return Err(VaultError::AdminRequired(
                "no administrator passphrase is set",
            ));
        };
        let ok = crypto::check_verifier(admin_passphrase, &open_verifier(&key, &verifier)?)?;
        self.write(|tx, _| {
            tx.record(
                NewActivity::new(Actor::Admin, "admin.login", &self.inner.vault_id).outcome(
                    if ok {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    },
                ),
            )?;
            Ok(())
        })?;
        if !ok {
            return Err(VaultError::WrongPassphrase(PassphraseKind::Admin));
        }
        Ok(AdminSession {
            vault_id: self.inner.vault_id.clone(),
            epoch: self.state().epoch,
            expires: Instant::now() + ADMIN_SESSION_TTL,
        })
    }

    /// Checks that `session` is a live administrator session of this vault.
    pub(crate) fn check_admin(&self, session: &AdminSession, action: &'static str) -> Result<()> {
        let st = self.state();
        if st.key.is_none() {
            return Err(VaultError::Locked);
        }
        if session.vault_id != self.inner.vault_id
            || session.epoch != st.epoch
            || Instant::now() >= session.expires
        {
            return Err(VaultError::AdminRequired(action));
        }
        Ok(())
    }

    /// Seconds left in a live administrator session of this vault; `None` when it expired, the
    /// vault was locked since, or it belongs to another vault (the app shows this as a timer).
    pub fn admin_session_remaining(&self, session: &AdminSession) -> Option<Duration> {
        self.check_admin(session, "check")
            .ok()
            .map(|()| session.expires.saturating_duration_since(Instant::now()))
    }

    /// Replaces the administrator passphrase.
    pub fn set_admin_passphrase(
        &self,
        session: &AdminSession,
        new_passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<()> {
        self.check_admin(session, "changing the administrator passphrase")?;
        check_passphrase_strength(new_passphrase, "administrator")?;
        let verifier = crypto::make_verifier(new_passphrase, &kdf)?;
        self.write(|tx, key| {
            tx.sql().execute(
                "UPDATE vault_meta SET admin_verifier = ?1 WHERE id = 1",
                [seal_verifier(key, &verifier)],
            )?;
            tx.record(NewActivity::new(
                Actor::Admin,
                "admin.passphrase.change",
                &self.inner.vault_id,
            ))?;
            Ok(())
        })
    }

    /// Replaces how the vault key is protected (e.g. switch from passphrase to keyring).
    /// Old keyring entries are deleted after the change commits.
    pub fn set_protection(&self, session: &AdminSession, protection: Protection) -> Result<()> {
        self.check_admin(session, "changing how the vault is protected")?;
        let key = self.key()?;
        let wrap = make_wrap(self.inner.keystore.as_ref(), &key, &protection)?;
        let result = self.write(|tx, _| {
            let old: Vec<Option<String>> = tx
                .sql()
                .prepare("SELECT keyring_account FROM key_wraps")?
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            tx.sql().execute("DELETE FROM key_wraps", [])?;
            insert_wrap(tx.sql(), &wrap)?;
            tx.record(
                NewActivity::new(
                    Actor::Admin,
                    "vault.protection.change",
                    &self.inner.vault_id,
                )
                .detail(serde_json::json!({ "protection": protection.method() })),
            )?;
            Ok(old)
        });
        match result {
            Ok(old) => {
                for account in old.into_iter().flatten() {
                    if let Err(e) = self.inner.keystore.delete(&account) {
                        tracing::warn!(error = %e, "could not delete an old keyring entry");
                    }
                }
                Ok(())
            }
            Err(e) => {
                if let Some(a) = &wrap.keyring_account {
                    let _ = self.inner.keystore.delete(a);
                }
                Err(e)
            }
        }
    }

    /// Runs `f` in one `IMMEDIATE` transaction with the vault key: the changes made through
    /// `tx` (its repositories, [`VaultTx::record`], [`VaultTx::sql`] for other crates' own
    /// records) and their activity entries commit together or not at all.
    pub fn with_tx<T>(&self, f: impl FnOnce(&VaultTx<'_>) -> Result<T>) -> Result<T> {
        self.write(|tx, _| f(tx))
    }

    // ----- internals -----

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_key(&self, key: Key256) {
        let mut st = self.state();
        st.key = Some(key);
        st.last_used = Instant::now();
    }

    /// A copy of the vault key (zeroized on drop), or `Locked`. Counts as use for auto-lock.
    pub(crate) fn key(&self) -> Result<Key256> {
        let mut st = self.state();
        let key = st
            .key
            .as_ref()
            .map(Key256::duplicate)
            .ok_or(VaultError::Locked)?;
        st.last_used = Instant::now();
        Ok(key)
    }

    /// Write transaction with the vault key (fails when locked).
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut VaultTx<'_>, &Key256) -> Result<T>,
    ) -> Result<T> {
        let key = self.key()?;
        self.write_with(Some(&key), |tx, k| {
            // `write_with` passes the same key back.
            f(tx, k.unwrap_or(&key))
        })
    }

    pub(crate) fn write_with<T>(
        &self,
        key: Option<&Key256>,
        f: impl FnOnce(&mut VaultTx<'_>, Option<&Key256>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut vtx = VaultTx {
            tx,
            key,
            vault: self,
        };
        let out = f(&mut vtx, key)?;
        vtx.tx.commit()?;
        Ok(out)
    }
}

/// A write transaction on the vault, with helpers to seal and open values bound to their
/// place and to record activity in the same transaction.
pub struct VaultTx<'a> {
    tx: rusqlite::Transaction<'a>,
    key: Option<&'a Key256>,
    vault: &'a Vault,
}

impl<'a> VaultTx<'a> {
    /// The SQL transaction, for the caller's own statements.
    pub fn sql(&self) -> &rusqlite::Transaction<'_> {
        &self.tx
    }

    /// Seals `plaintext` for (table, row, column).
    pub fn seal(&self, table: &str, row: &str, column: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let key = self.key.ok_or(VaultError::Locked)?;
        Ok(crypto::seal(key, Place::new(table, row, column), plaintext))
    }

    /// Opens a value sealed for (table, row, column); `Tampered` if it fails authentication.
    pub fn open(
        &self,
        table: &str,
        row: &str,
        column: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let key = self.key.ok_or(VaultError::Locked)?;
        crypto::open(key, Place::new(table, row, column), sealed)
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

fn verifier_place() -> Place<'static> {
    Place::new("vault_meta", "1", "admin_verifier")
}

/// Seals the administrator verifier with the vault key.
pub(crate) fn seal_verifier(key: &Key256, phc: &str) -> Vec<u8> {
    crypto::seal(key, verifier_place(), phc.as_bytes())
}

/// Opens the sealed administrator verifier.
pub(crate) fn open_verifier(key: &Key256, sealed: &[u8]) -> Result<String> {
    let plain = crypto::open(key, verifier_place(), sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| verifier_place().tampered())
}

pub(crate) fn create_data_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| VaultError::io(format!("creating data directory {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Whether `path` is a vault database with the schema but no vault in it (every table empty).
fn is_empty_vault_file(path: &Path) -> Result<bool> {
    let conn = match open_connection(path, false) {
        Ok(c) => c,
        // Not usable: certainly not "empty"; the caller refuses and leaves it alone.
        Err(_) => return Ok(false),
    };
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for t in tables {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
        if n > 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Removes a database file this process created, with its WAL and shared-memory files.
pub(crate) fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
