//! The one source of random protocol strings: states, nonces, PKCE verifiers, `jti`s,
//! session ids and API keys.
//!
//! Randomness comes from the operating system (the v4 UUID generator reads the OS CSPRNG);
//! the version/variant bits of each UUID are skipped so every output byte is random.

use zeroize::Zeroizing;

use crate::jose::b64url;

/// `n` random bytes, zeroized on drop.
pub fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(n + 16));
    while out.len() < n {
        let u = uuid::Uuid::new_v4();
        let b = u.as_bytes();
        // Bytes 6 and 8 carry the UUID version and variant; the other 14 are random.
        out.extend(
            b.iter()
                .enumerate()
                .filter(|(i, _)| *i != 6 && *i != 8)
                .map(|(_, x)| *x),
        );
    }
    out.truncate(n);
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
