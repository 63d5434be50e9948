//! A small neural network over the same sparse features: one hidden layer of rectified units
//! between the features and a softmax over the entries, trained at load by stochastic gradient
//! descent.
//!
//! The logistic regression of [`super::classifier`] weighs each feature once per entry; the
//! hidden layer lets features count together ("card" with "arrived" is another matter than
//! "card" with "stolen"). Alone it is about as accurate as the regression; the two make
//! different mistakes, and their product is better than either (measured in docs/faq.md).
//!
//! Only features seen in at least [`MlpConfig::min_df`] training questions get a row of hidden
//! weights: the others are mostly one-off character n-grams, and leaving them out saves their
//! memory. Training is deterministic like the regression's: a fixed-seed order and
//! initialisation, one thread, the same operations in the same order.

use super::classifier::{softmax, Rng};
use super::features::Sparse;
use super::saved::{In, Out, Refused};

/// Training settings of the network.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MlpConfig {
    /// Hidden units (0: no network).
    pub hidden: usize,
    /// Passes over the training set (small sets get more: see `min_steps`).
    pub epochs: usize,
    /// Small training sets get more passes, up to this many steps in all (and at most 60
    /// passes), as the regression's ([`super::classifier::MIN_STEPS`]).
    pub min_steps: usize,
    /// Initial learning rate.
    pub rate: f32,
    /// Spread of the initial hidden weights.
    pub init: f32,
    /// Features seen in fewer training questions have no hidden weights.
    pub min_df: u32,
    /// L2 regularisation of the output weights per step.
    pub decay: f32,
    /// How many networks, each from its own seed; their log-probabilities are averaged.
    pub nets: usize,
    /// Row-wise AdaGrad for the hidden weights: each feature's steps shrink with the sum of its
    /// squared gradients, so rare features take larger steps (0: plain steps).
    pub adagrad: f32,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: 64,
            epochs: 8,
            min_steps: 30_000,
            rate: 0.1,
            init: 0.1,
            min_df: 2,
            decay: 0.0,
            nets: 3,
            adagrad: 0.0,
        }
    }
}

/// How many weights the networks of `cfg` would have for features of document frequencies `df`
/// and `classes` entries.
pub(crate) fn size(df: &[u32], classes: usize, cfg: &MlpConfig) -> usize {
    let rows = df.iter().filter(|&&d| d >= cfg.min_df).count();
    (rows + classes)
        .saturating_mul(cfg.hidden)
        .saturating_mul(cfg.nets.max(1))
}

/// Gradients below this size are skipped (their entries are already far from the example).
const SKIP: f32 = 1e-5;

/// A trained network.
pub(crate) struct Mlp {
    hidden: usize,
    classes: usize,
    /// Feature id → its row of hidden weights (`u32::MAX`: none).
    rows: Vec<u32>,
    /// Hidden weights, row-major: the `hidden` weights of a row are contiguous.
    w1: Vec<f32>,
    b1: Vec<f32>,
    /// Output weights, entry-major: the `hidden` weights of an entry are contiguous.
    w2: Vec<f32>,
    b2: Vec<f32>,
    /// The output weights again, unit-major (the `classes` weights of a hidden unit are
    /// contiguous), for answering: see [`Mlp::logits`].
    w2t: Vec<f32>,
}

impl Mlp {
    /// Trains on `xs` labelled `ys`; `df` is each feature's document frequency.
    pub fn train(
        xs: &[Sparse],
        ys: &[u32],
        df: &[u32],
        classes: usize,
        cfg: MlpConfig,
        seed: u64,
    ) -> Mlp {
        assert_eq!(xs.len(), ys.len());
        let h = cfg.hidden.max(1);
        let mut rows = vec![u32::MAX; df.len()];
        let mut kept = 0u32;
        for (r, &d) in rows.iter_mut().zip(df) {
            if d >= cfg.min_df {
                *r = kept;
                kept += 1;
            }
        }
        let mut rng = Rng::new(seed ^ 0x0000_6d6c_705f_u64);
        let mut uniform = |a: f32| {
            let u = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * u - 1.0) * a
        };
        let w1: Vec<f32> = (0..kept as usize * h).map(|_| uniform(cfg.init)).collect();
        let a2 = (6.0 / (h + classes) as f32).sqrt();
        let w2: Vec<f32> = (0..classes * h).map(|_| uniform(a2)).collect();
        let mut net = Mlp {
            hidden: h,
            classes,
            rows,
            w1,
            b1: vec![0.0; h],
            w2,
            b2: vec![0.0; classes],
            w2t: Vec::new(),
        };
        let n = xs.len().max(1);
        let inputs: Vec<Vec<(usize, f32)>> = xs.iter().map(|x| net.inputs(x)).collect();
        let mut order: Vec<usize> = (0..n.min(xs.len())).collect();
        let mut rng = Rng::new(seed ^ 0x0000_0000_6f72_6472);
        let mut act = vec![0f32; h];
        let mut grad_h = vec![0f32; h];
        let mut out = vec![0f32; classes];
        let epochs = cfg.epochs.max((cfg.min_steps / n).min(60));
        let mut t = 0usize;
        let mut sq = vec![0f32; kept as usize];
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let x = &inputs[i];
                let y = ys[i] as usize;
                let rate = cfg.rate / (1.0 + t as f32 / n as f32);
                t += 1;
                net.forward(x, &mut act, &mut out);
                softmax(&mut out);
                out[y] -= 1.0;
                grad_h.iter_mut().for_each(|g| *g = 0.0);
                let keep = 1.0 - rate * cfg.decay;
                for (k, &g) in out.iter().enumerate() {
                    if g.abs() < SKIP {
                        continue;
                    }
                    let w = &mut net.w2[k * h..(k + 1) * h];
                    for ((gh, wk), a) in grad_h.iter_mut().zip(w.iter_mut()).zip(&act) {
                        *gh += g * *wk;
                        *wk = *wk * keep - rate * g * a;
                    }
                    net.b2[k] -= rate * g;
                }
                // Through the rectifier: no gradient where the unit was off.
                for (gh, a) in grad_h.iter_mut().zip(&act) {
                    if *a <= 0.0 {
                        *gh = 0.0;
                    }
                }
                let g2 = if cfg.adagrad > 0.0 {
                    grad_h.iter().map(|g| g * g).sum::<f32>() / h as f32
                } else {
                    0.0
                };
                for &(row, v) in x {
                    let w = &mut net.w1[row * h..(row + 1) * h];
                    let s = if cfg.adagrad > 0.0 {
                        sq[row] += g2 * v * v;
                        cfg.adagrad * v / (sq[row].sqrt() + 1e-6)
                    } else {
                        rate * v
                    };
                    for (wk, gh) in w.iter_mut().zip(&grad_h) {
                        *wk -= s * gh;
                    }
                }
                for (b, gh) in net.b1.iter_mut().zip(&grad_h) {
                    *b -= rate * gh;
                }
            }
        }
        net.w2t = (0..h)
            .flat_map(|j| (0..classes).map(move |k| (k, j)))
            .map(|(k, j)| net.w2[k * h + j])
            .collect();
        net
    }

    /// The rows and values of `x`'s features that have hidden weights.
    fn inputs(&self, x: &Sparse) -> Vec<(usize, f32)> {
        x.iter()
            .filter_map(|&(f, v)| {
                let r = *self.rows.get(f as usize)?;
                (r != u32::MAX).then_some((r as usize, v))
            })
            .collect()
    }

    /// Hidden activations into `act`, logits into `out`.
    fn forward(&self, x: &[(usize, f32)], act: &mut [f32], out: &mut [f32]) {
        let h = self.hidden;
        act.copy_from_slice(&self.b1);
        for &(row, v) in x {
            let w = &self.w1[row * h..(row + 1) * h];
            for (a, wk) in act.iter_mut().zip(w) {
                *a += v * wk;
            }
        }
        act.iter_mut().for_each(|a| *a = a.max(0.0));
        for (k, o) in out.iter_mut().enumerate() {
            let w = &self.w2[k * h..(k + 1) * h];
            *o = self.b2[k] + w.iter().zip(act.iter()).map(|(w, a)| w * a).sum::<f32>();
        }
    }

    /// The logits of `x` into `out` (one per entry): the same figures as training's forward
    /// pass, computed in an order that runs faster. Training sums each entry's `hidden`
    /// products one after the other, a chain no processor can run in parallel; here every
    /// entry's sum takes the same steps in the same order, but the entries advance together
    /// (one hidden unit at a time over the unit-major copy of the weights), which the compiler
    /// turns into vector instructions. Units the rectifier switched off add nothing and are
    /// skipped. Measured on the example bot: 3 networks of 64 units over 32 entries, 12 µs →
    /// 3 µs a question.
    pub fn logits(&self, x: &Sparse, out: &mut [f32]) {
        let h = self.hidden;
        let mut act = self.b1.clone();
        for (f, v) in x {
            let Some(&row) = self.rows.get(*f as usize) else {
                continue;
            };
            if row == u32::MAX {
                continue;
            }
            let w = &self.w1[row as usize * h..(row as usize + 1) * h];
            for (a, wk) in act.iter_mut().zip(w) {
                *a += v * wk;
            }
        }
        // As `Iterator::sum` starts.
        out.iter_mut().for_each(|o| *o = -0.0);
        for (j, &a) in act.iter().enumerate() {
            if a <= 0.0 {
                continue;
            }
            let w = &self.w2t[j * self.classes..(j + 1) * self.classes];
            for (o, wk) in out.iter_mut().zip(w) {
                *o += wk * a;
            }
        }
        for (o, b) in out.iter_mut().zip(&self.b2) {
            *o += b;
        }
    }

    /// How many weights.
    pub fn weights(&self) -> usize {
        self.w1.len() + self.w2.len()
    }
}

impl std::fmt::Debug for Mlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Mlp({} hidden, {} classes, {} weights)",
            self.hidden,
            self.classes,
            self.weights()
        )
    }
}

impl Mlp {
    /// Writes the trained network ([`super::saved`]).
    pub(crate) fn save(&self, o: &mut Out) {
        let Mlp {
            hidden,
            classes,
            rows,
            w1,
            b1,
            w2,
            b2,
            w2t,
        } = self;
        o.usize(*hidden);
        o.usize(*classes);
        o.u32s(rows);
        o.f32s(w1);
        o.f32s(b1);
        o.f32s(w2);
        o.f32s(b2);
        o.f32s(w2t);
    }

    /// Reads what [`Mlp::save`] wrote.
    pub(crate) fn restore(i: &mut In<'_>) -> Result<Mlp, Refused> {
        let mlp = Mlp {
            hidden: i.usize()?,
            classes: i.usize()?,
            rows: i.u32s()?,
            w1: i.f32s()?,
            b1: i.f32s()?,
            w2: i.f32s()?,
            b2: i.f32s()?,
            w2t: i.f32s()?,
        };
        let rows = mlp.rows.iter().filter(|&&r| r != u32::MAX).count();
        if mlp.b1.len() != mlp.hidden
            || mlp.b2.len() != mlp.classes
            || mlp.w1.len() != rows * mlp.hidden
            || mlp.w2.len() != mlp.hidden * mlp.classes
            || mlp.w2t.len() != mlp.w2.len()
        {
            return Err(Refused("a network's sizes do not agree".into()));
        }
        Ok(mlp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_problem_no_linear_model_can_the_same_way_twice() {
        // Exclusive or: class 1 when exactly one of features 0 and 1 is on. Feature 2 is always
        // on (a bias the network must not rely on).
        let xs: Vec<Sparse> = vec![
            vec![(2, 1.0)],
            vec![(0, 1.0), (2, 1.0)],
            vec![(1, 1.0), (2, 1.0)],
            vec![(0, 1.0), (1, 1.0), (2, 1.0)],
        ];
        let ys = [0, 1, 1, 0];
        let df = [2, 2, 4];
        let cfg = MlpConfig {
            hidden: 8,
            epochs: 200,
            min_df: 1,
            ..MlpConfig::default()
        };
        let a = Mlp::train(&xs, &ys, &df, 2, cfg, 7);
        let b = Mlp::train(&xs, &ys, &df, 2, cfg, 7);
        assert_eq!(a.w1, b.w1);
        assert_eq!(a.w2, b.w2);
        let mut out = [0.0; 2];
        for (x, &y) in xs.iter().zip(&ys) {
            a.logits(x, &mut out);
            let best = usize::from(out[1] > out[0]);
            assert_eq!(best, y as usize, "{x:?}: {out:?}");
        }
    }

    #[test]
    fn answering_gives_the_figures_of_the_training_pass() {
        // Random sparse questions over 50 features, 7 entries: `logits` (entries together,
        // switched-off units skipped) against `forward` (one entry after the other).
        let mut rng = Rng::new(3);
        let mut next = |n: u64| (rng.next_u64() % n) as u32;
        let xs: Vec<Sparse> = (0..200)
            .map(|_| {
                let mut x: Vec<(u32, f32)> = (0..1 + next(6))
                    .map(|_| (next(50), 0.25 + next(4) as f32 * 0.25))
                    .collect();
                x.sort_by_key(|p| p.0);
                x.dedup_by_key(|p| p.0);
                x
            })
            .collect();
        let ys: Vec<u32> = (0..xs.len()).map(|_| next(7)).collect();
        let df = vec![3; 50];
        let cfg = MlpConfig {
            hidden: 24,
            epochs: 5,
            min_steps: 0,
            ..MlpConfig::default()
        };
        let net = Mlp::train(&xs, &ys, &df, 7, cfg, 11);
        let (mut act, mut slow, mut fast) = (vec![0.0; 24], vec![0.0; 7], vec![0.0; 7]);
        let mut switched_off = 0;
        for x in &xs {
            net.forward(&net.inputs(x), &mut act, &mut slow);
            switched_off += act.iter().filter(|&&a| a == 0.0).count();
            net.logits(x, &mut fast);
            // Equal as numbers (a zero may differ in sign only).
            assert_eq!(slow, fast, "{x:?}");
        }
        assert!(switched_off > 0, "the skipped units were tried");
    }

    #[test]
    fn rare_features_have_no_weights() {
        let xs: Vec<Sparse> = vec![vec![(0, 1.0), (1, 1.0)], vec![(0, 1.0)]];
        let net = Mlp::train(&xs, &[0, 1], &[2, 1], 2, MlpConfig::default(), 1);
        assert_eq!(net.rows, vec![0, u32::MAX]);
        assert_eq!(net.w1.len(), net.hidden);
    }
}
