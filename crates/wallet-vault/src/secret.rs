//! Secret-holding types. They zeroize on drop, print `[redacted]` in `Debug`, implement neither
//! `Display` nor `Serialize`, and are not `Clone` where a copy would only be a risk.

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// A passphrase typed by a person (vault, administrator or backup passphrase).
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase. The `String` is moved in and zeroized when the `Passphrase` drops.
    pub fn new(s: String) -> Self {
        Passphrase(Zeroizing::new(s))
    }

    /// The passphrase bytes, for key derivation.
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// `true` when empty (callers refuse empty passphrases).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether two passphrases are equal (for "type it again" prompts), without early exit on
    /// the first differing byte.
    pub fn matches(&self, other: &Passphrase) -> bool {
        let (a, b) = (self.expose(), other.expose());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Length in characters, to enforce a minimum without exposing the value.
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl From<String> for Passphrase {
    fn from(s: String) -> Self {
        Passphrase::new(s)
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Passphrase::new(s.to_owned())
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// A secret text value handed in or out of the vault (a raw credential, an access token, key
/// material to import). Zeroized on drop; `Debug` is redacted; read it with
/// [`SecretString::expose_secret`] only where it is needed.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret string.
    pub fn new(s: String) -> Self {
        SecretString(Zeroizing::new(s))
    }

    /// The secret text.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString::new(s.to_owned())
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// A 256-bit symmetric key (the vault key, or a key-encryption key).
pub struct Key256(Zeroizing<[u8; 32]>);

impl Key256 {
    /// A fresh random key from the OS RNG.
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        Key256(k)
    }

    /// Takes ownership of key bytes; the source slice is the caller's to zeroize.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        if b.len() != 32 {
            return None;
        }
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(b);
        Some(Key256(k))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key bytes, for [`crate::KeyStore`] implementations that must hand them to their
    /// backing store. Nothing else should need this.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn duplicate(&self) -> Key256 {
        Key256(Zeroizing::new(*self.0))
    }
}

impl std::fmt::Debug for Key256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key256([redacted])")
    }
}

/// Random bytes from the OS RNG.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// A random 128-bit identifier as 32 lowercase hex digits (row ids, vault id, keyring accounts).
pub(crate) fn random_id() -> String {
    hex(&random_bytes::<16>())
}

pub(crate) fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for byte in b {
        s.push(DIGITS[(byte >> 4) as usize] as char);
        s.push(DIGITS[(byte & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = Passphrase::from("correct horse battery staple");
        assert_eq!(format!("{p:?}"), "Passphrase([redacted])");
        assert!(p.matches(&Passphrase::from("correct horse battery staple")));
        assert!(!p.matches(&Passphrase::from("correct horse battery stapla")));
        assert!(!p.matches(&Passphrase::from("correct horse")));
        let k = Key256::random();
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "Key256([redacted])");
        assert!(!dbg.contains(&hex(k.bytes())[..8]));
    }

    #[test]
    fn random_ids_differ_and_are_hex() {
        let a = random_id();
        let b = random_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hex(&[0x00, 0xff, 0x1a]), "00ff1a");
    }
}
