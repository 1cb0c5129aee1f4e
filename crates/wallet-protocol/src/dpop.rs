//! DPoP proofs (RFC 9449) as Nuts makes and checks them (`docs/protocol.md` §6): header
//! `{"alg","typ":"dpop+jwt","jwk"}` (no `kid`), claims `htm`, `htu`, `iat`, `jti` and, for
//! resource requests, `ath`. Verification here is the structural check of a Nuts AS plus
//! the signature; binding checks (htm/htu/ath/replay) are the caller's.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::jose::{self, b64url, CompactJws, JoseError, Jwk};
use crate::signer::Signer;

/// DPoP errors.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// Not a structurally valid DPoP proof.
    #[error("DPoP header is invalid: {0}")]
    Invalid(&'static str),
    /// Signature or key problem.
    #[error(transparent)]
    Jose(#[from] JoseError),
}

/// A DPoP proof whose signature under its embedded key verified.
#[derive(Debug, Clone)]
pub struct DpopProof {
    /// The embedded public key.
    pub jwk: Jwk,
    /// RFC 7638 SHA-256 thumbprint of `jwk` (`cnf.jkt`).
    pub thumbprint: String,
    /// HTTP method.
    pub htm: String,
    /// HTTP URI.
    pub htu: String,
    /// Issued-at.
    pub iat: i64,
    /// Unique id.
    pub jti: String,
    /// Access token hash, if any.
    pub ath: Option<String>,
}

/// Verifies a DPoP proof structurally and cryptographically.
pub fn verify_dpop_proof(proof: &str) -> Result<DpopProof, DpopError> {
    let jws = CompactJws::parse(proof)?;
    if jws.header_str("typ") != Some("dpop+jwt") {
        return Err(DpopError::Invalid("typ must be dpop+jwt"));
    }
    let jwk = jws
        .header
        .get("jwk")
        .ok_or(DpopError::Invalid("no jwk header"))?;
    let jwk = Jwk::from_value(jwk)?;
    jws.verify_with(&jwk)?;
    let claims = jws.claims()?;
    let s = |n: &str| claims.get(n).and_then(Value::as_str).map(str::to_owned);
    let htm = s("htm").ok_or(DpopError::Invalid("no htm"))?;
    let htu = s("htu").ok_or(DpopError::Invalid("no htu"))?;
    let jti = s("jti").ok_or(DpopError::Invalid("no jti"))?;
    if jti.len() > 256 {
        return Err(DpopError::Invalid("jti too long"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(DpopError::Invalid("no iat"))?;
    Ok(DpopProof {
        thumbprint: jwk.thumbprint_sha256()?,
        jwk,
        htm,
        htu,
        iat,
        jti,
        ath: s("ath"),
    })
}

/// `ath`: base64url(SHA-256(access_token)).
pub fn access_token_hash(access_token: &str) -> String {
    b64url(&Sha256::digest(access_token.as_bytes()))
}

/// Creates a DPoP proof: header `{"typ":"dpop+jwt","alg","jwk"}` (no `kid`), claims
/// `jti` (32 random bytes), `htm`, `htu`, `iat`, and when given the server's `nonce` and the
/// `ath` of `access_token`. The only DPoP proof builder: the wallet's client and the tests of
/// the authorization server both use it.
pub fn create_dpop_proof(
    signer: &dyn Signer,
    htm: &str,
    htu: &str,
    now: i64,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String, DpopError> {
    let mut header = Map::new();
    header.insert("jwk".into(), Value::Object(signer.public_jwk()));
    header.insert("kid".into(), Value::Null);
    let mut claims =
        json!({"jti": crate::random::random_token(), "htm": htm, "htu": htu, "iat": now});
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = access_token {
        claims["ath"] = json!(access_token_hash(t));
    }
    let payload = serde_json::to_vec(&claims).map_err(|_| DpopError::Invalid("claims"))?;
    Ok(jose::sign_compact(
        signer,
        Some("dpop+jwt"),
        header,
        &payload,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::SoftwareSigner;

    #[test]
    fn create_and_verify() {
        let signer = SoftwareSigner::generate_es256("unused").unwrap();
        let proof = create_dpop_proof(
            &signer,
            "POST",
            "https://as.example/token",
            1_700_000_000,
            None,
            Some("tok"),
        )
        .unwrap();
        let p = verify_dpop_proof(&proof).unwrap();
        assert_eq!(p.htm, "POST");
        assert_eq!(p.ath.as_deref(), Some(access_token_hash("tok").as_str()));
        assert_eq!(
            p.thumbprint,
            Jwk::from_map(signer.public_jwk())
                .unwrap()
                .thumbprint_sha256()
                .unwrap()
        );
        let header: Value =
            serde_json::from_slice(&jose::b64url_decode(proof.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert!(header.get("kid").is_none());
    }
}
