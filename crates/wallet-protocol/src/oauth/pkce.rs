//! PKCE (RFC 7636), method `S256` only.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::jose::b64url;

/// A PKCE code verifier. Not `Clone`, redacted `Debug`, zeroized on drop.
pub struct PkceVerifier(Zeroizing<String>);

impl PkceVerifier {
    /// The verifier text, for the token request only.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The S256 challenge of this verifier.
    pub fn challenge(&self) -> String {
        s256_challenge(&self.0)
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// `base64url(SHA-256(verifier))`.
pub fn s256_challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// A PKCE pair, method `S256`.
#[derive(Debug)]
pub struct PkcePair {
    /// The secret verifier (kept by the wallet until the code exchange).
    pub verifier: PkceVerifier,
    /// `base64url(SHA-256(verifier))`, sent in the authorization request.
    pub challenge: String,
}

impl PkcePair {
    /// A fresh pair: verifier = 32 random bytes, base64url (43 characters).
    pub fn generate() -> Self {
        let verifier = PkceVerifier(Zeroizing::new(crate::random::random_token()));
        let challenge = verifier.challenge();
        Self {
            verifier,
            challenge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pair_is_s256_and_secret() {
        let p = PkcePair::generate();
        assert_eq!(p.verifier.expose_secret().len(), 43);
        assert_eq!(p.challenge, s256_challenge(p.verifier.expose_secret()));
        assert!(!format!("{p:?}").contains(p.verifier.expose_secret()));
        // RFC 7636 appendix B
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_ne!(PkcePair::generate().challenge, p.challenge);
    }
}
