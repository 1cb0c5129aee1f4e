//! The JSON Schema subset of field filters, with Nuts' evaluation rules.
//!
//! Order and quirks follow a Nuts node's filter matching (docs/protocol.md §8.2):
//!
//! 1. `enum` is tested first: each entry is compared as a string constant; any array element
//!    equal to an entry matches, and the type/pattern of the filter are then not looked at.
//! 2. The JSON type of the value must equal `type` (`string`, `number`, `boolean`); a filter
//!    without `type` never matches a single value. For an array, the filter is applied to each
//!    element and the whole array is the value when one element matches; when none does,
//!    evaluation falls through, so a filter with only `type` still matches.
//! 3. `const` compares strings only; `pattern` (ECMAScript regex, searched, not anchored)
//!    applies when `type` is `string` and yields the matched text, or its single capture group.
//!
//! Extensions beyond Nuts, applied to scalars after the type check: `integer` type,
//! `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`, `minLength`/`maxLength`
//! (Unicode scalar values) and `format` (`date-time`, `date`, `uri`, `email`, `uuid`). Nuts
//! ignores these keywords, so a Nuts verifier can be more lenient than this engine when they are
//! used; never the other way round. Objects and `null` never match (Nuts aborts with an error).

use serde::Serialize;
use serde_json::Value;

/// String formats understood by the `format` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringFormat {
    /// RFC 3339 date-time.
    DateTime,
    /// RFC 3339 full-date.
    Date,
    /// Absolute URI (scheme + `:`).
    Uri,
    /// Something `@` something.
    Email,
    /// 8-4-4-4-12 hex.
    Uuid,
}

impl StringFormat {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "date-time" => StringFormat::DateTime,
            "date" => StringFormat::Date,
            "uri" => StringFormat::Uri,
            "email" => StringFormat::Email,
            "uuid" => StringFormat::Uuid,
            _ => return None,
        })
    }

    fn check(self, s: &str) -> bool {
        match self {
            StringFormat::DateTime => crate::time::parse_rfc3339(s).is_some(),
            StringFormat::Date => {
                s.len() == 10 && crate::time::parse_rfc3339(&format!("{s}T00:00:00Z")).is_some()
            }
            StringFormat::Uri => match s.split_once(':') {
                Some((scheme, _)) => {
                    let mut chars = scheme.chars();
                    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                        && !s.contains(char::is_whitespace)
                }
                None => false,
            },
            StringFormat::Email => match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty() && !domain.is_empty() && !s.contains(char::is_whitespace)
                }
                None => false,
            },
            StringFormat::Uuid => {
                let parts: Vec<&str> = s.split('-').collect();
                parts.len() == 5
                    && parts
                        .iter()
                        .zip([8, 4, 4, 4, 12])
                        .all(|(p, n)| p.len() == n && p.bytes().all(|c| c.is_ascii_hexdigit()))
            }
        }
    }

    /// The keyword value.
    pub fn as_str(self) -> &'static str {
        match self {
            StringFormat::DateTime => "date-time",
            StringFormat::Date => "date",
            StringFormat::Uri => "uri",
            StringFormat::Email => "email",
            StringFormat::Uuid => "uuid",
        }
    }
}

/// A compiled `filter`.
#[derive(Debug, Clone)]
pub struct Filter {
    pub(crate) type_: Option<String>,
    pub(crate) const_: Option<String>,
    pub(crate) enum_: Option<Vec<String>>,
    pub(crate) pattern: Option<(String, regress::Regex)>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: Option<f64>,
    pub(crate) exclusive_maximum: Option<f64>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) format: Option<StringFormat>,
}

/// Which filter keyword rejected a value (the expected side is read from the filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    Type,
    Const,
    Enum,
    Pattern,
    Minimum,
    Maximum,
    ExclusiveMinimum,
    ExclusiveMaximum,
    MinLength,
    MaxLength,
    Format,
    /// Object or `null`: filters cannot be applied (Nuts errors out).
    Unsupported,
}

/// A successful filter evaluation: what the field yields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Hit<'a> {
    /// The value at the path, unchanged.
    Whole,
    /// The text matched by `pattern` (or its capture group).
    Text(&'a str),
}

impl Filter {
    /// `{type: "string", const: X}` and nothing else.
    pub(crate) fn is_plain_string_const(&self) -> bool {
        self.type_.as_deref() == Some("string")
            && self.const_.is_some()
            && self.enum_.is_none()
            && self.pattern.is_none()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.exclusive_minimum.is_none()
            && self.exclusive_maximum.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.format.is_none()
    }

    /// Evaluates a single value (which may be an array).
    pub(crate) fn eval<'a>(&self, value: &'a Value) -> Result<Hit<'a>, Fail> {
        if let Some(en) = &self.enum_ {
            return if enum_matches(en, value) {
                Ok(Hit::Whole)
            } else {
                Err(Fail::Enum)
            };
        }
        match value {
            Value::String(s) => {
                self.expect_type("string")?;
                self.check_string(s)?;
            }
            Value::Number(n) => {
                match self.type_.as_deref() {
                    Some("number") => {}
                    Some("integer") if n.is_i64() || n.is_u64() => {}
                    _ => return Err(Fail::Type),
                }
                self.check_number(n.as_f64().unwrap_or(f64::NAN))?;
            }
            Value::Bool(_) => self.expect_type("boolean")?,
            Value::Array(items) => return self.eval_list(items.iter()),
            Value::Object(_) | Value::Null => return Err(Fail::Unsupported),
        }
        self.const_and_pattern(value)
    }

    /// Evaluates the match list of a non-singular path (treated like an array value).
    pub(crate) fn eval_list<'a, I>(&self, items: I) -> Result<Hit<'a>, Fail>
    where
        I: IntoIterator<Item = &'a Value>,
    {
        let mut first_failure = None;
        for item in items {
            match self.eval(item) {
                Ok(_) => return Ok(Hit::Whole),
                Err(f) => {
                    first_failure.get_or_insert(f);
                }
            }
        }
        if self.enum_.is_some() {
            return Err(Fail::Enum);
        }
        // Nuts falls through to the const/pattern checks with the array itself, which fail.
        if self.const_.is_some() {
            return Err(first_failure.unwrap_or(Fail::Const));
        }
        if self.pattern.is_some() && self.type_.as_deref() == Some("string") {
            return Err(first_failure.unwrap_or(Fail::Pattern));
        }
        Ok(Hit::Whole)
    }

    fn expect_type(&self, t: &str) -> Result<(), Fail> {
        if self.type_.as_deref() == Some(t) {
            Ok(())
        } else {
            Err(Fail::Type)
        }
    }

    fn check_string(&self, s: &str) -> Result<(), Fail> {
        if self.min_length.is_some() || self.max_length.is_some() {
            let len = s.chars().count() as u64;
            if self.min_length.is_some_and(|m| len < m) {
                return Err(Fail::MinLength);
            }
            if self.max_length.is_some_and(|m| len > m) {
                return Err(Fail::MaxLength);
            }
        }
        if let Some(f) = self.format {
            if !f.check(s) {
                return Err(Fail::Format);
            }
        }
        Ok(())
    }

    fn check_number(&self, n: f64) -> Result<(), Fail> {
        if self.minimum.is_some_and(|m| n < m) {
            return Err(Fail::Minimum);
        }
        if self.maximum.is_some_and(|m| n > m) {
            return Err(Fail::Maximum);
        }
        if self.exclusive_minimum.is_some_and(|m| n <= m) {
            return Err(Fail::ExclusiveMinimum);
        }
        if self.exclusive_maximum.is_some_and(|m| n >= m) {
            return Err(Fail::ExclusiveMaximum);
        }
        Ok(())
    }

    fn const_and_pattern<'a>(&self, value: &'a Value) -> Result<Hit<'a>, Fail> {
        if let Some(c) = &self.const_ {
            if value.as_str() != Some(c.as_str()) {
                return Err(Fail::Const);
            }
        }
        if let Some((_, re)) = &self.pattern {
            if self.type_.as_deref() == Some("string") {
                let Some(s) = value.as_str() else {
                    return Err(Fail::Pattern);
                };
                let Some(m) = re.find(s) else {
                    return Err(Fail::Pattern);
                };
                // Groups were counted at load time: at most one.
                let range = match m.captures.first() {
                    None => m.range(),
                    Some(group) => group.clone().unwrap_or(0..0),
                };
                return Ok(Hit::Text(&s[range]));
            }
        }
        Ok(Hit::Whole)
    }
}

fn enum_matches(en: &[String], value: &Value) -> bool {
    match value {
        Value::String(s) => en.iter().any(|e| e == s),
        Value::Array(items) => items.iter().any(|i| enum_matches(en, i)),
        _ => false,
    }
}

/// Counts the capture groups of an ECMAScript pattern (named groups included).
pub(crate) fn count_capture_groups(pattern: &str) -> usize {
    let b = pattern.as_bytes();
    let (mut i, mut count, mut in_class) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let plain = b.get(i + 1) != Some(&b'?');
                let named =
                    b.get(i + 2) == Some(&b'<') && !matches!(b.get(i + 3), Some(b'=') | Some(b'!'));
                if plain || named {
                    count += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(type_: Option<&str>) -> Filter {
        Filter {
            type_: type_.map(str::to_string),
            const_: None,
            enum_: None,
            pattern: None,
            minimum: None,
            maximum: None,
            exclusive_minimum: None,
            exclusive_maximum: None,
            min_length: None,
            max_length: None,
            format: None,
        }
    }

    fn with_pattern(p: &str) -> Filter {
        let mut f = filter(Some("string"));
        f.pattern = Some((p.to_string(), regress::Regex::new(p).unwrap()));
        f
    }

    #[test]
    fn type_rules() {
        let f = filter(Some("string"));
        assert_eq!(f.eval(&json!("x")), Ok(Hit::Whole));
        assert_eq!(f.eval(&json!(1)), Err(Fail::Type));
        // an array with no string still matches a type-only filter (Nuts quirk)
        assert_eq!(f.eval(&json!([1, 2])), Ok(Hit::Whole));
        assert_eq!(f.eval(&json!({"a": 1})), Err(Fail::Unsupported));
        // no type: never a single value
        assert_eq!(filter(None).eval(&json!("x")), Err(Fail::Type));
        let int = filter(Some("integer"));
        assert!(int.eval(&json!(3)).is_ok());
        assert_eq!(int.eval(&json!(3.5)), Err(Fail::Type));
    }

    #[test]
    fn const_on_arrays() {
        let mut f = filter(Some("string"));
        f.const_ = Some("NutsOrganizationCredential".into());
        let types = json!(["NutsOrganizationCredential", "VerifiableCredential"]);
        assert_eq!(f.eval(&types), Ok(Hit::Whole));
        assert_eq!(f.eval(&json!(["VerifiableCredential"])), Err(Fail::Const));
        assert_eq!(f.eval(&json!("VerifiableCredential")), Err(Fail::Const));
    }

    #[test]
    fn enum_is_string_compare_first() {
        let mut f = filter(Some("number"));
        f.enum_ = Some(vec!["a".into(), "b".into()]);
        assert_eq!(f.eval(&json!("b")), Ok(Hit::Whole));
        assert_eq!(f.eval(&json!(["c", "a"])), Ok(Hit::Whole));
        assert_eq!(f.eval(&json!("c")), Err(Fail::Enum));
    }

    #[test]
    fn pattern_extracts_match_or_group() {
        let f = with_pattern("care");
        assert_eq!(
            f.eval(&json!("Because we care B.V.")),
            Ok(Hit::Text("care"))
        );
        let f = with_pattern(r"^[0-9.]+-\d+-\d+-S-(\d+)-00\.000-\d+$");
        assert_eq!(
            f.eval(&json!(
                "2.16.528.1.1007.99.2110-1-900030787-S-90000380-00.000-11223344"
            )),
            Ok(Hit::Text("90000380"))
        );
        assert_eq!(f.eval(&json!("nope")), Err(Fail::Pattern));
        // ECMAScript \d is ASCII only
        assert_eq!(with_pattern(r"^\d$").eval(&json!("٣")), Err(Fail::Pattern));
    }

    #[test]
    fn extensions() {
        let mut f = filter(Some("number"));
        f.minimum = Some(2.0);
        f.exclusive_maximum = Some(5.0);
        assert!(f.eval(&json!(2)).is_ok());
        assert_eq!(f.eval(&json!(1)), Err(Fail::Minimum));
        assert_eq!(f.eval(&json!(5)), Err(Fail::ExclusiveMaximum));
        let mut s = filter(Some("string"));
        s.min_length = Some(2);
        s.format = Some(StringFormat::Date);
        assert!(s.eval(&json!("2024-02-29")).is_ok());
        assert_eq!(s.eval(&json!("2023-02-29")), Err(Fail::Format));
        assert_eq!(s.eval(&json!("x")), Err(Fail::MinLength));
    }

    #[test]
    fn capture_groups_are_counted() {
        assert_eq!(count_capture_groups("care"), 0);
        assert_eq!(count_capture_groups(r"^a(\d+)b$"), 1);
        assert_eq!(count_capture_groups(r"(?:x)(?<n>y)(?<=z)[(]\("), 1);
        assert_eq!(count_capture_groups("(a)(b)"), 2);
    }
}
