//! A small HTTPS server on loopback (tokio-rustls, HTTP/1.1, one request per connection) serving
//! a map of path → [`Route`], counting hits per path and connections; and a client trusting the
//! test CA.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::pki::TestPki;

/// A canned response.
#[derive(Debug, Clone)]
pub struct Route {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Route {
    /// A 200 response with `content_type` and `body`.
    pub fn ok(content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            content_type: content_type.to_owned(),
            headers: vec![],
            body,
        }
    }

    /// 404 with an empty body.
    pub fn not_found() -> Self {
        Self {
            status: 404,
            content_type: "text/plain".into(),
            headers: vec![],
            body: b"not found".to_vec(),
        }
    }
}

type Routes = Arc<Mutex<HashMap<String, Route>>>;

/// A running server; it serves until its runtime shuts down.
pub struct StaticHttpsServer {
    pub port: u16,
    routes: Routes,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Accepted TCP connections (including failed TLS handshakes).
    pub connections: Arc<AtomicUsize>,
}

impl StaticHttpsServer {
    /// Starts a server on the current runtime.
    pub async fn start(pki: &TestPki) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_on(listener, pki)
    }

    /// Starts a server on `rt` (it keeps serving while a blocking test thread runs).
    pub fn start_on(rt: &tokio::runtime::Runtime, pki: &TestPki) -> Self {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let _guard = rt.enter();
        Self::serve_on(listener, pki)
    }

    fn serve_on(listener: tokio::net::TcpListener, pki: &TestPki) -> Self {
        let port = listener.local_addr().unwrap().port();
        let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config.clone());
        let routes: Routes = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let (r, h, c) = (routes.clone(), hits.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (acceptor, r, h) = (acceptor.clone(), r.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 2048];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    *h.lock().unwrap().entry(path.clone()).or_default() += 1;
                    let found = r.lock().unwrap().get(&path).cloned();
                    let route = found.unwrap_or_else(Route::not_found);
                    let mut resp = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
                        route.status,
                        route.content_type,
                        route.body.len()
                    );
                    for (k, v) in &route.headers {
                        resp.push_str(&format!("{k}: {v}\r\n"));
                    }
                    resp.push_str("\r\n");
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.write_all(&route.body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            port,
            routes,
            hits,
            connections,
        }
    }

    /// Serves `route` at `path` (replacing what was there).
    pub fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_owned(), route);
    }

    /// Serves `body` with `content_type` and status 200 at `path`.
    pub fn serve(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.route(path, Route::ok(content_type, body));
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// `https://localhost:<port>`.
    pub fn base(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

/// An HTTP client trusting the test CA of `pki`, never following redirects, ignoring proxies.
pub fn client_trusting(pki: &TestPki) -> reqwest::Client {
    client_trusting_pem(&pki.ca_pem)
}

/// An HTTP client trusting the CA in `ca_pem`, never following redirects, ignoring proxies.
pub fn client_trusting_pem(ca_pem: &[u8]) -> reqwest::Client {
    client_builder(Some(ca_pem))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// A reqwest builder with the wallet's TLS setup ([`wallet_protocol::net::tls_config`]: ring,
/// the bundled roots and `ca_pem` if given). reqwest is built without a default crypto
/// provider, so every client needs this TLS setup, plain-HTTP ones included.
pub fn client_builder(ca_pem: Option<&[u8]>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(wallet_protocol::net::tls_config(ca_pem).unwrap())
}
