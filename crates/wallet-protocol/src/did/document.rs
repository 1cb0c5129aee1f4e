//! Builders for the DID documents the wallet publishes.

use serde_json::{json, Value};

use super::{Did, DidError, DidUrl};
use crate::jose::Jwk;

/// Contexts of a Nuts did:web document.
pub const DID_CONTEXTS: [&str; 2] = [
    "https://www.w3.org/ns/did/v1",
    "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json",
];

/// Builds the did:web document for an organization key, shaped like a Nuts v6 node's:
/// one `JsonWebKey2020` method referenced from `assertionMethod`, `authentication`,
/// `capabilityInvocation` and `capabilityDelegation`.
pub fn build_did_document(did: &Did, kid: &DidUrl, public_key: &Jwk) -> Result<Value, DidError> {
    if kid.did() != *did {
        return Err(DidError::InvalidDidUrl(format!(
            "{kid} does not belong to {did}"
        )));
    }
    let jwk = public_key.minimal()?;
    Ok(json!({
        "@context": DID_CONTEXTS,
        "id": did.as_str(),
        "verificationMethod": [{
            "id": kid.as_str(),
            "type": "JsonWebKey2020",
            "controller": did.as_str(),
            "publicKeyJwk": jwk,
        }],
        "assertionMethod": [kid.as_str()],
        "authentication": [kid.as_str()],
        "capabilityInvocation": [kid.as_str()],
        "capabilityDelegation": [kid.as_str()],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::DidDocument;

    #[test]
    fn built_document_resolves_its_key() {
        let did = Did::parse("did:web:zorg.example:iam:1").unwrap();
        let kid = did.with_fragment("k1");
        let jwk =
            Jwk::from_value(&json!({"kty":"EC","crv":"P-256","x":"AA","y":"BB","alg":"ES256"}))
                .unwrap();
        let doc = build_did_document(&did, &kid, &jwk).unwrap();
        let parsed = DidDocument::new(&did, doc.clone()).unwrap();
        assert_eq!(parsed.assertion_key(&kid).unwrap(), jwk.minimal().unwrap());
        assert_eq!(doc["authentication"][0], kid.as_str());
        let other = Did::parse("did:web:other.example")
            .unwrap()
            .with_fragment("k1");
        assert!(build_did_document(&did, &other, &jwk).is_err());
    }
}
