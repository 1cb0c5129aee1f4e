//! The mapping, entry by entry, on entries shaped as the wallet writes them.

use super::*;

const DID: &str = "did:web:example.com:iam:zorg";
const AS: &str = "https://as.example/oauth2/zorg";

fn ctx() -> ExportContext {
    ExportContext {
        vault_id: "0f0e0d0c-0000-4000-8000-000000000001".into(),
        organization_did: Some(DID.into()),
        exported_at_ms: 1_700_000_100_000,
    }
}

fn entry(
    seq: i64,
    actor: &str,
    action: &str,
    subject: &str,
    outcome: &str,
    detail: Value,
) -> ActivityEntry {
    ActivityEntry {
        seq,
        at_ms: 1_700_000_000_123 + seq,
        actor: actor.into(),
        action: action.into(),
        subject: subject.into(),
        outcome: outcome.into(),
        detail,
        hash: format!("{seq:02x}").repeat(32),
    }
}

fn codes(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["system"].as_str().unwrap().to_owned(),
                c["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn agent<'a>(ev: &'a Value, system: &str, code: &str) -> Vec<&'a Value> {
    ev["agent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["type"]["coding"][0]["system"] == system && a["type"]["coding"][0]["code"] == code
        })
        .collect()
}

fn entry_detail(ev: &Value, name: &str) -> Option<String> {
    ev["entity"][0]["detail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == name)
        .map(|d| d["valueString"].as_str().unwrap().to_owned())
}

/// The user round of a presentation, as `openid4vp::dispatch` records it.
fn user_round_send() -> ActivityEntry {
    entry(
        7,
        "system",
        crate::openid4vp::ACTION_SEND,
        "https://verifier.example/oauth2/a",
        "success",
        json!({
            "round": "user", "scope": "eOverdracht-sender", "definition_id": "pd_employee",
            "employee": "123456",
            "credentials": [{"id": "urn:uuid:c1", "types": ["VerifiableCredential", "NutsEmployeeCredential"], "issuer": DID}],
            "claims": {"employee_name": "John Doe", "employee_role": "Janitor"},
            "vp_format": "jwt_vp",
        }),
    )
}

#[test]
fn a_sent_presentation_is_a_privacy_disclosure_at_the_source() {
    let ev = audit_event(&user_round_send(), &ctx());
    assert_eq!(ev["resourceType"], "AuditEvent");
    assert_eq!(ev["type"]["system"], DCM);
    assert_eq!(ev["type"]["code"], "110106");
    assert_eq!(
        codes(&ev["subtype"]),
        vec![
            (LIFECYCLE.to_owned(), "disclose".to_owned()),
            (ACTION_SYSTEM.to_owned(), "presentation.send".to_owned()),
        ]
    );
    assert_eq!(ev["action"], "R");
    assert_eq!(ev["outcome"], "0");
    assert!(ev.get("outcomeDesc").is_none());
    let at = "2023-11-14T22:13:20.130Z";
    assert_eq!(ev["recorded"], at);
    assert_eq!(ev["period"], json!({"start": at, "end": at}));
    assert_eq!(
        ev["purposeOfEvent"],
        json!([{"text": "eOverdracht-sender"}])
    );

    // Sources: the organization and the employee; recipient: the verifier.
    let sources = agent(&ev, DCM, "110153");
    assert_eq!(sources.len(), 2, "{ev:#}");
    assert_eq!(
        sources[0]["who"]["identifier"],
        json!({"system": URI, "value": DID})
    );
    assert_eq!(sources[0]["requestor"], false);
    let emp = sources[1];
    assert_eq!(emp["who"]["identifier"]["value"], "123456");
    assert_eq!(
        emp["who"]["identifier"]["assigner"]["identifier"]["value"],
        DID
    );
    assert_eq!(emp["name"], "John Doe");
    assert_eq!(emp["role"][0]["coding"][0]["code"], "EMP");
    let recipients = agent(&ev, DCM, "110152");
    assert_eq!(recipients.len(), 1);
    assert_eq!(
        recipients[0]["who"]["identifier"]["value"],
        "https://verifier.example/oauth2/a"
    );
    assert_eq!(
        recipients[0]["network"]["address"],
        "https://verifier.example/oauth2/a"
    );
    assert_eq!(recipients[0]["requestor"], true);
    assert_eq!(ev["source"]["observer"]["identifier"]["value"], DID);

    // The log entry (seq, chain hash) and the credential presented.
    assert_eq!(entry_detail(&ev, "seq").unwrap(), "7");
    assert_eq!(entry_detail(&ev, "hash").unwrap(), "07".repeat(32));
    assert_eq!(entry_detail(&ev, "scope").unwrap(), "eOverdracht-sender");
    let stored: Value = serde_json::from_str(&entry_detail(&ev, "detail").unwrap()).unwrap();
    assert_eq!(stored, user_round_send().detail);
    assert_eq!(ev["entity"][0]["what"]["identifier"]["value"], "7");
    assert_eq!(
        ev["entity"][0]["what"]["identifier"]["system"],
        "urn:nuts-wallet:activity-log:0f0e0d0c-0000-4000-8000-000000000001"
    );
    assert_eq!(
        ev["entity"][1]["what"]["identifier"]["value"],
        "urn:uuid:c1"
    );
    assert_eq!(
        ev["entity"][1]["what"]["display"],
        "VerifiableCredential NutsEmployeeCredential"
    );
}

#[test]
fn the_organization_round_names_no_employee_and_a_decline_is_a_minor_failure() {
    let mut e = user_round_send();
    e.detail = json!({"round": "organization", "scope": "s"});
    assert_eq!(agent(&audit_event(&e, &ctx()), DCM, "110153").len(), 1);

    let d = entry(
        8,
        "system",
        crate::openid4vp::ACTION_DECLINE,
        "https://v.example/a",
        "declined",
        json!({"round": "organization", "scope": "s"}),
    );
    let ev = audit_event(&d, &ctx());
    assert_eq!(ev["type"]["code"], "110106");
    assert_eq!(ev["outcome"], "4");
    assert_eq!(ev["outcomeDesc"], "declined by the employee");
    assert_eq!(entry_detail(&ev, "outcome").unwrap(), "declined");
}

#[test]
fn service_tokens_disclose_unless_cached() {
    let detail = |cached: bool| {
        json!({
            "organization": "zorg", "scope": "test", "token_type": "DPoP", "channel": "api",
            "cached": cached, "credentials": [{"id": "urn:uuid:org", "types": ["NutsOrganizationCredential"]}],
            "self_attested_given": 1,
            "self_attested_passed": [{"types": ["NutsEmployeeCredential"], "employee_identifier": "123456"}],
        })
    };
    let sent = audit_event(
        &entry(3, "system", "s2s.token", AS, "success", detail(false)),
        &ctx(),
    );
    assert_eq!(sent["type"]["code"], "110106");
    let sub = codes(&sent["subtype"]);
    assert!(
        sub.contains(&(LIFECYCLE.into(), "disclose".into())),
        "{sub:?}"
    );
    assert!(
        sub.contains(&(IHE_EVENT.into(), "ITI-71".into())),
        "{sub:?}"
    );
    let src = agent(&sent, DCM, "110153");
    assert_eq!(src.len(), 2);
    assert_eq!(
        src[0]["requestor"], true,
        "the organization asked for the token"
    );
    assert_eq!(src[1]["who"]["identifier"]["value"], "123456");
    assert_eq!(
        agent(&sent, DCM, "110152")[0]["who"]["identifier"]["value"],
        AS
    );

    let cached = audit_event(
        &entry(4, "system", "s2s.token", AS, "success", detail(true)),
        &ctx(),
    );
    assert_eq!(cached["type"]["code"], "110114");
    assert_eq!(cached["action"], "E");
    assert_eq!(agent(&cached, BALP_AGENT, "AuthzOauthService").len(), 1);
    assert_eq!(agent(&cached, DCM, "110150").len(), 1);
    assert_eq!(agent(&cached, PARTICIPATION, "IRCP").len(), 1);
    assert_eq!(
        cached["entity"].as_array().unwrap().len(),
        1,
        "nothing was presented"
    );
}

#[test]
fn failures_map_by_http_status_and_kind() {
    let f = |action: &str, detail: Value| {
        audit_event(&entry(5, "system", action, AS, "failure", detail), &ctx())
    };
    let client = f(
        "s2s.token",
        json!({"error": "not_allowed", "message": "outside policy", "http_status": 403}),
    );
    assert_eq!(client["outcome"], "4");
    assert_eq!(client["outcomeDesc"], "outside policy");
    let server = f(
        "s2s.token",
        json!({"error": "as_error", "message": "AS down", "http_status": 502}),
    );
    assert_eq!(server["outcome"], "8");
    assert_eq!(
        f("presentation.send", json!({"error": "x"}))["outcome"],
        "8"
    );
    assert_eq!(
        f("presentation.refuse", json!({"error": "bad_request"}))["outcome"],
        "4"
    );
    assert_eq!(f("admin.login", json!({}))["outcome"], "4");
    assert_eq!(f("admin.login", json!({}))["outcomeDesc"], "failed");
    let finish = f(
        "user_token.finish",
        json!({"error": "access_denied", "employee": "123456"}),
    );
    assert_eq!(finish["type"]["code"], "110114");
    assert_eq!(
        agent(&finish, PARTICIPATION, "IRCP")[0]["who"]["identifier"]["value"],
        "123456"
    );
}

#[test]
fn every_action_the_wallet_writes_has_its_kind() {
    use EventKind::*;
    use Interaction::*;
    let table = [
        ("presentation.send", Disclosure),
        ("presentation.decline", Disclosure),
        ("s2s.token", Disclosure),
        ("user_token.start", TokenRequest),
        ("user_token.finish", TokenRequest),
        ("presentation.refuse", SecurityAlert),
        ("vault.unlock", Login),
        ("admin.login", Login),
        ("vault.backup", Backup),
        ("vault.restore", Restore),
        ("vault.create", Change(Create)),
        ("employee.add", Change(Create)),
        ("employee.credential.issue", Change(Create)),
        ("credential.import", Change(Create)),
        ("key.generate", Change(Create)),
        ("key.adopt", Change(Create)),
        ("key.import", Change(Create)),
        ("api_key.create", Change(Create)),
        ("employee.update", Change(Update)),
        ("setting.change", Change(Update)),
        ("admin.passphrase.change", Change(Update)),
        ("vault.protection.change", Change(Update)),
        ("org.publish", Change(Update)),
        ("org.key.rotate", Change(Update)),
        ("org.key.activate", Change(Update)),
        ("org.key.retire", Change(Update)),
        ("key.kid", Change(Update)),
        ("api_key.rotate", Change(Update)),
        ("credential.delete", Change(Delete)),
        ("employee.remove", Change(Delete)),
        ("key.delete", Change(Delete)),
        ("audit.forward.configure", Change(Update)),
        ("audit.forward.off", Change(Update)),
        ("profile.publish", Change(Update)),
        ("profile.apply", Change(Update)),
        ("profile.refresh", Change(Update)),
        ("profile.enroll", Change(Update)),
        ("profile.secret.create", Change(Create)),
        ("profile.rollback_refused", SecurityAlert),
        ("vault.state.establish", Application),
        ("something.new", Application),
    ];
    for (action, kind) in table {
        let e = entry(1, "admin", action, "x", "success", json!({}));
        assert_eq!(classify(&e), kind, "{action}");
    }
}

#[test]
fn administrator_changes_are_restful_operations_by_the_administrator() {
    let ev = audit_event(
        &entry(2, "admin", "employee.add", "emp-1", "success", json!({})),
        &ctx(),
    );
    assert_eq!(
        ev["type"],
        json!({"system": EVENT_TYPE, "code": "rest", "display": "Restful Operation"})
    );
    assert_eq!(
        codes(&ev["subtype"])[0],
        (RESTFUL.to_owned(), "create".to_owned())
    );
    assert_eq!(ev["action"], "C");
    let who = agent(&ev, SECURITY_ROLE, "humanuser");
    assert_eq!(who.len(), 1);
    assert_eq!(
        who[0]["who"]["identifier"],
        json!({"system": ACTOR_SYSTEM, "value": "admin"})
    );
    assert_eq!(who[0]["requestor"], true);
    assert!(ev.get("purposeOfEvent").is_none());

    let del = audit_event(
        &entry(3, "admin", "credential.delete", "c1", "success", json!({})),
        &ctx(),
    );
    assert_eq!(del["action"], "D");
    let sys = audit_event(
        &entry(
            4,
            "system",
            "vault.state.establish",
            "v",
            "success",
            json!({}),
        ),
        &ctx(),
    );
    assert_eq!(sys["type"]["code"], "110100");
    assert_eq!(agent(&sys, DCM, "110150").len(), 1);
}

#[test]
fn ids_follow_the_chain_hash_and_strings_are_valid_fhir() {
    let a = entry(
        1,
        "system",
        "presentation.refuse",
        "https://v.example/\u{1b}[31m",
        "failure",
        json!({"scope": "  "}),
    );
    let b = entry(2, "system", "presentation.refuse", "", "failure", json!({}));
    let (ia, ib) = (event_id(&a), event_id(&b));
    assert_eq!(ia, event_id(&a));
    assert_ne!(ia, ib);
    let u = uuid::Uuid::parse_str(&ia).unwrap();
    assert_eq!(u.get_version_num(), 8);
    assert!(ia.starts_with("01010101-0101-8101-8101-"), "{ia}");

    let ev = audit_event(&a, &ctx());
    assert!(!ev.to_string().contains('\u{1b}'));
    assert!(
        ev.get("purposeOfEvent").is_none(),
        "a blank scope is left out"
    );
    let ev = audit_event(&b, &ctx());
    assert_eq!(
        agent(&ev, DCM, "110153")[0]["who"]["identifier"]["value"],
        "-"
    );
    assert!(agent(&ev, DCM, "110153")[0].get("network").is_none());

    let no_org = ExportContext {
        organization_did: None,
        ..ctx()
    };
    let ev = audit_event(&a, &no_org);
    assert_eq!(
        ev["source"]["observer"]["identifier"]["system"],
        "urn:nuts-wallet:vault"
    );
}

#[test]
fn the_bundle_is_a_collection_in_log_order() {
    let entries = [
        user_round_send(),
        entry(9, "admin", "employee.add", "e", "success", json!({})),
    ];
    let b = bundle(&entries, &ctx());
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    assert_eq!(b["timestamp"], "2023-11-14T22:15:00.000Z");
    let items = b["entry"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for (item, e) in items.iter().zip(&entries) {
        assert_eq!(item["fullUrl"], format!("urn:uuid:{}", event_id(e)));
        assert_eq!(item["resource"]["id"], event_id(e));
        assert_eq!(
            entry_detail(&item["resource"], "seq").unwrap(),
            e.seq.to_string()
        );
    }
}
