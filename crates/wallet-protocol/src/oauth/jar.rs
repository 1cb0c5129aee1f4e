//! The client's authorization request as a signed request object by value (JAR, RFC 9101;
//! `docs/protocol.md` §3, §4), and the URL the browser is sent to.

use serde_json::{json, Value};
use url::Url;

use super::types::{AuthorizationServerId, ClientId, InvalidParameter, Scope, State};
use crate::jose::{self, JoseError};
use crate::signer::Signer;

/// Lifetime of the request object (`exp - iat`), seconds.
pub const JAR_LIFETIME_SECS: i64 = 300;

/// What goes into the request object.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The AS issuer (`aud`).
    pub authorization_server: AuthorizationServerId,
    /// Requested scope.
    pub scope: Scope,
    /// Client state (random, checked at the callback).
    pub state: State,
    /// The wallet's callback URL.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
}

/// Signs the request object with `signer` (the organization key): `iss` = `issuer` (the
/// organization DID), `client_id`, `aud` = AS issuer, `response_type=code`, `scope`, `state`,
/// `redirect_uri`, `code_challenge` + `S256`, `iat`, `exp` = iat + [`JAR_LIFETIME_SECS`].
pub fn sign_authorization_request(
    signer: &dyn Signer,
    issuer: &str,
    client_id: &ClientId,
    req: &AuthorizationRequest,
    now: i64,
) -> Result<String, JoseError> {
    let claims = json!({
        "iss": issuer,
        "client_id": client_id.as_str(),
        "aud": req.authorization_server.as_str(),
        "response_type": "code",
        "scope": req.scope.as_str(),
        "state": req.state.as_str(),
        "redirect_uri": req.redirect_uri,
        "code_challenge": req.code_challenge,
        "code_challenge_method": "S256",
        "iat": now,
        "exp": now + JAR_LIFETIME_SECS,
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    jose::sign_jwt(signer, &claims)
}

/// The authorization URL for the browser: `authorization_endpoint?client_id=..&request=<JAR>`
/// (request object by value).
pub fn authorization_url(
    authorization_endpoint: &str,
    client_id: &ClientId,
    request_object: &str,
) -> Result<Url, InvalidParameter> {
    let mut u = Url::parse(authorization_endpoint)
        .map_err(|_| InvalidParameter("authorization_endpoint is not a URL".into()))?;
    u.query_pairs_mut()
        .append_pair("client_id", client_id.as_str())
        .append_pair("request", request_object);
    Ok(u)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::jose::SoftwareSigner;

    #[test]
    fn the_request_object_has_the_client_claims_and_the_url_carries_it_by_value() {
        let signer = SoftwareSigner::generate_es256("did:web:client.example#k1").unwrap();
        let client_id = "https://client.example/oauth2/sub";
        let cid = ClientId::from(client_id);
        let req = AuthorizationRequest {
            authorization_server: AuthorizationServerId::parse("https://as.example/oauth2/a")
                .unwrap(),
            scope: Scope::parse("test").unwrap(),
            state: State::new("st"),
            redirect_uri: "https://client.example/cb".into(),
            code_challenge: "ch".into(),
        };
        let jar = sign_authorization_request(&signer, "did:web:client.example", &cid, &req, 1000)
            .unwrap();
        let jws =
            jose::verify_compact(&jar, &jose::Jwk::from_map(signer.public_jwk()).unwrap()).unwrap();
        assert_eq!(jws.header_str("kid"), Some("did:web:client.example#k1"));
        let c = crate::vp::unverified_claims(&jar).unwrap();
        assert_eq!(c["iss"], "did:web:client.example");
        assert_eq!(c["client_id"], client_id);
        assert_eq!(c["aud"], "https://as.example/oauth2/a");
        assert_eq!(c["response_type"], "code");
        assert_eq!(c["state"], "st");
        assert_eq!(c["code_challenge_method"], "S256");
        assert_eq!(c["iat"], 1000);
        assert_eq!(c["exp"], 1300);
        let u = authorization_url("https://as.example/oauth2/a/authorize", &cid, &jar).unwrap();
        let q: HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], client_id);
        assert_eq!(q["request"], jar);
    }
}
