//! Organization-wide deployment: `profile publish|secret|show|refresh|revert` and `enroll`. Thin
//! adapters over `wallet_core::profile`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wallet_core::profile::{
    self, EnrollOptions, EnrollmentSecret, ManagedInstall, ProfileSource, RefreshOutcome,
    ENROLLMENT_SECRET_ENV,
};
use wallet_core::runtime::Network;
use wallet_protocol::did::Did;
use wallet_protocol::net::NetPolicy;
use wallet_protocol::SystemClock;
use wallet_vault::{Passphrase, Protection};

use super::credential::runtime;
use super::vault::{admin_session, kdf, keystore, open_unlocked, passphrase};
use crate::Ctx;

/// Arguments of `profile`.
#[derive(clap::Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    command: ProfileCommand,
}

#[derive(clap::Subcommand)]
enum ProfileCommand {
    /// Write the organization profile (signed by the organization key, encrypted for the
    /// enrollment secret) to a file on an internal share or intranet server (administrator)
    Publish {
        /// The profile file (not in the folder of the public publication bundle)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Days until workstations stop using it unless a newer one is published (1-365)
        #[arg(long, value_name = "N")]
        valid_days: Option<u32>,
        /// What workstations may change themselves, comma-separated: access-policy,
        /// trusted-issuers, employee-selection, employee-validity, audit-forwarding,
        /// local-employees; or `none`. Kept for later publications; without it, the last
        /// choice stays (at first: none)
        #[arg(long, value_name = "LIST")]
        allow_local: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the enrollment secret to hand to workstations (administrator)
    Secret,
    /// This workstation's profile: version, organization, source, last refresh
    Show {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Fetch the profile from where this workstation enrolled and apply it when newer
    Refresh {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Return something this workstation changed itself to the organization's setting
    /// (workstation administrator)
    Revert {
        /// access-policy, trusted-issuers, employee-selection, employee-validity or
        /// audit-forwarding
        #[arg(value_name = "AREA")]
        area: String,
    },
}

/// Parses `--allow-local`: a comma-separated list of areas, or `none`.
fn parse_allow_local(list: &str) -> anyhow::Result<Vec<profile::LocalArea>> {
    if list.trim() == "none" {
        return Ok(Vec::new());
    }
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| profile::LocalArea::parse(s).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()
        .context("--allow-local")
}

fn areas_text(areas: &[profile::LocalArea]) -> String {
    if areas.is_empty() {
        "nothing".into()
    } else {
        areas
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Arguments of `enroll`.
#[derive(clap::Args)]
pub struct EnrollArgs {
    /// The organization profile: a file path (e.g. on a network share) or an https:// URL
    #[arg(long, value_name = "FILE|URL", required_unless_present = "managed")]
    profile: Option<String>,
    /// The organization's DID the profile must be signed by
    #[arg(long, value_name = "DID", required_unless_present = "managed")]
    org_did: Option<String>,
    /// Take profile, DID and enrollment secret from the managed-install file
    /// (/etc/nuts-wallet/managed.json, or NUTS_WALLET_MANAGED_FILE); keyring protection
    #[arg(long, conflicts_with_all = ["profile", "org_did", "keyring", "passphrase_env"])]
    managed: bool,
    /// Protect this workstation's vault with a key in the OS keyring
    #[arg(long, conflicts_with = "passphrase_env", required_unless_present_any = ["managed", "passphrase_env"])]
    keyring: bool,
    /// Protect it with a passphrase, read from NUTS_WALLET_PASSPHRASE (or prompted)
    #[arg(long, alias = "passphrase")]
    passphrase_env: bool,
}

fn network(ctx: &Ctx) -> anyhow::Result<Network> {
    let policy = NetPolicy::from_args(ctx.dev, ctx.ca_file.as_deref())?;
    Ok(Network::from_policy(policy)?)
}

fn secret_from_env_or_prompt() -> anyhow::Result<EnrollmentSecret> {
    if let Ok(v) = std::env::var(ENROLLMENT_SECRET_ENV) {
        return Ok(EnrollmentSecret::parse(&v)?);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("the enrollment secret is needed: set {ENROLLMENT_SECRET_ENV}");
    }
    let typed = zeroize::Zeroizing::new(
        rpassword::prompt_password("Enrollment secret (from your organization's administrator): ")
            .context("reading the enrollment secret")?,
    );
    Ok(EnrollmentSecret::parse(&typed)?)
}

/// Runs `enroll`.
pub fn run_enroll(ctx: &Ctx, args: EnrollArgs) -> anyhow::Result<ExitCode> {
    let (source, org_did, secret, protection, admin) = if args.managed {
        let m = ManagedInstall::load()?.with_context(|| {
            format!(
                "no managed-install file at {} (or {})",
                ManagedInstall::DEFAULT_PATH,
                ManagedInstall::PATH_ENV
            )
        })?;
        // Unattended: nobody types a workstation administrator passphrase; a random one is
        // made and forgotten (the profile is the authority on a managed workstation).
        let admin = Passphrase::new(wallet_protocol::random::random_token());
        (
            ProfileSource::parse(&m.profile)?,
            m.org_did,
            EnrollmentSecret::parse(&m.enrollment_secret)?,
            Protection::Keyring,
            admin,
        )
    } else {
        let protection = if args.keyring {
            Protection::Keyring
        } else {
            Protection::Passphrase {
                passphrase: passphrase("NUTS_WALLET_PASSPHRASE", "New vault passphrase", true)?,
                kdf: kdf(),
            }
        };
        (
            ProfileSource::parse(args.profile.as_deref().unwrap_or_default())?,
            args.org_did.clone().unwrap_or_default(),
            secret_from_env_or_prompt()?,
            protection,
            passphrase(
                "NUTS_WALLET_ADMIN_PASSPHRASE",
                "New administrator passphrase for this workstation",
                true,
            )?,
        )
    };
    let org_did = Did::parse(org_did.trim()).context("--org-did")?;
    let net = network(ctx)?;
    let vault = runtime()?.block_on(profile::enroll(
        &ctx.data_dir,
        keystore(),
        EnrollOptions {
            source,
            org_did,
            secret,
            protection,
            admin_passphrase: admin,
            admin_kdf: kdf(),
        },
        &net,
    ))?;
    let state = profile::profile_state(&vault)?.context("no profile state after enrolling")?;
    println!(
        "Enrolled in {} (profile version {}, valid until {}); this workstation refreshes it \
         from {}",
        state.org_did, state.version, state.expires_at, state.source
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `profile`.
pub fn run(ctx: &Ctx, args: ProfileArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    match args.command {
        ProfileCommand::Publish {
            out,
            valid_days,
            allow_local,
            json,
        } => {
            let allow_local = allow_local.as_deref().map(parse_allow_local).transpose()?;
            let admin = admin_session(&vault)?;
            let r = match &allow_local {
                Some(areas) => profile::publish_profile_allowing(
                    &vault,
                    &admin,
                    &out,
                    valid_days,
                    areas,
                    &SystemClock,
                )?,
                None => profile::publish_profile(&vault, &admin, &out, valid_days, &SystemClock)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "Profile version {} written to {} ({} employees, {} credentials), valid until {}.",
                    r.version,
                    r.path.display(),
                    r.employees,
                    r.credentials,
                    wallet_protocol::clock::format_rfc3339(r.expires_at)
                );
                println!(
                    "Workstations may change themselves: {}.",
                    areas_text(&r.local_changes)
                );
                if r.new_secret {
                    println!(
                        "A new enrollment secret was made: `nuts-wallet profile secret` shows it; \
                         workstations need it to enroll."
                    );
                }
            }
        }
        ProfileCommand::Secret => {
            let admin = admin_session(&vault)?;
            let (secret, _) = profile::enrollment_secret(&vault, &admin)?;
            println!("{}", secret.expose().as_str());
        }
        ProfileCommand::Show { json } => {
            let Some(s) = profile::profile_state(&vault)? else {
                // The administrator's wallet: what its publications leave to workstations.
                let publishes = profile::published_local_changes(&vault)?;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "managed": false, "publishes_local_changes": publishes })
                    );
                } else {
                    println!("This wallet is not enrolled in an organization profile.");
                    println!(
                        "Profiles it publishes let workstations change themselves: {}.",
                        areas_text(&publishes)
                    );
                }
                return Ok(ExitCode::SUCCESS);
            };
            let local = profile::local_status(&vault)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "version": s.version,
                        "org_did": s.org_did,
                        "issued_at": s.issued_at,
                        "expires_at": s.expires_at,
                        "source": s.source,
                        "last_refresh": s.last_refresh,
                        "last_error": s.last_error,
                        "local_changes": local,
                    }))?
                );
            } else {
                println!("organization   {} ({})", s.organization, s.org_did);
                println!("version        {}", s.version);
                println!("issued         {}", s.issued_at);
                println!("valid until    {}", s.expires_at);
                println!("source         {}", s.source);
                println!(
                    "last refresh   {}",
                    s.last_refresh.as_deref().unwrap_or("never")
                );
                if let Some(e) = &s.last_error {
                    println!("last error     {e}");
                }
                if let Some(l) = &local {
                    println!("may change     {}", areas_text(&l.allowed));
                    println!("changed here   {}", areas_text(&l.changed));
                    if !l.local_employees.is_empty() {
                        println!("own employees  {}", l.local_employees.join(", "));
                    }
                }
            }
        }
        ProfileCommand::Refresh { json } => {
            let out = runtime()?.block_on(profile::refresh(&vault, &network(ctx)?))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                match &out {
                    RefreshOutcome::Applied { from, to, changes } => {
                        println!(
                            "Profile version {to} applied (was {from}): {}",
                            changes.join("; ")
                        )
                    }
                    RefreshOutcome::Unchanged { version } => {
                        println!("Profile version {version} is current.")
                    }
                    RefreshOutcome::Unreachable { error, expired } => {
                        println!("{error}");
                        if *expired {
                            println!("The profile in force has expired: organization presentations are refused until it is refreshed.");
                        } else {
                            println!("The profile in force stays until it expires.");
                        }
                    }
                }
            }
            if let RefreshOutcome::Unreachable { .. } = out {
                return Ok(ExitCode::FAILURE);
            }
        }
        ProfileCommand::Revert { area } => {
            let area = profile::LocalArea::parse(&area).map_err(anyhow::Error::msg)?;
            let admin = admin_session(&vault)?;
            profile::use_organization_setting(&vault, &admin, area)?;
            println!("{area} follows the organization's profile again.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
