//! Service-to-service flow: happy paths and one test per AS check (docs/protocol.md §2.3),
//! each sending a request that violates exactly that check.

use serde_json::{json, Value};
use wallet_protocol::jose::SoftwareSigner;
use wallet_protocol::vc::Credential;
use wallet_protocol::vp::{issue_jwt_vp, PresentationRequest};

use crate::support::*;

const SCOPE: &str = "zorgtoepassing";

struct Setup {
    _pki: Pki,
    as_: TestAs,
    org: ClientOrg,
}

async fn setup() -> Setup {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki, vec![zorgtoepassing()]).await;
    let org = ClientOrg::start(&pki).await;
    Setup {
        _pki: pki,
        as_,
        org,
    }
}

/// A well-formed request; `vp` and `submission` can be replaced by the test.
struct Request {
    vp: String,
    submission: String,
    scope: String,
}

impl Setup {
    async fn valid_request(&self) -> Request {
        let now = self.as_.now();
        let pd = self
            .as_
            .presentation_definition(SCOPE, "organization")
            .await;
        let vc = self.org.org_credential(now - 60, now + 3600);
        let (submission, _) = build_submission(&pd, std::slice::from_ref(&vc));
        let vp = issue_jwt_vp(
            &self.org.signer,
            &PresentationRequest {
                holder: self.org.did.clone(),
                audience: self.as_.issuer.clone(),
                nonce: random(),
                credentials: vec![Credential::Jwt(vc)],
                now,
                validity_secs: 5,
            },
        )
        .unwrap();
        Request {
            vp,
            submission: submission.to_string(),
            scope: SCOPE.into(),
        }
    }

    /// A request whose VP is built from bent claims (signed by the org key).
    async fn request_with_claims(
        &self,
        bend: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Request {
        let mut r = self.valid_request().await;
        let mut claims = wallet_protocol::vp::unverified_claims(&r.vp).unwrap();
        bend(&mut claims);
        r.vp = sign(&self.org.signer, &claims);
        r
    }

    async fn send(&self, r: &Request, dpop: Option<&str>) -> Resp {
        self.as_
            .post_form(
                &self.as_.token_endpoint(),
                &[
                    ("grant_type", "vp_token-bearer"),
                    ("assertion", &r.vp),
                    ("presentation_submission", &r.submission),
                    ("scope", &r.scope),
                    ("client_id", &self.org.client_id),
                ],
                dpop,
            )
            .await
    }

    fn dpop(&self, key: &SoftwareSigner) -> String {
        dpop(key, "POST", &self.as_.token_endpoint(), self.as_.now())
    }
}

#[tokio::test]
async fn happy_path_with_dpop_binds_the_token_and_exposes_pd_fields() {
    let s = setup().await;
    let r = s.valid_request().await;
    let key = dpop_key();
    let resp = s.send(&r, Some(&s.dpop(&key))).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let t = resp.json();
    assert_eq!(t["token_type"], "DPoP");
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["scope"], SCOPE);
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    let i = s.as_.introspect(token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["iss"], s.as_.issuer);
    assert_eq!(i["client_id"], s.org.client_id);
    assert_eq!(i["scope"], SCOPE);
    assert_eq!(i["cnf"]["jkt"], thumbprint(&key));
    assert_eq!(i["organization_name"], "Zorg Utrecht");
    assert_eq!(i["organization_city"], "Utrecht");
    assert_eq!(i["exp"].as_i64().unwrap() - i["iat"].as_i64().unwrap(), 900);
    assert_eq!(
        s.as_.introspect("not-a-token").await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn happy_path_without_dpop_is_a_bearer_token_and_expires() {
    let s = setup().await;
    let r = s.valid_request().await;
    let resp = s.send(&r, None).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let t = resp.json();
    assert_eq!(t["token_type"], "Bearer");
    assert!(t.get("dpop_kid").is_none());
    let token = t["access_token"].as_str().unwrap();
    let i = s.as_.introspect(token).await;
    assert_eq!(i["active"], true);
    assert!(i.get("cnf").is_none());
    s.as_.clock.advance(901);
    assert_eq!(s.as_.introspect(token).await["active"], false);
}

#[tokio::test]
async fn unknown_grant_type_subject_and_missing_parameters() {
    let s = setup().await;
    let r = s.valid_request().await;
    let resp = s
        .as_
        .post_form(&s.as_.token_endpoint(), &[("grant_type", "password")], None)
        .await;
    resp.assert_error(400, "unsupported_grant_type");
    let other = format!("{}/oauth2/nobody/token", s.as_.base);
    let resp = s
        .as_
        .post_form(&other, &[("grant_type", "vp_token-bearer")], None)
        .await;
    assert_eq!(
        resp.assert_error(400, "invalid_request")["error_description"],
        "subject not found"
    );
    let resp = s
        .as_
        .post_form(
            &s.as_.token_endpoint(),
            &[
                ("grant_type", "vp_token-bearer"),
                ("assertion", &r.vp),
                ("scope", SCOPE),
            ],
            None,
        )
        .await;
    assert_eq!(
        resp.assert_error(400, "invalid_request")["error_description"],
        "missing required parameters"
    );
}

#[tokio::test]
async fn errors_are_html_unless_json_is_accepted() {
    let s = setup().await;
    let resp = send(
        s.as_
            .http
            .post(s.as_.token_endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=password"),
    )
    .await;
    assert_eq!(resp.status, 400);
    assert!(resp.content_type.unwrap().starts_with("text/html"));
    assert!(resp.body.contains("unsupported_grant_type"));
}

fn description(v: &Value) -> &str {
    v["error_description"].as_str().unwrap()
}

#[tokio::test]
async fn a5_1_unparsable_assertion() {
    let s = setup().await;
    let mut r = s.valid_request().await;
    r.vp = "not-a-presentation".into();
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert!(
        description(&v).starts_with("assertion parameter is invalid"),
        "{v}"
    );
}

#[tokio::test]
async fn a5_2_invalid_submission() {
    let s = setup().await;
    let mut r = s.valid_request().await;
    r.submission = json!({"id": "x"}).to_string();
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert!(
        description(&v).starts_with("invalid presentation submission"),
        "{v}"
    );
}

#[tokio::test]
async fn a5_3_vp_valid_too_long() {
    let s = setup().await;
    let r = s
        .request_with_claims(|c| {
            let nbf = c["nbf"].as_i64().unwrap();
            c.insert("exp".into(), json!(nbf + 6));
        })
        .await;
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert_eq!(
        description(&v),
        "presentation is valid for too long (max 5s)"
    );
}

#[tokio::test]
async fn a5_3_vp_without_expiry() {
    let s = setup().await;
    let r = s
        .request_with_claims(|c| {
            c.remove("exp");
        })
        .await;
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert_eq!(
        description(&v),
        "presentation is missing creation or expiration date"
    );
}

#[tokio::test]
async fn a5_4_signer_is_not_credential_subject() {
    let s = setup().await;
    let now = s.as_.now();
    // The credential is about another DID; the VP is signed by the organization.
    let other = wallet_protocol::did::Did::parse("did:web:elsewhere.example:iam:x").unwrap();
    let vc = s.org.org_credential_for(&other, now - 60, now + 3600);
    let r = s
        .request_with_claims(|c| {
            c["vp"]["verifiableCredential"] = json!(vc);
        })
        .await;
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert_eq!(
        description(&v),
        "presentation signer is not credential subject"
    );
}

#[tokio::test]
async fn a5_5_wrong_audience() {
    let s = setup().await;
    let r = s
        .request_with_claims(|c| {
            c.insert("aud".into(), json!(format!("{}/oauth2/other", s.as_.base)));
        })
        .await;
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert_eq!(
        description(&v),
        "presentation audience/domain is missing or does not match"
    );
}

#[tokio::test]
async fn a5_6_unknown_scope() {
    let s = setup().await;
    let mut r = s.valid_request().await;
    r.scope = "unknown-scope".into();
    let v = s.send(&r, None).await.assert_error(400, "invalid_scope");
    assert!(
        description(&v).contains("unsupported scope (unknown-scope)"),
        "{v}"
    );
}

#[tokio::test]
async fn a5_7_submission_that_does_not_match() {
    let s = setup().await;
    let mut r = s.valid_request().await;
    let mut sub: Value = serde_json::from_str(&r.submission).unwrap();
    // The VP holds one collapsed credential: `[0]` is not what the Nuts matcher derives.
    sub["descriptor_map"][0]["path"] = json!("$.verifiableCredential[0]");
    r.submission = sub.to_string();
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert!(
        description(&v)
            .starts_with("presentation submission does not conform to presentation definition"),
        "{v}"
    );
}

#[tokio::test]
async fn a5_7_submission_for_a_definition_outside_the_scope() {
    let s = setup().await;
    let mut r = s.valid_request().await;
    let mut sub: Value = serde_json::from_str(&r.submission).unwrap();
    sub["definition_id"] = json!("pd_of_another_scope");
    r.submission = sub.to_string();
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert!(
        description(&v).starts_with("presentation definition being fulfilled is not required"),
        "{v}"
    );
}

#[tokio::test]
async fn a5_8_missing_nonce() {
    let s = setup().await;
    let r = s
        .request_with_claims(|c| {
            c.remove("nonce");
        })
        .await;
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert_eq!(description(&v), "presentation has invalid/missing nonce");
}

#[tokio::test]
async fn a5_8_reused_nonce() {
    let s = setup().await;
    let r = s.valid_request().await;
    assert_eq!(s.send(&r, None).await.status, 200);
    // Same nonce in a fresh, otherwise valid VP.
    let nonce = wallet_protocol::vp::unverified_claims(&r.vp).unwrap()["nonce"].clone();
    let r2 = s
        .request_with_claims(|c| {
            c.insert("nonce".into(), nonce);
        })
        .await;
    let v = s.send(&r2, None).await.assert_error(400, "invalid_request");
    assert_eq!(description(&v), "presentation nonce has already been used");
}

#[tokio::test]
async fn a5_9_bad_dpop_proofs() {
    let s = setup().await;
    let key = dpop_key();
    let now = s.as_.now();
    let te = s.as_.token_endpoint();
    let tampered = {
        let p = dpop(&key, "POST", &te, now);
        let (head, sig) = p.rsplit_once('.').unwrap();
        let mut sig = sig.as_bytes().to_vec();
        sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
        format!("{head}.{}", String::from_utf8(sig).unwrap())
    };
    let replayed = dpop(&key, "POST", &te, now);
    let cases = vec![
        ("garbage", "not.a.proof".to_owned()),
        ("bad signature", tampered),
        ("wrong htm", dpop(&key, "GET", &te, now)),
        (
            "wrong htu",
            dpop(
                &key,
                "POST",
                &format!("{}/oauth2/other/token", s.as_.base),
                now,
            ),
        ),
        ("stale iat", dpop(&key, "POST", &te, now - 600)),
        ("future iat", dpop(&key, "POST", &te, now + 600)),
        (
            "typ is not dpop+jwt",
            sign(
                &key,
                &serde_json::from_value(
                    json!({"htm": "POST", "htu": te, "iat": now, "jti": random()}),
                )
                .unwrap(),
            ),
        ),
    ];
    for (what, proof) in cases {
        let r = s.valid_request().await;
        let v = s
            .send(&r, Some(&proof))
            .await
            .assert_error(400, "invalid_dpop_proof");
        assert!(
            description(&v).starts_with("DPoP header is invalid"),
            "{what}: {v}"
        );
    }
    // A replayed jti: the first use succeeds, the second is refused.
    let r = s.valid_request().await;
    assert_eq!(s.send(&r, Some(&replayed)).await.status, 200);
    let r = s.valid_request().await;
    s.send(&r, Some(&replayed))
        .await
        .assert_error(400, "invalid_dpop_proof");
}

#[tokio::test]
async fn a5_10_expired_credential() {
    let s = setup().await;
    let now = s.as_.now();
    let vc = s.org.org_credential(now - 7200, now - 3600);
    let r = s
        .request_with_claims(|c| {
            c["vp"]["verifiableCredential"] = json!(vc);
        })
        .await;
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert!(
        description(&v).starts_with("presentation(s) or credential(s) verification failed"),
        "{v}"
    );
    assert!(description(&v).contains("expired"), "{v}");
}

#[tokio::test]
async fn a5_10_vp_signed_by_a_key_outside_the_did_document() {
    let s = setup().await;
    let r = s.valid_request().await;
    // Same claims and kid, but signed by another key.
    let claims = wallet_protocol::vp::unverified_claims(&r.vp).unwrap();
    let mut impostor = SoftwareSigner::generate_es256("x").unwrap();
    impostor.set_key_id(s.org.kid().as_str());
    let mut claims = claims;
    claims.insert("nonce".into(), json!(random()));
    let r = Request {
        vp: sign(&impostor, &claims),
        ..r
    };
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert!(
        description(&v).starts_with("presentation(s) or credential(s) verification failed"),
        "{v}"
    );
}

#[tokio::test]
async fn a5_order_audience_is_checked_before_scope() {
    // Both the audience and the scope are wrong: Nuts reports the audience (#5 before #6).
    let s = setup().await;
    let mut r = s
        .request_with_claims(|c| {
            c.insert("aud".into(), json!("https://elsewhere.example/oauth2/x"));
        })
        .await;
    r.scope = "unknown-scope".into();
    s.send(&r, None).await.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn happy_path_json_ld_vp_with_self_attested_employee_credential() {
    // The Nuts e2e rfc021 policy: ldp_vp with a signed NutsOrganizationCredential and a
    // self-attested (unsigned) NutsEmployeeCredential, as a Nuts client sends them
    // (docs/protocol.md §7.3).
    use wallet_protocol::clock::format_rfc3339;
    use wallet_protocol::vc::contexts;
    use wallet_protocol::vc::ldp::{self, ProofOptions};
    use wallet_protocol::vp::issue_ldp_vp;

    let pki = Pki::new();
    let as_ = TestAs::start(
        &pki,
        vec![vector_path(
            "presentation-definitions/e2e-rfc021-policy.json",
        )],
    )
    .await;
    let org = ClientOrg::start(&pki).await;
    let now = as_.now();
    let did = org.did.as_str();
    let org_vc = ldp::sign(
        &json!({
            "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1, contexts::JWS2020_V1],
            "id": format!("{did}#{}", uuid::Uuid::new_v4()),
            "type": ["NutsOrganizationCredential", "VerifiableCredential"],
            "issuer": did,
            "issuanceDate": format_rfc3339(now - 60),
            "credentialSubject": {"id": did, "organization": {"name": "Zorg Utrecht", "city": "Utrecht"}},
        }),
        &org.signer,
        &ProofOptions {
            created: now - 60,
            ..Default::default()
        },
    )
    .unwrap();
    let employee = json!({
        "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1],
        "id": uuid::Uuid::new_v4().to_string(),
        "type": ["VerifiableCredential", "NutsEmployeeCredential"],
        "issuer": did,
        "issuanceDate": format_rfc3339(now),
        "credentialSubject": {"id": did, "name": "John Doe", "roleName": "Janitor", "identifier": "123456"},
    });
    let pd = as_.presentation_definition("test", "organization").await;
    let wallet = vec![
        wallet_pex::WalletCredential::from_json(org_vc.clone()).unwrap(),
        wallet_pex::WalletCredential::from_json(employee.clone()).unwrap(),
    ];
    let built = wallet_pex::evaluate(&pd, &wallet, None)
        .build_submission(&pd, &wallet, &wallet_pex::SubmissionOptions::default())
        .unwrap();
    let raw = [org_vc, employee];
    let creds = built
        .credentials
        .iter()
        .map(|i| Credential::Ldp(raw[*i].clone()))
        .collect();
    let vp = issue_ldp_vp(
        &org.signer,
        &PresentationRequest {
            holder: org.did.clone(),
            audience: as_.issuer.clone(),
            nonce: random(),
            credentials: creds,
            now,
            validity_secs: 5,
        },
    )
    .unwrap();
    let key = dpop_key();
    let resp = as_
        .post_form(
            &as_.token_endpoint(),
            &[
                ("grant_type", "vp_token-bearer"),
                ("assertion", &vp.to_string()),
                (
                    "presentation_submission",
                    &serde_json::to_string(&built.presentation_submission).unwrap(),
                ),
                ("scope", "test"),
                ("client_id", &org.client_id),
            ],
            Some(&dpop(&key, "POST", &as_.token_endpoint(), now)),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let i = as_
        .introspect(resp.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(i["employee_name"], "John Doe");
    assert_eq!(i["employee_role"], "Janitor");
    assert_eq!(i["employee_identifier"], "123456");
    assert_eq!(i["cnf"]["jkt"], thumbprint(&key));
}

#[tokio::test]
async fn a5_4_presentations_of_different_subjects() {
    let s = setup().await;
    let r = s.valid_request().await;
    // A second VP by a did:jwk holder about itself: each VP is bound, but not to one subject.
    let mut user = SoftwareSigner::generate_es256("x").unwrap();
    let user_did = wallet_protocol::did::jwk::create(
        &wallet_protocol::jose::Jwk::from_map(wallet_protocol::signer::Signer::public_jwk(&user))
            .unwrap(),
    )
    .unwrap();
    user.set_key_id(wallet_protocol::did::jwk::key_id(&user_did).as_str());
    let now = s.as_.now();
    let vc = s.org.org_credential_for(&user_did, now - 60, now + 3600);
    let vp2 = issue_jwt_vp(
        &user,
        &PresentationRequest {
            holder: user_did,
            audience: s.as_.issuer.clone(),
            nonce: random(),
            credentials: vec![Credential::Jwt(vc)],
            now,
            validity_secs: 5,
        },
    )
    .unwrap();
    let r = Request {
        vp: json!([r.vp, vp2]).to_string(),
        ..r
    };
    let v = s.send(&r, None).await.assert_error(400, "invalid_request");
    assert_eq!(
        description(&v),
        "not all presentations have the same credential subject ID"
    );
}
