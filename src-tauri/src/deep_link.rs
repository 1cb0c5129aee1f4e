//! Wiring of `nuts-wallet:` links into the app: from the deep-link plugin (first launch and
//! OS hand-over), and from a second launch forwarded by the single-instance plugin.

use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::ipc::dto::INCOMING_REQUEST_EVENT;
use crate::state::AppState;

/// Records the link, tells the UI and brings the window forward.
pub fn deliver<R: Runtime>(app: &AppHandle<R>, link: &str) {
    let state = app.state::<AppState>();
    let req = state.receive_link(link);
    // The link itself is not secret (request by reference) but can be long; log its outcome.
    tracing::info!(id = req.id, outcome = ?outcome_kind(&req.outcome), "incoming nuts-wallet link");
    if let Err(e) = app.emit(INCOMING_REQUEST_EVENT, &req) {
        tracing::warn!(error = %e, "could not notify the UI of an incoming link");
    }
    focus_main(app);
}

/// Shows and focuses the main window (second launch, or a link arrived).
pub fn focus_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
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

fn outcome_kind(o: &crate::ipc::dto::IncomingOutcome) -> &'static str {
    match o {
        crate::ipc::dto::IncomingOutcome::Authorize { .. } => "authorize",
        crate::ipc::dto::IncomingOutcome::Invalid { .. } => "invalid",
    }
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
