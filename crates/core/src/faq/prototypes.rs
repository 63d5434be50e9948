//! The model of large bots: one sparse prototype vector per FAQ entry, scored only for the
//! entries that lexical retrieval proposes.
//!
//! The logistic regression of [`super::classifier`] keeps a dense `features × entries` weight
//! matrix and computes every entry's logit for every training step and every question. That is
//! right for bots of a few hundred entries; a bot of 10,000 entries and 100,000 questions
//! would need tens of gigabytes and hours of training. Such a bot gets prototypes instead:
//!
//! - an entry's prototype is the mean of its questions' feature vectors (TF-IDF, the same
//!   features the classifier sees), stored sparsely, entry-major, on the features that occur
//!   in the entry's questions only: memory grows with the questions, not with entries ×
//!   features;
//! - the prototypes are then sharpened by a few passes of a softmax over *candidates*: for each
//!   training question, its own entry and the entries BM25 finds for it (the ones it could be
//!   mistaken for) compete, and the question's features move towards its entry and away from
//!   the others, on the features those prototypes already have;
//! - asked a question, the matcher scores only the entries BM25 proposes ([`CANDIDATE_POOL`]),
//!   each by a merge of two sorted sparse vectors.
//!
//! Everything is deterministic: fixed order, one thread.

use super::classifier::{softmax, Rng};
use super::features::Sparse;
use super::saved::{In, Out, Refused};

/// How many entries BM25 proposes for a question before the prototypes score them.
pub const CANDIDATE_POOL: usize = 64;

/// How many rival entries each training question is trained against.
pub const RIVALS: usize = 8;

/// Training settings of the prototypes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrototypeConfig {
    /// Scale of the prototype scores in the combined score (a temperature's inverse).
    pub scale: f32,
    /// Scale of the scores in the training softmax: sharper than `scale`, so that training
    /// keeps pushing rivals away after they fall behind.
    pub train_scale: f32,
    /// Passes of candidate-softmax training (0: plain centroids).
    pub epochs: usize,
    /// Learning rate of those passes.
    pub rate: f32,
}

impl Default for PrototypeConfig {
    fn default() -> Self {
        PrototypeConfig {
            scale: 2.5,
            train_scale: 6.25,
            epochs: 3,
            rate: 0.2,
        }
    }
}

/// Sparse per-entry weight vectors.
pub(crate) struct Prototypes {
    /// Entry `e`'s weights are `features[starts[e]..starts[e + 1]]` (increasing) and the same
    /// range of `weights`.
    starts: Vec<usize>,
    features: Vec<u32>,
    weights: Vec<f32>,
    scale: f32,
}

/// Where the features of `x` (increasing ids) are among `features` (increasing): pairs of
/// (index into `features`, value in `x`) for the features both have. A long `features` list is
/// searched by bisection, a short one merged.
fn matches(x: &[(u32, f32)], features: &[u32], out: &mut Vec<(usize, f32)>) {
    out.clear();
    if features.len() > 8 * x.len() {
        let mut from = 0;
        for &(f, v) in x {
            from += features[from..].partition_point(|&g| g < f);
            if from == features.len() {
                break;
            }
            if features[from] == f {
                out.push((from, v));
                from += 1;
            }
        }
        return;
    }
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < features.len() {
        let (f, v) = x[i];
        match f.cmp(&features[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push((j, v));
                i += 1;
                j += 1;
            }
        }
    }
}

impl Prototypes {
    /// Builds the prototypes of `entries` entries from `xs` labelled `ys`; `rivals[i]` are the entries question `i` is trained against (its own entry may be
    /// among them; it is skipped).
    pub fn train(
        xs: &[Sparse],
        ys: &[u32],
        entries: usize,
        rivals: &[Vec<u32>],
        cfg: PrototypeConfig,
        seed: u64,
    ) -> Prototypes {
        assert_eq!(xs.len(), ys.len());
        // Group the questions by entry, then sum each group's vectors feature by feature.
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); entries];
        for (i, &y) in ys.iter().enumerate() {
            members[y as usize].push(i);
        }
        let mut starts = Vec::with_capacity(entries + 1);
        let mut features = Vec::new();
        let mut weights = Vec::new();
        let mut merged: Vec<(u32, f32)> = Vec::new();
        for group in &members {
            starts.push(features.len());
            merged.clear();
            for &i in group {
                merged.extend_from_slice(&xs[i]);
            }
            merged.sort_unstable_by_key(|&(f, _)| f);
            let k = 1.0 / group.len().max(1) as f32;
            let from = features.len();
            for &(f, v) in &merged {
                if features.len() > from && features[features.len() - 1] == f {
                    *weights.last_mut().expect("a weight per feature") += v * k;
                } else {
                    features.push(f);
                    weights.push(v * k);
                }
            }
            // Unit length times the length of a question vector, so a question's score for
            // its own prototype is near the cosine times that length.
            let norm = weights[from..].iter().map(|w| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                let q = group
                    .first()
                    .map(|&i| xs[i].iter().map(|(_, v)| v * v).sum::<f32>().sqrt())
                    .unwrap_or(1.0);
                weights[from..].iter_mut().for_each(|w| *w *= q / norm);
            }
        }
        starts.push(features.len());
        let mut model = Prototypes {
            starts,
            features,
            weights,
            scale: cfg.scale,
        };
        // Sharpen: softmax over the question's entry and its rivals.
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng = Rng::new(seed ^ 0x7072_6f74_6f73);
        let mut set: Vec<u32> = Vec::with_capacity(RIVALS + 1);
        let mut logits: Vec<f32> = Vec::with_capacity(RIVALS + 1);
        let n = xs.len().max(1) as f32;
        let mut t = 0f32;
        let mut found: Vec<Vec<(usize, f32)>> = vec![Vec::new(); RIVALS + 1];
        for _ in 0..cfg.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let y = ys[i];
                set.clear();
                set.push(y);
                set.extend(rivals[i].iter().copied().filter(|&r| r != y));
                set.truncate(RIVALS + 1);
                if set.len() < 2 {
                    continue;
                }
                logits.clear();
                for (&e, hits) in set.iter().zip(found.iter_mut()) {
                    let (a, b) = (model.starts[e as usize], model.starts[e as usize + 1]);
                    matches(&xs[i], &model.features[a..b], hits);
                    let w = &model.weights[a..b];
                    let d: f32 = hits.iter().map(|&(j, v)| v * w[j]).sum();
                    logits.push(cfg.train_scale * d);
                }
                softmax(&mut logits);
                logits[0] -= 1.0;
                let rate = cfg.rate / (1.0 + t / n);
                t += 1.0;
                for ((&e, g), hits) in set.iter().zip(&logits).zip(&found) {
                    if g.abs() < 1e-4 {
                        continue;
                    }
                    let a = model.starts[e as usize];
                    let k = -rate * g;
                    for &(j, v) in hits {
                        model.weights[a + j] += k * v;
                    }
                }
            }
        }
        model
    }

    /// The logit of `entry` for the question vector `x`.
    pub fn score(&self, x: &Sparse, entry: u32, found: &mut Vec<(usize, f32)>) -> f32 {
        let (a, b) = (self.starts[entry as usize], self.starts[entry as usize + 1]);
        matches(x, &self.features[a..b], found);
        let w = &self.weights[a..b];
        self.scale * found.iter().map(|&(j, v)| v * w[j]).sum::<f32>()
    }

    /// How many entries.
    pub fn entries(&self) -> usize {
        self.starts.len() - 1
    }

    /// How many weights are stored.
    pub fn len(&self) -> usize {
        self.weights.len()
    }
}

impl std::fmt::Debug for Prototypes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Prototypes({} entries, {} weights)",
            self.entries(),
            self.len()
        )
    }
}

impl Prototypes {
    /// Writes the trained prototypes ([`super::saved`]).
    pub(crate) fn save(&self, o: &mut Out) {
        let Prototypes {
            starts,
            features,
            weights,
            scale,
        } = self;
        o.usizes(starts);
        o.u32s(features);
        o.f32s(weights);
        o.f32(*scale);
    }

    /// Reads what [`Prototypes::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<Prototypes, Refused> {
        let p = Prototypes {
            starts: i.usizes()?,
            features: i.u32s()?,
            weights: i.f32s()?,
            scale: i.f32()?,
        };
        let ordered = p.starts.windows(2).all(|w| w[0] <= w[1]);
        if !ordered
            || p.features.len() != p.weights.len()
            || p.starts.last().is_some_and(|&end| end > p.features.len())
        {
            return Err(Refused("the prototypes' sizes do not agree".into()));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_merge_short_lists_and_bisect_long_ones() {
        let x = vec![(1, 1.0), (3, 2.0), (7, 1.5)];
        let mut out = Vec::new();
        matches(&x, &[0, 3, 7, 9], &mut out);
        assert_eq!(out, [(1, 2.0), (2, 1.5)]);
        let long: Vec<u32> = (0..100).map(|i| i * 3 + 1).collect(); // 1, 4, 7, ...
        matches(&x, &long, &mut out);
        assert_eq!(out, [(0, 1.0), (2, 1.5)]);
        matches(&x, &[], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn each_question_scores_highest_for_its_own_entry() {
        let xs: Vec<Sparse> = vec![
            vec![(0, 1.0), (1, 0.5)],
            vec![(0, 0.8), (2, 0.6)],
            vec![(1, 0.3), (3, 1.0)],
            vec![(3, 0.9), (4, 0.4)],
            vec![(2, 0.2), (5, 1.0)],
        ];
        let ys = [0, 0, 1, 1, 2];
        let rivals = vec![vec![1, 2], vec![2], vec![0], vec![0, 2], vec![0, 1]];
        let cfg = PrototypeConfig::default();
        let a = Prototypes::train(&xs, &ys, 3, &rivals, cfg, 1);
        let b = Prototypes::train(&xs, &ys, 3, &rivals, cfg, 1);
        assert_eq!(a.weights, b.weights);
        // Weights exist only on the features of an entry's own questions.
        assert_eq!(a.len(), 3 + 3 + 2);
        for (x, &y) in xs.iter().zip(&ys) {
            let best = (0..3u32)
                .max_by(|&i, &j| {
                    let mut f = Vec::new();
                    a.score(x, i, &mut f).total_cmp(&a.score(x, j, &mut f))
                })
                .unwrap();
            assert_eq!(best, y);
        }
    }
}
