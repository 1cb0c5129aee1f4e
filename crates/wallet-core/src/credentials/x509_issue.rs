//! The organization issues its own X509Credential from its UZI server certificate
//! (administrator): the certificate and key come from a PKCS#12 file or a PEM chain + PEM
//! key, the credential is built by [`wallet_protocol::vc::x509_issue`] and stored through
//! [`import_credential`], so it is verified like any imported credential. The key is read,
//! used for the one signature and dropped; the file contents and the password are zeroized.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use wallet_protocol::did::Did;
use wallet_protocol::vc::x509_issue::{
    self, CertificateKey, IssuedX509Credential, X509CredentialRequest, X509IssueError,
};
use wallet_vault::{AdminSession, Vault, VaultError};
use zeroize::Zeroizing;

use super::{import_credential, Imported, VerifyEnv};
use crate::org::{self, IdentityError};

/// Where the certificate and its key are.
#[derive(Debug)]
pub enum CertificateSource {
    /// A PKCS#12 file and its password, and optionally a PEM file with CA certificates the
    /// PKCS#12 file lacks.
    Pkcs12 {
        /// The file.
        path: PathBuf,
        /// Its password.
        password: Zeroizing<String>,
        /// Extra CA certificates (PEM).
        extra_chain: Option<PathBuf>,
    },
    /// A PKCS#12 file's contents (the app reads the file the administrator picked) and its
    /// password.
    Pkcs12Bytes {
        /// The file's bytes.
        der: Zeroizing<Vec<u8>>,
        /// Its password.
        password: Zeroizing<String>,
    },
    /// A PEM chain (leaf and CAs) and a PEM key file, or a `pkcs11:` URI of the key in an
    /// HSM (its PIN as for the organization key: given, `NUTS_WALLET_PKCS11_PIN`, or the OS
    /// keyring).
    Pem {
        /// The chain file.
        chain: PathBuf,
        /// The key file or URI.
        key: String,
    },
}

/// Why the credential was not issued. [`IssueX509Error::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum IssueX509Error {
    /// The certificate, chain or key is refused.
    #[error(transparent)]
    Certificate(#[from] X509IssueError),
    /// The vault, the organization or the import refused.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A file cannot be read.
    #[error("{context}: {source}")]
    Io {
        /// Which file.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl IssueX509Error {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Certificate(e) => e.code(),
            Self::Identity(e) => e.code(),
            Self::Io { .. } => "io",
        }
    }
}

impl From<VaultError> for IssueX509Error {
    fn from(e: VaultError) -> Self {
        Self::Identity(e.into())
    }
}

type Result<T> = std::result::Result<T, IssueX509Error>;

/// What the issued credential says (for the summary and `--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct X509CredentialView {
    /// The organization's URA (from the UZI otherName).
    pub ura: String,
    /// Subject O.
    pub organization: String,
    /// Subject L.
    pub locality: Option<String>,
    /// The UZI otherName.
    pub uzi_other_name: String,
    /// The did:x509 issuer.
    pub issuer: String,
    /// The CA in the DID (RFC 4514).
    pub ca: String,
    /// Its SHA-256 fingerprint (base64url), as in the DID.
    pub ca_fingerprint: String,
    /// Valid from (RFC 3339).
    pub valid_from: String,
    /// Valid until (RFC 3339) = the certificate's notAfter.
    pub valid_until: String,
    /// The JWT claims.
    pub claims: Value,
}

impl From<&IssuedX509Credential> for X509CredentialView {
    fn from(c: &IssuedX509Credential) -> Self {
        Self {
            ura: c.ura.clone(),
            organization: c.organization.clone(),
            locality: c.locality.clone(),
            uzi_other_name: c.uzi_other_name.clone(),
            issuer: c.issuer.to_string(),
            ca: c.ca_dn.clone(),
            ca_fingerprint: c.ca_fingerprint.clone(),
            valid_from: wallet_protocol::clock::format_rfc3339(c.not_before),
            valid_until: wallet_protocol::clock::format_rfc3339(c.expires),
            claims: Value::Object(c.claims.clone()),
        }
    }
}

/// An issued and stored X509Credential.
#[derive(Debug, Clone, Serialize)]
pub struct X509Issued {
    /// What it says.
    pub credential: X509CredentialView,
    /// The import result (the stored credential's summary).
    pub imported: Imported,
}

fn read(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    const MAX: u64 = 1024 * 1024;
    let meta = std::fs::metadata(path).map_err(|source| IssueX509Error::Io {
        context: format!("reading the {what} {}", path.display()),
        source,
    })?;
    if meta.len() > MAX {
        return Err(X509IssueError::Invalid(format!("the {what} is larger than 1 MiB")).into());
    }
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|source| IssueX509Error::Io {
            context: format!("reading the {what} {}", path.display()),
            source,
        })
}

fn load(source: &CertificateSource) -> Result<CertificateKey> {
    match source {
        CertificateSource::Pkcs12 {
            path,
            password,
            extra_chain,
        } => {
            let der = read(path, "PKCS#12 file")?;
            let mut material = CertificateKey::from_pkcs12(&der, password)?;
            if let Some(chain) = extra_chain {
                material.add_certificates_pem(&read(chain, "certificate chain")?)?;
            }
            Ok(material)
        }
        CertificateSource::Pkcs12Bytes { der, password } => {
            if der.len() > 1024 * 1024 {
                return Err(X509IssueError::Invalid(
                    "the PKCS#12 file is larger than 1 MiB".into(),
                )
                .into());
            }
            Ok(CertificateKey::from_pkcs12(der, password)?)
        }
        CertificateSource::Pem { chain, key } => {
            if key.trim_start().to_ascii_lowercase().starts_with("pkcs11:") {
                let chain = read(chain, "certificate chain")?;
                let uri: wallet_pkcs11::Pkcs11Uri =
                    key.trim().parse().map_err(IdentityError::Hsm)?;
                let pin = crate::org::hsm_pin_for(&uri)?;
                let hsm =
                    wallet_pkcs11::Pkcs11RsaKey::open(&uri, pin).map_err(IdentityError::Hsm)?;
                let (n, e) = (hsm.modulus().to_vec(), hsm.public_exponent().to_vec());
                return Ok(CertificateKey::from_pem_with_signer(
                    &chain,
                    &n,
                    &e,
                    Box::new(hsm),
                )?);
            }
            let chain = read(chain, "certificate chain")?;
            let key = read(Path::new(key), "key file")?;
            Ok(CertificateKey::from_pem(&chain, &key)?)
        }
    }
}

/// The CAs on the certificate's path (RFC 4514 subject DNs, the issuing CA first), one of
/// which goes into the did:x509 issuer; this also checks the password, the key and the chain.
pub fn x509_authorities(source: &CertificateSource) -> Result<Vec<String>> {
    Ok(load(source)?.authorities()?)
}

/// Builds and signs the credential for the organization, without storing it (`--dry-run`,
/// and the first step of [`issue_x509_credential`]).
pub fn prepare_x509_credential(
    vault: &Vault,
    source: &CertificateSource,
    ca_dn: &str,
    now: i64,
) -> Result<IssuedX509Credential> {
    let org = org::require_organization(vault)?;
    let subject = Did::parse(&org.did).map_err(IdentityError::protocol)?;
    let material = load(source)?;
    Ok(x509_issue::issue_x509_credential(
        material,
        &X509CredentialRequest {
            ca_dn,
            subject: &subject,
            now,
        },
    )?)
}

/// Issues the organization's X509Credential and stores it (administrator action). The
/// stored credential went through the full import check.
pub async fn issue_x509_credential(
    vault: &Vault,
    admin: &AdminSession,
    source: &CertificateSource,
    ca_dn: &str,
    env: &VerifyEnv,
) -> Result<X509Issued> {
    if vault.admin_session_remaining(admin).is_none() {
        return Err(VaultError::AdminRequired("issuing credentials").into());
    }
    crate::profile::guard(vault).map_err(IssueX509Error::Identity)?;
    let issued = prepare_x509_credential(vault, source, ca_dn, env.clock.now_unix())?;
    let mut imported = import_credential(vault, admin, &issued.jwt, env).await?;
    // The administrator made it from the organization's own certificate: its issuer is
    // trusted from now on (the warning "issuer not on the trusted list" would be noise).
    super::set_issuer_trust(vault, admin, issued.issuer.as_str(), true)?;
    imported.summary.issuer_trusted = true;
    imported
        .summary
        .warnings
        .retain(|w| w.code != "untrusted_issuer");
    Ok(X509Issued {
        credential: X509CredentialView::from(&issued),
        imported,
    })
}
