//! Property tests: unrelated credentials never change the outcome; the verifier-side check
//! accepts every submission the holder side builds.

use proptest::prelude::*;
use serde_json::{json, Value};
use wallet_pex::{
    evaluate, evaluate_with, insecure_unsigned_jwt, verify_submission, Envelope, EvaluateOptions,
    Evaluation, PresentationDefinition, SubmissionOptions, WalletCredential, WalletOwnerType,
};

use crate::support::*;

#[derive(Debug, Clone)]
enum Kind {
    Org {
        jwt: Option<&'static str>,
        city: &'static str,
        name: &'static str,
    },
    Employee {
        jwt: bool,
        role: &'static str,
    },
    X509 {
        trusted: bool,
        alg: &'static str,
    },
    Unrelated {
        seed: u32,
        jwt: bool,
    },
}

fn kind() -> impl Strategy<Value = Kind> {
    let alg = prop::sample::select(vec!["ES256", "ES384", "PS256"]);
    prop_oneof![
        (
            prop::option::of(alg.clone()),
            prop::sample::select(vec!["IJbergen", "Caretown"]),
            prop::sample::select(vec!["Because we care B.V.", "Zorg B.V."])
        )
            .prop_map(|(jwt, city, name)| Kind::Org { jwt, city, name }),
        (
            any::<bool>(),
            prop::sample::select(vec!["Janitor", "Nurse"])
        )
            .prop_map(|(jwt, role)| Kind::Employee { jwt, role }),
        (any::<bool>(), prop::sample::select(vec!["PS256", "ES256"]))
            .prop_map(|(trusted, alg)| Kind::X509 { trusted, alg }),
        unrelated(),
    ]
}

fn unrelated() -> impl Strategy<Value = Kind> {
    (any::<u32>(), any::<bool>()).prop_map(|(seed, jwt)| Kind::Unrelated { seed, jwt })
}

fn jsonld(id: &str, types: Value, subject: Value, proof: bool) -> WalletCredential {
    let mut v = json!({"@context": ["https://www.w3.org/2018/credentials/v1"], "id": id, "type": types,
                       "issuer": "did:web:issuer", "issuanceDate": "2025-01-01T00:00:00Z", "credentialSubject": subject});
    if proof {
        v["proof"] = json!({"type": "JsonWebSignature2020", "jws": "x..y", "proofPurpose": "assertionMethod"});
    }
    WalletCredential::from_json_ld(v).unwrap()
}

fn jwt(id: &str, alg: &str, vc: Value) -> WalletCredential {
    let claims = json!({"iss": "did:web:issuer", "sub": "did:web:holder", "jti": id, "nbf": 1_735_689_600, "vc": vc});
    WalletCredential::from_jwt(&insecure_unsigned_jwt(alg, &claims, "c2ln")).unwrap()
}

fn build(k: &Kind, n: usize) -> WalletCredential {
    let id = format!("urn:cred:{n}");
    match k {
        Kind::Org {
            jwt: None,
            city,
            name,
        } => jsonld(
            &id,
            json!(["NutsOrganizationCredential", "VerifiableCredential"]),
            json!({"id": "did:web:holder", "organization": {"name": name, "city": city}}),
            true,
        ),
        Kind::Org {
            jwt: Some(alg),
            city,
            name,
        } => jwt(
            &id,
            alg,
            json!({
            "type": ["NutsOrganizationCredential", "VerifiableCredential"],
            "credentialSubject": [{"organization": {"name": name, "city": city}}]}),
        ),
        Kind::Employee { jwt: true, role } => jwt(
            &id,
            "ES256",
            json!({
            "type": ["NutsEmployeeCredential", "VerifiableCredential"],
            "credentialSubject": [{"identifier": format!("e{n}"), "name": "J. Doe", "roleName": role}]}),
        ),
        Kind::Employee { jwt: false, role } => jsonld(
            &id,
            json!(["VerifiableCredential", "NutsEmployeeCredential"]),
            json!({"id": "did:web:holder", "identifier": format!("e{n}"), "name": "J. Doe", "roleName": role}),
            false,
        ),
        Kind::X509 { trusted, alg } => {
            let ca = if *trusted {
                X509_CA
            } else {
                "did:x509:0:sha256:untrusted"
            };
            x509_jwt(ca, alg, &id)
        }
        Kind::Unrelated { seed, jwt: as_jwt } => {
            let subject = json!({"organization": {"name": format!("n{seed}"), "city": "IJbergen"}, "level": seed});
            if *as_jwt {
                jwt(
                    &id,
                    "ES256",
                    json!({"type": ["UnrelatedCredential", "VerifiableCredential"], "credentialSubject": [subject]}),
                )
            } else {
                jsonld(
                    &id,
                    json!(["UnrelatedCredential", "VerifiableCredential"]),
                    subject,
                    seed % 2 == 0,
                )
            }
        }
    }
}

fn definitions() -> Vec<PresentationDefinition> {
    let mut out = vec![
        policy_pd(
            "e2e-rfc021-policy.json",
            "test",
            WalletOwnerType::Organization,
        ),
        policy_pd(
            "e2e-openid4vp-policy.json",
            "test",
            WalletOwnerType::Organization,
        ),
        policy_pd(
            "e2e-browser-zorgtoepassing-policy.json",
            "zorgtoepassing",
            WalletOwnerType::Organization,
        ),
        policy_pd(
            "e2e-browser-zorgtoepassing-policy.json",
            "zorgtoepassing",
            WalletOwnerType::User,
        ),
        policy_pd(
            "e2e-didx509-policy.json",
            "test",
            WalletOwnerType::Organization,
        ),
        pd("pe-test-pd_jsonld_jwt.json"),
        pd("pe-test-pd_jsonld_jwt_pick.json"),
    ];
    let typed = |id: &str, t: &str, g: &str| {
        json!({"id": id, "group": [g], "constraints": {"fields": [
        {"path": ["$.type"], "filter": {"type": "string", "const": t}}]}})
    };
    out.push(
        PresentationDefinition::from_json(json!({"id": "nested", "submission_requirements": [
            {"rule": "all", "from_nested": [{"rule": "pick", "min": 1, "max": 2, "from": "org"}, {"rule": "pick", "count": 1, "from": "emp"}]}],
            "input_descriptors": [typed("o1", "NutsOrganizationCredential", "org"), typed("o2", "X509Credential", "org"),
                                  typed("e1", "NutsEmployeeCredential", "emp")]}))
        .unwrap(),
    );
    out
}

/// What must not change: fulfilment, and per descriptor the candidate and selected ids and fields.
fn outcome(e: &Evaluation) -> Value {
    json!({
        "fulfilled": e.fulfilled,
        "mapping": e.mapping.iter().map(|m| (m.descriptor_id.clone(), m.credential.id.clone())).collect::<Vec<_>>(),
        "descriptors": e.descriptors.iter().map(|d| json!({
            "candidates": d.candidates.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            "selected": d.selected.as_ref().map(|c| c.id.clone()),
            "fields": d.fields,
        })).collect::<Vec<_>>(),
    })
}

fn submission_shape(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
    e: &Evaluation,
) -> Option<Value> {
    let opts = SubmissionOptions {
        id: "fixed".into(),
        collapse_single: true,
    };
    e.build_submission(pd, creds, &opts).ok().map(|b| {
        let ids: Vec<String> = b
            .credentials
            .iter()
            .map(|&i| creds[i].id().to_string())
            .collect();
        json!({"submission": b.presentation_submission, "credentials": ids})
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn unrelated_credentials_do_not_change_the_outcome(
        base in prop::collection::vec(kind(), 0..6),
        extra in prop::collection::vec((unrelated(), any::<prop::sample::Index>()), 1..8),
        which in any::<prop::sample::Index>(),
    ) {
        let defs = definitions();
        let pd = &defs[which.index(defs.len())];
        let wallet: Vec<WalletCredential> = base.iter().enumerate().map(|(n, k)| build(k, n)).collect();
        let mut mixed = wallet.clone();
        for (n, (k, at)) in extra.iter().enumerate() {
            let pos = at.index(mixed.len() + 1);
            mixed.insert(pos, build(k, 100 + n));
        }
        let a = evaluate(pd, &wallet, None);
        let b = evaluate(pd, &mixed, None);
        prop_assert_eq!(outcome(&a), outcome(&b));
        prop_assert_eq!(submission_shape(pd, &wallet, &a), submission_shape(pd, &mixed, &b));
    }

    #[test]
    fn verifier_accepts_what_the_holder_builds(
        kinds in prop::collection::vec(kind(), 0..8),
        which in any::<prop::sample::Index>(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 3),
        collapse in any::<bool>(),
    ) {
        let defs = definitions();
        let pd = &defs[which.index(defs.len())];
        let creds: Vec<WalletCredential> = kinds.iter().enumerate().map(|(n, k)| build(k, n)).collect();
        let opts = SubmissionOptions { id: "p".into(), collapse_single: collapse };
        let first = evaluate(pd, &creds, None);
        // first-match selection always yields a verifiable submission
        if first.fulfilled {
            let built = first.build_submission(pd, &creds, &opts);
            prop_assert!(built.is_ok(), "{:?}", built);
            let built = built.unwrap();
            let vp = json!({"type": "VerifiablePresentation", "verifiableCredential": built.verifiable_credential});
            let env = Envelope::parse(&vp).unwrap();
            let verified = verify_submission(pd, &built.presentation_submission, &env);
            prop_assert!(verified.is_ok(), "{:?}", verified);
            // the claims the verifier extracts are the holder's
            let verified = verified.unwrap();
            for d in first.descriptors.iter().filter(|d| d.submitted) {
                for (k, v) in &d.fields {
                    prop_assert_eq!(verified.fields.get(k), Some(v));
                }
            }
        }
        // user selections: whatever the builder returns, the verifier accepts
        let mut selection = std::collections::BTreeMap::new();
        for (d, p) in first.descriptors.iter().zip(&picks) {
            if !d.candidates.is_empty() {
                selection.insert(d.id.clone(), d.candidates[p.index(d.candidates.len())].index);
            }
        }
        let chosen = evaluate_with(pd, &creds, &EvaluateOptions { now: None, selection }).unwrap();
        if let Ok(built) = chosen.build_submission(pd, &creds, &opts) {
            let vp = json!({"type": "VerifiablePresentation", "verifiableCredential": built.verifiable_credential});
            let env = Envelope::parse(&vp).unwrap();
            prop_assert!(verify_submission(pd, &built.presentation_submission, &env).is_ok());
        }
    }

    #[test]
    fn singular_walker_agrees_with_serde_json_path(
        path in prop::sample::select(vec![
            "$.type", "$.credentialSubject", "$.credentialSubject[0]", "$.credentialSubject.organization.city",
            "$.credentialSubject[0].organization.name", "$['credentialSubject'][-1]", "$.issuer", "$.proof.type",
        ]),
        k in kind(),
    ) {
        let c = build(&k, 1);
        let fp = wallet_pex::FieldPath::parse(path).unwrap();
        prop_assert!(fp.is_singular());
        let reference = serde_json_path::JsonPath::parse(path).unwrap();
        let expected = reference.query(c.normalized()).at_most_one().unwrap().filter(|v| !v.is_null());
        let got = match fp.eval(c.normalized()) {
            wallet_pex::PathValue::One(v) => Some(v),
            wallet_pex::PathValue::Missing => None,
            wallet_pex::PathValue::Many(_) => unreachable!("singular path"),
        };
        prop_assert_eq!(got, expected);
    }
}
