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
    build_did_document_with_keys(did, &[(kid.clone(), public_key.clone())])
}

/// A did:web document listing several keys, each usable for every relationship: during a key
/// rotation the old and the new key are both published, so presentations signed with either
/// verify (the first key is the one in use).
pub fn build_did_document_with_keys(did: &Did, keys: &[(DidUrl, Jwk)]) -> Result<Value, DidError> {
    if keys.is_empty() {
        return Err(DidError::InvalidDidUrl("a DID document needs a key".into()));
    }
    let mut methods = Vec::with_capacity(keys.len());
    let mut ids = Vec::with_capacity(keys.len());
    for (kid, public_key) in keys {
        if kid.did() != *did {
            return Err(DidError::InvalidDidUrl(format!(
                "{kid} does not belong to {did}"
            )));
        }
        if ids.contains(&kid.as_str()) {
            return Err(DidError::InvalidDidUrl(format!("{kid} is listed twice")));
        }
        methods.push(json!({
            "id": kid.as_str(),
            "type": "JsonWebKey2020",
            "controller": did.as_str(),
            "publicKeyJwk": public_key.minimal()?,
        }));
        ids.push(kid.as_str());
    }
    Ok(json!({
        "@context": DID_CONTEXTS,
        "id": did.as_str(),
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
        "capabilityInvocation": ids,
        "capabilityDelegation": ids,
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

    #[test]
    fn a_document_with_two_keys_resolves_both() {
        let did = Did::parse("did:web:zorg.example:iam:1").unwrap();
        let (k1, k2) = (did.with_fragment("k1"), did.with_fragment("k2"));
        let j1 = Jwk::from_value(&json!({"kty":"EC","crv":"P-256","x":"AA","y":"BB"})).unwrap();
        let j2 = Jwk::from_value(&json!({"kty":"EC","crv":"P-256","x":"CC","y":"DD"})).unwrap();
        let doc = build_did_document_with_keys(
            &did,
            &[(k1.clone(), j1.clone()), (k2.clone(), j2.clone())],
        )
        .unwrap();
        let parsed = DidDocument::new(&did, doc).unwrap();
        assert_eq!(parsed.assertion_key(&k1).unwrap(), j1.minimal().unwrap());
        assert_eq!(parsed.assertion_key(&k2).unwrap(), j2.minimal().unwrap());
        assert!(build_did_document_with_keys(&did, &[]).is_err());
        assert!(build_did_document_with_keys(&did, &[(k1.clone(), j1.clone()), (k1, j2)]).is_err());
    }
}
