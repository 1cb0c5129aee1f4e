//! The loopback API tried as an attacker would: a web page in the clinician's browser, and
//! other local processes or clients that hold connections open. Each test says what attack it
//! stops.

#[allow(dead_code)]
#[path = "../api/support.rs"]
mod support;
#[path = "../api/user_world.rs"]
mod user_world;

mod callback;
#[cfg(unix)]
mod discovery;
mod server;
