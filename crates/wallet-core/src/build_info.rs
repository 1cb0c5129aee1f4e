//! Version and build identity, shown by `nuts-wallet --version` and the app's About view.

/// The wallet's version (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Product name used in window titles and messages.
pub const PRODUCT_NAME: &str = "Nuts Wallet";
