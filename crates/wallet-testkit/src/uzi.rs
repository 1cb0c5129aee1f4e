//! A UZI-like test PKI made with OpenSSL: root CA → intermediate CA → server certificate with
//! the UZI otherName (OID 2.5.5.5, IA5String) in its subjectAltName, all RSA 2048, as the
//! UZI register issues them to organizations. Also the files an administrator has: the PEM
//! chain, the PEM key and a PKCS#12 file.

use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Extension, X509Name, X509NameBuilder, X509};

/// Root CA subject (RFC 4514).
pub const ROOT_DN: &str = "CN=Test Zorg-CSP Root CA G3,O=Nuts Wallet Test,C=NL";
/// Intermediate CA subject (RFC 4514): the CA Nuts policies pin.
pub const INTERMEDIATE_DN: &str =
    "CN=Test UZI-register Private Server CA G1,O=Nuts Wallet Test,C=NL";

/// The UZI otherName of a server certificate.
pub fn uzi_other_name(uzi_number: &str, ura: &str, agb: &str) -> String {
    format!("2.16.528.1.1007.99.2110-1-{uzi_number}-S-{ura}-00.000-{agb}")
}

/// What the server certificate says and when it is valid.
#[derive(Debug, Clone)]
pub struct UziOptions {
    /// Subject O.
    pub organization: String,
    /// Subject L.
    pub locality: Option<String>,
    /// The otherName value; `None` makes a certificate without one (not a UZI certificate).
    pub other_name: Option<String>,
    /// notBefore of the server certificate (Unix seconds).
    pub not_before: i64,
    /// notAfter of the server certificate (Unix seconds).
    pub not_after: i64,
}

impl UziOptions {
    /// "Zorg & Welzijn B.V." in 's-Hertogenbosch, URA 90000380, valid from a day ago for a year.
    pub fn valid(now: i64) -> Self {
        Self {
            organization: "Zorg & Welzijn B.V.".into(),
            locality: Some("'s-Hertogenbosch".into()),
            other_name: Some(uzi_other_name("900030787", "90000380", "11223344")),
            not_before: now - 86_400,
            not_after: now + 365 * 86_400,
        }
    }
}

/// A certificate and its key.
pub struct CertKey {
    /// The certificate.
    pub cert: X509,
    /// Its private key.
    pub key: PKey<Private>,
}

impl CertKey {
    /// DER of the certificate.
    pub fn der(&self) -> Vec<u8> {
        self.cert.to_der().unwrap()
    }
    /// PEM of the certificate.
    pub fn pem(&self) -> String {
        String::from_utf8(self.cert.to_pem().unwrap()).unwrap()
    }
    /// PKCS#8 PEM of the key.
    pub fn key_pem(&self) -> String {
        String::from_utf8(self.key.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }
}

/// Root, intermediate and server certificate.
pub struct UziPki {
    /// Self-signed root CA.
    pub root: CertKey,
    /// Intermediate CA (issued by the root).
    pub intermediate: CertKey,
    /// Server certificate (issued by the intermediate).
    pub server: CertKey,
}

fn name(parts: &[(&str, &str)]) -> X509Name {
    let mut b = X509NameBuilder::new().unwrap();
    for (k, v) in parts {
        b.append_entry_by_text(k, v).unwrap();
    }
    b.build()
}

fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else if n < 0x100 {
        vec![0x81, n as u8]
    } else {
        vec![0x82, (n >> 8) as u8, n as u8]
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

/// subjectAltName DER: a dNSName and, if given, the UZI otherName
/// `[0] { OID 2.5.5.5, [0] EXPLICIT IA5String }`.
fn san_der(dns: &str, other_name: Option<&str>) -> Vec<u8> {
    let mut names = Vec::new();
    if let Some(v) = other_name {
        let mut on = vec![0x06, 0x03, 0x55, 0x05, 0x05];
        on.extend(tlv(0xa0, &tlv(0x16, v.as_bytes())));
        names.extend(tlv(0xa0, &on));
    }
    names.extend(tlv(0x82, dns.as_bytes()));
    tlv(0x30, &names)
}

fn issue(
    subject: &X509Name,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
    window: (i64, i64),
    extra: Vec<X509Extension>,
) -> X509 {
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial
        .rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(subject).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(subject))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(window.0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(window.1).unwrap())
        .unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().critical().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if let Some((c, _)) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&b.x509v3_context(Some(c), None))
            .unwrap();
        b.append_extension(aki).unwrap();
    }
    for e in extra {
        b.append_extension(e).unwrap();
    }
    let signing_key = issuer.map(|(_, k)| k).unwrap_or(key);
    b.sign(signing_key, MessageDigest::sha256()).unwrap();
    b.build()
}

impl UziPki {
    /// A fresh PKI; the server certificate as `opts` says, the CAs valid for ten years around now.
    pub fn new(opts: &UziOptions) -> Self {
        let now = opts.not_before.max(0) + 86_400;
        let ca_window = (
            now - 5 * 365 * 86_400,
            opts.not_after.max(now) + 5 * 365 * 86_400,
        );
        let root_key = rsa_key();
        let root_name = name(&[
            ("C", "NL"),
            ("O", "Nuts Wallet Test"),
            ("CN", "Test Zorg-CSP Root CA G3"),
        ]);
        let root = issue(&root_name, &root_key, None, true, ca_window, vec![]);
        let int_key = rsa_key();
        let int_name = name(&[
            ("C", "NL"),
            ("O", "Nuts Wallet Test"),
            ("CN", "Test UZI-register Private Server CA G1"),
        ]);
        let intermediate = issue(
            &int_name,
            &int_key,
            Some((&root, &root_key)),
            true,
            ca_window,
            vec![],
        );
        let server_key = rsa_key();
        let mut parts = vec![("C", "NL"), ("O", opts.organization.as_str())];
        if let Some(l) = &opts.locality {
            parts.push(("L", l.as_str()));
        }
        parts.push(("CN", "zorg.example.nl"));
        parts.push(("serialNumber", "900030787"));
        let san = X509Extension::new_from_der(
            &Asn1Object::from_str("2.5.29.17").unwrap(),
            false,
            &Asn1OctetString::new_from_bytes(&san_der(
                "zorg.example.nl",
                opts.other_name.as_deref(),
            ))
            .unwrap(),
        )
        .unwrap();
        let server = issue(
            &name(&parts),
            &server_key,
            Some((&intermediate, &int_key)),
            false,
            (opts.not_before, opts.not_after),
            vec![san],
        );
        Self {
            root: CertKey {
                cert: root,
                key: root_key,
            },
            intermediate: CertKey {
                cert: intermediate,
                key: int_key,
            },
            server: CertKey {
                cert: server,
                key: server_key,
            },
        }
    }

    /// The PEM chain leaf → intermediate → root.
    pub fn chain_pem(&self) -> String {
        [&self.server, &self.intermediate, &self.root]
            .iter()
            .map(|c| c.pem())
            .collect()
    }

    /// A PKCS#12 file with the server key and certificate and both CAs.
    pub fn pkcs12(&self, password: &str) -> Vec<u8> {
        let mut ca = Stack::new().unwrap();
        ca.push(self.intermediate.cert.clone()).unwrap();
        ca.push(self.root.cert.clone()).unwrap();
        Pkcs12::builder()
            .name("zorg.example.nl")
            .pkey(&self.server.key)
            .cert(&self.server.cert)
            .ca(ca)
            .build2(password)
            .unwrap()
            .to_der()
            .unwrap()
    }

    /// The server certificate with one bit of its signature flipped (PEM): names and key
    /// as before, but the intermediate's signature no longer verifies.
    pub fn tampered_server_pem(&self) -> String {
        let mut der = self.server.der();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        String::from_utf8(X509::from_der(&der).unwrap().to_pem().unwrap()).unwrap()
    }

    /// A PKCS#12 file with only the server key and certificate (no CA certificates).
    pub fn pkcs12_server_only(&self, password: &str) -> Vec<u8> {
        Pkcs12::builder()
            .name("zorg.example.nl")
            .pkey(&self.server.key)
            .cert(&self.server.cert)
            .build2(password)
            .unwrap()
            .to_der()
            .unwrap()
    }

    /// Writes `chain.pem`, `server-key.pem`, `server.p12` (with `password`), `root.pem` and
    /// `intermediate.pem` into `dir`.
    pub fn write_files(&self, dir: &Path, password: &str) -> UziFiles {
        std::fs::create_dir_all(dir).unwrap();
        let f = UziFiles {
            chain: dir.join("chain.pem"),
            key: dir.join("server-key.pem"),
            pkcs12: dir.join("server.p12"),
            root: dir.join("root.pem"),
            intermediate: dir.join("intermediate.pem"),
        };
        std::fs::write(&f.chain, self.chain_pem()).unwrap();
        std::fs::write(&f.key, self.server.key_pem()).unwrap();
        std::fs::write(&f.pkcs12, self.pkcs12(password)).unwrap();
        std::fs::write(&f.root, self.root.pem()).unwrap();
        std::fs::write(&f.intermediate, self.intermediate.pem()).unwrap();
        f
    }
}

/// The files of [`UziPki::write_files`].
#[derive(Debug, Clone)]
pub struct UziFiles {
    /// PEM chain leaf → root.
    pub chain: PathBuf,
    /// PEM key of the server certificate.
    pub key: PathBuf,
    /// PKCS#12.
    pub pkcs12: PathBuf,
    /// Root CA PEM.
    pub root: PathBuf,
    /// Intermediate CA PEM.
    pub intermediate: PathBuf,
}
