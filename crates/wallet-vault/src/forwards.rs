//! The methods `Vault` had before the repositories, kept as thin forwards while other crates
//! move to `vault.credentials()`, `vault.keys()`, ... Each names its replacement; none adds
//! behaviour. Remove a forward once nothing calls it.

use crate::audit::{ActivityEntry, ActivityFilter, AuditReport, NewActivity};
use crate::keys::KeyInfo;
use crate::repo::{
    Credential, CredentialFilter, CredentialMeta, Employee, EmployeeUpdate, NewCredential,
    NewEmployee, NewToken, Token, VaultSigner,
};
use crate::secret::SecretString;
use crate::vault::{AdminSession, Vault, VaultTx};
use crate::Result;

#[doc(hidden)]
impl Vault {
    /// Use `credentials().import`.
    pub fn import_credential(
        &self,
        session: &AdminSession,
        c: NewCredential,
    ) -> Result<CredentialMeta> {
        self.credentials().import(session, c)
    }

    /// Use `credentials().import_all`.
    pub fn import_credentials(
        &self,
        session: &AdminSession,
        creds: Vec<NewCredential>,
    ) -> Result<Vec<CredentialMeta>> {
        self.credentials().import_all(session, creds)
    }

    /// Use `credentials().list`.
    pub fn list_credentials(&self, filter: &CredentialFilter) -> Result<Vec<CredentialMeta>> {
        self.credentials().list(filter)
    }

    /// Use `credentials().get`.
    pub fn credential(&self, id: &str) -> Result<Credential> {
        self.credentials().get(id)
    }

    /// Use `credentials().delete`.
    pub fn delete_credential(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.credentials().delete(session, id)
    }

    /// Use `keys().generate`.
    pub fn generate_key(
        &self,
        session: &AdminSession,
        label: &str,
        purpose: &str,
    ) -> Result<KeyInfo> {
        self.keys().generate(session, label, purpose)
    }

    /// Use `keys().import`.
    pub fn import_key(
        &self,
        session: &AdminSession,
        label: &str,
        purpose: &str,
        material: &SecretString,
    ) -> Result<KeyInfo> {
        self.keys().import(session, label, purpose, material)
    }

    /// Use `keys().get`.
    pub fn key_info(&self, id: &str) -> Result<KeyInfo> {
        self.keys().get(id)
    }

    /// Use `keys().set_kid`.
    pub fn set_key_kid(&self, session: &AdminSession, id: &str, kid: &str) -> Result<()> {
        self.keys().set_kid(session, id, kid)
    }

    /// Use `keys().delete`.
    pub fn delete_key(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.keys().delete(session, id)
    }

    /// Use `keys().signer`.
    pub fn signer(&self, id: &str) -> Result<VaultSigner> {
        self.keys().signer(id)
    }

    /// Use `employees().add`.
    pub fn add_employee(&self, session: &AdminSession, e: NewEmployee) -> Result<Employee> {
        self.employees().add(session, e)
    }

    /// Use `employees().update`.
    pub fn update_employee(
        &self,
        session: &AdminSession,
        id: &str,
        update: EmployeeUpdate,
    ) -> Result<Employee> {
        self.employees().update(session, id, update)
    }

    /// Use `employees().remove`.
    pub fn remove_employee(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.employees().remove(session, id)
    }

    /// Use `employees().get`.
    pub fn employee(&self, id: &str) -> Result<Employee> {
        self.employees().get(id)
    }

    /// Use `employees().by_identifier`.
    pub fn employee_by_identifier(&self, identifier: &str) -> Result<Option<Employee>> {
        self.employees().by_identifier(identifier)
    }

    /// Use `tokens().put`.
    pub fn put_token(&self, t: NewToken) -> Result<String> {
        self.tokens().put(t)
    }

    /// Use `tokens().find`.
    pub fn find_token(&self, kind: &str, audience: &str) -> Result<Option<Token>> {
        self.tokens().find(kind, audience)
    }

    /// Use `tokens().get`.
    pub fn token(&self, id: &str) -> Result<Token> {
        self.tokens().get(id)
    }

    /// Use `tokens().delete`.
    pub fn delete_token(&self, id: &str) -> Result<bool> {
        self.tokens().delete(id)
    }

    /// Use `tokens().purge_expired`.
    pub fn purge_expired_tokens(&self) -> Result<usize> {
        self.tokens().purge_expired()
    }

    /// Use `settings().auto_lock_secs`.
    pub fn auto_lock_secs(&self) -> Result<u64> {
        self.settings().auto_lock_secs()
    }

    /// Use `settings().set_auto_lock_secs`.
    pub fn set_auto_lock_secs(&self, session: &AdminSession, secs: u64) -> Result<()> {
        self.settings().set_auto_lock_secs(session, secs)
    }

    /// Use `settings().get`.
    pub fn setting(&self, name: &str) -> Result<Option<serde_json::Value>> {
        self.settings().get(name)
    }

    /// Use `settings().put`.
    pub fn put_setting(
        &self,
        session: &AdminSession,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        self.settings().put(session, name, value)
    }

    /// Use `activity_log().record`.
    pub fn record(&self, entry: NewActivity) -> Result<ActivityEntry> {
        self.activity_log().record(entry)
    }

    /// Use `activity_log().list`.
    pub fn activity(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEntry>> {
        self.activity_log().list(filter)
    }

    /// Use `activity_log().verify`.
    pub fn verify_activity(&self) -> Result<AuditReport> {
        self.activity_log().verify()
    }

    /// Use `with_tx`.
    pub fn transaction<T>(&self, f: impl FnOnce(&mut VaultTx<'_>) -> Result<T>) -> Result<T> {
        self.write(|tx, _| f(tx))
    }
}
