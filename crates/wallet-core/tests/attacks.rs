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
    let wallet_testkit::wallet::OrgWallet { vault, .. } = wallet_testkit::wallet::org_wallet(
        tmp.path(),
        Protection::Passphrase {
            passphrase: Passphrase::from("vault passphrase for attack tests"),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        "https://zorg.example",
    );
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
    let wallet_testkit::wallet::OrgWallet { vault, .. } = wallet_testkit::wallet::org_wallet(
        tmp.path(),
        Protection::Passphrase {
            passphrase: Passphrase::from("vault passphrase for attack tests"),
            kdf: KdfParams::INSECURE_TEST,
        },
        ADMIN_PW,
        "https://zorg.example",
    );
    let process = || HolderEnv {
        vault: vault.clone(),
        http: Arc::new(CountingHttp::default()),
        resolver: Arc::new(UniversalResolver::from_policy(&NetPolicy::default()).unwrap()),
        clock: Arc::new(SystemClock),
        seen: Arc::new(SeenRequests::default()),
        sessions: None,
        allow_unsolicited: false,
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
