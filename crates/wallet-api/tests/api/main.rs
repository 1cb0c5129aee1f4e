//! End-to-end tests of the s2s and user flows: the wallet (core + loopback API) against the
//! reference authorization server (`wallet-as`) over HTTPS on loopback with a test CA.

mod api;
mod e2e;
mod failures;
mod revocation;
mod support;
mod user;
mod user_world;
