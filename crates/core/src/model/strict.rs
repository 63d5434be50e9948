//! Reading JSON into types exactly as their JSON Schemas describe them.
//!
//! serde's derived structs also accept a JSON array (`"customer": [null, null]` reads as a
//! customer), and its integers refuse `3.0`, which JSON Schema calls an integer. The published
//! schemas are generated from the same types, so the two must agree: [`from_value`] reads a
//! struct or map only from an object and a sequence only from an array, and takes a number
//! with no fraction where an integer is wanted. Everything else is serde_json's own reading.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Number, Value};

/// Reads `T` from `value` with the path of a failing field.
pub fn from_value<'de, T: de::Deserialize<'de>>(
    value: &'de Value,
) -> Result<T, serde_path_to_error::Error<Error>> {
    serde_path_to_error::deserialize(Strict(value))
}

/// A JSON value read strictly.
#[derive(Clone, Copy)]
struct Strict<'de>(&'de Value);

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => de::Unexpected::Unsigned(u),
            (_, Some(i), _) => de::Unexpected::Signed(i),
            (_, _, Some(f)) => de::Unexpected::Float(f),
            _ => de::Unexpected::Other("number"),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// A float with no fraction, as the integer it is (when it fits an `i64` or `u64`). Both ends
/// are left out: `i64::MIN` and `u64::MAX + 1` are where the integers written beyond either end
/// round to (an integer that fits is never read as a float).
fn integral(n: &Number) -> Option<Value> {
    let f = n.as_f64()?;
    if n.is_f64() && f.fract() == 0.0 {
        if f >= 0.0 && f < u64::MAX as f64 {
            return Some(Value::from(f as u64));
        }
        if f < 0.0 && f > i64::MIN as f64 {
            return Some(Value::from(f as i64));
        }
    }
    None
}

macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                Value::Number(n) => match integral(n) {
                    Some(whole) => whole.$method(visitor),
                    None => self.0.$method(visitor),
                },
                other => other.$method(visitor),
            }
        }
    )*};
}

macro_rules! delegate {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Strict<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            Value::Array(items) => visitor.visit_seq(Items(items.iter())),
            other => other.deserialize_any(visitor),
        }
    }

    integers!(deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
              deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64);

    delegate!(deserialize_bool deserialize_f32 deserialize_f64 deserialize_char deserialize_str
              deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
              deserialize_identifier deserialize_u128 deserialize_i128);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.iter())),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Enums are read by serde_json: their variants' contents are not read strictly.
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct Items<'de>(std::slice::Iter<'de, Value>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'de> {
    entries: serde_json::map::Iter<'de>,
    value: Option<&'de Value>,
}

impl<'de> Entries<'de> {
    fn new(map: &'de Map<String, Value>) -> Entries<'de> {
        Entries {
            entries: map.iter(),
            value: None,
        }
    }
}

/// A map key: text, also read as a number where the map's keys are numbers.
struct Key<'de>(&'de str);

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let key = de::value::BorrowedStrDeserializer::<Error>::new(self.0);
        key.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.parse::<u64>() {
            Ok(n) => visitor.visit_u64(n),
            Err(_) => visitor.visit_borrowed_str(self.0),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.parse::<i64>() {
            Ok(n) => visitor.visit_i64(n),
            Err(_) => visitor.visit_borrowed_str(self.0),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Key(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Strict(v)),
            None => Err(de::Error::custom("a value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        count: u8,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Inner,
        #[serde(default)]
        list: Vec<u32>,
        #[serde(default)]
        by_number: BTreeMap<u32, String>,
    }

    fn read(v: Value) -> Result<Outer, String> {
        from_value::<Outer>(&v).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn a_struct_is_read_from_an_object_only() {
        // serde_json alone takes the array as the struct's fields in order.
        let array = json!({ "inner": ["a", 1] });
        assert!(serde_json::from_value::<Outer>(array.clone()).is_ok());
        let e = read(array).unwrap_err();
        assert!(e.starts_with("inner: invalid type: sequence"), "{e}");
        assert_eq!(
            read(json!({ "inner": { "name": "a", "count": 1 }, "list": [1, 2] })).unwrap(),
            Outer {
                inner: Inner {
                    name: Some("a".into()),
                    count: 1
                },
                list: vec![1, 2],
                by_number: BTreeMap::new(),
            }
        );
        let e = read(json!({ "inner": {}, "list": { "0": 1 } })).unwrap_err();
        assert!(e.starts_with("list: invalid type: map"), "{e}");
    }

    #[test]
    fn whole_floats_are_integers_and_the_rest_are_refused() {
        let o = read(json!({ "inner": { "count": 163.0 } })).unwrap();
        assert_eq!(o.inner.count, 163);
        for bad in [json!(1.5), json!(256), json!(-1.0), json!("3")] {
            let e = read(json!({ "inner": { "count": bad } })).unwrap_err();
            assert!(e.starts_with("inner.count:"), "{e}");
        }
    }

    #[test]
    fn integers_written_beyond_either_end_are_refused() {
        let number = |text: &str| match serde_json::from_str::<Value>(text).unwrap() {
            Value::Number(n) => n,
            other => panic!("{other}"),
        };
        for beyond in [
            "-9223372036854775809",
            "-9223372036854776000",
            "18446744073709551616",
        ] {
            assert_eq!(integral(&number(beyond)), None, "{beyond}");
        }
        assert_eq!(
            integral(&number("-9223372036854773760.0")),
            Some(Value::from(-9_223_372_036_854_773_760_i64))
        );
        assert_eq!(integral(&number("12.0")), Some(Value::from(12_u64)));
    }

    #[test]
    fn map_keys_may_be_numbers() {
        let o = read(json!({ "inner": {}, "by_number": { "7": "seven" } })).unwrap();
        assert_eq!(o.by_number[&7], "seven");
    }
}
