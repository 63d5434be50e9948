//! AFL target `faq`: see `frontdesk_fuzz::targets::faq` and docs/fuzzing.md.

fn main() {
    frontdesk_fuzz::targets::init("faq");
    afl::fuzz!(|data: &[u8]| {
        frontdesk_fuzz::targets::faq(data);
    });
}
