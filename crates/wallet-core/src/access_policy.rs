//! The administrator's policy for service-to-service tokens: which authorization servers the
//! wallet may talk to, and which (authorization server, scope) pairs may be served without
//! asking the employee. A request for a server not listed is refused; a listed server with a
//! scope not marked "no prompt" needs the employee's consent (the app asks; headless
//! `nuts-wallet serve` and the CLI refuse).
//!
//! Stored as the vault setting [`SETTING_POLICY`] (MAC-protected; changing it is an
//! administrator action and is recorded as `setting.change` with the new value).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wallet_vault::{AdminSession, Vault, VaultError};

/// Vault setting holding the policy JSON.
pub const SETTING_POLICY: &str = "s2s_policy";

/// What the policy says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyDecision {
    /// Serve without asking.
    Allowed,
    /// Ask the employee first.
    NeedsConsent,
    /// The authorization server is not allowed.
    Refused,
}

/// One allowed authorization server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRule {
    /// The AS issuer URL, exactly as requests name it.
    pub authorization_server: String,
    /// Scopes served without asking the employee.
    #[serde(default)]
    pub no_prompt_scopes: Vec<String>,
    /// How the consent screens name it, in the administrator's words ("Ziekenhuis Oost");
    /// the verified host and DID stay as detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Per scope: what it is for, in Dutch and English, for the consent screens.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scope_descriptions: BTreeMap<String, ScopeText>,
}

/// A short text in both languages of the app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeText {
    /// Dutch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl: Option<String>,
    /// English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

/// Longest display name or scope description.
pub const MAX_LABEL_CHARS: usize = 120;

/// A display text: trimmed, at most [`MAX_LABEL_CHARS`], no control characters; empty → `None`.
fn check_label(what: &str, text: Option<&str>) -> Result<Option<String>, PolicyError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > MAX_LABEL_CHARS {
        return Err(PolicyError::Invalid(format!(
            "{what} is longer than {MAX_LABEL_CHARS} characters"
        )));
    }
    if t.chars().any(char::is_control) {
        return Err(PolicyError::Invalid(format!(
            "{what} contains control characters"
        )));
    }
    Ok(Some(t.to_owned()))
}

/// What the holder does with a wallet request from a verifier (an authorization server of the
/// user flow) that is not in [`ServicePolicy::servers`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlistedVerifiers {
    /// Refuse it before the clinician is asked (the default).
    #[default]
    Refuse,
    /// Show it, with a warning on the consent screen.
    Flag,
}

/// What happens to a credential whose revocation status cannot be fetched right before it
/// is presented (the status list server is down or unreachable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationPolicy {
    /// Present it anyway (the verifier checks the status too); the consent screen and the
    /// activity log say why it was not checked. The default, as in Nuts.
    #[default]
    Lenient,
    /// Withhold it until its status can be checked.
    Strict,
}

impl RevocationPolicy {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePolicy {
    /// Allowed authorization servers (an empty list allows none).
    #[serde(default)]
    pub servers: Vec<ServerRule>,
    /// User flow: what to do with a request from a verifier not in `servers`.
    #[serde(default)]
    pub unlisted_verifiers: UnlistedVerifiers,
    /// User flow: verifiers (issuer URLs) whose requests may be shown although this wallet did
    /// not start the flow (the consent screen says so). Everything else unsolicited is refused.
    #[serde(default)]
    pub unsolicited_verifiers: Vec<String>,
    /// Service tokens: the credential types a caller may pass for the organization to sign as
    /// self-attested (besides `VerifiableCredential`). `None`:
    /// [`DEFAULT_SELF_ATTESTED_TYPES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_attested_types: Option<Vec<String>>,
    /// A credential whose revocation status cannot be fetched before presenting: presented
    /// with a note (`lenient`, the default) or withheld (`strict`).
    #[serde(default, skip_serializing_if = "RevocationPolicy::is_default")]
    pub revocation: RevocationPolicy,
}

/// The self-attested credential types a caller may pass when the policy names none: the
/// employee credential of the s2s flow (`docs/protocol.md` §7.3), only for an active roster
/// entry.
pub const DEFAULT_SELF_ATTESTED_TYPES: &[&str] = &[EMPLOYEE_CREDENTIAL_TYPE];

/// The self-attested employee credential type; its `credentialSubject.identifier` must be an
/// active roster entry.
pub const EMPLOYEE_CREDENTIAL_TYPE: &str = "NutsEmployeeCredential";

/// What the policy says about a wallet request from a verifier (user flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifierDecision {
    /// Listed: show it.
    Listed,
    /// Not listed, but the policy says show it with a warning.
    Flagged,
    /// Not listed: refuse.
    Refused,
}

/// Policy errors.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The vault refused (locked, administrator required, tampered setting, ...).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// A managed workstation whose organization profile sets the policy.
    #[error(
        "the access policy is managed by {0}'s profile and cannot be changed on this workstation"
    )]
    Managed(String),
}

fn check_server(url: &str) -> Result<String, PolicyError> {
    crate::oauth::AuthorizationServerId::parse(url)
        .map(|a| a.as_str().to_owned())
        .map_err(|e| PolicyError::Invalid(e.to_string()))
}

fn check_scope(scope: &str) -> Result<String, PolicyError> {
    crate::oauth::Scope::parse(scope)
        .map(|s| s.as_str().to_owned())
        .map_err(|e| PolicyError::Invalid(e.to_string()))
}

impl ServicePolicy {
    /// Reads the policy (empty when none was saved). Needs the vault unlocked for the MAC
    /// check to mean anything; a tampered setting is an error.
    pub fn load(vault: &Vault) -> Result<Self, PolicyError> {
        match vault.settings().get(SETTING_POLICY)? {
            None => Ok(Self::default()),
            Some(v) => serde_json::from_value(v)
                .map_err(|e| PolicyError::Invalid(format!("stored policy is unreadable: {e}"))),
        }
    }

    /// Saves the policy (administrator).
    pub fn save(&self, vault: &Vault, admin: &AdminSession) -> Result<(), PolicyError> {
        let map = |e| match e {
            crate::org::IdentityError::Vault(v) => PolicyError::Vault(v),
            crate::org::IdentityError::Managed(org) => PolicyError::Managed(org),
            other => PolicyError::Invalid(other.to_string()),
        };
        let area = crate::profile::LocalArea::AccessPolicy;
        let managed = crate::profile::guard_area(vault, area).map_err(map)?;
        let v = serde_json::to_value(self).map_err(|e| PolicyError::Invalid(e.to_string()))?;
        vault.settings().put(admin, SETTING_POLICY, &v)?;
        if managed {
            crate::profile::note_change(vault, admin, area).map_err(map)?;
        }
        Ok(())
    }

    /// Whether callers may pass self-attested credentials of type `t`.
    pub fn allows_self_attested_type(&self, t: &str) -> bool {
        match &self.self_attested_types {
            Some(list) => list.iter().any(|x| x == t),
            None => DEFAULT_SELF_ATTESTED_TYPES.contains(&t),
        }
    }

    /// The decision for a request.
    pub fn decide(&self, authorization_server: &str, scope: &str) -> PolicyDecision {
        match self
            .servers
            .iter()
            .find(|r| r.authorization_server == authorization_server)
        {
            None => PolicyDecision::Refused,
            Some(r) if r.no_prompt_scopes.iter().any(|s| s == scope) => PolicyDecision::Allowed,
            Some(_) => PolicyDecision::NeedsConsent,
        }
    }

    /// The decision for a wallet request from `verifier` (its client id = issuer URL).
    pub fn decide_verifier(&self, verifier: &str) -> VerifierDecision {
        if self
            .servers
            .iter()
            .any(|r| r.authorization_server == verifier)
        {
            VerifierDecision::Listed
        } else if self.unlisted_verifiers == UnlistedVerifiers::Flag {
            VerifierDecision::Flagged
        } else {
            VerifierDecision::Refused
        }
    }

    /// Whether unsolicited requests from `verifier` may be shown.
    pub fn allows_unsolicited(&self, verifier: &str) -> bool {
        self.unsolicited_verifiers.iter().any(|v| v == verifier)
    }

    /// Lets unsolicited requests from `verifier` be shown. `false` if they already were.
    pub fn allow_unsolicited(&mut self, verifier: &str) -> Result<bool, PolicyError> {
        let v = check_server(verifier)?;
        if self.unsolicited_verifiers.contains(&v) {
            return Ok(false);
        }
        self.unsolicited_verifiers.push(v);
        Ok(true)
    }

    /// Refuses unsolicited requests from `verifier` again. `false` if they were.
    pub fn forbid_unsolicited(&mut self, verifier: &str) -> bool {
        let before = self.unsolicited_verifiers.len();
        self.unsolicited_verifiers.retain(|v| v != verifier);
        before != self.unsolicited_verifiers.len()
    }

    /// Allows an authorization server (scopes still need consent). `false` if it was listed.
    pub fn allow_server(&mut self, authorization_server: &str) -> Result<bool, PolicyError> {
        let a = check_server(authorization_server)?;
        if self.servers.iter().any(|r| r.authorization_server == a) {
            return Ok(false);
        }
        self.servers.push(ServerRule {
            authorization_server: a,
            no_prompt_scopes: Vec::new(),
            display_name: None,
            scope_descriptions: BTreeMap::new(),
        });
        Ok(true)
    }

    fn listed_mut(&mut self, authorization_server: &str) -> Result<&mut ServerRule, PolicyError> {
        let a = check_server(authorization_server)?;
        self.servers
            .iter_mut()
            .find(|r| r.authorization_server == a)
            .ok_or_else(|| {
                PolicyError::Invalid(format!(
                    "{a} is not an allowed authorization server (allow it first)"
                ))
            })
    }

    /// Names an allowed server for the consent screens (`None` or blank: no name). `false`
    /// if nothing changed.
    pub fn set_display_name(
        &mut self,
        authorization_server: &str,
        name: Option<&str>,
    ) -> Result<bool, PolicyError> {
        let name = check_label("the name", name)?;
        let rule = self.listed_mut(authorization_server)?;
        let changed = rule.display_name != name;
        rule.display_name = name;
        Ok(changed)
    }

    /// Says what `scope` at an allowed server is for, in Dutch and English (both blank:
    /// removed). `false` if nothing changed.
    pub fn describe_scope(
        &mut self,
        authorization_server: &str,
        scope: &str,
        text: ScopeText,
    ) -> Result<bool, PolicyError> {
        let s = check_scope(scope)?;
        let text = ScopeText {
            nl: check_label("the Dutch description", text.nl.as_deref())?,
            en: check_label("the English description", text.en.as_deref())?,
        };
        let rule = self.listed_mut(authorization_server)?;
        let before = rule.scope_descriptions.get(&s).cloned();
        let after = (text != ScopeText::default()).then_some(text);
        match &after {
            Some(t) => rule.scope_descriptions.insert(s, t.clone()),
            None => rule.scope_descriptions.remove(&s),
        };
        Ok(before != after)
    }

    /// The administrator's name for `authorization_server`, if any.
    pub fn display_name_of(&self, authorization_server: &str) -> Option<&str> {
        self.servers
            .iter()
            .find(|r| r.authorization_server == authorization_server)
            .and_then(|r| r.display_name.as_deref())
    }

    /// The administrator's description of `scope` at `authorization_server`, if any.
    pub fn scope_text(&self, authorization_server: &str, scope: &str) -> Option<&ScopeText> {
        self.servers
            .iter()
            .find(|r| r.authorization_server == authorization_server)
            .and_then(|r| r.scope_descriptions.get(scope))
    }

    /// Removes a server with its scopes. `false` if it was not listed.
    pub fn remove_server(&mut self, authorization_server: &str) -> bool {
        let before = self.servers.len();
        self.servers
            .retain(|r| r.authorization_server != authorization_server);
        before != self.servers.len()
    }

    /// Lets `scope` at `authorization_server` be served without asking (allows the server
    /// too). `false` if it already was.
    pub fn allow_scope_without_prompt(
        &mut self,
        authorization_server: &str,
        scope: &str,
    ) -> Result<bool, PolicyError> {
        let a = check_server(authorization_server)?;
        let s = check_scope(scope)?;
        self.allow_server(&a)?;
        let rule = self
            .servers
            .iter_mut()
            .find(|r| r.authorization_server == a)
            .ok_or_else(|| PolicyError::Invalid("server vanished".into()))?;
        if rule.no_prompt_scopes.contains(&s) {
            return Ok(false);
        }
        rule.no_prompt_scopes.push(s);
        Ok(true)
    }

    /// Makes `scope` at `authorization_server` ask the employee again. `false` if it did.
    pub fn require_prompt(&mut self, authorization_server: &str, scope: &str) -> bool {
        let Some(rule) = self
            .servers
            .iter_mut()
            .find(|r| r.authorization_server == authorization_server)
        else {
            return false;
        };
        let before = rule.no_prompt_scopes.len();
        rule.no_prompt_scopes.retain(|s| s != scope);
        before != rule.no_prompt_scopes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let mut p = ServicePolicy::default();
        let a = "https://as.example/oauth2/a";
        assert_eq!(p.decide(a, "test"), PolicyDecision::Refused);
        assert!(p.allow_server(a).unwrap());
        assert!(!p.allow_server(a).unwrap());
        assert_eq!(p.decide(a, "test"), PolicyDecision::NeedsConsent);
        assert!(p.allow_scope_without_prompt(a, "test").unwrap());
        assert_eq!(p.decide(a, "test"), PolicyDecision::Allowed);
        assert_eq!(p.decide(a, "other"), PolicyDecision::NeedsConsent);
        assert_eq!(
            p.decide("https://as.example/oauth2/b", "test"),
            PolicyDecision::Refused
        );
        assert!(p.require_prompt(a, "test"));
        assert_eq!(p.decide(a, "test"), PolicyDecision::NeedsConsent);
        assert!(p.remove_server(a));
        assert_eq!(p.decide(a, "test"), PolicyDecision::Refused);
        assert!(p.allow_server("http://as.example/").is_err());
        assert!(p.allow_scope_without_prompt(a, "").is_err());
    }

    #[test]
    fn display_names_and_scope_descriptions() {
        let mut p = ServicePolicy::default();
        let a = "https://as.example/oauth2/x";
        assert!(
            p.set_display_name(a, Some("Ziekenhuis Oost")).is_err(),
            "not listed"
        );
        p.allow_server(a).unwrap();
        assert!(p.set_display_name(a, Some("  Ziekenhuis Oost ")).unwrap());
        assert!(!p.set_display_name(a, Some("Ziekenhuis Oost")).unwrap());
        assert_eq!(p.display_name_of(a), Some("Ziekenhuis Oost"));
        assert!(p.set_display_name(a, Some("bad\u{7}name")).is_err());
        assert!(p.set_display_name(a, Some(&"x".repeat(121))).is_err());
        let text = ScopeText {
            nl: Some("Dossier inzien".into()),
            en: Some("View the record".into()),
        };
        assert!(p.describe_scope(a, "zorgtoepassing", text.clone()).unwrap());
        assert!(!p.describe_scope(a, "zorgtoepassing", text.clone()).unwrap());
        assert_eq!(p.scope_text(a, "zorgtoepassing"), Some(&text));
        assert_eq!(p.scope_text(a, "other"), None);
        // Round trip through JSON (the vault setting and the organization profile).
        let back: ServicePolicy =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        // Both blank: removed; blank name: removed.
        assert!(p
            .describe_scope(a, "zorgtoepassing", ScopeText::default())
            .unwrap());
        assert_eq!(p.scope_text(a, "zorgtoepassing"), None);
        assert!(p.set_display_name(a, Some("  ")).unwrap());
        assert_eq!(p.display_name_of(a), None);
        // A policy stored before names existed still reads.
        let old: ServicePolicy = serde_json::from_str(
            r#"{"servers":[{"authorization_server":"https://as.example/oauth2/x","no_prompt_scopes":[]}]}"#,
        )
        .unwrap();
        assert_eq!(old.display_name_of(a), None);
    }

    #[test]
    fn verifier_decisions_and_unsolicited_list() {
        let mut p = ServicePolicy::default();
        let a = "https://as.example/oauth2/a";
        assert_eq!(p.decide_verifier(a), VerifierDecision::Refused);
        p.unlisted_verifiers = UnlistedVerifiers::Flag;
        assert_eq!(p.decide_verifier(a), VerifierDecision::Flagged);
        p.allow_server(a).unwrap();
        assert_eq!(p.decide_verifier(a), VerifierDecision::Listed);
        assert!(!p.allows_unsolicited(a));
        assert!(p.allow_unsolicited(a).unwrap());
        assert!(!p.allow_unsolicited(a).unwrap());
        assert!(p.allows_unsolicited(a));
        assert!(!p.allows_unsolicited("https://as.example/oauth2/b"));
        assert!(p.allow_unsolicited("not a url").is_err());
        assert!(p.forbid_unsolicited(a));
        assert!(!p.allows_unsolicited(a));
        // a policy saved before these fields existed still loads
        let old: ServicePolicy = serde_json::from_str(r#"{"servers":[]}"#).unwrap();
        assert_eq!(old.unlisted_verifiers, UnlistedVerifiers::Refuse);
        assert!(old.unsolicited_verifiers.is_empty());
    }

    #[test]
    fn round_trips_through_the_vault() {
        let dir = tempfile::tempdir().unwrap();
        let ks: std::sync::Arc<dyn wallet_vault::KeyStore> =
            std::sync::Arc::new(wallet_vault::MemoryKeyStore::new());
        let admin_pw = wallet_vault::Passphrase::from("admin passphrase 1");
        let vault = Vault::create(
            dir.path(),
            ks,
            wallet_vault::CreateOptions {
                protection: wallet_vault::Protection::Keyring,
                admin_passphrase: wallet_vault::Passphrase::from("admin passphrase 1"),
                admin_kdf: wallet_vault::KdfParams::INSECURE_TEST,
            },
        )
        .unwrap();
        assert_eq!(
            ServicePolicy::load(&vault).unwrap(),
            ServicePolicy::default()
        );
        let admin = vault.admin_session(&admin_pw).unwrap();
        let mut p = ServicePolicy::default();
        p.allow_scope_without_prompt("https://as.example/oauth2/a", "test")
            .unwrap();
        p.save(&vault, &admin).unwrap();
        assert_eq!(ServicePolicy::load(&vault).unwrap(), p);
    }
}
