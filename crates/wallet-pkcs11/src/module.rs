//! One loaded and initialised PKCS#11 module per path per process.
//!
//! `C_Initialize`/`C_Finalize` act on the whole process, so every signer of a module shares
//! one context. A re-initialisation (after the token or device went away, see
//! [`Module::reinitialize`]) invalidates every session of the module; the generation
//! counter lets each signer notice that its session died with the old context, and the
//! lock keeps `C_Finalize` from running while another thread is inside the module.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};

use zeroize::Zeroizing;

use crate::error::{ckr_name, Pkcs11Error};
use crate::pin::Pin;

pub(crate) struct Module {
    path: PathBuf,
    ctx: Pkcs11,
    /// The context generation; bumped by every re-initialisation. Readers hold the lock for
    /// the duration of their PKCS#11 calls.
    generation: RwLock<u64>,
    /// Per token label, the SHA-256 of the PIN its last successful `C_Login` used: a later
    /// login that the token answers with `CKR_USER_ALREADY_LOGGED_IN` (the login state is
    /// per token and process) is checked against it instead of being taken as proof.
    logins: Mutex<HashMap<String, Zeroizing<[u8; 32]>>>,
    /// Held from "is the key there?" to "generated": two threads of this process must not
    /// both find it missing and make two keys under one label.
    pub(crate) keygen: Mutex<()>,
}

/// A module in use: the context and the generation it is in, with `C_Finalize` held off.
pub(crate) struct ModuleGuard<'a> {
    pub(crate) module: &'a Module,
    pub(crate) ctx: &'a Pkcs11,
    pub(crate) generation: u64,
    _lock: RwLockReadGuard<'a, u64>,
}

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();

impl Module {
    /// The process's context for `path`, loading and initialising it on first use.
    pub(crate) fn get(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
        // Keyed by the resolved file: two paths (a symlink) to one library are one module
        // in the process, and must share one context and one re-initialisation gate.
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let mut modules = MODULES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = modules.get(&key) {
            return Ok(m.clone());
        }
        if !path.is_file() {
            return Err(Pkcs11Error::ModuleNotFound {
                path: path.to_owned(),
            });
        }
        let load_err = |detail: String| Pkcs11Error::ModuleLoad {
            path: path.to_owned(),
            detail,
        };
        let ctx = Pkcs11::new(path).map_err(|e| match e {
            CkError::LibraryLoading(e) => load_err(format!("the loader refused it ({e})")),
            CkError::MissingSymbol(s) => load_err(format!("it has no {s}")),
            other => load_err(other.to_string()),
        })?;
        initialize(&ctx).map_err(load_err)?;
        let module = Arc::new(Module {
            path: path.to_owned(),
            ctx,
            generation: RwLock::new(0),
            logins: Mutex::default(),
            keygen: Mutex::default(),
        });
        modules.insert(key, module.clone());
        Ok(module)
    }

    /// The context, held in its current generation until the guard is dropped.
    pub(crate) fn enter(&self) -> ModuleGuard<'_> {
        let lock = self
            .generation
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        ModuleGuard {
            module: self,
            ctx: &self.ctx,
            generation: *lock,
            _lock: lock,
        }
    }

    /// Records the PIN a `C_Login` on `token` accepted.
    pub(crate) fn remember_login(&self, token: &str, pin: &Pin) {
        self.logins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.to_owned(), pin.digest());
    }

    /// For a login the token did not check: `Some(true)` if `pin` is the one an earlier
    /// login of this process used, `None` if no login of ours is known.
    pub(crate) fn matches_login(&self, token: &str, pin: &Pin) -> Option<bool> {
        self.logins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .map(|known| **known == *pin.digest())
    }

    /// `C_Finalize` + `C_Initialize`, unless another thread already did so since `seen`.
    /// Modules (SoftHSM, network HSM clients) keep the token list and their view of a token
    /// from `C_Initialize`; after a device went away and came back only a fresh
    /// initialisation finds it again. Every session of the module is invalid afterwards.
    pub(crate) fn reinitialize(&self, seen: u64) -> Result<(), Pkcs11Error> {
        let mut generation = self
            .generation
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if *generation != seen {
            return Ok(());
        }
        *generation += 1;
        match self.ctx.clone().finalize() {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiNotInitialized, _)) => {}
            Err(e) => {
                return Err(Pkcs11Error::Unreachable(format!(
                    "re-initialising {}: {e}",
                    self.path.display()
                )))
            }
        }
        initialize(&self.ctx).map_err(|detail| {
            Pkcs11Error::Unreachable(format!("re-initialising {}: {detail}", self.path.display()))
        })
    }
}

fn initialize(ctx: &Pkcs11) -> Result<(), String> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(CkError::Pkcs11(rv, _)) => Err(format!("C_Initialize returned {}", ckr_name(rv))),
        Err(e) => Err(format!("C_Initialize failed: {e}")),
    }
}
