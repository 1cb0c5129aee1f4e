//! Raw TCP against the loopback server: clients that hold connections open, announce bodies
//! they never send, or bind the other loopback family to catch the EHR's calls.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wallet_api::{api_key, serve, ApiConfig, ApiError, ApiHandle, HEADER_READ_TIMEOUT};

use crate::support::{Pki, Wallet};

/// A running API on a free port (with what must stay alive while it runs).
async fn running() -> (Pki, Wallet, ApiHandle) {
    let (pki, w, api) = api(0).await;
    (pki, w, api.unwrap())
}

/// A raw connection to `addr` that has sent `bytes`.
async fn send(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

async fn api(port: u16) -> (Pki, Wallet, Result<ApiHandle, ApiError>) {
    let pki = Pki::new();
    let w = Wallet::new(&pki, &[], None).await;
    let api = serve(ApiConfig {
        port,
        runtime: w.runtime.clone(),
    })
    .await;
    (pki, w, api)
}

/// Reads until the server closes the connection; `None` when it is still open after `within`.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    tokio::time::timeout(within, s.read_to_end(&mut out))
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&out).into_owned())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Stops connections that never send a request, or stop halfway through the headers, from
/// being held open forever (each one a descriptor of the wallet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_sent_connections_are_closed() {
    let (_pki, _w, api) = running().await;
    let mut silent = send(api.local_addr(), b"").await;
    let mut half = send(
        api.local_addr(),
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    )
    .await;
    let within = HEADER_READ_TIMEOUT + Duration::from_secs(5);
    assert!(read_until_closed(&mut silent, within).await.is_some());
    assert!(read_until_closed(&mut half, within).await.is_some());
}

/// Stops a client that keeps a connection alive after a request from holding it forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_kept_alive_connections_are_closed() {
    let (_pki, _w, api) = running().await;
    let mut s = send(
        api.local_addr(),
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    .await;
    let got = read_until_closed(&mut s, HEADER_READ_TIMEOUT + Duration::from_secs(5))
        .await
        .expect("closed after idling");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

/// Stops a request that announces `Content-Length: 100000000` and sends no body from waiting
/// forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_body_that_never_comes_times_out() {
    let (_pki, w, api) = running().await;
    let key = api_key::current(&w.vault).unwrap().unwrap();
    let head = format!(
        "POST /internal/auth/v2/zorg/request-service-access-token HTTP/1.1\r\n\
         Host: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100000000\r\n\r\n{{",
        key.expose_secret()
    );
    let mut s = send(api.local_addr(), head.as_bytes()).await;
    let started = Instant::now();
    let got = read_until_closed(
        &mut s,
        wallet_api::BODY_READ_TIMEOUT + Duration::from_secs(5),
    )
    .await
    .expect("the request ends");
    assert!(got.starts_with("HTTP/1.1 4"), "{got}");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

/// Stops hundreds of held-open connections from taking a descriptor each in the wallet: the
/// server takes at most `MAX_CONNECTIONS`, the rest wait in the OS backlog; once the held ones
/// time out, `/health` answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_connections_are_capped_and_the_server_recovers() {
    const HELD: usize = 400;
    let (pki, _w, api) = running().await;
    let addr = api.local_addr();
    let before = open_fds();
    let mut held = Vec::new();
    for _ in 0..HELD {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let grown = open_fds().saturating_sub(before);
    // HELD on the client side plus what the server accepted (old: HELD more).
    assert!(
        grown <= HELD + wallet_api::MAX_CONNECTIONS + 60,
        "{grown} descriptors for {HELD} connections"
    );
    drop(held);
    let http = pki.reqwest();
    let r = tokio::time::timeout(
        HEADER_READ_TIMEOUT * 4,
        http.get(format!("http://{addr}/health")).send(),
    )
    .await
    .expect("health answers again")
    .unwrap();
    assert_eq!(r.status(), 200);
}

/// Stops another local process from listening on `[::1]` at the wallet's port, where an EHR
/// calling `http://localhost:<port>` would hand it the API key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ipv6_loopback_port_is_the_wallets_too() {
    let (_pki, _w, api) = running().await;
    assert!(api.listens_on_ipv6());
    let port = api.local_addr().port();
    assert!(std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_err());
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let mut s = send(
        v6,
        b"GET /health HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n",
    )
    .await;
    let got = read_until_closed(&mut s, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

/// When another process already listens on `[::1]` at the port, the wallet does not start
/// (it would otherwise serve IPv4 while the other catches `localhost`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_port_taken_on_the_other_loopback_family() {
    let squatter = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    let port = squatter.local_addr().unwrap().port();
    // The IPv4 side must be free for the test to mean anything.
    drop(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap());
    let (_pki, _w, api) = api(port).await;
    match api {
        Err(ApiError::Bind { addr, .. }) => {
            assert_eq!(addr, SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
    // and the IPv4 port was let go again
    drop(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap());
}
