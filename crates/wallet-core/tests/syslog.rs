//! Audit forwarding against a real rsyslogd on loopback (wallet-testkit starts it): order and
//! completeness across a collector restart, TLS with the test CA, the RFC 5424 fields as the
//! collector parsed them, and continuous delivery by the forwarder.

use std::sync::Arc;
use std::time::Duration;

use wallet_core::audit_forward::{self, ForwardConfig, Forwarder};
use wallet_testkit::pki::TestPki;
use wallet_testkit::rsyslog::{seq_of, Rsyslog};
use wallet_vault::{
    outbox, Actor, CreateOptions, KdfParams, MemoryKeyStore, NewActivity, Outcome, Passphrase,
    Protection, Unlock, Vault,
};

const ADMIN: &str = "admin passphrase";
const VAULT_PW: &str = "vault passphrase";

fn vault(dir: &std::path::Path) -> Vault {
    Vault::create(
        dir,
        Arc::new(MemoryKeyStore::new()),
        CreateOptions {
            protection: Protection::Passphrase {
                passphrase: Passphrase::from(VAULT_PW),
                kdf: KdfParams::INSECURE_TEST,
            },
            admin_passphrase: Passphrase::from(ADMIN),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap()
}

fn configure(v: &Vault, syslog: &str, ca_pem: Option<&[u8]>) {
    let admin = v.admin_session(&Passphrase::from(ADMIN)).unwrap();
    audit_forward::set_forwarding(
        v,
        &admin,
        ForwardConfig {
            syslog: syslog.to_owned(),
            ca_pem: ca_pem.map(|p| String::from_utf8(p.to_vec()).unwrap()),
        },
    )
    .unwrap();
}

fn record(v: &Vault, action: &str, subject: &str) -> i64 {
    v.activity_log()
        .record(NewActivity::new(
            Actor::Employee("e1".into()),
            action,
            subject,
        ))
        .unwrap()
        .seq
}

fn seqs(lines: &[String]) -> Vec<i64> {
    lines.iter().filter_map(|l| seq_of(l)).collect()
}

/// Every sequence number from `first` to `last` arrived, and in order: a batch sent again after
/// a failure may repeat entries (at least once), but the first arrivals are in log order.
fn assert_complete_in_order(got: &[i64], first: i64, last: i64) {
    let mut firsts: Vec<i64> = Vec::new();
    for s in got {
        if !firsts.contains(s) {
            firsts.push(*s);
        }
    }
    assert_eq!(firsts, (first..=last).collect::<Vec<_>>(), "{got:?}");
}

/// Sequence number of the newest `audit.forward.configure` entry.
fn configured_at(v: &Vault) -> i64 {
    v.activity_log()
        .list(&wallet_vault::ActivityFilter {
            action_prefix: Some("audit.forward.configure".into()),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap()[0]
        .seq
}

#[test]
fn entries_wait_while_the_collector_is_down_and_all_arrive_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    // Written before forwarding is configured: not forwarded (`audit export` has them).
    let before = record(&v, "credential.import", "old");
    let mut rs = Rsyslog::tcp();
    configure(&v, &rs.url(), None);
    let configured = configured_at(&v);
    assert!(configured > before);
    let mut last = 0;
    for i in 0..5 {
        last = record(&v, "presentation.send", &format!("v{i}"));
    }
    let flushed = audit_forward::flush(&v, Duration::from_secs(10)).unwrap();
    assert_eq!(flushed.delivered, 6);
    let lines = rs.wait_for(Duration::from_secs(5), |l| l.len() >= 6);
    assert_eq!(seqs(&lines), (configured..=last).collect::<Vec<_>>());
    assert!(
        lines[0].contains(" audit.forward.configure "),
        "{}",
        lines[0]
    );

    // The collector goes away; entries keep coming, one of them while the vault is locked.
    rs.stop();
    for i in 0..3 {
        last = record(&v, "presentation.send", &format!("w{i}"));
    }
    v.lock();
    assert!(v
        .unlock(Unlock::Passphrase(&Passphrase::from("wrong!!!")))
        .is_err());
    let locked_entry = last + 1;
    let err = audit_forward::flush(&v, Duration::from_secs(3)).unwrap_err();
    assert_eq!(err.code(), "connect", "{err}");
    let st = audit_forward::status(&v).unwrap();
    assert_eq!(st.pending, 4);
    assert_eq!(st.last_delivered_seq, Some(configured + 5));
    assert!(
        st.last_error.as_deref().unwrap().contains(&rs.url()),
        "{st:?}"
    );
    v.unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
        .unwrap();
    // `doctor` and the Status screen say entries wait, for which collector and why.
    match wallet_core::doctor::check_forwarding(&v) {
        Some(wallet_core::doctor::Check::Warning(d)) => {
            assert!(
                d.contains("entries wait for") && d.contains(&rs.url()),
                "{d}"
            )
        }
        other => panic!("expected a warning, got {other:?}"),
    }
    last = record(&v, "presentation.send", "after-unlock");
    assert!(last > locked_entry);

    rs.start();
    audit_forward::flush(&v, Duration::from_secs(10)).unwrap();
    let lines = rs.wait_for(Duration::from_secs(5), |l| {
        seqs(l).last().copied() == Some(last)
    });
    let got = seqs(&lines);
    assert_complete_in_order(&got, configured, last);
    assert!(lines
        .iter()
        .any(|l| seq_of(l) == Some(locked_entry) && l.contains(" vault.unlock ")));
    let st = audit_forward::status(&v).unwrap();
    assert_eq!(st.pending, 0);
    assert_eq!(st.last_delivered_seq, Some(last));
    assert_eq!(st.last_error, None);
    match wallet_core::doctor::check_forwarding(&v) {
        Some(wallet_core::doctor::Check::Ok(d)) => assert!(d.contains("0 waiting"), "{d}"),
        other => panic!("expected ok, got {other:?}"),
    }

    // Off: nothing more is queued.
    let admin = v.admin_session(&Passphrase::from(ADMIN)).unwrap();
    audit_forward::turn_off_forwarding(&v, &admin).unwrap();
    record(&v, "presentation.send", "after-off");
    assert_eq!(audit_forward::status(&v).unwrap().pending, 0);
    assert!(audit_forward::forwarding(&v).unwrap().is_none());
    assert_eq!(wallet_core::doctor::check_forwarding(&v), None);
}

#[test]
fn messages_carry_the_entry_as_rfc5424_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let rs = Rsyslog::tcp();
    configure(&v, &rs.url(), None);
    let ok = v
        .activity_log()
        .record(NewActivity::new(
            Actor::Employee("e\"1".into()),
            "presentation.send",
            "https://v.example/a]b\\c",
        ))
        .unwrap();
    let declined = v
        .activity_log()
        .record(
            NewActivity::new(
                Actor::Admin,
                "with space and ü in the action that is long",
                "s",
            )
            .outcome(Outcome::Declined)
            .detail(serde_json::json!({"why": "user"})),
        )
        .unwrap();
    audit_forward::flush(&v, Duration::from_secs(10)).unwrap();
    let lines = rs.wait_for(Duration::from_secs(5), |l| l.len() >= 3);
    let by_seq = |s: i64| {
        lines
            .iter()
            .find(|l| seq_of(l) == Some(s))
            .unwrap_or_else(|| panic!("{s} missing: {lines:?}"))
            .clone()
    };
    let l = by_seq(ok.seq);
    // PRI 86 = authpriv.info; rsyslog shows the SD as received (escapes kept).
    assert!(
        l.starts_with(&format!(
            "86 {} nuts-wallet {} presentation.send [nuts@32473 seq=\"{}\" hash=\"{}\" \
             actor=\"employee:e\\\"1\" subject=\"https://v.example/a\\]b\\\\c\" outcome=\"success\"] {{}}",
            wallet_core::audit_forward::syslog::hostname(),
            std::process::id(),
            ok.seq,
            ok.hash
        )),
        "{l}"
    );
    let l = by_seq(declined.seq);
    // PRI 85 = authpriv.notice; MSGID: printable ASCII, at most 32 characters.
    assert!(
        l.starts_with("85 ") && l.contains(" with_space_and___in_the_action_t [nuts@32473 "),
        "{l}"
    );
    assert!(l.ends_with(r#"{"why":"user"}"#), "{l}");
}

#[test]
fn tls_to_rsyslog_with_the_test_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let pki = TestPki::localhost();
    let rs = Rsyslog::tls(&pki);
    // Without the test CA the certificate is not trusted: nothing is sent, entries wait.
    configure(&v, &rs.url(), None);
    let c1 = configured_at(&v);
    let first = record(&v, "presentation.send", "tls-1");
    let err = audit_forward::flush(&v, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.code(), "tls", "{err}");
    assert!(rs.lines().is_empty());
    configure(&v, &rs.url(), Some(&pki.ca_pem));
    let last = record(&v, "presentation.send", "tls-2");
    audit_forward::flush(&v, Duration::from_secs(10)).unwrap();
    let lines = rs.wait_for(Duration::from_secs(5), |l| {
        seqs(l).last().copied() == Some(last)
    });
    // From the first configuration on: the entry that waited, the new configuration, the last.
    let got = seqs(&lines);
    assert!(got.contains(&first), "{got:?}");
    assert_complete_in_order(&got, c1, last);
    assert_eq!(audit_forward::status(&v).unwrap().pending, 0);
}

#[test]
fn the_forwarder_delivers_new_entries_continuously() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let rs = Rsyslog::tcp();
    configure(&v, &rs.url(), None);
    let forwarder = Forwarder::start(v.clone()).unwrap();
    let seq = record(&v, "presentation.send", "live");
    // Woken by the new entry: well before the 5 s poll.
    let lines = rs.wait_for(Duration::from_secs(3), |l| seqs(l).contains(&seq));
    assert!(seqs(&lines).contains(&seq), "{lines:?}");
    drop(forwarder);
    let seq2 = record(&v, "presentation.send", "after-stop");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!seqs(&rs.lines()).contains(&seq2));
    assert_eq!(audit_forward::status(&v).unwrap().pending, 1);
}

#[test]
fn collector_stopped_and_restarted_while_the_forwarder_sends() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let mut rs = Rsyslog::tcp();
    configure(&v, &rs.url(), None);
    let configured = configured_at(&v);
    let forwarder = Forwarder::start(v.clone()).unwrap();
    let mut last = 0;
    for i in 0..150 {
        last = record(&v, "presentation.send", &format!("m{i}"));
        if i == 40 {
            rs.stop();
        }
        if i == 100 {
            rs.start();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(forwarder);
    // The forwarder may be backing off: the rest now.
    audit_forward::flush(&v, Duration::from_secs(10)).unwrap();
    let lines = rs.wait_for(Duration::from_secs(5), |l| seqs(l).contains(&last));
    assert_complete_in_order(&seqs(&lines), configured, last);
    assert_eq!(audit_forward::status(&v).unwrap().pending, 0);
}

#[test]
fn delivery_from_another_locked_handle_leaves_the_state_commitment_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let rs = Rsyslog::tcp();
    configure(&v, &rs.url(), None);
    let first = record(&v, "presentation.send", "a");
    // Another process (here: another connection), locked, delivers.
    let other = Vault::open(tmp.path(), Arc::new(MemoryKeyStore::new())).unwrap();
    assert!(other.is_locked());
    audit_forward::flush(&other, Duration::from_secs(10)).unwrap();
    assert!(
        seqs(&rs.wait_for(Duration::from_secs(5), |l| seqs(l).contains(&first))).contains(&first)
    );
    // Keyed reads and writes of the first handle still find the sealed state intact.
    let next = record(&v, "presentation.send", "b");
    assert_eq!(audit_forward::status(&v).unwrap().pending, 1);
    assert!(v.activity_log().verify().unwrap().is_ok());
    audit_forward::flush(&v, Duration::from_secs(10)).unwrap();
    assert!(
        seqs(&rs.wait_for(Duration::from_secs(5), |l| seqs(l).contains(&next))).contains(&next)
    );
}

#[test]
fn a_collector_address_edited_in_the_file_is_refused_once_unlocked() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let rs = Rsyslog::tcp();
    configure(&v, &rs.url(), None);
    let db = wallet_vault::rusqlite::Connection::open(wallet_vault::db_path(tmp.path())).unwrap();
    db.execute(
        "UPDATE settings SET value = ?1 WHERE name = ?2",
        [
            r#"{"syslog":"tcp://attacker.example:514"}"#,
            outbox::SETTING_AUDIT_FORWARD,
        ],
    )
    .unwrap();
    drop(db);
    let err = audit_forward::flush(&v, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.code(), "tampered", "{err}");
    assert!(rs.lines().is_empty());
}
