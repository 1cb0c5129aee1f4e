//! Test credentials.

use serde_json::{json, Value};
use wallet_protocol::did;
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::{contexts, ldp};

/// A NutsOrganizationCredential (JSON-LD, JsonWebSignature2020) about `subject` for "Zorg
/// Utrecht" in Utrecht, issued by a fresh did:jwk issuer at `now - 60`, valid for a day.
pub fn org_credential(subject: &str, now: i64) -> Value {
    let (key, issuer) = jwk_issuer();
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
    sign_at(&doc, &key, now)
}

/// A fresh P-256 key and its did:jwk, the key's id set to the DID URL.
fn jwk_issuer() -> (SoftwareSigner, did::Did) {
    let mut key = SoftwareSigner::generate_es256("tmp").expect("P-256 key");
    let issuer = did::jwk::create(&Jwk::from_map(key.public_jwk()).expect("jwk")).expect("did");
    key.set_key_id(did::jwk::key_id(&issuer).as_str());
    (key, issuer)
}

/// `doc` with a JsonWebSignature2020 proof by `key`, created at `now - 60`.
fn sign_at(doc: &Value, key: &SoftwareSigner, now: i64) -> Value {
    ldp::sign(
        doc,
        key,
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

/// A did:jwk issuer with a StatusList2021 list: issues NutsOrganizationCredentials that
/// point at an index of the list, and signs the list with any set of revoked indexes.
pub struct StatusIssuer {
    key: SoftwareSigner,
    /// The issuer DID.
    pub did: did::Did,
    /// Where the list is served.
    pub list_url: String,
}

impl StatusIssuer {
    /// A fresh issuer whose list will be served at `list_url`.
    pub fn new(list_url: &str) -> Self {
        let (key, did) = jwk_issuer();
        Self {
            key,
            did,
            list_url: list_url.to_owned(),
        }
    }

    /// A NutsOrganizationCredential about `subject` ("Zorg Utrecht", Utrecht), valid for a
    /// day, whose revocation status is bit `index` of the list.
    pub fn org_credential(&self, subject: &str, index: u64, now: i64) -> Value {
        let doc = json!({
            "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1, contexts::JWS2020_V1, contexts::STATUS_LIST_2021],
            "id": format!("{}#{index}", self.did),
            "type": ["VerifiableCredential", "NutsOrganizationCredential"],
            "issuer": self.did.as_str(),
            "issuanceDate": wallet_protocol::clock::format_rfc3339(now - 60),
            "expirationDate": wallet_protocol::clock::format_rfc3339(now + 86_400),
            "credentialStatus": {
                "id": format!("{}#{index}", self.list_url),
                "type": "StatusList2021Entry",
                "statusPurpose": "revocation",
                "statusListIndex": index.to_string(),
                "statusListCredential": self.list_url,
            },
            "credentialSubject": {
                "id": subject,
                "organization": {"name": "Zorg Utrecht", "city": "Utrecht"}
            }
        });
        sign_at(&doc, &self.key, now)
    }

    /// The signed StatusList2021Credential (16 kbit) with `revoked` set, valid from
    /// `now - 60` until `now + valid_secs`.
    pub fn status_list(&self, revoked: &[u64], now: i64, valid_secs: i64) -> Value {
        use std::io::Write as _;
        let mut bits = vec![0u8; 2048];
        for &i in revoked {
            bits[(i / 8) as usize] |= 0x80 >> (i % 8);
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bits).expect("gzip");
        let encoded = wallet_protocol::jose::b64url(&gz.finish().expect("gzip"));
        let doc = json!({
            "@context": [contexts::CREDENTIALS_V1, contexts::STATUS_LIST_2021, contexts::JWS2020_V1],
            "id": self.list_url,
            "type": ["VerifiableCredential", "StatusList2021Credential"],
            "issuer": self.did.as_str(),
            "issuanceDate": wallet_protocol::clock::format_rfc3339(now - 60),
            "expirationDate": wallet_protocol::clock::format_rfc3339(now + valid_secs),
            "credentialSubject": {
                "id": format!("{}#list", self.list_url),
                "type": "StatusList2021",
                "statusPurpose": "revocation",
                "encodedList": encoded,
            }
        });
        sign_at(&doc, &self.key, now)
    }
}
