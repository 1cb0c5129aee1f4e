//! Matching benchmark: a Nuts definition with an organization and an employee descriptor
//! against 100, 1,000 and 10,000 stored credentials of mixed types and formats.
//!
//! What is measured: `evaluate` (all candidates per descriptor, first-match selection, field
//! extraction, submission requirements) on credentials that were parsed and normalised once
//! beforehand, as the wallet caches them. Parsing/normalising is measured separately
//! (`normalise/…`, per whole wallet) and is not part of `evaluate/…`. The `…/unfulfilled` cases
//! have no employee credential, so the explanation pass (every credential fully diagnosed
//! against the employee descriptor) runs too.
//!
//! Run: `cargo bench -p wallet-pex --bench match` (or with `-- --quick` for a fast estimate).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};
use wallet_pex::{evaluate, insecure_unsigned_jwt, PresentationDefinition, WalletCredential};

/// The zorgtoepassing organization + user descriptors in one definition, both formats allowed
/// (so JWT credentials are not rejected by format and go through the paths too).
fn definition() -> PresentationDefinition {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
    ))
    .expect("vector");
    let policy: Value = serde_json::from_str(&text).expect("json");
    let org = &policy["zorgtoepassing"]["organization"];
    let user = &policy["zorgtoepassing"]["user"];
    PresentationDefinition::from_json(json!({
        "id": "bench_org_and_employee",
        "format": org["format"],
        "input_descriptors": [org["input_descriptors"][0], user["input_descriptors"][0]],
    }))
    .expect("definition")
}

fn jwt(n: usize, vc: Value) -> String {
    let claims = json!({"iss": "did:web:issuer.example", "sub": "did:web:holder.example",
        "jti": format!("did:web:issuer.example#{n}"), "nbf": 1_735_689_600, "exp": 1_893_456_000, "vc": vc});
    insecure_unsigned_jwt("ES256", &claims, "c2lnbmF0dXJl")
}

fn jsonld(n: usize, types: Value, subject: Value) -> Value {
    json!({"@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
        "id": format!("did:web:issuer.example#{n}"), "type": types, "issuer": "did:web:issuer.example",
        "issuanceDate": "2025-01-01T00:00:00Z", "credentialSubject": subject,
        "proof": {"type": "JsonWebSignature2020", "proofPurpose": "assertionMethod", "jws": "e30..c2ln",
                  "verificationMethod": "did:web:issuer.example#0", "created": "2025-01-01T00:00:00Z"}})
}

/// Raw credential texts; the matching ones sit at the end of the wallet (worst case for a
/// first-match scan, irrelevant for candidate listing which scans everything anyway).
fn wallet(n: usize, with_employee: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n.saturating_sub(2) {
        let text = match i % 6 {
            0 => jsonld(i, json!(["NutsAuthorizationCredential", "VerifiableCredential"]),
                json!({"id": "did:web:holder.example", "purposeOfUse": "eTransfer", "resources": [{"path": "/x"}]}))
                .to_string(),
            1 => jwt(i, json!({"type": ["X509Credential", "VerifiableCredential"],
                "credentialSubject": [{"subject": {"O": "Org", "L": "City"}, "san": {"otherName": "1-2-3"}}]})),
            2 => jsonld(i, json!(["HealthcareProviderRoleTypeCredential", "VerifiableCredential"]),
                json!({"id": "did:web:holder.example", "roleCodeNL": "Z3"})).to_string(),
            3 => jwt(i, json!({"type": ["GuestCredential", "VerifiableCredential"],
                "credentialSubject": {"firstName": "A", "lastName": "B", "email": "a@b.example"}})),
            4 => jsonld(i, json!(["NutsEmployeeCredential", "VerifiableCredential"]),
                // an employee credential lacking roleName: a near miss, not a candidate
                json!({"id": "did:web:holder.example", "identifier": format!("u{i}"), "name": "X"})).to_string(),
            _ => jwt(i, json!({"type": ["NutsOrganizationCredential", "VerifiableCredential"],
                // organization without a city: a near miss
                "credentialSubject": [{"organization": {"name": format!("Org {i}")}}]})),
        };
        out.push(text);
    }
    out.push(
        jsonld(n, json!(["NutsOrganizationCredential", "VerifiableCredential"]),
            json!({"id": "did:web:holder.example", "organization": {"name": "Zorg B.V.", "city": "Utrecht"}}))
        .to_string(),
    );
    if with_employee {
        out.push(jwt(
            n + 1,
            json!({"type": ["NutsEmployeeCredential", "VerifiableCredential"],
            "credentialSubject": [{"identifier": "jdoe", "name": "J. Doe", "roleName": "Nurse"}]}),
        ));
    } else {
        out.push(
            jsonld(
                n + 1,
                json!(["VerifiableCredential", "UnrelatedCredential"]),
                json!({"id": "did:web:h"}),
            )
            .to_string(),
        );
    }
    out
}

fn prepare(texts: &[String]) -> Vec<WalletCredential> {
    texts
        .iter()
        .map(|t| WalletCredential::parse(t).expect("credential"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let pd = definition();
    let mut group = c.benchmark_group("evaluate");
    for n in [100usize, 1_000, 10_000] {
        group.throughput(Throughput::Elements(n as u64));
        let fulfilled = prepare(&wallet(n, true));
        assert!(evaluate(&pd, &fulfilled, None).fulfilled);
        group.bench_with_input(BenchmarkId::new("fulfilled", n), &fulfilled, |b, creds| {
            b.iter(|| evaluate(&pd, creds, None))
        });
        let unfulfilled = prepare(&wallet(n, false));
        assert!(!evaluate(&pd, &unfulfilled, None).fulfilled);
        group.bench_with_input(
            BenchmarkId::new("unfulfilled", n),
            &unfulfilled,
            |b, creds| b.iter(|| evaluate(&pd, creds, None)),
        );
    }
    group.finish();
    let mut group = c.benchmark_group("normalise");
    for n in [100usize, 1_000, 10_000] {
        group.throughput(Throughput::Elements(n as u64));
        let texts = wallet(n, true);
        group.bench_with_input(BenchmarkId::new("wallet", n), &texts, |b, t| {
            b.iter(|| prepare(t))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
