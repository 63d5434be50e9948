//! Does a chat message ask for a person? ("talk to a human", "snakke med et menneske", "tale
//! med en medarbejder", "أريد التحدث مع موظف", "转人工".)
//!
//! The message is normalised like an FAQ question (`faq::normalise`: case, accents, Arabic letter
//! forms), then read as words. It asks for a person when
//!
//! - a verb of talking ("talk", "snakke", "tale", "التحدث") comes with any word for a person
//!   ("person", "someone", "menneske", "noen", "موظف"), or
//! - a verb of wanting ("want", "vil", "أريد") or the message being short (three words or fewer:
//!   "agent please", "menneske!") comes with a word that can only mean staff ("human", "agent",
//!   "medarbejder", "موظف", "real person"),
//!
//! and no negation ("don't", "ikke", "لا", "不") stands up to six words before the word for the
//! person. Arabic words are also
//! read without the article and the attached prepositions (`الموظف`, `بموظف`); Chinese is read
//! as characters ("转人工", "人工客服", "真人", not "人工智能").

use crate::faq::normalise::normalise;

/// Verbs of talking: with any word for a person.
const TALK: &[&str] = &[
    // en
    "talk",
    "speak",
    "chat",
    "connect",
    "transfer",
    "contact",
    "reach",
    "call",
    // nb, da
    "snakke",
    "snakk",
    "prate",
    "prat",
    "chatte",
    "kontakte",
    "tale",
    "tal",
    "ringe",
    // ar
    "اتحدث",
    "التحدث",
    "تحدث",
    "اكلم",
    "كلم",
    "اتكلم",
    "التكلم",
    "تحويل",
    "حولني",
    "حولوني",
    "التواصل",
    "اتواصل",
];

/// Verbs of wanting: only with a word that means staff.
const WANT: &[&str] = &[
    "want",
    "need",
    "get",
    "give",
    "wanna",
    "vil",
    "ønsker",
    "trenger",
    "får",
    "fa",
    "gerne",
    "kan",
    "اريد",
    "ابغي",
    "احتاج",
    "عايز",
    "بدي",
];

/// Words for a person, staff or not.
const SOMEONE: &[&str] = &[
    "person", "someone", "somebody", "anyone", "anybody", "people", "noen", "nogen", "شخص", "احد",
];

/// Words that can only mean staff (single words).
const STAFF: &[&str] = &[
    "human",
    "humans",
    "agent",
    "agents",
    "operator",
    "representative",
    "rep",
    "staff",
    "employee",
    "advisor",
    "adviser",
    "supporter",
    "manager",
    "supervisor",
    "menneske",
    "mennesker",
    "ansatt",
    "medarbeider",
    "kundebehandler",
    "saksbehandler",
    "kundeservice",
    "kundeservicen",
    "medarbejder",
    "medarbejderen",
    "rådgiver",
    "supporten",
    "موظف",
    "انسان",
    "بشري",
    "مندوب",
    "ممثل",
    "الدعم",
];

/// Word pairs that can only mean staff.
const STAFF_PAIRS: &[(&str, &str)] = &[
    ("real", "person"),
    ("live", "person"),
    ("actual", "person"),
    ("live", "agent"),
    ("customer", "service"),
    ("customer", "support"),
    ("support", "team"),
    ("ekte", "person"),
    ("ekte", "menneske"),
    ("rigtig", "person"),
    ("rigtigt", "menneske"),
    ("et", "menneske"),
    ("شخص", "حقيقي"),
    ("خدمه", "العملاء"),
];

/// Negations that cancel a request shortly after them.
const NOT: &[&str] = &[
    "dont", "not", "never", "without", "ikke", "ikkje", "aldri", "aldrig", "لا", "لست", "لن", "ما",
    "مش",
];

/// Phrases where "person" is not a request ("in person").
const NOT_PAIRS: &[(&str, &str)] = &[("in", "person"), ("i", "person"), ("per", "person")];

/// Chinese: requests, and look-alikes that are not.
const ZH_ASK: &[&str] = &[
    "人工",
    "真人",
    "转客服",
    "联系客服",
    "找客服",
    "和客服",
    "跟客服",
    "客服人员",
    "接线员",
];
const ZH_NOT: &[&str] = &[
    "人工智能",
    "不要转人工",
    "不用转人工",
    "不要人工",
    "不用人工",
    "不需要人工",
    "不找人工",
];

/// Arabic attached prefixes (article, conjunction, prepositions), longest first.
const AR_PREFIXES: &[&str] = &["وال", "بال", "لل", "ال", "و", "ب", "ل"];

/// Whether `text` asks to talk to a person.
pub fn asks_for_person(text: &str) -> bool {
    let norm = normalise(text);
    if norm.is_empty() {
        return false;
    }
    let joined: String = norm.chars().filter(|c| !c.is_whitespace()).collect();
    if ZH_ASK.iter().any(|p| joined.contains(p)) {
        let mut rest = joined.clone();
        for n in ZH_NOT {
            rest = rest.replace(n, " ");
        }
        if ZH_ASK.iter().any(|p| rest.contains(p)) {
            return true;
        }
    }
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    let is = |w: &str, list: &[&str]| forms(w).any(|f| list.contains(&f));
    let pair = |i: usize, list: &[(&str, &str)]| {
        i + 1 < words.len()
            && list
                .iter()
                .any(|(a, b)| is(words[i], &[a]) && is(words[i + 1], &[b]))
    };
    let negated = |i: usize| (i.saturating_sub(6)..i).any(|j| is(words[j], NOT));
    // Where each kind of word is, leaving out "in person" and words after a negation.
    let mut staff = Vec::new();
    let mut someone = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if (i > 0 && pair(i - 1, NOT_PAIRS)) || negated(i) {
            continue;
        }
        if is(w, STAFF) || pair(i, STAFF_PAIRS) {
            staff.push(i);
        }
        if is(w, SOMEONE) {
            someone.push(i);
        }
    }
    if staff.is_empty() && someone.is_empty() {
        return false;
    }
    let short = words.len() <= 3;
    for (i, w) in words.iter().enumerate() {
        let talk = is(w, TALK);
        let want = is(w, WANT);
        if !(talk || want) {
            continue;
        }
        if !staff.is_empty() || (talk && someone.iter().any(|&j| j > i)) {
            return true;
        }
    }
    short && !staff.is_empty()
}

/// A word and, for Arabic, the word without an attached prefix.
fn forms(word: &str) -> impl Iterator<Item = &str> {
    let arabic = word
        .chars()
        .next()
        .is_some_and(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
    let stripped = if arabic {
        AR_PREFIXES
            .iter()
            .filter_map(|p| word.strip_prefix(p))
            .filter(|rest| rest.chars().count() >= 3)
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    std::iter::once(word).chain(stripped)
}

#[cfg(test)]
mod tests {
    use super::asks_for_person;

    #[test]
    fn requests_for_a_person() {
        for text in [
            "talk to a human",
            "Can I talk to a human please?",
            "I want to speak to someone",
            "I need a real person",
            "agent",
            "Human!",
            "connect me with customer service",
            "snakke med et menneske",
            "Kan jeg få snakke med noen?",
            "Jeg vil snakke med en person",
            "menneske takk",
            "tale med en medarbejder",
            "Jeg vil gerne tale med en medarbejder",
            "أريد التحدث مع موظف",
            "اريد التحدث مع الموظف",
            "ممكن أتكلم مع شخص حقيقي؟",
            "حولني إلى خدمة العملاء",
            "转人工",
            "我要人工客服",
            "能找真人吗",
            "我想跟客服说话",
            "Let me speak to a manager",
        ] {
            assert!(asks_for_person(text), "{text}");
        }
    }

    #[test]
    fn questions_that_are_not_requests() {
        for text in [
            "",
            "Where is my order?",
            "Can I pick it up in person?",
            "I want to return it in person",
            "Someone stole my parcel and I want a refund",
            "I don't want to talk to a human",
            "What are your customer service hours?",
            "Hvor er pakken min?",
            "Jeg vil ikke snakke med et menneske",
            "Hvor er min pakke?",
            "أين طلبي؟",
            "我的订单在哪里？",
            "人工智能是什么",
            "不要转人工",
            "what does a person need to sign up",
        ] {
            assert!(!asks_for_person(text), "{text}");
        }
    }
}
