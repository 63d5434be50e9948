//! The matcher: from a question to ranked FAQ entries and a confidence.
//!
//! Trained at load from the bot's own questions:
//!
//! 1. every question is analysed in its language ([`Analysis`]);
//! 2. a [`FeatureSpace`] numbers and weights the word and character features, and a
//!    multinomial logistic regression ([`Classifier`]) and three small networks ([`Mlp`]) learn
//!    them, side by side on threads of their own;
//! 3. a BM25 index ([`Bm25`]) holds the questions' content words;
//! 4. the vocabulary goes into an `fst` map for typo correction ([`Vocabulary`]).
//!
//! Asked a question, it corrects unknown words, computes the classifier's probabilities `p`,
//! the networks' `q` (the geometric mean of theirs) and the BM25 similarity of each entry (its
//! best question, relative to a perfect match), and combines them: `score(e) ∝ p(e) · q(e)^β ·
//! exp(γ · sim(e))`. The confidence is a calibrated function of the first two combined scores
//! and of whether BM25 and the networks agree on the first entry ([`CALIBRATION`]). Everything
//! is deterministic.

use std::collections::BTreeMap;

use super::bm25::{self, Bm25, ByEntry};
use super::classifier::{softmax, Classifier, TrainConfig};
use super::features::{self, Analysis, FeatureConfig, FeatureSpace, HashedMap};
use super::lang::{self, Lang, Stemmers};
use super::mlp::{self, Mlp, MlpConfig};
use super::normalise::{normalise, tokens, TokenKind};
use super::prototypes::{PrototypeConfig, Prototypes, CANDIDATE_POOL, RIVALS};
use super::saved::{self, In, Out, Refused};
use super::typo::Vocabulary;

/// One training question.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    /// The entry it belongs to.
    pub entry: u32,
    /// The question.
    pub text: String,
    /// Its language, when the bot file says; detected otherwise.
    pub lang: Option<Lang>,
}

/// Settings of the matcher; the defaults are the measured ones (docs/faq.md).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Classifier training.
    pub(crate) train: TrainConfig,
    /// Weight of the BM25 similarity in the combined score.
    pub gamma: f32,

    /// Weight of the character block against the word block.
    pub char_weight: f32,
    /// Whether unknown words are corrected.
    pub typos: bool,
    /// Which features questions yield.
    pub(crate) features: FeatureConfig,
    /// Whether each entry's id is learnt as one more question.
    pub ids: bool,
    /// Weight of the margin model's scores in the combined score (0: no margin model).
    pub margin: f32,
    /// Aggressiveness of the margin model.
    pub margin_c: f32,
    /// Passes of the margin model.
    pub margin_epochs: usize,
    /// The idf damping (0: chosen from the questions per entry, see [`idf_power`]).
    pub idf: f32,
    /// Which model: 0 chooses by size ([`dense_fits`]), 1 always prototypes, -1 never.
    pub prototypes: i8,
    /// Prototype training (large bots).
    pub(crate) proto: PrototypeConfig,
    /// Weight of the network's log-probabilities in the combined score (0: no network).
    pub mlp: f32,
    /// Network training.
    pub(crate) net: MlpConfig,
    /// How much of the weight of a question's unknown features counts in its length (see
    /// [`FeatureSpace::vector`]; dense model only).
    pub unknown: f32,
    /// Whether the confidence reads whether the models agree ([`CALIBRATION`]), or always only
    /// the first two scores ([`PLAIN_CALIBRATION`]).
    pub agree: bool,
}

impl Options {
    /// Sets one option from `name=value` (for measuring other settings with `frontdesk eval`).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (k, v) = spec
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=VALUE, found `{spec}`"))?;
        let f: f32 = v
            .parse()
            .map_err(|_| format!("`{v}` is not a number (in `{spec}`)"))?;
        match k {
            "gamma" => self.gamma = f,
            "char_weight" => self.char_weight = f,
            "typos" => self.typos = f != 0.0,
            "ids" => self.ids = f != 0.0,
            "char_min" => self.features.char_min = f as usize,
            "char_max" => self.features.char_max = f as usize,
            "across" => self.features.across = f != 0.0,
            "triples" => self.features.triples = f != 0.0,
            "surface" => self.features.surface = f != 0.0,
            "c" => self.train.c = f,
            "epochs" => self.train.epochs = f as usize,
            "rate" => self.train.rate = f,
            "avg" => self.train.average = f as usize,
            "balance" => self.train.balance = f,
            "skip" => self.features.skip = f != 0.0,
            "margin" => self.margin = f,
            "margin_c" => self.margin_c = f,
            "margin_epochs" => self.margin_epochs = f as usize,
            "idf" => self.idf = f,
            "prototypes" => self.prototypes = f as i8,
            "proto_scale" => self.proto.scale = f,
            "proto_epochs" => self.proto.epochs = f as usize,
            "proto_train_scale" => self.proto.train_scale = f,
            "proto_rate" => self.proto.rate = f,
            "mlp" => self.mlp = f,
            "mlp_hidden" => self.net.hidden = f as usize,
            "mlp_epochs" => self.net.epochs = f as usize,
            "mlp_min_steps" => self.net.min_steps = f as usize,
            "mlp_rate" => self.net.rate = f,
            "mlp_init" => self.net.init = f,
            "mlp_min_df" => self.net.min_df = f as u32,
            "mlp_decay" => self.net.decay = f,
            "mlp_nets" => self.net.nets = f as usize,
            "mlp_adagrad" => self.net.adagrad = f,
            "unknown" => self.unknown = f,
            "agree" => self.agree = f > 0.0,
            _ => return Err(format!("unknown matcher option `{k}`")),
        }
        Ok(())
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            train: TrainConfig::default(),
            gamma: 2.0,
            char_weight: 1.4,
            typos: true,
            features: FeatureConfig::default(),
            ids: true,
            margin: 0.0,
            margin_c: 0.1,
            margin_epochs: 10,
            idf: 0.0,
            prototypes: 0,
            proto: PrototypeConfig::default(),
            mlp: 0.7,
            net: MlpConfig::default(),
            unknown: 0.25,
            agree: true,
        }
    }
}

/// The matcher of one bot; immutable once trained.
pub(crate) struct Matcher {
    stemmers: Stemmers,
    space: FeatureSpace,
    model: Model,
    index: Bm25,
    vocabulary: Vocabulary,
    /// Word or pair of words (hashed, normalised) → the languages whose questions use it, as bits.
    word_langs: HashedMap<u8>,
    doc_entry: Vec<u32>,
    entries: usize,
    languages: Vec<Lang>,
    default: Lang,
    options: Options,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("entries", &self.entries())
            .field("questions", &self.doc_entry.len())
            .field("space", &self.space)
            .field("model", &self.model)
            .field("index", &self.index)
            .field("vocabulary", &self.vocabulary)
            .field("languages", &self.languages)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Stemmers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stemmers")
    }
}

/// What scores the entries.
#[derive(Debug)]
enum Model {
    /// Bots of up to a few hundred entries: logistic regression over every entry (and the
    /// margin model, when on).
    Dense {
        classifier: Classifier,
        margin: Option<Classifier>,
        nets: Vec<Mlp>,
    },
    /// Larger bots: the entries BM25 proposes, scored by their prototypes.
    Prototypes(Prototypes, ByEntry),
}

/// The most weights (features × entries) a dense model may have: 2²⁵, 128 MiB of `f32`.
const DENSE_WEIGHTS: usize = 1 << 25;

/// The most training work (passes × questions × entries) a dense model may take: 2²⁶, some
/// two seconds on one core.
const DENSE_WORK: usize = 1 << 26;

/// Whether a bot of `features`, `questions` and `entries` is trained densely: BANKING77
/// (120k features, 10k questions, 77 entries) and ArBanking77 (21.5k questions) are; a bot of
/// 10,000 entries is not.
fn dense_fits(features: usize, questions: usize, entries: usize, epochs: usize) -> bool {
    features.saturating_mul(entries) <= DENSE_WEIGHTS
        && epochs.saturating_mul(questions).saturating_mul(entries) <= DENSE_WORK
}

thread_local! {
    static SCRATCH: std::cell::RefCell<bm25::Scratch> = std::cell::RefCell::new(bm25::Scratch::default());
}

/// Trains the regression and `nets` networks, side by side on threads of their own. Each model
/// is trained by one thread in a fixed order, so the result is the same however the threads run
/// (and when a thread cannot be started, its network is trained on this one).
fn train_dense(
    xs: &[features::Sparse],
    ys: &[u32],
    space: &FeatureSpace,
    entries: usize,
    nets: usize,
    options: &Options,
) -> (Classifier, Vec<Mlp>) {
    let net = |k: usize| {
        let seed = options.train.seed.wrapping_add(k as u64);
        Mlp::train(xs, ys, space.df(), entries, options.net, seed)
    };
    std::thread::scope(|s| {
        let started: Vec<_> = (0..nets)
            .map(|k| {
                std::thread::Builder::new()
                    .name(format!("faq-net-{k}"))
                    .spawn_scoped(s, move || net(k))
                    .map_err(|_| k)
            })
            .collect();
        let classifier = Classifier::train(xs, ys, space.len(), entries, options.train);
        let nets = started
            .into_iter()
            .map(|t| match t {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(k) => net(k),
            })
            .collect();
        (classifier, nets)
    })
}

/// What the matcher makes of a question.
#[derive(Debug, Clone)]
pub(crate) struct Ranking {
    /// The language the question was read in.
    pub lang: Lang,
    /// The best entries (at most 3), best first, with their combined probability.
    pub candidates: Vec<(u32, f32)>,
    /// How sure the matcher is of the first candidate, in `[0, 1]`.
    pub confidence: f32,
    /// What the confidence is computed from ([`Signals`]).
    pub signals: Signals,
}

/// What the confidence of a ranking is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// The first candidate's combined probability, `p₁`.
    pub top: f32,
    /// Its margin over the second, `p₁ − p₂`.
    pub margin: f32,
    /// The first candidate's BM25 similarity.
    pub sim: f32,
    /// 1 when BM25 alone has one best entry and it is the first candidate, else 0.
    pub bm25_agrees: f32,
    /// The share of the networks whose own first choice is the first candidate (1 without
    /// networks).
    pub nets_agree: f32,
    /// How many of the question's content words (BM25 terms) are in the first candidate's
    /// questions. The agreement signals are read only when the answer rests on two or more:
    /// with one word, every model reads the question as that word and agrees.
    pub shared_terms: f32,
}

impl Signals {
    /// As written by `frontdesk eval --signals`, for `docs/fit_calibration.py`.
    pub fn to_csv(self) -> String {
        format!(
            "{},{},{},{},{},{}",
            self.top, self.margin, self.sim, self.bm25_agrees, self.nets_agree, self.shared_terms
        )
    }
}

/// Calibration of the confidence over the [`Signals`], as `[a, b, c, d, e]`:
/// `σ(a·logit(p₁) + b·(p₁ − p₂) + c·bm25_agrees + d·nets_agree + e)`, for a first candidate
/// that shares two or more words with the question ([`PLAIN_CALIBRATION`] otherwise). Fitted by
/// logistic regression on whether the first candidate was right, over BANKING77
/// leave-10-intents-out runs (all, 30 and 10 questions per intent; left-out questions count as
/// wrong; the 98 % of questions with two shared words), seed 1; checked on seed 2, where each
/// tenth of the scale holds the share of right answers it says (docs/faq.md). When the
/// regression, the networks and BM25 disagree on the first entry, it is less often right, and
/// a question of an intent the bot lacks is refused more often.
const CALIBRATION: [f32; 5] = [0.42994, 0.24112, 0.97776, 0.75832, -1.54669];

/// The same on the first two signals only, fitted on all the questions: for answers that rest
/// on one shared word, and for `--set agree=0`.
const PLAIN_CALIBRATION: [f32; 5] = [0.47885, 0.86338, 0.0, 0.0, -0.88771];

/// The same for the prototypes of large bots, whose scores are flatter: fitted the same way
/// on runs with the prototypes forced (`--set prototypes=1`), on the first two signals only;
/// on seed 2 each tenth of the scale again holds about its share of right answers
/// (docs/faq.md).
const PROTOTYPE_CALIBRATION: [f32; 5] = [0.49036, 4.60138, 0.0, 0.0, 0.55344];

/// The calibrated probability that the first candidate is right.
fn calibrated(s: Signals, c: &[f32; 5]) -> f32 {
    let p = s.top.clamp(1e-6, 1.0 - 1e-6);
    let z = c[0] * (p / (1.0 - p)).ln()
        + c[1] * s.margin
        + c[2] * s.bm25_agrees
        + c[3] * s.nets_agree
        + c[4];
    1.0 / (1.0 + (-z).exp())
}

/// 1 when `sim` has a single highest value, above 0, at `entry`; else 0.
fn single_best(sim: &[f32], entry: u32) -> f32 {
    let mine = sim.get(entry as usize).copied().unwrap_or(0.0);
    let beaten = sim
        .iter()
        .enumerate()
        .any(|(e, &s)| e != entry as usize && s >= mine);
    f32::from(u8::from(mine > 0.0 && !beaten))
}

/// The index of the highest value (the first of equals).
fn first(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// What tells languages apart: words, and pairs of neighbouring words (Norwegian "pakken min",
/// Danish "min pakke").
fn language_keys(words: &[&str]) -> Vec<u64> {
    let mut keys: Vec<u64> = words.iter().map(|w| features::word_key(w)).collect();
    keys.extend(words.windows(2).map(|p| features::pair_key(p[0], p[1])));
    keys
}

/// How much of the inverse document frequency to keep: with few questions per entry, whether a
/// word is rare is mostly chance, so the weights are damped (square roots at 20 questions per
/// entry or fewer, full weights from 40). Measured: BANKING77 with 10 questions per intent
/// 77.8 % → 78.4 %, with 30 86.5 % → 86.6 %; no change with all questions.
fn idf_power(questions: usize, entries: usize) -> f32 {
    let per_entry = questions as f32 / entries.max(1) as f32;
    (per_entry / 40.0).clamp(0.5, 1.0)
}

/// At most this many unknown words of one question are looked up for a correction.
const MAX_CORRECTIONS: usize = 16;

/// How many candidates a ranking keeps.
pub const CANDIDATES: usize = 3;

impl Matcher {
    /// Trains on `examples` whose entries are below `entries`.
    pub fn train(
        examples: &[Example],
        entries: usize,
        languages: &[Lang],
        default: Lang,
        options: Options,
    ) -> Matcher {
        let stemmers = Stemmers::new();
        let analyses: Vec<Analysis> = examples
            .iter()
            .map(|e| {
                let lang = e
                    .lang
                    .unwrap_or_else(|| lang::detect(&e.text, languages, default));
                Analysis::new(&e.text, lang, &stemmers, |_| None)
            })
            .collect();
        let features: Vec<_> = analyses
            .iter()
            .map(|a| a.features(&options.features))
            .collect();
        let mut space = FeatureSpace::learn(
            &features,
            options.char_weight,
            if options.idf > 0.0 {
                options.idf
            } else {
                idf_power(examples.len(), entries)
            },
        );
        let xs: Vec<_> = features.iter().map(|f| space.vector(f)).collect();
        let ys: Vec<u32> = examples.iter().map(|e| e.entry).collect();
        let docs: Vec<Vec<u64>> = analyses.iter().map(Analysis::index_terms).collect();
        let index = Bm25::build(&docs);
        let dense = match options.prototypes {
            1 => false,
            -1 => true,
            _ => dense_fits(space.len(), xs.len(), entries, options.train.epochs),
        };
        // Questions' unknown features count in their length for the dense model, where it was
        // measured (docs/faq.md); the prototypes of large bots were calibrated without.
        if dense {
            space.unknown = options.unknown;
        }
        // Each question is trained against the entries BM25 finds for it: those it is most
        // easily mistaken for.
        let by_entry = || index.by_entry(&ys, entries);
        let train_prototypes = |by_entry: &ByEntry| {
            let mut scratch = bm25::Scratch::default();
            let rivals: Vec<Vec<u32>> = docs
                .iter()
                .map(|terms| {
                    by_entry
                        .best(&index, terms, RIVALS + 1, &mut scratch)
                        .iter()
                        .map(|&(e, _)| e)
                        .collect()
                })
                .collect();
            Prototypes::train(
                &xs,
                &ys,
                entries,
                &rivals,
                options.proto,
                options.train.seed,
            )
        };
        let model = if dense {
            let margin = (options.margin > 0.0).then(|| {
                Classifier::train_margin(
                    &xs,
                    &ys,
                    space.len(),
                    entries,
                    options.margin_epochs,
                    options.margin_c,
                    options.train.seed,
                )
            });
            // The networks get the same bound on their weights as the regression; a bot
            // beyond it (many features, such as one with long questions in many languages)
            // goes without them.
            let nets = if options.mlp > 0.0
                && options.net.hidden > 0
                && mlp::size(space.df(), entries, &options.net) <= DENSE_WEIGHTS
            {
                options.net.nets.max(1)
            } else {
                0
            };
            let (classifier, nets) = train_dense(&xs, &ys, &space, entries, nets, &options);
            Model::Dense {
                classifier,
                margin,
                nets,
            }
        } else {
            let by_entry = by_entry();
            Model::Prototypes(train_prototypes(&by_entry), by_entry)
        };
        let mut word_langs: HashedMap<u8> = HashedMap::default();
        for (e, a) in examples.iter().zip(&analyses) {
            let Some(l) = e.lang else { continue };
            let words: Vec<&str> = a
                .terms
                .iter()
                .filter(|t| t.kind == TokenKind::Word)
                .map(|t| t.surface.as_str())
                .collect();
            for key in language_keys(&words) {
                *word_langs.entry(key).or_default() |= 1 << l as u8;
            }
        }
        let mut words: BTreeMap<String, u64> = BTreeMap::new();
        for a in &analyses {
            let mut seen: Vec<&str> = a
                .terms
                .iter()
                .filter(|t| t.kind == TokenKind::Word)
                .map(|t| t.surface.as_str())
                .collect();
            seen.sort_unstable();
            seen.dedup();
            for w in seen {
                *words.entry(w.to_string()).or_default() += 1;
            }
        }
        Matcher {
            stemmers,
            space,
            model,
            index,
            entries,
            vocabulary: Vocabulary::new(&words),
            word_langs,
            doc_entry: ys,
            languages: languages.to_vec(),
            default,
            options,
        }
    }

    /// The trained parts as bytes ([`super::saved`]): everything training computes; the
    /// languages and settings are the bot's, which its fingerprint covers.
    pub fn save(&self) -> Vec<u8> {
        let Matcher {
            stemmers: _,
            space,
            model,
            index,
            vocabulary,
            word_langs,
            doc_entry,
            entries,
            languages: _,
            default: _,
            options: _,
        } = self;
        let mut o = Out::default();
        space.save(&mut o);
        match model {
            Model::Dense {
                classifier,
                margin,
                nets,
            } => {
                o.u8(0);
                classifier.save(&mut o);
                match margin {
                    None => o.u8(0),
                    Some(m) => {
                        o.u8(1);
                        m.save(&mut o);
                    }
                }
                o.list(nets, |o, n| n.save(o));
            }
            Model::Prototypes(prototypes, by_entry) => {
                o.u8(1);
                prototypes.save(&mut o);
                by_entry.save(&mut o);
            }
        }
        index.save(&mut o);
        vocabulary.save(&mut o);
        o.map(word_langs, |o, &l| o.u8(l));
        o.u32s(doc_entry);
        o.usize(*entries);
        o.into_bytes()
    }

    /// A matcher read back from [`Matcher::save`]'s bytes, for a bot with these languages and
    /// settings; the same as the one trained, so it answers alike.
    pub fn restore(
        body: In<'_>,
        languages: &[Lang],
        default: Lang,
        options: Options,
    ) -> Result<Matcher, Refused> {
        saved::read_all(body, |i| {
            let space = FeatureSpace::restore(i)?;
            let model = match i.u8()? {
                0 => Model::Dense {
                    classifier: Classifier::restore(i)?,
                    margin: match i.u8()? {
                        0 => None,
                        _ => Some(Classifier::restore(i)?),
                    },
                    nets: i.list(Mlp::restore)?,
                },
                1 => Model::Prototypes(Prototypes::restore(i)?, ByEntry::restore(i)?),
                other => return Err(Refused(format!("unknown model kind {other}"))),
            };
            Ok(Matcher {
                stemmers: Stemmers::new(),
                space,
                model,
                index: Bm25::restore(i)?,
                vocabulary: Vocabulary::restore(i)?,
                word_langs: i.map(|i| i.u8())?,
                doc_entry: i.u32s()?,
                entries: i.usize()?,
                languages: languages.to_vec(),
                default,
                options,
            })
        })
    }

    /// How many entries.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Ranks the entries for `question`. Its language is detected among the bot's; `hint` (the
    /// customer's language, when known) decides when detection is unsure.
    pub fn rank(&self, question: &str, hint: Option<Lang>) -> Ranking {
        let norm = normalise(question);
        let lang = lang::detect_with(
            question,
            &self.languages,
            hint.unwrap_or(self.default),
            |candidates| self.vote(&norm, candidates),
        );
        let mut tries = 0;
        let analysis = Analysis::of_normalised(&norm, lang, &self.stemmers, |w| {
            // Each try searches the vocabulary; a long question of unknown words stops here.
            if !self.options.typos || tries >= MAX_CORRECTIONS || self.vocabulary.contains(w) {
                return None;
            }
            tries += 1;
            self.vocabulary.correct(w)
        });
        let x = self
            .space
            .vector(&analysis.features(&self.options.features));
        // (entry, combined probability, BM25 similarity), best first, at most CANDIDATES; and
        // the agreement signals.
        let (scored, mut signals) = match &self.model {
            Model::Dense {
                classifier,
                margin,
                nets,
            } => self.rank_dense(&analysis, &x, classifier, margin.as_ref(), nets),
            Model::Prototypes(p, by_entry) => self.rank_prototypes(&analysis, &x, p, by_entry),
        };
        let candidates: Vec<(u32, f32)> = scored.iter().map(|&(e, p, _)| (e, p)).collect();
        let top = candidates.first().map_or(0.0, |c| c.1);
        let second = candidates.get(1).map_or(0.0, |c| c.1);
        signals.top = top;
        signals.margin = top - second;
        signals.sim = scored.first().map_or(0.0, |c| c.2);
        let confidence = if x.is_empty() {
            0.0
        } else {
            let c = match self.model {
                Model::Dense { .. } if self.options.agree && signals.shared_terms >= 2.0 => {
                    &CALIBRATION
                }
                Model::Dense { .. } => &PLAIN_CALIBRATION,
                Model::Prototypes(..) => &PROTOTYPE_CALIBRATION,
            };
            calibrated(signals, c)
        };
        Ranking {
            lang,
            candidates,
            confidence: confidence.clamp(0.0, 1.0),
            signals,
        }
    }

    /// Every entry scored by the classifier, the networks and BM25; with whether BM25 and the
    /// networks agree on the first.
    fn rank_dense(
        &self,
        analysis: &Analysis,
        x: &features::Sparse,
        classifier: &Classifier,
        margin: Option<&Classifier>,
        nets: &[Mlp],
    ) -> (Vec<(u32, f32, f32)>, Signals) {
        let n = self.entries();
        let mut probs = vec![0f32; n];
        classifier.logits(x, &mut probs);
        softmax(&mut probs);
        let terms = analysis.index_terms();
        let sim = self.similarity(&terms);
        let mut combined: Vec<f32> = probs
            .iter()
            .zip(&sim)
            .map(|(p, s)| p.max(1e-30).ln() + self.options.gamma * s)
            .collect();
        if let Some(m) = margin {
            let mut scores = vec![0f32; n];
            m.logits(x, &mut scores);
            for (c, s) in combined.iter_mut().zip(&scores) {
                *c += self.options.margin * s;
            }
        }
        let share = self.options.mlp / nets.len().max(1) as f32;
        let mut q = vec![0f32; n];
        let mut firsts = Vec::with_capacity(nets.len());
        for net in nets {
            net.logits(x, &mut q);
            softmax(&mut q);
            firsts.push(first(&q));
            for (c, q) in combined.iter_mut().zip(&q) {
                *c += share * q.max(1e-30).ln();
            }
        }
        softmax(&mut combined);
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| {
            combined[b as usize]
                .total_cmp(&combined[a as usize])
                .then(a.cmp(&b))
        });
        order.truncate(CANDIDATES);
        let best = order.first().copied().unwrap_or(0);
        let shared_terms =
            self.index
                .terms_in(&terms, |d| self.doc_entry[d as usize] == best) as f32;
        let signals = Signals {
            shared_terms,
            bm25_agrees: single_best(&sim, best),
            nets_agree: if firsts.is_empty() {
                1.0
            } else {
                firsts.iter().filter(|&&f| f == best).count() as f32 / firsts.len() as f32
            },
            ..Signals::default()
        };
        let scored = order
            .iter()
            .map(|&e| (e, combined[e as usize], sim[e as usize]))
            .collect();
        (scored, signals)
    }

    /// The entries BM25 proposes, scored by their prototypes and BM25; the others count as
    /// improbable (probability 0).
    fn rank_prototypes(
        &self,
        analysis: &Analysis,
        x: &features::Sparse,
        prototypes: &Prototypes,
        by_entry: &ByEntry,
    ) -> (Vec<(u32, f32, f32)>, Signals) {
        let pool = SCRATCH.with(|s| {
            by_entry.best(
                &self.index,
                &analysis.index_terms(),
                CANDIDATE_POOL,
                &mut s.borrow_mut(),
            )
        });
        let mut found = Vec::with_capacity(x.len());
        let mut combined: Vec<f32> = pool
            .iter()
            .map(|&(e, sim)| prototypes.score(x, e, &mut found) + self.options.gamma * sim)
            .collect();
        softmax(&mut combined);
        let mut scored: Vec<(u32, f32, f32)> = pool
            .iter()
            .zip(&combined)
            .map(|(&(e, sim), &p)| (e, p, sim))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(CANDIDATES);
        // The agreement signals are not used by the prototypes' calibration.
        (scored, Signals::default())
    }

    /// The languages among `candidates` whose questions share the most words with the
    /// normalised question `norm` (none when no word is known).
    fn vote(&self, norm: &str, candidates: &[Lang]) -> Vec<Lang> {
        let words: Vec<&str> = tokens(norm)
            .into_iter()
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text)
            .collect();
        let mut counts = [0usize; Lang::ALL.len()];
        for key in language_keys(&words) {
            if let Some(&mask) = self.word_langs.get(&key) {
                for l in candidates {
                    if mask & (1 << *l as u8) != 0 {
                        counts[*l as usize] += 1;
                    }
                }
            }
        }
        let best = candidates
            .iter()
            .map(|l| counts[*l as usize])
            .max()
            .unwrap_or(0);
        if best == 0 {
            return Vec::new();
        }
        candidates
            .iter()
            .copied()
            .filter(|l| counts[*l as usize] == best)
            .collect()
    }

    /// Per entry, the BM25 score of its best question relative to a perfect match.
    fn similarity(&self, terms: &[u64]) -> Vec<f32> {
        let mut sim = vec![0f32; self.entries()];
        if terms.is_empty() {
            return sim;
        }
        let mut acc = vec![0f32; self.index.docs()];
        let perfect = self.index.score(terms, &mut acc);
        if perfect <= 0.0 {
            return sim;
        }
        for (d, s) in acc.iter().enumerate() {
            let e = self.doc_entry[d] as usize;
            if *s > sim[e] {
                sim[e] = *s;
            }
        }
        sim.iter_mut().for_each(|s| *s /= perfect);
        sim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shop bot of 60 entries: (action, product) pairs with three questions each.
    fn shop(prototypes: i8) -> (Matcher, Vec<(String, u32)>) {
        shop_with(Options {
            prototypes,
            ..Options::default()
        })
    }

    /// The same with other settings.
    fn shop_with(options: Options) -> (Matcher, Vec<(String, u32)>) {
        let actions = [
            "cancel", "renew", "return", "repair", "insure", "track", "upgrade", "sell", "lock",
            "share",
        ];
        let products = ["bicycle", "laptop", "sofa", "camera", "kettle", "guitar"];
        let mut examples = Vec::new();
        let mut held_out = Vec::new();
        for (a, action) in actions.iter().enumerate() {
            for (p, product) in products.iter().enumerate() {
                let entry = (a * products.len() + p) as u32;
                for q in [
                    format!("how do I {action} my {product}"),
                    format!("I want to {action} the {product}"),
                    format!("{action} {product} please"),
                ] {
                    examples.push(Example {
                        entry,
                        text: q,
                        lang: Some(Lang::En),
                    });
                }
                held_out.push((format!("can you {action} my {product} today"), entry));
            }
        }
        let n = actions.len() * products.len();
        let matcher = Matcher::train(&examples, n, &[Lang::En], Lang::En, options);
        (matcher, held_out)
    }

    #[test]
    fn small_bots_are_dense_and_large_ones_use_prototypes() {
        assert!(dense_fits(120_000, 10_003, 77, 12));
        assert!(dense_fits(250_000, 21_559, 77, 12));
        assert!(!dense_fits(60_000, 100_000, 10_000, 12));
        assert!(!dense_fits(5_000, 40_000, 4_000, 12));
        let (auto, _) = shop(0);
        assert!(matches!(auto.model, Model::Dense { .. }));
        let (forced, _) = shop(1);
        assert!(matches!(forced.model, Model::Prototypes(..)));
    }

    #[test]
    fn prototypes_answer_like_the_dense_model() {
        for prototypes in [-1, 1] {
            let (matcher, held_out) = shop(prototypes);
            let right = held_out
                .iter()
                .filter(|(q, e)| matcher.rank(q, None).candidates.first().map(|c| c.0) == Some(*e))
                .count();
            assert!(
                right * 10 >= held_out.len() * 9,
                "prototypes={prototypes}: {right} of {} right",
                held_out.len()
            );
            let r = matcher.rank("how do I cancel my bicycle", None);
            assert_eq!(r.candidates[0].0, 0);
            assert!(r.confidence > 0.5, "{r:?}");
            assert!(matcher.rank("zzzz qqqq", None).candidates.is_empty() || prototypes < 0);
        }
    }

    #[test]
    fn bm25_agrees_only_with_a_single_best_entry() {
        assert_eq!(single_best(&[0.1, 0.9, 0.3], 1), 1.0);
        assert_eq!(single_best(&[0.1, 0.9, 0.3], 2), 0.0);
        assert_eq!(
            single_best(&[0.9, 0.9, 0.3], 0),
            0.0,
            "a tie is no agreement"
        );
        assert_eq!(
            single_best(&[0.0, 0.0], 0),
            0.0,
            "no similarity is no agreement"
        );
        assert_eq!(single_best(&[0.5], 3), 0.0);
        assert_eq!(first(&[0.2, 0.7, 0.7]), 1);
    }

    #[test]
    fn agreement_changes_the_confidence_not_the_ranking() {
        let (agree, held_out) = shop(-1);
        let mut options = Options {
            prototypes: -1,
            ..Options::default()
        };
        options.set("agree=0").unwrap();
        let (plain, _) = shop_with(options);
        let mut changed = 0;
        for (q, _) in &held_out {
            let (a, b) = (agree.rank(q, None), plain.rank(q, None));
            assert_eq!(a.candidates, b.candidates, "{q}");
            assert_eq!(a.signals, b.signals, "{q}");
            assert!((0.0..=1.0).contains(&a.confidence));
            changed += usize::from(a.confidence != b.confidence);
            let s = a.signals;
            assert!(s.bm25_agrees == 0.0 || s.bm25_agrees == 1.0, "{s:?}");
            assert!((0.0..=1.0).contains(&s.nets_agree), "{s:?}");
            // "can you cancel my bicycle today": the entry's questions share "cancel" and
            // "bicycle" with it.
            assert!(s.shared_terms >= 2.0, "{q}: {s:?}");
        }
        assert_eq!(changed, held_out.len());
    }

    #[test]
    fn one_shared_word_earns_no_agreement() {
        let (m, _) = shop(-1);
        // Only "guitar" is known: every model picks a guitar entry and they agree, which says
        // nothing about whether it is right, so the two scores alone decide.
        let one = m.rank("who tuned the guitar at the concert yesterday", None);
        assert_eq!(one.signals.shared_terms, 1.0, "{:?}", one.signals);
        assert!(one.signals.nets_agree > 0.0, "{:?}", one.signals);
        assert_eq!(one.confidence, calibrated(one.signals, &PLAIN_CALIBRATION));
        let two = m.rank("who tuned my guitar, can you repair it", None);
        assert!(two.signals.shared_terms >= 2.0, "{:?}", two.signals);
        assert_eq!(two.confidence, calibrated(two.signals, &CALIBRATION));
    }
}
