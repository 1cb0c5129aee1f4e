//! `nuts-wallet token user`: the whole Nuts user flow (authorization code + OpenID4VP,
//! `docs/protocol.md` §3) headless in one process. The CLI is the EHR, the browser and the
//! wallet at once, an adapter over the wallet runtime as the loopback API is: it begins a
//! session for a roster employee (`begin_user_flow`), signs JAR #1 (`start_user_flow`), sends
//! the "browser" to the AS without following redirects, answers the `nuts-wallet:` request it
//! is redirected to with the decision (the same runtime and sessions, so the request is not
//! unsolicited), takes the code from the redirect to its own callback (`complete_user_flow`:
//! PKCE, DPoP) and collects the token (`poll_user_token`). The callback URLs are never fetched: the Nuts AS does not check `redirect_uri`,
//! and this process intercepts them as its own.
//!
//! Codes, PKCE verifiers and VPs stay in memory; only the final token response is printed.

use std::collections::HashMap;
use std::process::ExitCode;

use url::Url;
use wallet_core::oauth::user::{self, NewUserFlow, PreauthorizedUser, TokenPoll};
use wallet_core::oauth::{AuthorizationServerId, ChannelKind, Scope, TokenResponse, TokenType};
use wallet_core::openid4vp::{DispatchError, ResponseError};
use wallet_core::runtime::{Answer, ConsentError, WalletRuntime};
use wallet_protocol::net::HttpRequest;
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::Vault;

use super::credential::runtime;
use super::present::{refusal_hint, wallet_runtime, Failure, Shared};
use super::token::print_token;
use super::vault::open_unlocked;
use crate::Ctx;

/// Arguments of `token user`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["approve", "decline"])))]
pub struct UserTokenArgs {
    /// The authorization server's issuer URL, e.g. https://host/oauth2/subject
    #[arg(long = "as", value_name = "URL")]
    authorization_server: String,
    /// The scope
    #[arg(long)]
    scope: String,
    /// The employee who approves (roster identifier, e.g. jdoe@example.com)
    #[arg(long, value_name = "ID")]
    employee: String,
    /// DPoP (default) or Bearer
    #[arg(long, value_name = "DPoP|Bearer", default_value = "DPoP")]
    token_type: String,
    /// Present the credentials when the authorization server asks
    #[arg(long)]
    approve: bool,
    /// Refuse when the authorization server asks (the flow ends with access_denied)
    #[arg(long)]
    decline: bool,
    /// Print the token response JSON only (as the loopback API returns it)
    #[arg(long)]
    json: bool,
}

/// Where a redirect goes: back to this process's callback, or to the wallet.
enum Hop {
    Callback(HashMap<String, String>),
    Wallet(String),
}

struct Flow<'a> {
    vault: &'a Vault,
    rt: WalletRuntime,
    session_id: String,
    /// The organization's subject (the vault's).
    subject: String,
    issuer: AuthorizationServerId,
    callback: String,
}

fn now() -> i64 {
    SystemClock.now_unix()
}

impl Flow<'_> {
    fn classify(&self, location: &str) -> Result<Hop, Failure> {
        let cb = Url::parse(&self.callback)
            .map_err(|_| Failure::failed("server_error", "bad callback"))?;
        match Url::parse(location) {
            Ok(u)
                if u.scheme() == cb.scheme()
                    && u.host_str() == cb.host_str()
                    && u.port() == cb.port()
                    && u.path() == cb.path() =>
            {
                Ok(Hop::Callback(u.query_pairs().into_owned().collect()))
            }
            _ if location.starts_with("nuts-wallet:") || location.starts_with("openid4vp:") => {
                Ok(Hop::Wallet(location.to_owned()))
            }
            _ => Err(self.abort(
                "server_error",
                "the authorization server redirected somewhere unexpected",
            )),
        }
    }

    /// Ends the running session with an error (recorded as `user_token.finish`).
    fn abort(&self, error: &str, description: &str) -> Failure {
        self.rt
            .abort_user_flow(&self.issuer.as_str().into(), error, description);
        Failure::failed(error, description)
    }

    /// The callback, as this process's own endpoint: code exchange or the AS's error.
    async fn callback(&self, q: &HashMap<String, String>) -> Result<(), Failure> {
        let error = q.get("error").map(|e| {
            (
                e.as_str(),
                q.get("error_description").map_or("", String::as_str),
            )
        });
        match q.get("state") {
            Some(state) => {
                self.rt
                    .complete_user_flow(
                        &self.subject,
                        state,
                        q.get("code").map(String::as_str),
                        error,
                        &self.callback,
                    )
                    .await
                    .map_err(|e| self.abort(e.oauth_error(), &e.to_string()))?;
            }
            // A Nuts AS sends no state with an error after a wallet error (`docs/protocol.md` §3).
            None => {
                let (e, d) = error.unwrap_or(("invalid_request", "the callback has no state"));
                let key = q.get(user::RETURN_KEY_PARAM).map_or("", String::as_str);
                self.rt
                    .end_user_flow_without_state(&self.subject, key, e, d);
            }
        }
        Ok(())
    }

    fn collect(&self) -> Result<TokenResponse, Failure> {
        match self.rt.poll_user_token(&self.session_id) {
            TokenPoll::Active(t) => Ok(t),
            TokenPoll::Failed { error, description } => Err(Failure::failed(&error, description)),
            TokenPoll::Pending | TokenPoll::Unknown => Err(Failure::failed(
                "server_error",
                "the flow ended without a token",
            )),
        }
    }

    /// The wallet's part on the runtime: receive the link, open the consent, show it, decide.
    /// Returns where the browser goes next.
    async fn wallet(
        &self,
        location: &str,
        employee: &str,
        approve: bool,
    ) -> Result<Option<String>, Failure> {
        let received = self.rt.receive_link(location);
        let verifier = match &received.parsed {
            Ok(l) => l.client_id.as_str().to_owned(),
            Err(e) => {
                return Err(self.abort(
                    "server_error",
                    &format!("the authorization server sent an invalid wallet request: {e}"),
                ))
            }
        };
        let id = received.id;
        match self.rt.open_consent(id).await {
            Ok(_) => {}
            Err(ConsentError::Refused {
                error,
                verifier_notified,
                ..
            }) => {
                let hint = refusal_hint(&error, &verifier).or(verifier_notified
                    .then(|| "the verifier was told the request could not be answered".into()));
                return Err(self
                    .abort("access_denied", &error.to_string())
                    .with_hint(hint));
            }
            Err(e) => return Err(self.abort("server_error", &e.to_string())),
        }
        let fulfilled = self
            .rt
            .with_request(id, |resolved| {
                let shared = Shared::of(resolved, self.vault, approve.then_some(employee));
                let mut err = std::io::stderr().lock();
                let _ = shared.write_human(&mut err);
                resolved.consent.evaluation.fulfilled
            })
            .map_err(|e| self.abort("server_error", &e.to_string()))?;
        if !approve {
            // Declining also ends this session (the AS sends no state with a wallet error),
            // recorded, as the holder does for the loopback API.
            if let Err(e) = self
                .rt
                .decide(
                    id,
                    Answer::Decline {
                        employee: Some(employee.to_owned()),
                    },
                )
                .await
            {
                tracing::warn!(error = %e, "the verifier did not take the decline");
                eprintln!("note: the verifier did not take the decline: {e}");
            }
            return Ok(None);
        }
        if !fulfilled {
            let _ = self.rt.refuse_unmet(id).await;
            return Err(self
                .abort(
                    "invalid_request",
                    "the wallet's credentials do not meet the presentation definition",
                )
                .with_hint(Some(
                    "`nuts-wallet pex evaluate` explains which constraint fails".into(),
                )));
        }
        let answer = Answer::Approve {
            employee: employee.to_owned(),
        };
        match self.rt.decide(id, answer).await {
            Ok(out) => Ok(Some(out.redirect_uri)),
            Err(ConsentError::Dispatch(e)) => match *e {
                DispatchError::Response(ResponseError::Refused {
                    redirect_uri: Some(r),
                    ..
                }) => Ok(Some(r)),
                e => Err(self.abort(
                    "server_error",
                    &format!("presenting failed: {e} ({})", e.code()),
                )),
            },
            Err(e) => Err(self.abort("server_error", &format!("presenting failed: {e}"))),
        }
    }
}

/// A usage error of `token user` (its JSON speaks OAuth: `invalid_request`).
fn input(message: String) -> Failure {
    Failure::Input {
        code: "invalid_request",
        message,
    }
}

/// The checked command line.
struct Request {
    issuer: AuthorizationServerId,
    scope: Scope,
    token_type: TokenType,
}

impl Request {
    fn parse(args: &UserTokenArgs) -> Result<Self, Failure> {
        Ok(Self {
            issuer: AuthorizationServerId::parse(&args.authorization_server)
                .map_err(|e| input(format!("--as: {e}")))?,
            scope: Scope::parse(&args.scope).map_err(|e| input(format!("--scope: {e}")))?,
            token_type: args
                .token_type
                .parse::<TokenType>()
                .map_err(|e| input(format!("--token-type: {e}")))?,
        })
    }
}

/// Control characters out, at most `max` characters (text from the AS goes to a terminal).
fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

async fn run_flow(
    ctx: &Ctx,
    vault: &Vault,
    args: &UserTokenArgs,
    req: Request,
) -> Result<TokenResponse, Failure> {
    let Request {
        issuer,
        scope,
        token_type,
    } = req;
    let org = wallet_core::org::require_organization(vault)
        .map_err(|e| Failure::failed("invalid_request", e.to_string()))?;
    let config = |e: anyhow::Error| Failure::failed("server_error", format!("{e:#}"));
    let rt = wallet_runtime(ctx, vault).map_err(config)?;
    let base = format!("http://127.0.0.1/oauth2/{}", org.subject);
    let (session_id, landing) = rt
        .begin_user_flow(NewUserFlow {
            subject: org.subject.clone(),
            authorization_server: issuer.clone(),
            scope,
            token_type,
            app_redirect_uri: format!("{base}/done"),
            preauthorized_user: Some(PreauthorizedUser {
                id: args.employee.clone(),
                name: None,
                role: None,
            }),
            channel: ChannelKind::Cli,
        })
        // begin_flow checks the policy and the roster (unknown or deactivated employee) before
        // anything is sent, and records the refusal as `user_token.start`.
        .map_err(|e| {
            let hint = match e {
                user::UserFlowError::NotAllowed(_) => Some(format!(
                    "an administrator can allow it: nuts-wallet policy allow-as {}",
                    args.authorization_server
                )),
                user::UserFlowError::UnknownEmployee(_) => {
                    Some("`nuts-wallet employee list` shows the roster".into())
                }
                _ => None,
            };
            Failure::failed(e.oauth_error(), e.to_string()).with_hint(hint)
        })?;
    let flow = Flow {
        vault,
        rt,
        session_id,
        subject: org.subject.clone(),
        issuer,
        callback: format!("{base}/callback"),
    };
    let authorize = flow
        .rt
        .start_user_flow(&flow.subject, &landing, &flow.callback)
        .await
        .map_err(|e| Failure::failed(e.oauth_error(), e.to_string()))?;

    // The browser at the AS: one request, the redirect is read, not followed.
    let resp = flow
        .rt
        .network()
        .http
        .execute(HttpRequest::get(authorize, "application/json"))
        .await
        .map_err(|e| {
            flow.abort(
                "temporarily_unavailable",
                &format!("the authorization server could not be reached: {e}"),
            )
        })?;
    let location = match (resp.status, resp.header("location")) {
        (301..=303 | 307 | 308, Some(l)) => l.to_owned(),
        (status, _) => {
            let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let error = clean(v["error"].as_str().unwrap_or("server_error"), 64);
            let description = v["error_description"]
                .as_str()
                .map(|d| clean(d, 512))
                .unwrap_or_else(|| format!("the authorization server answered HTTP {status}"));
            return Err(flow.abort(&error, &description));
        }
    };
    let next = match flow.classify(&location)? {
        Hop::Callback(q) => Some(q),
        Hop::Wallet(link) => match flow.wallet(&link, &args.employee, args.approve).await? {
            Some(r) => match flow.classify(&r)? {
                Hop::Callback(q) => Some(q),
                Hop::Wallet(_) => {
                    return Err(flow.abort("server_error", "the verifier asked for a third round"))
                }
            },
            None => None,
        },
    };
    if let Some(q) = next {
        flow.callback(&q).await?;
    }
    flow.collect()
}

/// `nuts-wallet token user`.
pub fn run(ctx: &Ctx, args: UserTokenArgs) -> anyhow::Result<ExitCode> {
    let req = match Request::parse(&args) {
        Ok(r) => r,
        Err(f) => return Ok(f.report(args.json)),
    };
    let vault = open_unlocked(&ctx.data_dir)?;
    let rt = runtime()?;
    Ok(match rt.block_on(run_flow(ctx, &vault, &args, req)) {
        Ok(t) => {
            print_token(&t, now(), args.json)?;
            ExitCode::SUCCESS
        }
        Err(f) => f.report(args.json),
    })
}
