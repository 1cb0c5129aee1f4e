//! The wallet as one open session, shared by the desktop app (and later the loopback API):
//! whether a vault exists, is locked or unlocked, first-run setup, unlock and lock, idle
//! auto-lock and the activity log. It holds no Tauri types, so it is tested headless.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use wallet_vault::{
    ActivityEntry, ActivityFilter, AdminSession, AuditReport, CreateOptions, KdfParams, KeyStore,
    Passphrase, Protection, Unlock, Vault, VaultError,
};

/// Where the vault stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultState {
    /// No vault yet: first-run setup.
    Uninitialized,
    /// A vault exists; its key is not in memory.
    Locked,
    /// Open for use.
    Unlocked,
}

/// What the UI needs to pick a screen.
#[derive(Debug, Clone, Serialize)]
pub struct SessionStatus {
    /// Locked, unlocked or not set up.
    pub state: VaultState,
    /// `keyring` and/or `passphrase` (empty before setup).
    pub protection: Vec<String>,
    /// Idle seconds before auto-lock.
    pub auto_lock_secs: u64,
    /// Number of stored credentials.
    pub credentials: i64,
    /// Number of roster entries.
    pub employees: i64,
    /// Number of activity log entries.
    pub activity_entries: i64,
}

/// An activity search from the UI.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    /// Only actions starting with this prefix.
    pub action_prefix: Option<String>,
    /// Only this outcome (`success`, `failure`, `declined`).
    pub outcome: Option<String>,
    /// Case-insensitive text in actor, action or subject.
    pub text: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// How the vault key should be protected at first-run setup.
pub enum SetupProtection {
    /// A random key in the OS keyring.
    Keyring,
    /// A passphrase (Argon2id).
    Passphrase(Passphrase),
}

/// The open wallet.
pub struct WalletSession {
    data_dir: PathBuf,
    keystore: Arc<dyn KeyStore>,
    vault: Mutex<Option<Vault>>,
    admin: Mutex<Option<Arc<AdminSession>>>,
    kdf: KdfParams,
}

impl WalletSession {
    /// A session over `data_dir`; nothing is opened until first use.
    pub fn new(data_dir: &Path, keystore: Arc<dyn KeyStore>) -> Self {
        Self::with_kdf(data_dir, keystore, KdfParams::DEFAULT)
    }

    /// Like [`WalletSession::new`] with a chosen Argon2id cost (tests use a cheap one).
    pub fn with_kdf(data_dir: &Path, keystore: Arc<dyn KeyStore>, kdf: KdfParams) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            keystore,
            vault: Mutex::new(None),
            admin: Mutex::new(None),
            kdf,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn slot(&self) -> MutexGuard<'_, Option<Vault>> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The vault handle, opened on first use. `NotInitialized` before setup.
    pub fn vault(&self) -> Result<Vault, VaultError> {
        let mut slot = self.slot();
        if let Some(v) = slot.as_ref() {
            return Ok(v.clone());
        }
        let v = Vault::open(&self.data_dir, self.keystore.clone())?;
        *slot = Some(v.clone());
        Ok(v)
    }

    /// Current state; a vault that cannot be opened is an error the UI shows as such.
    pub fn status(&self) -> Result<SessionStatus, VaultError> {
        let vault = match self.vault() {
            Ok(v) => v,
            Err(VaultError::NotInitialized(_)) => {
                return Ok(SessionStatus {
                    state: VaultState::Uninitialized,
                    protection: Vec::new(),
                    auto_lock_secs: wallet_vault::DEFAULT_AUTO_LOCK_SECS,
                    credentials: 0,
                    employees: 0,
                    activity_entries: 0,
                })
            }
            Err(e) => return Err(e),
        };
        let s = vault.status()?;
        Ok(SessionStatus {
            state: if s.locked {
                VaultState::Locked
            } else {
                VaultState::Unlocked
            },
            protection: s.protection,
            auto_lock_secs: s.auto_lock_secs,
            credentials: s.credentials,
            employees: s.employees,
            activity_entries: s.activity_entries,
        })
    }

    /// The vault protection a first run chose, with this session's key-derivation cost.
    fn protection(&self, chosen: SetupProtection) -> Protection {
        match chosen {
            SetupProtection::Keyring => Protection::Keyring,
            SetupProtection::Passphrase(p) => Protection::Passphrase {
                passphrase: p,
                kdf: self.kdf,
            },
        }
    }

    /// First-run setup: creates the vault (unlocked) with the administrator passphrase.
    pub fn setup(
        &self,
        protection: SetupProtection,
        admin_passphrase: Passphrase,
    ) -> Result<SessionStatus, VaultError> {
        let protection = self.protection(protection);
        let vault = Vault::create(
            &self.data_dir,
            self.keystore.clone(),
            CreateOptions {
                protection,
                admin_passphrase,
                admin_kdf: self.kdf,
            },
        )?;
        *self.slot() = Some(vault);
        self.status()
    }

    /// First run from a backup: restores `backup_file` (its passphrase, and the administrator
    /// passphrase of the backed-up vault) into this session's data folder, protected as
    /// chosen on this computer; the restored vault, unlocked, becomes this session's. On any
    /// failure nothing is left behind.
    pub fn restore(
        &self,
        backup_file: &Path,
        backup_passphrase: &Passphrase,
        protection: SetupProtection,
        admin_passphrase: Passphrase,
    ) -> Result<SessionStatus, VaultError> {
        let protection = self.protection(protection);
        let vault = Vault::restore(
            backup_file,
            backup_passphrase,
            &self.data_dir,
            self.keystore.clone(),
            wallet_vault::RestoreOptions {
                protection,
                admin_passphrase,
            },
        )?;
        *self.slot() = Some(vault);
        self.status()
    }

    /// First-run enrollment in an organization profile ([`crate::profile::enroll`]) with this
    /// session's keystore and key-derivation cost; the new vault, unlocked, becomes this
    /// session's.
    pub async fn enroll(
        &self,
        source: crate::profile::ProfileSource,
        org_did: wallet_protocol::did::Did,
        secret: crate::profile::EnrollmentSecret,
        protection: SetupProtection,
        admin_passphrase: Passphrase,
        net: &crate::runtime::Network,
    ) -> Result<SessionStatus, crate::profile::ProfileError> {
        let protection = self.protection(protection);
        let vault = crate::profile::enroll(
            &self.data_dir,
            self.keystore.clone(),
            crate::profile::EnrollOptions {
                source,
                org_did,
                secret,
                protection,
                admin_passphrase,
                admin_kdf: self.kdf,
            },
            net,
        )
        .await?;
        *self.slot() = Some(vault);
        Ok(self.status()?)
    }

    /// Unlocks with the passphrase when given, else with the OS keyring.
    pub fn unlock(&self, passphrase: Option<Passphrase>) -> Result<SessionStatus, VaultError> {
        let vault = self.vault()?;
        match &passphrase {
            Some(p) => vault.unlock(Unlock::Passphrase(p))?,
            None => vault.unlock(Unlock::Keyring)?,
        }
        self.status()
    }

    /// At app start: a vault protected by the OS keyring opens without asking (that is what
    /// the user chose at setup); a passphrase vault stays locked. Returns whether it unlocked.
    pub fn unlock_at_start(&self) -> bool {
        match self.status() {
            Ok(st)
                if st.state == VaultState::Locked
                    && st.protection.iter().any(|p| p == "keyring") =>
            {
                match self.unlock(None) {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not unlock with the OS keyring at start");
                        false
                    }
                }
            }
            _ => false,
        }
    }

    /// Locks now (vault key out of memory, administrator sessions invalid).
    pub fn lock(&self) {
        self.admin_logout();
        if let Some(v) = self.slot().as_ref() {
            v.lock();
        }
    }

    /// Verifies the administrator passphrase and keeps the administrator session (15 minutes,
    /// ended by locking). Returns the seconds it stays valid.
    pub fn admin_login(&self, admin_passphrase: &Passphrase) -> Result<u64, VaultError> {
        let vault = self.vault()?;
        let session = vault.admin_session(admin_passphrase)?;
        let left = vault
            .admin_session_remaining(&session)
            .map_or(0, |d| d.as_secs());
        *self.admin.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(session));
        Ok(left)
    }

    /// Ends the administrator session.
    pub fn admin_logout(&self) {
        *self.admin.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Seconds left in the administrator session, if one is live.
    pub fn admin_remaining(&self) -> Option<u64> {
        let vault = self.slot().clone()?;
        let guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .and_then(|s| vault.admin_session_remaining(s))
            .map(|d| d.as_secs())
    }

    /// The vault with the live administrator session, or `AdminRequired` (the UI then asks
    /// for the administrator passphrase). The session stays checked by the vault on every use.
    pub fn admin(&self, action: &'static str) -> Result<(Vault, Arc<AdminSession>), VaultError> {
        let vault = self.vault()?;
        let guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(s) if vault.admin_session_remaining(s).is_some() => Ok((vault, s.clone())),
            _ => Err(VaultError::AdminRequired(action)),
        }
    }

    /// Runs an administrator action with the live administrator session (see [`Self::admin`]).
    pub fn with_admin<T, E: From<VaultError>>(
        &self,
        action: &'static str,
        f: impl FnOnce(&Vault, &AdminSession) -> Result<T, E>,
    ) -> Result<T, E> {
        let (vault, admin) = self.admin(action)?;
        f(&vault, &admin)
    }

    /// Changes the administrator passphrase (administrator; the live session is the proof of
    /// the current one).
    pub fn change_admin_passphrase(&self, new: &Passphrase) -> Result<(), VaultError> {
        let kdf = self.kdf;
        self.with_admin("changing the administrator passphrase", |v, s| {
            v.set_admin_passphrase(s, new, kdf)
        })
    }

    /// Writes an encrypted backup to `out`, a file that must not exist (administrator).
    pub fn backup(
        &self,
        out: &Path,
        passphrase: &Passphrase,
    ) -> Result<wallet_vault::BackupInfo, VaultError> {
        let kdf = self.kdf;
        self.with_admin("making backups", |v, s| v.backup(s, out, passphrase, kdf))
    }

    /// Sets the idle time before auto-lock (administrator).
    pub fn set_auto_lock_secs(&self, secs: u64) -> Result<SessionStatus, VaultError> {
        self.with_admin("change the auto-lock time", |v, s| {
            v.settings().set_auto_lock_secs(s, secs)
        })?;
        self.status()
    }

    /// Records user activity so that auto-lock waits.
    pub fn touch(&self) {
        if let Some(v) = self.slot().as_ref() {
            v.touch();
        }
    }

    /// Locks when idle for the configured time; true when it locked now.
    pub fn lock_if_idle(&self) -> bool {
        let vault = self.slot().clone();
        match vault {
            Some(v) => v.lock_if_idle().unwrap_or_else(|e| {
                // Cannot read the setting: lock rather than stay open.
                tracing::warn!(error = %e, "auto-lock check failed; locking");
                v.lock();
                true
            }),
            None => false,
        }
    }

    /// Activity log entries, newest first.
    pub fn activity(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEntry>, VaultError> {
        self.vault()?.activity_log().list(filter)
    }

    /// Activity entries matching a UI query, newest first, at most `limit` (default 500).
    pub fn search_activity(&self, q: &ActivityQuery) -> Result<Vec<ActivityEntry>, VaultError> {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        self.activity(&ActivityFilter {
            action_prefix: non_empty(&q.action_prefix),
            outcome: non_empty(&q.outcome),
            text: non_empty(&q.text),
            limit: Some(q.limit.unwrap_or(500)),
            ..ActivityFilter::default()
        })
    }

    /// Checks the activity log's hash chain.
    pub fn verify_activity(&self) -> Result<AuditReport, VaultError> {
        self.vault()?.activity_log().verify()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_vault::MemoryKeyStore;

    fn session(dir: &Path) -> WalletSession {
        WalletSession::with_kdf(
            dir,
            Arc::new(MemoryKeyStore::new()),
            KdfParams::INSECURE_TEST,
        )
    }

    /// A session on a new keyring-protected vault, set up with "admin passphrase 1".
    fn keyring_session() -> (tempfile::TempDir, WalletSession) {
        let tmp = tempfile::tempdir().unwrap();
        let s = session(tmp.path());
        s.setup(
            SetupProtection::Keyring,
            Passphrase::from("admin passphrase 1"),
        )
        .unwrap();
        (tmp, s)
    }

    #[test]
    fn setup_lock_unlock_with_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let s = session(tmp.path());
        assert_eq!(s.status().unwrap().state, VaultState::Uninitialized);
        let st = s
            .setup(
                SetupProtection::Passphrase(Passphrase::from("vault passphrase 1")),
                Passphrase::from("admin passphrase 1"),
            )
            .unwrap();
        assert_eq!(st.state, VaultState::Unlocked);
        assert_eq!(st.protection, vec!["passphrase".to_string()]);
        s.lock();
        assert_eq!(s.status().unwrap().state, VaultState::Locked);
        let err = s
            .unlock(Some(Passphrase::from("wrong passphrase")))
            .unwrap_err();
        assert_eq!(err.code(), "wrong_passphrase");
        assert_eq!(s.status().unwrap().state, VaultState::Locked);
        let st = s
            .unlock(Some(Passphrase::from("vault passphrase 1")))
            .unwrap();
        assert_eq!(st.state, VaultState::Unlocked);
        let actions: Vec<String> = s
            .activity(&ActivityFilter::default())
            .unwrap()
            .into_iter()
            .map(|e| format!("{}:{}", e.action, e.outcome))
            .collect();
        assert_eq!(
            actions,
            vec![
                "vault.unlock:success",
                "vault.unlock:failure",
                "vault.create:success"
            ]
        );
        assert!(s.verify_activity().unwrap().first_bad.is_none());
        let failures = s
            .search_activity(&ActivityQuery {
                outcome: Some("failure".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(failures.len(), 1);
        let by_text = s
            .search_activity(&ActivityQuery {
                text: Some("CREATE".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(by_text.len(), 1);
        assert_eq!(by_text[0].action, "vault.create");
    }

    #[test]
    fn keyring_setup_unlocks_without_typing_and_auto_locks() {
        let (tmp, s) = keyring_session();
        // A second session on the same dir (the app restarted) opens locked.
        let again =
            WalletSession::with_kdf(tmp.path(), s.keystore.clone(), KdfParams::INSECURE_TEST);
        assert_eq!(again.status().unwrap().state, VaultState::Locked);
        assert!(again.unlock_at_start());
        assert_eq!(again.status().unwrap().state, VaultState::Unlocked);
        // Not idle yet with the default 10 minutes.
        assert!(!again.lock_if_idle());
        assert_eq!(again.status().unwrap().state, VaultState::Unlocked);
    }

    #[test]
    fn admin_actions_need_a_live_admin_session() {
        let (_dir, s) = keyring_session();
        assert_eq!(
            s.set_auto_lock_secs(120).unwrap_err().code(),
            "admin_required"
        );
        assert_eq!(
            s.admin_login(&Passphrase::from("not the admin"))
                .unwrap_err()
                .code(),
            "wrong_passphrase"
        );
        assert!(s.admin_remaining().is_none());
        let left = s
            .admin_login(&Passphrase::from("admin passphrase 1"))
            .unwrap();
        assert!(left > 14 * 60 && left <= 15 * 60, "{left}");
        assert_eq!(s.set_auto_lock_secs(120).unwrap().auto_lock_secs, 120);
        // Locking ends the administrator session.
        s.lock();
        s.unlock(None).unwrap();
        assert!(s.admin_remaining().is_none());
        assert_eq!(
            s.set_auto_lock_secs(300).unwrap_err().code(),
            "admin_required"
        );
        s.admin_login(&Passphrase::from("admin passphrase 1"))
            .unwrap();
        s.admin_logout();
        assert_eq!(
            s.set_auto_lock_secs(300).unwrap_err().code(),
            "admin_required"
        );
        assert_eq!(s.status().unwrap().auto_lock_secs, 120);
    }

    #[test]
    fn a_second_setup_is_refused_and_keeps_the_vault() {
        let (_dir, s) = keyring_session();
        let err = s
            .setup(
                SetupProtection::Keyring,
                Passphrase::from("admin passphrase 2"),
            )
            .unwrap_err();
        assert_eq!(err.code(), "already_initialized");
        assert_eq!(s.status().unwrap().activity_entries, 1);
    }
}
