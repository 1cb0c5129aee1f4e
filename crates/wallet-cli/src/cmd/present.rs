//! `nuts-wallet present URL`: answers one wallet authorization request (the
//! `nuts-wallet://authorize?...` link a Nuts authorization server sends the browser to) with
//! an explicit decision, as the consent screen would. Thin adapter over the wallet runtime
//! (`wallet_core::runtime`: the link is admitted once, the consent opened, the decision sent);
//! also what `token user` shares with it: the runtime over the CLI's network settings, what is
//! shared, and the one [`Failure`] report of both commands.
//!
//! A separate process started no user flow, so every request is unsolicited here: it is
//! refused before anything is fetched or posted unless `--allow-unsolicited` is given (or the
//! administrator's policy allows unsolicited requests from that verifier).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use wallet_core::deeplink::{self, AuthorizeLink};
use wallet_core::openid4vp::{self, Consent, DispatchError, ResolveError, Resolved, ResponseError};
use wallet_core::runtime::{Answer, ConsentError, WalletRuntime};
use wallet_pex::Evaluation;
use wallet_protocol::net::NetPolicy;
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

/// The wallet runtime of this process over `vault`, with the same dev/CA network policy as
/// `token service`.
pub(crate) fn wallet_runtime(ctx: &Ctx, vault: &Vault) -> anyhow::Result<WalletRuntime> {
    let policy = NetPolicy::from_args(ctx.dev, ctx.ca_file.as_deref())?;
    Ok(WalletRuntime::from_net_policy(
        policy,
        Arc::new(vault.clone()),
    )?)
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
            "withheld": c.withheld,
            "revocation_unchecked": c.revocation_unchecked,
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
        match &c.verifier.display_name {
            Some(name) => writeln!(
                out,
                "Request from {name}: {} ({})",
                c.verifier.host,
                c.verifier.client_id.as_str()
            )?,
            None => writeln!(
                out,
                "Request from {} ({})",
                c.verifier.host,
                c.verifier.client_id.as_str()
            )?,
        }
        writeln!(out, "  verifier DID  {}", c.verifier.did)?;
        writeln!(
            out,
            "  scope         {}",
            c.scope.as_deref().unwrap_or("(none)")
        )?;
        if let Some(d) = c
            .scope_description
            .as_ref()
            .and_then(|d| d.en.as_ref().or(d.nl.as_ref()))
        {
            writeln!(out, "  for           {d}")?;
        }
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
        for n in &c.withheld {
            writeln!(out, "  not offered   {}", n.line())?;
        }
        for n in &c.revocation_unchecked {
            writeln!(
                out,
                "  unchecked     {} (offered anyway: the verifier checks the status too)",
                n.line()
            )?;
        }
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

/// Why `present` or `token user` stopped; mapped once, here, to output and exit status.
pub(crate) enum Failure {
    /// The command line is wrong (exit 2); `code` is the JSON `error`.
    Input { code: &'static str, message: String },
    /// Refused or failed (exit 1), with a stable code, what the user can do, and, where a
    /// verifier was involved, whether it was told.
    Failed {
        code: String,
        message: String,
        notified: Option<bool>,
        hint: Option<String>,
    },
}

impl Failure {
    pub(crate) fn failed(code: &str, message: impl Into<String>) -> Self {
        Self::Failed {
            code: code.to_owned(),
            message: message.into(),
            notified: None,
            hint: None,
        }
    }

    /// The same failure with `hint`.
    pub(crate) fn with_hint(mut self, h: Option<String>) -> Self {
        if let Self::Failed { hint, .. } = &mut self {
            *hint = h;
        }
        self
    }

    pub(crate) fn report(self, json: bool) -> ExitCode {
        match self {
            Self::Input { code, message } => {
                if json {
                    println!("{}", json!({"error": code, "error_description": message}));
                }
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
            Self::Failed {
                code,
                message,
                notified,
                hint,
            } => {
                if json {
                    let mut v = json!({"error": code, "error_description": message});
                    if let Some(n) = notified {
                        v["verifier_notified"] = json!(n);
                    }
                    println!("{v}");
                }
                match notified {
                    None => eprintln!("error: {code}: {message}"),
                    Some(notified) => {
                        eprintln!("error: {message} ({code})");
                        if notified {
                            eprintln!(
                                "The verifier was told that the request could not be answered."
                            );
                        } else {
                            eprintln!("Nothing was sent to the verifier.");
                        }
                    }
                }
                if let Some(h) = hint {
                    eprintln!("hint: {h}");
                }
                ExitCode::FAILURE
            }
        }
    }
}

/// What a resolve refusal looks like to the user.
pub(crate) fn refusal_hint(error: &ResolveError, verifier: &str) -> Option<String> {
    match error {
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
        DispatchError::Response(ResponseError::Refused {
            redirect_uri: Some(r),
            ..
        }) => Some(format!(
            "the verifier sends the browser to {}",
            redact_code(r)
        )),
        _ => None,
    };
    Failure::Failed {
        code: e.code().to_owned(),
        message: e.to_string(),
        notified: Some(false),
        hint,
    }
}

/// A consent step that failed for another reason than the verifier's request.
fn consent_failure(e: ConsentError) -> Failure {
    match e {
        ConsentError::Dispatch(d) => dispatch_failure(&d),
        ConsentError::Refused {
            error,
            verifier_notified,
            ..
        } => Failure::Failed {
            code: error.code().to_owned(),
            message: error.to_string(),
            notified: Some(verifier_notified),
            hint: None,
        },
        ConsentError::NotTheNamedEmployee { .. } => Failure::Failed {
            code: "employee".into(),
            message: e.to_string(),
            notified: Some(false),
            hint: None,
        },
        other => Failure::Failed {
            code: "wallet".into(),
            message: other.to_string(),
            notified: Some(false),
            hint: None,
        },
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
    let refused = |code: &str, message: String| Failure::Failed {
        code: code.to_owned(),
        message,
        notified: Some(false),
        hint: None,
    };
    let employee = match (&args.employee, args.approve) {
        (Some(e), true) => Some(check_employee(&vault, e).map_err(|m| refused("employee", m))?),
        _ => None,
    };
    let rt = wallet_runtime(ctx, &vault)
        .map_err(|e| refused("config", format!("{e:#}")))?
        .allow_unsolicited(args.allow_unsolicited);
    let verifier = link.client_id.as_str().to_owned();
    let id = rt.admit(&args.url, link);
    if let Err(e) = rt.open_consent(id).await {
        let hint = match &e {
            ConsentError::Refused { error, .. } => refusal_hint(error, &verifier),
            _ => None,
        };
        return Err(consent_failure(e).with_hint(hint));
    }
    let (shared_json, fulfilled) = rt
        .with_request(id, |resolved| {
            let shared = Shared::of(resolved, &vault, employee.as_deref());
            if !args.json {
                let mut out = std::io::stdout().lock();
                let _ = shared.write_human(&mut out);
            }
            (shared.to_json(), resolved.consent.evaluation.fulfilled)
        })
        .map_err(consent_failure)?;
    let answer = match employee {
        Some(employee) => {
            // Nuts answers a definition it cannot meet with invalid_request.
            if !fulfilled {
                let notified = rt.refuse_unmet(id).await.unwrap_or(false);
                return Err(Failure::Failed {
                    code: "no_matching_credential".into(),
                    message: "the wallet's credentials do not meet the presentation definition"
                        .into(),
                    notified: Some(notified),
                    hint: Some("`nuts-wallet pex evaluate` explains which constraint fails".into()),
                });
            }
            Answer::Approve { employee }
        }
        None => Answer::Decline {
            employee: args.employee.clone(),
        },
    };
    let outcome = rt.decide(id, answer).await.map_err(consent_failure)?;
    let approved = outcome.approved;
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
    let link = match deeplink::parse_authorize_link(&args.url) {
        Ok(l) => l,
        Err(e) => {
            return Ok(Failure::Input {
                code: "invalid_input",
                message: format!(
                    "not a wallet authorization request: {e} \
                     (expected nuts-wallet://authorize?client_id=...&request_uri=...)"
                ),
            }
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
