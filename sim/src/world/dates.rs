//! Dates and date-times as scenario files write them: a string (`"2026-11-23"`,
//! `"2026-11-27T09:00"`) or TOML's own date and date-time, and nothing else.

use chrono::{NaiveDate, NaiveDateTime};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// A local date: `"2026-11-23"` or a TOML date `2026-11-23`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateInput(pub NaiveDate);

/// A local date-time: `"2026-11-27T00:00"`, `"2026-11-27 00:00:00"`, a bare date (midnight) or
/// the TOML local date-time form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateTimeInput(pub NaiveDateTime);

fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The key under which the `toml` crate presents a TOML date or date-time to serde (a map of
/// one entry whose value is the date's text).
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// Accepts a string, or TOML's own date/date-time, and nothing else: a table that merely has
/// one string entry (`start = { date = "2026-11-23" }`) is not a date.
struct TimeVisitor<T>(fn(&str) -> Option<T>, &'static str);

impl<'de, T> Visitor<'de> for TimeVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.1)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).ok_or_else(|| E::custom(format!("`{v}` is not {}", self.1)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<T, A::Error> {
        let not_a_date = || de::Error::custom(format!("a table is not a date: expected {}", self.1));
        match m.next_key::<String>()? {
            Some(k) if k == TOML_DATETIME_KEY => {
                let v: String = m.next_value()?;
                if m.next_key::<String>()?.is_some() {
                    return Err(not_a_date());
                }
                self.visit_str(&v)
            }
            _ => Err(not_a_date()),
        }
    }
}

impl<'de> Deserialize<'de> for DateInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok().map(DateInput);
        d.deserialize_any(TimeVisitor(parse, "a date like \"2026-11-23\""))
    }
}

impl<'de> Deserialize<'de> for DateTimeInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parse = |s: &str| parse_datetime(s).map(DateTimeInput);
        d.deserialize_any(TimeVisitor(parse, "a local date-time like \"2026-11-27T09:00\""))
    }
}

// In a JSON view of the file (an editor's, the schema test's) a TOML date is its text.
impl JsonSchema for DateInput {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A local date: \"2026-11-23\" or the TOML date 2026-11-23.",
            "type": "string",
            "pattern": "^\\s*[+-]?[0-9]{4,}-[0-9]{2}-[0-9]{2}\\s*$"
        })
    }
}

impl JsonSchema for DateTimeInput {
    fn schema_name() -> Cow<'static, str> {
        "LocalDateTime".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A local date-time: \"2026-11-27T09:00\", \"2026-11-27 09:00:00\", a bare date (midnight) or the TOML local date-time 2026-11-27T09:00:00.",
            "type": "string",
            "pattern": "^\\s*[+-]?[0-9]{4,}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?\\s*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_accept_minutes_or_a_bare_date() {
        assert_eq!(parse_datetime("2026-11-27T09:30").unwrap().to_string(), "2026-11-27 09:30:00");
        assert_eq!(parse_datetime("2026-11-27").unwrap().to_string(), "2026-11-27 00:00:00");
        assert!(parse_datetime("2026-13-01").is_none());
    }
}
