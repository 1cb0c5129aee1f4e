//! Claim format designations: credential format matching and VP format negotiation.
//!
//! * [`FormatDesignations`] is the DIF `format` object of a definition or input descriptor
//!   (`{"jwt_vc": {"alg": [..]}, "ldp_vc": {"proof_type": [..]}}`). A credential passes when the
//!   map is absent or empty, or when its format has an entry whose `alg` (JWT) or `proof_type`
//!   (JSON-LD) lists what it was signed with. Unsigned credentials pass whenever their format has
//!   an entry (Nuts: self-attested credentials). VP formats in the map are ignored here.
//! * [`negotiate_vp_format`] (docs/protocol.md §8.3): intersect the wallet's formats, the
//!   verifier's `vp_formats_supported` and the definition's `format`, per format and per
//!   parameter, drop what does not intersect, then prefer `jwt_vp` over `ldp_vp`. Unlike Nuts
//!   v6.2 (which only aliases the names on the definition side), OpenID names (`jwt_vp_json`,
//!   `alg_values_supported`) and DIF names are accepted on every side.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::credential::{CredentialFormat, WalletCredential};

/// A `format` object: format name → parameter name → allowed values.
pub type FormatDesignations = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Does the credential satisfy a `format` designation (definition- or descriptor-level)?
pub(crate) fn credential_matches(
    format: Option<&FormatDesignations>,
    cred: &WalletCredential,
) -> bool {
    let Some(format) = format else {
        return true;
    };
    if format.is_empty() {
        return true;
    }
    let Some(entry) = format.get(cred.format().as_str()) else {
        return false;
    };
    if !cred.is_signed() {
        return true;
    }
    match cred.format() {
        CredentialFormat::JwtVc => entry
            .get("alg")
            .is_some_and(|algs| cred.alg().is_some_and(|a| algs.iter().any(|x| x == a))),
        CredentialFormat::LdpVc => entry.get("proof_type").is_some_and(|types| {
            types
                .iter()
                .any(|t| cred.proof_types().iter().any(|p| p == t))
        }),
    }
}

/// What a format designation allows for a credential format (for explanations).
pub(crate) fn allowed_values(
    format: &FormatDesignations,
    f: CredentialFormat,
) -> Option<Vec<String>> {
    let entry = format.get(f.as_str())?;
    let key = match f {
        CredentialFormat::JwtVc => "alg",
        CredentialFormat::LdpVc => "proof_type",
    };
    Some(entry.get(key).cloned().unwrap_or_default())
}

/// A verifiable presentation format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VpFormat {
    /// JWT VP (`jwt_vp`, OpenID `jwt_vp_json`).
    #[serde(rename = "jwt_vp")]
    JwtVp,
    /// JSON-LD VP with a linked-data proof.
    #[serde(rename = "ldp_vp")]
    LdpVp,
}

impl VpFormat {
    /// The DIF name.
    pub fn as_str(self) -> &'static str {
        match self {
            VpFormat::JwtVp => "jwt_vp",
            VpFormat::LdpVp => "ldp_vp",
        }
    }
}

/// The outcome of VP format negotiation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NegotiatedFormat {
    /// The chosen VP format.
    pub format: VpFormat,
    /// Parameters all sides accept for it (`alg` for `jwt_vp`, `proof_type` for `ldp_vp`), in
    /// the wallet's order: sign with one of these.
    pub params: BTreeMap<String, Vec<String>>,
    /// The full intersection (DIF names), for diagnostics.
    pub common: FormatDesignations,
}

/// The formats the Nuts node offers (`DefaultOpenIDSupportedFormats`), OpenID names.
pub fn nuts_default_formats() -> FormatDesignations {
    let algs: Vec<String> = [
        "ES256", "EdDSA", "ES384", "ES512", "PS256", "PS384", "PS512",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let proofs = vec!["JsonWebSignature2020".to_string()];
    let mut m = FormatDesignations::new();
    for (f, p, v) in [
        ("jwt_vp_json", "alg_values_supported", &algs),
        ("jwt_vc_json", "alg_values_supported", &algs),
        ("ldp_vc", "proof_type_values_supported", &proofs),
        ("ldp_vp", "proof_type_values_supported", &proofs),
    ] {
        m.insert(f.into(), BTreeMap::from([(p.to_string(), v.clone())]));
    }
    m
}

fn normalise(formats: &FormatDesignations) -> FormatDesignations {
    let mut out = FormatDesignations::new();
    for (name, params) in formats {
        let name = match name.as_str() {
            "jwt_vp_json" => "jwt_vp",
            "jwt_vc_json" => "jwt_vc",
            other => other,
        };
        let entry = out.entry(name.to_string()).or_default();
        for (param, values) in params {
            let param = match param.as_str() {
                "alg_values_supported" => "alg",
                "proof_type_values_supported" => "proof_type",
                other => other,
            };
            entry.insert(param.to_string(), values.clone());
        }
    }
    out
}

fn intersect(a: &FormatDesignations, b: &FormatDesignations) -> FormatDesignations {
    let mut out = FormatDesignations::new();
    for (name, a_params) in a {
        let Some(b_params) = b.get(name) else {
            continue;
        };
        let mut params = BTreeMap::new();
        for (param, a_values) in a_params {
            let Some(b_values) = b_params.get(param) else {
                continue;
            };
            let common: Vec<String> = a_values
                .iter()
                .filter(|v| b_values.contains(v))
                .cloned()
                .collect();
            if !common.is_empty() {
                params.insert(param.clone(), common);
            }
        }
        if !params.is_empty() {
            out.insert(name.clone(), params);
        }
    }
    out
}

/// Chooses the VP format (docs/protocol.md §8.3).
///
/// `wallet`: what this wallet can produce (e.g. [`nuts_default_formats`]); `verifier`: the
/// authorization server's `vp_formats_supported` (or the client metadata's `vp_formats`);
/// `definition`: the definition's `format`, if it has one. Returns `None` when no VP format is
/// common to all (the caller reports a client error).
pub fn negotiate_vp_format(
    wallet: &FormatDesignations,
    verifier: &FormatDesignations,
    definition: Option<&FormatDesignations>,
) -> Option<NegotiatedFormat> {
    let mut common = intersect(&normalise(wallet), &normalise(verifier));
    if let Some(pd) = definition {
        common = intersect(&common, &normalise(pd));
    }
    for format in [VpFormat::JwtVp, VpFormat::LdpVp] {
        if let Some(params) = common.get(format.as_str()) {
            return Some(NegotiatedFormat {
                format,
                params: params.clone(),
                common: common.clone(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: serde_json::Value) -> FormatDesignations {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn jwt_first_with_parameter_intersection() {
        let verifier = nuts_default_formats();
        let pd = f(
            json!({"jwt_vp": {"alg": ["PS256", "RS256"]}, "ldp_vp": {"proof_type": ["JsonWebSignature2020"]}}),
        );
        let n = negotiate_vp_format(&nuts_default_formats(), &verifier, Some(&pd)).unwrap();
        assert_eq!(n.format, VpFormat::JwtVp);
        assert_eq!(n.params["alg"], vec!["PS256".to_string()]);
    }

    #[test]
    fn empty_parameters_drop_a_format() {
        // `{}` parameters drop the format (a Nuts quirk, docs/protocol.md §12)
        let verifier = f(
            json!({"jwt_vp_json": {}, "ldp_vp": {"proof_type_values_supported": ["JsonWebSignature2020"]}}),
        );
        let n = negotiate_vp_format(&nuts_default_formats(), &verifier, None).unwrap();
        assert_eq!(n.format, VpFormat::LdpVp);
        let pd_without_vp = f(json!({"jwt_vc": {"alg": ["ES256"]}}));
        assert!(
            negotiate_vp_format(&nuts_default_formats(), &verifier, Some(&pd_without_vp)).is_none()
        );
    }
}
