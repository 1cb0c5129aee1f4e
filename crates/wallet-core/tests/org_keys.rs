//! Organization keys end to end: rotation with overlap against a real HTTPS server that serves
//! (or does not yet serve) the published bundle, with the key in the vault and in SoftHSM2.

use std::path::Path;
use std::sync::Arc;

use wallet_core::org::{
    self, IdentityError, KeyRole, KeyStoreKind, NewKeyLocation, OrgInfo, OrgSetup,
};
use wallet_core::runtime::Network;
use wallet_protocol::did::{DidResolver, DidUrl, StaticDidResolver};
use wallet_protocol::metadata::verify_entity_statement;
use wallet_protocol::net::NetPolicy;
use wallet_protocol::signer::Signer;
use wallet_protocol::SystemClock;
use wallet_testkit::https::StaticHttpsServer;
use wallet_testkit::pki::TestPki;
use wallet_testkit::softhsm::SoftHsm;
use wallet_vault::{
    AdminSession, CreateOptions, KdfParams, KeyStore, MemoryKeyStore, Passphrase, Protection, Vault,
};

const ADMIN: &str = "admin passphrase for org key tests";

fn vault(dir: &Path) -> (Vault, AdminSession) {
    let keystore: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::default());
    let vault = Vault::create(
        dir,
        keystore,
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    let admin = vault.admin_session(&Passphrase::from(ADMIN)).unwrap();
    (vault, admin)
}

struct Site {
    _tmp: tempfile::TempDir,
    vault: Vault,
    admin: AdminSession,
    server: StaticHttpsServer,
    net: Network,
    out: std::path::PathBuf,
}

impl Site {
    async fn new(key: NewKeyLocation) -> (Site, OrgInfo) {
        let pki = TestPki::localhost();
        let server = StaticHttpsServer::start(&pki).await;
        let tmp = tempfile::tempdir().unwrap();
        let (vault, admin) = vault(&tmp.path().join("v"));
        let org = org::init_organization_with_key(
            &vault,
            &admin,
            OrgSetup {
                subject: "acme".into(),
                base_url: server.base(),
                did: None,
            },
            key,
        )
        .unwrap();
        let net = Network::from_policy(NetPolicy {
            dev: true,
            extra_ca_pem: Some(pki.ca_pem.clone()),
        })
        .unwrap();
        let out = tmp.path().join("bundle");
        let site = Site {
            _tmp: tmp,
            vault,
            admin,
            server,
            net,
            out,
        };
        site.publish_and_upload();
        (site, org)
    }

    /// `org publish` and copying every file to the web server.
    fn publish_and_upload(&self) {
        let report = org::publish(&self.vault, &self.admin, &self.out, &SystemClock).unwrap();
        for f in &report.files {
            let body = std::fs::read(self.out.join(&f.path)).unwrap();
            self.server
                .serve(&format!("/{}", f.path), &f.content_type, body);
        }
    }

    /// A presentation-like signature made now verifies against what the server hosts.
    async fn signature_verifies_against_hosted(&self) -> bool {
        let info = org::require_organization(&self.vault).unwrap();
        let signer = org::organization_signer(&self.vault, &info).unwrap();
        let mut claims = serde_json::Map::new();
        claims.insert("iss".into(), info.did.clone().into());
        let jwt = wallet_protocol::jose::sign_jwt(&signer, &claims).unwrap();
        let resolver = wallet_protocol::did::web::DidWebResolver::new(
            self.net.http.clone(),
            self.net.policy.clone(),
            self.net.clock.clone(),
        );
        let kid = DidUrl::parse(signer.key_id()).unwrap();
        let Ok(doc) = resolver.resolve(&kid.did()).await else {
            return false;
        };
        let Ok(key) = doc.assertion_key(&kid) else {
            return false;
        };
        wallet_protocol::jose::CompactJws::parse(&jwt)
            .unwrap()
            .verify_with(&key)
            .is_ok()
    }
}

/// Rotate, publish, activate (refused until the web server serves the new key), retire: at
/// every step a signature made with the key in use verifies against the hosted DID document.
async fn rotation_without_a_gap(key: NewKeyLocation, next: Option<NewKeyLocation>) {
    let (site, org0) = Site::new(key).await;
    assert!(site.signature_verifies_against_hosted().await);
    let live = org::verify_live(&site.vault, &site.net).await.unwrap();
    assert!(live.ok, "{live:?}");

    let rotated = org::rotate_key(&site.vault, &site.admin, next).unwrap();
    let next_key = rotated
        .other_keys
        .iter()
        .find(|k| k.role == KeyRole::Next)
        .unwrap()
        .clone();
    assert_eq!(rotated.kid, org0.kid, "signing stays with the old key");
    assert!(rotated.needs_publication());
    assert!(site.signature_verifies_against_hosted().await);
    // A second rotation while one waits is refused.
    assert!(org::rotate_key(&site.vault, &site.admin, None).is_err());

    // Not published yet: activation is refused with a clear error; nothing changes.
    let refused = org::activate_key(&site.vault, &site.admin, &site.net)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, IdentityError::NotPublished(_)),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("does not list it yet"),
        "{refused}"
    );
    assert!(refused.to_string().contains("org publish"), "{refused}");
    assert_eq!(
        org::require_organization(&site.vault).unwrap().kid,
        org0.kid
    );
    let live = org::verify_live(&site.vault, &site.net).await.unwrap();
    assert!(!live.ok);
    let hosted_next = live.keys.iter().find(|k| k.kid == next_key.kid).unwrap();
    assert!(!hosted_next.in_did_document && !hosted_next.in_entity_statement);

    // Published with both keys: both verify; the statement lists both.
    site.publish_and_upload();
    assert!(site.signature_verifies_against_hosted().await);
    let live = org::verify_live(&site.vault, &site.net).await.unwrap();
    assert!(live.ok, "{live:?}");
    assert_eq!(live.keys.len(), 2);

    let active = org::activate_key(&site.vault, &site.admin, &site.net)
        .await
        .unwrap();
    assert_eq!(active.kid, next_key.kid);
    assert_eq!(active.key_store, next_key.key_store);
    assert_eq!(
        active
            .other_keys
            .iter()
            .map(|k| (k.role, k.kid.as_str()))
            .collect::<Vec<_>>(),
        [(KeyRole::Previous, org0.kid.as_str())]
    );
    // Signing with the new key verifies against what is hosted right now.
    assert!(site.signature_verifies_against_hosted().await);

    let retired = org::retire_key(&site.vault, &site.admin).unwrap();
    assert!(retired.other_keys.is_empty());
    assert!(retired.needs_publication());
    if org0.key_store == KeyStoreKind::Vault {
        assert!(
            site.vault.keys().get(&org0.key_id).is_err(),
            "old vault key deleted"
        );
    }
    assert!(site.signature_verifies_against_hosted().await);
    site.publish_and_upload();
    assert!(site.signature_verifies_against_hosted().await);
    let live = org::verify_live(&site.vault, &site.net).await.unwrap();
    assert!(live.ok, "{live:?}");
    assert_eq!(live.keys.len(), 1);

    // The hosted statement verifies and lists exactly the active key.
    let statement_path = format!(
        "/{}",
        live.entity_statement_url
            .split_once("://")
            .unwrap()
            .1
            .split_once('/')
            .unwrap()
            .1
    );
    assert!(site.server.hits(&statement_path) > 0);
    let token =
        std::fs::read_to_string(site.out.join(statement_path.trim_start_matches('/'))).unwrap();
    let mut resolver = StaticDidResolver::new();
    resolver
        .insert(org::own_did_document(&retired).unwrap())
        .unwrap();
    let st = verify_entity_statement(&token, &resolver, &SystemClock)
        .await
        .unwrap();
    assert_eq!(st.kid.as_str(), retired.kid);
    assert!(st.jwk(&org0.kid).is_none());
}

#[tokio::test]
async fn vault_key_rotation_has_no_gap() {
    rotation_without_a_gap(NewKeyLocation::Vault, None).await;
}

#[tokio::test]
async fn hsm_key_rotation_within_the_token_has_no_gap() {
    let hsm = SoftHsm::shared();
    let token = "rotate-hsm";
    hsm.init_token(token);
    org::provide_pin(&hsm.uri_on(token, "org").parse().unwrap(), hsm.pin());
    let key = NewKeyLocation::parse(Some(&hsm.uri_on(token, "org"))).unwrap();
    rotation_without_a_gap(key, None).await;
    // The second key was made inside the same token, under a new label.
    let text = hsm.list_private_keys(token);
    assert_eq!(text.matches("Private Key Object").count(), 2, "{text}");
}

#[tokio::test]
async fn moving_the_key_from_the_vault_into_an_hsm_has_no_gap() {
    let hsm = SoftHsm::shared();
    let token = "vault-to-hsm";
    hsm.init_token(token);
    let uri = hsm.uri_on(token, "org-2027");
    org::provide_pin(&uri.parse().unwrap(), hsm.pin());
    rotation_without_a_gap(
        NewKeyLocation::Vault,
        Some(NewKeyLocation::parse(Some(&uri)).unwrap()),
    )
    .await;
}

#[tokio::test]
async fn an_hsm_organization_signs_everything_with_the_token_key() {
    let hsm = SoftHsm::shared();
    let token = "org-hsm";
    hsm.init_token(token);
    let uri = hsm.uri_on(token, "org");
    org::provide_pin(&uri.parse().unwrap(), hsm.pin());
    let (site, info) = Site::new(NewKeyLocation::parse(Some(&uri)).unwrap()).await;
    assert_eq!(info.key_store, KeyStoreKind::Pkcs11);
    assert_eq!(info.key_uri.as_deref(), Some(uri.as_str()));
    assert!(info.key_id.is_empty());
    // No organization key in the vault at all.
    assert!(site.vault.keys().list().unwrap().is_empty());
    // The public key is the token's.
    let read = hsm.pkcs11_tool(&[
        "--token-label",
        token,
        "--read-object",
        "--type",
        "pubkey",
        "--label",
        "org",
    ]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let signer = org::organization_signer(&site.vault, &info).unwrap();
    assert_eq!(signer.store(), KeyStoreKind::Pkcs11);
    assert_eq!(
        wallet_vault::jwk_thumbprint(&signer.public_jwk()).unwrap(),
        info.key_thumbprint
    );
    // ... point for point: the token's SubjectPublicKeyInfo (as pkcs11-tool reads it from the
    // token, not through the wallet) ends with the uncompressed P-256 point 04 || x || y, which
    // must be the x and y of the key the wallet publishes.
    let jwk = signer.public_jwk();
    let coord = |name: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().unwrap())
            .unwrap()
    };
    let mut point = vec![0x04];
    point.extend(coord("x"));
    point.extend(coord("y"));
    assert_eq!(point.len(), 65);
    assert!(
        read.stdout.ends_with(&point),
        "the token's public key is not the published one ({} bytes read)",
        read.stdout.len()
    );
    assert!(site.signature_verifies_against_hosted().await);
    // The JSON the CLI prints names the store and the URI, never a PIN.
    let json = serde_json::to_string(&info).unwrap();
    assert!(json.contains("\"key_store\":\"pkcs11\""), "{json}");
    assert!(!json.contains(hsm.pin()), "{json}");
}
