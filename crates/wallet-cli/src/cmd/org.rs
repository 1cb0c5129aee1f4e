//! Organization commands: `org init`, `org show`, `org publish`, `org key rotate|activate|
//! retire|pin`. Thin adapters over `wallet_core::org`. All but `show` and `publish
//! --verify-live` are administrator actions (passphrase from `NUTS_WALLET_ADMIN_PASSPHRASE`
//! or a prompt). An HSM's PIN comes from `NUTS_WALLET_PKCS11_PIN`, the OS keyring (`org key
//! pin`), or a prompt on a terminal.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wallet_core::org::{self, KeyRole, KeyStoreKind, NewKeyLocation, OrgInfo, OrgSetup, Pkcs11Uri};
use wallet_core::runtime::Network;
use wallet_protocol::net::NetPolicy;
use wallet_protocol::SystemClock;
use wallet_vault::Vault;

use super::credential::runtime;
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
        /// Keep the signing key in an HSM: pkcs11:token=<label>;object=<label>?module-path=<.so>
        /// (generated inside the token when the object does not exist). Without it: a key in
        /// the vault
        #[arg(long, value_name = "PKCS11_URI")]
        key: Option<String>,
    },
    /// Show the organization identity
    Show {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Write the publication bundle (DID document, entity statement, metadata, README.txt)
    /// into a directory for the organization's web server (administrator); with
    /// --verify-live, compare what the web server serves now with the keys instead
    Publish {
        /// Output directory (created if missing; bundle files in it are replaced)
        #[arg(long, value_name = "DIR", required_unless_present = "verify_live")]
        out: Option<PathBuf>,
        /// Fetch the hosted did.json and entity statement and compare them with the keys;
        /// exit status 1 when they differ
        #[arg(long, conflicts_with = "out")]
        verify_live: bool,
        /// Print JSON (with --verify-live)
        #[arg(long, requires = "verify_live")]
        json: bool,
    },
    /// The organization's signing keys: rotation with overlap, the HSM PIN
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(clap::Subcommand)]
enum KeyCommand {
    /// Make the next signing key (administrator); the next `org publish` lists it beside the
    /// key in use, which keeps signing until `org key activate`
    Rotate {
        /// Where to make it: a pkcs11: URI (see `org init --key`); default: the store of the
        /// key in use (for an HSM: the same token, a new object)
        #[arg(long, value_name = "PKCS11_URI")]
        key: Option<String>,
    },
    /// Sign with the next key from now on (administrator); refused until the organization's
    /// web server serves it in did.json and the entity statement
    Activate,
    /// Drop the previous key from the next bundle and the vault (administrator); publish again
    Retire,
    /// Store the HSM user PIN in the OS keyring after checking it opens the token
    /// (administrator; PIN from NUTS_WALLET_PKCS11_PIN or a prompt)
    Pin,
}

fn print_identity(o: &OrgInfo) {
    println!("subject          {}", o.subject);
    println!("DID              {}", o.did);
    println!("client id        {}", o.client_id);
    println!("key id (kid)     {}", o.kid);
    match o.key_store {
        KeyStoreKind::Vault => println!("key stored in    this wallet's vault"),
        KeyStoreKind::Pkcs11 => println!(
            "key stored in    HSM {}",
            o.key_uri.as_deref().unwrap_or_default()
        ),
    }
    for k in &o.other_keys {
        println!(
            "{} {}",
            match k.role {
                KeyRole::Next => "next key        ",
                KeyRole::Previous => "previous key    ",
            },
            k.kid
        );
    }
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
/// The PKCS#11 PIN of the token behind `uri` from a terminal prompt, when neither
/// `NUTS_WALLET_PKCS11_PIN` nor the keyring has one (the core looks there itself).
fn prompt_pin_if_needed(uri: &Pkcs11Uri) -> anyhow::Result<()> {
    if wallet_pkcs11::pin_from_env().is_some() || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    if org::check_hsm_key(uri).is_ok() {
        return Ok(());
    }
    let pin = zeroize::Zeroizing::new(
        rpassword::prompt_password(format!(
            "User PIN of the PKCS#11 token \"{}\": ",
            uri.token()
        ))
        .context("reading the PIN")?,
    );
    org::provide_pin(uri, &pin);
    Ok(())
}

fn location(key: Option<&str>) -> anyhow::Result<Option<NewKeyLocation>> {
    let Some(key) = key else { return Ok(None) };
    let loc = NewKeyLocation::parse(Some(key))?;
    if let NewKeyLocation::Pkcs11(uri) = &loc {
        prompt_pin_if_needed(uri)?;
    }
    Ok(Some(loc))
}

/// The PIN prompt for the organization's own HSM keys, before an action signs with them.
fn prompt_for_org_keys(vault: &Vault) -> anyhow::Result<()> {
    let Some(o) = org::organization(vault)? else {
        return Ok(());
    };
    let uris = std::iter::once(o.key_uri.as_deref())
        .chain(o.other_keys.iter().map(|k| k.key_uri.as_deref()))
        .flatten();
    for u in uris {
        if let Ok(uri) = u.parse::<Pkcs11Uri>() {
            prompt_pin_if_needed(&uri)?;
        }
    }
    Ok(())
}

fn network(ctx: &Ctx) -> anyhow::Result<Network> {
    let policy = NetPolicy::from_args(ctx.dev, ctx.ca_file.as_deref())?;
    Ok(Network::from_policy(policy)?)
}

/// Runs `org`.
pub fn run(ctx: &Ctx, args: OrgArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    match args.command {
        OrgCommand::Init {
            subject,
            base_url,
            did,
            key,
        } => {
            let admin = admin_session(&vault)?;
            let key = location(key.as_deref())?.unwrap_or(NewKeyLocation::Vault);
            let o = org::init_organization_with_key(
                &vault,
                &admin,
                OrgSetup {
                    subject,
                    base_url,
                    did,
                },
                key,
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
        OrgCommand::Publish {
            verify_live: true,
            json,
            ..
        } => {
            let check = runtime()?.block_on(org::verify_live(&vault, &network(ctx)?))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&check)?);
            } else {
                let yes = |b: bool| if b { "yes" } else { "NO" };
                println!("DID document      {}", check.did_document_url);
                if let Some(e) = &check.did_document_error {
                    println!("  cannot be used: {e}");
                }
                println!("entity statement  {}", check.entity_statement_url);
                if let Some(e) = &check.entity_statement_error {
                    println!("  cannot be used: {e}");
                }
                for k in &check.keys {
                    println!(
                        "{:<9} {}\n          in did.json: {}, in entity statement: {}",
                        k.role,
                        k.kid,
                        yes(k.in_did_document),
                        yes(k.in_entity_statement)
                    );
                }
                for k in &check.unknown_hosted_keys {
                    println!("hosted but not one of the organization's keys: {k}");
                }
                println!(
                    "{}",
                    if check.ok {
                        "The web server serves exactly the current keys."
                    } else {
                        "The web server does not serve the current keys: run `nuts-wallet org publish --out DIR` and upload the files."
                    }
                );
            }
            return Ok(if check.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        OrgCommand::Publish { out, .. } => {
            let out = out.context("--out DIR is required")?;
            let admin = admin_session(&vault)?;
            prompt_for_org_keys(&vault)?;
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
        OrgCommand::Key { command } => return key_command(ctx, &vault, command),
    }
    Ok(ExitCode::SUCCESS)
}

fn key_command(ctx: &Ctx, vault: &Vault, command: KeyCommand) -> anyhow::Result<ExitCode> {
    let admin = admin_session(vault)?;
    match command {
        KeyCommand::Rotate { key } => {
            prompt_for_org_keys(vault)?;
            let o = org::rotate_key(vault, &admin, location(key.as_deref())?)?;
            let next = o
                .other_keys
                .iter()
                .find(|k| k.role == KeyRole::Next)
                .context("no next key after rotation")?;
            println!("Next organization key {}", next.kid);
            println!(
                "Now: `nuts-wallet org publish --out DIR`, upload the files to {}, then \
                 `nuts-wallet org key activate`. The key in use keeps signing until then.",
                o.base_url
            );
        }
        KeyCommand::Activate => {
            prompt_for_org_keys(vault)?;
            let o = runtime()?.block_on(org::activate_key(vault, &admin, &network(ctx)?))?;
            println!("Signing with {} from now on.", o.kid);
            println!(
                "The previous key stays published; once no verifier can still hold something it \
                 signed (e.g. after a day), run `nuts-wallet org key retire` and publish again."
            );
        }
        KeyCommand::Retire => {
            let o = org::retire_key(vault, &admin)?;
            println!("Previous key retired; signing key {}.", o.kid);
            println!(
                "Publish again now (`nuts-wallet org publish --out DIR`) and upload the files."
            );
        }
        KeyCommand::Pin => {
            let o = org::require_organization(vault)?;
            let uri: Pkcs11Uri = o
                .key_uri
                .as_deref()
                .context("the organization key is in the vault, not in an HSM: no PIN to store")?
                .parse()?;
            let pin = match std::env::var(wallet_pkcs11::PIN_ENV) {
                Ok(p) if !p.is_empty() => zeroize::Zeroizing::new(p),
                _ if std::io::stdin().is_terminal() => zeroize::Zeroizing::new(
                    rpassword::prompt_password(format!(
                        "User PIN of the PKCS#11 token \"{}\": ",
                        uri.token()
                    ))
                    .context("reading the PIN")?,
                ),
                _ => anyhow::bail!(
                    "PIN needed: set {} (no terminal to prompt on)",
                    wallet_pkcs11::PIN_ENV
                ),
            };
            org::remember_pin_in_keyring(&uri, &pin)?;
            println!(
                "The PIN of token \"{}\" is stored in the OS keyring; the app and the CLI use it \
                 from now on.",
                uri.token()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
