//! Dev-only helpers shared by the integration test suites (never a normal dependency, never
//! published, no Tauri): a test PKI ([`pki::TestPki`]), a small HTTPS route server over
//! tokio-rustls with hit counters ([`https::StaticHttpsServer`]), an HTTP client trusting the
//! test CA ([`https::client_trusting`]), the Nuts test vectors ([`vectors`]), form/query
//! helpers ([`form`]), free loopback ports ([`net::free_port`]) and signed test credentials
//! ([`vc`]), a set-up organization wallet ([`wallet`]) and a UZI-like
//! test PKI ([`uzi`]).

pub mod form;
pub mod https;
pub mod net;
pub mod pki;
pub mod rsyslog;
pub mod softhsm;
pub mod uzi;
pub mod vc;
pub mod vectors;
pub mod wallet;
