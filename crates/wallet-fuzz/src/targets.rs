//! The fuzz targets: every parser that reads what a verifier, a web page, a file or a local
//! process hands the wallet. Each checks that nothing panics and, where it holds, that
//! parse(print(x)) gives x back.

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Map, Value};
use wallet_core::deeplink::{self, AuthorizeLink, DeepLink, RequestUriMethod};
use wallet_pex::{evaluate, EvaluateOptions, PresentationDefinition, WalletCredential};
use wallet_protocol::did::{self, jwk, web, x509, Did, DidResolver, DidUrl};
use wallet_protocol::jose::{b64url, sign_compact, CompactJws, DetachedJws, SoftwareSigner};
use wallet_protocol::signer::Signer;

use crate::engine::{mutate_json, Rng, Target};

/// The repository's `vectors/nuts` directory.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors/nuts")
}

fn read_vector(rel: &str) -> Vec<u8> {
    std::fs::read(vectors_dir().join(rel)).unwrap_or_default()
}

fn files_in(rel: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(vectors_dir().join(rel)) {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(b) = std::fs::read(&p) {
                out.push(b);
            }
        }
    }
    out
}

/// Dictionary words as bytes.
pub fn words(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// Drives a future that never waits on I/O (every resolver used here answers at once).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Deep links

const LINK_OK: &str = "nuts-wallet://authorize?client_id=https%3A%2F%2Fas.example%2Foauth2%2Fa&request_uri=https%3A%2F%2Fas.example%2Foauth2%2Fa%2Frequest.jwt%2F1&request_uri_method=get";

fn print_link(l: &AuthorizeLink) -> String {
    let method = match l.request_uri_method {
        RequestUriMethod::Get => "get",
        RequestUriMethod::Post => "post",
    };
    format!(
        "nuts-wallet://authorize?client_id={}&request_uri={}&request_uri_method={method}",
        form_encode(l.client_id.as_str()),
        form_encode(l.request_uri.as_str()),
    )
}

/// `wallet_core::deeplink::{parse, parse_authorize_link}`; accepted links print and parse back
/// to the same link.
pub fn deeplink() -> Target {
    let seeds = words(&[
        LINK_OK,
        "nuts-wallet:authorize?client_id=https://as.example/a&request_uri=https://as.example/r",
        "nuts-wallet:///authorize?client_id=https://a.example&request_uri=https://a.example/r&request_uri_method=post",
        "nuts-wallet:?client_id=https://a.example&request_uri=https://a.example/r",
        "openid4vp:?client_id=https%3A%2F%2Fv.example%2Foauth2%2Fv&request_uri=https%3A%2F%2Fv.example%2Foauth2%2Fv%2Frequest.jwt%2Fx&request_uri_method=post",
        "openid4vp://authorize?client_id=https://v.example&request_uri=https://v.example/x&client_id_scheme=entity_id",
        "nuts-wallet://authorize?client_id=https://[::1]:8443/a&request_uri=https://127.0.0.1/r",
    ]);
    let dict = words(&[
        "nuts-wallet:",
        "openid4vp:",
        "//authorize",
        "authorize",
        "client_id=",
        "request_uri=",
        "request_uri_method=",
        "post",
        "get",
        "request=",
        "https://",
        "http://",
        "https%3A%2F%2F",
        "[::1]",
        "xn--",
        "%25",
        "&client_id=https://x",
        "&request_uri=https://y/r",
    ]);
    Target::text("deeplink", seeds, dict, |s| {
        let _ = deeplink::parse(s);
        match deeplink::parse_authorize_link(s) {
            Ok(link) => {
                let printed = print_link(&link);
                let again = deeplink::parse(&printed)
                    .unwrap_or_else(|e| panic!("printed link {printed:?} refused: {e}"));
                assert_eq!(again, DeepLink::Authorize(link), "link round trip");
                let _ = serde_json::to_string(&again);
                true
            }
            Err(e) => {
                let _ = (e.code(), e.to_string());
                false
            }
        }
    })
    .with_generator(|rng, _| {
        let hosts = [
            "as.example",
            "xn--nxasmq6b.example",
            "[::1]",
            "127.0.0.1",
            "a..b",
            "",
            "é.example",
            "a.example:0",
            "a.example:99999",
            "user@host",
        ];
        let schemes = ["https://", "http://", "file://", "", "javascript:"];
        let url = |rng: &mut Rng| {
            format!(
                "{}{}/{}",
                rng.pick(&schemes),
                rng.pick(&hosts),
                rng.pick(&["", "oauth2/a", "r?x=1", "%2e%2e/", "#f", "a b"])
            )
        };
        let mut parts = Vec::new();
        for name in ["client_id", "request_uri", "request_uri_method", "request"] {
            let n = match rng.below(6) {
                0 => 0,
                1 => 2,
                _ => 1,
            };
            for _ in 0..n {
                let v = if name == "request_uri_method" {
                    rng.pick(&["get", "post", "", "GET", "put"]).to_string()
                } else {
                    url(rng)
                };
                let v = if rng.one_in(2) { form_encode(&v) } else { v };
                parts.push(format!("{name}={v}"));
            }
        }
        let prefix = rng.pick(&[
            "nuts-wallet://authorize?",
            "nuts-wallet:?",
            "openid4vp:?",
            "openid4vp://?",
            "nuts-wallet:///authorize?",
            "nuts-wallet://other?",
            " nuts-wallet:authorize?",
        ]);
        format!("{prefix}{}", parts.join("&")).into_bytes()
    })
}

// ---------------------------------------------------------------------------------------------
// Compact JWS and request objects

fn jws_seeds(signer: &SoftwareSigner) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = [
        "credentials/jwt-vc-sphereon-didjwk.jwt",
        "credentials/jwt-vc-nutsemployee-shape-only.jwt",
        "credentials/dpop-proof-token-endpoint.jwt",
        "credentials/jwt-vp-didnuts-shape-only.jwt",
    ]
    .iter()
    .map(|p| read_vector(p))
    .filter(|b| !b.is_empty())
    .collect();
    let claims = request_claims();
    if let Ok(jwt) = sign_compact(
        signer,
        Some("oauth-authz-req+jwt"),
        Map::new(),
        claims.to_string().as_bytes(),
    ) {
        seeds.push(jwt.into_bytes());
    }
    seeds
}

fn request_claims() -> Value {
    json!({
        "iss": "did:web:v.example",
        "client_id": "https://v.example/oauth2/v",
        "client_id_scheme": "entity_id",
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": "https://v.example/oauth2/v/response",
        "nonce": "n-0S6_WzA2Mj",
        "state": "af0ifjsldkj",
        "aud": "https://self-issued.me/v2",
        "iat": 1_700_000_000,
        "exp": 1_700_000_300,
        "presentation_definition_uri": "https://v.example/pd",
        "scope": "eOverdracht-sender"
    })
}

fn jws_dict() -> Vec<Vec<u8>> {
    words(&[
        ".", "..", "eyJ", "ES256", "EdDSA", "none", "HS256", "alg", "kid", "crit", "b64", "x5c",
        "typ", "did:jwk:", "did:web:", "#0", "=", "+", "/",
    ])
}

/// A JWS built from JSON parts: a (mutated) header and payload, a random signature.
fn generate_jws(rng: &mut Rng, signer_kid: &str) -> Vec<u8> {
    let dict = jws_dict();
    let mut header = json!({ "alg": "ES256", "kid": signer_kid, "typ": "oauth-authz-req+jwt" });
    let mut claims = request_claims();
    for _ in 0..rng.below(4) {
        mutate_json(rng, &mut header, &dict, 0);
    }
    for _ in 0..rng.below(4) {
        mutate_json(rng, &mut claims, &dict, 0);
    }
    let sig: Vec<u8> = (0..*rng.pick(&[0usize, 1, 63, 64, 65, 200]))
        .map(|_| rng.next_u64() as u8)
        .collect();
    let h = b64url(header.to_string().as_bytes());
    let p = b64url(claims.to_string().as_bytes());
    let s = if rng.one_in(3) {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &sig)
    } else {
        b64url(&sig)
    };
    format!("{h}.{p}.{s}").into_bytes()
}

fn fuzz_signer() -> SoftwareSigner {
    let mut signer = SoftwareSigner::generate_es256("k").expect("P-256 key");
    let did = jwk::create(
        &wallet_protocol::jose::Jwk::from_map(signer.public_jwk()).expect("public JWK"),
    )
    .expect("did:jwk");
    signer.set_key_id(jwk::key_id(&did).to_string());
    signer
}

/// `CompactJws::parse` (and `DetachedJws::parse`); parsed tokens re-encode and parse back to
/// the same header, payload and signature.
pub fn compact_jws() -> Target {
    let signer = fuzz_signer();
    let kid = signer.key_id().to_owned();
    Target::text("compact_jws", jws_seeds(&signer), jws_dict(), |s| {
        let _ = DetachedJws::parse(s);
        let Ok(jws) = CompactJws::parse(s) else {
            return false;
        };
        let _ = (jws.header_x5c(), jws.header_str("kid"), jws.claims());
        let printed = format!(
            "{}.{}.{}",
            b64url(&serde_json::to_vec(&jws.header).expect("header prints")),
            b64url(&jws.payload),
            b64url(&jws.signature)
        );
        let again =
            CompactJws::parse(&printed).unwrap_or_else(|e| panic!("re-encoded JWS refused: {e}"));
        assert_eq!(again.header, jws.header, "header round trip");
        assert_eq!(again.payload, jws.payload, "payload round trip");
        assert_eq!(again.signature, jws.signature, "signature round trip");
        assert_eq!(again.alg, jws.alg, "alg round trip");
        true
    })
    .with_generator(move |rng, _| generate_jws(rng, &kid))
}

/// Resolves did:jwk locally and refuses every other method at once (no I/O).
struct LocalResolver;

impl DidResolver for LocalResolver {
    fn resolve<'a>(
        &'a self,
        did: &'a Did,
    ) -> wallet_protocol::net::BoxFuture<'a, Result<did::DidDocument, did::DidError>> {
        Box::pin(async move {
            if did.method() == "jwk" {
                jwk::resolve(did)
            } else {
                Err(did::DidError::UnsupportedMethod(did.method().to_owned()))
            }
        })
    }
}

/// What the wallet does with a fetched request object before any claim is trusted:
/// `did::verify_jws` (split, decode, `kid` as a DID URL, did:jwk / did:x509 key from the token
/// itself, signature), then the claims as JSON. Structure-aware inputs carry a did:jwk `kid`
/// so the key decoding and signature check run on every one of them.
pub fn request_object() -> Target {
    let signer = fuzz_signer();
    let kid = signer.key_id().to_owned();
    let mut dict = jws_dict();
    dict.push(kid.clone().into_bytes());
    Target::text(
        "request_object",
        jws_seeds(&signer),
        dict,
        |s| match block_on(did::verify_jws(s, &LocalResolver, 1_700_000_100)) {
            Ok((jws, kid)) => {
                let _ = jws.claims();
                assert_eq!(
                    DidUrl::parse(kid.as_str()).ok().as_ref(),
                    Some(&kid),
                    "kid round trip"
                );
                true
            }
            Err(e) => {
                let _ = e.to_string();
                false
            }
        },
    )
    .with_generator(move |rng, _| generate_jws(rng, &kid))
}

// ---------------------------------------------------------------------------------------------
// Presentation definitions

/// Every object with `input_descriptors` inside `v` (policy files hold several).
fn definitions_in(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("input_descriptors") {
                out.push(v.clone());
            }
            m.values().for_each(|c| definitions_in(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| definitions_in(c, out)),
        _ => {}
    }
}

fn definition_seeds() -> Vec<Vec<u8>> {
    let mut defs = Vec::new();
    for file in files_in("presentation-definitions") {
        if let Ok(v) = serde_json::from_slice::<Value>(&file) {
            definitions_in(&v, &mut defs);
        }
    }
    defs.iter()
        .filter_map(|d| serde_json::to_vec(d).ok())
        .collect()
}

fn credential_seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = files_in("credentials")
        .into_iter()
        .filter(|c| {
            std::str::from_utf8(c)
                .ok()
                .is_some_and(|t| WalletCredential::parse(t).is_ok())
        })
        .collect();
    out.sort();
    out
}

fn wallet_credentials() -> Vec<WalletCredential> {
    credential_seeds()
        .iter()
        .filter_map(|c| WalletCredential::parse(&String::from_utf8_lossy(c)).ok())
        .collect()
}

fn pex_dict() -> Vec<Vec<u8>> {
    words(&[
        "input_descriptors",
        "constraints",
        "fields",
        "path",
        "filter",
        "type",
        "const",
        "pattern",
        "enum",
        "format",
        "minimum",
        "maxLength",
        "submission_requirements",
        "rule",
        "pick",
        "all",
        "count",
        "min",
        "max",
        "from",
        "from_nested",
        "group",
        "limit_disclosure",
        "optional",
        "id",
        "$",
        "$.type",
        "$..*",
        "$.credentialSubject.organization.name",
        "$['a']",
        "$[?(@ == 1)]",
        "$[-1:]",
        "string",
        "array",
        "object",
        "date-time",
        "(a+)+$",
        "[",
        "\\",
        "ldp_vc",
        "jwt_vc",
        "proof_type",
        "alg",
    ])
}

/// `PresentationDefinition::parse` over arbitrary JSON, then `evaluate` and `evaluate_with`
/// against the vectors' credentials; an accepted definition re-parses from its JSON.
pub fn pex_definition() -> Target {
    let creds = wallet_credentials();
    Target::text(
        "pex_definition",
        definition_seeds(),
        pex_dict(),
        move |input| {
            let Ok(pd) = PresentationDefinition::parse(input) else {
                return false;
            };
            let again = PresentationDefinition::from_json(pd.to_json().clone())
                .unwrap_or_else(|e| panic!("a definition's own JSON is refused: {e}"));
            assert_eq!(again.id(), pd.id(), "definition round trip");
            assert_eq!(
                again.input_descriptors().len(),
                pd.input_descriptors().len(),
                "descriptor round trip"
            );
            let e = evaluate(&pd, &creds, Some(1_700_000_000));
            let _ = serde_json::to_string(&e);
            let _ = evaluate(&pd, &creds, None);
            let _ = pd.credentials_required();
            if let Some(d) = pd.input_descriptors().first() {
                let mut options = EvaluateOptions {
                    now: Some(1_700_000_000),
                    ..EvaluateOptions::default()
                };
                options.selection.insert(d.id().to_owned(), 0);
                let _ = wallet_pex::evaluate_with(&pd, &creds, &options);
            }
            true
        },
    )
}

/// `WalletCredential::parse` over arbitrary credentials (JSON-LD objects and JWTs), then
/// `evaluate` of the vectors' definitions over them.
pub fn pex_credential() -> Target {
    let defs: Vec<PresentationDefinition> = definition_seeds()
        .iter()
        .filter_map(|d| PresentationDefinition::parse(&String::from_utf8_lossy(d)).ok())
        .collect();
    let mut dict = pex_dict();
    dict.extend(words(&[
        "credentialSubject",
        "issuer",
        "issuanceDate",
        "expirationDate",
        "validFrom",
        "validUntil",
        "NutsOrganizationCredential",
        "NutsEmployeeCredential",
        "VerifiableCredential",
        "@context",
        "proof",
        "vc",
        "nbf",
        "exp",
        "2024-02-30T25:61:61Z",
        "9999-12-31T23:59:59Z",
        "-0001-01-01T00:00:00Z",
    ]));
    Target::text("pex_credential", credential_seeds(), dict, move |input| {
        let Ok(cred) = WalletCredential::parse(input) else {
            return false;
        };
        let creds = [cred];
        for pd in &defs {
            let _ = evaluate(pd, &creds, Some(1_700_000_000));
        }
        true
    })
}

// ---------------------------------------------------------------------------------------------
// DIDs

/// `Did::parse`, `DidUrl::parse`, the did:web ↔ URL mapping (a DID's URL maps back to the
/// same DID), did:jwk decoding (a decoded key re-encodes to a DID that decodes to the same
/// key), did:jwk resolution and did:x509 parsing.
pub fn did() -> Target {
    let signer = fuzz_signer();
    let kid = signer.key_id().to_owned();
    let seeds = words(&[
        "did:web:zorg.example",
        "did:web:zorg.example%3A8443:iam:abc",
        "did:web:localhost%3A1234:a:b:c#key-1",
        "did:nuts:B8PUHs2AUHbFF1xLLK4eZjgErEcMXHxs68FteY7NDtCY#key-1",
        "did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::san:uri:https%3A%2F%2Fexample.com",
        "did:x509:0:sha256:WE4P5dd8DnLHSkyHaIjhp4udlkF9LqoKwCvu9gl38jk::subject:O:Zorg%20BV::eku:1.3.6.1.5.5.7.3.2",
        "https://zorg.example:8443/iam/abc",
        &kid,
    ]);
    let dict = words(&[
        "did:", "web:", "jwk:", "x509:", "nuts:", ":", "%3A", "%2F", "%2e%2e", "#", "?", "/", "::",
        "san:", "subject:", "eku:", "sha256:", "0:", "eyJ",
    ]);
    Target::text("did", seeds, dict, |s| {
        if let Ok(u) = url::Url::parse(s) {
            if let Ok(d) = web::url_to_did(&u) {
                assert_eq!(Did::parse(d.as_str()).ok(), Some(d), "did from URL");
            }
        }
        let did_part = s.split('#').next().unwrap_or_default();
        let mut accepted = false;
        if let Ok(u) = DidUrl::parse(s) {
            assert_eq!(
                DidUrl::parse(u.as_str()).ok().as_ref(),
                Some(&u),
                "DID URL round trip"
            );
            assert_eq!(u.did().as_str(), did_part, "DID of a DID URL");
            let _ = u.fragment();
            accepted = true;
        }
        let Ok(d) = Did::parse(did_part) else {
            return accepted;
        };
        assert_eq!(
            Did::parse(d.as_str()).ok().as_ref(),
            Some(&d),
            "DID round trip"
        );
        let _ = (d.method(), d.method_specific_id(), d.with_fragment("0"));
        if let Ok(u) = web::did_to_url(&d) {
            // url_to_did does not percent-encode, so it refuses some hosts did_to_url
            // accepts (an IPv6 literal, `=` in a host); where it answers, it answers the
            // same DID back.
            if let Ok(back) = web::url_to_did(&u) {
                let again = web::did_to_url(&back)
                    .unwrap_or_else(|e| panic!("did:web {back} from URL {u} refused: {e}"));
                assert_eq!(again, u, "did:web ↔ URL round trip");
            }
        }
        if let Ok(key) = jwk::decode(&d) {
            let _ = key.thumbprint_sha256();
            let re = jwk::create(&key).unwrap_or_else(|e| panic!("decoded key: {e}"));
            let key2 = jwk::decode(&re).unwrap_or_else(|e| panic!("re-encoded key: {e}"));
            assert_eq!(key2.as_map(), key.as_map(), "did:jwk round trip");
            let _ = jwk::resolve(&d);
        }
        let _ = x509::parse(&d);
        true
    })
    .with_generator(|rng, _| {
        let method = *rng.pick(&["web", "jwk", "x509", "nuts", "Web", ""]);
        let mut id = String::new();
        for i in 0..=rng.below(4) {
            if i > 0 {
                id.push(':');
            }
            let part = rng.choose(&[
                "zorg.example",
                "zorg.example%3A8443",
                "%2e%2e",
                "a%2Fb",
                "%",
                "%zz",
                "",
                "xn--bcher-kva.example",
                "127.0.0.1",
                "%5B%3A%3A1%5D",
                "iam",
                "0",
                "sha256",
                "san",
                "eyJrdHkiOiJFQyJ9",
            ]);
            id.push_str(part);
        }
        let frag = *rng.pick(&["", "#0", "#key-1", "#", "#a#b"]);
        format!("did:{method}:{id}{frag}").into_bytes()
    })
}

/// PKCS#11 URIs as administrators type them (`org init --key`, stored organization keys):
/// nothing panics, and a URI that parses prints to one that parses to the same.
pub fn pkcs11_uri() -> Target {
    let seeds = words(&[
        "pkcs11:token=ziekenhuis;object=org?module-path=/usr/lib/softhsm/libsofthsm2.so",
        "pkcs11:token=a%20b;object=%6Frg;id=%01%02;slot-id=3?module-path=/x.so",
        "pkcs11:object=o;token=t?module-path=/m.so&pin-value=1234",
    ]);
    let dict = words(&[
        "pkcs11:",
        "token=",
        "object=",
        "id=",
        "slot-id=",
        "?",
        "&",
        ";",
        "module-path=",
        "pin-value=",
        "pin-source=",
        "%",
        "%00",
        "%2F",
        "/",
        "=",
    ]);
    Target::text("pkcs11_uri", seeds, dict, |s| {
        let Ok(uri) = s.parse::<wallet_core::org::Pkcs11Uri>() else {
            return false;
        };
        let printed = uri.to_string();
        let again: wallet_core::org::Pkcs11Uri = printed
            .parse()
            .unwrap_or_else(|e| panic!("printed URI refused: {printed:?}: {e}"));
        assert_eq!(again, uri, "PKCS#11 URI round trip");
        // A PIN never sits in a stored URI: no query attribute named pin-… (a path may say it).
        let query = printed.split_once('?').map_or("", |(_, q)| q);
        assert!(
            !query.split('&').any(|a| a.starts_with("pin-")),
            "a PIN attribute survived: {printed}"
        );
        true
    })
}

/// The organization profile's envelope as a workstation reads a file from a share: the compact
/// JWE (header checks before decryption) and the enrollment secret's text form. Nothing panics;
/// only the one key opens a sealed value.
pub fn profile_envelope() -> Target {
    use wallet_protocol::jwe;
    const TYP: &str = "nuts-wallet-profile+jwe";
    let key = [9u8; 32];
    let sealed = jwe::seal_dir(&key, TYP, "JWT", b"header.payload.sig").expect("seal");
    let seeds = vec![
        sealed.clone().into_bytes(),
        b"nwe_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_vec(),
    ];
    let dict = words(&[
        "eyJ", ".", "nwe_", "A256GCM", "dir", "zip", "crit", "\"typ\"",
    ]);
    Target::text("profile_envelope", seeds, dict, move |s| {
        let _ = wallet_core::profile::EnrollmentSecret::parse(s);
        match jwe::open_dir(&key, TYP, s) {
            Ok((payload, _)) => {
                assert_eq!(
                    payload, b"header.payload.sig",
                    "only the sealed value opens"
                );
                true
            }
            Err(_) => {
                assert!(
                    jwe::open_dir(&[8u8; 32], TYP, s).is_err(),
                    "another key opened it"
                );
                false
            }
        }
    })
}

/// All the pure targets (no vault, no server).
pub fn all() -> Vec<Target> {
    vec![
        deeplink(),
        compact_jws(),
        request_object(),
        pex_definition(),
        pex_credential(),
        did(),
        pkcs11_uri(),
        profile_envelope(),
    ]
}
