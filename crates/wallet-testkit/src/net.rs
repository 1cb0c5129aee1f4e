//! Loopback ports.

/// A port on 127.0.0.1 that was free a moment ago (for a child process to bind).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
