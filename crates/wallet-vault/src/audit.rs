//! The activity log: an append-only table whose entries are hash-chained.
//!
//! `hash(n) = SHA-256(canonical(n))`, where the canonical encoding is the domain tag followed by
//! length-prefixed fields: sequence number, time, actor, action, subject, outcome, the detail
//! JSON *text as stored*, and `hash(n-1)` (for the first entry: a genesis value derived from the
//! vault id). Editing, deleting, inserting or reordering entries breaks the chain, and
//! [`verify`] names the first entry where it breaks.
//!
//! A chain alone cannot show that entries were cut off its end, so each append made while the
//! vault is unlocked also stores an *anchor* (sequence number and hash of the newest entry)
//! sealed with the vault key in `vault_meta`. With the vault unlocked, `verify` checks it too.
//!
//! Entries are written with the caller's transaction, so a change and its record commit or
//! roll back together, and so does the entry's row in the audit outbox (`repo/outbox.rs`)
//! while forwarding to a syslog collector is configured. Details must not hold secrets: keys
//! that name secrets (`d`, `passphrase`, `access_token`, ...) are refused.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{self, Place};
use crate::secret::{hex, Key256};
use crate::{Result, VaultError};

const DOMAIN: &[u8] = b"nuts-wallet/activity/v1";

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The administrator (after verifying the administrator passphrase).
    Admin,
    /// An employee, by roster id.
    Employee(String),
    /// The wallet itself (background work, failed unlock attempts).
    System,
}

impl Actor {
    /// Stored form: `admin`, `employee:<id>`, `system`.
    pub fn as_stored(&self) -> String {
        match self {
            Actor::Admin => "admin".into(),
            Actor::Employee(id) => format!("employee:{id}"),
            Actor::System => "system".into(),
        }
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was attempted and failed.
    Failure,
    /// A person declined it.
    Declined,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Declined => "declined",
        }
    }
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewActivity {
    /// Who.
    pub actor: Actor,
    /// What, as a dotted verb: `credential.import`, `presentation.send`, ...
    pub action: String,
    /// On what: a record id, a verifier URL, ...
    pub subject: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Extra facts, as JSON. Never secrets.
    pub detail: serde_json::Value,
}

impl NewActivity {
    /// A successful action with an empty detail.
    pub fn new(actor: Actor, action: &str, subject: &str) -> Self {
        NewActivity {
            actor,
            action: action.to_owned(),
            subject: subject.to_owned(),
            outcome: Outcome::Success,
            detail: serde_json::json!({}),
        }
    }

    /// Sets the detail.
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at_ms: i64,
    /// `admin`, `employee:<id>` or `system`.
    pub actor: String,
    /// Dotted verb.
    pub action: String,
    /// What it was about.
    pub subject: String,
    /// `success`, `failure` or `declined`.
    pub outcome: String,
    /// Extra facts.
    pub detail: serde_json::Value,
    /// Hex SHA-256 chain hash of this entry.
    pub hash: String,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Only this actor (stored form, e.g. `admin` or `employee:<id>`).
    pub actor: Option<String>,
    /// Only actions starting with this prefix (e.g. `credential.`).
    pub action_prefix: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this outcome (`success`, `failure`, `declined`).
    pub outcome: Option<String>,
    /// Only entries whose actor, action or subject contains this text (case-insensitive for
    /// ASCII).
    pub text: Option<String>,
    /// Only entries at or after this time (unix ms).
    pub since_ms: Option<i64>,
    /// Only entries before this time (unix ms).
    pub until_ms: Option<i64>,
    /// Only entries with a sequence number below this (for paging backwards).
    pub before_seq: Option<i64>,
    /// At most this many (newest first). `None` = all.
    pub limit: Option<u32>,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Number of entries checked.
    pub entries: i64,
    /// Whether the sealed anchor (truncation check) was checked; needs the vault unlocked.
    pub anchor_checked: bool,
    /// The first entry where the log is broken, if any.
    pub first_bad: Option<BadEntry>,
}

impl AuditReport {
    /// `true` when nothing was found wrong.
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// The first broken entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadEntry {
    /// Its sequence number.
    pub seq: i64,
    /// What is wrong.
    pub problem: String,
}

/// Key names refused in details, because their values are secrets (JWK private members,
/// passphrases, tokens, PKCE verifiers).
const SECRET_KEYS: &[&str] = &[
    "d",
    "p",
    "q",
    "dp",
    "dq",
    "qi",
    "k",
    "private_key",
    "privatekey",
    "passphrase",
    "password",
    "secret",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "vp_token",
    "code_verifier",
];

fn check_detail(v: &serde_json::Value) -> Result<()> {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if SECRET_KEYS.contains(&k.to_ascii_lowercase().as_str()) {
                    return Err(VaultError::InvalidInput(format!(
                        "activity detail must not contain secrets (key {k:?})"
                    )));
                }
                check_detail(v)?;
            }
            Ok(())
        }
        serde_json::Value::Array(a) => a.iter().try_for_each(check_detail),
        _ => Ok(()),
    }
}

pub(crate) fn genesis(vault_id: &str) -> String {
    hex(&Sha256::new()
        .chain_update(b"nuts-wallet/activity/genesis/v1")
        .chain_update(vault_id.as_bytes())
        .finalize())
}

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    outcome: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        DOMAIN,
        seq.to_string().as_bytes(),
        at.to_string().as_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        subject.as_bytes(),
        outcome.as_bytes(),
        detail.as_bytes(),
        prev_hash.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex(&h.finalize())
}

fn anchor_place() -> Place<'static> {
    Place::new("vault_meta", "1", "anchor")
}

/// An entry as stored (`SELECT seq, at, actor, action, subject, outcome, detail, prev_hash,
/// hash`), with the hash its contents actually have.
struct StoredRow {
    seq: i64,
    prev: String,
    stored: String,
    actual: String,
}

impl StoredRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let seq: i64 = r.get(0)?;
        let prev: String = r.get(7)?;
        let actual = entry_hash(
            seq,
            r.get(1)?,
            &r.get::<_, String>(2)?,
            &r.get::<_, String>(3)?,
            &r.get::<_, String>(4)?,
            &r.get::<_, String>(5)?,
            &r.get::<_, String>(6)?,
            &prev,
        );
        Ok(StoredRow {
            seq,
            prev,
            stored: r.get(8)?,
            actual,
        })
    }
}

/// Reads the sealed anchor: `None` when there is none yet.
fn read_anchor(conn: &rusqlite::Connection, key: &Key256) -> Result<Option<(i64, String)>> {
    let sealed: Option<Vec<u8>> = conn
        .query_row("SELECT anchor FROM vault_meta WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let plain = crypto::open(key, anchor_place(), &sealed)
        .map_err(|_| VaultError::LogTampered("the sealed log anchor was altered".into()))?;
    if plain.len() < 8 {
        return Err(VaultError::LogTampered(
            "the sealed log anchor is malformed".into(),
        ));
    }
    let mut seq_bytes = [0u8; 8];
    seq_bytes.copy_from_slice(&plain[..8]);
    Ok(Some((
        i64::from_be_bytes(seq_bytes),
        String::from_utf8_lossy(&plain[8..]).into_owned(),
    )))
}

/// Checks that the entry sealed in the anchor is still there, unchanged, and that every entry
/// after it (written while the vault was locked) chains to it, so the next re-seal covers an
/// intact log only.
fn check_head(conn: &rusqlite::Connection, key: &Key256) -> Result<()> {
    let count: i64 = conn.query_row("SELECT count(*) FROM activity", [], |r| r.get(0))?;
    let Some((aseq, ahash)) = read_anchor(conn, key)? else {
        if count > 0 {
            return Err(VaultError::LogTampered(
                "the sealed log anchor is missing".into(),
            ));
        }
        return Ok(());
    };
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, subject, outcome, detail, prev_hash, hash
         FROM activity WHERE seq >= ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([aseq])?;
    let mut expected: Option<(i64, String)> = None;
    while let Some(r) = rows.next()? {
        let StoredRow {
            seq,
            prev,
            stored,
            actual,
        } = StoredRow::read(r)?;
        let ok = match &expected {
            None => seq == aseq && stored == ahash && actual == stored,
            Some((eseq, ehash)) => seq == *eseq && prev == *ehash && actual == stored,
        };
        if !ok {
            return Err(VaultError::LogTampered(format!(
                "entry {seq} does not match the sealed log anchor or the entries before it"
            )));
        }
        expected = Some((seq + 1, stored));
    }
    if expected.is_none() {
        return Err(VaultError::LogTampered(format!(
            "the log was cut off: the sealed anchor records {aseq} entries, {count} found"
        )));
    }
    Ok(())
}

/// Appends an entry inside `tx`. With `key`, also refreshes the sealed anchor.
pub(crate) fn append(
    tx: &Transaction<'_>,
    vault_id: &str,
    key: Option<&Key256>,
    e: &NewActivity,
) -> Result<ActivityEntry> {
    check_detail(&e.detail)?;
    if e.action.is_empty() {
        return Err(VaultError::InvalidInput("activity action is empty".into()));
    }
    let detail = serde_json::to_string(&e.detail)
        .map_err(|err| VaultError::InvalidInput(format!("activity detail: {err}")))?;
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM activity ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some(key) = key {
        // Re-sealing the anchor over a cut-off log would hide the cut: check first.
        check_head(tx, key)?;
    }
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, genesis(vault_id)),
    };
    // Time never goes backwards inside the log, even if the clock does.
    let last_at: Option<i64> = tx
        .query_row("SELECT max(at) FROM activity", [], |r| r.get(0))
        .optional()?
        .flatten();
    let at = crate::clock::now_ms().max(last_at.unwrap_or(0));
    let actor = e.actor.as_stored();
    let outcome = e.outcome.as_str();
    let hash = entry_hash(
        seq, at, &actor, &e.action, &e.subject, outcome, &detail, &prev_hash,
    );
    tx.execute(
        "INSERT INTO activity (seq, at, actor, action, subject, outcome, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![seq, at, actor, e.action, e.subject, outcome, detail, prev_hash, hash],
    )?;
    if let Some(key) = key {
        let mut plain = Vec::with_capacity(8 + hash.len());
        plain.extend_from_slice(&seq.to_be_bytes());
        plain.extend_from_slice(hash.as_bytes());
        let sealed = crypto::seal(key, anchor_place(), &plain);
        tx.execute("UPDATE vault_meta SET anchor = ?1 WHERE id = 1", [sealed])?;
    }
    let entry = ActivityEntry {
        seq,
        at_ms: at,
        actor,
        action: e.action.clone(),
        subject: e.subject.clone(),
        outcome: outcome.to_owned(),
        detail: e.detail.clone(),
        hash,
    };
    // Same transaction: an entry is never committed without its outbox row (when forwarding
    // to the organization's syslog collector is on).
    crate::repo::outbox::enqueue(tx, &entry, &detail)?;
    Ok(entry)
}

/// Lists entries, newest first.
pub(crate) fn list(conn: &rusqlite::Connection, f: &ActivityFilter) -> Result<Vec<ActivityEntry>> {
    let mut sql = String::from(
        "SELECT seq, at, actor, action, subject, outcome, detail, hash FROM activity WHERE 1=1",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(a) = &f.actor {
        sql.push_str(" AND actor = ?");
        args.push(a.clone().into());
    }
    if let Some(p) = &f.action_prefix {
        sql.push_str(" AND substr(action, 1, length(?)) = ?");
        args.push(p.clone().into());
        args.push(p.clone().into());
    }
    if let Some(s) = &f.subject {
        sql.push_str(" AND subject = ?");
        args.push(s.clone().into());
    }
    if let Some(o) = &f.outcome {
        sql.push_str(" AND outcome = ?");
        args.push(o.clone().into());
    }
    if let Some(t) = f.text.as_deref().filter(|t| !t.is_empty()) {
        sql.push_str(" AND instr(lower(actor || ' ' || action || ' ' || subject), lower(?)) > 0");
        args.push(t.to_owned().into());
    }
    if let Some(t) = f.since_ms {
        sql.push_str(" AND at >= ?");
        args.push(t.into());
    }
    if let Some(t) = f.until_ms {
        sql.push_str(" AND at < ?");
        args.push(t.into());
    }
    if let Some(s) = f.before_seq {
        sql.push_str(" AND seq < ?");
        args.push(s.into());
    }
    sql.push_str(" ORDER BY seq DESC");
    if let Some(l) = f.limit {
        sql.push_str(" LIMIT ?");
        args.push(i64::from(l).into());
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        let detail: String = r.get(6)?;
        Ok(ActivityEntry {
            seq: r.get(0)?,
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            outcome: r.get(5)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
            hash: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Walks the whole chain (and the anchor when `key` is given).
pub(crate) fn verify(
    conn: &rusqlite::Connection,
    vault_id: &str,
    key: Option<&Key256>,
) -> Result<AuditReport> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, subject, outcome, detail, prev_hash, hash
         FROM activity ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = genesis(vault_id);
    let mut expected_seq = 1i64;
    let mut count = 0i64;
    let mut first_bad = None;
    let mut hashes: Vec<(i64, String)> = Vec::new();
    while let Some(r) = rows.next()? {
        count += 1;
        let StoredRow {
            seq,
            prev: stored_prev,
            stored: stored_hash,
            actual,
        } = StoredRow::read(r)?;
        if first_bad.is_none() {
            let problem = if seq != expected_seq {
                Some(format!(
                    "sequence jumps from {} to {seq}: entries deleted or inserted",
                    expected_seq - 1
                ))
            } else if actual != stored_hash {
                Some("contents do not match its hash: the entry was edited".to_owned())
            } else if stored_prev != expected_prev {
                Some(
                    "does not chain to the entry before it: entries deleted, inserted or reordered"
                        .to_owned(),
                )
            } else {
                None
            };
            if let Some(problem) = problem {
                first_bad = Some(BadEntry { seq, problem });
            }
        }
        expected_seq = seq + 1;
        expected_prev = stored_hash.clone();
        if key.is_some() {
            hashes.push((seq, stored_hash));
        }
    }
    drop(rows);
    let mut anchor_checked = false;
    if let Some(key) = key {
        anchor_checked = true;
        let anchor: Option<Vec<u8>> = conn
            .query_row("SELECT anchor FROM vault_meta WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        let problem = match anchor {
            None if count > 0 => Some((1, "the sealed log anchor is missing".to_owned())),
            None => None,
            Some(sealed) => match crypto::open(key, anchor_place(), &sealed) {
                Err(_) => Some((1, "the sealed log anchor was altered".to_owned())),
                Ok(plain) if plain.len() < 8 => {
                    Some((1, "the sealed log anchor is malformed".to_owned()))
                }
                Ok(plain) => {
                    let mut seq_bytes = [0u8; 8];
                    seq_bytes.copy_from_slice(&plain[..8]);
                    let aseq = i64::from_be_bytes(seq_bytes);
                    let ahash = String::from_utf8_lossy(&plain[8..]).into_owned();
                    match hashes.iter().find(|(s, _)| *s == aseq) {
                        Some((_, h)) if *h == ahash => None,
                        Some(_) => Some((
                            aseq,
                            "differs from the entry sealed in the log anchor".to_owned(),
                        )),
                        None => Some((
                            aseq,
                            format!(
                                "is missing: the log was cut off (the anchor records {aseq} entries, {count} found)"
                            ),
                        )),
                    }
                }
            },
        };
        if let Some((seq, problem)) = problem {
            // Report whichever problem comes first in the log.
            if first_bad.as_ref().is_none_or(|b: &BadEntry| seq < b.seq) {
                first_bad = Some(BadEntry { seq, problem });
            }
        }
    }
    Ok(AuditReport {
        entries: count,
        anchor_checked,
        first_bad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut c).unwrap();
        c.execute(
            "INSERT INTO vault_meta (id, vault_id, created_at) VALUES (1, 'v', 0)",
            [],
        )
        .unwrap();
        c
    }

    fn add(c: &mut Connection, key: Option<&Key256>, n: usize) {
        for i in 0..n {
            let tx = c.transaction().unwrap();
            append(
                &tx,
                "v",
                key,
                &NewActivity::new(
                    Actor::Employee(format!("e{i}")),
                    "test.act",
                    &format!("s{i}"),
                )
                .detail(serde_json::json!({"i": i})),
            )
            .unwrap();
            tx.commit().unwrap();
        }
    }

    fn unprotect(c: &Connection) {
        c.execute_batch("DROP TRIGGER activity_no_update; DROP TRIGGER activity_no_delete;")
            .unwrap();
    }

    #[test]
    fn intact_chain_verifies() {
        let mut c = db();
        let key = Key256::random();
        add(&mut c, Some(&key), 5);
        let r = verify(&c, "v", Some(&key)).unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.entries, 5);
        assert!(r.anchor_checked);
        // The chain is bound to the vault id.
        assert!(!verify(&c, "other", None).unwrap().is_ok());
    }

    #[test]
    fn edit_is_detected_at_that_entry() {
        let mut c = db();
        add(&mut c, None, 5);
        unprotect(&c);
        c.execute("UPDATE activity SET subject = 'forged' WHERE seq = 3", [])
            .unwrap();
        let r = verify(&c, "v", None).unwrap();
        assert_eq!(r.first_bad.unwrap().seq, 3);
    }

    #[test]
    fn delete_in_middle_is_detected() {
        let mut c = db();
        add(&mut c, None, 5);
        unprotect(&c);
        c.execute("DELETE FROM activity WHERE seq = 2", []).unwrap();
        let bad = verify(&c, "v", None).unwrap().first_bad.unwrap();
        assert_eq!(bad.seq, 3);
        assert!(bad.problem.contains("deleted"), "{}", bad.problem);
    }

    #[test]
    fn delete_and_renumber_is_detected() {
        let mut c = db();
        add(&mut c, None, 5);
        unprotect(&c);
        c.execute_batch(
            "DELETE FROM activity WHERE seq = 2; UPDATE activity SET seq = seq - 1 WHERE seq > 2;",
        )
        .unwrap();
        assert_eq!(verify(&c, "v", None).unwrap().first_bad.unwrap().seq, 2);
    }

    #[test]
    fn reorder_is_detected() {
        let mut c = db();
        add(&mut c, None, 4);
        unprotect(&c);
        // Swap entries 2 and 3 (keeping seq numbers in place).
        c.execute_batch(
            "UPDATE activity SET seq = 100 WHERE seq = 2;
             UPDATE activity SET seq = 2 WHERE seq = 3;
             UPDATE activity SET seq = 3 WHERE seq = 100;",
        )
        .unwrap();
        assert_eq!(verify(&c, "v", None).unwrap().first_bad.unwrap().seq, 2);
    }

    #[test]
    fn insertion_with_recomputed_hash_is_detected_by_next_entry() {
        let mut c = db();
        add(&mut c, None, 3);
        unprotect(&c);
        // Forge an entry between 1 and 2 with a self-consistent hash; renumber the rest.
        let prev: String = c
            .query_row("SELECT hash FROM activity WHERE seq = 1", [], |r| r.get(0))
            .unwrap();
        c.execute_batch("UPDATE activity SET seq = seq + 10 WHERE seq > 1;")
            .unwrap();
        c.execute_batch("UPDATE activity SET seq = seq - 9 WHERE seq > 10;")
            .unwrap();
        let h = entry_hash(2, 5, "admin", "x", "y", "success", "{}", &prev);
        c.execute(
            "INSERT INTO activity VALUES (2, 5, 'admin', 'x', 'y', 'success', '{}', ?1, ?2)",
            [&prev, &h],
        )
        .unwrap();
        let bad = verify(&c, "v", None).unwrap().first_bad.unwrap();
        assert_eq!(bad.seq, 3);
    }

    #[test]
    fn truncation_is_detected_only_with_the_anchor() {
        let mut c = db();
        let key = Key256::random();
        add(&mut c, Some(&key), 5);
        unprotect(&c);
        c.execute("DELETE FROM activity WHERE seq >= 4", [])
            .unwrap();
        assert!(verify(&c, "v", None).unwrap().is_ok());
        let bad = verify(&c, "v", Some(&key)).unwrap().first_bad.unwrap();
        assert_eq!(bad.seq, 5);
        assert!(bad.problem.contains("cut off"), "{}", bad.problem);
    }

    #[test]
    fn secrets_in_detail_are_refused() {
        let c = db();
        let tx = rusqlite::Transaction::new_unchecked(&c, rusqlite::TransactionBehavior::Deferred)
            .unwrap();
        for detail in [
            serde_json::json!({"jwk": {"kty": "EC", "d": "abc"}}),
            serde_json::json!([{"Access_Token": "x"}]),
            serde_json::json!({"passphrase": "x"}),
        ] {
            let e = NewActivity::new(Actor::Admin, "x", "y").detail(detail);
            assert!(matches!(
                append(&tx, "v", None, &e),
                Err(VaultError::InvalidInput(_))
            ));
        }
    }

    #[test]
    fn list_filters() {
        let mut c = db();
        add(&mut c, None, 6);
        let all = list(&c, &ActivityFilter::default()).unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].seq, 6);
        let one = list(
            &c,
            &ActivityFilter {
                actor: Some("employee:e2".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].subject, "s2");
        assert_eq!(one[0].detail, serde_json::json!({"i": 2}));
        let page = list(
            &c,
            &ActivityFilter {
                before_seq: Some(4),
                limit: Some(2),
                action_prefix: Some("test.".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2]);
        let text = list(
            &c,
            &ActivityFilter {
                text: Some("E4".into()),
                outcome: Some("success".into()),
                limit: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(text.len(), 1);
        assert_eq!(text[0].actor, "employee:e4");
        let none = list(
            &c,
            &ActivityFilter {
                outcome: Some("failure".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(none.is_empty());
    }
}
