//! StatusList2021 revocation check. The status list credential is fetched through the
//! injected [`HttpClient`]; any failure to fetch, verify or decode it is a *soft* failure
//! reported as [`RevocationStatus::Unknown`] with a reason (Nuts does the same; the UI must
//! say so). Only a set bit in a verified list yields [`RevocationStatus::Revoked`].

use std::io::Read as _;

use serde_json::Value;
use url::Url;

use super::jwt::VerifyOptions;
use super::{normalize, verify_credential, Credential};
use crate::clock::Clock;
use crate::did::DidResolver;
use crate::jose::b64_lenient;
use crate::net::{HttpClient, HttpRequest, NetPolicy};

/// Largest status list credential fetched.
pub const MAX_STATUS_LIST_BYTES: usize = 512 * 1024;
/// Largest decompressed bitstring (16 Mbit).
pub const MAX_BITSTRING_BYTES: u64 = 2 * 1024 * 1024;

/// Result of a status check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    /// The credential has no `credentialStatus`.
    NoStatus,
    /// The list was checked and the bit is clear.
    Active,
    /// The list was checked and the bit is set (`statusPurpose` revocation).
    Revoked,
    /// The list was checked and the bit is set (`statusPurpose` suspension).
    Suspended,
    /// Could not be determined (offline, bad list, ...): soft failure.
    Unknown {
        /// Human-readable reason (no secrets).
        reason: String,
    },
}

pub(crate) fn unknown(reason: impl Into<String>) -> RevocationStatus {
    RevocationStatus::Unknown {
        reason: reason.into(),
    }
}

/// A parsed `StatusList2021Entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// URL of the status list credential.
    pub list_url: Url,
    /// Bit index.
    pub index: u64,
    /// `revocation` or `suspension`.
    pub purpose: String,
}

/// Reads the `credentialStatus` of a normalized credential. `Ok(None)` if absent.
pub fn status_entry(normalized: &Value) -> Result<Option<StatusEntry>, String> {
    let Some(status) = normalized.get("credentialStatus") else {
        return Ok(None);
    };
    let status = match status {
        Value::Array(a) if a.len() == 1 => &a[0],
        other => other,
    };
    let ty = status
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ty != "StatusList2021Entry" {
        return Err(format!("unsupported credentialStatus type '{ty}'"));
    }
    let url = status
        .get("statusListCredential")
        .and_then(Value::as_str)
        .and_then(|u| Url::parse(u).ok())
        .ok_or("statusListCredential is not a URL")?;
    let index = match status.get("statusListIndex") {
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map_err(|_| "statusListIndex is not a number")?,
        Some(Value::Number(n)) => n.as_u64().ok_or("statusListIndex is not a number")?,
        _ => return Err("statusListIndex missing".into()),
    };
    let purpose = status
        .get("statusPurpose")
        .and_then(Value::as_str)
        .unwrap_or("revocation")
        .to_owned();
    Ok(Some(StatusEntry {
        list_url: url,
        index,
        purpose,
    }))
}

/// Returns bit `index` of a base64(url) GZIP-compressed bitstring (MSB first).
pub fn bit_at(encoded_list: &str, index: u64) -> Result<bool, String> {
    let byte = usize::try_from(index / 8).map_err(|_| "index out of range")?;
    let bits = decode_bits(encoded_list)?;
    let b = *bits.get(byte).ok_or("statusListIndex beyond the list")?;
    Ok(b & (0x80 >> (index % 8)) != 0)
}

/// A fetched and verified status list credential: who issued it, its purpose, the
/// decompressed bitstring and until when it is valid (for caching).
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    /// Issuer DID of the list credential.
    pub issuer: String,
    /// `revocation` or `suspension`.
    pub purpose: String,
    /// The decompressed bitstring.
    bits: Vec<u8>,
    /// The list credential's `expirationDate`/`validUntil` (Unix s), if any.
    pub valid_until: Option<i64>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusList")
            .field("issuer", &self.issuer)
            .field("purpose", &self.purpose)
            .field("bytes", &self.bits.len())
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

impl StatusList {
    /// Bit `index` (MSB first).
    pub fn bit(&self, index: u64) -> Result<bool, String> {
        let byte = usize::try_from(index / 8).map_err(|_| "index out of range")?;
        let b = *self
            .bits
            .get(byte)
            .ok_or("statusListIndex beyond the list")?;
        Ok(b & (0x80 >> (index % 8)) != 0)
    }

    /// The status of `entry` (of a credential by `credential_issuer`) in this list.
    pub fn status_of(
        &self,
        entry: &StatusEntry,
        credential_issuer: Option<&str>,
    ) -> RevocationStatus {
        if Some(self.issuer.as_str()) != credential_issuer {
            return unknown("status list issued by another issuer");
        }
        if self.purpose != entry.purpose {
            return unknown("status purpose of list and entry differ");
        }
        match self.bit(entry.index) {
            Ok(false) => RevocationStatus::Active,
            Ok(true) if entry.purpose == "suspension" => RevocationStatus::Suspended,
            Ok(true) => RevocationStatus::Revoked,
            Err(e) => unknown(e),
        }
    }
}

fn decode_bits(encoded_list: &str) -> Result<Vec<u8>, String> {
    let compressed = b64_lenient(encoded_list).ok_or("encodedList is not base64")?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .take(MAX_BITSTRING_BYTES + 1)
        .read_to_end(&mut bits)
        .map_err(|_| "encodedList is not GZIP")?;
    if bits.len() as u64 > MAX_BITSTRING_BYTES {
        return Err("status list too large".into());
    }
    Ok(bits)
}

/// Fetches the status list credential at `url` (network policy, size cap) and verifies it
/// (proof by its issuer, validity window). Errors are reasons for
/// [`RevocationStatus::Unknown`].
pub async fn fetch_status_list(
    url: &Url,
    http: &dyn HttpClient,
    policy: &NetPolicy,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
) -> Result<StatusList, String> {
    policy
        .check_url(url)
        .map_err(|e| format!("status list URL refused: {e}"))?;
    let mut req = HttpRequest::get(
        url.clone(),
        "application/vc+ld+json, application/json, application/vc+jwt, application/jwt",
    );
    req.max_body_bytes = MAX_STATUS_LIST_BYTES;
    let resp = match http.execute(req).await {
        Ok(r) if r.status == 200 => r,
        Ok(r) => return Err(format!("status list fetch returned HTTP {}", r.status)),
        Err(e) => return Err(format!("status list unavailable: {e}")),
    };
    let text = String::from_utf8_lossy(&resp.body);
    let list =
        Credential::parse(&text).map_err(|e| format!("status list is not a credential: {e}"))?;
    let verified = verify_credential(&list, resolver, clock, &VerifyOptions::default())
        .await
        .map_err(|e| format!("status list credential did not verify: {e}"))?;
    let subject = match verified.normalized.get("credentialSubject") {
        Some(Value::Array(a)) => a.first().cloned().unwrap_or_default(),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let purpose = subject
        .get("statusPurpose")
        .and_then(Value::as_str)
        .unwrap_or("revocation")
        .to_owned();
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or("status list has no encodedList")?;
    Ok(StatusList {
        issuer: verified.issuer.to_string(),
        purpose,
        bits: decode_bits(encoded)?,
        valid_until: super::validity_info(&verified.normalized, clock.now_unix()).valid_until,
    })
}

/// Checks the StatusList2021 status of a verified credential (normalized JSON). The list
/// credential must verify, be issued by the same issuer and be within its validity window.
pub async fn check_status(
    normalized: &Value,
    http: &dyn HttpClient,
    policy: &NetPolicy,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
) -> RevocationStatus {
    let entry = match status_entry(normalized) {
        Ok(None) => return RevocationStatus::NoStatus,
        Ok(Some(e)) => e,
        Err(e) => return unknown(e),
    };
    match fetch_status_list(&entry.list_url, http, policy, resolver, clock).await {
        Ok(list) => list.status_of(&entry, normalize::issuer_id(normalized)),
        Err(reason) => RevocationStatus::Unknown { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write as _;

    pub(crate) fn encode_bits(bits: &[u8]) -> String {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bits).unwrap();
        crate::jose::b64url(&enc.finish().unwrap())
    }

    #[test]
    fn bit_order_is_msb_first() {
        let mut bits = vec![0u8; 16];
        bits[1] = 0b0100_0000; // index 9
        let enc = encode_bits(&bits);
        assert!(bit_at(&enc, 9).unwrap());
        assert!(!bit_at(&enc, 8).unwrap());
        assert!(!bit_at(&enc, 10).unwrap());
        assert!(bit_at(&enc, 16 * 8).is_err());
        assert!(bit_at("!!!", 0).is_err());
    }

    #[test]
    fn entry_parsing() {
        let vc = json!({"credentialStatus": {"type": "StatusList2021Entry", "statusPurpose": "revocation",
            "statusListIndex": "94567", "statusListCredential": "https://zorg.example/statuslist/1"}});
        let e = status_entry(&vc).unwrap().unwrap();
        assert_eq!(e.index, 94567);
        assert_eq!(e.list_url.as_str(), "https://zorg.example/statuslist/1");
        assert_eq!(status_entry(&json!({})).unwrap(), None);
        assert!(status_entry(&json!({"credentialStatus": {"type": "Other"}})).is_err());
    }
}
