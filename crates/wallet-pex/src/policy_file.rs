//! Nuts policy files: `{"<scope>": {"organization": <PD>, "user": <PD>}}`, the presentation
//! definitions an authorization server asks for per scope (docs/protocol.md §8.1). Not the
//! wallet administrator's access policy (that is `wallet_core::access_policy`).
//!
//! Several files can be merged; a scope defined twice is refused, as a Nuts node does. Scope
//! lookup is an exact string match. Reading files from disk is the caller's job.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::{Loc, PresentationDefinition};
use crate::error::DefinitionError;

/// Whose wallet a definition is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalletOwnerType {
    /// The organization's wallet.
    Organization,
    /// The end user's (employee's) wallet.
    User,
}

impl WalletOwnerType {
    /// The policy-file key.
    pub fn as_str(self) -> &'static str {
        match self {
            WalletOwnerType::Organization => "organization",
            WalletOwnerType::User => "user",
        }
    }
}

impl fmt::Display for WalletOwnerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WalletOwnerType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "organization" => Ok(WalletOwnerType::Organization),
            "user" => Ok(WalletOwnerType::User),
            _ => Err(format!(
                "unknown wallet owner type `{s}` (organization or user)"
            )),
        }
    }
}

/// The definitions of one scope.
pub type ScopePolicy = BTreeMap<WalletOwnerType, PresentationDefinition>;

/// One or more merged policy files.
#[derive(Debug, Clone, Default)]
pub struct PolicyFile {
    scopes: BTreeMap<String, ScopePolicy>,
}

impl PolicyFile {
    /// Parses one policy file.
    pub fn parse(json: &str) -> Result<Self, DefinitionError> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| DefinitionError::Json(e.to_string()))?;
        Self::from_json(v)
    }

    /// Reads a policy file given as JSON.
    pub fn from_json(v: Value) -> Result<Self, DefinitionError> {
        let root = Loc("policy".into());
        let obj = root.object(&v)?;
        let mut scopes = BTreeMap::new();
        for (scope, mapping) in obj {
            let at = root.key(scope);
            let mut defs = ScopePolicy::new();
            for (owner, pd) in at.object(mapping)? {
                let owner_type: WalletOwnerType =
                    owner.parse().map_err(|m: String| at.invalid(&m))?;
                let pd = PresentationDefinition::from_json(pd.clone())
                    .map_err(|e| prefix(e, &at.key(owner).0))?;
                defs.insert(owner_type, pd);
            }
            scopes.insert(scope.clone(), defs);
        }
        Ok(PolicyFile { scopes })
    }

    /// Adds another file's scopes; a scope already present is an error.
    pub fn merge(&mut self, other: PolicyFile) -> Result<(), DefinitionError> {
        for (scope, defs) in other.scopes {
            if self.scopes.contains_key(&scope) {
                return Err(DefinitionError::DuplicateScope(scope));
            }
            self.scopes.insert(scope, defs);
        }
        Ok(())
    }

    /// All scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }

    /// The definitions of a scope.
    pub fn scope(&self, scope: &str) -> Option<&ScopePolicy> {
        self.scopes.get(scope)
    }

    /// The definition of a scope for a wallet owner type.
    pub fn definition(
        &self,
        scope: &str,
        owner: WalletOwnerType,
    ) -> Option<&PresentationDefinition> {
        self.scopes.get(scope)?.get(&owner)
    }

    /// The scope's definition whose `id` is `definition_id` (what a verifier checks a
    /// submission's `definition_id` against).
    pub fn definition_by_id(
        &self,
        scope: &str,
        definition_id: &str,
    ) -> Option<(WalletOwnerType, &PresentationDefinition)> {
        self.scopes
            .get(scope)?
            .iter()
            .find(|(_, pd)| pd.id() == definition_id)
            .map(|(o, pd)| (*o, pd))
    }
}

fn prefix(e: DefinitionError, at: &str) -> DefinitionError {
    let re = |s: String| s.replacen("presentation_definition", at, 1);
    match e {
        DefinitionError::Invalid { at: a, message } => {
            DefinitionError::Invalid { at: re(a), message }
        }
        DefinitionError::Unsupported {
            at: a,
            feature,
            reason,
        } => DefinitionError::Unsupported {
            at: re(a),
            feature,
            reason,
        },
        DefinitionError::Path {
            at: a,
            path,
            message,
        } => DefinitionError::Path {
            at: re(a),
            path,
            message,
        },
        DefinitionError::Pattern {
            at: a,
            pattern,
            message,
        } => DefinitionError::Pattern {
            at: re(a),
            pattern,
            message,
        },
        other => other,
    }
}
