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

use super::forms::{surface, FormLang, LangMask, Span, Starts, Stemmers, EXACT};
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

/// A keyword of a pack: folded, and whether it matches its word forms too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Keyword {
    /// The folded keyword (words separated by single spaces).
    pub folded: String,
    /// Whole words only (`exact: true`); else its word forms count too.
    pub exact: bool,
}

/// A pattern of the automaton stands for this keyword in the haystacks of `mask`.
#[derive(Debug, Clone, Copy)]
struct Role {
    keyword: u32,
    mask: LangMask,
}

/// A keyword found through one of its forms, not as written (for `explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormHit {
    /// The keyword's id.
    pub keyword: u32,
    /// The folded words of the text that matched.
    pub found: String,
}

/// Every keyword of a pack, in one automaton: each keyword as written, and for keywords that
/// match word forms, its stem in every language that has a stemmer ([`super::forms`]).
#[derive(Debug, Default)]
pub struct KeywordSet {
    keywords: Vec<Keyword>,
    ids: std::collections::HashMap<Keyword, u32>,
    patterns: Vec<String>,
    roles: Vec<Vec<Role>>,
    automaton: Option<AhoCorasick>,
    stemmers: Stemmers,
    /// How the words that may become a keyword's stem begin.
    starts: Starts,
    forms: bool,
}

/// Reusable buffers for [`KeywordSet::scan`].
#[derive(Debug, Default)]
pub struct Scratch {
    stems: Vec<(LangMask, String)>,
    spans: Vec<Vec<Span>>,
}

impl KeywordSet {
    /// The id of a folded keyword, adding it when new.
    pub fn intern(&mut self, folded: &str, exact: bool) -> u32 {
        let key = Keyword {
            folded: folded.to_string(),
            exact,
        };
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.keywords.len() as u32;
        self.keywords.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    /// Builds the automaton once every keyword is interned; an error when the keywords are
    /// too many for one (the automaton's own limits).
    pub fn build(&mut self) -> Result<(), String> {
        if self.keywords.is_empty() {
            return Ok(());
        }
        let mut index = std::collections::HashMap::<String, usize>::new();
        let mut add =
            |patterns: &mut Vec<String>, roles: &mut Vec<Vec<Role>>, p: String, role: Role| {
                let i = *index.entry(p).or_insert_with_key(|p| {
                    patterns.push(p.clone());
                    roles.push(Vec::new());
                    patterns.len() - 1
                });
                match roles[i].iter_mut().find(|r| r.keyword == role.keyword) {
                    Some(r) => r.mask |= role.mask,
                    None => roles[i].push(role),
                }
            };
        let (mut patterns, mut roles) = (Vec::new(), Vec::new());
        for (id, k) in self.keywords.iter().enumerate() {
            let keyword = id as u32;
            add(
                &mut patterns,
                &mut roles,
                k.folded.clone(),
                Role {
                    keyword,
                    mask: EXACT,
                },
            );
            if k.exact {
                continue;
            }
            self.forms = true;
            for lang in FormLang::all() {
                for stem in self.stemmers.phrase_forms(lang, &k.folded) {
                    let role = Role {
                        keyword,
                        mask: lang.bit(),
                    };
                    add(&mut patterns, &mut roles, stem, role);
                }
            }
        }
        let mut starts = Starts::default().with_irregular_forms();
        for p in &patterns {
            starts.add_phrase(p);
        }
        self.starts = starts;
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| {
                format!(
                    "the pack's {} keywords do not fit in one automaton ({e}); use fewer keywords or a regex",
                    self.keywords.len()
                )
            })?;
        self.patterns = patterns;
        self.roles = roles;
        self.automaton = Some(ac);
        Ok(())
    }

    /// How many distinct keywords.
    pub fn len(&self) -> usize {
        self.keywords.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keywords.is_empty()
    }

    /// Whether some keyword matches its word forms.
    pub fn has_forms(&self) -> bool {
        self.forms
    }

    /// The keyword with id `i`.
    pub fn keyword(&self, i: u32) -> &Keyword {
        &self.keywords[i as usize]
    }

    /// The folded keyword with id `i`.
    pub fn pattern(&self, i: u32) -> &str {
        &self.keywords[i as usize].folded
    }

    /// The stemmers the keywords were reduced with.
    pub fn stemmers(&self) -> &Stemmers {
        &self.stemmers
    }

    /// Marks in `hits` every keyword found in the folded haystack on word boundaries: as
    /// written, or (keywords with word forms) as stems in one of `langs`. With `forms`, also
    /// says which words of the text matched a keyword that is not among them as written.
    pub fn scan(
        &self,
        folded: &str,
        langs: &[FormLang],
        hits: &mut BitSet,
        scratch: &mut Scratch,
        mut forms: Option<&mut Vec<FormHit>>,
    ) {
        let Some(ac) = &self.automaton else { return };
        self.scan_one(ac, folded, EXACT, hits);
        if !self.forms || langs.is_empty() {
            return;
        }
        // The text in each language's stems; languages whose stems are the same text (text
        // without words their stemmers change) share one scan.
        let Scratch { stems, spans } = scratch;
        let mut used = 0;
        for &lang in langs {
            if stems.len() == used {
                stems.push((0, String::new()));
                spans.push(Vec::new());
            }
            spans[used].clear();
            let want_spans = forms.is_some().then_some(&mut spans[used]);
            self.stemmers
                .text(lang, folded, &self.starts, &mut stems[used].1, want_spans);
            match (0..used).find(|&j| stems[j].1 == stems[used].1) {
                Some(j) => stems[j].0 |= lang.bit(),
                None => {
                    stems[used].0 = lang.bit();
                    used += 1;
                }
            }
        }
        for (i, (mask, text)) in stems[..used].iter().enumerate() {
            self.scan_one(ac, text, *mask, hits);
            if let Some(forms) = forms.as_deref_mut() {
                self.forms_found(ac, folded, text, *mask, &spans[i], forms);
            }
        }
    }

    fn scan_one(&self, ac: &AhoCorasick, hay: &str, mask: LangMask, hits: &mut BitSet) {
        for m in ac.find_overlapping_iter(hay) {
            if on_boundaries(hay, m.start(), m.end()) {
                for r in &self.roles[m.pattern().as_usize()] {
                    if r.mask & mask != 0 {
                        hits.insert(r.keyword as usize);
                    }
                }
            }
        }
    }

    /// The words of `folded` whose stems in `stemmed` matched a keyword's stem, where they
    /// differ from the keyword as written.
    fn forms_found(
        &self,
        ac: &AhoCorasick,
        folded: &str,
        stemmed: &str,
        mask: LangMask,
        spans: &[Span],
        out: &mut Vec<FormHit>,
    ) {
        for m in ac.find_overlapping_iter(stemmed) {
            if !on_boundaries(stemmed, m.start(), m.end()) {
                continue;
            }
            let found = surface(folded, spans, m.start(), m.end());
            for r in &self.roles[m.pattern().as_usize()] {
                let k = &self.keywords[r.keyword as usize];
                if r.mask & mask == 0 || k.folded == found {
                    continue;
                }
                let hit = FormHit {
                    keyword: r.keyword,
                    found: found.to_string(),
                };
                if !out.contains(&hit) {
                    out.push(hit);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `keyword` is found in `text` as a whole word, and whether it or one of its
    /// forms is (the text in English).
    fn found_both(text: &str, keyword: &str) -> (bool, bool) {
        let mut set = KeywordSet::default();
        let kw = fold_keyword(keyword).unwrap();
        let exact = set.intern(&kw, true);
        let forms = set.intern(&kw, false);
        set.build().unwrap();
        let mut hits = BitSet::new(set.len());
        let mut scratch = Scratch::default();
        set.scan(&fold(text), &[FormLang::EN], &mut hits, &mut scratch, None);
        let automaton = hits.contains(exact as usize);
        let direct = contains_word(&fold(text), &kw);
        assert_eq!(automaton, direct, "automaton and direct search agree");
        (automaton, hits.contains(forms as usize))
    }

    fn found(text: &str, keyword: &str) -> bool {
        let (exact, forms) = found_both(text, keyword);
        assert!(forms || !exact, "a whole word is one of its forms");
        exact
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
    fn word_forms() {
        let cases = [
            ("I want my refunds now", "refund", true),
            ("refunded yesterday", "refund", true),
            ("two invoices are wrong", "invoice", true),
            ("I paid twice", "pay", true),
            ("prerefund", "refund", false),
            ("discard it", "card", false),
            ("the cards", "card", true),
            ("delivery times are long", "delivery time", true),
            ("time for delivery", "delivery time", false),
        ];
        for (text, kw, want) in cases {
            assert_eq!(found_both(text, kw).1, want, "{kw:?} in {text:?}");
        }
    }

    #[test]
    fn the_words_a_form_matched_are_told() {
        let mut set = KeywordSet::default();
        let id = set.intern("refund", false);
        let same = set.intern("wrong", false);
        set.build().unwrap();
        let mut hits = BitSet::new(set.len());
        let mut forms = Vec::new();
        let folded = fold("Refunds are WRONG");
        let langs = [FormLang::EN, FormLang::from_tag("da").unwrap()];
        set.scan(
            &folded,
            &langs,
            &mut hits,
            &mut Scratch::default(),
            Some(&mut forms),
        );
        assert!(hits.contains(id as usize) && hits.contains(same as usize));
        assert_eq!(
            forms,
            vec![FormHit {
                keyword: id,
                found: "refunds".into()
            }]
        );
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
