//! The holder's protocol steps against a fake HTTP client: the request that was built and the
//! parsed result, and the error paths.

use std::collections::HashMap;

use super::*;
use crate::net::{HttpRequest, Method, NetError, RefusalReason};
use crate::oauth::client_tests::{json, FakeHttp};

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn ro_url() -> url::Url {
    url::Url::parse("https://v.example/ro/1").unwrap()
}

fn jwt(status: u16, body: &str) -> Result<crate::net::HttpResponse, NetError> {
    let mut r = json(status, body).unwrap();
    r.content_type = Some(fetch::REQUEST_OBJECT_CONTENT_TYPE.into());
    Ok(r)
}

fn form(r: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

#[test]
fn the_request_object_is_fetched_by_get_or_by_post_with_wallet_metadata() {
    let http = FakeHttp::new(vec![jwt(200, " a.b.c\n")]);
    let text = block(fetch_request_object(
        &http,
        &ro_url(),
        RequestObjectFetch::Get,
    ))
    .unwrap();
    assert_eq!(text, " a.b.c\n");
    let r = http.request(0);
    assert_eq!(r.method, Method::Get);
    assert_eq!(r.max_body_bytes, MAX_JWT_BYTES);
    assert!(r.body.is_empty());

    let http = FakeHttp::new(vec![jwt(200, "a.b.c")]);
    block(fetch_request_object(
        &http,
        &ro_url(),
        RequestObjectFetch::Post {
            issuer: SELF_ISSUED,
        },
    ))
    .unwrap();
    let r = http.request(0);
    assert_eq!(r.method, Method::Post);
    let md: serde_json::Value = serde_json::from_str(&form(&r)["wallet_metadata"]).unwrap();
    assert_eq!(md["issuer"], SELF_ISSUED);
    assert_eq!(md["response_types_supported"][0], "vp_token");
}

#[test]
fn request_object_fetch_errors() {
    let run = |r| {
        block(fetch_request_object(
            &FakeHttp::new(vec![r]),
            &ro_url(),
            RequestObjectFetch::Get,
        ))
        .unwrap_err()
    };
    assert_eq!(
        run(jwt(404, "")),
        RequestObjectError::Fetch("HTTP 404".into())
    );
    assert!(matches!(
        run(Err(NetError::Refused(RefusalReason::Localhost))),
        RequestObjectError::AddressRefused(_)
    ));
    assert!(matches!(
        run(Err(NetError::TooLarge { limit: 1 })),
        RequestObjectError::Fetch(_)
    ));
    // A request_uri that is not a URL is refused when the link is parsed, before any fetch
    // (`wallet_core::deeplink`, `refuses_bad_links_with_specific_errors`): this function
    // takes only a parsed URL.
}

#[test]
fn json_documents_are_https_capped_and_json() {
    let http = FakeHttp::new(vec![json(200, r#"{"id":"pd"}"#)]);
    let v = block(fetch_json(&http, "https://v.example/pd?scope=x")).unwrap();
    assert_eq!(v["id"], "pd");
    assert_eq!(http.request(0).max_body_bytes, MAX_DOC_BYTES);
    let none = FakeHttp::new(vec![]);
    assert_eq!(
        block(fetch_json(&none, "http://v.example/pd")).unwrap_err(),
        DocumentError::NotHttps
    );
    let run = |r| block(fetch_json(&FakeHttp::new(vec![r]), "https://v.example/pd")).unwrap_err();
    assert_eq!(run(json(200, "<html>")), DocumentError::NotJson);
    assert_eq!(run(json(500, "{}")), DocumentError::Status(500));
    assert_eq!(
        run(Err(NetError::TooLarge { limit: 3 })).to_string(),
        "response body larger than 3 bytes"
    );
}

#[test]
fn answers_are_direct_posts_and_return_the_redirect() {
    let http = FakeHttp::new(vec![json(
        200,
        r#"{"redirect_uri":"https://c.example/cb?code=x"}"#,
    )]);
    let response = AuthorizationResponse {
        vp_token: "vp",
        presentation_submission: "{}",
        state: "st",
    };
    let redirect = block(post_response(
        &http,
        "https://v.example/response",
        &response,
    ))
    .unwrap();
    assert_eq!(redirect, "https://c.example/cb?code=x");
    let r = http.request(0);
    assert_eq!(r.method, Method::Post);
    let f = form(&r);
    assert_eq!((f["vp_token"].as_str(), f["state"].as_str()), ("vp", "st"));
    assert!(!format!("{response:?}").contains("\"vp\""));

    let http = FakeHttp::new(vec![json(
        200,
        r#"{"redirect_uri":"https://v.example/done"}"#,
    )]);
    let d = ErrorDispatch {
        response_uri: "https://v.example/response".into(),
        state: "st".into(),
        error: "access_denied".into(),
        error_description: "declined".into(),
    };
    block(post_error(&http, &d)).unwrap();
    let r = http.request(0);
    assert_eq!(r.url.as_str(), "https://v.example/response?state=st");
    assert_eq!(form(&r)["error"], "access_denied");

    let mut refused = json(400, "{}").unwrap();
    refused
        .headers
        .push(("location".into(), "https://c.example/cb?error=x".into()));
    let err = block(post_error(&FakeHttp::new(vec![Ok(refused)]), &d)).unwrap_err();
    assert_eq!(
        err,
        ResponseError::Refused {
            status: 400,
            redirect_uri: Some("https://c.example/cb?error=x".into())
        }
    );
    let err = block(post_error(&FakeHttp::new(vec![json(200, "{}")]), &d)).unwrap_err();
    assert_eq!(err, ResponseError::BadResponse("no redirect_uri".into()));
}
