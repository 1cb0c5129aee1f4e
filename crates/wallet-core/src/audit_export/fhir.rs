//! The activity log as a FHIR R4 `Bundle` of `AuditEvent` resources, after the IHE Basic Audit
//! Log Patterns (BALP).
//!
//! The bundle is a `collection`: a file handed to an audit repository, not the answer to a
//! search on a FHIR server (`searchset` would promise a query, `self` link and search modes
//! that do not exist here). Entries come oldest first; each `fullUrl` is `urn:uuid:` of a
//! UUID derived from the entry's chain hash, so exporting the same entry twice gives the same
//! id and a repository can drop duplicates.
//!
//! | action | `type` | `subtype` (besides the action itself) | `action` |
//! |---|---|---|---|
//! | `presentation.send`, `presentation.decline`, `s2s.token` (not from the cache) | DCM 110106 Export (BALP PrivacyDisclosure at the source) | iso-21089 `disclose`; `s2s.token` also IHE `ITI-71` | R |
//! | `s2s.token` from the cache, `user_token.start`, `user_token.finish` | DCM 110114 User Authentication | IHE `ITI-71` Get Access Token | E |
//! | `presentation.refuse`, `*_refused` (e.g. `profile.rollback_refused`) | DCM 110113 Security Alert | — | E |
//! | `vault.unlock`, `admin.login` | DCM 110114 User Authentication | DCM 110122 Login | E |
//! | `vault.backup` | DCM 110106 Export | — | R |
//! | `vault.restore` | DCM 110107 Import | — | C |
//! | administrator changes (`*.add`, `.create`, `.import`, `.generate`, `.adopt`, `.issue` / `.update`, `.change`, `.rotate`, `.activate`, `.retire`, `.kid`, `.publish`, `.configure`, `.off`, `.apply`, `.refresh`, `.enroll` / `.delete`, `.remove`) | `rest` RESTful Operation | `create` / `update` / `delete` | C / U / D |
//! | anything else | DCM 110100 Application Activity | — | E |
//!
//! Every event also carries the action as a coding of [`ACTION_SYSTEM`] in `subtype`.
//!
//! Agents of a disclosure: the organization (its DID, DCM 110153 Source Role ID), the employee
//! presented in the user round or named in a self-attested employee credential (also Source
//! Role ID, role `EMP`, identifier assigned by the organization, name when the entry has the
//! claim), and the verifier or authorization server (DCM 110152 Destination Role ID, its URL).
//! Token requests follow BALP's ITI-71 agents (client, `AuthzOauthService`, the user as
//! `IRCP`). Other events name who acted (`humanuser` for the administrator or an employee,
//! DCM 110150 Application for the wallet itself).
//!
//! `outcome`: `success` → 0; `declined` → 4 (minor failure, `outcomeDesc` says it was
//! declined); `failure` → 4 when the entry's HTTP status is 4xx or for refused requests and
//! log-ins, else 8 (serious failure). The scope goes into `purposeOfEvent.text`.
//!
//! The entry itself is the first `entity` (type 2 System Object, `what.identifier` = the log
//! of this vault and the sequence number), whose `detail` holds `seq`, `hash` (hex SHA-256
//! chain hash), `actor`, `action`, `subject`, `outcome`, `scope` when there is one, and
//! `detail` (the entry's detail as JSON text). A disclosure adds one entity per credential
//! presented.
//!
//! BALP's PrivacyDisclosure profile also requires a patient entity and network addresses; a
//! wallet presentation is about the organization and its employee, not a patient, so events
//! follow the pattern without claiming the profile in `meta.profile`.

use serde_json::{json, Map, Value};
use wallet_vault::{format_rfc3339_ms, ActivityEntry};

/// DICOM controlled terminology (event types and agent roles).
pub const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
/// Code system of the wallet's own action names (`presentation.send`, ...).
pub const ACTION_SYSTEM: &str = "urn:nuts-wallet:activity-action";
/// Identifier system of the wallet's actors (`admin`, `system`, `employee:<roster id>`).
pub const ACTOR_SYSTEM: &str = "urn:nuts-wallet:actor";
const URI: &str = "urn:ietf:rfc:3986";
const EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const LIFECYCLE: &str = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";
const RESTFUL: &str = "http://hl7.org/fhir/restful-interaction";
const IHE_EVENT: &str = "urn:ihe:event-type-code";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const ROLE_CLASS: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleClass";
const SECURITY_ROLE: &str = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
const BALP_AGENT: &str = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
/// Network access point type 5: URI.
const NETWORK_URI: &str = "5";

/// What the export says about the wallet that wrote the log.
#[derive(Debug, Clone)]
pub struct ExportContext {
    /// The vault's id (names the log the sequence numbers belong to).
    pub vault_id: String,
    /// The organization's DID, when one is set up.
    pub organization_did: Option<String>,
    /// When the export was made (unix ms): the bundle's `timestamp`.
    pub exported_at_ms: i64,
}

/// The kind of event an action is, which decides its AuditEvent shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Something was (or was to be) presented to a verifier or authorization server.
    Disclosure,
    /// An access token was requested (ITI-71) without a presentation of its own.
    TokenRequest,
    /// A request to the wallet was refused as invalid.
    SecurityAlert,
    /// Someone tried to unlock the vault or to log in as administrator.
    Login,
    /// The vault was written to a backup file.
    Backup,
    /// The vault was restored from a backup file.
    Restore,
    /// A record was created, changed or deleted.
    Change(Interaction),
    /// Anything else the wallet did.
    Application,
}

/// RESTful interaction of a [`EventKind::Change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// `create`, action C.
    Create,
    /// `update`, action U.
    Update,
    /// `delete`, action D.
    Delete,
}

/// Which kind of event `entry` is.
pub fn classify(entry: &ActivityEntry) -> EventKind {
    match entry.action.as_str() {
        crate::openid4vp::ACTION_SEND | crate::openid4vp::ACTION_DECLINE => EventKind::Disclosure,
        crate::oauth::service::ACTION_S2S_TOKEN => {
            if entry.detail["cached"] == Value::Bool(true) {
                EventKind::TokenRequest
            } else {
                EventKind::Disclosure
            }
        }
        crate::oauth::user_flow::ACTION_USER_TOKEN_START
        | crate::oauth::user_flow::ACTION_USER_TOKEN_FINISH => EventKind::TokenRequest,
        crate::openid4vp::ACTION_REFUSE => EventKind::SecurityAlert,
        "vault.unlock" | "admin.login" => EventKind::Login,
        "vault.backup" => EventKind::Backup,
        "vault.restore" => EventKind::Restore,
        action => match action.rsplit('.').next().unwrap_or("") {
            "add" | "create" | "import" | "generate" | "adopt" | "issue" => {
                EventKind::Change(Interaction::Create)
            }
            "update" | "change" | "rotate" | "activate" | "retire" | "kid" | "publish"
            | "configure" | "off" | "apply" | "refresh" | "enroll" => {
                EventKind::Change(Interaction::Update)
            }
            "delete" | "remove" => EventKind::Change(Interaction::Delete),
            verb if verb == "refuse" || verb.ends_with("_refused") => EventKind::SecurityAlert,
            _ => EventKind::Application,
        },
    }
}

/// The bundle of `entries` (in the order given).
pub fn bundle(entries: &[ActivityEntry], ctx: &ExportContext) -> Value {
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            let id = event_id(e);
            json!({"fullUrl": format!("urn:uuid:{id}"), "resource": audit_event(e, ctx)})
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": format_rfc3339_ms(ctx.exported_at_ms),
        "entry": items,
    })
}

/// The resource id (and `urn:uuid:` of `fullUrl`): a version 8 UUID made of the first 16 bytes
/// of the entry's chain hash, so the same entry always gets the same id.
pub fn event_id(entry: &ActivityEntry) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = entry
            .hash
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// One AuditEvent for `e`.
pub fn audit_event(e: &ActivityEntry, ctx: &ExportContext) -> Value {
    let kind = classify(e);
    let at = format_rfc3339_ms(e.at_ms);
    let (type_, mut subtype, action) = shape(kind, e);
    subtype.push(coding(ACTION_SYSTEM, &text(&e.action), None));
    let (outcome, outcome_desc) = outcome(kind, e);
    let mut ev = Map::new();
    ev.insert("resourceType".into(), json!("AuditEvent"));
    ev.insert("id".into(), json!(event_id(e)));
    ev.insert("type".into(), type_);
    ev.insert("subtype".into(), Value::Array(subtype));
    ev.insert("action".into(), json!(action));
    ev.insert("period".into(), json!({"start": at, "end": at}));
    ev.insert("recorded".into(), json!(at));
    ev.insert("outcome".into(), json!(outcome));
    if let Some(d) = outcome_desc {
        ev.insert("outcomeDesc".into(), json!(d));
    }
    if let Some(scope) = scope(e) {
        ev.insert("purposeOfEvent".into(), json!([{ "text": scope }]));
    }
    ev.insert("agent".into(), Value::Array(agents(kind, e, ctx)));
    ev.insert("source".into(), source(ctx));
    ev.insert("entity".into(), Value::Array(entities(kind, e, ctx)));
    Value::Object(ev)
}

fn shape(kind: EventKind, e: &ActivityEntry) -> (Value, Vec<Value>, &'static str) {
    let dcm = |code: &str, display: &str| coding(DCM, code, Some(display));
    let iti71 = || coding(IHE_EVENT, "ITI-71", Some("Get Access Token"));
    match kind {
        EventKind::Disclosure => {
            let mut sub = vec![coding(
                LIFECYCLE,
                "disclose",
                Some("Disclose Record Lifecycle Event"),
            )];
            if e.action == crate::oauth::service::ACTION_S2S_TOKEN {
                sub.push(iti71());
            }
            (dcm("110106", "Export"), sub, "R")
        }
        EventKind::TokenRequest => (dcm("110114", "User Authentication"), vec![iti71()], "E"),
        EventKind::SecurityAlert => (dcm("110113", "Security Alert"), vec![], "E"),
        EventKind::Login => (
            dcm("110114", "User Authentication"),
            vec![dcm("110122", "Login")],
            "E",
        ),
        EventKind::Backup => (dcm("110106", "Export"), vec![], "R"),
        EventKind::Restore => (dcm("110107", "Import"), vec![], "C"),
        EventKind::Change(i) => {
            let (code, action) = match i {
                Interaction::Create => ("create", "C"),
                Interaction::Update => ("update", "U"),
                Interaction::Delete => ("delete", "D"),
            };
            (
                coding(EVENT_TYPE, "rest", Some("Restful Operation")),
                vec![coding(RESTFUL, code, Some(code))],
                action,
            )
        }
        EventKind::Application => (dcm("110100", "Application Activity"), vec![], "E"),
    }
}

/// AuditEvent.outcome and outcomeDesc.
fn outcome(kind: EventKind, e: &ActivityEntry) -> (&'static str, Option<String>) {
    let message = ["message", "error", "reason"]
        .iter()
        .find_map(|k| detail_str(e, k));
    match e.outcome.as_str() {
        "success" => ("0", None),
        "declined" => (
            "4",
            Some(message.unwrap_or_else(|| "declined by the employee".into())),
        ),
        _ => {
            let client_side = matches!(
                e.detail.get("http_status").and_then(Value::as_i64),
                Some(400..=499)
            );
            let minor = client_side || matches!(kind, EventKind::SecurityAlert | EventKind::Login);
            (
                if minor { "4" } else { "8" },
                Some(message.unwrap_or_else(|| "failed".into())),
            )
        }
    }
}

fn agents(kind: EventKind, e: &ActivityEntry, ctx: &ExportContext) -> Vec<Value> {
    let subject = text(&e.subject);
    let remote = |type_: Value, requestor: bool| {
        let mut a = json!({
            "type": {"coding": [type_]},
            "who": {"identifier": {"system": URI, "value": subject}, "display": subject},
            "requestor": requestor,
        });
        if subject.starts_with("https://") || subject.starts_with("http://") {
            a["network"] = json!({"address": subject, "type": NETWORK_URI});
        }
        a
    };
    let presentation = e.action.starts_with("presentation.");
    match kind {
        EventKind::Disclosure => {
            let mut v = vec![organization_agent(
                ctx,
                coding(DCM, "110153", Some("Source Role ID")),
                !presentation,
            )];
            if let Some(emp) = employee_agent(e, ctx, coding(DCM, "110153", Some("Source Role ID")))
            {
                v.push(emp);
            }
            v.push(remote(
                coding(DCM, "110152", Some("Destination Role ID")),
                presentation,
            ));
            v
        }
        EventKind::TokenRequest => {
            let mut v = vec![organization_agent(
                ctx,
                coding(DCM, "110150", Some("Application")),
                true,
            )];
            v.push(remote(
                coding(
                    BALP_AGENT,
                    "AuthzOauthService",
                    Some("OAuth Authorization Server"),
                ),
                false,
            ));
            if let Some(emp) = employee_agent(
                e,
                ctx,
                coding(PARTICIPATION, "IRCP", Some("information recipient")),
            ) {
                v.push(emp);
            }
            v
        }
        EventKind::SecurityAlert => vec![
            organization_agent(
                ctx,
                coding(DCM, "110152", Some("Destination Role ID")),
                false,
            ),
            remote(coding(DCM, "110153", Some("Source Role ID")), true),
        ],
        _ => vec![actor_agent(e, ctx)],
    }
}

fn organization_agent(ctx: &ExportContext, type_: Value, requestor: bool) -> Value {
    json!({"type": {"coding": [type_]}, "who": wallet_reference(ctx), "requestor": requestor})
}

/// The employee an entry names: the one presented in the user round (`employee`), or in a
/// self-attested employee credential of a service token request.
fn employee_agent(e: &ActivityEntry, ctx: &ExportContext, type_: Value) -> Option<Value> {
    let id = detail_str(e, "employee").or_else(|| {
        e.detail
            .get("self_attested_passed")?
            .as_array()?
            .iter()
            .find_map(|c| c.get("employee_identifier")?.as_str().and_then(nonempty))
    })?;
    let mut identifier = json!({"value": id});
    if let Some(did) = &ctx.organization_did {
        identifier["assigner"] = json!({"identifier": {"system": URI, "value": text(did)}});
    }
    let mut a = json!({
        "type": {"coding": [type_]},
        "role": [{"coding": [coding(ROLE_CLASS, "EMP", Some("employee"))]}],
        "who": {"identifier": identifier},
        "requestor": e.action.starts_with("presentation."),
    });
    if let Some(name) = e
        .detail
        .get("claims")
        .and_then(|c| c.get("employee_name"))
        .and_then(Value::as_str)
        .and_then(nonempty)
    {
        a["who"]["display"] = json!(name);
        a["name"] = json!(name);
    }
    Some(a)
}

/// Who acted, from the entry's `actor`.
fn actor_agent(e: &ActivityEntry, ctx: &ExportContext) -> Value {
    let actor = text(&e.actor);
    match e.actor.as_str() {
        "system" => json!({
            "type": {"coding": [coding(DCM, "110150", Some("Application"))]},
            "who": wallet_reference(ctx),
            "requestor": false,
        }),
        _ => {
            let display = if e.actor == "admin" {
                "administrator".to_owned()
            } else {
                actor.clone()
            };
            json!({
                "type": {"coding": [coding(SECURITY_ROLE, "humanuser", Some("human user"))]},
                "who": {"identifier": {"system": ACTOR_SYSTEM, "value": actor}, "display": display},
                "requestor": true,
            })
        }
    }
}

/// The wallet (the organization's, when it has one) as a reference by identifier.
fn wallet_reference(ctx: &ExportContext) -> Value {
    match &ctx.organization_did {
        Some(did) => json!({
            "identifier": {"system": URI, "value": text(did)},
            "display": format!("Nuts Wallet of {}", text(did)),
        }),
        None => json!({
            "identifier": {"system": "urn:nuts-wallet:vault", "value": text(&ctx.vault_id)},
            "display": "Nuts Wallet",
        }),
    }
}

fn source(ctx: &ExportContext) -> Value {
    json!({
        "site": ctx.organization_did.as_deref().map(text).unwrap_or_else(|| text(&ctx.vault_id)),
        "observer": wallet_reference(ctx),
        "type": [coding(SOURCE_TYPE, "1", Some("User Device"))],
    })
}

fn entities(kind: EventKind, e: &ActivityEntry, ctx: &ExportContext) -> Vec<Value> {
    let s = |t: &str, v: String| json!({"type": t, "valueString": v});
    let mut detail = vec![
        s("seq", e.seq.to_string()),
        s("hash", text(&e.hash)),
        s("actor", text(&e.actor)),
        s("action", text(&e.action)),
    ];
    if !e.subject.is_empty() {
        detail.push(s("subject", text(&e.subject)));
    }
    detail.push(s("outcome", text(&e.outcome)));
    if let Some(scope) = scope(e) {
        detail.push(s("scope", scope));
    }
    detail.push(s("detail", e.detail.to_string()));
    let mut v = vec![json!({
        "what": {"identifier": {
            "system": format!("urn:nuts-wallet:activity-log:{}", text(&ctx.vault_id)),
            "value": e.seq.to_string(),
        }},
        "type": coding(ENTITY_TYPE, "2", Some("System Object")),
        "name": "activity log entry",
        "detail": detail,
    })];
    if kind == EventKind::Disclosure {
        let creds = e.detail.get("credentials").and_then(Value::as_array);
        for c in creds.into_iter().flatten() {
            let Some(id) = c.get("id").and_then(Value::as_str).and_then(nonempty) else {
                continue;
            };
            let mut ent = json!({
                "what": {"identifier": {"value": id}},
                "type": coding(ENTITY_TYPE, "2", Some("System Object")),
                "role": coding(OBJECT_ROLE, "4", Some("Domain Resource")),
                "name": "verifiable credential",
            });
            let types: Vec<String> = c
                .get("types")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().and_then(nonempty))
                .collect();
            let mut d = Vec::new();
            if !types.is_empty() {
                ent["what"]["display"] = json!(types.join(" "));
                d.push(s("types", types.join(" ")));
            }
            if let Some(issuer) = c.get("issuer").and_then(Value::as_str).and_then(nonempty) {
                d.push(s("issuer", issuer));
            }
            if !d.is_empty() {
                ent["detail"] = Value::Array(d);
            }
            v.push(ent);
        }
    }
    v
}

fn scope(e: &ActivityEntry) -> Option<String> {
    detail_str(e, "scope")
}

fn detail_str(e: &ActivityEntry, key: &str) -> Option<String> {
    e.detail.get(key)?.as_str().and_then(nonempty)
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({"system": system, "code": code});
    if let Some(d) = display {
        c["display"] = json!(d);
    }
    c
}

/// A FHIR `string` must not be empty or hold control characters other than tab, CR and LF.
fn nonempty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| text(s))
}

fn text(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    if t.trim().is_empty() {
        "-".to_owned()
    } else {
        t
    }
}

#[cfg(test)]
mod tests;
