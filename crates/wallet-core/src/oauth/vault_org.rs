//! The requesting organization from the vault's organization identity (`crate::org`):
//! subject, did:web, client id and its signing key; and this workstation's DPoP key.
//!
//! The DPoP key is a software key of the vault (purpose [`DPOP_KEY_PURPOSE`]) created on
//! first use without the administrator, never the organization key: a DPoP proof only binds
//! a token to this workstation, it must not be a signature of the organization
//! (`docs/protocol.md` §6.1). Its key id, the `dpop_kid` of token responses, is its RFC 9278
//! thumbprint URI.

use std::sync::Arc;

use wallet_protocol::did::Did;
use wallet_protocol::signer::Signer;
use wallet_vault::{Vault, VaultSigner};

use super::error::ServiceTokenError;
use super::service::{vault_error, RequesterSource};
use super::{ClientId, KeyId, Requester};

/// Vault key purpose of the DPoP key.
pub const DPOP_KEY_PURPOSE: &str = "dpop";

/// This workstation's DPoP key (created on first use).
pub fn dpop_key(vault: &Vault) -> Result<VaultSigner, ServiceTokenError> {
    let info = vault
        .keys()
        .ensure_workstation_key(DPOP_KEY_PURPOSE)
        .map_err(vault_error)?;
    vault.keys().signer(&info.id).map_err(vault_error)
}

/// The organization set up in the vault (`nuts-wallet org init`).
#[derive(Debug, Default, Clone, Copy)]
pub struct VaultOrganization;

impl VaultOrganization {
    fn org(vault: &Vault) -> Result<crate::org::OrgInfo, ServiceTokenError> {
        crate::org::organization(vault)
            .map_err(|e| match e {
                crate::org::IdentityError::Vault(v) => vault_error(v),
                other => ServiceTokenError::Storage(other.to_string()),
            })?
            .ok_or_else(|| ServiceTokenError::UnknownSubject("(no organization set up)".into()))
    }
}

impl RequesterSource for VaultOrganization {
    fn requester(&self, vault: &Vault, subject: &str) -> Result<Requester, ServiceTokenError> {
        let org = Self::org(vault)?;
        if org.subject != subject {
            return Err(ServiceTokenError::UnknownSubject(subject.to_owned()));
        }
        let signer = crate::org::organization_signer(vault, &org)
            .map_err(ServiceTokenError::from_identity)?;
        Ok(Requester {
            subject: org.subject.clone(),
            did: Did::parse(&org.did).map_err(|e| ServiceTokenError::Storage(e.to_string()))?,
            client_id: ClientId::new(org.client_id.clone()),
            signer: Arc::new(signer),
            dpop: Arc::new(dpop_key(vault)?),
        })
    }

    fn dpop_signer(
        &self,
        vault: &Vault,
        kid: &KeyId,
    ) -> Result<Arc<dyn Signer>, ServiceTokenError> {
        // Only a DPoP key of this vault: never the organization key, whatever its kid.
        let key = vault
            .keys()
            .list()
            .map_err(vault_error)?
            .into_iter()
            .find(|k| k.purpose == DPOP_KEY_PURPOSE && k.effective_kid() == kid.as_str())
            .ok_or_else(|| ServiceTokenError::UnknownDpopKey(kid.as_str().to_owned()))?;
        vault
            .keys()
            .signer(&key.id)
            .map(|s| Arc::new(s) as Arc<dyn Signer>)
            .map_err(|e| ServiceTokenError::Signing(e.to_string()))
    }
}
