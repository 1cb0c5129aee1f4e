//! Helpers shared by the integration tests: vaults in temp dirs with the in-memory key store
//! and cheap Argon2 parameters.

use std::path::Path;
use std::sync::Arc;

use wallet_vault::*;

pub const ADMIN: &str = "admin passphrase 1";
pub const VAULT_PW: &str = "vault passphrase 1";

pub fn create_with(dir: &Path, ks: &MemoryKeyStore, protection: Protection) -> Vault {
    Vault::create(
        dir,
        Arc::new(ks.clone()),
        CreateOptions {
            protection,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap()
}

pub fn pass_protection() -> Protection {
    Protection::Passphrase {
        passphrase: Passphrase::from(VAULT_PW),
        kdf: KdfParams::INSECURE_TEST,
    }
}

/// A fresh keyring-protected vault (in-memory key store), unlocked.
pub fn new_vault() -> (tempfile::TempDir, MemoryKeyStore, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let ks = MemoryKeyStore::new();
    let v = create_with(dir.path(), &ks, Protection::Keyring);
    (dir, ks, v)
}

pub fn admin(v: &Vault) -> AdminSession {
    v.admin_session(&Passphrase::from(ADMIN)).unwrap()
}

pub fn credential(n: usize) -> NewCredential {
    NewCredential {
        listing: CredentialListing {
            types: vec![
                "VerifiableCredential".into(),
                if n % 2 == 0 {
                    "NutsOrganizationCredential".into()
                } else {
                    "X509Credential".into()
                },
            ],
            format: "jwt_vc".into(),
            issuer: format!("did:web:issuer{}.example", n % 3),
            subject: Some("did:web:org.example:iam:1".into()),
            valid_from_ms: Some(1_000),
            valid_until_ms: Some(4_000_000_000_000),
        },
        raw: SecretString::from(format!("eyJhbGciOiJFUzI1NiJ9.credential-{n}.sig")),
    }
}

pub fn raw_conn(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db_path(dir)).unwrap()
}
