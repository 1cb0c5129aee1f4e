//! `did:x509` (with Nuts' `san:otherName` extension, docs/protocol.md §7.5),
//! resolved from the `x5c` chain of a JWS header (leaf first, standard base64 DER).
//!
//! `did:x509:0:<sha256|sha384|sha512>:<b64url CA fingerprint>::<policy>:<value>...` with
//! policies `subject:<ATTR>:<value>[:<ATTR>:<value>...]` (C, CN, L, ST, O, OU, STREET),
//! `san:<email|dns|uri|otherName>:<value>` and `eku:<oid>`; values are percent-encoded.
//! The chain from the leaf up to the certificate with the fingerprint must be correctly
//! signed, currently valid, and every certificate above the leaf must be a CA; the leaf must
//! satisfy every policy. Revocation is a separate, networked step: [`check_revocation`]
//! fetches the CRLs named in the certificates' CRL distribution points (OCSP is not used).

use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_parser::oid_registry as oids;
use x509_parser::prelude::*;

use super::{Did, DidDocument, DidError, DidUrl};
use crate::jose::{b64_lenient, b64url, Jwk};

/// A parsed did:x509 policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Subject attributes that must all be present in the leaf subject.
    Subject(Vec<(String, String)>),
    /// A subject alternative name of the given type (`email`, `dns`, `uri`, `otherName`).
    San(String, String),
    /// An extended key usage OID.
    Eku(String),
}

/// A parsed did:x509.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidX509 {
    /// Hash algorithm of the fingerprint.
    pub hash: String,
    /// The CA fingerprint bytes.
    pub ca_fingerprint: Vec<u8>,
    /// Policies.
    pub policies: Vec<Policy>,
}

fn err(msg: impl Into<String>) -> DidError {
    DidError::X509(msg.into())
}

fn pct_decode(s: &str) -> Result<String, DidError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s
                .get(i + 1..i + 3)
                .ok_or_else(|| err("bad percent-encoding"))?;
            out.push(u8::from_str_radix(h, 16).map_err(|_| err("bad percent-encoding"))?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| err("policy value is not UTF-8"))
}

/// Parses a did:x509.
pub fn parse(did: &Did) -> Result<DidX509, DidError> {
    if did.method() != "x509" {
        return Err(DidError::UnsupportedMethod(did.method().to_owned()));
    }
    let mut parts = did.method_specific_id().split("::");
    let head = parts.next().unwrap_or_default();
    let h: Vec<&str> = head.split(':').collect();
    let [version, hash, fp] = h.as_slice() else {
        return Err(err("expected 0:<hash>:<fingerprint>"));
    };
    if *version != "0" {
        return Err(err(format!("unsupported did:x509 version {version}")));
    }
    let fp_len = match *hash {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        other => return Err(err(format!("unsupported hash {other}"))),
    };
    let ca_fingerprint = b64_lenient(fp).ok_or_else(|| err("fingerprint is not base64url"))?;
    if ca_fingerprint.len() != fp_len {
        return Err(err("fingerprint has the wrong length"));
    }
    let mut policies = Vec::new();
    for p in parts {
        let (name, value) = p
            .split_once(':')
            .ok_or_else(|| err("policy without value"))?;
        let items: Vec<&str> = value.split(':').collect();
        policies.push(match name {
            "subject" => {
                if items.len() % 2 != 0 || items.is_empty() {
                    return Err(err("subject policy needs key:value pairs"));
                }
                let pairs = items
                    .chunks(2)
                    .map(|c| Ok((c[0].to_owned(), pct_decode(c[1])?)))
                    .collect::<Result<Vec<_>, DidError>>()?;
                Policy::Subject(pairs)
            }
            "san" => {
                let [ty, v] = items.as_slice() else {
                    return Err(err("san policy needs type:value"));
                };
                if !matches!(*ty, "email" | "dns" | "uri" | "otherName") {
                    return Err(err(format!("unsupported san type {ty}")));
                }
                Policy::San((*ty).to_owned(), pct_decode(v)?)
            }
            "eku" => {
                let [oid] = items.as_slice() else {
                    return Err(err("eku policy needs one OID"));
                };
                Policy::Eku((*oid).to_owned())
            }
            other => return Err(err(format!("unsupported policy {other}"))),
        });
    }
    if policies.is_empty() {
        return Err(err("did:x509 needs at least one policy"));
    }
    Ok(DidX509 {
        hash: (*hash).to_owned(),
        ca_fingerprint,
        policies,
    })
}

fn subject_oid(attr: &str) -> Option<x509_parser::der_parser::Oid<'static>> {
    Some(match attr {
        "CN" => oids::OID_X509_COMMON_NAME,
        "C" => oids::OID_X509_COUNTRY_NAME,
        "L" => oids::OID_X509_LOCALITY_NAME,
        "ST" => oids::OID_X509_STATE_OR_PROVINCE_NAME,
        "O" => oids::OID_X509_ORGANIZATION_NAME,
        "OU" => oids::OID_X509_ORGANIZATIONAL_UNIT,
        "STREET" => oids::OID_X509_STREET_ADDRESS,
        _ => return None,
    })
}

/// Extracts the string inside an otherName value (`[0] EXPLICIT` around a string type), as
/// x509-parser gives it with or without the explicit tag. Also used when issuing.
pub(crate) fn other_name_string(mut der: &[u8]) -> Option<String> {
    for _ in 0..4 {
        let (&tag, rest) = der.split_first()?;
        let (&l0, mut rest) = rest.split_first()?;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7f);
            if n == 0 || n > 3 || rest.len() < n {
                return None;
            }
            let v = rest[..n]
                .iter()
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            rest = &rest[n..];
            v
        };
        let content = rest.get(..len)?;
        match tag {
            0x0c | 0x16 | 0x13 => return String::from_utf8(content.to_vec()).ok(),
            0xa0 => der = content,
            _ => return None,
        }
    }
    None
}

fn eku_oids(eku: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut out: Vec<String> = eku.other.iter().map(|o| o.to_id_string()).collect();
    for (flag, oid) in [
        (eku.any, "2.5.29.37.0"),
        (eku.server_auth, "1.3.6.1.5.5.7.3.1"),
        (eku.client_auth, "1.3.6.1.5.5.7.3.2"),
        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ] {
        if flag {
            out.push(oid.to_owned());
        }
    }
    out
}

fn check_policy(leaf: &X509Certificate<'_>, policy: &Policy) -> Result<(), DidError> {
    match policy {
        Policy::Subject(pairs) => {
            for (attr, want) in pairs {
                let oid = subject_oid(attr)
                    .ok_or_else(|| err(format!("unsupported subject attribute {attr}")))?;
                let found = leaf
                    .subject()
                    .iter_by_oid(&oid)
                    .any(|a| a.as_str().ok() == Some(want.as_str()));
                if !found {
                    return Err(err(format!("leaf subject {attr} does not match")));
                }
            }
            Ok(())
        }
        Policy::San(ty, want) => {
            let san = leaf
                .subject_alternative_name()
                .map_err(|_| err("invalid subjectAltName"))?
                .ok_or_else(|| err("leaf has no subjectAltName"))?;
            let ok = san
                .value
                .general_names
                .iter()
                .any(|g| match (ty.as_str(), g) {
                    ("email", GeneralName::RFC822Name(v))
                    | ("dns", GeneralName::DNSName(v))
                    | ("uri", GeneralName::URI(v)) => v == want,
                    ("otherName", GeneralName::OtherName(_, raw)) => {
                        other_name_string(raw).as_deref() == Some(want.as_str())
                    }
                    _ => false,
                });
            if ok {
                Ok(())
            } else {
                Err(err(format!("leaf subjectAltName {ty} does not match")))
            }
        }
        Policy::Eku(oid) => {
            let eku = leaf
                .extended_key_usage()
                .map_err(|_| err("invalid extendedKeyUsage"))?
                .ok_or_else(|| err("leaf has no extendedKeyUsage"))?;
            if eku_oids(eku.value).iter().any(|o| o == oid) {
                Ok(())
            } else {
                Err(err("leaf extendedKeyUsage does not match"))
            }
        }
    }
}

fn leaf_jwk(leaf: &X509Certificate<'_>) -> Result<Jwk, DidError> {
    let spki = leaf.public_key();
    let alg_oid = &spki.algorithm.algorithm;
    let value = if *alg_oid == oids::OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string())
            .unwrap_or_default();
        let (crv, n) = match curve.as_str() {
            "1.2.840.10045.3.1.7" => ("P-256", 32),
            "1.3.132.0.34" => ("P-384", 48),
            "1.3.132.0.35" => ("P-521", 66),
            _ => return Err(err("unsupported EC curve")),
        };
        let point = spki.subject_public_key.data.as_ref();
        if point.len() != 1 + 2 * n || point[0] != 4 {
            return Err(err("EC point is not uncompressed"));
        }
        json!({"kty": "EC", "crv": crv, "x": b64url(&point[1..=n]), "y": b64url(&point[1 + n..])})
    } else if *alg_oid == oids::OID_PKCS1_RSAENCRYPTION {
        match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                let strip = |b: &[u8]| {
                    let i = b
                        .iter()
                        .position(|x| *x != 0)
                        .unwrap_or(b.len().saturating_sub(1));
                    b[i..].to_vec()
                };
                json!({"kty": "RSA", "n": b64url(&strip(rsa.modulus)), "e": b64url(&strip(rsa.exponent))})
            }
            _ => return Err(err("invalid RSA key")),
        }
    } else if *alg_oid == oids::OID_SIG_ED25519 {
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(spki.subject_public_key.data.as_ref())})
    } else {
        return Err(err("unsupported leaf key type"));
    };
    Ok(Jwk::from_value(&value)?)
}

/// The outcome of resolving a did:x509 against a chain.
#[derive(Debug, Clone)]
pub struct X509Resolution {
    /// The generated DID document (key `<did>#0` in `assertionMethod`).
    pub document: DidDocument,
    /// Leaf `notAfter` (Unix seconds): credentials must not outlive it.
    pub leaf_not_after: i64,
    /// The parsed DID.
    pub parsed: DidX509,
}

/// Resolves `did` using `x5c` (leaf first): chain and policy validation at time `now`.
pub fn resolve_chain(did: &Did, x5c: &[String], now: i64) -> Result<X509Resolution, DidError> {
    let parsed = parse(did)?;
    if x5c.len() < 2 {
        return Err(err("x5c must hold the leaf and at least its CA"));
    }
    let ders: Vec<Vec<u8>> = x5c
        .iter()
        .map(|c| b64_lenient(c).ok_or_else(|| err("x5c entry is not base64")))
        .collect::<Result<_, _>>()?;
    let certs: Vec<X509Certificate<'_>> = ders
        .iter()
        .map(|d| {
            X509Certificate::from_der(d)
                .map(|(_, c)| c)
                .map_err(|_| err("x5c entry is not a certificate"))
        })
        .collect::<Result<_, _>>()?;
    let digest = |der: &[u8]| -> Vec<u8> {
        match parsed.hash.as_str() {
            "sha384" => Sha384::digest(der).to_vec(),
            "sha512" => Sha512::digest(der).to_vec(),
            _ => Sha256::digest(der).to_vec(),
        }
    };
    let anchor = (1..ders.len())
        .find(|i| digest(&ders[*i]) == parsed.ca_fingerprint)
        .ok_or_else(|| err("no CA certificate in x5c matches the DID fingerprint"))?;
    let at = ASN1Time::from_timestamp(now).map_err(|_| err("invalid time"))?;
    for i in 0..anchor {
        let (cert, issuer) = (&certs[i], &certs[i + 1]);
        if cert.issuer() != issuer.subject() {
            return Err(err(format!(
                "certificate {i} is not issued by certificate {}",
                i + 1
            )));
        }
        cert.verify_signature(Some(issuer.public_key()))
            .map_err(|_| err(format!("signature of certificate {i} does not verify")))?;
    }
    for (i, cert) in certs.iter().enumerate().take(anchor + 1) {
        if !cert.validity().is_valid_at(at) {
            return Err(err(format!("certificate {i} is not valid now")));
        }
        if i > 0 && !cert.is_ca() {
            return Err(err(format!("certificate {i} is not a CA")));
        }
    }
    let leaf = &certs[0];
    for p in &parsed.policies {
        check_policy(leaf, p)?;
    }
    let jwk = leaf_jwk(leaf)?;
    let kid = key_id(did);
    let document = DidDocument::new(
        did,
        json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
            "id": did.as_str(),
            "verificationMethod": [{"id": kid.as_str(), "type": "JsonWebKey2020", "controller": did.as_str(), "publicKeyJwk": jwk}],
            "assertionMethod": [kid.as_str()],
        }),
    )?;
    Ok(X509Resolution {
        document,
        leaf_not_after: leaf.validity().not_after.timestamp(),
        parsed,
    })
}

/// Resolves `did` from `x5c` and returns only the document.
pub fn resolve_with_x5c(did: &Did, x5c: &[String], now: i64) -> Result<DidDocument, DidError> {
    resolve_chain(did, x5c, now).map(|r| r.document)
}

/// The key id of a did:x509 key: `<did>#0`.
pub fn key_id(did: &Did) -> DidUrl {
    did.with_fragment("0")
}

/// The fingerprint part of a did:x509 for a CA certificate (DER): base64url(SHA-256).
pub fn ca_fingerprint_sha256(ca_der: &[u8]) -> String {
    b64url(&Sha256::digest(ca_der))
}

/// Nuts rule (docs/protocol.md §7.5): every `credentialSubject` field (besides `id`) must be
/// backed by a policy of the issuer DID, in the Nuts shape `{"subject": {"O": ..}, "san": {"otherName": ..}}`.
pub fn check_credential_subject(parsed: &DidX509, subject: &Value) -> Result<(), DidError> {
    let obj = subject
        .as_object()
        .ok_or_else(|| err("credentialSubject is not an object"))?;
    for (group, value) in obj {
        if group == "id" {
            continue;
        }
        let fields = value
            .as_object()
            .ok_or_else(|| err(format!("credentialSubject.{group} is not an object")))?;
        for (k, v) in fields {
            let v = v
                .as_str()
                .ok_or_else(|| err("credentialSubject values must be strings"))?;
            let backed = parsed.policies.iter().any(|p| match (group.as_str(), p) {
                ("subject", Policy::Subject(pairs)) => pairs.iter().any(|(a, b)| a == k && b == v),
                ("san", Policy::San(t, b)) => t == k && b == v,
                _ => false,
            });
            if !backed {
                return Err(err(format!(
                    "credentialSubject.{group}.{k} is not in the DID policies"
                )));
            }
        }
    }
    Ok(())
}

/// CRL distribution point URLs (`http`/`https`) of a certificate.
fn crl_urls(cert: &X509Certificate<'_>) -> Vec<url::Url> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for p in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                    for n in names {
                        if let GeneralName::URI(u) = n {
                            if let Ok(u) = url::Url::parse(u) {
                                if matches!(u.scheme(), "http" | "https") {
                                    out.push(u);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Checks `cert` against a DER CRL that must be issued and signed by `issuer` and current
/// at `now`. Returns whether the certificate's serial is listed.
pub fn check_crl(
    cert_der: &[u8],
    issuer_der: &[u8],
    crl_der: &[u8],
    now: i64,
) -> Result<bool, String> {
    let (_, cert) = X509Certificate::from_der(cert_der).map_err(|_| "invalid certificate")?;
    let (_, issuer) =
        X509Certificate::from_der(issuer_der).map_err(|_| "invalid issuer certificate")?;
    let (_, crl) = CertificateRevocationList::from_der(crl_der).map_err(|_| "not a DER CRL")?;
    if crl.issuer() != issuer.subject() || cert.issuer() != issuer.subject() {
        return Err("CRL is not issued by the certificate's issuer".into());
    }
    crl.verify_signature(issuer.public_key())
        .map_err(|_| "CRL signature does not verify")?;
    if crl.last_update().timestamp() > now {
        return Err("CRL is not yet valid".into());
    }
    if crl.next_update().is_some_and(|n| n.timestamp() < now) {
        return Err("CRL is outdated".into());
    }
    let revoked = crl
        .iter_revoked_certificates()
        .any(|r| r.raw_serial() == cert.raw_serial());
    Ok(revoked)
}

/// Revocation status of the chain behind a did:x509 (every certificate below the CA that
/// the DID pins), from the CRLs in the certificates' distribution points. CRLs are signed,
/// so plain `http` URLs are fetched (the address checks of `policy` still apply). Any
/// failure gives `Unknown` with a reason; only a listed serial gives `Revoked`.
pub async fn check_revocation(
    did: &Did,
    x5c: &[String],
    http: &dyn crate::net::HttpClient,
    policy: &crate::net::NetPolicy,
    now: i64,
) -> crate::vc::status::RevocationStatus {
    use crate::vc::status::RevocationStatus;
    let unknown = |r: String| RevocationStatus::Unknown { reason: r };
    let parsed = match parse(did) {
        Ok(p) => p,
        Err(e) => return unknown(e.to_string()),
    };
    let ders: Vec<Vec<u8>> = match x5c.iter().map(|c| b64_lenient(c).ok_or(())).collect() {
        Ok(d) => d,
        Err(()) => return unknown("x5c entry is not base64".into()),
    };
    let digest = |der: &[u8]| -> Vec<u8> {
        match parsed.hash.as_str() {
            "sha384" => Sha384::digest(der).to_vec(),
            "sha512" => Sha512::digest(der).to_vec(),
            _ => Sha256::digest(der).to_vec(),
        }
    };
    let Some(anchor) = (1..ders.len()).find(|i| digest(&ders[*i]) == parsed.ca_fingerprint) else {
        return unknown("no CA certificate in x5c matches the DID fingerprint".into());
    };
    for i in 0..anchor {
        let urls = match X509Certificate::from_der(&ders[i]) {
            Ok((_, c)) => crl_urls(&c),
            Err(_) => return unknown(format!("certificate {i} is invalid")),
        };
        let Some(url) = urls.into_iter().next() else {
            return unknown(format!("certificate {i} has no CRL distribution point"));
        };
        if let Err(e) = policy.check_url_with(&url, true) {
            return unknown(format!("CRL URL refused: {e}"));
        }
        let mut req = crate::net::HttpRequest::get(url, "application/pkix-crl");
        req.allow_plain_http = true;
        req.max_body_bytes = 8 * 1024 * 1024;
        let crl = match http.execute(req).await {
            Ok(r) if r.status == 200 => r.body,
            Ok(r) => return unknown(format!("CRL fetch returned HTTP {}", r.status)),
            Err(e) => return unknown(format!("CRL unavailable: {e}")),
        };
        match check_crl(&ders[i], &ders[i + 1], &crl, now) {
            Ok(true) => return RevocationStatus::Revoked,
            Ok(false) => {}
            Err(e) => return unknown(format!("certificate {i}: {e}")),
        }
    }
    RevocationStatus::Active
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nuts_style_did() {
        let fp = b64url(&[7u8; 32]);
        let did = Did::parse(&format!(
            "did:x509:0:sha256:{fp}::subject:O:Zorg%20B.V.::subject:L:Utrecht::san:otherName:2.16.528.1.1007.99.2110-1-1-S-2-00.000-3"
        ))
        .unwrap();
        let p = parse(&did).unwrap();
        assert_eq!(p.ca_fingerprint, vec![7u8; 32]);
        assert_eq!(
            p.policies,
            vec![
                Policy::Subject(vec![("O".into(), "Zorg B.V.".into())]),
                Policy::Subject(vec![("L".into(), "Utrecht".into())]),
                Policy::San(
                    "otherName".into(),
                    "2.16.528.1.1007.99.2110-1-1-S-2-00.000-3".into()
                ),
            ]
        );
        for bad in [
            format!("did:x509:1:sha256:{fp}::subject:O:a"),
            format!("did:x509:0:md5:{fp}::subject:O:a"),
            format!("did:x509:0:sha256:{fp}"),
            format!("did:x509:0:sha256:{fp}::subject:O"),
            format!("did:x509:0:sha256:{fp}::fulcio-issuer:x"),
            "did:x509:0:sha256:AAAA::subject:O:a".to_owned(),
        ] {
            assert!(parse(&Did::parse(&bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_name_string_extraction() {
        // [0] { UTF8String "abc" }
        assert_eq!(
            other_name_string(&[0xa0, 0x05, 0x0c, 0x03, b'a', b'b', b'c']).as_deref(),
            Some("abc")
        );
        assert_eq!(other_name_string(&[0x16, 0x01, b'x']).as_deref(), Some("x"));
        assert_eq!(other_name_string(&[0x02, 0x01, 0x01]), None);
    }
}
