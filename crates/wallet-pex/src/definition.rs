//! Presentation definitions (DIF PEX v2, Nuts subset): parsing and validation.
//!
//! Loading compiles every JSONPath and regex once and refuses what Nuts does not support
//! (`is_holder`, `same_subject`, `subject_is_issuer`, `statuses`, `limit_disclosure: required`,
//! `predicate`, `frame`, filter keywords outside the subset, non-string `const`/`enum`, patterns
//! with more than one capture group, unknown members) with a located error. It also records
//! warnings for constructs that load but behave surprisingly at a Nuts verifier.
//! Matching lives in `matcher`, not here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::DefinitionError;
use crate::filter::{count_capture_groups, Filter, StringFormat};
use crate::format::FormatDesignations;
use crate::path::FieldPath;

/// The `name()` and `purpose()` accessors that definitions, descriptors and fields share.
macro_rules! name_and_purpose {
    () => {
        /// `name`.
        pub fn name(&self) -> Option<&str> {
            self.name.as_deref()
        }
        /// `purpose`.
        pub fn purpose(&self) -> Option<&str> {
            self.purpose.as_deref()
        }
    };
}

/// A validated presentation definition.
#[derive(Debug, Clone)]
pub struct PresentationDefinition {
    raw: Value,
    id: String,
    name: Option<String>,
    purpose: Option<String>,
    format: Option<FormatDesignations>,
    input_descriptors: Vec<InputDescriptor>,
    submission_requirements: Vec<SubmissionRequirement>,
    warnings: Vec<String>,
}

/// An input descriptor.
#[derive(Debug, Clone)]
pub struct InputDescriptor {
    id: String,
    name: Option<String>,
    purpose: Option<String>,
    group: Vec<String>,
    format: Option<FormatDesignations>,
    fields: Vec<Field>,
}

/// A constraints field.
#[derive(Debug, Clone)]
pub struct Field {
    id: Option<String>,
    name: Option<String>,
    purpose: Option<String>,
    optional: bool,
    paths: Vec<FieldPath>,
    filter: Option<Filter>,
    filter_json: Option<Value>,
    /// Set when the field is exactly `path: ["$.type"]`, `filter: {type: string, const: X}`,
    /// not optional: then it holds iff the credential's types contain X (see `matcher`).
    type_const: Option<(String, u64)>,
}

/// `rule` of a submission requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// Every member must be satisfied.
    All,
    /// `count`, or between `min` and `max`, members.
    Pick,
}

/// How many members a submission requirement selects: its `rule` with the `count`, `min` and
/// `max` of `pick`. Shared by the requirement and its evaluation (`explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// `rule`.
    pub rule: Rule,
    /// `count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// `min`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    /// `max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
}

/// A submission requirement.
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionRequirement {
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `purpose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// `rule`, `count`, `min`, `max`.
    #[serde(flatten)]
    pub selection: Selection,
    /// `from` (a group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `from_nested`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from_nested: Vec<SubmissionRequirement>,
}

impl Serialize for PresentationDefinition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl PresentationDefinition {
    /// Parses and validates a definition from JSON text.
    pub fn parse(json: &str) -> Result<Self, DefinitionError> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| DefinitionError::Json(e.to_string()))?;
        Self::from_json(v)
    }

    /// Validates a definition given as a JSON value.
    pub fn from_json(raw: Value) -> Result<Self, DefinitionError> {
        let mut warnings = Vec::new();
        let pd = {
            let at = Loc::root();
            let obj = at.object(&raw)?;
            at.only(
                obj,
                &[
                    "id",
                    "name",
                    "purpose",
                    "format",
                    "input_descriptors",
                    "submission_requirements",
                ],
                &[("frame", "JSON-LD framing is not supported by Nuts")],
            )?;
            let id = at.key("id").required_string(obj.get("id"))?;
            if id.is_empty() {
                return Err(at.key("id").invalid("must not be empty"));
            }
            let name = at.key("name").opt_string(obj.get("name"))?;
            let purpose = at.key("purpose").opt_string(obj.get("purpose"))?;
            let format = parse_format(&at.key("format"), obj.get("format"))?;
            let ids_at = at.key("input_descriptors");
            let list = match obj.get("input_descriptors") {
                Some(Value::Array(a)) => a,
                _ => return Err(ids_at.invalid("required, must be an array")),
            };
            let mut input_descriptors = Vec::with_capacity(list.len());
            let mut seen = BTreeSet::new();
            for (i, d) in list.iter().enumerate() {
                let desc = parse_descriptor(&ids_at.index(i), d, &mut warnings)?;
                if !seen.insert(desc.id.clone()) {
                    return Err(ids_at
                        .index(i)
                        .key("id")
                        .invalid(&format!("duplicate id `{}`", desc.id)));
                }
                input_descriptors.push(desc);
            }
            let sr_at = at.key("submission_requirements");
            let submission_requirements = match obj.get("submission_requirements") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, r)| parse_requirement(&sr_at.index(i), r, &mut warnings))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(sr_at.invalid("must be an array")),
            };
            if !submission_requirements.is_empty() {
                let mut available = BTreeSet::new();
                for r in &submission_requirements {
                    collect_groups(r, &mut available);
                }
                for (i, d) in input_descriptors.iter().enumerate() {
                    for g in &d.group {
                        if !available.contains(g) {
                            return Err(ids_at.index(i).key("group").invalid(&format!(
                                "group `{g}` is not used by any submission requirement (Nuts refuses this)"
                            )));
                        }
                    }
                    if d.group.is_empty() {
                        warnings.push(format!(
                            "input descriptor `{}` has no group: with submission_requirements it is never submitted",
                            d.id
                        ));
                    }
                }
            }
            PresentationDefinition {
                raw: Value::Null,
                id,
                name,
                purpose,
                format,
                input_descriptors,
                submission_requirements,
                warnings: Vec::new(),
            }
        };
        Ok(PresentationDefinition {
            raw,
            warnings,
            ..pd
        })
    }

    /// `id`.
    pub fn id(&self) -> &str {
        &self.id
    }
    name_and_purpose!();
    /// `format` (VC and VP designations).
    pub fn format(&self) -> Option<&FormatDesignations> {
        self.format.as_ref()
    }
    /// `input_descriptors`, in order.
    pub fn input_descriptors(&self) -> &[InputDescriptor] {
        &self.input_descriptors
    }
    /// `submission_requirements` (empty: every descriptor is required).
    pub fn submission_requirements(&self) -> &[SubmissionRequirement] {
        &self.submission_requirements
    }
    /// Constructs that load but behave surprisingly at a Nuts verifier.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// The definition as loaded (e.g. to serve it at a PD endpoint).
    pub fn to_json(&self) -> &Value {
        &self.raw
    }

    /// Whether a submission needs credentials at all (Nuts `CredentialsRequired`).
    pub fn credentials_required(&self) -> bool {
        for r in &self.submission_requirements {
            match r.selection.rule {
                Rule::All => return true,
                Rule::Pick if r.selection.min.is_some_and(|m| m > 0) => return true,
                Rule::Pick => {}
            }
        }
        !self.input_descriptors.is_empty()
    }
}

impl InputDescriptor {
    /// `id`.
    pub fn id(&self) -> &str {
        &self.id
    }
    name_and_purpose!();
    /// `group`.
    pub fn group(&self) -> &[String] {
        &self.group
    }
    /// Descriptor-level `format`.
    pub fn format(&self) -> Option<&FormatDesignations> {
        self.format.as_ref()
    }
    /// `constraints.fields`.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }
}

impl Field {
    /// `id` (becomes a claim at the authorization server).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    name_and_purpose!();
    /// `optional`.
    pub fn optional(&self) -> bool {
        self.optional
    }
    /// `path`, compiled, in order.
    pub fn paths(&self) -> &[FieldPath] {
        &self.paths
    }
    /// `filter` as written.
    pub fn filter_json(&self) -> Option<&Value> {
        self.filter_json.as_ref()
    }
    pub(crate) fn type_const(&self) -> Option<(&str, u64)> {
        self.type_const.as_ref().map(|(t, b)| (t.as_str(), *b))
    }
    pub(crate) fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }
}

fn collect_groups(r: &SubmissionRequirement, out: &mut BTreeSet<String>) {
    if let Some(f) = &r.from {
        out.insert(f.clone());
    }
    for n in &r.from_nested {
        collect_groups(n, out);
    }
}

fn parse_descriptor(
    at: &Loc,
    v: &Value,
    warnings: &mut Vec<String>,
) -> Result<InputDescriptor, DefinitionError> {
    let obj = at.object(v)?;
    at.only(
        obj,
        &["id", "name", "purpose", "group", "format", "constraints"],
        &[("schema", "PEX v1 `schema` is not part of PEX v2")],
    )?;
    let id = at.key("id").required_string(obj.get("id"))?;
    let name = at.key("name").opt_string(obj.get("name"))?;
    let purpose = at.key("purpose").opt_string(obj.get("purpose"))?;
    let group = match obj.get("group") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, g)| at.key("group").index(i).required_string(Some(g)))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(at.key("group").invalid("must be an array of strings")),
    };
    let format = parse_format(&at.key("format"), obj.get("format"))?;
    let c_at = at.key("constraints");
    let fields = match obj.get("constraints") {
        None | Some(Value::Null) => {
            return Err(c_at.invalid("required (Nuts' schema refuses descriptors without it)"))
        }
        Some(c) => {
            let cobj = c_at.object(c)?;
            let unsupported = "not supported by Nuts; refusing rather than ignoring it";
            c_at.only(
                cobj,
                &["fields", "limit_disclosure"],
                &[
                    ("is_holder", unsupported),
                    ("same_subject", unsupported),
                    ("subject_is_issuer", unsupported),
                    ("statuses", unsupported),
                ],
            )?;
            match cobj.get("limit_disclosure") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s == "preferred" => {}
                Some(Value::String(s)) if s == "required" => {
                    return Err(DefinitionError::Unsupported {
                        at: c_at.key("limit_disclosure").0,
                        feature: "limit_disclosure: required".into(),
                        reason: "selective disclosure is not supported by Nuts".into(),
                    })
                }
                Some(_) => {
                    return Err(c_at
                        .key("limit_disclosure")
                        .invalid("must be \"required\" or \"preferred\""))
                }
            }
            match cobj.get("fields") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(fs)) => fs
                    .iter()
                    .enumerate()
                    .map(|(i, f)| parse_field(&c_at.key("fields").index(i), f, warnings, &id))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(c_at.key("fields").invalid("must be an array")),
            }
        }
    };
    Ok(InputDescriptor {
        id,
        name,
        purpose,
        group,
        format,
        fields,
    })
}

fn parse_field(
    at: &Loc,
    v: &Value,
    warnings: &mut Vec<String>,
    descriptor: &str,
) -> Result<Field, DefinitionError> {
    let obj = at.object(v)?;
    at.only(
        obj,
        &[
            "id",
            "name",
            "purpose",
            "optional",
            "path",
            "filter",
            "intent_to_retain",
        ],
        &[(
            "predicate",
            "predicates (derived values) are not supported by Nuts",
        )],
    )?;
    let id = at.key("id").opt_string(obj.get("id"))?;
    let name = at.key("name").opt_string(obj.get("name"))?;
    let purpose = at.key("purpose").opt_string(obj.get("purpose"))?;
    let optional = match obj.get("optional") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(at.key("optional").invalid("must be a boolean")),
    };
    match obj.get("intent_to_retain") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(_) => return Err(at.key("intent_to_retain").invalid("must be a boolean")),
    }
    let p_at = at.key("path");
    let paths: Vec<FieldPath> = match obj.get("path") {
        Some(Value::Array(ps)) if !ps.is_empty() => ps
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let s = p_at.index(i).required_string(Some(p))?;
                FieldPath::parse(&s).map_err(|message| DefinitionError::Path {
                    at: p_at.index(i).0,
                    path: s.clone(),
                    message,
                })
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(p_at.invalid("required, must be a non-empty array of JSONPath strings")),
    };
    let (filter, filter_json) = match obj.get("filter") {
        None | Some(Value::Null) => (None, None),
        Some(f) => {
            let filter = parse_filter(&at.key("filter"), f)?;
            if filter.type_.is_none() && filter.enum_.is_none() {
                warnings.push(format!(
                    "input descriptor `{descriptor}`: a filter without `type` never matches a single value (Nuts)"
                ));
            }
            (Some(filter), Some(f.clone()))
        }
    };
    let type_const = match (&filter, paths.as_slice()) {
        (Some(f), [p]) if !optional && p.as_str() == "$.type" && f.is_plain_string_const() => f
            .const_
            .as_ref()
            .map(|c| (c.clone(), crate::credential::type_bloom_bits(c))),
        _ => None,
    };
    Ok(Field {
        id,
        name,
        purpose,
        optional,
        paths,
        filter,
        filter_json,
        type_const,
    })
}

fn parse_filter(at: &Loc, v: &Value) -> Result<Filter, DefinitionError> {
    let obj = at.object(v)?;
    const SUPPORTED: &[&str] = &[
        "type",
        "const",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "format",
        "title",
        "description",
        "$comment",
    ];
    for k in obj.keys() {
        if !SUPPORTED.contains(&k.as_str()) {
            return Err(DefinitionError::Unsupported {
                at: at.0.clone(),
                feature: k.clone(),
                reason:
                    "only type, const, enum, pattern, minimum/maximum, exclusiveMinimum/Maximum, \
                         minLength/maxLength and format are supported in filters"
                        .into(),
            });
        }
    }
    let type_ = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => match t.as_str() {
            "string" | "number" | "integer" | "boolean" | "array" => Some(t.clone()),
            "object" | "null" => {
                return Err(DefinitionError::Unsupported {
                    at: at.key("type").0,
                    feature: format!("type: {t}"),
                    reason: "Nuts cannot filter objects or null".into(),
                })
            }
            _ => return Err(at.key("type").invalid(&format!("unknown type `{t}`"))),
        },
        Some(_) => {
            return Err(DefinitionError::Unsupported {
                at: at.key("type").0,
                feature: "type as a list".into(),
                reason: "Nuts only supports a single type".into(),
            })
        }
    };
    let const_ = match obj.get("const") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(DefinitionError::Unsupported {
                at: at.key("const").0,
                feature: "non-string const".into(),
                reason: "Nuts compares const values as strings only".into(),
            })
        }
    };
    let enum_ = match obj.get("enum") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(DefinitionError::Unsupported {
                        at: at.key("enum").0,
                        feature: "non-string enum value".into(),
                        reason: "Nuts compares enum values as strings only".into(),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(at.key("enum").invalid("must be an array of strings")),
    };
    let pattern = match obj.get("pattern") {
        None => None,
        Some(Value::String(p)) => {
            let re = regress::Regex::new(p).map_err(|e| DefinitionError::Pattern {
                at: at.key("pattern").0,
                pattern: p.clone(),
                message: e.to_string(),
            })?;
            if count_capture_groups(p) > 1 {
                return Err(DefinitionError::Pattern {
                    at: at.key("pattern").0,
                    pattern: p.clone(),
                    message: "more than one capture group (Nuts can return at most one)".into(),
                });
            }
            Some((p.clone(), re))
        }
        Some(_) => return Err(at.key("pattern").invalid("must be a string")),
    };
    let number = |k: &str| -> Result<Option<f64>, DefinitionError> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(at.key(k).invalid("must be a number")),
        }
    };
    let length = |k: &str| -> Result<Option<u64>, DefinitionError> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| at.key(k).invalid("must be a non-negative integer")),
        }
    };
    let format = match obj.get("format") {
        None => None,
        Some(Value::String(f)) => {
            Some(
                StringFormat::parse(f).ok_or_else(|| DefinitionError::Unsupported {
                    at: at.key("format").0,
                    feature: format!("format: {f}"),
                    reason: "supported formats: date-time, date, uri, email, uuid".into(),
                })?,
            )
        }
        Some(_) => return Err(at.key("format").invalid("must be a string")),
    };
    Ok(Filter {
        type_,
        const_,
        enum_,
        pattern,
        minimum: number("minimum")?,
        maximum: number("maximum")?,
        exclusive_minimum: number("exclusiveMinimum")?,
        exclusive_maximum: number("exclusiveMaximum")?,
        min_length: length("minLength")?,
        max_length: length("maxLength")?,
        format,
    })
}

fn parse_requirement(
    at: &Loc,
    v: &Value,
    warnings: &mut Vec<String>,
) -> Result<SubmissionRequirement, DefinitionError> {
    let obj = at.object(v)?;
    at.only(
        obj,
        &[
            "name",
            "purpose",
            "rule",
            "count",
            "min",
            "max",
            "from",
            "from_nested",
        ],
        &[],
    )?;
    let rule = match obj.get("rule") {
        Some(Value::String(r)) if r == "all" => Rule::All,
        Some(Value::String(r)) if r == "pick" => Rule::Pick,
        _ => {
            return Err(at
                .key("rule")
                .invalid("required, must be \"all\" or \"pick\""))
        }
    };
    let n = |k: &str| -> Result<Option<usize>, DefinitionError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| at.key(k).invalid("must be a non-negative integer")),
        }
    };
    let (count, min, max) = (n("count")?, n("min")?, n("max")?);
    if count == Some(0) {
        return Err(at.key("count").invalid("must be at least 1"));
    }
    let from = at.key("from").opt_string(obj.get("from"))?;
    let from_nested = match obj.get("from_nested") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, r)| parse_requirement(&at.key("from_nested").index(i), r, warnings))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(at.key("from_nested").invalid("must be an array")),
    };
    match (&from, from_nested.is_empty()) {
        (Some(_), false) => return Err(at.invalid("has both `from` and `from_nested`")),
        (None, true) => return Err(at.invalid("needs `from` or `from_nested`")),
        _ => {}
    }
    if rule == Rule::Pick {
        if count.is_none() && min.is_none() && max.is_none() {
            return Err(at.invalid("rule `pick` needs `count`, `min` or `max`"));
        }
        if count.is_none() && max.is_none() {
            warnings.push(format!(
                "{}: `pick` with only `min` is accepted here, but Nuts verifiers cannot handle it",
                at.0
            ));
        }
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                return Err(at.invalid("`min` is greater than `max`"));
            }
        }
    }
    Ok(SubmissionRequirement {
        name: at.key("name").opt_string(obj.get("name"))?,
        purpose: at.key("purpose").opt_string(obj.get("purpose"))?,
        selection: Selection {
            rule,
            count,
            min,
            max,
        },
        from,
        from_nested,
    })
}

fn parse_format(
    at: &Loc,
    v: Option<&Value>,
) -> Result<Option<FormatDesignations>, DefinitionError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let obj = at.object(v)?;
    let mut out = BTreeMap::new();
    for (name, params) in obj {
        let p_at = at.key(name);
        let allowed_param = match name.as_str() {
            "jwt" | "jwt_vc" | "jwt_vp" => "alg",
            "ldp" | "ldp_vc" | "ldp_vp" => "proof_type",
            _ => {
                return Err(DefinitionError::Unsupported {
                    at: at.0.clone(),
                    feature: format!("format {name}"),
                    reason: "Nuts accepts jwt, jwt_vc, jwt_vp, ldp, ldp_vc and ldp_vp".into(),
                })
            }
        };
        let pobj = p_at.object(params)?;
        let mut entry = BTreeMap::new();
        for (param, values) in pobj {
            if param != allowed_param {
                return Err(p_at.invalid(&format!("`{name}` takes only `{allowed_param}`")));
            }
            let vals = match values {
                Value::Array(a) if a.is_empty() => {
                    return Err(p_at.key(param).invalid("must not be empty"))
                }
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| p_at.key(param).index(i).required_string(Some(x)))
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(p_at.key(param).invalid("must be an array of strings")),
            };
            entry.insert(param.clone(), vals);
        }
        out.insert(name.clone(), entry);
    }
    Ok(Some(out))
}

/// A location inside the definition, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Loc(pub(crate) String);

impl Loc {
    pub(crate) fn root() -> Self {
        Loc("presentation_definition".into())
    }
    pub(crate) fn key(&self, k: &str) -> Loc {
        Loc(format!("{}.{k}", self.0))
    }
    fn index(&self, i: usize) -> Loc {
        Loc(format!("{}[{i}]", self.0))
    }
    pub(crate) fn invalid(&self, message: &str) -> DefinitionError {
        DefinitionError::Invalid {
            at: self.0.clone(),
            message: message.into(),
        }
    }
    pub(crate) fn object<'a>(
        &self,
        v: &'a Value,
    ) -> Result<&'a Map<String, Value>, DefinitionError> {
        v.as_object()
            .ok_or_else(|| self.invalid("must be an object"))
    }
    fn required_string(&self, v: Option<&Value>) -> Result<String, DefinitionError> {
        match v {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(self.invalid("required, must be a string")),
        }
    }
    fn opt_string(&self, v: Option<&Value>) -> Result<Option<String>, DefinitionError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid("must be a string")),
        }
    }
    /// Refuses members outside `allowed`; `known` gives a reason for known unsupported ones.
    fn only(
        &self,
        obj: &Map<String, Value>,
        allowed: &[&str],
        known: &[(&str, &str)],
    ) -> Result<(), DefinitionError> {
        for k in obj.keys() {
            if allowed.contains(&k.as_str()) {
                continue;
            }
            let reason = known
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, r)| r.to_string())
                .unwrap_or_else(|| "unknown member; refusing rather than ignoring it".into());
            return Err(DefinitionError::Unsupported {
                at: self.0.clone(),
                feature: k.clone(),
                reason,
            });
        }
        Ok(())
    }
}
