//! The user-flow test world shared by the API tests and the attack suite: the reference AS,
//! a wallet with its organization published and a roster, the loopback API over the wallet's
//! runtime, and a browser/EHR client that follows no redirects.
#![allow(dead_code)]

use std::collections::HashMap;

use serde_json::{json, Value};
use wallet_api::{api_key, serve, ApiConfig, ApiHandle};
use wallet_core::deeplink::{self, AuthorizeLink, DeepLink};
use wallet_core::openid4vp::HolderEnv;
use wallet_core::roster::{self, NewRosterEntry};
use wallet_protocol::SystemClock;
use wallet_vault::{ActivityEntry, ActivityFilter, Passphrase};

use crate::support::*;

pub const USER_SCOPE: &str = "zorgtoepassing";
pub const EHR: &str = "https://ehr.example/cb?ehr_session=7";

pub struct World {
    pub _pki: Pki,
    pub as_: TestAs,
    pub w: Wallet,
    pub api: ApiHandle,
    pub key: String,
    pub env: HolderEnv,
    /// The browser (and the EHR): trusts the test CA, follows no redirects.
    pub http: reqwest::Client,
}

pub async fn world() -> World {
    let pki = Pki::new();
    let as_ = TestAs::start_with(&pki, vec![user_policy_file()]).await;
    let w = Wallet::new(&pki, &[(as_.issuer.as_str(), USER_SCOPE)], None).await;
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    // The publication bundle (DID document, entity statement), where the AS fetches it.
    let out = tempfile::tempdir().unwrap();
    let report = wallet_core::org::publish(&w.vault, &admin, out.path(), &SystemClock).unwrap();
    for f in &report.files {
        let body = std::fs::read(out.path().join(&f.path)).unwrap();
        w.org_server
            .serve(&format!("/{}", f.path), 200, &f.content_type, body);
    }
    for (identifier, name) in [
        ("jdoe@example.com", "John Doe"),
        ("former@example.com", "Former Employee"),
    ] {
        roster::add_employee(
            &w.vault,
            &admin,
            NewRosterEntry {
                identifier: identifier.into(),
                name: name.into(),
                role: "Verpleegkundige".into(),
            },
        )
        .unwrap();
    }
    roster::deactivate_employee(&w.vault, &admin, "former@example.com").unwrap();
    // One runtime (one session store) for the API and the holder, as the app wires them.
    let api = serve(ApiConfig {
        port: 0,
        runtime: w.runtime.clone(),
    })
    .await
    .unwrap();
    let key = api_key::current(&w.vault)
        .unwrap()
        .unwrap()
        .expose_secret()
        .to_owned();
    let env = w.runtime.holder_env().unwrap();
    let http = pki.reqwest();
    World {
        _pki: pki,
        as_,
        w,
        api,
        key,
        env,
        http,
    }
}

pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn body(as_: &str, token_type: &str) -> Value {
    json!({
        "authorization_server": as_,
        "scope": USER_SCOPE,
        "redirect_uri": EHR,
        "token_type": token_type,
        "preauthorized_user": {"id": "jdoe@example.com", "name": "John Doe", "role": "Verpleegkundige"},
    })
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: String,
    pub text: String,
}

impl World {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api.base_url())
    }

    pub async fn request(&self, subject: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        let mut rb = self
            .http
            .post(self.url(&format!(
                "/internal/auth/v2/{subject}/request-user-access-token"
            )))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            rb = rb.header("authorization", format!("Bearer {k}"));
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
        )
    }

    pub async fn poll(&self, session_id: &str, key: Option<&str>) -> (u16, Value) {
        let mut rb = self
            .http
            .get(self.url(&format!("/internal/auth/v2/accesstoken/{session_id}")));
        if let Some(k) = key {
            rb = rb.header("authorization", format!("Bearer {k}"));
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
        )
    }

    /// A browser GET, no redirects followed.
    pub async fn browse(&self, url: &str) -> Page {
        let r = self.http.get(url).send().await.unwrap();
        let header = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        Page {
            status: r.status().as_u16(),
            location: header("location"),
            content_type: header("content-type").unwrap_or_default(),
            text: r.text().await.unwrap(),
        }
    }

    /// request-user-access-token with `body` → `(landing URL, session id)`.
    pub async fn begin(&self, body: &Value) -> (String, String) {
        let (s, v) = self.request("zorg", Some(&self.key), body).await;
        assert_eq!(s, 200, "{v}");
        (
            v["redirect_uri"].as_str().unwrap().to_owned(),
            v["session_id"].as_str().unwrap().to_owned(),
        )
    }

    /// The browser from the landing URL to the AS, which redirects to the wallet.
    pub async fn to_wallet(&self, landing: &str) -> AuthorizeLink {
        let p = self.browse(landing).await;
        assert_eq!(p.status, 302, "{}", p.text);
        let at_as = p.location.unwrap();
        assert!(
            at_as.starts_with(&format!("{}/", self.as_.base)),
            "to the AS: {at_as}"
        );
        let q = query(&at_as);
        assert_eq!(q["client_id"], self.w.org.client_id);
        assert!(q.contains_key("request"), "JAR #1 by value");
        let p = self.browse(&at_as).await;
        assert_eq!(p.status, 302, "{}", p.text);
        let DeepLink::Authorize(link) = deeplink::parse(&p.location.unwrap()).unwrap();
        link
    }

    pub fn activity(&self, action: &str) -> Vec<ActivityEntry> {
        self.w
            .vault
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some(action.into()),
                ..ActivityFilter::default()
            })
            .unwrap()
            .into_iter()
            .filter(|e| e.action == action)
            .collect()
    }
}
