//! Typed reads from helpdesk JSON that remember where each value is, so every rejection names
//! its field (`conversation.meta.sender.email`, `messages[0].id`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::AdapterError;

/// A JSON value and its path from the body's root.
#[derive(Debug, Clone)]
pub(super) struct At<'a> {
    pub value: &'a Value,
    path: String,
}

/// What kind of JSON value this is, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

type Res<T> = Result<T, AdapterError>;

impl<'a> At<'a> {
    /// The body itself.
    pub fn root(value: &'a Value) -> At<'a> {
        At {
            value,
            path: String::new(),
        }
    }

    /// Where this value is.
    #[cfg(test)]
    pub fn path(&self) -> &str {
        &self.path
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An `invalid_payload` error about this value.
    pub fn error(&self, message: impl Into<String>) -> AdapterError {
        AdapterError::payload(self.path.clone(), message)
    }

    fn expected(&self, what: &str) -> AdapterError {
        self.error(format!("expected {what}, found {}", kind(self.value)))
    }

    /// The member `key`; `None` when this is not an object, or the member is absent or null.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        match self.value.as_object()?.get(key)? {
            Value::Null => None,
            value => Some(At {
                value,
                path: self.child(key),
            }),
        }
    }

    /// The member `key`, which must be present and not null.
    pub fn req(&self, key: &str) -> Res<At<'a>> {
        self.get(key)
            .ok_or_else(|| AdapterError::payload(self.child(key), "required field is missing"))
    }

    /// This value, which must be an object.
    pub fn object(self) -> Res<At<'a>> {
        if self.value.is_object() {
            Ok(self)
        } else {
            Err(self.expected("an object"))
        }
    }

    /// The member `key` as an object, when present; an error when it is something else.
    pub fn get_object(&self, key: &str) -> Res<Option<At<'a>>> {
        self.get(key).map(At::object).transpose()
    }

    /// The elements of this array.
    pub fn items(&self) -> Res<Vec<At<'a>>> {
        let Value::Array(items) = self.value else {
            return Err(self.expected("an array"));
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| At {
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// This value as a string.
    pub fn str(&self) -> Res<&'a str> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    /// The member `key` as a string, when present.
    pub fn get_str(&self, key: &str) -> Res<Option<&'a str>> {
        self.get(key).map(|v| v.str()).transpose()
    }

    /// The member `key` as a trimmed, non-empty string, when present.
    pub fn get_text(&self, key: &str) -> Res<Option<String>> {
        Ok(self
            .get_str(key)?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    /// This value as an id: a non-empty string, or an integer written as text.
    pub fn id(&self) -> Res<String> {
        match self.value {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::String(_) => Err(self.error("expected an id, found an empty string")),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            // JSON has one number type: `7.0` is the integer 7.
            Value::Number(n)
                if n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
            {
                Ok(format!("{}", n.as_f64().unwrap_or_default() as i64))
            }
            _ => Err(self.expected("an id (a string or an integer)")),
        }
    }

    /// The member `key` as an id, when present (an empty string counts as absent).
    pub fn get_id(&self, key: &str) -> Res<Option<String>> {
        match self.get(key) {
            Some(v) if v.value.as_str().is_some_and(|s| s.trim().is_empty()) => Ok(None),
            Some(v) => v.id().map(Some),
            None => Ok(None),
        }
    }

    /// This value as a boolean; the strings `true` and `false` count (template placeholders
    /// render as text).
    pub fn bool(&self) -> Res<bool> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.expected("a boolean")),
        }
    }

    /// The member `key` as a boolean, when present.
    pub fn get_bool(&self, key: &str) -> Res<Option<bool>> {
        self.get(key).map(|v| v.bool()).transpose()
    }

    /// This value as an integer.
    pub fn int(&self) -> Res<i64> {
        self.value
            .as_i64()
            .ok_or_else(|| self.expected("an integer"))
    }

    /// This value as a point in time: RFC 3339 text (also `2013-12-12T05:35Z` without seconds and
    /// Rails' `2020-03-03 13:05:57 UTC`) or unix seconds (integer or fractional).
    pub fn time(&self) -> Res<DateTime<Utc>> {
        let parsed = match self.value {
            Value::String(s) => parse_time(s.trim()),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(secs), _) => DateTime::from_timestamp(secs, 0),
                (None, Some(secs)) if secs.is_finite() && secs.abs() < 1e11 => {
                    let whole = secs.floor();
                    let nanos = ((secs - whole) * 1e9).round().min(999_999_999.0) as u32;
                    DateTime::from_timestamp(whole as i64, nanos)
                }
                _ => None,
            },
            _ => return Err(self.expected("a time")),
        };
        parsed.ok_or_else(|| {
            self.error(format!(
                "expected a time (RFC 3339 or unix seconds), found {}",
                self.value
            ))
        })
    }

    /// The member `key` as a time, when present (an empty string counts as absent).
    pub fn get_time(&self, key: &str) -> Res<Option<DateTime<Utc>>> {
        match self.get(key) {
            Some(v) if v.value.as_str().is_some_and(|s| s.trim().is_empty()) => Ok(None),
            Some(v) => v.time().map(Some),
            None => Ok(None),
        }
    }

    /// The member `key`, an object, as a map of custom fields (null members left out).
    pub fn get_fields(&self, key: &str) -> Res<BTreeMap<String, Value>> {
        let Some(obj) = self.get_object(key)? else {
            return Ok(BTreeMap::new());
        };
        let map = obj.value.as_object().into_iter().flatten();
        Ok(map
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// The member `key` as a list of strings (an array of strings, or one string of
    /// whitespace- or comma-separated words), when present.
    pub fn get_words(&self, key: &str) -> Res<Vec<String>> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let words = match v.value {
            Value::String(s) => s
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect(),
            Value::Array(_) => v
                .items()?
                .iter()
                .map(|item| item.str().map(|s| s.trim().to_string()))
                .filter(|s| !matches!(s, Ok(s) if s.is_empty()))
                .collect::<Res<Vec<_>>>()?,
            _ => return Err(v.expected("a list of strings")),
        };
        Ok(words)
    }
}

/// Parses the time formats helpdesks send as text.
pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%.f %z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%d %H:%M:%S UTC",
        "%Y-%m-%d %H:%M:%S%.f UTC",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_the_field() {
        let v = json!({"a": {"b": [1, {"c": true}]}});
        let root = At::root(&v);
        let b = root.req("a").unwrap().req("b").unwrap();
        let items = b.items().unwrap();
        assert_eq!(items[1].req("c").unwrap().path(), "a.b[1].c");
        let e = items[1].req("d").unwrap_err();
        assert_eq!(e.to_string(), "a.b[1].d: required field is missing");
        let e = items[0].str().unwrap_err();
        assert_eq!(e.to_string(), "a.b[0]: expected a string, found a number");
    }

    #[test]
    fn ids_accept_strings_and_integers() {
        let v = json!({"a": 12, "b": " x7 ", "c": 1.5, "d": "", "e": null});
        let root = At::root(&v);
        assert_eq!(root.req("a").unwrap().id().unwrap(), "12");
        assert_eq!(root.req("b").unwrap().id().unwrap(), "x7");
        assert!(root.req("c").unwrap().id().is_err());
        assert_eq!(root.get_id("d").unwrap(), None);
        assert_eq!(root.get_id("e").unwrap(), None);
    }

    #[test]
    fn times_in_every_format_helpdesks_send() {
        let t = |s: &str| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2020-11-13T14:34:35.282Z").as_deref(),
            Some("2020-11-13T14:34:35.282+00:00")
        );
        assert_eq!(
            t("2013-12-12T05:35Z").as_deref(),
            Some("2013-12-12T05:35:00+00:00")
        );
        assert_eq!(
            t("2020-03-03 13:05:57 UTC").as_deref(),
            Some("2020-03-03T13:05:57+00:00")
        );
        assert_eq!(t("yesterday"), None);
        let v = json!({"a": 1_600_000_000, "b": 1_600_000_000.25, "c": 1e300, "d": -1.5});
        let root = At::root(&v);
        assert_eq!(
            root.req("a").unwrap().time().unwrap().to_rfc3339(),
            "2020-09-13T12:26:40+00:00"
        );
        assert_eq!(
            root.req("b").unwrap().time().unwrap().timestamp_millis(),
            1_600_000_000_250
        );
        assert!(root.req("c").unwrap().time().is_err());
        assert_eq!(
            root.req("d").unwrap().time().unwrap().timestamp_millis(),
            -1500
        );
    }

    #[test]
    fn words_from_text_or_arrays() {
        let v = json!({"a": "vip  billing,refund", "b": ["x", " ", "y"], "c": [1]});
        let root = At::root(&v);
        assert_eq!(root.get_words("a").unwrap(), ["vip", "billing", "refund"]);
        assert_eq!(root.get_words("b").unwrap(), ["x", "y"]);
        assert_eq!(
            root.get_words("c").unwrap_err().to_string(),
            "c[0]: expected a string, found a number"
        );
        assert!(root.get_words("missing").unwrap().is_empty());
    }
}
