//! Commands of the Services view: recent service-token requests, the loopback API's address
//! and key, the policy editor (administrator) and the answer to a service-token prompt.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;
use wallet_core::access_policy::{
    PolicyError, RevocationPolicy, ScopeText, ServicePolicy, UnlistedVerifiers,
};
use wallet_core::audit_forward::{self, ForwardConfig, ForwardError};
use wallet_core::oauth::service::recent_service_tokens;

use super::codes::ActivityOutcome;
use super::dto::IpcError;
use crate::state::{ApiState, AppState};

type Result<T> = std::result::Result<T, IpcError>;

impl From<PolicyError> for IpcError {
    fn from(e: PolicyError) -> Self {
        match e {
            PolicyError::Vault(v) => v.into(),
            e @ PolicyError::Managed(_) => IpcError {
                code: "managed".into(),
                message: e.to_string(),
            },
            other => IpcError {
                code: "invalid_input".into(),
                message: other.to_string(),
            },
        }
    }
}

impl From<ForwardError> for IpcError {
    fn from(e: ForwardError) -> Self {
        match e {
            ForwardError::Vault(v) => v.into(),
            ForwardError::Managed(_) => IpcError {
                code: "managed".into(),
                message: e.to_string(),
            },
            other => IpcError {
                code: "invalid_input".into(),
                message: other.to_string(),
            },
        }
    }
}

/// Forwarding of the activity log to the organization's syslog collector, as Settings shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ForwardView {
    /// `tcp://HOST:PORT` or `tls://HOST:PORT`; null when forwarding is off.
    pub syslog: Option<String>,
    /// Whether an extra CA certificate is trusted for `tls://`.
    pub extra_ca: bool,
    /// Entries waiting for the collector.
    #[ts(type = "number")]
    pub pending: i64,
    /// The newest entry the collector accepted.
    #[ts(type = "number | null")]
    pub last_delivered_seq: Option<i64>,
    /// Why the last attempt failed (technical, English); null after a successful one.
    pub last_error: Option<String>,
}

/// The collector to forward to, with the CA for `tls://` when it is not publicly trusted.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ForwardInput {
    /// `tcp://HOST:PORT` or `tls://HOST:PORT`.
    pub syslog: String,
    /// PEM of the CA certificate(s), for `tls://` only.
    pub ca_pem: Option<String>,
}

fn forward_view(vault: &wallet_vault::Vault) -> Result<ForwardView> {
    let config = audit_forward::forwarding(vault)?;
    let st = audit_forward::status(vault)?;
    Ok(ForwardView {
        extra_ca: config.as_ref().is_some_and(|c| c.ca_pem.is_some()),
        syslog: config.map(|c| c.syslog),
        pending: st.pending,
        last_delivered_seq: st.last_delivered_seq,
        last_error: st.last_error,
    })
}

/// Where the activity log is forwarded and how delivery goes.
#[tauri::command]
pub async fn audit_forward_status(state: State<'_, AppState>) -> Result<ForwardView> {
    let vault = state.session.vault()?;
    forward_view(&vault)
}

/// Forward the activity log to this collector from now on (administrator; on a managed
/// workstation only where its profile allows it). The app's forwarder picks it up.
#[tauri::command]
pub async fn audit_forward_set(
    state: State<'_, AppState>,
    input: ForwardInput,
) -> Result<ForwardView> {
    state
        .session
        .with_admin("changing audit forwarding", |vault, admin| {
            let config = ForwardConfig {
                syslog: input.syslog.trim().to_owned(),
                ca_pem: input.ca_pem.filter(|p| !p.trim().is_empty()),
            };
            audit_forward::set_forwarding(vault, admin, config)?;
            forward_view(vault)
        })
}

/// Stop forwarding (administrator; entries still waiting are dropped from the outbox, they stay
/// in the log).
#[tauri::command]
pub async fn audit_forward_off(state: State<'_, AppState>) -> Result<ForwardView> {
    state
        .session
        .with_admin("changing audit forwarding", |vault, admin| {
            audit_forward::turn_off_forwarding(vault, admin)?;
            forward_view(vault)
        })
}

/// One service-token request (from the activity log).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRecord {
    /// Activity sequence number.
    #[ts(type = "number")]
    pub seq: i64,
    /// Unix ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// Authorization server.
    pub authorization_server: String,
    /// Scope.
    pub scope: Option<String>,
    /// `DPoP` / `Bearer`.
    pub token_type: Option<String>,
    /// How it ended.
    pub outcome: ActivityOutcome,
    /// `api`, `cli` or `app`.
    pub channel: Option<String>,
    /// Served from the token cache.
    pub cached: bool,
    /// Credential types presented.
    pub credentials: Vec<String>,
    /// Error code when it failed.
    pub error: Option<String>,
}

/// The Services view's data.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServicesView {
    /// Base URL of the loopback API when it runs.
    pub api_url: Option<String>,
    /// Why it does not run, when it failed to start.
    pub api_error: Option<String>,
    /// Recent requests, newest first.
    pub recent: Vec<ServiceRecord>,
}

/// One allowed authorization server of the policy.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PolicyServer {
    /// Issuer URL.
    pub authorization_server: String,
    /// Scopes served without asking.
    pub no_prompt_scopes: Vec<String>,
    /// User flow: its wallet requests are shown (with a warning) even when this wallet did
    /// not start the flow.
    pub unsolicited: bool,
    /// How the consent screens name it.
    pub display_name: Option<String>,
    /// What its scopes are for, per scope.
    pub scope_descriptions: Vec<ScopeDescription>,
}

/// What a scope is for, in both languages.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDescription {
    /// Scope.
    pub scope: String,
    /// The texts.
    pub text: LocalizedText,
}

/// A short text in Dutch and English (the UI shows the one of its language).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedText {
    /// Dutch.
    pub nl: Option<String>,
    /// English.
    pub en: Option<String>,
}

impl From<ScopeText> for LocalizedText {
    fn from(t: ScopeText) -> Self {
        LocalizedText { nl: t.nl, en: t.en }
    }
}

fn view(p: ServicePolicy) -> Vec<PolicyServer> {
    p.servers
        .iter()
        .map(|r| PolicyServer {
            unsolicited: p.allows_unsolicited(&r.authorization_server),
            authorization_server: r.authorization_server.clone(),
            no_prompt_scopes: r.no_prompt_scopes.clone(),
            display_name: r.display_name.clone(),
            scope_descriptions: r
                .scope_descriptions
                .iter()
                .map(|(scope, t)| ScopeDescription {
                    scope: scope.clone(),
                    text: t.clone().into(),
                })
                .collect(),
        })
        .collect()
}

/// Loopback API state and recent service-token requests.
#[tauri::command]
pub async fn services_overview<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<ServicesView> {
    // The state as it is before a retry: a failed start stays visible while it is tried again
    // (the retry runs in the background and would otherwise read as "starting").
    let api = state.api_state();
    crate::services::ensure_api(&app);
    let vault = state.session.vault()?;
    let recent = recent_service_tokens(&vault, 100)?
        .into_iter()
        .map(|r| ServiceRecord {
            seq: r.seq,
            at_ms: r.at_ms,
            authorization_server: r.authorization_server,
            scope: r.scope,
            token_type: r.token_type,
            outcome: r.outcome.as_str().into(),
            channel: r.channel,
            cached: r.cached,
            credentials: r
                .credentials
                .iter()
                .map(|c| {
                    c["types"]
                        .to_string()
                        .trim_matches(['[', ']'])
                        .replace('"', "")
                })
                .collect(),
            error: r.error,
        })
        .collect();
    let (api_url, api_error) = match api {
        ApiState::Running(url) => (Some(url), None),
        ApiState::Failed(e) => (None, Some(e)),
        ApiState::NotStarted | ApiState::Starting => (None, None),
    };
    Ok(ServicesView {
        api_url,
        api_error,
        recent,
    })
}

/// The service policy.
#[tauri::command]
pub async fn policy_get(state: State<'_, AppState>) -> Result<Vec<PolicyServer>> {
    Ok(view(ServicePolicy::load(&state.session.vault()?)?))
}

/// The policy's wallet-wide settings.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PolicyModes {
    /// Wallet requests from verifiers that are not allowed servers are shown with a warning
    /// (else refused).
    pub flag_unlisted: bool,
    /// A credential whose revocation status cannot be fetched is withheld (else presented
    /// with a note).
    pub strict_revocation: bool,
}

/// The policy's wallet-wide settings.
#[tauri::command]
pub async fn policy_modes(state: State<'_, AppState>) -> Result<PolicyModes> {
    let p = ServicePolicy::load(&state.session.vault()?)?;
    Ok(PolicyModes {
        flag_unlisted: p.unlisted_verifiers == UnlistedVerifiers::Flag,
        strict_revocation: p.revocation == RevocationPolicy::Strict,
    })
}

/// What the policy editor can change.
#[derive(serde::Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PolicyChange {
    /// Allow talking to an authorization server (asking the employee for every scope).
    AllowServer {
        /// Issuer URL.
        authorization_server: String,
    },
    /// Stop talking to an authorization server.
    RemoveServer {
        /// Issuer URL.
        authorization_server: String,
    },
    /// Serve a scope without asking.
    AllowScope {
        /// Issuer URL.
        authorization_server: String,
        /// Scope.
        scope: String,
    },
    /// Ask again for a scope.
    RequirePrompt {
        /// Issuer URL.
        authorization_server: String,
        /// Scope.
        scope: String,
    },
    /// Show (or refuse) wallet requests of this server that this wallet did not start.
    SetUnsolicited {
        /// Issuer URL.
        authorization_server: String,
        /// Show them (with a warning).
        allowed: bool,
    },
    /// Name an allowed server for the consent screens (null or blank: no name).
    NameServer {
        /// Issuer URL.
        authorization_server: String,
        /// The name.
        display_name: Option<String>,
    },
    /// User flow: refuse (`false`) or show with a warning (`true`) wallet requests from
    /// verifiers that are not allowed servers.
    FlagUnlistedVerifiers {
        /// Show them with a warning.
        flag: bool,
    },
    /// Before presenting: withhold (`true`) or present with a note (`false`) a credential
    /// whose revocation status cannot be fetched.
    StrictRevocation {
        /// Withhold it.
        strict: bool,
    },
    /// Say what a scope at an allowed server is for (both blank: removed).
    DescribeScope {
        /// Issuer URL.
        authorization_server: String,
        /// Scope.
        scope: String,
        /// Dutch.
        nl: Option<String>,
        /// English.
        en: Option<String>,
    },
}

/// Change the policy (administrator).
#[tauri::command]
pub fn policy_change(
    state: State<'_, AppState>,
    change: PolicyChange,
) -> Result<Vec<PolicyServer>> {
    let policy = state
        .session
        .with_admin("changing the policy", |vault, admin| {
            let mut p = ServicePolicy::load(vault)?;
            match &change {
                PolicyChange::AllowServer {
                    authorization_server,
                } => {
                    p.allow_server(authorization_server)?;
                }
                PolicyChange::RemoveServer {
                    authorization_server,
                } => {
                    p.remove_server(authorization_server);
                }
                PolicyChange::AllowScope {
                    authorization_server,
                    scope,
                } => {
                    p.allow_scope_without_prompt(authorization_server, scope)?;
                }
                PolicyChange::RequirePrompt {
                    authorization_server,
                    scope,
                } => {
                    p.require_prompt(authorization_server, scope);
                }
                PolicyChange::SetUnsolicited {
                    authorization_server,
                    allowed: true,
                } => {
                    p.allow_unsolicited(authorization_server)?;
                }
                PolicyChange::SetUnsolicited {
                    authorization_server,
                    allowed: false,
                } => {
                    p.forbid_unsolicited(authorization_server);
                }
                PolicyChange::FlagUnlistedVerifiers { flag } => {
                    p.unlisted_verifiers = if *flag {
                        UnlistedVerifiers::Flag
                    } else {
                        UnlistedVerifiers::Refuse
                    };
                }
                PolicyChange::StrictRevocation { strict } => {
                    p.revocation = if *strict {
                        RevocationPolicy::Strict
                    } else {
                        RevocationPolicy::Lenient
                    };
                }
                PolicyChange::NameServer {
                    authorization_server,
                    display_name,
                } => {
                    p.set_display_name(authorization_server, display_name.as_deref())?;
                }
                PolicyChange::DescribeScope {
                    authorization_server,
                    scope,
                    nl,
                    en,
                } => {
                    p.describe_scope(
                        authorization_server,
                        scope,
                        ScopeText {
                            nl: nl.clone(),
                            en: en.clone(),
                        },
                    )?;
                }
            }
            p.save(vault, admin)?;
            Ok::<_, PolicyError>(p)
        })?;
    Ok(view(policy))
}

/// Show the loopback API key (administrator), e.g. to configure the EHR.
#[tauri::command]
pub fn api_key_show(state: State<'_, AppState>) -> Result<String> {
    let key = state.session.with_admin("showing the API key", |v, a| {
        wallet_api::api_key::show(v, a)
    })?;
    Ok(key.expose_secret().to_string())
}

/// Replace the loopback API key (administrator); the old one stops working at once.
#[tauri::command]
pub fn api_key_rotate(state: State<'_, AppState>) -> Result<String> {
    let key = state.session.with_admin("rotating the API key", |v, a| {
        wallet_api::api_key::rotate(v, a)
    })?;
    Ok(key.expose_secret().to_string())
}

/// The employee's answer to a service-token prompt; false when it was no longer waiting.
#[tauri::command]
pub fn consent_answer(state: State<'_, AppState>, id: u64, approve: bool) -> bool {
    state.answer_service_prompt(id, approve)
}

/// Writes the TypeScript declarations of these DTOs.
pub fn export_bindings(dir: &std::path::Path) -> std::result::Result<(), ts_rs::ExportError> {
    ServicesView::export_all_to(dir)?;
    ForwardView::export_all_to(dir)?;
    ForwardInput::export_all_to(dir)?;
    PolicyServer::export_all_to(dir)?;
    PolicyChange::export_all_to(dir)?;
    PolicyModes::export_all_to(dir)?;
    crate::service_prompt::ConsentPrompt::export_all_to(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A managed workstation's refusals reach the screens as `managed` (said as "your
    /// organization manages this"), not as bad input.
    #[test]
    fn managed_refusals_keep_their_code() {
        let e: IpcError = PolicyError::Managed("zorg".into()).into();
        assert_eq!(e.code, "managed");
        let e: IpcError = ForwardError::Managed("zorg".into()).into();
        assert_eq!(e.code, "managed");
        let e: IpcError = ForwardError::InvalidTarget("x".into()).into();
        assert_eq!(e.code, "invalid_input");
        assert!(e.message.contains("tcp://HOST:PORT"), "{}", e.message);
    }
}
