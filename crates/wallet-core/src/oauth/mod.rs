//! OAuth 2 client of the wallet for the Nuts service-to-service flow (`vp_token-bearer`,
//! Nuts RFC021; protocol brief sections A, C.2, E, G).
//!
//! What it owns: AS metadata discovery (RFC 8414 path insertion) and presentation definitions
//! by scope, with HTTP caching ([`metadata`]); the s2s token request itself ([`s2s`]):
//! credential selection with the PEX engine plus the caller's self-attested credentials, VP
//! format negotiation, VP signing, the four form fields, DPoP, parsing of token and OAuth error
//! responses; DPoP proofs with `DPoP-Nonce` handling ([`dpop`]); the token cache
//! ([`token_cache`]); the use case that ties the client to the vault, the admin policy, the
//! consent hook and the activity log ([`service`]).
//!
//! What it does not own: HTTP transport and its SSRF guard (`wallet_protocol::net`), PEX
//! matching (`wallet_pex`), key storage (`wallet_vault`), the organization's identity (the
//! caller hands in a [`Requester`]), the loopback API (`wallet-api`).

pub mod dpop;
pub mod error;
pub mod metadata;
pub mod s2s;
#[cfg(test)]
mod s2s_tests;
pub mod service;
pub mod token_cache;
pub mod user;
pub mod vault_org;

use std::fmt;
use std::sync::Arc;

use url::Url;
use wallet_protocol::did::Did;
use wallet_protocol::signer::Signer;
use zeroize::Zeroizing;

pub use error::{OAuthErrorCode, OAuthErrorResponse, S2sError};
pub use s2s::{PresentedCredential, S2sAttempt, S2sClient, ServiceTokenRequest};
pub use service::{
    ChannelKind, ConsentDecision, ConsentHook, ConsentRequest, RequesterSource, ServiceTokenRecord,
    TokenService,
};
pub use vault_org::VaultOrganization;

/// An authorization server's issuer identifier (RFC 8414 section 2), e.g.
/// `https://zorg.example/oauth2/subject`. It is also the VP audience (Nuts G.4), so it is kept
/// exactly as given: no normalisation beyond URL parsing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorizationServerId {
    text: String,
    url: Url,
}

impl AuthorizationServerId {
    /// Parses an issuer URL: `https`, a host, no query, no fragment, no credentials.
    pub fn parse(s: &str) -> Result<Self, S2sError> {
        let bad = |why: &str| S2sError::InvalidRequest(format!("authorization_server {why}"));
        let s = s.trim();
        let url = Url::parse(s).map_err(|_| bad("is not a URL"))?;
        if url.scheme() != "https" {
            return Err(bad("must be an https URL"));
        }
        if url.host().is_none() {
            return Err(bad("has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not hold credentials"));
        }
        // Keep the caller's spelling (audience is compared as a string), minus a trailing '/'
        // on a bare host that Url adds.
        let text = if url.path() == "/" && !s.ends_with('/') {
            url.as_str().trim_end_matches('/').to_owned()
        } else {
            s.to_owned()
        };
        Ok(Self { text, url })
    }

    /// The issuer URL as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The issuer URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl fmt::Display for AuthorizationServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for AuthorizationServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorizationServerId({})", self.text)
    }
}

/// An OAuth scope as Nuts uses it: one string, looked up exactly (Nuts G.19).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// Longest scope accepted.
    pub const MAX_LEN: usize = 1024;

    /// A non-empty scope of printable ASCII (RFC 6749 `scope-token` characters and spaces).
    pub fn parse(s: &str) -> Result<Self, S2sError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(S2sError::InvalidRequest(
                "scope must be 1 to 1024 characters".into(),
            ));
        }
        if !s
            .bytes()
            .all(|b| b == b' ' || (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(S2sError::InvalidRequest(
                "scope holds characters OAuth does not allow".into(),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The scope text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({})", self.0)
    }
}

/// Which access token the caller wants (Nuts default: DPoP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum TokenType {
    /// Bearer token (RFC 6750).
    Bearer,
    /// DPoP-bound token (RFC 9449).
    #[default]
    #[serde(rename = "DPoP")]
    DPoP,
}

impl TokenType {
    /// `Bearer` or `DPoP`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Bearer => "Bearer",
            TokenType::DPoP => "DPoP",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenType {
    type Err = S2sError;
    fn from_str(s: &str) -> Result<Self, S2sError> {
        if s.eq_ignore_ascii_case("dpop") {
            Ok(TokenType::DPoP)
        } else if s.eq_ignore_ascii_case("bearer") {
            Ok(TokenType::Bearer)
        } else {
            Err(S2sError::InvalidRequest(format!(
                "token_type must be DPoP or Bearer, not `{s}`"
            )))
        }
    }
}

/// An access token. Redacted `Debug`, no `Display`/`Serialize`, zeroized on drop; the value
/// is reached only through [`AccessToken::expose_secret`].
#[derive(Clone)]
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The token value (to hand to the caller that asked for it, never to a log).
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// A token response as the wallet hands it out (the Nuts internal API's `TokenResponse`).
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The token.
    pub access_token: AccessToken,
    /// What the AS issued.
    pub token_type: TokenType,
    /// Lifetime in seconds, recomputed from `expires_at` for cached tokens.
    pub expires_in: Option<i64>,
    /// Expiry, Unix seconds.
    pub expires_at: Option<i64>,
    /// Granted scope.
    pub scope: Option<String>,
    /// Key id of the DPoP key (DPoP tokens): pass it to `POST /internal/auth/v2/dpop/{kid}`.
    pub dpop_kid: Option<String>,
}

impl TokenResponse {
    /// The JSON the Nuts internal API returns (`access_token` included: this is for the
    /// caller that asked for the token; never log it).
    pub fn to_api_json(&self, now: i64) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert(
            "access_token".into(),
            self.access_token.expose_secret().into(),
        );
        m.insert("token_type".into(), self.token_type.as_str().into());
        if let Some(at) = self.expires_at {
            m.insert("expires_in".into(), (at - now).max(0).into());
            m.insert("expires_at".into(), at.into());
        } else if let Some(e) = self.expires_in {
            m.insert("expires_in".into(), e.into());
        }
        if let Some(s) = &self.scope {
            m.insert("scope".into(), s.clone().into());
        }
        if let Some(k) = &self.dpop_kid {
            m.insert("dpop_kid".into(), k.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

/// The organization that asks for a token: its DID (VP holder), OAuth `client_id` URL, and the
/// key that signs its presentations and DPoP proofs (key id = a DID URL of `did`).
#[derive(Clone)]
pub struct Requester {
    /// Tenant subject (path segment of the internal API).
    pub subject: String,
    /// Holder DID.
    pub did: Did,
    /// `https://<base>/oauth2/<subject>`.
    pub client_id: String,
    /// Assertion key of `did` (also the DPoP key, as in Nuts E.1).
    pub signer: Arc<dyn Signer>,
}

impl fmt::Debug for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requester")
            .field("subject", &self.subject)
            .field("did", &self.did)
            .field("client_id", &self.client_id)
            .field("kid", &self.signer.key_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_server_ids() {
        let a = AuthorizationServerId::parse("https://as.example/oauth2/x").unwrap();
        assert_eq!(a.as_str(), "https://as.example/oauth2/x");
        assert_eq!(
            AuthorizationServerId::parse("https://as.example")
                .unwrap()
                .as_str(),
            "https://as.example"
        );
        for bad in [
            "http://as.example/oauth2/x",
            "https://as.example/oauth2/x?a=b",
            "https://as.example/oauth2/x#f",
            "https://u:p@as.example/",
            "not a url",
        ] {
            assert!(AuthorizationServerId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_and_token_types() {
        assert_eq!(Scope::parse("test").unwrap().as_str(), "test");
        assert!(Scope::parse("").is_err());
        assert!(Scope::parse("a\nb").is_err());
        assert!(Scope::parse(&"x".repeat(1025)).is_err());
        assert_eq!("dpop".parse::<TokenType>().unwrap(), TokenType::DPoP);
        assert_eq!("Bearer".parse::<TokenType>().unwrap(), TokenType::Bearer);
        assert!("mac".parse::<TokenType>().is_err());
        assert_eq!(TokenType::default(), TokenType::DPoP);
    }

    #[test]
    fn access_token_is_redacted() {
        let t = AccessToken::new("secret-token-value".into());
        assert!(!format!("{t:?}").contains("secret"));
        let r = TokenResponse {
            access_token: t,
            token_type: TokenType::DPoP,
            expires_in: Some(900),
            expires_at: Some(1_000_900),
            scope: Some("test".into()),
            dpop_kid: Some("did:web:a#k".into()),
        };
        assert!(!format!("{r:?}").contains("secret"));
        let j = r.to_api_json(1_000_000);
        assert_eq!(j["access_token"], "secret-token-value");
        assert_eq!(j["expires_in"], 900);
        assert_eq!(j["token_type"], "DPoP");
    }
}
