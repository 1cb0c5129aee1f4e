//! Integration tests of the vault through its public API (one test binary, A3 style).

mod admin;
mod backup;
mod common;
mod lifecycle;
mod os_keyring;
mod storage;
mod tamper;
