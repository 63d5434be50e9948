//! AFL target `rule_pack`: see `frontdesk_fuzz::targets::rule_pack` and docs/fuzzing.md.

fn main() {
    frontdesk_fuzz::targets::init("rule_pack");
    afl::fuzz!(|data: &[u8]| {
        frontdesk_fuzz::targets::rule_pack(data);
    });
}
