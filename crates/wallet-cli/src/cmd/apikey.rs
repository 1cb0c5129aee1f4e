//! `nuts-wallet api-key show|rotate`: the loopback API's key (administrator). Thin adapter
//! over `wallet_api::api_key`. The key is printed to stdout only, never logged.

use std::process::ExitCode;

use super::vault::{admin_session, open_unlocked};
use crate::Ctx;

/// Arguments of `api-key`.
#[derive(clap::Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    command: ApiKeyCommand,
}

#[derive(clap::Subcommand)]
enum ApiKeyCommand {
    /// Print the API key for the EHR's configuration (created when there is none)
    Show,
    /// Replace the API key; the old one stops working at once
    Rotate,
}

/// `nuts-wallet api-key ...`.
pub fn run(ctx: &Ctx, args: ApiKeyArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    let admin = admin_session(&vault)?;
    let key = match args.command {
        ApiKeyCommand::Show => wallet_api::api_key::show(&vault, &admin)?,
        ApiKeyCommand::Rotate => {
            let k = wallet_api::api_key::rotate(&vault, &admin)?;
            eprintln!(
                "API key replaced; give the new key to the EHR (Authorization: Bearer <key>)"
            );
            k
        }
    };
    println!("{}", key.expose_secret());
    Ok(ExitCode::SUCCESS)
}
