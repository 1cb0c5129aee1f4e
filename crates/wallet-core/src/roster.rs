//! The employee roster and self-attestation (administrator): the wallet issues
//! NutsEmployeeCredential JWT VCs (organization DID → a did:jwk, `identifier`, `name`,
//! `roleName`; docs/protocol.md §7.4) on demand, valid for the administrator-set time (default
//! 1 hour). A deactivated employee gets none.
//!
//! Employees have no key of their own: as a Nuts node does, each user flow makes a fresh
//! [`EphemeralEmployeeKey`] whose did:jwk is the credential's subject and the holder of that
//! flow's presentation, and forgets it afterwards. Roster entries from older versions may still
//! name a vault key and a did:jwk; both are kept but no longer used.
//!
//! Roster changes are recorded by the vault in the same transaction (`employee.add`,
//! `employee.update`); each issuance is recorded as `employee.credential.issue` before the
//! credential is handed out.
//!
//! ```text
//! add_employee(vault, admin, NewRosterEntry{identifier, name, role}) -> EmployeeView
//! list_employees(vault) -> Vec<EmployeeView>       find_employee(vault, id_or_identifier)
//! update_employee(vault, admin, id, name, role)    deactivate_employee / reactivate_employee
//! set_credential_validity(vault, admin, secs)      credential_validity(vault)
//! issue_employee_credential(vault, Issuer::Admin(&s) | Issuer::Employee, id, &subject, validity, clock)
//! EphemeralEmployeeKey::generate() -> key with did() (did:jwk) and Signer
//! ```

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde::Serialize;
use serde_json::json;
use wallet_protocol::did::{self, Did};
use wallet_protocol::jose::{b64url, Jwk};
use wallet_protocol::signer::{SignError, Signer};
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
    /// The did:jwk of a roster entry from an older version that had a key of its own; `None`
    /// otherwise (each user flow uses a fresh did:jwk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// The employee's OS account (login name) on the workstations: on a workstation where the
    /// employee is chosen by OS account, only this user approves as them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_account: Option<String>,
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
            did: Some(s("did")).filter(|d| !d.is_empty()),
            os_account: Some(s("os_account")).filter(|d| !d.is_empty()),
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

/// Adds an employee to the roster (no key: each user flow makes its own,
/// [`EphemeralEmployeeKey`]). Administrator action. Refused for an identifier that is on the
/// roster already.
pub fn add_employee(
    vault: &Vault,
    admin: &AdminSession,
    entry: NewRosterEntry,
) -> Result<EmployeeView> {
    let managed = crate::profile::guard_area(vault, crate::profile::LocalArea::LocalEmployees)?;
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
    let e = vault.employees().add(
        admin,
        NewEmployee {
            identifier,
            personal: json!({ "name": name, "role": role }),
            key_id: None,
        },
    )?;
    if managed {
        crate::profile::note_employee(vault, admin, &e.identifier)?;
    }
    Ok(EmployeeView::from_employee(&e))
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
    crate::profile::guard_employee(vault, &e.identifier)?;
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

/// Checks an OS account name: a login name without spaces, control characters, `/`, `\` or
/// `@` (domain accounts are matched by their short name).
pub fn check_os_account(name: &str) -> Result<String> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.len() <= 64
        && !n
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '/' | '\\' | '@' | ':'));
    if ok {
        Ok(n.to_owned())
    } else {
        Err(IdentityError::InvalidInput(format!(
            "OS account {n:?} must be a login name without spaces, '/', '\\', '@' or ':'"
        )))
    }
}

/// Links a roster entry to an OS account (`None` unlinks it). Administrator action. Two
/// entries cannot share one account.
pub fn set_os_account(
    vault: &Vault,
    admin: &AdminSession,
    id_or_identifier: &str,
    os_account: Option<&str>,
) -> Result<EmployeeView> {
    let e = find_employee(vault, id_or_identifier)?;
    crate::profile::guard_employee(vault, &e.identifier)?;
    let account = os_account.map(check_os_account).transpose()?;
    if let Some(a) = &account {
        if let Some(other) = vault.employees().list()?.into_iter().find(|o| {
            o.id != e.id
                && o.personal
                    .get("os_account")
                    .and_then(|v| v.as_str())
                    .is_some_and(|x| x.eq_ignore_ascii_case(a))
        }) {
            return Err(IdentityError::InvalidInput(format!(
                "OS account {a} is already linked to {}",
                other.identifier
            )));
        }
    }
    let mut personal = e.personal.clone();
    match &account {
        Some(a) => personal["os_account"] = json!(a),
        None => {
            if let Some(m) = personal.as_object_mut() {
                m.remove("os_account");
            }
        }
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

/// The login name of the OS user running this process, from the OS (not from environment
/// variables, which the user could set to a colleague's name).
pub fn current_os_account() -> Option<String> {
    #[cfg(unix)]
    {
        let uid = nix::unistd::getuid();
        nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
    }
    #[cfg(windows)]
    {
        std::env::var("USERNAME").ok()
    }
    #[cfg(not(any(unix, windows)))]
    {
        None
    }
}

/// How the approving employee is chosen on this wallet: the stored setting, else by OS
/// account on a managed workstation and by picking on a single one.
pub fn employee_selection(vault: &Vault) -> Result<crate::profile::EmployeeSelection> {
    use crate::profile::{EmployeeSelection, SETTING_EMPLOYEE_SELECTION};
    if let Some(v) = vault.settings().get(SETTING_EMPLOYEE_SELECTION)? {
        if let Ok(s) = serde_json::from_value(v) {
            return Ok(s);
        }
    }
    let managed = crate::profile::managed_by(vault)
        .map_err(|e| IdentityError::Protocol(e.to_string()))?
        .is_some();
    Ok(if managed {
        EmployeeSelection::OsAccount
    } else {
        EmployeeSelection::Pick
    })
}

/// Sets how the approving employee is chosen. Administrator action.
pub fn set_employee_selection(
    vault: &Vault,
    admin: &AdminSession,
    selection: crate::profile::EmployeeSelection,
) -> Result<()> {
    let managed = crate::profile::guard_area(vault, crate::profile::LocalArea::EmployeeSelection)?;
    vault.settings().put(
        admin,
        crate::profile::SETTING_EMPLOYEE_SELECTION,
        &json!(selection),
    )?;
    if managed {
        crate::profile::note_change(vault, admin, crate::profile::LocalArea::EmployeeSelection)?;
    }
    Ok(())
}

/// Where employees are chosen by OS account: the roster entry of the OS session's user, or
/// why there is none (in words for the clinician). `Ok(None)` when employees are picked.
pub fn os_approver(vault: &Vault) -> Result<Option<std::result::Result<Employee, String>>> {
    if employee_selection(vault)? != crate::profile::EmployeeSelection::OsAccount {
        return Ok(None);
    }
    let Some(account) = current_os_account() else {
        return Ok(Some(Err(
            "this computer's account could not be determined; ask your administrator".into(),
        )));
    };
    Ok(Some(match employee_for_os_account(vault, &account)? {
        None => Err(format!(
            "your computer account \"{account}\" is not linked to an employee of this \
             organization; ask your administrator to link it"
        )),
        Some(e) if !e.active => Err(format!(
            "your computer account \"{account}\" is linked to {}, who is deactivated",
            e.identifier
        )),
        Some(e) => Ok(e),
    }))
}

/// The roster entry linked to OS account `account` (case-insensitive), if any: an active one
/// first (a deactivated entry keeping an old link never hides the current one).
pub fn employee_for_os_account(vault: &Vault, account: &str) -> Result<Option<Employee>> {
    let mut linked: Vec<Employee> = vault
        .employees()
        .list()?
        .into_iter()
        .filter(|e| {
            e.personal
                .get("os_account")
                .and_then(|v| v.as_str())
                .is_some_and(|x| x.eq_ignore_ascii_case(account))
        })
        .collect();
    linked.sort_by_key(|e| !e.active);
    Ok(linked.into_iter().next())
}

fn set_active(vault: &Vault, admin: &AdminSession, id: &str, active: bool) -> Result<EmployeeView> {
    let e = find_employee(vault, id)?;
    crate::profile::guard_employee(vault, &e.identifier)?;
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
    let managed = crate::profile::guard_area(vault, crate::profile::LocalArea::EmployeeValidity)?;
    let secs = check_validity(secs)?;
    vault
        .settings()
        .put(admin, SETTING_EMPLOYEE_VALIDITY, &json!(secs))?;
    if managed {
        crate::profile::note_change(vault, admin, crate::profile::LocalArea::EmployeeValidity)?;
    }
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

/// Issues a NutsEmployeeCredential for an active employee to `subject`, a did:jwk (normally
/// the [`EphemeralEmployeeKey`] of the flow that presents it). `validity_secs` overrides the
/// administrator-set validity and needs [`Issuer::Admin`]. Recorded as
/// `employee.credential.issue` (refusals too).
pub fn issue_employee_credential(
    vault: &Vault,
    by: Issuer<'_>,
    id_or_identifier: &str,
    subject: &Did,
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
    // The holder proves the subject with the key in the DID itself.
    if subject.method() != "jwk" || did::jwk::decode(subject).is_err() {
        return Err(IdentityError::InvalidInput(format!(
            "an employee credential's subject must be a did:jwk, not {subject}"
        )));
    }
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
    let org = org::require_organization(vault)?;
    let org_did = Did::parse(&org.did).map_err(IdentityError::protocol)?;
    let signer = org::organization_signer(vault, &org)?;
    let now = clock.now_unix();
    let claims = EmployeeClaims {
        identifier: e.identifier.clone(),
        name: view.name.clone(),
        role_name: view.role.clone(),
    };
    let jwt = vcjwt::issue_employee_credential(&signer, &org_did, subject, &claims, now, validity)
        .map_err(IdentityError::protocol)?;
    let jti = wallet_protocol::jose::CompactJws::parse(&jwt)
        .ok()
        .and_then(|j| j.claims().ok())
        .and_then(|c| c.get("jti").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_default();
    vault.activity_log().record(
        NewActivity::new(actor_for(&e), "employee.credential.issue", &e.id).detail(json!({
            "jti": jti, "exp": now + validity, "validity_secs": validity,
            "subject": subject.as_str(),
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

/// A P-256 key that lives for one user flow (as a Nuts node does): its did:jwk is the subject
/// of that flow's NutsEmployeeCredential and the holder of the user round's presentation, so
/// two flows of one employee cannot be linked by their holder. Never stored; the private
/// scalar is zeroized when the key is dropped (`p256`'s `SigningKey` does so on drop).
pub struct EphemeralEmployeeKey {
    key: SigningKey,
    did: Did,
    kid: String,
    public: serde_json::Map<String, serde_json::Value>,
}

impl EphemeralEmployeeKey {
    /// A fresh key from the OS CSPRNG and its did:jwk (key id `<did>#0`).
    pub fn generate() -> Result<Self> {
        let key = SigningKey::random(&mut rand_core::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(IdentityError::Protocol(
                "P-256 point without coordinates".into(),
            ));
        };
        let mut public = serde_json::Map::new();
        public.insert("kty".into(), "EC".into());
        public.insert("crv".into(), "P-256".into());
        public.insert("x".into(), b64url(x).into());
        public.insert("y".into(), b64url(y).into());
        let jwk = Jwk::from_map(public.clone()).map_err(IdentityError::protocol)?;
        let did = did::jwk::create(&jwk).map_err(IdentityError::protocol)?;
        let kid = did::jwk::key_id(&did).as_str().to_owned();
        Ok(EphemeralEmployeeKey {
            key,
            did,
            kid,
            public,
        })
    }

    /// The key's did:jwk.
    pub fn did(&self) -> &Did {
        &self.did
    }
}

impl std::fmt::Debug for EphemeralEmployeeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EphemeralEmployeeKey")
            .field("did", &self.did)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Signer for EphemeralEmployeeKey {
    fn algorithm(&self) -> &str {
        wallet_vault::ES256
    }
    fn key_id(&self) -> &str {
        &self.kid
    }
    fn public_jwk(&self) -> serde_json::Map<String, serde_json::Value> {
        self.public.clone()
    }
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, SignError> {
        let sig: Signature = self.key.sign(message);
        Ok(sig.to_bytes().to_vec())
    }
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
    fn add_list_deactivate_without_keys_and_log() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let a = add_employee(&v, &admin, entry("jan@zorg.example")).unwrap();
        let b = add_employee(&v, &admin, entry("piet@zorg.example")).unwrap();
        assert!(a.active && a.did.is_none() && b.did.is_none());
        assert!(
            serde_json::to_value(&a).unwrap().get("did").is_none(),
            "no DID in the JSON of an entry without one"
        );
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
        assert!(v.keys().list().unwrap().is_empty(), "employees get no keys");
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
        let key = EphemeralEmployeeKey::generate().unwrap();
        let holder = key.did();
        let none =
            issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, holder, None, &clock);
        assert!(matches!(none, Err(IdentityError::NoOrganization)));
        let org = setup(&v, &admin);
        let issued = issue_employee_credential(
            &v,
            Issuer::Employee,
            "jan@zorg.example",
            holder,
            None,
            &clock,
        )
        .unwrap();
        assert_eq!(issued.expires - issued.not_before, 3600);
        assert_eq!(issued.subject, holder.as_str());
        // Only a did:jwk can be the subject.
        let web = Did::parse(&org.did).unwrap();
        let refused = issue_employee_credential(&v, Issuer::Employee, &e.id, &web, None, &clock);
        assert_eq!(refused.unwrap_err().code(), "invalid_input");
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
        assert_eq!(subject["id"], holder.as_str());
        assert_eq!(subject["identifier"], "jan@zorg.example");
        assert_eq!(subject["roleName"], "Verpleegkundige");

        // Validity: admin setting and admin override; employees cannot override.
        set_credential_validity(&v, &admin, 900).unwrap();
        let short =
            issue_employee_credential(&v, Issuer::Employee, &e.id, holder, None, &clock).unwrap();
        assert_eq!(short.expires - short.not_before, 900);
        let own = issue_employee_credential(&v, Issuer::Employee, &e.id, holder, Some(60), &clock);
        assert_eq!(own.unwrap_err().code(), "admin_required");
        let long =
            issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, holder, Some(7200), &clock)
                .unwrap();
        assert_eq!(long.expires - long.not_before, 7200);
        assert!(issue_employee_credential(
            &v,
            Issuer::Admin(&admin),
            &e.id,
            holder,
            Some(5),
            &clock
        )
        .is_err());
        assert!(set_credential_validity(&v, &admin, 100_000).is_err());

        deactivate_employee(&v, &admin, &e.id).unwrap();
        let refused =
            issue_employee_credential(&v, Issuer::Admin(&admin), &e.id, holder, None, &clock)
                .unwrap_err();
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
        assert!(
            issue_employee_credential(&v, Issuer::Employee, &e.id, holder, None, &clock).is_ok()
        );
    }

    #[test]
    fn ephemeral_keys_are_fresh_did_jwk_signers() {
        let a = EphemeralEmployeeKey::generate().unwrap();
        let b = EphemeralEmployeeKey::generate().unwrap();
        assert_ne!(a.did(), b.did());
        assert_eq!(a.did().method(), "jwk");
        assert_eq!(a.key_id(), format!("{}#0", a.did()));
        // The DID is the public key, and signatures verify under it.
        let jwk = did::jwk::decode(a.did()).unwrap();
        assert_eq!(Jwk::from_map(a.public_jwk()).unwrap(), jwk);
        let mut claims = serde_json::Map::new();
        claims.insert("x".into(), json!(1));
        let jwt = wallet_protocol::jose::sign_jwt(&a, &claims).unwrap();
        assert!(wallet_protocol::jose::verify_compact(&jwt, &jwk).is_ok());
        let other = did::jwk::decode(b.did()).unwrap();
        assert!(wallet_protocol::jose::verify_compact(&jwt, &other).is_err());
        assert!(format!("{a:?}").contains("[redacted]"));
    }

    #[test]
    fn roster_entries_with_a_key_of_their_own_still_read() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let key = v.keys().generate(&admin, "employee", "employee").unwrap();
        let did = did::jwk::create(&Jwk::from_map(key.public_jwk).unwrap()).unwrap();
        v.employees()
            .add(
                &admin,
                NewEmployee {
                    identifier: "old@zorg.example".into(),
                    personal: json!({"name": "Oud", "role": "Arts", "did": did.as_str()}),
                    key_id: Some(key.id),
                },
            )
            .unwrap();
        let list = list_employees(&v).unwrap();
        assert_eq!(list[0].did.as_deref(), Some(did.as_str()));
        assert_eq!(list[0].name, "Oud");
    }
}
