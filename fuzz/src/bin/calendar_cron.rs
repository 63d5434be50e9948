//! AFL target `calendar_cron`: see `frontdesk_fuzz::targets::calendar_cron` and docs/fuzzing.md.

fn main() {
    frontdesk_fuzz::targets::init("calendar_cron");
    afl::fuzz!(|data: &[u8]| {
        frontdesk_fuzz::targets::calendar_cron(data);
    });
}
