//! Wallet credentials as the engine sees them, and the normalised JSON view Nuts matches on.
//!
//! A [`WalletCredential`] is built once per stored credential (the wallet caches it) and holds:
//! the original form (compact JWT or JSON-LD object, which is what goes into a VP), the detected
//! format, the JWS `alg` or linked-data proof types, the validity window, and the normalised
//! view that JSONPath runs on. The view is what a Nuts node produces (docs/protocol.md
//! §8.2):
//!
//! * JSON-LD: only the standard members survive (`@context`, `id`, `type`, `issuer`,
//!   `issuanceDate`, `expirationDate`, `credentialStatus`, `credentialSubject`, `proof`);
//!   single-element `type`/`credentialSubject`/`credentialStatus`/`proof` arrays collapse to the
//!   value, `@context` is always an array, a missing `issuanceDate` becomes
//!   `0001-01-01T00:00:00Z`, and dates are reprinted the way Go prints them.
//! * JWT: the `vc` claim read as above but with arrays kept (and single values wrapped), then
//!   `iss`→`issuer`, `sub`→every `credentialSubject[*].id`, `jti`→`id`, `nbf`→`issuanceDate`,
//!   `exp`→`expirationDate`.
//!
//! Signatures are NOT verified here; that is the job of the protocol crate. Decoding a JWT
//! without verifying it is fine for matching, never for trusting.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::CredentialError;
use crate::time::{format_unix, parse_rfc3339, GO_ZERO_TIME};

/// The two credential formats Nuts handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CredentialFormat {
    /// Compact JWT VC.
    #[serde(rename = "jwt_vc")]
    JwtVc,
    /// JSON-LD VC (with a linked-data proof, or unsigned/self-attested).
    #[serde(rename = "ldp_vc")]
    LdpVc,
}

impl CredentialFormat {
    /// The DIF format name used in `descriptor_map`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialFormat::JwtVc => "jwt_vc",
            CredentialFormat::LdpVc => "ldp_vc",
        }
    }
}

/// A credential's original form, as it is put into a presentation.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCredential {
    /// Compact JWT (a JSON string inside a VP).
    Jwt(String),
    /// JSON-LD object (an object inside a VP).
    JsonLd(Value),
}

impl RawCredential {
    /// The JSON value to place in a VP's `verifiableCredential`.
    pub fn to_json(&self) -> Value {
        match self {
            RawCredential::Jwt(s) => Value::String(s.clone()),
            RawCredential::JsonLd(v) => v.clone(),
        }
    }
}

/// A credential prepared for matching. Build it once and reuse it.
#[derive(Debug, Clone)]
pub struct WalletCredential {
    id: String,
    raw: RawCredential,
    format: CredentialFormat,
    alg: Option<String>,
    proof_types: Vec<String>,
    signed: bool,
    types: Vec<String>,
    type_bloom: u64,
    not_before: Option<i64>,
    expires: Option<i64>,
    normalized: Value,
}

impl WalletCredential {
    /// Reads a credential from text: a JSON object (JSON-LD), a JSON string holding a JWT, or a
    /// compact JWT.
    pub fn parse(text: &str) -> Result<Self, CredentialError> {
        let t = text.trim();
        if t.starts_with('{') || t.starts_with('"') {
            let v: Value = serde_json::from_str(t)
                .map_err(|e| CredentialError::NotACredential(format!("invalid JSON: {e}")))?;
            Self::from_json(v)
        } else {
            Self::from_jwt(t)
        }
    }

    /// Reads a credential from a VP's `verifiableCredential` entry: a string (JWT) or an object.
    pub fn from_json(value: Value) -> Result<Self, CredentialError> {
        match value {
            Value::String(s) if s.trim_start().starts_with('{') => Self::parse(&s),
            Value::String(s) => Self::from_jwt(s.trim()),
            Value::Object(_) => Self::from_json_ld(value),
            _ => Err(CredentialError::NotACredential(
                "expected a JWT string or a JSON object".into(),
            )),
        }
    }

    /// Reads a compact JWT VC (the signature is not verified).
    pub fn from_jwt(jwt: &str) -> Result<Self, CredentialError> {
        let (header, claims, signature) = decode_jwt(jwt)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .map(str::to_string);
        let normalized = normalize_jwt(&claims)?;
        let mut c = Self::finish(
            RawCredential::Jwt(jwt.to_string()),
            CredentialFormat::JwtVc,
            normalized,
        )?;
        c.alg = alg;
        c.signed = !signature.is_empty();
        if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
            c.id = jti.to_string();
        }
        Ok(c)
    }

    /// Reads a JSON-LD VC (the proof is not verified).
    pub fn from_json_ld(value: Value) -> Result<Self, CredentialError> {
        let obj = value
            .as_object()
            .ok_or_else(|| CredentialError::NotACredential("expected a JSON object".into()))?;
        let normalized = normalize_fields(obj, false)?;
        let proof_types: Vec<String> = match obj.get("proof") {
            Some(Value::Array(ps)) => ps.iter().filter_map(proof_type).collect(),
            Some(p @ Value::Object(_)) => proof_type(p).into_iter().collect(),
            _ => Vec::new(),
        };
        let signed = match obj.get("proof") {
            Some(Value::Array(ps)) => !ps.is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        let mut c = Self::finish(
            RawCredential::JsonLd(value.clone()),
            CredentialFormat::LdpVc,
            normalized,
        )?;
        c.proof_types = proof_types;
        c.signed = signed;
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            c.id = id.to_string();
        }
        Ok(c)
    }

    fn finish(
        raw: RawCredential,
        format: CredentialFormat,
        normalized: Value,
    ) -> Result<Self, CredentialError> {
        let date = |k: &str| -> Option<i64> {
            normalized
                .get(k)
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
                .map(|t| t.unix)
        };
        let not_before = date("issuanceDate").filter(|t| *t > -62_135_596_800);
        let expires = date("expirationDate");
        let types = match normalized.get("type") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        Ok(WalletCredential {
            id: String::new(),
            raw,
            format,
            alg: None,
            proof_types: Vec::new(),
            signed: false,
            type_bloom: types.iter().fold(0, |acc, t| acc | type_bloom_bits(t)),
            types,
            not_before,
            expires,
            normalized,
        })
    }

    /// Replaces the id (e.g. the vault's row id or a file name).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Id: the `jti` (JWT) or `id` (JSON-LD) unless replaced; empty when the credential has none.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The original credential.
    pub fn raw(&self) -> &RawCredential {
        &self.raw
    }

    /// `jwt_vc` or `ldp_vc`.
    pub fn format(&self) -> CredentialFormat {
        self.format
    }

    /// JWS `alg` of a JWT VC.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// Proof types of a JSON-LD VC.
    pub fn proof_types(&self) -> &[String] {
        &self.proof_types
    }

    /// Whether there is a signature or proof at all (self-attested credentials have none).
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// Credential types, e.g. `["NutsOrganizationCredential", "VerifiableCredential"]`.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// Whether `type` contains `t`; `bloom` is [`type_bloom_bits`] of `t`. Checks an inline
    /// bloom filter before touching the heap, which keeps scans over large wallets cache-friendly.
    pub(crate) fn has_type(&self, t: &str, bloom: u64) -> bool {
        self.type_bloom & bloom == bloom && self.types.iter().any(|x| x == t)
    }

    /// The most specific type for display (first one that is not `VerifiableCredential`).
    pub fn display_type(&self) -> &str {
        self.types
            .iter()
            .find(|t| *t != "VerifiableCredential")
            .or(self.types.first())
            .map(String::as_str)
            .unwrap_or("credential")
    }

    /// Start of validity (Unix seconds), when the credential states one.
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// End of validity (Unix seconds), when the credential states one.
    pub fn expires(&self) -> Option<i64> {
        self.expires
    }

    /// The normalised JSON view that paths are evaluated on.
    pub fn normalized(&self) -> &Value {
        &self.normalized
    }

    /// Same credential content (Nuts compares the serialised credential).
    pub fn same_content(&self, other: &WalletCredential) -> bool {
        self.raw == other.raw
    }
}

/// Two bits of a 64-bit bloom filter for a type name (FNV-1a).
pub(crate) fn type_bloom_bits(t: &str) -> u64 {
    let h = t.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (1 << (h & 63)) | (1 << ((h >> 6) & 63))
}

fn proof_type(p: &Value) -> Option<String> {
    p.get("type").and_then(Value::as_str).map(str::to_string)
}

/// Decoded JOSE header, claims, and the (unchecked) signature part.
pub(crate) type JwtParts = (Map<String, Value>, Map<String, Value>, String);

/// Splits and decodes a compact JWS without verifying it.
pub(crate) fn decode_jwt(jwt: &str) -> Result<JwtParts, CredentialError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(CredentialError::MalformedJwt(format!(
            "expected 3 dot-separated parts, got {}",
            parts.len()
        )));
    }
    let decode = |part: &str, what: &str| -> Result<Map<String, Value>, CredentialError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|e| CredentialError::MalformedJwt(format!("{what} is not base64url: {e}")))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(CredentialError::MalformedJwt(format!(
                "{what} is not a JSON object"
            ))),
        }
    };
    Ok((
        decode(parts[0], "header")?,
        decode(parts[1], "payload")?,
        parts[2].to_string(),
    ))
}

fn member_err(member: &str, message: &str) -> CredentialError {
    CredentialError::Member {
        member: member.into(),
        message: message.into(),
    }
}

/// Reads a VC object the way a Nuts node reads it; `keep_arrays` selects the JWT (alias) view.
fn normalize_fields(obj: &Map<String, Value>, keep_arrays: bool) -> Result<Value, CredentialError> {
    let plural = |key: &str| -> Option<Vec<Value>> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(v) => Some(vec![v.clone()]),
        }
    };
    let shape = |items: Vec<Value>| -> Value {
        if !keep_arrays && items.len() == 1 {
            items.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        }
    };
    let mut out = Map::new();
    let context = plural("@context");
    if let Some(ctx) = &context {
        if ctx.iter().any(|c| !c.is_string()) {
            return Err(member_err(
                "@context",
                "Nuts only reads context URIs (strings)",
            ));
        }
    }
    out.insert(
        "@context".into(),
        context.map(Value::Array).unwrap_or(Value::Null),
    );
    match obj.get("id") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            out.insert("id".into(), Value::String(s.clone()));
        }
        Some(_) => return Err(member_err("id", "must be a string")),
    }
    let types = plural("type");
    if let Some(ts) = &types {
        if ts.iter().any(|t| !t.is_string()) {
            return Err(member_err("type", "must be strings"));
        }
    }
    out.insert("type".into(), types.map(shape).unwrap_or(Value::Null));
    match obj.get("issuer") {
        None | Some(Value::Null) => {
            out.insert("issuer".into(), Value::String(String::new()));
        }
        Some(Value::String(s)) => {
            out.insert("issuer".into(), Value::String(s.clone()));
        }
        Some(_) => {
            return Err(member_err(
                "issuer",
                "must be a string (Nuts cannot read issuer objects)",
            ));
        }
    }
    let date = |key: &str| -> Result<Option<String>, CredentialError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_rfc3339(s)
                .map(|t| Some(t.go_text))
                .ok_or_else(|| member_err(key, "is not an RFC 3339 date-time")),
            Some(_) => Err(member_err(key, "must be a string")),
        }
    };
    out.insert(
        "issuanceDate".into(),
        Value::String(date("issuanceDate")?.unwrap_or_else(|| GO_ZERO_TIME.to_string())),
    );
    if let Some(exp) = date("expirationDate")? {
        out.insert("expirationDate".into(), Value::String(exp));
    }
    if let Some(status) = plural("credentialStatus").filter(|s| !s.is_empty()) {
        out.insert("credentialStatus".into(), shape(status));
    }
    let subjects = plural("credentialSubject");
    if let Some(subs) = &subjects {
        if subs.iter().any(|s| !s.is_object()) {
            return Err(member_err("credentialSubject", "must be objects"));
        }
    }
    out.insert(
        "credentialSubject".into(),
        subjects.map(shape).unwrap_or(Value::Null),
    );
    if let Some(proof) = plural("proof").filter(|p| !p.is_empty()) {
        out.insert("proof".into(), shape(proof));
    }
    Ok(Value::Object(out))
}

fn normalize_jwt(claims: &Map<String, Value>) -> Result<Value, CredentialError> {
    let mut view = match claims.get("vc") {
        None | Some(Value::Null) => normalize_fields(&Map::new(), true)?,
        Some(Value::Object(vc)) => normalize_fields(vc, true)?,
        Some(_) => return Err(member_err("vc", "must be a JSON object")),
    };
    let Value::Object(out) = &mut view else {
        return Err(member_err("vc", "must be a JSON object"));
    };
    let numeric = |key: &str| -> Result<Option<i64>, CredentialError> {
        match claims.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
                .map(Some)
                .ok_or_else(|| member_err(key, "is not a NumericDate")),
            Some(_) => Err(member_err(key, "is not a NumericDate")),
        }
    };
    let string = |key: &str| -> Result<Option<String>, CredentialError> {
        match claims.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(member_err(key, "must be a string")),
        }
    };
    if let Some(exp) = numeric("exp")? {
        out.insert("expirationDate".into(), Value::String(format_unix(exp)));
    }
    if let Some(iss) = string("iss")? {
        out.insert("issuer".into(), Value::String(iss));
    }
    if let Some(nbf) = numeric("nbf")? {
        out.insert("issuanceDate".into(), Value::String(format_unix(nbf)));
    }
    if let Some(sub) = string("sub")?.filter(|s| !s.is_empty()) {
        if let Some(Value::Array(subjects)) = out.get_mut("credentialSubject") {
            for s in subjects.iter_mut() {
                if let Value::Object(m) = s {
                    m.insert("id".into(), Value::String(sub.clone()));
                }
            }
        }
    }
    if let Some(jti) = string("jti")? {
        out.insert("id".into(), Value::String(jti));
    }
    Ok(view)
}

/// Builds an unsigned compact JWT (`alg` in the header, empty signature unless given). For
/// tests, fixtures and benchmarks only: such a JWT proves nothing.
pub fn insecure_unsigned_jwt(alg: &str, claims: &Value, signature: &str) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(&serde_json::json!({"alg": alg, "typ": "JWT"})),
        enc(claims),
        signature
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_ld_view_collapses_and_drops() {
        let c = WalletCredential::from_json_ld(json!({
            "@context": "https://www.w3.org/2018/credentials/v1",
            "type": ["NutsOrganizationCredential"],
            "name": "dropped",
            "issuer": "did:web:x",
            "credentialSubject": [{"id": "did:web:x", "organization": {"name": "A", "city": "B"}}],
            "proof": {"type": "JsonWebSignature2020", "jws": "x"}
        }))
        .unwrap();
        let v = c.normalized();
        assert_eq!(
            v["@context"],
            json!(["https://www.w3.org/2018/credentials/v1"])
        );
        assert_eq!(v["type"], json!("NutsOrganizationCredential"));
        assert_eq!(v["credentialSubject"]["organization"]["city"], json!("B"));
        assert_eq!(v["issuanceDate"], json!(GO_ZERO_TIME));
        assert!(v.get("name").is_none());
        assert!(c.is_signed());
        assert_eq!(c.proof_types(), ["JsonWebSignature2020".to_string()]);
        assert!(c.not_before().is_none());
    }

    #[test]
    fn jwt_view_keeps_arrays_and_maps_claims() {
        let jwt = insecure_unsigned_jwt(
            "ES256",
            &json!({"iss": "did:web:org", "sub": "did:jwk:user", "jti": "did:web:org#1",
                    "nbf": 1712569012, "exp": 1712572612,
                    "vc": {"type": "NutsEmployeeCredential", "credentialSubject": {"name": "J"}}}),
            "sig",
        );
        let c = WalletCredential::from_jwt(&jwt).unwrap();
        let v = c.normalized();
        assert_eq!(v["type"], json!(["NutsEmployeeCredential"]));
        assert_eq!(
            v["credentialSubject"],
            json!([{"name": "J", "id": "did:jwk:user"}])
        );
        assert_eq!(v["issuer"], json!("did:web:org"));
        assert_eq!(v["issuanceDate"], json!("2024-04-08T09:36:52Z"));
        assert_eq!(v["expirationDate"], json!("2024-04-08T10:36:52Z"));
        assert_eq!(c.id(), "did:web:org#1");
        assert_eq!(c.alg(), Some("ES256"));
        assert!(c.is_signed());
        assert_eq!(c.expires(), Some(1_712_572_612));
    }

    #[test]
    fn refuses_what_nuts_cannot_read() {
        let e = WalletCredential::from_json_ld(json!({"issuer": {"id": "did:x"}})).unwrap_err();
        assert!(e.to_string().contains("issuer"));
        assert!(WalletCredential::parse("a.b").is_err());
        assert!(WalletCredential::parse("[1]").is_err());
    }
}
