//! `Pkcs11Signer` against a real SoftHSM2: key generation in the token, JWS signatures
//! that verify with the published JWK, and every failure an administrator can cause.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde_json::{json, Map, Value};
use wallet_pkcs11::{Pin, Pkcs11Error, Pkcs11Signer, Pkcs11Uri};
use wallet_protocol::jose::{sign_jwt, verify_compact, DetachedJws, Jwk};
use wallet_protocol::signer::Signer;
use wallet_testkit::softhsm::SoftHsm;

/// Tokens used by this binary, made before the module is first loaded (SoftHSM lists the
/// tokens present at `C_Initialize`).
const TOKENS: [&str; 10] = [
    "race", "loggedin", "gen", "threads", "wrongpin", "nolock", "emptypin", "nokey", "rsa",
    "labels",
];

fn hsm() -> &'static SoftHsm {
    static READY: OnceLock<()> = OnceLock::new();
    let hsm = SoftHsm::shared();
    READY.get_or_init(|| {
        for t in TOKENS {
            hsm.init_token(t);
        }
    });
    hsm
}

fn uri(token: &str, object: &str) -> Pkcs11Uri {
    hsm().uri_on(token, object).parse().unwrap()
}

fn pin() -> Pin {
    Pin::new(hsm().pin().to_owned())
}

fn open_err(uri: &Pkcs11Uri, pin: Pin) -> Pkcs11Error {
    match Pkcs11Signer::open(uri, pin, "kid".into()) {
        Ok(_) => panic!("opened {uri}"),
        Err(e) => e,
    }
}

fn claims() -> Map<String, Value> {
    json!({"iss": "did:web:example.com", "jti": "1"})
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn generate_then_open_gives_the_same_key_and_signatures_verify() {
    let u = uri("gen", "org-key");
    let (s1, generated) = Pkcs11Signer::open_or_generate(&u, pin(), "did:web:a#0".into()).unwrap();
    assert!(generated);
    let jwk = s1.public_jwk();
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk.len(), 4, "{jwk:?}");
    let (s2, generated) = Pkcs11Signer::open_or_generate(&u, pin(), "k2".into()).unwrap();
    assert!(
        !generated,
        "a second call must find the key, not make another"
    );
    let mut s3 = Pkcs11Signer::open(&u, pin(), "k3".into()).unwrap();
    assert_eq!(s2.public_jwk(), jwk);
    assert_eq!(s3.public_jwk(), jwk);
    s3.set_key_id("did:web:a#key-1".into());
    assert_eq!(s3.key_id(), "did:web:a#key-1");
    assert_eq!(s3.algorithm(), "ES256");

    let key = Jwk::from_map(jwk).unwrap();
    let token = sign_jwt(&s3, &claims()).unwrap();
    let jws = verify_compact(&token, &key).unwrap();
    assert_eq!(jws.claims().unwrap(), claims());
    assert_eq!(jws.header_str("kid"), Some("did:web:a#key-1"));
    assert_eq!(jws.signature.len(), 64);
    let detached = DetachedJws::sign(&s1, b"payload").unwrap();
    DetachedJws::parse(&detached)
        .unwrap()
        .verify(b"payload", &key)
        .unwrap();
    // A signature is over this message only.
    assert!(DetachedJws::parse(&detached)
        .unwrap()
        .verify(b"other", &key)
        .is_err());
    s1.check().unwrap();
}

#[test]
fn one_signer_signs_from_many_threads() {
    let u = uri("threads", "k");
    let (signer, _) = Pkcs11Signer::open_or_generate(&u, pin(), "k".into()).unwrap();
    let signer = Arc::new(signer);
    let key = Jwk::from_map(signer.public_jwk()).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = signer.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| sign_jwt(s.as_ref(), &claims()).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for t in h.join().unwrap() {
            verify_compact(&t, &key).unwrap();
        }
    }
}

#[test]
fn a_missing_module_is_named() {
    let u = Pkcs11Uri::new("gen", "org-key", "/nonexistent/libnothing.so").unwrap();
    let e = open_err(&u, pin());
    assert_eq!(e.code(), "pkcs11_module_not_found");
    assert_eq!(
        e.to_string(),
        "the PKCS#11 module /nonexistent/libnothing.so does not exist"
    );
}

#[test]
fn a_file_that_is_not_a_module_is_refused() {
    let dir = tempfile_dir();
    let fake = dir.join("libfake.so");
    std::fs::write(&fake, "not a shared library").unwrap();
    let e = open_err(&Pkcs11Uri::new("gen", "k", &fake).unwrap(), pin());
    assert_eq!(e.code(), "pkcs11_module_load", "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("could not be loaded as a PKCS#11 module"),
        "{msg}"
    );
    assert!(msg.contains("libfake.so"), "{msg}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = hsm().conf_path().parent().unwrap().join("scratch");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_wrong_token_label_lists_the_tokens_present() {
    hsm();
    let e = open_err(&uri("no-such-token", "k"), pin());
    assert_eq!(e.code(), "pkcs11_token_absent");
    let msg = e.to_string();
    assert!(
        msg.starts_with("no PKCS#11 token with label \"no-such-token\" (tokens present: "),
        "{msg}"
    );
    assert!(msg.contains("\"labels\""), "{msg}");
    assert!(msg.contains("\"wallet-test\""), "{msg}");
    match e {
        Pkcs11Error::TokenAbsent { present, .. } => assert!(present.len() >= TOKENS.len()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrong_pin_is_refused_and_never_shown() {
    let e = open_err(&uri("wrongpin", "k"), Pin::new("not-the-pin-9876".into()));
    assert_eq!(e.code(), "pkcs11_wrong_pin");
    assert_eq!(
        e.to_string(),
        "wrong user PIN for the PKCS#11 token \"wrongpin\""
    );
    assert!(!format!("{e:?}").contains("9876"));
}

/// SoftHSM2 never locks a user PIN: it sets `CKF_USER_PIN_COUNT_LOW` after a wrong PIN
/// and returns `CKR_PIN_INCORRECT` however often (its `Token::loginUser`). So the lock-out
/// itself (`CKR_PIN_LOCKED` → `PinLocked`) is covered by the mapping's unit test, and this
/// test pins down what a SoftHSM user sees.
#[test]
fn softhsm_does_not_lock_the_pin_after_many_wrong_ones() {
    let u = uri("nolock", "k");
    for _ in 0..12 {
        let e = open_err(&u, Pin::new("wrong-pin".into()));
        assert_eq!(e.code(), "pkcs11_wrong_pin", "{e}");
    }
    let (_s, generated) = Pkcs11Signer::open_or_generate(&u, pin(), "k".into()).unwrap();
    assert!(generated);
}

#[test]
fn an_empty_pin_is_pin_required() {
    let e = open_err(&uri("emptypin", "k"), Pin::new(String::new()));
    assert_eq!(e.code(), "pkcs11_pin_required");
    assert_eq!(
        e.to_string(),
        "the PKCS#11 token \"emptypin\" needs its user PIN"
    );
}

#[test]
fn open_does_not_generate_a_missing_key() {
    let u = uri("nokey", "absent");
    let e = open_err(&u, pin());
    assert_eq!(e.code(), "pkcs11_key_missing");
    assert_eq!(
        e.to_string(),
        "no private key \"absent\" on the PKCS#11 token \"nokey\""
    );
    // Still missing: open only reads.
    assert_eq!(open_err(&u, pin()).code(), "pkcs11_key_missing");
}

#[test]
fn an_rsa_key_under_the_label_is_not_ec_p256() {
    let hsm = hsm();
    let out = hsm.pkcs11_tool(&[
        "--token-label",
        "rsa",
        "--login",
        "--pin",
        hsm.pin(),
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "rsa-key",
        "--id",
        "aa",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let u = uri("rsa", "rsa-key");
    let e = open_err(&u, pin());
    assert_eq!(e.code(), "pkcs11_not_ec_p256", "{e}");
    assert_eq!(
        e.to_string(),
        "the PKCS#11 object \"rsa-key\" is not an EC P-256 key (found a CKK_RSA key)"
    );
    // open_or_generate must not add an EC key next to it.
    let e = Pkcs11Signer::open_or_generate(&u, pin(), "k".into()).unwrap_err();
    assert_eq!(e.code(), "pkcs11_not_ec_p256");
}

/// SoftHSM reads its token directory at `C_Initialize` only; a token made afterwards is
/// found because `open` re-initialises the module when the token is absent, and signers
/// opened before keep working (their next signature reconnects).
#[test]
fn a_token_made_while_running_is_found_and_earlier_signers_survive() {
    let hsm = hsm();
    let (early, _) =
        Pkcs11Signer::open_or_generate(&uri("labels", "early"), pin(), "e".into()).unwrap();
    let early_key = Jwk::from_map(early.public_jwk()).unwrap();
    hsm.init_token("late");
    let (late, generated) =
        Pkcs11Signer::open_or_generate(&uri("late", "k"), pin(), "l".into()).unwrap();
    assert!(generated);
    let t = sign_jwt(&late, &claims()).unwrap();
    verify_compact(&t, &Jwk::from_map(late.public_jwk()).unwrap()).unwrap();
    let t = sign_jwt(&early, &claims()).unwrap();
    verify_compact(&t, &early_key).unwrap();
    early.check().unwrap();
}

#[test]
fn debug_shows_no_pin() {
    let (s, _) =
        Pkcs11Signer::open_or_generate(&uri("labels", "debug"), pin(), "kid-d".into()).unwrap();
    let dbg = format!("{s:?}");
    assert!(!dbg.contains(hsm().pin()), "{dbg}");
    assert!(dbg.contains("[redacted]"), "{dbg}");
    assert!(Path::new(hsm().module_path()).is_file());
}

/// While a signer is logged in to a token, the token answers any further `C_Login` of this
/// process with `CKR_USER_ALREADY_LOGGED_IN` without looking at the PIN; a wrong PIN must
/// still be refused (the app checks a PIN this way before keeping it).
#[test]
fn a_wrong_pin_is_refused_while_another_signer_is_logged_in() {
    let u = uri("loggedin", "k");
    let (first, _) = Pkcs11Signer::open_or_generate(&u, pin(), "k".into()).unwrap();
    let e = open_err(&u, Pin::new("not-the-pin".into()));
    assert_eq!(e.code(), "pkcs11_wrong_pin", "{e}");
    let second = Pkcs11Signer::open(&u, pin(), "k".into()).unwrap();
    assert_eq!(second.public_jwk(), first.public_jwk());
    first.check().unwrap();
}

/// Threads that all find the key missing make one key between them, not one each.
#[test]
fn concurrent_open_or_generate_makes_one_key() {
    let u = uri("race", "k");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let u = u.clone();
            std::thread::spawn(move || Pkcs11Signer::open_or_generate(&u, pin(), "k".into()))
        })
        .collect();
    let results: Vec<(Pkcs11Signer, bool)> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|(_, generated)| *generated).count(),
        1
    );
    let jwk = results[0].0.public_jwk();
    assert!(results.iter().all(|(s, _)| s.public_jwk() == jwk));
}
