//! Matching credentials against a definition, with Nuts' selection rules (docs/protocol.md §8.2).
//!
//! For every input descriptor all credentials that pass the definition- and descriptor-level
//! `format`, the validity window (only when an evaluation time is given; Nuts' wallet lists
//! valid credentials only) and every field are *candidates*, in wallet order. The *selected*
//! candidate is the user's choice or else the first one (Nuts `FirstMatchSelector`).
//! Without `submission_requirements` every descriptor must have one and the mapping follows
//! descriptor order (a credential used by two descriptors appears twice, as in Nuts). With
//! them, each requirement picks from its groups (Nuts `apply`), the picked credentials are
//! de-duplicated and each is mapped to the first descriptor that selected it.
//!
//! The fast path stops at the first failed check; the explanation pass (only for descriptors
//! without candidates) evaluates everything to find the closest credential.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::credential::{CredentialFormat, WalletCredential};
use crate::definition::{
    Field, InputDescriptor, PresentationDefinition, Rule, SubmissionRequirement,
};
use crate::error::SubmissionError;
use crate::explain::{
    Constraint, CredentialDiagnosis, CredentialRef, DescriptorExplanation, Failure, FieldFailure,
    FormatLevel, PathAttempt, RequirementEvaluation,
};
use crate::filter::{Fail, Filter, Hit};
use crate::format::{allowed_values, credential_matches, FormatDesignations};
use crate::path::PathValue;
use crate::time::format_unix;

/// Options of an evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvaluateOptions {
    /// Evaluation time (Unix seconds). When set, credentials outside their validity window are
    /// not candidates (and are explained as expired / not yet valid).
    pub now: Option<i64>,
    /// The user's choice per input descriptor id: index into the credential slice. Must be a
    /// candidate of that descriptor. Descriptors not listed take their first candidate.
    pub selection: BTreeMap<String, usize>,
}

/// The result of evaluating a definition against a wallet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The definition's `id`.
    pub definition_id: String,
    /// Whether a submission can be built.
    pub fulfilled: bool,
    /// Per input descriptor, in definition order.
    pub descriptors: Vec<DescriptorEvaluation>,
    /// Per top-level submission requirement (empty without requirements).
    pub requirements: Vec<RequirementEvaluation>,
    /// The descriptor → credential mapping a submission will carry, in submission order
    /// (empty when not fulfilled).
    pub mapping: Vec<DescriptorMatch>,
    /// Definition warnings (constructs Nuts handles surprisingly).
    pub warnings: Vec<String>,
}

/// One entry of the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DescriptorMatch {
    /// Input descriptor id.
    pub descriptor_id: String,
    /// The credential.
    pub credential: CredentialRef,
}

/// The outcome for one input descriptor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DescriptorEvaluation {
    /// `id`.
    pub id: String,
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `purpose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// `group`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<String>,
    /// Every credential that satisfies the descriptor, in wallet order.
    pub candidates: Vec<CredentialRef>,
    /// The chosen candidate (user selection, else the first).
    pub selected: Option<CredentialRef>,
    /// Whether the selected credential goes into the submission (submission requirements may
    /// leave a descriptor out).
    pub submitted: bool,
    /// Values of the fields with an `id`, from the selected credential (these become claims at
    /// the authorization server). An optional field without a value is `null`.
    pub fields: BTreeMap<String, Value>,
    /// Why there is no candidate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<DescriptorExplanation>,
}

/// Evaluates with first-match selection. Never fails: problems are in the result.
pub fn evaluate(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    now: Option<i64>,
) -> Evaluation {
    let options = EvaluateOptions {
        now,
        selection: BTreeMap::new(),
    };
    // An empty selection cannot be invalid.
    evaluate_with(pd, creds, &options).unwrap_or_else(|_| unreachable_evaluation(pd))
}

fn unreachable_evaluation(pd: &PresentationDefinition) -> Evaluation {
    Evaluation {
        definition_id: pd.id().to_string(),
        fulfilled: false,
        descriptors: Vec::new(),
        requirements: Vec::new(),
        mapping: Vec::new(),
        warnings: pd.warnings().to_vec(),
    }
}

/// Turns a Nuts `credential_selection` (field id → value) into a per-descriptor selection:
/// for every input descriptor with a selected field, the one candidate whose field has that
/// value (compared as text). Zero or several such candidates, or a field id the definition does
/// not have, is an error, as with a Nuts node. Descriptors without a selected field are not
/// in the result (they take their first candidate).
pub fn select_by_fields(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    field_selection: &BTreeMap<String, String>,
    now: Option<i64>,
) -> Result<BTreeMap<String, usize>, SubmissionError> {
    for key in field_selection.keys() {
        let known = pd
            .input_descriptors()
            .iter()
            .any(|d| d.fields().iter().any(|f| f.id() == Some(key.as_str())));
        if !known {
            return Err(SubmissionError::UnknownSelectionField(key.clone()));
        }
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = BTreeMap::new();
    for d in pd.input_descriptors() {
        let selected: Vec<(&String, &String)> = field_selection
            .iter()
            .filter(|(k, _)| d.fields().iter().any(|f| f.id() == Some(k.as_str())))
            .collect();
        if selected.is_empty() {
            continue;
        }
        let matching: Vec<usize> = creds
            .iter()
            .enumerate()
            .filter(|(_, c)| accepts(pd, d, c, now))
            .filter(|(_, c)| {
                let fields = extract_fields(d, c);
                selected
                    .iter()
                    .all(|(k, want)| fields.get(*k).is_some_and(|v| text(v) == **want))
            })
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [] => return Err(SubmissionError::SelectionNoMatch(d.id().to_string())),
            [one] => {
                out.insert(d.id().to_string(), *one);
            }
            many => {
                return Err(SubmissionError::SelectionAmbiguous {
                    descriptor: d.id().to_string(),
                    count: many.len(),
                })
            }
        }
    }
    Ok(out)
}

/// Evaluates with options (evaluation time, user selection).
pub fn evaluate_with(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    options: &EvaluateOptions,
) -> Result<Evaluation, SubmissionError> {
    for id in options.selection.keys() {
        if !pd.input_descriptors().iter().any(|d| d.id() == id) {
            return Err(SubmissionError::UnknownDescriptor(id.clone()));
        }
    }
    let candidates: Vec<Vec<usize>> = pd
        .input_descriptors()
        .iter()
        .map(|d| {
            creds
                .iter()
                .enumerate()
                .filter(|(_, c)| accepts(pd, d, c, options.now))
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    let mut selected = Vec::with_capacity(candidates.len());
    for (d, cands) in pd.input_descriptors().iter().zip(&candidates) {
        match options.selection.get(d.id()) {
            Some(&i) if cands.contains(&i) => selected.push(Some(i)),
            Some(&i) => {
                return Err(SubmissionError::NotACandidate {
                    descriptor: d.id().to_string(),
                    credential: i,
                })
            }
            None => selected.push(cands.first().copied()),
        }
    }
    let derived = derive(pd, creds, &selected);
    let cref = |i: usize| CredentialRef {
        index: i,
        id: creds[i].id().to_string(),
    };
    let descriptors = pd
        .input_descriptors()
        .iter()
        .enumerate()
        .map(|(di, d)| {
            let fields = selected[di]
                .map(|c| extract_fields(d, &creds[c]))
                .unwrap_or_default();
            let explanation = if candidates[di].is_empty() {
                Some(explain(pd, d, creds, options.now))
            } else {
                None
            };
            DescriptorEvaluation {
                id: d.id().to_string(),
                name: d.name().map(str::to_string),
                purpose: d.purpose().map(str::to_string),
                group: d.group().to_vec(),
                candidates: candidates[di].iter().map(|&i| cref(i)).collect(),
                selected: selected[di].map(cref),
                submitted: derived
                    .mapping
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|(md, _)| *md == di)),
                fields,
                explanation,
            }
        })
        .collect();
    let mapping = derived
        .mapping
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|&(di, ci)| DescriptorMatch {
                    descriptor_id: pd.input_descriptors()[di].id().to_string(),
                    credential: cref(ci),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Evaluation {
        definition_id: pd.id().to_string(),
        fulfilled: derived.mapping.is_some(),
        descriptors,
        requirements: derived.requirements,
        mapping,
        warnings: pd.warnings().to_vec(),
    })
}

/// Result of applying the selection rules.
pub(crate) struct Derived {
    /// (descriptor index, credential index) in submission order; `None` when not fulfilled.
    pub mapping: Option<Vec<(usize, usize)>>,
    pub requirements: Vec<RequirementEvaluation>,
}

/// First-match derivation, as a Nuts verifier runs it on the credentials of a presentation.
pub(crate) fn derive_first_match(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
) -> Derived {
    let selected: Vec<Option<usize>> = pd
        .input_descriptors()
        .iter()
        .map(|d| creds.iter().position(|c| accepts(pd, d, c, None)))
        .collect();
    derive(pd, creds, &selected)
}

fn derive(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    selected: &[Option<usize>],
) -> Derived {
    if pd.submission_requirements().is_empty() {
        let mapping = selected
            .iter()
            .enumerate()
            .map(|(di, s)| s.map(|c| (di, c)))
            .collect::<Option<Vec<_>>>();
        return Derived {
            mapping,
            requirements: Vec::new(),
        };
    }
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (di, d) in pd.input_descriptors().iter().enumerate() {
        for g in d.group() {
            groups.entry(g.as_str()).or_default().push(di);
        }
    }
    let mut picked = Vec::new();
    let mut requirements = Vec::new();
    let mut ok = true;
    for r in pd.submission_requirements() {
        let (eval, result) = apply_requirement(r, &groups, selected);
        requirements.push(eval);
        match result {
            Some(cs) => picked.extend(cs),
            None => ok = false,
        }
    }
    if !ok {
        return Derived {
            mapping: None,
            requirements,
        };
    }
    // De-duplicate by content, then map each to the first descriptor that selected it.
    let mut unique: Vec<usize> = Vec::new();
    for c in picked {
        if !unique.iter().any(|&u| creds[u].same_content(&creds[c])) {
            unique.push(c);
        }
    }
    let mapping = unique
        .iter()
        .filter_map(|&c| {
            selected
                .iter()
                .position(|s| s.is_some_and(|s| creds[s].same_content(&creds[c])))
                .map(|di| (di, c))
        })
        .collect();
    Derived {
        mapping: Some(mapping),
        requirements,
    }
}

fn apply_requirement(
    r: &SubmissionRequirement,
    groups: &BTreeMap<&str, Vec<usize>>,
    selected: &[Option<usize>],
) -> (RequirementEvaluation, Option<Vec<usize>>) {
    let mut nested = Vec::new();
    let members: Vec<Vec<usize>> = match &r.from {
        Some(g) => groups
            .get(g.as_str())
            .map(|ds| {
                ds.iter()
                    .map(|&d| selected[d].into_iter().collect())
                    .collect()
            })
            .unwrap_or_default(),
        None => r
            .from_nested
            .iter()
            .map(|n| {
                let (e, res) = apply_requirement(n, groups, selected);
                nested.push(e);
                res.unwrap_or_default()
            })
            .collect(),
    };
    let available = members.iter().filter(|m| !m.is_empty()).count();
    let take = |n: usize| -> Vec<usize> {
        members
            .iter()
            .filter(|m| !m.is_empty())
            .take(n)
            .flatten()
            .copied()
            .collect()
    };
    let source = match &r.from {
        Some(g) => format!("group `{g}`"),
        None => "the nested requirements".to_string(),
    };
    let (result, message) = match r.selection.rule {
        Rule::All if available != members.len() => (
            None,
            Some(format!(
                "all {} members of {source} are required, only {available} can be satisfied",
                members.len()
            )),
        ),
        Rule::All => (Some(take(usize::MAX)), None),
        Rule::Pick => match (r.selection.count, r.selection.min, r.selection.max) {
            (Some(count), _, _) if available < count => (
                None,
                Some(format!(
                    "pick {count} from {source}: only {available} can be satisfied"
                )),
            ),
            (Some(count), _, _) => (Some(take(count)), None),
            (None, Some(min), _) if available < min => (
                None,
                Some(format!(
                    "pick at least {min} from {source}: only {available} can be satisfied"
                )),
            ),
            (None, _, max) => (Some(take(max.unwrap_or(usize::MAX))), None),
        },
    };
    let eval = RequirementEvaluation {
        name: r.name.clone(),
        selection: r.selection,
        from: r.from.clone(),
        members: members.len(),
        available,
        satisfied: result.is_some(),
        message,
        nested,
    };
    (eval, result)
}

/// Fast check: does the credential satisfy the descriptor? Cheapest checks first: type
/// constants (inline bloom filter), formats, validity, then the other fields.
pub(crate) fn accepts(
    pd: &PresentationDefinition,
    d: &InputDescriptor,
    c: &WalletCredential,
    now: Option<i64>,
) -> bool {
    count_failures(pd, d, c, now, 1) == 0
}

/// Counts failed checks (as `diagnose` reports them), stopping once `limit` is reached.
fn count_failures(
    pd: &PresentationDefinition,
    d: &InputDescriptor,
    c: &WalletCredential,
    now: Option<i64>,
    limit: usize,
) -> usize {
    let mut failures = 0;
    for f in d.fields() {
        if let Some((t, bloom)) = f.type_const() {
            if !c.has_type(t, bloom) {
                failures += 1;
                if failures >= limit {
                    return failures;
                }
            }
        }
    }
    let checks = [
        !credential_matches(pd.format(), c),
        !credential_matches(d.format(), c),
        now.is_some_and(|now| c.not_before().is_some_and(|t| t > now)),
        now.is_some_and(|now| c.expires().is_some_and(|t| t < now)),
    ];
    for failed in checks {
        if failed {
            failures += 1;
            if failures >= limit {
                return failures;
            }
        }
    }
    let doc = c.normalized();
    for f in d.fields() {
        if f.type_const().is_none() && matches!(eval_field(f, doc), FieldMatch::Failed) {
            failures += 1;
            if failures >= limit {
                return failures;
            }
        }
    }
    failures
}

pub(crate) enum FieldMatch<'a> {
    Matched(PathValue<'a>, Hit<'a>),
    /// Optional field without a value.
    Absent,
    Failed,
}

/// Nuts `matchField`: the first path whose value passes the filter wins; an optional field is
/// satisfied only when no path yields a value at all.
pub(crate) fn eval_field<'a>(f: &Field, doc: &'a Value) -> FieldMatch<'a> {
    let mut rejected = false;
    for p in f.paths() {
        let v = p.eval(doc);
        let result = match (&v, f.filter()) {
            (PathValue::Missing, _) => continue,
            (_, None) => Ok(Hit::Whole),
            (PathValue::One(x), Some(filter)) => filter.eval(x),
            (PathValue::Many(xs), Some(filter)) => filter.eval_list(xs.iter().copied()),
        };
        match result {
            Ok(hit) => return FieldMatch::Matched(v, hit),
            Err(_) => rejected = true,
        }
    }
    if f.optional() && !rejected {
        FieldMatch::Absent
    } else {
        FieldMatch::Failed
    }
}

/// Values of the fields with an `id` (Nuts `ResolveConstraintsFields` for one credential).
pub(crate) fn extract_fields(d: &InputDescriptor, c: &WalletCredential) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for f in d.fields() {
        let Some(id) = f.id() else { continue };
        let value = match eval_field(f, c.normalized()) {
            FieldMatch::Matched(_, Hit::Text(t)) => Value::String(t.to_string()),
            FieldMatch::Matched(v, Hit::Whole) => v.to_json().unwrap_or(Value::Null),
            FieldMatch::Absent | FieldMatch::Failed => Value::Null,
        };
        out.insert(id.to_string(), value);
    }
    out
}

fn constraint(filter: &Filter, fail: Fail) -> Constraint {
    match fail {
        Fail::Type => Constraint::Type {
            expected: filter.type_.clone(),
        },
        Fail::Const => Constraint::Const {
            expected: filter.const_.clone().unwrap_or_default(),
        },
        Fail::Enum => Constraint::Enum {
            allowed: filter.enum_.clone().unwrap_or_default(),
        },
        Fail::Pattern => Constraint::Pattern {
            pattern: filter
                .pattern
                .as_ref()
                .map(|p| p.0.clone())
                .unwrap_or_default(),
        },
        Fail::Minimum => Constraint::Minimum {
            limit: filter.minimum.unwrap_or_default(),
        },
        Fail::Maximum => Constraint::Maximum {
            limit: filter.maximum.unwrap_or_default(),
        },
        Fail::ExclusiveMinimum => Constraint::ExclusiveMinimum {
            limit: filter.exclusive_minimum.unwrap_or_default(),
        },
        Fail::ExclusiveMaximum => Constraint::ExclusiveMaximum {
            limit: filter.exclusive_maximum.unwrap_or_default(),
        },
        Fail::MinLength => Constraint::MinLength {
            limit: filter.min_length.unwrap_or_default(),
        },
        Fail::MaxLength => Constraint::MaxLength {
            limit: filter.max_length.unwrap_or_default(),
        },
        Fail::Format => Constraint::Format {
            format: filter
                .format
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
        },
        Fail::Unsupported => Constraint::UnsupportedValue,
    }
}

fn explain_field(index: usize, f: &Field, doc: &Value) -> Option<FieldFailure> {
    if !matches!(eval_field(f, doc), FieldMatch::Failed) {
        return None;
    }
    let attempts = f
        .paths()
        .iter()
        .map(|p| {
            let v = p.eval(doc);
            let failed = match (&v, f.filter()) {
                (PathValue::Missing, _) | (_, None) => None,
                (PathValue::One(x), Some(filter)) => {
                    filter.eval(x).err().map(|e| constraint(filter, e))
                }
                (PathValue::Many(xs), Some(filter)) => filter
                    .eval_list(xs.iter().copied())
                    .err()
                    .map(|e| constraint(filter, e)),
            };
            PathAttempt {
                path: p.as_str().to_string(),
                value: v.to_json(),
                failed,
            }
        })
        .collect();
    Some(FieldFailure {
        field_index: index,
        field_id: f.id().map(str::to_string),
        name: f.name().map(str::to_string),
        purpose: f.purpose().map(str::to_string),
        attempts,
    })
}

fn format_failure(
    level: FormatLevel,
    format: Option<&FormatDesignations>,
    c: &WalletCredential,
) -> Option<Failure> {
    if credential_matches(format, c) {
        return None;
    }
    let actual = match c.format() {
        CredentialFormat::JwtVc => c.alg().map(|a| vec![a.to_string()]).unwrap_or_default(),
        CredentialFormat::LdpVc => c.proof_types().to_vec(),
    };
    Some(Failure::Format {
        level,
        format: c.format(),
        allowed: format.and_then(|f| allowed_values(f, c.format())),
        actual,
    })
}

/// Full diagnosis of one credential against one descriptor.
pub(crate) fn diagnose(
    pd: &PresentationDefinition,
    d: &InputDescriptor,
    c: &WalletCredential,
    index: usize,
    now: Option<i64>,
) -> CredentialDiagnosis {
    let mut failures = Vec::new();
    failures.extend(format_failure(FormatLevel::Definition, pd.format(), c));
    failures.extend(format_failure(FormatLevel::Descriptor, d.format(), c));
    if let Some(now) = now {
        if let Some(t) = c.not_before().filter(|t| *t > now) {
            failures.push(Failure::NotYetValid {
                valid_from: format_unix(t),
            });
        }
        if let Some(t) = c.expires().filter(|t| *t < now) {
            failures.push(Failure::Expired {
                expired_on: format_unix(t),
            });
        }
    }
    let mut satisfied = 0;
    for (i, f) in d.fields().iter().enumerate() {
        match explain_field(i, f, c.normalized()) {
            Some(ff) => failures.push(Failure::Field(ff)),
            None => satisfied += 1,
        }
    }
    CredentialDiagnosis {
        credential: CredentialRef {
            index,
            id: c.id().to_string(),
        },
        credential_type: c.display_type().to_string(),
        format: c.format(),
        satisfied_fields: satisfied,
        total_fields: d.fields().len(),
        failures,
    }
}

fn explain(
    pd: &PresentationDefinition,
    d: &InputDescriptor,
    creds: &[WalletCredential],
    now: Option<i64>,
) -> DescriptorExplanation {
    // Branch and bound: the closest credential has the fewest failed checks (first on ties);
    // a credential is abandoned as soon as it cannot beat the best so far.
    let mut best: Option<(usize, usize)> = None;
    for (i, c) in creds.iter().enumerate() {
        let limit = best.map_or(usize::MAX, |(f, _)| f);
        let failures = count_failures(pd, d, c, now, limit);
        if failures < limit {
            best = Some((failures, i));
            if failures == 0 {
                break;
            }
        }
    }
    let closest = best.map(|(_, i)| diagnose(pd, d, &creds[i], i, now));
    let message = match &closest {
        None => format!("no credentials to match input descriptor `{}`", d.id()),
        Some(diag) => diag.message(),
    };
    DescriptorExplanation {
        message,
        considered: creds.len(),
        closest,
    }
}
