//! wallet-pex: the Presentation Exchange v2 engine of Nuts Wallet, with Nuts node semantics.
//!
//! What it owns: loading presentation definitions and Nuts policy files (refusing unsupported
//! features), the normalised credential view Nuts matches on, JSONPath + filter matching,
//! submission requirements, explanations as data for the consent screen, the
//! `presentation_submission` exactly as Nuts derives it, VP format negotiation, and the
//! verifier-side submission check. What it deliberately does not do: any I/O, clock reads,
//! signature verification, holder binding, revocation. Time is passed in (`now`).
//!
//! Typical holder flow:
//!
//! ```
//! use wallet_pex::{evaluate, PresentationDefinition, SubmissionOptions, WalletCredential};
//! let pd = PresentationDefinition::parse(r#"{"id": "pd", "input_descriptors": [{"id": "org",
//!     "constraints": {"fields": [{"path": ["$.type"],
//!     "filter": {"type": "string", "const": "NutsOrganizationCredential"}}]}}]}"#).unwrap();
//! let creds = vec![WalletCredential::parse(r#"{"id": "urn:1",
//!     "type": ["NutsOrganizationCredential", "VerifiableCredential"],
//!     "credentialSubject": {"id": "did:web:example.com"}}"#).unwrap()];
//! let eval = evaluate(&pd, &creds, None);
//! assert!(eval.fulfilled);
//! let built = eval.build_submission(&pd, &creds, &SubmissionOptions::default()).unwrap();
//! assert_eq!(built.presentation_submission.descriptor_map[0].path, "$.verifiableCredential");
//! ```

mod credential;
mod definition;
mod error;
mod explain;
mod filter;
mod format;
mod matcher;
mod path;
mod policy_file;
mod submission;
mod time;
mod verify;

pub use credential::{insecure_unsigned_jwt, CredentialFormat, RawCredential, WalletCredential};
pub use definition::{
    Field, InputDescriptor, PresentationDefinition, Rule, Selection, SubmissionRequirement,
};
pub use error::{CredentialError, DefinitionError, Result, SubmissionError, VerifyError};
pub use explain::{
    Constraint, CredentialDiagnosis, CredentialRef, DescriptorExplanation, Failure, FieldFailure,
    FormatLevel, PathAttempt, RequirementEvaluation,
};
pub use filter::StringFormat;
pub use format::{
    negotiate_vp_format, nuts_default_formats, FormatDesignations, NegotiatedFormat, VpFormat,
};
pub use matcher::{
    evaluate, evaluate_with, select_by_fields, DescriptorEvaluation, DescriptorMatch,
    EvaluateOptions, Evaluation,
};
pub use path::{FieldPath, PathValue};
pub use policy_file::{PolicyFile, ScopePolicy, WalletOwnerType};
pub use submission::{
    new_submission_id, BuiltSubmission, DescriptorMapEntry, PresentationSubmission,
    SubmissionOptions,
};
pub use verify::{verify_for_scope, verify_submission, Envelope, Presentation, VerifiedSubmission};

/// Parses an RFC 3339 date-time to Unix seconds (for `now` / evaluation-time arguments).
pub fn rfc3339_to_unix(s: &str) -> Option<i64> {
    time::parse_rfc3339(s).map(|t| t.unix)
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_types_can_be_shared_across_threads() {
        // The app keeps definitions and cached credentials in shared state.
        send_sync::<super::PresentationDefinition>();
        send_sync::<super::PolicyFile>();
        send_sync::<super::WalletCredential>();
        send_sync::<super::Evaluation>();
        send_sync::<super::Envelope>();
    }
}
