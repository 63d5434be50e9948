//! Features of a question: what the classifier and the lexical index see.
//!
//! A question is analysed once ([`Analysis`]): normalised, split into tokens, typo-corrected
//! (at question time), stemmed in its language. From that come two blocks of sparse features,
//! each hashed to 64 bits:
//!
//! - **words**: stems (Chinese characters count as words) and pairs of neighbouring stems;
//! - **characters**: n-grams of 2 to 5 characters inside each word, with the word's edges
//!   marked, which catch inflections, compounds and the typos the correction left.
//!
//! A [`FeatureSpace`] learnt from the training questions numbers the features and weights them
//! by TF-IDF (sublinear term frequency, smoothed inverse document frequency); each block is
//! scaled to unit length, the character block then by a weight.

use super::saved::{In, Out, Refused};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::lang::{Lang, Stemmers};
use super::normalise::{normalise, tokens, TokenKind};

/// Which features a question yields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FeatureConfig {
    /// Shortest character n-gram.
    pub char_min: usize,
    /// Longest character n-gram.
    pub char_max: usize,
    /// Whether character n-grams also span neighbouring words.
    pub across: bool,
    /// Whether triples of neighbouring stems are features too.
    pub triples: bool,
    /// Whether words as written (before stemming) are features too.
    pub surface: bool,
    /// Whether pairs of stems with one word between them are features too.
    pub skip: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            char_min: 2,
            char_max: 5,
            across: false,
            triples: false,
            surface: false,
            skip: false,
        }
    }
}

/// A hasher for keys that are already 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map keyed by 64-bit hashes.
pub(crate) type HashedMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of `bytes`, started from `seed`.
pub(crate) fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Mixes the bits of a hash so that nearby inputs spread (splitmix64 finaliser).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const WORD: u64 = 1;
const PAIR: u64 = 2;
const CHARS: u64 = 3;

/// Hash of a stem as a word feature.
pub(crate) fn word_key(stem: &str) -> u64 {
    mix(fnv(FNV_OFFSET ^ WORD, stem.as_bytes()))
}

/// Hash of two neighbouring stems as a feature.
pub(crate) fn pair_key(a: &str, b: &str) -> u64 {
    let h = fnv(FNV_OFFSET ^ PAIR, a.as_bytes());
    mix(fnv(h ^ 0xff, b.as_bytes()))
}

/// One token of an analysed question.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// The normalised (and, at question time, corrected) word.
    pub surface: String,
    /// Its stem in the question's language.
    pub stem: String,
    /// What it is.
    pub kind: TokenKind,
    /// Whether it is a stop word.
    pub stop: bool,
}

/// A question, analysed.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    /// Its tokens.
    pub terms: Vec<Term>,
}

impl Analysis {
    /// Analyses `text` read as `lang`; `correct` may replace unknown words.
    pub fn new(
        text: &str,
        lang: Lang,
        stemmers: &Stemmers,
        correct: impl FnMut(&str) -> Option<String>,
    ) -> Analysis {
        Analysis::of_normalised(&normalise(text), lang, stemmers, correct)
    }

    /// The same for a text already normalised ([`normalise`]).
    pub fn of_normalised(
        norm: &str,
        lang: Lang,
        stemmers: &Stemmers,
        mut correct: impl FnMut(&str) -> Option<String>,
    ) -> Analysis {
        let terms = tokens(norm)
            .into_iter()
            .map(|t| {
                let stop = lang.is_stop_word(t.text);
                let surface = match t.kind {
                    TokenKind::Word if !stop => {
                        correct(t.text).unwrap_or_else(|| t.text.to_string())
                    }
                    _ => t.text.to_string(),
                };
                let stem = match t.kind {
                    TokenKind::Word => stemmers.stem(lang, &surface).into_owned(),
                    _ => surface.clone(),
                };
                Term {
                    surface,
                    stem,
                    kind: t.kind,
                    stop,
                }
            })
            .collect();
        Analysis { terms }
    }

    /// The hashed features of each block, with their counts, sorted by key.
    pub fn features(&self, cfg: &FeatureConfig) -> [Vec<(u64, u32)>; 2] {
        let mut words = Vec::with_capacity(self.terms.len() * 3);
        let mut chars = Vec::with_capacity(self.terms.len() * 16);
        for (i, t) in self.terms.iter().enumerate() {
            words.push(word_key(&t.stem));
            if cfg.surface && t.surface != t.stem {
                words.push(pair_key("", &t.surface));
            }
            if let Some(next) = self.terms.get(i + 1) {
                words.push(pair_key(&t.stem, &next.stem));
                if cfg.skip {
                    if let Some(third) = self.terms.get(i + 2) {
                        words.push(pair_key(&t.stem, &format!("\u{1}{}", third.stem)));
                    }
                }
                if cfg.triples {
                    if let Some(third) = self.terms.get(i + 2) {
                        words.push(pair_key(&t.stem, &format!("{} {}", next.stem, third.stem)));
                    }
                }
            }
            if !cfg.across && t.kind == TokenKind::Word {
                char_grams(&t.surface, cfg, &mut chars);
            }
        }
        if cfg.across {
            let line: Vec<&str> = self
                .terms
                .iter()
                .filter(|t| t.kind == TokenKind::Word)
                .map(|t| t.surface.as_str())
                .collect();
            char_grams(&line.join(" "), cfg, &mut chars);
        }
        [count(words), count(chars)]
    }

    /// Hashes of the terms that count for lexical retrieval: stems of words that are not stop
    /// words, numbers, and pairs of neighbouring characters of unspaced scripts.
    pub fn index_terms(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.terms.len());
        for (i, t) in self.terms.iter().enumerate() {
            match t.kind {
                TokenKind::Word | TokenKind::Number if !t.stop => out.push(word_key(&t.stem)),
                TokenKind::Char => {
                    if let Some(next) = self.terms.get(i + 1) {
                        if next.kind == TokenKind::Char {
                            out.push(pair_key(&t.stem, &next.stem));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// The character n-grams of ` word ` (edges marked by spaces).
fn char_grams(word: &str, cfg: &FeatureConfig, out: &mut Vec<u64>) {
    let mut padded = String::with_capacity(word.len() + 2);
    padded.push(' ');
    padded.push_str(word);
    padded.push(' ');
    let starts: Vec<usize> = padded
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(padded.len()))
        .collect();
    let chars = starts.len() - 1;
    for i in 0..chars {
        for n in cfg.char_min..=cfg.char_max {
            if i + n > chars {
                break;
            }
            out.push(mix(fnv(
                FNV_OFFSET ^ CHARS,
                &padded.as_bytes()[starts[i]..starts[i + n]],
            )));
        }
    }
}

/// Sorted keys with their counts.
fn count(mut keys: Vec<u64>) -> Vec<(u64, u32)> {
    keys.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

/// A sparse vector: feature ids (increasing) and values.
pub(crate) type Sparse = Vec<(u32, f32)>;

/// The features seen in training, numbered, with their weights.
pub(crate) struct FeatureSpace {
    ids: HashedMap<u32>,
    idf: Vec<f32>,
    /// In how many training questions each feature is.
    df: Vec<u32>,
    char_weight: f32,
    /// The weight of the idf of a feature never seen in training.
    unseen_idf: f32,
    /// How much of an unknown feature's weight counts in a question's length (0: none).
    pub unknown: f32,
}

impl FeatureSpace {
    /// Learns the feature space of the training questions' features.
    /// `idf_power` damps the inverse document frequencies (1: as they are; 0.5: their square
    /// roots), for bots whose counts say little (see `Matcher::train`).
    pub fn learn(docs: &[[Vec<(u64, u32)>; 2]], char_weight: f32, idf_power: f32) -> FeatureSpace {
        let mut ids = HashedMap::default();
        let mut df: Vec<u32> = Vec::new();
        for doc in docs {
            for block in doc {
                for &(key, _) in block {
                    let next = ids.len() as u32;
                    let id = *ids.entry(key).or_insert(next);
                    if id == next {
                        df.push(0);
                    }
                    df[id as usize] += 1;
                }
            }
        }
        let n = docs.len() as f32;
        let unseen_idf = ((1.0 + n).ln() + 1.0).powf(idf_power);
        let idf = df
            .iter()
            .map(|&d| (((1.0 + n) / (1.0 + d as f32)).ln() + 1.0).powf(idf_power))
            .collect();
        FeatureSpace {
            ids,
            idf,
            df,
            char_weight,
            unseen_idf,
            unknown: 0.0,
        }
    }

    /// In how many training questions each feature is, by id.
    pub fn df(&self) -> &[u32] {
        &self.df
    }

    /// How many features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    /// The weighted vector of one question's features, each block scaled to unit length.
    /// Unknown features are dropped, but `unknown` of their weight (as features never seen,
    /// the highest idf) still counts in the length: a question the bot knows one word of is
    /// not read as that word alone. "Who won the football match yesterday?" is not "match"
    /// (the support bot's price_match); measured in docs/faq.md.
    pub fn vector(&self, features: &[Vec<(u64, u32)>; 2]) -> Sparse {
        let mut out: Sparse = Vec::with_capacity(features[0].len() + features[1].len());
        for (b, block) in features.iter().enumerate() {
            let start = out.len();
            let mut unknown = 0.0;
            for &(key, n) in block {
                let tf = 1.0 + (n as f32).ln();
                match self.ids.get(&key) {
                    Some(&id) => out.push((id, tf * self.idf[id as usize])),
                    None => unknown += (tf * self.unseen_idf).powi(2),
                }
            }
            let norm = (out[start..].iter().map(|(_, v)| v * v).sum::<f32>()
                + self.unknown * unknown)
                .sqrt();
            if norm > 0.0 {
                let scale = if b == 1 { self.char_weight } else { 1.0 } / norm;
                out[start..].iter_mut().for_each(|(_, v)| *v *= scale);
            }
        }
        out.sort_unstable_by_key(|&(id, _)| id);
        out
    }
}

impl std::fmt::Debug for FeatureSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FeatureSpace({} features)", self.idf.len())
    }
}

impl FeatureSpace {
    /// Writes the learnt space ([`super::saved`]).
    pub(crate) fn save(&self, o: &mut Out) {
        let FeatureSpace {
            ids,
            idf,
            df,
            char_weight,
            unseen_idf,
            unknown,
        } = self;
        o.map(ids, |o, &id| o.u32(id));
        o.f32s(idf);
        o.u32s(df);
        o.f32(*char_weight);
        o.f32(*unseen_idf);
        o.f32(*unknown);
    }

    /// Reads what [`FeatureSpace::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<FeatureSpace, Refused> {
        let space = FeatureSpace {
            ids: i.map(|i| i.u32())?,
            idf: i.f32s()?,
            df: i.u32s()?,
            char_weight: i.f32()?,
            unseen_idf: i.f32()?,
            unknown: i.f32()?,
        };
        let n = space.idf.len();
        if space.df.len() != n
            || space.ids.len() != n
            || space.ids.values().any(|&id| id as usize >= n)
        {
            return Err(Refused("the feature space's sizes do not agree".into()));
        }
        Ok(space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str, lang: Lang) -> Analysis {
        Analysis::new(text, lang, &Stemmers::new(), |_| None)
    }

    #[test]
    fn stems_and_stop_words() {
        let a = analyse("I want my refunds", Lang::En);
        let stems: Vec<_> = a.terms.iter().map(|t| t.stem.as_str()).collect();
        assert_eq!(stems, ["i", "want", "my", "refund"]);
        assert_eq!(a.index_terms(), vec![word_key("want"), word_key("refund")]);
    }

    #[test]
    fn char_grams_mark_edges() {
        let mut out = Vec::new();
        char_grams("ab", &FeatureConfig::default(), &mut out);
        // " ab " has 4 chars: 3 bigrams, 2 trigrams, 1 four-gram.
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn unknown_features_are_dropped_and_blocks_are_unit_length() {
        let stemmers = Stemmers::new();
        let train: Vec<_> = ["where is my order", "reset my password"]
            .iter()
            .map(|q| {
                Analysis::new(q, Lang::En, &stemmers, |_| None).features(&FeatureConfig::default())
            })
            .collect();
        let space = FeatureSpace::learn(&train, 1.0, 1.0);
        let v = space
            .vector(&analyse("where is my parcel", Lang::En).features(&FeatureConfig::default()));
        assert!(!v.is_empty());
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
        let total: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((total - 2.0).abs() < 1e-3, "{total}");
        assert!(space
            .vector(&analyse("zzzz", Lang::En).features(&FeatureConfig::default()))
            .is_empty());
    }

    #[test]
    fn unknown_features_can_count_in_the_length() {
        let stemmers = Stemmers::new();
        let cfg = FeatureConfig::default();
        let train: Vec<_> = ["where is my order", "reset my password"]
            .iter()
            .map(|q| Analysis::new(q, Lang::En, &stemmers, |_| None).features(&cfg))
            .collect();
        let mut space = FeatureSpace::learn(&train, 1.0, 1.0);
        space.unknown = 0.25;
        let length = |q: &str| -> f32 {
            let v = space.vector(&analyse(q, Lang::En).features(&cfg));
            v.iter().map(|(_, x)| x * x).sum()
        };
        // A question of known words keeps unit blocks; one mostly of unknown words is shorter,
        // and the more unknown words, the shorter.
        assert!((length("where is my order") - 2.0).abs() < 1e-3);
        let one = length("where is my order yesterday");
        let three = length("where is my order yesterday football weather");
        assert!(one < 2.0 && three < one, "{one} {three}");
    }
}
