//! Benchmark of the whole s2s token request against the reference authorization server on
//! loopback (HTTPS, test CA), with warm caches (AS metadata, presentation definition, TLS
//! connection, parsed wallet credentials) and the token cache bypassed (`no-cache`), so every
//! iteration builds, signs and sends a VP and the AS verifies it. Prints p50 / p95 / max.
//!
//! `cargo bench -p wallet-api --bench s2s` (env `S2S_BENCH_N`, default 200 per case).
//! Cases: the core use case (policy check, VP signing, token request, activity log entry)
//! for Bearer and DPoP, with the organization key in the vault and in SoftHSM2 (PKCS#11),
//! and the same through the loopback API (HTTP + API key check).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wallet_core::access_policy::ServicePolicy;
use wallet_core::oauth::s2s::ServiceTokenRequest;
use wallet_core::oauth::{AuthorizationServerId, ChannelKind, Scope, TokenType, VaultOrganization};
use wallet_core::org::OrgSetup;
use wallet_core::runtime::WalletRuntime;
use wallet_protocol::did;
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::net::NetPolicy;
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::{contexts, ldp};
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::{
    CreateOptions, CredentialListing, KdfParams, KeyStore, MemoryKeyStore, NewCredential,
    Passphrase, Protection, SecretString, Vault,
};

fn employee() -> Value {
    json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
        "type": ["VerifiableCredential", "NutsEmployeeCredential"],
        "credentialSubject": {"name": "John Doe", "roleName": "Janitor", "identifier": "123456"}
    })
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let q = |p: f64| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    println!(
        "{name:<44} n={:<4} p50 {:>6.2} ms   p95 {:>6.2} ms   max {:>6.2} ms",
        samples.len(),
        q(0.50),
        q(0.95),
        q(1.0)
    );
}

async fn https(dir: &std::path::Path, router: axum::Router) -> u16 {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let tls = wallet_as::server::tls_config(&dir.join("server.pem"), &dir.join("server-key.pem"))
        .unwrap();
    tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });
    port
}

fn main() {
    let n: usize = std::env::var("S2S_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n));
}

async fn run(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let pki = wallet_as::devca::generate(&["localhost".into()]).unwrap();
    std::fs::write(d.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(d.join("server.pem"), &pki.cert_pem).unwrap();
    std::fs::write(d.join("server-key.pem"), &pki.key_pem).unwrap();

    // The reference AS with the RFC021 e2e policy.
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config = toml::from_str(&format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
         key_file = \"as-key.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
         dev = true\nca_file = \"ca.pem\"\n"
    ))
    .unwrap();
    cfg.policy = vec![
        std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vectors/nuts/presentation-definitions/e2e-rfc021-policy.json"
        )),
        std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
        )),
    ];
    cfg.resolve_paths(d);
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let issuer = state.identity.issuer.clone();
    let router = wallet_as::server::router(state).unwrap();
    let tls = wallet_as::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
    tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });

    // Before anything loads the SoftHSM2 module: its configuration for this process.
    let hsm = wallet_testkit::softhsm::SoftHsm::shared();
    hsm.init_token("bench-s2s");
    let hsm_uri = hsm.uri_on("bench-s2s", "org");
    wallet_core::org::provide_pin(&hsm_uri.parse().unwrap(), hsm.pin());
    let (vault, runtime, org, cred) =
        org_wallet(d, &pki.ca_pem, &issuer, "test", false, None).await;
    let service = runtime.token_service().unwrap();
    let req = |tt: TokenType| ServiceTokenRequest {
        authorization_server: AuthorizationServerId::parse(&issuer).unwrap(),
        scope: Scope::parse("test").unwrap(),
        token_type: tt,
        credentials: vec![employee()],
        no_cache: true,
        credential_selection: Default::default(),
    };

    println!("s2s token request against the reference AS on loopback (warm caches, token cache bypassed)");
    for (name, tt) in [
        ("core use case, Bearer", TokenType::Bearer),
        ("core use case, DPoP", TokenType::DPoP),
    ] {
        // Warm-up: metadata, definition, TLS connection, parsed credentials, AS DID cache.
        for _ in 0..5 {
            service
                .request_service_access_token("zorg", req(tt), ChannelKind::Api)
                .await
                .expect("warm-up token");
        }
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            service
                .request_service_access_token("zorg", req(tt), ChannelKind::Api)
                .await
                .expect("token");
            samples.push(t.elapsed());
        }
        report(name, samples);
    }

    // The same with JWTs only: scope `zorgtoepassing` (its organization definition allows
    // jwt_vp/jwt_vc ES256) and a JWT organization credential; no JSON-LD on either side.
    let (_jvault, jruntime, _jorg, _) =
        org_wallet(d, &pki.ca_pem, &issuer, "zorgtoepassing", true, None).await;
    let jservice = jruntime.token_service().unwrap();
    let jreq = || ServiceTokenRequest {
        authorization_server: AuthorizationServerId::parse(&issuer).unwrap(),
        scope: Scope::parse("zorgtoepassing").unwrap(),
        token_type: TokenType::DPoP,
        credentials: vec![],
        no_cache: true,
        credential_selection: Default::default(),
    };
    for _ in 0..5 {
        jservice
            .request_service_access_token("zorg", jreq(), ChannelKind::Api)
            .await
            .expect("warm-up JWT token");
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        jservice
            .request_service_access_token("zorg", jreq(), ChannelKind::Api)
            .await
            .expect("JWT token");
        samples.push(t.elapsed());
    }
    report("core use case, DPoP, jwt_vp + JWT credential", samples);

    // The organization key in an HSM (SoftHSM2 through PKCS#11): every VP signed in the token.
    let (hvault, hruntime, _horg, _) =
        org_wallet(d, &pki.ca_pem, &issuer, "test", false, Some(&hsm_uri)).await;
    let hservice = hruntime.token_service().unwrap();
    for _ in 0..5 {
        hservice
            .request_service_access_token("zorg", req(TokenType::DPoP), ChannelKind::Api)
            .await
            .expect("warm-up HSM token");
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        hservice
            .request_service_access_token("zorg", req(TokenType::DPoP), ChannelKind::Api)
            .await
            .expect("HSM token");
        samples.push(t.elapsed());
    }
    report("core use case, DPoP, organization key in SoftHSM2", samples);

    // Where the time goes: the wallet-side steps on their own.
    println!("components (wallet side):");
    let time = |name: &str, f: &mut dyn FnMut()| {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            f();
            samples.push(t.elapsed());
        }
        report(name, samples);
    };
    time("  activity entry (SQLite commit, fsync)", &mut || {
        vault
            .activity_log()
            .record(wallet_vault::NewActivity::new(
                wallet_vault::Actor::System,
                "bench.noop",
                "bench",
            ))
            .unwrap();
    });
    time("  policy + organization + signer from vault", &mut || {
        ServicePolicy::load(&vault).unwrap();
        wallet_core::oauth::RequesterSource::requester(&VaultOrganization, &vault, "zorg").unwrap();
    });
    wallet_api::api_key::ensure(&vault).unwrap();
    time("  API key read from vault", &mut || {
        wallet_api::api_key::current(&vault).unwrap().unwrap();
    });
    let requester =
        wallet_core::oauth::RequesterSource::requester(&VaultOrganization, &vault, "zorg").unwrap();
    // As in a request: a fresh self-attested credential (new id) and nonce every time.
    let mut k = 0u64;
    let mut presentation = || {
        k += 1;
        let filled = wallet_core::oauth::s2s::fill_self_attested(
            &employee(),
            &org.did,
            SystemClock.now_unix(),
        )
        .unwrap();
        wallet_protocol::vp::PresentationRequest {
            holder: requester.did.clone(),
            audience: issuer.clone(),
            nonce: format!("{k:043}"),
            credentials: vec![
                wallet_protocol::vc::Credential::Ldp(cred.clone()),
                wallet_protocol::vc::Credential::Ldp(filled),
            ],
            now: SystemClock.now_unix(),
            validity_secs: 5,
        }
    };
    // The HSM's share: one ES256 signature with the key in the vault and in SoftHSM2.
    let hsm_signer =
        wallet_core::oauth::RequesterSource::requester(&VaultOrganization, &hvault, "zorg")
            .unwrap()
            .signer;
    let digest_input = [7u8; 600];
    time(
        "  ES256 signature, organization key in the vault",
        &mut || {
            requester.signer.sign(&digest_input).unwrap();
        },
    );
    time(
        "  ES256 signature, organization key in SoftHSM2",
        &mut || {
            hsm_signer.sign(&digest_input).unwrap();
        },
    );
    let prs: Vec<_> = (0..2 * n).map(|_| presentation()).collect();
    let mut it = prs.iter();
    time("  JSON-LD VP signing (URDNA2015 + ES256)", &mut || {
        wallet_protocol::vp::issue_ldp_vp(requester.signer.as_ref(), it.next().unwrap()).unwrap();
    });
    time("  JWT VP signing (same credentials)", &mut || {
        wallet_protocol::vp::issue_jwt_vp(requester.signer.as_ref(), it.next().unwrap()).unwrap();
    });
    // Canonicalization results are cached by input: every iteration gets a new document
    // (a fresh `id`), so these lines measure the work, not a cache hit.
    let mut i = 0u64;
    let mut fresh = |doc: &Value| {
        i += 1;
        let mut d = doc.clone();
        d["id"] = json!(format!("urn:uuid:00000000-0000-4000-8000-{i:012}"));
        d
    };
    let mut unsigned = cred.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    let docs: Vec<Value> = (0..n).map(|_| fresh(&unsigned)).collect();
    let mut it = docs.iter();
    time(
        "  JSON-LD canonicalization of the org credential",
        &mut || {
            ldp::canonicalize(it.next().unwrap()).unwrap();
        },
    );
    let minimal = json!({
        "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1, contexts::JWS2020_V1],
        "type": "VerifiableCredential"
    });
    let docs: Vec<Value> = (0..n).map(|_| fresh(&minimal)).collect();
    let mut it = docs.iter();
    time("  JSON-LD canonicalization, contexts only", &mut || {
        ldp::canonicalize(it.next().unwrap()).unwrap();
    });

    // Through the loopback API (HTTP on 127.0.0.1, API key check, JSON).
    let api = wallet_api::serve(wallet_api::ApiConfig {
        port: 0,
        runtime: runtime.clone(),
    })
    .await
    .unwrap();
    let key = wallet_api::api_key::current(&vault).unwrap().unwrap();
    let client = wallet_testkit::https::client_builder(None)
        .no_proxy()
        .build()
        .unwrap();
    let url = format!(
        "{}/internal/auth/v2/zorg/request-service-access-token",
        api.base_url()
    );
    let body =
        json!({"authorization_server": issuer, "scope": "test", "credentials": [employee()]})
            .to_string();
    let call = || {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("cache-control", "no-cache")
            .header("authorization", format!("Bearer {}", key.expose_secret()))
            .body(body.clone())
            .send()
    };
    for _ in 0..5 {
        assert_eq!(call().await.unwrap().status(), 200);
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = call().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    report("loopback API, DPoP (no-cache)", samples);

    // Served from the token cache (what an EHR mostly gets).
    let mut samples = Vec::with_capacity(n);
    let cached_call = || {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", key.expose_secret()))
            .body(body.clone())
            .send()
    };
    let _ = cached_call().await.unwrap().bytes().await;
    for _ in 0..n {
        let t = Instant::now();
        let r = cached_call().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    report("loopback API, DPoP (token cache hit)", samples);
    api.shutdown().await.unwrap();
}

/// An organization wallet (vault, did:web document on its own HTTPS server, one organization
/// credential: JSON-LD when `jwt` is false, else a JWT VC) allowed `scope` at `issuer`.
async fn org_wallet(
    d: &std::path::Path,
    ca_pem: &str,
    issuer: &str,
    scope: &str,
    jwt: bool,
    hsm_key: Option<&str>,
) -> (Vault, Arc<WalletRuntime>, wallet_core::org::OrgInfo, Value) {
    // The organization: vault, did:web document served over HTTPS, credential, policy.
    let doc: Arc<std::sync::Mutex<(String, String)>> = Arc::default();
    let d2 = doc.clone();
    let org_port = https(
        d,
        axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let d = d2.lock().unwrap().clone();
            async move {
                use axum::response::IntoResponse;
                if uri.path() == d.0 {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/did+json")],
                        d.1,
                    )
                        .into_response()
                } else {
                    (axum::http::StatusCode::NOT_FOUND, "").into_response()
                }
            }
        }),
    )
    .await;
    let keystore: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    let vault = Vault::create(
        &d.join(match (jwt, hsm_key) {
            (_, Some(_)) => "wallet-hsm",
            (true, None) => "wallet-jwt",
            (false, None) => "wallet",
        }),
        keystore,
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from("bench administrator passphrase"),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    let admin = vault
        .admin_session(&Passphrase::from("bench administrator passphrase"))
        .unwrap();
    let org = wallet_core::org::init_organization_with_key(
        &vault,
        &admin,
        OrgSetup {
            subject: "zorg".into(),
            base_url: format!("https://localhost:{org_port}"),
            did: None,
        },
        wallet_core::org::NewKeyLocation::parse(hsm_key).unwrap(),
    )
    .unwrap();
    *doc.lock().unwrap() = (
        url::Url::parse(&org.did_document_url)
            .unwrap()
            .path()
            .to_owned(),
        wallet_core::org::own_did_document(&org)
            .unwrap()
            .to_string(),
    );
    let now = SystemClock.now_unix();
    let mut key = SoftwareSigner::generate_es256("tmp").unwrap();
    let iss = did::jwk::create(&Jwk::from_map(key.public_jwk()).unwrap()).unwrap();
    key.set_key_id(did::jwk::key_id(&iss).as_str());
    let cred = if jwt {
        let mut claims = serde_json::Map::new();
        claims.insert(
            "organization".into(),
            json!({"name": "Zorg Utrecht", "city": "Utrecht"}),
        );
        Value::String(
            wallet_protocol::vc::jwt::issue_jwt_vc(
                &key,
                &wallet_protocol::vc::jwt::JwtVcRequest {
                    issuer: iss.clone(),
                    subject: wallet_protocol::did::Did::parse(&org.did).unwrap(),
                    credential_type: "NutsOrganizationCredential".into(),
                    extra_contexts: vec![contexts::NUTS_V1.into()],
                    subject_claims: claims,
                    not_before: now - 60,
                    expires: now + 86_400,
                },
            )
            .unwrap(),
        )
    } else {
        ldp::sign(
        &json!({
            "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1, contexts::JWS2020_V1],
            "id": format!("{iss}#{}", uuid::Uuid::new_v4()),
            "type": ["VerifiableCredential", "NutsOrganizationCredential"],
            "issuer": iss.as_str(),
            "issuanceDate": wallet_protocol::clock::format_rfc3339(now - 60),
            "credentialSubject": {"id": org.did, "organization": {"name": "Zorg Utrecht", "city": "Utrecht"}}
        }),
        &key,
        &ldp::ProofOptions {
            created: now - 60,
            expires: None,
            challenge: None,
            nonce: None,
            domain: None,
        },
    )
    .unwrap()
    };
    vault
        .credentials()
        .import(
            &admin,
            NewCredential {
                listing: CredentialListing {
                    types: vec![
                        "VerifiableCredential".into(),
                        "NutsOrganizationCredential".into(),
                    ],
                    format: if jwt { "jwt_vc" } else { "ldp_vc" }.into(),
                    issuer: iss.to_string(),
                    subject: Some(org.did.clone()),
                    valid_from_ms: Some((now - 60) * 1000),
                    valid_until_ms: None,
                },
                raw: SecretString::new(match &cred {
                    Value::String(jwt) => jwt.clone(),
                    other => other.to_string(),
                }),
            },
        )
        .unwrap();
    let mut policy = ServicePolicy::default();
    policy.allow_scope_without_prompt(issuer, scope).unwrap();
    policy.save(&vault, &admin).unwrap();
    // The employee of the self-attested credential: the wallet signs an employee credential
    // only for an active roster entry.
    wallet_core::roster::add_employee(
        &vault,
        &admin,
        wallet_core::roster::NewRosterEntry {
            identifier: "123456".into(),
            name: "John Doe".into(),
            role: "Janitor".into(),
        },
    )
    .unwrap();
    let runtime = WalletRuntime::from_net_policy(
        NetPolicy {
            dev: true,
            extra_ca_pem: Some(ca_pem.as_bytes().to_vec()),
        },
        Arc::new(vault.clone()),
    )
    .unwrap();
    (vault, Arc::new(runtime), org, cred)
}
