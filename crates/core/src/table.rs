//! Plain-text tables for the terminal reports (`frontdesk report`, `frontdesk replay`): the
//! first column left-aligned, the others right-aligned unless said otherwise, each as wide as
//! its widest cell.

use std::fmt::Write as _;

/// Rows of cells, laid out when rendered.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
    left: Vec<usize>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// Aligns `column` to the left (the first column always is).
    pub fn left(mut self, column: usize) -> Table {
        self.left.push(column);
        self
    }

    /// Adds a row; rows may have fewer cells than others.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Table {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// The table, each line starting with `indent`, columns two spaces apart, no trailing
    /// spaces.
    pub fn render(&self, indent: &str) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::from(indent);
            for (i, cell) in row.iter().enumerate() {
                let pad = " ".repeat(widths[i] - cell.chars().count());
                let gap = if i == 0 { "" } else { "  " };
                if i == 0 || self.left.contains(&i) {
                    let _ = write!(line, "{gap}{cell}{pad}");
                } else {
                    let _ = write!(line, "{gap}{pad}{cell}");
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_their_widest_cell() {
        let mut t = Table::new();
        t.row(["Rules", "before", "after"]);
        t.row(["  a long rule name", "1,234", "5"]);
        t.row(["  b", "7"]);
        assert_eq!(
            t.render(""),
            "Rules               before  after\n  a long rule name   1,234      5\n  b                      7\n"
        );
        let mut t = Table::new().left(2);
        t.row(["x", "1", "▁█"]);
        t.row(["yy", "10", "trend"]);
        assert_eq!(t.render("  "), "  x    1  ▁█\n  yy  10  trend\n");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
