//! One CloudTrail record, parsed once and shared by every field extraction.
//!
//! Parsing checks the whole text and indexes where each value lies (see
//! [`tape`]); fields then read only what they need, borrowing from the
//! text. Some fields (`ct.request`, `json.obj`, ...) are defined on the
//! bytes as written anyway, not on a re-serialization of a tree. The
//! `serde_json` tree of [`Event::json`] is built only when asked for.

pub(crate) mod tape;

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use tape::{JsonRef, Kind, Node, Scan};

/// Facts about a record that do not come from the record itself.
#[derive(Clone, Debug)]
pub struct EventMeta {
    /// Sequence number of the record in this process, starting at 1 (`evt.num`).
    pub num: u64,
    /// Name of the host that evaluates the record (`evt.hostname`).
    pub hostname: Arc<str>,
}

/// Why a record could not become an [`Event`].
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The text is not valid JSON.
    #[error("record is not valid json")]
    Json(#[source] serde_json::Error),
    /// The text is JSON, but not an object.
    #[error("record is not a json object")]
    NotAnObject,
}

/// One parsed CloudTrail record.
#[derive(Clone, Debug)]
pub struct Event {
    raw: Box<str>,
    nodes: Vec<Node>,
    tree: OnceLock<Value>,
    time_ns: i64,
    meta: EventMeta,
}

impl Event {
    /// Parses one record from its JSON text.
    ///
    /// What is accepted is exactly what `serde_json` accepts. When an object
    /// holds the same key twice, the first occurrence wins, as in the Falco
    /// cloudtrail plugin (a plain `serde_json::Value` would keep the last
    /// one).
    ///
    /// Limitation: records nested deeper than 127 levels, holding a number
    /// beyond the range of an `f64` (such as `1e400`), or longer than 4 GiB
    /// are rejected as invalid JSON, where the plugin's parser would accept
    /// the first two.
    ///
    /// # Errors
    ///
    /// [`EventError::Json`] if `raw` is not one JSON value (trailing
    /// whitespace is allowed), [`EventError::NotAnObject`] if it is not an
    /// object.
    pub fn parse(raw: &str, meta: EventMeta) -> Result<Event, EventError> {
        // About one node per 16 bytes of a typical record.
        let mut nodes = Vec::with_capacity(raw.len() / 16 + 8);
        let tree = OnceLock::new();
        match tape::scan(raw, &mut nodes) {
            Scan::Plain => {}
            Scan::Unusual => {
                // serde_json decides, and its tree is worth keeping.
                let _ = tree.set(parse_tree(raw)?);
            }
            Scan::Invalid => {
                // For serde_json's own message; if it disagrees, the text
                // was too long to index.
                parse_tree(raw)?;
                return Err(EventError::Json(serde::de::Error::custom(
                    "record is longer than 4 GiB",
                )));
            }
        }

        let root = JsonRef::root(raw, &nodes);
        if root.kind() != Kind::Object {
            return Err(EventError::NotAnObject);
        }
        let time_ns = root
            .get("eventTime")
            .and_then(|t| t.as_str())
            .map_or(0, |t| parse_time_ns(&t));
        Ok(Event {
            raw: raw.into(),
            nodes,
            tree,
            time_ns,
            meta,
        })
    }

    /// The record's original text.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The parsed record (always an object; key order as in the text).
    ///
    /// The tree is built on the first call, so fields and rules, which do
    /// not need it, never pay for it.
    pub fn json(&self) -> &Value {
        self.tree.get_or_init(|| {
            parse_tree(&self.raw).expect("the text was validated when the event was parsed")
        })
    }

    /// The record's top-level object, for field lookups.
    pub(crate) fn root(&self) -> JsonRef<'_> {
        JsonRef::root(&self.raw, &self.nodes)
    }

    /// `eventTime` in nanoseconds since the Unix epoch; 0 if it is absent,
    /// not a string, or not RFC 3339.
    pub fn time_ns(&self) -> i64 {
        self.time_ns
    }

    /// Sequence number given by the caller in [`EventMeta::num`].
    pub fn num(&self) -> u64 {
        self.meta.num
    }

    /// Host name given by the caller in [`EventMeta::hostname`].
    pub fn hostname(&self) -> &str {
        &self.meta.hostname
    }
}

/// The `serde_json` tree of a record, first duplicate key winning.
fn parse_tree(raw: &str) -> Result<Value, EventError> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let json = FirstKeyWins
        .deserialize(&mut de)
        .map_err(EventError::Json)?;
    de.end().map_err(EventError::Json)?;
    if !json.is_object() {
        return Err(EventError::NotAnObject);
    }
    Ok(json)
}

/// Parses an RFC 3339 timestamp to nanoseconds since the epoch; 0 when the
/// text does not parse or lies outside what an `i64` of nanoseconds holds
/// (years 1677 to 2262).
fn parse_time_ns(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0)
}

/// Builds a `serde_json::Value` like its own `Deserialize` impl does, except
/// that a repeated object key keeps its first value.
struct FirstKeyWins;

impl<'de> DeserializeSeed<'de> for FirstKeyWins {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstKeyWins {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // The JSON parser never yields NaN or infinity, the only values
        // `from_f64` rejects; `Null` is what serde_json itself would pick.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(FirstKeyWins)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(FirstKeyWins)?;
            object.entry(key).or_insert(value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> EventMeta {
        EventMeta {
            num: 7,
            hostname: "host-a".into(),
        }
    }

    #[test]
    fn parses_object_and_keeps_raw_text() {
        let raw = r#"{"eventName": "GetObject", "eventTime": "2023-07-10T11:45:01Z"}"#;
        let ev = Event::parse(raw, meta()).unwrap();
        assert_eq!(ev.raw(), raw);
        assert_eq!(ev.json()["eventName"], "GetObject");
        assert_eq!(ev.time_ns(), 1_688_989_501_000_000_000);
        assert_eq!(ev.num(), 7);
        assert_eq!(ev.hostname(), "host-a");
    }

    #[test]
    fn fractional_and_offset_times_are_converted_to_utc() {
        let raw = r#"{"eventTime": "2023-07-10T13:45:01.250+02:00"}"#;
        let ev = Event::parse(raw, meta()).unwrap();
        assert_eq!(ev.time_ns(), 1_688_989_501_250_000_000);
    }

    #[test]
    fn missing_or_bad_time_is_zero() {
        for raw in [
            "{}",
            r#"{"eventTime": 5}"#,
            r#"{"eventTime": "yesterday"}"#,
            r#"{"eventTime": "2023-07-10 11:45:01"}"#,
        ] {
            assert_eq!(Event::parse(raw, meta()).unwrap().time_ns(), 0, "{raw}");
        }
    }

    #[test]
    fn first_duplicate_key_wins_and_keeps_its_place() {
        let raw = r#"{"a": 1, "b": {"x": "first", "x": "second"}, "a": 2}"#;
        let ev = Event::parse(raw, meta()).unwrap();
        assert_eq!(ev.json()["a"], 1);
        assert_eq!(ev.json()["b"]["x"], "first");
        let keys: Vec<&String> = ev.json().as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn numbers_keep_their_kind() {
        let raw = r#"{"u": 18446744073709551615, "i": -3, "f": 33.0}"#;
        let ev = Event::parse(raw, meta()).unwrap();
        assert_eq!(ev.json()["u"].as_u64(), Some(u64::MAX));
        assert_eq!(ev.json()["i"].as_i64(), Some(-3));
        assert_eq!(ev.json()["f"].as_f64(), Some(33.0));
    }

    #[test]
    fn rejects_non_objects_and_bad_json() {
        assert!(matches!(
            Event::parse("[1, 2]", meta()),
            Err(EventError::NotAnObject)
        ));
        assert!(matches!(
            Event::parse("\"text\"", meta()),
            Err(EventError::NotAnObject)
        ));
        assert!(matches!(
            Event::parse("{\"a\": ", meta()),
            Err(EventError::Json(_))
        ));
        assert!(matches!(
            Event::parse("{} {}", meta()),
            Err(EventError::Json(_))
        ));
        let err = Event::parse("nope", meta()).unwrap_err();
        assert_eq!(err.to_string(), "record is not valid json");
    }

    #[test]
    fn documented_parser_limits() {
        assert!(matches!(
            Event::parse(r#"{"n": 1e400}"#, meta()),
            Err(EventError::Json(_))
        ));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            Event::parse(&deep, meta()),
            Err(EventError::Json(_))
        ));
        let shallow = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(Event::parse(&shallow, meta()).is_ok());
    }

    #[test]
    fn trailing_whitespace_is_accepted() {
        assert!(Event::parse("{\"a\":1}\n  ", meta()).is_ok());
    }
}
