//! Data sent to the UI. TypeScript for these types is generated into `ui/src/ipc/bindings/`
//! (see `tests/bindings.rs`); the UI never sees a core type directly.

use serde::Serialize;
use ts_rs::TS;
use wallet_core::deeplink::{DeepLink, DeepLinkError, RequestUriMethod};

/// What the About view and the header show.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// Product version.
    pub version: String,
    /// Data directory (vault, logs).
    pub data_dir: String,
    /// Folder of the log files.
    pub log_dir: String,
    /// Development mode (loopback servers trusted): the UI shows a banner.
    pub dev_mode: bool,
}

/// A `nuts-wallet:` link the app received (by deep link or from a second launch).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncomingRequest {
    /// Sequence number within this run of the app.
    pub id: u32,
    /// When it arrived (milliseconds since the Unix epoch).
    #[ts(type = "number")]
    pub received_at_ms: u64,
    /// The link exactly as received (never contains secrets: a request by reference).
    pub link: String,
    /// What the wallet made of it.
    pub outcome: IncomingOutcome,
}

/// The parsed link, or why it was refused.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum IncomingOutcome {
    /// A well-formed OpenID4VP authorization request by reference.
    Authorize {
        /// The verifier's client id (entity id URL).
        client_id: String,
        /// The verifier's host, for display.
        verifier_host: String,
        /// Where the signed request object is.
        request_uri: String,
        /// `get` or `post`.
        request_uri_method: String,
    },
    /// The link was refused; `code` selects the translated message.
    Invalid {
        /// Stable error code (see `wallet_core::deeplink::DeepLinkError::code`).
        code: String,
        /// English explanation.
        message: String,
    },
}

impl From<Result<DeepLink, DeepLinkError>> for IncomingOutcome {
    fn from(r: Result<DeepLink, DeepLinkError>) -> Self {
        match r {
            Ok(DeepLink::Authorize(a)) => IncomingOutcome::Authorize {
                client_id: a.client_id.as_str().to_string(),
                verifier_host: a.verifier_host,
                request_uri: a.request_uri.as_str().to_string(),
                request_uri_method: match a.request_uri_method {
                    RequestUriMethod::Get => "get",
                    RequestUriMethod::Post => "post",
                }
                .to_string(),
            },
            Err(e) => IncomingOutcome::Invalid {
                code: e.code().to_string(),
                message: e.to_string(),
            },
        }
    }
}

/// Name of the event that carries a new [`IncomingRequest`] to the UI.
pub const INCOMING_REQUEST_EVENT: &str = "incoming-request";

/// Writes the TypeScript declarations of every DTO (and their dependencies) into `dir`.
/// New DTOs that the UI receives must be listed here.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    AppInfo::export_all_to(dir)?;
    IncomingRequest::export_all_to(dir)?;
    Ok(())
}
