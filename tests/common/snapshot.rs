//! Text for snapshots (`insta`, files under `tests/snapshots/`).

use std::fmt::Display;

/// A table of cases as one text: each case's name, and under it each of its lines indented
/// (a case with no line says `(none)`).
pub fn cases<N: Display>(cases: impl IntoIterator<Item = (N, Vec<String>)>) -> String {
    let mut out = String::new();
    for (name, lines) in cases {
        out.push_str(&format!("{name}\n"));
        if lines.is_empty() {
            out.push_str("  (none)\n");
        }
        for line in lines {
            for l in line.lines() {
                out.push_str(&format!("  {l}\n"));
            }
        }
    }
    out
}
