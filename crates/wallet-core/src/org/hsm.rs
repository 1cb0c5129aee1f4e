//! Organization keys in an HSM: one logged-in signer per key per process (a PKCS#11 login
//! costs more than a signature), and the PIN from, in this order: what was typed in the app
//! this session, `NUTS_WALLET_PKCS11_PIN`, the OS keyring. The PIN is never stored in the
//! clear, logged or printed; a wrong one is forgotten at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde_json::{Map, Value};
use wallet_pkcs11::{Pin, Pkcs11Error, Pkcs11Signer, Pkcs11Uri};
use wallet_protocol::signer::{SignError, Signer};
use zeroize::Zeroizing;

use super::{IdentityError, Result};

/// Keyring service of stored PINs (the vault's own entries use the same service).
const KEYRING_SERVICE: &str = wallet_vault::DEFAULT_KEYRING_SERVICE;

fn signers() -> MutexGuard<'static, HashMap<String, Arc<Pkcs11Signer>>> {
    static S: OnceLock<Mutex<HashMap<String, Arc<Pkcs11Signer>>>> = OnceLock::new();
    S.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn pins() -> MutexGuard<'static, HashMap<String, Zeroizing<String>>> {
    static P: OnceLock<Mutex<HashMap<String, Zeroizing<String>>>> = OnceLock::new();
    P.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// One PIN per token (module and token label).
fn token_key(uri: &Pkcs11Uri) -> String {
    format!("{}\u{0}{}", uri.module_path().display(), uri.token())
}

fn keyring_account(uri: &Pkcs11Uri) -> String {
    format!("pkcs11-pin:{}", uri.token())
}

/// Remembers the PIN typed in the app for this process.
pub fn provide_pin(uri: &Pkcs11Uri, pin: &str) {
    pins().insert(token_key(uri), Zeroizing::new(pin.to_owned()));
}

/// Stores the PIN in the OS keyring (after checking it opens the token), so that the app and
/// the CLI find it without asking.
pub fn remember_pin_in_keyring(uri: &Pkcs11Uri, pin: &str) -> Result<()> {
    // The PIN must open the token (the key may be made later).
    match Pkcs11Signer::open(uri, Pin::new(pin.to_owned()), String::new()) {
        Ok(_) | Err(Pkcs11Error::KeyMissing { .. }) => {}
        Err(e) => return Err(IdentityError::Hsm(e)),
    }
    keyring::Entry::new(KEYRING_SERVICE, &keyring_account(uri))
        .and_then(|e| e.set_password(pin))
        .map_err(|e| IdentityError::Protocol(format!("storing the PIN in the OS keyring: {e}")))
}

/// Forgets a PIN everywhere this process keeps one (after a wrong-PIN answer).
fn forget(uri: &Pkcs11Uri) {
    pins().remove(&token_key(uri));
    signers().remove(&uri.to_string());
}

/// The PIN of the token `uri` names: given in this process, from the environment, or from
/// the OS keyring.
pub(crate) fn pin_for(uri: &Pkcs11Uri) -> Result<Pin> {
    if let Some(p) = pins().get(&token_key(uri)) {
        return Ok(Pin::new(p.to_string()));
    }
    if let Some(p) = wallet_pkcs11::pin_from_env() {
        return Ok(p);
    }
    match keyring::Entry::new(KEYRING_SERVICE, &keyring_account(uri)).and_then(|e| e.get_password())
    {
        Ok(p) => Ok(Pin::new(p)),
        Err(_) => Err(IdentityError::Hsm(Pkcs11Error::PinRequired {
            token: uri.token().to_owned(),
        })),
    }
}

fn opened(
    uri: &Pkcs11Uri,
    open: impl FnOnce(Pin) -> std::result::Result<(Pkcs11Signer, bool), Pkcs11Error>,
) -> Result<(Arc<Pkcs11Signer>, bool)> {
    if let Some(s) = signers().get(&uri.to_string()) {
        return Ok((s.clone(), false));
    }
    let pin = pin_for(uri)?;
    match open(pin) {
        Ok((s, generated)) => {
            let s = Arc::new(s);
            signers().insert(uri.to_string(), s.clone());
            Ok((s, generated))
        }
        Err(e) => {
            if matches!(
                e,
                Pkcs11Error::WrongPin { .. } | Pkcs11Error::PinLocked { .. }
            ) {
                forget(uri);
            }
            Err(IdentityError::Hsm(e))
        }
    }
}

/// Opens the key at `uri`, generating the key pair inside the token when the object does not
/// exist; returns its public JWK and whether it was generated.
pub(super) fn open_or_generate(uri: &Pkcs11Uri) -> Result<(Map<String, Value>, bool)> {
    let (s, generated) = opened(uri, |pin| {
        Pkcs11Signer::open_or_generate(uri, pin, String::new())
    })?;
    Ok((s.public_jwk(), generated))
}

/// The signer of the existing key at `uri`, with `kid` as its key id.
pub fn signer(uri: &Pkcs11Uri, kid: &str) -> Result<HsmSigner> {
    let (inner, _) = opened(uri, |pin| {
        Pkcs11Signer::open(uri, pin, String::new()).map(|s| (s, false))
    })?;
    Ok(HsmSigner {
        inner,
        kid: kid.to_owned(),
    })
}

/// Whether the key at `uri` can sign now (for the app's status line).
pub fn check(uri: &Pkcs11Uri) -> Result<()> {
    let s = signer(uri, "")?;
    s.inner.check().map_err(IdentityError::Hsm)
}

/// An HSM key with the organization's key id.
pub struct HsmSigner {
    inner: Arc<Pkcs11Signer>,
    kid: String,
}

impl Signer for HsmSigner {
    fn algorithm(&self) -> &str {
        self.inner.algorithm()
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> Map<String, Value> {
        self.inner.public_jwk()
    }

    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, SignError> {
        self.inner.sign(message)
    }
}
