//! wallet-as: a reference Nuts v6 authorization server and OpenID4VP verifier.
//!
//! It enforces what a Nuts v6 node enforces (docs/protocol.md §2.3, §4.4, §5.3, §6.4) so the
//! wallet can be proven against it, and EHR developers can try their integration locally:
//! - publication: did:web document, AS metadata, signed entity statement, client metadata,
//!   presentation definitions ([`server`]);
//! - service-to-service `vp_token-bearer` token requests, checked in a Nuts AS's order
//!   ([`token`], [`presentation`]);
//! - the user flow: signed request objects only, PKCE S256, OpenID4VP organization and user
//!   rounds, authorization codes ([`authz`]);
//! - DPoP-bound tokens ([`dpop`]) and introspection.
//!
//! What it deliberately does not do: persist anything (all state is in memory), act as the
//! wallet (`response_type=vp_token`), or check issuer trust (Nuts encodes trust in the PDs).

pub mod authz;
pub mod config;
pub mod devca;
pub mod dpop;
pub mod error;
pub mod identity;
pub mod presentation;
pub mod server;
pub mod state;
pub mod token;

use std::sync::Arc;

use wallet_protocol::did::UniversalResolver;
use wallet_protocol::net::{NetPolicy, ReqwestHttpClient};
use wallet_protocol::Clock;

pub use config::Config;
pub use error::{AsError, Result};
pub use state::AppState;

/// The outbound network policy of a configuration.
pub fn net_policy(cfg: &Config) -> Result<NetPolicy> {
    let extra_ca_pem = match &cfg.ca_file {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| AsError::Config(format!("{}: {e}", p.display())))?)
        }
        None => None,
    };
    Ok(NetPolicy {
        dev: cfg.dev,
        extra_ca_pem,
    })
}

/// Builds the server state from a configuration (creating the AS key on first use).
pub fn build_state(cfg: &Config, clock: Arc<dyn Clock>) -> Result<AppState> {
    cfg.validate()?;
    let policy = config::load_policy(&cfg.policy)?;
    let key = identity::load_or_create_key(&cfg.key_file)?;
    let identity = identity::Identity::new(&cfg.base_url, &cfg.subject, cfg.did_id(), &key)?;
    let net = net_policy(cfg)?;
    let resolver =
        UniversalResolver::from_policy(&net).map_err(|e| AsError::Config(e.to_string()))?;
    let http = ReqwestHttpClient::new(net.clone()).map_err(|e| AsError::Config(e.to_string()))?;
    Ok(AppState::new(
        identity,
        policy,
        Arc::new(resolver),
        Arc::new(http),
        net,
        clock,
        cfg.user_flow,
    ))
}

/// Binds the listener and serves until the process ends.
pub async fn run(cfg: &Config) -> Result<()> {
    let state = Arc::new(build_state(cfg, Arc::new(wallet_protocol::SystemClock))?);
    let tls = server::tls_config(&cfg.tls_cert, &cfg.tls_key)?;
    let router = server::router(state.clone())?;
    let tcp = tokio::net::TcpListener::bind(cfg.listen).await?;
    tracing::info!(
        listen = %cfg.listen,
        issuer = %state.identity.issuer,
        did = %state.identity.did,
        "nuts-wallet-as listening"
    );
    server::serve(tcp, tls, router).await
}
