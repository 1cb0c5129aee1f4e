//! Administrator sessions: the administrator passphrase, checked against a verifier sealed
//! with the vault key, opens a short-lived session that every administrator action requires.

use std::time::{Duration, Instant};

use super::{check_passphrase_strength, Vault, ADMIN_SESSION_TTL};
use crate::audit::{Actor, NewActivity, Outcome};
use crate::crypto::{self, KdfParams, Place};
use crate::secret::{Key256, Passphrase};
use crate::{PassphraseKind, Result, VaultError};

/// Proof that the administrator passphrase was given recently on this vault. Required by every
/// administrator action. It cannot be built outside this crate, expires after
/// [`ADMIN_SESSION_TTL`], and becomes invalid when the vault is locked.
pub struct AdminSession {
    vault_id: String,
    epoch: u64,
    expires: Instant,
}

impl std::fmt::Debug for AdminSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSession")
            .field("vault_id", &self.vault_id)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Verifies the administrator passphrase and returns a session for admin actions.
    /// Needs the vault unlocked. Attempts are logged.
    pub fn admin_session(&self, admin_passphrase: &Passphrase) -> Result<AdminSession> {
        let key = self.key()?;
        let (verifier, version): (Option<Vec<u8>>, i64) = {
            let conn = self.conn();
            self.checked_state(&conn, &key)?;
            conn.query_row(
                "SELECT admin_verifier, admin_version FROM vault_meta WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        };
        let Some(verifier) = verifier else {
            return Err(VaultError::AdminRequired(
                "no administrator passphrase is set",
            ));
        };
        let ok =
            crypto::check_verifier(admin_passphrase, &open_verifier(&key, &verifier, version)?)?;
        self.write(|tx, _| {
            tx.record(
                NewActivity::new(Actor::Admin, "admin.login", &self.inner.vault_id).outcome(
                    if ok {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    },
                ),
            )?;
            Ok(())
        })?;
        if !ok {
            return Err(VaultError::WrongPassphrase(PassphraseKind::Admin));
        }
        Ok(AdminSession {
            vault_id: self.inner.vault_id.clone(),
            epoch: self.state().epoch,
            expires: Instant::now() + ADMIN_SESSION_TTL,
        })
    }

    /// An administrator session for applying a verified organization profile on a managed
    /// workstation: there the profile, signed by the organization key, is the authority over
    /// the roster, policy and credentials, not the workstation's own administrator. Needs the
    /// vault unlocked; recorded as `admin.profile_session` by the system with the profile
    /// version. Only the profile code calls this, after verifying the profile's signature.
    pub fn profile_session(&self, profile_version: u64) -> Result<AdminSession> {
        self.key()?;
        self.write(|tx, _| {
            tx.record(
                NewActivity::new(Actor::System, "admin.profile_session", &self.inner.vault_id)
                    .detail(serde_json::json!({ "profile_version": profile_version })),
            )?;
            Ok(())
        })?;
        Ok(AdminSession {
            vault_id: self.inner.vault_id.clone(),
            epoch: self.state().epoch,
            expires: Instant::now() + ADMIN_SESSION_TTL,
        })
    }

    /// Checks that `session` is a live administrator session of this vault.
    pub(crate) fn check_admin(&self, session: &AdminSession, action: &'static str) -> Result<()> {
        let st = self.state();
        if st.key.is_none() {
            return Err(VaultError::Locked);
        }
        if session.vault_id != self.inner.vault_id
            || session.epoch != st.epoch
            || Instant::now() >= session.expires
        {
            return Err(VaultError::AdminRequired(action));
        }
        Ok(())
    }

    /// Seconds left in a live administrator session of this vault; `None` when it expired, the
    /// vault was locked since, or it belongs to another vault (the app shows this as a timer).
    pub fn admin_session_remaining(&self, session: &AdminSession) -> Option<Duration> {
        self.check_admin(session, "check")
            .ok()
            .map(|()| session.expires.saturating_duration_since(Instant::now()))
    }

    /// Replaces the administrator passphrase.
    pub fn set_admin_passphrase(
        &self,
        session: &AdminSession,
        new_passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<()> {
        self.check_admin(session, "changing the administrator passphrase")?;
        check_passphrase_strength(new_passphrase, "administrator")?;
        let verifier = crypto::make_verifier(new_passphrase, &kdf)?;
        self.write(|tx, key| {
            tx.sql().execute(
                "UPDATE vault_meta SET admin_verifier = ?1, admin_version = ?2 WHERE id = 1",
                rusqlite::params![seal_verifier(key, &verifier, tx.version()), tx.version()],
            )?;
            tx.record(NewActivity::new(
                Actor::Admin,
                "admin.passphrase.change",
                &self.inner.vault_id,
            ))?;
            Ok(())
        })
    }
}

fn verifier_place(version: i64) -> Place<'static> {
    Place::new("vault_meta", "1", "admin_verifier").versioned(version)
}

/// Seals the administrator verifier with the vault key, bound to its `admin_version`.
pub(crate) fn seal_verifier(key: &Key256, phc: &str, version: i64) -> Vec<u8> {
    crypto::seal(key, verifier_place(version), phc.as_bytes())
}

/// Opens the sealed administrator verifier.
pub(crate) fn open_verifier(key: &Key256, sealed: &[u8], version: i64) -> Result<String> {
    let plain = crypto::open(key, verifier_place(version), sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| verifier_place(version).tampered())
}
