//! Integration tests of the reference AS over real HTTPS on loopback (test CA, dev mode).

mod cli;
mod metadata;
mod s2s;
mod support;
mod user_flow;
