//! Verifier side: does a presentation submission map exactly what the matcher derives?
//!
//! Mirrors a Nuts node's submission validation (docs/protocol.md §8.4): every
//! `descriptor_map` entry is resolved against the envelope *as sent* (a JWT VP is seen as its
//! `vp` claim with `id` = `jti`; a JSON string must be designated `jwt_vc`/`jwt_vp`, an object
//! `ldp_vc`/`ldp_vp`; `path_nested` descends into a presentation). Then the matcher runs with
//! first-match selection on the credentials of each presentation in turn; the first
//! presentation that fulfils the definition gives the expected mapping. The submission must map
//! the same number of input descriptors, each to a credential with the same content.
//!
//! Signatures, holder binding, validity windows and revocation are NOT checked here; the
//! authorization server does that separately (docs/protocol.md §7.2, §7.6). Deliberate
//! differences from Nuts v6.2: `definition_id` is checked here too (Nuts checks it against the
//! scope's definitions before), and a `pick` rule with only `min` is handled.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::credential::{decode_jwt, WalletCredential};
use crate::definition::PresentationDefinition;
use crate::error::VerifyError;
use crate::format::VpFormat;
use crate::matcher::{derive_first_match, extract_fields};
use crate::path::{FieldPath, PathValue};
use crate::policy_file::{PolicyFile, WalletOwnerType};
use crate::submission::{DescriptorMapEntry, PresentationSubmission};

/// One presentation of an envelope.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// JWT or JSON-LD.
    pub format: VpFormat,
    /// The JSON paths are evaluated on (JWT: the `vp` claim plus `id` = `jti`).
    pub view: Value,
    /// Its credentials, in order.
    pub credentials: Vec<WalletCredential>,
}

/// A `vp_token`: one presentation or an array of them.
#[derive(Debug, Clone)]
pub struct Envelope {
    view: Value,
    presentations: Vec<Presentation>,
}

impl Envelope {
    /// Reads a `vp_token` value: a JWT VP string, a JSON-LD VP object, a JSON string holding
    /// either, or an array of those.
    pub fn parse(vp_token: &Value) -> Result<Self, VerifyError> {
        if let Value::String(s) = vp_token {
            let t = s.trim();
            if t.starts_with('[') || t.starts_with('{') {
                let v: Value =
                    serde_json::from_str(t).map_err(|e| VerifyError::Envelope(e.to_string()))?;
                return Self::parse(&v);
            }
        }
        match vp_token {
            Value::Array(items) => {
                let presentations = items
                    .iter()
                    .map(parse_presentation)
                    .collect::<Result<Vec<_>, _>>()?;
                let view = Value::Array(presentations.iter().map(|p| p.view.clone()).collect());
                Ok(Envelope {
                    view,
                    presentations,
                })
            }
            other => {
                let p = parse_presentation(other)?;
                Ok(Envelope {
                    view: p.view.clone(),
                    presentations: vec![p],
                })
            }
        }
    }

    /// The presentations, in order.
    pub fn presentations(&self) -> &[Presentation] {
        &self.presentations
    }
}

fn parse_presentation(v: &Value) -> Result<Presentation, VerifyError> {
    let (format, view) = match v {
        Value::String(s) if s.trim_start().starts_with('{') => {
            let obj: Value =
                serde_json::from_str(s).map_err(|e| VerifyError::Envelope(e.to_string()))?;
            (VpFormat::LdpVp, obj)
        }
        Value::String(jwt) => {
            let (_, claims, _) =
                decode_jwt(jwt.trim()).map_err(|e| VerifyError::Envelope(e.to_string()))?;
            let mut view = match claims.get("vp") {
                Some(Value::Object(vp)) => vp.clone(),
                _ => {
                    return Err(VerifyError::Envelope(
                        "JWT VP without a `vp` object claim".into(),
                    ))
                }
            };
            if let Some(jti) = claims.get("jti") {
                view.insert("id".into(), jti.clone());
            }
            (VpFormat::JwtVp, Value::Object(view))
        }
        Value::Object(_) => (VpFormat::LdpVp, v.clone()),
        _ => {
            return Err(VerifyError::Envelope(
                "expected a JWT string or a JSON object".into(),
            ))
        }
    };
    let entries: Vec<Value> = match view.get("verifiableCredential") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
    };
    let credentials = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let c = WalletCredential::from_json(e).map_err(|err| {
                VerifyError::Envelope(format!("verifiableCredential[{i}]: {err}"))
            })?;
            Ok(if c.id().is_empty() {
                c.with_id(format!("verifiableCredential[{i}]"))
            } else {
                c
            })
        })
        .collect::<Result<Vec<_>, VerifyError>>()?;
    Ok(Presentation {
        format,
        view,
        credentials,
    })
}

/// What an accepted submission yields.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedSubmission {
    /// Index of the presentation whose credentials fulfil the definition.
    pub presentation: usize,
    /// Input descriptor id → credential id (mapped credentials only).
    pub descriptors: BTreeMap<String, String>,
    /// Values of fields with an `id` (the claims for the access token / introspection), taken in
    /// definition order; a later descriptor's field with the same id wins.
    pub fields: BTreeMap<String, Value>,
    #[serde(skip)]
    credentials: BTreeMap<String, WalletCredential>,
}

impl VerifiedSubmission {
    /// The credential mapped to an input descriptor.
    pub fn credential(&self, descriptor_id: &str) -> Option<&WalletCredential> {
        self.credentials.get(descriptor_id)
    }
}

/// The authorization server's check: the submission's `definition_id` must name one of the
/// scope's definitions (organization or user; Nuts accepts either, docs/protocol.md §8.4), and
/// the submission must be what the matcher derives for it.
pub fn verify_for_scope(
    policy: &PolicyFile,
    scope: &str,
    submission: &PresentationSubmission,
    envelope: &Envelope,
) -> Result<(WalletOwnerType, VerifiedSubmission), VerifyError> {
    let (owner, pd) = policy
        .definition_by_id(scope, &submission.definition_id)
        .ok_or_else(|| VerifyError::UnknownDefinition {
            scope: scope.to_string(),
            definition_id: submission.definition_id.clone(),
        })?;
    Ok((owner, verify_submission(pd, submission, envelope)?))
}

/// Checks a submission against a definition and the envelope it came with.
pub fn verify_submission(
    pd: &PresentationDefinition,
    submission: &PresentationSubmission,
    envelope: &Envelope,
) -> Result<VerifiedSubmission, VerifyError> {
    if submission.definition_id != pd.id() {
        return Err(VerifyError::DefinitionId {
            expected: pd.id().to_string(),
            actual: submission.definition_id.clone(),
        });
    }
    let mut actual: BTreeMap<String, WalletCredential> = BTreeMap::new();
    for entry in &submission.descriptor_map {
        let c = resolve(entry, &envelope.view, &entry.id)?;
        actual.insert(entry.id.clone(), c);
    }
    let mut expected: Option<(usize, Vec<(usize, usize)>)> = None;
    for (pi, p) in envelope.presentations.iter().enumerate() {
        if let Some(mapping) = derive_first_match(pd, &p.credentials).mapping {
            expected = Some((pi, mapping));
            break;
        }
    }
    let Some((pi, mapping)) = expected else {
        if !pd.credentials_required() {
            return Ok(VerifiedSubmission {
                presentation: 0,
                descriptors: BTreeMap::new(),
                fields: BTreeMap::new(),
                credentials: BTreeMap::new(),
            });
        }
        return Err(VerifyError::NotFulfilled);
    };
    let creds = &envelope.presentations[pi].credentials;
    let mut by_descriptor: BTreeMap<String, usize> = BTreeMap::new();
    for &(di, ci) in &mapping {
        by_descriptor.insert(pd.input_descriptors()[di].id().to_string(), ci);
    }
    if by_descriptor.len() != actual.len() {
        return Err(VerifyError::Count {
            expected: by_descriptor.len(),
            actual: actual.len(),
        });
    }
    for (d, &ci) in &by_descriptor {
        match actual.get(d) {
            Some(a) if a.same_content(&creds[ci]) => {}
            _ => return Err(VerifyError::Mapping(d.clone())),
        }
    }
    let mut fields = BTreeMap::new();
    let mut descriptors = BTreeMap::new();
    let mut credentials = BTreeMap::new();
    for d in pd.input_descriptors() {
        if let Some(&ci) = by_descriptor.get(d.id()) {
            fields.extend(extract_fields(d, &creds[ci]));
            descriptors.insert(d.id().to_string(), creds[ci].id().to_string());
            credentials.insert(d.id().to_string(), creds[ci].clone());
        }
    }
    Ok(VerifiedSubmission {
        presentation: pi,
        descriptors,
        fields,
        credentials,
    })
}

fn resolve(
    entry: &DescriptorMapEntry,
    view: &Value,
    descriptor: &str,
) -> Result<WalletCredential, VerifyError> {
    let err = |message: String| VerifyError::Resolve {
        descriptor: descriptor.to_string(),
        message,
    };
    let path = FieldPath::parse(&entry.path)
        .map_err(|e| err(format!("invalid path `{}`: {e}", entry.path)))?;
    if !path.is_singular() {
        return Err(err(format!(
            "path `{}` must select a single value",
            entry.path
        )));
    }
    let PathValue::One(target) = path.eval(view) else {
        return Err(err(format!("no value at `{}`", entry.path)));
    };
    let nested_view = match (target, entry.format.as_str()) {
        (Value::String(_), "jwt_vc") | (Value::Object(_), "ldp_vc") => {
            if entry.path_nested.is_some() {
                return Err(err(format!(
                    "`{}` is a credential; path_nested cannot descend into it",
                    entry.path
                )));
            }
            return WalletCredential::from_json(target.clone())
                .map_err(|e| err(format!("invalid credential at `{}`: {e}", entry.path)));
        }
        (Value::String(_), "jwt_vp") | (Value::Object(_), "ldp_vp") => {
            parse_presentation(target)
                .map_err(|e| err(format!("invalid presentation at `{}`: {e}", entry.path)))?
                .view
        }
        (v, f) => {
            let kind = if v.is_string() {
                "a string"
            } else {
                "a JSON value that is not a string"
            };
            return Err(err(format!(
                "value at `{}` is {kind} and cannot be read as `{f}`",
                entry.path
            )));
        }
    };
    match &entry.path_nested {
        Some(nested) => resolve(nested, &nested_view, descriptor),
        None => Err(err(format!(
            "path `{}` does not reference a credential",
            entry.path
        ))),
    }
}
