//! Exporting the activity log for an audit repository: as the entries themselves (JSON) or as a
//! FHIR R4 Bundle of AuditEvent resources ([`fhir`]).
//!
//! An export is taken only from a log whose hash chain (and, unlocked, its sealed anchor)
//! verifies: a copy of a tampered log would carry its tampering on as if it were the record.
//! Every exported event names its entry's sequence number and chain hash, so an auditor can
//! match it against `audit verify` on the vault it came from.

pub mod fhir;

use wallet_vault::{ActivityEntry, ActivityFilter, Vault, VaultError};

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The vault refused (locked, unreadable, rolled back, ...).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The log's chain does not verify.
    #[error("the activity log is broken at entry {seq}: {problem}; nothing was exported (see `audit verify`)")]
    Broken {
        /// First bad entry.
        seq: i64,
        /// What is wrong with it.
        problem: String,
    },
    /// `--since` is not a time this understands.
    #[error(
        "not a time: {0:?} (use RFC 3339, e.g. 2024-05-01T00:00:00Z, or a date, e.g. 2024-05-01)"
    )]
    InvalidTime(String),
}

impl ExportError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Vault(e) => e.code(),
            ExportError::Broken { .. } => "log_broken",
            ExportError::InvalidTime(_) => "invalid_time",
        }
    }
}

/// The entries to export: every entry at or after `since_ms` (unix ms), oldest first, after
/// checking the whole chain.
pub fn entries(vault: &Vault, since_ms: Option<i64>) -> Result<Vec<ActivityEntry>, ExportError> {
    let log = vault.activity_log();
    let report = log.verify()?;
    if let Some(bad) = report.first_bad {
        return Err(ExportError::Broken {
            seq: bad.seq,
            problem: bad.problem,
        });
    }
    let mut entries = log.list(&ActivityFilter {
        since_ms,
        ..Default::default()
    })?;
    entries.sort_by_key(|e| e.seq);
    Ok(entries)
}

/// The FHIR export of `entries`: what the bundle says about the wallet that wrote them.
pub fn fhir_context(vault: &Vault, exported_at_ms: i64) -> fhir::ExportContext {
    fhir::ExportContext {
        vault_id: vault.vault_id().to_owned(),
        organization_did: crate::org::organization(vault)
            .ok()
            .flatten()
            .map(|o| o.did),
        exported_at_ms,
    }
}

/// Parses `--since`: RFC 3339 (fractional seconds kept to the millisecond) or a bare date
/// (`YYYY-MM-DD`, midnight UTC). Returns unix milliseconds.
pub fn parse_since(s: &str) -> Result<i64, ExportError> {
    let bad = || ExportError::InvalidTime(wallet_protocol::oauth::error::sanitize(s, 64));
    let s = s.trim();
    let full = if s.len() == 10 && !s.contains('T') {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    };
    let secs = wallet_protocol::clock::parse_rfc3339(&full).ok_or_else(bad)?;
    // `parse_rfc3339` keeps whole seconds; the fraction is the same whatever the offset.
    let millis = full
        .split_once('T')
        .and_then(|(_, t)| t.split_once('.'))
        .map(|(_, frac)| {
            let digits: String = frac
                .chars()
                .take_while(char::is_ascii_digit)
                .chain(std::iter::repeat('0'))
                .take(3)
                .collect();
            digits.parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    secs.checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_rfc3339_with_fractions_offsets_and_dates() {
        assert_eq!(parse_since("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_since("1970-01-01T00:00:01.25Z").unwrap(), 1250);
        assert_eq!(parse_since("1970-01-01T01:00:01.007+01:00").unwrap(), 1007);
        assert_eq!(parse_since("1970-01-02").unwrap(), 86_400_000);
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "1700000000",
            "2024-05-01T00:00:00",
        ] {
            let e = parse_since(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_time", "{bad}");
        }
    }
}

/// The entries as CSV for a spreadsheet (RFC 4180, CRLF): seq, time (RFC 3339), actor, action,
/// subject, outcome, detail (JSON). A cell that a spreadsheet would take for a formula (`=`,
/// `+`, `-`, `@`, tab, CR) gets a leading `'`: entries carry text from received links.
pub fn csv(entries: &[ActivityEntry]) -> String {
    fn cell(s: &str) -> String {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_owned()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    }
    let mut out = String::from("seq,time,actor,action,subject,outcome,detail\r\n");
    for e in entries {
        let row = [
            e.seq.to_string(),
            wallet_vault::format_rfc3339_ms(e.at_ms),
            e.actor.clone(),
            e.action.clone(),
            e.subject.clone(),
            e.outcome.clone(),
            e.detail.to_string(),
        ];
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Writes an export to `path` (replaced if it exists) through a temporary file in the same
/// folder, created with mode 0600: it holds personal data (employees, claims presented).
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        wallet_protocol::random::random_token()
    ));
    let result = (|| {
        let mut f = wallet_protocol::private_file::create_owner_only(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn quotes_escapes_and_defuses_formulas() {
        let e = ActivityEntry {
            seq: 7,
            at_ms: 1_800_000_000_123,
            actor: "system".into(),
            action: "presentation.refuse".into(),
            subject: "=HYPERLINK(\"http://evil\")".into(),
            outcome: "failure".into(),
            detail: serde_json::json!({"message": "a, \"quoted\"\nline"}),
            hash: String::new(),
        };
        let text = csv(&[e]);
        let mut lines = text.split("\r\n");
        assert_eq!(
            lines.next(),
            Some("seq,time,actor,action,subject,outcome,detail")
        );
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("7,2027-01-15T08:00:00.123Z,system,presentation.refuse,"),
            "{row}"
        );
        assert!(
            row.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{row}"
        );
        assert!(
            row.contains("\"{\"\"message\"\":\"\"a, \\\"\"quoted\\\"\"\\nline\"\"}\""),
            "{row}"
        );
    }
}
