//! Lexical retrieval: Okapi BM25 over the training questions.
//!
//! Each training question is a document; its terms are the stems of its words that are not
//! stop words (pairs of characters for Chinese). A question's score for an FAQ entry is the best
//! score among the entry's questions, divided by what a perfect match of the question's own terms
//! would score, which puts it in `[0, 1]`: a question whose important words appear in none of
//! the bot's questions scores near 0.

use super::features::HashedMap;
use super::saved::{In, Out, Refused};

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// An inverted index with precomputed BM25 weights.
pub(crate) struct Bm25 {
    terms: HashedMap<u32>,
    /// Per term: (document, weight of the term in it).
    postings: Vec<Vec<(u32, f32)>>,
    idf: Vec<f32>,
    docs: usize,
}

/// The same index grouped by FAQ entry, for bots too large to score every question: a term's
/// postings list entries, each with the term's highest weight among the entry's questions. The
/// sum over a question's terms is an entry-level similarity (at least the best question's
/// score) that costs a fraction of the per-question postings.
pub(crate) struct ByEntry {
    /// Per term: (entry, highest weight of the term in the entry's questions).
    postings: Vec<Vec<(u32, f32)>>,
    entries: usize,
}

/// Reusable buffers of [`ByEntry::best`].
#[derive(Default)]
pub(crate) struct Scratch {
    bound: Vec<f32>,
    touched: Vec<u32>,
}

impl Bm25 {
    /// Indexes documents given as their term hashes.
    pub fn build(docs: &[Vec<u64>]) -> Bm25 {
        let mut terms = HashedMap::default();
        let mut postings: Vec<Vec<(u32, f32)>> = Vec::new();
        let total: usize = docs.iter().map(Vec::len).sum();
        let avg = (total as f32 / docs.len().max(1) as f32).max(1.0);
        for (d, doc) in docs.iter().enumerate() {
            let mut sorted = doc.clone();
            sorted.sort_unstable();
            let len = doc.len() as f32;
            let mut i = 0;
            while i < sorted.len() {
                let key = sorted[i];
                let mut tf = 0;
                while i < sorted.len() && sorted[i] == key {
                    tf += 1;
                    i += 1;
                }
                let next = terms.len() as u32;
                let id = *terms.entry(key).or_insert(next);
                if id == next {
                    postings.push(Vec::new());
                }
                let tf = tf as f32;
                let w = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
                postings[id as usize].push((d as u32, w));
            }
        }
        let n = docs.len() as f32;
        let mut idf = Vec::with_capacity(postings.len());
        for p in &mut postings {
            let df = p.len() as f32;
            let w = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            idf.push(w);
            p.iter_mut().for_each(|(_, x)| *x *= w);
        }
        Bm25 {
            terms,
            postings,
            idf,
            docs: docs.len(),
        }
    }

    /// The weight an unknown term counts with: that of a term in one document.
    fn unseen_idf(&self) -> f32 {
        let n = self.docs as f32;
        (1.0 + (n - 0.5) / 1.5).ln()
    }

    /// Adds each document's score for `query` to `acc` (one slot per document) and returns
    /// the score a perfect match would have had (unknown terms count in it).
    pub fn score(&self, query: &[u64], acc: &mut [f32]) -> f32 {
        let mut q = query.to_vec();
        q.sort_unstable();
        q.dedup();
        let mut perfect = 0.0;
        for key in q {
            match self.terms.get(&key) {
                Some(&id) => {
                    perfect += self.idf[id as usize];
                    for &(d, w) in &self.postings[id as usize] {
                        acc[d as usize] += w;
                    }
                }
                None => perfect += self.unseen_idf(),
            }
        }
        perfect
    }

    /// How many distinct terms of `query` are in at least one document for which `wanted`
    /// holds.
    pub fn terms_in(&self, query: &[u64], wanted: impl Fn(u32) -> bool) -> usize {
        let mut q = query.to_vec();
        q.sort_unstable();
        q.dedup();
        q.iter()
            .filter(|key| {
                self.terms
                    .get(key)
                    .is_some_and(|&id| self.postings[id as usize].iter().any(|&(d, _)| wanted(d)))
            })
            .count()
    }

    /// Groups the index by entry (`doc_entry[d]` is document `d`'s entry, each below
    /// `entries`).
    pub fn by_entry(&self, doc_entry: &[u32], entries: usize) -> ByEntry {
        let mut postings = Vec::with_capacity(self.postings.len());
        // Per entry, its place in the postings being built, plus one (0: not there yet).
        let mut place = vec![0u32; entries];
        for list in &self.postings {
            let mut by: Vec<(u32, f32)> = Vec::new();
            for &(d, w) in list {
                let e = doc_entry[d as usize];
                match place[e as usize] {
                    0 => {
                        by.push((e, w));
                        place[e as usize] = by.len() as u32;
                    }
                    p => {
                        let slot = &mut by[p as usize - 1].1;
                        *slot = slot.max(w);
                    }
                }
            }
            for &(e, _) in &by {
                place[e as usize] = 0;
            }
            postings.push(by);
        }
        ByEntry { postings, entries }
    }

    /// The ids of the query's known terms (sorted, once each) and the perfect score.
    fn query(&self, query: &[u64]) -> (Vec<u32>, f32) {
        let mut q = query.to_vec();
        q.sort_unstable();
        q.dedup();
        let mut perfect = 0.0;
        let mut ids = Vec::with_capacity(q.len());
        for key in q {
            match self.terms.get(&key) {
                Some(&id) => {
                    perfect += self.idf[id as usize];
                    ids.push(id);
                }
                None => perfect += self.unseen_idf(),
            }
        }
        ids.sort_unstable();
        (ids, perfect)
    }

    /// How many documents.
    pub fn docs(&self) -> usize {
        self.docs
    }
}

impl ByEntry {
    /// The `k` entries that score highest for `query` by the sum of each query term's highest
    /// weight among the entry's questions (at least the best question's score), relative to a
    /// perfect match, best first (ties: lower entry first). Entries sharing no term with the
    /// query are left out.
    pub fn best(
        &self,
        index: &Bm25,
        query: &[u64],
        k: usize,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let (ids, perfect) = index.query(query);
        if ids.is_empty() || k == 0 || perfect <= 0.0 {
            return Vec::new();
        }
        let Scratch { bound, touched } = scratch;
        if bound.len() < self.entries {
            bound.resize(self.entries, 0.0);
        }
        touched.clear();
        for &t in &ids {
            for &(e, w) in &self.postings[t as usize] {
                let slot = &mut bound[e as usize];
                if *slot == 0.0 {
                    touched.push(e);
                }
                *slot += w;
            }
        }
        let mut pool: Vec<(u32, f32)> = touched
            .iter()
            .map(|&e| {
                let b = bound[e as usize];
                bound[e as usize] = 0.0;
                (e, b)
            })
            .collect();
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if pool.len() > k {
            pool.select_nth_unstable_by(k - 1, order);
            pool.truncate(k);
        }
        pool.iter_mut().for_each(|(_, s)| *s /= perfect);
        pool.sort_unstable_by(order);
        pool.truncate(k);
        pool
    }
}

impl std::fmt::Debug for ByEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByEntry({} entries)", self.entries)
    }
}

impl std::fmt::Debug for Bm25 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bm25({} documents, {} terms)", self.docs, self.idf.len())
    }
}

impl Bm25 {
    /// Writes the index ([`super::saved`]).
    pub(crate) fn save(&self, o: &mut Out) {
        let Bm25 {
            terms,
            postings,
            idf,
            docs,
        } = self;
        o.map(terms, |o, &t| o.u32(t));
        o.list(postings, |o, p| o.pairs(p));
        o.f32s(idf);
        o.usize(*docs);
    }

    /// Reads what [`Bm25::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<Bm25, Refused> {
        let index = Bm25 {
            terms: i.map(|i| i.u32())?,
            postings: i.list(|i| i.pairs())?,
            idf: i.f32s()?,
            docs: i.usize()?,
        };
        let terms = index.postings.len();
        if index.idf.len() != terms || index.terms.values().any(|&t| t as usize >= terms) {
            return Err(Refused("the index's sizes do not agree".into()));
        }
        Ok(index)
    }
}

impl ByEntry {
    /// Writes the index by entry ([`super::saved`]).
    pub(crate) fn save(&self, o: &mut Out) {
        let ByEntry { postings, entries } = self;
        o.list(postings, |o, p| o.pairs(p));
        o.usize(*entries);
    }

    /// Reads what [`ByEntry::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<ByEntry, Refused> {
        Ok(ByEntry {
            postings: i.list(|i| i.pairs())?,
            entries: i.usize()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_terms_weigh_more() {
        let docs = vec![vec![1, 2], vec![1, 3], vec![1, 4]];
        let index = Bm25::build(&docs);
        let mut acc = vec![0.0; 3];
        let perfect = index.score(&[1, 3], &mut acc);
        assert!(acc[1] > acc[0] && acc[0] > 0.0);
        assert!(acc[1] <= perfect * 1.01);
        let mut acc = vec![0.0; 3];
        let perfect = index.score(&[9], &mut acc);
        assert!(perfect > 0.0 && acc.iter().all(|&s| s == 0.0));
    }
}
