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
