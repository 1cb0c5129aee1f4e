//! A test PKI: a CA and a server certificate it issued, generated with rcgen.

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
}
