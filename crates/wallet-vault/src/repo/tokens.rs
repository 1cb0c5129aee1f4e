//! The token cache: access tokens and the loopback API key, each sealed. Cached during normal
//! use, so no administrator session is needed.

use rusqlite::{params, Connection, OptionalExtension};

use super::Scope;
use crate::clock::now_ms;
use crate::crypto::{self, Place};
use crate::secret::{random_id, Key256, SecretString};
use crate::{Result, VaultError};

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

/// The token cache. From [`Vault::tokens`](crate::Vault::tokens) or
/// [`VaultTx::tokens`](crate::VaultTx::tokens).
#[derive(Clone, Copy)]
pub struct Tokens<'a> {
    scope: Scope<'a>,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        Tokens { scope }
    }

    /// Stores a token; returns its id. Needs the vault unlocked.
    pub fn put(&self, t: NewToken) -> Result<String> {
        let id = random_id();
        self.scope.write(|tx, key| {
            let version = tx.version();
            let context = token_context(&t.kind, &t.audience, t.expires_at_ms, version);
            let sealed = crypto::seal(
                key,
                Place::new("tokens", &id, "value")
                    .with_context(&context)
                    .versioned(version),
                t.value.expose_secret().as_bytes(),
            );
            tx.sql().execute(
                "INSERT INTO tokens (id, kind, audience, expires_at, created_at, value, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    t.kind,
                    t.audience,
                    t.expires_at_ms,
                    now_ms(),
                    sealed,
                    version
                ],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The newest unexpired token of this kind and audience.
    pub fn find(&self, kind: &str, audience: &str) -> Result<Option<Token>> {
        self.scope.read(|conn, key| {
            let row: Option<(String, Option<i64>, Vec<u8>, i64)> = conn
                .query_row(
                    "SELECT id, expires_at, value, version FROM tokens
                     WHERE kind = ?1 AND audience = ?2 AND (expires_at IS NULL OR expires_at > ?3)
                     ORDER BY created_at DESC LIMIT 1",
                    params![kind, audience, now_ms()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            row.map(|(id, expires_at_ms, sealed, version)| {
                let context = token_context(kind, audience, expires_at_ms, version);
                Ok(Token {
                    value: open_value(key, &id, &sealed, &context, version)?,
                    kind: kind.to_owned(),
                    audience: audience.to_owned(),
                    expires_at_ms,
                    id,
                })
            })
            .transpose()
        })
    }

    /// Token by id.
    pub fn get(&self, id: &str) -> Result<Token> {
        self.scope.read(|conn, key| get(conn, key, id))
    }

    /// Deletes a token (e.g. after the EHR fetched it once); returns whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.scope
            .write(|tx, _| Ok(tx.sql().execute("DELETE FROM tokens WHERE id = ?1", [id])? > 0))
    }

    /// Deletes expired tokens; returns how many.
    pub fn purge_expired(&self) -> Result<usize> {
        self.scope.write(|tx, _| {
            Ok(tx.sql().execute(
                "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                [now_ms()],
            )?)
        })
    }
}

/// kind, audience, expiry, sealed value, version.
type TokenRow = (String, String, Option<i64>, Vec<u8>, i64);

fn get(conn: &Connection, key: &Key256, id: &str) -> Result<Token> {
    let row: Option<TokenRow> = conn
        .query_row(
            "SELECT kind, audience, expires_at, value, version FROM tokens WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (kind, audience, expires_at_ms, sealed, version) =
        row.ok_or_else(|| VaultError::NotFound {
            kind: "token",
            id: id.to_owned(),
        })?;
    let context = token_context(&kind, &audience, expires_at_ms, version);
    Ok(Token {
        value: open_value(key, id, &sealed, &context, version)?,
        id: id.to_owned(),
        kind,
        audience,
        expires_at_ms,
    })
}

/// The clear columns bound into a token's sealed value (from version 1 on), so that a token
/// cannot be turned into another kind (such as the API key) or audience in the file.
fn token_context(kind: &str, audience: &str, expires_at_ms: Option<i64>, version: i64) -> Vec<u8> {
    if version == 0 {
        return Vec::new();
    }
    serde_json::to_vec(&serde_json::json!([kind, audience, expires_at_ms])).unwrap_or_default()
}

fn open_value(
    key: &Key256,
    id: &str,
    sealed: &[u8],
    context: &[u8],
    version: i64,
) -> Result<SecretString> {
    let place = Place::new("tokens", id, "value")
        .with_context(context)
        .versioned(version);
    let plain = crypto::open(key, place, sealed)?;
    let value = String::from_utf8(plain.to_vec()).map_err(|_| place.tampered())?;
    Ok(SecretString::new(value))
}
