//! A real rsyslogd on loopback for audit forwarding tests: TCP or TLS (the `ossl` stream
//! driver, Debian package `rsyslog-openssl`) with octet-counted framing, writing each received
//! message as one line of `PRI HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG` to a file.
//!
//! It runs unprivileged and touches nothing outside its temporary directory: `-n` (no fork),
//! `-f` its own config, `-i` its own pid file, a `workDirectory` in the temporary directory and
//! no `imuxsock`/`imklog` (no `/dev/log`, no kernel log). `scripts/deps.sh` installs it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pki::TestPki;

/// The daemon (`RSYSLOGD` overrides).
pub fn rsyslogd_path() -> PathBuf {
    std::env::var_os("RSYSLOGD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/rsyslogd"))
}

/// One rsyslogd with its config, port and output file; stopped on drop.
pub struct Rsyslog {
    dir: tempfile::TempDir,
    port: u16,
    tls: bool,
    child: Option<Child>,
}

impl std::fmt::Debug for Rsyslog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rsyslog")
            .field("port", &self.port)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Rsyslog {
    /// A daemon taking plain TCP on a free loopback port.
    pub fn tcp() -> Rsyslog {
        Self::new(None)
    }

    /// A daemon taking TLS on a free loopback port, with `pki`'s server certificate (for
    /// `localhost`).
    pub fn tls(pki: &TestPki) -> Rsyslog {
        Self::new(Some(pki))
    }

    fn new(pki: Option<&TestPki>) -> Rsyslog {
        let dir = tempfile::tempdir().expect("temp dir for rsyslog");
        let port = free_port();
        let d = dir.path();
        std::fs::create_dir(d.join("work")).expect("rsyslog work dir");
        let (global, module) = match pki {
            None => (String::new(), "module(load=\"imtcp\")".to_owned()),
            Some(pki) => {
                pki.write_files(&d.join("pki"));
                let p = d.join("pki");
                (
                    format!(
                        " defaultNetstreamDriverCAFile=\"{}\" defaultNetstreamDriverCertFile=\"{}\" defaultNetstreamDriverKeyFile=\"{}\"",
                        p.join("ca.pem").display(),
                        p.join("server.pem").display(),
                        p.join("server-key.pem").display()
                    ),
                    "module(load=\"imtcp\" streamDriver.name=\"ossl\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")".to_owned(),
                )
            }
        };
        let conf = format!(
            "global(workDirectory=\"{work}\"{global})\n\
             {module}\n\
             input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")\n\
             template(name=\"wallet\" type=\"string\" string=\"%pri% %hostname% %app-name% %procid% %msgid% %structured-data% %msg%\\n\")\n\
             action(type=\"omfile\" file=\"{out}\" template=\"wallet\")\n",
            work = d.join("work").display(),
            out = d.join("out.log").display(),
        );
        std::fs::write(d.join("rsyslog.conf"), conf).expect("write rsyslog.conf");
        let mut r = Rsyslog {
            dir,
            port,
            tls: pki.is_some(),
            child: None,
        };
        r.start();
        r
    }

    /// Starts the daemon again (same port, same output file) and waits until it listens.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "rsyslogd runs already");
        let d = self.dir.path();
        let child = Command::new(rsyslogd_path())
            .arg("-n")
            .arg("-f")
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(d.join("stderr.log"))
                    .expect("rsyslog stderr file"),
            ))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (scripts/deps.sh installs rsyslog): {e}",
                    rsyslogd_path().display()
                )
            });
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "rsyslogd exited ({status}): {}",
                    std::fs::read_to_string(d.join("stderr.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < until, "rsyslogd does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the daemon with SIGTERM (it writes out what it has received) and waits for it.
    pub fn stop(&mut self) {
        self.resume();
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let until = Instant::now() + Duration::from_secs(10);
            loop {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() >= until {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Freezes the daemon (SIGSTOP): the kernel still accepts connections and data, nothing
    /// is read — a hung collector.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused daemon go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(child) = &self.child {
            let ok = Command::new("kill")
                .arg(sig)
                .arg(child.id().to_string())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "kill {sig} rsyslogd");
        }
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The collector address for the wallet: `tcp://127.0.0.1:PORT` or `tls://localhost:PORT`.
    pub fn url(&self) -> String {
        if self.tls {
            format!("tls://localhost:{}", self.port)
        } else {
            format!("tcp://127.0.0.1:{}", self.port)
        }
    }

    /// The daemon's directory (config, output, stderr).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The lines received so far.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("out.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until `pred` holds for the lines received, up to `timeout`; returns them.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let until = Instant::now() + timeout;
        loop {
            let lines = self.lines();
            if pred(&lines) || Instant::now() >= until {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `seq="N"` parameter of a received line.
pub fn seq_of(line: &str) -> Option<i64> {
    let start = line.find(" seq=\"")? + 6;
    let end = line[start..].find('"')? + start;
    line[start..end].parse().ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
