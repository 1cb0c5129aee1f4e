//! SoftHSM2 tokens for PKCS#11 tests: a private token directory and config, tokens made with
//! `softhsm2-util`, and `pkcs11-tool` runs against them.
//!
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`, and a module is initialised once per
//! process, so all tests of one test binary share [`SoftHsm::shared`] (which sets
//! `SOFTHSM2_CONF` before any module is loaded) and take a token of their own with
//! [`SoftHsm::init_token`]. SoftHSM lists only the tokens that existed at `C_Initialize`
//! (`C_GetSlotList` does not rescan the directory); `wallet-pkcs11` re-initialises the
//! module when a token is not found, which is how later tokens become visible.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The SO PIN of every test token.
pub const SO_PIN: &str = "so-pin-0000";
/// The user PIN of every test token.
pub const USER_PIN: &str = "user-pin-1234";
/// Debian/Ubuntu path of the module (`scripts/deps.sh` installs `softhsm2`).
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM2 token directory with its config and a first token.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    module: PathBuf,
    label: String,
    /// Token label → its directory (a UUID under `tokens/`). Also serialises token creation.
    tokens: Mutex<HashMap<String, PathBuf>>,
}

impl std::fmt::Debug for SoftHsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftHsm")
            .field("conf", &self.conf)
            .field("label", &self.label)
            .finish()
    }
}

impl SoftHsm {
    /// A new token directory and config with one token labelled `label`. Sets nothing in
    /// the environment: in-process module loads need [`SoftHsm::shared`].
    pub fn new(label: &str) -> SoftHsm {
        let module = module_path();
        let dir = tempfile::tempdir().expect("temp dir for SoftHSM");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).expect("SoftHSM token dir");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("write softhsm2.conf");
        let hsm = SoftHsm {
            dir,
            conf,
            module,
            label: label.to_owned(),
            tokens: Mutex::default(),
        };
        hsm.init_token(label);
        hsm
    }

    /// The process-wide instance (first token "wallet-test"); the first call points
    /// `SOFTHSM2_CONF` at it. Call it before anything loads the SoftHSM module.
    pub fn shared() -> &'static SoftHsm {
        static SHARED: OnceLock<SoftHsm> = OnceLock::new();
        SHARED.get_or_init(|| {
            let hsm = SoftHsm::new("wallet-test");
            std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
            hsm
        })
    }

    /// Initialises another token in the same directory (`softhsm2-util --init-token
    /// --free`) and returns its directory. Labels must be unique per instance.
    pub fn init_token(&self, label: &str) -> PathBuf {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(!tokens.contains_key(label), "token {label} exists already");
        let before = self.token_dirs();
        // softhsm2-util reads every token of the directory at start; one that the test
        // process is rewriting at that moment (token flags after a login) can make it fail
        // now and then. Retried while it left no token behind.
        for attempt in 1.. {
            let out = self.softhsm2_util(&[
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                USER_PIN,
            ]);
            if out.status.success() {
                break;
            }
            let made_one = self.token_dirs().len() != before.len();
            assert!(
                attempt < 3 && !made_one,
                "softhsm2-util --init-token {label}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let new: Vec<PathBuf> = self
            .token_dirs()
            .into_iter()
            .filter(|d| !before.contains(d))
            .collect();
        let [dir] = new.as_slice() else {
            panic!("expected one new token directory, found {new:?}");
        };
        tokens.insert(label.to_owned(), dir.clone());
        dir.clone()
    }

    fn token_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.tokens_dir())
            .expect("read SoftHSM token dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect()
    }

    /// The directory of token `label` (move it away to make the token vanish).
    pub fn token_dir(&self, label: &str) -> PathBuf {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
            .cloned()
            .unwrap_or_else(|| panic!("no token {label}"))
    }

    /// `directories.tokendir` of the config.
    pub fn tokens_dir(&self) -> PathBuf {
        self.dir.path().join("tokens")
    }

    /// The config file (the value for `SOFTHSM2_CONF`).
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// The module: `SOFTHSM2_MODULE` or [`DEFAULT_MODULE`].
    pub fn module_path(&self) -> &Path {
        &self.module
    }

    /// Label of the first token.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The user PIN of every token.
    pub fn pin(&self) -> &'static str {
        USER_PIN
    }

    /// The SO PIN of every token.
    pub fn so_pin(&self) -> &'static str {
        SO_PIN
    }

    /// `pkcs11:` URI of `object` on the first token.
    pub fn uri(&self, object: &str) -> String {
        self.uri_on(&self.label, object)
    }

    /// `pkcs11:` URI of `object` on token `token` (labels as given: no reserved characters).
    pub fn uri_on(&self, token: &str, object: &str) -> String {
        format!(
            "pkcs11:token={token};object={object}?module-path={}",
            self.module.display()
        )
    }

    /// Runs `pkcs11-tool --module <module> <args>` with this config.
    pub fn pkcs11_tool(&self, args: &[&str]) -> Output {
        Command::new("pkcs11-tool")
            .arg("--module")
            .arg(&self.module)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .expect("pkcs11-tool (OpenSC) is missing: run scripts/deps.sh")
    }

    /// `pkcs11-tool --list-objects --type privkey` of token `token`, logged in: the private keys'
    /// labels, usage and access flags as OpenSC prints them. Panics when the tool fails.
    pub fn list_private_keys(&self, token: &str) -> String {
        let out = self.pkcs11_tool(&[
            "--token-label",
            token,
            "--login",
            "--pin",
            self.pin(),
            "--list-objects",
            "--type",
            "privkey",
        ]);
        assert!(
            out.status.success(),
            "pkcs11-tool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `softhsm2-util <args>` with this config.
    pub fn softhsm2_util(&self, args: &[&str]) -> Output {
        Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .expect("softhsm2-util is missing: run scripts/deps.sh")
    }
}

fn module_path() -> PathBuf {
    let path = std::env::var_os("SOFTHSM2_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODULE));
    assert!(
        path.is_file(),
        "the SoftHSM2 module {} is missing: run scripts/deps.sh (or set SOFTHSM2_MODULE)",
        path.display()
    );
    path
}
