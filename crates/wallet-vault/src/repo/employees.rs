//! The employee roster: the identifier and personal data sealed, a keyed hash of the
//! identifier for lookups, and the clear columns that grant something (active, key) checked
//! against their sealed copies on every read.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{delete_logged, Scope};
use crate::audit::{Actor, NewActivity};
use crate::clock::now_ms;
use crate::crypto::{self, Place};
use crate::secret::{hex, random_id, Key256};
use crate::vault::AdminSession;
use crate::{Result, VaultError};

/// A roster entry to add.
#[derive(Debug)]
pub struct NewEmployee {
    /// The identifier the EHR and the credential use (e.g. a UZI number or e-mail). Stored only
    /// sealed and as a keyed hash for lookups.
    pub identifier: String,
    /// Personal data (name, role, ...). Stored sealed.
    pub personal: serde_json::Value,
    /// The employee's signing key, if made already.
    pub key_id: Option<String>,
}

/// A decrypted roster entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Employee {
    /// Row id (used as the actor id in the activity log).
    pub id: String,
    /// Identifier.
    pub identifier: String,
    /// Personal data.
    pub personal: serde_json::Value,
    /// Whether the entry may be used.
    pub active: bool,
    /// Signing key.
    pub key_id: Option<String>,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms.
    pub updated_at_ms: i64,
}

/// Changes to a roster entry; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct EmployeeUpdate {
    /// New personal data.
    pub personal: Option<serde_json::Value>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New key (`Some(None)` removes it).
    pub key_id: Option<Option<String>>,
}

const EMP_COLS: &str = "id, active, key_id, personal, created_at, updated_at, version";

/// The employee roster. From [`Vault::employees`](crate::Vault::employees) or
/// [`VaultTx::employees`](crate::VaultTx::employees).
#[derive(Clone, Copy)]
pub struct Employees<'a> {
    scope: Scope<'a>,
}

impl<'a> Employees<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        Employees { scope }
    }

    /// Adds a roster entry. Administrator action.
    pub fn add(&self, session: &AdminSession, e: NewEmployee) -> Result<Employee> {
        self.scope.check_admin(session, "changing the roster")?;
        let identifier = e.identifier.trim().to_owned();
        if identifier.is_empty() {
            return Err(VaultError::InvalidInput(
                "employee identifier is empty".into(),
            ));
        }
        let now = now_ms();
        let emp = Employee {
            id: random_id(),
            identifier,
            personal: e.personal,
            active: true,
            key_id: e.key_id,
            created_at_ms: now,
            updated_at_ms: now,
        };
        self.scope
            .write(|tx, key| {
                let hash = identifier_hash(key, &emp.identifier);
                let dup: Option<String> = tx
                    .sql()
                    .query_row(
                        "SELECT id FROM employees WHERE identifier_hash = ?1",
                        [&hash],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(id) = dup {
                    return Err(VaultError::Duplicate {
                        kind: "employee",
                        id,
                    });
                }
                let sealed = seal_personal(key, &emp, tx.version())?;
                tx.sql().execute(
                    "INSERT INTO employees (id, identifier_hash, active, key_id, personal,
                                            created_at, updated_at, version)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5, ?6)",
                    params![emp.id, hash, emp.key_id, sealed, now, tx.version()],
                )?;
                tx.record(NewActivity::new(Actor::Admin, "employee.add", &emp.id))?;
                Ok(())
            })
            .map_err(|e| foreign_key_error(e, "key"))?;
        Ok(emp)
    }

    /// Changes a roster entry. Administrator action.
    pub fn update(
        &self,
        session: &AdminSession,
        id: &str,
        update: EmployeeUpdate,
    ) -> Result<Employee> {
        self.scope.check_admin(session, "changing the roster")?;
        let mut emp = self.get(id)?;
        if let Some(p) = update.personal {
            emp.personal = p;
        }
        if let Some(a) = update.active {
            emp.active = a;
        }
        if let Some(k) = update.key_id {
            emp.key_id = k;
        }
        emp.updated_at_ms = now_ms();
        self.scope
            .write(|tx, key| {
                let sealed = seal_personal(key, &emp, tx.version())?;
                tx.sql().execute(
                    "UPDATE employees SET active = ?1, key_id = ?2, personal = ?3, updated_at = ?4,
                                          version = ?5
                     WHERE id = ?6",
                    params![
                        emp.active,
                        emp.key_id,
                        sealed,
                        emp.updated_at_ms,
                        tx.version(),
                        id
                    ],
                )?;
                tx.record(
                    NewActivity::new(Actor::Admin, "employee.update", id)
                        .detail(serde_json::json!({ "active": emp.active, "key_id": emp.key_id })),
                )?;
                Ok(())
            })
            .map_err(|e| foreign_key_error(e, "key"))?;
        Ok(emp)
    }

    /// Removes a roster entry for good. Administrator action. (Prefer deactivating: the
    /// activity log keeps referring to the id.)
    pub fn remove(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.scope.check_admin(session, "changing the roster")?;
        self.scope
            .write(|tx, _| delete_logged(tx, "employees", "employee", "employee.remove", id))
    }

    /// One roster entry, decrypted. Needs the vault unlocked.
    pub fn get(&self, id: &str) -> Result<Employee> {
        self.scope.read(|conn, key| {
            let row = conn
                .query_row(
                    &format!("SELECT {EMP_COLS} FROM employees WHERE id = ?1"),
                    [id],
                    emp_row,
                )
                .optional()?
                .ok_or_else(|| VaultError::NotFound {
                    kind: "employee",
                    id: id.to_owned(),
                })?;
            open_employee(key, row)
        })
    }

    /// Finds the roster entry with this identifier (exact match). Needs the vault unlocked.
    pub fn by_identifier(&self, identifier: &str) -> Result<Option<Employee>> {
        let emp = self.scope.read(|conn, key| {
            let row = conn
                .query_row(
                    &format!("SELECT {EMP_COLS} FROM employees WHERE identifier_hash = ?1"),
                    [identifier_hash(key, identifier)],
                    emp_row,
                )
                .optional()?;
            row.map(|r| open_employee(key, r)).transpose()
        })?;
        if let Some(e) = &emp {
            // The clear hash must belong to the sealed identifier (catches swapped hashes).
            if e.identifier != identifier.trim() {
                return Err(VaultError::Tampered {
                    table: "employees".into(),
                    row: e.id.clone(),
                    column: "identifier_hash".into(),
                });
            }
        }
        Ok(emp)
    }

    /// The whole roster, decrypted. Needs the vault unlocked.
    pub fn list(&self) -> Result<Vec<Employee>> {
        self.scope.read(list)
    }
}

fn list(conn: &Connection, key: &Key256) -> Result<Vec<Employee>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {EMP_COLS} FROM employees ORDER BY created_at"
    ))?;
    let rows = stmt
        .query_map([], emp_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    rows.into_iter().map(|r| open_employee(key, r)).collect()
}

fn identifier_hash(key: &Key256, identifier: &str) -> String {
    let sub = crypto::subkey(key, "employee-identifier");
    hex(&crypto::hmac_sha256(
        sub.bytes(),
        &[identifier.trim().as_bytes()],
    ))
}

type EmpRow = (String, bool, Option<String>, Vec<u8>, i64, i64, i64);

fn emp_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EmpRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn seal_personal(key: &Key256, emp: &Employee, version: i64) -> Result<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(&serde_json::json!({
            "identifier": emp.identifier,
            "personal": emp.personal,
            "active": emp.active,
            "key_id": emp.key_id,
        }))
        .map_err(|e| VaultError::InvalidInput(format!("personal data: {e}")))?,
    );
    Ok(crypto::seal(
        key,
        Place::new("employees", &emp.id, "personal").versioned(version),
        &plain,
    ))
}

fn open_employee(key: &Key256, row: EmpRow) -> Result<Employee> {
    let (id, active, key_id, sealed, created_at_ms, updated_at_ms, version) = row;
    let place = Place::new("employees", &id, "personal").versioned(version);
    let plain = crypto::open(key, place, &sealed)?;
    let v: serde_json::Value = serde_json::from_slice(&plain).map_err(|_| place.tampered())?;
    let identifier = v["identifier"]
        .as_str()
        .ok_or_else(|| place.tampered())?
        .to_owned();
    // The clear columns that grant something (active, key) must match their sealed copies, so
    // re-activating an entry or swapping its key in the file is caught.
    if v["active"].as_bool() != Some(active) || v["key_id"].as_str() != key_id.as_deref() {
        return Err(VaultError::Tampered {
            table: "employees".into(),
            row: id,
            column: "active/key_id".into(),
        });
    }
    Ok(Employee {
        id,
        identifier,
        personal: v["personal"].clone(),
        active,
        key_id,
        created_at_ms,
        updated_at_ms,
    })
}

fn foreign_key_error(e: VaultError, what: &'static str) -> VaultError {
    match e {
        VaultError::Database(ref inner)
            if inner.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            VaultError::InvalidInput(format!("the referenced {what} does not exist"))
        }
        other => other,
    }
}
