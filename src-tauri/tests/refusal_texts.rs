//! Every reason the holder refuses a wallet request has its own Dutch and English text on the
//! consent screen (`refused.<code>` in ui/src/lib/i18n.ts); an untranslated code would fall back
//! to a generic message and hide why nothing was shared.
//! Each is also a member of the `ErrorCode` union the UI branches on.

use nuts_wallet_app::ipc::codes::ErrorCode;
use wallet_core::openid4vp::{RequestObjectError, ResolveError};

#[test]
fn every_refusal_code_is_translated_in_both_languages() {
    let s = || "x".to_owned();
    let all = [
        ResolveError::Unsolicited(s()),
        ResolveError::OutsidePolicy(s()),
        ResolveError::NotReady(s()),
        ResolveError::Request(RequestObjectError::RequestUriOrigin(s())),
        ResolveError::Request(RequestObjectError::Fetch(s())),
        ResolveError::Request(RequestObjectError::AddressRefused(s())),
        ResolveError::Request(RequestObjectError::Signature(s())),
        ResolveError::Request(RequestObjectError::KeyNotInEntityStatement(s())),
        ResolveError::Request(RequestObjectError::EntityStatement(s())),
        ResolveError::Request(RequestObjectError::ClientIdMismatch {
            claim: s(),
            link: s(),
        }),
        ResolveError::Request(RequestObjectError::WrongAudience(s())),
        ResolveError::Request(RequestObjectError::Expired),
        ResolveError::Request(RequestObjectError::Lifetime("x")),
        ResolveError::Request(RequestObjectError::Replayed),
        ResolveError::Request(RequestObjectError::ResponseMode(s())),
        ResolveError::Request(RequestObjectError::ResponseUri(s())),
        ResolveError::Request(RequestObjectError::MissingState),
        ResolveError::Request(RequestObjectError::ClientIdScheme(s())),
        ResolveError::Request(RequestObjectError::ResponseType(s())),
        ResolveError::Request(RequestObjectError::MissingNonce),
        ResolveError::PresentationDefinition(s()),
        ResolveError::ClientMetadata(s()),
    ];
    let i18n = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ui/src/lib/i18n.ts"
    ))
    .unwrap();
    let (en, nl) = i18n
        .split_once("const nl")
        .expect("an nl table after the en table");
    for e in &all {
        let key = format!("\"refused.{}\":", e.code());
        assert!(en.contains(&key), "no English text for {key}");
        assert!(nl.contains(&key), "no Dutch text for {key}");
        // And the UI's ErrorCode union has it (else it would arrive as `internal`).
        let code = format!("refused.{}", e.code());
        assert!(
            ErrorCode::of(&code) == code.as_str(),
            "{code} is not an ErrorCode"
        );
    }
}
