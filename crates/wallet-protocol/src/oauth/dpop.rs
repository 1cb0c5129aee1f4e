//! DPoP (RFC 9449) for the wallet as a client (`docs/protocol.md` §6): server nonces
//! (`DPoP-Nonce`) remembered per origin and one bounded retry when a server answers
//! `use_dpop_nonce` ([`send_with_dpop`]). Proofs come from [`crate::dpop::create_dpop_proof`];
//! signatures go through [`Signer`], no key material is here.

use std::collections::HashMap;
use std::sync::Mutex;

use url::Url;

use crate::dpop::{create_dpop_proof, DpopError};
use crate::net::{HttpClient, HttpRequest, HttpResponse, Method, NetError};
use crate::signer::Signer;

use super::error::{OAuthErrorCode, OAuthErrorResponse};
use super::types::Nonce;

/// Largest nonce accepted from a server.
const MAX_NONCE_LEN: usize = 512;

/// `htu` for a URL: without query and fragment (RFC 9449 section 4.2).
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Server nonces per origin (a server may send a fresh `DPoP-Nonce` with any response; the
/// next proof to that server carries the newest one).
#[derive(Debug, Default)]
pub struct DpopNonces {
    by_origin: Mutex<HashMap<String, Nonce>>,
}

impl DpopNonces {
    /// The newest nonce of `url`'s origin.
    pub fn get(&self, url: &Url) -> Option<Nonce> {
        self.by_origin
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&origin(url))
            .cloned()
    }

    /// Remembers the `DPoP-Nonce` of a response, if it has a usable one; returns it.
    pub fn remember(&self, url: &Url, resp: &HttpResponse) -> Option<Nonce> {
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
        let n = Nonce::new(n);
        map.insert(origin(url), n.clone());
        Some(n)
    }
}

/// Whether a response asks for a (new) DPoP nonce: 400 `use_dpop_nonce` error body at an AS,
/// or 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` at a resource server.
pub fn asks_for_nonce(resp: &HttpResponse) -> bool {
    match resp.status {
        400 => OAuthErrorResponse::parse(&resp.body)
            .is_some_and(|e| e.error == OAuthErrorCode::UseDpopNonce),
        401 => resp
            .header("www-authenticate")
            .is_some_and(|h| h.contains("use_dpop_nonce")),
        _ => false,
    }
}

/// Why a DPoP-protected request could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum DpopSendError {
    /// The proof could not be built or signed.
    #[error(transparent)]
    Proof(#[from] DpopError),
    /// Transport failure.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// Sends `request` with a fresh DPoP proof (`DPoP` header, plus `Authorization: DPoP <token>`
/// when `access_token` is given). When the server answers `use_dpop_nonce` with a new
/// `DPoP-Nonce`, retries exactly once with that nonce; a second refusal is returned as is.
pub async fn send_with_dpop(
    http: &dyn HttpClient,
    signer: &dyn Signer,
    nonces: &DpopNonces,
    request: HttpRequest,
    access_token: Option<&str>,
    now: i64,
) -> Result<HttpResponse, DpopSendError> {
    let htm = match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let target = htu(&request.url);
    let mut nonce = nonces.get(&request.url);
    let mut retried = false;
    loop {
        let proof = create_dpop_proof(
            signer,
            htm,
            &target,
            now,
            nonce.as_ref().map(Nonce::as_str),
            access_token,
        )?;
        let mut req = request.clone();
        req.headers.push(("dpop".into(), proof));
        if let Some(t) = access_token {
            req.headers
                .push(("authorization".into(), format!("DPoP {t}")));
        }
        let url = req.url.clone();
        let resp = http.execute(req).await?;
        let fresh = nonces.remember(&url, &resp);
        if !retried && asks_for_nonce(&resp) {
            // Retry once, and only with a nonce not just used.
            if let Some(n) = fresh.filter(|n| nonce.as_ref() != Some(n)) {
                tracing::debug!(url = %target, "server asked for a DPoP nonce; retrying once");
                retried = true;
                nonce = Some(n);
                continue;
            }
        }
        return Ok(resp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::SoftwareSigner;
    use crate::net::BoxFuture;
    use serde_json::Value;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Resource server fake: the first request gets 401 use_dpop_nonce, later ones 200 when
    /// the proof carries the nonce (or 401 again when `always_refuse`).
    struct NonceServer {
        calls: AtomicUsize,
        always_refuse: bool,
    }

    impl HttpClient for NonceServer {
        fn execute(&self, r: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let header = |name: &str| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let proof = header("dpop");
                let p = crate::dpop::verify_dpop_proof(&proof).unwrap();
                let claims = crate::vp::unverified_claims(&proof).unwrap();
                assert_eq!(p.htm, "GET");
                assert_eq!(p.htu, "https://rs.example/fhir/Patient");
                assert_eq!(
                    p.ath.as_deref(),
                    Some(crate::dpop::access_token_hash("tok").as_str())
                );
                assert_eq!(header("authorization"), "DPoP tok");
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
                        ("dpop-nonce".into(), format!("n-{n}")),
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

    /// One resource request against a [`NonceServer`]: (status, calls, nonces).
    fn resource_request(always_refuse: bool) -> (u16, usize, DpopNonces) {
        let signer = SoftwareSigner::generate_es256("did:web:a#k").unwrap();
        let server = NonceServer {
            calls: AtomicUsize::new(0),
            always_refuse,
        };
        let nonces = DpopNonces::default();
        let resp = futures::executor::block_on(send_with_dpop(
            &server,
            &signer,
            &nonces,
            req(),
            Some("tok"),
            1,
        ))
        .unwrap();
        (resp.status, server.calls.load(Ordering::SeqCst), nonces)
    }

    #[test]
    fn resource_request_retries_once_with_the_servers_nonce() {
        let (status, calls, _) = resource_request(false);
        assert_eq!(status, 200);
        assert_eq!(calls, 2);
    }

    #[test]
    fn retry_is_bounded_to_one() {
        let (status, calls, nonces) = resource_request(true);
        assert_eq!(status, 401);
        assert_eq!(calls, 2);
        // The newest nonce is remembered for the next request to that origin.
        assert_eq!(
            nonces.get(&req().url).as_ref().map(Nonce::as_str),
            Some("n-1")
        );
    }

    #[test]
    fn proof_shape() {
        let signer = SoftwareSigner::generate_es256("did:web:a#k").unwrap();
        let p = create_dpop_proof(
            &signer,
            "POST",
            "https://as.example/token",
            7,
            Some("abc"),
            None,
        )
        .unwrap();
        let v = crate::dpop::verify_dpop_proof(&p).unwrap();
        assert_eq!(v.htu, "https://as.example/token");
        assert_eq!(v.iat, 7);
        assert!(v.ath.is_none());
        assert_eq!(crate::jose::b64url_decode(&v.jti).unwrap().len(), 32);
        let claims = crate::vp::unverified_claims(&p).unwrap();
        assert_eq!(claims["nonce"], "abc");
        assert_eq!(htu(&req().url), "https://rs.example/fhir/Patient");
    }
}
