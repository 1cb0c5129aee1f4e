//! RFC 7512 `pkcs11:` URIs naming the token, the key object and the module to load.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::Pkcs11Error;

/// Where the key lives: `pkcs11:token=<label>;object=<label>?module-path=<absolute .so path>`,
/// optionally with `id=` (percent-encoded `CKA_ID` bytes) and `slot-id=` (decimal).
///
/// The PIN is never part of the URI: `pin-value` and `pin-source` are refused, so a URI can
/// be stored in settings and shown in the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Uri {
    token: String,
    object: String,
    id: Option<Vec<u8>>,
    slot_id: Option<u64>,
    module_path: PathBuf,
}

impl Pkcs11Uri {
    /// A URI from its parts; the module path must be absolute.
    pub fn new(
        token: impl Into<String>,
        object: impl Into<String>,
        module_path: impl Into<PathBuf>,
    ) -> Result<Self, Pkcs11Error> {
        let uri = Self {
            token: token.into(),
            object: object.into(),
            id: None,
            slot_id: None,
            module_path: module_path.into(),
        };
        uri.check()?;
        Ok(uri)
    }

    /// The same URI with a `CKA_ID`.
    pub fn with_id(mut self, id: Vec<u8>) -> Self {
        self.id = Some(id);
        self
    }

    /// The same URI pinned to one slot id.
    pub fn with_slot_id(mut self, slot_id: u64) -> Self {
        self.slot_id = Some(slot_id);
        self
    }

    /// The token label (`CK_TOKEN_INFO.label`, without the padding).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The key object's label (`CKA_LABEL`).
    pub fn object(&self) -> &str {
        &self.object
    }

    /// The key object's `CKA_ID`, when the URI names one.
    pub fn id(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    /// The slot id, when the URI names one.
    pub fn slot_id(&self) -> Option<u64> {
        self.slot_id
    }

    /// The PKCS#11 module (shared library) to load.
    pub fn module_path(&self) -> &Path {
        &self.module_path
    }

    fn check(&self) -> Result<(), Pkcs11Error> {
        if self.token.is_empty() {
            return Err(invalid("the token label (token=) is missing"));
        }
        if self.object.is_empty() {
            return Err(invalid("the key label (object=) is missing"));
        }
        if self.module_path.as_os_str().is_empty() {
            return Err(invalid("the module path (?module-path=) is missing"));
        }
        if !self.module_path.is_absolute() {
            return Err(invalid(&format!(
                "the module path {} is not absolute; a relative path would be looked up \
                 in the library search path",
                self.module_path.display()
            )));
        }
        Ok(())
    }
}

fn invalid(msg: &str) -> Pkcs11Error {
    Pkcs11Error::InvalidUri(msg.to_owned())
}

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| invalid("a PKCS#11 URI starts with \"pkcs11:\""))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut token = None;
        let mut object = None;
        let mut id = None;
        let mut slot_id = None;
        let mut module_path = None;
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| invalid(&format!("attribute \"{attr}\" has no value")))?;
            match name {
                "token" => set_once(&mut token, name, decode_utf8(name, value)?)?,
                "object" => set_once(&mut object, name, decode_utf8(name, value)?)?,
                "id" => set_once(&mut id, name, percent_decode(name, value)?)?,
                "slot-id" => {
                    let n = value.parse::<u64>().map_err(|_| {
                        invalid(&format!("slot-id \"{value}\" is not a decimal number"))
                    })?;
                    set_once(&mut slot_id, name, n)?
                }
                "pin-value" | "pin-source" => return Err(pin_refused(name)),
                other => {
                    return Err(invalid(&format!(
                        "unsupported attribute \"{other}\" (supported: token, object, id, \
                         slot-id; query: module-path)"
                    )))
                }
            }
        }
        for attr in query.into_iter().flat_map(|q| q.split('&')) {
            if attr.is_empty() {
                continue;
            }
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| invalid(&format!("query attribute \"{attr}\" has no value")))?;
            match name {
                "module-path" => set_once(
                    &mut module_path,
                    name,
                    PathBuf::from(decode_utf8(name, value)?),
                )?,
                "pin-value" | "pin-source" => return Err(pin_refused(name)),
                other => {
                    return Err(invalid(&format!(
                        "unsupported query attribute \"{other}\" (supported: module-path)"
                    )))
                }
            }
        }
        let uri = Self {
            token: token.unwrap_or_default(),
            object: object.unwrap_or_default(),
            id,
            slot_id,
            module_path: module_path.unwrap_or_default(),
        };
        uri.check()?;
        Ok(uri)
    }
}

fn pin_refused(name: &str) -> Pkcs11Error {
    invalid(&format!(
        "{name} is not accepted: the PIN never goes into the URI (it comes from the keyring, \
         a prompt or NUTS_WALLET_PKCS11_PIN)"
    ))
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Pkcs11Error> {
    if slot.is_some() {
        return Err(invalid(&format!("attribute \"{name}\" appears twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn decode_utf8(name: &str, value: &str) -> Result<String, Pkcs11Error> {
    String::from_utf8(percent_decode(name, value)?)
        .map_err(|_| invalid(&format!("the value of \"{name}\" is not UTF-8")))
}

fn percent_decode(name: &str, value: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid(&format!("bad percent-encoding in \"{name}\"")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `extra`.
fn encode(out: &mut fmt::Formatter<'_>, bytes: &[u8], extra: &[u8]) -> fmt::Result {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || extra.contains(&b) {
            write!(out, "{}", b as char)?;
        } else {
            write!(out, "%{b:02X}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:token=")?;
        encode(f, self.token.as_bytes(), b":@!$'()*+,")?;
        f.write_str(";object=")?;
        encode(f, self.object.as_bytes(), b":@!$'()*+,")?;
        if let Some(id) = &self.id {
            f.write_str(";id=")?;
            for b in id {
                write!(f, "%{b:02X}")?;
            }
        }
        if let Some(slot) = self.slot_id {
            write!(f, ";slot-id={slot}")?;
        }
        f.write_str("?module-path=")?;
        encode(
            f,
            self.module_path.to_string_lossy().as_bytes(),
            b":@!$'()*+,/",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SO: &str = "/usr/lib/softhsm/libsofthsm2.so";

    fn parse(s: &str) -> Result<Pkcs11Uri, Pkcs11Error> {
        s.parse()
    }

    fn refusal(s: &str) -> String {
        match parse(s) {
            Err(e) => {
                assert_eq!(e.code(), "pkcs11_invalid_uri");
                e.to_string()
            }
            Ok(u) => panic!("accepted {u}"),
        }
    }

    #[test]
    fn parses_the_basic_form() {
        let u = parse(&format!("pkcs11:token=Org;object=signing?module-path={SO}")).unwrap();
        assert_eq!(u.token(), "Org");
        assert_eq!(u.object(), "signing");
        assert_eq!(u.module_path(), Path::new(SO));
        assert_eq!(u.id(), None);
        assert_eq!(u.slot_id(), None);
    }

    #[test]
    fn percent_decodes_values_and_reads_id_and_slot() {
        let u = parse(
            "pkcs11:token=Zorg%20B.V.;object=key%3B1;id=%01%ab;slot-id=42\
             ?module-path=/opt/my%20hsm/lib.so",
        )
        .unwrap();
        assert_eq!(u.token(), "Zorg B.V.");
        assert_eq!(u.object(), "key;1");
        assert_eq!(u.id(), Some(&[0x01, 0xab][..]));
        assert_eq!(u.slot_id(), Some(42));
        assert_eq!(u.module_path(), Path::new("/opt/my hsm/lib.so"));
    }

    #[test]
    fn round_trips_through_display() {
        let u = Pkcs11Uri::new("Zorg; B.V./?&=", "sign key", "/opt/my hsm/lib?.so")
            .unwrap()
            .with_id(vec![0, 1, 0xfe])
            .with_slot_id(7);
        let s = u.to_string();
        assert_eq!(
            s,
            "pkcs11:token=Zorg%3B%20B.V.%2F%3F%26%3D;object=sign%20key;id=%00%01%FE;slot-id=7\
             ?module-path=/opt/my%20hsm/lib%3F.so"
        );
        assert_eq!(parse(&s).unwrap(), u);
        let plain = format!("pkcs11:token=Org;object=signing?module-path={SO}");
        assert_eq!(parse(&plain).unwrap().to_string(), plain);
    }

    #[test]
    fn refuses_a_pin_in_the_uri() {
        for s in [
            format!("pkcs11:token=Org;object=k?module-path={SO}&pin-value=1234"),
            format!("pkcs11:token=Org;object=k?pin-source=file:/tmp/pin&module-path={SO}"),
            format!("pkcs11:token=Org;object=k;pin-value=1234?module-path={SO}"),
        ] {
            let msg = refusal(&s);
            assert!(msg.contains("never goes into the URI"), "{msg}");
            assert!(!msg.contains("1234"), "{msg}");
        }
    }

    #[test]
    fn refuses_missing_parts() {
        assert!(refusal(&format!("pkcs11:object=k?module-path={SO}")).contains("token="));
        assert!(refusal(&format!("pkcs11:token=Org?module-path={SO}")).contains("object="));
        assert!(refusal("pkcs11:token=Org;object=k").contains("module-path"));
        assert!(refusal("pkcs11:token=;object=k?module-path=/x.so").contains("token="));
        assert!(refusal("token=Org;object=k?module-path=/x.so").contains("pkcs11:"));
    }

    #[test]
    fn refuses_unknown_attributes_and_relative_modules() {
        let msg = refusal(&format!(
            "pkcs11:token=Org;object=k;type=private?module-path={SO}"
        ));
        assert!(msg.contains("unsupported attribute \"type\""), "{msg}");
        let msg = refusal(&format!("pkcs11:token=Org;object=k?module-path={SO}&x=1"));
        assert!(msg.contains("unsupported query attribute \"x\""), "{msg}");
        let msg = refusal("pkcs11:token=Org;object=k?module-path=libsofthsm2.so");
        assert!(msg.contains("not absolute"), "{msg}");
        assert!(
            refusal("pkcs11:token=Org;object=k;slot-id=x?module-path=/x.so").contains("slot-id")
        );
        assert!(refusal("pkcs11:token=Org;token=B;object=k?module-path=/x.so").contains("twice"));
        assert!(refusal("pkcs11:token=%zz;object=k?module-path=/x.so").contains("percent"));
        assert!(Pkcs11Uri::new("Org", "k", "lib.so").is_err());
    }
}
