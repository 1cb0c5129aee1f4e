//! `did:jwk`: the DID is the public JWK itself. Creation encodes base64url without padding
//! (for ASCII JWK JSON this equals the unpadded standard base64 that Nuts emits);
//! resolution is lenient: padded or unpadded, base64 or base64url.

use serde_json::{json, Map, Value};

use super::{Did, DidDocument, DidError, DidUrl};
use crate::jose::{b64_lenient, b64url, Jwk};

/// Creates the `did:jwk` for a public key. Members are serialized in lexicographic order.
pub fn create(jwk: &Jwk) -> Result<Did, DidError> {
    let sorted: std::collections::BTreeMap<&String, &Value> = jwk.as_map().iter().collect();
    let text =
        serde_json::to_string(&sorted).map_err(|e| DidError::InvalidDocument(e.to_string()))?;
    Did::parse(&format!("did:jwk:{}", b64url(text.as_bytes())))
}

/// The key id Nuts uses for a did:jwk key: `<did>#0`.
pub fn key_id(did: &Did) -> DidUrl {
    did.with_fragment("0")
}

/// Decodes the JWK embedded in a did:jwk.
pub fn decode(did: &Did) -> Result<Jwk, DidError> {
    if did.method() != "jwk" {
        return Err(DidError::UnsupportedMethod(did.method().to_owned()));
    }
    let bytes = b64_lenient(did.method_specific_id())
        .ok_or_else(|| DidError::InvalidDid(format!("{did}: not base64")))?;
    let map: Map<String, Value> = serde_json::from_slice(&bytes)
        .map_err(|_| DidError::InvalidDid(format!("{did}: not a JWK")))?;
    Ok(Jwk::from_map(map)?)
}

/// Resolves a did:jwk to its (generated) DID document.
pub fn resolve(did: &Did) -> Result<DidDocument, DidError> {
    let jwk = decode(did)?;
    let kid = key_id(did).to_string();
    let mut doc = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did.as_str(),
        "verificationMethod": [{
            "id": kid, "type": "JsonWebKey2020", "controller": did.as_str(), "publicKeyJwk": jwk
        }],
    });
    let rels: &[&str] = if jwk.get("use") == Some("enc") {
        &["keyAgreement"]
    } else {
        &[
            "assertionMethod",
            "authentication",
            "capabilityInvocation",
            "capabilityDelegation",
        ]
    };
    for rel in rels {
        doc[*rel] = json!([kid]);
    }
    DidDocument::new(did, doc)
}

/// Resolver for `did:jwk` only.
#[derive(Debug, Clone, Copy, Default)]
pub struct DidJwkResolver;

impl super::DidResolver for DidJwkResolver {
    fn resolve<'a>(
        &'a self,
        did: &'a Did,
    ) -> crate::net::BoxFuture<'a, Result<DidDocument, DidError>> {
        Box::pin(async move { resolve(did) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn key() -> Jwk {
        Jwk::from_value(&json!({
            "kty": "EC", "crv": "P-256",
            "x": "TG2H2x2dWXN3uCqZpqF1ysAPQVDJEN_H-CMtbgjb-Ng",
            "y": "9M8Nxd0PN22M9lPDxdpDpoTLz15wfyZJs6ZhKIUJ338"
        }))
        .unwrap()
    }

    #[test]
    fn create_and_resolve_round_trip() {
        let did = create(&key()).unwrap();
        assert!(did.as_str().starts_with("did:jwk:eyJ"));
        assert_eq!(decode(&did).unwrap(), key());
        let doc = resolve(&did).unwrap();
        let kid = key_id(&did);
        assert_eq!(doc.assertion_key(&kid).unwrap(), key());
    }

    #[test]
    fn lenient_decoding_of_all_encodings() {
        let text = serde_json::to_string(&key()).unwrap();
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for e in engines {
            let enc = e.encode(text.as_bytes());
            let did = Did::parse(&format!("did:jwk:{enc}")).unwrap();
            assert_eq!(decode(&did).unwrap(), key());
        }
        assert!(decode(&Did::parse("did:jwk:bm90LWpzb24").unwrap()).is_err());
    }

    #[test]
    fn standard_and_url_alphabets_differ_and_both_decode() {
        // '?', '>' and '~' make base64 emit '+'/'/' (standard) vs '-'/'_' (url).
        let jwk = Jwk::from_value(&json!({
            "kty": "EC", "crv": "P-256", "kid": "k?>~??>>",
            "x": "TG2H2x2dWXN3uCqZpqF1ysAPQVDJEN_H-CMtbgjb-Ng",
            "y": "9M8Nxd0PN22M9lPDxdpDpoTLz15wfyZJs6ZhKIUJ338"
        }))
        .unwrap();
        let text = serde_json::to_string(&jwk).unwrap();
        let std = base64::engine::general_purpose::STANDARD_NO_PAD.encode(text.as_bytes());
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes());
        assert_ne!(std, url);
        assert!(std.contains(['+', '/']));
        for enc in [std, url] {
            let did = Did::parse(&format!("did:jwk:{enc}")).unwrap();
            assert_eq!(decode(&did).unwrap(), jwk);
        }
    }
}
