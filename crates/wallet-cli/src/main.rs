//! `nuts-wallet`: the headless command line of Nuts Wallet.
//!
//! Every subcommand is a thin adapter: parse arguments, call the core crates, print. No
//! protocol or storage logic lives here. Subcommands live in `cmd/<topic>.rs`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Settings every subcommand gets.
pub struct Ctx {
    /// The wallet's data directory (vault, logs).
    pub data_dir: PathBuf,
    /// Development mode: loopback HTTPS allowed for outbound requests.
    pub dev: bool,
    /// Extra CA certificate(s) (PEM) to trust for outbound HTTPS.
    pub ca_file: Option<PathBuf>,
}

#[derive(Parser)]
#[command(
    name = "nuts-wallet",
    version = wallet_core::build_info::VERSION,
    long_version = wallet_core::build_info::LONG_VERSION,
    about = "Nuts Wallet: organization and employee credentials for the Nuts network",
    propagate_version = true
)]
struct Cli {
    /// Data directory [default: the platform's data dir, e.g. ~/.local/share/nuts-wallet]
    #[arg(long, global = true, env = "NUTS_WALLET_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Development mode: allow loopback HTTPS servers (for tests and local trials only)
    #[arg(long, global = true, env = "NUTS_WALLET_DEV", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    dev: bool,
    /// Extra CA certificate file (PEM) to trust for outbound HTTPS
    #[arg(long, global = true, env = "NUTS_WALLET_CA_FILE", value_name = "PEM")]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check this machine: data directory, OS keyring, version
    Doctor(cmd::doctor::DoctorArgs),
    /// Create the vault and set the administrator passphrase (--keyring or --passphrase-env)
    Init(cmd::vault::InitArgs),
    /// Show the vault's state (works while locked)
    Status(cmd::vault::StatusArgs),
    /// Administrator settings
    Admin(cmd::vault::AdminArgs),
    /// Write an encrypted backup of the vault (administrator)
    Backup(cmd::vault::BackupArgs),
    /// Restore an encrypted backup into an empty data directory (administrator)
    Restore(cmd::vault::RestoreArgs),
    /// The activity log: list entries, verify the hash chain
    Audit(cmd::vault::AuditArgs),
    /// Presentation Exchange: evaluate a presentation definition against credentials
    Pex(cmd::pex::PexArgs),
    /// The organization: set up its identity, show it, write the publication bundle
    Org(cmd::org::OrgArgs),
    /// The organization's credentials: import, list, show, delete
    Credential(cmd::credential::CredentialArgs),
    /// The employee roster (self-attestation): add, list, deactivate, issue credentials
    Employee(cmd::employee::EmployeeArgs),
    /// Access tokens: `token service` (service-to-service flow), `token user` (user flow)
    Token(cmd::token::TokenArgs),
    /// Answer one wallet authorization request (a nuts-wallet://authorize link) with a decision
    Present(cmd::present::PresentArgs),
    /// Run the loopback API for EHR software on 127.0.0.1 (headless)
    Serve(cmd::serve::ServeArgs),
    /// The loopback API's key: show or rotate it (administrator)
    ApiKey(cmd::apikey::ApiKeyArgs),
    /// Service token policy: allowed authorization servers, scopes served without asking
    Policy(cmd::policy::PolicyArgs),
    /// The organization profile for managed workstations: publish it, show and refresh it
    Profile(cmd::profile::ProfileArgs),
    /// Set up this workstation from the organization's profile (a managed workstation)
    Enroll(cmd::profile::EnrollArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data_dir = match wallet_core::paths::resolve_data_dir(cli.data_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // File logging only when the data dir is usable; doctor must still run when it is not.
    let log_dir = wallet_core::paths::log_dir(&data_dir);
    let _guard = wallet_core::logging::init(Some(&log_dir), "warn")
        .or_else(|_| wallet_core::logging::init(None, "warn"))
        .ok();
    let ctx = Ctx {
        data_dir,
        dev: cli.dev,
        ca_file: cli.ca_file,
    };
    if ctx.dev {
        eprintln!("warning: development mode is on (loopback servers are trusted)");
    }
    let result = match cli.command {
        Command::Doctor(args) => cmd::doctor::run(&ctx, args),
        Command::Init(args) => cmd::vault::run_init(&ctx, args),
        Command::Status(args) => cmd::vault::run_status(&ctx, args),
        Command::Admin(args) => cmd::vault::run_admin(&ctx, args),
        Command::Backup(args) => cmd::vault::run_backup(&ctx, args),
        Command::Restore(args) => cmd::vault::run_restore(&ctx, args),
        Command::Audit(args) => cmd::vault::run_audit(&ctx, args),
        Command::Pex(args) => cmd::pex::run(&ctx, args),
        Command::Org(args) => cmd::org::run(&ctx, args),
        Command::Credential(args) => cmd::credential::run(&ctx, args),
        Command::Employee(args) => cmd::employee::run(&ctx, args),
        Command::Token(args) => cmd::token::run(&ctx, args),
        Command::Present(args) => cmd::present::run(&ctx, args),
        Command::Serve(args) => cmd::serve::run(&ctx, args),
        Command::ApiKey(args) => cmd::apikey::run(&ctx, args),
        Command::Policy(args) => cmd::policy::run(&ctx, args),
        Command::Profile(args) => cmd::profile::run(&ctx, args),
        Command::Enroll(args) => cmd::profile::run_enroll(&ctx, args),
    };
    // The activity entries this command wrote go to the syslog collector before exiting.
    cmd::vault::deliver_at_exit(&ctx.data_dir);
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::debug!(error = %e, "command failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
