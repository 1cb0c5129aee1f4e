//! RFC 5424 messages and their transport: TCP or TLS (RFC 5425) with octet-counting framing
//! (RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`).
//!
//! A message:
//!
//! ```text
//! <86>1 2026-12-07T09:00:00.123Z host nuts-wallet 4242 credential.import [nuts@32473 seq="7"
//!   hash="…" actor="admin" subject="…" outcome="success"] {"types":["…"]}
//! ```
//!
//! Facility `authpriv` (10): the entries are security audit records of access to the wallet
//! (NEN 7513), which collectors keep apart from general logs (Debian's default rsyslog rules
//! send `authpriv.*` to `/var/log/auth.log`). Severity `info` for a success, `notice` for a
//! failure or a decline. MSG is the entry's detail JSON as stored, so a collector holding
//! TIMESTAMP (milliseconds), the structured data and MSG can recompute the entry's chain hash.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wallet_vault::OutboxEntry;

use super::{ForwardError, SyslogTarget, Transport};

/// Facility `authpriv` (RFC 5424 §6.2.1, code 10).
pub const FACILITY_AUTHPRIV: u8 = 10;
/// Severity of a successful action (`informational`).
pub const SEVERITY_INFO: u8 = 6;
/// Severity of a failure or decline (`notice`).
pub const SEVERITY_NOTICE: u8 = 5;
/// APP-NAME.
pub const APP_NAME: &str = "nuts-wallet";
/// SD-ID of the entry's structured data (`name@<private enterprise number>`).
pub const SD_ID: &str = "nuts@32473";
/// Longest framed message sent (rsyslog's default `maxMessageSize` is 8 KiB); a longer MSG is
/// cut at a character boundary and ends in `…`.
pub const MAX_MESSAGE_BYTES: usize = 8000;

/// Builds the RFC 5424 message of `e` (without framing).
pub fn format_message(e: &OutboxEntry, hostname: &str, procid: u32) -> String {
    let severity = if e.outcome == "success" {
        SEVERITY_INFO
    } else {
        SEVERITY_NOTICE
    };
    let pri = u16::from(FACILITY_AUTHPRIV) * 8 + u16::from(severity);
    let head = format!(
        "<{pri}>1 {} {} {APP_NAME} {procid} {} [{SD_ID} seq=\"{}\" hash=\"{}\" actor=\"{}\" subject=\"{}\" outcome=\"{}\"] ",
        wallet_vault::format_rfc3339_ms(e.at_ms),
        header_field(hostname, 255),
        header_field(&e.action, 32),
        e.seq,
        sd_escape(&e.hash),
        sd_escape(&e.actor),
        sd_escape(&e.subject),
        sd_escape(&e.outcome),
    );
    let room = MAX_MESSAGE_BYTES.saturating_sub(head.len());
    let msg = if e.detail.len() <= room {
        e.detail.as_str().to_owned()
    } else {
        let mut cut = room.saturating_sub('…'.len_utf8());
        while !e.detail.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &e.detail[..cut])
    };
    head + &msg
}

/// A header field (HOSTNAME, MSGID): printable US-ASCII without spaces (`!`..`~`), at most
/// `max` characters; anything else becomes `_`; empty becomes the NILVALUE `-`.
pub fn header_field(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if out.is_empty() {
        "-".to_owned()
    } else {
        out
    }
}

/// An SD-PARAM value: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3).
pub fn sd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Octet-counting framing: `MSG-LEN SP SYSLOG-MSG`.
pub fn frame(msg: &str) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

/// This machine's name for the HOSTNAME field.
pub fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    header_field(raw.trim(), 255)
}

/// How long one network step (connect, a write, the close handshake) may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

enum Stream {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

/// One connection to the collector.
pub struct Connection {
    stream: Stream,
    target: String,
}

impl Connection {
    /// Connects to `target` (TLS: verified against the bundled roots plus `ca_pem`), giving
    /// up after `timeout` (at most [`IO_TIMEOUT`] per step).
    pub fn open(
        target: &SyslogTarget,
        ca_pem: Option<&str>,
        timeout: Duration,
    ) -> Result<Connection, ForwardError> {
        let step = timeout.min(IO_TIMEOUT).max(Duration::from_millis(50));
        let deadline = Instant::now() + step;
        let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| ForwardError::Connect {
                target: target.to_string(),
                reason: format!("cannot resolve the host: {e}"),
            })?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| ForwardError::Connect {
            target: target.to_string(),
            reason: last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
        })?;
        tcp.set_read_timeout(Some(step)).ok();
        tcp.set_write_timeout(Some(step)).ok();
        tcp.set_nodelay(true).ok();
        let stream = match target.transport {
            Transport::Tcp => Stream::Tcp(tcp),
            Transport::Tls => {
                let mut config = wallet_protocol::net::tls_config(ca_pem.map(str::as_bytes))
                    .map_err(|e| ForwardError::Config(e.to_string()))?;
                // No ALPN for syslog.
                config.alpn_protocols.clear();
                let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                    .map_err(|e| ForwardError::Config(format!("host name: {e}")))?;
                let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| {
                    ForwardError::Tls {
                        target: target.to_string(),
                        reason: e.to_string(),
                    }
                })?;
                let mut s = rustls::StreamOwned::new(conn, tcp);
                // Handshake now, so a certificate problem is reported as such.
                while s.conn.is_handshaking() {
                    s.conn
                        .complete_io(&mut s.sock)
                        .map_err(|e| ForwardError::Tls {
                            target: target.to_string(),
                            reason: e.to_string(),
                        })?;
                }
                Stream::Tls(Box::new(s))
            }
        };
        Ok(Connection {
            stream,
            target: target.to_string(),
        })
    }

    /// Writes framed messages.
    pub fn send(&mut self, framed: &[u8]) -> Result<(), ForwardError> {
        let r = match &mut self.stream {
            Stream::Tcp(s) => s.write_all(framed).and_then(|()| s.flush()),
            Stream::Tls(s) => s.write_all(framed).and_then(|()| s.flush()),
        };
        r.map_err(|e| self.io_error(&e))
    }

    /// Closes the sending side and waits until the collector closes too: it does so only
    /// after it has read everything sent before, so a clean close is the acceptance of the
    /// batch. A reset or a timeout means some messages may not have arrived.
    pub fn finish(mut self) -> Result<(), ForwardError> {
        let mut buf = [0u8; 512];
        match &mut self.stream {
            Stream::Tcp(s) => {
                s.shutdown(Shutdown::Write)
                    .map_err(|e| io(&self.target, &e))?;
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(&self.target, &e)),
                    }
                }
            }
            Stream::Tls(s) => {
                s.conn.send_close_notify();
                s.flush().map_err(|e| io(&self.target, &e))?;
                s.sock
                    .shutdown(Shutdown::Write)
                    .map_err(|e| io(&self.target, &e))?;
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        // The collector closed the TCP connection without its own
                        // close_notify: it still read everything first.
                        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
                        Err(e) => return Err(io(&self.target, &e)),
                    }
                }
            }
        }
    }

    fn io_error(&self, e: &std::io::Error) -> ForwardError {
        io(&self.target, e)
    }
}

fn io(target: &str, e: &std::io::Error) -> ForwardError {
    if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) {
        ForwardError::Timeout {
            target: target.to_owned(),
        }
    } else {
        ForwardError::Send {
            target: target.to_owned(),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> OutboxEntry {
        OutboxEntry {
            seq: 7,
            at_ms: 1_765_098_000_123,
            actor: "employee:e\"1".into(),
            action: "presentation.send".into(),
            subject: "https://v.example/a]b\\c".into(),
            outcome: "success".into(),
            detail: r#"{"n":1}"#.into(),
            hash: "ab12".into(),
        }
    }

    #[test]
    fn message_has_the_rfc5424_shape() {
        let m = format_message(&entry(), "ws-1", 42);
        assert_eq!(
            m,
            "<86>1 2025-12-07T09:00:00.123Z ws-1 nuts-wallet 42 presentation.send \
             [nuts@32473 seq=\"7\" hash=\"ab12\" actor=\"employee:e\\\"1\" \
             subject=\"https://v.example/a\\]b\\\\c\" outcome=\"success\"] {\"n\":1}"
        );
        let mut failed = entry();
        failed.outcome = "declined".into();
        assert!(format_message(&failed, "h", 1).starts_with("<85>1 "));
    }

    #[test]
    fn msgid_is_printable_ascii_of_at_most_32_characters() {
        assert_eq!(header_field("a b\u{e9}c\u{7}", 32), "a_b_c_");
        assert_eq!(header_field(&"x".repeat(40), 32).len(), 32);
        assert_eq!(header_field("", 32), "-");
        let mut e = entry();
        e.action = "é".repeat(40);
        let m = format_message(&e, "h", 1);
        assert!(m.contains(&format!(" {} [", "_".repeat(32))), "{m}");
    }

    #[test]
    fn frames_count_octets_and_long_details_are_cut() {
        assert_eq!(frame("é"), b"2 \xc3\xa9".to_vec());
        let mut e = entry();
        e.detail = format!("{{\"x\":\"{}\"}}", "é".repeat(10_000));
        let m = format_message(&e, "h", 1);
        assert!(m.len() <= MAX_MESSAGE_BYTES);
        assert!(m.ends_with('…'));
    }
}
