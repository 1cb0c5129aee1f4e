//! Explanations: why an input descriptor or submission requirement cannot be met, as data.
//!
//! The consent screen renders these types (they serialise to JSON with a `kind`/`keyword` tag);
//! each also has a one-line English `message` for logs and the CLI. Only the credential that
//! came closest is diagnosed in full, with every failed constraint and the actual value found.

use serde::Serialize;
use serde_json::Value;

use crate::credential::CredentialFormat;
use crate::definition::Selection;

/// A credential in the wallet slice given to the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialRef {
    /// Position in the slice (wallet order).
    pub index: usize,
    /// The credential's id (JWT `jti`, JSON-LD `id`, or what the caller set).
    pub id: String,
}

/// Why an input descriptor has no candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DescriptorExplanation {
    /// One line, e.g. `X509Credential: $.issuer "did:x509:0:sha256:abc::…" does not match pattern ^did:x509:…`.
    pub message: String,
    /// How many credentials were considered.
    pub considered: usize,
    /// The credential that satisfied the most constraints (first in wallet order on ties).
    pub closest: Option<CredentialDiagnosis>,
}

/// Everything a credential fails for one input descriptor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialDiagnosis {
    /// The credential.
    pub credential: CredentialRef,
    /// Its most specific type, e.g. `NutsOrganizationCredential`.
    pub credential_type: String,
    /// Its format.
    pub format: CredentialFormat,
    /// Number of `constraints.fields` it satisfies.
    pub satisfied_fields: usize,
    /// Number of `constraints.fields`.
    pub total_fields: usize,
    /// Every failed check, in evaluation order.
    pub failures: Vec<Failure>,
}

/// Where a format designation was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatLevel {
    /// The definition's `format`.
    Definition,
    /// The input descriptor's `format`.
    Descriptor,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The credential's format, alg or proof type is not allowed.
    Format {
        /// Definition or descriptor level.
        level: FormatLevel,
        /// The credential's format.
        format: CredentialFormat,
        /// Allowed `alg`/`proof_type` values; `None` when the format itself is not allowed.
        allowed: Option<Vec<String>>,
        /// The credential's `alg` or proof types.
        actual: Vec<String>,
    },
    /// `issuanceDate`/`nbf` is after the evaluation time.
    NotYetValid {
        /// RFC 3339.
        valid_from: String,
    },
    /// `expirationDate`/`exp` is before the evaluation time.
    Expired {
        /// RFC 3339.
        expired_on: String,
    },
    /// A constraints field is not satisfied.
    Field(FieldFailure),
}

/// A field that is not satisfied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldFailure {
    /// Position in `constraints.fields`.
    pub field_index: usize,
    /// Field `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_id: Option<String>,
    /// Field `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Field `purpose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Each path tried, in order.
    pub attempts: Vec<PathAttempt>,
}

/// What one path of a field yielded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathAttempt {
    /// The JSONPath.
    pub path: String,
    /// The value found (`None`: no value).
    pub value: Option<Value>,
    /// The filter keyword that rejected it (`None` when there was no value).
    pub failed: Option<Constraint>,
}

/// A filter keyword and its expected side.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "keyword", rename_all = "camelCase")]
pub enum Constraint {
    /// `type` (or its absence).
    Type {
        /// The filter's `type`.
        expected: Option<String>,
    },
    /// `const`.
    Const {
        /// Expected value.
        expected: String,
    },
    /// `enum`.
    Enum {
        /// Allowed values.
        allowed: Vec<String>,
    },
    /// `pattern`.
    Pattern {
        /// The ECMAScript regex.
        pattern: String,
    },
    /// `minimum`.
    Minimum {
        /// Limit.
        limit: f64,
    },
    /// `maximum`.
    Maximum {
        /// Limit.
        limit: f64,
    },
    /// `exclusiveMinimum`.
    ExclusiveMinimum {
        /// Limit.
        limit: f64,
    },
    /// `exclusiveMaximum`.
    ExclusiveMaximum {
        /// Limit.
        limit: f64,
    },
    /// `minLength`.
    MinLength {
        /// Limit.
        limit: u64,
    },
    /// `maxLength`.
    MaxLength {
        /// Limit.
        limit: u64,
    },
    /// `format`.
    Format {
        /// The format name.
        format: String,
    },
    /// The value is an object or `null`, which filters cannot test.
    UnsupportedValue,
}

/// Outcome of one submission requirement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementEvaluation {
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `rule`, `count`, `min`, `max`.
    #[serde(flatten)]
    pub selection: Selection,
    /// `from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Members (descriptors of the group, or nested requirements).
    pub members: usize,
    /// Members that can be satisfied.
    pub available: usize,
    /// Whether the rule holds.
    pub satisfied: bool,
    /// Why not, when it does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Outcomes of `from_nested`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<RequirementEvaluation>,
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Constraint {
    fn describe(&self, value: &Value) -> String {
        match self {
            Constraint::Type { expected: Some(t) } => {
                format!("is a {}, expected a {t}", json_type(value))
            }
            Constraint::Type { expected: None } => {
                "cannot match: the filter has no `type` (Nuts never matches a single value then)"
                    .into()
            }
            Constraint::Const { expected } => format!("expected \"{expected}\""),
            Constraint::Enum { allowed } => format!("expected one of {allowed:?}"),
            Constraint::Pattern { pattern } => format!("does not match pattern {pattern}"),
            Constraint::Minimum { limit } => format!("is below the minimum {limit}"),
            Constraint::Maximum { limit } => format!("is above the maximum {limit}"),
            Constraint::ExclusiveMinimum { limit } => format!("is not above {limit}"),
            Constraint::ExclusiveMaximum { limit } => format!("is not below {limit}"),
            Constraint::MinLength { limit } => format!("is shorter than {limit} characters"),
            Constraint::MaxLength { limit } => format!("is longer than {limit} characters"),
            Constraint::Format { format } => format!("is not a valid {format}"),
            Constraint::UnsupportedValue => {
                format!("is {}, which filters cannot test", json_type(value))
            }
        }
    }
}

impl Failure {
    /// One line in English.
    pub fn message(&self) -> String {
        match self {
            Failure::Format {
                level,
                format,
                allowed,
                actual,
            } => {
                let lvl = match level {
                    FormatLevel::Definition => "definition",
                    FormatLevel::Descriptor => "input descriptor",
                };
                match allowed {
                    None => format!("format {} is not allowed by the {lvl}", format.as_str()),
                    Some(a) => format!(
                        "{} signed with {} but the {lvl} allows only {a:?}",
                        format.as_str(),
                        if actual.is_empty() {
                            "nothing".to_string()
                        } else {
                            actual.join(", ")
                        }
                    ),
                }
            }
            Failure::NotYetValid { valid_from } => format!("not valid before {valid_from}"),
            Failure::Expired { expired_on } => format!("expired on {expired_on}"),
            Failure::Field(f) => f.message(),
        }
    }
}

impl FieldFailure {
    /// One line in English.
    pub fn message(&self) -> String {
        for a in &self.attempts {
            if let (Some(v), Some(c)) = (&a.value, &a.failed) {
                return format!("{} {} {}", a.path, show(v), c.describe(v));
            }
        }
        let paths: Vec<&str> = self.attempts.iter().map(|a| a.path.as_str()).collect();
        format!("no value at {}", paths.join(" or "))
    }
}

impl CredentialDiagnosis {
    /// `Type: first failure; second failure`.
    pub fn message(&self) -> String {
        let parts: Vec<String> = self.failures.iter().map(Failure::message).collect();
        format!("{}: {}", self.credential_type, parts.join("; "))
    }
}
