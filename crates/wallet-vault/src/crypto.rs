//! Envelope encryption and key derivation.
//!
//! Every sensitive value is sealed with XChaCha20-Poly1305 under the vault key. The stored
//! bytes are a versioned envelope:
//!
//! ```text
//! byte 0      envelope version (1)
//! byte 1      algorithm (1 = XChaCha20-Poly1305)
//! bytes 2..26 random 192-bit nonce
//! rest        ciphertext || 128-bit tag
//! ```
//!
//! The associated data binds the envelope header and the value's place in the database
//! (table, row id, column), so a ciphertext edited in place or moved to another row or column
//! fails to open. Keys are derived from passphrases with Argon2id; the parameters are stored
//! beside the salt so that they can be raised later without breaking old vaults.
//!
//! This module owns no storage and no key lifecycle; see `vault/` for those.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::{random_bytes, Key256, Passphrase};

const ENVELOPE_V1: u8 = 1;
const ALG_XCHACHA20_POLY1305: u8 = 1;
const HEADER_LEN: usize = 2;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const AAD_DOMAIN: &[u8] = b"nuts-wallet/vault/aead/v1";

/// Where an encrypted value lives; bound into the associated data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub table: &'a str,
    pub row: &'a str,
    pub column: &'a str,
    /// Extra data bound to the value, e.g. a digest of the row's clear columns, so that those
    /// cannot be edited without the value failing to open.
    pub context: &'a [u8],
    /// The row's version (the vault state sequence number of the write that sealed it; see
    /// `vault/state.rs`). 0 marks a value sealed before versions existed, whose associated
    /// data has no version part.
    pub version: i64,
}

impl<'a> Place<'a> {
    pub(crate) fn new(table: &'a str, row: &'a str, column: &'a str) -> Self {
        Place {
            table,
            row,
            column,
            context: &[],
            version: 0,
        }
    }

    pub(crate) fn versioned(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    pub(crate) fn with_context(mut self, context: &'a [u8]) -> Self {
        self.context = context;
        self
    }

    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64 + self.table.len() + self.row.len());
        for part in [
            AAD_DOMAIN,
            header,
            self.table.as_bytes(),
            self.row.as_bytes(),
            self.column.as_bytes(),
            self.context,
        ] {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
            aad.extend_from_slice(part);
        }
        if self.version != 0 {
            let v = self.version.to_be_bytes();
            aad.extend_from_slice(&(v.len() as u64).to_be_bytes());
            aad.extend_from_slice(&v);
        }
        aad
    }

    pub(crate) fn tampered(&self) -> crate::VaultError {
        crate::VaultError::Tampered {
            table: self.table.to_owned(),
            row: self.row.to_owned(),
            column: self.column.to_owned(),
        }
    }
}

/// Seals `plaintext` for `place` under `key`.
pub(crate) fn seal(key: &Key256, place: Place<'_>, plaintext: &[u8]) -> Vec<u8> {
    let header = [ENVELOPE_V1, ALG_XCHACHA20_POLY1305];
    let nonce = random_bytes::<NONCE_LEN>();
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    let aad = place.aad(&header);
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        // Encryption only fails for messages beyond the AEAD's length limit (~256 GiB).
        .unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ct.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Opens an envelope sealed for `place`; any change to it, or a different place, gives
/// [`crate::VaultError::Tampered`].
pub(crate) fn open(
    key: &Key256,
    place: Place<'_>,
    envelope: &[u8],
) -> crate::Result<Zeroizing<Vec<u8>>> {
    if envelope.len() < HEADER_LEN + NONCE_LEN + TAG_LEN
        || envelope[0] != ENVELOPE_V1
        || envelope[1] != ALG_XCHACHA20_POLY1305
    {
        return Err(place.tampered());
    }
    let (header, rest) = envelope.split_at(HEADER_LEN);
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    let aad = place.aad(header);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .map(Zeroizing::new)
        .map_err(|_| place.tampered())
}

/// Argon2id cost parameters, stored next to every salt they were used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism.
    pub p_cost: u32,
}

impl KdfParams {
    /// The default for real use: 64 MiB, 5 passes, 1 lane. About 0.5 s on the project's
    /// 2-core reference machine in a release build (measured by `benches/vault.rs`: 64 MiB with
    /// 3 passes took 0.30 s).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 5,
        p_cost: 1,
    };

    /// Deliberately weak parameters (64 KiB, 1 pass) for tests and benchmarks only.
    /// Never use them for a real vault.
    pub const INSECURE_TEST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn argon2(&self) -> crate::Result<Argon2<'static>> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| crate::VaultError::InvalidInput(format!("Argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// The weakest parameters a backup may use: the OWASP minimum for Argon2id in a release
    /// build; test builds also take [`KdfParams::INSECURE_TEST`].
    pub const BACKUP_FLOOR: KdfParams = if cfg!(debug_assertions) {
        KdfParams::INSECURE_TEST
    } else {
        KdfParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    };

    /// Whether a backup may use these parameters: between [`KdfParams::BACKUP_FLOOR`] and
    /// [`KdfParams::DEFAULT`] (what `backup` writes), so a crafted backup header can neither
    /// make restore burn gigabytes of memory and minutes of CPU nor be absurdly weak.
    pub fn within_backup_bounds(&self) -> bool {
        let (lo, hi) = (KdfParams::BACKUP_FLOOR, KdfParams::DEFAULT);
        (lo.m_cost_kib..=hi.m_cost_kib).contains(&self.m_cost_kib)
            && (lo.t_cost..=hi.t_cost).contains(&self.t_cost)
            && (lo.p_cost..=hi.p_cost).contains(&self.p_cost)
    }

    /// Refuses parameters so low or so high that they are surely a mistake or an attack on
    /// the process (a doctored file asking for terabytes of memory).
    pub(crate) fn check_stored(&self) -> crate::Result<()> {
        if self.m_cost_kib > 4 * 1024 * 1024 || self.t_cost > 100 || self.p_cost > 64 {
            return Err(crate::VaultError::InvalidInput(
                "stored Argon2 parameters are out of range".into(),
            ));
        }
        Ok(())
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::DEFAULT
    }
}

/// Derives a 256-bit key-encryption key from a passphrase.
pub(crate) fn derive_key(
    passphrase: &Passphrase,
    salt: &[u8],
    params: &KdfParams,
) -> crate::Result<Key256> {
    params.check_stored()?;
    let mut out = Zeroizing::new([0u8; 32]);
    params
        .argon2()?
        .hash_password_into(passphrase.expose(), salt, out.as_mut())
        .map_err(|e| crate::VaultError::InvalidInput(format!("key derivation: {e}")))?;
    Key256::from_slice(out.as_ref())
        .ok_or_else(|| crate::VaultError::InvalidInput("key derivation".into()))
}

/// Makes an Argon2id verifier (PHC string: algorithm, parameters, salt and hash) for the
/// administrator passphrase.
pub(crate) fn make_verifier(passphrase: &Passphrase, params: &KdfParams) -> crate::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = params
        .argon2()?
        .hash_password(passphrase.expose(), &salt)
        .map_err(|e| crate::VaultError::InvalidInput(format!("passphrase hashing: {e}")))?;
    Ok(hash.to_string())
}

/// Checks a passphrase against a verifier made by [`make_verifier`]. `Ok(false)` is a wrong
/// passphrase; an unparsable verifier is an error.
pub(crate) fn check_verifier(passphrase: &Passphrase, verifier: &str) -> crate::Result<bool> {
    let parsed = PasswordHash::new(verifier).map_err(|_| {
        crate::VaultError::InvalidInput("stored administrator verifier is malformed".into())
    })?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(crate::VaultError::InvalidInput(
            "stored administrator verifier is not Argon2id".into(),
        ));
    }
    let params = KdfParams {
        m_cost_kib: parsed
            .params
            .get_decimal("m")
            .unwrap_or(KdfParams::DEFAULT.m_cost_kib),
        t_cost: parsed
            .params
            .get_decimal("t")
            .unwrap_or(KdfParams::DEFAULT.t_cost),
        p_cost: parsed
            .params
            .get_decimal("p")
            .unwrap_or(KdfParams::DEFAULT.p_cost),
    };
    params.check_stored()?;
    Ok(Argon2::default()
        .verify_password(passphrase.expose(), &parsed)
        .is_ok())
}

/// HMAC-SHA-256.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        // HMAC accepts keys of any length.
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// A subkey of the vault key for a named purpose (blind indexes, the activity anchor).
pub(crate) fn subkey(vault_key: &Key256, purpose: &str) -> Key256 {
    let k = Zeroizing::new(hmac_sha256(
        vault_key.bytes(),
        &[b"nuts-wallet/subkey/v1", purpose.as_bytes()],
    ));
    Key256::from_slice(k.as_ref()).unwrap_or_else(Key256::random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_place_binding() {
        let key = Key256::random();
        let place = Place::new("credentials", "abc", "raw");
        let env = seal(&key, place, b"hello");
        assert_eq!(env[0], 1);
        assert_eq!(env.len(), 2 + 24 + 5 + 16);
        assert_eq!(open(&key, place, &env).unwrap().as_slice(), b"hello");
        for other in [
            Place::new("credentials", "abd", "raw"),
            Place::new("credential", "sabc", "raw"),
            Place::new("credentials", "abc", "raw2"),
            Place::new("tokens", "abc", "raw"),
        ] {
            assert!(matches!(
                open(&key, other, &env),
                Err(crate::VaultError::Tampered { .. })
            ));
        }
        assert!(open(&Key256::random(), place, &env).is_err());
        let bound = seal(&key, place.with_context(b"issuer=a"), b"v");
        assert!(open(&key, place.with_context(b"issuer=a"), &bound).is_ok());
        assert!(open(&key, place.with_context(b"issuer=b"), &bound).is_err());
        assert!(open(&key, place, &bound).is_err());
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let key = Key256::random();
        let place = Place::new("t", "r", "c");
        let env = seal(&key, place, b"some secret value");
        for i in 0..env.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = env.clone();
                bad[i] ^= bit;
                assert!(open(&key, place, &bad).is_err(), "flip at {i} undetected");
            }
        }
        assert!(open(&key, place, &env[..env.len() - 1]).is_err());
    }

    #[test]
    fn nonces_are_fresh() {
        let key = Key256::random();
        let place = Place::new("t", "r", "c");
        assert_ne!(seal(&key, place, b"x"), seal(&key, place, b"x"));
    }

    #[test]
    fn kdf_is_deterministic_per_salt_and_params() {
        let p = Passphrase::from("pw");
        let a = derive_key(&p, b"0123456789abcdef", &KdfParams::INSECURE_TEST).unwrap();
        let b = derive_key(&p, b"0123456789abcdef", &KdfParams::INSECURE_TEST).unwrap();
        let c = derive_key(&p, b"0123456789abcdeX", &KdfParams::INSECURE_TEST).unwrap();
        let d = derive_key(
            &Passphrase::from("pX"),
            b"0123456789abcdef",
            &KdfParams::INSECURE_TEST,
        )
        .unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_ne!(a.bytes(), c.bytes());
        assert_ne!(a.bytes(), d.bytes());
    }

    #[test]
    fn verifier_accepts_right_and_rejects_wrong() {
        let v = make_verifier(&Passphrase::from("admin pw"), &KdfParams::INSECURE_TEST).unwrap();
        assert!(v.starts_with("$argon2id$"));
        assert!(v.contains("m=64,t=1,p=1"));
        assert!(check_verifier(&Passphrase::from("admin pw"), &v).unwrap());
        assert!(!check_verifier(&Passphrase::from("admin pX"), &v).unwrap());
        assert!(check_verifier(&Passphrase::from("x"), "garbage").is_err());
    }

    #[test]
    fn absurd_stored_params_are_refused() {
        let p = KdfParams {
            m_cost_kib: u32::MAX,
            t_cost: 1,
            p_cost: 1,
        };
        assert!(derive_key(&Passphrase::from("x"), b"0123456789abcdef", &p).is_err());
    }
}
