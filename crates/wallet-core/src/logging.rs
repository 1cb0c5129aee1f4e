//! Logging setup shared by the app and the CLI: stderr plus a daily-rotating file in the data
//! directory, level from `RUST_LOG` (default `info`); in the file, other crates than the
//! wallet's own log warnings only, and nothing is coloured.
//!
//! What is logged is the callers' responsibility: keys, tokens, VPs, codes and PKCE verifiers
//! are wrapped in types whose `Debug` is redacted, and are never passed to a log macro.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// File name prefix of the log files (`nuts-wallet.YYYY-MM-DD.log`).
pub const LOG_FILE_PREFIX: &str = "nuts-wallet";
/// How many daily log files are kept.
pub const MAX_LOG_FILES: usize = 14;

/// Keeps the background log writer alive; drop it last (at exit) to flush.
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
    /// Where the log files go, when file logging is on.
    pub log_dir: Option<PathBuf>,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The log directory could not be created or opened.
    #[error("cannot write logs in {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A global subscriber was already installed.
    #[error("logging was already initialised")]
    AlreadySet,
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The wallet's own crates (tracing targets): only these follow `RUST_LOG` in the log file.
const OWN_TARGETS: &[&str] = &[
    "nuts_wallet_app",
    "nuts_wallet",
    "wallet_api",
    "wallet_as",
    "wallet_core",
    "wallet_pex",
    "wallet_protocol",
    "wallet_vault",
];

/// The log file's filter for `rust_log` (`RUST_LOG`, default `info`): `warn` for every crate,
/// and `RUST_LOG`'s levels for the wallet's own crates only (a bare level applies to them;
/// directives naming other crates are dropped), so a broad `RUST_LOG=debug` does not fill the
/// file with HTTP and TLS internals.
pub fn file_filter_directives(rust_log: Option<&str>) -> String {
    let levels = ["off", "error", "warn", "info", "debug", "trace"];
    let mut out = vec!["warn".to_owned()];
    for d in rust_log.unwrap_or("info").split(',').map(str::trim) {
        match d.split_once('=') {
            None if levels.contains(&d.to_ascii_lowercase().as_str()) => {
                out.extend(OWN_TARGETS.iter().map(|t| format!("{t}={d}")));
            }
            Some((target, _)) if OWN_TARGETS.iter().any(|t| is_target(target, t)) => {
                out.push(d.to_owned());
            }
            _ => {}
        }
    }
    out.join(",")
}

fn is_target(target: &str, own: &str) -> bool {
    target == own
        || target
            .strip_prefix(own)
            .is_some_and(|rest| rest.starts_with("::"))
}

/// Field formatting of the file layer. A type of its own: span fields are formatted once per
/// formatter type and shared between layers, so with the stderr layer's type the file would get
/// the stderr layer's coloured (ANSI) span fields.
struct FileFields(fmt::format::DefaultFields);

impl<'w> fmt::FormatFields<'w> for FileFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// Installs the global subscriber. With `log_dir`, also logs to a rotating file there; the
/// stderr layer is quieter for the CLI (`stderr_default`, e.g. `warn`) unless `RUST_LOG` is set.
pub fn init(log_dir: Option<&Path>, stderr_default: &str) -> Result<LogGuard, LoggingError> {
    let stderr_filter = if std::env::var_os("RUST_LOG").is_some() {
        filter()
    } else {
        EnvFilter::new(stderr_default)
    };
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(stderr_filter);

    let (file_layer, guard) = match log_dir {
        Some(dir) => {
            let appender = file_appender(dir)?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let rust_log = std::env::var("RUST_LOG").ok();
            let file_filter = EnvFilter::try_new(file_filter_directives(rust_log.as_deref()))
                .unwrap_or_else(|_| EnvFilter::new(file_filter_directives(None)));
            let layer = fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .fmt_fields(FileFields(fmt::format::DefaultFields::new()))
                .with_filter(file_filter);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };

    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)?;
    Ok(LogGuard {
        _file: guard,
        log_dir: log_dir.map(Path::to_path_buf),
    })
}

/// The rotating file writer (daily, [`MAX_LOG_FILES`] kept).
pub fn file_appender(
    dir: &Path,
) -> Result<tracing_appender::rolling::RollingFileAppender, LoggingError> {
    let err = |source| LoggingError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    // Logs name verifiers, employees and credentials: the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(MAX_LOG_FILES)
        .build(dir)
        .map_err(|e| err(std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logs name verifiers, employees and credentials: another local user must not list or
    /// read them, also when the folder existed with looser permissions.
    #[cfg(unix)]
    #[test]
    fn log_dir_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _w = file_appender(&logs).unwrap();
        let mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn file_appender_writes_a_dated_log_file() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let mut w = file_appender(&logs).unwrap();
        writeln!(w, "hello log").unwrap();
        w.flush().unwrap();
        let files: Vec<_> = std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("nuts-wallet.") && name.ends_with(".log"),
            "{name}"
        );
        assert!(std::fs::read_to_string(&files[0])
            .unwrap()
            .contains("hello log"));
    }

    #[test]
    fn unwritable_log_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let err = file_appender(&file.join("logs")).unwrap_err();
        assert!(err.to_string().contains("cannot write logs"), "{err}");
    }
}
