//! Compact JWE with a shared symmetric key (`alg: dir`, `enc: A256GCM`, RFC 7516/7518): the
//! envelope of the organization profile, which only enrolled workstations may read.
//!
//! Only this one algorithm pair is produced and accepted: a JWE naming anything else is
//! refused before decryption, so an attacker cannot pick a weaker mode.

use josekit::jwe::{self, Dir, JweHeader};
use serde_json::{Map, Value};

/// AES-GCM's IV and authentication tag lengths in JWE (RFC 7518 §5.3).
const GCM_IV_LEN: usize = 12;
const GCM_TAG_LEN: usize = 16;

/// Why a JWE could not be made or opened. Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum JweError {
    /// Not a compact JWE with the expected header.
    #[error("not a JWE of this wallet: {0}")]
    Malformed(String),
    /// The key does not open it (wrong key, or the ciphertext was changed).
    #[error("the JWE does not decrypt with this key (wrong key, or the file was changed)")]
    Decrypt,
    /// The crypto library failed.
    #[error("JWE: {0}")]
    Crypto(String),
}

/// Encrypts `payload` under `key` with the protected header `{"alg":"dir","enc":"A256GCM",
/// "typ":typ,"cty":cty}`.
pub fn seal_dir(key: &[u8; 32], typ: &str, cty: &str, payload: &[u8]) -> Result<String, JweError> {
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_token_type(typ);
    header.set_content_type(cty);
    let encrypter = Dir
        .encrypter_from_bytes(key)
        .map_err(|e| JweError::Crypto(e.to_string()))?;
    jwe::serialize_compact(payload, &header, &encrypter)
        .map_err(|e| JweError::Crypto(e.to_string()))
}

/// Decrypts a compact JWE made by [`seal_dir`] with `typ`; returns the payload and the
/// protected header.
pub fn open_dir(
    key: &[u8; 32],
    typ: &str,
    token: &str,
) -> Result<(Vec<u8>, Map<String, Value>), JweError> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 5 {
        return Err(JweError::Malformed("a compact JWE has five parts".into()));
    }
    let header: Map<String, Value> = crate::jose::b64url_decode(parts[0])
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| JweError::Malformed("unreadable header".into()))?;
    let field = |k: &str| header.get(k).and_then(Value::as_str);
    if field("alg") != Some("dir") || field("enc") != Some("A256GCM") {
        return Err(JweError::Malformed(
            "only alg dir with enc A256GCM is accepted".into(),
        ));
    }
    if field("typ") != Some(typ) {
        return Err(JweError::Malformed(format!("typ is not {typ}")));
    }
    if header.contains_key("zip") || header.contains_key("crit") {
        return Err(JweError::Malformed("zip and crit are not accepted".into()));
    }
    // The parts' sizes for dir + A256GCM, checked here: the crypto library below asserts on an
    // authentication tag longer than 16 bytes (a panic, which aborts the app), found by the
    // fuzzer (`profile_envelope`).
    let len = |i: usize| crate::jose::b64url_decode(parts[i]).map(|b| b.len()).ok();
    if !parts[1].is_empty() {
        return Err(JweError::Malformed(
            "alg dir has an empty encrypted key".into(),
        ));
    }
    if len(2) != Some(GCM_IV_LEN) || len(4) != Some(GCM_TAG_LEN) || len(3).is_none() {
        return Err(JweError::Malformed(
            "A256GCM takes a 12-byte IV and a 16-byte tag".into(),
        ));
    }
    let decrypter = Dir
        .decrypter_from_bytes(key)
        .map_err(|e| JweError::Crypto(e.to_string()))?;
    let (payload, _) =
        jwe::deserialize_compact(token, &decrypter).map_err(|_| JweError::Decrypt)?;
    Ok((payload, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let key = [7u8; 32];
        let t = seal_dir(&key, "x+jwe", "JWT", b"hello").unwrap();
        let (p, h) = open_dir(&key, "x+jwe", &t).unwrap();
        assert_eq!(p, b"hello");
        assert_eq!(h["cty"], "JWT");
        assert!(matches!(
            open_dir(&[8u8; 32], "x+jwe", &t),
            Err(JweError::Decrypt)
        ));
        assert!(matches!(
            open_dir(&key, "y+jwe", &t),
            Err(JweError::Malformed(_))
        ));
        // A changed ciphertext does not decrypt.
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut ct = crate::jose::b64url_decode(&parts[3]).unwrap();
        ct[0] ^= 1;
        parts[3] = crate::jose::b64url(&ct);
        assert!(matches!(
            open_dir(&key, "x+jwe", &parts.join(".")),
            Err(JweError::Decrypt)
        ));
        // Another algorithm in the header is refused before decryption.
        let other = crate::jose::b64url(br#"{"alg":"A256KW","enc":"A256GCM","typ":"x+jwe"}"#);
        parts[0] = other;
        assert!(matches!(
            open_dir(&key, "x+jwe", &parts.join(".")),
            Err(JweError::Malformed(_))
        ));
        assert!(open_dir(&key, "x+jwe", "a.b.c").is_err());
    }

    /// The fuzzer's finding: a tag longer than 16 bytes made the crypto library panic. Such a
    /// file (and a wrong IV, or an encrypted key with `dir`) is refused as malformed.
    #[test]
    fn wrong_part_sizes_are_refused_not_a_panic() {
        let key = [7u8; 32];
        let t = seal_dir(&key, "x+jwe", "JWT", b"hello").unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let with = |i: usize, v: &str| {
            let mut p: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
            p[i] = v.to_owned();
            p.join(".")
        };
        let long_tag = crate::jose::b64url(&[1u8; 22]);
        let short_iv = crate::jose::b64url(&[1u8; 8]);
        let key_part = crate::jose::b64url(&[1u8; 32]);
        for bad in [
            with(4, &long_tag),
            with(2, &short_iv),
            with(1, &key_part),
            with(4, "!!"),
        ] {
            assert!(
                matches!(open_dir(&key, "x+jwe", &bad), Err(JweError::Malformed(_))),
                "{bad}"
            );
        }
        // The fuzzer's input itself.
        let found = "eyJlbmMiOiJBMjU2R0NNIiwidHlwIjoibnV0cy13YWxsZXQtcHJvZmlsZStqd2UiLCJjdHkiOiJKV1QiLCJhbGciOiJkaXIifQ...Ac718Og21VtO5xRZx8mX6o9a.md17ODBQ8gn8TtOL_KoyTtOL_Koy3w";
        assert!(matches!(
            open_dir(&key, "nuts-wallet-profile+jwe", found),
            Err(JweError::Malformed(_))
        ));
    }
}
