//! The backup file reader (`wallet_vault` restore's first step) over mutated backups.

use std::path::PathBuf;

use serde_json::Value;
use wallet_vault::{fuzz_read_backup, KdfParams, Passphrase};

use crate::ADMIN_PASSPHRASE;

use crate::engine::{mutate_bytes, mutate_json, Rng, Target};

const BACKUP_PASSPHRASE: &str = "fuzzing backups is a fine pastime";
const MAGIC: &[u8] = b"NUTSWBK1";

/// A real backup of a fresh vault (fast test KDF), made in a temporary directory.
fn real_backup() -> Vec<u8> {
    let (dir, wallet) = crate::fuzz_wallet();
    let vault = wallet.vault;
    let admin = vault
        .admin_session(&Passphrase::from(ADMIN_PASSPHRASE))
        .expect("admin session");
    let out = dir.path().join("backup.nwb");
    vault
        .backup(
            &admin,
            &out,
            &Passphrase::from(BACKUP_PASSPHRASE),
            KdfParams::INSECURE_TEST,
        )
        .expect("backup");
    std::fs::read(out).expect("backup file")
}

/// `(header JSON, wrapped key, sealed database)` of a well-formed backup.
fn split(file: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let body = file.get(8..file.len().checked_sub(32)?)?;
    let mut pos = 0;
    let mut take = |width: usize| -> Option<Vec<u8>> {
        let n = body.get(pos..pos + width)?;
        let n = n.iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        pos += width;
        let s = body.get(pos..pos.checked_add(n)?)?.to_vec();
        pos += n;
        Some(s)
    };
    Some((take(4)?, take(4)?, take(8)?))
}

/// The fuzzer must not itself run Argon2 at attacker-chosen sizes (gigabytes, hundreds of
/// passes): that is a denial of service the vault refuses on its own, tested in its attack
/// suite. Mutated headers keep a small cost.
fn keep_kdf_small(header: &mut Value) {
    if let Some(kdf) = header.get_mut("kdf").and_then(Value::as_object_mut) {
        for (name, cap) in [("m_cost_kib", 1024u64), ("t_cost", 2), ("p_cost", 2)] {
            if kdf
                .get(name)
                .and_then(Value::as_f64)
                .is_some_and(|v| v > cap as f64)
            {
                kdf.insert(name.into(), Value::from(8));
            }
        }
    }
}

fn assemble(header: &[u8], wrapped: &[u8], sealed: &[u8], fix_checksum: bool) -> Vec<u8> {
    use sha2::Digest as _;
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&(header.len() as u32).to_be_bytes());
    file.extend_from_slice(header);
    file.extend_from_slice(&(wrapped.len() as u32).to_be_bytes());
    file.extend_from_slice(wrapped);
    file.extend_from_slice(&(sealed.len() as u64).to_be_bytes());
    file.extend_from_slice(sealed);
    let sum = sha2::Sha256::digest(&file);
    if fix_checksum {
        file.extend_from_slice(&sum);
    } else {
        file.extend_from_slice(&[0u8; 32]);
    }
    file
}

/// Whether the raw bytes would make the reader run Argon2 above the small cost (only a
/// well-formed file with a matching checksum reaches the key derivation).
fn kdf_too_big(file: &[u8]) -> bool {
    let Some((header, _, _)) = split(file) else {
        return false;
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&header) else {
        return false;
    };
    let before = v.clone();
    keep_kdf_small(&mut v);
    v != before
}

/// `wallet_vault`'s backup reader over real backups mutated as bytes and as parts (header
/// JSON, lengths, sealed parts) with the checksum recomputed, so the header checks, the
/// salt, the key derivation and both decryptions are reached.
pub fn backup_header() -> Target {
    let seed = real_backup();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path: PathBuf = dir.path().join("input.nwb");
    let passphrase = Passphrase::from(BACKUP_PASSPHRASE);
    let dict = crate::targets::words(&[
        "format",
        "vault_id",
        "schema_version",
        "created_at_ms",
        "kdf",
        "m_cost_kib",
        "t_cost",
        "p_cost",
        "salt",
        "NUTSWBK1",
        "\u{0}\u{0}\u{0}\u{0}",
        "\u{ff}\u{ff}\u{ff}\u{ff}",
    ]);
    let json_dict = dict.clone();
    // The whole backup reads back (the reader works on what backup writes).
    std::fs::write(&path, &seed).expect("write the backup");
    fuzz_read_backup(&path, &passphrase).expect("a real backup reads back");
    let small = split(&seed)
        .map(|(h, w, s)| assemble(&h, &w, &s[..s.len().min(64)], true))
        .unwrap_or_default();
    Target {
        name: "backup_header",
        // Mutants start from a copy with a short sealed part, which is fast to hash.
        seeds: vec![small],
        dict,
        run: Box::new(move |input| {
            let _keep = &dir;
            if kdf_too_big(input) && {
                use sha2::Digest as _;
                input.len() >= 32
                    && sha2::Sha256::digest(&input[..input.len() - 32]).as_slice()
                        == &input[input.len() - 32..]
            } {
                return false;
            }
            std::fs::write(&path, input).expect("write the input");
            fuzz_read_backup(&path, &passphrase).is_ok()
        }),
        generate: Some(Box::new(move |rng: &mut Rng, corpus: &[Vec<u8>]| {
            let base = rng.pick(corpus);
            let Some((header, mut wrapped, mut sealed)) = split(base) else {
                return base.clone();
            };
            // Mostly a short sealed part: the reader hashes and decrypts all of it, and a
            // whole database per case would cost most of the run.
            if !rng.one_in(16) {
                sealed.truncate(rng.below(256));
            }
            let mut header_v: Value = serde_json::from_slice(&header).unwrap_or(Value::Null);
            let mut header = header;
            match rng.below(4) {
                0 | 1 => {
                    for _ in 0..=rng.below(2) {
                        mutate_json(rng, &mut header_v, &json_dict, 0);
                    }
                    keep_kdf_small(&mut header_v);
                    header = serde_json::to_vec(&header_v).unwrap_or_default();
                }
                2 => mutate_bytes(rng, &mut wrapped, &[], &json_dict),
                _ => mutate_bytes(rng, &mut sealed, &[], &json_dict),
            }
            let mut file = assemble(&header, &wrapped, &sealed, !rng.one_in(10));
            if rng.one_in(8) {
                // A lying length field (with a valid checksum over the lie).
                use sha2::Digest as _;
                let at = 8 + rng.below(4);
                file[at] = rng.next_u64() as u8;
                let n = file.len() - 32;
                let sum = sha2::Sha256::digest(&file[..n]);
                file[n..].copy_from_slice(&sum);
            }
            file
        })),
    }
}
