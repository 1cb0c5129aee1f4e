//! Benchmarks: opening the vault and listing 10,000 stored credentials after unlock.
//!
//! The deliberate Argon2id cost is excluded from the open/list figures by protecting the
//! benchmark vault with the key-store wrap (an in-memory key store standing in for the OS
//! keyring, whose round trip is a D-Bus call). The Argon2id unlock with the default parameters
//! is measured separately, so both numbers are visible.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-vault cargo bench -p wallet-vault`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use wallet_vault::*;

const N: usize = 10_000;
const ADMIN: &str = "bench admin passphrase";

fn credential(i: usize) -> NewCredential {
    NewCredential {
        listing: CredentialListing {
            types: vec![
                "VerifiableCredential".into(),
                if i % 2 == 0 {
                    "NutsOrganizationCredential"
                } else {
                    "NutsEmployeeCredential"
                }
                .into(),
            ],
            format: "jwt_vc".into(),
            issuer: format!("did:web:issuer{}.example", i % 10),
            subject: Some(format!("did:web:org.example:iam:{i}")),
            valid_from_ms: Some(1_700_000_000_000),
            valid_until_ms: Some(1_900_000_000_000),
            // About the size of a real JWT VC.
        },
        raw: SecretString::from(format!("eyJhbGciOiJFUzI1NiJ9.{}.{i}", "x".repeat(900))),
    }
}

fn setup() -> (tempfile::TempDir, MemoryKeyStore) {
    let dir = tempfile::tempdir().unwrap();
    let ks = MemoryKeyStore::new();
    let v = Vault::create(
        dir.path(),
        Arc::new(ks.clone()),
        CreateOptions {
            protection: Protection::Keyring,
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    let a = v.admin_session(&Passphrase::from(ADMIN)).unwrap();
    for chunk in (0..N).collect::<Vec<_>>().chunks(1000) {
        v.credentials()
            .import_all(&a, chunk.iter().map(|&i| credential(i)).collect())
            .unwrap();
    }
    (dir, ks)
}

fn bench(c: &mut Criterion) {
    let (dir, ks) = setup();
    let store: Arc<dyn KeyStore> = Arc::new(ks);

    c.bench_function("open + unlock (key store) + list 10k credentials", |b| {
        b.iter(|| {
            let v = Vault::open(dir.path(), store.clone()).unwrap();
            v.unlock(Unlock::Keyring).unwrap();
            let list = v.credentials().list(&CredentialFilter::default()).unwrap();
            assert_eq!(list.len(), N);
            list
        })
    });

    let v = Vault::open(dir.path(), store.clone()).unwrap();
    v.unlock(Unlock::Keyring).unwrap();
    c.bench_function("list 10k credentials (unlocked)", |b| {
        b.iter(|| {
            let list = v.credentials().list(&CredentialFilter::default()).unwrap();
            assert_eq!(list.len(), N);
            list
        })
    });
    c.bench_function("list by type (5k of 10k)", |b| {
        b.iter(|| {
            v.credentials()
                .list(&CredentialFilter {
                    credential_type: Some("NutsOrganizationCredential".into()),
                    ..Default::default()
                })
                .unwrap()
        })
    });
    let ids: Vec<String> = v
        .credentials()
        .list(&CredentialFilter::default())
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    c.bench_function("decrypt one credential", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ids.len();
            v.credentials().get(&ids[i]).unwrap()
        })
    });
    drop(v);

    // The deliberate cost: unlocking a passphrase vault with the default Argon2id parameters.
    let pdir = tempfile::tempdir().unwrap();
    let pv = Vault::create(
        pdir.path(),
        store.clone(),
        CreateOptions {
            protection: Protection::passphrase(Passphrase::from("bench vault passphrase")),
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(10);
    g.bench_function(
        "unlock with passphrase, default params (64 MiB, t=5, p=1)",
        |b| {
            b.iter(|| {
                pv.lock();
                pv.unlock(Unlock::Passphrase(&Passphrase::from(
                    "bench vault passphrase",
                )))
                .unwrap();
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
