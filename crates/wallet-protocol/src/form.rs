//! `application/x-www-form-urlencoded` POSTs: the token request and the OpenID4VP
//! `direct_post` answers are both built here.

use url::Url;

use crate::net::{HttpRequest, Method};

/// The form media type.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Encodes `pairs` as a form body.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A form POST to `url` that accepts JSON, with the response body capped at `max_body_bytes`.
pub fn post(url: Url, body: Vec<u8>, max_body_bytes: usize) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url,
        headers: vec![
            ("content-type".into(), FORM_CONTENT_TYPE.into()),
            ("accept".into(), "application/json".into()),
        ],
        body,
        max_body_bytes,
        allow_plain_http: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_post_carries_the_encoded_body_and_both_headers() {
        let body = encode([("a", "1 2"), ("b", "x&y")]);
        assert_eq!(body, "a=1+2&b=x%26y");
        let r = post(Url::parse("https://as.example/t").unwrap(), body.into(), 10);
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.max_body_bytes, 10);
        assert!(r
            .headers
            .contains(&("content-type".into(), FORM_CONTENT_TYPE.into())));
        assert!(r
            .headers
            .contains(&("accept".into(), "application/json".into())));
        assert!(!r.allow_plain_http);
    }
}
