//! The HSM goes away mid-run and comes back: signatures fail with a clear `Unavailable`
//! while it is gone and work again, with the same key, once it is back — no restart.
//! Its own test binary: the module re-initialisations here must not race other suites.

use serde_json::{json, Map, Value};
use wallet_pkcs11::{Pin, Pkcs11Signer, Pkcs11Uri};
use wallet_protocol::jose::{sign_jwt, verify_compact, Jwk};
use wallet_protocol::signer::{SignError, Signer};
use wallet_testkit::softhsm::SoftHsm;

fn claims() -> Map<String, Value> {
    json!({"iss": "did:web:example.com"})
        .as_object()
        .unwrap()
        .clone()
}

/// SoftHSM keeps its view of a token from `C_Initialize`; a token directory that vanished
/// leaves that view invalid for good, and one that came back is seen only after a new
/// `C_Initialize`. This is the case the signer's reconnect (with one module
/// re-initialisation) is for; a real HSM behaves alike after a device or network loss.
#[test]
fn the_token_vanishes_and_comes_back() {
    let hsm = SoftHsm::shared();
    let away_dir = hsm.init_token("away");
    hsm.init_token("stay");
    let pin = || Pin::new(hsm.pin().to_owned());
    let away_uri: Pkcs11Uri = hsm.uri_on("away", "org").parse().unwrap();
    let stay_uri: Pkcs11Uri = hsm.uri_on("stay", "org").parse().unwrap();
    let (away, _) = Pkcs11Signer::open_or_generate(&away_uri, pin(), "a".into()).unwrap();
    let (stay, _) = Pkcs11Signer::open_or_generate(&stay_uri, pin(), "s".into()).unwrap();
    let away_key = Jwk::from_map(away.public_jwk()).unwrap();
    let stay_key = Jwk::from_map(stay.public_jwk()).unwrap();
    verify_compact(&sign_jwt(&away, &claims()).unwrap(), &away_key).unwrap();
    away.check().unwrap();

    // Unplug: the token's directory leaves the token store.
    let parked = hsm.tokens_dir().parent().unwrap().join("parked-away");
    std::fs::rename(&away_dir, &parked).unwrap();

    for _ in 0..2 {
        match away.sign(b"header.payload") {
            Err(SignError::Unavailable(msg)) => {
                assert!(
                    msg.starts_with("no PKCS#11 token with label \"away\" (tokens present: "),
                    "{msg}"
                );
                assert!(
                    msg.contains("\"stay\"") && msg.contains("\"wallet-test\""),
                    "{msg}"
                );
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    let e = away.check().unwrap_err();
    assert_eq!(e.code(), "pkcs11_token_absent", "{e}");
    // The other token's signer is unaffected by the re-initialisations.
    verify_compact(&sign_jwt(&stay, &claims()).unwrap(), &stay_key).unwrap();

    // Plug back in: the next signature works, with the same key.
    std::fs::rename(&parked, &away_dir).unwrap();
    let token = sign_jwt(&away, &claims()).unwrap();
    verify_compact(&token, &away_key).unwrap();
    assert_eq!(Jwk::from_map(away.public_jwk()).unwrap(), away_key);
    away.check().unwrap();
    verify_compact(&sign_jwt(&stay, &claims()).unwrap(), &stay_key).unwrap();
}

/// A reconnect that finds another key under the same label (deleted and made again by an
/// administrator) refuses to sign: the published JWK would no longer match.
#[test]
fn a_key_replaced_under_the_same_label_is_refused() {
    let hsm = SoftHsm::shared();
    hsm.init_token("swap");
    let uri: Pkcs11Uri = hsm.uri_on("swap", "org").parse().unwrap();
    let (signer, _) =
        Pkcs11Signer::open_or_generate(&uri, Pin::new(hsm.pin().to_owned()), "k".into()).unwrap();
    let key = Jwk::from_map(signer.public_jwk()).unwrap();
    verify_compact(&sign_jwt(&signer, &claims()).unwrap(), &key).unwrap();

    let tool = |args: &[&str]| {
        let mut all = vec!["--token-label", "swap", "--login", "--pin", hsm.pin()];
        all.extend_from_slice(args);
        let out = hsm.pkcs11_tool(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    tool(&["--delete-object", "--type", "privkey", "--label", "org"]);
    tool(&["--delete-object", "--type", "pubkey", "--label", "org"]);
    tool(&[
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "org",
    ]);

    match signer.sign(b"header.payload") {
        Err(SignError::Crypto(msg)) => assert_eq!(
            msg,
            "PKCS#11 error: the key \"org\" on token \"swap\" is no longer the key this signer \
             was opened with"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(signer.check().unwrap_err().code(), "pkcs11_other");
    // A fresh open takes the new key.
    let fresh = Pkcs11Signer::open(&uri, Pin::new(hsm.pin().to_owned()), "k".into()).unwrap();
    assert_ne!(Jwk::from_map(fresh.public_jwk()).unwrap(), key);
}
