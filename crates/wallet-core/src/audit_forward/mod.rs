//! Forwarding the activity log to the organization's syslog collector (NEN 7513 central
//! audit).
//!
//! Every activity entry written after forwarding was configured (starting with the
//! configuration's own entry) is queued in the vault's outbox in the transaction that appends
//! it (`wallet_vault::outbox`), also while the vault is locked. [`flush`] sends the queue in
//! log order, one connection per batch, and removes a batch only after the collector closed
//! the connection cleanly after reading it, so delivery is at least once: nothing is lost while
//! the collector is down, and a batch cut off mid-way is sent again (the `seq` parameter tells
//! duplicates apart). Older entries are exported with `nuts-wallet audit export`.
//!
//! The collector is an internal host named explicitly (`tcp://host:port` or `tls://host:port`):
//! the public-internet guard of outbound HTTPS does not apply, every network step has a
//! timeout. Messages: [`syslog`].
//!
//! Hosts: the CLI delivers what it can in 2 s before exiting ([`flush`]); the app and
//! `nuts-wallet serve` run a [`Forwarder`].

pub mod syslog;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wallet_vault::{outbox, AdminSession, ForwardStatus, Vault, VaultError};

/// Entries sent per connection.
const BATCH: u32 = 200;

/// Errors of audit forwarding. Their texts name the collector, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The collector address is not `tcp://HOST:PORT` or `tls://HOST:PORT`.
    #[error("invalid syslog collector {0:?}: expected tcp://HOST:PORT or tls://HOST:PORT")]
    InvalidTarget(String),
    /// The CA certificate or TLS setup is unusable.
    #[error("audit forwarding configuration: {0}")]
    Config(String),
    /// Forwarding is off.
    #[error("audit forwarding is not configured (nuts-wallet audit forward --syslog ...)")]
    NotConfigured,
    /// The collector could not be reached.
    #[error("cannot connect to the syslog collector {target}: {reason}")]
    Connect {
        /// The collector.
        target: String,
        /// Why.
        reason: String,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS with the syslog collector {target} failed: {reason}")]
    Tls {
        /// The collector.
        target: String,
        /// Why.
        reason: String,
    },
    /// Sending or the closing handshake failed: the batch is sent again later.
    #[error("sending to the syslog collector {target} failed: {reason}")]
    Send {
        /// The collector.
        target: String,
        /// Why.
        reason: String,
    },
    /// The collector did not answer in time.
    #[error("the syslog collector {target} did not answer in time")]
    Timeout {
        /// The collector.
        target: String,
    },
    /// The time given to [`flush`] ran out with entries still waiting.
    #[error("{pending} activity entries still wait for the syslog collector")]
    Incomplete {
        /// Entries still in the outbox.
        pending: i64,
    },
    /// The vault refused.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The organization's profile sets where the audit goes on this workstation.
    #[error(
        "audit forwarding is managed by {0}'s profile and cannot be changed on this workstation"
    )]
    Managed(String),
}

impl ForwardError {
    /// Stable code for hosts and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            ForwardError::InvalidTarget(_) => "invalid_target",
            ForwardError::Config(_) => "config",
            ForwardError::NotConfigured => "not_configured",
            ForwardError::Connect { .. } => "connect",
            ForwardError::Tls { .. } => "tls",
            ForwardError::Send { .. } => "send",
            ForwardError::Timeout { .. } => "timeout",
            ForwardError::Incomplete { .. } => "incomplete",
            ForwardError::Vault(e) => e.code(),
            ForwardError::Managed(_) => "managed",
        }
    }
}

/// How messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Plain TCP (RFC 6587).
    Tcp,
    /// TLS (RFC 5425).
    Tls,
}

/// The collector: transport, host and port, all explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    /// TCP or TLS.
    pub transport: Transport,
    /// Host name or IP address (TLS checks the certificate against it).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl SyslogTarget {
    /// Parses `tcp://HOST:PORT` or `tls://HOST:PORT` (IPv6 in brackets). No path, user or
    /// query; the port is required (no default, so the address is always what was meant).
    pub fn parse(s: &str) -> Result<SyslogTarget, ForwardError> {
        let bad = || ForwardError::InvalidTarget(s.to_owned());
        let url = url::Url::parse(s).map_err(|_| bad())?;
        let transport = match url.scheme() {
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            _ => return Err(bad()),
        };
        if !url.username().is_empty()
            || url.password().is_some()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad()),
        };
        let port = url.port().filter(|p| *p != 0).ok_or_else(bad)?;
        Ok(SyslogTarget {
            transport,
            host,
            port,
        })
    }
}

impl fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.transport {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The forwarding setting, as stored in the vault (MAC-protected) and as an organization
/// profile states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// `tcp://HOST:PORT` or `tls://HOST:PORT`.
    pub syslog: String,
    /// Extra CA certificate(s) (PEM) trusted for `tls://`, besides the bundled roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

impl ForwardConfig {
    /// Checks the address and, for TLS, the CA; returns the parsed target.
    pub fn check(&self) -> Result<SyslogTarget, ForwardError> {
        let target = SyslogTarget::parse(&self.syslog)?;
        if let Some(pem) = &self.ca_pem {
            if target.transport == Transport::Tcp {
                return Err(ForwardError::Config(
                    "a CA certificate only applies to tls:// collectors".into(),
                ));
            }
            wallet_protocol::net::tls_config(Some(pem.as_bytes()))
                .map_err(|e| ForwardError::Config(e.to_string()))?;
        }
        Ok(target)
    }
}

/// Turns forwarding on (or changes the collector). Administrator action, recorded as
/// `audit.forward.configure` — the first entry sent. Entries still waiting are kept for the
/// new collector. Refused on a managed workstation unless its profile allows it.
pub fn set_forwarding(
    vault: &Vault,
    admin: &AdminSession,
    config: ForwardConfig,
) -> Result<(), ForwardError> {
    let managed = guard(vault)?;
    configure(vault, admin, Some(config))?;
    note(vault, admin, managed)
}

/// Turns forwarding off: entries still waiting are dropped from the outbox (they stay in the
/// log). Administrator action, recorded as `audit.forward.off` (not sent). Refused on a
/// managed workstation unless its profile allows it.
pub fn turn_off_forwarding(vault: &Vault, admin: &AdminSession) -> Result<(), ForwardError> {
    let managed = guard(vault)?;
    configure(vault, admin, None)?;
    note(vault, admin, managed)
}

fn guard(vault: &Vault) -> Result<bool, ForwardError> {
    crate::profile::guard_area(vault, crate::profile::LocalArea::AuditForwarding).map_err(|e| {
        match e {
            crate::org::IdentityError::Managed(org) => ForwardError::Managed(org),
            crate::org::IdentityError::Vault(v) => ForwardError::Vault(v),
            other => ForwardError::Config(other.to_string()),
        }
    })
}

fn note(vault: &Vault, admin: &AdminSession, managed: bool) -> Result<(), ForwardError> {
    if managed {
        crate::profile::note_change(vault, admin, crate::profile::LocalArea::AuditForwarding)
            .map_err(|e| match e {
                crate::org::IdentityError::Vault(v) => ForwardError::Vault(v),
                other => ForwardError::Config(other.to_string()),
            })?;
    }
    Ok(())
}

/// Sets the collector (`Some`) or turns forwarding off, without the managed-mode rule (the
/// organization's profile applies its own setting through this).
pub(crate) fn configure(
    vault: &Vault,
    admin: &AdminSession,
    config: Option<ForwardConfig>,
) -> Result<(), ForwardError> {
    let Some(config) = config else {
        vault
            .audit_outbox()
            .configure(admin, None, serde_json::json!({}))?;
        return Ok(());
    };
    let target = config.check()?;
    let ca = config.ca_pem.as_deref().map(|p| {
        Sha256::digest(p.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    let value = serde_json::to_value(&config).map_err(|e| ForwardError::Config(e.to_string()))?;
    // The CA by its digest: the log and the messages stay short.
    let mut detail = serde_json::json!({ "syslog": target.to_string() });
    if let Some(ca) = ca {
        detail["ca_sha256"] = ca.into();
    }
    vault
        .audit_outbox()
        .configure(admin, Some(&value), detail)?;
    Ok(())
}

/// The forwarding setting; `None` when off.
pub fn forwarding(vault: &Vault) -> Result<Option<ForwardConfig>, ForwardError> {
    match vault.audit_outbox().config()? {
        None => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ForwardError::Config(format!("stored setting: {e}"))),
    }
}

/// Entries waiting, the last one delivered and the last error.
pub fn status(vault: &Vault) -> Result<ForwardStatus, ForwardError> {
    Ok(vault.audit_outbox().status()?)
}

/// What [`flush`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flushed {
    /// Entries the collector accepted in this call.
    pub delivered: usize,
}

/// Sends the waiting entries in order until none is left or `within` has passed. `Ok` means
/// the outbox is empty (or forwarding is off); an error is also recorded as `last_error`.
pub fn flush(vault: &Vault, within: Duration) -> Result<Flushed, ForwardError> {
    let Some(config) = forwarding(vault)? else {
        return Ok(Flushed::default());
    };
    let result = flush_to(vault, &config, Instant::now() + within);
    if let Err(e) = &result {
        if !matches!(e, ForwardError::Vault(_)) {
            tracing::info!(code = e.code(), error = %e, "audit forwarding: entries wait");
            vault.audit_outbox().failed(&e.to_string())?;
        }
    }
    result
}

fn flush_to(
    vault: &Vault,
    config: &ForwardConfig,
    deadline: Instant,
) -> Result<Flushed, ForwardError> {
    let target = config.check()?;
    let outbox = vault.audit_outbox();
    let host = syslog::hostname();
    let pid = std::process::id();
    let mut done = Flushed::default();
    loop {
        let batch = outbox.pending(BATCH)?;
        let Some(last) = batch.last().map(|e| e.seq) else {
            return Ok(done);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ForwardError::Incomplete {
                pending: outbox.status()?.pending,
            });
        }
        let mut conn = syslog::Connection::open(&target, config.ca_pem.as_deref(), left)?;
        let mut bytes = Vec::new();
        for e in &batch {
            bytes.extend(syslog::frame(&syslog::format_message(e, &host, pid)));
        }
        conn.send(&bytes)?;
        conn.finish()?;
        outbox.delivered(last)?;
        done.delivered += batch.len();
    }
}

/// Continuous delivery for a long-running process: a thread woken when this process queues
/// an entry and every few seconds (entries of other processes), backing off while the
/// collector is down. Stops when dropped.
pub struct Forwarder {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the forwarder looks for entries queued by other processes.
const POLL: Duration = Duration::from_secs(5);
/// Longest wait between attempts while the collector is down.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl Forwarder {
    /// Starts delivering `vault`'s outbox.
    pub fn start(vault: Vault) -> std::io::Result<Forwarder> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("audit-forward".into())
            .spawn(move || run(&vault, &flag))?;
        Ok(Forwarder {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // Wakes the thread (a spurious wake-up of any other forwarder is harmless).
            outbox::notify();
            let _ = t.join();
        }
    }
}

fn run(vault: &Vault, stop: &AtomicBool) {
    let mut seen = 0;
    let mut backoff = Duration::ZERO;
    let mut not_before = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        // New entries do not cut a backoff short: the collector is still believed down.
        if Instant::now() >= not_before {
            // Let the appending transaction commit when the wake-up came from inside it.
            std::thread::sleep(Duration::from_millis(50));
            if attempt(vault) {
                backoff = Duration::ZERO;
            } else {
                backoff = next_backoff(backoff);
                not_before = Instant::now() + backoff;
            }
        }
        let wait = if backoff.is_zero() {
            POLL
        } else {
            not_before
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10))
        };
        seen = outbox::wait_for_entries(seen, wait);
    }
}

/// One delivery round; `false` when entries are left waiting by an error.
fn attempt(vault: &Vault) -> bool {
    match vault.audit_outbox().status() {
        Ok(s) if s.pending == 0 => true,
        Ok(_) => flush(vault, Duration::from_secs(30)).is_ok(),
        Err(e) => {
            tracing::warn!(code = e.code(), "audit forwarding: outbox unreadable");
            false
        }
    }
}

fn next_backoff(b: Duration) -> Duration {
    if b.is_zero() {
        Duration::from_secs(1)
    } else {
        (b * 2).min(MAX_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_explicit() {
        let t = SyslogTarget::parse("tls://logs.zorg.internal:6514").unwrap();
        assert_eq!(t.transport, Transport::Tls);
        assert_eq!(t.host, "logs.zorg.internal");
        assert_eq!(t.port, 6514);
        assert_eq!(t.to_string(), "tls://logs.zorg.internal:6514");
        let v6 = SyslogTarget::parse("tcp://[::1]:514").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.to_string(), "tcp://[::1]:514");
        for bad in [
            "tcp://host",
            "udp://host:514",
            "https://host:514",
            "tcp://user@host:514",
            "tcp://host:514/path",
            "tcp://host:0",
            "host:514",
            "tcp://:514",
        ] {
            assert!(SyslogTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_ca_only_goes_with_tls() {
        let c = ForwardConfig {
            syslog: "tcp://h:514".into(),
            ca_pem: Some("x".into()),
        };
        assert_eq!(c.check().unwrap_err().code(), "config");
        let bad_pem = ForwardConfig {
            syslog: "tls://h:6514".into(),
            ca_pem: Some("not a pem".into()),
        };
        assert_eq!(bad_pem.check().unwrap_err().code(), "config");
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let mut b = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..9 {
            b = next_backoff(b);
            seen.push(b.as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
