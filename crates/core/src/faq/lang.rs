//! Languages a bot can speak: codes, detection, stemming and stop words.
//!
//! Detection looks at the script first (Arabic letters → `ar`, Chinese characters → `zh`) and
//! asks `whatlang` only to tell Latin-script languages apart, restricted to the bot's own
//! languages. Stemming is Snowball (`rust-stemmers`); Chinese is not stemmed.

use rust_stemmers::{Algorithm, Stemmer};

/// A language the FAQ matcher knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Norwegian Bokmål.
    Nb,
    /// Danish.
    Da,
    /// Arabic.
    Ar,
    /// Chinese.
    Zh,
}

impl Lang {
    /// Every language, in code order of the docs.
    pub const ALL: &'static [Lang] = &[Lang::En, Lang::Nb, Lang::Da, Lang::Ar, Lang::Zh];

    /// The code written in bot files (`en`, `nb`, `da`, `ar`, `zh`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nb => "nb",
            Lang::Da => "da",
            Lang::Ar => "ar",
            Lang::Zh => "zh",
        }
    }

    /// The codes of every language.
    pub fn codes() -> Vec<&'static str> {
        Lang::ALL.iter().map(|l| l.code()).collect()
    }

    /// The language of an exact code as written in a bot file.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.iter().copied().find(|l| l.code() == code)
    }

    /// The language of a tag a customer or a helpdesk sends (`en-GB`, `nb-NO`, `no`, `nn`,
    /// `zh-Hant`, `ara`...), or `None` when it is none of ours.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        match base_subtag(tag).as_str() {
            "en" | "eng" => Some(Lang::En),
            "nb" | "no" | "nn" | "nob" | "nno" | "nor" => Some(Lang::Nb),
            "da" | "dan" => Some(Lang::Da),
            "ar" | "ara" | "arb" => Some(Lang::Ar),
            "zh" | "zho" | "chi" | "cmn" => Some(Lang::Zh),
            _ => None,
        }
    }

    fn stemmer(self) -> Option<Stemmer> {
        let algorithm = match self {
            Lang::En => Algorithm::English,
            Lang::Nb => Algorithm::Norwegian,
            Lang::Da => Algorithm::Danish,
            Lang::Ar => Algorithm::Arabic,
            Lang::Zh => return None,
        };
        Some(Stemmer::create(algorithm))
    }

    fn whatlang(self) -> whatlang::Lang {
        match self {
            Lang::En => whatlang::Lang::Eng,
            Lang::Nb => whatlang::Lang::Nob,
            Lang::Da => whatlang::Lang::Dan,
            Lang::Ar => whatlang::Lang::Ara,
            Lang::Zh => whatlang::Lang::Cmn,
        }
    }

    fn from_whatlang(l: whatlang::Lang) -> Option<Lang> {
        Lang::ALL.iter().copied().find(|x| x.whatlang() == l)
    }

    /// Whether `word` (normalised) is a stop word of this language.
    pub fn is_stop_word(self, word: &str) -> bool {
        let list = match self {
            Lang::En => STOP_EN,
            Lang::Nb => STOP_NB,
            Lang::Da => STOP_DA,
            Lang::Ar => STOP_AR,
            Lang::Zh => STOP_ZH,
        };
        list.binary_search(&word).is_ok()
    }
}

/// The primary subtag of a language tag, in lower case: `nb` of `nb-NO`, `zh` of `zh_Hant`.
pub fn base_subtag(tag: &str) -> String {
    tag.trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Stemmers of every language, made once.
pub(crate) struct Stemmers {
    by_lang: Vec<Option<Stemmer>>,
}

impl Stemmers {
    pub fn new() -> Stemmers {
        Stemmers {
            by_lang: Lang::ALL.iter().map(|l| l.stemmer()).collect(),
        }
    }

    /// The stem of a normalised word.
    pub fn stem<'w>(&self, lang: Lang, word: &'w str) -> std::borrow::Cow<'w, str> {
        match &self.by_lang[lang as usize] {
            Some(s) => s.stem(word),
            None => std::borrow::Cow::Borrowed(word),
        }
    }
}

/// The `whatlang` confidence from which its answer is taken. (Its own `is_reliable` is hardly
/// ever true between English, Norwegian and Danish, even for a paragraph; below 0.1 it picks
/// Norwegian for "I forgot my password" and Danish for "hello".)
const SURE: f64 = 0.1;

/// The language of `text` among `allowed`; `default` when nothing can be told.
pub fn detect(text: &str, allowed: &[Lang], default: Lang) -> Lang {
    detect_with(text, allowed, default, |_| Vec::new())
}

/// The language of `text` among `allowed`:
///
/// 1. by script: mostly Chinese characters → `zh`, mostly Arabic letters → `ar`;
/// 2. Latin script, when the bot has one Latin-script language: that one;
/// 3. else `vote`, given the Latin-script candidates, narrows them down (the matcher keeps the
///    languages whose questions share the most words with `text`); one left decides;
/// 4. else `whatlang` among those left, when it is sure enough ([`SURE`]);
/// 5. else `default` when it is among them; else `whatlang`'s guess among them.
pub fn detect_with(
    text: &str,
    allowed: &[Lang],
    default: Lang,
    vote: impl FnOnce(&[Lang]) -> Vec<Lang>,
) -> Lang {
    let text = super::normalise::bounded(text);
    let (mut latin, mut arabic, mut han) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        match c as u32 {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F => latin += 1,
            0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => arabic += 1,
            _ if super::normalise::unspaced(c) => han += 1,
            _ => {}
        }
    }
    let pick = |l: Lang| if allowed.contains(&l) { l } else { default };
    if han > 0 && han * 2 >= latin && han >= arabic {
        return pick(Lang::Zh);
    }
    if arabic > 0 && arabic >= latin {
        return pick(Lang::Ar);
    }
    let latin_langs: Vec<Lang> = allowed
        .iter()
        .copied()
        .filter(|l| matches!(l, Lang::En | Lang::Nb | Lang::Da))
        .collect();
    match latin_langs.len() {
        0 => default,
        1 => latin_langs[0],
        _ => {
            let mut left: Vec<Lang> = vote(&latin_langs);
            left.retain(|l| latin_langs.contains(l));
            let narrowed = !left.is_empty();
            if !narrowed {
                left = latin_langs;
            }
            if left.len() == 1 {
                return left[0];
            }
            let detector =
                whatlang::Detector::with_allowlist(left.iter().map(|l| l.whatlang()).collect());
            let guess = detector.detect(text);
            let guessed = guess.as_ref().and_then(|i| Lang::from_whatlang(i.lang()));
            match guess {
                Some(info) if info.confidence() >= SURE && guessed.is_some() => {
                    guessed.unwrap_or(default)
                }
                _ if left.contains(&default) => default,
                _ if narrowed => guessed.unwrap_or(left[0]),
                _ => left[0],
            }
        }
    }
}

// Stop words: short, frequent words that say little about what a question is about. They are
// kept as classifier features (word order and question words matter there) but do not count
// for lexical retrieval, and are never typo-corrected. Sorted, normalised forms.

const STOP_EN: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "get", "got", "had", "has", "have", "hello",
    "hey", "hi", "i", "if", "im", "in", "is", "it", "its", "ive", "me", "my", "of", "on", "or",
    "our", "please", "so", "some", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "to", "us", "was", "we", "were", "will", "with", "would", "you", "your",
];

const STOP_NB: &[&str] = &[
    "at", "av", "de", "dem", "den", "denne", "der", "det", "dette", "du", "eg", "ei", "en", "er",
    "et", "for", "fra", "ha", "hadde", "har", "hei", "her", "hva", "i", "jeg", "kan", "med", "meg",
    "men", "min", "mine", "mitt", "mot", "må", "og", "om", "på", "seg", "selv", "sin", "som",
    "til", "var", "vi", "vil", "å",
];

const STOP_DA: &[&str] = &[
    "af", "at", "de", "dem", "den", "denne", "der", "det", "dette", "din", "du", "en", "er", "et",
    "for", "fra", "har", "hej", "her", "hvad", "i", "jeg", "kan", "med", "mig", "min", "mine",
    "mit", "og", "om", "på", "sig", "som", "til", "var", "vi", "vil",
];

const STOP_AR: &[&str] = &[
    "التي", "الذي", "الي", "ان", "انا", "او", "ذلك", "علي", "عن", "في", "قد", "كان", "لا", "لم",
    "لي", "ما", "مع", "من", "هذا", "هذه", "هل", "هو", "هي", "و", "يا",
];

const STOP_ZH: &[&str] = &[
    "么", "了", "什", "你", "吗", "呢", "啊", "在", "我", "是", "有", "的", "请",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_lists_are_sorted_and_normalised() {
        for list in [STOP_EN, STOP_NB, STOP_DA, STOP_AR, STOP_ZH] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted, list);
            for w in list {
                assert_eq!(super::super::normalise::normalise(w), *w);
            }
        }
    }

    #[test]
    fn detection_by_script_then_whatlang() {
        let all = Lang::ALL;
        assert_eq!(detect("نسيت كلمة المرور", all, Lang::En), Lang::Ar);
        assert_eq!(detect("我忘记密码了", all, Lang::En), Lang::Zh);
        assert_eq!(
            detect("Where is my order? It has not arrived yet", all, Lang::Nb),
            Lang::En
        );
        let nb = "Hei! Jeg bestilte en jakke for to uker siden, men den har fortsatt ikke kommet. \
                  Kan dere sjekke hvor pakken er, og si meg når jeg kan forvente å få den?";
        let da = "Hej! Jeg bestilte en jakke for to uger siden, men den er stadig ikke kommet. \
                  Kan I undersøge, hvor pakken er, og fortælle mig, hvornår jeg kan forvente den?";
        assert_eq!(detect(nb, all, Lang::En), Lang::Nb);
        // whatlang is unsure of this one; the default decides (the matcher first asks which
        // language's questions share most words with it).
        assert_eq!(detect(da, all, Lang::Da), Lang::Da);
        // Too short to be sure: the default.
        assert_eq!(detect("hvor er min", all, Lang::En), Lang::En);
        assert_eq!(detect("!!!", all, Lang::Da), Lang::Da);
        assert_eq!(detect("我忘记密码了", &[Lang::En], Lang::En), Lang::En);
        assert_eq!(
            detect("anything", &[Lang::Nb, Lang::Ar], Lang::Ar),
            Lang::Nb
        );
    }

    #[test]
    fn tags() {
        assert_eq!(Lang::from_tag("nb-NO"), Some(Lang::Nb));
        assert_eq!(Lang::from_tag("no"), Some(Lang::Nb));
        assert_eq!(Lang::from_tag("zh-Hant"), Some(Lang::Zh));
        assert_eq!(Lang::from_tag("EN_gb"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn stemming() {
        let s = Stemmers::new();
        assert_eq!(s.stem(Lang::En, "refunds"), "refund");
        assert_eq!(s.stem(Lang::Nb, "bestillingen"), "bestilling");
        assert_eq!(s.stem(Lang::Zh, "密"), "密");
    }
}
