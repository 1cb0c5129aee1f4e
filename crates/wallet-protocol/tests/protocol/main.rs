//! Integration tests of wallet-protocol: Nuts vectors, output shapes checked with an
//! independent ECDSA implementation (ring), did:web over a real local HTTPS server, did:x509.

mod common;
mod didweb_https;
mod shapes;
mod vectors;
mod x509;
