//! Export: a stored credential exactly as it was stored (compact JWT or JSON-LD text), e.g.
//! to hand it to another wallet or to check it with other tools.

use wallet_vault::Vault;
use zeroize::Zeroizing;

use super::listing::find_credential_id;
use crate::org::Result;

/// The stored text of the credential with vault id `id` (or a unique prefix of at least 4
/// characters). Needs the vault unlocked.
pub fn export_credential(vault: &Vault, id: &str) -> Result<Zeroizing<String>> {
    let full = find_credential_id(vault, id)?;
    let stored = vault.credentials().get(&full)?;
    Ok(Zeroizing::new(stored.raw.expose_secret().to_owned()))
}
