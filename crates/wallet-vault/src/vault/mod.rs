//! The [`Vault`]: one SQLite file in the data directory, its vault key, and the lifecycle
//! around them (create, open, unlock, lock, status). The records are reached through
//! repositories (`repo/`); backups live in `backup.rs`.
//!
//! - `protection`: how the vault key is protected at rest (keyring or passphrase wraps);
//! - `admin`: administrator sessions;
//! - `tx`: [`VaultTx`], the one write transaction type;
//! - `file`: the database file and data directory.
//!
//! The vault key is a random 256-bit key held in memory only while unlocked. On disk it exists
//! only wrapped (`key_wraps`): by a key-encryption key in the OS keyring, or by an Argon2id key
//! derived from a passphrase.
//!
//! Opening never deletes, recreates or "repairs" an existing database: a file that cannot be
//! used gives a typed error and stays as it is.

mod admin;
mod file;
mod protection;
pub(crate) mod state;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::audit::{self, Actor, NewActivity, Outcome};
use crate::clock::now_ms;
use crate::crypto::{self, KdfParams};
use crate::keystore::KeyStore;
use crate::repo::{read_auto_lock, setting_mac, SETTING_AUTO_LOCK};
use crate::schema;
use crate::secret::{random_id, Key256, Passphrase};
use crate::{Result, VaultError};

pub use admin::AdminSession;
pub(crate) use admin::{open_verifier, seal_verifier};
pub use file::db_path;
use file::is_empty_vault_file;
pub(crate) use file::{create_data_dir, open_connection, remove_db_files};
pub(crate) use protection::{insert_wrap, make_wrap, unwrap_vault_key};
pub use protection::{Protection, Unlock};
pub use tx::VaultTx;

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

/// Refuses a passphrase shorter than [`MIN_PASSPHRASE_CHARS`] (vault, administrator, backups).
pub(crate) fn check_passphrase_strength(p: &Passphrase, what: &str) -> Result<()> {
    if p.char_len() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the {what} passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) struct State {
    pub key: Option<Key256>,
    pub epoch: u64,
    /// Last time the vault key was used (for the app's idle auto-lock).
    pub last_used: Instant,
    /// `PRAGMA data_version` when the sealed state was last checked on this connection: until
    /// another connection writes to the file, it needs no new check.
    pub verified_data_version: Option<i64>,
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
        let mut anchor_account = None;
        let result = (|| -> Result<Vault> {
            let mut conn = open_connection(&path, true)?;
            let vault_key = Key256::random();
            let vault_id = random_id();
            let wrap = make_wrap(keystore.as_ref(), &vault_key, &opts.protection)?;
            wrap_account.clone_from(&wrap.keyring_account);
            // The first write transaction: every record made here has version 1.
            const FIRST: i64 = 1;
            let verifier = seal_verifier(
                &vault_key,
                &crypto::make_verifier(&opts.admin_passphrase, &opts.admin_kdf)?,
                FIRST,
            );
            anchor_account = state::new_anchor_account(keystore.as_ref(), FIRST);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: i64 =
                tx.query_row("SELECT count(*) FROM vault_meta", [], |r| r.get(0))?;
            if existing > 0 {
                return Err(VaultError::AlreadyInitialized(data_dir.to_owned()));
            }
            tx.execute(
                "INSERT INTO vault_meta (id, vault_id, created_at, admin_verifier, admin_version)
                 VALUES (1, ?1, ?2, ?3, ?4)",
                params![vault_id, now_ms(), verifier, FIRST],
            )?;
            insert_wrap(&tx, &wrap, FIRST)?;
            let value = DEFAULT_AUTO_LOCK_SECS.to_string();
            tx.execute(
                "INSERT INTO settings (name, value, updated_at, mac, version)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    SETTING_AUTO_LOCK,
                    value,
                    now_ms(),
                    setting_mac(&vault_key, SETTING_AUTO_LOCK, &value, FIRST),
                    FIRST
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
                        // Marks that this vault has a state commitment from the start.
                        "state_commitment": true,
                    }),
                ),
            )?;
            let committed =
                state::commit(&tx, &vault_key, &vault_id, FIRST, anchor_account.as_deref())?;
            tx.commit()?;
            state::put_anchor(keystore.as_ref(), &committed);
            let vault = Vault::from_parts(data_dir, path.clone(), vault_id, conn, keystore.clone());
            vault.set_key(vault_key);
            Ok(vault)
        })();
        if result.is_err() {
            for a in [wrap_account, anchor_account].into_iter().flatten() {
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
        // Tightens a data directory made by an older version (the file itself: below).
        file::owner_only(data_dir)?;
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
                    verified_data_version: None,
                }),
                keystore,
            }),
        }
    }

    /// Unlocks with the OS keyring or the vault passphrase. Failed attempts are logged.
    pub fn unlock(&self, how: Unlock<'_>) -> Result<()> {
        self.state().verified_data_version = None;
        let result = {
            let conn = self.conn();
            unwrap_vault_key(&conn, self.inner.keystore.as_ref(), how).and_then(|key| {
                // Rows copied back from an older copy, or a whole older file, are refused
                // before anything is read or written with the key.
                let st = self.checked_state(&conn, &key)?;
                state::check_anchor(&conn, self.inner.keystore.as_ref(), &st)?;
                Ok(key)
            })
        };
        let method = match how {
            Unlock::Keyring => "keyring",
            Unlock::Passphrase(_) => "passphrase",
        };
        match result {
            Ok(key) => {
                self.write_inner(Some(&key), true, |tx, _| {
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
        st.verified_data_version = None;
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
        self.write_inner(key, false, f)
    }

    /// One write transaction. With the key, the sealed state is checked first (a write must
    /// never seal rows copied in from elsewhere into a new commitment), every record written
    /// gets the new sequence number as its version, and the new state is sealed before the
    /// commit and recorded in the keyring anchor after it. Without the key (an activity entry
    /// while locked) no covered record may change.
    fn write_inner<T>(
        &self,
        key: Option<&Key256>,
        ensure_anchor: bool,
        f: impl FnOnce(&mut VaultTx<'_>, Option<&Key256>) -> Result<T>,
    ) -> Result<T> {
        let mut new_anchor = None;
        let mut conn = self.conn();
        let (out, result) = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let before = match key {
                Some(k) => Some(self.checked_state(&tx, k)?),
                None => None,
            };
            let version = before.as_ref().map_or(0, |b| b.seq + 1);
            let mut vtx = VaultTx {
                tx,
                key,
                vault: self,
                version,
            };
            let out = f(&mut vtx, key)?;
            let committed = match (key, &before) {
                (Some(k), Some(b)) => {
                    let has_anchor: bool = vtx.tx.query_row(
                        "SELECT state_anchor IS NOT NULL FROM vault_meta WHERE id = 1",
                        [],
                        |r| r.get(0),
                    )?;
                    // A vault made without a reachable keyring gets its anchor once one is there.
                    if !has_anchor && (ensure_anchor || !b.established) {
                        new_anchor =
                            state::new_anchor_account(self.inner.keystore.as_ref(), version);
                    }
                    let c = state::seal_after(
                        &vtx.tx,
                        k,
                        &self.inner.vault_id,
                        b,
                        version,
                        new_anchor.as_deref(),
                    );
                    Some(c)
                }
                _ => None,
            };
            let result = match committed {
                Some(Err(e)) => Err(e),
                Some(Ok(c)) => vtx.tx.commit().map(|()| Some(c)).map_err(Into::into),
                None => vtx.tx.commit().map(|()| None).map_err(Into::into),
            };
            (out, result)
        };
        drop(conn);
        match result {
            Ok(Some(c)) => state::put_anchor(self.inner.keystore.as_ref(), &c),
            Ok(None) => {}
            Err(e) => {
                if let Some(a) = new_anchor {
                    let _ = self.inner.keystore.delete(&a);
                }
                return Err(e);
            }
        }
        Ok(out)
    }

    /// The sealed state, checked unless no other connection wrote to the file since this one
    /// last checked or committed it.
    pub(crate) fn checked_state(&self, conn: &Connection, key: &Key256) -> Result<state::State> {
        let dv = state::data_version(conn)?;
        if self.state().verified_data_version == Some(dv) {
            return state::read_unchecked(conn);
        }
        let st = state::verify(conn, key, &self.inner.vault_id)?;
        self.state().verified_data_version = Some(dv);
        Ok(st)
    }
}
