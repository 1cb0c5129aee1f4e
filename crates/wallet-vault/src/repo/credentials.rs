//! Credentials: listing data in clear columns (filtered in SQL), the credential itself sealed
//! with those columns as associated data.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{delete_logged, Scope};
use crate::audit::{Actor, NewActivity};
use crate::clock::now_ms;
use crate::crypto::{self, Place};
use crate::secret::{random_id, Key256, SecretString};
use crate::vault::AdminSession;
use crate::{Result, VaultError};

/// What a credential is listed and filtered by: its clear columns (no claim values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialListing {
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
}

/// A credential to store.
#[derive(Debug)]
pub struct NewCredential {
    /// Its listing data.
    pub listing: CredentialListing,
    /// The credential as received (JWT or JSON-LD text). Stored sealed.
    pub raw: SecretString,
}

/// A stored credential's listing data (no claim values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialMeta {
    /// Row id.
    pub id: String,
    /// Types, format, issuer, subject and validity (flattened: the same JSON keys).
    #[serde(flatten)]
    pub listing: CredentialListing,
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
fn cred_context(m: &CredentialListing) -> Vec<u8> {
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
        listing: CredentialListing {
            types: serde_json::from_str(&types).unwrap_or_default(),
            format: r.get(2)?,
            issuer: r.get(3)?,
            subject: r.get(4)?,
            valid_from_ms: r.get(5)?,
            valid_until_ms: r.get(6)?,
        },
        created_at_ms: r.get(7)?,
    })
}

/// The stored credentials. From [`Vault::credentials`](crate::Vault::credentials) or
/// [`VaultTx::credentials`](crate::VaultTx::credentials).
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    scope: Scope<'a>,
}

impl<'a> Credentials<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        Credentials { scope }
    }

    /// Stores a credential. Administrator action.
    pub fn import(&self, session: &AdminSession, c: NewCredential) -> Result<CredentialMeta> {
        let mut v = self.import_all(session, vec![c])?;
        v.pop()
            .ok_or_else(|| VaultError::InvalidInput("no credential stored".into()))
    }

    /// Stores several credentials in one transaction (all or none), one activity entry each.
    /// Administrator action.
    pub fn import_all(
        &self,
        session: &AdminSession,
        creds: Vec<NewCredential>,
    ) -> Result<Vec<CredentialMeta>> {
        self.scope.check_admin(session, "importing credentials")?;
        if creds
            .iter()
            .map(|c| &c.listing)
            .any(|l| l.types.is_empty() || l.format.is_empty() || l.issuer.is_empty())
        {
            return Err(VaultError::InvalidInput(
                "a credential needs types, a format and an issuer".into(),
            ));
        }
        self.scope.write(|tx, key| {
            let mut out = Vec::with_capacity(creds.len());
            for c in creds {
                let id = random_id();
                let meta = CredentialMeta {
                    id: id.clone(),
                    listing: c.listing,
                    created_at_ms: now_ms(),
                };
                let l = &meta.listing;
                let types = serde_json::to_string(&l.types).unwrap_or_else(|_| "[]".into());
                let context = cred_context(l);
                let sealed = crypto::seal(
                    key,
                    Place::new("credentials", &id, "raw")
                        .with_context(&context)
                        .versioned(tx.version()),
                    c.raw.expose_secret().as_bytes(),
                );
                tx.sql()
                    .prepare_cached(
                        "INSERT INTO credentials (id, types, format, issuer, subject, valid_from,
                                                  valid_until, created_at, raw, version)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )?
                    .execute(params![
                        id,
                        types,
                        l.format,
                        l.issuer,
                        l.subject,
                        l.valid_from_ms,
                        l.valid_until_ms,
                        meta.created_at_ms,
                        sealed,
                        tx.version()
                    ])?;
                tx.record(
                    NewActivity::new(Actor::Admin, "credential.import", &id).detail(
                        serde_json::json!({
                            "types": l.types, "issuer": l.issuer, "format": l.format,
                        }),
                    ),
                )?;
                out.push(meta);
            }
            Ok(out)
        })
    }

    /// Lists credentials (metadata only). Each row's clear columns are checked against its
    /// sealed value first, so an issuer or validity edited in the file gives
    /// [`VaultError::Tampered`] instead of being shown. Needs the vault unlocked.
    pub fn list(&self, filter: &CredentialFilter) -> Result<Vec<CredentialMeta>> {
        self.scope.read(|conn, key| list(conn, key, filter))
    }

    /// Reads and decrypts one credential. Needs the vault unlocked.
    pub fn get(&self, id: &str) -> Result<Credential> {
        self.scope.read(|conn, key| get(conn, key, id))
    }

    /// Deletes a credential. Administrator action.
    pub fn delete(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.scope.check_admin(session, "deleting credentials")?;
        self.scope
            .write(|tx, _| delete_logged(tx, "credentials", "credential", "credential.delete", id))
    }
}

fn list(conn: &Connection, key: &Key256, filter: &CredentialFilter) -> Result<Vec<CredentialMeta>> {
    let mut sql = format!("SELECT {CRED_COLS}, raw, version FROM credentials WHERE 1=1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(t) = &filter.credential_type {
        sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(credentials.types) WHERE value = ?)");
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
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((cred_meta(r)?, r.get::<_, Vec<u8>>(8)?, r.get::<_, i64>(9)?))
    })?;
    rows.map(|row| {
        let (meta, sealed, version) = row?;
        open_raw(key, &meta, &sealed, version)?;
        Ok(meta)
    })
    .collect()
}

/// Opens a credential's sealed value, authenticating its clear columns with it.
fn open_raw(
    key: &Key256,
    meta: &CredentialMeta,
    sealed: &[u8],
    version: i64,
) -> Result<SecretString> {
    let context = cred_context(&meta.listing);
    let place = Place::new("credentials", &meta.id, "raw")
        .with_context(&context)
        .versioned(version);
    let plain = crypto::open(key, place, sealed)?;
    let raw = String::from_utf8(plain.to_vec()).map_err(|_| place.tampered())?;
    Ok(SecretString::new(raw))
}

fn get(conn: &Connection, key: &Key256, id: &str) -> Result<Credential> {
    let row = conn
        .query_row(
            &format!("SELECT {CRED_COLS}, raw, version FROM credentials WHERE id = ?1"),
            [id],
            |r| Ok((cred_meta(r)?, r.get::<_, Vec<u8>>(8)?, r.get::<_, i64>(9)?)),
        )
        .optional()?;
    let Some((meta, sealed, version)) = row else {
        return Err(VaultError::NotFound {
            kind: "credential",
            id: id.to_owned(),
        });
    };
    let raw = open_raw(key, &meta, &sealed, version)?;
    Ok(Credential { meta, raw })
}
