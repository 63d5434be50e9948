//! A linear classifier over sparse features: multinomial logistic regression, trained at load
//! by stochastic gradient descent.
//!
//! Training is deterministic: the order of examples comes from a fixed-seed generator, there is
//! one thread, and floating-point operations run in the same order every time. L2
//! regularisation is applied lazily through a scale factor, so a step costs only the example's
//! features times the classes whose gradient is not negligible.

use super::features::Sparse;
use super::saved::{In, Out, Refused};

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrainConfig {
    /// Passes over the training set (at least; small sets get more, see [`MIN_STEPS`]).
    pub epochs: usize,
    /// Inverse regularisation strength (as `C` in the usual formulation: larger fits closer).
    pub c: f32,
    /// Initial learning rate.
    pub rate: f32,
    /// Seed of the example order.
    pub seed: u64,
    /// How many of the last passes are averaged into the final weights (0: none).
    pub average: usize,
    /// How much each example is weighted against its entry's size: 0 weighs every question
    /// alike, 1 gives every entry the same total weight.
    pub balance: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 12,
            c: 20.0,
            rate: 1.0,
            seed: 0x5eed_f00d,
            average: 0,
            balance: 0.0,
        }
    }
}

/// A trained classifier.
pub(crate) struct Classifier {
    classes: usize,
    /// Feature-major weights: the `classes` weights of feature `f` are contiguous.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// A small, fast, deterministic generator (splitmix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Shuffles `items` in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Small training sets get more passes, up to this many steps in all (and at most 60 passes):
/// a bot with a few hundred questions would otherwise stop far from its optimum.
pub const MIN_STEPS: usize = 30_000;

/// Gradients below this size are skipped (their classes are already far from the example).
const SKIP: f32 = 1e-5;

impl Classifier {
    /// Trains on `xs` labelled `ys` (each below `classes`).
    pub fn train(
        xs: &[Sparse],
        ys: &[u32],
        features: usize,
        classes: usize,
        cfg: TrainConfig,
    ) -> Classifier {
        assert_eq!(xs.len(), ys.len());
        let mut weights = vec![0f32; features * classes];
        let mut bias = vec![0f32; classes];
        let n = xs.len().max(1);
        // Start the biases at the log class frequencies (scaled down by `balance`).
        let mut freq = vec![1f32; classes];
        for &y in ys {
            freq[y as usize] += 1.0;
        }
        let total: f32 = freq.iter().sum();
        for (b, f) in bias.iter_mut().zip(&freq) {
            *b = (1.0 - cfg.balance) * (f / total).ln();
        }
        // Example weights: `(mean entry size / own entry size)^balance`.
        let mean = total / classes.max(1) as f32;
        let weight: Vec<f32> = freq.iter().map(|f| (mean / f).powf(cfg.balance)).collect();
        let mut avg_w: Vec<f32> = Vec::new();
        let mut avg_b = vec![0f32; classes];
        let mut averaged = 0usize;
        let lambda = 1.0 / (cfg.c * n as f32);
        let mut scale = 1f32;
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng = Rng::new(cfg.seed);
        let mut logits = vec![0f32; classes];
        let mut t = 0usize;
        let epochs = cfg.epochs.max((MIN_STEPS / n).min(60));
        for epoch in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let x = &xs[i];
                let y = ys[i] as usize;
                let rate = cfg.rate / (1.0 + t as f32 / n as f32);
                t += 1;
                // Forward.
                logits.copy_from_slice(&bias);
                for &(f, v) in x {
                    let row = &weights[f as usize * classes..(f as usize + 1) * classes];
                    let v = v * scale;
                    for (l, w) in logits.iter_mut().zip(row) {
                        *l += v * w;
                    }
                }
                softmax(&mut logits);
                logits[y] -= 1.0;
                if cfg.balance != 0.0 {
                    let k = weight[y];
                    logits.iter_mut().for_each(|g| *g *= k);
                }
                // Regularise (lazily), then step.
                scale *= 1.0 - rate * lambda;
                if scale < 1e-3 {
                    weights.iter_mut().for_each(|w| *w *= scale);
                    scale = 1.0;
                }
                let step = rate / scale;
                for (c, g) in logits.iter().enumerate() {
                    if g.abs() < SKIP {
                        continue;
                    }
                    bias[c] -= rate * g;
                    let gs = step * g;
                    for &(f, v) in x {
                        weights[f as usize * classes + c] -= gs * v;
                    }
                }
            }
            if cfg.average > 0 && epoch + cfg.average >= epochs {
                if avg_w.is_empty() {
                    avg_w = vec![0f32; weights.len()];
                }
                avg_w
                    .iter_mut()
                    .zip(&weights)
                    .for_each(|(a, w)| *a += w * scale);
                avg_b.iter_mut().zip(&bias).for_each(|(a, b)| *a += b);
                averaged += 1;
            }
        }
        if averaged > 0 {
            let k = 1.0 / averaged as f32;
            weights = avg_w;
            weights.iter_mut().for_each(|w| *w *= k);
            bias = avg_b;
            bias.iter_mut().for_each(|b| *b *= k);
        } else if scale != 1.0 {
            weights.iter_mut().for_each(|w| *w *= scale);
        }
        Classifier {
            classes,
            weights,
            bias,
        }
    }

    /// Trains a multiclass passive-aggressive model (hinge loss, PA-I with aggressiveness
    /// `c`), averaged over every step; its scores are margins, not probabilities.
    pub fn train_margin(
        xs: &[Sparse],
        ys: &[u32],
        features: usize,
        classes: usize,
        epochs: usize,
        c: f32,
        seed: u64,
    ) -> Classifier {
        assert_eq!(xs.len(), ys.len());
        // `weights` are the current weights, `sums` the step-weighted sum of updates, so the
        // average is `weights - sums / t`.
        let mut weights = vec![0f32; features * classes];
        let mut sums = vec![0f32; features * classes];
        let mut bias = vec![0f32; classes];
        let mut bias_sums = vec![0f32; classes];
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng = Rng::new(seed ^ 0x9a55_1e55_u64.wrapping_mul(31));
        let mut scores = vec![0f32; classes];
        let mut t = 1f32;
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let x = &xs[i];
                let y = ys[i] as usize;
                scores.copy_from_slice(&bias);
                for &(f, v) in x {
                    let row = &weights[f as usize * classes..(f as usize + 1) * classes];
                    for (s, w) in scores.iter_mut().zip(row) {
                        *s += v * w;
                    }
                }
                let rival = (0..classes)
                    .filter(|&k| k != y)
                    .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)));
                if let Some(r) = rival {
                    let loss = 1.0 - (scores[y] - scores[r]);
                    if loss > 0.0 {
                        let norm: f32 = x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0;
                        let tau = (loss / (2.0 * norm)).min(c);
                        for &(f, v) in x {
                            let base = f as usize * classes;
                            weights[base + y] += tau * v;
                            weights[base + r] -= tau * v;
                            sums[base + y] += t * tau * v;
                            sums[base + r] -= t * tau * v;
                        }
                        bias[y] += tau;
                        bias[r] -= tau;
                        bias_sums[y] += t * tau;
                        bias_sums[r] -= t * tau;
                    }
                }
                t += 1.0;
            }
        }
        weights.iter_mut().zip(&sums).for_each(|(w, s)| *w -= s / t);
        bias.iter_mut()
            .zip(&bias_sums)
            .for_each(|(b, s)| *b -= s / t);
        Classifier {
            classes,
            weights,
            bias,
        }
    }

    /// The logits of `x` into `out` (one per class).
    pub fn logits(&self, x: &Sparse, out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        let c = self.classes;
        for &(f, v) in x {
            let row = &self.weights[f as usize * c..(f as usize + 1) * c];
            for (l, w) in out.iter_mut().zip(row) {
                *l += v * w;
            }
        }
    }
}

/// Turns logits into probabilities in place.
pub(crate) fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    if sum > 0.0 {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Classifier({} classes, {} weights)",
            self.classes,
            self.weights.len()
        )
    }
}

impl Classifier {
    /// Writes the trained weights ([`super::saved`]).
    pub(crate) fn save(&self, o: &mut Out) {
        let Classifier {
            classes,
            weights,
            bias,
        } = self;
        o.usize(*classes);
        o.f32s(weights);
        o.f32s(bias);
    }

    /// Reads what [`Classifier::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<Classifier, Refused> {
        let classes = i.usize()?;
        let weights = i.f32s()?;
        let bias = i.f32s()?;
        if classes == 0 || bias.len() != classes || weights.len() % classes != 0 {
            return Err(Refused("the classifier's sizes do not agree".into()));
        }
        Ok(Classifier {
            classes,
            weights,
            bias,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_problem_the_same_way_twice() {
        // Feature 0 or 1 → class 0, feature 2 or 3 → class 1, feature 4 → class 2.
        let xs: Vec<Sparse> = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(0, 0.7), (1, 0.7)],
            vec![(2, 1.0)],
            vec![(3, 1.0)],
            vec![(4, 1.0)],
        ];
        let ys = [0, 0, 0, 1, 1, 2];
        let a = Classifier::train(&xs, &ys, 5, 3, TrainConfig::default());
        let b = Classifier::train(&xs, &ys, 5, 3, TrainConfig::default());
        assert_eq!(a.weights, b.weights);
        let mut out = vec![0.0; 3];
        for (x, &y) in xs.iter().zip(&ys) {
            a.logits(x, &mut out);
            let best = (0..3).max_by(|&i, &j| out[i].total_cmp(&out[j])).unwrap();
            assert_eq!(best, y as usize);
        }
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut v = [1000.0, 1000.0, -1000.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((v[0] - 0.5).abs() < 1e-6);
    }
}
