//! Serialising some fields of a struct only: a template that reads `ticket.id` and
//! `ticket.priority` needs those two in its context, not the whole ticket.

use serde::ser::{self, Serialize, Serializer};

/// `value` serialised as itself with only the struct fields named in `fields` (the others
/// are skipped as `skip_serializing_if` skips them). Only the outermost struct is narrowed;
/// a value that is not a struct serialises whole.
pub struct SomeFields<'a, T> {
    /// The value.
    pub value: &'a T,
    /// The names of the fields kept.
    pub fields: &'a [String],
}

impl<T: Serialize> Serialize for SomeFields<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Narrow {
            inner: serializer,
            fields: self.fields,
        })
    }
}

/// A serializer that narrows the struct given to it and passes everything else on.
struct Narrow<'a, S> {
    inner: S,
    fields: &'a [String],
}

/// The fields of a narrowed struct: those kept go on, the others are skipped.
struct NarrowStruct<'a, S> {
    inner: S,
    fields: &'a [String],
}

impl<S: ser::SerializeStruct> ser::SerializeStruct for NarrowStruct<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        if self.fields.iter().any(|f| f == key) {
            self.inner.serialize_field(key, value)
        } else {
            self.inner.skip_field(key)
        }
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

/// Passes a call on to the inner serializer.
macro_rules! pass {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $($arg: $ty),*) -> Result<$ret, S::Error> {
            self.inner.$name($($arg),*)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Narrow<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = NarrowStruct<'a, S::SerializeStruct>;
    type SerializeStructVariant = S::SerializeStructVariant;

    pass! {
        serialize_bool(v: bool) -> S::Ok;
        serialize_i8(v: i8) -> S::Ok;
        serialize_i16(v: i16) -> S::Ok;
        serialize_i32(v: i32) -> S::Ok;
        serialize_i64(v: i64) -> S::Ok;
        serialize_i128(v: i128) -> S::Ok;
        serialize_u8(v: u8) -> S::Ok;
        serialize_u16(v: u16) -> S::Ok;
        serialize_u32(v: u32) -> S::Ok;
        serialize_u64(v: u64) -> S::Ok;
        serialize_u128(v: u128) -> S::Ok;
        serialize_f32(v: f32) -> S::Ok;
        serialize_f64(v: f64) -> S::Ok;
        serialize_char(v: char) -> S::Ok;
        serialize_str(v: &str) -> S::Ok;
        serialize_bytes(v: &[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(name: &'static str) -> S::Ok;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> S::Ok;
        serialize_seq(len: Option<usize>) -> S::SerializeSeq;
        serialize_tuple(len: usize) -> S::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> S::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> S::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> S::SerializeMap;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> S::SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(value)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(name, value)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(NarrowStruct {
            inner: self.inner.serialize_struct(name, len)?,
            fields: self.fields,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Ticket;

    #[test]
    fn only_the_fields_named_are_kept() {
        let ticket = Ticket {
            id: "T1".into(),
            subject: "Help".into(),
            category: Some("billing".into()),
            ..Ticket::default()
        };
        let fields = ["id".to_string(), "category".to_string()];
        let some = serde_json::to_value(SomeFields {
            value: &ticket,
            fields: &fields,
        })
        .unwrap();
        let all = serde_json::to_value(&ticket).unwrap();
        assert_eq!(some, serde_json::json!({"id": "T1", "category": "billing"}));
        assert_eq!(some["id"], all["id"]);
        let none = serde_json::to_value(SomeFields {
            value: &ticket,
            fields: &[],
        })
        .unwrap();
        assert_eq!(none, serde_json::json!({}));
    }
}
