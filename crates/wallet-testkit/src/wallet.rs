//! A wallet vault as the administrator leaves it after setup: organization `zorg` at a base
//! URL, and a NutsOrganizationCredential ([`crate::vc::org_credential`]) stored.

use std::path::Path;
use std::sync::Arc;

use wallet_core::org::{OrgInfo, OrgSetup};
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::{
    CreateOptions, CredentialListing, KdfParams, KeyStore, MemoryKeyStore, NewCredential,
    Passphrase, Protection, SecretString, Vault,
};

/// The organization's subject in every test wallet.
pub const SUBJECT: &str = "zorg";

/// A set-up wallet.
pub struct OrgWallet {
    /// The unlocked vault.
    pub vault: Vault,
    /// The organization identity.
    pub org: OrgInfo,
}

/// Creates a vault in `dir` (fast test KDF; `protection` as given, its keyring in memory),
/// the organization [`SUBJECT`] published at `base_url`, and its organization credential.
pub fn org_wallet(dir: &Path, protection: Protection, admin_pw: &str, base_url: &str) -> OrgWallet {
    org_wallet_with_key(
        dir,
        protection,
        admin_pw,
        base_url,
        wallet_core::org::NewKeyLocation::Vault,
    )
}

/// [`org_wallet`] with the organization key in `key` (e.g. a SoftHSM2 object).
pub fn org_wallet_with_key(
    dir: &Path,
    protection: Protection,
    admin_pw: &str,
    base_url: &str,
    key: wallet_core::org::NewKeyLocation,
) -> OrgWallet {
    let keystore: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    let vault = Vault::create(
        dir,
        keystore,
        CreateOptions {
            protection,
            admin_passphrase: Passphrase::from(admin_pw),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .expect("vault");
    let admin = vault
        .admin_session(&Passphrase::from(admin_pw))
        .expect("admin");
    let org = wallet_core::org::init_organization_with_key(
        &vault,
        &admin,
        OrgSetup {
            subject: SUBJECT.into(),
            base_url: base_url.to_owned(),
            did: None,
        },
        key,
    )
    .expect("organization");
    let now = SystemClock.now_unix();
    let cred = crate::vc::org_credential(&org.did, now);
    vault
        .credentials()
        .import(
            &admin,
            NewCredential {
                listing: CredentialListing {
                    types: vec![
                        "VerifiableCredential".into(),
                        "NutsOrganizationCredential".into(),
                    ],
                    format: "ldp_vc".into(),
                    issuer: cred["issuer"].as_str().unwrap_or_default().to_owned(),
                    subject: Some(org.did.clone()),
                    valid_from_ms: Some((now - 60) * 1000),
                    valid_until_ms: Some((now + 86_400) * 1000),
                },
                raw: SecretString::new(cred.to_string()),
            },
        )
        .expect("credential");
    OrgWallet { vault, org }
}
