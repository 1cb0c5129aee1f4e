//! Record storage on the [`Vault`]: signing keys, credentials, the employee roster and tokens.
//!
//! Listing metadata (types, issuer, validity, ...) is kept in clear columns so it can be
//! filtered in SQL; the sensitive part of every record is one sealed column. Reads that return
//! sensitive data decrypt and authenticate it, and fail with `Tampered` rather than return
//! anything wrong. Administrator actions take an [`AdminSession`] and record themselves in the
//! activity log in the same transaction.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::audit::{Actor, NewActivity};
use crate::crypto::{self, Place};
use crate::keys::{jwk_thumbprint, KeyInfo, PrivateKey, ES256};
use crate::secret::{hex, random_id, SecretString};
use crate::util::now_ms;
use crate::vault::{AdminSession, Vault, VaultTx};
use crate::{Result, VaultError};

// ---------------------------------------------------------------- credentials

/// A credential to store.
#[derive(Debug)]
pub struct NewCredential {
    /// Credential types, e.g. `["VerifiableCredential", "NutsOrganizationCredential"]`.
    pub types: Vec<String>,
    /// Format: `jwt_vc`, `ldp_vc`, ...
    pub format: String,
    /// Issuer DID.
    pub issuer: String,
    /// Subject DID, if any.
    pub subject: Option<String>,
    /// Validity start (unix ms).
    pub valid_from_ms: Option<i64>,
    /// Validity end (unix ms).
    pub valid_until_ms: Option<i64>,
    /// The credential as received (JWT or JSON-LD text). Stored sealed.
    pub raw: SecretString,
}

/// A stored credential's listing data (no claim values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialMeta {
    /// Row id.
    pub id: String,
    /// Credential types.
    pub types: Vec<String>,
    /// Format.
    pub format: String,
    /// Issuer DID.
    pub issuer: String,
    /// Subject DID.
    pub subject: Option<String>,
    /// Validity start (unix ms).
    pub valid_from_ms: Option<i64>,
    /// Validity end (unix ms).
    pub valid_until_ms: Option<i64>,
    /// When it was stored (unix ms).
    pub created_at_ms: i64,
}

/// A decrypted credential.
#[derive(Debug)]
pub struct Credential {
    /// Listing data.
    pub meta: CredentialMeta,
    /// The credential as received.
    pub raw: SecretString,
}

/// Which credentials to list. Empty = all.
#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    /// Only credentials with this type.
    pub credential_type: Option<String>,
    /// Only from this issuer.
    pub issuer: Option<String>,
    /// Only about this subject.
    pub subject: Option<String>,
    /// Only those valid at this instant (unix ms).
    pub valid_at_ms: Option<i64>,
}

const CRED_COLS: &str = "id, types, format, issuer, subject, valid_from, valid_until, created_at";

/// The clear columns of a credential, bound into its sealed value's associated data: editing
/// them in the file makes the credential fail to open.
fn cred_context(m: &CredentialMeta) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([
        m.types,
        m.format,
        m.issuer,
        m.subject,
        m.valid_from_ms,
        m.valid_until_ms
    ]))
    .unwrap_or_default()
}

fn cred_meta(r: &rusqlite::Row<'_>) -> rusqlite::Result<CredentialMeta> {
    let types: String = r.get(1)?;
    Ok(CredentialMeta {
        id: r.get(0)?,
        types: serde_json::from_str(&types).unwrap_or_default(),
        format: r.get(2)?,
        issuer: r.get(3)?,
        subject: r.get(4)?,
        valid_from_ms: r.get(5)?,
        valid_until_ms: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

impl Vault {
    /// Stores a credential. Administrator action.
    pub fn import_credential(
        &self,
        session: &AdminSession,
        c: NewCredential,
    ) -> Result<CredentialMeta> {
        let mut v = self.import_credentials(session, vec![c])?;
        v.pop()
            .ok_or_else(|| VaultError::InvalidInput("no credential stored".into()))
    }

    /// Stores several credentials in one transaction (all or none), one activity entry each.
    /// Administrator action.
    pub fn import_credentials(
        &self,
        session: &AdminSession,
        creds: Vec<NewCredential>,
    ) -> Result<Vec<CredentialMeta>> {
        self.check_admin(session, "importing credentials")?;
        if creds
            .iter()
            .any(|c| c.types.is_empty() || c.format.is_empty() || c.issuer.is_empty())
        {
            return Err(VaultError::InvalidInput(
                "a credential needs types, a format and an issuer".into(),
            ));
        }
        self.write(|tx, key| {
            let mut out = Vec::with_capacity(creds.len());
            for c in creds {
                let id = random_id();
                let meta = CredentialMeta {
                    id: id.clone(),
                    types: c.types,
                    format: c.format,
                    issuer: c.issuer,
                    subject: c.subject,
                    valid_from_ms: c.valid_from_ms,
                    valid_until_ms: c.valid_until_ms,
                    created_at_ms: now_ms(),
                };
                let types = serde_json::to_string(&meta.types).unwrap_or_else(|_| "[]".into());
                let context = cred_context(&meta);
                let sealed = crypto::seal(
                    key,
                    Place::new("credentials", &id, "raw").with_context(&context),
                    c.raw.expose_secret().as_bytes(),
                );
                tx.sql()
                    .prepare_cached(
                        "INSERT INTO credentials (id, types, format, issuer, subject, valid_from,
                                                  valid_until, created_at, raw)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )?
                    .execute(params![
                        id,
                        types,
                        meta.format,
                        meta.issuer,
                        meta.subject,
                        meta.valid_from_ms,
                        meta.valid_until_ms,
                        meta.created_at_ms,
                        sealed
                    ])?;
                tx.record(
                    NewActivity::new(Actor::Admin, "credential.import", &id).detail(
                        serde_json::json!({
                            "types": meta.types, "issuer": meta.issuer, "format": meta.format,
                        }),
                    ),
                )?;
                out.push(meta);
            }
            Ok(out)
        })
    }

    /// Lists credentials (metadata only, nothing decrypted). Needs the vault unlocked.
    pub fn list_credentials(&self, filter: &CredentialFilter) -> Result<Vec<CredentialMeta>> {
        self.key()?;
        let mut sql = format!("SELECT {CRED_COLS} FROM credentials WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(t) = &filter.credential_type {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM json_each(credentials.types) WHERE value = ?)",
            );
            args.push(t.clone().into());
        }
        if let Some(i) = &filter.issuer {
            sql.push_str(" AND issuer = ?");
            args.push(i.clone().into());
        }
        if let Some(s) = &filter.subject {
            sql.push_str(" AND subject = ?");
            args.push(s.clone().into());
        }
        if let Some(t) = filter.valid_at_ms {
            sql.push_str(
                " AND (valid_from IS NULL OR valid_from <= ?) AND (valid_until IS NULL OR valid_until > ?)",
            );
            args.push(t.into());
            args.push(t.into());
        }
        sql.push_str(" ORDER BY created_at, id");
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), cred_meta)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Reads and decrypts one credential. Needs the vault unlocked.
    pub fn credential(&self, id: &str) -> Result<Credential> {
        let key = self.key()?;
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("SELECT {CRED_COLS}, raw FROM credentials WHERE id = ?1"),
                [id],
                |r| Ok((cred_meta(r)?, r.get::<_, Vec<u8>>(8)?)),
            )
            .optional()?;
        let Some((meta, sealed)) = row else {
            return Err(VaultError::NotFound {
                kind: "credential",
                id: id.to_owned(),
            });
        };
        let context = cred_context(&meta);
        let place = Place::new("credentials", id, "raw").with_context(&context);
        let plain = crypto::open(&key, place, &sealed)?;
        let raw = String::from_utf8(plain.to_vec()).map_err(|_| place.tampered())?;
        Ok(Credential {
            meta,
            raw: SecretString::new(raw),
        })
    }

    /// Deletes a credential. Administrator action.
    pub fn delete_credential(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.check_admin(session, "deleting credentials")?;
        self.write(|tx, _| delete_logged(tx, "credentials", "credential", "credential.delete", id))
    }
}

// ---------------------------------------------------------------- keys

const KEY_COLS: &str = "id, label, purpose, alg, kid, public_jwk, thumbprint, created_at";

fn key_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyInfo> {
    let jwk: String = r.get(5)?;
    Ok(KeyInfo {
        id: r.get(0)?,
        label: r.get(1)?,
        purpose: r.get(2)?,
        alg: r.get(3)?,
        kid: r.get(4)?,
        public_jwk: serde_json::from_str(&jwk).unwrap_or_default(),
        thumbprint: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

impl Vault {
    /// Generates a new P-256 signing key. Administrator action.
    pub fn generate_key(
        &self,
        session: &AdminSession,
        label: &str,
        purpose: &str,
    ) -> Result<KeyInfo> {
        self.check_admin(session, "creating keys")?;
        self.store_key(PrivateKey::generate(), label, purpose, "key.generate")
    }

    /// Imports a P-256 private key given as a JWK or PEM (PKCS#8 or SEC1). Administrator
    /// action. The material is not kept anywhere but sealed in the vault.
    pub fn import_key(
        &self,
        session: &AdminSession,
        label: &str,
        purpose: &str,
        material: &SecretString,
    ) -> Result<KeyInfo> {
        self.check_admin(session, "importing keys")?;
        let key = PrivateKey::import(material.expose_secret())?;
        self.store_key(key, label, purpose, "key.import")
    }

    fn store_key(
        &self,
        pk: PrivateKey,
        label: &str,
        purpose: &str,
        action: &str,
    ) -> Result<KeyInfo> {
        let jwk = pk.public_jwk();
        let info = KeyInfo {
            id: random_id(),
            label: label.to_owned(),
            purpose: purpose.to_owned(),
            alg: ES256.to_owned(),
            kid: None,
            thumbprint: jwk_thumbprint(&jwk)?,
            public_jwk: jwk,
            created_at_ms: now_ms(),
        };
        self.write(|tx, key| {
            let exists: Option<String> = tx
                .sql()
                .query_row(
                    "SELECT id FROM keys WHERE thumbprint = ?1",
                    [&info.thumbprint],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = exists {
                return Err(VaultError::Duplicate {
                    kind: "key",
                    id: existing,
                });
            }
            let sealed = crypto::seal(
                key,
                Place::new("keys", &info.id, "private_key")
                    .with_context(info.thumbprint.as_bytes()),
                &pk.to_sealable(),
            );
            tx.sql().execute(
                "INSERT INTO keys (id, label, purpose, alg, kid, public_jwk, thumbprint,
                                   private_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8)",
                params![
                    info.id,
                    info.label,
                    info.purpose,
                    info.alg,
                    serde_json::to_string(&info.public_jwk).unwrap_or_default(),
                    info.thumbprint,
                    sealed,
                    info.created_at_ms
                ],
            )?;
            tx.record(NewActivity::new(Actor::Admin, action, &info.id).detail(
                serde_json::json!({
                    "label": info.label, "purpose": info.purpose, "thumbprint": info.thumbprint,
                }),
            ))?;
            Ok(())
        })?;
        Ok(info)
    }

    /// Lists keys (public data only). Needs the vault unlocked.
    pub fn keys(&self) -> Result<Vec<KeyInfo>> {
        self.key()?;
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {KEY_COLS} FROM keys ORDER BY created_at"))?;
        let rows = stmt.query_map([], key_info)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// One key's public data. Needs the vault unlocked.
    pub fn key_info(&self, id: &str) -> Result<KeyInfo> {
        self.key()?;
        self.conn()
            .query_row(
                &format!("SELECT {KEY_COLS} FROM keys WHERE id = ?1"),
                [id],
                key_info,
            )
            .optional()?
            .ok_or_else(|| VaultError::NotFound {
                kind: "key",
                id: id.to_owned(),
            })
    }

    /// Sets the JWS `kid` of a key (e.g. its DID URL). Administrator action.
    pub fn set_key_kid(&self, session: &AdminSession, id: &str, kid: &str) -> Result<()> {
        self.check_admin(session, "changing keys")?;
        self.write(|tx, _| {
            let n = tx
                .sql()
                .execute("UPDATE keys SET kid = ?1 WHERE id = ?2", params![kid, id])?;
            if n == 0 {
                return Err(VaultError::NotFound {
                    kind: "key",
                    id: id.to_owned(),
                });
            }
            tx.record(
                NewActivity::new(Actor::Admin, "key.kid", id)
                    .detail(serde_json::json!({ "kid": kid })),
            )?;
            Ok(())
        })
    }

    /// Deletes a key. Administrator action. Refused while a roster entry uses it.
    pub fn delete_key(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.check_admin(session, "deleting keys")?;
        self.write(|tx, _| {
            let users: i64 = tx.sql().query_row(
                "SELECT count(*) FROM employees WHERE key_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            if users > 0 {
                return Err(VaultError::InvalidInput(format!(
                    "key {id} is used by {users} roster entr{}; change those first",
                    if users == 1 { "y" } else { "ies" }
                )));
            }
            delete_logged(tx, "keys", "key", "key.delete", id)
        })
    }

    /// A [`wallet_protocol::signer::Signer`] for a stored key. The signer reads the sealed key
    /// on each signature, so it stops working as soon as the vault locks.
    pub fn signer(&self, id: &str) -> Result<VaultSigner> {
        let info = self.key_info(id)?;
        // The public JWK handed out must be the private key's: check both clear columns.
        let pk = self.private_key(id)?;
        if jwk_thumbprint(&info.public_jwk)? != info.thumbprint
            || pk.public_jwk() != info.public_jwk
        {
            return Err(VaultError::Tampered {
                table: "keys".into(),
                row: id.to_owned(),
                column: "public_jwk".into(),
            });
        }
        Ok(VaultSigner {
            vault: self.clone(),
            kid: info.effective_kid().to_owned(),
            info,
        })
    }

    fn private_key(&self, id: &str) -> Result<PrivateKey> {
        let key = self.key()?;
        let (thumbprint, sealed): (String, Vec<u8>) = self
            .conn()
            .query_row(
                "SELECT thumbprint, private_key FROM keys WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| VaultError::NotFound {
                kind: "key",
                id: id.to_owned(),
            })?;
        let place = Place::new("keys", id, "private_key").with_context(thumbprint.as_bytes());
        let plain = crypto::open(&key, place, &sealed)?;
        PrivateKey::from_sealed(&plain).ok_or_else(|| place.tampered())
    }

    fn sign_with(&self, id: &str, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.private_key(id)?.sign(message))
    }
}

/// Signs with a key held in the vault. Holds no key material itself.
#[derive(Debug, Clone)]
pub struct VaultSigner {
    vault: Vault,
    kid: String,
    info: KeyInfo,
}

impl VaultSigner {
    /// Public data of the key.
    pub fn info(&self) -> &KeyInfo {
        &self.info
    }
}

impl wallet_protocol::signer::Signer for VaultSigner {
    fn algorithm(&self) -> &str {
        ES256
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> serde_json::Map<String, serde_json::Value> {
        self.info.public_jwk.clone()
    }

    fn sign(
        &self,
        message: &[u8],
    ) -> std::result::Result<Vec<u8>, wallet_protocol::signer::SignError> {
        use wallet_protocol::signer::SignError;
        self.vault
            .sign_with(&self.info.id, message)
            .map_err(|e| match e {
                VaultError::Locked | VaultError::NotFound { .. } => {
                    SignError::Unavailable(e.to_string())
                }
                other => SignError::Crypto(other.to_string()),
            })
    }
}

// ---------------------------------------------------------------- employees

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

fn identifier_hash(key: &crate::secret::Key256, identifier: &str) -> String {
    let sub = crypto::subkey(key, "employee-identifier");
    hex(&crypto::hmac_sha256(
        sub.bytes(),
        &[identifier.trim().as_bytes()],
    ))
}

const EMP_COLS: &str = "id, active, key_id, personal, created_at, updated_at";

impl Vault {
    /// Adds a roster entry. Administrator action.
    pub fn add_employee(&self, session: &AdminSession, e: NewEmployee) -> Result<Employee> {
        self.check_admin(session, "changing the roster")?;
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
        self.write(|tx, key| {
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
            let sealed = seal_personal(key, &emp)?;
            tx.sql().execute(
                "INSERT INTO employees (id, identifier_hash, active, key_id, personal,
                                        created_at, updated_at)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5)",
                params![emp.id, hash, emp.key_id, sealed, now],
            )?;
            tx.record(NewActivity::new(Actor::Admin, "employee.add", &emp.id))?;
            Ok(())
        })
        .map_err(|e| foreign_key_error(e, "key"))?;
        Ok(emp)
    }

    /// Changes a roster entry. Administrator action.
    pub fn update_employee(
        &self,
        session: &AdminSession,
        id: &str,
        update: EmployeeUpdate,
    ) -> Result<Employee> {
        self.check_admin(session, "changing the roster")?;
        let mut emp = self.employee(id)?;
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
        self.write(|tx, key| {
            let sealed = seal_personal(key, &emp)?;
            tx.sql().execute(
                "UPDATE employees SET active = ?1, key_id = ?2, personal = ?3, updated_at = ?4
                 WHERE id = ?5",
                params![emp.active, emp.key_id, sealed, emp.updated_at_ms, id],
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
    pub fn remove_employee(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.check_admin(session, "changing the roster")?;
        self.write(|tx, _| delete_logged(tx, "employees", "employee", "employee.remove", id))
    }

    /// One roster entry, decrypted. Needs the vault unlocked.
    pub fn employee(&self, id: &str) -> Result<Employee> {
        let key = self.key()?;
        let conn = self.conn();
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
        open_employee(&key, row)
    }

    /// Finds the roster entry with this identifier (exact match). Needs the vault unlocked.
    pub fn employee_by_identifier(&self, identifier: &str) -> Result<Option<Employee>> {
        let key = self.key()?;
        let hash = identifier_hash(&key, identifier);
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("SELECT {EMP_COLS} FROM employees WHERE identifier_hash = ?1"),
                [hash],
                emp_row,
            )
            .optional()?;
        drop(conn);
        let emp = row.map(|r| open_employee(&key, r)).transpose()?;
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
    pub fn employees(&self) -> Result<Vec<Employee>> {
        let key = self.key()?;
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EMP_COLS} FROM employees ORDER BY created_at"
        ))?;
        let rows = stmt
            .query_map([], emp_row)?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter().map(|r| open_employee(&key, r)).collect()
    }
}

type EmpRow = (String, bool, Option<String>, Vec<u8>, i64, i64);

fn emp_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EmpRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn seal_personal(key: &crate::secret::Key256, emp: &Employee) -> Result<Vec<u8>> {
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
        Place::new("employees", &emp.id, "personal"),
        &plain,
    ))
}

fn open_employee(key: &crate::secret::Key256, row: EmpRow) -> Result<Employee> {
    let (id, active, key_id, sealed, created_at_ms, updated_at_ms) = row;
    let place = Place::new("employees", &id, "personal");
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

// ---------------------------------------------------------------- tokens

/// A token to cache (access token, DPoP-bound token, ...).
#[derive(Debug)]
pub struct NewToken {
    /// What it is (`access_token`, ...).
    pub kind: String,
    /// For what: authorization server + scope, or a session id.
    pub audience: String,
    /// Expiry (unix ms).
    pub expires_at_ms: Option<i64>,
    /// The token. Stored sealed.
    pub value: SecretString,
}

/// A decrypted token.
#[derive(Debug)]
pub struct Token {
    /// Row id.
    pub id: String,
    /// What it is.
    pub kind: String,
    /// For what.
    pub audience: String,
    /// Expiry (unix ms).
    pub expires_at_ms: Option<i64>,
    /// The token.
    pub value: SecretString,
}

impl Vault {
    /// Stores a token. Needs the vault unlocked (no administrator session: tokens are cached
    /// during normal use).
    pub fn put_token(&self, t: NewToken) -> Result<String> {
        let id = random_id();
        self.write(|tx, key| {
            let sealed = crypto::seal(
                key,
                Place::new("tokens", &id, "value"),
                t.value.expose_secret().as_bytes(),
            );
            tx.sql().execute(
                "INSERT INTO tokens (id, kind, audience, expires_at, created_at, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, t.kind, t.audience, t.expires_at_ms, now_ms(), sealed],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The newest unexpired token of this kind and audience.
    pub fn find_token(&self, kind: &str, audience: &str) -> Result<Option<Token>> {
        let key = self.key()?;
        let row: Option<(String, Option<i64>, Vec<u8>)> = self
            .conn()
            .query_row(
                "SELECT id, expires_at, value FROM tokens
                 WHERE kind = ?1 AND audience = ?2 AND (expires_at IS NULL OR expires_at > ?3)
                 ORDER BY created_at DESC LIMIT 1",
                params![kind, audience, now_ms()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(id, expires_at_ms, sealed)| {
            let place = Place::new("tokens", &id, "value");
            let plain = crypto::open(&key, place, &sealed)?;
            let value = String::from_utf8(plain.to_vec()).map_err(|_| place.tampered())?;
            Ok(Token {
                kind: kind.to_owned(),
                audience: audience.to_owned(),
                expires_at_ms,
                value: SecretString::new(value),
                id,
            })
        })
        .transpose()
    }

    /// Token by id.
    pub fn token(&self, id: &str) -> Result<Token> {
        let key = self.key()?;
        let row: Option<(String, String, Option<i64>, Vec<u8>)> = self
            .conn()
            .query_row(
                "SELECT kind, audience, expires_at, value FROM tokens WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (kind, audience, expires_at_ms, sealed) = row.ok_or_else(|| VaultError::NotFound {
            kind: "token",
            id: id.to_owned(),
        })?;
        let place = Place::new("tokens", id, "value");
        let plain = crypto::open(&key, place, &sealed)?;
        let value = String::from_utf8(plain.to_vec()).map_err(|_| place.tampered())?;
        Ok(Token {
            id: id.to_owned(),
            kind,
            audience,
            expires_at_ms,
            value: SecretString::new(value),
        })
    }

    /// Deletes a token (e.g. after the EHR fetched it once).
    pub fn delete_token(&self, id: &str) -> Result<bool> {
        self.write(|tx, _| Ok(tx.sql().execute("DELETE FROM tokens WHERE id = ?1", [id])? > 0))
    }

    /// Deletes expired tokens; returns how many.
    pub fn purge_expired_tokens(&self) -> Result<usize> {
        self.write(|tx, _| {
            Ok(tx.sql().execute(
                "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                [now_ms()],
            )?)
        })
    }
}

/// Deletes row `id` of `table` and records the administrator's `action` in the same
/// transaction; `NotFound { kind }` when there is no such row.
fn delete_logged(
    tx: &mut VaultTx<'_>,
    table: &'static str,
    kind: &'static str,
    action: &str,
    id: &str,
) -> Result<()> {
    let n = tx
        .sql()
        .execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
    if n == 0 {
        return Err(VaultError::NotFound {
            kind,
            id: id.to_owned(),
        });
    }
    tx.record(NewActivity::new(Actor::Admin, action, id))?;
    Ok(())
}
