//! AFL target `template`: see `frontdesk_fuzz::targets::template` and docs/fuzzing.md.

fn main() {
    frontdesk_fuzz::targets::init("template");
    afl::fuzz!(|data: &[u8]| {
        frontdesk_fuzz::targets::template(data);
    });
}
