//! Credential commands: `credential import FILE|-`, `issue-x509`, `list`, `show`, `export`,
//! `delete`, `trust`. Thin adapters over `wallet_core::credentials`. Import, issue-x509,
//! delete and trust are administrator actions. Network access (DID resolution, status lists)
//! follows `--dev` and `--ca-file`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use wallet_core::credentials::{
    self, CertificateSource, CredentialSummary, VerifyEnv, Warning, X509CredentialView,
};
use wallet_protocol::net::NetPolicy;
use wallet_protocol::Clock;
use zeroize::Zeroizing;

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
    /// Issue the organization's X509Credential from its UZI server certificate and store it
    /// (administrator)
    #[command(name = "issue-x509")]
    IssueX509 {
        /// PKCS#12 file with the certificate, its key and the CA certificates (password from
        /// NUTS_WALLET_PKCS12_PASSWORD or a prompt)
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "key",
            conflicts_with = "key"
        )]
        pkcs12: Option<PathBuf>,
        /// PEM file with the certificate and its CA certificates up to the root (with
        /// --pkcs12: CA certificates the PKCS#12 file lacks)
        #[arg(long, value_name = "PEM")]
        chain: Option<PathBuf>,
        /// Unencrypted PEM private key of the certificate, or the `pkcs11:` URI of the key in
        /// an HSM (PIN from NUTS_WALLET_PKCS11_PIN or the OS keyring) (with --chain)
        #[arg(long, value_name = "PEM|URI", requires = "chain")]
        key: Option<String>,
        /// Subject DN (RFC 4514) of the CA in the chain whose fingerprint goes into the DID
        #[arg(long, value_name = "DN")]
        ca: String,
        /// Print the claims; store nothing
        #[arg(long)]
        dry_run: bool,
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
    /// Print a stored credential exactly as stored (compact JWT or JSON-LD)
    Export {
        /// Credential id (or a unique prefix of at least 4 characters)
        id: String,
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

fn print_organization(o: &credentials::OrganizationFacts) {
    if let Some(ura) = &o.ura {
        println!("  URA         {ura}");
    }
    if let Some(name) = &o.name {
        println!(
            "  name        {name}{}",
            o.city
                .as_ref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default()
        );
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
    if let Some(o) = &c.organization {
        print_organization(o);
    }
    println!(
        "  valid       {} .. {}",
        c.valid_from.as_deref().unwrap_or("-"),
        c.valid_until.as_deref().unwrap_or("no end")
    );
    println!("  imported    {}", c.imported_at);
}

/// Environment variable with the PKCS#12 password (else it is asked for).
const ENV_PKCS12_PASSWORD: &str = "NUTS_WALLET_PKCS12_PASSWORD";

fn pkcs12_password() -> anyhow::Result<Zeroizing<String>> {
    if let Ok(v) = std::env::var(ENV_PKCS12_PASSWORD) {
        return Ok(Zeroizing::new(v));
    }
    if !std::io::stdin().is_terminal() {
        bail!("PKCS#12 password needed: set {ENV_PKCS12_PASSWORD} (no terminal to prompt on)");
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password("PKCS#12 password: ").context("reading the password")?,
    ))
}

fn print_x509(c: &X509CredentialView) {
    println!("  URA          {}", c.ura);
    println!("  organization {}", c.organization);
    println!("  city         {}", c.locality.as_deref().unwrap_or("-"));
    println!("  valid        {} .. {}", c.valid_from, c.valid_until);
    println!("  CA           {}", c.ca);
    println!("  DID          {}", c.issuer);
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
        CredentialCommand::IssueX509 {
            pkcs12,
            chain,
            key,
            ca,
            dry_run,
            json,
        } => {
            let admin = if dry_run {
                None
            } else {
                Some(admin_session(&vault)?)
            };
            let source = match (pkcs12, chain, key) {
                (Some(path), extra_chain, None) => CertificateSource::Pkcs12 {
                    path,
                    password: pkcs12_password()?,
                    extra_chain,
                },
                (None, Some(chain), Some(key)) => CertificateSource::Pem { chain, key },
                _ => bail!("give --pkcs12 FILE, or --chain PEM and --key PEM"),
            };
            if let Some(admin) = admin {
                let env = verify_env(ctx)?;
                let issued = runtime()?.block_on(credentials::issue_x509_credential(
                    &vault, &admin, &source, &ca, &env,
                ))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&issued)?);
                } else {
                    println!(
                        "Issued and stored X509Credential {}:",
                        issued.imported.summary.id
                    );
                    print_x509(&issued.credential);
                    print_warnings(&issued.imported.summary.warnings);
                }
            } else {
                let now = wallet_protocol::SystemClock.now_unix();
                let issued = credentials::prepare_x509_credential(&vault, &source, &ca, now)?;
                let view = X509CredentialView::from(&issued);
                if json {
                    println!("{}", serde_json::to_string_pretty(&view)?);
                } else {
                    println!("X509Credential (dry run, not stored):");
                    print_x509(&view);
                    println!("  claims:");
                    for line in serde_json::to_string_pretty(&view.claims)?.lines() {
                        println!("    {line}");
                    }
                }
            }
        }
        CredentialCommand::Export { id } => {
            let text = credentials::export_credential(&vault, &id)?;
            println!("{}", text.as_str());
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
                    if let Some(o) = &c.organization {
                        print_organization(o);
                    }
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
