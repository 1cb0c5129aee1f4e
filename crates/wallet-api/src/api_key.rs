//! The loopback API's key: 32 random bytes (`nwk_` + base64url), stored sealed in the vault's
//! token table (kind [`API_KEY_KIND`]). Created by the administrator (`api-key show`) or at
//! the first `serve`; shown to the administrator only; rotation replaces it at once (a
//! running server reads the key from the vault on every request, so it takes effect
//! immediately). Creation and rotation are recorded in the activity log (never the key).

use sha2::{Digest, Sha256};
use wallet_vault::{Actor, AdminSession, NewActivity, NewToken, SecretString, Vault, VaultError};

/// Token kind of the API key in the vault.
pub const API_KEY_KIND: &str = "loopback_api_key";
/// Token audience of the API key in the vault.
pub const API_KEY_AUDIENCE: &str = "loopback-api";
const PREFIX: &str = "nwk_";

fn generate() -> SecretString {
    SecretString::new(format!(
        "{PREFIX}{}",
        wallet_protocol::random::random_token()
    ))
}

/// A new key, stored in the vault (the caller records why).
fn store_new(vault: &Vault) -> Result<SecretString, VaultError> {
    let key = generate();
    vault.tokens().put(NewToken {
        kind: API_KEY_KIND.into(),
        audience: API_KEY_AUDIENCE.into(),
        expires_at_ms: None,
        value: SecretString::new(key.expose_secret().to_owned()),
    })?;
    Ok(key)
}

/// The current key, if one exists. Needs the vault unlocked.
pub fn current(vault: &Vault) -> Result<Option<SecretString>, VaultError> {
    Ok(vault
        .tokens()
        .find(API_KEY_KIND, API_KEY_AUDIENCE)?
        .map(|t| t.value))
}

/// The current key, created (and logged) when there is none. Returns whether it was created.
/// Needs the vault unlocked, not an administrator session: headless `serve` may create it,
/// and only `api-key show` (administrator) reveals it.
pub fn ensure(vault: &Vault) -> Result<(SecretString, bool), VaultError> {
    if let Some(k) = current(vault)? {
        return Ok((k, false));
    }
    let key = store_new(vault)?;
    vault.activity_log().record(NewActivity::new(
        Actor::System,
        "api_key.create",
        API_KEY_AUDIENCE,
    ))?;
    Ok((key, true))
}

/// The key for the administrator to hand to the EHR (created when there is none).
pub fn show(vault: &Vault, admin: &AdminSession) -> Result<SecretString, VaultError> {
    vault
        .admin_session_remaining(admin)
        .ok_or(VaultError::AdminRequired("showing the API key"))?;
    Ok(ensure(vault)?.0)
}

/// Replaces the key (administrator); the old one stops working at once.
pub fn rotate(vault: &Vault, admin: &AdminSession) -> Result<SecretString, VaultError> {
    vault
        .admin_session_remaining(admin)
        .ok_or(VaultError::AdminRequired("rotating the API key"))?;
    let mut old = Vec::new();
    while let Some(t) = vault.tokens().find(API_KEY_KIND, API_KEY_AUDIENCE)? {
        if !vault.tokens().delete(&t.id)? {
            break;
        }
        old.push(t.id);
    }
    let key = store_new(vault)?;
    vault.activity_log().record(
        NewActivity::new(Actor::Admin, "api_key.rotate", API_KEY_AUDIENCE)
            .detail(serde_json::json!({ "replaced": old.len() })),
    )?;
    Ok(key)
}

/// Constant-time comparison of a presented key with the stored one (over SHA-256 digests, so
/// lengths do not leak either).
pub fn matches(presented: &str, stored: &SecretString) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(stored.expose_secret().as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
