//! The employee roster and self-attestation (administrator): each employee gets their own
//! P-256 key in the vault and a did:jwk; the wallet issues NutsEmployeeCredential JWT VCs
//! (organization DID → employee did:jwk, `identifier`, `name`, `roleName`; docs/protocol.md
//! §7.4) on demand, valid for the administrator-set time (default 1 hour). A deactivated
//! employee gets none.
//!
//! Roster changes are recorded by the vault in the same transaction (`employee.add`,
//! `employee.update`, `key.generate`, `key.kid`); each issuance is recorded as
//! `employee.credential.issue` before the credential is handed out.
//!
//! ```text
//! add_employee(vault, admin, NewRosterEntry{identifier, name, role}) -> EmployeeView
//! list_employees(vault) -> Vec<EmployeeView>       find_employee(vault, id_or_identifier)
//! update_employee(vault, admin, id, name, role)    deactivate_employee / reactivate_employee
//! set_credential_validity(vault, admin, secs)      credential_validity(vault)
//! issue_employee_credential(vault, Issuer::Admin(&s) | Issuer::Employee, id, validity, clock)
//! ```

use serde::Serialize;
use serde_json::json;
use wallet_protocol::did::{self, Did};
use wallet_protocol::jose::Jwk;
use wallet_protocol::vc::jwt::{self as vcjwt, EmployeeClaims};
use wallet_protocol::Clock;
use wallet_vault::{
    Actor, AdminSession, Employee, EmployeeUpdate, NewActivity, NewEmployee, Vault, VaultError,
};

use crate::org::{self, IdentityError, Result};

/// Vault setting: validity in seconds of issued employee credentials.
pub const SETTING_EMPLOYEE_VALIDITY: &str = "employee_credential_validity_secs";
/// Default validity (1 hour, a Nuts user session).
pub const DEFAULT_VALIDITY_SECS: i64 = vcjwt::EMPLOYEE_CREDENTIAL_DEFAULT_SECS;
/// Shortest validity allowed.
pub const MIN_VALIDITY_SECS: i64 = 60;
/// Longest validity allowed (24 hours).
pub const MAX_VALIDITY_SECS: i64 = 24 * 3600;
/// Key purpose of employee keys in the vault.
pub const EMPLOYEE_KEY_PURPOSE: &str = "employee";

/// A roster entry to add.
#[derive(Debug, Clone)]
pub struct NewRosterEntry {
    /// Identifier (e.g. login, e-mail or UZI number): `identifier` in the credential.
    pub identifier: String,
    /// Full name: `name`.
    pub name: String,
    /// Role: `roleName`.
    pub role: String,
}

/// A roster entry for the Employees screen and `employee list --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployeeView {
    /// Vault id.
    pub id: String,
    /// Identifier.
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// The employee's did:jwk.
    pub did: String,
    /// Whether credentials may be issued.
    pub active: bool,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms.
    pub updated_at_ms: i64,
}

impl EmployeeView {
    pub(crate) fn from_employee(e: &Employee) -> Self {
        let s = |k: &str| {
            e.personal
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        EmployeeView {
            id: e.id.clone(),
            identifier: e.identifier.clone(),
            name: s("name"),
            role: s("role"),
            did: s("did"),
            active: e.active,
            created_at_ms: e.created_at_ms,
            updated_at_ms: e.updated_at_ms,
        }
    }
}

fn check_field(name: &str, v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(IdentityError::InvalidInput(format!(
            "{name} must not be empty"
        )));
    }
    if v.chars().count() > 256 || v.chars().any(char::is_control) {
        return Err(IdentityError::InvalidInput(format!(
            "{name} must be at most 256 characters without control characters"
        )));
    }
    Ok(v.to_owned())
}

/// Adds an employee: a new P-256 key in the vault, its did:jwk, and the roster entry.
/// Administrator action. Refused for an identifier that is on the roster already.
pub fn add_employee(
    vault: &Vault,
    admin: &AdminSession,
    entry: NewRosterEntry,
) -> Result<EmployeeView> {
    let identifier = check_field("identifier", &entry.identifier)?;
    let name = check_field("name", &entry.name)?;
    let role = check_field("role", &entry.role)?;
    if let Some(e) = vault.employees().by_identifier(&identifier)? {
        return Err(VaultError::Duplicate {
            kind: "employee",
            id: e.id,
        }
        .into());
    }
    // The key label is stored in the clear: no personal data in it.
    let key = vault
        .keys()
        .generate(admin, "employee", EMPLOYEE_KEY_PURPOSE)?;
    let added = (|| {
        let jwk = Jwk::from_map(key.public_jwk.clone()).map_err(IdentityError::protocol)?;
        let did = did::jwk::create(&jwk).map_err(IdentityError::protocol)?;
        vault
            .keys()
            .set_kid(admin, &key.id, did::jwk::key_id(&did).as_str())?;
        let e = vault.employees().add(
            admin,
            NewEmployee {
                identifier,
                personal: json!({ "name": name, "role": role, "did": did.as_str() }),
                key_id: Some(key.id.clone()),
            },
        )?;
        Ok(EmployeeView::from_employee(&e))
    })();
    if added.is_err() {
        let _ = vault.keys().delete(admin, &key.id);
    }
    added
}

/// The roster. Needs the vault unlocked.
pub fn list_employees(vault: &Vault) -> Result<Vec<EmployeeView>> {
    Ok(vault
        .employees()
        .list()?
        .iter()
        .map(EmployeeView::from_employee)
        .collect())
}

/// Finds a roster entry by identifier, else by vault id.
pub fn find_employee(vault: &Vault, id_or_identifier: &str) -> Result<Employee> {
    if let Some(e) = vault.employees().by_identifier(id_or_identifier)? {
        return Ok(e);
    }
    match vault.employees().get(id_or_identifier.trim()) {
        Err(VaultError::NotFound { .. }) => Err(IdentityError::InvalidInput(format!(
            "no employee with identifier or id {id_or_identifier:?}"
        ))),
        other => Ok(other?),
    }
}

/// Changes name and/or role. Administrator action.
pub fn update_employee(
    vault: &Vault,
    admin: &AdminSession,
    id_or_identifier: &str,
    name: Option<&str>,
    role: Option<&str>,
) -> Result<EmployeeView> {
    let e = find_employee(vault, id_or_identifier)?;
    let mut personal = e.personal.clone();
    if let Some(n) = name {
        personal["name"] = json!(check_field("name", n)?);
    }
    if let Some(r) = role {
        personal["role"] = json!(check_field("role", r)?);
    }
    let e = vault.employees().update(
        admin,
        &e.id,
        EmployeeUpdate {
            personal: Some(personal),
            ..Default::default()
        },
    )?;
    Ok(EmployeeView::from_employee(&e))
}

fn set_active(vault: &Vault, admin: &AdminSession, id: &str, active: bool) -> Result<EmployeeView> {
    let e = find_employee(vault, id)?;
    let e = vault.employees().update(
        admin,
        &e.id,
        EmployeeUpdate {
            active: Some(active),
            ..Default::default()
        },
    )?;
    Ok(EmployeeView::from_employee(&e))
}

/// Deactivates an employee: no more credentials are issued to them. Administrator action.
pub fn deactivate_employee(vault: &Vault, admin: &AdminSession, id: &str) -> Result<EmployeeView> {
    set_active(vault, admin, id, false)
}

/// Reactivates an employee. Administrator action.
pub fn reactivate_employee(vault: &Vault, admin: &AdminSession, id: &str) -> Result<EmployeeView> {
    set_active(vault, admin, id, true)
}

fn check_validity(secs: i64) -> Result<i64> {
    if (MIN_VALIDITY_SECS..=MAX_VALIDITY_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(IdentityError::InvalidInput(format!(
            "credential validity must be between {MIN_VALIDITY_SECS} seconds and 24 hours, not {secs} s"
        )))
    }
}

/// The administrator-set validity of employee credentials (default 1 hour).
pub fn credential_validity(vault: &Vault) -> Result<i64> {
    Ok(vault
        .settings()
        .get(SETTING_EMPLOYEE_VALIDITY)?
        .and_then(|v| v.as_i64())
        .unwrap_or(DEFAULT_VALIDITY_SECS))
}

/// Sets the validity of employee credentials (60 s to 24 h). Administrator action.
pub fn set_credential_validity(vault: &Vault, admin: &AdminSession, secs: i64) -> Result<()> {
    let secs = check_validity(secs)?;
    vault
        .settings()
        .put(admin, SETTING_EMPLOYEE_VALIDITY, &json!(secs))?;
    Ok(())
}

/// Who asks for an employee credential.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// The administrator (may choose the validity).
    Admin(&'a AdminSession),
    /// The employee's own session (the administrator-set validity applies).
    Employee,
}

/// An issued employee credential.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedCredential {
    /// The JWT VC. Hand it only to the presentation that needs it; never log it.
    pub jwt: String,
    /// Its `jti`.
    pub jti: String,
    /// Employee did:jwk (`sub`).
    pub subject: String,
    /// Organization DID (`iss`).
    pub issuer: String,
    /// `nbf` (Unix seconds).
    pub not_before: i64,
    /// `exp` (Unix seconds).
    pub expires: i64,
}

/// Issues a NutsEmployeeCredential for an active employee. `validity_secs` overrides the
/// administrator-set validity and needs [`Issuer::Admin`]. Recorded as
/// `employee.credential.issue` (refusals too).
pub fn issue_employee_credential(
    vault: &Vault,
    by: Issuer<'_>,
    id_or_identifier: &str,
    validity_secs: Option<i64>,
    clock: &dyn Clock,
) -> Result<IssuedCredential> {
    let actor_for = |e: &Employee| match by {
        Issuer::Admin(_) => Actor::Admin,
        Issuer::Employee => Actor::Employee(e.id.clone()),
    };
    if let Issuer::Admin(s) = by {
        if vault.admin_session_remaining(s).is_none() {
            return Err(VaultError::AdminRequired("issuing employee credentials").into());
        }
    }
    let validity = match (validity_secs, by) {
        (Some(_), Issuer::Employee) => {
            return Err(VaultError::AdminRequired("choosing a credential validity").into())
        }
        (Some(s), Issuer::Admin(_)) => check_validity(s)?,
        (None, _) => credential_validity(vault)?,
    };
    let e = find_employee(vault, id_or_identifier)?;
    if !e.active {
        let _ = vault.activity_log().record(
            NewActivity::new(actor_for(&e), "employee.credential.issue", &e.id)
                .outcome(wallet_vault::Outcome::Failure)
                .detail(json!({ "reason": "deactivated" })),
        );
        return Err(IdentityError::EmployeeInactive(e.identifier));
    }
    let view = EmployeeView::from_employee(&e);
    let subject = Did::parse(&view.did).map_err(IdentityError::protocol)?;
    // The did:jwk must be the employee's own vault key.
    let key_id = e
        .key_id
        .clone()
        .ok_or_else(|| IdentityError::Protocol(format!("employee {} has no key", e.identifier)))?;
    let key = vault.keys().get(&key_id)?;
    let key_did =
        did::jwk::create(&Jwk::from_map(key.public_jwk).map_err(IdentityError::protocol)?)
            .map_err(IdentityError::protocol)?;
    if key_did != subject {
        return Err(IdentityError::Protocol(format!(
            "employee {}'s DID does not match their key",
            e.identifier
        )));
    }
    let org = org::require_organization(vault)?;
    let org_did = Did::parse(&org.did).map_err(IdentityError::protocol)?;
    let signer = org::organization_signer(vault, &org)?;
    let now = clock.now_unix();
    let claims = EmployeeClaims {
        identifier: e.identifier.clone(),
        name: view.name.clone(),
        role_name: view.role.clone(),
    };
    let jwt = vcjwt::issue_employee_credential(&signer, &org_did, &subject, &claims, now, validity)
        .map_err(IdentityError::protocol)?;
    let jti = wallet_protocol::jose::CompactJws::parse(&jwt)
        .ok()
        .and_then(|j| j.claims().ok())
        .and_then(|c| c.get("jti").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_default();
    vault.activity_log().record(
        NewActivity::new(actor_for(&e), "employee.credential.issue", &e.id).detail(json!({
            "jti": jti, "exp": now + validity, "validity_secs": validity,
        })),
    )?;
    Ok(IssuedCredential {
        jwt,
        jti,
        subject: subject.to_string(),
        issuer: org.did,
        not_before: now,
        expires: now + validity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::tests::{setup, vault};
    use wallet_protocol::did::StaticDidResolver;
    use wallet_protocol::vc::jwt::{verify_jwt_vc, VerifyOptions};
    use wallet_protocol::FixedClock;
    use wallet_vault::ActivityFilter;

    fn entry(id: &str) -> NewRosterEntry {
        NewRosterEntry {
            identifier: id.into(),
            name: "Jan de Vries".into(),
            role: "Verpleegkundige".into(),
        }
    }

    #[test]
    fn add_list_deactivate_with_own_keys_and_log() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let a = add_employee(&v, &admin, entry("jan@zorg.example")).unwrap();
        let b = add_employee(&v, &admin, entry("piet@zorg.example")).unwrap();
        assert!(a.did.starts_with("did:jwk:") && a.active);
        assert_ne!(a.did, b.did, "each employee has their own key");
        let dup = add_employee(&v, &admin, entry(" jan@zorg.example ")).unwrap_err();
        assert_eq!(dup.code(), "duplicate");
        let empty = add_employee(
            &v,
            &admin,
            NewRosterEntry {
                role: " ".into(),
                ..entry("x")
            },
        )
        .unwrap_err();
        assert!(empty.to_string().contains("role must not be empty"));
        assert_eq!(
            v.keys().list().unwrap().len(),
            2,
            "no key left by refused adds"
        );
        let list = list_employees(&v).unwrap();
        assert_eq!(list, vec![a.clone(), b.clone()]);
        let off = deactivate_employee(&v, &admin, "jan@zorg.example").unwrap();
        assert!(!off.active);
        let renamed = update_employee(&v, &admin, &b.id, Some("Piet Jansen"), None).unwrap();
        assert_eq!(renamed.name, "Piet Jansen");
        assert_eq!(renamed.role, "Verpleegkundige");
        assert!(find_employee(&v, "nobody").is_err());
        let log = v
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("employee.".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(log.len(), 4, "2 adds, deactivate, rename");
    }

    #[test]
    fn issues_verifiable_credentials_only_to_active_employees() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let e = add_employee(&v, &admin, entry("jan@zorg.example")).unwrap();
        let clock = FixedClock(1_800_000_000);
        let none = issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, None, &clock);
        assert!(matches!(none, Err(IdentityError::NoOrganization)));
        let org = setup(&v, &admin);
        let issued =
            issue_employee_credential(&v, Issuer::Employee, "jan@zorg.example", None, &clock)
                .unwrap();
        assert_eq!(issued.expires - issued.not_before, 3600);
        assert_eq!(issued.subject, e.did);
        // Verify independently of the vault: the org DID document from the public data.
        let mut resolver = StaticDidResolver::new();
        resolver
            .insert(org::own_did_document(&org).unwrap())
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let verified = rt
            .block_on(verify_jwt_vc(
                &issued.jwt,
                &resolver,
                &clock,
                &VerifyOptions::default(),
            ))
            .unwrap();
        assert_eq!(verified.issuer.as_str(), org.did);
        let subject = &verified.normalized["credentialSubject"][0];
        assert_eq!(subject["id"], e.did);
        assert_eq!(subject["identifier"], "jan@zorg.example");
        assert_eq!(subject["roleName"], "Verpleegkundige");

        // Validity: admin setting and admin override; employees cannot override.
        set_credential_validity(&v, &admin, 900).unwrap();
        let short = issue_employee_credential(&v, Issuer::Employee, &e.id, None, &clock).unwrap();
        assert_eq!(short.expires - short.not_before, 900);
        let own = issue_employee_credential(&v, Issuer::Employee, &e.id, Some(60), &clock);
        assert_eq!(own.unwrap_err().code(), "admin_required");
        let long = issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, Some(7200), &clock)
            .unwrap();
        assert_eq!(long.expires - long.not_before, 7200);
        assert!(
            issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, Some(5), &clock).is_err()
        );
        assert!(set_credential_validity(&v, &admin, 100_000).is_err());

        deactivate_employee(&v, &admin, &e.id).unwrap();
        let refused =
            issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, None, &clock).unwrap_err();
        assert!(
            matches!(refused, IdentityError::EmployeeInactive(_)),
            "{refused}"
        );
        let log = v
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("employee.credential.issue".into()),
                ..Default::default()
            })
            .unwrap();
        let outcomes: Vec<&str> = log.iter().map(|e| e.outcome.as_str()).collect();
        assert_eq!(outcomes, ["failure", "success", "success", "success"]);
        assert_eq!(log[1].actor, "admin");
        assert_eq!(log[2].actor, format!("employee:{}", e.id));
        assert!(
            !log.iter()
                .any(|l| l.detail.to_string().contains(&issued.jwt)),
            "the credential itself is never logged"
        );
        reactivate_employee(&v, &admin, &e.id).unwrap();
        assert!(issue_employee_credential(&v, Issuer::Employee, &e.id, None, &clock).is_ok());
    }
}
