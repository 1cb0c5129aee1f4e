//! What an attacker tries against the holder before consent; each test names the attack it
//! stops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wallet_core::access_policy::ServicePolicy;
use wallet_core::runtime::{ConsentError, Network, WalletRuntime};
use wallet_protocol::did::UniversalResolver;
use wallet_protocol::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, NetError, NetPolicy};
use wallet_protocol::SystemClock;
use wallet_vault::{KdfParams, Passphrase, Protection};

const ADMIN_PW: &str = "admin passphrase for attack tests";

/// A passphrase vault with the organization `https://zorg.example` set up.
fn attack_wallet(dir: &std::path::Path) -> wallet_vault::Vault {
    wallet_testkit::wallet::org_wallet(
        dir,
        Protection::Passphrase {
            passphrase: Passphrase::from("vault passphrase for attack tests"),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        "https://zorg.example",
    )
    .vault
}

/// Counts requests and answers none.
#[derive(Default)]
struct CountingHttp(AtomicUsize);

impl HttpClient for CountingHttp {
    fn execute(&self, _request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(NetError::Transport("no network in this test".into())) })
    }
}

/// A link whose `request_uri` points at another host than its `client_id` would make the
/// wallet contact that host before anyone consented: refused, and nothing is fetched.
#[tokio::test]
async fn a_request_uri_on_another_origin_is_refused_before_any_fetch() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = attack_wallet(tmp.path());
    let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let mut policy = ServicePolicy::load(&vault).unwrap();
    policy.allow_server("https://as.example/oauth2/a").unwrap();
    policy.save(&vault, &admin).unwrap();

    let http = Arc::new(CountingHttp::default());
    let net = Network {
        http: http.clone(),
        resolver: Arc::new(UniversalResolver::from_policy(&NetPolicy::default()).unwrap()),
        clock: Arc::new(SystemClock),
        policy: NetPolicy::default(),
    };
    let runtime = WalletRuntime::new(net, Arc::new(vault.clone())).allow_unsolicited(true);
    let link = runtime.receive_link(
        "nuts-wallet://authorize?client_id=https%3A%2F%2Fas.example%2Foauth2%2Fa\
         &request_uri=https%3A%2F%2Finternal.example%2Fadmin",
    );
    let e = runtime.open_consent(link.id).await.unwrap_err();
    match e {
        ConsentError::Refused { error, .. } => assert_eq!(error.code(), "request_uri_origin"),
        other => panic!("{other:?}"),
    }
    assert_eq!(http.0.load(Ordering::SeqCst), 0, "nothing was fetched");
}

/// A request object the wallet already answered, replayed to a new process (a new
/// `present` run, a restarted app), is refused: the nonce is remembered in the vault, not
/// only in the memory of the process that handled it.
#[tokio::test]
async fn a_nonce_handled_by_one_process_is_refused_by_the_next() {
    use wallet_core::openid4vp::{HolderEnv, SeenRequests};
    use wallet_protocol::oauth::ClientId;
    use wallet_protocol::openid4vp::VerifyContext;

    let tmp = tempfile::tempdir().unwrap();
    let vault = attack_wallet(tmp.path());
    let process = || HolderEnv {
        vault: vault.clone(),
        http: Arc::new(CountingHttp::default()),
        resolver: Arc::new(UniversalResolver::from_policy(&NetPolicy::default()).unwrap()),
        clock: Arc::new(SystemClock),
        seen: Arc::new(SeenRequests::default()),
        sessions: None,
        allow_unsolicited: false,
        screener: screener(Arc::new(CountingHttp::default())),
    };
    let verifier = ClientId::from("https://as.example/oauth2/a");
    let now = 1_800_000_000;
    assert!(process().first_use(&verifier, "nonce-1", now));
    assert!(
        !process().first_use(&verifier, "nonce-1", now + 1),
        "replayed"
    );
    assert!(process().first_use(&verifier, "nonce-2", now + 1));
    // Another verifier's nonce is its own.
    let other = ClientId::from("https://other.example/oauth2/b");
    assert!(process().first_use(&other, "nonce-1", now + 1));
    // Remembered as long as a request object can be valid, then evicted.
    let later = now + wallet_core::openid4vp::request::REPLAY_WINDOW_SECS + 1;
    assert!(process().first_use(&verifier, "nonce-1", later));
}

mod service_tokens {
    use super::*;
    use serde_json::{json, Value};
    use wallet_core::oauth::s2s::{S2sClient, ServiceTokenRequest};
    use wallet_core::oauth::{
        AuthorizationServerId, ChannelKind, Scope, TokenService, TokenType, VaultOrganization,
    };
    use wallet_core::roster::{self, NewRosterEntry};
    use wallet_vault::{ActivityFilter, Vault};

    const AS: &str = "https://as.example/oauth2/a";

    fn setup() -> (tempfile::TempDir, Vault, Arc<CountingHttp>, TokenService) {
        let tmp = tempfile::tempdir().unwrap();
        let vault = attack_wallet(tmp.path());
        let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
        let mut policy = ServicePolicy::load(&vault).unwrap();
        policy.allow_scope_without_prompt(AS, "zorg").unwrap();
        policy.save(&vault, &admin).unwrap();
        for id in ["active-1", "gone-1"] {
            roster::add_employee(
                &vault,
                &admin,
                NewRosterEntry {
                    identifier: id.into(),
                    name: "N".into(),
                    role: "R".into(),
                },
            )
            .unwrap();
        }
        let gone = roster::find_employee(&vault, "gone-1").unwrap();
        roster::deactivate_employee(&vault, &admin, &gone.id).unwrap();
        let http = Arc::new(CountingHttp::default());
        let service = TokenService::new(
            vault.clone(),
            S2sClient::new(http.clone(), Arc::new(SystemClock)),
            Arc::new(VaultOrganization),
            screener(http.clone()),
        );
        (tmp, vault, http, service)
    }

    fn request(credential: Value) -> ServiceTokenRequest {
        ServiceTokenRequest {
            authorization_server: AuthorizationServerId::parse(AS).unwrap(),
            scope: Scope::parse("zorg").unwrap(),
            token_type: TokenType::DPoP,
            credentials: vec![credential],
            no_cache: true,
            credential_selection: Default::default(),
        }
    }

    fn credential(types: &[&str], identifier: &str) -> Value {
        json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
            "type": types,
            "credentialSubject": {"name": "N", "roleName": "R", "identifier": identifier}
        })
    }

    /// A caller with the API key must not have the organization sign an arbitrary
    /// self-attested credential (here: one claiming to be an organization credential), nor
    /// an employee credential for someone who is not (or no longer) on the roster. Refused
    /// before anything is sent, and the activity entry says what was passed.
    #[tokio::test]
    async fn self_attested_credentials_are_limited_by_policy_and_roster() {
        let (_tmp, vault, http, service) = setup();
        for (c, why) in [
            (
                credential(&["VerifiableCredential", "NutsOrganizationCredential"], "x"),
                "not allowed by the policy",
            ),
            (
                credential(
                    &["VerifiableCredential", "NutsEmployeeCredential"],
                    "stranger",
                ),
                "not an active employee",
            ),
            (
                credential(
                    &["VerifiableCredential", "NutsEmployeeCredential"],
                    "gone-1",
                ),
                "not an active employee",
            ),
            (credential(&["VerifiableCredential"], "x"), "without a type"),
        ] {
            let e = service
                .request_service_access_token("zorg", request(c), ChannelKind::Api)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "invalid_request", "{e}");
            assert!(e.to_string().contains(why), "{e}");
        }
        assert_eq!(http.0.load(Ordering::SeqCst), 0, "nothing was sent");
        let entries = vault
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("s2s.token".into()),
                ..ActivityFilter::default()
            })
            .unwrap();
        assert!(entries.iter().any(|e| {
            e.detail["self_attested_passed"][0]["types"] == json!(["NutsOrganizationCredential"])
        }));
        assert!(entries.iter().any(|e| {
            e.detail["self_attested_passed"][0]["employee_identifier"] == json!("stranger")
        }));

        // An active roster entry's employee credential passes the check (and goes on to the
        // authorization server, unreachable here).
        let e = service
            .request_service_access_token(
                "zorg",
                request(credential(
                    &["VerifiableCredential", "NutsEmployeeCredential"],
                    "active-1",
                )),
                ChannelKind::Api,
            )
            .await
            .unwrap_err();
        assert_ne!(e.code(), "invalid_request", "{e}");
        assert!(http.0.load(Ordering::SeqCst) > 0);
    }
}

/// Links cost nothing to send: a page or program firing thousands of links that are refused
/// before anything is fetched must not grow the activity log one entry per link.
#[tokio::test]
async fn links_refused_before_any_fetch_do_not_flood_the_activity_log() {
    use wallet_core::openid4vp::request::PREFETCH_REFUSALS_PER_MINUTE;
    use wallet_vault::ActivityFilter;

    let tmp = tempfile::tempdir().unwrap();
    let vault = attack_wallet(tmp.path());
    let http = Arc::new(CountingHttp::default());
    let net = Network {
        http: http.clone(),
        resolver: Arc::new(UniversalResolver::from_policy(&NetPolicy::default()).unwrap()),
        clock: Arc::new(SystemClock),
        policy: NetPolicy::default(),
    };
    let runtime = WalletRuntime::new(net, Arc::new(vault.clone()));
    let refusals = || {
        vault
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some(wallet_core::openid4vp::ACTION_REFUSE.into()),
                ..ActivityFilter::default()
            })
            .unwrap()
    };
    let before = refusals().len();
    for i in 0..60 {
        let link = runtime.receive_link(&format!(
            "nuts-wallet://authorize?client_id=https%3A%2F%2Fv{i}.example%2Fo\
             &request_uri=https%3A%2F%2Fv{i}.example%2Fo%2Fr"
        ));
        assert!(runtime.open_consent(link.id).await.is_err());
    }
    let logged = refusals().len() - before;
    // At most two windows' worth (the loop may cross a minute boundary).
    assert!(logged >= 1, "refusals are still logged");
    assert!(
        logged <= 2 * PREFETCH_REFUSALS_PER_MINUTE as usize,
        "{logged} entries for 60 links"
    );
    assert_eq!(http.0.load(Ordering::SeqCst), 0);
}

/// The log file is read by support staff and pasted into tickets: terminal escape sequences in
/// it can rewrite what a terminal shows, and debug output of HTTP/TLS libraries (enabled by a
/// broad `RUST_LOG`) fills it with request details. The file carries no ANSI escapes and
/// other crates log only warnings there. (The colour escapes came from span fields the stderr
/// layer had formatted; they show when stderr is a terminal, e.g. run under `script`.)
#[test]
fn the_log_file_has_no_escapes_and_no_chatter_from_other_crates() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    // `info` on stderr as the app has it: stderr formats (and colours) span fields too.
    let guard = wallet_core::logging::init(Some(&logs), "info").unwrap();
    {
        let span = tracing::info_span!(target: "wallet_core::oauth", "request", subject = "zorg");
        let _e = span.enter();
        tracing::info!(target: "wallet_core::oauth", scope = "s", "own info line");
        tracing::debug!(target: "hyper::proto", "chatter from another crate");
        tracing::info!(target: "rustls::client", "more chatter");
        tracing::warn!(target: "hyper::proto", "a warning from another crate");
    }
    drop(guard);
    let mut text = String::new();
    for f in std::fs::read_dir(&logs).unwrap() {
        text.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap());
    }
    assert!(text.contains("own info line"), "{text}");
    assert!(text.contains("a warning from another crate"), "{text}");
    assert!(!text.contains("chatter"), "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");

    // Our crates follow RUST_LOG; other crates stay at warn whatever it says.
    use wallet_core::logging::file_filter_directives as d;
    assert_eq!(d(None), d(Some("info")));
    let all_debug = d(Some("debug"));
    assert!(all_debug.contains("wallet_core=debug"), "{all_debug}");
    assert!(all_debug.starts_with("warn,"), "{all_debug}");
    let mixed = d(Some("hyper=trace,wallet_api=debug,rustls"));
    assert!(!mixed.contains("hyper"), "{mixed}");
    assert!(mixed.contains("wallet_api=debug"), "{mixed}");
}

/// The presentation gate over `http` with the production resolver and clock.
fn screener(http: Arc<dyn wallet_protocol::net::HttpClient>) -> wallet_core::credentials::Screener {
    wallet_core::credentials::Screener::new(wallet_core::credentials::VerifyEnv {
        resolver: Arc::new(UniversalResolver::from_policy(&NetPolicy::default()).unwrap()),
        http,
        policy: NetPolicy::default(),
        clock: Arc::new(SystemClock),
    })
}
