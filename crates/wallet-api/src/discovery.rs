//! The discovery file for hosts with many users (RDS, Citrix): every session's wallet runs its
//! own API on a free port (port 0), so an EHR of that session cannot use a fixed port. The
//! wallet writes its URL and API key to a file only its user can read, which the EHR of the
//! same user reads:
//!
//! * Unix: `$XDG_RUNTIME_DIR/nuts-wallet/api.json`, the directory 0700 and the file 0600, both
//!   owned by the user; a directory or file of someone else, or one others can open, is
//!   refused rather than used.
//! * Windows: `%LOCALAPPDATA%\nuts-wallet\api.json`, inheriting the profile's user-only access
//!   (no explicit ACL is set; untested here).
//!
//! Content: `{"url": "http://127.0.0.1:<port>", "api_key": "<key>", "pid": <process id>}`.
//! Removed again when the API stops.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the wallet's directory under the runtime directory.
pub const DIR_NAME: &str = "nuts-wallet";
/// Name of the discovery file.
pub const FILE_NAME: &str = "api.json";

/// Why the discovery file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// No per-user runtime directory (`XDG_RUNTIME_DIR` / `LOCALAPPDATA` unset).
    #[error("no per-user runtime directory: set XDG_RUNTIME_DIR (LOCALAPPDATA on Windows)")]
    NoRuntimeDir,
    /// The directory or file exists but belongs to another user, is a link, or others can
    /// open it.
    #[error("{0} is not private to this user (owner, link or permissions); refusing to use it")]
    NotPrivate(PathBuf),
    /// Reading or writing failed.
    #[error("discovery file {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Where the discovery file goes for this user, if the platform names a runtime directory.
pub fn default_path() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA")
    } else {
        std::env::var_os("XDG_RUNTIME_DIR")
    }?;
    let base = PathBuf::from(base);
    base.is_absolute()
        .then(|| base.join(DIR_NAME).join(FILE_NAME))
}

/// Writes `url` and `api_key` to `path` (see the module docs); returns `path`.
pub fn write(path: &Path, url: &str, api_key: &str) -> Result<PathBuf, DiscoveryError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DiscoveryError::Io { path: p, source }
    };
    let dir = path.parent().ok_or(DiscoveryError::NoRuntimeDir)?;
    private_dir(dir)?;
    if std::fs::symlink_metadata(path).is_ok() {
        private_file(path)?;
    }
    let body = serde_json::json!({
        "url": url,
        "api_key": api_key,
        "pid": std::process::id(),
    })
    .to_string();
    // A fresh file in the private directory, then renamed over the old one.
    let tmp = dir.join(format!(".{FILE_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(body.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    Ok(path.to_path_buf())
}

/// Removes the discovery file if it is this process's.
pub fn remove(path: &Path) {
    let ours = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["pid"] == std::process::id());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}

/// Creates `dir` 0700, or checks that the existing one is the user's and closed to others.
fn private_dir(dir: &Path) -> Result<(), DiscoveryError> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    match b.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(DiscoveryError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    check_private(dir, true)
}

fn private_file(path: &Path) -> Result<(), DiscoveryError> {
    check_private(path, false)
}

#[cfg(unix)]
fn check_private(p: &Path, dir: bool) -> Result<(), DiscoveryError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(p).map_err(|source| DiscoveryError::Io {
        path: p.to_path_buf(),
        source,
    })?;
    let me = rustix::process::geteuid().as_raw();
    let right_kind = if dir { m.is_dir() } else { m.is_file() };
    if !right_kind || m.uid() != me || m.mode() & 0o077 != 0 {
        return Err(DiscoveryError::NotPrivate(p.to_path_buf()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(p: &Path, dir: bool) -> Result<(), DiscoveryError> {
    let m = std::fs::symlink_metadata(p).map_err(|source| DiscoveryError::Io {
        path: p.to_path_buf(),
        source,
    })?;
    let right_kind = if dir { m.is_dir() } else { m.is_file() };
    if !right_kind {
        return Err(DiscoveryError::NotPrivate(p.to_path_buf()));
    }
    Ok(())
}
