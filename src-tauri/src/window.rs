//! The shell's window and browser hand-off: bring the main window forward (a link or a
//! prompt arrived), and let the clinician's browser continue at the address the wallet
//! runtime returned after a decision (or a refusal the verifier was told about).

use tauri::{AppHandle, Manager, Runtime};

/// Shows and focuses the main window (second launch, a link or a prompt arrived).
pub fn focus_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Test hook and administrator override: a command that opens a URL in the browser (it gets
/// the URL as its only argument). Without it the desktop's default browser is used.
pub const BROWSER_ENV: &str = "NUTS_WALLET_BROWSER";

/// Why the browser was not opened.
#[derive(Debug)]
pub enum BrowserError {
    /// Only http and https addresses are opened, never a scheme the verifier chose.
    NotAWebAddress,
    /// The browser command could not be started.
    Spawn(std::io::Error),
}

impl std::fmt::Display for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAWebAddress => f.write_str("the verifier's redirect is not a web address"),
            Self::Spawn(e) => write!(f, "the browser could not be opened: {e}"),
        }
    }
}

/// Opens `url` (http or https only) in the browser.
pub fn open_in_browser(url: &str) -> Result<(), BrowserError> {
    let ok_scheme = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !ok_scheme {
        return Err(BrowserError::NotAWebAddress);
    }
    let mut cmd = match std::env::var_os(BROWSER_ENV) {
        Some(program) => std::process::Command::new(program),
        None if cfg!(target_os = "macos") => std::process::Command::new("open"),
        None if cfg!(windows) => {
            let mut c = std::process::Command::new("rundll32");
            c.arg("url.dll,FileProtocolHandler");
            c
        }
        None => std::process::Command::new("xdg-open"),
    };
    cmd.arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match cmd.spawn() {
        Ok(mut child) => {
            // Reap it in the background so no zombie stays behind.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not open the browser");
            Err(BrowserError::Spawn(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_opened() {
        for bad in [
            "nuts-wallet://x",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "no url",
        ] {
            assert!(
                matches!(open_in_browser(bad), Err(BrowserError::NotAWebAddress)),
                "{bad}"
            );
        }
    }
}
