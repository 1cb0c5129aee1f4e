//! OAuth errors as a Nuts v6 AS renders them (docs/protocol.md §11.5):
//! `{"error", "error_description"}` JSON when the caller accepts JSON, a small HTML page
//! otherwise, and a 302 to the client's `redirect_uri` for the errors Nuts redirects (the
//! authorization request's audience and scope errors, and `/response` errors once the client
//! is known).
//!
//! Descriptions never contain tokens, VPs, codes or PKCE verifiers.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

/// The OAuth / OpenID4VP error codes this server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_scope`
    InvalidScope,
    /// `invalid_grant`
    InvalidGrant,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `invalid_dpop_proof`
    InvalidDpopProof,
    /// `invalid_request_object`
    InvalidRequestObject,
    /// `invalid_request_uri`
    InvalidRequestUri,
    /// `invalid_request_uri_method`
    InvalidRequestUriMethod,
    /// `server_error`
    ServerError,
}

impl ErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestUriMethod => "invalid_request_uri_method",
            Self::ServerError => "server_error",
        }
    }
}

/// An OAuth error response.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status (400 unless noted; 500 for `server_error`).
    pub status: StatusCode,
    /// The error code.
    pub code: ErrorCode,
    /// Human-readable description (no secrets).
    pub description: String,
    /// When set, the error is sent as a 302 to this client redirect URI (with `state`).
    pub redirect: Option<Box<(Url, Option<String>)>>,
    /// Render as JSON (caller accepts JSON).
    pub json: bool,
}

impl OAuthError {
    /// A 400 (or 500 for `server_error`) error.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        let status = if code == ErrorCode::ServerError {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            code,
            description: description.into(),
            redirect: None,
            json: true,
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// Another HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sent as a redirect to the client.
    pub fn redirect_to(mut self, redirect: Url, state: Option<String>) -> Self {
        self.redirect = Some(Box::new((redirect, state)));
        self
    }

    /// Chooses JSON or HTML from the request's `Accept` / `Content-Type` (Nuts behaviour).
    pub fn for_request(mut self, headers: &HeaderMap) -> Self {
        self.json = wants_json(headers);
        self
    }
}

/// Whether the caller asked for JSON (Accept) or sent JSON.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    has(header::ACCEPT) || has(header::CONTENT_TYPE)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        tracing::info!(error = self.code.as_str(), description = %self.description, "oauth error");
        if let Some(redirect) = self.redirect {
            let (mut url, state) = *redirect;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("error", self.code.as_str());
                q.append_pair("error_description", &self.description);
                if let Some(s) = &state {
                    q.append_pair("state", s);
                }
            }
            let mut resp = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(url.as_str()) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return resp;
        }
        if self.json {
            let body = serde_json::json!({
                "error": self.code.as_str(),
                "error_description": self.description,
            });
            let mut resp = (self.status, axum::Json(body)).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        } else {
            let page = format!(
                "<!doctype html><html><head><title>Error</title></head><body><h1>{}</h1><p>{}</p></body></html>",
                html_escape(self.code.as_str()),
                html_escape(&self.description)
            );
            (
                self.status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page,
            )
                .into_response()
        }
    }
}

/// Result of a handler step.
pub type OAuthResult<T> = std::result::Result<T, OAuthError>;

/// Errors of configuration and start-up.
#[derive(Debug, thiserror::Error)]
pub enum AsError {
    /// Bad or unreadable configuration.
    #[error("configuration error: {0}")]
    Config(String),
    /// Key or certificate problem.
    #[error("key error: {0}")]
    Key(String),
    /// Policy files.
    #[error("policy error: {0}")]
    Policy(String),
    /// I/O.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// TLS setup.
    #[error("TLS error: {0}")]
    Tls(String),
}

/// Start-up result.
pub type Result<T> = std::result::Result<T, AsError>;
