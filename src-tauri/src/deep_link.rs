//! Wiring of `nuts-wallet:` links into the app: from the deep-link plugin (first launch and
//! OS hand-over), and from a second launch forwarded by the single-instance plugin.

use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::ipc::dto::INCOMING_REQUEST_EVENT;
use crate::state::AppState;
use crate::window::focus_main;

/// Records the link in the runtime's inbox (parsed once, there), tells the UI and brings the
/// window forward.
pub fn deliver<R: Runtime>(app: &AppHandle<R>, link: &str) {
    let state = app.state::<AppState>();
    let received = state.receive_link(link);
    // The link itself is not secret (request by reference) but can be long; log its outcome.
    let outcome = if received.parsed.is_ok() {
        "authorize"
    } else {
        "invalid"
    };
    tracing::info!(id = received.id, outcome, "incoming nuts-wallet link");
    let req = crate::ipc::consent_screen::incoming_request(received);
    if let Err(e) = app.emit(INCOMING_REQUEST_EVENT, &req) {
        tracing::warn!(error = %e, "could not notify the UI of an incoming link");
    }
    focus_main(app);
}

/// The command line as text, or why not: the plugins read `std::env::args`, which panics on
/// an argument that is not valid UTF-8 (the app checks first and exits with this message).
pub fn utf8_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Vec<String>, String> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            a.into_string().map_err(|a| {
                format!(
                    "command-line argument {i} is not valid UTF-8 ({}); links and paths must be UTF-8",
                    a.to_string_lossy()
                )
            })
        })
        .collect()
}

/// Arguments that look like our links but that the deep-link plugin drops because they do not
/// parse as URLs; we still report them, so the user sees why nothing happened.
pub fn unparseable_links(args: &[String]) -> impl Iterator<Item = &String> {
    args.iter().filter(|a| {
        a.get(..wallet_core::deeplink::SCHEME.len() + 1)
            .is_some_and(|p| p.eq_ignore_ascii_case("nuts-wallet:"))
            && url::Url::parse(a).is_err()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_unparseable_nuts_wallet_args() {
        let args: Vec<String> = [
            "app",
            "nuts-wallet://authorize?x=1",
            "nuts-wallet://[bad",
            "other",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let found: Vec<_> = unparseable_links(&args).collect();
        assert_eq!(found, vec!["nuts-wallet://[bad"]);
    }
}
