//! did:web resolution, publication bundle and status lists over a real local HTTPS server
//! (tokio-rustls) whose certificate is issued by a test CA (rcgen), both from wallet-testkit.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};
use url::Url;
use wallet_protocol::did::document::build_did_document;
use wallet_protocol::did::web::DidWebResolver;
use wallet_protocol::did::{Did, DidError, DidResolver, DidUrl};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::metadata::{self, OrgIdentity};
use wallet_protocol::net::{
    HttpClient, HttpRequest, NetError, NetPolicy, RefusalReason, ReqwestHttpClient,
};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::ldp::{self, ProofOptions};
use wallet_protocol::vc::status::{check_status, RevocationStatus};
use wallet_protocol::{FixedClock, SystemClock};
use wallet_testkit::https::{Route, StaticHttpsServer};
use wallet_testkit::pki::TestPki;

fn json_route(v: &Value) -> Route {
    Route::ok("application/json", serde_json::to_vec(v).unwrap())
}

type Pki = TestPki;

fn pki() -> Pki {
    TestPki::new("Nuts Wallet Test CA", &["localhost", "zorg.test"])
}

async fn start(pki: &Pki) -> StaticHttpsServer {
    StaticHttpsServer::start(pki).await
}

fn dev(pki: &Pki) -> NetPolicy {
    NetPolicy {
        dev: true,
        extra_ca_pem: Some(pki.ca_pem.clone()),
    }
}

fn resolver(policy: NetPolicy) -> DidWebResolver {
    let http = ReqwestHttpClient::new(policy.clone()).unwrap();
    DidWebResolver::new(Arc::new(http), policy, Arc::new(SystemClock))
}

fn org_doc(did: &Did) -> (Value, DidUrl, Jwk) {
    let kid = did.with_fragment("key-1");
    let signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
    let jwk = Jwk::from_map(signer.public_jwk()).unwrap();
    (build_did_document(did, &kid, &jwk).unwrap(), kid, jwk)
}

fn refusal(r: Result<impl std::fmt::Debug, DidError>) -> RefusalReason {
    match r {
        Err(DidError::Net(NetError::Refused(reason))) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn resolves_over_https_in_dev_mode_with_cache() {
    let pki = pki();
    let server = start(&pki).await;
    let did = Did::parse(&format!("did:web:localhost%3A{}:iam:abc", server.port)).unwrap();
    let (doc, kid, jwk) = org_doc(&did);
    server.route(
        "/iam/abc/did.json",
        Route {
            content_type: "application/did+json".into(),
            ..json_route(&doc)
        },
    );
    let root = Did::parse(&format!("did:web:localhost%3A{}", server.port)).unwrap();
    server.route("/.well-known/did.json", json_route(&org_doc(&root).0));

    let r = resolver(dev(&pki));
    let resolved = r.resolve(&did).await.unwrap();
    assert_eq!(
        resolved.assertion_key(&kid).unwrap(),
        jwk.minimal().unwrap()
    );
    r.resolve(&did).await.unwrap();
    assert_eq!(
        server.hits("/iam/abc/did.json"),
        1,
        "second resolution comes from the cache"
    );
    r.clear_cache();
    r.resolve(&did).await.unwrap();
    assert_eq!(server.hits("/iam/abc/did.json"), 2);
    assert_eq!(r.resolve(&root).await.unwrap().id(), root.as_str());
    assert!(matches!(
        r.resolve(
            &Did::parse(&format!("did:web:localhost%3A{}:iam:missing", server.port)).unwrap()
        )
        .await,
        Err(DidError::NotFound(_))
    ));
}

#[tokio::test]
async fn refuses_localhost_ip_literals_and_private_addresses_outside_dev_mode() {
    let pki = pki();
    let server = start(&pki).await;
    let did = Did::parse(&format!("did:web:localhost%3A{}:iam:abc", server.port)).unwrap();
    server.route("/iam/abc/did.json", json_route(&org_doc(&did).0));
    let strict = NetPolicy {
        dev: false,
        extra_ca_pem: Some(pki.ca_pem.clone()),
    };

    assert_eq!(
        refusal(resolver(strict.clone()).resolve(&did).await),
        RefusalReason::Localhost
    );
    let ip_did = Did::parse(&format!("did:web:127.0.0.1%3A{}:iam:abc", server.port)).unwrap();
    assert_eq!(
        refusal(resolver(strict.clone()).resolve(&ip_did).await),
        RefusalReason::IpLiteral
    );
    let private_ip = Did::parse("did:web:10.0.0.1:iam:abc").unwrap();
    assert_eq!(
        refusal(resolver(dev(&pki)).resolve(&private_ip).await),
        RefusalReason::IpLiteral
    );

    // A normal-looking host name that resolves to a loopback address is refused after DNS
    // resolution, and accepted in development mode.
    let name_did = Did::parse(&format!("did:web:zorg.test%3A{}:iam:abc", server.port)).unwrap();
    server.route("/iam/abc/did.json", json_route(&org_doc(&name_did).0));
    let hosts: HashMap<String, Vec<IpAddr>> =
        [("zorg.test".to_owned(), vec!["127.0.0.1".parse().unwrap()])].into();
    let strict_http = ReqwestHttpClient::with_static_hosts(strict.clone(), hosts.clone()).unwrap();
    let r = DidWebResolver::new(Arc::new(strict_http), strict.clone(), Arc::new(SystemClock));
    assert_eq!(
        refusal(r.resolve(&name_did).await),
        RefusalReason::ForbiddenAddress("127.0.0.1".parse().unwrap())
    );
    assert_eq!(
        server.hits("/iam/abc/did.json"),
        0,
        "nothing was fetched while refused"
    );
    let dev_http = ReqwestHttpClient::with_static_hosts(dev(&pki), hosts).unwrap();
    let r = DidWebResolver::new(Arc::new(dev_http), dev(&pki), Arc::new(SystemClock));
    assert_eq!(r.resolve(&name_did).await.unwrap().id(), name_did.as_str());

    // Plain http is refused by the client, even in development mode.
    let client = ReqwestHttpClient::new(dev(&pki)).unwrap();
    let url = Url::parse(&format!(
        "http://localhost:{}/iam/abc/did.json",
        server.port
    ))
    .unwrap();
    assert!(matches!(
        client
            .execute(HttpRequest::get(url, "application/json"))
            .await,
        Err(NetError::Refused(RefusalReason::NotHttps))
    ));
}

#[tokio::test]
async fn refuses_bad_documents_redirects_and_unknown_cas() {
    let pki = pki();
    let server = start(&pki).await;
    let base = format!("did:web:localhost%3A{}:iam", server.port);
    let r = resolver(dev(&pki));

    // Document id mismatch.
    let did = Did::parse(&format!("{base}:mismatch")).unwrap();
    let other = Did::parse(&format!("{base}:other")).unwrap();
    server.route("/iam/mismatch/did.json", json_route(&org_doc(&other).0));
    assert!(matches!(
        r.resolve(&did).await,
        Err(DidError::InvalidDocument(_))
    ));

    // Oversized document (declared length and streamed).
    let did = Did::parse(&format!("{base}:big")).unwrap();
    let (mut doc, _, _) = org_doc(&did);
    doc["padding"] = json!("x".repeat(100 * 1024));
    server.route("/iam/big/did.json", json_route(&doc));
    assert!(matches!(
        r.resolve(&did).await,
        Err(DidError::Net(NetError::TooLarge { .. }))
    ));

    // Redirects are not followed.
    let did = Did::parse(&format!("{base}:moved")).unwrap();
    server.route("/iam/target/did.json", json_route(&org_doc(&did).0));
    server.route(
        "/iam/moved/did.json",
        Route {
            status: 302,
            content_type: "text/plain".into(),
            headers: vec![(
                "location".into(),
                format!("https://localhost:{}/iam/target/did.json", server.port),
            )],
            body: vec![],
        },
    );
    assert!(matches!(
        r.resolve(&did).await,
        Err(DidError::InvalidDocument(_))
    ));
    assert_eq!(server.hits("/iam/target/did.json"), 0);

    // Wrong content type.
    let did = Did::parse(&format!("{base}:html")).unwrap();
    server.route(
        "/iam/html/did.json",
        Route {
            content_type: "text/html".into(),
            ..json_route(&org_doc(&did).0)
        },
    );
    assert!(matches!(
        r.resolve(&did).await,
        Err(DidError::InvalidDocument(_))
    ));

    // Without the extra CA the server certificate is not trusted.
    let good = Did::parse(&format!("{base}:good")).unwrap();
    server.route("/iam/good/did.json", json_route(&org_doc(&good).0));
    let before = server.connections.load(Ordering::SeqCst);
    let no_ca = resolver(NetPolicy {
        dev: true,
        extra_ca_pem: None,
    });
    assert!(matches!(
        no_ca.resolve(&good).await,
        Err(DidError::Net(NetError::Transport(_)))
    ));
    assert!(
        server.connections.load(Ordering::SeqCst) > before,
        "the TLS handshake was attempted"
    );
    assert!(r.resolve(&good).await.is_ok());
}

#[tokio::test]
async fn publication_bundle_lets_a_fresh_resolver_verify_the_entity_statement() {
    let pki = pki();
    let server = start(&pki).await;
    let did = Did::parse(&format!("did:web:localhost%3A{}:iam:4e2f", server.port)).unwrap();
    let kid = did.with_fragment("k-0");
    let signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
    let org = OrgIdentity {
        subject: "acme".into(),
        base_url: Url::parse(&format!("https://localhost:{}", server.port)).unwrap(),
        did: did.clone(),
        kid: kid.clone(),
        public_jwk: Jwk::from_map(signer.public_jwk()).unwrap(),
    };
    let files = metadata::publication_bundle(&signer, &org, &SystemClock, 3600).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "iam/4e2f/did.json",
            ".well-known/openid-configuration/oauth2/acme",
            ".well-known/oauth-authorization-server/oauth2/acme",
            "oauth2/acme/oauth-client"
        ]
    );
    for f in &files {
        server.route(
            &format!("/{}", f.path),
            Route {
                status: 200,
                content_type: f.content_type.into(),
                headers: vec![],
                body: f.content.clone(),
            },
        );
    }

    // A fresh client and resolver: fetch the statement, verify it through did:web.
    let policy = dev(&pki);
    let http = Arc::new(ReqwestHttpClient::new(policy.clone()).unwrap());
    let resolver = DidWebResolver::new(http.clone(), policy, Arc::new(SystemClock));
    let client_id = org.client_id().unwrap();
    let url = metadata::well_known_url(&client_id, "openid-configuration").unwrap();
    let resp = http
        .execute(HttpRequest::get(url, "application/entity-statement+jwt"))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.content_type.as_deref(),
        Some("application/entity-statement+jwt")
    );
    let token = String::from_utf8(resp.body).unwrap();
    let statement = metadata::verify_entity_statement(&token, &resolver, &SystemClock)
        .await
        .unwrap();
    assert_eq!(statement.kid, kid);
    assert_eq!(statement.openid_provider["issuer"], client_id.as_str());
    assert_eq!(
        statement.openid_provider["authorization_endpoint"],
        "nuts-wallet://authorize"
    );
    assert_eq!(
        statement.openid_provider["client_id_schemes_supported"],
        json!(["entity_id"])
    );
    assert_eq!(server.hits("/iam/4e2f/did.json"), 1);

    let url = metadata::well_known_url(&client_id, "oauth-authorization-server").unwrap();
    let resp = http
        .execute(HttpRequest::get(url, "application/json"))
        .await
        .unwrap();
    let as_meta: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(as_meta["issuer"], client_id.as_str());
    let url = Url::parse(&format!("{client_id}/oauth-client")).unwrap();
    let resp = http
        .execute(HttpRequest::get(url, "application/json"))
        .await
        .unwrap();
    let client_meta: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(client_meta["client_id_scheme"], "entity_id");
}

fn encode_bits(bits: &[u8]) -> String {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bits).unwrap();
    wallet_protocol::jose::b64url(&enc.finish().unwrap())
}

#[tokio::test]
async fn status_list_2021_revocation_and_soft_failure() {
    let pki = pki();
    let server = start(&pki).await;
    let did = Did::parse(&format!("did:web:localhost%3A{}:iam:issuer", server.port)).unwrap();
    let kid = did.with_fragment("k");
    let signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
    let jwk = Jwk::from_map(signer.public_jwk()).unwrap();
    server.route(
        "/iam/issuer/did.json",
        json_route(&build_did_document(&did, &kid, &jwk).unwrap()),
    );
    let list_url = format!("https://localhost:{}/statuslist/1", server.port);
    let mut bits = vec![0u8; 2048];
    bits[0] = 0b0000_0100; // index 5 revoked
    let list = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/vc/status-list/2021/v1", "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json"],
        "id": list_url,
        "type": ["VerifiableCredential", "StatusList2021Credential"],
        "issuer": did.as_str(),
        "issuanceDate": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": format!("{list_url}#list"), "type": "StatusList2021", "statusPurpose": "revocation", "encodedList": encode_bits(&bits)}
    });
    let signed = ldp::sign(
        &list,
        &signer,
        &ProofOptions {
            created: 1_735_689_600,
            ..Default::default()
        },
    )
    .unwrap();
    server.route("/statuslist/1", json_route(&signed));

    let policy = dev(&pki);
    let http = ReqwestHttpClient::new(policy.clone()).unwrap();
    let resolver = DidWebResolver::new(
        Arc::new(http.clone()),
        policy.clone(),
        Arc::new(SystemClock),
    );
    let vc = |index: &str, url: &str| {
        json!({"issuer": did.as_str(), "credentialStatus": {"id": format!("{url}#{index}"), "type": "StatusList2021Entry",
            "statusPurpose": "revocation", "statusListIndex": index, "statusListCredential": url}})
    };
    let clock = FixedClock(1_760_000_000);
    assert_eq!(
        check_status(&vc("5", &list_url), &http, &policy, &resolver, &clock).await,
        RevocationStatus::Revoked
    );
    assert_eq!(
        check_status(&vc("6", &list_url), &http, &policy, &resolver, &clock).await,
        RevocationStatus::Active
    );
    assert_eq!(
        check_status(
            &json!({"issuer": did.as_str()}),
            &http,
            &policy,
            &resolver,
            &clock
        )
        .await,
        RevocationStatus::NoStatus
    );
    // A list that is not there, or a server that is down: unknown (soft failure), with reason.
    let missing = format!("https://localhost:{}/statuslist/404", server.port);
    assert!(matches!(
        check_status(&vc("5", &missing), &http, &policy, &resolver, &clock).await,
        RevocationStatus::Unknown { .. }
    ));
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("https://localhost:{closed}/statuslist/1");
    match check_status(&vc("5", &down), &http, &policy, &resolver, &clock).await {
        RevocationStatus::Unknown { reason } => assert!(reason.contains("unavailable"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // A tampered list does not verify: unknown, never "active".
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["encodedList"] = json!(encode_bits(&[0u8; 2048]));
    server.route("/statuslist/1", json_route(&tampered));
    assert!(matches!(
        check_status(&vc("5", &list_url), &http, &policy, &resolver, &clock).await,
        RevocationStatus::Unknown { .. }
    ));
}
