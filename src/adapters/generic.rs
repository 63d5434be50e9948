//! The generic adapter: the body is already a normalised [`Event`] (the `POST /v1/events`
//! format), so this only reads it, with the failing field's path on error.

use super::{AdapterError, Inbound, Translated};
use crate::model::Event;

pub(super) fn translate(inbound: &Inbound<'_>) -> Result<Translated, AdapterError> {
    super::parse_body(inbound.body)?;
    let de = &mut serde_json::Deserializer::from_slice(inbound.body);
    let event: Event = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        AdapterError::payload(field, e.into_inner().to_string())
    })?;
    Ok(Translated::Event(event))
}
