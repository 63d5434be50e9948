//! Lexical retrieval: Okapi BM25 over the training questions.
//!
//! Each training question is a document; its terms are the stems of its words that are not
//! stop words (pairs of characters for Chinese). A question's score for an FAQ entry is the best
//! score among the entry's questions, divided by what a perfect match of the question's own terms
//! would score, which puts it in `[0, 1]`: a question whose important words appear in none of
//! the bot's questions scores near 0.

use super::features::HashedMap;

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

    /// How many documents.
    pub fn docs(&self) -> usize {
        self.docs
    }
}

impl std::fmt::Debug for Bm25 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bm25({} documents, {} terms)", self.docs, self.idf.len())
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
