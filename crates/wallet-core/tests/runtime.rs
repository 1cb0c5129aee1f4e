//! The whole user flow on the wallet runtime, without a window: the wallet as OAuth client
//! starts a flow, the reference authorization server (`wallet-as`, also the OpenID4VP
//! verifier, over HTTPS on loopback with a test CA) sends the browser to the wallet, the link
//! arrives in the runtime's inbox, the consent is opened, the approver chosen (the
//! named-employee rule refuses anyone else in the model), the answer sent, and the code
//! exchanged for the token.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use wallet_core::access_policy::ServicePolicy;
use wallet_core::oauth::dpop::DpopNonces;
use wallet_core::oauth::service::RequesterSource;
use wallet_core::oauth::user::{self, NewUserFlow, PreauthorizedUser, TokenPoll};
use wallet_core::oauth::{
    AuthorizationServerId, ChannelKind, Requester, Scope, TokenType, VaultOrganization,
};
use wallet_core::openid4vp::{self, Round};
use wallet_core::roster::{self, NewRosterEntry};
use wallet_core::runtime::{Answer, ConsentError, WalletRuntime};
use wallet_protocol::net::{HttpRequest, NetPolicy};
use wallet_protocol::{Clock, SystemClock};
use wallet_testkit::https::StaticHttpsServer;
use wallet_testkit::pki::TestPki;
use wallet_vault::{ActivityFilter, KdfParams, Passphrase, Protection, Vault};

const ADMIN_PW: &str = "admin passphrase for runtime tests";
const EMPLOYEE: &str = "jdoe@example.com";
const COLLEAGUE: &str = "colleague@example.com";
const CALLBACK: &str = "http://127.0.0.1/oauth2/zorg/callback";

fn zorgtoepassing() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
    ))
}

struct World {
    _tmp: tempfile::TempDir,
    vault: Vault,
    issuer: String,
    runtime: WalletRuntime,
    requester: Requester,
    org_server: StaticHttpsServer,
    _as_task: tokio::task::JoinHandle<()>,
}

/// The AS, the organization's web server with its publication bundle, a vault with the
/// organization, its credential, two employees and a policy that lists the AS; the runtime
/// over it in development mode with the test CA.
async fn world() -> World {
    world_with(wallet_core::org::NewKeyLocation::Vault).await
}

/// [`world`] with the organization key in `key`.
async fn world_with(key: wallet_core::org::NewKeyLocation) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    let pki = TestPki::localhost();
    pki.write_files(&pki_dir);

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config =
        toml::from_str(&wallet_testkit::pki::reference_as_toml(port)).unwrap();
    cfg.policy = vec![zorgtoepassing()];
    cfg.resolve_paths(&pki_dir);
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let router = wallet_as::server::router(state.clone()).unwrap();
    let tls = wallet_as::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
    let as_task = tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });

    let org_server = StaticHttpsServer::start(&pki).await;
    let wallet_testkit::wallet::OrgWallet { vault, .. } =
        wallet_testkit::wallet::org_wallet_with_key(
            &tmp.path().join("wallet"),
            Protection::Passphrase {
                passphrase: Passphrase::from("vault passphrase for runtime tests"),
                kdf: KdfParams::INSECURE_TEST,
            },
            ADMIN_PW,
            &org_server.base(),
            key,
        );
    let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let out = tmp.path().join("bundle");
    let report = wallet_core::org::publish(&vault, &admin, &out, &SystemClock).unwrap();
    for f in &report.files {
        let body = std::fs::read(out.join(&f.path)).unwrap();
        org_server.serve(&format!("/{}", f.path), &f.content_type, body);
    }
    for (identifier, name) in [(EMPLOYEE, "John Doe"), (COLLEAGUE, "Col League")] {
        roster::add_employee(
            &vault,
            &admin,
            NewRosterEntry {
                identifier: identifier.into(),
                name: name.into(),
                role: "Verpleegkundige".into(),
            },
        )
        .unwrap();
    }
    let mut policy = ServicePolicy::load(&vault).unwrap();
    policy.allow_server(&state.identity.issuer).unwrap();
    policy.save(&vault, &admin).unwrap();

    let net = NetPolicy {
        dev: true,
        extra_ca_pem: Some(pki.ca_pem.clone()),
    };
    let runtime = WalletRuntime::from_net_policy(net, Arc::new(vault.clone())).unwrap();
    let requester = VaultOrganization.requester(&vault, "zorg").unwrap();
    World {
        _tmp: tmp,
        vault,
        issuer: state.identity.issuer.clone(),
        runtime,
        requester,
        org_server,
        _as_task: as_task,
    }
}

impl World {
    /// The client side up to the wallet link, as the loopback API does it: the EHR names
    /// `named`; the browser at the AS is redirected to the wallet. Returns the session id and
    /// the link text.
    async fn start(&self, named: &str) -> (String, String) {
        self.try_start(named).await.unwrap()
    }

    /// [`World::start`], or why the flow could not start.
    async fn try_start(
        &self,
        named: &str,
    ) -> Result<(String, String), wallet_core::oauth::user_flow::UserFlowError> {
        let now = SystemClock.now_unix();
        let sessions = self.runtime.sessions();
        let (session_id, landing) = user::begin_flow(
            &self.vault,
            sessions,
            NewUserFlow {
                subject: "zorg".into(),
                authorization_server: AuthorizationServerId::parse(&self.issuer).unwrap(),
                scope: Scope::parse("zorgtoepassing").unwrap(),
                token_type: TokenType::DPoP,
                app_redirect_uri: "https://ehr.example/cb".into(),
                preauthorized_user: Some(PreauthorizedUser {
                    id: named.into(),
                    name: None,
                    role: None,
                }),
                channel: ChannelKind::Api,
            },
            now,
        )
        .unwrap();
        let http = &self.runtime.network().http;
        let authorize = user::start_flow(
            http.as_ref(),
            &self.vault,
            sessions,
            &self.requester,
            &landing,
            CALLBACK,
            now,
        )
        .await?;
        let resp = http
            .execute(HttpRequest::get(authorize, "application/json"))
            .await
            .unwrap();
        assert_eq!(resp.status, 302);
        Ok((session_id, resp.header("location").unwrap().to_owned()))
    }

    fn sent(&self) -> usize {
        self.entries(openid4vp::ACTION_SEND).len()
    }

    /// Activity entries whose action starts with `prefix`, newest first.
    fn entries(&self, prefix: &str) -> Vec<wallet_vault::ActivityEntry> {
        self.vault
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some(prefix.into()),
                ..ActivityFilter::default()
            })
            .unwrap()
    }
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_to_token_on_the_runtime() {
    let t = world().await;
    link_to_token(&t).await;
}

/// The whole flow with the organization key in SoftHSM2: the organization round's VP and
/// request object are signed inside the token; while the token is gone, starting a flow is
/// "try again later" (503), and once it is back the next flow works without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_flow_with_the_organization_key_in_an_hsm() {
    let hsm = wallet_testkit::softhsm::SoftHsm::shared();
    let token = "runtime-user-flow";
    hsm.init_token(token);
    let uri = hsm.uri_on(token, "org");
    wallet_core::org::provide_pin(&uri.parse().unwrap(), hsm.pin());
    let t = world_with(wallet_core::org::NewKeyLocation::parse(Some(&uri)).unwrap()).await;
    let org = wallet_core::org::require_organization(&t.vault).unwrap();
    assert_eq!(org.key_store, wallet_core::org::KeyStoreKind::Pkcs11);
    assert!(
        t.vault
            .keys()
            .list()
            .unwrap()
            .iter()
            .all(|k| k.purpose != wallet_core::org::ORG_KEY_PURPOSE),
        "no organization key in the vault"
    );
    link_to_token(&t).await;

    // The token disappears (unplugged, network HSM down).
    let dir = hsm.token_dir(token);
    let away = hsm
        .tokens_dir()
        .parent()
        .unwrap()
        .join(format!("parked-{token}"));
    std::fs::rename(&dir, &away).unwrap();
    let err = match t.try_start(EMPLOYEE).await {
        Err(e) => e,
        Ok(_) => panic!("a flow started without the organization key"),
    };
    assert_eq!(err.http_status(), 503, "{err}");
    assert_eq!(err.code(), "key_unavailable");
    // Back: the next flow works, same process.
    std::fs::rename(&away, &dir).unwrap();
    link_to_token(&t).await;
}

async fn link_to_token(t: &World) {
    let sent_before = t.sent();
    let incoming_before = t.runtime.incoming().len();
    let (session_id, link) = t.start(EMPLOYEE).await;

    // the link arrives: parsed once, into a typed request
    let received = t.runtime.receive_link(&link);
    let parsed = received.parsed.as_ref().expect("a wallet request");
    assert_eq!(parsed.client_id.as_str(), t.issuer);
    assert_eq!(t.runtime.incoming().len(), incoming_before + 1);

    // resolve → the consent view
    let view = t.runtime.open_consent(received.id).await.expect("verified");
    assert_eq!(view.verifier.client_id, t.issuer);
    assert_eq!(view.scope.as_deref(), Some("zorgtoepassing"));
    assert!(view.fulfilled, "{view:?}");
    assert!(!view.unsolicited);
    assert_eq!(view.organization[0].claims[0].id, "organization_name");
    assert_eq!(view.named_employee.as_deref(), Some(EMPLOYEE));
    let approvers: Vec<&str> = view
        .approvers
        .iter()
        .map(|a| a.identifier.as_str())
        .collect();
    assert_eq!(approvers, [EMPLOYEE], "only the named employee is offered");
    assert!(view.deadline_ms > SystemClock.now_unix() * 1000);
    // opening it again shows the same request
    let again = t.runtime.open_consent(received.id).await.unwrap();
    assert_eq!(again.verifier, view.verifier);

    // choose the approver: the employee round's claims for them
    let view = t.runtime.choose_approver(received.id, EMPLOYEE).unwrap();
    let round = view.user_round.expect("zorgtoepassing has a user round");
    assert!(round.problem.is_none(), "{round:?}");
    assert!(round
        .claims
        .iter()
        .any(|c| c.id == "employee_name" && c.value == "John Doe"));

    // approve → both rounds → the code at the wallet's callback
    let out = t
        .runtime
        .decide(
            received.id,
            Answer::Approve {
                employee: EMPLOYEE.into(),
            },
        )
        .await
        .expect("dispatched");
    assert!(out.approved);
    assert_eq!(out.rounds, vec![Round::Organization, Round::User]);
    assert!(out.continue_to.starts_with(CALLBACK), "{}", out.continue_to);
    assert_eq!(t.sent(), sent_before + 2);
    // answered once
    assert!(matches!(
        t.runtime
            .decide(received.id, Answer::Decline { employee: None })
            .await,
        Err(ConsentError::Slot(_))
    ));

    // the callback: code exchange, then the token for the EHR's poll
    let q = query(&out.redirect_uri);
    user::complete_flow(
        t.runtime.network().http.as_ref(),
        &DpopNonces::default(),
        &t.vault,
        t.runtime.sessions(),
        &t.requester,
        &q["state"],
        Some(&q["code"]),
        None,
        CALLBACK,
        SystemClock.now_unix(),
    )
    .await
    .expect("code exchanged");
    match t
        .runtime
        .sessions()
        .poll(&session_id, SystemClock.now_unix())
    {
        TokenPoll::Active(token) => {
            let v: Value = token.to_api_json(SystemClock.now_unix());
            assert_eq!(v["token_type"], json!("DPoP"), "{v}");
        }
        other => panic!("no token: {other:?}"),
    }
}

/// Employees chosen by OS account: only the roster entry linked to the OS session's user
/// approves; an OS user on no roster entry is refused before the request is fetched; a request
/// the healthcare application started for someone else is refused before the clinician is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employees_chosen_by_os_account() {
    let t = world().await;
    let admin = t.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    roster::set_employee_selection(
        &t.vault,
        &admin,
        wallet_core::profile::EmployeeSelection::OsAccount,
    )
    .unwrap();
    let me = roster::current_os_account().expect("the OS user of the test");

    // Not linked: refused with a sentence that says why, nothing fetched or sent.
    let (_, link) = t.start(EMPLOYEE).await;
    let id = t.runtime.receive_link(&link).id;
    match t.runtime.open_consent(id).await {
        Err(ConsentError::NotThisComputerAccount(why)) => {
            assert!(why.contains(&format!("\"{me}\" is not linked")), "{why}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Linked to the named employee: only they are offered; a colleague cannot approve.
    roster::set_os_account(&t.vault, &admin, EMPLOYEE, Some(&me)).unwrap();
    let (_, link) = t.start(EMPLOYEE).await;
    let id = t.runtime.receive_link(&link).id;
    let view = t.runtime.open_consent(id).await.unwrap();
    let offered: Vec<&str> = view
        .approvers
        .iter()
        .map(|a| a.identifier.as_str())
        .collect();
    assert_eq!(offered, [EMPLOYEE]);
    assert!(matches!(
        t.runtime
            .decide(
                id,
                Answer::Approve {
                    employee: COLLEAGUE.into()
                }
            )
            .await,
        Err(ConsentError::NotThisComputerAccount(_))
    ));
    assert_eq!(t.sent(), 0);

    // The healthcare application named the colleague, but this computer is the employee's:
    // refused before the request object is fetched (its address is made to fail here, so a
    // fetch would end in a fetch refusal instead).
    let (_, link) = t.start(COLLEAGUE).await;
    let mut u = url::Url::parse(&link).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "request_uri" {
                format!("{v}-missing")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let id = t.runtime.receive_link(u.as_str()).id;
    match t.runtime.open_consent(id).await {
        Err(ConsentError::NotThisComputerAccount(why)) => {
            assert!(
                why.contains(&format!("started this request for {COLLEAGUE}")),
                "{why}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(t.sent(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_refuses_another_employee_than_the_named_one() {
    let t = world().await;
    let (_, link) = t.start(EMPLOYEE).await;
    let id = t.runtime.receive_link(&link).id;
    let view = t.runtime.open_consent(id).await.unwrap();
    assert!(view.approvers.iter().all(|a| a.identifier != COLLEAGUE));

    let e = t.runtime.choose_approver(id, COLLEAGUE).unwrap_err();
    assert!(
        matches!(&e, ConsentError::NotTheNamedEmployee { named, chosen } if named == EMPLOYEE && chosen == COLLEAGUE),
        "{e:?}"
    );
    let e = t
        .runtime
        .decide(
            id,
            Answer::Approve {
                employee: COLLEAGUE.into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ConsentError::NotTheNamedEmployee { .. }),
        "{e:?}"
    );
    assert_eq!(t.sent(), 0, "nothing was sent");
    // refused before dispatch: the consent is still open for the named employee
    let view = t.runtime.choose_approver(id, EMPLOYEE).unwrap();
    assert_eq!(view.approver.as_deref(), Some(EMPLOYEE));
}

/// A decline is the clinician's: the activity log names the employee at the screen (the one
/// chosen there, else the one the healthcare application named), not the wallet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_is_attributed_to_the_employee_who_declined() {
    let t = world().await;
    let id_of = |identifier: &str| roster::find_employee(&t.vault, identifier).unwrap().id;
    let declines = || t.entries(openid4vp::ACTION_DECLINE);

    // Chosen on the screen.
    let (_, link) = t.start(EMPLOYEE).await;
    let id = t.runtime.receive_link(&link).id;
    t.runtime.open_consent(id).await.unwrap();
    let out = t
        .runtime
        .decide(
            id,
            Answer::Decline {
                employee: Some(EMPLOYEE.into()),
            },
        )
        .await
        .unwrap();
    assert!(!out.approved);
    let d = declines();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].actor, format!("employee:{}", id_of(EMPLOYEE)));
    assert_eq!(d[0].outcome, "declined");

    // Nobody chosen: the employee the healthcare application named.
    let (_, link) = t.start(EMPLOYEE).await;
    let id = t.runtime.receive_link(&link).id;
    t.runtime.open_consent(id).await.unwrap();
    t.runtime
        .decide(id, Answer::Decline { employee: None })
        .await
        .unwrap();
    assert_eq!(declines()[0].actor, format!("employee:{}", id_of(EMPLOYEE)));

    // A choice that is on no roster entry is not believed: the named employee again.
    let (_, link) = t.start(EMPLOYEE).await;
    let id = t.runtime.receive_link(&link).id;
    t.runtime.open_consent(id).await.unwrap();
    let before = declines().len();
    t.runtime
        .decide(
            id,
            Answer::Decline {
                employee: Some("nobody@example.com".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(declines().len(), before + 1);
    assert_eq!(declines()[0].actor, format!("employee:{}", id_of(EMPLOYEE)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_link_is_kept_with_its_refusal_and_never_fetched() {
    let t = world().await;
    let received = t
        .runtime
        .receive_link("nuts-wallet://authorize?client_id=http://as.example/o");
    assert_eq!(
        received.parsed.as_ref().unwrap_err().code(),
        "invalid_parameter"
    );
    let e = t.runtime.open_consent(received.id).await.unwrap_err();
    assert!(matches!(e, ConsentError::InvalidLink(_)), "{e:?}");
    assert!(matches!(
        t.runtime.open_consent(99).await,
        Err(ConsentError::Slot(wallet_core::runtime::SlotError::Unknown))
    ));
}

/// Revocation before presenting, user flow: the organization credential's status is
/// re-checked when a request is opened. A revoked credential is withheld and the consent
/// screen says which and why; an unreachable list lets it go ahead with the reason on the
/// screen and in the activity log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_screen_withholds_a_revoked_credential_and_says_why() {
    use wallet_core::credentials::NoteCode;
    let t = world().await;
    let admin = t.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let list_path = "/statuslist/7";
    let issuer =
        wallet_testkit::vc::StatusIssuer::new(&format!("{}{list_path}", t.org_server.base()));
    let serve = |revoked: &[u64]| {
        let list = issuer.status_list(revoked, SystemClock.now_unix(), 86_400);
        t.org_server
            .serve(list_path, "application/json", list.to_string().into_bytes());
    };
    serve(&[]);
    for m in t
        .vault
        .credentials()
        .list(&wallet_vault::CredentialFilter::default())
        .unwrap()
    {
        t.vault.credentials().delete(&admin, &m.id).unwrap();
    }
    let org = wallet_core::org::require_organization(&t.vault).unwrap();
    let cred = issuer.org_credential(&org.did, 5, SystemClock.now_unix());
    wallet_core::credentials::import_credential(
        &t.vault,
        &admin,
        &cred.to_string(),
        &t.runtime.verify_env(),
    )
    .await
    .unwrap();
    let open = || async {
        let (_, link) = t.start(EMPLOYEE).await;
        let id = t.runtime.receive_link(&link).id;
        (id, t.runtime.open_consent(id).await.expect("verified"))
    };

    // Active.
    let (_, view) = open().await;
    assert!(view.fulfilled, "{view:?}");
    assert!(view.withheld.is_empty() && view.revocation_unchecked.is_empty());
    let facts = view.organization[0].candidates[0]
        .organization
        .clone()
        .expect("who the credential names");
    assert_eq!(facts.name.as_deref(), Some("Zorg Utrecht"));
    assert_eq!(facts.city.as_deref(), Some("Utrecht"));

    // Revoked: withheld before the clinician is asked, with the reason.
    serve(&[5]);
    t.runtime.forget_status_lists();
    let (_, view) = open().await;
    assert!(!view.fulfilled, "nothing left to present");
    assert_eq!(view.withheld.len(), 1, "{view:?}");
    assert_eq!(view.withheld[0].code, NoteCode::Revoked);
    assert!(view.withheld[0]
        .types
        .contains(&"NutsOrganizationCredential".to_owned()));

    // The list server is down: offered, with the reason, and the reason is logged with
    // what was sent.
    t.org_server.route(
        list_path,
        wallet_testkit::https::Route {
            status: 503,
            content_type: "text/plain".into(),
            headers: vec![],
            body: b"down".to_vec(),
        },
    );
    t.runtime.forget_status_lists();
    let (id, view) = open().await;
    assert!(view.fulfilled, "{view:?}");
    assert_eq!(view.revocation_unchecked.len(), 1);
    assert_eq!(
        view.revocation_unchecked[0].code,
        NoteCode::RevocationUnknown
    );
    assert!(
        view.revocation_unchecked[0].detail.contains("503"),
        "{:?}",
        view.revocation_unchecked
    );
    t.runtime
        .decide(
            id,
            Answer::Approve {
                employee: EMPLOYEE.into(),
            },
        )
        .await
        .expect("sent");
    let sent = t
        .vault
        .activity_log()
        .list(&ActivityFilter {
            action_prefix: Some(openid4vp::ACTION_SEND.into()),
            ..ActivityFilter::default()
        })
        .unwrap();
    let org_round = sent
        .iter()
        .find(|e| e.detail["round"] == "organization")
        .expect("the organization round");
    assert_eq!(org_round.outcome, "success");
    assert_eq!(
        org_round.detail["revocation_unchecked"][0]["code"], "revocation_unknown",
        "{}",
        org_round.detail
    );
}
