//! Nuts Wallet core: what the desktop app and the `nuts-wallet` CLI share.
//!
//! This crate must never depend on Tauri or WebKit: the app shell in `src-tauri/` is a thin
//! adapter over it, and the CLI uses it headless.

pub mod access_policy;
pub mod audit_export;
pub mod audit_forward;
pub mod build_info;
pub mod credentials;
pub mod deeplink;
pub mod doctor;
pub mod logging;
pub mod oauth;
pub mod openid4vp;
pub mod org;
pub mod paths;
pub mod profile;
pub mod roster;
pub mod runtime;
pub mod session;
