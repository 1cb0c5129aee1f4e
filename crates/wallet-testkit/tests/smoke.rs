//! The testkit serves what it is given over HTTPS to a client trusting its CA.

use wallet_testkit::https::{client_trusting, StaticHttpsServer};
use wallet_testkit::pki::TestPki;

#[tokio::test]
async fn serves_routes_over_https_and_counts_hits() {
    let pki = TestPki::localhost();
    let server = StaticHttpsServer::start(&pki).await;
    server.serve("/a", "text/plain", b"hello".to_vec());
    let http = client_trusting(&pki);
    for (path, status, body) in [("/a", 200, "hello"), ("/b", 404, "not found")] {
        let r = http.get(format!("{}{path}", server.base())).send().await;
        let r = r.unwrap();
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.text().await.unwrap(), body);
        assert_eq!(server.hits(path), 1);
    }
}

#[test]
fn vectors_dir_exists() {
    assert!(wallet_testkit::vectors::path("").is_dir());
}
