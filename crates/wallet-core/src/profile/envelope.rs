//! The profile's envelope: the enrollment secret, sealing (sign, then encrypt) and opening
//! (decrypt, then verify against the pinned organization DID).

use std::path::PathBuf;

use serde_json::Value;
use url::Url;
use wallet_protocol::did::{Did, DidResolver, DidUrl};
use wallet_protocol::jose::{self, CompactJws};
use wallet_protocol::net::HttpRequest;
use wallet_protocol::signer::Signer;
use zeroize::Zeroizing;

use super::model::OrgProfile;
use super::{ProfileError, Result, MAX_PROFILE_BYTES, PROFILE_JWE_TYP, PROFILE_JWS_TYP};
use crate::runtime::Network;

/// Clock skew tolerated on `iat`.
const IAT_SKEW_SECS: i64 = 300;

/// The organization's enrollment secret: workstations get it with their enrollment; the
/// profile's encryption key is derived from it. `nwe_` and 32 random bytes, base64url.
pub struct EnrollmentSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for EnrollmentSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrollmentSecret([redacted])")
    }
}

const SECRET_PREFIX: &str = "nwe_";

impl EnrollmentSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        EnrollmentSecret(wallet_protocol::random::random_bytes(32))
    }

    /// Parses the text form; a clear error for anything else (never echoing the input).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            ProfileError::InvalidInput(
                "the enrollment secret is not valid: it starts with nwe_ and is given by your \
                 organization's administrator (`nuts-wallet profile secret`)"
                    .into(),
            )
        };
        let body = text.trim().strip_prefix(SECRET_PREFIX).ok_or_else(bad)?;
        let bytes = Zeroizing::new(jose::b64url_decode(body).map_err(|_| bad())?);
        if bytes.len() != 32 {
            return Err(bad());
        }
        Ok(EnrollmentSecret(bytes))
    }

    /// The text form (for the administrator to hand out).
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{SECRET_PREFIX}{}", jose::b64url(&self.0)))
    }

    /// The profile encryption key: SHA-256 over a fixed label and the secret (the secret is
    /// 256 random bits, so no stretching is needed; the label keeps this key apart from any
    /// other use of the secret).
    fn key(&self) -> Zeroizing<[u8; 32]> {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"nuts-wallet/profile-key/v1\0");
        h.update(&self.0[..]);
        Zeroizing::new(h.finalize().into())
    }
}

/// Where a profile is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// A file (e.g. on a network share).
    File(PathBuf),
    /// An intranet HTTPS URL (fetched with the wallet's network guards).
    Url(Url),
}

impl ProfileSource {
    /// `https://...` is a URL; anything else a file path.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.starts_with("https://") || s.starts_with("http://") {
            let u = Url::parse(s)
                .map_err(|e| ProfileError::InvalidInput(format!("profile URL: {e}")))?;
            if u.scheme() != "https" {
                return Err(ProfileError::InvalidInput(
                    "the profile URL must use https".into(),
                ));
            }
            Ok(ProfileSource::Url(u))
        } else if s.is_empty() {
            Err(ProfileError::InvalidInput(
                "no profile location given".into(),
            ))
        } else {
            Ok(ProfileSource::File(PathBuf::from(s)))
        }
    }

    /// The text form.
    pub fn as_string(&self) -> String {
        match self {
            ProfileSource::File(p) => p.display().to_string(),
            ProfileSource::Url(u) => u.to_string(),
        }
    }

    /// Reads the profile (capped in size; HTTPS with the network policy's guards).
    pub(super) async fn fetch(&self, net: &Network) -> Result<String> {
        let unreachable = |detail: String| ProfileError::Unreachable {
            source_name: self.as_string(),
            detail,
        };
        let bytes = match self {
            ProfileSource::File(p) => {
                let meta = std::fs::metadata(p).map_err(|e| unreachable(e.to_string()))?;
                if meta.len() > MAX_PROFILE_BYTES as u64 {
                    return Err(unreachable("the file is too large to be a profile".into()));
                }
                std::fs::read(p).map_err(|e| unreachable(e.to_string()))?
            }
            ProfileSource::Url(u) => {
                net.policy
                    .check_url(u)
                    .map_err(|e| unreachable(e.to_string()))?;
                let mut req = HttpRequest::get(u.clone(), "application/jose, */*");
                req.max_body_bytes = MAX_PROFILE_BYTES;
                let resp = net
                    .http
                    .execute(req)
                    .await
                    .map_err(|e| unreachable(e.to_string()))?;
                if resp.status != 200 {
                    return Err(unreachable(format!("HTTP status {}", resp.status)));
                }
                resp.body
            }
        };
        String::from_utf8(bytes).map_err(|_| unreachable("the file is not text".into()))
    }
}

/// Signs `profile` with the organization signer and encrypts it for `secret`.
pub(super) fn seal(
    signer: &dyn Signer,
    profile: &OrgProfile,
    secret: &EnrollmentSecret,
) -> Result<String> {
    let payload = Zeroizing::new(
        serde_json::to_vec(profile).map_err(|e| ProfileError::InvalidInput(e.to_string()))?,
    );
    let jws = Zeroizing::new(
        jose::sign_compact(signer, Some(PROFILE_JWS_TYP), Default::default(), &payload).map_err(
            |e| crate::org::IdentityError::protocol(format!("signing the profile: {e}")),
        )?,
    );
    wallet_protocol::jwe::seal_dir(&secret.key(), PROFILE_JWE_TYP, "JWT", jws.as_bytes())
        .map_err(|e| ProfileError::InvalidInput(e.to_string()))
}

/// A profile that decrypted and verified, with the digest of its signed form.
pub(super) struct Opened {
    pub profile: OrgProfile,
    pub digest: String,
}

/// Decrypts `text` with `secret` and verifies the signed profile against `org_did`'s DID
/// document: the key must be an assertion method of that DID, `iss` and the organization must
/// be that DID, the `typ` this wallet's, and `now` within `iat`..`exp`.
pub(super) async fn open(
    text: &str,
    secret: &EnrollmentSecret,
    org_did: &Did,
    resolver: &dyn DidResolver,
    now: i64,
) -> Result<Opened> {
    let (payload, _) = wallet_protocol::jwe::open_dir(&secret.key(), PROFILE_JWE_TYP, text)
        .map_err(|e| match e {
            wallet_protocol::jwe::JweError::Decrypt => ProfileError::Undecryptable(
                "the enrollment secret does not open it, or the file was changed".into(),
            ),
            other => ProfileError::Undecryptable(other.to_string()),
        })?;
    let signed = Zeroizing::new(
        String::from_utf8(payload)
            .map_err(|_| ProfileError::Refused("the signed profile is not text".into()))?,
    );
    let jws = CompactJws::parse(&signed)
        .map_err(|e| ProfileError::Refused(format!("not a signed profile: {e}")))?;
    if jws.header_str("typ") != Some(PROFILE_JWS_TYP) {
        return Err(ProfileError::Refused(format!(
            "its type is not {PROFILE_JWS_TYP}"
        )));
    }
    let kid = jws
        .header_str("kid")
        .and_then(|k| DidUrl::parse(k).ok())
        .ok_or_else(|| ProfileError::Refused("it names no signing key".into()))?;
    if kid.did() != *org_did {
        return Err(ProfileError::Refused(format!(
            "it is signed for {}, not for {org_did}",
            kid.did()
        )));
    }
    let doc = resolver
        .resolve(org_did)
        .await
        .map_err(|e| ProfileError::DidUnreachable(e.to_string()))?;
    let key = doc.assertion_key(&kid).map_err(|_| {
        ProfileError::Refused(format!(
            "it is signed with {kid}, a key {org_did}'s DID document does not list"
        ))
    })?;
    jws.verify_with(&key).map_err(|_| {
        ProfileError::Refused("its signature does not verify: the file was changed".into())
    })?;
    let claims = jws
        .claims()
        .map_err(|e| ProfileError::Refused(format!("unreadable content: {e}")))?;
    let profile: OrgProfile = serde_json::from_value(Value::Object(claims))
        .map_err(|e| ProfileError::Refused(format!("unreadable content: {e}")))?;
    if profile.iss != org_did.as_str() || profile.organization.did != org_did.as_str() {
        return Err(ProfileError::Refused(format!(
            "it describes {}, not {org_did}",
            profile.organization.did
        )));
    }
    if profile.version == 0 {
        return Err(ProfileError::Refused("it has no version".into()));
    }
    if profile.iat > now + IAT_SKEW_SECS {
        return Err(ProfileError::Refused("it was issued in the future".into()));
    }
    if profile.exp <= now {
        return Err(ProfileError::Refused(format!(
            "it expired at {}",
            wallet_protocol::clock::format_rfc3339(profile.exp)
        )));
    }
    use sha2::Digest;
    let digest = wallet_vault_hex(&sha2::Sha256::digest(signed.as_bytes()));
    Ok(Opened { profile, digest })
}

fn wallet_vault_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
