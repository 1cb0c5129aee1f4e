//! The one source of random protocol strings: states, nonces, PKCE verifiers, `jti`s,
//! session ids and API keys.
//!
//! Randomness comes from the operating system's CSPRNG (`getrandom`), as for the vault's keys.

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::jose::b64url;

/// `n` random bytes, zeroized on drop.
pub fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; n]);
    OsRng.fill_bytes(&mut out);
    out
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    b64url(&random_bytes(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
        assert_eq!(random_bytes(5).len(), 5);
        assert_eq!(random_bytes(33).len(), 33);
    }
}
