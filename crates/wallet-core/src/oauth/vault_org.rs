//! The requesting organization from the vault's organization identity (`crate::org`):
//! subject, did:web, client id and its signing key (also the DPoP key).

use std::sync::Arc;

use wallet_protocol::did::Did;
use wallet_protocol::signer::Signer;
use wallet_vault::Vault;

use super::error::ServiceTokenError;
use super::service::{vault_error, RequesterSource};
use super::{ClientId, KeyId, Requester};

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
        let signer = crate::org::organization_signer(vault, &org).map_err(|e| match e {
            crate::org::IdentityError::Vault(v) => vault_error(v),
            other => ServiceTokenError::Signing(other.to_string()),
        })?;
        Ok(Requester {
            subject: org.subject.clone(),
            did: Did::parse(&org.did).map_err(|e| ServiceTokenError::Storage(e.to_string()))?,
            client_id: ClientId::new(org.client_id.clone()),
            signer: Arc::new(signer),
        })
    }

    fn dpop_signer(
        &self,
        vault: &Vault,
        kid: &KeyId,
    ) -> Result<Arc<dyn Signer>, ServiceTokenError> {
        let org = Self::org(vault)?;
        if org.kid != kid.as_str() {
            return Err(ServiceTokenError::UnknownDpopKey(kid.as_str().to_owned()));
        }
        crate::org::organization_signer(vault, &org)
            .map(|s| Arc::new(s) as Arc<dyn Signer>)
            .map_err(|e| ServiceTokenError::Signing(e.to_string()))
    }
}
