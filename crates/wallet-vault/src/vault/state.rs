//! Rollback detection: the vault's sealed state commitment.
//!
//! Each record's sealed value (or MAC) is bound to its row's `version`: the sequence number of
//! the write transaction that made it. `vault_meta` holds the sequence number of the newest
//! write, a SHA-256 digest of every covered table, and a MAC over both under a subkey of the
//! vault key; every keyed write transaction checks the state first and commits a new one.
//!
//! A row copied back from an older copy of `vault.db` is self-consistent (its seal opens) but
//! changes its table's digest, so the mix of old and new rows is refused on the next read or
//! write with [`VaultError::StateMismatch`], naming the tables. The activity log is not
//! covered here: it has its own hash chain and sealed anchor, and that anchor column is.
//!
//! A copy of the whole file rolls the sequence number and the MAC back together. To catch that
//! as well, the newest sequence number and a prefix of its MAC are kept in the OS keyring when
//! one is reachable (`state_anchor` names the entry); a file behind it is refused at unlock
//! with [`VaultError::RolledBack`].

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::crypto;
use crate::keystore::{KeyStore, KeyStoreError};
use crate::secret::{hex, random_id, Key256};
use crate::{Result, VaultError};

/// The tables the commitment covers: (table, columns, order). `vault_meta` leaves out the
/// commitment's own columns.
///
/// Deliberately not covered: `activity` (its own chain and sealed anchor), and the audit
/// forwarding tables `audit_outbox` and `forward_state` (`repo/outbox.rs`). Those change while
/// the vault is locked (an entry appended while locked is queued; delivery removes rows), when
/// no commitment can be sealed. A rollback of them only re-sends entries the collector already
/// has (delivery is at least once; `seq` tells duplicates apart) or loses queued rows whose
/// entries stay in the log; the forwarding configuration itself is a MAC-protected row of
/// `settings`, which is covered.
const COVERED: &[(&str, &str, &str)] = &[
    (
        "vault_meta",
        "id, vault_id, created_at, admin_verifier, admin_version, anchor, state_anchor",
        "id",
    ),
    ("key_wraps", "*", "id"),
    ("settings", "*", "name"),
    ("keys", "*", "id"),
    ("credentials", "*", "id"),
    ("employees", "*", "id"),
    ("tokens", "*", "id"),
    ("seen_values", "*", "kind, digest"),
];

/// Activity action recorded when a vault made before state commitments gets its first one.
pub(crate) const ESTABLISH_ACTION: &str = "vault.state.establish";

/// The checked state before a write.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Sequence number of the newest write.
    pub seq: i64,
    /// Whether the vault has a commitment yet (vaults made before schema 3 get one at their
    /// first keyed write).
    pub established: bool,
    /// The MAC of that state (zero when not established).
    pub mac: [u8; 32],
}

/// What [`commit`] leaves for the keyring anchor after the transaction commits.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub seq: i64,
    pub mac: [u8; 32],
    pub anchor_account: Option<String>,
}

fn table_digest(conn: &Connection, table: &str, columns: &str, order: &str) -> Result<[u8; 32]> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {columns} FROM {table} ORDER BY {order}"))?;
    let mut h = Sha256::new();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    for n in &names {
        part(&mut h, b'c', n.as_bytes());
    }
    let width = names.len();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        h.update(b"r");
        for i in 0..width {
            match row.get_ref(i)? {
                ValueRef::Null => h.update(b"n"),
                ValueRef::Integer(v) => part(&mut h, b'i', &v.to_be_bytes()),
                ValueRef::Real(v) => part(&mut h, b'f', &v.to_bits().to_be_bytes()),
                ValueRef::Text(t) => part(&mut h, b't', t),
                ValueRef::Blob(b) => part(&mut h, b'b', b),
            }
        }
    }
    Ok(h.finalize().into())
}

/// Type tag and length prefix, so no two different rows hash alike.
fn part(h: &mut Sha256, tag: u8, bytes: &[u8]) {
    h.update([tag]);
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn digests(conn: &Connection) -> Result<Vec<[u8; 32]>> {
    COVERED
        .iter()
        .map(|(t, c, o)| table_digest(conn, t, c, o))
        .collect()
}

fn state_mac(key: &Key256, vault_id: &str, seq: i64, digests: &[[u8; 32]]) -> [u8; 32] {
    let sub = crypto::subkey(key, "state-commitment");
    let mut parts: Vec<&[u8]> = Vec::with_capacity(digests.len() * 2 + 2);
    let seq_bytes = seq.to_be_bytes();
    parts.push(vault_id.as_bytes());
    parts.push(&seq_bytes);
    for ((name, _, _), d) in COVERED.iter().zip(digests) {
        parts.push(name.as_bytes());
        parts.push(d);
    }
    crypto::hmac_sha256(sub.bytes(), &parts)
}

/// Equality without an early exit, so timing does not tell how much of a MAC matched.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether the log records that this vault has (had) a commitment, so a missing one is
/// tampering rather than a vault from before schema 3.
fn establishment_recorded(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM activity WHERE action = ?1
                        OR (action = 'vault.create'
                            AND json_extract(detail, '$.state_commitment') = 1))",
        [ESTABLISH_ACTION],
        |r| r.get(0),
    )?)
}

/// Checks the covered tables against the sealed commitment.
pub(crate) fn verify(conn: &Connection, key: &Key256, vault_id: &str) -> Result<State> {
    let (seq, tables, mac): (i64, Option<String>, Option<Vec<u8>>) = conn.query_row(
        "SELECT state_seq, state_tables, state_mac FROM vault_meta WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some(mac) = mac else {
        if establishment_recorded(conn)? {
            return Err(VaultError::StateMismatch(
                "the vault's sealed state record was removed".into(),
            ));
        }
        return Ok(State {
            seq,
            established: false,
            mac: [0; 32],
        });
    };
    let current = digests(conn)?;
    if ct_eq(&state_mac(key, vault_id, seq, &current), &mac) {
        let mut m = [0u8; 32];
        m.copy_from_slice(&mac);
        return Ok(State {
            seq,
            established: true,
            mac: m,
        });
    }
    // Name the tables that differ when the stored per-table digests are still authentic.
    let stored: Option<Vec<[u8; 32]>> = tables
        .and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
        .and_then(|v| {
            v.iter()
                .map(|h| {
                    let b = unhex(h)?;
                    <[u8; 32]>::try_from(b.as_slice()).ok()
                })
                .collect()
        });
    match stored {
        Some(stored)
            if stored.len() == COVERED.len()
                && ct_eq(&state_mac(key, vault_id, seq, &stored), &mac) =>
        {
            let changed: Vec<&str> = COVERED
                .iter()
                .zip(stored.iter().zip(&current))
                .filter(|(_, (s, c))| s != c)
                .map(|((t, _, _), _)| *t)
                .collect();
            Err(VaultError::StateMismatch(format!(
                "the records in {} do not match the vault's sealed state: they were changed \
                 outside Nuts Wallet or copied back from an older copy of vault.db",
                changed.join(", ")
            )))
        }
        _ => Err(VaultError::StateMismatch(
            "the vault's sealed state record was altered or copied from another copy of vault.db"
                .into(),
        )),
    }
}

/// Seals the state as it is now in `conn` (inside the write transaction) as sequence number
/// `seq`. `anchor_account` replaces the keyring anchor's entry name when given.
pub(crate) fn commit(
    conn: &Connection,
    key: &Key256,
    vault_id: &str,
    seq: i64,
    anchor_account: Option<&str>,
) -> Result<Committed> {
    if let Some(a) = anchor_account {
        conn.execute("UPDATE vault_meta SET state_anchor = ?1 WHERE id = 1", [a])?;
    }
    let current = digests(conn)?;
    let mac = state_mac(key, vault_id, seq, &current);
    let tables: Vec<String> = current.iter().map(|d| hex(d)).collect();
    conn.execute(
        "UPDATE vault_meta SET state_seq = ?1, state_tables = ?2, state_mac = ?3 WHERE id = 1",
        rusqlite::params![
            seq,
            serde_json::to_string(&tables).unwrap_or_default(),
            mac.to_vec()
        ],
    )?;
    let anchor_account: Option<String> = conn
        .query_row(
            "SELECT state_anchor FROM vault_meta WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(Committed {
        seq,
        mac,
        anchor_account,
    })
}

/// A new keyring entry for the anchor, or `None` when no keyring is reachable (then only
/// mixes of rows are detected, not a rollback of the whole file).
pub(crate) fn new_anchor_account(keystore: &dyn KeyStore, seq: i64) -> Option<String> {
    let account = format!("vault-state-{}", random_id());
    match keystore.put(&account, &anchor_value(seq, &[0; 32])) {
        Ok(()) => Some(account),
        Err(e) => {
            tracing::info!(error = %e, "no keyring for the vault's state anchor");
            None
        }
    }
}

/// The anchor as a 32-byte keyring secret: the sequence number, then 24 bytes of the MAC.
fn anchor_value(seq: i64, mac: &[u8; 32]) -> Key256 {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seq.to_be_bytes());
    b[8..].copy_from_slice(&mac[..24]);
    Key256::from_slice(&b).unwrap_or_else(Key256::random)
}

fn read_anchor(keystore: &dyn KeyStore, account: &str) -> Option<(i64, [u8; 24])> {
    match keystore.get(account) {
        Ok(k) => {
            let b = k.bytes();
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&b[..8]);
            let mut mac = [0u8; 24];
            mac.copy_from_slice(&b[8..]);
            Some((i64::from_be_bytes(seq), mac))
        }
        Err(KeyStoreError::NoEntry(_)) => {
            tracing::warn!("the keyring entry of the vault's state anchor is missing");
            None
        }
        Err(e) => {
            tracing::info!(error = %e, "keyring unreachable; state anchor not checked");
            None
        }
    }
}

/// Refuses a file whose state is behind (or beside) the one recorded in the keyring.
pub(crate) fn check_anchor(
    conn: &Connection,
    keystore: &dyn KeyStore,
    state: &State,
) -> Result<()> {
    let account: Option<String> = conn.query_row(
        "SELECT state_anchor FROM vault_meta WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let Some((anchor_seq, anchor_mac)) = account.and_then(|a| read_anchor(keystore, &a)) else {
        return Ok(());
    };
    // A fresh entry holds a zero MAC until the first write after it was made.
    let fresh = anchor_mac == [0u8; 24];
    if anchor_seq > state.seq {
        return Err(VaultError::RolledBack {
            file: state.seq,
            anchor: anchor_seq,
        });
    }
    if anchor_seq == state.seq && !fresh && !ct_eq(&anchor_mac, &state.mac[..24]) {
        return Err(VaultError::StateMismatch(
            "the vault's state differs from the one recorded in the OS keyring".into(),
        ));
    }
    Ok(())
}

/// Records `c` in the keyring after its transaction committed; never lowers the anchor (two
/// processes may commit in one order and reach the keyring in the other).
pub(crate) fn put_anchor(keystore: &dyn KeyStore, c: &Committed) {
    let Some(account) = &c.anchor_account else {
        return;
    };
    if let Some((seq, _)) = read_anchor(keystore, account) {
        if seq > c.seq {
            return;
        }
    }
    if let Err(e) = keystore.put(account, &anchor_value(c.seq, &c.mac)) {
        tracing::info!(error = %e, "could not update the vault's state anchor in the keyring");
    }
}

/// The sequence number and whether a commitment exists, without checking it (for a write on
/// a connection whose state was checked and that nobody else wrote to since).
pub(crate) fn read_unchecked(conn: &Connection) -> Result<State> {
    let (seq, mac): (i64, Option<Vec<u8>>) = conn.query_row(
        "SELECT state_seq, state_mac FROM vault_meta WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut m = [0u8; 32];
    if let Some(mac) = &mac {
        if mac.len() == 32 {
            m.copy_from_slice(mac);
        }
    }
    Ok(State {
        seq,
        established: mac.is_some(),
        mac: m,
    })
}

/// Commits the state after a write that started from `before`: a vault without a
/// commitment gets its first one, recorded in the activity log (so that removing it later
/// is recognised as tampering).
pub(crate) fn seal_after(
    tx: &rusqlite::Transaction<'_>,
    key: &Key256,
    vault_id: &str,
    before: &State,
    seq: i64,
    new_anchor: Option<&str>,
) -> Result<Committed> {
    if !before.established {
        crate::audit::append(
            tx,
            vault_id,
            Some(key),
            &crate::audit::NewActivity::new(
                crate::audit::Actor::System,
                ESTABLISH_ACTION,
                vault_id,
            ),
        )?;
    }
    commit(tx, key, vault_id, seq, new_anchor)
}

/// `PRAGMA data_version`: changes when another connection commits to the file.
pub(crate) fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}
