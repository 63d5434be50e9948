//! AFL target `event_json`: see `frontdesk_fuzz::targets::event_json` and docs/fuzzing.md.

fn main() {
    frontdesk_fuzz::targets::init("event_json");
    afl::fuzz!(|data: &[u8]| {
        frontdesk_fuzz::targets::event_json(data);
    });
}
