//! The protocol client against a fake [`HttpClient`] (in the style of oauth2-rs): canned
//! responses, assertions on the request that was built (method, URL, form fields, headers)
//! and on the parsed result, and the error paths.

use std::collections::HashMap;
use std::sync::Mutex;

use url::Url;

use super::discovery::{fetch_metadata, DiscoveryError};
use super::dpop::{send_with_dpop, DpopNonces};
use super::pkce::PkcePair;
use super::token::{parse_token_response, ErrorAnswer, Grant, TokenEndpointError};
use super::types::{AuthorizationServerId, ClientId, TokenType};
use crate::jose::SoftwareSigner;
use crate::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, Method, NetError};

/// Answers with the canned responses in order and records every request.
pub(crate) struct FakeHttp {
    responses: Mutex<Vec<Result<HttpResponse, NetError>>>,
    pub(crate) requests: Mutex<Vec<HttpRequest>>,
}

impl FakeHttp {
    pub(crate) fn new(responses: Vec<Result<HttpResponse, NetError>>) -> Self {
        Self {
            responses: Mutex::new(responses.into_iter().rev().collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn request(&self, i: usize) -> HttpRequest {
        self.requests.lock().unwrap()[i].clone()
    }

    pub(crate) fn calls(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl HttpClient for FakeHttp {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        self.requests.lock().unwrap().push(request);
        let next = self
            .responses
            .lock()
            .unwrap()
            .pop()
            .expect("no canned response left");
        Box::pin(async move { next })
    }
}

pub(crate) fn json(status: u16, body: &str) -> Result<HttpResponse, NetError> {
    Ok(HttpResponse {
        status,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
        headers: Vec::new(),
    })
}

fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn form(r: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

const ISSUER: &str = "https://as.example/oauth2/a";
const METADATA: &str = r#"{"issuer":"https://as.example/oauth2/a","token_endpoint":"https://as.example/oauth2/a/token","authorization_endpoint":"https://as.example/oauth2/a/authorize"}"#;

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn discovery_gets_the_well_known_url_and_checks_the_issuer() {
    let http = FakeHttp::new(vec![json(200, METADATA)]);
    let issuer = AuthorizationServerId::parse(ISSUER).unwrap();
    let (md, lifetime) = block(fetch_metadata(&http, &issuer)).unwrap();
    assert_eq!(md.token_endpoint, "https://as.example/oauth2/a/token");
    assert_eq!(lifetime, Some(super::discovery::DEFAULT_METADATA_SECS));
    let r = http.request(0);
    assert_eq!(r.method, Method::Get);
    assert_eq!(
        r.url.as_str(),
        "https://as.example/.well-known/oauth-authorization-server/oauth2/a"
    );
    assert_eq!(header(&r, "accept"), Some("application/json"));

    let other = METADATA.replace("oauth2/a\",\"token", "oauth2/b\",\"token");
    let http = FakeHttp::new(vec![json(200, &other)]);
    assert!(matches!(
        block(fetch_metadata(&http, &issuer)),
        Err(DiscoveryError::Invalid(_))
    ));
}

#[test]
fn discovery_error_paths() {
    let issuer = AuthorizationServerId::parse(ISSUER).unwrap();
    let run = |r| block(fetch_metadata(&FakeHttp::new(vec![r]), &issuer)).unwrap_err();
    assert!(matches!(run(json(404, "")), DiscoveryError::NotFound(_)));
    assert!(matches!(
        run(json(200, "<html>")),
        DiscoveryError::Invalid(m) if m.starts_with("not valid AS metadata")
    ));
    let mut html = json(200, METADATA).unwrap();
    html.content_type = Some("text/html".into());
    assert!(matches!(run(Ok(html)), DiscoveryError::Invalid(m) if m == "not JSON"));
    assert!(matches!(
        run(Err(NetError::TooLarge { limit: 10 })),
        DiscoveryError::Net(NetError::TooLarge { .. })
    ));
    match run(json(503, r#"{"error":"temporarily_unavailable"}"#)) {
        DiscoveryError::Refused(ErrorAnswer::OAuth { status, response }) => {
            assert_eq!(status, 503);
            assert_eq!(response.error.as_str(), "temporarily_unavailable");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_code_grant_is_a_form_post_with_the_pkce_verifier() {
    let pkce = PkcePair::generate();
    let grant = Grant::AuthorizationCode {
        code: "the-code",
        client_id: &ClientId::from("https://client.example/oauth2/sub"),
        verifier: &pkce.verifier,
        redirect_uri: "https://client.example/cb",
    };
    let r = grant.request(Url::parse("https://as.example/token").unwrap());
    assert_eq!(r.method, Method::Post);
    assert_eq!(
        header(&r, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(&r, "accept"), Some("application/json"));
    let f = form(&r);
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["code"], "the-code");
    assert_eq!(f["client_id"], "https://client.example/oauth2/sub");
    assert_eq!(f["code_verifier"], pkce.verifier.expose_secret());
    assert_eq!(f["redirect_uri"], "https://client.example/cb");
    assert_eq!(f.len(), 5);
}

#[test]
fn the_vp_token_bearer_grant_has_its_five_fields() {
    let grant = Grant::VpTokenBearer {
        assertion: "ey.vp.sig",
        presentation_submission: r#"{"id":"s"}"#,
        scope: "test",
        client_id: &ClientId::from("https://client.example/oauth2/sub"),
    };
    let f = form(&grant.request(Url::parse("https://as.example/token").unwrap()));
    assert_eq!(f["grant_type"], "vp_token-bearer");
    assert_eq!(f["assertion"], "ey.vp.sig");
    assert_eq!(f["presentation_submission"], r#"{"id":"s"}"#);
    assert_eq!(f["scope"], "test");
    assert_eq!(f.len(), 5);
}

#[test]
fn token_responses_are_parsed_and_checked() {
    let ok = json(
        200,
        r#"{"access_token":"tok","token_type":"DPoP","expires_in":60,"scope":"test"}"#,
    )
    .unwrap();
    let t = parse_token_response(&ok, TokenType::DPoP, "did:web:a#k", 300, 1000).unwrap();
    assert_eq!(t.access_token.expose_secret(), "tok");
    assert_eq!(t.expires_at, Some(1060));
    assert_eq!(t.dpop_kid.as_ref().map(|k| k.as_str()), Some("did:web:a#k"));
    let parse = |status, body: &str, want| {
        parse_token_response(&json(status, body).unwrap(), want, "k", 300, 0).unwrap_err()
    };
    assert_eq!(
        parse(200, "not json", TokenType::DPoP),
        TokenEndpointError::BadResponse("not JSON".into())
    );
    assert!(matches!(
        parse(200, r#"{"access_token":"t","token_type":"Bearer"}"#, TokenType::DPoP),
        TokenEndpointError::BadResponse(m) if m.contains("asked for a DPoP token")
    ));
    assert!(matches!(
        parse(
            200,
            r#"{"access_token":"t","token_type":"DPoP","expires_in":-1}"#,
            TokenType::DPoP
        ),
        TokenEndpointError::BadResponse(_)
    ));
    match parse(
        400,
        r#"{"error":"invalid_grant","error_description":"used\ncode"}"#,
        TokenType::DPoP,
    ) {
        TokenEndpointError::Refused(ErrorAnswer::OAuth { status, response }) => {
            assert_eq!(status, 400);
            assert_eq!(response.error.as_str(), "invalid_grant");
            assert_eq!(response.error_description.as_deref(), Some("usedcode"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse(500, "<html>", TokenType::DPoP),
        TokenEndpointError::Refused(ErrorAnswer::Other { status: 500 })
    );
}

fn use_dpop_nonce(nonce: &str) -> Result<HttpResponse, NetError> {
    let mut r = json(400, r#"{"error":"use_dpop_nonce"}"#).unwrap();
    r.headers.push(("dpop-nonce".into(), nonce.into()));
    Ok(r)
}

#[test]
fn the_token_request_retries_once_on_use_dpop_nonce_then_stops() {
    let signer = SoftwareSigner::generate_es256("did:web:a#k").unwrap();
    let request = || {
        Grant::VpTokenBearer {
            assertion: "vp",
            presentation_submission: "{}",
            scope: "test",
            client_id: &ClientId::from("https://c.example"),
        }
        .request(Url::parse("https://as.example/token").unwrap())
    };
    // Nonce asked for, then granted.
    let http = FakeHttp::new(vec![
        use_dpop_nonce("n1"),
        json(200, r#"{"access_token":"t","token_type":"DPoP"}"#),
    ]);
    let nonces = DpopNonces::default();
    let resp = block(send_with_dpop(&http, &signer, &nonces, request(), None, 5)).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(http.calls(), 2);
    let second = http.request(1);
    let proof = header(&second, "dpop").unwrap();
    let claims = crate::vp::unverified_claims(proof).unwrap();
    assert_eq!(claims["nonce"], "n1");
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], "https://as.example/token");
    assert!(header(&second, "authorization").is_none());

    // Asked twice: one retry, then the refusal is returned; no new nonce: no retry.
    for (answers, calls) in [
        (vec![use_dpop_nonce("n2"), use_dpop_nonce("n3")], 2),
        (vec![json(400, r#"{"error":"use_dpop_nonce"}"#)], 1),
    ] {
        let http = FakeHttp::new(answers);
        let nonces = DpopNonces::default();
        let resp = block(send_with_dpop(&http, &signer, &nonces, request(), None, 5)).unwrap();
        assert_eq!(resp.status, 400);
        assert_eq!(http.calls(), calls);
    }
}
