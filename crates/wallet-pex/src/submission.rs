//! The `presentation_submission` as Nuts derives it, and the holder-side builder.
//!
//! Nuts puts the mapped credentials into the VP in mapping order and points at them with
//! `$.verifiableCredential[i]`; with exactly one mapping the VP's `verifiableCredential` holds
//! the credential itself and the path is `$.verifiableCredential` (docs/protocol.md §8.2). The
//! builder returns the submission together with the credentials to put into the VP and the
//! exact JSON for the VP's `verifiableCredential`, so path and VP cannot disagree.
//!
//! Before returning, the builder runs the verifier-side check on what it built. A Nuts
//! verifier re-derives the mapping by taking, per descriptor, the *first* matching credential
//! of the presentation; with user selections (or, rarely, with first-match selection when a
//! later descriptor also accepts an earlier credential) Nuts' own order fails that check. The
//! builder then reorders the credentials (a topological order in which every selected
//! credential precedes the other credentials its descriptor accepts); if no order works the
//! selection is refused instead of producing a submission the verifier rejects.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::credential::WalletCredential;
use crate::definition::PresentationDefinition;
use crate::error::SubmissionError;
use crate::matcher::{accepts, Evaluation};
use crate::verify::{verify_submission, Envelope};

/// A DIF presentation submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationSubmission {
    /// Random id (a UUID in Nuts).
    pub id: String,
    /// The definition's `id`.
    pub definition_id: String,
    /// One entry per mapped input descriptor.
    #[serde(default)]
    pub descriptor_map: Vec<DescriptorMapEntry>,
}

/// A `descriptor_map` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorMapEntry {
    /// Input descriptor id.
    pub id: String,
    /// `jwt_vc`, `ldp_vc`, `jwt_vp` or `ldp_vp`.
    pub format: String,
    /// JSONPath into the envelope.
    pub path: String,
    /// Path inside the value found at `path` (multi-VP envelopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_nested: Option<Box<DescriptorMapEntry>>,
}

/// How to build the submission.
#[derive(Debug, Clone)]
pub struct SubmissionOptions {
    /// The submission `id`.
    pub id: String,
    /// Put a single credential into the VP as a value, not a one-element array (Nuts does).
    pub collapse_single: bool,
}

impl Default for SubmissionOptions {
    fn default() -> Self {
        SubmissionOptions {
            id: new_submission_id(),
            collapse_single: true,
        }
    }
}

/// A fresh random submission id (UUID v4).
pub fn new_submission_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What the holder sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuiltSubmission {
    /// The `presentation_submission`.
    pub presentation_submission: PresentationSubmission,
    /// Indices (into the wallet slice) of the credentials to put into the VP, in VP order.
    pub credentials: Vec<usize>,
    /// The value for the VP's `verifiableCredential`: JWT VCs as strings, JSON-LD VCs as the
    /// original objects; a single value when one credential is mapped and `collapse_single`.
    pub verifiable_credential: Value,
    /// True when Nuts' own order would not survive the verifier check and the credentials were
    /// reordered.
    pub reordered: bool,
}

impl Evaluation {
    /// Builds the submission for this evaluation (see the module docs).
    pub fn build_submission(
        &self,
        pd: &PresentationDefinition,
        creds: &[WalletCredential],
        options: &SubmissionOptions,
    ) -> Result<BuiltSubmission, SubmissionError> {
        if self.definition_id != pd.id() {
            return Err(SubmissionError::Mismatch(format!(
                "evaluated `{}`, given `{}`",
                self.definition_id,
                pd.id()
            )));
        }
        if self.mapping.iter().any(|m| {
            creds
                .get(m.credential.index)
                .is_none_or(|c| c.id() != m.credential.id)
        }) {
            return Err(SubmissionError::Mismatch(
                "credential slice differs from the evaluated one".into(),
            ));
        }
        if !self.fulfilled {
            return Err(SubmissionError::NotFulfilled(self.definition_id.clone()));
        }
        let mapping: Vec<(String, usize)> = self
            .mapping
            .iter()
            .map(|m| (m.descriptor_id.clone(), m.credential.index))
            .collect();
        // Nuts order: one VP entry per mapping entry.
        let nuts_order: Vec<usize> = mapping.iter().map(|(_, c)| *c).collect();
        let positions: Vec<usize> = (0..mapping.len()).collect();
        let first = layout(pd, creds, &mapping, &nuts_order, &positions, options);
        if check(pd, &first) {
            return Ok(first);
        }
        let order = reproducible_order(pd, creds, &mapping)?;
        let positions: Vec<usize> = mapping
            .iter()
            .map(|(_, c)| {
                order
                    .iter()
                    .position(|o| creds[*o].same_content(&creds[*c]))
                    .unwrap_or_default()
            })
            .collect();
        let mut second = layout(pd, creds, &mapping, &order, &positions, options);
        second.reordered = true;
        if check(pd, &second) {
            Ok(second)
        } else {
            Err(SubmissionError::NotReproducible(
                "the selected credentials cannot be ordered so that each descriptor's first match is its selection".into(),
            ))
        }
    }
}

fn layout(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    mapping: &[(String, usize)],
    vp_order: &[usize],
    positions: &[usize],
    options: &SubmissionOptions,
) -> BuiltSubmission {
    let single = vp_order.len() == 1 && mapping.len() == 1 && options.collapse_single;
    let descriptor_map = mapping
        .iter()
        .zip(positions)
        .map(|((d, c), pos)| DescriptorMapEntry {
            id: d.clone(),
            format: creds[*c].format().as_str().to_string(),
            path: if single {
                "$.verifiableCredential".to_string()
            } else {
                format!("$.verifiableCredential[{pos}]")
            },
            path_nested: None,
        })
        .collect();
    let values: Vec<Value> = vp_order.iter().map(|&c| creds[c].raw().to_json()).collect();
    let verifiable_credential = if single {
        values.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(values)
    };
    BuiltSubmission {
        presentation_submission: PresentationSubmission {
            id: options.id.clone(),
            definition_id: pd.id().to_string(),
            descriptor_map,
        },
        credentials: vp_order.to_vec(),
        verifiable_credential,
        reordered: false,
    }
}

fn check(pd: &PresentationDefinition, built: &BuiltSubmission) -> bool {
    let vp = json!({
        "type": "VerifiablePresentation",
        "verifiableCredential": built.verifiable_credential,
    });
    match Envelope::parse(&vp) {
        Ok(env) => verify_submission(pd, &built.presentation_submission, &env).is_ok(),
        Err(_) => false,
    }
}

/// Orders the distinct mapped credentials so that, for every mapping entry, its credential is
/// the first of the VP that its descriptor accepts; ties keep Nuts' order.
fn reproducible_order(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    mapping: &[(String, usize)],
) -> Result<Vec<usize>, SubmissionError> {
    let mut nodes: Vec<usize> = Vec::new();
    for (_, c) in mapping {
        if !nodes.iter().any(|n| creds[*n].same_content(&creds[*c])) {
            nodes.push(*c);
        }
    }
    let node_of = |c: usize| nodes.iter().position(|n| creds[*n].same_content(&creds[c]));
    let n = nodes.len();
    let mut before = vec![vec![false; n]; n]; // before[a][b]: a must precede b
    for (d, c) in mapping {
        let Some(desc) = pd.input_descriptors().iter().find(|x| x.id() == d) else {
            continue;
        };
        let Some(a) = node_of(*c) else { continue };
        for (b, &other) in nodes.iter().enumerate() {
            if b != a && accepts(pd, desc, &creds[other], None) {
                before[a][b] = true;
            }
        }
    }
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&b| !placed[b] && (0..n).all(|a| placed[a] || !before[a][b]));
        match next {
            Some(b) => {
                placed[b] = true;
                order.push(nodes[b]);
            }
            None => {
                return Err(SubmissionError::NotReproducible(
                    "two descriptors each accept the other's selected credential first".into(),
                ))
            }
        }
    }
    Ok(order)
}
