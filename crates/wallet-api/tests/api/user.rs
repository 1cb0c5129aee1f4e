//! The user flow through the loopback API, over real HTTP: the EHR asks for a user access
//! token, a reqwest client without redirects plays the clinician's browser (landing URL → the
//! reference AS over HTTPS → the `nuts-wallet://` link), the holder (`openid4vp::resolve` +
//! `dispatch`, sharing the API's sessions) answers, the browser returns to the API's callback
//! and on to the EHR, and the EHR collects the token once.

use serde_json::{json, Value};
use wallet_core::oauth::user::{ACTION_USER_TOKEN_FINISH, ACTION_USER_TOKEN_START};
use wallet_core::openid4vp::{self, Decision, Round};
use wallet_vault::Passphrase;

use crate::support::*;
use crate::user_world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ehr_gets_a_user_token_once_through_the_loopback_api_bearer_and_dpop() {
    let t = world().await;
    let keys_before = t.w.vault.keys().list().unwrap().len();
    let mut employee_holders = Vec::new();
    for token_type in ["DPoP", "Bearer"] {
        let (landing, session_id) = t.begin(&body(&t.as_.issuer, token_type)).await;
        let prefix = t.url("/oauth2/zorg/user?token=");
        assert!(landing.starts_with(&prefix), "{landing}");
        assert!(t.api.base_url().starts_with("http://127.0.0.1:"));

        // Pending until the flow ends, exactly as the Nuts node answers.
        let (s, v) = t.poll(&session_id, Some(&t.key)).await;
        assert_eq!(s, 200);
        assert_eq!(
            v,
            json!({"access_token": "", "token_type": "", "status": "pending"})
        );

        let link = t.to_wallet(&landing).await;
        // The landing URL works once.
        let again = t.browse(&landing).await;
        assert_eq!(again.status, 400);

        let resolved = openid4vp::resolve(&link, &t.env).await.expect("verified");
        assert!(!resolved.consent.unsolicited, "the API started this flow");
        let out = openid4vp::dispatch(
            &t.env,
            resolved,
            Decision::Approved {
                employee: "jdoe@example.com".into(),
            },
        )
        .await
        .expect("dispatched");
        assert_eq!(out.rounds, vec![Round::Organization, Round::User]);
        let callback = t.url("/oauth2/zorg/callback?");
        assert!(
            out.redirect_uri.starts_with(&callback),
            "{}",
            out.redirect_uri
        );
        assert!(query(&out.redirect_uri).contains_key("code"));

        // Still pending until the browser is back at the callback.
        assert_eq!(
            t.poll(&session_id, Some(&t.key)).await.1["status"],
            "pending"
        );
        let back = t.browse(&out.redirect_uri).await;
        assert_eq!(back.status, 302, "{}", back.text);
        assert_eq!(back.location.as_deref(), Some(EHR), "nothing appended");
        // The callback works once.
        let replay = t.browse(&out.redirect_uri).await;
        assert_eq!(replay.status, 400);
        assert!(replay.content_type.starts_with("text/html"));

        // The token, once.
        let (s, v) = t.poll(&session_id, Some(&t.key)).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "active");
        assert_eq!(v["token_type"], token_type);
        assert_eq!(v["scope"], USER_SCOPE);
        assert!(v["expires_in"].as_i64().unwrap() > 800, "{v}");
        let token = v["access_token"].as_str().unwrap().to_owned();
        assert!(!token.is_empty());
        let (s, gone) = t.poll(&session_id, Some(&t.key)).await;
        assert_eq!(s, 404, "{gone}");
        assert_eq!(gone["error"], "invalid_request");

        let i = t.as_.introspect(&t.http, &token).await;
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["client_id"], t.w.org.client_id.as_str());
        assert_eq!(i["employee_identifier"], "jdoe@example.com", "{i}");
        assert_eq!(i["employee_name"], "John Doe");
        assert_eq!(i["employee_role"], "Verpleegkundige");
        assert_eq!(i["organization_name"], "Zorg Utrecht");
        // Who presented: the organization, then the employee under a did:jwk of this flow,
        // the subject of the credential the wallet issued for it (the AS checked both VPs and
        // that every credential's subject is the VP's signer).
        let holders = i["holders"].as_array().expect("holders by round");
        assert_eq!(holders.len(), 2, "{i}");
        assert_eq!(holders[0], t.w.org.did.as_str(), "{i}");
        let employee_did = holders[1].as_str().unwrap().to_owned();
        assert!(employee_did.starts_with("did:jwk:"), "{i}");
        let issued = &t.activity("employee.credential.issue")[0];
        assert_eq!(issued.detail["subject"], employee_did.as_str());
        employee_holders.push(employee_did);
        if token_type == "DPoP" {
            assert_eq!(v["dpop_kid"], t.w.dpop_key().effective_kid(), "{v}");
            assert_eq!(i["cnf"]["jkt"], t.w.dpop_jkt(), "{i}");
            assert_ne!(i["cnf"]["jkt"], t.w.org_jkt(), "{i}");
        } else {
            assert!(v.get("dpop_kid").is_none(), "{v}");
            assert!(i.get("cnf").is_none(), "{i}");
        }

        // Activity: the start and the end, nothing secret.
        let start = &t.activity(ACTION_USER_TOKEN_START)[0];
        let finish = &t.activity(ACTION_USER_TOKEN_FINISH)[0];
        for e in [start, finish] {
            assert_eq!(e.subject, t.as_.issuer);
            assert_eq!(e.outcome, "success", "{:?}", e.detail);
            assert_eq!(e.detail["scope"], USER_SCOPE);
            assert_eq!(e.detail["employee"], "jdoe@example.com");
            assert_eq!(e.detail["token_type"], token_type);
            assert_eq!(e.detail["channel"], "api");
            let d = e.detail.to_string();
            let landing_token = &query(&landing)["token"];
            for secret in [&token, &session_id, landing_token] {
                assert!(!d.contains(secret.as_str()), "no secrets in the log: {d}");
            }
        }
        assert_eq!(start.detail["flow"], finish.detail["flow"]);
    }
    assert_eq!(t.activity(ACTION_USER_TOKEN_START).len(), 2);
    assert_eq!(t.activity(ACTION_USER_TOKEN_FINISH).len(), 2);
    // Each flow presented the same employee under a did:jwk of its own; no employee key was
    // stored (the only new key is the workstation's DPoP key).
    assert_ne!(employee_holders[0], employee_holders[1]);
    let keys = t.w.vault.keys().list().unwrap();
    assert_eq!(keys.len(), keys_before + 1, "{keys:?}");
    assert!(keys.iter().all(|k| k.purpose != "employee"), "{keys:?}");
    let roster = wallet_core::roster::find_employee(&t.w.vault, "jdoe@example.com").unwrap();
    assert!(roster.key_id.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_sends_the_browser_to_the_ehr_with_access_denied() {
    let t = world().await;
    let (landing, session_id) = t.begin(&body(&t.as_.issuer, "DPoP")).await;
    let link = t.to_wallet(&landing).await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    let out = openid4vp::dispatch(&t.env, resolved, Decision::Declined { by: None })
        .await
        .expect("the verifier answers with a redirect");
    // The Nuts AS sends the browser to the callback with the error and without state
    // (docs/protocol.md §5.2).
    assert!(out
        .redirect_uri
        .starts_with(&t.url("/oauth2/zorg/callback?")));
    let q = query(&out.redirect_uri);
    assert_eq!(q["error"], "access_denied");
    assert!(!q.contains_key("state"), "{q:?}");

    let back = t.browse(&out.redirect_uri).await;
    assert_eq!(back.status, 302, "{}", back.text);
    let ehr = back.location.unwrap();
    assert!(ehr.starts_with(EHR), "{ehr}");
    let eq = query(&ehr);
    assert_eq!(eq["error"], "access_denied");
    assert_eq!(eq["ehr_session"], "7", "the EHR's own parameters stay");

    let (s, v) = t.poll(&session_id, Some(&t.key)).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "access_denied");
    assert_eq!(t.poll(&session_id, Some(&t.key)).await.0, 404);
    let f = t.activity(ACTION_USER_TOKEN_FINISH);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, "declined");
    assert_eq!(f[0].detail["error"], "access_denied");

    // The same error callback again: no flow left, a page instead of a redirect.
    let again = t.browse(&out.redirect_uri).await;
    assert_eq!(again.status, 400);
    assert!(
        again.text.contains("no request is running"),
        "{}",
        again.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_the_nuts_statuses() {
    let t = world().await;
    let good = body(&t.as_.issuer, "DPoP");

    // No or wrong API key: 401, nothing started.
    let (s, v) = t.request("zorg", None, &good).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(t.request("zorg", Some("nwk_wrong"), &good).await.0, 401);
    assert!(t.activity(ACTION_USER_TOKEN_START).is_empty());
    assert_eq!(t.poll("anything", None).await.0, 401);

    let refuse = |status: u16, error: &'static str, change: Value| {
        let mut b = good.clone();
        for (k, v) in change.as_object().unwrap() {
            b[k] = v.clone();
        }
        (status, error, b)
    };
    for (status, error, b) in [
        refuse(
            403,
            "access_denied",
            json!({"authorization_server": "https://other.example/oauth2/x"}),
        ),
        refuse(
            400,
            "invalid_request",
            json!({"authorization_server": "http://plain.example/oauth2/x"}),
        ),
        refuse(400, "invalid_request", json!({"redirect_uri": "/relative"})),
        refuse(
            400,
            "invalid_request",
            json!({"redirect_uri": "javascript:alert(1)"}),
        ),
        refuse(400, "invalid_request", json!({"token_type": "MAC"})),
        refuse(
            400,
            "invalid_request",
            json!({"preauthorized_user": {"id": "nobody@example.com", "name": "N", "role": "R"}}),
        ),
        refuse(
            403,
            "access_denied",
            json!({"preauthorized_user": {"id": "former@example.com", "name": "Former Employee", "role": "Verpleegkundige"}}),
        ),
        refuse(
            400,
            "invalid_request",
            json!({"preauthorized_user": {"id": "jdoe@example.com", "name": "Someone Else", "role": "Verpleegkundige"}}),
        ),
    ] {
        let (s, v) = t.request("zorg", Some(&t.key), &b).await;
        assert_eq!((s, v["error"].as_str()), (status, Some(error)), "{b}: {v}");
        assert_eq!(v["status"], status);
        assert!(v.get("session_id").is_none());
    }
    let (s, v) = t.request("other", Some(&t.key), &good).await;
    assert_eq!(s, 404, "{v}");
    let (s, _) = t
        .request("zorg", Some(&t.key), &json!({"scope": USER_SCOPE}))
        .await;
    assert_eq!(s, 400, "missing fields");
    // Refusals of begin_flow are in the activity log.
    let refused = t.activity(ACTION_USER_TOKEN_START);
    assert_eq!(refused.len(), 7, "{refused:?}");
    assert!(refused.iter().all(|e| e.outcome == "failure"));

    // Unknown session: 404 JSON.
    let (s, v) = t.poll("unknown-session", Some(&t.key)).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("invalid_request")));

    // The served OpenAPI document describes the user-flow paths.
    let doc = t.browse(&t.url("/openapi.yaml")).await.text;
    for path in [
        "/internal/auth/v2/{subjectID}/request-user-access-token:",
        "/internal/auth/v2/accesstoken/{sessionID}:",
        "/oauth2/{subjectID}/user:",
        "/oauth2/{subjectID}/callback:",
        "UserAccessTokenRequest:",
        "UserTokenResponse:",
    ] {
        assert!(doc.contains(path), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_clear_pages_for_unknown_reused_or_expired_links() {
    let t = world().await;
    let page = |p: &Page, words: &[&str]| {
        assert_eq!(p.status, 400, "{}", p.text);
        assert!(p.location.is_none());
        assert!(
            p.content_type.starts_with("text/html"),
            "{}",
            p.content_type
        );
        for w in words {
            assert!(p.text.contains(w), "{w} in {}", p.text);
        }
    };
    // unknown landing token, no token
    let p = t.browse(&t.url("/oauth2/zorg/user?token=nope")).await;
    page(&p, &["verlopen", "expired"]);
    page(&t.browse(&t.url("/oauth2/zorg/user")).await, &["expired"]);

    // a landing token of another subject's path is not accepted, and stays usable
    let (landing, _) = t.begin(&body(&t.as_.issuer, "DPoP")).await;
    let token = query(&landing)["token"].clone();
    let p = t
        .browse(&t.url(&format!("/oauth2/other/user?token={token}")))
        .await;
    page(&p, &["expired"]);
    assert_eq!(t.browse(&landing).await.status, 302);

    // expired: the landing token lives 5 s
    let (landing, session_id) = t.begin(&body(&t.as_.issuer, "DPoP")).await;
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    page(&t.browse(&landing).await, &["5"]);
    assert_eq!(
        t.poll(&session_id, Some(&t.key)).await.1["status"],
        "pending"
    );

    // callbacks: unknown state, nothing at all, an error without any flow
    let p = t
        .browse(&t.url("/oauth2/zorg/callback?code=c&state=unknown"))
        .await;
    page(&p, &["no running request"]);
    page(
        &t.browse(&t.url("/oauth2/zorg/callback")).await,
        &["no running request"],
    );
    let p = t
        .browse(&t.url("/oauth2/other/callback?error=access_denied"))
        .await;
    page(&p, &["no request is running"]);

    // the landing page checks Host like every other path (DNS rebinding)
    let r = t
        .http
        .get(t.url("/oauth2/zorg/user?token=x"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_after_the_request_reach_the_ehr_poll() {
    let t = world().await;

    // The AS answers the code exchange with an error (a wrong code): the browser still goes to
    // the EHR, the poll tells why.
    let (landing, session_id) = t.begin(&body(&t.as_.issuer, "DPoP")).await;
    let link = t.to_wallet(&landing).await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    let approve = Decision::Approved {
        employee: "jdoe@example.com".into(),
    };
    let out = openid4vp::dispatch(&t.env, resolved, approve.clone())
        .await
        .unwrap();
    let state = query(&out.redirect_uri)["state"].clone();
    let wrong = t.url(&format!("/oauth2/zorg/callback?code=wrong&state={state}"));
    let back = t.browse(&wrong).await;
    assert_eq!(back.status, 302, "{}", back.text);
    assert_eq!(back.location.as_deref(), Some(EHR));
    let (s, v) = t.poll(&session_id, Some(&t.key)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    let f = &t.activity(ACTION_USER_TOKEN_FINISH)[0];
    assert_eq!(f.outcome, "failure");
    assert_eq!(f.detail["error"], "invalid_grant");

    // An error with the state: to the EHR with the error, and the poll has it.
    let (landing, session_id) = t.begin(&body(&t.as_.issuer, "Bearer")).await;
    let link = t.to_wallet(&landing).await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    let out = openid4vp::dispatch(&t.env, resolved, approve)
        .await
        .unwrap();
    let state = query(&out.redirect_uri)["state"].clone();
    let err = t.url(&format!(
        "/oauth2/zorg/callback?error=server_error&error_description=broken&state={state}"
    ));
    let back = t.browse(&err).await;
    assert_eq!(back.status, 302, "{}", back.text);
    let q = query(back.location.as_deref().unwrap());
    assert_eq!(
        (q["error"].as_str(), q["error_description"].as_str()),
        ("server_error", "broken")
    );
    let (s, v) = t.poll(&session_id, Some(&t.key)).await;
    assert_eq!((s, v["error"].as_str()), (502, Some("server_error")), "{v}");

    // An allowed AS that cannot be reached: a page for the browser, the error for the poll.
    let admin =
        t.w.vault
            .admin_session(&Passphrase::from(ADMIN_PW))
            .unwrap();
    let down = "https://localhost:9/oauth2/down";
    let mut p = wallet_core::access_policy::ServicePolicy::load(&t.w.vault).unwrap();
    p.allow_server(down).unwrap();
    p.save(&t.w.vault, &admin).unwrap();
    let (landing, session_id) = t.begin(&body(down, "DPoP")).await;
    let page = t.browse(&landing).await;
    assert_eq!(page.status, 503, "{}", page.text);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        page.text.contains("could not be completed"),
        "{}",
        page.text
    );
    let (s, v) = t.poll(&session_id, Some(&t.key)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{v}"
    );
    assert_eq!(t.activity(ACTION_USER_TOKEN_FINISH).len(), 3);
}
