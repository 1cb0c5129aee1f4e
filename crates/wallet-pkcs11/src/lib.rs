//! The organization's signing key in an HSM, reached through PKCS#11 and used behind
//! [`wallet_protocol::signer::Signer`] like any other key (no Tauri here).
//!
//! * **Where**: a [`Pkcs11Uri`] (`pkcs11:token=…;object=…?module-path=…`) names the module,
//!   the token (by label) and the key (by label, optionally `CKA_ID`). The PIN is never in
//!   the URI; it comes as a [`Pin`] (keyring, prompt, or [`pin_from_env`]).
//! * **Key**: [`Pkcs11Signer::open_or_generate`] creates the P-256 pair inside the token
//!   (`CKM_EC_KEY_PAIR_GEN`; the private half `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`), so
//!   the private key never exists outside it. The public JWK is read from `CKA_EC_POINT`.
//! * **Signing**: SHA-256 runs in software and the token signs the digest with `CKM_ECDSA`.
//!   `CKM_ECDSA_SHA256` is optional in PKCS#11 and missing on many tokens (smart cards,
//!   some network HSMs), while hashing a public JWS signing input discloses nothing. The
//!   output is the 64-byte `r || s` JWS form (DER from odd modules is converted).
//! * **PIN kept in memory**: the signer holds the PIN (zeroized on drop) so it can log in
//!   again by itself. A token that is unplugged, a network HSM that drops the connection
//!   or a module that restarts loses the session and its login; without the PIN every such
//!   event would need a restart or a new prompt in the middle of a token request.
//! * **Reconnect once**: a session or device error during a signature closes the session,
//!   finds the token's slot again by label, opens a new session, logs in, finds the key
//!   (checked to be the same public key) and retries once. When the token cannot be found,
//!   the module is re-initialised (`C_Finalize` + `C_Initialize`) once first, because many
//!   modules only see a returned device after that. Still absent: the signature fails with
//!   [`SignError::Unavailable`](wallet_protocol::signer::SignError::Unavailable) carrying
//!   the [`Pkcs11Error`] text, and the next signature tries again, so a returning HSM
//!   needs no restart. Never more than one retry: a wrong PIN must not be repeated into a
//!   lock-out, and a broken token must fail fast.
//!   `open` does the same when the token is not found, so a token plugged in or made
//!   while the app runs is found (SoftHSM, for one, lists only the tokens present at
//!   `C_Initialize`).
//! * **One module context per process**: `C_Initialize` is process-wide, so every signer
//!   of a module shares one context (`OS_LOCKING_OK`; an already initialised module is
//!   accepted). A re-initialisation waits until no thread is inside the module and ends
//!   every session of that module; the other signers notice and reconnect on their next
//!   signature.
//! * **Login is per token and process** (PKCS#11): while one session of this process is
//!   logged in to a token, `C_Login` on another answers `CKR_USER_ALREADY_LOGGED_IN`
//!   without checking the PIN, so a PIN is only verified by the first login to a token.

mod error;
mod module;
mod pin;
mod rsa;
mod signer;
mod uri;

pub use error::Pkcs11Error;
pub use pin::{pin_from_env, Pin, PIN_ENV};
pub use rsa::Pkcs11RsaKey;
pub use signer::Pkcs11Signer;
pub use uri::Pkcs11Uri;
