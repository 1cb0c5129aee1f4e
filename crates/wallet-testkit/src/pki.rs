//! A test PKI: a CA and a server certificate it issued, generated with rcgen.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;

/// A freshly generated CA and a server certificate for some DNS names.
pub struct TestPki {
    /// The CA certificate (PEM), for clients to trust.
    pub ca_pem: Vec<u8>,
    /// The server certificate (PEM).
    pub server_cert_pem: String,
    /// The server's private key (PKCS#8 PEM).
    pub server_key_pem: String,
    /// A rustls server configuration presenting the server certificate.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl TestPki {
    /// A CA named `ca_name` and a server certificate for `names`.
    pub fn new(ca_name: &str, names: &[&str]) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Self {
            ca_pem: ca.pem().into_bytes(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
            server_config: Arc::new(server),
        }
    }

    /// A CA and a `localhost` server certificate.
    pub fn localhost() -> Self {
        Self::new("Nuts Wallet Test CA", &["localhost"])
    }

    /// Writes `ca.pem`, `server.pem` and `server-key.pem` into `dir`: the files
    /// [`reference_as_toml`] names.
    pub fn write_files(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ca.pem"), &self.ca_pem).unwrap();
        std::fs::write(dir.join("server.pem"), &self.server_cert_pem).unwrap();
        std::fs::write(dir.join("server-key.pem"), &self.server_key_pem).unwrap();
    }
}

/// The reference AS's `as.toml` for `https://localhost:<port>` on 127.0.0.1 in development
/// mode, over the files of [`TestPki::write_files`] (paths relative to that directory).
pub fn reference_as_toml(port: u16) -> String {
    format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
         key_file = \"as-key.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
         dev = true\nca_file = \"ca.pem\"\n"
    )
}
