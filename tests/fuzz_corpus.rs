//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets' own functions,
//! without AFL: every seed, and every input a fuzzing run found and kept, must still return.
//! The only check is that each call returns (a panic fails the test) within [`BOUND`]; the
//! time each input took is printed (`cargo test --test fuzz_corpus -- --nocapture`).
//! docs/fuzzing.md says how to fuzz.

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../fuzz/src/targets.rs"]
mod targets;

/// How long one input may take in a debug build before it counts as a hang.
const BOUND: Duration = Duration::from_secs(10);

#[test]
fn fuzz_corpus_replays() {
    let started = Instant::now();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut slow = Vec::new();
    let mut total = 0;
    for (name, target) in targets::TARGETS {
        let t = Instant::now();
        targets::init(name);
        println!("{name}: loaded in {:?}", t.elapsed());
        let dir = corpus.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no inputs", dir.display());
        for file in &files {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let t = Instant::now();
            target(&data);
            let took = t.elapsed();
            let rel = file.strip_prefix(&corpus).unwrap_or(file);
            println!("{:>10.3?} (bound {BOUND:?})  {}", took, rel.display());
            if took > BOUND {
                slow.push(format!("{} took {took:?}", rel.display()));
            }
        }
        total += files.len();
    }
    println!(
        "{total} inputs of {} targets in {:?}",
        targets::TARGETS.len(),
        started.elapsed()
    );
    assert!(
        slow.is_empty(),
        "inputs over the bound of {BOUND:?}:\n{}",
        slow.join("\n")
    );
}
