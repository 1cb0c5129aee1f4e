//! The loopback API's request handling, through its real router (`oneshot`, no sockets):
//! paths, headers and JSON bodies an EHR, a web page or another local process may send.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use wallet_core::runtime::{Network, WalletRuntime};
use wallet_protocol::did::jwk::DidJwkResolver;
use wallet_protocol::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, NetError};
use wallet_protocol::{NetPolicy, SystemClock};

use crate::engine::{mutate_json, Rng, Target};

const PORT: u16 = 8081;
/// Longest a request may take before it counts as a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// No network: every outbound request times out at once.
struct Offline;

impl HttpClient for Offline {
    fn execute(&self, _request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        Box::pin(async { Err(NetError::Timeout) })
    }
}

fn envelopes(key: &str) -> Vec<Value> {
    let auth = format!("Bearer {key}");
    let host = format!("127.0.0.1:{PORT}");
    let base = |method: &str, path: &str, body: Value| {
        json!({
            "method": method,
            "path": path,
            "headers": { "host": host, "authorization": auth, "content-type": "application/json" },
            "body": body,
        })
    };
    vec![
        base(
            "POST",
            "/internal/auth/v2/zorg/request-service-access-token",
            json!({
                "authorization_server": "https://as.example/oauth2/zorg",
                "scope": "eOverdracht-sender",
                "token_type": "DPoP",
                "credentials": [{
                    "@context": ["https://www.w3.org/2018/credentials/v1"],
                    "type": ["VerifiableCredential", "NutsEmployeeCredential"],
                    "credentialSubject": { "name": "A", "roleName": "nurse", "identifier": "1" }
                }]
            }),
        ),
        base(
            "POST",
            "/internal/auth/v2/dpop/did:web:zorg.example%23key-1",
            json!({ "htm": "GET", "htu": "https://rs.example/fhir/Patient", "token": "abc", "nonce": "n" }),
        ),
        base(
            "POST",
            "/internal/auth/v2/zorg/request-user-access-token",
            json!({
                "authorization_server": "https://as.example/oauth2/zorg",
                "scope": "zorgtoepassing",
                "redirect_uri": "https://ehr.example/cb",
                "preauthorized_user": { "id": "1", "name": "A", "role": "nurse" }
            }),
        ),
        base("GET", "/internal/auth/v2/accesstoken/abc", Value::Null),
        base(
            "GET",
            "/oauth2/zorg/callback?error=access_denied&error_description=x&state=s",
            Value::Null,
        ),
        base("GET", "/oauth2/zorg/user?token=abc", Value::Null),
        base("GET", "/health", Value::Null),
    ]
}

fn build(envelope: &Value) -> Option<Request<Body>> {
    let method = envelope.get("method")?.as_str()?;
    let path = envelope.get("path")?.as_str()?;
    let mut req = Request::builder().method(method).uri(path);
    if let Some(h) = envelope.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                req = req.header(k.as_str(), v);
            }
        }
    }
    let body = match envelope.get("body") {
        None | Some(Value::Null) => Body::empty(),
        Some(Value::String(s)) => Body::from(s.clone()),
        Some(v) => Body::from(v.to_string()),
    };
    req.body(body).ok()
}

/// The API's router (over a fresh vault, offline) fed with requests built from mutated
/// envelopes `{method, path, headers, body}`; raw bytes that are no envelope are posted as the
/// body of a service-token request with the right key. Every request must be answered
/// (no panic, no hang) with a status the API documents.
pub fn api_request() -> Target {
    let (dir, wallet) = crate::fuzz_wallet();
    let net = Network {
        http: Arc::new(Offline),
        resolver: Arc::new(DidJwkResolver),
        clock: Arc::new(SystemClock),
        policy: NetPolicy::default(),
    };
    let runtime = Arc::new(WalletRuntime::new(net, Arc::new(wallet.vault.clone())));
    let router = wallet_api::router_for_tests(runtime, PORT).expect("router");
    let key = wallet_api::api_key::current(&wallet.vault)
        .expect("vault")
        .expect("API key")
        .expose_secret()
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let seeds: Vec<Vec<u8>> = envelopes(&key)
        .iter()
        .map(|e| e.to_string().into_bytes())
        .collect();
    let fallback = envelopes(&key).remove(0);
    let dict = crate::targets::words(&[
        "authorization_server",
        "scope",
        "token_type",
        "credentials",
        "credential_selection",
        "service_provider_subject_id",
        "redirect_uri",
        "preauthorized_user",
        "htm",
        "htu",
        "token",
        "nonce",
        "Bearer",
        "DPoP",
        "host",
        "authorization",
        "content-type",
        "sec-fetch-site",
        "cross-site",
        "text/plain",
        "/internal/auth/v2/",
        "/oauth2/",
        "%23",
        "%00",
        "..",
        "localhost:8081",
        "evil.example",
        "https://127.0.0.1/",
    ]);
    let gen_dict = dict.clone();
    Target {
        name: "api_request",
        seeds,
        dict,
        run: Box::new(move |input| {
            let _keep = (&dir, &wallet);
            let envelope = match serde_json::from_slice::<Value>(input) {
                Ok(v) if v.get("method").is_some() => v,
                _ => {
                    let mut e = fallback.clone();
                    e["body"] = Value::String(String::from_utf8_lossy(input).into_owned());
                    e
                }
            };
            let Some(req) = build(&envelope) else {
                return false;
            };
            let router = router.clone();
            let status = rt.block_on(async move {
                tokio::time::timeout(REQUEST_TIMEOUT, router.oneshot(req))
                    .await
                    .expect("the API answers every request in time")
                    .map(|r| r.status().as_u16())
            });
            let status = status.unwrap_or_else(|e| match e {});
            // 5xx only for what the API documents: the AS failed (502), unreachable or locked (503).
            assert!(
                status < 500 || status == 502 || status == 503,
                "status {status}"
            );
            (200..300).contains(&status)
        }),
        generate: Some(Box::new(move |rng: &mut Rng, corpus: &[Vec<u8>]| {
            let base = rng.pick(corpus);
            let mut v: Value = serde_json::from_slice(base).unwrap_or(Value::Null);
            for _ in 0..=rng.below(3) {
                // Mostly the body; sometimes headers, path or method.
                let slot = *rng.pick(&["body", "body", "body", "headers", "path", "method"]);
                if let Some(part) = v.get_mut(slot) {
                    mutate_json(rng, part, &gen_dict, 0);
                }
            }
            v.to_string().into_bytes()
        })),
    }
}
