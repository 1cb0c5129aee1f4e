//! Outbound HTTP: the injected [`HttpClient`] trait, the [`NetPolicy`] that decides which
//! URLs may be fetched at all, and a reqwest adapter ([`ReqwestHttpClient`]) that enforces it.
//!
//! The policy is the SSRF guard: only `https://`, no IP literals, no `localhost`, and no
//! host that resolves to a loopback, private, link-local or otherwise special address
//! (checked again after DNS resolution, inside the reqwest resolver). Development mode
//! ([`NetPolicy::dev`]) additionally allows `localhost` and loopback addresses (not private
//! networks), still over HTTPS only. Redirects are never followed and bodies are size-capped.
//!
//! Not here: retries, cookies, proxies (system proxy settings are ignored on purpose: a proxy
//! resolves host names itself, which would bypass the address guard). The CLI and the app
//! parse `--dev`/`NUTS_WALLET_DEV=1` and `--ca-file`/`NUTS_WALLET_CA_FILE` and hand the result
//! in as a [`NetPolicy`].

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

/// A boxed, sendable future (the traits here are used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Default cap on response bodies (DID documents, status lists, metadata).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Network policy handed in by the CLI/app.
#[derive(Clone, Default)]
pub struct NetPolicy {
    /// Development mode: allow `localhost` and loopback addresses (HTTPS only).
    pub dev: bool,
    /// Extra trusted CA certificate(s), PEM.
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for NetPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetPolicy")
            .field("dev", &self.dev)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(|p| p.len()))
            .finish()
    }
}

impl NetPolicy {
    /// Reads `NUTS_WALLET_DEV` (`1`/`true`) and `NUTS_WALLET_CA_FILE` (path to a PEM file).
    /// Command-line flags, when given, should override these.
    pub fn from_env() -> Result<Self, NetError> {
        let dev = matches!(
            std::env::var("NUTS_WALLET_DEV").ok().as_deref(),
            Some("1") | Some("true") | Some("yes")
        );
        let extra_ca_pem = match std::env::var_os("NUTS_WALLET_CA_FILE") {
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                NetError::Config(format!(
                    "cannot read CA file {}: {e}",
                    path.to_string_lossy()
                ))
            })?),
            None => None,
        };
        Ok(Self { dev, extra_ca_pem })
    }

    /// Combines command-line flags with the environment: development mode if `--dev` was
    /// given or `NUTS_WALLET_DEV` is set; the CA file from `--ca-file`, else
    /// `NUTS_WALLET_CA_FILE`. The PEM must hold at least one certificate.
    pub fn from_args(dev_flag: bool, ca_file: Option<&std::path::Path>) -> Result<Self, NetError> {
        let env = Self::from_env()?;
        let extra_ca_pem = match ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                NetError::Config(format!("cannot read CA file {}: {e}", path.display()))
            })?),
            None => env.extra_ca_pem,
        };
        if let Some(pem) = &extra_ca_pem {
            if parse_ca_pem(pem)?.is_empty() {
                return Err(NetError::Config("CA file holds no certificate".to_owned()));
            }
        }
        Ok(Self {
            dev: dev_flag || env.dev,
            extra_ca_pem,
        })
    }

    /// Checks that `url` may be fetched under this policy (scheme and host only; the
    /// resolved addresses are checked by [`NetPolicy::check_ip`] at connect time).
    pub fn check_url(&self, url: &Url) -> Result<(), NetError> {
        self.check_url_with(url, false)
    }

    /// [`NetPolicy::check_url`], optionally accepting `http://` (signed content only).
    pub fn check_url_with(&self, url: &Url, allow_plain_http: bool) -> Result<(), NetError> {
        let scheme_ok = url.scheme() == "https" || (allow_plain_http && url.scheme() == "http");
        if !scheme_ok {
            return Err(NetError::Refused(RefusalReason::NotHttps));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NetError::Refused(RefusalReason::Credentials));
        }
        match url.host() {
            None => Err(NetError::Refused(RefusalReason::NoHost)),
            Some(Host::Ipv4(ip)) => self.check_ip_literal(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip_literal(IpAddr::V6(ip)),
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if (d == "localhost" || d.ends_with(".localhost")) && !self.dev {
                    return Err(NetError::Refused(RefusalReason::Localhost));
                }
                Ok(())
            }
        }
    }

    fn check_ip_literal(&self, ip: IpAddr) -> Result<(), NetError> {
        if self.dev && ip.is_loopback() {
            Ok(())
        } else {
            Err(NetError::Refused(RefusalReason::IpLiteral))
        }
    }

    /// Checks a resolved address: public unicast always; loopback only in development mode;
    /// private (RFC 1918, CGNAT, ULA), link-local, unspecified, multicast, documentation and
    /// IPv6 forms that tunnel to an IPv4 address never.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), NetError> {
        match classify(ip) {
            AddrClass::Public => Ok(()),
            AddrClass::Loopback if self.dev => Ok(()),
            _ => Err(NetError::Refused(RefusalReason::ForbiddenAddress(ip))),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum AddrClass {
    Public,
    Loopback,
    Private,
    Special,
}

fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                AddrClass::Loopback
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                // RFC 1918 and RFC 6598 carrier-grade NAT.
                AddrClass::Private
            } else if v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
            {
                AddrClass::Special
            } else {
                AddrClass::Public
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                AddrClass::Loopback
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                AddrClass::Private
            } else if v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xffc0) == 0xfe80
                // Site-local (fec0::/10, deprecated but still routed inside some networks).
                || (seg[0] & 0xffc0) == 0xfec0
                // IPv4-compatible `::a.b.c.d`, 6to4 (2002::/16) and Teredo (2001::/32) reach
                // an IPv4 address the checks above never see.
                || seg[..6].iter().all(|&s| s == 0)
                || seg[0] == 0x2002
                || (seg[0] == 0x2001 && seg[1] == 0)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || (seg[0] == 0x0064 && seg[1] == 0xff9b)
            {
                AddrClass::Special
            } else {
                AddrClass::Public
            }
        }
    }
}

/// Why a request was refused before or while connecting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusalReason {
    /// Only `https://` is fetched.
    #[error("only https URLs are allowed")]
    NotHttps,
    /// `https://user:pass@host` is not allowed.
    #[error("URLs with credentials are not allowed")]
    Credentials,
    /// No host in the URL.
    #[error("URL has no host")]
    NoHost,
    /// IP address literals are refused (loopback allowed in development mode).
    #[error("IP address literals are not allowed")]
    IpLiteral,
    /// `localhost` outside development mode.
    #[error("localhost is only allowed in development mode")]
    Localhost,
    /// The host resolved to an address that is not allowed.
    #[error("host resolves to a forbidden address ({0})")]
    ForbiddenAddress(IpAddr),
}

/// HTTP transport errors.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The policy refused the URL or address.
    #[error("request refused: {0}")]
    Refused(RefusalReason),
    /// Response body exceeded the cap.
    #[error("response body larger than {limit} bytes")]
    TooLarge {
        /// The cap that was exceeded.
        limit: usize,
    },
    /// The request did not complete in time.
    #[error("request timed out")]
    Timeout,
    /// Connection, TLS or protocol failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// Bad configuration (e.g. unreadable CA file).
    #[error("network configuration error: {0}")]
    Config(String),
}

/// HTTP method (the protocol only needs these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

/// An outbound request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: Url,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body (empty for GET).
    pub body: Vec<u8>,
    /// Cap on the response body; the response is refused when larger.
    pub max_body_bytes: usize,
    /// Allow `http://` for this request. Only for content that is signed and verified by the
    /// caller (CRLs, which PKIs publish over plain HTTP); the address checks still apply.
    pub allow_plain_http: bool,
}

impl HttpRequest {
    /// A GET with an `Accept` header and the default body cap.
    pub fn get(url: Url, accept: &str) -> Self {
        Self {
            method: Method::Get,
            url,
            headers: vec![("accept".to_owned(), accept.to_owned())],
            body: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_plain_http: false,
        }
    }
}

/// A response (never a redirect that was followed).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Body (at most the request's cap).
    pub body: Vec<u8>,
    /// Response headers (names lower-case), e.g. `dpop-nonce`, `cache-control`.
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The HTTP edge. Implementations must apply the request's body cap; the reqwest adapter
/// also enforces a [`NetPolicy`]. Tests use closures or small fakes.
pub trait HttpClient: Send + Sync {
    /// Executes one request; does not follow redirects.
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>>;
}

/// reqwest (rustls) implementation with SSRF guard, timeouts, size cap and no redirects.
#[derive(Clone)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
    /// Same setup without `https_only`, used only for `allow_plain_http` requests.
    plain: reqwest::Client,
    policy: NetPolicy,
}

impl std::fmt::Debug for ReqwestHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqwestHttpClient")
            .field("policy", &self.policy)
            .finish()
    }
}

impl ReqwestHttpClient {
    /// Builds a client for `policy` using the system DNS resolver.
    pub fn new(policy: NetPolicy) -> Result<Self, NetError> {
        Self::with_static_hosts(policy, HashMap::new())
    }

    /// Like [`ReqwestHttpClient::new`], but resolves the given host names to fixed addresses
    /// (tests; like `/etc/hosts`). These addresses still pass through the policy check.
    pub fn with_static_hosts(
        policy: NetPolicy,
        static_hosts: HashMap<String, Vec<IpAddr>>,
    ) -> Result<Self, NetError> {
        let static_hosts: HashMap<String, Vec<IpAddr>> = static_hosts
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let static_hosts = Arc::new(static_hosts);
        let build = |https_only: bool| -> Result<reqwest::Client, NetError> {
            let resolver = GuardedResolver {
                policy: policy.clone(),
                static_hosts: static_hosts.clone(),
            };
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls_config(policy.extra_ca_pem.as_deref())?)
                .https_only(https_only)
                .redirect(reqwest::redirect::Policy::none())
                // A proxy would resolve names itself and bypass the address guard.
                .no_proxy()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(15))
                .user_agent(concat!("nuts-wallet/", env!("CARGO_PKG_VERSION")))
                .dns_resolver(Arc::new(resolver))
                .build()
                .map_err(|e| NetError::Config(e.to_string()))
        };
        Ok(Self {
            client: build(true)?,
            plain: build(false)?,
            policy,
        })
    }

    async fn run(&self, request: HttpRequest) -> Result<HttpResponse, NetError> {
        self.policy
            .check_url_with(&request.url, request.allow_plain_http)?;
        // IP literals bypass the DNS resolver, so check them here as well.
        if let Some(ip) = match request.url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        } {
            self.policy.check_ip(ip)?;
        }
        let client = if request.allow_plain_http {
            &self.plain
        } else {
            &self.client
        };
        let mut rb = match request.method {
            Method::Get => client.get(request.url.clone()),
            Method::Post => client.post(request.url.clone()).body(request.body),
        };
        for (k, v) in &request.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let mut resp = rb.send().await.map_err(map_reqwest_error)?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let limit = request.max_body_bytes;
        if resp.content_length().is_some_and(|l| l > limit as u64) {
            return Err(NetError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map_reqwest_error)? {
            if body.len() + chunk.len() > limit {
                return Err(NetError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            content_type,
            body,
            headers,
        })
    }
}

/// The TLS client setup of every outbound connection: rustls with the ring provider, TLS 1.2
/// and 1.3, the bundled Mozilla root certificates (not the system store, so the wallet trusts
/// the same roots on every machine) plus the CA certificates of `extra_ca_pem`, HTTP/1.1 only.
pub fn tls_config(extra_ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, NetError> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let certs = parse_ca_pem(pem)?;
        if certs.is_empty() {
            return Err(NetError::Config("CA PEM holds no certificate".to_owned()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| NetError::Config(format!("invalid CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of a PEM bundle (other PEM sections are skipped).
fn parse_ca_pem(pem: &[u8]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, NetError> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NetError::Config(format!("invalid CA PEM: {e}")))
}

fn map_reqwest_error(e: reqwest::Error) -> NetError {
    if e.is_timeout() {
        return NetError::Timeout;
    }
    // Surface a policy refusal raised inside the resolver as such.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(NetError::Refused(reason)) = err.downcast_ref::<NetError>() {
            return NetError::Refused(reason.clone());
        }
        source = err.source();
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(err) = source {
        msg.push_str(": ");
        msg.push_str(&err.to_string());
        source = err.source();
    }
    NetError::Transport(msg)
}

impl HttpClient for ReqwestHttpClient {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        Box::pin(self.run(request))
    }
}

struct GuardedResolver {
    policy: NetPolicy,
    static_hosts: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_ascii_lowercase();
        let fixed = self.static_hosts.get(&host).cloned();
        Box::pin(async move {
            let addrs: Vec<IpAddr> = match fixed {
                Some(a) => a,
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await
                    .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?
                    .map(|sa| sa.ip())
                    .collect(),
            };
            let mut allowed = Vec::new();
            let mut refusal = None;
            for ip in addrs {
                match policy.check_ip(ip) {
                    Ok(()) => allowed.push(SocketAddr::new(ip, 0)),
                    Err(e) => refusal = Some(e),
                }
            }
            // Any forbidden address poisons the answer (DNS rebinding tricks mix them).
            if let Some(e) = refusal {
                return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
            }
            let iter: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn default_policy_refusals() {
        let p = NetPolicy::default();
        assert!(p.check_url(&url("https://zorg.example/x")).is_ok());
        let refused = |u: &str| match p.check_url(&url(u)) {
            Err(NetError::Refused(r)) => r,
            other => panic!("{u}: {other:?}"),
        };
        assert_eq!(refused("http://zorg.example/"), RefusalReason::NotHttps);
        // Plain http only for signed content (CRLs), and never for other schemes.
        assert!(p
            .check_url_with(&url("http://crl.zorg.example/ca.crl"), true)
            .is_ok());
        assert!(p
            .check_url_with(&url("ftp://crl.zorg.example/ca.crl"), true)
            .is_err());
        assert!(p
            .check_url_with(&url("http://127.0.0.1/ca.crl"), true)
            .is_err());
        assert_eq!(refused("https://127.0.0.1/"), RefusalReason::IpLiteral);
        assert_eq!(refused("https://[::1]/"), RefusalReason::IpLiteral);
        assert_eq!(refused("https://10.1.2.3/"), RefusalReason::IpLiteral);
        assert_eq!(refused("https://localhost:8443/"), RefusalReason::Localhost);
        assert_eq!(
            refused("https://a:b@zorg.example/"),
            RefusalReason::Credentials
        );
    }

    #[test]
    fn dev_policy_allows_loopback_only_extras() {
        let p = NetPolicy {
            dev: true,
            extra_ca_pem: None,
        };
        assert!(p.check_url(&url("https://localhost:8443/")).is_ok());
        assert!(p.check_url(&url("https://127.0.0.1:8443/")).is_ok());
        assert!(p.check_url(&url("http://localhost/")).is_err());
        assert!(p.check_url(&url("https://10.0.0.1/")).is_err());
    }

    #[test]
    fn ca_file_argument_is_read_and_validated() {
        let dir = std::env::temp_dir().join(format!("nw-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, b"not a certificate").unwrap();
        assert!(matches!(
            NetPolicy::from_args(true, Some(&bad)),
            Err(NetError::Config(_))
        ));
        let missing = dir.join("missing.pem");
        assert!(matches!(
            NetPolicy::from_args(false, Some(&missing)),
            Err(NetError::Config(_))
        ));
        let p = NetPolicy::from_args(true, None).unwrap();
        assert!(p.dev);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn address_classes() {
        let p = NetPolicy::default();
        let dev = NetPolicy {
            dev: true,
            extra_ca_pem: None,
        };
        for ip in ["127.0.0.1", "::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(p.check_ip(ip).is_err(), "{ip} must be refused");
            assert!(dev.check_ip(ip).is_ok(), "{ip} allowed in dev");
        }
        for ip in [
            "10.0.0.8",
            "172.16.3.4",
            "192.168.1.1",
            "fd00::1",
            "169.254.169.254",
            "0.0.0.0",
            "fe80::1",
            "224.0.0.1",
            "::ffff:169.254.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(dev.check_ip(ip).is_err(), "{ip} refused even in dev");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(p.check_ip(ip.parse().unwrap()).is_ok());
        }
        assert!(p.check_ip("::ffff:10.0.0.1".parse().unwrap()).is_err());
    }
}
