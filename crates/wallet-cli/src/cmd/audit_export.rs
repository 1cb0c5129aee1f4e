//! `nuts-wallet audit export --format fhir|json|csv [--since TIME] --out FILE`: the activity log
//! for an audit repository, as a FHIR R4 Bundle of AuditEvents
//! ([`wallet_core::audit_export::fhir`]) or as the plain entries (JSON array, oldest first).
//!
//! Nothing is written when the log's chain does not verify. The file holds personal data
//! (employees, claims presented), so it is created with mode 0600, written to a temporary
//! file first and renamed into place.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wallet_core::audit_export;
use wallet_vault::Vault;

/// Export format.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// FHIR R4 Bundle (type `collection`) of AuditEvent resources (IHE BALP)
    Fhir,
    /// The entries as `audit list --json` prints them, oldest first
    Json,
    /// A spreadsheet: seq, time, actor, action, subject, outcome, detail (RFC 4180)
    Csv,
}

/// Arguments of `audit export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum)]
    format: Format,
    /// Only entries at or after this time (RFC 3339, e.g. 2024-05-01T00:00:00Z, or a date)
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// The file to write (replaced if it exists)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `audit export` on an unlocked vault.
pub fn run(vault: &Vault, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(audit_export::parse_since)
        .transpose()?;
    let entries = audit_export::entries(vault, since)?;
    let doc = match args.format {
        Format::Json => Some(serde_json::to_value(&entries)?),
        Format::Fhir => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            Some(audit_export::fhir::bundle(
                &entries,
                &audit_export::fhir_context(vault, now_ms),
            ))
        }
        Format::Csv => None,
    };
    let text = match doc {
        Some(doc) => {
            let mut text = serde_json::to_vec_pretty(&doc)?;
            text.push(b'\n');
            text
        }
        None => audit_export::csv(&entries).into_bytes(),
    };
    audit_export::write_private(&args.out, &text)
        .with_context(|| format!("could not write {}", args.out.display()))?;
    match (entries.first(), entries.last()) {
        (Some(first), Some(last)) => println!(
            "exported {} entries (seq {}..{}) to {}",
            entries.len(),
            first.seq,
            last.seq,
            args.out.display()
        ),
        _ => println!("exported 0 entries to {}", args.out.display()),
    }
    Ok(ExitCode::SUCCESS)
}
