//! `dev-ca`: a throw-away test CA and a server certificate for local try-outs and tests.
//! Never for production: the CA key is not even kept, so the CA can sign nothing else later.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{AsError, Result};

/// PEM material made by [`generate`].
pub struct DevPki {
    /// The CA certificate (trust this one).
    pub ca_pem: String,
    /// Server certificate chain (leaf, then CA).
    pub cert_pem: String,
    /// Server key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for DevPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevPki { .. }")
    }
}

/// Creates a CA and a server certificate for `hosts` (DNS names or IP addresses).
pub fn generate(hosts: &[String]) -> Result<DevPki> {
    let err = |e: rcgen::Error| AsError::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "Nuts Wallet AS development CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::new(hosts.to_vec()).map_err(err)?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_default(),
    );
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).map_err(err)?;
    Ok(DevPki {
        ca_pem: ca_cert.pem(),
        cert_pem: format!("{}{}", cert.pem(), ca_cert.pem()),
        key_pem: key.serialize_pem(),
    })
}

/// Writes `ca.pem`, `server.pem`, `server-key.pem` (0600) and, when absent, an `as.toml`
/// for `https://<first host>:<port>`. Refuses to overwrite existing certificate files.
pub fn write(dir: &Path, hosts: &[String], port: u16) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let pki = generate(hosts)?;
    let ca = dir.join("ca.pem");
    let cert = dir.join("server.pem");
    let key = dir.join("server-key.pem");
    for p in [&ca, &cert, &key] {
        if p.exists() {
            return Err(AsError::Config(format!(
                "{} exists; remove it or choose another --out",
                p.display()
            )));
        }
    }
    std::fs::write(&ca, &pki.ca_pem)?;
    std::fs::write(&cert, &pki.cert_pem)?;
    crate::identity::write_private(&key, pki.key_pem.as_bytes())?;
    let mut written = vec![ca, cert, key];
    let cfg = dir.join("as.toml");
    if !cfg.exists() {
        let host = hosts.first().map(String::as_str).unwrap_or("localhost");
        std::fs::write(
            &cfg,
            format!(
                "# Nuts Wallet reference AS (development setup made by `nuts-wallet-as dev-ca`)\n\
                 listen = \"127.0.0.1:{port}\"\n\
                 base_url = \"https://{host}:{port}\"\n\
                 subject = \"as\"\n\
                 key_file = \"as-key.pem\"\n\
                 tls_cert = \"server.pem\"\n\
                 tls_key = \"server-key.pem\"\n\
                 # Nuts policy files or directories of them\n\
                 policy = [\"policies\"]\n\
                 # allow localhost/loopback for did:web, request objects and entity statements\n\
                 dev = true\n\
                 ca_file = \"ca.pem\"\n"
            ),
        )?;
        std::fs::create_dir_all(dir.join("policies"))?;
        written.push(cfg);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_usable_pki_and_config() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path(), &["localhost".into(), "127.0.0.1".into()], 9443).unwrap();
        assert_eq!(files.len(), 4);
        let cfg = crate::config::Config::load(&dir.path().join("as.toml")).unwrap();
        assert_eq!(cfg.base_url.as_str(), "https://localhost:9443/");
        assert!(cfg.dev);
        crate::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
        assert!(
            write(dir.path(), &["localhost".into()], 9443).is_err(),
            "no overwrite"
        );
    }
}
