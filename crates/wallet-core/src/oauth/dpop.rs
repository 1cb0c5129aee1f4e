//! DPoP (RFC 9449) for the wallet as a client: proofs with `jti`, `htm`, `htu`, `iat` and,
//! for resource requests, `ath`; server nonces (`DPoP-Nonce`) remembered per origin and one
//! bounded retry when a server answers `use_dpop_nonce` ([`send_with_dpop`]).
//!
//! The DPoP key is the organization's assertion key (as a Nuts node does, section E.1), so the
//! `dpop_kid` handed to callers is that key's DID URL. Proof signatures go through
//! [`Signer`]; no key material is here.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Map, Value};
use url::Url;
use wallet_protocol::jose::{self, b64url};
use wallet_protocol::net::{HttpClient, HttpRequest, HttpResponse, Method};
use wallet_protocol::signer::Signer;

use super::error::{Endpoint, S2sError};

/// Largest nonce accepted from a server.
const MAX_NONCE_LEN: usize = 512;

/// `htu` for a URL: without query and fragment (RFC 9449 section 4.2).
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Creates a DPoP proof: header `{"typ":"dpop+jwt","alg","jwk"}` (no `kid`), claims
/// `jti` (32 random bytes), `htm`, `htu`, `iat`, optional `nonce` and `ath`.
pub fn create_proof(
    signer: &dyn Signer,
    htm: &str,
    htu: &str,
    now: i64,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String, S2sError> {
    let mut header = Map::new();
    header.insert("jwk".into(), Value::Object(signer.public_jwk()));
    header.insert("kid".into(), Value::Null);
    let mut jti = [0u8; 32];
    jti[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    jti[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let mut claims = json!({"jti": b64url(&jti), "htm": htm, "htu": htu, "iat": now});
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = access_token {
        claims["ath"] = json!(wallet_protocol::dpop::access_token_hash(t));
    }
    let payload =
        serde_json::to_vec(&claims).map_err(|e| S2sError::Signing(format!("DPoP claims: {e}")))?;
    jose::sign_compact(signer, Some("dpop+jwt"), header, &payload)
        .map_err(|e| S2sError::Signing(format!("DPoP proof: {e}")))
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Server nonces per origin (RFC 9449 section 8/9: a server may send a fresh `DPoP-Nonce`
/// with any response; the next proof to that server carries the newest one).
#[derive(Debug, Default)]
pub struct DpopNonces {
    by_origin: Mutex<HashMap<String, String>>,
}

impl DpopNonces {
    /// The newest nonce of `url`'s origin.
    pub fn get(&self, url: &Url) -> Option<String> {
        self.by_origin
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&origin(url))
            .cloned()
    }

    /// Remembers the `DPoP-Nonce` of a response, if it has a usable one; returns it.
    pub fn remember(&self, url: &Url, resp: &HttpResponse) -> Option<String> {
        let n = resp.header("dpop-nonce")?.trim();
        // RFC 9449: nonce = 1*NQCHAR
        if n.is_empty()
            || n.len() > MAX_NONCE_LEN
            || !n
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        {
            return None;
        }
        let mut map = self.by_origin.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 256 {
            map.clear();
        }
        map.insert(origin(url), n.to_owned());
        Some(n.to_owned())
    }
}

/// Whether a response asks for a (new) DPoP nonce: 400 `use_dpop_nonce` error body at an AS,
/// or 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` at a resource server.
pub fn asks_for_nonce(resp: &HttpResponse) -> bool {
    match resp.status {
        400 => super::error::OAuthErrorResponse::parse(&resp.body)
            .is_some_and(|e| e.error.as_str() == "use_dpop_nonce"),
        401 => resp
            .header("www-authenticate")
            .is_some_and(|h| h.contains("use_dpop_nonce")),
        _ => false,
    }
}

/// Sends `request` with a fresh DPoP proof (`DPoP` header, plus `Authorization: DPoP <token>`
/// when `access_token` is given). When the server answers `use_dpop_nonce` with a new
/// `DPoP-Nonce`, retries exactly once with that nonce; a second refusal is returned as is.
pub async fn send_with_dpop(
    http: &dyn HttpClient,
    signer: &dyn Signer,
    nonces: &DpopNonces,
    endpoint: Endpoint,
    request: HttpRequest,
    access_token: Option<&str>,
    now: i64,
) -> Result<HttpResponse, S2sError> {
    let htm = match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let target = htu(&request.url);
    let mut nonce = nonces.get(&request.url);
    for attempt in 0..2 {
        let proof = create_proof(signer, htm, &target, now, nonce.as_deref(), access_token)?;
        let mut req = request.clone();
        req.headers.push(("dpop".into(), proof));
        if let Some(t) = access_token {
            req.headers
                .push(("authorization".into(), format!("DPoP {t}")));
        }
        let url = req.url.clone();
        let resp = http
            .execute(req)
            .await
            .map_err(|e| S2sError::from_net(endpoint, e))?;
        let fresh = nonces.remember(&url, &resp);
        if attempt == 0 && asks_for_nonce(&resp) {
            match fresh {
                // Retry only with a nonce we have not just used.
                Some(n) if nonce.as_deref() != Some(n.as_str()) => {
                    tracing::debug!(%endpoint, "server asked for a DPoP nonce; retrying once");
                    nonce = Some(n);
                    continue;
                }
                _ => return Ok(resp),
            }
        }
        return Ok(resp);
    }
    unreachable!("the loop returns on its second pass")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use wallet_protocol::jose::SoftwareSigner;
    use wallet_protocol::net::{BoxFuture, NetError};

    /// Resource server fake: the first request gets 401 use_dpop_nonce, later ones 200 when
    /// the proof carries the nonce.
    struct NonceServer {
        calls: AtomicUsize,
        always_refuse: bool,
    }

    impl HttpClient for NonceServer {
        fn execute(&self, r: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let proof = r
                    .headers
                    .iter()
                    .find(|(k, _)| k == "dpop")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let p = wallet_protocol::dpop::verify_dpop_proof(&proof).unwrap();
                let claims = wallet_protocol::vp::unverified_claims(&proof).unwrap();
                assert_eq!(p.htm, "GET");
                assert_eq!(p.htu, "https://rs.example/fhir/Patient");
                assert_eq!(
                    p.ath.as_deref(),
                    Some(wallet_protocol::dpop::access_token_hash("tok").as_str())
                );
                let auth = r
                    .headers
                    .iter()
                    .find(|(k, _)| k == "authorization")
                    .unwrap();
                assert_eq!(auth.1, "DPoP tok");
                let nonce = format!("n-{n}");
                let has_nonce = claims.get("nonce").and_then(Value::as_str) == Some("n-0");
                let status = if has_nonce && !self.always_refuse {
                    200
                } else {
                    401
                };
                Ok(HttpResponse {
                    status,
                    content_type: None,
                    body: Vec::new(),
                    headers: vec![
                        ("dpop-nonce".into(), nonce),
                        (
                            "www-authenticate".into(),
                            "DPoP error=\"use_dpop_nonce\"".into(),
                        ),
                    ],
                })
            })
        }
    }

    fn req() -> HttpRequest {
        HttpRequest::get(
            Url::parse("https://rs.example/fhir/Patient?name=x#frag").unwrap(),
            "application/fhir+json",
        )
    }

    #[tokio::test]
    async fn resource_request_retries_once_with_the_servers_nonce() {
        let signer = SoftwareSigner::generate_es256("did:web:a#k").unwrap();
        let server = NonceServer {
            calls: AtomicUsize::new(0),
            always_refuse: false,
        };
        let nonces = DpopNonces::default();
        let resp = send_with_dpop(
            &server,
            &signer,
            &nonces,
            Endpoint::Resource,
            req(),
            Some("tok"),
            1,
        )
        .await
        .unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(server.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn retry_is_bounded_to_one() {
        let signer = SoftwareSigner::generate_es256("did:web:a#k").unwrap();
        let server = NonceServer {
            calls: AtomicUsize::new(0),
            always_refuse: true,
        };
        let nonces = DpopNonces::default();
        let resp = send_with_dpop(
            &server,
            &signer,
            &nonces,
            Endpoint::Resource,
            req(),
            Some("tok"),
            1,
        )
        .await
        .unwrap();
        assert_eq!(resp.status, 401);
        assert_eq!(server.calls.load(Ordering::SeqCst), 2);
        // The newest nonce is remembered for the next request to that origin.
        assert_eq!(nonces.get(&req().url).as_deref(), Some("n-1"));
    }

    #[test]
    fn proof_shape() {
        let signer = SoftwareSigner::generate_es256("did:web:a#k").unwrap();
        let p = create_proof(
            &signer,
            "POST",
            "https://as.example/token",
            7,
            Some("abc"),
            None,
        )
        .unwrap();
        let v = wallet_protocol::dpop::verify_dpop_proof(&p).unwrap();
        assert_eq!(v.htu, "https://as.example/token");
        assert_eq!(v.iat, 7);
        assert!(v.ath.is_none());
        assert_eq!(jose::b64url_decode(&v.jti).unwrap().len(), 32);
        let claims = wallet_protocol::vp::unverified_claims(&p).unwrap();
        assert_eq!(claims["nonce"], "abc");
        assert_eq!(htu(&req().url), "https://rs.example/fhir/Patient");
    }
}
