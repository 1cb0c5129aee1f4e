//! The JSON-LD contexts bundled into the binary and served offline. Any other context URL
//! is an error: contexts are never fetched from the network.

/// `(URL, document)` pairs of the bundled contexts (copies from `vectors/nuts/jsonld-contexts`).
pub const BUNDLED_CONTEXTS: [(&str, &str); 5] = [
    (
        "https://www.w3.org/2018/credentials/v1",
        include_str!("../../../../vectors/nuts/jsonld-contexts/w3c-credentials-v1.ldjson"),
    ),
    (
        "https://nuts.nl/credentials/v1",
        include_str!("../../../../vectors/nuts/jsonld-contexts/nuts.ldjson"),
    ),
    (
        "https://nuts.nl/credentials/2024",
        include_str!("../../../../vectors/nuts/jsonld-contexts/nuts-2024.ldjson"),
    ),
    (
        "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json",
        include_str!("../../../../vectors/nuts/jsonld-contexts/lds-jws2020-v1.ldjson"),
    ),
    (
        "https://w3id.org/vc/status-list/2021/v1",
        include_str!("../../../../vectors/nuts/jsonld-contexts/w3c-statuslist2021.ldjson"),
    ),
];

/// The bundled document for `url`, if any.
pub fn bundled(url: &str) -> Option<&'static str> {
    BUNDLED_CONTEXTS
        .iter()
        .find(|(u, _)| *u == url)
        .map(|(_, d)| *d)
}

/// The W3C credentials v1 context URL.
pub const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";
/// The Nuts v1 context URL.
pub const NUTS_V1: &str = "https://nuts.nl/credentials/v1";
/// The JsonWebSignature2020 context URL.
pub const JWS2020_V1: &str = "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json";
/// The StatusList2021 context URL.
pub const STATUS_LIST_2021: &str = "https://w3id.org/vc/status-list/2021/v1";
