//! Employee roster commands (self-attestation): `employee add`, `list`, `update`,
//! `deactivate`, `activate`, `set-validity`, `issue`. Thin adapters over
//! `wallet_core::roster`. All but `list` are administrator actions.

use std::process::ExitCode;

use wallet_core::roster::{self, EmployeeView, Issuer, NewRosterEntry};
use wallet_protocol::did::Did;
use wallet_protocol::SystemClock;

use super::vault::{admin_session, open_unlocked};
use crate::Ctx;

/// Arguments of `employee`.
#[derive(clap::Args)]
pub struct EmployeeArgs {
    #[command(subcommand)]
    command: EmployeeCommand,
}

#[derive(clap::Subcommand)]
enum EmployeeCommand {
    /// Add an employee to the roster (administrator). No key is made: each user flow
    /// presents a fresh credential for a did:jwk of its own
    #[command(verbatim_doc_comment)]
    Add {
        /// Identifier the EHR uses (login, e-mail, UZI number): `identifier` in the credential
        #[arg(long)]
        identifier: String,
        /// Full name: `name`
        #[arg(long)]
        name: String,
        /// Role: `roleName`
        #[arg(long)]
        role: String,
        /// The employee's OS account (login name) on the workstations: where employees are
        /// chosen by OS account, only this user approves as them
        #[arg(long, value_name = "NAME")]
        os_account: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Link an employee to an OS account, or unlink with --none (administrator)
    LinkOsAccount {
        /// Identifier or id
        id: String,
        /// The OS account (login name)
        #[arg(required_unless_present = "none")]
        os_account: Option<String>,
        /// Remove the link
        #[arg(long, conflicts_with = "os_account")]
        none: bool,
    },
    /// List the roster
    List {
        /// Print JSON (one array)
        #[arg(long)]
        json: bool,
    },
    /// Change an employee's name or role (administrator)
    Update {
        /// Identifier or id
        id: String,
        /// New name
        #[arg(long)]
        name: Option<String>,
        /// New role
        #[arg(long)]
        role: Option<String>,
    },
    /// Deactivate an employee: no more credentials for them (administrator)
    Deactivate {
        /// Identifier or id
        id: String,
    },
    /// Activate a deactivated employee again (administrator)
    Activate {
        /// Identifier or id
        id: String,
    },
    /// Set how long issued employee credentials are valid (administrator; default 3600)
    SetValidity {
        /// Seconds (60-86400)
        secs: i64,
    },
    /// Issue a NutsEmployeeCredential JWT VC and print it (administrator).
    /// The subject is the did:jwk given with --subject (the key of whoever will present it);
    /// without it, a fresh did:jwk whose key is discarded at once (the credential can then
    /// only be inspected, not presented). User flows never need this command: they issue
    /// their own credential for a did:jwk of that flow.
    #[command(verbatim_doc_comment)]
    Issue {
        /// Identifier or id
        id: String,
        /// The credential's subject: a did:jwk
        #[arg(long, value_name = "DID")]
        subject: Option<String>,
        /// Validity in seconds [default: the administrator-set validity, 1 hour]
        #[arg(long, value_name = "N")]
        validity_secs: Option<i64>,
    },
}

fn print_employee(e: &EmployeeView) {
    println!(
        "{}  {:<24} {:<24} {:<20} {}  {}",
        e.id,
        e.identifier,
        e.name,
        e.role,
        if e.active { "active  " } else { "INACTIVE" },
        e.os_account
            .as_deref()
            .map(|a| format!("OS account {a}"))
            .or_else(|| e.did.clone())
            .unwrap_or_default()
    );
}

/// Runs `employee`.
pub fn run(ctx: &Ctx, args: EmployeeArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    match args.command {
        EmployeeCommand::Add {
            identifier,
            name,
            role,
            os_account,
            json,
        } => {
            let admin = admin_session(&vault)?;
            if let Some(a) = &os_account {
                roster::check_os_account(a)?;
            }
            let mut e = roster::add_employee(
                &vault,
                &admin,
                NewRosterEntry {
                    identifier,
                    name,
                    role,
                },
            )?;
            if let Some(a) = &os_account {
                e = roster::set_os_account(&vault, &admin, &e.id, Some(a))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!("Added employee {}", e.identifier);
            }
        }
        EmployeeCommand::LinkOsAccount {
            id,
            os_account,
            none,
        } => {
            let admin = admin_session(&vault)?;
            let account = if none { None } else { os_account.as_deref() };
            let e = roster::set_os_account(&vault, &admin, &id, account)?;
            match &e.os_account {
                Some(a) => println!("{} is linked to OS account {a}", e.identifier),
                None => println!("{} is linked to no OS account", e.identifier),
            }
        }
        EmployeeCommand::List { json } => {
            let list = roster::list_employees(&vault)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("No employees (add one with `nuts-wallet employee add`)");
            } else {
                for e in &list {
                    print_employee(e);
                }
            }
        }
        EmployeeCommand::Update { id, name, role } => {
            if name.is_none() && role.is_none() {
                anyhow::bail!("nothing to change: give --name and/or --role");
            }
            let admin = admin_session(&vault)?;
            let e = roster::update_employee(&vault, &admin, &id, name.as_deref(), role.as_deref())?;
            println!("Updated employee {}: {}, {}", e.identifier, e.name, e.role);
        }
        EmployeeCommand::Deactivate { id } => {
            let admin = admin_session(&vault)?;
            let e = roster::deactivate_employee(&vault, &admin, &id)?;
            println!("Deactivated employee {}", e.identifier);
        }
        EmployeeCommand::Activate { id } => {
            let admin = admin_session(&vault)?;
            let e = roster::reactivate_employee(&vault, &admin, &id)?;
            println!("Activated employee {}", e.identifier);
        }
        EmployeeCommand::SetValidity { secs } => {
            let admin = admin_session(&vault)?;
            roster::set_credential_validity(&vault, &admin, secs)?;
            println!("Employee credentials are now valid for {secs} s");
        }
        EmployeeCommand::Issue {
            id,
            subject,
            validity_secs,
        } => {
            let subject = match subject {
                Some(s) => Did::parse(s.trim())
                    .map_err(|e| anyhow::anyhow!("--subject is not a DID: {e}"))?,
                // Only the DID is kept; the key is dropped (and zeroized) here.
                None => roster::EphemeralEmployeeKey::generate()?.did().clone(),
            };
            let admin = admin_session(&vault)?;
            let issued = roster::issue_employee_credential(
                &vault,
                Issuer::Admin(&admin),
                &id,
                &subject,
                validity_secs,
                &SystemClock,
            )?;
            // Only the credential on stdout, for scripts.
            println!("{}", issued.jwt);
            eprintln!(
                "issued {} to {}, valid until {}",
                issued.jti,
                issued.subject,
                wallet_protocol::clock::format_rfc3339(issued.expires)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
