//! The generic adapter: the body is already a normalised [`Event`] (the `POST /v1/events`
//! format), so this only reads it, with the failing field's path on error.

use super::{AdapterError, Inbound, Translated};
use crate::model::{strict, Event};

pub(super) fn translate(inbound: &Inbound<'_>) -> Result<Translated, AdapterError> {
    let value = super::parse_body(inbound.body)?;
    let event: Event = strict::from_value(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        AdapterError::payload(field, e.into_inner().to_string())
    })?;
    for (field, id) in [("id", &event.id), ("ticket.id", &event.ticket.id)] {
        if id.trim().is_empty() {
            return Err(AdapterError::payload(
                field.to_string(),
                "must not be empty",
            ));
        }
    }
    Ok(Translated::Event(event))
}
