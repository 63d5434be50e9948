//! The helpdesks frontdesk speaks with.

use super::named_enum;

named_enum! {
    /// Where events come from: a helpdesk with an adapter of its own, or `generic` (the
    /// normalised event format, for home-made desks). Inbound URLs, signing secrets, agents'
    /// `helpdesk_ids` and the call-back connectors are keyed by it.
    pub enum Helpdesk {
        Generic = "generic",
        Chatwoot = "chatwoot",
        Zammad = "zammad",
        Zendesk = "zendesk",
    }
}

impl Helpdesk {
    /// The helpdesks whose API frontdesk can call back (every one but `generic`).
    pub const WITH_API: &'static [Helpdesk] =
        &[Helpdesk::Chatwoot, Helpdesk::Zammad, Helpdesk::Zendesk];

    /// Whether frontdesk can apply actions through this helpdesk's API.
    pub fn calls_back(self) -> bool {
        Helpdesk::WITH_API.contains(&self)
    }
}
