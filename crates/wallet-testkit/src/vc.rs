//! Test credentials.

use serde_json::{json, Value};
use wallet_protocol::did;
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::{contexts, ldp};

/// A NutsOrganizationCredential (JSON-LD, JsonWebSignature2020) about `subject` for "Zorg
/// Utrecht" in Utrecht, issued by a fresh did:jwk issuer at `now - 60`, valid for a day.
pub fn org_credential(subject: &str, now: i64) -> Value {
    let mut key = SoftwareSigner::generate_es256("tmp").expect("P-256 key");
    let issuer = did::jwk::create(&Jwk::from_map(key.public_jwk()).expect("jwk")).expect("did");
    key.set_key_id(did::jwk::key_id(&issuer).as_str());
    // A unique id per credential (issuer keys are fresh, so the issuer part already differs).
    let doc = json!({
        "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1, contexts::JWS2020_V1],
        "id": format!("{issuer}#1"),
        "type": ["VerifiableCredential", "NutsOrganizationCredential"],
        "issuer": issuer.as_str(),
        "issuanceDate": wallet_protocol::clock::format_rfc3339(now - 60),
        "expirationDate": wallet_protocol::clock::format_rfc3339(now + 86_400),
        "credentialSubject": {
            "id": subject,
            "organization": {"name": "Zorg Utrecht", "city": "Utrecht"}
        }
    });
    ldp::sign(
        &doc,
        &key,
        &ldp::ProofOptions {
            created: now - 60,
            expires: None,
            challenge: None,
            nonce: None,
            domain: None,
        },
    )
    .expect("signed credential")
}
