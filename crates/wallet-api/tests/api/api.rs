//! The same flow through the loopback API (`wallet_api::serve`): the Nuts internal API v2
//! paths and JSON, the API key, errors as OAuth JSON with the right status.

use serde_json::{json, Value};
use wallet_api::{api_key, serve, ApiConfig};
use wallet_vault::Passphrase;

use crate::support::*;

async fn post(
    http: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    body: &Value,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut rb = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        rb = rb.header("authorization", format!("Bearer {k}"));
    }
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_api_serves_tokens_and_dpop_proofs_behind_the_api_key() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    let w = Wallet::new(&pki, &[(as_.issuer.as_str(), SCOPE)], None).await;
    let api = serve(ApiConfig {
        port: 0,
        runtime: w.runtime.clone(),
    })
    .await
    .unwrap();
    assert!(api.local_addr().ip().is_loopback());
    let key = api_key::current(&w.vault)
        .unwrap()
        .expect("serve creates the key");
    let key = key.expose_secret().to_owned();
    assert!(key.starts_with("nwk_") && key.len() > 40);
    let http = pki.reqwest();
    let url = format!(
        "{}/internal/auth/v2/zorg/request-service-access-token",
        api.base_url()
    );
    let body = json!({
        "authorization_server": as_.issuer,
        "scope": SCOPE,
        "token_type": "Bearer",
        "credentials": [employee()],
    });

    // Without the key, with a wrong one: 401, nothing requested, nothing logged.
    let (s, v) = post(&http, &url, None, &body, &[]).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"], "invalid_client");
    let (s, _) = post(&http, &url, Some("nwk_wrong"), &body, &[]).await;
    assert_eq!(s, 401);
    assert!(w.token_entries().is_empty());

    // With the key: a Bearer token, as the Nuts internal API returns it.
    let (s, v) = post(&http, &url, Some(&key), &body, &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], SCOPE);
    assert!(v["expires_in"].as_i64().unwrap() > 800);
    assert!(v["expires_at"].as_i64().unwrap() > 1_700_000_000);
    assert!(v.get("dpop_kid").is_none());
    let i = as_
        .introspect(&http, v["access_token"].as_str().unwrap())
        .await;
    assert_eq!(i["active"], true);
    assert_eq!(i["employee_identifier"], "123456");
    assert_eq!(w.last_token_entry().detail["channel"], "api");

    // credential_selection (a Nuts node's): a field id and value that narrow the match to one
    // credential; none or an unknown field is an invalid request, and never a cached token.
    let with = |sel: serde_json::Value| {
        let mut b = body.clone();
        b["credential_selection"] = sel;
        b
    };
    let (s, sv) = post(
        &http,
        &url,
        Some(&key),
        &with(json!({"employee_identifier": "123456"})),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{sv}");
    for (sel, expect) in [
        (json!({"employee_identifier": "999"}), "no credential"),
        (
            json!({"patient_id": "1"}),
            "not in the presentation definition",
        ),
        (json!({"employee_identifier": 123456}), "must be a string"),
    ] {
        let (s, e) = post(&http, &url, Some(&key), &with(sel), &[]).await;
        assert_eq!(s, 400, "{e}");
        assert_eq!(e["error"], "invalid_request", "{e}");
        assert!(
            e["error_description"].as_str().unwrap().contains(expect),
            "{e}"
        );
    }

    // From the cache a moment later: the same token with the lifetime it has left, as a Nuts
    // node answers (not the lifetime it was issued with).
    let first_expires_in = v["expires_in"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (s, again) = post(&http, &url, Some(&key), &body, &[]).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(
        again["access_token"], v["access_token"],
        "served from the cache"
    );
    assert_eq!(again["expires_at"], v["expires_at"]);
    let left = again["expires_in"].as_i64().unwrap();
    assert!(
        left <= first_expires_in - 2 && left > 0,
        "{left} vs {first_expires_in}"
    );

    // DPoP (the default token type), then a proof for a resource request.
    let mut dbody = body.clone();
    dbody.as_object_mut().unwrap().remove("token_type");
    let (s, v) = post(&http, &url, Some(&key), &dbody, &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token_type"], "DPoP");
    let token = v["access_token"].as_str().unwrap().to_owned();
    let kid = v["dpop_kid"].as_str().unwrap().to_owned();
    assert_eq!(kid, w.dpop_key().effective_kid());
    let i = as_.introspect(&http, &token).await;
    assert_eq!(i["cnf"]["jkt"], w.dpop_jkt());
    assert_ne!(i["cnf"]["jkt"], w.org_jkt());
    let dpop_url = format!(
        "{}/internal/auth/v2/dpop/{}",
        api.base_url(),
        url::form_urlencoded::byte_serialize(kid.as_bytes()).collect::<String>()
    );
    let req = json!({"htm": "GET", "htu": "https://rs.example/fhir/Patient?x=1", "token": token});
    let (s, _) = post(&http, &dpop_url, None, &req, &[]).await;
    assert_eq!(s, 401);
    let (s, v) = post(&http, &dpop_url, Some(&key), &req, &[]).await;
    assert_eq!(s, 200, "{v}");
    let p = wallet_protocol::dpop::verify_dpop_proof(v["dpop"].as_str().unwrap()).unwrap();
    assert_eq!(p.htm, "GET");
    assert_eq!(p.htu, "https://rs.example/fhir/Patient");
    assert_eq!(p.thumbprint, w.dpop_jkt());
    assert_eq!(
        p.ath.as_deref(),
        Some(wallet_protocol::dpop::access_token_hash(&token).as_str())
    );
    // The resource server has the proof checked by its Nuts node (here the reference AS), as
    // with a Nuts node: valid once, for that method, URL, key and token only.
    let proof = v["dpop"].as_str().unwrap().to_owned();
    let validate = format!("{}/internal/auth/v2/dpop/validate", as_.base);
    let check = |method: &str, url: &str, thumbprint: &str, token: &str| {
        json!({"dpop_proof": proof, "method": method, "url": url,
               "thumbprint": thumbprint, "token": token})
    };
    let jkt = i["cnf"]["jkt"].as_str().unwrap().to_owned();
    for (body, reason) in [
        (
            check("POST", "https://rs.example/fhir/Patient", &jkt, &token),
            "method",
        ),
        (
            check("GET", "https://rs.example/fhir/Other", &jkt, &token),
            "url",
        ),
        (
            check(
                "GET",
                "https://rs.example/fhir/Patient",
                &w.org_jkt(),
                &token,
            ),
            "key",
        ),
        (
            check(
                "GET",
                "https://rs.example/fhir/Patient",
                &jkt,
                "another-token",
            ),
            "ath",
        ),
    ] {
        let (s, v) = post(&http, &validate, None, &body, &[]).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["valid"], false, "{v}");
        assert!(v["reason"].as_str().unwrap().contains(reason), "{v}");
    }
    let good = check("GET", "https://rs.example/fhir/Patient?x=2", &jkt, &token);
    let (_, v) = post(&http, &validate, None, &good, &[]).await;
    assert_eq!(v, json!({"valid": true}));
    let (_, v) = post(&http, &validate, None, &good, &[]).await;
    assert_eq!(v["valid"], false, "a proof is valid once");
    assert!(v["reason"].as_str().unwrap().contains("jti"), "{v}");
    // With the resource server's nonce (after use_dpop_nonce).
    let mut with_nonce = req.clone();
    with_nonce["nonce"] = json!("rs-nonce-1");
    let (s, v) = post(&http, &dpop_url, Some(&key), &with_nonce, &[]).await;
    assert_eq!(s, 200, "{v}");
    let claims = wallet_protocol::vp::unverified_claims(v["dpop"].as_str().unwrap()).unwrap();
    assert_eq!(claims["nonce"], "rs-nonce-1");
    // The kid unencoded (a thumbprint URI needs no escaping in a path).
    let raw = format!("{}/internal/auth/v2/dpop/{kid}", api.base_url());
    let (s, v) = post(&http, &raw, Some(&key), &req, &[]).await;
    assert_eq!(s, 200, "{v}");
    let p = wallet_protocol::dpop::verify_dpop_proof(v["dpop"].as_str().unwrap()).unwrap();
    assert_eq!(p.thumbprint, w.dpop_jkt());
    // The organization key never signs a DPoP proof, however its kid is spelled.
    for org_kid in [
        url::form_urlencoded::byte_serialize(w.org.kid.as_bytes()).collect::<String>(),
        w.org.kid.replace('#', "%23"),
    ] {
        let org_url = format!("{}/internal/auth/v2/dpop/{org_kid}", api.base_url());
        let (s, v) = post(&http, &org_url, Some(&key), &req, &[]).await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error_description"]
                .as_str()
                .is_some_and(|d| d.starts_with("unknown DPoP key")),
            "{v}"
        );
    }
    // An unknown kid.
    let bad_kid = format!(
        "{}/internal/auth/v2/dpop/did%3Aweb%3Aother%230",
        api.base_url()
    );
    let (s, v) = post(&http, &bad_kid, Some(&key), &req, &[]).await;
    assert_eq!(s, 400, "{v}");

    // Errors are OAuth JSON with the Nuts statuses.
    let (s, v) = post(
        &http,
        &url,
        Some(&key),
        &json!({"authorization_server": as_.issuer, "scope": "nope"}),
        &[],
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("access_denied")),
        "{v}"
    );
    let (s, v) = post(
        &http,
        &url,
        Some(&key),
        &json!({"authorization_server": as_.issuer, "scope": SCOPE}),
        &[("cache-control", "no-cache")],
    )
    .await;
    assert_eq!(s, 412, "{v}");
    assert_eq!(v["error"], "invalid_request");
    assert!(v["reasons"][0]
        .as_str()
        .unwrap()
        .starts_with("id_employee_credential_cred"));
    let (s, v) = post(&http, &url, Some(&key), &json!({"scope": SCOPE}), &[]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    let (s, v) = post(
        &http,
        &url,
        Some(&key),
        &json!({"authorization_server": "http://plain.example/oauth2/x", "scope": SCOPE}),
        &[],
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    // Refused before parsing, yet in the activity log.
    let e = w.last_token_entry();
    assert_eq!(e.subject, "http://plain.example/oauth2/x");
    assert_eq!(e.outcome, "failure");
    assert_eq!(e.detail["error"], "invalid_request");
    let r = http
        .post(&url)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Health and the OpenAPI document need no key; unknown paths are 404 JSON.
    let h: Value = serde_json::from_slice(
        &http
            .get(format!("{}/health", api.base_url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(h["status"], "up");
    assert_eq!(h["vault"], "unlocked");
    let doc = http
        .get(format!("{}/openapi.yaml", api.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(doc.contains("/internal/auth/v2/{subjectID}/request-service-access-token"));
    assert!(doc.contains("/internal/auth/v2/dpop/{kid}"));
    let r = http
        .get(format!("{}/internal/auth/v2/nothing", api.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // DNS rebinding guard: a foreign Host header is refused even with the key.
    let (s, _) = post(&http, &url, Some(&key), &body, &[("host", "evil.example")]).await;
    assert_eq!(s, 403);

    // Rotation: the old key stops working at once, the new one works.
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let new_key = api_key::rotate(&w.vault, &admin).unwrap();
    assert_ne!(new_key.expose_secret(), key);
    let (s, _) = post(&http, &url, Some(&key), &body, &[]).await;
    assert_eq!(s, 401);
    let (s, v) = post(&http, &url, Some(new_key.expose_secret()), &body, &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        api_key::show(&w.vault, &admin).unwrap().expose_secret(),
        new_key.expose_secret()
    );

    // A locked wallet answers 503.
    w.vault.lock();
    let (s, v) = post(&http, &url, Some(new_key.expose_secret()), &body, &[]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );

    let base = api.base_url();
    api.shutdown().await.unwrap();
    assert!(http.get(format!("{base}/health")).send().await.is_err());
}
