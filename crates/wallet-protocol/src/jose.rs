//! JOSE: compact JWS signing (through [`Signer`]) and verification (josekit), JWKs and
//! RFC 7638 thumbprints, and the detached `b64:false` JWS used by JsonWebSignature2020.
//!
//! Verification accepts exactly the algorithms a Nuts node accepts (ES256, ES384, ES512,
//! EdDSA, PS256, PS384, PS512); `none`, HMAC, RS256 and anything else are refused before any
//! key is touched. Signing builds the JWS around [`Signer::sign`] so vault-held keys work.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::signer::{SignError, Signer};

/// base64url without padding.
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url or standard base64, padded or not (Nuts emits both).
pub fn b64_lenient(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
        .or_else(|| STANDARD_NO_PAD.decode(trimmed).ok())
}

/// Decodes strict base64url without padding (JWS segments).
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JoseError::Malformed("invalid base64url"))
}

/// JWS algorithms accepted for verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    /// ECDSA P-256 SHA-256.
    Es256,
    /// ECDSA P-384 SHA-384.
    Es384,
    /// ECDSA P-521 SHA-512.
    Es512,
    /// Ed25519.
    EdDsa,
    /// RSASSA-PSS SHA-256.
    Ps256,
    /// RSASSA-PSS SHA-384.
    Ps384,
    /// RSASSA-PSS SHA-512.
    Ps512,
}

impl JwsAlgorithm {
    /// All algorithms, in Nuts' advertised order.
    pub const ALL: [JwsAlgorithm; 7] = [
        Self::Es256,
        Self::EdDsa,
        Self::Es384,
        Self::Es512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
    ];

    /// Parses a JWS `alg`; anything outside the allow-list is an error.
    pub fn parse(alg: &str) -> Result<Self, JoseError> {
        Ok(match alg {
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "ES512" => Self::Es512,
            "EdDSA" => Self::EdDsa,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            other => return Err(JoseError::UnsupportedAlgorithm(other.to_owned())),
        })
    }

    /// The JWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
        }
    }

    /// The names as JSON strings (for metadata `alg_values_supported`).
    pub fn all_names() -> Vec<Value> {
        Self::ALL
            .iter()
            .map(|a| Value::String(a.as_str().to_owned()))
            .collect()
    }
}

/// JOSE errors.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// Not a well-formed JWS/JWT/JWK.
    #[error("malformed JOSE object: {0}")]
    Malformed(&'static str),
    /// `alg` outside the allow-list (includes `none`).
    #[error("JWS algorithm '{0}' is not accepted")]
    UnsupportedAlgorithm(String),
    /// A `crit` header we do not understand.
    #[error("unsupported critical header '{0}'")]
    UnsupportedCritical(String),
    /// The key cannot be used (wrong type/curve, private members present, ...).
    #[error("unusable key: {0}")]
    InvalidKey(String),
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl JoseError {
    /// Whether signing failed because the key is out of reach ([`SignError::is_unavailable`]).
    pub fn is_key_unavailable(&self) -> bool {
        matches!(self, JoseError::Sign(e) if e.is_unavailable())
    }
}

/// A public JSON Web Key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Jwk(Map<String, Value>);

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

impl Jwk {
    /// Wraps a JWK object; refuses symmetric keys and private members.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, JoseError> {
        let kty = map
            .get("kty")
            .and_then(Value::as_str)
            .ok_or(JoseError::Malformed("JWK without kty"))?;
        if !matches!(kty, "EC" | "RSA" | "OKP") {
            return Err(JoseError::InvalidKey(format!("unsupported kty {kty}")));
        }
        if PRIVATE_MEMBERS.iter().any(|m| map.contains_key(*m)) {
            return Err(JoseError::InvalidKey(
                "JWK contains private key material".to_owned(),
            ));
        }
        Ok(Self(map))
    }

    /// Parses a JWK from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, JoseError> {
        match value {
            Value::Object(m) => Self::from_map(m.clone()),
            _ => Err(JoseError::Malformed("JWK is not an object")),
        }
    }

    /// The JWK members.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Member lookup.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A copy with `kid` set.
    pub fn with_kid(&self, kid: &str) -> Self {
        let mut m = self.0.clone();
        m.insert("kid".to_owned(), Value::String(kid.to_owned()));
        Self(m)
    }

    /// The key with only the RFC 7638 required members (no `kid`, `alg`, `use`).
    pub fn minimal(&self) -> Result<Self, JoseError> {
        let names: &[&str] = match self.get("kty") {
            Some("EC") => &["crv", "kty", "x", "y"],
            Some("RSA") => &["e", "kty", "n"],
            Some("OKP") => &["crv", "kty", "x"],
            _ => return Err(JoseError::Malformed("JWK without supported kty")),
        };
        let mut m = Map::new();
        for n in names {
            let v = self
                .get(n)
                .ok_or(JoseError::Malformed("JWK lacks a required member"))?;
            m.insert((*n).to_owned(), Value::String(v.to_owned()));
        }
        Ok(Self(m))
    }

    /// RFC 7638 SHA-256 thumbprint, base64url (the DPoP `cnf.jkt` value).
    pub fn thumbprint_sha256(&self) -> Result<String, JoseError> {
        // serde_json's Map is ordered (BTreeMap) without `preserve_order`; build the
        // canonical string explicitly anyway so the order never depends on features.
        let min = self.minimal()?;
        let mut keys: Vec<&String> = min.0.keys().collect();
        keys.sort();
        let mut s = String::from("{");
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let v = &min.0[*k];
            s.push_str(&serde_json::to_string(k).unwrap_or_default());
            s.push(':');
            s.push_str(&serde_json::to_string(v).unwrap_or_default());
        }
        s.push('}');
        Ok(b64url(&Sha256::digest(s.as_bytes())))
    }

    /// Verifies `signature` over `message` with this key under `alg`.
    pub fn verify(
        &self,
        alg: JwsAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        self.verifier(alg)?
            .verify(message, signature)
            .map_err(|_| JoseError::BadSignature)
    }

    /// The josekit verifier for this key under `alg`, from [`VERIFIERS`] or made now.
    fn verifier(&self, alg: JwsAlgorithm) -> Result<Arc<dyn josekit::jws::JwsVerifier>, JoseError> {
        use josekit::jws;
        // Keyed by the algorithm and the whole JWK as given (every member josekit looks at).
        let key = format!(
            "{alg:?}\u{0}{}",
            serde_json::to_string(&self.0).map_err(|_| JoseError::Malformed("JWK"))?
        );
        if let Some(v) = VERIFIERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(v.clone());
        }
        // josekit refuses a JWK whose `alg` differs; strip `kid`-like extras but keep the rest.
        let jwk = josekit::jwk::Jwk::from_map(self.0.clone())
            .map_err(|e| JoseError::InvalidKey(e.to_string()))?;
        let verifier: Arc<dyn josekit::jws::JwsVerifier> = match alg {
            JwsAlgorithm::Es256 => Arc::new(jws::ES256.verifier_from_jwk(&jwk).map_err(key_err)?),
            JwsAlgorithm::Es384 => Arc::new(jws::ES384.verifier_from_jwk(&jwk).map_err(key_err)?),
            JwsAlgorithm::Es512 => Arc::new(jws::ES512.verifier_from_jwk(&jwk).map_err(key_err)?),
            JwsAlgorithm::EdDsa => Arc::new(jws::EdDSA.verifier_from_jwk(&jwk).map_err(key_err)?),
            JwsAlgorithm::Ps256 => Arc::new(jws::PS256.verifier_from_jwk(&jwk).map_err(key_err)?),
            JwsAlgorithm::Ps384 => Arc::new(jws::PS384.verifier_from_jwk(&jwk).map_err(key_err)?),
            JwsAlgorithm::Ps512 => Arc::new(jws::PS512.verifier_from_jwk(&jwk).map_err(key_err)?),
        };
        let mut cache = VERIFIERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_VERIFIERS {
            cache.clear();
        }
        cache.insert(key, verifier.clone());
        Ok(verifier)
    }
}

/// Upper bound on [`VERIFIERS`].
const MAX_VERIFIERS: usize = 256;

/// Signature verifiers by (algorithm, JWK). Making one parses the public key into an
/// OpenSSL key (DER decoding through OpenSSL's decoder framework), which costs far more
/// than the verification itself; the same keys (the holder's, the issuer's, the
/// verifier's) come back in every request. Only the parsed public key is kept: every
/// signature is still verified. Cleared when full.
type Verifiers = HashMap<String, Arc<dyn josekit::jws::JwsVerifier>>;
static VERIFIERS: LazyLock<Mutex<Verifiers>> = LazyLock::new(Mutex::default);

fn key_err(e: josekit::JoseError) -> JoseError {
    JoseError::InvalidKey(e.to_string())
}

/// A compact JWS split into its parts; nothing is verified yet.
#[derive(Debug, Clone)]
pub struct CompactJws {
    /// Decoded protected header.
    pub header: Map<String, Value>,
    /// Decoded payload bytes.
    pub payload: Vec<u8>,
    /// Raw signature bytes.
    pub signature: Vec<u8>,
    /// `header_b64 "." payload_b64` (what was signed).
    pub signing_input: String,
    /// The `alg`, already checked against the allow-list.
    pub alg: JwsAlgorithm,
}

impl CompactJws {
    /// Splits and decodes a compact JWS; refuses disallowed `alg` and unknown `crit`.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("compact JWS must have three parts"));
        };
        let header: Map<String, Value> = serde_json::from_slice(&b64url_decode(h)?)
            .map_err(|_| JoseError::Malformed("JWS header is not a JSON object"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::Malformed("JWS header lacks alg"))?;
        let alg = JwsAlgorithm::parse(alg)?;
        if let Some(crit) = header.get("crit") {
            let first = crit
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .unwrap_or("?");
            return Err(JoseError::UnsupportedCritical(first.to_owned()));
        }
        let payload = b64url_decode(p)?;
        let signature = b64url_decode(s)?;
        if signature.is_empty() {
            return Err(JoseError::Malformed("empty signature"));
        }
        Ok(Self {
            header,
            payload,
            signature,
            signing_input: format!("{h}.{p}"),
            alg,
        })
    }

    /// Header string member.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// The `x5c` header: certificates as standard base64 DER, leaf first (empty when absent;
    /// non-string entries are skipped).
    pub fn header_x5c(&self) -> Vec<String> {
        self.header
            .get("x5c")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The payload as a JSON object (JWT claims).
    pub fn claims(&self) -> Result<Map<String, Value>, JoseError> {
        serde_json::from_slice(&self.payload)
            .map_err(|_| JoseError::Malformed("JWT payload is not a JSON object"))
    }

    /// Verifies the signature with `key`.
    pub fn verify_with(&self, key: &Jwk) -> Result<(), JoseError> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }
}

/// Parses and verifies a compact JWS with a known key; returns the parsed JWS.
pub fn verify_compact(token: &str, key: &Jwk) -> Result<CompactJws, JoseError> {
    let jws = CompactJws::parse(token)?;
    jws.verify_with(key)?;
    Ok(jws)
}

fn check_signer_alg(signer: &dyn Signer) -> Result<JwsAlgorithm, JoseError> {
    JwsAlgorithm::parse(signer.algorithm())
}

/// Signs `payload` as a compact JWS. The header is `{"alg", "kid", "typ"}` plus `extra`
/// members (`extra` may override `typ` or drop `kid` by setting it to null).
pub fn sign_compact(
    signer: &dyn Signer,
    typ: Option<&str>,
    extra_header: Map<String, Value>,
    payload: &[u8],
) -> Result<String, JoseError> {
    let alg = check_signer_alg(signer)?;
    let mut header = Map::new();
    header.insert("alg".to_owned(), Value::String(alg.as_str().to_owned()));
    header.insert("kid".to_owned(), Value::String(signer.key_id().to_owned()));
    if let Some(t) = typ {
        header.insert("typ".to_owned(), Value::String(t.to_owned()));
    }
    for (k, v) in extra_header {
        if v.is_null() {
            header.remove(&k);
        } else {
            header.insert(k, v);
        }
    }
    let h = b64url(&serde_json::to_vec(&header).map_err(|_| JoseError::Malformed("header"))?);
    let p = b64url(payload);
    let input = format!("{h}.{p}");
    let sig = signer.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

/// Signs JWT `claims` with header `{"alg","kid","typ":"JWT"}`.
pub fn sign_jwt(signer: &dyn Signer, claims: &Map<String, Value>) -> Result<String, JoseError> {
    let payload = serde_json::to_vec(claims).map_err(|_| JoseError::Malformed("claims"))?;
    sign_compact(signer, Some("JWT"), Map::new(), &payload)
}

/// A detached, unencoded-payload JWS (`<header>..<sig>`, RFC 7797 `b64:false`), as used by
/// JsonWebSignature2020.
#[derive(Debug, Clone)]
pub struct DetachedJws {
    /// The protected header as it appears (base64url).
    pub header_b64: String,
    /// Decoded header.
    pub header: Map<String, Value>,
    /// Signature bytes.
    pub signature: Vec<u8>,
    /// Checked algorithm.
    pub alg: JwsAlgorithm,
}

impl DetachedJws {
    /// Parses `<header>..<signature>`; requires `b64:false` with `crit:["b64"]`.
    pub fn parse(jws: &str) -> Result<Self, JoseError> {
        let mut parts = jws.split('.');
        let (Some(h), Some(""), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "detached JWS must be '<header>..<signature>'",
            ));
        };
        let header: Map<String, Value> = serde_json::from_slice(&b64url_decode(h)?)
            .map_err(|_| JoseError::Malformed("JWS header is not a JSON object"))?;
        let alg = JwsAlgorithm::parse(header.get("alg").and_then(Value::as_str).unwrap_or("none"))?;
        if header.get("b64") != Some(&Value::Bool(false)) {
            return Err(JoseError::Malformed("detached JWS must have b64=false"));
        }
        match header.get("crit").and_then(Value::as_array) {
            Some(c) if c.len() == 1 && c[0] == "b64" => {}
            _ => {
                return Err(JoseError::UnsupportedCritical(
                    "crit must be [\"b64\"]".to_owned(),
                ))
            }
        }
        Ok(Self {
            header_b64: h.to_owned(),
            header,
            signature: b64url_decode(s)?,
            alg,
        })
    }

    /// Verifies over `header_b64 "." payload` (payload bytes used as-is).
    pub fn verify(&self, payload: &[u8], key: &Jwk) -> Result<(), JoseError> {
        let mut input = Vec::with_capacity(self.header_b64.len() + 1 + payload.len());
        input.extend_from_slice(self.header_b64.as_bytes());
        input.push(b'.');
        input.extend_from_slice(payload);
        key.verify(self.alg, &input, &self.signature)
    }

    /// Signs `payload` detached with header `{"alg","b64":false,"crit":["b64"],"kid"}`.
    pub fn sign(signer: &dyn Signer, payload: &[u8]) -> Result<String, JoseError> {
        let alg = check_signer_alg(signer)?;
        let header = serde_json::json!({
            "alg": alg.as_str(), "b64": false, "crit": ["b64"], "kid": signer.key_id()
        });
        let h = b64url(&serde_json::to_vec(&header).map_err(|_| JoseError::Malformed("header"))?);
        let mut input = Vec::with_capacity(h.len() + 1 + payload.len());
        input.extend_from_slice(h.as_bytes());
        input.push(b'.');
        input.extend_from_slice(payload);
        let sig = signer.sign(&input)?;
        Ok(format!("{h}..{}", b64url(&sig)))
    }
}

/// An in-memory ES256 key (ephemeral keys, tests). Private material never leaves it and
/// `Debug` is redacted; long-lived keys belong in the vault.
pub struct SoftwareSigner {
    kid: String,
    signer: josekit::jws::alg::ecdsa::EcdsaJwsSigner,
    public: Map<String, Value>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SoftwareSigner {
    /// Generates a fresh P-256 key.
    pub fn generate_es256(kid: impl Into<String>) -> Result<Self, JoseError> {
        let pair = josekit::jws::ES256.generate_key_pair().map_err(key_err)?;
        Self::from_pair(kid.into(), &pair)
    }

    /// Loads a P-256 key from PKCS#8 DER.
    pub fn from_pkcs8_der_es256(kid: impl Into<String>, der: &[u8]) -> Result<Self, JoseError> {
        let pair = josekit::jws::ES256
            .key_pair_from_der(der)
            .map_err(key_err)?;
        Self::from_pair(kid.into(), &pair)
    }

    fn from_pair(kid: String, pair: &josekit::jwk::alg::ec::EcKeyPair) -> Result<Self, JoseError> {
        let signer = josekit::jws::ES256
            .signer_from_der(pair.to_der_private_key())
            .map_err(key_err)?;
        let jwk = pair.to_jwk_public_key();
        let mut public = Map::new();
        for m in ["kty", "crv", "x", "y"] {
            if let Some(v) = jwk.parameter(m) {
                public.insert(m.to_owned(), v.clone());
            }
        }
        Ok(Self {
            kid,
            signer,
            public,
        })
    }

    /// The same key under another key id (e.g. once its DID is known).
    pub fn set_key_id(&mut self, kid: impl Into<String>) {
        self.kid = kid.into();
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> &str {
        "ES256"
    }
    fn key_id(&self) -> &str {
        &self.kid
    }
    fn public_jwk(&self) -> Map<String, Value> {
        self.public.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        use josekit::jws::JwsSigner as _;
        self.signer
            .sign(message)
            .map_err(|e| SignError::Crypto(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cached_verifiers_still_check_every_signature() {
        let a = SoftwareSigner::generate_es256("k").unwrap();
        let b = SoftwareSigner::generate_es256("k").unwrap();
        let ka = Jwk::from_map(a.public_jwk()).unwrap().with_kid("k");
        let kb = Jwk::from_map(b.public_jwk()).unwrap().with_kid("k");
        let sig = a.sign(b"message").unwrap();
        for _ in 0..2 {
            ka.verify(JwsAlgorithm::Es256, b"message", &sig).unwrap();
            assert!(matches!(
                ka.verify(JwsAlgorithm::Es256, b"messagf", &sig),
                Err(JoseError::BadSignature)
            ));
            let mut bad = sig.clone();
            bad[5] ^= 1;
            assert!(ka.verify(JwsAlgorithm::Es256, b"message", &bad).is_err());
            // same kid, other key: another cache entry, and the signature does not verify
            assert!(kb.verify(JwsAlgorithm::Es256, b"message", &sig).is_err());
            // same key, other algorithm
            assert!(ka.verify(JwsAlgorithm::Es384, b"message", &sig).is_err());
        }
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 section 3.1 example.
        let jwk = Jwk::from_value(&json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint_sha256().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn refuses_none_and_unknown_algs() {
        for alg in ["none", "HS256", "RS256", "ES256K", ""] {
            let h = b64url(json!({ "alg": alg }).to_string().as_bytes());
            let token = format!("{h}.{}.{}", b64url(b"{}"), b64url(b"sig"));
            assert!(
                matches!(
                    CompactJws::parse(&token),
                    Err(JoseError::UnsupportedAlgorithm(_))
                ),
                "{alg} must be refused"
            );
        }
        // `none` with an empty signature too.
        let h = b64url(br#"{"alg":"none"}"#);
        assert!(CompactJws::parse(&format!("{h}.{}.", b64url(b"{}"))).is_err());
    }

    #[test]
    fn refuses_private_jwk() {
        let r = Jwk::from_value(&json!({"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}));
        assert!(matches!(r, Err(JoseError::InvalidKey(_))));
        assert!(Jwk::from_value(&json!({"kty":"oct","k":"abc"})).is_err());
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let signer = SoftwareSigner::generate_es256("did:example:1#0").unwrap();
        let jwk = Jwk::from_map(signer.public_jwk()).unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("x"));
        let token = sign_jwt(&signer, &claims).unwrap();
        let jws = verify_compact(&token, &jwk).unwrap();
        assert_eq!(jws.header_str("kid"), Some("did:example:1#0"));
        assert_eq!(jws.header_str("typ"), Some("JWT"));
        assert_eq!(jws.claims().unwrap()["sub"], "x");
        // Tamper with the payload.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64url(br#"{"sub":"y"}"#);
        assert!(matches!(
            verify_compact(&parts.join("."), &jwk),
            Err(JoseError::BadSignature)
        ));
        // Another key.
        let other = SoftwareSigner::generate_es256("k").unwrap();
        let other_jwk = Jwk::from_map(other.public_jwk()).unwrap();
        assert!(verify_compact(&token, &other_jwk).is_err());
    }

    #[test]
    fn detached_round_trip() {
        let signer = SoftwareSigner::generate_es256("did:example:1#k").unwrap();
        let jwk = Jwk::from_map(signer.public_jwk()).unwrap();
        let jws = DetachedJws::sign(&signer, b"payload-bytes").unwrap();
        let parsed = DetachedJws::parse(&jws).unwrap();
        parsed.verify(b"payload-bytes", &jwk).unwrap();
        assert!(parsed.verify(b"payload-bytez", &jwk).is_err());
    }

    fn josekit_token(alg: &str) -> (String, Jwk) {
        use josekit::jws;
        let (der, jwk): (Vec<u8>, josekit::jwk::Jwk) = match alg {
            "ES384" => {
                let k = jws::ES384.generate_key_pair().unwrap();
                (k.to_der_private_key(), k.to_jwk_public_key())
            }
            "ES512" => {
                let k = jws::ES512.generate_key_pair().unwrap();
                (k.to_der_private_key(), k.to_jwk_public_key())
            }
            "EdDSA" => {
                let k = jws::EdDSA
                    .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                    .unwrap();
                (k.to_der_private_key(), k.to_jwk_public_key())
            }
            "PS384" => {
                let k = jws::PS384.generate_key_pair(2048).unwrap();
                (k.to_der_private_key(), k.to_jwk_public_key())
            }
            "PS512" => {
                let k = jws::PS512.generate_key_pair(2048).unwrap();
                (k.to_der_private_key(), k.to_jwk_public_key())
            }
            _ => {
                let k = jws::PS256.generate_key_pair(2048).unwrap();
                (k.to_der_private_key(), k.to_jwk_public_key())
            }
        };
        let signer: Box<dyn josekit::jws::JwsSigner> = match alg {
            "ES384" => Box::new(jws::ES384.signer_from_der(&der).unwrap()),
            "ES512" => Box::new(jws::ES512.signer_from_der(&der).unwrap()),
            "EdDSA" => Box::new(jws::EdDSA.signer_from_der(&der).unwrap()),
            "PS384" => Box::new(jws::PS384.signer_from_der(&der).unwrap()),
            "PS512" => Box::new(jws::PS512.signer_from_der(&der).unwrap()),
            _ => Box::new(jws::PS256.signer_from_der(&der).unwrap()),
        };
        let h = b64url(json!({"alg": alg}).to_string().as_bytes());
        let p = b64url(b"{\"sub\":\"x\"}");
        let sig = signer.sign(format!("{h}.{p}").as_bytes()).unwrap();
        let mut map = jwk.as_ref().clone();
        map.remove("alg");
        (
            format!("{h}.{p}.{}", b64url(&sig)),
            Jwk::from_map(map).unwrap(),
        )
    }

    #[test]
    fn verifies_every_accepted_algorithm() {
        for alg in ["ES384", "ES512", "EdDSA", "PS256", "PS384", "PS512"] {
            let (token, jwk) = josekit_token(alg);
            let jws = verify_compact(&token, &jwk).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(jws.alg.as_str(), alg);
            let mut bad = token.clone().into_bytes();
            let i = bad.len() - 5;
            bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
            assert!(
                verify_compact(&String::from_utf8(bad).unwrap(), &jwk).is_err(),
                "{alg}"
            );
        }
        // A key of the wrong type for the algorithm is refused.
        let (token, _) = josekit_token("ES384");
        let (_, ed) = josekit_token("EdDSA");
        assert!(verify_compact(&token, &ed).is_err());
    }

    #[test]
    fn lenient_base64() {
        assert_eq!(b64_lenient("aGk+Pz8").unwrap(), b"hi>??");
        assert_eq!(b64_lenient("aGk-Pz8").unwrap(), b"hi>??");
        assert_eq!(b64_lenient("aGk+Pz8=").unwrap(), b"hi>??");
    }
}
