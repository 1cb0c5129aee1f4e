//! Loading definitions and policy files; clear refusal of unsupported features.

use serde_json::{json, Value};
use wallet_pex::{DefinitionError, PolicyFile, PresentationDefinition, WalletOwnerType};

use crate::support::read;

fn field(filter: Value) -> Value {
    json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": {"fields": [
        {"path": ["$.credentialSubject.x"], "filter": filter}]}}]})
}

fn refused(v: Value) -> DefinitionError {
    PresentationDefinition::from_json(v).expect_err("must be refused")
}

#[test]
fn unsupported_constraints_are_refused_with_location() {
    for (feature, constraints) in [
        (
            "is_holder",
            json!({"is_holder": [{"field_id": ["a"], "directive": "required"}]}),
        ),
        (
            "same_subject",
            json!({"same_subject": [{"field_id": ["a"], "directive": "required"}]}),
        ),
        (
            "subject_is_issuer",
            json!({"subject_is_issuer": "required"}),
        ),
        (
            "statuses",
            json!({"statuses": {"active": {"directive": "required"}}}),
        ),
        (
            "limit_disclosure: required",
            json!({"limit_disclosure": "required"}),
        ),
    ] {
        let e = refused(
            json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": constraints}]}),
        );
        match &e {
            DefinitionError::Unsupported { at, feature: f, .. } => {
                assert_eq!(f, feature);
                assert!(
                    at.starts_with("presentation_definition.input_descriptors[0].constraints"),
                    "{at}"
                );
            }
            other => panic!("{feature}: {other:?}"),
        }
    }
    // `preferred` is a preference, not a requirement: accepted
    assert!(PresentationDefinition::from_json(
        json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": {"limit_disclosure": "preferred"}}]})
    )
    .is_ok());
}

#[test]
fn predicates_frames_and_unknown_filter_keywords_are_refused() {
    let e = refused(
        json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": {"fields": [
        {"path": ["$.a"], "predicate": "required", "filter": {"type": "number", "minimum": 18}}]}}]}),
    );
    assert!(
        matches!(e, DefinitionError::Unsupported { ref feature, .. } if feature == "predicate"),
        "{e}"
    );
    let e = refused(json!({"id": "pd", "frame": {}, "input_descriptors": []}));
    assert!(e.to_string().contains("frame"));
    let e = refused(field(json!({"type": "array", "contains": {"const": "x"}})));
    assert!(
        e.to_string().contains("unsupported feature `contains`"),
        "{e}"
    );
    let e = refused(field(json!({"type": "object"})));
    assert!(e.to_string().contains("type: object"), "{e}");
}

#[test]
fn non_string_const_and_bad_patterns_are_refused() {
    assert!(refused(field(json!({"type": "number", "const": 5})))
        .to_string()
        .contains("non-string const"));
    assert!(refused(field(json!({"type": "string", "enum": ["a", 1]})))
        .to_string()
        .contains("non-string enum"));
    let e = refused(field(json!({"type": "string", "pattern": "(a)(b)"})));
    assert!(e.to_string().contains("more than one capture group"), "{e}");
    let e = refused(field(json!({"type": "string", "pattern": "(unclosed"})));
    assert!(matches!(e, DefinitionError::Pattern { .. }), "{e}");
    let e = refused(field(json!({"type": "string", "format": "ipv4"})));
    assert!(e.to_string().contains("format: ipv4"), "{e}");
}

#[test]
fn bad_paths_and_shapes_are_located() {
    let e = refused(
        json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": {"fields": [
        {"path": ["$.ok", "credentialSubject.bad"]}]}}]}),
    );
    match e {
        DefinitionError::Path { at, path, .. } => {
            assert_eq!(
                at,
                "presentation_definition.input_descriptors[0].constraints.fields[0].path[1]"
            );
            assert_eq!(path, "credentialSubject.bad");
        }
        other => panic!("{other:?}"),
    }
    assert!(refused(json!({"input_descriptors": []}))
        .to_string()
        .contains("presentation_definition.id"));
    let e = refused(
        json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": {}}, {"id": "d", "constraints": {}}]}),
    );
    assert!(e.to_string().contains("duplicate id `d`"), "{e}");
    let e = refused(
        json!({"id": "pd", "input_descriptors": [], "submission_requirements": [{"rule": "pick", "from": "g"}]}),
    );
    assert!(
        e.to_string().contains("needs `count`, `min` or `max`"),
        "{e}"
    );
}

#[test]
fn typeless_filter_loads_with_a_warning() {
    let pd = PresentationDefinition::from_json(field(json!({"const": "x"}))).unwrap();
    assert_eq!(pd.warnings().len(), 1);
}

#[test]
fn policy_files_load_and_merge() {
    let mut all = PolicyFile::default();
    for f in [
        "e2e-rfc021-policy.json",
        "e2e-openid4vp-policy.json",
        "e2e-browser-zorgtoepassing-policy.json",
    ] {
        let p = PolicyFile::parse(&read(&format!("presentation-definitions/{f}"))).unwrap();
        if f == "e2e-openid4vp-policy.json" {
            // both define scope `test`
            assert_eq!(
                all.merge(p),
                Err(DefinitionError::DuplicateScope("test".into()))
            );
        } else {
            all.merge(p).unwrap();
        }
    }
    assert_eq!(
        all.scopes().collect::<Vec<_>>(),
        vec!["test", "zorgtoepassing"]
    );
    let user = all
        .definition("zorgtoepassing", WalletOwnerType::User)
        .unwrap();
    assert_eq!(user.id(), "pd_any_employee_credential");
    let (owner, pd) = all
        .definition_by_id("zorgtoepassing", "pd_any_care_organization")
        .unwrap();
    assert_eq!(
        (owner, pd.id()),
        (WalletOwnerType::Organization, "pd_any_care_organization")
    );
    assert!(all.definition("test", WalletOwnerType::User).is_none());
    // PDs inside a policy are validated, errors name the scope
    let e = PolicyFile::from_json(
        json!({"s": {"user": {"id": "x", "input_descriptors": [{"id": "d",
        "constraints": {"is_holder": []}}]}}}),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("policy.s.user.input_descriptors[0].constraints"),
        "{e}"
    );
    assert!(
        PolicyFile::from_json(json!({"s": {"admin": {"id": "x", "input_descriptors": []}}}))
            .is_err()
    );
}

#[test]
fn all_six_vector_definitions_load_without_warnings() {
    let mut count = 0;
    for f in [
        "e2e-rfc021-policy.json",
        "e2e-openid4vp-policy.json",
        "e2e-browser-zorgtoepassing-policy.json",
        "e2e-didx509-policy.json",
    ] {
        let p = PolicyFile::parse(&read(&format!("presentation-definitions/{f}"))).unwrap();
        for scope in p.scopes() {
            for pd in p.scope(scope).unwrap().values() {
                assert!(pd.warnings().is_empty(), "{f}: {:?}", pd.warnings());
                count += 1;
            }
        }
    }
    for f in [
        "pe-test-pd_jsonld_jwt.json",
        "pe-test-pd_jsonld_jwt_pick.json",
    ] {
        let pd =
            PresentationDefinition::parse(&read(&format!("presentation-definitions/{f}"))).unwrap();
        assert!(pd.warnings().is_empty());
        // serialises back to what was loaded
        let again: Value = serde_json::to_value(&pd).unwrap();
        assert_eq!(&again, pd.to_json());
        count += 1;
    }
    assert_eq!(
        count, 7,
        "4 policy files hold 5 definitions, plus 2 plain ones"
    );
}
