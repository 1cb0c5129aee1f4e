//! The user flow (docs/protocol.md §3) through the real app window: the EHR asks the app's
//! loopback API for a user access token, the browser follows to the reference AS, which sends
//! it to the wallet link; a second launch of the app binary hands the link over (as the OS does), the
//! consent screen shows the verified verifier, scope and claims of both rounds; Approve
//! completes the flow and the EHR collects the token; a second run is declined.
//! Needs Xvfb, a D-Bus session with an unlocked keyring and tauri-driver (`scripts/test.sh`).

use std::time::Duration;

use fantoccini::Locator;
use nuts_wallet_e2e::userflow::{World, EHR_REDIRECT, EMPLOYEE, SCOPE};
use nuts_wallet_e2e::{
    assert_accessible, attr, click, screenshot, second_launch, wait_text, Driver,
};

const API_PORT: u16 = 18_182;

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn claim(c: &fantoccini::Client, section: &str, id: &str) -> String {
    let css = format!("{section} dd[data-claim='{id}']");
    c.find(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_link_consent_approve_then_decline() {
    let w = World::start("user-flow", API_PORT).await;
    let driver = Driver::start(4446, &w.app_env());
    let c = driver.session().await;
    // The keyring-protected vault opens by itself; the loopback API starts with it.
    wait_text(&c, "#waiting", "").await;
    w.wait_for_api().await;

    // 1. Approve, DPoP.
    let (link, session) = w.wallet_link("DPoP").await;
    let (status, pending) = w.collect(&session).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "pending", "{pending}");
    second_launch(&link);
    wait_text(&c, "#presentation-title", "Ziekenhuis Oost").await;
    assert_eq!(
        attr(&c, "#presentation-scope", "data-scope")
            .await
            .as_deref(),
        Some(SCOPE)
    );
    wait_text(&c, "#presentation-verifier", "localhost").await;
    wait_text(&c, "#presentation-scope", "viewing the patient record").await;
    assert_eq!(
        claim(&c, "#presentation-organization", "organization_name").await,
        "Zorg Utrecht"
    );
    assert_eq!(
        claim(&c, "#presentation-organization", "organization_city").await,
        "Utrecht"
    );
    // Who the credential names is already in the claims shared: not repeated.
    assert!(
        c.find(Locator::Css("#presentation-organization .org-names"))
            .await
            .is_err(),
        "name and city are not shown twice"
    );
    assert!(
        c.find(Locator::Css("#presentation-withheld"))
            .await
            .is_err(),
        "nothing withheld"
    );
    // The employee round, previewed for the one active employee.
    wait_text(&c, "#presentation-user", EMPLOYEE.1).await;
    assert_eq!(
        claim(&c, "#presentation-user", "employee_name").await,
        EMPLOYEE.1
    );
    assert_eq!(
        claim(&c, "#presentation-user", "employee_role").await,
        EMPLOYEE.2
    );
    assert_eq!(
        claim(&c, "#presentation-user", "employee_identifier").await,
        EMPLOYEE.0
    );
    wait_text(&c, "#presentation-countdown", "0:").await;
    assert!(
        c.find(Locator::Css("#presentation-unsolicited"))
            .await
            .is_err(),
        "the wallet started this flow: no unsolicited warning"
    );
    screenshot(&c, "20-consent").await;
    // The consent screen took the focus; Approve is at most three Tab presses away.
    let focused = || async {
        c.execute(
            "return document.activeElement ? document.activeElement.id : ''",
            vec![],
        )
        .await
        .unwrap()
    };
    assert_eq!(focused().await, serde_json::json!("presentation"));
    let mut presses = 0;
    while focused().await != serde_json::json!("presentation-approve") {
        presses += 1;
        assert!(presses <= 3, "Approve is more than three Tab presses away");
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
    }
    // What Approve does, before it is pressed.
    wait_text(
        &c,
        "#presentation-what",
        "If you approve, Ziekenhuis Oost receives",
    )
    .await;
    assert_accessible(&c, "consent screen (en)").await;
    // The same screen in Dutch.
    click(&c, "#lang-nl").await;
    wait_text(
        &c,
        "#presentation-title",
        "Gegevens delen met Ziekenhuis Oost",
    )
    .await;
    wait_text(&c, "#presentation-scope", "het patiëntdossier inzien").await;
    wait_text(&c, "#presentation-approve", "Goedkeuren en delen").await;
    screenshot(&c, "20-consent-nl").await;
    assert_accessible(&c, "consent screen (nl)").await;
    click(&c, "#lang-en").await;
    wait_text(&c, "#presentation-approve", "Approve and share").await;
    click(&c, "#presentation-approve").await;
    wait_text(&c, "#presentation-result", "Shared").await;
    assert_eq!(
        attr(&c, "#presentation-result", "data-outcome")
            .await
            .as_deref(),
        Some("approved")
    );
    screenshot(&c, "21-consent-approved").await;
    // The app sent the browser to its own callback, which exchanges the code and sends the
    // browser on to the EHR.
    let callback = w.wait_opened(1).await;
    assert!(
        callback.starts_with(&format!("http://127.0.0.1:{API_PORT}/")),
        "{callback}"
    );
    let back = w.follow(&callback).await;
    assert!(back.starts_with(EHR_REDIRECT), "{back}");
    let (status, token) = w.collect(&session).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "DPoP", "{token}");
    let i = w
        .introspect(token["access_token"].as_str().expect("a token"))
        .await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["employee_identifier"], EMPLOYEE.0, "{i}");
    assert_eq!(i["employee_name"], EMPLOYEE.1);
    assert_eq!(i["employee_role"], EMPLOYEE.2);
    assert_eq!(i["organization_name"], "Zorg Utrecht");
    assert!(i["cnf"]["jkt"].is_string(), "{i}");
    // Once.
    let (status, _) = w.collect(&session).await;
    assert_eq!(status, 404);

    // 2. Decline, Bearer.
    let (link, session) = w.wallet_link("Bearer").await;
    second_launch(&link);
    wait_text(&c, "#presentation-title", "Ziekenhuis Oost").await;
    wait_text(
        &c,
        "#presentation[data-phase='ready'] #presentation-decline",
        "",
    )
    .await;
    click(&c, "#presentation-decline").await;
    wait_text(&c, "#presentation-result", "Declined").await;
    screenshot(&c, "22-consent-declined").await;
    let back = w.wait_opened(2).await;
    assert!(back.starts_with(EHR_REDIRECT), "{back}");
    assert_eq!(query(&back)["error"], "access_denied");
    let (status, err) = w.collect(&session).await;
    assert!(status >= 400, "{status} {err}");
    assert_eq!(err["error"], "access_denied", "{err}");

    // The activity log has both decisions, no tokens or VPs.
    click(&c, "#nav-activity").await;
    wait_text(&c, "#activity-table", "Data shared").await;
    wait_text(&c, "#activity-table", "Request declined").await;
    let log = c
        .find(Locator::Css("#activity-table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!log.contains("eyJ"), "a JWT reached the activity view");
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.close().await.unwrap();
}
