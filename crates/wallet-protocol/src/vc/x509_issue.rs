//! Issuing an X509Credential from the organization's UZI server certificate
//! (docs/protocol.md §7.5), in the shape the Nuts node accepts: a JWT VC signed PS256 by the
//! certificate's key, `x5c` = the chain from the leaf up to its self-signed root (nothing
//! else: the node refuses extra certificates), issuer
//! `did:x509:0:sha256:<CA fingerprint>::san:otherName:<v>::subject:L:<v>:O:<v>` (one policy
//! per kind: the node keeps only the last policy of a kind when it checks the subject), and
//! `credentialSubject` `{id, san: {otherName}, subject: {L, O}}` as one object.
//!
//! The private key is only used for this one signature: [`CertificateKey`] is consumed by
//! [`issue_x509_credential`] and OpenSSL clears RSA private components when freeing them.

use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;
use openssl::x509::{X509VerifyResult, X509};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use x509_parser::oid_registry as oids;
use x509_parser::prelude::*;

use crate::did::{self, Did};
use crate::jose::{self, b64url};
use crate::signer::{SignError, Signer};
use crate::vc::contexts;

/// The credential type.
pub const X509_CREDENTIAL_TYPE: &str = "X509Credential";
/// OID of the otherName that carries the UZI identifiers (the Nuts node reads only this one).
pub const UZI_OTHER_NAME_OID: &str = "2.5.5.5";

/// Why no credential was issued. [`X509IssueError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum X509IssueError {
    /// The leaf has no UZI server otherName (`<oid>-<v>-<UZI nr>-S-<URA>-<role>-<AGB>`).
    #[error("not a UZI server certificate: {0}")]
    NotUziServer(String),
    /// A certificate of the chain is past its notAfter.
    #[error("the certificate {dn} expired at {at}")]
    Expired {
        /// Subject DN (RFC 4514).
        dn: String,
        /// notAfter (RFC 3339).
        at: String,
    },
    /// A certificate of the chain is before its notBefore.
    #[error("the certificate {dn} is not valid before {at}")]
    NotYetValid {
        /// Subject DN (RFC 4514).
        dn: String,
        /// notBefore (RFC 3339).
        at: String,
    },
    /// The chain does not lead from the leaf to a self-signed root.
    #[error("broken certificate chain: {0}")]
    BrokenChain(String),
    /// `--ca` names no CA certificate of the chain.
    #[error("the CA \"{wanted}\" is not in the certificate chain; its CA certificates are: {}", .candidates.join(" | "))]
    CaNotInChain {
        /// The DN asked for.
        wanted: String,
        /// The RFC 4514 DNs of the chain's CA certificates.
        candidates: Vec<String>,
    },
    /// The PKCS#12 file does not open with this password.
    #[error("wrong PKCS#12 password (or a damaged PKCS#12 file)")]
    WrongPassword,
    /// No certificate of the chain belongs to the private key.
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
    /// Not an RSA key of at least 2048 bits, or a key source not supported.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// Unreadable input (not PEM, not PKCS#12, no certificate, ...).
    #[error("{0}")]
    Invalid(String),
    /// The signature could not be made or the result does not verify.
    #[error("issuing failed: {0}")]
    Failed(String),
}

impl X509IssueError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotUziServer(_) => "not_uzi_server_certificate",
            Self::Expired { .. } => "certificate_expired",
            Self::NotYetValid { .. } => "certificate_not_yet_valid",
            Self::BrokenChain(_) => "broken_chain",
            Self::CaNotInChain { .. } => "ca_not_in_chain",
            Self::WrongPassword => "wrong_pkcs12_password",
            Self::KeyMismatch => "key_mismatch",
            Self::UnsupportedKey(_) => "unsupported_key",
            Self::Invalid(_) => "invalid_certificate_input",
            Self::Failed(_) => "issue_failed",
        }
    }
}

type Result<T> = std::result::Result<T, X509IssueError>;

fn invalid(msg: impl Into<String>) -> X509IssueError {
    X509IssueError::Invalid(msg.into())
}

/// The certificates as given (any order, extra ones allowed) and the leaf's private key.
pub struct CertificateKey {
    certs: Vec<X509>,
    key: KeyHolder,
}

/// Where the certificate's key signs.
enum KeyHolder {
    /// Read from the file, used once in this process.
    Software(PKey<Private>),
    /// Elsewhere (an HSM): its public half, and the PS256 signer.
    External {
        public: PKey<Public>,
        signer: Box<dyn Signer>,
    },
}

impl KeyHolder {
    fn public(&self) -> Result<PKey<Public>> {
        match self {
            Self::Software(k) => k
                .public_key_to_der()
                .and_then(|d| PKey::public_key_from_der(&d))
                .map_err(|_| invalid("the key cannot be read")),
            Self::External { public, .. } => Ok(public.clone()),
        }
    }
}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateKey")
            .field("certificates", &self.certs.len())
            .field("key", &"[redacted]")
            .finish()
    }
}

impl CertificateKey {
    /// From a PKCS#12 file (certificate, key and CA certificates).
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self> {
        let p12 = Pkcs12::from_der(der).map_err(|_| invalid("not a PKCS#12 file"))?;
        let parsed = p12
            .parse2(password)
            .map_err(|_| X509IssueError::WrongPassword)?;
        let key = parsed
            .pkey
            .ok_or_else(|| invalid("the PKCS#12 file holds no private key"))?;
        let mut certs: Vec<X509> = parsed.cert.into_iter().collect();
        if let Some(ca) = parsed.ca {
            certs.extend(ca);
        }
        if certs.is_empty() {
            return Err(invalid("the PKCS#12 file holds no certificate"));
        }
        Ok(Self {
            certs,
            key: KeyHolder::Software(key),
        })
    }

    /// From a PEM chain (leaf and CA certificates, any order) and an unencrypted PEM key
    /// (PKCS#8 or PKCS#1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let certs = X509::stack_from_pem(chain_pem)
            .map_err(|_| invalid("the chain file is not PEM certificates"))?;
        if certs.is_empty() {
            return Err(invalid("the chain file holds no certificate"));
        }
        if key_pem
            .windows(b"ENCRYPTED".len())
            .any(|w| w == b"ENCRYPTED")
        {
            return Err(invalid(
                "the key file is encrypted: give an unencrypted PEM key or a PKCS#12 file",
            ));
        }
        let key = PKey::private_key_from_pem(key_pem)
            .map_err(|_| invalid("the key file is not a PEM private key"))?;
        Ok(Self {
            certs,
            key: KeyHolder::Software(key),
        })
    }

    /// From a PEM chain and a key that signs elsewhere (an HSM through PKCS#11): `signer`
    /// makes PS256 signatures with the RSA key whose modulus and public exponent
    /// (big-endian) are given.
    pub fn from_pem_with_signer(
        chain_pem: &[u8],
        modulus: &[u8],
        exponent: &[u8],
        signer: Box<dyn Signer>,
    ) -> Result<Self> {
        if signer.algorithm() != "PS256" {
            return Err(X509IssueError::UnsupportedKey(format!(
                "the key signs {}, not PS256",
                signer.algorithm()
            )));
        }
        let certs = X509::stack_from_pem(chain_pem)
            .map_err(|_| invalid("the chain file is not PEM certificates"))?;
        if certs.is_empty() {
            return Err(invalid("the chain file holds no certificate"));
        }
        let rsa = openssl::rsa::Rsa::from_public_components(
            openssl::bn::BigNum::from_slice(modulus).map_err(|_| invalid("bad modulus"))?,
            openssl::bn::BigNum::from_slice(exponent).map_err(|_| invalid("bad exponent"))?,
        )
        .map_err(|_| invalid("the key's public half cannot be read"))?;
        let public =
            PKey::from_rsa(rsa).map_err(|_| invalid("the key's public half cannot be read"))?;
        Ok(Self {
            certs,
            key: KeyHolder::External { public, signer },
        })
    }

    /// The subject DNs (RFC 4514) of the CA certificates on the path from the key's
    /// certificate up to its root, the issuing CA first: the choices for the DID's CA.
    pub fn authorities(&self) -> Result<Vec<String>> {
        let path = build_path(&self.certs, &self.key.public()?)?;
        Ok(path.iter().skip(1).map(dn_of).collect())
    }

    /// Adds CA certificates from PEM (e.g. the UZI CA chain next to a PKCS#12 file that holds
    /// only the server certificate). Certificates off the path are ignored later.
    pub fn add_certificates_pem(&mut self, pem: &[u8]) -> Result<()> {
        let more = X509::stack_from_pem(pem)
            .map_err(|_| invalid("the chain file is not PEM certificates"))?;
        if more.is_empty() {
            return Err(invalid("the chain file holds no certificate"));
        }
        self.certs.extend(more);
        Ok(())
    }
}

/// What the administrator asks for.
#[derive(Debug, Clone)]
pub struct X509CredentialRequest<'a> {
    /// Subject DN of the CA whose fingerprint goes into the DID (RFC 4514; the X.500 order
    /// and spaces around separators are accepted too).
    pub ca_dn: &'a str,
    /// The organization's DID (`sub`, `credentialSubject.id`).
    pub subject: &'a Did,
    /// Now (Unix seconds): `nbf`/`iat`, and the validity check of the chain.
    pub now: i64,
}

/// An issued X509Credential and what it says.
#[derive(Debug, Clone)]
pub struct IssuedX509Credential {
    /// The compact JWT VC.
    pub jwt: String,
    /// The did:x509 issuer.
    pub issuer: Did,
    /// The JWT claims.
    pub claims: Map<String, Value>,
    /// The UZI otherName of the certificate.
    pub uzi_other_name: String,
    /// The URA (UZI register subscriber number) from the otherName.
    pub ura: String,
    /// Subject O.
    pub organization: String,
    /// Subject L, if the certificate has one.
    pub locality: Option<String>,
    /// RFC 4514 DN of the CA in the DID.
    pub ca_dn: String,
    /// base64url SHA-256 of that CA certificate's DER.
    pub ca_fingerprint: String,
    /// `nbf`.
    pub not_before: i64,
    /// `exp` (= the certificate's notAfter).
    pub expires: i64,
}

/// The parts of a UZI otherName value `<oid>-<version>-<UZI nr>-<card type>-<subscriber
/// nr (URA)>-<role>-<AGB>`; for server certificates the card type is `S`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UziName {
    /// The UZI register OID prefix, e.g. `2.16.528.1.1007.99.2110`.
    pub oid: String,
    /// Version.
    pub version: String,
    /// UZI number of the certificate.
    pub uzi_number: String,
    /// Card type (`S` server, `Z`/`N`/`M` personal cards).
    pub card_type: String,
    /// Subscriber number: the organization's URA.
    pub ura: String,
    /// Role code (`00.000` for servers).
    pub role: String,
    /// AGB code.
    pub agb: String,
}

/// Parses a UZI otherName value (any card type).
pub fn parse_uzi_name(value: &str) -> Option<UziName> {
    let p: Vec<&str> = value.split('-').collect();
    let [oid, version, uzi, card, ura, role, agb] = p.as_slice() else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let oid_ok = !oid.is_empty() && oid.split('.').all(digits);
    let role_ok = role
        .split_once('.')
        .is_some_and(|(a, b)| digits(a) && digits(b));
    let card_ok = card.len() == 1 && card.bytes().all(|b| b.is_ascii_uppercase());
    if !(oid_ok
        && digits(version)
        && digits(uzi)
        && card_ok
        && digits(ura)
        && role_ok
        && digits(agb))
    {
        return None;
    }
    Some(UziName {
        oid: (*oid).to_owned(),
        version: (*version).to_owned(),
        uzi_number: (*uzi).to_owned(),
        card_type: (*card).to_owned(),
        ura: (*ura).to_owned(),
        role: (*role).to_owned(),
        agb: (*agb).to_owned(),
    })
}

/// Percent-encodes a did:x509 policy value: everything but `A-Z a-z 0-9 - . _` as `%XX`
/// (UTF-8 bytes, upper-case hex), so that both path- and query-unescaping verifiers read it
/// back unchanged (`+` and `~` included).
pub fn pct_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The did:x509 of a UZI server certificate under the CA with DER `ca_der`.
pub fn uzi_did(
    ca_der: &[u8],
    other_name: &str,
    locality: Option<&str>,
    organization: &str,
) -> std::result::Result<Did, did::DidError> {
    let mut subject = String::new();
    if let Some(l) = locality {
        subject.push_str(&format!(":L:{}", pct_encode(l)));
    }
    subject.push_str(&format!(":O:{}", pct_encode(organization)));
    Did::parse(&format!(
        "did:x509:0:sha256:{}::san:otherName:{}::subject{subject}",
        did::x509::ca_fingerprint_sha256(ca_der),
        pct_encode(other_name)
    ))
}

fn attr_name(oid: &x509_parser::der_parser::Oid<'_>) -> String {
    let known = [
        (oids::OID_X509_COMMON_NAME, "CN"),
        (oids::OID_X509_LOCALITY_NAME, "L"),
        (oids::OID_X509_STATE_OR_PROVINCE_NAME, "ST"),
        (oids::OID_X509_ORGANIZATION_NAME, "O"),
        (oids::OID_X509_ORGANIZATIONAL_UNIT, "OU"),
        (oids::OID_X509_COUNTRY_NAME, "C"),
        (oids::OID_X509_STREET_ADDRESS, "STREET"),
        (oids::OID_X509_SERIALNUMBER, "SERIALNUMBER"),
        (oids::OID_DOMAIN_COMPONENT, "DC"),
    ];
    known
        .iter()
        .find(|(o, _)| o == oid)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_else(|| oid.to_id_string())
}

fn escape_dn_value(v: &str) -> String {
    let mut out = String::new();
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The RDNs of a name as `TYPE=value` groups in certificate (X.500) order.
fn dn_parts(name: &X509Name<'_>) -> Vec<String> {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let value = match atv.as_str() {
                        Ok(s) => escape_dn_value(s),
                        Err(_) => format!("#{}", hex(atv.attr_value().data)),
                    };
                    format!("{}={value}", attr_name(atv.attr_type()))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A subject or issuer name as RFC 4514 prints it (last RDN first, `,` between them).
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let mut parts = dn_parts(name);
    parts.reverse();
    parts.join(",")
}

/// Splits a DN string at unescaped `sep`, trimming the pieces and upper-casing attribute types.
fn normalize_dn(dn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' || c == ';' {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| {
            p.split('+')
                .map(|atv| match atv.split_once('=') {
                    Some((t, v)) => {
                        let t = t.trim().to_ascii_uppercase();
                        let t = if t == "2.5.4.5" {
                            "SERIALNUMBER".into()
                        } else {
                            t
                        };
                        format!("{t}={}", v.trim())
                    }
                    None => atv.trim().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether `wanted` names `name` (RFC 4514, or X.500 order as `openssl x509 -subject` prints).
fn dn_matches(wanted: &str, name: &X509Name<'_>) -> bool {
    let want = normalize_dn(wanted);
    let forward = normalize_dn(&dn_parts(name).join(","));
    let mut reverse = forward.clone();
    reverse.reverse();
    !want.is_empty() && (want == reverse || want == forward)
}

/// The UZI otherName (OID 2.5.5.5) values of a certificate.
fn uzi_other_names(cert: &X509Certificate<'_>) -> Result<Vec<String>> {
    let san = cert
        .subject_alternative_name()
        .map_err(|_| invalid("the certificate's subjectAltName is malformed"))?;
    let Some(san) = san else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for g in &san.value.general_names {
        if let GeneralName::OtherName(oid, raw) = g {
            if oid.to_id_string() == UZI_OTHER_NAME_OID {
                if let Some(v) = crate::did::x509::other_name_string(raw) {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn single_attr(
    cert: &X509Certificate<'_>,
    oid: &x509_parser::der_parser::Oid<'_>,
    name: &str,
) -> Result<Option<String>> {
    let values: Vec<&str> = cert
        .subject()
        .iter_by_oid(oid)
        .map(|a| {
            a.as_str()
                .map_err(|_| invalid(format!("subject {name} is not a string")))
        })
        .collect::<Result<_>>()?;
    match values.as_slice() {
        [] => Ok(None),
        [v] => Ok(Some((*v).to_owned())),
        _ => Err(X509IssueError::NotUziServer(format!(
            "the subject has several {name} values"
        ))),
    }
}

fn signed_by(cert: &X509, issuer: &X509) -> bool {
    issuer
        .public_key()
        .ok()
        .and_then(|k| cert.verify(&k).ok())
        .unwrap_or(false)
}

fn self_signed(cert: &X509) -> bool {
    cert.issued(cert) == X509VerifyResult::OK && signed_by(cert, cert)
}

fn dn_of(cert: &X509) -> String {
    cert.to_der()
        .ok()
        .and_then(|d| {
            X509Certificate::from_der(&d)
                .ok()
                .map(|(_, x)| rfc4514(x.subject()))
        })
        .unwrap_or_default()
}

/// Orders the certificates as the path leaf → … → self-signed root, starting from the one
/// that belongs to the key. Certificates not on the path are dropped; where several could
/// issue a certificate, one whose signature verifies is taken, a self-signed one first.
fn build_path(certs: &[X509], key: &PKey<Public>) -> Result<Vec<X509>> {
    let leaf = certs
        .iter()
        .find(|c| c.public_key().is_ok_and(|p| p.public_eq(key)))
        .ok_or(X509IssueError::KeyMismatch)?;
    let mut path = vec![leaf.clone()];
    loop {
        let cur = path.last().expect("non-empty");
        if self_signed(cur) {
            return Ok(path);
        }
        if path.len() > certs.len() {
            return Err(X509IssueError::BrokenChain("the chain has a loop".into()));
        }
        let candidates: Vec<&X509> = certs
            .iter()
            .filter(|c| {
                c.issued(cur) == X509VerifyResult::OK
                    && !path.iter().any(|p| p.to_der().ok() == c.to_der().ok())
            })
            .collect();
        let issuer = candidates
            .iter()
            .copied()
            .filter(|c| signed_by(cur, c))
            .max_by_key(|c| self_signed(c));
        match (issuer, candidates.first()) {
            (Some(issuer), _) => path.push(issuer.clone()),
            (None, Some(named)) => {
                return Err(X509IssueError::BrokenChain(format!(
                    "{} is not signed by {}",
                    dn_of(cur),
                    dn_of(named)
                )))
            }
            (None, None) => {
                return Err(X509IssueError::BrokenChain(format!(
                    "the issuer of {} is not in the chain (the chain must run from the certificate up to its root CA)",
                    dn_of(cur)
                )))
            }
        }
    }
}

/// The PS256 signature of the certificate's key, with the DID URL as `kid`.
struct CertSigner {
    kid: String,
    key: KeyHolder,
}

impl Signer for CertSigner {
    fn algorithm(&self) -> &str {
        "PS256"
    }
    fn key_id(&self) -> &str {
        &self.kid
    }
    fn public_jwk(&self) -> Map<String, Value> {
        Map::new()
    }
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, SignError> {
        let key = match &self.key {
            KeyHolder::Software(k) => k,
            KeyHolder::External { signer, .. } => return signer.sign(message),
        };
        let crypto = |e: openssl::error::ErrorStack| SignError::Crypto(e.to_string());
        let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), key).map_err(crypto)?;
        s.set_rsa_padding(Padding::PKCS1_PSS).map_err(crypto)?;
        s.set_rsa_mgf1_md(MessageDigest::sha256()).map_err(crypto)?;
        s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
            .map_err(crypto)?;
        s.update(message).map_err(crypto)?;
        s.sign_to_vec().map_err(crypto)
    }
}

/// Issues the X509Credential (see the module docs). Checks first: the key belongs to a
/// certificate of the chain, the chain leads from it to a self-signed root with every
/// signature verifying and every certificate valid at `now`, the CA named by `ca_dn` is a CA
/// on that path, and the leaf is a UZI server certificate with exactly one subject O.
pub fn issue_x509_credential(
    material: CertificateKey,
    req: &X509CredentialRequest<'_>,
) -> Result<IssuedX509Credential> {
    let CertificateKey { certs, key } = material;
    let public = key.public()?;
    let path = build_path(&certs, &public)?;
    let ders: Vec<Vec<u8>> = path
        .iter()
        .map(|c| {
            c.to_der()
                .map_err(|_| invalid("a certificate cannot be encoded"))
        })
        .collect::<Result<_>>()?;
    let parsed: Vec<X509Certificate<'_>> = ders
        .iter()
        .map(|d| {
            X509Certificate::from_der(d)
                .map(|(_, c)| c)
                .map_err(|_| invalid("a certificate of the chain cannot be parsed"))
        })
        .collect::<Result<_>>()?;
    let at = ASN1Time::from_timestamp(req.now).map_err(|_| invalid("invalid time"))?;
    for c in &parsed {
        let v = c.validity();
        let dn = rfc4514(c.subject());
        if v.not_after < at {
            return Err(X509IssueError::Expired {
                dn,
                at: crate::clock::format_rfc3339(v.not_after.timestamp()),
            });
        }
        if v.not_before > at {
            return Err(X509IssueError::NotYetValid {
                dn,
                at: crate::clock::format_rfc3339(v.not_before.timestamp()),
            });
        }
    }
    for (i, c) in parsed.iter().enumerate().skip(1) {
        if !c.is_ca() {
            return Err(X509IssueError::BrokenChain(format!(
                "certificate {i} ({}) issues others but is not a CA",
                rfc4514(c.subject())
            )));
        }
    }
    let ca_index = (1..parsed.len())
        .find(|i| dn_matches(req.ca_dn, parsed[*i].subject()))
        .ok_or_else(|| X509IssueError::CaNotInChain {
            wanted: req.ca_dn.to_owned(),
            candidates: parsed[1..].iter().map(|c| rfc4514(c.subject())).collect(),
        })?;

    let leaf = &parsed[0];
    if leaf.is_ca() {
        return Err(X509IssueError::NotUziServer(
            "the certificate of the key is a CA certificate".into(),
        ));
    }
    let names = uzi_other_names(leaf)?;
    let servers: Vec<(String, UziName)> = names
        .iter()
        .filter_map(|n| parse_uzi_name(n).map(|u| (n.clone(), u)))
        .collect();
    let (other_name, uzi) = match servers.as_slice() {
        [one] if one.1.card_type == "S" => one.clone(),
        [one] => {
            return Err(X509IssueError::NotUziServer(format!(
                "its UZI card type is {}, not S (server)",
                one.1.card_type
            )))
        }
        [] => {
            return Err(X509IssueError::NotUziServer(
                "it has no UZI otherName (OID 2.5.5.5) in its subjectAltName".into(),
            ))
        }
        _ => {
            return Err(X509IssueError::NotUziServer(
                "it has several UZI otherNames".into(),
            ))
        }
    };
    if let Ok(Some(ku)) = leaf.key_usage() {
        if !ku.value.digital_signature() {
            return Err(X509IssueError::UnsupportedKey(
                "the certificate's key usage does not allow digital signatures".into(),
            ));
        }
    }
    let organization = single_attr(leaf, &oids::OID_X509_ORGANIZATION_NAME, "O")?
        .ok_or_else(|| X509IssueError::NotUziServer("the subject has no O".into()))?;
    let locality = single_attr(leaf, &oids::OID_X509_LOCALITY_NAME, "L")?;

    let rsa = public.rsa().map_err(|_| {
        X509IssueError::UnsupportedKey("only RSA keys are supported (PS256)".into())
    })?;
    if rsa.size() * 8 < 2048 {
        return Err(X509IssueError::UnsupportedKey(
            "the RSA key is shorter than 2048 bits".into(),
        ));
    }
    drop(rsa);

    let issuer = uzi_did(
        &ders[ca_index],
        &other_name,
        locality.as_deref(),
        &organization,
    )
    .map_err(|e| invalid(format!("the DID cannot be built: {e}")))?;
    let kid = did::x509::key_id(&issuer);
    let not_before = req.now;
    let expires = leaf.validity().not_after.timestamp();
    let mut cert_subject = Map::new();
    if let Some(l) = &locality {
        cert_subject.insert("L".into(), json!(l));
    }
    cert_subject.insert("O".into(), json!(organization));
    let claims = json!({
        "iss": issuer.as_str(),
        "sub": req.subject.as_str(),
        "jti": format!("{issuer}#{}", uuid::Uuid::new_v4()),
        "nbf": not_before,
        "iat": not_before,
        "exp": expires,
        "vc": {
            "@context": [contexts::CREDENTIALS_V1],
            "type": ["VerifiableCredential", X509_CREDENTIAL_TYPE],
            "credentialSubject": {
                "id": req.subject.as_str(),
                "san": {"otherName": other_name},
                "subject": Value::Object(cert_subject),
            }
        }
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    let x5c: Vec<Value> = ders
        .iter()
        .map(|d| {
            use base64::Engine as _;
            json!(base64::engine::general_purpose::STANDARD.encode(d))
        })
        .collect();
    let mut header = Map::new();
    header.insert("x5c".into(), Value::Array(x5c));
    header.insert("x5t".into(), json!(b64url(&openssl::sha::sha1(&ders[0]))));
    header.insert("x5t#S256".into(), json!(b64url(&Sha256::digest(&ders[0]))));
    let signer = CertSigner {
        kid: kid.as_str().to_owned(),
        key,
    };
    let payload = serde_json::to_vec(&claims).map_err(|e| X509IssueError::Failed(e.to_string()))?;
    let jwt = jose::sign_compact(&signer, Some("JWT"), header, &payload)
        .map_err(|e| X509IssueError::Failed(e.to_string()))?;
    drop(signer);

    // The result must resolve and verify like any received one.
    let jws = jose::CompactJws::parse(&jwt).map_err(|e| X509IssueError::Failed(e.to_string()))?;
    let doc = did::x509::resolve_chain(&issuer, &jws.header_x5c(), req.now)
        .map_err(|e| X509IssueError::Failed(format!("the DID does not resolve: {e}")))?;
    let jwk = doc
        .document
        .assertion_key(&kid)
        .map_err(|e| X509IssueError::Failed(e.to_string()))?;
    jws.verify_with(&jwk)
        .map_err(|e| X509IssueError::Failed(format!("the signature does not verify: {e}")))?;

    Ok(IssuedX509Credential {
        jwt,
        issuer,
        claims,
        ura: uzi.ura,
        uzi_other_name: other_name,
        organization,
        locality,
        ca_dn: rfc4514(parsed[ca_index].subject()),
        ca_fingerprint: did::x509::ca_fingerprint_sha256(&ders[ca_index]),
        not_before,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uzi_name_parts() {
        let u = parse_uzi_name("2.16.528.1.1007.99.2110-1-900030787-S-90000380-00.000-11223344")
            .unwrap();
        assert_eq!(u.ura, "90000380");
        assert_eq!(u.uzi_number, "900030787");
        assert_eq!(u.card_type, "S");
        assert_eq!(u.agb, "11223344");
        for bad in [
            "2.16.528.1.1007.99.2110-1-900030787-S-90000380-00.000",
            "2.16.528.1.1007.99.2110-1-900030787-S-9000x380-00.000-1",
            "-1-900030787-S-90000380-00.000-1",
            "2.16.528.1.1007.99.2110-1-900030787-SS-90000380-00.000-1",
            "2.16.528.1.1007.99.2110-1-900030787-S-90000380-00000-1",
        ] {
            assert!(parse_uzi_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn percent_encoding_leaves_only_unreserved() {
        assert_eq!(
            pct_encode("Zorg & Co+~ B.V."),
            "Zorg%20%26%20Co%2B%7E%20B.V."
        );
        assert_eq!(pct_encode("’s-Hertogenbosch"), "%E2%80%99s-Hertogenbosch");
        assert_eq!(pct_encode("a:b"), "a%3Ab");
    }

    #[test]
    fn dn_normalization() {
        assert_eq!(
            normalize_dn("CN=Root CA, O=Test\\, Inc.,C=NL"),
            vec!["CN=Root CA", "O=Test\\, Inc.", "C=NL"]
        );
        assert_eq!(normalize_dn("cn = x"), vec!["CN=x"]);
    }

    #[test]
    fn other_name_values() {
        assert_eq!(
            crate::did::x509::other_name_string(&[0xa0, 0x05, 0x16, 0x03, b'a', b'-', b'1'])
                .as_deref(),
            Some("a-1")
        );
        assert_eq!(
            crate::did::x509::other_name_string(&[0x16, 0x01, b'x']).as_deref(),
            Some("x")
        );
        assert_eq!(
            crate::did::x509::other_name_string(&[0x02, 0x01, 0x01]),
            None
        );
    }
}
