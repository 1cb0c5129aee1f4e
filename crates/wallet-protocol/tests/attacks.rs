//! What an attacker tries against the outbound HTTP guard and the request-object checks; each
//! test names the attack it stops.

use std::net::IpAddr;

use url::Url;
use wallet_protocol::net::{NetError, NetPolicy, RefusalReason};
use wallet_protocol::openid4vp::{check_request_uri_origin, RequestObjectError};

fn dev() -> NetPolicy {
    NetPolicy {
        dev: true,
        extra_ca_pem: None,
    }
}

/// A host name that resolves to an IPv6 address tunnelling to an internal IPv4 address
/// (IPv4-compatible, 6to4, Teredo) or to a site-local address must not be reached.
#[test]
fn ipv6_forms_that_reach_ipv4_or_site_local_are_refused() {
    for ip in [
        "::7f00:1",
        "::a00:1",
        "::169.254.169.254",
        "2002:a9fe:a9fe::1",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "fec0::1",
        "feff::1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        for p in [NetPolicy::default(), dev()] {
            assert_eq!(
                p.check_ip(ip).unwrap_err().to_string(),
                NetError::Refused(RefusalReason::ForbiddenAddress(ip)).to_string(),
                "{ip} (dev {})",
                p.dev
            );
        }
    }
    // Ordinary global IPv6 stays reachable.
    assert!(NetPolicy::default()
        .check_ip("2001:4860:4860::8888".parse().unwrap())
        .is_ok());
}

/// Development mode trusts loopback test servers only: a link must not turn a wallet in
/// development mode into a scanner of the office network (RFC 1918, CGNAT, ULA).
#[test]
fn development_mode_allows_loopback_but_not_private_networks() {
    for ip in ["127.0.0.1", "::1"] {
        assert!(dev().check_ip(ip.parse().unwrap()).is_ok(), "{ip}");
    }
    for ip in [
        "10.0.0.8",
        "172.16.3.4",
        "192.168.1.1",
        "100.64.0.1",
        "fd00::1",
        "::ffff:192.168.1.1",
    ] {
        assert!(dev().check_ip(ip.parse().unwrap()).is_err(), "{ip}");
    }
}

/// An unsigned link may not make the wallet fetch from a host other than the verifier's:
/// `request_uri` must be on `client_id`'s origin.
#[test]
fn request_uri_on_another_origin_than_client_id_is_refused() {
    let u = |s: &str| Url::parse(s).unwrap();
    let client = u("https://as.example/oauth2/a");
    assert!(
        check_request_uri_origin(&client, &u("https://as.example/oauth2/a/request.jwt/1")).is_ok()
    );
    for other in [
        "https://evil.example/r",
        "https://as.example:8443/r",
        "https://sub.as.example/r",
        "http://as.example/r",
    ] {
        assert!(
            matches!(
                check_request_uri_origin(&client, &u(other)),
                Err(RequestObjectError::RequestUriOrigin(_))
            ),
            "{other}"
        );
    }
}

mod request_object {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use serde_json::{json, Map, Value};
    use wallet_protocol::clock::{Clock, FixedClock};
    use wallet_protocol::did::{self, DidResolver, StaticDidResolver};
    use wallet_protocol::jose::{self, Jwk, SoftwareSigner};
    use wallet_protocol::metadata;
    use wallet_protocol::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, NetError};
    use wallet_protocol::oauth::ClientId;
    use wallet_protocol::openid4vp::{
        PresentationRequest, RequestObjectError, Unverified, VerifyContext, MAX_LIFETIME_SECS,
    };
    use wallet_protocol::signer::Signer;

    const NOW: i64 = 1_800_000_000;
    const CLIENT: &str = "https://verifier.example/oauth2/v";
    const WALLET: &str = "https://zorg.example/oauth2/zorg";

    /// A verifier with a did:jwk key whose entity statement lists it.
    struct Env {
        signer: SoftwareSigner,
        did: String,
        statement: String,
        resolver: StaticDidResolver,
        clock: FixedClock,
        seen: Mutex<HashSet<String>>,
    }

    impl HttpClient for Env {
        fn execute(&self, _r: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
            let body = self.statement.clone().into_bytes();
            Box::pin(async move {
                Ok(HttpResponse {
                    status: 200,
                    content_type: Some(metadata::ENTITY_STATEMENT_CONTENT_TYPE.into()),
                    body,
                    headers: Vec::new(),
                })
            })
        }
    }

    impl VerifyContext for Env {
        fn http(&self) -> &dyn HttpClient {
            self
        }
        fn resolver(&self) -> &dyn DidResolver {
            &self.resolver
        }
        fn clock(&self) -> &dyn Clock {
            &self.clock
        }
        fn first_use(&self, _c: &ClientId, nonce: &str, _now: i64) -> bool {
            self.seen.lock().unwrap().insert(nonce.to_owned())
        }
    }

    fn env() -> Env {
        let mut signer = SoftwareSigner::generate_es256("k").unwrap();
        let d = did::jwk::create(&Jwk::from_map(signer.public_jwk()).unwrap()).unwrap();
        signer.set_key_id(did::jwk::key_id(&d).as_str());
        let statement =
            metadata::build_entity_statement(&signer, CLIENT, json!({}), NOW - 10, NOW + 3600)
                .unwrap();
        Env {
            did: d.as_str().to_owned(),
            signer,
            statement,
            resolver: StaticDidResolver::new(),
            clock: FixedClock(NOW),
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn claims(e: &Env) -> Map<String, Value> {
        let Value::Object(m) = json!({
            "iss": e.did,
            "client_id": CLIENT,
            "client_id_scheme": "entity_id",
            "aud": WALLET,
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": "https://verifier.example/oauth2/v/response",
            "presentation_definition_uri": "https://verifier.example/pd",
            "client_metadata_uri": "https://verifier.example/client",
            "nonce": "n-1",
            "state": "s",
            "iat": NOW,
            "exp": NOW + 300,
        }) else {
            unreachable!()
        };
        m
    }

    fn verify(e: &Env, jwt: String) -> Result<(), RequestObjectError> {
        futures::executor::block_on(PresentationRequest::<Unverified>::new(jwt).verify(
            e,
            &ClientId::from(CLIENT),
            Some(WALLET),
        ))
        .map(|_| ())
        .map_err(|r| r.error)
    }

    fn sign(e: &Env, typ: Option<&str>, c: &Map<String, Value>) -> String {
        jose::sign_compact(&e.signer, typ, Map::new(), &serde_json::to_vec(c).unwrap()).unwrap()
    }

    /// A well-formed request object passes (the baseline the refusals below differ from).
    #[test]
    fn a_normal_request_object_is_accepted() {
        let e = env();
        verify(&e, jose::sign_jwt(&e.signer, &claims(&e)).unwrap()).unwrap();
    }

    /// A captured request object without `exp` would stay usable forever: refused.
    #[test]
    fn a_request_object_without_exp_is_refused() {
        let e = env();
        let mut c = claims(&e);
        c.remove("exp");
        assert!(matches!(
            verify(&e, sign(&e, Some("JWT"), &c)),
            Err(RequestObjectError::Lifetime(_))
        ));
    }

    /// A far-future `exp` (or one far after `iat`) outlives any replay memory: refused.
    #[test]
    fn a_request_object_valid_for_too_long_is_refused() {
        let e = env();
        let mut c = claims(&e);
        c.insert("exp".into(), json!(NOW + 86_400));
        assert!(matches!(
            verify(&e, sign(&e, Some("JWT"), &c)),
            Err(RequestObjectError::Lifetime(_))
        ));
        let mut c = claims(&e);
        c.insert("iat".into(), json!(NOW - MAX_LIFETIME_SECS));
        c.insert("exp".into(), json!(NOW + 60));
        assert!(matches!(
            verify(&e, sign(&e, Some("JWT"), &c)),
            Err(RequestObjectError::Lifetime(_))
        ));
    }

    /// An `iat` older than the longest lifetime is refused even with a near `exp`.
    #[test]
    fn a_request_object_issued_long_ago_is_refused() {
        let e = env();
        let mut c = claims(&e);
        c.insert("iat".into(), json!(NOW - MAX_LIFETIME_SECS - 1));
        c.insert("exp".into(), json!(NOW - MAX_LIFETIME_SECS + 30));
        assert!(verify(&e, sign(&e, Some("JWT"), &c)).is_err());
        let mut c = claims(&e);
        c.insert("iat".into(), json!(NOW - MAX_LIFETIME_SECS - 100));
        c.insert("exp".into(), json!(NOW + 10));
        assert!(verify(&e, sign(&e, Some("JWT"), &c)).is_err());
    }

    /// Another JWT the verifier signed (a DPoP proof, a VP, ...) must not pass as a request
    /// object: `typ` must be that of a request object.
    #[test]
    fn a_jwt_of_another_type_is_not_a_request_object() {
        let e = env();
        for typ in [
            None,
            Some("dpop+jwt"),
            Some("vp+jwt"),
            Some("entity-statement+jwt"),
        ] {
            assert!(
                matches!(
                    verify(&e, sign(&e, typ, &claims(&e))),
                    Err(RequestObjectError::Signature(_))
                ),
                "{typ:?}"
            );
        }
        verify(&e, sign(&e, Some("oauth-authz-req+jwt"), &claims(&e))).unwrap();
    }
}
