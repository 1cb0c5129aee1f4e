//! `nuts-wallet present URL`: answers one wallet authorization request (the
//! `nuts-wallet://authorize?...` link a Nuts authorization server sends the browser to) with
//! an explicit decision, as the consent screen would. Thin adapter over
//! `wallet_core::openid4vp` (resolve → consent → dispatch); also the holder helpers that
//! `token user` shares (environment, what is shared, link parsing).
//!
//! A separate process started no user flow, so every request is unsolicited here: it is
//! refused before anything is fetched or posted unless `--allow-unsolicited` is given (or the
//! administrator's policy allows unsolicited requests from that verifier).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use wallet_core::deeplink::{self, AuthorizeLink, DeepLink, DeepLinkError};
use wallet_core::oauth::user::UserSessions;
use wallet_core::openid4vp::{
    self, Consent, Decision, DispatchError, HolderEnv, Invalid, Resolved, SeenRequests,
};
use wallet_pex::Evaluation;
use wallet_protocol::did::UniversalResolver;
use wallet_protocol::net::{HttpClient, NetPolicy, ReqwestHttpClient};
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::Vault;

use super::credential::runtime;
use super::vault::open_unlocked;
use crate::Ctx;

/// Arguments of `present`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["approve", "decline"])))]
pub struct PresentArgs {
    /// The wallet authorization request: `nuts-wallet://authorize?client_id=...&request_uri=...`
    /// (an `openid4vp:` link is accepted too)
    #[arg(value_name = "URL")]
    url: String,
    /// The employee who decides (roster identifier, e.g. jdoe@example.com); required with
    /// --approve: they answer the employee round
    #[arg(long, value_name = "ID", required_if_eq("approve", "true"))]
    employee: Option<String>,
    /// Present the credentials
    #[arg(long)]
    approve: bool,
    /// Refuse: the verifier gets `access_denied`
    #[arg(long)]
    decline: bool,
    /// Answer a request that this process did not start (the wallet then cannot tell it from
    /// a phishing attempt: only for requests you expect)
    #[arg(long)]
    allow_unsolicited: bool,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The network setup every holder call uses (the same dev/CA policy as `token service`).
pub(crate) struct Net {
    pub(crate) policy: NetPolicy,
    pub(crate) http: Arc<dyn HttpClient>,
}

impl Net {
    pub(crate) fn new(ctx: &Ctx) -> anyhow::Result<Self> {
        let policy = NetPolicy::from_args(ctx.dev, ctx.ca_file.as_deref())?;
        let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttpClient::new(policy.clone())?);
        Ok(Self { policy, http })
    }

    /// The holder environment over `vault`.
    pub(crate) fn holder(
        &self,
        vault: &Vault,
        sessions: Option<Arc<UserSessions>>,
        allow_unsolicited: bool,
    ) -> anyhow::Result<HolderEnv> {
        Ok(HolderEnv {
            vault: vault.clone(),
            http: self.http.clone(),
            resolver: Arc::new(UniversalResolver::from_policy(&self.policy)?),
            clock: Arc::new(SystemClock),
            seen: Arc::new(SeenRequests::default()),
            sessions,
            allow_unsolicited,
        })
    }
}

/// Parses a wallet authorization link; `openid4vp:` links (what a Nuts verifier sends for
/// the user round) are read as `nuts-wallet:` links, as the holder does internally.
pub(crate) fn parse_link(url: &str) -> Result<AuthorizeLink, DeepLinkError> {
    let url = url.trim();
    let owned;
    let url = match url.strip_prefix("openid4vp:") {
        Some(rest) => {
            owned = format!("{}:{rest}", deeplink::SCHEME);
            owned.as_str()
        }
        None => url,
    };
    match deeplink::parse(url)? {
        DeepLink::Authorize(l) => Ok(l),
    }
}

/// Refuses an unknown or deactivated employee before anything is fetched or sent.
pub(crate) fn check_employee(vault: &Vault, employee: &str) -> Result<String, String> {
    match wallet_core::roster::find_employee(vault, employee) {
        Ok(e) if e.active => Ok(e.identifier),
        Ok(e) => Err(format!(
            "employee {} is deactivated in the wallet's roster",
            e.identifier
        )),
        Err(_) => Err(format!(
            "employee {employee:?} is not on the wallet's roster (see `nuts-wallet employee list`)"
        )),
    }
}

/// What an approval would share: the consent model plus the employee round's preview.
pub(crate) struct Shared<'a> {
    pub(crate) consent: &'a Consent,
    /// `(employee, evaluation)` of the user round, when the verifier has one.
    pub(crate) user_round: Option<(String, Result<Evaluation, String>)>,
}

impl<'a> Shared<'a> {
    pub(crate) fn of(resolved: &'a Resolved, vault: &Vault, employee: Option<&str>) -> Self {
        let user_round = employee.and_then(|e| {
            resolved
                .preview_user_round(vault, e, SystemClock.now_unix())
                .map(|r| (e.to_owned(), r.map_err(|x| x.to_string())))
        });
        Self {
            consent: &resolved.consent,
            user_round,
        }
    }

    /// A credential of the organization round (the evaluation indexes the consent's list).
    fn credential(&self, index: usize) -> Value {
        match self.consent.credentials.iter().find(|c| c.index == index) {
            Some(c) => json!({"id": c.id, "types": c.types, "issuer": c.issuer}),
            None => Value::Null,
        }
    }

    /// `org`: the organization round (its credentials are the vault's); otherwise the
    /// employee round, whose one credential is issued when the round is answered.
    fn round_json(&self, ev: &Evaluation, org: bool) -> Value {
        let descriptors: Vec<Value> = ev
            .descriptors
            .iter()
            .map(|d| {
                let credential = d.selected.as_ref().map(|s| {
                    if org {
                        self.credential(s.index)
                    } else {
                        json!({"types": ["VerifiableCredential", "NutsEmployeeCredential"], "issued_on_approval": true})
                    }
                });
                json!({
                    "id": d.id,
                    "credential": credential,
                    "claims": d.fields,
                    "explanation": d.explanation.as_ref().map(|x| &x.message),
                })
            })
            .collect();
        json!({
            "definition_id": ev.definition_id,
            "fulfilled": ev.fulfilled,
            "descriptors": descriptors,
        })
    }

    /// Stable JSON: verifier, scope, flags, both rounds.
    pub(crate) fn to_json(&self) -> Value {
        let c = self.consent;
        let user = match (&c.user_round, &self.user_round) {
            (None, _) => Value::Null,
            (Some(p), None) => json!({"definition_id": p.definition_id}),
            (Some(p), Some((employee, Ok(ev)))) => {
                let mut v = self.round_json(ev, false);
                v["definition_id"] = json!(p.definition_id);
                v["employee"] = json!(employee);
                v
            }
            (Some(p), Some((employee, Err(e)))) => json!({
                "definition_id": p.definition_id,
                "employee": employee,
                "fulfilled": false,
                "error": e,
            }),
        };
        json!({
            "verifier": c.verifier,
            "scope": c.scope,
            "unsolicited": c.unsolicited,
            "outside_policy": c.outside_policy,
            "expires_at": c.expires_at,
            "organization_round": self.round_json(&c.evaluation, true),
            "user_round": user,
        })
    }

    fn write_round(&self, out: &mut dyn Write, ev: &Evaluation, org: bool) -> std::io::Result<()> {
        for d in &ev.descriptors {
            match (&d.selected, &d.explanation) {
                (Some(_), _) if !org => writeln!(
                    out,
                    "    NutsEmployeeCredential, issued by the organization when you approve"
                )?,
                (Some(s), _) => {
                    let what = self
                        .consent
                        .credentials
                        .iter()
                        .find(|c| c.index == s.index)
                        .map(|c| {
                            let ty = c
                                .types
                                .iter()
                                .rfind(|t| *t != "VerifiableCredential")
                                .cloned()
                                .unwrap_or_default();
                            format!("{ty} from {}", short(&c.issuer))
                        })
                        .unwrap_or_else(|| s.id.clone());
                    writeln!(out, "    {what}")?;
                }
                (None, Some(x)) => writeln!(out, "    {}: cannot be met: {}", d.id, x.message)?,
                (None, None) => writeln!(out, "    {}: no credential", d.id)?,
            }
            let width = d.fields.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in &d.fields {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                writeln!(out, "      {k:<width$}  {v}")?;
            }
        }
        Ok(())
    }

    /// Human output: who asks, for what, and what would be sent.
    pub(crate) fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let c = self.consent;
        writeln!(
            out,
            "Request from {} ({})",
            c.verifier.host, c.verifier.client_id
        )?;
        writeln!(out, "  verifier DID  {}", c.verifier.did)?;
        writeln!(
            out,
            "  scope         {}",
            c.scope.as_deref().unwrap_or("(none)")
        )?;
        writeln!(
            out,
            "  started here  {}",
            if c.unsolicited {
                "no: unsolicited request"
            } else {
                "yes"
            }
        )?;
        if c.outside_policy {
            writeln!(
                out,
                "  warning       this verifier is not in the administrator's policy"
            )?;
        }
        let ev = &c.evaluation;
        writeln!(
            out,
            "Organization credentials ({}){}:",
            ev.definition_id,
            if ev.fulfilled { "" } else { ", CANNOT be met" }
        )?;
        self.write_round(out, ev, true)?;
        match (&c.user_round, &self.user_round) {
            (None, _) => {}
            (Some(p), None) => writeln!(
                out,
                "Employee credential ({}): asked after the organization round",
                p.definition_id
            )?,
            (Some(p), Some((employee, Ok(ev)))) => {
                writeln!(
                    out,
                    "Employee credential ({}) for {employee}{}:",
                    p.definition_id,
                    if ev.fulfilled { "" } else { ", CANNOT be met" }
                )?;
                self.write_round(out, ev, false)?;
            }
            (Some(p), Some((employee, Err(e)))) => writeln!(
                out,
                "Employee credential ({}) for {employee}: cannot be issued: {e}",
                p.definition_id
            )?,
        }
        Ok(())
    }
}

/// A long identifier (a did:jwk holds a whole key) shortened for the terminal.
fn short(id: &str) -> String {
    const MAX: usize = 56;
    if id.chars().count() <= MAX {
        id.to_owned()
    } else {
        format!("{}…", id.chars().take(MAX - 1).collect::<String>())
    }
}

/// Why `present` stopped; mapped once to output and exit status.
enum Failure {
    /// The command line is wrong (exit 2).
    Input(String),
    /// Refused or failed (exit 1), with a stable code, and whether the verifier was told.
    Refused {
        code: &'static str,
        message: String,
        notified: bool,
        hint: Option<String>,
    },
}

impl Failure {
    fn report(self, json: bool) -> ExitCode {
        match self {
            Self::Input(message) => {
                if json {
                    println!(
                        "{}",
                        json!({"error": "invalid_input", "error_description": message})
                    );
                }
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
            Self::Refused {
                code,
                message,
                notified,
                hint,
            } => {
                if json {
                    println!(
                        "{}",
                        json!({"error": code, "error_description": message, "verifier_notified": notified})
                    );
                }
                eprintln!("error: {message} ({code})");
                if notified {
                    eprintln!("The verifier was told that the request could not be answered.");
                } else {
                    eprintln!("Nothing was sent to the verifier.");
                }
                if let Some(h) = hint {
                    eprintln!("hint: {h}");
                }
                ExitCode::FAILURE
            }
        }
    }
}

/// Posts a verification refusal to the verifier when the core says it may be told.
pub(crate) async fn tell_verifier(env: &HolderEnv, inv: &Invalid) -> bool {
    let Some(d) = &inv.dispatch else {
        return false;
    };
    match openid4vp::post_error(env, d).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not tell the verifier about the refusal");
            false
        }
    }
}

/// What a resolve refusal looks like to the user.
pub(crate) fn refusal_hint(inv: &Invalid, verifier: &str) -> Option<String> {
    match inv.error {
        openid4vp::ResolveError::Unsolicited(_) => Some(
            "only answer requests you expect; pass --allow-unsolicited to answer it anyway".into(),
        ),
        openid4vp::ResolveError::OutsidePolicy(_) => Some(format!(
            "an administrator can allow it: nuts-wallet policy allow-as {verifier}"
        )),
        _ => None,
    }
}

fn dispatch_failure(e: &DispatchError) -> Failure {
    let hint = match e {
        DispatchError::Refused {
            redirect_uri: Some(r),
            ..
        } => Some(format!(
            "the verifier sends the browser to {}",
            redact_code(r)
        )),
        _ => None,
    };
    Failure::Refused {
        code: e.code(),
        message: e.to_string(),
        notified: false,
        hint,
    }
}

/// A redirect for messages: the `code` parameter (an authorization code) replaced.
pub(crate) fn redact_code(uri: &str) -> String {
    let Ok(mut u) = url::Url::parse(uri) else {
        return "(not a URL)".into();
    };
    let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    if pairs.iter().any(|(k, _)| k == "code") {
        u.query_pairs_mut()
            .clear()
            .extend_pairs(pairs.iter().map(|(k, v)| {
                if k == "code" {
                    (k.as_str(), "[redacted]")
                } else {
                    (k.as_str(), v.as_str())
                }
            }));
    }
    u.into()
}

async fn present(
    ctx: &Ctx,
    args: &PresentArgs,
    link: AuthorizeLink,
    vault: Vault,
) -> Result<(), Failure> {
    let refused = |code, message: String| Failure::Refused {
        code,
        message,
        notified: false,
        hint: None,
    };
    let employee = match (&args.employee, args.approve) {
        (Some(e), true) => Some(check_employee(&vault, e).map_err(|m| refused("employee", m))?),
        _ => None,
    };
    let net = Net::new(ctx).map_err(|e| refused("config", format!("{e:#}")))?;
    let env = net
        .holder(&vault, None, args.allow_unsolicited)
        .map_err(|e| refused("config", format!("{e:#}")))?;
    let verifier = link.client_id.as_str().to_owned();
    let resolved = match openid4vp::resolve(&link, &env).await {
        Ok(r) => r,
        Err(inv) => {
            let notified = tell_verifier(&env, &inv).await;
            return Err(Failure::Refused {
                code: inv.error.code(),
                message: inv.error.to_string(),
                notified,
                hint: refusal_hint(&inv, &verifier),
            });
        }
    };
    let shared = Shared::of(&resolved, &vault, employee.as_deref());
    let shared_json = shared.to_json();
    if !args.json {
        let mut out = std::io::stdout().lock();
        let _ = shared.write_human(&mut out);
    }
    let decision = match employee {
        Some(employee) => {
            // Nuts answers a definition it cannot meet with invalid_request (B.4).
            if !resolved.consent.evaluation.fulfilled {
                let d = resolved.error_dispatch(
                    "invalid_request",
                    "wallet could not fulfill requirements of the presentation definition",
                );
                let notified = openid4vp::post_error(&env, &d).await.is_ok();
                return Err(Failure::Refused {
                    code: "no_matching_credential",
                    message: "the wallet's credentials do not meet the presentation definition"
                        .into(),
                    notified,
                    hint: Some("`nuts-wallet pex evaluate` explains which constraint fails".into()),
                });
            }
            Decision::Approved { employee }
        }
        None => Decision::Declined,
    };
    let approved = matches!(decision, Decision::Approved { .. });
    let outcome = openid4vp::dispatch(&env, resolved, decision)
        .await
        .map_err(|e| dispatch_failure(&e))?;
    if args.json {
        let mut v = shared_json;
        v["decision"] = json!(if approved { "approved" } else { "declined" });
        v["rounds"] = json!(outcome.rounds);
        v["redirect_uri"] = json!(outcome.redirect_uri);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
        );
    } else {
        let rounds: Vec<&str> = outcome
            .rounds
            .iter()
            .map(|r| match r {
                openid4vp::Round::Organization => "organization",
                openid4vp::Round::User => "employee",
            })
            .collect();
        if approved {
            println!("Presented ({} round).", rounds.join(" + "));
        } else {
            println!("Declined: the verifier was told access_denied.");
        }
        println!("The browser goes to:");
        println!("{}", outcome.redirect_uri);
    }
    if approved {
        // The redirect carries the authorization code: it is for the browser only.
        eprintln!(
            "note: the address above carries an authorization code; open it, do not share it"
        );
    }
    Ok(())
}

/// `nuts-wallet present`.
pub fn run(ctx: &Ctx, args: PresentArgs) -> anyhow::Result<ExitCode> {
    let link = match parse_link(&args.url) {
        Ok(l) => l,
        Err(e) => {
            return Ok(Failure::Input(format!(
                "not a wallet authorization request: {e} \
                 (expected nuts-wallet://authorize?client_id=...&request_uri=...)"
            ))
            .report(args.json))
        }
    };
    let vault = open_unlocked(&ctx.data_dir)?;
    let rt = runtime()?;
    Ok(match rt.block_on(present(ctx, &args, link, vault)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(args.json),
    })
}
