use serde_json::Value;

pub use wallet_testkit::vectors::read as vector;

pub fn vector_json(rel: &str) -> Value {
    serde_json::from_str(&vector(rel)).unwrap()
}

/// Every path to a string leaf of `v`, with the leaf.
pub fn string_leaves(v: &Value) -> Vec<(Vec<PathSeg>, String)> {
    fn walk(v: &Value, path: &mut Vec<PathSeg>, out: &mut Vec<(Vec<PathSeg>, String)>) {
        match v {
            Value::String(s) => out.push((path.clone(), s.clone())),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(PathSeg::Index(i));
                    walk(x, path, out);
                    path.pop();
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    path.push(PathSeg::Key(k.clone()));
                    walk(x, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

#[derive(Debug, Clone)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

pub fn leaf_mut<'a>(v: &'a mut Value, path: &[PathSeg]) -> &'a mut Value {
    path.iter().fold(v, |acc, seg| match seg {
        PathSeg::Key(k) => &mut acc[k.as_str()],
        PathSeg::Index(i) => &mut acc[*i],
    })
}

/// Changes one byte of `s` (its last character) to another printable character.
pub fn flip_last_char(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.last_mut().expect("non-empty");
    *last = if *last == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Replaces the base64url character at `i` of a compact token with another one.
pub fn flip_token_char(token: &str, i: usize) -> String {
    let mut b = token.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// Verifies an ES256 compact JWS with ring (an implementation independent of josekit).
pub fn ring_verify_es256(token: &str, jwk: &Value) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let (input, sig) = token.rsplit_once('.').unwrap();
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
    let mut point = vec![4u8];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(input.as_bytes(), &sig)
        .is_ok()
}

/// Decodes a compact JWT's header and claims without verification (independent of the crate).
pub fn decode_parts(token: &str) -> (Value, Value) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut it = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    let p = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&h).unwrap(),
        serde_json::from_slice(&p).unwrap(),
    )
}
