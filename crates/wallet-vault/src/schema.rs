//! The database schema as an ordered ladder of migrations on `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`. All pending steps run in one
//! `IMMEDIATE` transaction, so a crash mid-upgrade leaves the old version intact. A database
//! newer than [`LATEST`] is refused and left untouched. To change the schema, **append** a
//! step; never edit a released one (a test pins the v1 tables).
//!
//! Columns in the clear are the ones needed to list and filter without the key (types,
//! issuer, validity, ...). Every sensitive value sits in a `BLOB` column holding an AEAD
//! envelope bound to (table, row id, column); see `crypto.rs`.

use rusqlite::{Connection, TransactionBehavior};

use crate::{Result, VaultError};

/// Schema version 1: vault metadata, key wraps, settings, keys, credentials, employees,
/// tokens and the hash-chained activity log.
const V1: &str = r#"
CREATE TABLE vault_meta (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    vault_id        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Argon2id PHC string of the administrator passphrase (algorithm, params, salt, hash),
    -- sealed with the vault key so that it cannot be replaced with a self-made one.
    admin_verifier  BLOB,
    -- Highest activity entry authenticated with a subkey of the vault key (detects truncation).
    anchor          BLOB
);

CREATE TABLE key_wraps (
    id              TEXT    PRIMARY KEY,
    method          TEXT    NOT NULL CHECK (method IN ('keyring', 'passphrase')),
    keyring_service TEXT,
    keyring_account TEXT,
    kdf_params      TEXT,
    kdf_salt        BLOB,
    wrapped_key     BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE settings (
    name            TEXT    PRIMARY KEY,
    value           TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- HMAC of (name, value) under a subkey of the vault key: policy edited in the file is
    -- detected when read with the vault unlocked.
    mac             BLOB
);

CREATE TABLE keys (
    id              TEXT    PRIMARY KEY,
    label           TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    alg             TEXT    NOT NULL,
    kid             TEXT,
    public_jwk      TEXT    NOT NULL,
    thumbprint      TEXT    NOT NULL UNIQUE,
    private_key     BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE credentials (
    id              TEXT    PRIMARY KEY,
    types           TEXT    NOT NULL,
    format          TEXT    NOT NULL,
    issuer          TEXT    NOT NULL,
    subject         TEXT,
    valid_from      INTEGER,
    valid_until     INTEGER,
    created_at      INTEGER NOT NULL,
    raw             BLOB    NOT NULL
);
CREATE INDEX credentials_issuer ON credentials (issuer);
CREATE INDEX credentials_subject ON credentials (subject);

CREATE TABLE employees (
    id              TEXT    PRIMARY KEY,
    -- HMAC-SHA-256 of the identifier under a subkey of the vault key: exact lookups without
    -- storing the identifier in the clear.
    identifier_hash TEXT    NOT NULL UNIQUE,
    active          INTEGER NOT NULL DEFAULT 1,
    key_id          TEXT    REFERENCES keys (id),
    personal        BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE tokens (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    audience        TEXT    NOT NULL,
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL,
    value           BLOB    NOT NULL
);
CREATE INDEX tokens_expiry ON tokens (expires_at);

CREATE TABLE activity (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX activity_action ON activity (action);
CREATE TRIGGER activity_no_update BEFORE UPDATE ON activity
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TRIGGER activity_no_delete BEFORE DELETE ON activity
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
"#;

/// Replay memory (`repo::replay`): digests of handled one-time values until they expire.
const V2: &str = r#"
CREATE TABLE seen_values (
    kind            TEXT    NOT NULL,
    digest          BLOB    NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (kind, digest)
);
CREATE INDEX seen_values_expiry ON seen_values (expires_at);
"#;

/// Rollback detection (`vault/state.rs`): a version per record, bound into its sealed value
/// or MAC, and the vault-wide state commitment with its sequence number.
const V3: &str = r#"
ALTER TABLE vault_meta ADD COLUMN admin_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vault_meta ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vault_meta ADD COLUMN state_tables TEXT;
ALTER TABLE vault_meta ADD COLUMN state_mac BLOB;
ALTER TABLE vault_meta ADD COLUMN state_anchor TEXT;
ALTER TABLE key_wraps ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE settings ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE employees ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
"#;

/// Audit forwarding (`repo/outbox.rs`): the entries still to send to the organization's syslog
/// collector, and how delivery went. Neither table is in the state commitment (see
/// `vault/state.rs`): both change while the vault is locked.
const V4: &str = r#"
CREATE TABLE audit_outbox (
    -- The activity entry's sequence number; the rest is copied from it to build the message.
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE TABLE forward_state (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    last_delivered_seq  INTEGER,
    last_error          TEXT,
    last_attempt        INTEGER
);
"#;

/// The ladder. Append only.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Reads `user_version`.
pub(crate) fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database up to [`LATEST`], or refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, MIGRATIONS)
}

pub(crate) fn migrate_to(conn: &mut Connection, ladder: &[&str]) -> Result<()> {
    let latest = ladder.len() as i64;
    // Cheap check first, so that a newer database is refused without taking a write lock.
    let found = version(conn)?;
    if found > latest {
        return Err(VaultError::NewerSchema {
            found,
            supported: latest,
        });
    }
    if found == latest {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the lock: another process may have migrated meanwhile.
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > latest {
        return Err(VaultError::NewerSchema {
            found,
            supported: latest,
        });
    }
    if found < 0 {
        return Err(VaultError::InvalidInput(format!(
            "database has negative schema version {found}"
        )));
    }
    for (i, step) in ladder.iter().enumerate().skip(found as usize) {
        tracing::info!(from = i, to = i + 1, "migrating vault schema");
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_reaches_latest_and_is_idempotent() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), LATEST);
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), LATEST);
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(
            tables,
            [
                "activity",
                "audit_outbox",
                "credentials",
                "employees",
                "forward_state",
                "key_wraps",
                "keys",
                "seen_values",
                "settings",
                "tokens",
                "vault_meta"
            ]
        );
    }

    #[test]
    fn newer_database_is_refused_and_left_alone() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", LATEST + 5).unwrap();
        match migrate(&mut c) {
            Err(VaultError::NewerSchema { found, supported }) => {
                assert_eq!(found, LATEST + 5);
                assert_eq!(supported, LATEST);
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        assert_eq!(version(&c).unwrap(), LATEST + 5);
    }

    #[test]
    fn upgrade_from_every_older_version_runs_only_missing_steps() {
        // A ladder with an extra step simulates a future release.
        let v3 = "ALTER TABLE credentials ADD COLUMN note TEXT;";
        let ladder = [V1, V2, v3];
        let mut c = Connection::open_in_memory().unwrap();
        // A vault of the first release.
        migrate_to(&mut c, &[V1]).unwrap();
        c.execute(
            "INSERT INTO settings (name, value, updated_at) VALUES ('x', '1', 0)",
            [],
        )
        .unwrap();
        migrate_to(&mut c, &ladder).unwrap();
        assert_eq!(version(&c).unwrap(), 3);
        c.execute("DELETE FROM seen_values", []).unwrap();
        c.execute("UPDATE credentials SET note = 'n'", []).unwrap();
        let kept: String = c
            .query_row("SELECT value FROM settings WHERE name='x'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "1");
    }

    #[test]
    fn failing_step_rolls_back_everything() {
        let ladder = [V1, "CREATE TABLE broken (; -- syntax error"];
        let mut c = Connection::open_in_memory().unwrap();
        assert!(migrate_to(&mut c, &ladder).is_err());
        assert_eq!(version(&c).unwrap(), 0);
        let n: i64 = c
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "v1 tables must be rolled back with the failed step");
    }

    #[test]
    fn activity_log_rejects_update_and_delete() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        c.execute(
            "INSERT INTO activity (at, actor, action, subject, outcome, detail, prev_hash, hash)
             VALUES (0, 'a', 'b', 'c', 'ok', '{}', 'p', 'h')",
            [],
        )
        .unwrap();
        assert!(c.execute("UPDATE activity SET actor = 'x'", []).is_err());
        assert!(c.execute("DELETE FROM activity", []).is_err());
    }
}
