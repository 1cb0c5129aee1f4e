//! The user flow on the loopback API (`docs/protocol.md` §3, lifetimes in §10), an adapter
//! over the wallet runtime's user flow (`wallet_core::runtime`, use cases in
//! `wallet_core::oauth::user`):
//!
//! 1. `POST /internal/auth/v2/{subject}/request-user-access-token` (EHR, API key):
//!    [`WalletRuntime::begin_user_flow`] → `{redirect_uri: <landing URL>, session_id}`.
//! 2. `GET /oauth2/{subject}/user?token=` (browser): [`WalletRuntime::start_user_flow`] → 302
//!    to the AS.
//! 3. The AS sends the browser to the wallet (`nuts-wallet:` link, handled by the app's holder),
//!    which ends at the AS with a redirect to
//! 4. `GET /oauth2/{subject}/callback?code=&state=` (browser):
//!    [`WalletRuntime::complete_user_flow`] → 302 to the EHR's `redirect_uri`; an error without
//!    `state` (§3) ends the flow through [`WalletRuntime::end_user_flow_without_state`].
//! 5. `GET /internal/auth/v2/accesstoken/{session_id}` (EHR, API key):
//!    [`WalletRuntime::poll_user_token`]: pending, the token once, or the flow's error.
//!
//! Browsers get small bilingual HTML pages for errors, EHRs OAuth-style JSON. Landing tokens,
//! codes, states and tokens never reach a log.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use url::Url;
use wallet_core::oauth::user::{
    NewUserFlow, PreauthorizedUser, SessionError, TokenPoll, UserFlowError,
};
use wallet_core::oauth::{AuthorizationServerId, ChannelKind, Scope, ServiceTokenError, TokenType};
#[cfg(doc)]
use wallet_core::runtime::WalletRuntime;

use crate::{error, parse_json, AppState};

/// `request-user-access-token` body (Nuts `UserAccessTokenRequest`).
#[derive(Deserialize)]
struct UserAccessTokenBody {
    authorization_server: String,
    scope: String,
    redirect_uri: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    preauthorized_user: Option<PreauthorizedUser>,
}

fn flow_error(e: &UserFlowError) -> Response {
    error(e.http_status(), e.oauth_error(), &e.to_string())
}

/// `http://127.0.0.1:<port>/oauth2/<subject>/<last>`.
fn wallet_url(state: &AppState, subject: &str, last: &str) -> Url {
    let mut u = Url::parse(&format!("http://127.0.0.1:{}/", state.port)).expect("loopback URL");
    u.path_segments_mut()
        .expect("http URL has a path")
        .extend(["oauth2", subject, last]);
    u
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) async fn request_user_access_token(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b: UserAccessTokenBody = match parse_json(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let parsed = (|| -> Result<NewUserFlow, ServiceTokenError> {
        Ok(NewUserFlow {
            subject: subject.clone(),
            authorization_server: AuthorizationServerId::parse(&b.authorization_server)?,
            scope: Scope::parse(&b.scope)?,
            token_type: match &b.token_type {
                None => TokenType::DPoP,
                Some(t) => t.parse()?,
            },
            app_redirect_uri: b.redirect_uri.clone(),
            preauthorized_user: b.preauthorized_user.clone(),
            channel: ChannelKind::Api,
        })
    })();
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return error(e.http_status(), e.oauth_error(), &e.to_string()),
    };
    match state.runtime.begin_user_flow(req) {
        Ok((session_id, landing)) => {
            let mut u = wallet_url(&state, &subject, "user");
            u.query_pairs_mut().append_pair("token", &landing);
            no_store(
                Json(json!({
                    "redirect_uri": u.as_str(),
                    "session_id": session_id,
                }))
                .into_response(),
            )
        }
        Err(e) => flow_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct LandingQuery {
    #[serde(default)]
    token: Option<String>,
}

pub(crate) async fn landing(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<LandingQuery>,
) -> Response {
    let token = q.token.unwrap_or_default();
    let callback = wallet_url(&state, &subject, "callback");
    // A landing token only opens a flow of the subject it was issued for.
    match state
        .runtime
        .start_user_flow(&subject, &token, callback.as_str())
        .await
    {
        Ok(url) => redirect(url.as_str()),
        Err(UserFlowError::Session(SessionError::UnknownLandingToken)) => {
            Page::UnknownLink.render()
        }
        Err(e) => {
            tracing::info!(code = e.code(), error = %e, "user flow could not start");
            Page::Failed(e).render()
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    /// The flow's return key ([`wallet_core::oauth::user::RETURN_KEY_PARAM`]).
    #[serde(default)]
    flow: Option<String>,
}

/// Whether the browser says a page of another site sent it here (`Sec-Fetch-Site`).
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("cross-site"))
}

pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let error = q
        .error
        .as_deref()
        .filter(|e| !e.is_empty())
        .map(|e| (e, q.error_description.as_deref().unwrap_or("")));
    let Some(client_state) = q.state.as_deref().filter(|s| !s.is_empty()) else {
        // After a wallet error the Nuts AS redirects here with the error and no state
        // (`docs/protocol.md` §3, §12). Only the flow whose return key the URL carries ends,
        // and never for a page of another site (the wallet or the AS opened the browser here).
        let Some((e, d)) = error else {
            return Page::UnknownState.render();
        };
        let key = q.flow.as_deref().unwrap_or_default();
        if key.is_empty() || cross_site(&headers) {
            return Page::NoFlowForError.render();
        }
        return match state
            .runtime
            .end_user_flow_without_state(&subject, key, e, d)
        {
            Some(f) => redirect(&with_error(&f.flow.app_redirect_uri, e, d)),
            None => Page::NoFlowForError.render(),
        };
    };
    let callback = wallet_url(&state, &subject, "callback");
    match state
        .runtime
        .complete_user_flow(
            &subject,
            client_state,
            q.code.as_deref(),
            error,
            callback.as_str(),
        )
        .await
    {
        Ok(f) => match error {
            Some((e, d)) => redirect(&with_error(&f.flow.app_redirect_uri, e, d)),
            // The EHR collects the token (or the exchange's error) with its session id.
            None => redirect(&f.flow.app_redirect_uri),
        },
        Err(UserFlowError::Session(SessionError::UnknownState)) => Page::UnknownState.render(),
        Err(e) => Page::Failed(e).render(),
    }
}

/// The EHR's redirect URI with `error` and `error_description` (sanitized) appended.
fn with_error(app_redirect_uri: &str, error: &str, description: &str) -> String {
    let clean =
        |s: &str, n: usize| -> String { s.chars().filter(|c| !c.is_control()).take(n).collect() };
    match Url::parse(app_redirect_uri) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("error", &clean(error, 64))
                .append_pair("error_description", &clean(description, 512));
            u.into()
        }
        Err(_) => app_redirect_uri.to_owned(),
    }
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            no_store(r)
        }
        Err(_) => Page::Failed(UserFlowError::InvalidRequest(
            "the redirect address is not valid".into(),
        ))
        .render(),
    }
}

pub(crate) async fn retrieve_access_token(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> Response {
    let now = state.runtime.now();
    match state.runtime.poll_user_token(&session_id) {
        // Nuts: the pending form carries empty token fields.
        TokenPoll::Pending => no_store(
            Json(json!({"access_token": "", "token_type": "", "status": "pending"}))
                .into_response(),
        ),
        TokenPoll::Active(t) => {
            let mut v = t.to_api_json(now);
            v["status"] = json!("active");
            no_store(Json(v).into_response())
        }
        TokenPoll::Failed {
            error: e,
            description,
        } => {
            let status = match e.as_str() {
                "access_denied" => 403,
                "temporarily_unavailable" => 503,
                "server_error" => 502,
                _ => 400,
            };
            no_store(error(status, &e, &description))
        }
        TokenPoll::Unknown => error(
            404,
            "invalid_request",
            "unknown session, or its token was collected already or expired",
        ),
    }
}

/// The pages a browser may see. Tiny, no external resources, Dutch and English.
enum Page {
    UnknownLink,
    UnknownState,
    NoFlowForError,
    Failed(UserFlowError),
}

impl Page {
    fn render(self) -> Response {
        let (status, nl, en, detail) = match self {
            Page::UnknownLink => (
                400,
                "Deze inloglink is onbekend, al gebruikt of verlopen (hij is 5 seconden geldig). \
                 Start de aanvraag opnieuw vanuit uw EPD.",
                "This sign-in link is unknown, already used or expired (it is valid for 5 \
                 seconds). Start the request again from your EHR.",
                None,
            ),
            Page::UnknownState => (
                400,
                "Deze terugkeer van de autorisatieserver hoort bij geen lopende aanvraag \
                 (onbekend, al afgehandeld of na 1 minuut verlopen). Start de aanvraag opnieuw \
                 vanuit uw EPD.",
                "This return from the authorization server belongs to no running request \
                 (unknown, already handled, or expired after 1 minute). Start the request again \
                 from your EHR.",
                None,
            ),
            Page::NoFlowForError => (
                400,
                "De autorisatieserver meldde een fout, maar er loopt geen aanvraag meer. Start \
                 de aanvraag opnieuw vanuit uw EPD.",
                "The authorization server reported an error, but no request is running any \
                 more. Start the request again from your EHR.",
                None,
            ),
            Page::Failed(e) => (
                e.http_status(),
                "De aanvraag kon niet worden uitgevoerd. Start hem opnieuw vanuit uw EPD of \
                 vraag uw beheerder om hulp.",
                "The request could not be completed. Start it again from your EHR or ask your \
                 administrator for help.",
                Some(e.to_string()),
            ),
        };
        let detail = detail
            .map(|d| format!("<p><code>{}</code></p>", escape(&d)))
            .unwrap_or_default();
        let html = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\">\
             <title>Nuts Wallet</title></head><body style=\"font-family:sans-serif;\
             max-width:40em;margin:3em auto\"><h1>Nuts Wallet</h1>\
             <p lang=\"nl\">{nl}</p><p lang=\"en\">{en}</p>{detail}</body></html>"
        );
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            html,
        )
            .into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_appended_to_the_ehr_redirect() {
        let u = with_error("https://ehr.example/cb?x=1", "access_denied", "no\nthanks");
        let q: Vec<(String, String)> = Url::parse(&u).unwrap().query_pairs().into_owned().collect();
        assert_eq!(
            q,
            vec![
                ("x".into(), "1".into()),
                ("error".into(), "access_denied".into()),
                ("error_description".into(), "nothanks".into()),
            ]
        );
    }

    #[test]
    fn pages_escape_their_detail() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
