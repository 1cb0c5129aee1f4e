//! Encrypted backup and restore.
//!
//! A backup is one file:
//!
//! ```text
//! "NUTSWBK1"                               magic, 8 bytes
//! u32 BE length | header JSON              format, vault id, schema version, time, Argon2id
//!                                          parameters and salt (no secrets)
//! u32 BE length | wrapped vault key        the vault key sealed under a key derived from the
//!                                          backup passphrase
//! u64 BE length | sealed database          a consistent snapshot (`VACUUM INTO`) sealed under
//!                                          the vault key
//! SHA-256 of everything above              detects accidental damage before any decryption
//! ```
//!
//! Both sealed parts are bound to the header through their associated data. The snapshot's
//! values stay sealed under the vault key inside, so the vault key travels with the backup,
//! wrapped under the backup passphrase; restore asks how to protect it on the new machine
//! (keyring or passphrase) and replaces the old wraps.
//!
//! Restore writes to a temporary file in the target directory, checks it, and renames it into
//! place only when everything succeeded: a wrong passphrase or damaged file leaves the target
//! as it was.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, NewActivity};
use crate::clock::now_ms;
use crate::crypto::{self, KdfParams, Place};
use crate::keystore::KeyStore;
use crate::schema;
use crate::secret::{hex, random_bytes, random_id, Key256, Passphrase};
use crate::vault::{
    check_passphrase_strength, create_data_dir, db_path, insert_wrap, make_wrap, open_connection,
    open_verifier, remove_db_files, state, AdminSession, Protection, Vault,
};
use crate::{PassphraseKind, Result, VaultError};

const MAGIC: &[u8; 8] = b"NUTSWBK1";
const FORMAT: u32 = 1;
/// Largest backup accepted (a vault is small; this stops absurd allocations).
const MAX_BACKUP_BYTES: u64 = 256 * 1024 * 1024;
/// Largest header accepted (a few hundred bytes in practice).
const MAX_HEADER_BYTES: u32 = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    vault_id: String,
    schema_version: i64,
    created_at_ms: i64,
    kdf: KdfParams,
    salt: String,
}

/// What a finished backup reports.
#[derive(Debug, Clone, Serialize)]
pub struct BackupInfo {
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Vault id inside.
    pub vault_id: String,
    /// Schema version inside.
    pub schema_version: i64,
    /// Unix ms.
    pub created_at_ms: i64,
}

/// What [`Vault::restore`] needs besides the file.
#[derive(Debug)]
pub struct RestoreOptions {
    /// How to protect the vault key on this machine.
    pub protection: Protection,
    /// The administrator passphrase of the backed-up vault (restore is an admin action).
    pub admin_passphrase: Passphrase,
}

fn header_place<'a>(header_digest: &'a str, column: &'a str) -> Place<'a> {
    Place::new("backup", header_digest, column)
}

impl Vault {
    /// Writes an encrypted backup to `out` (which must not exist). Administrator action.
    pub fn backup(
        &self,
        session: &AdminSession,
        out: &Path,
        backup_passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<BackupInfo> {
        self.check_admin(session, "making backups")?;
        check_passphrase_strength(backup_passphrase, "backup")?;
        if !kdf.within_backup_bounds() {
            return Err(VaultError::InvalidInput(
                "backup key-derivation parameters out of range".into(),
            ));
        }
        if out.exists() {
            return Err(VaultError::InvalidInput(format!(
                "{} exists already; choose a new file name",
                out.display()
            )));
        }
        let vault_key = self.key()?;
        let snapshot = self.snapshot()?;
        let created_at_ms = now_ms();
        let salt = random_bytes::<16>();
        let header = Header {
            format: FORMAT,
            vault_id: self.vault_id().to_owned(),
            schema_version: schema::LATEST,
            created_at_ms,
            kdf,
            salt: STANDARD.encode(salt),
        };
        let header_json = serde_json::to_vec(&header)
            .map_err(|e| VaultError::InvalidInput(format!("backup header: {e}")))?;
        let digest = hex(&Sha256::digest(&header_json));
        let kek = crypto::derive_key(backup_passphrase, &salt, &kdf)?;
        let wrapped = crypto::seal(&kek, header_place(&digest, "vault_key"), vault_key.bytes());
        let sealed_db = crypto::seal(&vault_key, header_place(&digest, "database"), &snapshot);

        let mut file = Vec::with_capacity(sealed_db.len() + header_json.len() + 256);
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&(header_json.len() as u32).to_be_bytes());
        file.extend_from_slice(&header_json);
        file.extend_from_slice(&(wrapped.len() as u32).to_be_bytes());
        file.extend_from_slice(&wrapped);
        file.extend_from_slice(&(sealed_db.len() as u64).to_be_bytes());
        file.extend_from_slice(&sealed_db);
        let checksum = Sha256::digest(&file);
        file.extend_from_slice(&checksum);

        let result = write_new_file(out, &file);
        let outcome = if result.is_ok() {
            audit::Outcome::Success
        } else {
            audit::Outcome::Failure
        };
        self.activity_log().record(
            NewActivity::new(Actor::Admin, "vault.backup", &out.display().to_string())
                .outcome(outcome)
                .detail(serde_json::json!({ "bytes": file.len() })),
        )?;
        result?;
        Ok(BackupInfo {
            path: out.to_owned(),
            bytes: file.len() as u64,
            vault_id: header.vault_id,
            schema_version: header.schema_version,
            created_at_ms,
        })
    }

    /// A consistent copy of the database as bytes (`VACUUM INTO` a temporary file in the data
    /// directory, read, removed).
    fn snapshot(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let tmp = self
            .inner
            .data_dir
            .join(format!(".backup-{}.tmp", random_id()));
        let tmp_str = tmp
            .to_str()
            .ok_or_else(|| VaultError::InvalidInput("data directory path is not UTF-8".into()))?
            .to_owned();
        let res = (|| {
            self.conn().execute("VACUUM INTO ?1", [&tmp_str])?;
            std::fs::read(&tmp).map_err(|e| VaultError::io("reading the snapshot", e))
        })();
        let _ = std::fs::remove_file(&tmp);
        res.map(zeroize::Zeroizing::new)
    }

    /// Restores a backup into `data_dir`, which must not hold a vault. On success returns the
    /// vault, unlocked. On any failure nothing is left in `data_dir` (nor in the key store).
    pub fn restore(
        backup_file: &Path,
        backup_passphrase: &Passphrase,
        data_dir: &Path,
        keystore: Arc<dyn KeyStore>,
        opts: RestoreOptions,
    ) -> Result<Vault> {
        let target = db_path(data_dir);
        if target.exists() {
            return Err(VaultError::AlreadyInitialized(data_dir.to_owned()));
        }
        let (header, vault_key, snapshot) = read_backup(backup_file, backup_passphrase)?;
        create_data_dir(data_dir)?;
        let tmp = data_dir.join(format!(".restore-{}.db", random_id()));
        let mut wrap_account: Option<String> = None;
        let mut anchor_account: Option<String> = None;
        let mut committed = None;
        let result = (|| -> Result<()> {
            write_new_file(&tmp, &snapshot)?;
            let mut conn = open_connection(&tmp, false).map_err(|e| match e {
                VaultError::Corrupt { detail, .. } => {
                    VaultError::BackupDamaged(format!("the database inside: {detail}"))
                }
                other => other,
            })?;
            let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(VaultError::BackupDamaged(format!(
                    "the database inside fails its integrity check: {check}"
                )));
            }
            let (vault_id, verifier, admin_version): (String, Option<Vec<u8>>, i64) = conn
                .query_row(
                    "SELECT vault_id, admin_verifier, admin_version FROM vault_meta WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
            if vault_id != header.vault_id {
                return Err(VaultError::BackupDamaged(
                    "the header and the database inside belong to different vaults".into(),
                ));
            }
            let admin_ok = match verifier {
                Some(v) => crypto::check_verifier(
                    &opts.admin_passphrase,
                    &open_verifier(&vault_key, &v, admin_version)?,
                )?,
                None => false,
            };
            if !admin_ok {
                return Err(VaultError::WrongPassphrase(PassphraseKind::Admin));
            }
            let wrap = make_wrap(keystore.as_ref(), &vault_key, &opts.protection)?;
            wrap_account.clone_from(&wrap.keyring_account);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The backup's records must match its own sealed state before it becomes a vault.
            let before = state::verify(&tx, &vault_key, &vault_id)?;
            let version = before.seq + 1;
            // The old wraps belong to the machine the backup came from.
            tx.execute("DELETE FROM key_wraps", [])?;
            insert_wrap(&tx, &wrap, version)?;
            audit::append(
                &tx,
                &vault_id,
                Some(&vault_key),
                &NewActivity::new(Actor::Admin, "vault.restore", &vault_id).detail(
                    serde_json::json!({
                        "backup_created_at_ms": header.created_at_ms,
                        "backup_schema_version": header.schema_version,
                        "protection": match opts.protection {
                            Protection::Keyring => "keyring",
                            Protection::Passphrase { .. } => "passphrase",
                        },
                    }),
                ),
            )?;
            // Its own keyring anchor: the original vault may live on beside it.
            anchor_account = state::new_anchor_account(keystore.as_ref(), version);
            committed = Some(state::seal_after(
                &tx,
                &vault_key,
                &vault_id,
                &before,
                version,
                anchor_account.as_deref(),
            )?);
            tx.commit()?;
            // Fold the WAL into the file so the rename moves everything.
            let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("delete") {
                return Err(VaultError::InvalidInput(format!(
                    "could not finish the restored database (journal mode {mode})"
                )));
            }
            drop(conn);
            let f = std::fs::File::open(&tmp)
                .map_err(|e| VaultError::io("syncing the restored database", e))?;
            f.sync_all()
                .map_err(|e| VaultError::io("syncing the restored database", e))?;
            if target.exists() {
                return Err(VaultError::AlreadyInitialized(data_dir.to_owned()));
            }
            std::fs::rename(&tmp, &target)
                .map_err(|e| VaultError::io("moving the restored database into place", e))?;
            sync_dir(data_dir);
            Ok(())
        })();
        if let Err(e) = result {
            remove_db_files(&tmp);
            for a in [wrap_account, anchor_account].into_iter().flatten() {
                let _ = keystore.delete(&a);
            }
            return Err(e);
        }
        if let Some(c) = &committed {
            state::put_anchor(keystore.as_ref(), c);
        }
        let vault = Vault::open(data_dir, keystore)?;
        vault.set_key(vault_key);
        Ok(vault)
    }
}

/// Fuzzing entry point: reads the backup file at `path` exactly as restore does (framing,
/// checksum, header, key derivation, decryption) and drops the result. Not an API.
#[doc(hidden)]
pub fn fuzz_read_backup(path: &Path, passphrase: &Passphrase) -> Result<()> {
    read_backup(path, passphrase).map(|_| ())
}

/// Parses, checks and decrypts a backup file in memory.
fn read_backup(
    path: &Path,
    passphrase: &Passphrase,
) -> Result<(Header, Key256, zeroize::Zeroizing<Vec<u8>>)> {
    let data = read_capped(path)?;
    if data.len() < MAGIC.len() + 4 + 4 + 8 + 32 || &data[..8] != MAGIC {
        return Err(VaultError::BackupDamaged(
            "it does not start like a Nuts Wallet backup".into(),
        ));
    }
    let (body, checksum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != checksum {
        return Err(VaultError::BackupDamaged(
            "checksum mismatch: the file is damaged or truncated".into(),
        ));
    }
    let mut r = Reader { buf: body, pos: 8 };
    let header_json = r.take_u32()?;
    let wrapped = r.take_u32()?;
    let sealed_db = r.take_u64()?;
    if r.pos != body.len() {
        return Err(VaultError::BackupDamaged(
            "trailing bytes after the content".into(),
        ));
    }
    let header: Header = serde_json::from_slice(header_json)
        .map_err(|e| VaultError::BackupDamaged(format!("unreadable header: {e}")))?;
    if header.format != FORMAT {
        return Err(VaultError::BackupDamaged(format!(
            "backup format {} is not supported by this version",
            header.format
        )));
    }
    if header.schema_version > schema::LATEST {
        return Err(VaultError::NewerSchema {
            found: header.schema_version,
            supported: schema::LATEST,
        });
    }
    check_header_kdf(&header)?;
    let salt = STANDARD
        .decode(&header.salt)
        .map_err(|_| VaultError::BackupDamaged("unreadable salt".into()))?;
    let digest = hex(&Sha256::digest(header_json));
    let kek = crypto::derive_key(passphrase, &salt, &header.kdf)?;
    let key_bytes = crypto::open(&kek, header_place(&digest, "vault_key"), wrapped)
        .map_err(|_| VaultError::WrongPassphrase(PassphraseKind::Backup))?;
    let vault_key = Key256::from_slice(&key_bytes)
        .ok_or_else(|| VaultError::BackupDamaged("malformed vault key".into()))?;
    let snapshot = crypto::open(&vault_key, header_place(&digest, "database"), sealed_db)
        .map_err(|_| VaultError::BackupDamaged("the content fails authentication".into()))?;
    Ok((header, vault_key, snapshot))
}

fn check_header_kdf(header: &Header) -> Result<()> {
    if header.kdf.within_backup_bounds() {
        Ok(())
    } else {
        Err(VaultError::BackupDamaged(
            "its key-derivation parameters are outside what this wallet writes".into(),
        ))
    }
}

/// Reads a backup file, refusing one over [`MAX_BACKUP_BYTES`] and, before reading the rest,
/// one whose header is oversized or asks for key-derivation parameters out of bounds.
fn read_capped(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |e| VaultError::io(format!("reading backup {}", path.display()), e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len > MAX_BACKUP_BYTES {
        return Err(VaultError::BackupDamaged(
            "the file is implausibly large".into(),
        ));
    }
    // The cap holds even if the file grows while it is read.
    let mut f = (&mut f).take(MAX_BACKUP_BYTES + 1);
    let mut data = Vec::new();
    let prefix = MAGIC.len() as u64 + 4;
    (&mut f).take(prefix).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 == prefix && &data[..MAGIC.len()] == MAGIC {
        let mut n = [0u8; 4];
        n.copy_from_slice(&data[MAGIC.len()..]);
        let header_len = u32::from_be_bytes(n);
        if header_len > MAX_HEADER_BYTES {
            return Err(VaultError::BackupDamaged("the header is oversized".into()));
        }
        (&mut f)
            .take(u64::from(header_len))
            .read_to_end(&mut data)
            .map_err(io)?;
        if let Ok(header) = serde_json::from_slice::<Header>(&data[prefix as usize..]) {
            check_header_kdf(&header)?;
        }
    }
    f.read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > MAX_BACKUP_BYTES {
        return Err(VaultError::BackupDamaged(
            "the file is implausibly large".into(),
        ));
    }
    Ok(data)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| VaultError::BackupDamaged("a length field runs past the end".into()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn take_u32(&mut self) -> Result<&'a [u8]> {
        let mut n = [0u8; 4];
        n.copy_from_slice(self.take(4)?);
        self.take(u32::from_be_bytes(n) as usize)
    }

    fn take_u64(&mut self) -> Result<&'a [u8]> {
        let mut n = [0u8; 8];
        n.copy_from_slice(self.take(8)?);
        let len = usize::try_from(u64::from_be_bytes(n))
            .map_err(|_| VaultError::BackupDamaged("length out of range".into()))?;
        self.take(len)
    }
}

/// Writes a new file (refusing to overwrite), synced to disk.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = wallet_protocol::private_file::create_owner_only(path)
        .map_err(|e| VaultError::io(format!("creating {}", path.display()), e))?;
    let res = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| VaultError::io(format!("writing {}", path.display()), e));
    if res.is_err() {
        let _ = std::fs::remove_file(path);
    }
    res
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
