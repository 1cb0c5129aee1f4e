//! Version and build identity, shown by `nuts-wallet --version` and the app's About view.

/// The wallet's version (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Product name used in window titles and messages.
pub const PRODUCT_NAME: &str = "Nuts Wallet";

/// The git commit this build was made from (`unknown` outside a git checkout).
pub const COMMIT: &str = env!("NUTS_WALLET_COMMIT");

/// `0.1.0 (abc123def456)`: the version line of `--version` and the About view.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NUTS_WALLET_COMMIT"),
    ")"
);
