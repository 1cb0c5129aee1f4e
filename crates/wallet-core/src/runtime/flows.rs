//! The user flow on the runtime, for the hosts that run it (the loopback API, `token user`):
//! each call runs a use case of `crate::oauth::user` over the runtime's vault, user-flow
//! sessions, HTTP client, DPoP nonces and clock, so a host passes only what it received. The
//! service-to-service flow is the runtime's [`crate::oauth::TokenService`]
//! ([`WalletRuntime::token_service`]).

use url::Url;

use super::WalletRuntime;
use crate::oauth::service::RequesterSource;
use crate::oauth::user::{self, FlowSummary, NewUserFlow, SessionError, TokenPoll, UserFlowError};
use crate::oauth::{ClientId, Requester, VaultOrganization};

impl WalletRuntime {
    /// A new user flow ([`user::begin_flow`]): `(session_id, landing_token)`.
    pub fn begin_user_flow(&self, req: NewUserFlow) -> Result<(String, String), UserFlowError> {
        let vault = self.vault().map_err(UserFlowError::from_vault)?;
        user::begin_flow(&vault, &self.sessions, req, self.now())
    }

    /// The landing URL of `subject`'s flow ([`user::start_flow`]): the authorization URL to
    /// send the browser to. A landing token of another subject is unknown here.
    pub async fn start_user_flow(
        &self,
        subject: &str,
        landing_token: &str,
        callback: &str,
    ) -> Result<Url, UserFlowError> {
        let now = self.now();
        let same_subject = self
            .sessions
            .peek_landing(landing_token, now, |s| s.flow.subject == subject)
            .unwrap_or(false);
        if !same_subject {
            return Err(SessionError::UnknownLandingToken.into());
        }
        let vault = self.vault().map_err(UserFlowError::from_vault)?;
        let requester = self.requester(&vault, subject)?;
        user::start_flow(
            self.net.http.as_ref(),
            &vault,
            &self.sessions,
            &requester,
            landing_token,
            callback,
            now,
        )
        .await
    }

    /// The callback of `subject`'s flow ([`user::complete_flow`]) with the AS's `code` or
    /// `error`; the code exchange uses the token service's DPoP nonces.
    pub async fn complete_user_flow(
        &self,
        subject: &str,
        state: &str,
        code: Option<&str>,
        error: Option<(&str, &str)>,
        callback: &str,
    ) -> Result<FlowSummary, UserFlowError> {
        let vault = self.vault().map_err(UserFlowError::from_vault)?;
        // The requester first: a locked wallet must not burn the state.
        let requester = self.requester(&vault, subject)?;
        let tokens = self.token_service().map_err(UserFlowError::from_vault)?;
        user::complete_flow(
            self.net.http.as_ref(),
            tokens.client().nonces(),
            &vault,
            &self.sessions,
            &requester,
            state,
            code,
            error,
            callback,
            self.now(),
        )
        .await
    }

    /// An error callback without `state` ([`user::end_flow_without_state`]) carrying the
    /// flow's return key; `None` when no flow of `subject` has that key.
    pub fn end_user_flow_without_state(
        &self,
        subject: &str,
        return_key: &str,
        error: &str,
        description: &str,
    ) -> Option<FlowSummary> {
        let vault = self.vault().ok()?;
        user::end_flow_without_state(
            &vault,
            &self.sessions,
            subject,
            return_key,
            error,
            description,
            self.now(),
        )
    }

    /// Ends the running flow with the AS `verifier` with an error ([`user::abort_flow`]).
    pub fn abort_user_flow(
        &self,
        verifier: &ClientId,
        error: &str,
        description: &str,
    ) -> Option<FlowSummary> {
        let vault = self.vault().ok()?;
        user::abort_flow(
            &vault,
            &self.sessions,
            verifier,
            error,
            description,
            self.now(),
        )
    }

    /// The EHR's poll for the token of a user flow (handed out once).
    pub fn poll_user_token(&self, session_id: &str) -> TokenPoll {
        self.sessions.poll(session_id, self.now())
    }

    fn requester(
        &self,
        vault: &wallet_vault::Vault,
        subject: &str,
    ) -> Result<Requester, UserFlowError> {
        VaultOrganization
            .requester(vault, subject)
            .map_err(UserFlowError::from_requester)
    }
}
