//! Every reason the holder refuses a wallet request has its own Dutch and English text on the
//! consent screen (`refused.<code>` in ui/src/lib/i18n.ts); an untranslated code would fall back
//! to a generic message and hide why nothing was shared.
//! Each is also a member of the `ErrorCode` union the UI branches on.

use nuts_wallet_app::ipc::codes::ErrorCode;
use wallet_core::openid4vp::{RequestObjectError, ResolveError};

/// The English and Dutch tables of ui/src/lib/i18n.ts.
fn tables() -> (String, String) {
    let i18n = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ui/src/lib/i18n.ts"
    ))
    .unwrap();
    let (en, nl) = i18n
        .split_once("const nl")
        .expect("an nl table after the en table");
    (en.to_owned(), nl.to_owned())
}

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
    let (en, nl) = tables();
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

/// Every reason a service-token request fails has a Dutch and English text for the Services
/// screen (`svc.err.<code>`), so the list shows words, with the code only as detail.
#[test]
fn every_service_token_error_is_translated_in_both_languages() {
    use wallet_core::oauth::ServiceTokenError as E;
    let s = || "x".to_owned();
    let mut codes: Vec<&str> = [
        E::InvalidRequest(s()),
        E::NotAllowed(s()),
        E::ConsentRequired(s()),
        E::ConsentDeclined,
        E::Locked,
        E::UnknownSubject(s()),
        E::UnknownDpopKey(s()),
        E::NoMatchingCredential {
            definition_id: s(),
            reasons: vec![],
        },
        E::DidMethodMismatch(s()),
        E::NoCommonVpFormat,
        E::Signing(s()),
        E::KeyUnavailable(s()),
        E::Storage(s()),
    ]
    .iter()
    .map(E::code)
    .collect();
    // The authorization server's own failures (`AuthorizationServerError::code`).
    codes.extend([
        "unknown_scope",
        "url_refused",
        "unreachable",
        "bad_response",
        "remote_error",
    ]);
    let (en, nl) = tables();
    for code in codes {
        let key = format!("\"svc.err.{code}\":");
        assert!(en.contains(&key), "no English text for {key}");
        assert!(nl.contains(&key), "no Dutch text for {key}");
    }
}
