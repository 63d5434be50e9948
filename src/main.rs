/// mimalloc rather than the C library's allocator: a decision allocates many small strings
/// (tickets, events and texts cloned and dropped), and `frontdesk replay` ran 45 % more
/// events a second with it (`benches/replay.rs`, which uses it too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    frontdesk::cli::main()
}
