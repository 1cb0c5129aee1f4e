//! The user PIN as a secret: zeroized on drop, never printed.

use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Environment variable [`pin_from_env`] reads (headless runs: CLI, services).
pub const PIN_ENV: &str = "NUTS_WALLET_PKCS11_PIN";

/// A token's user PIN. Zeroized on drop; `Debug` prints `[redacted]`.
pub struct Pin {
    secret: AuthPin,
    empty: bool,
    digest: Zeroizing<[u8; 32]>,
}

impl Pin {
    /// Takes the PIN; the `String`'s buffer is zeroized.
    pub fn new(mut pin: String) -> Self {
        // A fresh, exactly sized allocation: `into_boxed_str` could reallocate and free the
        // old buffer without wiping it.
        let boxed: Box<str> = Box::from(pin.as_str());
        let empty = pin.is_empty();
        let digest = Zeroizing::new(Sha256::digest(pin.as_bytes()).into());
        pin.zeroize();
        Self {
            secret: AuthPin::from(boxed),
            empty,
            digest,
        }
    }

    pub(crate) fn auth(&self) -> &AuthPin {
        &self.secret
    }

    /// SHA-256 of the PIN, to compare with the PIN of an earlier login.
    pub(crate) fn digest(&self) -> Zeroizing<[u8; 32]> {
        self.digest.clone()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.empty
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

/// The PIN from `NUTS_WALLET_PKCS11_PIN`, if set and not empty.
pub fn pin_from_env() -> Option<Pin> {
    let mut value = std::env::var(PIN_ENV).ok()?;
    if value.is_empty() {
        value.zeroize();
        return None;
    }
    Some(Pin::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let pin = Pin::new("123456".to_owned());
        assert_eq!(format!("{pin:?}"), "Pin([redacted])");
        assert!(!pin.is_empty());
        assert!(Pin::new(String::new()).is_empty());
    }
}
