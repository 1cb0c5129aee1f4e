//! The vault's database file: where it is, opening it with the vault's pragmas (a file that is
//! not a usable vault gives a typed error and stays as it is), and the data directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{APPLICATION_ID, DB_FILE};
use crate::schema;
use crate::{Result, VaultError};

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
        // Owner-only before SQLite writes anything; its WAL and shared-memory files copy the
        // database file's mode.
        if !path.exists() {
            wallet_protocol::private_file::create_owner_only(path)
                .map_err(|e| VaultError::io(format!("creating {}", path.display()), e))?;
        }
    }
    // Also tightens a file made by an older version.
    if path.exists() {
        owner_only(path)?;
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

pub(crate) fn create_data_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| VaultError::io(format!("creating data directory {}", dir.display()), e))?;
    owner_only(dir)
}

/// Takes away every group and other permission bit (0644 becomes 0600, 0755 becomes 0700);
/// failing to is an error, not a warning.
pub(crate) fn owner_only(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let err = |e| VaultError::io(format!("restricting access to {}", path.display()), e);
        let mode = std::fs::metadata(path).map_err(err)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(err)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether `path` is a vault database with the schema but no vault in it (every table empty).
pub(super) fn is_empty_vault_file(path: &Path) -> Result<bool> {
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
