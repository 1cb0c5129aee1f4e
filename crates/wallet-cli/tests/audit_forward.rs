//! `nuts-wallet audit forward` against a real rsyslogd on loopback: configuration, delivery of
//! a command's entries as it exits, `--flush` exit codes while the collector is down and back,
//! `--status --json`, TLS with `--ca-file`, and `--off`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use wallet_testkit::pki::TestPki;
use wallet_testkit::rsyslog::{seq_of, Rsyslog};

fn nuts_wallet(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nuts-wallet"))
        .args(args)
        .env("NUTS_WALLET_DATA_DIR", data_dir)
        .env("NUTS_WALLET_PASSPHRASE", "vault passphrase")
        .env("NUTS_WALLET_ADMIN_PASSPHRASE", "admin passphrase")
        .env("NUTS_WALLET_INSECURE_FAST_KDF", "1")
        .env_remove("NUTS_WALLET_DEV")
        .env_remove("NUTS_WALLET_CA_FILE")
        .env_remove("RUST_LOG")
        .output()
        .expect("run nuts-wallet")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn status(dir: &Path) -> serde_json::Value {
    let o = nuts_wallet(&["audit", "forward", "--status", "--json"], dir);
    ok(&o);
    serde_json::from_slice(&o.stdout).unwrap()
}

fn seqs(lines: &[String]) -> Vec<i64> {
    lines.iter().filter_map(|l| seq_of(l)).collect()
}

/// The sequence number of the newest entry with `action`.
fn newest(dir: &Path, action: &str) -> i64 {
    let o = nuts_wallet(
        &[
            "audit", "list", "--json", "--action", action, "--limit", "1",
        ],
        dir,
    );
    ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["seq"].as_i64().unwrap()
}

#[test]
fn forward_flush_status_and_delivery_at_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    ok(&nuts_wallet(&["init", "--passphrase-env"], &dir));
    // Not configured: nothing to flush to.
    let o = nuts_wallet(&["audit", "forward", "--flush"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not configured"));
    assert!(
        nuts_wallet(&["audit", "forward", "--syslog", "udp://h:514"], &dir)
            .status
            .code()
            == Some(1)
    );

    let mut rs = Rsyslog::tcp();
    let o = nuts_wallet(&["audit", "forward", "--syslog", &rs.url()], &dir);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("accepted"),
        "{o:?}"
    );
    let lines = rs.wait_for(Duration::from_secs(5), |l| !l.is_empty());
    assert!(lines[0].contains(" audit.forward.configure "), "{lines:?}");
    let configured = seq_of(&lines[0]).unwrap();

    // A command's own entries (its unlock) reach the collector before it exits.
    let started = Instant::now();
    ok(&nuts_wallet(&["audit", "verify"], &dir));
    let lines = rs.wait_for(Duration::from_millis(500), |l| {
        l.iter().any(|x| x.contains(" vault.unlock "))
    });
    assert!(
        lines.iter().any(|x| x.contains(" vault.unlock ")),
        "{lines:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let st = status(&dir);
    assert_eq!(st["pending"], 0, "{st}");
    assert_eq!(st["last_error"], serde_json::Value::Null);
    assert_eq!(st["syslog"], rs.url());

    // Collector down: commands still work and finish quickly; their entries wait.
    rs.stop();
    let started = Instant::now();
    ok(&nuts_wallet(&["audit", "verify"], &dir));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let o = nuts_wallet(&["audit", "forward", "--flush"], &dir);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot connect"),
        "{o:?}"
    );
    let st = status(&dir);
    assert!(st["pending"].as_i64().unwrap() >= 1, "{st}");
    assert!(
        st["last_error"].as_str().unwrap().contains(&rs.url()),
        "{st}"
    );
    let delivered_before = st["last_delivered_seq"].as_i64().unwrap();

    // Back up: --flush delivers the backlog, in order, and exits 0.
    rs.start();
    let o = nuts_wallet(&["audit", "forward", "--flush"], &dir);
    ok(&o);
    let st = status(&dir);
    assert_eq!(st["pending"], 0, "{st}");
    assert_eq!(st["last_error"], serde_json::Value::Null);
    let last = st["last_delivered_seq"].as_i64().unwrap();
    assert!(last > delivered_before);
    let lines = rs.wait_for(Duration::from_secs(5), |l| {
        seqs(l).last().copied() == Some(last)
    });
    let mut firsts: Vec<i64> = Vec::new();
    for s in seqs(&lines) {
        if !firsts.contains(&s) {
            firsts.push(s);
        }
    }
    // Up to `last`: later entries (this test's own `audit list` unlocks) may follow.
    firsts.retain(|s| *s <= last);
    assert_eq!(firsts, (configured..=last).collect::<Vec<_>>(), "{lines:?}");
    assert!(newest(&dir, "vault.unlock") > last);

    // Off: the setting goes, nothing waits.
    ok(&nuts_wallet(&["audit", "forward", "--off"], &dir));
    let st = status(&dir);
    assert_eq!(st["syslog"], serde_json::Value::Null);
    assert_eq!(st["pending"], 0);
}

#[test]
fn forward_over_tls_with_the_ca_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    ok(&nuts_wallet(&["init", "--passphrase-env"], &dir));
    let pki = TestPki::localhost();
    let rs = Rsyslog::tls(&pki);
    let ca = tmp.path().join("collector-ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let o = nuts_wallet(
        &[
            "audit",
            "forward",
            "--syslog",
            &rs.url(),
            "--ca-file",
            ca.to_str().unwrap(),
        ],
        &dir,
    );
    ok(&o);
    ok(&nuts_wallet(&["audit", "verify"], &dir));
    // The exit hook delivers what it can in 2 s (a TLS handshake of a debug build on a loaded
    // machine may not fit); the flush delivers the rest, over the same TLS setup.
    ok(&nuts_wallet(&["audit", "forward", "--flush"], &dir));
    let lines = rs.wait_for(Duration::from_secs(10), |l| {
        l.iter().any(|x| x.contains(" vault.unlock "))
    });
    assert!(lines[0].contains(" audit.forward.configure "), "{lines:?}");
    assert!(
        lines.iter().any(|x| x.contains(" vault.unlock ")),
        "{lines:?}"
    );
    assert_eq!(status(&dir)["pending"], 0);
}

#[test]
fn a_hung_collector_holds_a_command_about_two_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    ok(&nuts_wallet(&["init", "--passphrase-env"], &dir));
    let rs = Rsyslog::tcp();
    ok(&nuts_wallet(
        &["audit", "forward", "--syslog", &rs.url()],
        &dir,
    ));
    // Frozen: connections are accepted by the kernel, nothing is read or closed.
    rs.pause();
    let started = Instant::now();
    ok(&nuts_wallet(&["audit", "verify"], &dir));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let st = status(&dir);
    assert_eq!(st["pending"], 1, "{st}");
    assert!(
        st["last_error"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{st}"
    );
    rs.resume();
    ok(&nuts_wallet(&["audit", "forward", "--flush"], &dir));
    let st = status(&dir);
    assert_eq!(st["pending"], 0, "{st}");
    let waited = st["last_delivered_seq"].as_i64().unwrap();
    let lines = rs.wait_for(Duration::from_secs(5), |l| seqs(l).contains(&waited));
    // The entry that waited arrived (perhaps twice: the frozen daemon read the first try too).
    assert!(
        lines
            .iter()
            .any(|l| seq_of(l) == Some(waited) && l.contains(" vault.unlock ")),
        "{lines:?}"
    );
}
