//! The s2s client against a fake authorization server at the HTTP edge: the exact requests
//! (well-known URL, PD query, the token form fields, headers, VP claims, DPoP proof) and the
//! caches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wallet_pex::WalletCredential;
use wallet_protocol::did::Did;
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, Method, NetError};
use wallet_protocol::FixedClock;

use super::error::{AuthorizationServerError, Endpoint};
use super::s2s::{S2sClient, ServiceTokenRequest};
use super::{AuthorizationServerId, Requester, Scope, ServiceTokenError, TokenType};

const ISSUER: &str = "https://as.example/oauth2/zorg";
const NOW: i64 = 1_760_000_000;

#[derive(Default)]
struct FakeAs {
    metadata_calls: AtomicUsize,
    pd_calls: AtomicUsize,
    token_requests: Mutex<Vec<HttpRequest>>,
    issuer_override: Option<String>,
}

fn json_resp(status: u16, v: Value, headers: Vec<(String, String)>) -> HttpResponse {
    HttpResponse {
        status,
        content_type: Some("application/json".into()),
        body: v.to_string().into_bytes(),
        headers,
    }
}

impl HttpClient for FakeAs {
    fn execute(&self, r: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        Box::pin(async move {
            let url = r.url.as_str().to_owned();
            if url == "https://as.example/.well-known/oauth-authorization-server/oauth2/zorg" {
                assert_eq!(r.method, Method::Get);
                self.metadata_calls.fetch_add(1, Ordering::SeqCst);
                let issuer = self.issuer_override.clone().unwrap_or(ISSUER.into());
                return Ok(json_resp(
                    200,
                    json!({
                        "issuer": issuer,
                        "token_endpoint": format!("{ISSUER}/token"),
                        "presentation_definition_endpoint": format!("{ISSUER}/presentation_definition"),
                        "grant_types_supported": ["authorization_code", "vp_token-bearer"],
                        "did_methods_supported": ["web", "jwk"],
                        "vp_formats_supported": wallet_protocol::metadata::vp_formats(),
                    }),
                    vec![("cache-control".into(), "max-age=300".into())],
                ));
            }
            if r.url.path() == "/oauth2/zorg/presentation_definition" {
                self.pd_calls.fetch_add(1, Ordering::SeqCst);
                let q: Vec<(String, String)> = r.url.query_pairs().into_owned().collect();
                assert_eq!(
                    q,
                    vec![
                        ("scope".to_owned(), "test".to_owned()),
                        ("wallet_owner_type".to_owned(), "organization".to_owned())
                    ]
                );
                return Ok(json_resp(
                    200,
                    json!({"id": "pd_org", "input_descriptors": [{"id": "org", "constraints": {"fields": [
                        {"path": ["$.type"], "filter": {"type": "string", "const": "NutsOrganizationCredential"}}
                    ]}}]}),
                    vec![],
                ));
            }
            if url == format!("{ISSUER}/token") {
                self.token_requests.lock().unwrap().push(r.clone());
                let dpop = r.headers.iter().any(|(k, _)| k == "dpop");
                return Ok(json_resp(
                    200,
                    json!({"access_token": "opaque-token", "expires_in": 900, "scope": "test",
                           "token_type": if dpop { "DPoP" } else { "Bearer" }, "dpop_kid": ""}),
                    vec![],
                ));
            }
            Ok(json_resp(404, json!({}), vec![]))
        })
    }
}

fn requester() -> Requester {
    let did = Did::parse("did:web:org.example:iam:1").unwrap();
    let signer = SoftwareSigner::generate_es256(did.with_fragment("k").as_str()).unwrap();
    Requester {
        subject: "org".into(),
        did,
        client_id: "https://org.example/oauth2/org".into(),
        signer: Arc::new(signer),
        dpop: Arc::new(SoftwareSigner::generate_es256("urn:test:dpop").unwrap()),
    }
}

fn wallet() -> Vec<WalletCredential> {
    vec![
        // About another DID: never presented (holder binding).
        WalletCredential::from_json_ld(json!({
            "id": "urn:other", "type": ["VerifiableCredential", "NutsOrganizationCredential"],
            "issuer": "did:web:ca.example", "issuanceDate": "2020-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:web:someone.else"}
        }))
        .unwrap(),
        WalletCredential::from_json_ld(json!({
            "id": "urn:org", "type": ["VerifiableCredential", "NutsOrganizationCredential"],
            "issuer": "did:web:ca.example", "issuanceDate": "2020-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:web:org.example:iam:1", "organization": {"name": "A", "city": "B"}}
        }))
        .unwrap(),
    ]
}

fn request(tt: TokenType) -> ServiceTokenRequest {
    ServiceTokenRequest {
        authorization_server: AuthorizationServerId::parse(ISSUER).unwrap(),
        scope: Scope::parse("test").unwrap(),
        token_type: tt,
        credentials: vec![],
        no_cache: false,
        credential_selection: Default::default(),
    }
}

#[tokio::test]
async fn token_request_carries_exactly_what_a_nuts_as_expects() {
    let fake = Arc::new(FakeAs::default());
    let client = S2sClient::new(fake.clone(), Arc::new(FixedClock(NOW)));
    let req = requester();
    let a = client
        .request(&req, &wallet(), &request(TokenType::DPoP))
        .await;
    let t = a.result.expect("token");
    assert_eq!(t.token_type, TokenType::DPoP);
    assert_eq!(t.expires_at, Some(NOW + 900));
    assert_eq!(
        t.dpop_kid.as_ref().map(|k| k.as_str()),
        Some("urn:test:dpop"),
        "dpop_kid names the DPoP key"
    );
    assert_eq!(a.vp_format, Some("jwt_vp"));
    assert_eq!(a.presented.len(), 1);
    assert_eq!(a.presented[0].id, "urn:org");

    let sent = fake.token_requests.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    let h = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("accept").as_deref(), Some("application/json"));
    assert_eq!(
        h("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&r.body).into_owned().collect();
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "assertion",
            "presentation_submission",
            "scope",
            "client_id"
        ]
    );
    let f = |n: &str| form.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(f("grant_type"), "vp_token-bearer");
    assert_eq!(f("scope"), "test");
    assert_eq!(f("client_id"), "https://org.example/oauth2/org");
    let sub: Value = serde_json::from_str(&f("presentation_submission")).unwrap();
    assert_eq!(sub["definition_id"], "pd_org");
    assert_eq!(sub["descriptor_map"][0]["path"], "$.verifiableCredential");
    let vp = wallet_protocol::vp::unverified_claims(&f("assertion")).unwrap();
    assert_eq!(vp["aud"], ISSUER);
    assert_eq!(vp["iss"], "did:web:org.example:iam:1");
    assert_eq!(vp["sub"], "did:web:org.example:iam:1");
    assert_eq!(vp["nbf"], NOW - 1, "nbf is backdated");
    assert!(vp["exp"].as_i64().unwrap() - vp["nbf"].as_i64().unwrap() <= 5);
    assert_eq!(vp["nonce"].as_str().unwrap().len(), 43);
    assert_eq!(vp["vp"]["verifiableCredential"]["id"], "urn:org");
    let proof = wallet_protocol::dpop::verify_dpop_proof(&h("dpop").unwrap()).unwrap();
    assert_eq!(
        (proof.htm.as_str(), proof.htu.as_str()),
        ("POST", "https://as.example/oauth2/zorg/token")
    );
    assert_eq!(proof.iat, NOW);
    assert!(proof.ath.is_none());
    let jwk = Jwk::from_map(req.dpop.public_jwk()).unwrap();
    assert_eq!(proof.thumbprint, jwk.thumbprint_sha256().unwrap());
    let org = Jwk::from_map(req.signer.public_jwk()).unwrap();
    assert_ne!(proof.thumbprint, org.thumbprint_sha256().unwrap());

    // Cached token; metadata and definition are fetched once.
    let again = client
        .request(&req, &wallet(), &request(TokenType::DPoP))
        .await;
    assert!(again.from_cache);
    let mut bypass = request(TokenType::Bearer);
    bypass.no_cache = true;
    let b = client.request(&req, &wallet(), &bypass).await;
    assert_eq!(b.result.unwrap().token_type, TokenType::Bearer);
    assert_eq!(fake.token_requests.lock().unwrap().len(), 2);
    assert!(!fake.token_requests.lock().unwrap()[1]
        .headers
        .iter()
        .any(|(k, _)| k == "dpop"));
    assert_eq!(fake.metadata_calls.load(Ordering::SeqCst), 1);
    assert_eq!(fake.pd_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn metadata_of_another_issuer_and_did_method_mismatch_are_refused() {
    let fake = Arc::new(FakeAs {
        issuer_override: Some("https://evil.example/oauth2/zorg".into()),
        ..FakeAs::default()
    });
    let client = S2sClient::new(fake.clone(), Arc::new(FixedClock(NOW)));
    let a = client
        .request(&requester(), &wallet(), &request(TokenType::Bearer))
        .await;
    assert!(
        matches!(
            a.result,
            Err(ServiceTokenError::Server(
                AuthorizationServerError::BadResponse {
                    endpoint: Endpoint::Metadata,
                    ..
                }
            ))
        ),
        "{:?}",
        a.result
    );
    assert!(fake.token_requests.lock().unwrap().is_empty());

    // The holder DID's method is not supported by the AS.
    let fake = Arc::new(FakeAs::default());
    let client = S2sClient::new(fake.clone(), Arc::new(FixedClock(NOW)));
    let mut r = requester();
    let did = Did::parse("did:key:z6Mk").unwrap();
    r.did = did;
    let a = client
        .request(&r, &wallet(), &request(TokenType::Bearer))
        .await;
    assert!(
        matches!(a.result, Err(ServiceTokenError::DidMethodMismatch(_))),
        "{:?}",
        a.result
    );
}
