//! Nuts Wallet desktop app: the Tauri 2 shell.
//!
//! Owns the window, deep-link and single-instance wiring, and the Tauri commands. Protocol,
//! storage and validation logic live in the core crates; commands here only adapt them.

pub mod deep_link;
pub mod expiry_notice;
#[macro_use]
pub mod ipc;
pub mod service_prompt;
pub mod services;
pub mod startup;
pub mod state;
pub mod window;

use std::sync::Arc;
use std::time::Duration;

use tauri::{Emitter, Manager, Runtime};
use wallet_core::session::WalletSession;
use wallet_vault::OsKeyring;

use crate::state::AppState;

/// `generate_handler!` over the commands of the IPC contract (`ipc/contract.rs`).
macro_rules! handler_list {
    ($($access:ident $module:ident :: $name:ident ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        tauri::generate_handler![$(ipc::$module::$name),*]
    };
}

/// Registers the app's commands and state on a builder (generic so tests can use the mock runtime).
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder
        .manage(state)
        .invoke_handler(with_ipc_contract!(handler_list))
}

fn dev_mode() -> bool {
    std::env::var("NUTS_WALLET_DEV").is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// Locks the vault after the configured idle time and tells the UI.
fn spawn_auto_lock<R: Runtime>(app: tauri::AppHandle<R>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(5));
        let state = app.state::<AppState>();
        if state.session.lock_if_idle() {
            state.close_consents();
            tracing::info!("vault locked after idle time");
            let _ = app.emit(ipc::commands::VAULT_LOCKED_EVENT, ());
        }
    });
}

/// Keeps a managed workstation's organization profile fresh while the app runs (now, then every
/// 15 minutes; it waits quietly while the vault is locked or not enrolled).
fn spawn_profile_refresh(state: &AppState) {
    let Ok(runtime) = state.runtime() else {
        return;
    };
    let vault: Arc<dyn wallet_core::runtime::VaultAccess> = state.session.clone();
    let net = runtime.network().clone();
    tauri::async_runtime::spawn(wallet_core::profile::keep_fresh(vault, net, |d| {
        tokio::time::sleep(d)
    }));
}

/// Starts the desktop app.
pub fn run() {
    startup::mark_started();
    startup::apply_webview_defaults();
    // Before any plugin reads the arguments (they panic on non-UTF-8 ones).
    if let Err(e) = deep_link::utf8_args(std::env::args_os()) {
        eprintln!("Nuts Wallet cannot start: {e}");
        std::process::exit(2);
    }
    let data_dir = match wallet_core::paths::resolve_data_dir(None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Nuts Wallet cannot start: {e}");
            std::process::exit(2);
        }
    };
    let _log = wallet_core::logging::init(Some(&wallet_core::paths::log_dir(&data_dir)), "info")
        .or_else(|_| wallet_core::logging::init(None, "info"))
        .ok();
    tracing::info!(version = wallet_core::build_info::VERSION, data_dir = %data_dir.display(), "starting Nuts Wallet");

    let builder = tauri::Builder::default()
        // Single-instance first: a second launch hands its argv (a nuts-wallet: link) to us
        // and exits; with the deep-link feature the link reaches `on_open_url` below.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            for link in deep_link::unparseable_links(&argv) {
                deep_link::deliver(app, link);
            }
            window::focus_main(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .on_page_load(|_, load| {
            if load.event() == tauri::webview::PageLoadEvent::Finished {
                startup::page_loaded();
            }
        });

    let session = WalletSession::new(&data_dir, Arc::new(OsKeyring::new()));
    let result = with_commands(builder, AppState::new(data_dir, dev_mode(), session))
        .setup(|app| {
            use tauri_plugin_deep_link::DeepLinkExt;
            // Not on the way to the window: on Linux this runs update-desktop-database and
            // xdg-mime, tens of milliseconds each.
            #[cfg(any(target_os = "linux", windows))]
            {
                let handle = app.handle().clone();
                std::thread::spawn(move || {
                    if let Err(e) = handle.deep_link().register_all() {
                        // Installed packages register the scheme themselves; a dev build may not.
                        tracing::warn!(error = %e, "could not register the nuts-wallet: scheme");
                    }
                });
            }
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    deep_link::deliver(&handle, url.as_str());
                }
            });
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    deep_link::deliver(app.handle(), url.as_str());
                }
            }
            let args = deep_link::utf8_args(std::env::args_os()).unwrap_or_default();
            for link in deep_link::unparseable_links(&args) {
                deep_link::deliver(app.handle(), link);
            }
            if app.state::<AppState>().session.unlock_at_start() {
                tracing::info!("vault unlocked with the OS keyring at start");
                services::ensure_api(app.handle());
                expiry_notice::check(&app.state::<AppState>());
            }
            ipc::commands::start_managed_enrollment(app.handle());
            spawn_profile_refresh(&app.state::<AppState>());
            spawn_auto_lock(app.handle().clone());
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.set_title(&format!("Nuts Wallet {}", wallet_core::build_info::VERSION));
            }
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped with an error");
        std::process::exit(1);
    }
}
