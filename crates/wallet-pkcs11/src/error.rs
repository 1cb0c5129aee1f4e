//! Typed PKCS#11 failures with stable codes for the UI.

use std::path::PathBuf;

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, RvError};

/// Why the HSM key could not be reached or used. Messages name the PKCS#11 part (module,
/// token, PIN, key object) so an administrator knows what to fix; none contains a PIN.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// The URI is malformed, incomplete, or carries a PIN.
    #[error("invalid PKCS#11 URI: {0}")]
    InvalidUri(String),
    /// No file at the module path.
    #[error("the PKCS#11 module {} does not exist", path.display())]
    ModuleNotFound {
        /// The configured module path.
        path: PathBuf,
    },
    /// The file exists but could not be loaded as a PKCS#11 module.
    #[error("{} could not be loaded as a PKCS#11 module: {detail}", path.display())]
    ModuleLoad {
        /// The configured module path.
        path: PathBuf,
        /// What the loader or `C_Initialize` said.
        detail: String,
    },
    /// No token with that label in any slot.
    #[error(
        "no PKCS#11 token with label \"{label}\" (tokens present: {})",
        list(present)
    )]
    TokenAbsent {
        /// The label looked for.
        label: String,
        /// Labels of the tokens the module does show.
        present: Vec<String>,
    },
    /// No PIN was given (an empty PIN).
    #[error("the PKCS#11 token \"{token}\" needs its user PIN")]
    PinRequired {
        /// Token label.
        token: String,
    },
    /// `C_Login` refused the PIN.
    #[error("wrong user PIN for the PKCS#11 token \"{token}\"")]
    WrongPin {
        /// Token label.
        token: String,
    },
    /// The token locked the user PIN after too many wrong tries.
    #[error("the user PIN of the PKCS#11 token \"{token}\" is locked; the security officer must unlock it")]
    PinLocked {
        /// Token label.
        token: String,
    },
    /// No private key with that label (and id) on the token.
    #[error("no private key \"{object}\" on the PKCS#11 token \"{token}\"")]
    KeyMissing {
        /// Token label.
        token: String,
        /// Key label.
        object: String,
    },
    /// The object exists but is not an EC key on P-256.
    #[error("the PKCS#11 object \"{object}\" is not an EC P-256 key (found {found})")]
    NotEcP256 {
        /// Key label.
        object: String,
        /// What it is instead (key type or curve).
        found: String,
    },
    /// The token or device went away or failed mid-run.
    #[error("the PKCS#11 token is unreachable: {0}")]
    Unreachable(String),
    /// Anything else the module reported.
    #[error("PKCS#11 error: {0}")]
    Other(String),
}

fn list(labels: &[String]) -> String {
    if labels.is_empty() {
        "none".to_owned()
    } else {
        labels
            .iter()
            .map(|l| format!("\"{l}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Pkcs11Error {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Pkcs11Error::InvalidUri(_) => "pkcs11_invalid_uri",
            Pkcs11Error::ModuleNotFound { .. } => "pkcs11_module_not_found",
            Pkcs11Error::ModuleLoad { .. } => "pkcs11_module_load",
            Pkcs11Error::TokenAbsent { .. } => "pkcs11_token_absent",
            Pkcs11Error::PinRequired { .. } => "pkcs11_pin_required",
            Pkcs11Error::WrongPin { .. } => "pkcs11_wrong_pin",
            Pkcs11Error::PinLocked { .. } => "pkcs11_pin_locked",
            Pkcs11Error::KeyMissing { .. } => "pkcs11_key_missing",
            Pkcs11Error::NotEcP256 { .. } => "pkcs11_not_ec_p256",
            Pkcs11Error::Unreachable(_) => "pkcs11_unreachable",
            Pkcs11Error::Other(_) => "pkcs11_other",
        }
    }

    /// Whether reconnecting (new session, new login, perhaps a module re-initialisation)
    /// may help: the token or session went away rather than refused something.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            Pkcs11Error::Unreachable(_) | Pkcs11Error::TokenAbsent { .. }
        )
    }
}

/// The `CKR_` name of a return value, for messages (the crate's own text is a paragraph).
pub(crate) fn ckr_name(rv: RvError) -> String {
    let name = format!("{rv:?}");
    let mut out = String::from("CKR_");
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Return values meaning the session, token or device is gone or broken: reconnect.
pub(crate) fn is_unreachable_rv(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::DeviceRemoved
            | RvError::DeviceError
            | RvError::DeviceMemory
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::SlotIdInvalid
            | RvError::CryptokiNotInitialized
            | RvError::GeneralError
            | RvError::FunctionFailed
            | RvError::UserNotLoggedIn
            | RvError::ObjectHandleInvalid
            | RvError::KeyHandleInvalid
    )
}

/// Maps a cryptoki error for `token`; PIN and reachability errors get their own variants.
pub(crate) fn map_ck(err: CkError, token: &str) -> Pkcs11Error {
    match err {
        CkError::Pkcs11(rv, func) => map_rv(rv, func, token),
        other => Pkcs11Error::Other(other.to_string()),
    }
}

pub(crate) fn map_rv(rv: RvError, func: Function, token: &str) -> Pkcs11Error {
    let token = token.to_owned();
    match rv {
        RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange => {
            Pkcs11Error::WrongPin { token }
        }
        RvError::PinLocked => Pkcs11Error::PinLocked { token },
        rv if is_unreachable_rv(rv) => {
            Pkcs11Error::Unreachable(format!("C_{func:?} returned {}", ckr_name(rv)))
        }
        rv => Pkcs11Error::Other(format!("C_{func:?} returned {}", ckr_name(rv))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pin_and_device_return_values() {
        let t = "Org";
        let e = map_ck(CkError::Pkcs11(RvError::PinIncorrect, Function::Login), t);
        assert_eq!(e.code(), "pkcs11_wrong_pin");
        assert_eq!(
            e.to_string(),
            "wrong user PIN for the PKCS#11 token \"Org\""
        );
        let e = map_ck(CkError::Pkcs11(RvError::PinLocked, Function::Login), t);
        assert_eq!(e.code(), "pkcs11_pin_locked");
        assert!(e.to_string().contains("locked"));
        for rv in [
            RvError::TokenNotPresent,
            RvError::DeviceRemoved,
            RvError::DeviceError,
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
        ] {
            let e = map_ck(CkError::Pkcs11(rv, Function::Sign), t);
            assert_eq!(e.code(), "pkcs11_unreachable", "{rv:?}");
            assert!(e.is_transient());
        }
        let e = map_ck(CkError::Pkcs11(RvError::DeviceRemoved, Function::Sign), t);
        assert_eq!(
            e.to_string(),
            "the PKCS#11 token is unreachable: C_Sign returned CKR_DEVICE_REMOVED"
        );
        let e = map_ck(
            CkError::Pkcs11(RvError::MechanismInvalid, Function::SignInit),
            t,
        );
        assert_eq!(e.code(), "pkcs11_other");
        assert!(e.to_string().contains("CKR_MECHANISM_INVALID"), "{e}");
        assert!(!e.is_transient());
    }

    #[test]
    fn token_absent_lists_the_labels_present() {
        let e = Pkcs11Error::TokenAbsent {
            label: "Org".into(),
            present: vec!["A".into(), "B".into()],
        };
        assert_eq!(
            e.to_string(),
            "no PKCS#11 token with label \"Org\" (tokens present: \"A\", \"B\")"
        );
    }
}
