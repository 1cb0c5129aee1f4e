//! Unit tests of the user-flow use case: [`begin_flow`]'s checks and refusals, the activity
//! entries, and the ends of a flow without a callback state.

use super::*;
use crate::org::tests::{setup, vault};
use crate::roster::{self, NewRosterEntry};
use wallet_vault::{ActivityFilter, AdminSession};

const AS: &str = "https://as.example/oauth2/a";

struct T {
    _dir: tempfile::TempDir,
    vault: Vault,
    admin: AdminSession,
    sessions: UserSessions,
}

fn world() -> T {
    let dir = tempfile::tempdir().unwrap();
    let (vault, admin) = vault(dir.path());
    setup(&vault, &admin);
    let mut p = ServicePolicy::default();
    p.allow_server(AS).unwrap();
    p.save(&vault, &admin).unwrap();
    roster::add_employee(
        &vault,
        &admin,
        NewRosterEntry {
            identifier: "jdoe@example.com".into(),
            name: "John Doe".into(),
            role: "Verpleegkundige".into(),
        },
    )
    .unwrap();
    T {
        _dir: dir,
        vault,
        admin,
        sessions: UserSessions::default(),
    }
}

fn req() -> NewUserFlow {
    NewUserFlow {
        subject: "acme".into(),
        authorization_server: AuthorizationServerId::parse(AS).unwrap(),
        scope: Scope::parse("zorgtoepassing").unwrap(),
        token_type: TokenType::DPoP,
        app_redirect_uri: "http://localhost:4000/cb?x=1".into(),
        preauthorized_user: Some(PreauthorizedUser {
            id: "jdoe@example.com".into(),
            name: Some("John Doe".into()),
            role: Some("Verpleegkundige".into()),
        }),
        channel: ChannelKind::Api,
    }
}

fn entries(v: &Vault, action: &str) -> Vec<wallet_vault::ActivityEntry> {
    v.activity_log()
        .list(&ActivityFilter {
            action_prefix: Some(action.into()),
            ..ActivityFilter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

#[test]
fn a_valid_request_makes_a_session_and_records_the_start() {
    let t = world();
    let (id, landing) = begin_flow(&t.vault, &t.sessions, req(), 100).unwrap();
    assert_ne!(id, landing);
    assert!(matches!(t.sessions.poll(&id, 101), TokenPoll::Pending));
    let employee = t
        .sessions
        .peek_landing(&landing, 101, |s| s.flow.preauthorized_user.clone());
    assert_eq!(employee, Some(Some("jdoe@example.com".into())));
    // without preauthorized_user, and with only the id
    let mut r = req();
    r.preauthorized_user = None;
    begin_flow(&t.vault, &t.sessions, r, 100).unwrap();
    let mut r = req();
    r.preauthorized_user = Some(PreauthorizedUser {
        id: " jdoe@example.com ".into(),
        name: None,
        role: None,
    });
    begin_flow(&t.vault, &t.sessions, r, 100).unwrap();

    let e = entries(&t.vault, ACTION_USER_TOKEN_START);
    assert_eq!(e.len(), 3);
    let first = e.last().unwrap();
    assert_eq!(first.subject, AS);
    assert_eq!(first.outcome, "success");
    assert_eq!(first.detail["scope"], "zorgtoepassing");
    assert_eq!(first.detail["employee"], "jdoe@example.com");
    assert_eq!(first.detail["channel"], "api");
    assert_eq!(first.detail["flow"], flow_ref(&id));
    let d = first.detail.to_string();
    assert!(!d.contains(&id) && !d.contains(&landing), "no secrets: {d}");
}

#[test]
fn a_scope_that_needs_consent_is_fine_for_the_user_flow() {
    let t = world();
    // `allow_server` only: every scope needs consent; the clinician consents in the flow.
    assert_eq!(
        ServicePolicy::load(&t.vault)
            .unwrap()
            .decide(AS, "zorgtoepassing"),
        PolicyDecision::NeedsConsent
    );
    assert!(begin_flow(&t.vault, &t.sessions, req(), 100).is_ok());
}

fn refused(t: &T, r: NewUserFlow) -> UserFlowError {
    let before = entries(&t.vault, ACTION_USER_TOKEN_START).len();
    let e = begin_flow(&t.vault, &t.sessions, r, 100).unwrap_err();
    let after = entries(&t.vault, ACTION_USER_TOKEN_START);
    assert_eq!(after.len(), before + 1, "a refusal is recorded");
    assert_eq!(after[0].outcome, "failure");
    assert_eq!(after[0].detail["error"], e.code());
    e
}

#[test]
fn another_subject_is_refused() {
    let t = world();
    let mut r = req();
    r.subject = "other".into();
    let e = refused(&t, r);
    assert!(
        matches!(e, UserFlowError::UnknownSubject(ref s) if s == "other"),
        "{e:?}"
    );
    assert_eq!((e.http_status(), e.oauth_error()), (404, "invalid_request"));
}

#[test]
fn an_authorization_server_outside_the_policy_is_refused() {
    let t = world();
    let mut r = req();
    r.authorization_server = AuthorizationServerId::parse("https://evil.example/oauth2/x").unwrap();
    let e = refused(&t, r);
    assert!(matches!(e, UserFlowError::NotAllowed(_)), "{e:?}");
    assert_eq!((e.http_status(), e.oauth_error()), (403, "access_denied"));
    // an emptied policy refuses the allowed one too
    ServicePolicy::default().save(&t.vault, &t.admin).unwrap();
    assert!(matches!(refused(&t, req()), UserFlowError::NotAllowed(_)));
}

#[test]
fn bad_redirect_uris_are_refused() {
    let t = world();
    for bad in [
        "/relative/cb",
        "cb",
        "ftp://ehr.example/cb",
        "javascript:alert(1)",
        "https://user:pw@ehr.example/cb",
        "https://ehr.example/cb#frag",
        "",
    ] {
        let mut r = req();
        r.app_redirect_uri = bad.into();
        let e = refused(&t, r);
        assert!(
            matches!(e, UserFlowError::InvalidRequest(_)),
            "{bad}: {e:?}"
        );
        assert_eq!((e.http_status(), e.oauth_error()), (400, "invalid_request"));
    }
    let mut r = req();
    r.app_redirect_uri = format!("https://ehr.example/{}", "a".repeat(MAX_REDIRECT_URI_LEN));
    assert!(matches!(refused(&t, r), UserFlowError::InvalidRequest(_)));
    let mut r = req();
    r.app_redirect_uri = "https://ehr.example:8443/cb?session=1".into();
    assert!(begin_flow(&t.vault, &t.sessions, r, 100).is_ok());
}

#[test]
fn employees_not_on_the_roster_inactive_or_different_are_refused() {
    let t = world();
    let with = |id: &str, name: Option<&str>, role: Option<&str>| {
        let mut r = req();
        r.preauthorized_user = Some(PreauthorizedUser {
            id: id.into(),
            name: name.map(Into::into),
            role: role.map(Into::into),
        });
        r
    };
    let e = refused(&t, with("nobody@example.com", None, None));
    assert!(matches!(e, UserFlowError::UnknownEmployee(_)), "{e:?}");
    assert_eq!((e.http_status(), e.oauth_error()), (400, "invalid_request"));
    let e = refused(&t, with("  ", None, None));
    assert!(matches!(e, UserFlowError::InvalidRequest(_)), "{e:?}");
    let e = refused(&t, with("jdoe@example.com", Some("Jane Doe"), None));
    assert!(
        matches!(e, UserFlowError::EmployeeMismatch { field: "name", .. }),
        "{e:?}"
    );
    assert!(
        !e.to_string().contains("John"),
        "no roster data in the error"
    );
    assert_eq!(e.http_status(), 400);
    let e = refused(&t, with("jdoe@example.com", None, Some("Arts")));
    assert!(
        matches!(e, UserFlowError::EmployeeMismatch { field: "role", .. }),
        "{e:?}"
    );
    roster::deactivate_employee(&t.vault, &t.admin, "jdoe@example.com").unwrap();
    let e = refused(&t, req());
    assert!(matches!(e, UserFlowError::InactiveEmployee(_)), "{e:?}");
    assert_eq!((e.http_status(), e.oauth_error()), (403, "access_denied"));
}

#[test]
fn a_locked_vault_refuses() {
    let t = world();
    t.vault.lock();
    let e = begin_flow(&t.vault, &t.sessions, req(), 100).unwrap_err();
    assert!(matches!(e, UserFlowError::Locked), "{e:?}");
    assert_eq!(
        (e.http_status(), e.oauth_error()),
        (503, "temporarily_unavailable")
    );
}

#[test]
fn session_errors_map_to_the_api_statuses() {
    let e = UserFlowError::from(SessionError::UnknownLandingToken);
    assert_eq!((e.http_status(), e.oauth_error()), (400, "invalid_request"));
    let e = UserFlowError::from(SessionError::UnknownState);
    assert_eq!((e.http_status(), e.code()), (400, "unknown_state"));
    let e = UserFlowError::from(SessionError::Full);
    assert_eq!(e.http_status(), 503);
    let e = UserFlowError::from_requester(crate::oauth::ServiceTokenError::Locked);
    assert_eq!(e.http_status(), 503);
}

fn started(t: &T, state: &str, now: i64) -> String {
    let (id, landing) = begin_flow(&t.vault, &t.sessions, req(), now).unwrap();
    t.sessions
        .start(
            &landing,
            state.into(),
            PkcePair::generate().verifier,
            "https://as.example/token".into(),
            now,
        )
        .unwrap();
    id
}

#[test]
fn an_error_callback_without_state_ends_the_running_flow_of_the_subject() {
    let t = world();
    assert!(end_flow_without_state(
        &t.vault,
        &t.sessions,
        "acme",
        "k",
        "access_denied",
        "x",
        100
    )
    .is_none());
    let _older = started(&t, "s1", 100);
    let id = started(&t, "s2", 101);
    let key = t.sessions.return_key_of(&id).unwrap();
    assert_eq!(
        t.sessions
            .preauthorized_user_for(&AS.into(), 102)
            .as_deref(),
        Some("jdoe@example.com")
    );
    assert!(end_flow_without_state(
        &t.vault,
        &t.sessions,
        "other",
        &key,
        "access_denied",
        "x",
        102
    )
    .is_none());
    let f = end_flow_without_state(
        &t.vault,
        &t.sessions,
        "acme",
        &key,
        "access_denied",
        "declined\n",
        102,
    )
    .unwrap();
    assert_eq!(
        f.session_id, id,
        "the flow whose callback URL holds the key"
    );
    assert_eq!(f.flow.app_redirect_uri, "http://localhost:4000/cb?x=1");
    assert!(t.sessions.take_for_callback("s2", 102).is_err());
    assert!(matches!(
        t.sessions.poll(&id, 103),
        TokenPoll::Failed { ref error, ref description } if error == "access_denied" && description == "declined"
    ));
    let fin = entries(&t.vault, ACTION_USER_TOKEN_FINISH);
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].outcome, "declined");
    assert_eq!(fin[0].detail["error"], "access_denied");
    assert_eq!(fin[0].detail["flow"], flow_ref(&id));
    assert_eq!(fin[0].detail["employee"], "jdoe@example.com");
}

#[test]
fn a_flow_the_holder_aborted_sends_the_browser_back_once() {
    let t = world();
    let id = started(&t, "s1", 100);
    let key = t.sessions.return_key_of(&id).unwrap();
    let (aid, _) = t
        .sessions
        .abort_running_for(&AS.into(), "access_denied", "declined", 101)
        .unwrap();
    assert_eq!(aid, id);
    let other = started(&t, "s2", 101);
    let other_key = t.sessions.return_key_of(&other).unwrap();
    // the aborted flow, not the other running one
    let end = |key: &str, now| {
        end_flow_without_state(&t.vault, &t.sessions, "acme", key, "access_denied", "", now)
    };
    let f = end(&key, 102).unwrap();
    assert_eq!(f.session_id, id);
    assert!(matches!(t.sessions.poll(&other, 102), TokenPoll::Pending));
    // returned once
    assert!(end(&key, 102).is_none());
    let f = end(&other_key, 102).unwrap();
    assert_eq!(f.session_id, other);
    // an aborted flow whose browser does not come back within a minute is forgotten
    let third = started(&t, "s3", 200);
    let third_key = t.sessions.return_key_of(&third).unwrap();
    t.sessions
        .abort_running_for(&AS.into(), "access_denied", "declined", 200)
        .unwrap();
    let late = 200 + FLOW_STATE_SECS;
    assert!(end(&third_key, late).is_none());
    assert_eq!(entries(&t.vault, ACTION_USER_TOKEN_FINISH).len(), 2);
}

#[test]
fn a_flow_that_cannot_start_fails_for_the_poll() {
    let t = world();
    let (id, landing) = begin_flow(&t.vault, &t.sessions, req(), 100).unwrap();
    let f = t
        .sessions
        .fail_landing(
            &landing,
            ("temporarily_unavailable".into(), "down".into()),
            101,
        )
        .unwrap();
    assert_eq!(f.session_id, id);
    assert!(t
        .sessions
        .fail_landing(&landing, ("x".into(), "y".into()), 101)
        .is_none());
    assert!(matches!(
        t.sessions.poll(&id, 101),
        TokenPoll::Failed { .. }
    ));
}

#[test]
fn abort_flow_ends_the_running_flow_of_the_verifier_and_records_it() {
    let t = world();
    assert!(abort_flow(&t.vault, &t.sessions, &AS.into(), "access_denied", "x", 100).is_none());
    let id = started(&t, "s1", 100);
    assert!(abort_flow(
        &t.vault,
        &t.sessions,
        &"https://other.example".into(),
        "e",
        "",
        101
    )
    .is_none());
    let f = abort_flow(
        &t.vault,
        &t.sessions,
        &AS.into(),
        "access_denied",
        "declined",
        101,
    )
    .unwrap();
    assert_eq!(f.session_id, id);
    assert!(matches!(
        t.sessions.poll(&id, 102),
        TokenPoll::Failed { .. }
    ));
    let fin = entries(&t.vault, ACTION_USER_TOKEN_FINISH);
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].outcome, "declined");
    assert_eq!(fin[0].subject, AS);
}

/// A web page can send the browser to the wallet's callback with an error and no state; without
/// the flow's return key that ends no flow and records nothing.
#[test]
fn an_error_callback_without_the_return_key_ends_nothing() {
    let t = world();
    let id = started(&t, "s1", 100);
    let key = t.sessions.return_key_of(&id).unwrap();
    for guess in ["", "x", &key[1..], &format!("{key}x")] {
        assert!(end_flow_without_state(
            &t.vault,
            &t.sessions,
            "acme",
            guess,
            "access_denied",
            "attacker text",
            101
        )
        .is_none());
    }
    assert!(matches!(t.sessions.poll(&id, 101), TokenPoll::Pending));
    assert!(entries(&t.vault, ACTION_USER_TOKEN_FINISH).is_empty());
    // the callback URL the wallet registers carries the key
    let cb = callback_for("http://127.0.0.1:1/oauth2/acme/callback", &key);
    let q: Vec<(String, String)> = Url::parse(&cb)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q, vec![(RETURN_KEY_PARAM.to_owned(), key)]);
}
