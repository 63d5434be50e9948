//! AFL target `adapters`: see `frontdesk_fuzz::targets::adapters` and docs/fuzzing.md.

fn main() {
    frontdesk_fuzz::targets::init("adapters");
    afl::fuzz!(|data: &[u8]| {
        frontdesk_fuzz::targets::adapters(data);
    });
}
