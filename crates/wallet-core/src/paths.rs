//! Where the wallet keeps its data. The CLI and the app use the same default so that an
//! administrator's `nuts-wallet` commands act on the vault the app opens.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the default data directory (the `--data-dir` flag wins).
pub const DATA_DIR_ENV: &str = "NUTS_WALLET_DATA_DIR";

/// Name of the log folder inside the data directory.
pub const LOG_DIR_NAME: &str = "logs";

/// The platform's data directory for the wallet, e.g. `~/.local/share/nuts-wallet` on Linux,
/// `%APPDATA%\Nuts\Nuts Wallet\data` on Windows, `~/Library/Application Support/nl.nuts.wallet` on macOS.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("nl", "Nuts", "nuts-wallet").map(|d| d.data_dir().to_path_buf())
}

/// Resolves the data directory: explicit flag, then [`DATA_DIR_ENV`], then the platform default.
pub fn resolve_data_dir(explicit: Option<&Path>) -> Result<PathBuf, PathError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    default_data_dir().ok_or(PathError::NoHome)
}

/// The log directory inside a data directory.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR_NAME)
}

/// Why no data directory could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// No home directory is known, so there is no platform default.
    #[error("no home directory found; pass --data-dir or set {DATA_DIR_ENV}")]
    NoHome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_wins() {
        let p = resolve_data_dir(Some(Path::new("/tmp/x"))).unwrap();
        assert_eq!(p, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn default_ends_with_product_folder() {
        let d = default_data_dir().expect("HOME is set in tests");
        assert!(
            d.to_string_lossy().contains("nuts-wallet"),
            "{}",
            d.display()
        );
    }

    #[test]
    fn log_dir_is_inside_data_dir() {
        assert_eq!(log_dir(Path::new("/d")), PathBuf::from("/d/logs"));
    }
}
