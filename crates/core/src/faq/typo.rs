//! Typo tolerance: the bot's vocabulary as an `fst` map (word → in how many questions it
//! appears), searched with a Levenshtein automaton.
//!
//! Only words the vocabulary lacks are corrected, and only when they are long enough for a
//! correction to be safe: 5 to 8 characters may be one edit away, 9 or more two. An edit is
//! an inserted, deleted or replaced character, or two neighbouring characters swapped
//! (`refnud` → `refund`); the first character is taken as written. An Arabic word that starts
//! with the article (ال, or وال / بال / فال / كال / لل) is measured without it, and the article
//! and the letter after it are taken as written: a five-letter الكون (the universe) is a
//! three-letter word to which الكود (the code) is not a typo. Among candidates the fewest edits win, then the word found in more
//! questions, then the first in byte order, so a correction depends on nothing but the
//! vocabulary.
//!
//! The automaton is [`Edits`], evaluated lazily while the `fst` is walked: its state is one row
//! of the edit-distance table, and a branch of the `fst` is left as soon as every entry of the
//! row exceeds the allowed edits. `fst`'s own `Levenshtein` builds a complete DFA first, which
//! costs 0.1 to 1.4 ms per word (measured on this project's machine), more than a whole
//! question may take; the tests check that both find the same words.
//!
//! Corrections are remembered ([`MEMORY`] words at most, [`crate::memo`]): the unknown words
//! of customer messages repeat ("thanks", "urgent", a product's name), and a search costs
//! tens of microseconds where a lookup costs tens of nanoseconds. A correction depends only on
//! the vocabulary, so remembering one changes no answer.

use super::saved::{In, Out, Refused};
use std::collections::BTreeMap;

use crate::memo::Memo;

use fst::{Automaton, IntoStreamer, Map, Streamer};

/// The vocabulary of a bot.
pub(crate) struct Vocabulary {
    words: Map<Vec<u8>>,
    /// Unknown words already searched, with what the search found.
    memory: Memo<String, Option<String>>,
}

/// How many searched words a vocabulary remembers.
pub const MEMORY: usize = 4096;

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vocabulary({} words)", self.words.len())
    }
}

/// Words shorter than this are never corrected.
pub const MIN_LEN: usize = 5;
/// Words longer than this are never corrected.
pub const MAX_LEN: usize = 24;

/// The edits allowed for a word of `chars` characters.
pub fn max_edits(chars: usize) -> u8 {
    match chars {
        0..MIN_LEN => 0,
        MIN_LEN..=8 => 1,
        9..=MAX_LEN => 2,
        _ => 0,
    }
}

impl Vocabulary {
    /// A vocabulary from words and their document frequencies.
    pub fn new(words: &BTreeMap<String, u64>) -> Vocabulary {
        let words = Map::from_iter(words.iter().map(|(w, n)| (w.as_bytes(), *n)))
            .expect("sorted, unique words");
        Vocabulary {
            words,
            memory: Memo::new(MEMORY),
        }
    }

    /// Whether the vocabulary has `word`.
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains_key(word)
    }

    /// The nearest known word to an unknown `word`, if one is close enough.
    pub fn correct(&self, word: &str) -> Option<String> {
        let query: Vec<char> = word.chars().collect();
        let article = arabic_article(&query);
        let edits = max_edits(query.len() - article);
        if edits == 0 || self.contains(word) {
            return None;
        }
        self.memory.get(
            word,
            || self.search(word, &query, article, edits),
            Clone::clone,
        )
    }

    /// How many words are remembered (for tests).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.memory.len()
    }

    /// The search behind [`Vocabulary::correct`].
    fn search(&self, word: &str, query: &[char], article: usize, edits: u8) -> Option<String> {
        let automaton = Edits {
            query,
            max: edits,
            transpositions: true,
            fixed: article + 1,
        };
        let mut best: Option<(usize, u64, Vec<u8>)> = None;
        let mut stream = self.words.search(&automaton).into_stream();
        while let Some((candidate, freq)) = stream.next() {
            let Ok(text) = std::str::from_utf8(candidate) else {
                continue;
            };
            let distance = strsim::osa_distance(word, text);
            let better = best.as_ref().is_none_or(|(d, f, w)| {
                (distance, std::cmp::Reverse(freq), candidate)
                    < (*d, std::cmp::Reverse(*f), w.as_slice())
            });
            if better {
                best = Some((distance, freq, candidate.to_vec()));
            }
        }
        best.and_then(|(_, _, w)| String::from_utf8(w).ok())
    }
}

/// How many characters of `word` are an Arabic definite article, with a conjunction or
/// preposition joined to it (0 when there is none, or nothing is left after it).
fn arabic_article(word: &[char]) -> usize {
    const ARTICLES: [&[char]; 6] = [
        &['و', 'ا', 'ل'],
        &['ب', 'ا', 'ل'],
        &['ف', 'ا', 'ل'],
        &['ك', 'ا', 'ل'],
        &['ا', 'ل'],
        &['ل', 'ل'],
    ];
    ARTICLES
        .iter()
        .find(|a| word.len() > a.len() + 1 && word.starts_with(a))
        .map_or(0, |a| a.len())
}

/// Words within `max` edits of `query`, as an `fst` automaton over UTF-8 bytes that counts
/// edits in characters.
pub(crate) struct Edits<'q> {
    /// The word searched for (at most [`MAX_LEN`] characters).
    pub query: &'q [char],
    /// Edits allowed.
    pub max: u8,
    /// Whether swapping two neighbours counts as one edit (else two).
    pub transpositions: bool,
    /// How many leading characters must be as written: the first (few typos are there, and
    /// it makes the search much smaller), and an Arabic article before it.
    pub fixed: usize,
}

const ROW: usize = MAX_LEN + 1;

/// A row of the edit-distance table, and what is needed to extend it.
#[derive(Clone, Debug)]
pub(crate) struct EditState {
    row: [u8; ROW],
    /// The row before the last character, for swaps.
    prev: [u8; ROW],
    /// The last character read (`\0` at the start).
    last: char,
    /// Bytes of a character not yet complete.
    pending: [u8; 4],
    npending: u8,
    dead: bool,
}

impl Edits<'_> {
    fn step(&self, s: &EditState, c: char) -> EditState {
        let q = self.query;
        let m = q.len();
        let at = usize::from(s.row[0]);
        if at < self.fixed && q.get(at) != Some(&c) {
            return EditState {
                dead: true,
                ..s.clone()
            };
        }
        let mut row = [u8::MAX; ROW];
        row[0] = s.row[0].saturating_add(1);
        let mut low = row[0];
        for j in 1..=m {
            let cost = u8::from(q[j - 1] != c);
            let mut v = (s.row[j].saturating_add(1))
                .min(row[j - 1].saturating_add(1))
                .min(s.row[j - 1].saturating_add(cost));
            if self.transpositions && j > 1 && c == q[j - 2] && s.last == q[j - 1] && c != s.last {
                v = v.min(s.prev[j - 2].saturating_add(1));
            }
            row[j] = v;
            low = low.min(v);
        }
        EditState {
            row,
            prev: s.row,
            last: c,
            pending: [0; 4],
            npending: 0,
            dead: low > self.max,
        }
    }
}

impl Automaton for Edits<'_> {
    type State = EditState;

    fn start(&self) -> EditState {
        let mut row = [u8::MAX; ROW];
        for (j, r) in row.iter_mut().enumerate().take(self.query.len() + 1) {
            *r = j as u8;
        }
        EditState {
            row,
            prev: [u8::MAX; ROW],
            last: '\0',
            pending: [0; 4],
            npending: 0,
            dead: self.query.len() > MAX_LEN,
        }
    }

    fn is_match(&self, s: &EditState) -> bool {
        !s.dead && s.npending == 0 && s.row[self.query.len()] <= self.max
    }

    fn can_match(&self, s: &EditState) -> bool {
        !s.dead
    }

    fn accept(&self, s: &EditState, byte: u8) -> EditState {
        if s.dead {
            return s.clone();
        }
        let mut next = s.clone();
        next.pending[next.npending as usize] = byte;
        next.npending += 1;
        let need = match next.pending[0] {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => {
                next.dead = true;
                return next;
            }
        };
        if (next.npending as usize) < need {
            return next;
        }
        match std::str::from_utf8(&next.pending[..need])
            .ok()
            .and_then(|t| t.chars().next())
        {
            Some(c) => self.step(s, c),
            None => {
                next.dead = true;
                next
            }
        }
    }
}

impl Vocabulary {
    /// Writes the words ([`super::saved`]); what was searched since is not kept.
    pub(crate) fn save(&self, o: &mut Out) {
        let Vocabulary { words, memory: _ } = self;
        o.bytes(words.as_fst().as_bytes());
    }

    /// Reads what [`Vocabulary::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<Vocabulary, Refused> {
        let words = Map::new(i.bytes()?.to_vec())
            .map_err(|e| Refused(format!("the vocabulary cannot be read: {e}")))?;
        Ok(Vocabulary {
            words,
            memory: Memo::new(MEMORY),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(words: &[(&str, u64)]) -> Vocabulary {
        Vocabulary::new(&words.iter().map(|(w, n)| (w.to_string(), *n)).collect())
    }

    #[test]
    fn corrections_table() {
        let v = vocab(&[
            ("password", 5),
            ("refund", 4),
            ("stjålet", 2),
            ("delivery", 3),
            ("delivered", 1),
            ("invoice", 2),
            ("cancellation", 2),
            ("kortet", 2),
        ]);
        let cases = [
            ("pasword", Some("password")),
            ("passwrod", Some("password")),
            ("refnud", Some("refund")),
            ("stjalet", Some("stjålet")),
            ("invoise", Some("invoice")),
            ("cancelation", Some("cancellation")),
            ("canselation", Some("cancellation")),
            ("delivry", Some("delivery")),
            ("password", None),
            ("card", None),
            ("weather", None),
            ("kort", None),
        ];
        // Twice: the second time from memory, with the same answers.
        for _ in 0..2 {
            for (word, want) in cases {
                assert_eq!(v.correct(word).as_deref(), want, "{word}");
            }
        }
        // Searched words are remembered, found or not ("weather"); known and short ones are
        // never searched.
        assert_eq!(v.remembered(), 9);
    }

    #[test]
    fn the_memory_of_corrections_is_bounded() {
        let v = vocab(&[("password", 5), ("refund", 4)]);
        for i in 0..MEMORY + 10 {
            v.correct(&format!("zz{i:05}"));
        }
        assert_eq!(v.remembered(), 10, "forgotten when full, then filled again");
        assert_eq!(v.correct("pasword").as_deref(), Some("password"));
    }

    /// Without swaps, the lazy automaton finds exactly what `fst`'s Levenshtein DFA finds for
    /// Latin script. (For Arabic and Chinese that DFA finds nothing: fst issues #38 and #160.)
    #[test]
    fn an_arabic_article_does_not_count_towards_the_length() {
        let v = vocab(&[("الكود", 3), ("الاسترداد", 2), ("بالبطاقة", 1)]);
        let cases = [
            // The universe is not a typo of the code: three letters after the article.
            ("الكون", None),
            // Six letters after the article may be one edit away...
            ("الاستردد", Some("الاسترداد")),
            ("بالبطاقه", Some("بالبطاقة")),
            // ...but the article and the letter after it are as written.
            ("والاسترداد", None),
            ("الإسترداد", None),
        ];
        for (word, want) in cases {
            assert_eq!(v.correct(word).as_deref(), want, "{word}");
        }
    }

    #[test]
    fn agrees_with_the_fst_levenshtein_automaton() {
        let words = [
            "card",
            "cards",
            "carte",
            "cart",
            "password",
            "passport",
            "passwords",
            "refund",
            "refunds",
            "rufund",
            "stjålet",
            "stjålen",
            "stjal",
            "bestilling",
            "bestillingen",
            "استرداد",
            "استرد",
            "فاتوره",
            "密码",
            "订单",
        ];
        let mut sorted: Vec<&str> = words.to_vec();
        sorted.sort_unstable();
        let map = Map::from_iter(sorted.iter().map(|w| (w.as_bytes(), 1u64))).unwrap();
        let queries = [
            "card",
            "crad",
            "pasword",
            "passwrd",
            "refnud",
            "stjalet",
            "bestiling",
            "xyzzy",
            "",
        ];
        for q in queries {
            for d in 1..=2u32 {
                let chars: Vec<char> = q.chars().collect();
                let ours = Edits {
                    query: &chars,
                    max: d as u8,
                    transpositions: false,
                    fixed: 0,
                };
                let theirs = fst::automaton::Levenshtein::new(q, d).unwrap();
                let a = map.search(&ours).into_stream().into_str_keys().unwrap();
                let b = map.search(&theirs).into_stream().into_str_keys().unwrap();
                assert_eq!(a, b, "{q:?} within {d}");
            }
        }
    }

    #[test]
    fn arabic_and_chinese_are_searched_by_character() {
        let map = Map::from_iter([("استرداد".as_bytes(), 1u64), ("密码".as_bytes(), 1)]).unwrap();
        let search = |q: &str, d: u8| {
            let chars: Vec<char> = q.chars().collect();
            let a = Edits {
                query: &chars,
                max: d,
                transpositions: true,
                fixed: 0,
            };
            map.search(&a).into_stream().into_str_keys().unwrap()
        };
        assert_eq!(search("استردد", 1), ["استرداد"]);
        assert_eq!(search("密马", 1), ["密码"]);
        assert!(search("马", 1).is_empty());
    }

    #[test]
    fn edits_grow_with_length() {
        assert_eq!(max_edits(4), 0);
        assert_eq!(max_edits(5), 1);
        assert_eq!(max_edits(8), 1);
        assert_eq!(max_edits(9), 2);
        assert_eq!(max_edits(MAX_LEN + 1), 0);
    }
}
