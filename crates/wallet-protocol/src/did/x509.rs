//! did:x509 (placeholder, filled below).
use super::{Did, DidDocument, DidError};

/// Resolves a did:x509 from an `x5c` chain.
pub fn resolve_with_x5c(did: &Did, _x5c: &[String], _now: i64) -> Result<DidDocument, DidError> {
    Err(DidError::UnsupportedMethod(did.method().to_owned()))
}
