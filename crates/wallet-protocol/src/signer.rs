//! The signing interface. Private key material stays behind it: callers get signatures,
//! a public JWK and a key id, never the key bytes.

/// Why a signature could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key store is locked or the key is gone.
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
    /// The underlying crypto library failed.
    #[error("signing failed: {0}")]
    Crypto(String),
}

impl SignError {
    /// Whether the key is out of reach (a locked vault, an HSM that is absent or refuses the
    /// PIN) rather than broken: callers answer "try again later" (503), not "bug" (500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SignError::Unavailable(_))
    }
}

/// A key that can make JWS signatures.
pub trait Signer: Send + Sync {
    /// JWS `alg` of the signatures this key makes, e.g. `"ES256"`.
    fn algorithm(&self) -> &str;
    /// Key id to put in the JWS header (a DID URL once the key belongs to a DID).
    fn key_id(&self) -> &str;
    /// Public key as a JWK object (never private members).
    fn public_jwk(&self) -> serde_json::Map<String, serde_json::Value>;
    /// Signs `message` (the JWS signing input) and returns the JWS signature bytes
    /// (for ES256: the 64-byte `r || s`, not DER).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}
