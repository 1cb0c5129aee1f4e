//! User flow (docs/protocol.md §3): JAR #1 checks (§4.4), the OpenID4VP verifier rounds (§4.2,
//! §5.3) and the code exchange (§3.5). The client/wallet side is driven by the test with the
//! core crates.

use std::path::PathBuf;

use serde_json::{json, Map, Value};
use wallet_protocol::did::{self, Did, UniversalResolver};
use wallet_protocol::jose::{b64url, Jwk, SoftwareSigner};
use wallet_protocol::net::NetPolicy;
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::jwt::{issue_employee_credential, EmployeeClaims};
use wallet_protocol::vc::Credential;
use wallet_protocol::vp::{issue_jwt_vp, PresentationRequest};

use crate::support::*;

struct Flow {
    pki: Pki,
    as_: TestAs,
    org: ClientOrg,
    scope: String,
    verifier: String,
    _policy_dir: Option<tempfile::TempDir>,
}

/// A policy with only an organization definition (scope `orgonly`), from the vector's PD.
fn org_only_policy() -> (tempfile::TempDir, PathBuf) {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(zorgtoepassing()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orgonly.json");
    let policy = json!({"orgonly": {"organization": v["zorgtoepassing"]["organization"]}});
    std::fs::write(&path, policy.to_string()).unwrap();
    (dir, path)
}

impl Flow {
    /// Two rounds (organization + user), scope `zorgtoepassing`.
    async fn two_rounds() -> Self {
        let pki = Pki::new();
        let as_ = TestAs::start(&pki, vec![zorgtoepassing()]).await;
        let org = ClientOrg::start(&pki).await;
        Self {
            pki,
            as_,
            org,
            scope: "zorgtoepassing".into(),
            verifier: random(),
            _policy_dir: None,
        }
    }

    /// One organization round, scope `orgonly`.
    async fn one_round() -> Self {
        let pki = Pki::new();
        let (dir, path) = org_only_policy();
        let as_ = TestAs::start(&pki, vec![path]).await;
        let org = ClientOrg::start(&pki).await;
        Self {
            pki,
            as_,
            org,
            scope: "orgonly".into(),
            verifier: random(),
            _policy_dir: Some(dir),
        }
    }

    /// JAR #1 claims as a Nuts client sends them (plus `iat`/`exp`, as master requires).
    fn jar_claims(&self) -> Map<String, Value> {
        let now = self.as_.now();
        let v = json!({
            "iss": self.org.did.as_str(),
            "client_id": self.org.client_id,
            "aud": self.as_.issuer,
            "response_type": "code",
            "scope": self.scope,
            "state": "client-state-1",
            "redirect_uri": self.org.redirect_uri(),
            "code_challenge": s256(&self.verifier),
            "code_challenge_method": "S256",
            "iat": now - 1,
            "exp": now + 300,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn jar(&self) -> String {
        sign(&self.org.signer, &self.jar_claims())
    }

    fn jar_with(&self, bend: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut c = self.jar_claims();
        bend(&mut c);
        sign(&self.org.signer, &c)
    }

    async fn authorize_query(&self, pairs: &[(&str, &str)]) -> Resp {
        let url = format!("{}?{}", self.as_.url("authorize"), form_body(pairs));
        self.as_.get(&url).await
    }

    async fn authorize_by_value(&self, jar: &str) -> Resp {
        self.authorize_query(&[("client_id", &self.org.client_id), ("request", jar)])
            .await
    }

    /// Serves `jar` once at the client and sends the authorize request by reference.
    async fn authorize_by_ref(&self, jar: &str) -> (Resp, String) {
        let path = format!("/oauth2/client/request.jwt/{}", random());
        self.org.serve(
            &path,
            "application/oauth-authz-req+jwt",
            jar.to_owned(),
            true,
        );
        let uri = format!("{}{path}", self.org.base);
        let r = self
            .authorize_query(&[
                ("client_id", &self.org.client_id),
                ("request_uri", &uri),
                ("request_uri_method", "get"),
            ])
            .await;
        (r, path)
    }

    fn resolver(&self) -> UniversalResolver {
        UniversalResolver::from_policy(&NetPolicy {
            dev: true,
            extra_ca_pem: Some(self.pki.ca_pem.clone().into_bytes()),
        })
        .unwrap()
    }

    /// Follows the AS redirect to the wallet: fetches and verifies JAR #2.
    async fn fetch_org_request(&self, authorize: &Resp) -> Map<String, Value> {
        assert_eq!(authorize.status, 302, "{}", authorize.body);
        let loc = authorize.location.clone().unwrap();
        assert!(
            loc.starts_with(&self.org.wallet_authorize_endpoint()),
            "{loc}"
        );
        let q = query_of(&loc);
        assert_eq!(q["client_id"], self.as_.issuer);
        assert_eq!(q["request_uri_method"], "get");
        let r = send(
            self.as_
                .http
                .get(&q["request_uri"])
                .header("accept", "application/oauth-authz-req+jwt"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/oauth-authz-req+jwt")
        );
        let (jws, kid) = did::verify_jws(&r.body, &self.resolver(), self.as_.now())
            .await
            .unwrap();
        assert_eq!(kid.did(), self.as_.state.identity.did);
        let c = jws.claims().unwrap();
        assert_eq!(c["iss"], self.as_.state.identity.did.as_str());
        assert_eq!(c["client_id"], self.as_.issuer);
        assert_eq!(c["client_id_scheme"], "entity_id");
        assert_eq!(c["aud"], self.org.client_id);
        assert_eq!(c["response_type"], "vp_token");
        assert_eq!(c["response_mode"], "direct_post");
        assert_eq!(c["response_uri"], self.as_.url("response"));
        assert_eq!(c["client_metadata_uri"], self.as_.url("oauth-client"));
        assert!(c["presentation_definition_uri"]
            .as_str()
            .unwrap()
            .ends_with("wallet_owner_type=organization"));
        // One-time: a second fetch fails.
        let again = self.as_.get(&q["request_uri"]).await;
        again.assert_error(400, "invalid_request");
        c
    }

    /// The organization VP for a request object, built with the core crates.
    async fn org_vp(&self, request: &Map<String, Value>, vc: String) -> (String, String) {
        let pd = self.fetch_pd(request).await;
        let (submission, _) = build_submission(&pd, std::slice::from_ref(&vc));
        let vp = issue_jwt_vp(
            &self.org.signer,
            &PresentationRequest {
                holder: self.org.did.clone(),
                audience: self.as_.issuer.clone(),
                nonce: request["nonce"].as_str().unwrap().to_owned(),
                credentials: vec![Credential::Jwt(vc)],
                now: self.as_.now(),
                validity_secs: 900,
            },
        )
        .unwrap();
        (vp, submission.to_string())
    }

    async fn fetch_pd(&self, request: &Map<String, Value>) -> wallet_pex::PresentationDefinition {
        let r = self
            .as_
            .get(request["presentation_definition_uri"].as_str().unwrap())
            .await;
        wallet_pex::PresentationDefinition::from_json(r.json()).unwrap()
    }

    fn org_vc(&self) -> String {
        let now = self.as_.now();
        self.org.org_credential(now - 60, now + 3600)
    }

    async fn post_response(&self, vp: &str, submission: &str, state: &str) -> Resp {
        self.as_
            .post_form(
                &self.as_.url("response"),
                &[
                    ("vp_token", vp),
                    ("presentation_submission", submission),
                    ("state", state),
                ],
                None,
            )
            .await
    }

    /// The user round: POST for JAR #3, a did:jwk user with an employee credential.
    async fn user_round(&self, openid4vp: &str) -> Resp {
        assert!(openid4vp.starts_with("openid4vp:?"), "{openid4vp}");
        let q = query_of(openid4vp);
        assert_eq!(q["request_uri_method"], "post");
        assert_eq!(q["client_id_scheme"], "entity_id");
        assert!(q["presentation_definition_uri"].ends_with("wallet_owner_type=user"));
        let r = send(
            self.as_
                .http
                .post(&q["request_uri"])
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form_body(&[
                    (
                        "wallet_metadata",
                        &json!({"issuer": "https://self-issued.me/v2"}).to_string(),
                    ),
                    ("wallet_nonce", "wn-1"),
                ])),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (jws, _) = did::verify_jws(&r.body, &self.resolver(), self.as_.now())
            .await
            .unwrap();
        let c = jws.claims().unwrap();
        assert!(c.get("aud").is_none(), "no aud for a self-issued wallet");
        assert_eq!(c["wallet_nonce"], "wn-1");
        assert_eq!(c["nonce"], q["nonce"].as_str());
        assert_eq!(c["state"], q["state"].as_str());

        let mut user = SoftwareSigner::generate_es256("pending").unwrap();
        let user_did = did::jwk::create(&Jwk::from_map(user.public_jwk()).unwrap()).unwrap();
        user.set_key_id(did::jwk::key_id(&user_did).as_str());
        let now = self.as_.now();
        let emp = issue_employee_credential(
            &self.org.signer,
            &self.org.did,
            &user_did,
            &EmployeeClaims {
                identifier: "jdoe@example.com".into(),
                name: "John Doe".into(),
                role_name: "Verpleegkundige".into(),
            },
            now - 1,
            3600,
        )
        .unwrap();
        let pd = self.fetch_pd(&c).await;
        let (submission, _) = build_submission(&pd, std::slice::from_ref(&emp));
        let vp = issue_jwt_vp(
            &user,
            &PresentationRequest {
                holder: user_did,
                audience: self.as_.issuer.clone(),
                nonce: c["nonce"].as_str().unwrap().to_owned(),
                credentials: vec![Credential::Jwt(emp)],
                now,
                validity_secs: 900,
            },
        )
        .unwrap();
        self.post_response(&vp, &submission.to_string(), c["state"].as_str().unwrap())
            .await
    }

    /// Runs the flow up to the code (JAR #1 by reference); returns the code.
    async fn code(&self) -> String {
        let (r, path) = self.authorize_by_ref(&self.jar()).await;
        assert_eq!(self.org.hits(&path), 1, "JAR #1 is fetched exactly once");
        let req = self.fetch_org_request(&r).await;
        let (vp, sub) = self.org_vp(&req, self.org_vc()).await;
        let mut resp = self
            .post_response(&vp, &sub, req["state"].as_str().unwrap())
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let mut next = resp.json()["redirect_uri"].as_str().unwrap().to_owned();
        if next.starts_with("openid4vp:") {
            resp = self.user_round(&next).await;
            assert_eq!(resp.status, 200, "{}", resp.body);
            next = resp.json()["redirect_uri"].as_str().unwrap().to_owned();
        }
        assert!(next.starts_with(&self.org.redirect_uri()), "{next}");
        let q = query_of(&next);
        assert_eq!(q["state"], "client-state-1");
        q["code"].clone()
    }

    async fn exchange(&self, pairs: &[(&str, &str)], dpop: Option<&str>) -> Resp {
        let mut all = vec![("grant_type", "authorization_code")];
        all.extend_from_slice(pairs);
        self.as_
            .post_form(&self.as_.token_endpoint(), &all, dpop)
            .await
    }

    async fn exchange_ok(&self, code: &str, dpop: Option<&str>) -> Resp {
        let redirect = self.org.redirect_uri();
        self.exchange(
            &[
                ("code", code),
                ("client_id", &self.org.client_id),
                ("redirect_uri", &redirect),
                ("code_verifier", &self.verifier),
            ],
            dpop,
        )
        .await
    }
}

fn desc(v: &Value) -> String {
    v["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// ---- happy paths ----

#[tokio::test]
async fn happy_path_organization_and_user_rounds_with_dpop() {
    let f = Flow::two_rounds().await;
    let code = f.code().await;
    let key = dpop_key();
    let proof = dpop(&key, "POST", &f.as_.token_endpoint(), f.as_.now());
    let r = f.exchange_ok(&code, Some(&proof)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(t["token_type"], "DPoP");
    assert_eq!(t["scope"], "zorgtoepassing");
    let i = f.as_.introspect(t["access_token"].as_str().unwrap()).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], f.org.client_id);
    assert_eq!(i["cnf"]["jkt"], thumbprint(&key));
    assert_eq!(i["organization_name"], "Zorg Utrecht");
    assert_eq!(i["employee_name"], "John Doe");
    assert_eq!(i["employee_role"], "Verpleegkundige");
    assert_eq!(i["employee_identifier"], "jdoe@example.com");
}

#[tokio::test]
async fn happy_path_one_round_with_request_by_value_and_bearer_token() {
    let f = Flow::one_round().await;
    let r = f.authorize_by_value(&f.jar()).await;
    let req = f.fetch_org_request(&r).await;
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    let resp = f
        .post_response(&vp, &sub, req["state"].as_str().unwrap())
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let next = resp.json()["redirect_uri"].as_str().unwrap().to_owned();
    assert!(next.starts_with(&f.org.redirect_uri()), "{next}");
    let code = query_of(&next)["code"].clone();
    let t = f.exchange_ok(&code, None).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.json()["token_type"], "Bearer");
    let i = f
        .as_
        .introspect(t.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(i["scope"], "orgonly");
    assert!(i.get("employee_name").is_none());
}

// ---- the authorization request (JAR #1) ----

#[tokio::test]
async fn b2_no_request_object() {
    let f = Flow::one_round().await;
    let r = f
        .authorize_query(&[
            ("client_id", &f.org.client_id),
            ("response_type", "code"),
            ("scope", "orgonly"),
        ])
        .await;
    let v = r.assert_error(400, "invalid_request");
    assert!(desc(&v).contains("signed request objects"), "{v}");
}

#[tokio::test]
async fn b2_request_and_request_uri_together() {
    let f = Flow::one_round().await;
    let r = f
        .authorize_query(&[
            ("client_id", &f.org.client_id),
            ("request", &f.jar()),
            ("request_uri", "https://localhost:1/x"),
        ])
        .await;
    r.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn b2_unsigned_request_object() {
    let f = Flow::one_round().await;
    let claims = Value::Object(f.jar_claims()).to_string();
    // A JWS without a signature, and plain JSON.
    let header = b64url(br#"{"alg":"ES256","kid":"x"}"#);
    let unsigned = format!("{header}.{}.", b64url(claims.as_bytes()));
    for jar in [unsigned, claims] {
        f.authorize_by_value(&jar)
            .await
            .assert_error(400, "invalid_request_object");
    }
}

#[tokio::test]
async fn b2_alg_none() {
    let f = Flow::one_round().await;
    let claims = Value::Object(f.jar_claims()).to_string();
    let header = b64url(
        json!({"alg": "none", "kid": f.org.kid().as_str()})
            .to_string()
            .as_bytes(),
    );
    let jar = format!("{header}.{}.", b64url(claims.as_bytes()));
    f.authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
}

#[tokio::test]
async fn b2_unknown_key() {
    let f = Flow::one_round().await;
    let mut other = SoftwareSigner::generate_es256("x").unwrap();
    other.set_key_id(f.org.did.with_fragment("unknown").as_str());
    let jar = sign(&other, &f.jar_claims());
    let v = f
        .authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
    assert_eq!(desc(&v), "request signature validation failed");
}

#[tokio::test]
async fn b2_wrong_signature() {
    let f = Flow::one_round().await;
    // The client's kid, another key.
    let mut other = SoftwareSigner::generate_es256("x").unwrap();
    other.set_key_id(f.org.kid().as_str());
    let jar = sign(&other, &f.jar_claims());
    f.authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
}

#[tokio::test]
async fn b2_signer_key_not_in_the_clients_entity_statement() {
    let f = Flow::one_round().await;
    // A resolvable did:jwk key that the client's entity statement does not list.
    let mut k = SoftwareSigner::generate_es256("x").unwrap();
    let d = did::jwk::create(&Jwk::from_map(k.public_jwk()).unwrap()).unwrap();
    k.set_key_id(did::jwk::key_id(&d).as_str());
    let jar = sign(&k, &f.jar_claims());
    let v = f
        .authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
    assert_eq!(desc(&v), "client_id does not own signer key");
}

#[tokio::test]
async fn b2_client_id_mismatch() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.insert(
            "client_id".into(),
            json!("https://localhost:1/oauth2/other"),
        );
    });
    let v = f
        .authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
    assert_eq!(
        desc(&v),
        "invalid client_id claim in signed authorization request"
    );
}

#[tokio::test]
async fn b2_expired_request_object() {
    let f = Flow::one_round().await;
    let now = f.as_.now();
    let jar = f.jar_with(|c| {
        c.insert("iat".into(), json!(now - 700));
        c.insert("exp".into(), json!(now - 400));
    });
    f.authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
}

#[tokio::test]
async fn b2_reused_request_object() {
    let f = Flow::one_round().await;
    let jar = f.jar();
    assert_eq!(f.authorize_by_value(&jar).await.status, 302);
    let v = f
        .authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request_object");
    assert_eq!(desc(&v), "request object has already been used");
}

#[tokio::test]
async fn b2_request_uri_method_and_fetch_failures() {
    let f = Flow::one_round().await;
    let uri = format!("{}/oauth2/client/request.jwt/missing", f.org.base);
    f.authorize_query(&[
        ("client_id", &f.org.client_id),
        ("request_uri", &uri),
        ("request_uri_method", "PUT"),
    ])
    .await
    .assert_error(400, "invalid_request_uri_method");
    f.authorize_query(&[("client_id", &f.org.client_id), ("request_uri", &uri)])
        .await
        .assert_error(400, "invalid_request_uri");
    // By reference (GET): the object is fetched exactly once.
    let (r, path) = f.authorize_by_ref(&f.jar()).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(f.org.hits(&path), 1);
}

#[tokio::test]
async fn b2_an_entity_statement_that_cannot_be_fetched_is_a_server_error() {
    let f = Flow::one_round().await;
    f.org
        .remove("/.well-known/openid-configuration/oauth2/client");
    let v = f
        .authorize_by_value(&f.jar())
        .await
        .assert_error(500, "server_error");
    assert_eq!(desc(&v), "failed to retrieve OpenID configuration", "{v}");
}

#[tokio::test]
async fn b2_wrong_response_type_is_redirected_to_the_client() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.insert("response_type".into(), json!("token"));
    });
    let q = f
        .authorize_by_value(&jar)
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "unsupported_response_type");
    assert_eq!(q["state"], "client-state-1");
}

#[tokio::test]
async fn b2_missing_redirect_uri_is_answered_directly() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.remove("redirect_uri");
    });
    f.authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn b2_wrong_audience_is_redirected() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.insert("aud".into(), json!("https://elsewhere.example/oauth2/x"));
    });
    let q = f
        .authorize_by_value(&jar)
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
    assert_eq!(q["state"], "client-state-1");
}

#[tokio::test]
async fn b2_missing_pkce() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.remove("code_challenge");
        c.remove("code_challenge_method");
    });
    let v = f
        .authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request");
    assert!(desc(&v).contains("code_challenge"), "{v}");
}

#[tokio::test]
async fn b2_plain_pkce() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.insert("code_challenge".into(), json!(f.verifier));
        c.insert("code_challenge_method".into(), json!("plain"));
    });
    let v = f
        .authorize_by_value(&jar)
        .await
        .assert_error(400, "invalid_request");
    assert!(desc(&v).contains("S256"), "{v}");
}

#[tokio::test]
async fn b2_unknown_scope_is_redirected() {
    let f = Flow::one_round().await;
    let jar = f.jar_with(|c| {
        c.insert("scope".into(), json!("nope"));
    });
    f.authorize_by_value(&jar)
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_scope");
}

// ---- request objects and the response endpoint ----

#[tokio::test]
async fn b4_request_object_method_must_match() {
    let f = Flow::one_round().await;
    let r = f.authorize_by_value(&f.jar()).await;
    let q = query_of(r.location.as_deref().unwrap());
    // The org-round object is a GET object: POSTing for it fails, and burns it.
    let post = f
        .as_
        .post_form(&q["request_uri"], &[("wallet_metadata", "{}")], None)
        .await;
    post.assert_error(400, "invalid_request");
    f.as_
        .get(&q["request_uri"])
        .await
        .assert_error(400, "invalid_request");
}

/// Starts a flow and returns the org request object.
async fn started(f: &Flow) -> Map<String, Value> {
    let r = f.authorize_by_value(&f.jar()).await;
    f.fetch_org_request(&r).await
}

#[tokio::test]
async fn b5_reused_nonce() {
    let f = Flow::two_rounds().await;
    let req = started(&f).await;
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    let state = req["state"].as_str().unwrap();
    assert_eq!(f.post_response(&vp, &sub, state).await.status, 200);
    let q = f
        .post_response(&vp, &sub, state)
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
    assert!(q["error_description"].contains("nonce"), "{q:?}");
}

#[tokio::test]
async fn b5_missing_nonce() {
    let f = Flow::one_round().await;
    let req = started(&f).await;
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    let mut claims = wallet_protocol::vp::unverified_claims(&vp).unwrap();
    claims.remove("nonce");
    let vp = sign(&f.org.signer, &claims);
    f.post_response(&vp, &sub, req["state"].as_str().unwrap())
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
}

#[tokio::test]
async fn b5_wrong_audience() {
    let f = Flow::one_round().await;
    let req = started(&f).await;
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    let mut claims = wallet_protocol::vp::unverified_claims(&vp).unwrap();
    claims.insert("aud".into(), json!(f.org.client_id));
    let vp = sign(&f.org.signer, &claims);
    let q = f
        .post_response(&vp, &sub, req["state"].as_str().unwrap())
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
    assert!(q["error_description"].contains("audience"), "{q:?}");
}

#[tokio::test]
async fn b5_signer_is_not_credential_subject() {
    let f = Flow::one_round().await;
    let req = started(&f).await;
    let now = f.as_.now();
    let other = Did::parse("did:web:elsewhere.example:iam:x").unwrap();
    let vc = f.org.org_credential_for(&other, now - 60, now + 3600);
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    let mut claims = wallet_protocol::vp::unverified_claims(&vp).unwrap();
    claims["vp"]["verifiableCredential"] = json!(vc);
    let vp = sign(&f.org.signer, &claims);
    let q = f
        .post_response(&vp, &sub, req["state"].as_str().unwrap())
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
    assert_eq!(
        q["error_description"],
        "presentation signer is not credential subject"
    );
}

#[tokio::test]
async fn b5_submission_that_does_not_match() {
    let f = Flow::one_round().await;
    let req = started(&f).await;
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    let mut sub: Value = serde_json::from_str(&sub).unwrap();
    sub["descriptor_map"][0]["id"] = json!("some_other_descriptor");
    let q = f
        .post_response(&vp, &sub.to_string(), req["state"].as_str().unwrap())
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
    assert!(
        q["error_description"].starts_with("presentation submission does not conform"),
        "{q:?}"
    );
}

#[tokio::test]
async fn b5_expired_credential() {
    let f = Flow::one_round().await;
    let req = started(&f).await;
    let now = f.as_.now();
    let vc = f.org.org_credential(now - 7200, now - 3600);
    let (vp, sub) = f.org_vp(&req, vc).await;
    let q = f
        .post_response(&vp, &sub, req["state"].as_str().unwrap())
        .await
        .assert_redirect_error(&f.org.redirect_uri(), "invalid_request");
    assert!(q["error_description"].contains("expired"), "{q:?}");
}

#[tokio::test]
async fn b5_wallet_error_and_unknown_state() {
    let f = Flow::one_round().await;
    let req = started(&f).await;
    let state = req["state"].as_str().unwrap();
    // A Nuts wallet puts `state` in the query of response_uri when it posts an error.
    let r = f
        .as_
        .post_form(
            &format!("{}?state={state}", f.as_.url("response")),
            &[
                ("error", "access_denied"),
                ("error_description", "user declined"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let next = r.json()["redirect_uri"].as_str().unwrap().to_owned();
    assert!(next.starts_with(&f.org.redirect_uri()), "{next}");
    assert_eq!(query_of(&next)["error"], "access_denied");
    // The session is gone now.
    let (vp, sub) = f.org_vp(&req, f.org_vc()).await;
    f.post_response(&vp, &sub, state)
        .await
        .assert_error(400, "invalid_request");
}

// ---- the code exchange ----

#[tokio::test]
async fn b6_wrong_code_verifier_and_reused_code() {
    let f = Flow::one_round().await;
    let code = f.code().await;
    let wrong = random();
    let r = f
        .exchange(
            &[
                ("code", &code),
                ("client_id", &f.org.client_id),
                ("code_verifier", &wrong),
            ],
            None,
        )
        .await;
    assert_eq!(
        desc(&r.assert_error(400, "invalid_grant")),
        "invalid code_verifier"
    );
    // The code was burned by the failed attempt.
    let v = f
        .exchange_ok(&code, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(desc(&v), "invalid authorization code");
}

#[tokio::test]
async fn b6_reused_code_after_success() {
    let f = Flow::one_round().await;
    let code = f.code().await;
    assert_eq!(f.exchange_ok(&code, None).await.status, 200);
    f.exchange_ok(&code, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn b6_missing_code_verifier() {
    let f = Flow::one_round().await;
    let code = f.code().await;
    f.exchange(&[("code", &code), ("client_id", &f.org.client_id)], None)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn b6_client_id_mismatch() {
    let f = Flow::one_round().await;
    let code = f.code().await;
    let r = f
        .exchange(
            &[
                ("code", &code),
                ("client_id", "https://localhost:1/oauth2/other"),
                ("code_verifier", &f.verifier),
            ],
            None,
        )
        .await;
    assert!(desc(&r.assert_error(400, "invalid_request")).starts_with("client_id does not match"));
}

#[tokio::test]
async fn b6_expired_code() {
    let f = Flow::one_round().await;
    let code = f.code().await;
    f.as_.clock.advance(61);
    f.exchange_ok(&code, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn b6_bad_dpop_proof() {
    let f = Flow::one_round().await;
    let code = f.code().await;
    let key = dpop_key();
    let proof = dpop(
        &key,
        "POST",
        &format!("{}/oauth2/elsewhere/token", f.as_.base),
        f.as_.now(),
    );
    f.exchange_ok(&code, Some(&proof))
        .await
        .assert_error(400, "invalid_dpop_proof");
}

#[tokio::test]
async fn b2_v6_client_without_time_claims_and_request_uri_post() {
    let f = Flow::one_round().await;
    // Released v6 clients send no iat/exp in JAR #1: accepted.
    let jar = f.jar_with(|c| {
        c.remove("iat");
        c.remove("exp");
    });
    let path = format!("/oauth2/client/request.jwt/{}", random());
    f.org
        .serve(&path, "application/oauth-authz-req+jwt", jar, true);
    let uri = format!("{}{path}", f.org.base);
    // request_uri_method=post: the AS POSTs its metadata and gets the object.
    let r = f
        .authorize_query(&[
            ("client_id", &f.org.client_id),
            ("request_uri", &uri),
            ("request_uri_method", "post"),
        ])
        .await;
    assert_eq!(f.org.hits(&path), 1);
    let req = f.fetch_org_request(&r).await;
    assert_eq!(req["aud"], f.org.client_id);
}

#[tokio::test]
async fn b2_errors_are_an_html_page_for_browsers() {
    let f = Flow::one_round().await;
    let url = format!(
        "{}?{}",
        f.as_.url("authorize"),
        form_body(&[("client_id", &f.org.client_id)])
    );
    let r = send(f.as_.http.get(&url).header("accept", "text/html")).await;
    assert_eq!(r.status, 400);
    assert!(r.content_type.unwrap().starts_with("text/html"));
    assert!(r.body.contains("invalid_request"));
}
