//! Credential commands: `credential import FILE|-`, `list`, `show`, `delete`, `trust`. Thin
//! adapters over `wallet_core::credentials`. Import, delete and trust are administrator
//! actions. Network access (DID resolution, status lists) follows `--dev` and `--ca-file`.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{bail, Context};
use wallet_core::credentials::{self, CredentialSummary, VerifyEnv, Warning};
use wallet_protocol::net::NetPolicy;
use wallet_protocol::Clock;

use super::vault::{admin_session, open_unlocked};
use crate::Ctx;

/// Arguments of `credential`.
#[derive(clap::Args)]
pub struct CredentialArgs {
    #[command(subcommand)]
    command: CredentialCommand,
}

#[derive(clap::Subcommand)]
enum CredentialCommand {
    /// Import a credential (JWT VC or JSON-LD VC) about the organization, after checking it
    /// (administrator)
    Import {
        /// The credential file, or `-` for standard input
        #[arg(value_name = "FILE|-")]
        file: String,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// List the stored credentials with warnings
    List {
        /// Print JSON (one array)
        #[arg(long)]
        json: bool,
    },
    /// Show one credential: decoded claims, validity, revocation status, warnings
    Show {
        /// Credential id (or a unique prefix of at least 4 characters)
        id: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Delete a credential (administrator)
    Delete {
        /// Credential id (or a unique prefix of at least 4 characters)
        id: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Trust an issuer DID (or stop trusting it with --remove) (administrator)
    Trust {
        /// Issuer DID
        did: String,
        /// Remove it from the trusted issuers
        #[arg(long)]
        remove: bool,
    },
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) fn verify_env(ctx: &Ctx) -> anyhow::Result<VerifyEnv> {
    let policy = NetPolicy::from_args(ctx.dev, ctx.ca_file.as_deref())?;
    Ok(VerifyEnv::from_policy(policy)?)
}

fn read_input(file: &str) -> anyhow::Result<String> {
    const MAX: u64 = 1024 * 1024;
    let mut text = String::new();
    if file == "-" {
        std::io::stdin()
            .take(MAX + 1)
            .read_to_string(&mut text)
            .context("reading the credential from standard input")?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("opening {file}"))?
            .take(MAX + 1)
            .read_to_string(&mut text)
            .with_context(|| format!("reading {file}"))?;
    }
    if text.len() as u64 > MAX {
        bail!("the credential is larger than 1 MiB");
    }
    if text.trim().is_empty() {
        bail!("no credential given (the input is empty)");
    }
    Ok(text)
}

fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        println!("  warning: {}", w.message);
    }
}

fn print_summary(c: &CredentialSummary) {
    println!("{}  {}", c.id, c.display_type);
    println!("  format      {}", c.format);
    println!(
        "  issuer      {}{}",
        c.issuer,
        if c.issuer_trusted { " (trusted)" } else { "" }
    );
    if let Some(s) = &c.subject {
        println!("  subject     {s}");
    }
    println!(
        "  valid       {} .. {}",
        c.valid_from.as_deref().unwrap_or("-"),
        c.valid_until.as_deref().unwrap_or("no end")
    );
    println!("  imported    {}", c.imported_at);
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("confirmation needed and no terminal to ask on: pass --yes");
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Runs `credential`.
pub fn run(ctx: &Ctx, args: CredentialArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    match args.command {
        CredentialCommand::Import { file, json } => {
            let text = read_input(&file)?;
            let admin = admin_session(&vault)?;
            let env = verify_env(ctx)?;
            let imported =
                runtime()?.block_on(credentials::import_credential(&vault, &admin, &text, &env))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&imported)?);
            } else {
                println!("Imported:");
                print_summary(&imported.summary);
                print_warnings(&imported.summary.warnings);
            }
        }
        CredentialCommand::List { json } => {
            let now = wallet_protocol::SystemClock.now_unix();
            let list = credentials::list_credentials(&vault, now)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("No credentials (import one with `nuts-wallet credential import FILE`)");
            } else {
                for c in &list {
                    let warn: Vec<&str> = c.warnings.iter().map(|w| w.code).collect();
                    println!(
                        "{}  {:<28} {:<8} until {:<20} {}  {}",
                        c.id,
                        c.display_type,
                        c.format,
                        c.valid_until.as_deref().unwrap_or("-"),
                        c.issuer,
                        if warn.is_empty() {
                            String::new()
                        } else {
                            format!("[{}]", warn.join(", "))
                        }
                    );
                }
            }
        }
        CredentialCommand::Show { id, json } => {
            let env = verify_env(ctx)?;
            let d = runtime()?.block_on(credentials::credential_detail(&vault, &id, &env))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print_summary(&d.summary);
                if let Some(cid) = &d.credential_id {
                    println!("  id          {cid}");
                }
                println!(
                    "  revocation  {}{}",
                    d.revocation.status,
                    d.revocation
                        .reason
                        .as_deref()
                        .map(|r| format!(" (offline? {r})"))
                        .unwrap_or_default()
                );
                println!("  claims:");
                for line in serde_json::to_string_pretty(&d.claims)?.lines() {
                    println!("    {line}");
                }
                print_warnings(&d.summary.warnings);
            }
        }
        CredentialCommand::Delete { id, yes } => {
            let full = credentials::find_credential_id(&vault, &id)?;
            if !yes {
                let now = wallet_protocol::SystemClock.now_unix();
                let what = credentials::list_credentials(&vault, now)?
                    .into_iter()
                    .find(|c| c.id == full)
                    .map(|c| format!("{} from {}", c.display_type, c.issuer))
                    .unwrap_or_default();
                if !confirm(&format!("Delete credential {full} ({what})?"))? {
                    println!("Not deleted");
                    return Ok(ExitCode::FAILURE);
                }
            }
            let admin = admin_session(&vault)?;
            let deleted = credentials::delete_credential(&vault, &admin, &full)?;
            println!("Deleted credential {deleted}");
        }
        CredentialCommand::Trust { did, remove } => {
            let admin = admin_session(&vault)?;
            let list = credentials::set_issuer_trust(&vault, &admin, &did, !remove)?;
            println!(
                "{} {did}; trusted issuers: {}",
                if remove {
                    "No longer trusting"
                } else {
                    "Trusting"
                },
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
