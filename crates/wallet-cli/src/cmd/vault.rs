//! Vault commands: `init`, `status`, `admin set-passphrase`, `backup`, `restore`, `audit list`,
//! `audit verify`, `audit forward`. Thin adapters over `wallet_vault` (and
//! `wallet_core::audit_forward`).
//!
//! Passphrases come from the environment for headless use, or from a prompt when the variable
//! is absent and stdin is a terminal; otherwise the command fails with a message naming the
//! variable. They are never echoed, printed or logged.
//!
//! | variable                          | what                                          |
//! |-----------------------------------|-----------------------------------------------|
//! | `NUTS_WALLET_PASSPHRASE`          | vault passphrase (passphrase-protected vault) |
//! | `NUTS_WALLET_ADMIN_PASSPHRASE`    | administrator passphrase                      |
//! | `NUTS_WALLET_NEW_ADMIN_PASSPHRASE`| new administrator passphrase (set-passphrase) |
//! | `NUTS_WALLET_BACKUP_PASSPHRASE`   | passphrase of a backup file                   |
//! | `NUTS_WALLET_KEYRING_SERVICE`     | keyring service name (default `nuts-wallet`)  |
//! | `NUTS_WALLET_INSECURE_FAST_KDF=1` | debug builds only: cheap Argon2id (tests)     |

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use wallet_core::audit_forward::{self, ForwardConfig, ForwardError};
use wallet_vault::{
    format_rfc3339_ms, ActivityFilter, CreateOptions, KdfParams, KeyStore, OsKeyring, Passphrase,
    Protection, RestoreOptions, Unlock, Vault, VaultError,
};

use crate::Ctx;

const ENV_VAULT: &str = "NUTS_WALLET_PASSPHRASE";
const ENV_ADMIN: &str = "NUTS_WALLET_ADMIN_PASSPHRASE";
const ENV_NEW_ADMIN: &str = "NUTS_WALLET_NEW_ADMIN_PASSPHRASE";
const ENV_BACKUP: &str = "NUTS_WALLET_BACKUP_PASSPHRASE";
const ENV_SERVICE: &str = "NUTS_WALLET_KEYRING_SERVICE";
const ENV_FAST_KDF: &str = "NUTS_WALLET_INSECURE_FAST_KDF";

/// How a new vault key is protected (`init`, `restore`).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct ProtectionArgs {
    /// Protect the vault with a key in the OS keyring (unlocks without typing)
    #[arg(long)]
    keyring: bool,
    /// Protect the vault with a passphrase, read from NUTS_WALLET_PASSPHRASE (or prompted)
    #[arg(long, alias = "passphrase")]
    passphrase_env: bool,
}

/// Arguments of `init`.
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    protection: ProtectionArgs,
}

/// Arguments of `status`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print the status as JSON
    #[arg(long)]
    json: bool,
}

/// Arguments of `admin`.
#[derive(clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// Change the administrator passphrase (current one from NUTS_WALLET_ADMIN_PASSPHRASE,
    /// new one from NUTS_WALLET_NEW_ADMIN_PASSPHRASE, or prompted)
    SetPassphrase,
    /// Set how long the desktop app may stay unlocked without activity (default 10 minutes)
    SetAutoLock {
        /// Idle minutes before the app locks (1-1440)
        #[arg(value_parser = clap::value_parser!(u64).range(1..=1440))]
        minutes: u64,
    },
}

/// Arguments of `backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Arguments of `restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    protection: ProtectionArgs,
}

/// Arguments of `audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// List activity log entries, newest first
    List {
        /// Print JSON (one array)
        #[arg(long)]
        json: bool,
        /// At most this many entries
        #[arg(long)]
        limit: Option<u32>,
        /// Only this actor (`admin`, `system`, `employee:<id>`)
        #[arg(long)]
        actor: Option<String>,
        /// Only actions starting with this (e.g. `credential.`)
        #[arg(long)]
        action: Option<String>,
        /// Only this outcome
        #[arg(long, value_parser = ["success", "failure", "declined"])]
        outcome: Option<String>,
        /// Only entries whose actor, action or subject contains this text
        #[arg(long)]
        text: Option<String>,
    },
    /// Export the activity log to a file: a FHIR R4 Bundle of AuditEvents, or plain JSON
    Export(super::audit_export::ExportArgs),
    /// Forward the activity log to the organization's syslog collector (RFC 5424 over TCP or
    /// TLS): configure it (administrator), turn it off, deliver the backlog, show the state
    Forward(ForwardArgs),
    /// Verify the activity log's hash chain; exit status 1 when it is broken
    Verify {
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `audit forward`: exactly one action.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("forward_action").required(true).args(["syslog", "off", "flush", "status"])))]
pub struct ForwardArgs {
    /// Forward every entry from now on to this collector: tcp://HOST:PORT or tls://HOST:PORT
    /// (administrator; for TLS, --ca-file adds the collector's CA)
    #[arg(long, value_name = "URL")]
    syslog: Option<String>,
    /// Stop forwarding; entries still waiting are dropped from the queue (administrator)
    #[arg(long)]
    off: bool,
    /// Deliver the waiting entries now; exit status 1 when some still wait
    #[arg(long)]
    flush: bool,
    /// Show the collector, the number of waiting entries, the last delivered entry and error
    #[arg(long)]
    status: bool,
    /// With --status: print JSON
    #[arg(long, requires = "status")]
    json: bool,
}

pub(crate) fn keystore() -> Arc<dyn KeyStore> {
    match std::env::var(ENV_SERVICE) {
        Ok(s) if !s.is_empty() => Arc::new(OsKeyring::with_service(&s)),
        _ => Arc::new(OsKeyring::new()),
    }
}

/// Whether this build honours [`ENV_FAST_KDF`]: test (debug) builds only, so a release build
/// can never be talked into weak Argon2 for a vault wrap, the administrator or a backup.
const FAST_KDF_HONOURED: bool = cfg!(debug_assertions);

pub(crate) fn kdf() -> KdfParams {
    choose_kdf(
        FAST_KDF_HONOURED,
        std::env::var(ENV_FAST_KDF).is_ok_and(|v| v == "1"),
    )
}

fn choose_kdf(honoured: bool, requested: bool) -> KdfParams {
    if honoured && requested {
        eprintln!("warning: {ENV_FAST_KDF}=1: using test-only key derivation cost");
        KdfParams::INSECURE_TEST
    } else {
        KdfParams::DEFAULT
    }
}

/// Reads a passphrase from `var`, or prompts (twice when `confirm`) on a terminal.
pub(crate) fn passphrase(var: &str, prompt: &str, confirm: bool) -> anyhow::Result<Passphrase> {
    if let Ok(v) = std::env::var(var) {
        if v.is_empty() {
            bail!("{var} is set but empty");
        }
        return Ok(Passphrase::new(v));
    }
    if !std::io::stdin().is_terminal() {
        bail!("{prompt} needed: set {var} (no terminal to prompt on)");
    }
    let first = Passphrase::new(
        rpassword::prompt_password(format!("{prompt}: ")).context("reading the passphrase")?,
    );
    if confirm {
        let again = Passphrase::new(
            rpassword::prompt_password(format!("{prompt} (again): "))
                .context("reading the passphrase")?,
        );
        if !first.matches(&again) {
            bail!("the two entries differ");
        }
    }
    Ok(first)
}

pub(crate) fn protection(args: &ProtectionArgs) -> anyhow::Result<Protection> {
    if args.keyring {
        Ok(Protection::Keyring)
    } else {
        Ok(Protection::Passphrase {
            passphrase: passphrase(ENV_VAULT, "New vault passphrase", true)?,
            kdf: kdf(),
        })
    }
}

/// Opens and unlocks the vault: with the OS keyring when the vault uses it, else with the
/// vault passphrase.
pub(crate) fn open_unlocked(data_dir: &Path) -> anyhow::Result<Vault> {
    let vault = Vault::open(data_dir, keystore())?;
    let methods = vault.status()?.protection;
    if methods.iter().any(|m| m == "keyring") {
        match vault.unlock(Unlock::Keyring) {
            Ok(()) => return Ok(vault),
            // A tampered log fails every unlock alike: no point asking for the passphrase.
            Err(e)
                if methods.iter().any(|m| m == "passphrase")
                    && !matches!(e, VaultError::LogTampered(_)) =>
            {
                eprintln!("note: keyring unlock failed ({e}); trying the passphrase");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let p = passphrase(ENV_VAULT, "Vault passphrase", false)?;
    vault.unlock(Unlock::Passphrase(&p))?;
    Ok(vault)
}

pub(crate) fn admin_session(vault: &Vault) -> anyhow::Result<wallet_vault::AdminSession> {
    let p = passphrase(ENV_ADMIN, "Administrator passphrase", false)?;
    Ok(vault.admin_session(&p)?)
}

/// `nuts-wallet init`.
pub fn run_init(ctx: &Ctx, args: InitArgs) -> anyhow::Result<ExitCode> {
    init(&ctx.data_dir, args)
}

fn init(data_dir: &Path, args: InitArgs) -> anyhow::Result<ExitCode> {
    if Vault::exists(data_dir) {
        return Err(VaultError::AlreadyInitialized(data_dir.to_owned()).into());
    }
    let protection = protection(&args.protection)?;
    let admin = passphrase(ENV_ADMIN, "New administrator passphrase", true)?;
    let vault = Vault::create(
        data_dir,
        keystore(),
        CreateOptions {
            protection,
            admin_passphrase: admin,
            admin_kdf: kdf(),
        },
    )?;
    // The loopback API's key exists from the start; an administrator reads it with
    // `nuts-wallet api-key show` to configure the EHR.
    wallet_api::api_key::ensure(&vault)?;
    let st = vault.status()?;
    println!(
        "Created vault {} in {} (protected by {}; administrator passphrase set; API key created, see `nuts-wallet api-key show`)",
        st.vault_id,
        st.data_dir.display(),
        describe(&st.protection)
    );
    Ok(ExitCode::SUCCESS)
}

fn describe(methods: &[String]) -> String {
    methods
        .iter()
        .map(|m| match m.as_str() {
            "keyring" => "the OS keyring",
            "passphrase" => "a passphrase",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// `nuts-wallet status`. Works without unlocking.
pub fn run_status(ctx: &Ctx, args: StatusArgs) -> anyhow::Result<ExitCode> {
    status(&ctx.data_dir, args)
}

fn status(data_dir: &Path, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let vault = match Vault::open(data_dir, keystore()) {
        Ok(v) => v,
        Err(VaultError::NotInitialized(dir)) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "initialized": false, "data_dir": dir })
                );
            } else {
                println!("No vault in {} (run `nuts-wallet init`)", dir.display());
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    let st = vault.status()?;
    let chain = vault.activity_log().verify()?;
    if args.json {
        let mut v = serde_json::to_value(&st)?;
        v["initialized"] = true.into();
        v["activity_chain_ok"] = chain.is_ok().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("vault           {}", st.vault_id);
        println!("data directory  {}", st.data_dir.display());
        println!("created         {}", format_rfc3339_ms(st.created_at_ms));
        println!("schema version  {}", st.schema_version);
        println!("protected by    {}", describe(&st.protection));
        println!(
            "administrator   {}",
            if st.admin_passphrase_set {
                "passphrase set"
            } else {
                "NO passphrase set"
            }
        );
        println!("auto-lock       {} s idle", st.auto_lock_secs);
        println!(
            "contents        {} credentials, {} keys, {} employees",
            st.credentials, st.keys, st.employees
        );
        println!(
            "activity log    {} entries, chain {}",
            st.activity_entries,
            if chain.is_ok() { "intact" } else { "BROKEN" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `nuts-wallet admin ...`.
pub fn run_admin(ctx: &Ctx, args: AdminArgs) -> anyhow::Result<ExitCode> {
    admin(&ctx.data_dir, args)
}

fn admin(data_dir: &Path, args: AdminArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::SetPassphrase => {
            let vault = open_unlocked(data_dir)?;
            let session = admin_session(&vault)?;
            let new = passphrase(ENV_NEW_ADMIN, "New administrator passphrase", true)?;
            vault.set_admin_passphrase(&session, &new, kdf())?;
            println!("Administrator passphrase changed");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::SetAutoLock { minutes } => {
            let vault = open_unlocked(data_dir)?;
            let session = admin_session(&vault)?;
            vault
                .settings()
                .set_auto_lock_secs(&session, minutes * 60)?;
            println!("The app now locks after {minutes} minutes without activity");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `nuts-wallet backup --out FILE`.
pub fn run_backup(ctx: &Ctx, args: BackupArgs) -> anyhow::Result<ExitCode> {
    backup(&ctx.data_dir, args)
}

fn backup(data_dir: &Path, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(data_dir)?;
    let session = admin_session(&vault)?;
    let pw = passphrase(ENV_BACKUP, "New backup passphrase", true)?;
    let info = vault.backup(&session, &args.out, &pw, kdf())?;
    println!(
        "Backup of vault {} written to {} ({} bytes)",
        info.vault_id,
        info.path.display(),
        info.bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// `nuts-wallet restore FILE`.
pub fn run_restore(ctx: &Ctx, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    restore(&ctx.data_dir, args)
}

fn restore(data_dir: &Path, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    if Vault::exists(data_dir) {
        return Err(VaultError::AlreadyInitialized(data_dir.to_owned()).into());
    }
    let backup_pw = passphrase(ENV_BACKUP, "Backup passphrase", false)?;
    let admin = passphrase(
        ENV_ADMIN,
        "Administrator passphrase of the backed-up vault",
        false,
    )?;
    let protection = protection(&args.protection)?;
    let vault = Vault::restore(
        &args.file,
        &backup_pw,
        data_dir,
        keystore(),
        RestoreOptions {
            protection,
            admin_passphrase: admin,
        },
    )?;
    let st = vault.status()?;
    println!(
        "Restored vault {} into {} ({} credentials, {} keys, {} employees; protected by {})",
        st.vault_id,
        st.data_dir.display(),
        st.credentials,
        st.keys,
        st.employees,
        describe(&st.protection)
    );
    Ok(ExitCode::SUCCESS)
}

/// `text` with control characters (LF, ESC, C1, DEL) and bidirectional overrides escaped as
/// `\u{..}`: entries hold text from received links, which must not move the cursor, colour
/// or reorder the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `nuts-wallet audit ...`.
pub fn run_audit(ctx: &Ctx, args: AuditArgs) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Forward(f) = args.command {
        return forward(&ctx.data_dir, ctx.ca_file.as_deref(), f);
    }
    audit(&ctx.data_dir, args)
}

fn audit(data_dir: &Path, args: AuditArgs) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Forward(f) = args.command {
        return forward(data_dir, None, f);
    }
    let vault = open_unlocked(data_dir)?;
    match args.command {
        AuditCommand::List {
            json,
            limit,
            actor,
            action,
            outcome,
            text,
        } => {
            let entries = vault.activity_log().list(&ActivityFilter {
                actor,
                action_prefix: action,
                outcome,
                text,
                limit,
                ..Default::default()
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in &entries {
                    println!(
                        "{:>6}  {}  {:<12} {:<24} {:<8} {}  {}",
                        e.seq,
                        format_rfc3339_ms(e.at_ms),
                        printable(&e.actor),
                        printable(&e.action),
                        printable(&e.outcome),
                        printable(&e.subject),
                        printable(&e.detail.to_string())
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export(a) => super::audit_export::run(&vault, a),
        AuditCommand::Forward(_) => unreachable!("handled above"),
        AuditCommand::Verify { json } => {
            let report = vault.activity_log().verify()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if let Some(bad) = &report.first_bad {
                println!(
                    "activity log BROKEN at entry {}: {} ({} entries checked)",
                    bad.seq, bad.problem, report.entries
                );
            } else {
                println!(
                    "activity log OK: {} entries, hash chain{} verified",
                    report.entries,
                    if report.anchor_checked {
                        " and sealed anchor"
                    } else {
                        ""
                    }
                );
            }
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// How long a command delivers waiting activity entries before the process exits.
const EXIT_DELIVERY: Duration = Duration::from_secs(2);
/// How long `audit forward --flush` and `--syslog` try.
const FLUSH_TIME: Duration = Duration::from_secs(30);

/// Set by commands that deliver on their own (`audit forward`, `serve`): no exit delivery.
static DELIVERED_BY_COMMAND: AtomicBool = AtomicBool::new(false);

/// Marks that this command delivers the outbox itself.
pub(crate) fn skip_exit_delivery() {
    DELIVERED_BY_COMMAND.store(true, Ordering::SeqCst);
}

/// At the end of every command: sends the activity entries waiting for the syslog collector
/// (this command's own, and any backlog) for at most about [`EXIT_DELIVERY`]. Quiet: what is
/// not delivered waits for the next command, the app or `serve`.
pub(crate) fn deliver_at_exit(data_dir: &Path) {
    if DELIVERED_BY_COMMAND.load(Ordering::SeqCst) || !Vault::exists(data_dir) {
        return;
    }
    let Ok(vault) = Vault::open(data_dir, keystore()) else {
        return;
    };
    if !matches!(audit_forward::status(&vault), Ok(s) if s.pending > 0) {
        return;
    }
    if let Err(e) = audit_forward::flush(&vault, EXIT_DELIVERY) {
        tracing::info!(code = e.code(), error = %e, "activity entries wait for the syslog collector");
    }
}

/// `nuts-wallet audit forward ...`. `--flush` and `--status` work on the locked vault (the
/// setting is then read without its MAC check); `--syslog` and `--off` need the administrator.
fn forward(data_dir: &Path, ca_file: Option<&Path>, args: ForwardArgs) -> anyhow::Result<ExitCode> {
    skip_exit_delivery();
    if let Some(syslog) = args.syslog {
        let ca_pem = match ca_file {
            Some(p) if syslog.starts_with("tls://") => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("reading the CA file {}", p.display()))?,
            ),
            _ => None,
        };
        let config = ForwardConfig { syslog, ca_pem };
        // Checked before asking for passphrases.
        let target = config.check()?;
        let vault = open_unlocked(data_dir)?;
        let session = admin_session(&vault)?;
        audit_forward::set_forwarding(&vault, &session, config)?;
        println!("Activity log entries are forwarded to {target} from now on");
        return Ok(match audit_forward::flush(&vault, FLUSH_TIME) {
            Ok(f) => {
                println!("The collector accepted {} entries", f.delivered);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("warning: {e}; the entries wait and are sent later");
                ExitCode::SUCCESS
            }
        });
    }
    if args.off {
        let vault = open_unlocked(data_dir)?;
        let session = admin_session(&vault)?;
        audit_forward::turn_off_forwarding(&vault, &session)?;
        println!("Forwarding of the activity log is off");
        return Ok(ExitCode::SUCCESS);
    }
    let vault = Vault::open(data_dir, keystore())?;
    if args.flush {
        if audit_forward::forwarding(&vault)?.is_none() {
            bail!(ForwardError::NotConfigured);
        }
        let f = audit_forward::flush(&vault, FLUSH_TIME)?;
        println!("Delivered {} entries; none wait", f.delivered);
        return Ok(ExitCode::SUCCESS);
    }
    let config = audit_forward::forwarding(&vault)?;
    let st = audit_forward::status(&vault)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "syslog": config.as_ref().map(|c| &c.syslog),
                "pending": st.pending,
                "last_delivered_seq": st.last_delivered_seq,
                "last_error": st.last_error,
                "last_attempt_ms": st.last_attempt_ms,
            }))?
        );
    } else {
        match &config {
            Some(c) => println!("collector        {}", c.syslog),
            None => println!("collector        none (forwarding is off)"),
        }
        println!("waiting entries  {}", st.pending);
        match st.last_delivered_seq {
            Some(s) => println!("last delivered   entry {s}"),
            None => println!("last delivered   none"),
        }
        if let Some(e) = &st.last_error {
            println!("last error       {}", printable(e));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    //! The commands end to end on passphrase-protected vaults (no keyring needed), with
    //! passphrases from the environment as in headless use. One test, because it sets
    //! process-wide environment variables.

    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        c: C,
    }

    #[derive(clap::Subcommand)]
    enum C {
        Init(InitArgs),
        Status(StatusArgs),
        Admin(AdminArgs),
        Backup(BackupArgs),
        Restore(RestoreArgs),
        Audit(AuditArgs),
    }

    fn run(dir: &Path, args: &[&str]) -> anyhow::Result<ExitCode> {
        let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))?;
        match t.c {
            C::Init(a) => init(dir, a),
            C::Status(a) => status(dir, a),
            C::Admin(a) => admin(dir, a),
            C::Backup(a) => backup(dir, a),
            C::Restore(a) => restore(dir, a),
            C::Audit(a) => audit(dir, a),
        }
    }

    fn ok(code: anyhow::Result<ExitCode>) -> bool {
        format!("{:?}", code.unwrap()) == format!("{:?}", ExitCode::SUCCESS)
    }

    /// A release build must not let an environment variable weaken the Argon2 cost of the
    /// vault, the administrator or a backup.
    #[test]
    fn a_release_build_ignores_the_fast_kdf_variable() {
        assert_eq!(choose_kdf(false, true), KdfParams::DEFAULT);
        assert_eq!(choose_kdf(true, false), KdfParams::DEFAULT);
        assert_eq!(choose_kdf(true, true), KdfParams::INSECURE_TEST);
        assert_eq!(FAST_KDF_HONOURED, cfg!(debug_assertions));
    }

    #[test]
    fn vault_commands_end_to_end_with_passphrases_from_env() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::env::set_var(ENV_FAST_KDF, "1");
        std::env::set_var(ENV_VAULT, "vault passphrase 1");
        std::env::set_var(ENV_ADMIN, "admin passphrase 1");

        assert!(!ok(run(&a, &["status"])), "status without a vault fails");
        assert!(
            T::try_parse_from(["t", "init"]).is_err(),
            "a protection choice is required"
        );
        assert!(T::try_parse_from(["t", "init", "--keyring", "--passphrase-env"]).is_err());
        assert!(ok(run(&a, &["init", "--passphrase-env"])));
        assert!(Vault::exists(&a));
        {
            // init also creates the loopback API key.
            let v = Vault::open(&a, keystore()).unwrap();
            v.unlock(Unlock::Passphrase(&Passphrase::from("vault passphrase 1")))
                .unwrap();
            assert!(wallet_api::api_key::current(&v).unwrap().is_some());
        }
        let again = run(&a, &["init", "--passphrase-env"]).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        assert!(ok(run(&a, &["status", "--json"])));
        assert!(ok(run(&a, &["admin", "set-auto-lock", "3"])));
        assert_eq!(
            Vault::open(&a, keystore())
                .unwrap()
                .settings()
                .auto_lock_secs()
                .unwrap(),
            180
        );
        assert!(T::try_parse_from(["t", "admin", "set-auto-lock", "0"]).is_err());

        std::env::set_var(ENV_NEW_ADMIN, "admin passphrase 2");
        assert!(ok(run(&a, &["admin", "set-passphrase"])));
        let stale = run(&a, &["backup", "--out", "x"]).unwrap_err();
        assert!(
            stale.to_string().contains("wrong administrator passphrase"),
            "{stale}"
        );
        std::env::set_var(ENV_ADMIN, "admin passphrase 2");

        let file = tmp.path().join("w.nwbak");
        std::env::set_var(ENV_BACKUP, "backup passphrase 1");
        let f = file.to_str().unwrap();
        assert!(ok(run(&a, &["backup", "--out", f])));
        assert!(file.exists());

        std::env::set_var(ENV_BACKUP, "backup passphrase X");
        let wrong = run(&b, &["restore", f, "--passphrase-env"]).unwrap_err();
        assert!(
            wrong.to_string().contains("wrong backup passphrase"),
            "{wrong}"
        );
        assert!(!Vault::exists(&b));
        std::env::set_var(ENV_BACKUP, "backup passphrase 1");
        std::env::set_var(ENV_VAULT, "vault passphrase 2");
        assert!(ok(run(&b, &["restore", f, "--passphrase-env"])));
        // The restored vault opens with the new passphrase.
        let v = Vault::open(&b, keystore()).unwrap();
        v.unlock(Unlock::Passphrase(&Passphrase::from("vault passphrase 2")))
            .unwrap();
        drop(v);

        std::env::set_var(ENV_VAULT, "vault passphrase 1");
        assert!(ok(run(&a, &["audit", "list", "--json", "--limit", "3"])));
        assert!(ok(run(
            &a,
            &["audit", "list", "--outcome", "failure", "--text", "admin"]
        )));
        assert!(T::try_parse_from(["t", "audit", "list", "--outcome", "maybe"]).is_err());
        assert!(ok(run(&a, &["audit", "verify"])));
        // Tamper with the log: verify exits non-zero.
        let c = wallet_vault::rusqlite::Connection::open(wallet_vault::db_path(&a)).unwrap();
        c.execute_batch(
            "DROP TRIGGER activity_no_update; UPDATE activity SET subject = 'x' WHERE seq = 2;",
        )
        .unwrap();
        assert!(!ok(run(&a, &["audit", "verify"])));
        // Cut the newest entries off a log: `audit verify` cannot unlock over the cut.
        std::env::set_var(ENV_VAULT, "vault passphrase 2");
        let c = wallet_vault::rusqlite::Connection::open(wallet_vault::db_path(&b)).unwrap();
        c.execute_batch(
            "DROP TRIGGER activity_no_delete;
             DELETE FROM activity WHERE seq = (SELECT max(seq) FROM activity);",
        )
        .unwrap();
        drop(c);
        let cut = run(&b, &["audit", "verify"]).unwrap_err();
        assert!(cut.to_string().contains("cut off"), "{cut}");
        // Copy an older administrator verifier back into a vault: `audit verify` refuses, and
        // the old administrator passphrase does not work again.
        let c = tmp.path().join("c");
        std::env::set_var(ENV_VAULT, "vault passphrase 3");
        assert!(ok(run(&c, &["restore", f, "--passphrase-env"])));
        let old = tmp.path().join("c-old.db");
        let raw = wallet_vault::rusqlite::Connection::open(wallet_vault::db_path(&c)).unwrap();
        raw.execute("VACUUM INTO ?1", [old.to_str().unwrap()])
            .unwrap();
        std::env::set_var(ENV_NEW_ADMIN, "admin passphrase 3");
        assert!(ok(run(&c, &["admin", "set-passphrase"])));
        assert!(ok(run(&c, &["audit", "verify"])));
        raw.execute("ATTACH ?1 AS old", [old.to_str().unwrap()])
            .unwrap();
        raw.execute(
            "UPDATE main.vault_meta SET
                 admin_verifier = (SELECT admin_verifier FROM old.vault_meta),
                 admin_version = (SELECT admin_version FROM old.vault_meta)",
            [],
        )
        .unwrap();
        drop(raw);
        let mixed = run(&c, &["audit", "verify"]).unwrap_err();
        assert!(
            mixed
                .to_string()
                .contains("do not match the vault's sealed state"),
            "{mixed}"
        );
        let stale = run(&c, &["backup", "--out", "y"]).unwrap_err();
        assert!(stale.to_string().contains("sealed state"), "{stale}");
        for var in [
            ENV_FAST_KDF,
            ENV_VAULT,
            ENV_ADMIN,
            ENV_NEW_ADMIN,
            ENV_BACKUP,
        ] {
            std::env::remove_var(var);
        }
    }
}
