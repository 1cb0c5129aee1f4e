//! Values that cross the protocol's modules: the authorization server, scope, token type,
//! access token and token response, and newtypes for the strings the flows pass around
//! (`state`, `nonce`, key ids, client ids) so that one is not taken for another.

use std::fmt;

use zeroize::Zeroizing;

use url::Url;

/// A request parameter that is not acceptable (the `invalid_request` of the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid request: {0}")]
pub struct InvalidParameter(pub String);

/// An authorization server's issuer identifier (RFC 8414 section 2), e.g.
/// `https://zorg.example/oauth2/subject`. It is also the VP audience (`docs/protocol.md` §1), so it is kept
/// exactly as given: no normalisation beyond URL parsing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorizationServerId {
    text: String,
    url: Url,
}

impl AuthorizationServerId {
    /// Parses an issuer URL: `https`, a host, no query, no fragment, no credentials.
    pub fn parse(s: &str) -> Result<Self, InvalidParameter> {
        let bad = |why: &str| InvalidParameter(format!("authorization_server {why}"));
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

/// An OAuth scope as Nuts uses it: one string, looked up exactly (`docs/protocol.md` §1).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// Longest scope accepted.
    pub const MAX_LEN: usize = 1024;

    /// A non-empty scope of printable ASCII (RFC 6749 `scope-token` characters and spaces).
    pub fn parse(s: &str) -> Result<Self, InvalidParameter> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(InvalidParameter(
                "scope must be 1 to 1024 characters".into(),
            ));
        }
        if !s
            .bytes()
            .all(|b| b == b' ' || (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(InvalidParameter(
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
    type Err = InvalidParameter;
    fn from_str(s: &str) -> Result<Self, InvalidParameter> {
        if s.eq_ignore_ascii_case("dpop") {
            Ok(TokenType::DPoP)
        } else if s.eq_ignore_ascii_case("bearer") {
            Ok(TokenType::Bearer)
        } else {
            Err(InvalidParameter(format!(
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
    pub dpop_kid: Option<KeyId>,
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
            m.insert("dpop_kid".into(), k.as_str().into());
        }
        serde_json::Value::Object(m)
    }
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, redacted = $redacted:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value received or generated by the protocol.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// A fresh random value ([`crate::random::random_token`]).
            pub fn random() -> Self {
                Self(crate::random::random_token())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $redacted {
                    write!(f, concat!(stringify!($name), "([redacted])"))
                } else {
                    write!(f, concat!(stringify!($name), "({})"), self.0)
                }
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Looked up by the text a caller received (the hash is the text's).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

string_newtype!(
    /// An OAuth `state`: the client's, checked at its callback, or the verifier's, echoed in
    /// the answer. Redacted in `Debug` (it links a browser to a flow).
    State,
    redacted = true
);
string_newtype!(
    /// A `nonce` of a request object or a DPoP server nonce. Redacted in `Debug`.
    Nonce,
    redacted = true
);
string_newtype!(
    /// A key id: a DID URL naming a verification method (`kid`, `dpop_kid`).
    KeyId,
    redacted = false
);
string_newtype!(
    /// An OAuth `client_id` (in Nuts an https entity URL).
    ClientId,
    redacted = false
);

impl ClientId {
    /// A client id that must be an https URL with a host (the `entity_id` scheme).
    pub fn parse_entity_id(s: &str) -> Result<Self, InvalidParameter> {
        let u = Url::parse(s).map_err(|_| InvalidParameter("client_id is not a URL".into()))?;
        if u.scheme() != "https" || u.host().is_none() {
            return Err(InvalidParameter(
                "client_id must be an https URL with a host".into(),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

// Compared with the text a link, a policy or a test names.
impl PartialEq<str> for ClientId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for ClientId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
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

    #[test]
    fn newtypes_wrap_and_redact() {
        let s = State::new("secret-state");
        assert_eq!(s.as_str(), "secret-state");
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(Nonce::random().as_str().len(), 43);
        assert_eq!(
            format!("{:?}", KeyId::new("did:web:a#k")),
            "KeyId(did:web:a#k)"
        );
        assert!(ClientId::parse_entity_id("https://as.example/oauth2/a").is_ok());
        assert!(ClientId::parse_entity_id("http://as.example/oauth2/a").is_err());
    }
}
