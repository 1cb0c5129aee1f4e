//! The generated private key cannot leave the token: its attributes say so (read by
//! OpenSC's `pkcs11-tool` and through PKCS#11 directly), reading `CKA_VALUE` is refused and
//! wrapping it out under a key of our own is refused. Its own test binary: it opens raw
//! PKCS#11 sessions, which must not race the module re-initialisations of other suites.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use wallet_pkcs11::{Pin, Pkcs11Signer, Pkcs11Uri};
use wallet_testkit::softhsm::SoftHsm;

#[test]
fn the_generated_private_key_is_sensitive_and_never_extractable() {
    let hsm = SoftHsm::shared();
    hsm.init_token("extract");
    let uri: Pkcs11Uri = hsm.uri_on("extract", "org-key").parse().unwrap();
    let (signer, generated) =
        Pkcs11Signer::open_or_generate(&uri, Pin::new(hsm.pin().to_owned()), "k".into()).unwrap();
    assert!(generated);
    drop(signer);

    let listing = hsm.list_private_keys("extract");
    assert!(listing.contains("Private Key Object; EC"), "{listing}");
    assert!(listing.contains("label:      org-key"), "{listing}");
    assert!(
        listing.contains("Access:     sensitive, always sensitive, never extractable, local"),
        "{listing}"
    );
    assert!(listing.contains("Usage:      "), "{listing}");

    // The same module instance the signer used (already initialised in this process).
    let ctx = Pkcs11::new(hsm.module_path()).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == "extract")
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from(hsm.pin())))
        .unwrap();
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(b"org-key".to_vec()),
        ])
        .unwrap()[0];
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sign,
            ],
        )
        .unwrap();
    for a in &attrs {
        match a {
            Attribute::Sensitive(v)
            | Attribute::AlwaysSensitive(v)
            | Attribute::NeverExtractable(v)
            | Attribute::Token(v)
            | Attribute::Private(v)
            | Attribute::Sign(v) => assert!(*v, "{a:?}"),
            Attribute::Extractable(v) => assert!(!*v, "{a:?}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(attrs.len(), 7);

    // The private scalar cannot be read...
    let info = session
        .get_attribute_info(key, &[AttributeType::Value])
        .unwrap();
    assert!(matches!(info[0], AttributeInfo::Sensitive), "{info:?}");
    let value = session.get_attributes(key, &[AttributeType::Value]);
    assert!(
        !matches!(&value, Ok(v) if v.iter().any(|a| matches!(a, Attribute::Value(_)))),
        "{value:?}"
    );

    // ...nor wrapped out under a key we hold.
    let wrapping = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(false),
                Attribute::ValueLen(32.into()),
                Attribute::Wrap(true),
                Attribute::Extractable(true),
            ],
        )
        .unwrap();
    match session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key) {
        Err(CkError::Pkcs11(rv, _)) => {
            assert!(
                matches!(rv, RvError::KeyUnextractable | RvError::KeyNotWrappable),
                "{rv:?}"
            )
        }
        other => panic!("wrapping the private key gave {other:?}"),
    }
}
