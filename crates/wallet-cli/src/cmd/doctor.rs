//! `nuts-wallet doctor`.

use std::process::ExitCode;

use wallet_core::doctor::{self, Check};

use crate::Ctx;

/// Arguments of `doctor`.
#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

/// Keyring service name used only for the doctor's probe entry.
const PROBE_SERVICE: &str = "nuts-wallet-doctor";

/// Runs the checks and prints them; exit status 1 when the wallet cannot work here.
pub fn run(ctx: &Ctx, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let mut report = doctor::run(&ctx.data_dir, PROBE_SERVICE);
    // The credentials when the vault opens without typing (keyring, or the passphrase in the
    // environment); a locked vault is not a doctor's business.
    let no_typing = |dir: &std::path::Path| {
        std::env::var_os("NUTS_WALLET_PASSPHRASE").is_some()
            || wallet_vault::Vault::open(dir, super::vault::keystore())
                .and_then(|v| v.status())
                .is_ok_and(|s| s.protection.iter().any(|m| m == "keyring"))
    };
    if wallet_vault::Vault::exists(&ctx.data_dir) && no_typing(&ctx.data_dir) {
        if let Ok(vault) = super::vault::open_unlocked(&ctx.data_dir) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            report.credentials_check = Some(doctor::check_credentials(&vault, now));
            report.forwarding_check = doctor::check_forwarding(&vault);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("Nuts Wallet {}", report.version);
        println!("data directory  {}", report.data_dir.display());
        println!("  {}", line(&report.data_dir_check));
        println!("OS keyring");
        println!("  {}", line(&report.keyring_check));
        if let Some(c) = &report.credentials_check {
            println!("organization credentials");
            println!("  {}", line(c));
        }
        if let Some(c) = &report.forwarding_check {
            println!("audit forwarding");
            println!("  {}", line(c));
        }
        if ctx.dev {
            println!("development mode  ON (loopback HTTPS servers are trusted)");
        }
    }
    Ok(if report.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn line(c: &Check) -> String {
    match c {
        Check::Ok(d) => format!("ok       {d}"),
        Check::Warning(d) => format!("warning  {d}"),
        Check::Error(d) => format!("ERROR    {d}"),
    }
}
