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
    let report = doctor::run(&ctx.data_dir, PROBE_SERVICE);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("Nuts Wallet {}", report.version);
        println!("data directory  {}", report.data_dir.display());
        println!("  {}", line(&report.data_dir_check));
        println!("OS keyring");
        println!("  {}", line(&report.keyring_check));
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
