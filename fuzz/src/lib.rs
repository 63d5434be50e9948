//! frontdesk's fuzz targets. Each binary in `src/bin/` feeds AFL's inputs to one function of
//! [`targets`]; `tests/fuzz_corpus.rs` in the root crate replays `fuzz/corpus/` through the
//! same functions without AFL.

pub mod targets;
