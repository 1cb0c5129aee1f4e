//! Errors of the PEX engine, one enum per phase.
//!
//! Definition errors are raised when a presentation definition (or policy file) is loaded, so an
//! unsupported feature is refused up front instead of being silently ignored during matching.
//! Credential errors are raised when a credential cannot be read into the normalised view.
//! Submission errors come from the holder-side builder; verification errors from the
//! verifier-side check. Messages never contain credential contents, only paths and ids.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = DefinitionError> = std::result::Result<T, E>;

/// A presentation definition or policy file that cannot be used.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum DefinitionError {
    /// The input is not JSON at all.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// A member has the wrong JSON type or a required member is missing.
    #[error("{at}: {message}")]
    Invalid {
        /// Location in the definition, e.g. `input_descriptors[0].constraints.fields[1].path`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A DIF PEX v2 feature that Nuts (and therefore this engine) does not support.
    #[error("{at}: unsupported feature `{feature}`: {reason}")]
    Unsupported {
        /// Location in the definition.
        at: String,
        /// The feature, e.g. `is_holder` or `limit_disclosure: required`.
        feature: String,
        /// Why it is refused.
        reason: String,
    },
    /// A JSONPath expression that does not parse.
    #[error("{at}: invalid JSONPath `{path}`: {message}")]
    Path {
        /// Location in the definition.
        at: String,
        /// The expression.
        path: String,
        /// Parser message.
        message: String,
    },
    /// A `pattern` that is not a valid ECMAScript regular expression (or has more than one group).
    #[error("{at}: invalid pattern `{pattern}`: {message}")]
    Pattern {
        /// Location in the definition.
        at: String,
        /// The pattern.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// Two policy files (or one) define the same scope.
    #[error("duplicate scope `{0}` in policy files")]
    DuplicateScope(String),
}

/// A credential that cannot be read into the normalised JSON view Nuts matches on.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CredentialError {
    /// Neither a JSON object nor a compact JWT.
    #[error("not a credential: {0}")]
    NotACredential(String),
    /// The JWT is not three base64url parts with JSON header and payload.
    #[error("malformed JWT: {0}")]
    MalformedJwt(String),
    /// A member Nuts requires in a particular shape (e.g. `issuer` must be a string).
    #[error("`{member}`: {message}")]
    Member {
        /// The member name.
        member: String,
        /// What is wrong.
        message: String,
    },
}

/// The holder-side submission could not be built.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SubmissionError {
    /// The definition is not fulfilled by the (selected) credentials.
    #[error("presentation definition `{0}` is not fulfilled")]
    NotFulfilled(String),
    /// The evaluation was made for another definition or credential slice.
    #[error("the evaluation does not belong to this definition and these credentials: {0}")]
    Mismatch(String),
    /// A user selection names a credential that is not a candidate for the descriptor.
    #[error("credential #{credential} is not a candidate for input descriptor `{descriptor}`")]
    NotACandidate {
        /// Input descriptor id.
        descriptor: String,
        /// Index of the credential in the wallet slice.
        credential: usize,
    },
    /// A selection names an input descriptor the definition does not have.
    #[error("unknown input descriptor `{0}`")]
    UnknownDescriptor(String),
    /// A `credential_selection` key is no field id of the definition.
    #[error("credential_selection: field `{0}` is not in the presentation definition")]
    UnknownSelectionField(String),
    /// A `credential_selection` leaves no credential for an input descriptor.
    #[error(
        "credential_selection: no credential for input descriptor `{0}` has the selected value(s)"
    )]
    SelectionNoMatch(String),
    /// A `credential_selection` leaves more than one credential for an input descriptor.
    #[error("credential_selection: {count} credentials for input descriptor `{descriptor}` have the selected value(s); it must narrow to exactly one")]
    SelectionAmbiguous {
        /// Input descriptor id.
        descriptor: String,
        /// How many remain.
        count: usize,
    },
    /// No order of the selected credentials lets a Nuts verifier re-derive this submission
    /// (it always takes the first matching credential of the presentation).
    #[error("a Nuts verifier cannot re-derive this selection: {0}")]
    NotReproducible(String),
}

/// The verifier-side check rejected a presentation submission.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The `vp_token` (envelope) could not be read.
    #[error("invalid presentation envelope: {0}")]
    Envelope(String),
    /// `definition_id` does not name the definition checked against.
    #[error("submission is for definition `{actual}`, expected `{expected}`")]
    DefinitionId {
        /// The definition's id.
        expected: String,
        /// The submission's `definition_id`.
        actual: String,
    },
    /// `definition_id` names none of the scope's definitions (or the scope is unknown).
    #[error("no definition `{definition_id}` in scope `{scope}`")]
    UnknownDefinition {
        /// The requested scope.
        scope: String,
        /// The submission's `definition_id`.
        definition_id: String,
    },
    /// A `descriptor_map` entry could not be resolved to a credential.
    #[error("descriptor_map entry `{descriptor}`: {message}")]
    Resolve {
        /// Input descriptor id of the entry.
        descriptor: String,
        /// What went wrong.
        message: String,
    },
    /// The credentials of the presentation(s) do not fulfil the definition.
    #[error("the presented credentials do not fulfil the definition")]
    NotFulfilled,
    /// Different number of mapped input descriptors than the matcher derives.
    #[error("expected {expected} mapped input descriptors, got {actual}")]
    Count {
        /// What the matcher derives.
        expected: usize,
        /// What the submission maps.
        actual: usize,
    },
    /// An input descriptor is mapped to another credential than the matcher derives.
    #[error("incorrect mapping for input descriptor `{0}`")]
    Mapping(String),
}
