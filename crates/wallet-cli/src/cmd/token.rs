//! `nuts-wallet token service`: a service access token with the s2s flow
//! (`docs/protocol.md` §2), as the loopback API's `request-service-access-token` gives it.
//! Thin adapter over `wallet_core::oauth::TokenService`: the policy applies (a request outside the no-prompt
//! policy is asked on the terminal, or refused without one) and the request is written to
//! the activity log.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use wallet_core::oauth::s2s::ServiceTokenRequest;
use wallet_core::oauth::{
    AuthorizationServerId, ChannelKind, PromptDecision, PromptRequest, Scope, ServiceTokenPrompt,
    TokenResponse, TokenService, TokenType,
};
use wallet_protocol::net::{BoxFuture, NetPolicy};
use wallet_vault::Vault;

use super::credential::runtime;
use super::vault::open_unlocked;
use crate::Ctx;

/// Arguments of `token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Get a service access token (s2s flow) from an authorization server
    Service {
        /// The authorization server's issuer URL, e.g. https://host/oauth2/subject
        #[arg(long = "as", value_name = "URL")]
        authorization_server: String,
        /// The scope
        #[arg(long)]
        scope: String,
        /// DPoP (default) or Bearer
        #[arg(long, value_name = "DPoP|Bearer", default_value = "DPoP")]
        token_type: String,
        /// A self-attested credential (JSON file without issuer, credentialSubject.id and
        /// proof), as the API's `credentials` field; repeatable. `-` reads stdin
        #[arg(long = "credential", value_name = "FILE")]
        credentials: Vec<PathBuf>,
        /// Ignore the token cache
        #[arg(long)]
        no_cache: bool,
        /// Narrow a presentation-definition field to a value when several credentials match
        /// (the loopback API's `credential_selection`), e.g. `--select organization_ura=12345`;
        /// repeatable
        #[arg(long = "select", value_name = "FIELD=VALUE")]
        select: Vec<String>,
        /// Print the token response JSON only (as the loopback API returns it)
        #[arg(long)]
        json: bool,
    },
    /// Get a user access token (authorization code + OpenID4VP) headless: this process is
    /// EHR, browser and wallet, and answers the presentation request with --approve/--decline
    User(super::user_token::UserTokenArgs),
}

/// Prints a token response as `token service` and `token user` do: the loopback API's JSON
/// (`--json`) or one line per field.
pub(crate) fn print_token(t: &TokenResponse, now: i64, json: bool) -> anyhow::Result<()> {
    let v = t.to_api_json(now);
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("token type   {}", t.token_type);
        if let Some(s) = &t.scope {
            println!("scope        {s}");
        }
        if let Some(e) = v.get("expires_in") {
            println!("expires in   {e} s");
        }
        if let Some(k) = &t.dpop_kid {
            println!("DPoP key id  {}", k.as_str());
        }
        println!("access token {}", t.access_token.expose_secret());
    }
    Ok(())
}

/// Builds the token service for the CLI (also used by `serve`).
pub(crate) fn service(ctx: &Ctx, vault: Vault) -> anyhow::Result<TokenService> {
    let policy = NetPolicy::from_args(ctx.dev, ctx.ca_file.as_deref())?;
    Ok(TokenService::from_net_policy(vault, policy)?)
}

/// Asks on the terminal.
struct TerminalConsent;

impl ServiceTokenPrompt for TerminalConsent {
    fn ask(&self, r: PromptRequest) -> BoxFuture<'_, PromptDecision> {
        Box::pin(async move {
            let answer = tokio::task::spawn_blocking(move || {
                eprintln!(
                    "The wallet's policy asks before serving scope `{}` of {} for {}.",
                    r.scope, r.authorization_server, r.subject
                );
                for c in &r.credentials {
                    eprintln!("  with: {c}");
                }
                eprint!("Present the organization's credentials and request the token? [y/N] ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                matches!(line.trim(), "y" | "Y" | "yes")
            })
            .await
            .unwrap_or(false);
            if answer {
                PromptDecision::Approve
            } else {
                PromptDecision::Decline
            }
        })
    }
}

fn read_credential(path: &PathBuf) -> anyhow::Result<serde_json::Value> {
    const MAX: usize = 256 * 1024;
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    if text.len() > MAX {
        bail!("{} is larger than {MAX} bytes", path.display());
    }
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if !v.is_object() {
        bail!(
            "{} must hold one credential (a JSON object)",
            path.display()
        );
    }
    Ok(v)
}

/// `nuts-wallet token ...`.
pub fn run(ctx: &Ctx, args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Service {
            authorization_server,
            scope,
            token_type,
            credentials,
            no_cache,
            select,
            json,
        } => {
            let req = ServiceTokenRequest {
                authorization_server: AuthorizationServerId::parse(&authorization_server)?,
                scope: Scope::parse(&scope)?,
                token_type: token_type.parse::<TokenType>()?,
                credentials: credentials
                    .iter()
                    .map(read_credential)
                    .collect::<anyhow::Result<_>>()?,
                no_cache,
                credential_selection: select
                    .iter()
                    .map(|s| {
                        s.split_once('=')
                            .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                            .filter(|(k, _)| !k.is_empty())
                            .ok_or_else(|| anyhow::anyhow!("--select {s:?}: use FIELD=VALUE"))
                    })
                    .collect::<anyhow::Result<_>>()?,
            };
            let vault = open_unlocked(&ctx.data_dir)?;
            let org = wallet_core::org::require_organization(&vault)?;
            let svc = service(ctx, vault)?;
            if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                svc.set_service_prompt(Some(Arc::new(TerminalConsent)));
            }
            let rt = runtime()?;
            let result =
                rt.block_on(svc.request_service_access_token(&org.subject, req, ChannelKind::Cli));
            match result {
                Ok(t) => {
                    print_token(&t, svc.client().now(), json)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({
                                "error": e.oauth_error(),
                                "error_description": e.to_string(),
                                "status": e.http_status(),
                                "code": e.code(),
                            })
                        );
                    }
                    eprintln!("error: {e} ({})", e.code());
                    if let wallet_core::oauth::ServiceTokenError::ConsentRequired(_) = e {
                        eprintln!(
                            "hint: an administrator can allow it without asking: \
                             nuts-wallet policy allow-scope {authorization_server} {scope} --no-prompt"
                        );
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        TokenCommand::User(args) => super::user_token::run(ctx, args),
    }
}
