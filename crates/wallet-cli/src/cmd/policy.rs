//! `nuts-wallet policy ...`: the administrator's s2s policy (which authorization servers may
//! be used, which scopes are served without asking the employee) and the recent token
//! requests. Thin adapter over `wallet_core::access_policy` and `wallet_core::oauth::service`.

use std::process::ExitCode;

use wallet_core::access_policy::{RevocationPolicy, ServicePolicy, UnlistedVerifiers};
use wallet_core::oauth::service::recent_service_tokens;
use wallet_vault::format_rfc3339_ms;

use super::vault::{admin_session, open_unlocked};
use crate::Ctx;

/// Arguments of `policy`.
#[derive(clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(clap::Subcommand)]
enum PolicyCommand {
    /// Show the allowed authorization servers and their no-prompt scopes
    Show {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Allow an authorization server (its scopes still ask the employee) (administrator)
    AllowAs {
        /// The authorization server's issuer URL
        #[arg(value_name = "URL")]
        authorization_server: String,
    },
    /// Remove an authorization server and its scopes (administrator)
    RemoveAs {
        /// The authorization server's issuer URL
        #[arg(value_name = "URL")]
        authorization_server: String,
    },
    /// Allow a scope at an authorization server; with --no-prompt it is served without
    /// asking the employee, without it the employee is asked each time (administrator)
    AllowScope {
        /// The authorization server's issuer URL
        #[arg(value_name = "URL")]
        authorization_server: String,
        /// The scope
        scope: String,
        /// Serve it without asking the employee (EHR background jobs)
        #[arg(long)]
        no_prompt: bool,
    },
    /// User flow: show requests from this verifier although this wallet did not start the
    /// flow (the consent screen says so); without it they are refused (administrator)
    AllowUnsolicited {
        /// The verifier's (authorization server's) issuer URL
        #[arg(value_name = "URL")]
        verifier: String,
    },
    /// User flow: refuse unsolicited requests from this verifier again (administrator)
    ForbidUnsolicited {
        /// The verifier's issuer URL
        #[arg(value_name = "URL")]
        verifier: String,
    },
    /// User flow: what to do with a request from a verifier that is not an allowed
    /// authorization server: `refuse` (default) or `flag` (show it with a warning)
    /// (administrator)
    UnlistedVerifiers {
        /// `refuse` or `flag`
        #[arg(value_parser = ["refuse", "flag"])]
        mode: String,
    },
    /// User flow: who approves on this computer: `os-account` (the employee linked to the OS
    /// session's user; no picker; the default on managed workstations) or `pick` (choose from
    /// the roster); without a value, show it (administrator to change)
    EmployeeSelection {
        /// `os-account` or `pick`
        #[arg(value_parser = ["os-account", "pick"])]
        mode: Option<String>,
    },
    /// The name consent screens show for an allowed authorization server ("Ziekenhuis
    /// Oost"); without NAME the name is removed (administrator)
    NameAs {
        /// The authorization server's issuer URL
        #[arg(value_name = "URL")]
        authorization_server: String,
        /// The name
        name: Option<String>,
    },
    /// What a scope at an allowed authorization server is for, in Dutch and English, shown
    /// on the consent screens instead of the scope's code; without texts it is removed
    /// (administrator)
    DescribeScope {
        /// The authorization server's issuer URL
        #[arg(value_name = "URL")]
        authorization_server: String,
        /// The scope
        scope: String,
        /// Dutch text
        #[arg(long)]
        nl: Option<String>,
        /// English text
        #[arg(long)]
        en: Option<String>,
    },
    /// Before presenting, a credential whose revocation status cannot be fetched is
    /// presented with a note (`lenient`, the default: the verifier checks it too) or withheld
    /// (`strict`); without a value, show it (administrator to change)
    Revocation {
        /// `lenient` or `strict`
        #[arg(value_parser = ["lenient", "strict"])]
        mode: Option<String>,
    },
    /// List recent service token requests, newest first
    Recent {
        /// At most this many
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn print_policy(p: &ServicePolicy) {
    if p.servers.is_empty() {
        println!("No authorization server is allowed (nuts-wallet policy allow-as URL).");
    }
    for s in &p.servers {
        match &s.display_name {
            Some(name) => println!("{} ({name})", s.authorization_server),
            None => println!("{}", s.authorization_server),
        }
        for (scope, text) in &s.scope_descriptions {
            println!(
                "    scope {scope}: {} / {}",
                text.nl.as_deref().unwrap_or("-"),
                text.en.as_deref().unwrap_or("-")
            );
        }
        if s.no_prompt_scopes.is_empty() {
            println!("    every scope asks the employee");
        } else {
            println!("    without asking: {}", s.no_prompt_scopes.join(", "));
            println!("    other scopes ask the employee");
        }
    }
    match p.unlisted_verifiers {
        UnlistedVerifiers::Refuse => {
            println!("Wallet requests from other verifiers: refused")
        }
        UnlistedVerifiers::Flag => {
            println!("Wallet requests from other verifiers: shown with a warning")
        }
    }
    match p.revocation {
        RevocationPolicy::Lenient => {
            println!("Revocation status unavailable before presenting: presented, with a note")
        }
        RevocationPolicy::Strict => {
            println!("Revocation status unavailable before presenting: withheld")
        }
    }
    if p.unsolicited_verifiers.is_empty() {
        println!("Requests this wallet did not start: refused");
    } else {
        println!(
            "Requests this wallet did not start: shown (with a warning) from {}",
            p.unsolicited_verifiers.join(", ")
        );
    }
}

/// `nuts-wallet policy ...`.
pub fn run(ctx: &Ctx, args: PolicyArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    match args.command {
        PolicyCommand::Show { json } => {
            let p = ServicePolicy::load(&vault)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print_policy(&p);
            }
        }
        PolicyCommand::EmployeeSelection { mode } => {
            use wallet_core::profile::EmployeeSelection;
            if let Some(mode) = mode {
                let admin = admin_session(&vault)?;
                let sel = if mode == "pick" {
                    EmployeeSelection::Pick
                } else {
                    EmployeeSelection::OsAccount
                };
                wallet_core::roster::set_employee_selection(&vault, &admin, sel)?;
            }
            match wallet_core::roster::employee_selection(&vault)? {
                EmployeeSelection::OsAccount => println!(
                    "Employee selection: os-account (the employee linked to this computer's \
                     account approves; this computer's account: {})",
                    wallet_core::roster::current_os_account().unwrap_or_else(|| "unknown".into())
                ),
                EmployeeSelection::Pick => {
                    println!("Employee selection: pick (the clinician chooses from the roster)")
                }
            }
        }
        PolicyCommand::Recent { limit, json } => {
            let recent = recent_service_tokens(&vault, limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&recent)?);
            } else if recent.is_empty() {
                println!("No service token requests yet.");
            } else {
                for r in recent {
                    println!(
                        "{}  {:<8} {} scope={} {}{}{}",
                        format_rfc3339_ms(r.at_ms),
                        r.outcome,
                        r.authorization_server,
                        r.scope.as_deref().unwrap_or("?"),
                        r.token_type.as_deref().unwrap_or(""),
                        if r.cached { " (cached)" } else { "" },
                        r.message.map(|m| format!(": {m}")).unwrap_or_default(),
                    );
                }
            }
        }
        PolicyCommand::Revocation { mode: None } => {
            print_policy(&ServicePolicy::load(&vault)?);
        }
        change => {
            let admin = admin_session(&vault)?;
            let mut p = ServicePolicy::load(&vault)?;
            let changed = match change {
                PolicyCommand::AllowAs {
                    authorization_server,
                } => p.allow_server(&authorization_server)?,
                PolicyCommand::RemoveAs {
                    authorization_server,
                } => p.remove_server(&authorization_server),
                PolicyCommand::AllowScope {
                    authorization_server,
                    scope,
                    no_prompt: true,
                } => p.allow_scope_without_prompt(&authorization_server, &scope)?,
                PolicyCommand::AllowScope {
                    authorization_server,
                    scope,
                    no_prompt: false,
                } => {
                    let added = p.allow_server(&authorization_server)?;
                    p.require_prompt(&authorization_server, &scope) || added
                }
                PolicyCommand::AllowUnsolicited { verifier } => p.allow_unsolicited(&verifier)?,
                PolicyCommand::ForbidUnsolicited { verifier } => p.forbid_unsolicited(&verifier),
                PolicyCommand::UnlistedVerifiers { mode } => {
                    let m = if mode == "flag" {
                        UnlistedVerifiers::Flag
                    } else {
                        UnlistedVerifiers::Refuse
                    };
                    let changed = p.unlisted_verifiers != m;
                    p.unlisted_verifiers = m;
                    changed
                }
                PolicyCommand::NameAs {
                    authorization_server,
                    name,
                } => p.set_display_name(&authorization_server, name.as_deref())?,
                PolicyCommand::DescribeScope {
                    authorization_server,
                    scope,
                    nl,
                    en,
                } => p.describe_scope(
                    &authorization_server,
                    &scope,
                    wallet_core::access_policy::ScopeText { nl, en },
                )?,
                PolicyCommand::Revocation { mode: Some(mode) } => {
                    let m = if mode == "strict" {
                        RevocationPolicy::Strict
                    } else {
                        RevocationPolicy::Lenient
                    };
                    let changed = p.revocation != m;
                    p.revocation = m;
                    changed
                }
                PolicyCommand::Show { .. }
                | PolicyCommand::Revocation { mode: None }
                | PolicyCommand::Recent { .. }
                | PolicyCommand::EmployeeSelection { .. } => false,
            };
            if changed {
                p.save(&vault, &admin)?;
                println!("Policy changed:");
            } else {
                println!("Policy unchanged:");
            }
            print_policy(&p);
        }
    }
    Ok(ExitCode::SUCCESS)
}
