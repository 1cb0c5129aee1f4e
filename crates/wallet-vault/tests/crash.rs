//! Crash consistency. This test binary re-runs itself as a child process that writes records
//! in a loop (credentials, roster entries, tokens, activity entries) and prints a line after
//! each commit. The parent SIGKILLs it at random moments, 60 times, sometimes while it is
//! still opening or unlocking the vault. After every kill the vault must open, every write the
//! child reported as committed must be there and decrypt, the activity log must verify
//! (including its sealed anchor) and SQLite's integrity check must pass.
//!
//! `harness = false`: `main` is the test; it prints libtest-style result lines.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use wallet_vault::*;

const CHILD_ENV: &str = "NUTS_VAULT_CRASH_CHILD_DIR";
const TEST_NAME: &str = "crash_consistency_under_sigkill";
const KILLS: usize = 60;
const VAULT_PW: &str = "crash test passphrase";
const ADMIN_PW: &str = "crash test admin passphrase";

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    // Honour `cargo test <filter>` like libtest would.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        println!("{TEST_NAME}: test");
        return;
    }
    if !filters.is_empty() && !filters.iter().any(|f| TEST_NAME.contains(f.as_str())) {
        println!("\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out\n");
        return;
    }
    println!("\nrunning 1 test");
    let start = Instant::now();
    let result = std::panic::catch_unwind(parent);
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            println!("test {TEST_NAME} ... ok\n");
            println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in {secs:.2}s\n");
        }
        Err(_) => {
            println!("test {TEST_NAME} ... FAILED\n");
            println!("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in {secs:.2}s\n");
            std::process::exit(101);
        }
    }
}

fn random_below(n: u32) -> u32 {
    OsRng.next_u32() % n
}

fn open_unlocked(dir: &Path) -> Vault {
    let v = Vault::open(dir, Arc::new(MemoryKeyStore::new())).expect("vault opens after a kill");
    v.unlock(Unlock::Passphrase(&Passphrase::from(VAULT_PW)))
        .expect("vault unlocks after a kill");
    v
}

/// The child: writes until killed, printing `C <kind> <id> <n>` after each commit.
fn child(dir: &Path) {
    let v = open_unlocked(dir);
    let admin = v
        .admin_session(&Passphrase::from(ADMIN_PW))
        .expect("admin session");
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    let tag = std::process::id();
    for n in 0u64.. {
        let line = match n % 4 {
            0 => {
                let m = v
                    .credentials()
                    .import(
                        &admin,
                        NewCredential {
                            listing: CredentialListing {
                                types: vec!["VerifiableCredential".into()],
                                format: "jwt_vc".into(),
                                issuer: "did:web:issuer.example".into(),
                                subject: None,
                                valid_from_ms: None,
                                valid_until_ms: None,
                            },
                            raw: SecretString::from(format!("raw-{tag}-{n}")),
                        },
                    )
                    .unwrap();
                format!("C cred {} {tag}-{n}", m.id)
            }
            1 => {
                let id = v
                    .tokens()
                    .put(NewToken {
                        kind: "access_token".into(),
                        audience: "aud".into(),
                        expires_at_ms: None,
                        value: SecretString::from(format!("raw-{tag}-{n}")),
                    })
                    .unwrap();
                format!("C token {id} {tag}-{n}")
            }
            2 => {
                let e = v
                    .employees()
                    .add(
                        &admin,
                        NewEmployee {
                            identifier: format!("uzi:{tag}-{n}"),
                            personal: serde_json::json!({ "n": n }),
                            key_id: None,
                        },
                    )
                    .unwrap();
                format!("C emp {} {tag}-{n}", e.id)
            }
            _ => {
                let e = v
                    .activity_log()
                    .record(NewActivity::new(
                        Actor::Employee("e1".into()),
                        "crash.test",
                        &format!("{tag}-{n}"),
                    ))
                    .unwrap();
                format!("C act {} {tag}-{n}", e.seq)
            }
        };
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    }
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(
        dir.path(),
        Arc::new(MemoryKeyStore::new()),
        CreateOptions {
            protection: Protection::Passphrase {
                passphrase: Passphrase::from(VAULT_PW),
                kdf: KdfParams::INSECURE_TEST,
            },
            admin_passphrase: Passphrase::from(ADMIN_PW),
            admin_kdf: KdfParams::INSECURE_TEST,
        },
    )
    .unwrap();
    drop(v);
    let exe = std::env::current_exe().unwrap();
    let mut committed: Vec<String> = Vec::new();
    let mut early_kills = 0;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let ready = Arc::new(Mutex::new(false));
        let reader = {
            let lines = lines.clone();
            let ready = ready.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match r.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        // Only complete lines count: a line cut by the kill was not reported.
                        Ok(_) if buf.ends_with(b"\n") => {
                            let s = String::from_utf8_lossy(&buf).trim_end().to_owned();
                            if s == "READY" {
                                *ready.lock().unwrap() = true;
                            } else {
                                lines.lock().unwrap().push(s);
                            }
                        }
                        Ok(_) => break,
                    }
                }
            })
        };
        if round % 4 == 0 {
            // Kill early: while opening, migrating, unlocking or logging the unlock.
            early_kills += 1;
            std::thread::sleep(Duration::from_millis(u64::from(random_below(25))));
        } else {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !*ready.lock().unwrap() {
                assert!(Instant::now() < deadline, "child never became ready");
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("child exited early: {status}");
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(u64::from(1 + random_below(60))));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success());
        reader.join().unwrap();
        let new_lines = std::mem::take(&mut *lines.lock().unwrap());
        committed.extend(new_lines);
        check(dir.path(), &committed, round);
    }
    let writes = committed.len();
    // Not vacuous: the children must have got real work committed before being killed (a few
    // per run on a quiet machine; the bound leaves room for a heavily loaded CI host).
    assert!(
        writes >= 20,
        "the children committed only {writes} writes in {KILLS} runs"
    );
    eprintln!(
        "crash test: {KILLS} kills ({early_kills} early), {writes} committed writes verified"
    );
}

fn check(dir: &Path, committed: &[String], round: usize) {
    let v = open_unlocked(dir);
    for line in committed {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 4, "bad line {line:?}");
        let (kind, id, tag) = (parts[1], parts[2], parts[3]);
        let expected_raw = format!("raw-{tag}");
        match kind {
            "cred" => assert_eq!(
                v.credentials()
                    .get(id)
                    .unwrap_or_else(|e| panic!("round {round}: committed credential lost: {e}"))
                    .raw
                    .expose_secret(),
                expected_raw
            ),
            "token" => assert_eq!(
                v.tokens()
                    .get(id)
                    .unwrap_or_else(|e| panic!("round {round}: committed token lost: {e}"))
                    .value
                    .expose_secret(),
                expected_raw
            ),
            "emp" => assert_eq!(
                v.employees()
                    .get(id)
                    .unwrap_or_else(|e| panic!("round {round}: committed employee lost: {e}"))
                    .identifier,
                format!("uzi:{tag}")
            ),
            "act" => {
                let seq: i64 = id.parse().unwrap();
                let found = v
                    .activity_log()
                    .list(&ActivityFilter {
                        subject: Some(tag.to_owned()),
                        ..Default::default()
                    })
                    .unwrap();
                assert!(
                    found
                        .iter()
                        .any(|e| e.seq == seq && e.action == "crash.test"),
                    "round {round}: committed activity entry {seq} lost"
                );
            }
            other => panic!("unknown kind {other}"),
        }
    }
    let report = v.activity_log().verify().unwrap();
    assert!(report.anchor_checked);
    assert!(
        report.is_ok(),
        "round {round}: activity log broken: {report:?}"
    );
    drop(v);
    let c = rusqlite::Connection::open(db_path(dir)).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "round {round}");
}
