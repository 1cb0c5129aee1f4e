//! Micro-benchmark of JSON-LD canonicalization, JsonWebSignature2020 signing and
//! verification (`vc::ldp`), with the Nuts vectors. Prints p50 / p95 per case.
//!
//! `cargo bench -p wallet-protocol --bench ldp` (env `LDP_BENCH_N`, default 300 per case).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::vc::{contexts, ldp};

fn vector(name: &str) -> Value {
    let path = format!("{}/../../vectors/nuts/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("vector")).expect("JSON")
}

fn case(name: &str, n: usize, f: &mut dyn FnMut()) {
    for _ in 0..10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    let q =
        |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{name:<48} n={n:<4} p50 {:>6.3} ms   p95 {:>6.3} ms",
        q(0.5),
        q(0.95)
    );
}

/// `doc` with a fresh `id`, so that every iteration canonicalizes a new document (the
/// module caches results by input).
fn fresh(doc: &Value, i: usize) -> Value {
    let mut d = doc.clone();
    d["id"] = json!(format!("urn:uuid:00000000-0000-4000-8000-{i:012}"));
    d
}

fn main() {
    let n: usize = std::env::var("LDP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut i = 0usize;
    let mut next = || {
        i += 1;
        i
    };

    let mut orgcred = vector("credentials/jsonld-orgcred_001.signed.json");
    orgcred.as_object_mut().unwrap().remove("proof");
    let vp = vector("credentials/selfsigned-vp.jsonld.json");
    let minimal = json!({
        "@context": [contexts::CREDENTIALS_V1, contexts::NUTS_V1, contexts::JWS2020_V1],
        "type": "VerifiableCredential"
    });

    println!(
        "(every case but the last works on a new document each iteration: no result-cache hits)"
    );
    case("canonicalize: contexts only", n, &mut || {
        ldp::canonicalize(&fresh(&minimal, next())).unwrap();
    });
    case("canonicalize: org credential (no proof)", n, &mut || {
        ldp::canonicalize(&fresh(&orgcred, next())).unwrap();
    });
    case("canonicalize: self-signed VP (with VC)", n, &mut || {
        ldp::canonicalize(&fresh(&vp, next())).unwrap();
    });

    let signer = SoftwareSigner::generate_es256("did:example:issuer#key-1").unwrap();
    let key = Jwk::from_map(wallet_protocol::signer::Signer::public_jwk(&signer)).unwrap();
    let options = |i: usize| ldp::ProofOptions {
        created: 1_700_000_000 + i as i64,
        ..Default::default()
    };
    let signed: Vec<Value> = (0..n + 10)
        .map(|_| ldp::sign(&fresh(&orgcred, next()), &signer, &options(0)).unwrap())
        .collect();
    case(
        "sign: org credential (JsonWebSignature2020)",
        n,
        &mut || {
            ldp::sign(&fresh(&orgcred, next()), &signer, &options(0)).unwrap();
        },
    );
    let mut it = signed.iter().cycle();
    case("verify: org credential (known key)", n, &mut || {
        ldp::verify_with_key(it.next().unwrap(), &key).unwrap();
    });

    let presentation = |i: usize| {
        json!({
            "@context": [contexts::CREDENTIALS_V1, contexts::JWS2020_V1],
            "id": format!("did:example:holder#{i}"),
            "type": ["VerifiablePresentation"],
            "holder": "did:example:holder",
            "verifiableCredential": [signed[0].clone(), signed[1].clone()]
        })
    };
    let vp_options = |i: usize| ldp::ProofOptions {
        created: 1_700_000_000,
        expires: Some(1_700_000_005),
        nonce: Some(format!("{i:043}")),
        domain: Some("https://as.example/oauth2/x".into()),
        ..Default::default()
    };
    let signed_vps: Vec<Value> = (0..n + 10)
        .map(|_| {
            let i = next();
            ldp::sign(&presentation(i), &signer, &vp_options(i)).unwrap()
        })
        .collect();
    case("sign: VP with two JSON-LD credentials", n, &mut || {
        let i = next();
        ldp::sign(&presentation(i), &signer, &vp_options(i)).unwrap();
    });
    let mut it = signed_vps.iter().cycle();
    case("verify: VP with two JSON-LD credentials", n, &mut || {
        ldp::verify_with_key(it.next().unwrap(), &key).unwrap();
    });
    case(
        "verify: the same org credential again (cache hit)",
        n,
        &mut || {
            ldp::verify_with_key(&signed[0], &key).unwrap();
        },
    );
}
