//! Parsing and validation of `nuts-wallet:` deep links.
//!
//! The browser reaches the wallet through this scheme when a Nuts authorization server (the
//! OpenID4VP verifier) redirects to the wallet's authorization endpoint, e.g.
//! `nuts-wallet://authorize?client_id=https://as.example/oauth2/a&request_uri=https://as.example/oauth2/a/request.jwt/1&request_uri_method=get`.
//! This module only checks the shape of the link; nothing is fetched here. Fetching and
//! verifying the request object is the OpenID4VP holder's job.

use serde::Serialize;
use url::Url;

/// The wallet's custom URL scheme.
pub const SCHEME: &str = "nuts-wallet";

/// Links longer than this are refused before parsing (a request by reference is short).
pub const MAX_LINK_LEN: usize = 8 * 1024;

/// The verifier's `client_id` (an entity id: an HTTPS URL), checked once when the link is
/// parsed; later stages use the typed value and never parse the text again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    id: wallet_protocol::oauth::ClientId,
    url: Url,
}

impl ClientId {
    /// The client id as sent.
    pub fn as_str(&self) -> &str {
        self.id.as_str()
    }

    /// The client id as the protocol layer takes it (request object checks, replay store).
    pub fn as_client_id(&self) -> &wallet_protocol::oauth::ClientId {
        &self.id
    }

    /// The client id as a URL (https, with a host, no credentials).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Its host, for display.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

impl Serialize for ClientId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.id.serialize(s)
    }
}

/// Where the wallet must fetch the signed request object, checked once when the link is
/// parsed (https, a host, no credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUri {
    text: String,
    url: Url,
}

impl RequestUri {
    /// The URI as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URI as a URL, ready to fetch.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl Serialize for RequestUri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// How the request object must be fetched (OpenID4VP draft 21 `request_uri_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestUriMethod {
    /// Plain GET (the default).
    Get,
    /// POST with `wallet_metadata`.
    Post,
}

/// A validated OpenID4VP authorization request by reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeLink {
    /// The verifier's client id.
    pub client_id: ClientId,
    /// Host of the verifier, for display.
    pub verifier_host: String,
    /// Where the request object lives.
    pub request_uri: RequestUri,
    /// How to fetch it.
    pub request_uri_method: RequestUriMethod,
}

/// A `nuts-wallet:` link the wallet understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum DeepLink {
    /// An OpenID4VP authorization request (by reference).
    Authorize(AuthorizeLink),
}

/// Why a link was refused. [`DeepLinkError::code`] gives a stable code the UI translates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepLinkError {
    /// Over [`MAX_LINK_LEN`].
    #[error("the link is too long ({0} characters)")]
    TooLong(usize),
    /// Not a URL at all.
    #[error("the link is not a valid URL")]
    NotAUrl,
    /// Another scheme than `nuts-wallet:`.
    #[error("the link uses the scheme '{0}:', not 'nuts-wallet:'")]
    WrongScheme(String),
    /// A `nuts-wallet:` link with an action this version does not know.
    #[error("the wallet does not know the action '{0}'")]
    UnknownAction(String),
    /// A required query parameter is absent.
    #[error("the request is missing the parameter '{0}'")]
    MissingParameter(&'static str),
    /// A query parameter appears more than once.
    #[error("the parameter '{0}' appears more than once")]
    DuplicateParameter(String),
    /// A parameter is present but unusable.
    #[error("the parameter '{name}' is invalid: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl DeepLinkError {
    /// Stable machine-readable code, used by the UI to pick a translated message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLong(_) => "too_long",
            Self::NotAUrl => "not_a_url",
            Self::WrongScheme(_) => "wrong_scheme",
            Self::UnknownAction(_) => "unknown_action",
            Self::MissingParameter(_) => "missing_parameter",
            Self::DuplicateParameter(_) => "duplicate_parameter",
            Self::InvalidParameter { .. } => "invalid_parameter",
        }
    }
}

/// The scheme a Nuts verifier uses for the user round's request (read as a `nuts-wallet:` link).
pub const OPENID4VP_SCHEME: &str = "openid4vp";

/// Parses a wallet authorization request: a `nuts-wallet:` link, or an `openid4vp:` link
/// (what a Nuts verifier sends for the user round), read as the same request. The one place
/// where a received link becomes a typed [`AuthorizeLink`].
pub fn parse_authorize_link(link: &str) -> Result<AuthorizeLink, DeepLinkError> {
    let link = link.trim();
    let owned;
    let link = match link
        .strip_prefix(OPENID4VP_SCHEME)
        .and_then(|r| r.strip_prefix(':'))
    {
        Some(rest) => {
            owned = format!("{SCHEME}:{rest}");
            owned.as_str()
        }
        None => link,
    };
    match parse(link)? {
        DeepLink::Authorize(l) => Ok(l),
    }
}

/// Parses and validates a `nuts-wallet:` link.
pub fn parse(link: &str) -> Result<DeepLink, DeepLinkError> {
    let link = link.trim();
    if link.len() > MAX_LINK_LEN {
        return Err(DeepLinkError::TooLong(link.len()));
    }
    let url = Url::parse(link).map_err(|_| DeepLinkError::NotAUrl)?;
    if url.scheme() != SCHEME {
        return Err(DeepLinkError::WrongScheme(truncate(url.scheme(), 40)));
    }
    // Accept `nuts-wallet://authorize?..`, `nuts-wallet:authorize?..`, `nuts-wallet:///authorize?..`
    // and the bare `nuts-wallet:?..` (mirroring OpenID4VP's `openid4vp:?..`).
    let action = match url.host_str() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => url.path().trim_matches('/').to_string(),
    };
    match action.as_str() {
        "" | "authorize" => parse_authorize(&url).map(DeepLink::Authorize),
        other => Err(DeepLinkError::UnknownAction(truncate(other, 40))),
    }
}

fn parse_authorize(url: &Url) -> Result<AuthorizeLink, DeepLinkError> {
    let mut client_id = None;
    let mut request_uri = None;
    let mut method = None;
    for (k, v) in url.query_pairs() {
        let slot = match k.as_ref() {
            "client_id" => &mut client_id,
            "request_uri" => &mut request_uri,
            "request_uri_method" => &mut method,
            "request" => {
                return Err(DeepLinkError::InvalidParameter {
                    name: "request",
                    reason: "request objects by value are not accepted; use request_uri",
                })
            }
            // Other parameters (e.g. client_id_scheme) are carried in the signed request
            // object, which is authoritative; ignore the unsigned copies.
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(DeepLinkError::DuplicateParameter(k.into_owned()));
        }
    }
    let client_id = client_id.ok_or(DeepLinkError::MissingParameter("client_id"))?;
    let client_url = https_url(&client_id, "client_id")?;
    let request_uri = request_uri.ok_or(DeepLinkError::MissingParameter("request_uri"))?;
    let request_url = https_url(&request_uri, "request_uri")?;
    let request_uri_method = match method.as_deref() {
        None | Some("") | Some("get") => RequestUriMethod::Get,
        Some("post") => RequestUriMethod::Post,
        Some(_) => {
            return Err(DeepLinkError::InvalidParameter {
                name: "request_uri_method",
                reason: "must be 'get' or 'post'",
            })
        }
    };
    Ok(AuthorizeLink {
        verifier_host: client_url.host_str().unwrap_or_default().to_string(),
        client_id: ClientId {
            id: client_id.into(),
            url: client_url,
        },
        request_uri: RequestUri {
            text: request_uri,
            url: request_url,
        },
        request_uri_method,
    })
}

fn https_url(value: &str, name: &'static str) -> Result<Url, DeepLinkError> {
    let url = Url::parse(value).map_err(|_| DeepLinkError::InvalidParameter {
        name,
        reason: "not a URL",
    })?;
    if url.scheme() != "https" {
        return Err(DeepLinkError::InvalidParameter {
            name,
            reason: "must be an https URL",
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(DeepLinkError::InvalidParameter {
            name,
            reason: "has no host",
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DeepLinkError::InvalidParameter {
            name,
            reason: "must not contain credentials",
        });
    }
    Ok(url)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "nuts-wallet://authorize?client_id=https%3A%2F%2Fas.example%2Foauth2%2Fa\
        &request_uri=https%3A%2F%2Fas.example%2Foauth2%2Fa%2Frequest.jwt%2F1&request_uri_method=get";

    fn authorize(link: &str) -> AuthorizeLink {
        match parse(link).unwrap() {
            DeepLink::Authorize(a) => a,
        }
    }

    #[test]
    fn parses_authorize_request_by_reference() {
        let a = authorize(OK);
        assert_eq!(a.client_id.as_str(), "https://as.example/oauth2/a");
        assert_eq!(
            a.request_uri.as_str(),
            "https://as.example/oauth2/a/request.jwt/1"
        );
        assert_eq!(a.request_uri_method, RequestUriMethod::Get);
        assert_eq!(a.verifier_host, "as.example");
    }

    #[test]
    fn accepts_all_spellings_of_the_action() {
        let q =
            "client_id=https://a.example/x&request_uri=https://a.example/r&request_uri_method=post";
        for prefix in [
            "nuts-wallet:authorize?",
            "nuts-wallet:///authorize?",
            "nuts-wallet:?",
        ] {
            let a = authorize(&format!("{prefix}{q}"));
            assert_eq!(a.request_uri_method, RequestUriMethod::Post, "{prefix}");
        }
    }

    #[test]
    fn refuses_bad_links_with_specific_errors() {
        let cases: &[(&str, DeepLinkError)] = &[
            ("not a url", DeepLinkError::NotAUrl),
            ("https://evil.example/?x", DeepLinkError::WrongScheme("https".into())),
            ("nuts-wallet://pay?x=1", DeepLinkError::UnknownAction("pay".into())),
            (
                "nuts-wallet://authorize?request_uri=https://a.example/r",
                DeepLinkError::MissingParameter("client_id"),
            ),
            (
                "nuts-wallet://authorize?client_id=https://a.example",
                DeepLinkError::MissingParameter("request_uri"),
            ),
            (
                "nuts-wallet://authorize?client_id=https://a&client_id=https://b&request_uri=https://a/r",
                DeepLinkError::DuplicateParameter("client_id".into()),
            ),
            (
                "nuts-wallet://authorize?client_id=http://a.example&request_uri=https://a.example/r",
                DeepLinkError::InvalidParameter { name: "client_id", reason: "must be an https URL" },
            ),
            (
                "nuts-wallet://authorize?client_id=https://a.example&request_uri=not%20a%20url",
                DeepLinkError::InvalidParameter { name: "request_uri", reason: "not a URL" },
            ),
            (
                "nuts-wallet://authorize?client_id=https://a.example&request_uri=javascript:alert(1)",
                DeepLinkError::InvalidParameter { name: "request_uri", reason: "must be an https URL" },
            ),
            (
                "nuts-wallet://authorize?client_id=https://u:p@a.example&request_uri=https://a.example/r",
                DeepLinkError::InvalidParameter {
                    name: "client_id",
                    reason: "must not contain credentials",
                },
            ),
            (
                "nuts-wallet://authorize?client_id=https://a.example&request_uri=https://a.example/r&request_uri_method=put",
                DeepLinkError::InvalidParameter {
                    name: "request_uri_method",
                    reason: "must be 'get' or 'post'",
                },
            ),
        ];
        for (link, want) in cases {
            assert_eq!(parse(link).unwrap_err(), *want, "{link}");
        }
    }

    #[test]
    fn refuses_request_by_value_and_oversized_links() {
        let by_value = "nuts-wallet://authorize?client_id=https://a.example&request=eyJ";
        assert_eq!(parse(by_value).unwrap_err().code(), "invalid_parameter");
        let long = format!("{OK}&pad={}", "x".repeat(MAX_LINK_LEN));
        assert!(matches!(parse(&long), Err(DeepLinkError::TooLong(_))));
    }

    #[test]
    fn openid4vp_links_are_read_as_wallet_links() {
        let q = "client_id=https://a.example/x&request_uri=https://a.example/r";
        let a = parse_authorize_link(&format!("openid4vp:?{q}")).unwrap();
        assert_eq!(a.client_id.as_str(), "https://a.example/x");
        assert_eq!(a.request_uri.url().as_str(), "https://a.example/r");
        assert_eq!(a.client_id.host(), "a.example");
        assert_eq!(
            parse_authorize_link(&format!(" nuts-wallet://authorize?{q}")).unwrap(),
            a
        );
        assert_eq!(
            parse_authorize_link("https://a.example/?x").unwrap_err(),
            DeepLinkError::WrongScheme("https".into())
        );
    }

    #[test]
    fn serializes_for_the_ui() {
        let v = serde_json::to_value(parse(OK).unwrap()).unwrap();
        assert_eq!(v["action"], "authorize");
        assert_eq!(v["clientId"], "https://as.example/oauth2/a");
        assert_eq!(v["requestUriMethod"], "get");
    }
}
