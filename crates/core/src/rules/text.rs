//! Text folding and keyword matching.
//!
//! Keywords of every rule compile into one Aho-Corasick automaton. Both keywords and message
//! text are *folded* first: compatibility decomposition (NFKD), combining marks dropped (accents,
//! Arabic diacritics), lower case, Arabic letter variants unified, and every run of characters
//! that are not letters or digits turned into one space. A match then counts only at word
//! boundaries, except for scripts written without spaces (Chinese, Japanese, Thai, ...), where
//! a keyword matches anywhere.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use crate::faq::normalise::unspaced;

/// Folds `text` into `out` as `" word word "` (a space before, between and after the words).
pub fn fold_into(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len() + 2);
    out.push(' ');
    let mut at_sep = true;
    let word = |c: char, out: &mut String, at_sep: &mut bool| {
        for l in c.to_lowercase() {
            out.push(l);
        }
        *at_sep = false;
    };
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
                at_sep = false;
            } else if !at_sep {
                out.push(' ');
                at_sep = true;
            }
            continue;
        }
        let c = match c {
            '\u{0640}' => continue,   // tatweel: stretches a word, is not a separator
            '\u{0629}' => '\u{0647}', // taa marbuta → haa
            '\u{0649}' => '\u{064A}', // alef maqsura → yaa
            '\u{0671}' => '\u{0627}', // alef wasla → alef
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            c => c,
        };
        decompose_compatible(c, |d| {
            if is_combining_mark(d) {
                return;
            }
            if d.is_alphanumeric() {
                word(d, out, &mut at_sep);
            } else if !at_sep {
                out.push(' ');
                at_sep = true;
            }
        });
    }
    if !at_sep {
        out.push(' ');
    }
}

/// Folds `text` into a new string.
pub fn fold(text: &str) -> String {
    let mut out = String::new();
    fold_into(text, &mut out);
    out
}

/// A keyword as matched: folded, without the surrounding spaces. `None` when it has no letters
/// or digits.
pub fn fold_keyword(keyword: &str) -> Option<String> {
    let f = fold(keyword);
    let t = f.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Whether a match of `pat` at `start..end` of a folded haystack sits on word boundaries.
fn on_boundaries(hay: &str, start: usize, end: usize) -> bool {
    let pat = &hay[start..end];
    let first = pat.chars().next().unwrap_or(' ');
    let last = pat.chars().next_back().unwrap_or(' ');
    let before = hay[..start].chars().next_back().unwrap_or(' ');
    let after = hay[end..].chars().next().unwrap_or(' ');
    let left = before == ' ' || unspaced(before) || unspaced(first);
    let right = after == ' ' || unspaced(after) || unspaced(last);
    left && right
}

/// Whether the folded `hay` contains the folded keyword `pat` on word boundaries.
pub fn contains_word(hay: &str, pat: &str) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(pat) {
        let start = from + i;
        if on_boundaries(hay, start, start + pat.len()) {
            return true;
        }
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// A fixed-size set of small integers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// An empty set for values below `n`.
    pub fn new(n: usize) -> BitSet {
        BitSet {
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// Adds `i`.
    #[inline]
    pub fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Whether `i` is in the set.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    /// Adds every member of `other`.
    pub fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// Removes every member of `other`.
    pub fn difference_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// Keeps only members of `other`.
    pub fn intersect_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// Members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + bit)
            })
        })
    }
}

/// Every keyword of a pack, in one automaton.
#[derive(Debug, Default)]
pub struct KeywordSet {
    patterns: Vec<String>,
    /// Folded keyword → its id (the index in `patterns`).
    ids: std::collections::HashMap<String, u32>,
    automaton: Option<AhoCorasick>,
}

impl KeywordSet {
    /// The id of a folded keyword, adding it when new.
    pub fn intern(&mut self, folded: &str) -> u32 {
        if let Some(&id) = self.ids.get(folded) {
            return id;
        }
        let id = self.patterns.len() as u32;
        self.patterns.push(folded.to_string());
        self.ids.insert(folded.to_string(), id);
        id
    }

    /// Builds the automaton once every keyword is interned; an error when the keywords are
    /// too many for one (the automaton's own limits).
    pub fn build(&mut self) -> Result<(), String> {
        if self.patterns.is_empty() {
            return Ok(());
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&self.patterns)
            .map_err(|e| {
                format!(
                    "the pack's {} keywords do not fit in one automaton ({e}); use fewer keywords or a regex",
                    self.patterns.len()
                )
            })?;
        self.automaton = Some(ac);
        Ok(())
    }

    /// How many distinct keywords.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The folded keyword with id `i`.
    pub fn pattern(&self, i: u32) -> &str {
        &self.patterns[i as usize]
    }

    /// Marks in `hits` every keyword found in the folded haystack on word boundaries.
    pub fn scan(&self, folded: &str, hits: &mut BitSet) {
        let Some(ac) = &self.automaton else { return };
        for m in ac.find_overlapping_iter(folded) {
            if on_boundaries(folded, m.start(), m.end()) {
                hits.insert(m.pattern().as_usize());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, keyword: &str) -> bool {
        let mut set = KeywordSet::default();
        let id = set.intern(&fold_keyword(keyword).unwrap());
        set.build().unwrap();
        let mut hits = BitSet::new(set.len());
        set.scan(&fold(text), &mut hits);
        let automaton = hits.contains(id as usize);
        let direct = contains_word(&fold(text), &fold_keyword(keyword).unwrap());
        assert_eq!(automaton, direct, "automaton and direct search agree");
        automaton
    }

    #[test]
    fn folding() {
        assert_eq!(fold("Hello,  World!"), " hello world ");
        assert_eq!(fold("Café Crème"), " cafe creme ");
        assert_eq!(fold("snake_case"), " snake case ");
        assert_eq!(fold("ＲＥＦＵＮＤ"), " refund ");
        assert_eq!(fold("Kortet mitt er STJÅLET"), " kortet mitt er stjalet ");
        assert_eq!(fold("Ærlig øl"), " ærlig øl ");
        assert_eq!(fold("مُعَطَّل"), " معطل ");
        assert_eq!(fold("أريد إلغاء"), " اريد الغاء ");
        assert_eq!(fold("فاتورة"), " فاتوره ");
        assert_eq!(fold("مـــعطل"), " معطل ");
        assert_eq!(fold("٥٠٠ error"), " 500 error ");
        assert_eq!(fold(""), " ");
    }

    #[test]
    fn keyword_matching_table() {
        let cases = [
            ("I want a REFUND now", "refund", true),
            ("refunds please", "refund", false),
            ("prerefund", "refund", false),
            ("the site is down!", "is down", true),
            ("the site is... DOWN", "is down", true),
            ("this island", "is", false),
            ("Café closed", "cafe", true),
            ("kortet er stjålet", "stjålet", true),
            ("kortet er stjalet", "stjålet", true),
            ("Alt er nede!", "nede", true),
            ("Nedetid i natt", "nede", false),
            ("blåbær", "blabær", true),
            ("Møte", "mote", false),
            ("服务器宕机了", "宕机", true),
            ("我要refund", "refund", true),
            ("الخدمة مُعطّلة", "معطله", true),
            ("الخدمة معطلة", "مُعطّلة", true),
            ("أريد استرداد المبلغ", "استرداد", true),
            ("500 error on checkout", "500 error", true),
            ("5000 error", "500 error", false),
            ("e-mail", "e mail", true),
        ];
        for (text, kw, want) in cases {
            assert_eq!(found(text, kw), want, "{kw:?} in {text:?}");
        }
    }

    #[test]
    fn keywords_without_letters_are_refused() {
        assert_eq!(fold_keyword("!!"), None);
        assert_eq!(fold_keyword("  Is Down "), Some("is down".into()));
    }

    #[test]
    fn bitset() {
        let mut s = BitSet::new(130);
        s.insert(0);
        s.insert(64);
        s.insert(129);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 64, 129]);
        assert!(s.contains(129) && !s.contains(128));
    }
}
