//! What an attacker tries against the desktop app's start; each test names the attack it
//! stops.

#[cfg(unix)]
mod unix {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// A launcher (or a crafted link handler) passing an argument that is not UTF-8 made the
    /// app panic inside the plugins' argument handling at cold start: it now stops with a
    /// clear message and exit status 2, before any window or plugin.
    #[test]
    fn a_non_utf8_argument_is_refused_with_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nuts-wallet-app"))
            .arg(OsString::from_vec(
                b"nuts-wallet://authorize?\xff\xfe".to_vec(),
            ))
            .env("NUTS_WALLET_DATA_DIR", tmp.path())
            .env("HOME", tmp.path())
            .env("XDG_DATA_HOME", tmp.path())
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("the app did not stop");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(2), "{err}");
        assert!(err.contains("not valid UTF-8"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
