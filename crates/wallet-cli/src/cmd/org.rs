//! Organization commands: `org init`, `org show`, `org publish`, `org rotate-key`. Thin
//! adapters over `wallet_core::org`. All but `show` are administrator actions (passphrase
//! from `NUTS_WALLET_ADMIN_PASSPHRASE` or a prompt).

use std::path::PathBuf;
use std::process::ExitCode;

use wallet_core::org::{self, OrgInfo, OrgSetup};
use wallet_protocol::SystemClock;

use super::vault::{admin_session, open_unlocked};
use crate::Ctx;

/// Arguments of `org`.
#[derive(clap::Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    command: OrgCommand,
}

#[derive(clap::Subcommand)]
enum OrgCommand {
    /// Set up the organization: signing key, did:web DID and OAuth client id (administrator)
    Init {
        /// Tenant subject: the last path segment of the client id `<base-url>/oauth2/<subject>`
        #[arg(long)]
        subject: String,
        /// Public HTTPS base URL where the publication bundle will be served,
        /// e.g. https://zorg.example[:PORT][/path]
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// Use this did:web instead of the default did:web:<host>:iam:<uuid>
        #[arg(long, value_name = "DID")]
        did: Option<String>,
    },
    /// Show the organization identity
    Show {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write the publication bundle (DID document, entity statement, metadata, README.txt)
    /// into a directory for the organization's web server (administrator)
    Publish {
        /// Output directory (created if missing; bundle files in it are replaced)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Replace the organization signing key (administrator); publish again afterwards
    RotateKey,
}

fn print_identity(o: &OrgInfo) {
    println!("subject          {}", o.subject);
    println!("DID              {}", o.did);
    println!("client id        {}", o.client_id);
    println!("key id (kid)     {}", o.kid);
    println!("base URL         {}", o.base_url);
    println!("DID document at  {}", o.did_document_url);
    println!(
        "published        {}",
        match o.published_at_ms {
            Some(ms) => wallet_vault::format_rfc3339_ms(ms),
            None => "NO: run `nuts-wallet org publish --out DIR` and upload the files".into(),
        }
    );
}

/// Runs `org`.
pub fn run(ctx: &Ctx, args: OrgArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    match args.command {
        OrgCommand::Init {
            subject,
            base_url,
            did,
        } => {
            let admin = admin_session(&vault)?;
            let o = org::init_organization(
                &vault,
                &admin,
                OrgSetup {
                    subject,
                    base_url,
                    did,
                },
            )?;
            println!("Organization set up:");
            print_identity(&o);
            println!(
                "Next: `nuts-wallet org publish --out DIR` and serve DIR at {}",
                o.base_url
            );
        }
        OrgCommand::Show { json } => {
            let o = org::require_organization(&vault)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&o)?);
            } else {
                print_identity(&o);
            }
        }
        OrgCommand::Publish { out } => {
            let admin = admin_session(&vault)?;
            let report = org::publish(&vault, &admin, &out, &SystemClock)?;
            println!(
                "Publication bundle written to {} (see {}):",
                report.out_dir.display(),
                report.readme.display()
            );
            for f in &report.files {
                println!(
                    "  {}\n      serve at {} as {}",
                    f.path, f.url, f.content_type
                );
            }
            println!(
                "The entity statement is valid until {}; publish again after any key change.",
                wallet_protocol::clock::format_rfc3339(report.entity_statement_expires)
            );
        }
        OrgCommand::RotateKey => {
            let admin = admin_session(&vault)?;
            let o = org::rotate_organization_key(&vault, &admin)?;
            println!("New organization key {}", o.kid);
            println!("Publish again now (`nuts-wallet org publish --out DIR`): verifiers still see the old key.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
