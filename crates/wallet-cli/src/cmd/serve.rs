//! `nuts-wallet serve [--port P]`: the loopback API for EHRs, headless, until Ctrl-C or
//! SIGTERM. Requests outside the no-prompt policy are refused (nobody to ask). Thin adapter
//! over `wallet_api::serve` on the wallet runtime (its token service and user-flow sessions).
//! Audit forwarding runs alongside (`wallet_core::audit_forward::Forwarder`).

use std::process::ExitCode;

use anyhow::Context;

use super::present::wallet_runtime;
use super::vault::open_unlocked;
use crate::Ctx;

/// Arguments of `serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// TCP port on 127.0.0.1 and [::1]; 0 picks a free port and writes it, with the API key,
    /// to the discovery file ($XDG_RUNTIME_DIR/nuts-wallet/api.json, only this user can read it)
    #[arg(long, default_value_t = wallet_api::DEFAULT_PORT)]
    port: u16,
}

/// `nuts-wallet serve`.
pub fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let vault = open_unlocked(&ctx.data_dir)?;
    let org = wallet_core::org::require_organization(&vault)?;
    let created = wallet_api::api_key::current(&vault)?.is_none();
    let wallet = std::sync::Arc::new(wallet_runtime(ctx, &vault)?);
    // Activity entries go to the organization's syslog collector while serving (when set up).
    super::vault::skip_exit_delivery();
    let audit_vault = vault.clone();
    let forwarder = wallet_core::audit_forward::Forwarder::start(audit_vault.clone())
        .context("starting audit forwarding")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let net = wallet.network().clone();
    rt.block_on(async move {
        // A managed workstation keeps its organization profile current while serving.
        let refresh_vault: std::sync::Arc<dyn wallet_core::runtime::VaultAccess> =
            std::sync::Arc::new(vault.clone());
        let _refresher = tokio::spawn(wallet_core::profile::keep_fresh(
            refresh_vault,
            net,
            tokio::time::sleep,
        ));
        let handle =
            wallet_api::serve(wallet_api::ApiConfig::from_runtime(wallet, args.port)).await?;
        println!(
            "Loopback API for {} listening on {} (Ctrl-C stops it)",
            org.subject,
            handle.base_url()
        );
        println!(
            "Service tokens: POST {}/internal/auth/v2/{}/request-service-access-token",
            handle.base_url(),
            org.subject
        );
        if created {
            println!("An API key was created; an administrator shows it with `nuts-wallet api-key show`.");
        }
        // Port 0 (a session of a multi-user host): EHRs find the port and key in the file.
        let discovery = if args.port == 0 {
            let path = match write_discovery(&vault, &handle.base_url()) {
                Ok(p) => p,
                Err(e) => {
                    handle.shutdown().await?;
                    return Err(e);
                }
            };
            println!("URL and API key written to {}", path.display());
            Some(path)
        } else {
            None
        };
        shutdown_signal().await;
        eprintln!("stopping");
        if let Some(p) = &discovery {
            wallet_api::discovery::remove(p);
        }
        handle.shutdown().await?;
        anyhow::Ok(())
    })?;
    drop(forwarder);
    if let Err(e) =
        wallet_core::audit_forward::flush(&audit_vault, std::time::Duration::from_secs(2))
    {
        tracing::info!(
            code = e.code(),
            "activity entries wait for the syslog collector"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write_discovery(vault: &wallet_vault::Vault, url: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = wallet_api::discovery::default_path()
        .ok_or(wallet_api::discovery::DiscoveryError::NoRuntimeDir)?;
    let key = wallet_api::api_key::current(vault)?.context("no API key")?;
    Ok(wallet_api::discovery::write(
        &path,
        url,
        key.expose_secret(),
    )?)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
