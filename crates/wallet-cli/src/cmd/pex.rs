//! `nuts-wallet pex evaluate`: evaluate a presentation definition against credential files.
//!
//! A thin adapter over `wallet-pex`: read the files, evaluate, build the submission, print.
//! Exit status: 0 fulfilled, 1 not fulfilled, 2 bad input. Without `--credential` the vault's
//! credentials are used (in import order); the vault is unlocked with the OS keyring when it
//! uses one, else with `NUTS_WALLET_PASSPHRASE` (or a prompt on a terminal). A stored
//! credential the engine cannot read is skipped with a warning.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use wallet_pex::{
    evaluate, Evaluation, PolicyFile, PresentationDefinition, SubmissionOptions, WalletCredential,
    WalletOwnerType,
};

use wallet_vault::{CredentialFilter, KeyStore, OsKeyring, Passphrase, Unlock, Vault};

use crate::Ctx;

const ENV_VAULT: &str = "NUTS_WALLET_PASSPHRASE";
const ENV_SERVICE: &str = "NUTS_WALLET_KEYRING_SERVICE";

/// Arguments of `pex`.
#[derive(clap::Args)]
pub struct PexArgs {
    #[command(subcommand)]
    command: PexCommand,
}

#[derive(clap::Subcommand)]
enum PexCommand {
    /// Evaluate a presentation definition (or one of a policy file) against credentials
    Evaluate(EvaluateArgs),
}

/// Arguments of `pex evaluate`.
#[derive(clap::Args)]
struct EvaluateArgs {
    /// Presentation definition JSON, or a Nuts policy file ({scope: {organization: PD, user: PD}})
    #[arg(long, value_name = "FILE")]
    definition: PathBuf,
    /// Scope to take from a policy file [default: its only scope]
    #[arg(long)]
    scope: Option<String>,
    /// Which definition of the scope: organization or user
    #[arg(long, value_name = "TYPE", default_value = "organization")]
    wallet_owner_type: WalletOwnerType,
    /// Credential file (JSON-LD object or compact JWT); repeat for several, in wallet order
    /// [default: the vault's credentials]
    #[arg(long, value_name = "FILE")]
    credential: Vec<PathBuf>,
    /// Evaluation time (RFC 3339 or Unix seconds) for validity windows [default: now]
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Do not exclude expired or not yet valid credentials
    #[arg(long)]
    ignore_validity: bool,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// Runs `pex`.
pub fn run(ctx: &Ctx, args: PexArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PexCommand::Evaluate(a) => match evaluate_files(&a, || vault_credentials(&ctx.data_dir)) {
            Ok(report) => {
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&report.json)?);
                } else {
                    print!("{}", report.text);
                }
                Ok(if report.fulfilled {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            Err(message) => {
                eprintln!("error: {message}");
                Ok(ExitCode::from(2))
            }
        },
    }
}

#[derive(Debug)]
struct Report {
    fulfilled: bool,
    json: Value,
    text: String,
}

fn load_definition(a: &EvaluateArgs) -> Result<PresentationDefinition, String> {
    let path = a.definition.display();
    let text = std::fs::read_to_string(&a.definition).map_err(|e| format!("{path}: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    if value.get("input_descriptors").is_some() {
        if a.scope.is_some() {
            return Err(format!(
                "{path} is a presentation definition; --scope applies to policy files"
            ));
        }
        return PresentationDefinition::from_json(value).map_err(|e| format!("{path}: {e}"));
    }
    let policy = PolicyFile::from_json(value).map_err(|e| format!("{path}: {e}"))?;
    let scope = match &a.scope {
        Some(s) => s.clone(),
        None => {
            let scopes: Vec<&str> = policy.scopes().collect();
            match scopes.as_slice() {
                [one] => one.to_string(),
                _ => {
                    return Err(format!(
                        "{path} has scopes {scopes:?}: choose one with --scope"
                    ))
                }
            }
        }
    };
    let owner = a.wallet_owner_type;
    policy.definition(&scope, owner).cloned().ok_or_else(|| {
        format!("{path}: scope `{scope}` has no definition for wallet owner type `{owner}`")
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The vault's credentials: (source label, credential), in import order.
type Loaded = Vec<(String, WalletCredential)>;

fn vault_credentials(data_dir: &Path) -> Result<Loaded, String> {
    if !Vault::exists(data_dir) {
        return Err(format!(
            "no --credential given and no vault in {} (create one with `nuts-wallet init`)",
            data_dir.display()
        ));
    }
    let keystore: Arc<dyn KeyStore> = match std::env::var(ENV_SERVICE) {
        Ok(s) if !s.is_empty() => Arc::new(OsKeyring::with_service(&s)),
        _ => Arc::new(OsKeyring::new()),
    };
    let vault = Vault::open(data_dir, keystore).map_err(|e| e.to_string())?;
    let methods = vault.status().map_err(|e| e.to_string())?.protection;
    let by_keyring =
        methods.iter().any(|m| m == "keyring") && vault.unlock(Unlock::Keyring).is_ok();
    if !by_keyring {
        let p = match std::env::var(ENV_VAULT) {
            Ok(v) if !v.is_empty() => Passphrase::new(v),
            _ if std::io::stdin().is_terminal() => Passphrase::new(
                rpassword::prompt_password("Vault passphrase: ").map_err(|e| e.to_string())?,
            ),
            _ => return Err(format!("the vault is locked: set {ENV_VAULT}")),
        };
        vault
            .unlock(Unlock::Passphrase(&p))
            .map_err(|e| e.to_string())?;
    }
    read_vault(&vault)
}

fn read_vault(vault: &Vault) -> Result<Loaded, String> {
    let metas = vault
        .credentials()
        .list(&CredentialFilter::default())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(metas.len());
    for m in metas {
        let stored = vault.credentials().get(&m.id).map_err(|e| e.to_string())?;
        match WalletCredential::parse(stored.raw.expose_secret()) {
            Ok(c) => {
                let c = if c.id().is_empty() {
                    c.with_id(m.id.clone())
                } else {
                    c
                };
                out.push((format!("vault:{}", m.id), c));
            }
            Err(e) => eprintln!("warning: skipping stored credential {}: {e}", m.id),
        }
    }
    Ok(out)
}

fn evaluate_files(
    a: &EvaluateArgs,
    from_vault: impl FnOnce() -> Result<Loaded, String>,
) -> Result<Report, String> {
    let pd = load_definition(a)?;
    let mut creds = Vec::with_capacity(a.credential.len());
    let mut files = Vec::with_capacity(a.credential.len());
    if a.credential.is_empty() {
        for (source, c) in from_vault()? {
            files.push(source);
            creds.push(c);
        }
    }
    for p in &a.credential {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let c = WalletCredential::parse(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = file_name(p);
        // Credentials are identified by their id (JWT: jti); the file name when they have none.
        creds.push(if c.id().is_empty() {
            c.with_id(name.clone())
        } else {
            c
        });
        files.push(name);
    }
    let now = if a.ignore_validity {
        None
    } else {
        Some(match &a.at {
            Some(t) => t
                .parse::<i64>()
                .ok()
                .or_else(|| wallet_pex::rfc3339_to_unix(t))
                .ok_or_else(|| format!("--at {t}: not RFC 3339 or Unix seconds"))?,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
        })
    };
    let eval = evaluate(&pd, &creds, now);
    let built = if eval.fulfilled {
        Some(
            eval.build_submission(&pd, &creds, &SubmissionOptions::default())
                .map_err(|e| e.to_string()),
        )
    } else {
        None
    };
    Ok(report(&pd, &creds, &files, &eval, built))
}

fn report(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    files: &[String],
    eval: &Evaluation,
    built: Option<Result<wallet_pex::BuiltSubmission, String>>,
) -> Report {
    let id = |i: usize| creds[i].id().to_string();
    let submission = match &built {
        Some(Ok(b)) => serde_json::to_value(&b.presentation_submission).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let build_error = match &built {
        Some(Err(e)) => Some(e.clone()),
        _ => None,
    };
    let fulfilled = eval.fulfilled && build_error.is_none();
    let descriptors: Vec<Value> = eval
        .descriptors
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "selected": d.selected.as_ref().map(|c| id(c.index)),
                "candidates": d.candidates.iter().map(|c| id(c.index)).collect::<Vec<_>>(),
                "submitted": d.submitted,
                "fields": d.fields,
                "explanation": d.explanation,
            })
        })
        .collect();
    let json = json!({
        "fulfilled": fulfilled,
        "definition_id": pd.id(),
        "descriptors": descriptors,
        "requirements": eval.requirements,
        "presentation_submission": submission,
        "credentials": creds.iter().zip(files).map(|(c, f)| json!({
            "id": c.id(), "file": f, "format": c.format().as_str(), "type": c.display_type()
        })).collect::<Vec<_>>(),
        "warnings": eval.warnings,
        "error": build_error,
    });

    let mut t = String::new();
    let title = pd.name().map(|n| format!(" ({n})")).unwrap_or_default();
    let verdict = if fulfilled {
        "FULFILLED"
    } else {
        "NOT FULFILLED"
    };
    t.push_str(&format!("definition {}{title}: {verdict}\n", pd.id()));
    for w in &eval.warnings {
        t.push_str(&format!("  warning: {w}\n"));
    }
    for d in &eval.descriptors {
        match &d.selected {
            Some(c) => {
                let others = d.candidates.len().saturating_sub(1);
                let more = if others > 0 {
                    format!(" (+{others} other candidates)")
                } else {
                    String::new()
                };
                let skipped = if d.submitted { "" } else { " [not submitted]" };
                t.push_str(&format!(
                    "  {}: {} [{}]{more}{skipped}\n",
                    d.id,
                    id(c.index),
                    files[c.index]
                ));
                for (k, v) in &d.fields {
                    t.push_str(&format!("    {k} = {v}\n"));
                }
            }
            None => {
                t.push_str(&format!("  {}: no matching credential\n", d.id));
                if let Some(e) = &d.explanation {
                    t.push_str(&format!("    {}\n", e.message));
                }
            }
        }
    }
    for r in &eval.requirements {
        if let Some(m) = &r.message {
            t.push_str(&format!("  requirement: {m}\n"));
        }
    }
    if let Some(e) = &build_error {
        t.push_str(&format!("  cannot build a submission: {e}\n"));
    }
    if !submission.is_null() {
        t.push_str("presentation_submission:\n");
        t.push_str(&serde_json::to_string_pretty(&submission).unwrap_or_default());
        t.push('\n');
    }
    Report {
        fulfilled,
        json,
        text: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/nuts");

    fn no_vault() -> Result<Loaded, String> {
        panic!("credentials were given: the vault must not be read")
    }

    fn args(
        definition: &str,
        credentials: &[&str],
        scope: Option<&str>,
        owner: WalletOwnerType,
    ) -> EvaluateArgs {
        EvaluateArgs {
            definition: PathBuf::from(format!("{VECTORS}/presentation-definitions/{definition}")),
            scope: scope.map(str::to_string),
            wallet_owner_type: owner,
            credential: credentials
                .iter()
                .map(|c| PathBuf::from(format!("{VECTORS}/credentials/{c}")))
                .collect(),
            at: None,
            ignore_validity: true,
            json: true,
        }
    }

    #[test]
    fn policy_scope_evaluates_and_reports_json() {
        let a = args(
            "e2e-openid4vp-policy.json",
            &[
                "jsonld-authcred_001.signed.json",
                "jsonld-vc-nutsorg-didweb-iam-shape-only.json",
            ],
            None,
            WalletOwnerType::Organization,
        );
        let r = evaluate_files(&a, no_vault).unwrap();
        assert!(r.fulfilled);
        let d = &r.json["descriptors"][0];
        assert_eq!(
            d["selected"],
            json!("did:web:nodeB:iam:f17d021a-f0e6-4ed9-a22a-e4447f1720ba#36b83620-13b2-4fbf-a57a-618731839a6f")
        );
        assert_eq!(d["candidates"].as_array().unwrap().len(), 1);
        assert_eq!(
            r.json["presentation_submission"]["descriptor_map"],
            json!([{"id": "id_nuts_care_organization_cred", "format": "ldp_vc", "path": "$.verifiableCredential"}])
        );
    }

    #[test]
    fn not_fulfilled_carries_the_explanation() {
        let mut a = args(
            "e2e-browser-zorgtoepassing-policy.json",
            &["jwt-vc-nutsemployee-shape-only.jwt"],
            Some("zorgtoepassing"),
            WalletOwnerType::User,
        );
        a.ignore_validity = false;
        a.at = Some("2025-11-24T00:00:00Z".into());
        let r = evaluate_files(&a, no_vault).unwrap();
        assert!(!r.fulfilled);
        assert_eq!(r.json["presentation_submission"], Value::Null);
        assert_eq!(
            r.json["descriptors"][0]["explanation"]["message"],
            json!("NutsEmployeeCredential: expired on 2024-04-08T10:36:52Z")
        );
        assert!(r.text.contains("no matching credential"));
    }

    #[test]
    fn bad_input_is_an_error() {
        let none = args(
            "pe-test-pd_jsonld_jwt.json",
            &[],
            None,
            WalletOwnerType::Organization,
        );
        let missing = || Err("no vault here".to_string());
        assert_eq!(evaluate_files(&none, missing).unwrap_err(), "no vault here");
        let scope = args(
            "e2e-rfc021-policy.json",
            &["jsonld-orgcred_001.signed.json"],
            Some("nope"),
            WalletOwnerType::Organization,
        );
        assert!(evaluate_files(&scope, no_vault)
            .unwrap_err()
            .contains("scope `nope`"));
        let not_cred = args(
            "pe-test-pd_jsonld_jwt.json",
            &["../derived/jsonld-orgcred_001.signed.document.nq"],
            None,
            WalletOwnerType::Organization,
        );
        assert!(evaluate_files(&not_cred, no_vault).is_err());
        let tmp = tempfile::tempdir().unwrap();
        let e = vault_credentials(tmp.path()).unwrap_err();
        assert!(e.contains("no vault"), "{e}");
    }

    #[test]
    fn reads_the_vaults_credentials_when_none_are_given() {
        use wallet_vault::{
            CreateOptions, CredentialListing, KdfParams, MemoryKeyStore, NewCredential, Protection,
            SecretString,
        };
        let tmp = tempfile::tempdir().unwrap();
        let keystore: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::default());
        let vault = Vault::create(
            tmp.path(),
            keystore,
            CreateOptions {
                protection: Protection::Passphrase {
                    passphrase: Passphrase::from("vault passphrase for pex"),
                    kdf: KdfParams::INSECURE_TEST,
                },
                admin_passphrase: Passphrase::from("admin passphrase for pex"),
                admin_kdf: KdfParams::INSECURE_TEST,
            },
        )
        .unwrap();
        let admin = vault
            .admin_session(&Passphrase::from("admin passphrase for pex"))
            .unwrap();
        for (file, types) in [
            (
                "jsonld-authcred_001.signed.json",
                "NutsAuthorizationCredential",
            ),
            (
                "jsonld-orgcred_001.signed.json",
                "NutsOrganizationCredential",
            ),
            ("selfsigned-diddocument.json", "NotACredential"),
        ] {
            let raw = std::fs::read_to_string(format!("{VECTORS}/credentials/{file}")).unwrap();
            vault
                .credentials()
                .import(
                    &admin,
                    NewCredential {
                        listing: CredentialListing {
                            types: vec![types.into()],
                            format: "ldp_vc".into(),
                            issuer: "did:nuts:x".into(),
                            subject: None,
                            valid_from_ms: None,
                            valid_until_ms: None,
                        },
                        raw: SecretString::from(raw),
                    },
                )
                .unwrap();
        }
        let loaded = read_vault(&vault).unwrap();
        let a = args(
            "pe-test-pd_jsonld_jwt.json",
            &[],
            None,
            WalletOwnerType::Organization,
        );
        let r = evaluate_files(&a, || Ok(loaded)).unwrap();
        assert!(r.fulfilled);
        assert_eq!(
            r.json["descriptors"][0]["selected"],
            json!("did:nuts:CuE3qeFGGLhEAS3gKzhMCeqd1dGa9at5JCbmCfyMU2Ey#ec8af8cf-67d4-4b54-9bd6-8a861e729e11")
        );
        assert!(r.json["credentials"][1]["file"]
            .as_str()
            .unwrap()
            .starts_with("vault:"));
    }
}
