//! A web page can make the browser GET the wallet's callback URL: it knows the path, not the
//! flow's return key.

use base64::Engine;
use serde_json::Value;
use wallet_core::oauth::user::{ACTION_USER_TOKEN_FINISH, RETURN_KEY_PARAM};

use crate::user_world::*;

/// The `redirect_uri` of JAR #1 (the callback URL the wallet registered for the flow), from
/// the browser's URL at the AS.
fn registered_callback(at_as: &str) -> String {
    let jar = query(at_as)["request"].clone();
    let payload = jar.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["redirect_uri"].as_str().unwrap().to_owned()
}

/// Stops a web page from ending the clinician's running flow with
/// `GET /oauth2/{subject}/callback?error=access_denied&error_description=<its text>`: without
/// the flow's return key, or from another site, the callback ends nothing, sends the browser
/// nowhere and records no decline; the AS's own error redirect still works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_end_a_running_flow_through_the_callback() {
    let t = world().await;
    let (landing, session_id) = t.begin(&body(&t.as_.issuer, "DPoP")).await;
    let at_as = t.browse(&landing).await.location.unwrap();
    let registered = registered_callback(&at_as);
    let key = query(&registered)[RETURN_KEY_PARAM].clone();
    assert!(key.len() >= 32, "an unguessable key: {registered}");
    // The AS hands the request to the wallet app; the flow now waits for the clinician.
    assert_eq!(t.browse(&at_as).await.status, 302);

    let attacks = [
        (
            t.url("/oauth2/zorg/callback?error=access_denied&error_description=evil"),
            None,
        ),
        (
            t.url("/oauth2/zorg/callback?error=access_denied&error_description=evil&flow=guess"),
            None,
        ),
        (
            format!("{registered}&error=access_denied&error_description=evil"),
            Some("cross-site"),
        ),
    ];
    for (url, site) in &attacks {
        let mut rb = t.http.get(url);
        if let Some(s) = site {
            rb = rb.header("sec-fetch-site", *s);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{url}");
        assert!(r.headers().get("location").is_none(), "{url}");
        assert!(!r.text().await.unwrap().contains("evil"));
        let (s, v) = t.poll(&session_id, Some(&t.key)).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (200, Some("pending")),
            "{url}: {v}"
        );
    }
    assert!(
        t.activity(ACTION_USER_TOKEN_FINISH).is_empty(),
        "no decline recorded"
    );

    // The AS's own error redirect without `state` (the registered URL, so with the key)
    // still ends the flow and reaches the EHR, once.
    let back = t
        .browse(&format!(
            "{registered}&error=server_error&error_description=down"
        ))
        .await;
    assert_eq!(back.status, 302, "{}", back.text);
    assert_eq!(query(&back.location.unwrap())["error"], "server_error");
    let (s, v) = t.poll(&session_id, Some(&t.key)).await;
    assert_eq!((s, v["error"].as_str()), (502, Some("server_error")), "{v}");
    let again = t.browse(&format!("{registered}&error=server_error")).await;
    assert_eq!(again.status, 400);
}
