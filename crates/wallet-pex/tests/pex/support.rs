//! Shared fixtures: the Nuts vectors (read from the repository copy) and credentials built from
//! them. JWTs built here are unsigned shapes (fake signature part): the engine never verifies.

use serde_json::{json, Value};
use wallet_pex::{
    insecure_unsigned_jwt, PolicyFile, PresentationDefinition, WalletCredential, WalletOwnerType,
};

pub const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/nuts");

pub fn read(rel: &str) -> String {
    let p = format!("{VECTORS}/{rel}");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn policy(file: &str) -> PolicyFile {
    PolicyFile::parse(&read(&format!("presentation-definitions/{file}"))).unwrap()
}

pub fn policy_pd(file: &str, scope: &str, owner: WalletOwnerType) -> PresentationDefinition {
    policy(file).definition(scope, owner).unwrap().clone()
}

pub fn pd(file: &str) -> PresentationDefinition {
    PresentationDefinition::parse(&read(&format!("presentation-definitions/{file}"))).unwrap()
}

pub fn cred(file: &str) -> WalletCredential {
    WalletCredential::parse(&read(&format!("credentials/{file}"))).unwrap()
}

/// `jsonld-orgcred_001.signed.json` (NutsOrganizationCredential, IJbergen, JsonWebSignature2020).
pub fn org_jsonld() -> WalletCredential {
    cred("jsonld-orgcred_001.signed.json")
}

/// The same organization credential as a JWT VC signed (shape only) with `alg`.
pub fn org_jwt(alg: &str) -> WalletCredential {
    let v: Value =
        serde_json::from_str(&read("credentials/jsonld-orgcred_001.signed.json")).unwrap();
    let holder = v["credentialSubject"]["id"].clone();
    let claims = json!({
        "iss": v["issuer"], "sub": holder, "jti": format!("{}-jwt-{alg}", v["id"].as_str().unwrap()),
        "nbf": 1_654_090_480, "iat": 1_654_090_480,
        "vc": {
            "@context": v["@context"],
            "type": v["type"],
            "credentialSubject": [{"organization": v["credentialSubject"]["organization"]}]
        }
    });
    WalletCredential::from_jwt(&insecure_unsigned_jwt(alg, &claims, "ZmFrZS1zaWduYXR1cmU")).unwrap()
}

/// A self-attested NutsEmployeeCredential as the Nuts node fills it in (docs/protocol.md §7.3):
/// unsigned JSON-LD.
pub fn employee_self_attested(
    holder: &str,
    name: &str,
    role: &str,
    identifier: &str,
) -> WalletCredential {
    WalletCredential::from_json_ld(json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
        "type": ["VerifiableCredential", "NutsEmployeeCredential"],
        "id": format!("self-attested-{identifier}"),
        "issuer": holder,
        "issuanceDate": "2026-11-28T10:00:00Z",
        "credentialSubject": {"id": holder, "name": name, "roleName": role, "identifier": identifier}
    }))
    .unwrap()
}

pub const X509_CA: &str = "did:x509:0:sha256:szqMaTpnD6GN0aRrT98eV4bhAoOgyItEZVyskYyL_Qc";
pub const URA_OTHERNAME: &str = "2.16.528.1.1007.99.2110-1-900030787-S-90000380-00.000-11223344";

/// An X509Credential (the did:x509 shape of docs/protocol.md §7.5) as a JWT VC, issuer under `ca`.
pub fn x509_jwt(ca: &str, alg: &str, jti: &str) -> WalletCredential {
    let issuer =
        format!("{ca}::subject:O:Zorg%20B.V.::subject:L:Utrecht::san:otherName:{URA_OTHERNAME}");
    let claims = json!({
        "iss": issuer, "sub": "did:web:zorg.example:iam:1", "jti": jti,
        "nbf": 1_764_000_000, "exp": 1_795_536_000,
        "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential", "X509Credential"],
            "credentialSubject": {"subject": {"O": "Zorg B.V.", "L": "Utrecht"}, "san": {"otherName": URA_OTHERNAME}},
            "expirationDate": "2026-11-26T00:00:00Z"
        }
    });
    WalletCredential::from_jwt(&insecure_unsigned_jwt(alg, &claims, "ZmFrZQ")).unwrap()
}
