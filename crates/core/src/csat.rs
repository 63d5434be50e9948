//! Customer satisfaction (CSAT): the ratings a survey collects, purely.
//!
//! - [`read_rating`]: whether a customer's short answer reads as a rating from 1 to 5, in
//!   English, Norwegian, Danish, Arabic and Chinese (digits, "4/5", stars, thumbs and faces,
//!   words such as "very good", "dårlig", "ممتاز", "不满意"). Anything else is an ordinary message.
//! - [`Secret`]: signed survey links. A token is an HMAC-SHA256 over the ticket id, the survey
//!   id and the expiry, so the link names the survey it rates and cannot be made up or moved to
//!   another ticket.
//! - [`receive`]: what a rating does to the ticket before the rules run — a `csat.received`
//!   event (from a link, the chat or the API), or a customer's message answering a pending
//!   survey, which the rules then see as `csat.received`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::faq::normalise::unspaced;
use crate::model::{Author, Channel, Csat, Event, EventType, Ticket};
use crate::rules::text::fold;

/// The scores a survey offers, worst first.
pub const SCORES: [u8; 5] = [1, 2, 3, 4, 5];

/// How a rating came: a survey link.
pub const VIA_LINK: &str = "link";
/// How a rating came: the chat (a quick reply, or a line typed in a chat).
pub const VIA_CHAT: &str = "chat";
/// How a rating came: a reply to the survey (e-mail and other channels).
pub const VIA_REPLY: &str = "reply";
/// Every `via` a rating may have.
pub const VIAS: &[&str] = &[VIA_LINK, VIA_CHAT, VIA_REPLY];

/// The id of the survey an event sends: stable when the event is decided again.
pub fn survey_id(event_id: &str) -> String {
    format!("{event_id}/survey")
}

/// The id of the `csat.received` event that rates `survey` by link or chat: a second rating
/// of the same survey reuses it, so the store keeps the first.
pub fn rating_event_id(survey: &str) -> String {
    format!("csat:{survey}")
}

// ---------------------------------------------------------------------------------------------
// Reading a rating from text
// ---------------------------------------------------------------------------------------------

/// Longest text that can read as a rating, in characters.
pub const MAX_RATING_CHARS: usize = 60;

/// Most words a rating may have once thanks and fillers are left out.
const MAX_WORDS: usize = 4;

/// Words that go with a rating without changing it ("5, thanks", "det var bra", "شكرا، ممتاز").
const FILLERS: &[&str] = &[
    // en
    "thanks",
    "thank",
    "you",
    "thx",
    "ty",
    "so",
    "much",
    "please",
    "rating",
    "score",
    "it",
    "was",
    "is",
    "the",
    "service",
    "support",
    "i",
    "give",
    "my",
    "overall",
    "answer",
    // nb, da
    "takk",
    "tusen",
    "tak",
    "mange",
    "for",
    "hjelpen",
    "hjaelpen",
    "det",
    "var",
    "er",
    "jeg",
    "gir",
    "giver",
    "svar",
    "karakter",
    "vurdering",
    "tjenesten",
    "servicen",
    "hilsen",
    // ar
    "شكرا",
    "جزيلا",
    "الخدمة",
    "كانت",
    "كان",
];

/// Fillers inside Chinese text, which has no spaces between words.
const CJK_FILLERS: &[&str] = &["谢谢您", "谢谢你", "谢谢", "感谢", "多谢", "服务", "的"];

/// Words and phrases that are ratings, as customers write them.
const PHRASES: &[(&str, u8)] = &[
    // en
    ("excellent", 5),
    ("very good", 5),
    ("really good", 5),
    ("great", 5),
    ("perfect", 5),
    ("amazing", 5),
    ("awesome", 5),
    ("outstanding", 5),
    ("fantastic", 5),
    ("superb", 5),
    ("very satisfied", 5),
    ("very happy", 5),
    ("good", 4),
    ("satisfied", 4),
    ("happy", 4),
    ("pretty good", 4),
    ("quite good", 4),
    ("average", 3),
    ("neutral", 3),
    ("so so", 3),
    ("mediocre", 3),
    ("bad", 2),
    ("poor", 2),
    ("not good", 2),
    ("not great", 2),
    ("not satisfied", 2),
    ("not happy", 2),
    ("unsatisfied", 2),
    ("dissatisfied", 2),
    ("disappointed", 2),
    ("disappointing", 2),
    ("terrible", 1),
    ("awful", 1),
    ("horrible", 1),
    ("very bad", 1),
    ("very poor", 1),
    ("really bad", 1),
    ("very dissatisfied", 1),
    ("very unsatisfied", 1),
    ("worst", 1),
    ("useless", 1),
    // nb
    ("utmerket", 5),
    ("veldig bra", 5),
    ("veldig godt", 5),
    ("veldig fornøyd", 5),
    ("kjempebra", 5),
    ("kjempegodt", 5),
    ("supert", 5),
    ("strålende", 5),
    ("perfekt", 5),
    ("fantastisk", 5),
    ("bra", 4),
    ("godt", 4),
    ("god", 4),
    ("fornøyd", 4),
    ("ganske bra", 4),
    ("ganske godt", 4),
    ("middels", 3),
    ("dårlig", 2),
    ("ikke bra", 2),
    ("ikke godt", 2),
    ("ikke fornøyd", 2),
    ("misfornøyd", 2),
    ("skuffet", 2),
    ("skuffende", 2),
    ("veldig dårlig", 1),
    ("elendig", 1),
    ("forferdelig", 1),
    ("helt elendig", 1),
    // da
    ("fremragende", 5),
    ("meget godt", 5),
    ("rigtig godt", 5),
    ("rigtig god", 5),
    ("meget tilfreds", 5),
    ("tilfreds", 4),
    ("fint", 4),
    ("dårligt", 2),
    ("ikke tilfreds", 2),
    ("utilfreds", 2),
    ("skuffende", 2),
    ("meget dårligt", 1),
    ("rigtig dårligt", 1),
    ("elendigt", 1),
    ("forfærdeligt", 1),
    ("frygteligt", 1),
    // ar
    ("ممتاز", 5),
    ("ممتازة", 5),
    ("رائع", 5),
    ("رائعة", 5),
    ("جيد جدا", 5),
    ("راض جدا", 5),
    ("جيد", 4),
    ("جيدة", 4),
    ("راض", 4),
    ("راضي", 4),
    ("متوسط", 3),
    ("مقبول", 3),
    ("سيء", 2),
    ("سيئ", 2),
    ("سيئة", 2),
    ("غير جيد", 2),
    ("غير راض", 2),
    ("سيء جدا", 1),
    ("سيئ جدا", 1),
    ("سيء للغاية", 1),
    ("فظيع", 1),
    // zh
    ("非常满意", 5),
    ("很满意", 5),
    ("非常好", 5),
    ("太好了", 5),
    ("完美", 5),
    ("优秀", 5),
    ("满意", 4),
    ("很好", 4),
    ("不错", 4),
    ("好", 4),
    ("一般", 3),
    ("还行", 3),
    ("还可以", 3),
    ("不满意", 2),
    ("不好", 2),
    ("差", 2),
    ("非常不满意", 1),
    ("很不满意", 1),
    ("很差", 1),
    ("非常差", 1),
    ("太差了", 1),
    ("糟糕", 1),
    ("很糟糕", 1),
];

/// Words that say "out of" between two numbers ("4 of 5"; `/` reads as `of`).
const OUT_OF: &[&[&str]] = &[&["of"], &["out", "of"], &["av"], &["af"], &["من"]];

/// Words for stars after a number ("4 stars", "4 stjerner", "٤ نجوم").
const STARS: &[&str] = &[
    "star",
    "stars",
    "stjerne",
    "stjerner",
    "نجمة",
    "نجوم",
    "نجمات",
];

fn folded(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| fold(w).trim().to_string()).collect()
}

static PHRASE_TABLE: LazyLock<HashMap<String, u8>> = LazyLock::new(|| {
    PHRASES
        .iter()
        .map(|(p, s)| (fold(p).trim().to_string(), *s))
        .collect()
});

static FILLER_SET: LazyLock<Vec<String>> = LazyLock::new(|| folded(FILLERS));
static STAR_SET: LazyLock<Vec<String>> = LazyLock::new(|| folded(STARS));
static OUT_OF_SET: LazyLock<Vec<Vec<String>>> =
    LazyLock::new(|| OUT_OF.iter().map(|o| folded(o)).collect());

/// What a symbol in a rating says.
enum Symbol {
    /// A filled star (`⭐`, `★`).
    Star,
    /// An empty star (`☆`), as in `★★★★☆`.
    EmptyStar,
    /// A thumb or a face: the score it stands for.
    Score(u8),
    /// Joins or styles the symbols around it; says nothing.
    Modifier,
}

fn symbol(c: char) -> Option<Symbol> {
    Some(match c {
        '\u{2B50}' | '\u{2605}' | '\u{1F31F}' => Symbol::Star,
        '\u{2606}' => Symbol::EmptyStar,
        '\u{1F44D}' => Symbol::Score(5), // thumbs up
        '\u{1F44E}' => Symbol::Score(1), // thumbs down
        '\u{1F621}' | '\u{1F620}' | '\u{1F92C}' => Symbol::Score(1), // angry faces
        '\u{1F61E}' | '\u{1F641}' | '\u{2639}' | '\u{1F615}' => Symbol::Score(2), // sad faces
        '\u{1F610}' => Symbol::Score(3), // neutral face
        '\u{1F642}' | '\u{1F60A}' => Symbol::Score(4), // smiles
        '\u{1F600}' | '\u{1F603}' | '\u{1F604}' | '\u{1F60D}' | '\u{1F929}' | '\u{2764}' => {
            Symbol::Score(5)
        }
        '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}' => Symbol::Modifier,
        _ => return None,
    })
}

/// The rating the symbols of a message give: `Ok(None)` without symbols, `Err` when they
/// disagree or count past five.
fn symbols_rating(stars: usize, empty: usize, scores: &[u8]) -> Result<Option<u8>, ()> {
    if stars + empty > 0 {
        if !scores.is_empty() || (empty > 0 && stars + empty != 5) || !(1..=5).contains(&stars) {
            return Err(());
        }
        return Ok(Some(stars as u8));
    }
    match scores.split_first() {
        None => Ok(None),
        Some((first, rest)) if rest.iter().all(|s| s == first) => Ok(Some(*first)),
        Some(_) => Err(()),
    }
}

/// A score written as one word: `1` to `5`.
fn digit(word: &str) -> Option<u8> {
    match word {
        "1" => Some(1),
        "2" => Some(2),
        "3" => Some(3),
        "4" => Some(4),
        "5" => Some(5),
        _ => None,
    }
}

/// `5分`, `四星`, `5颗星`: a score in Chinese.
fn cjk_score(word: &str) -> Option<u8> {
    let mut chars = word.chars();
    let n = match chars.next()? {
        '1' | '一' => 1,
        '2' | '二' | '两' => 2,
        '3' | '三' => 3,
        '4' | '四' => 4,
        '5' | '五' => 5,
        _ => return None,
    };
    matches!(chars.as_str(), "分" | "星" | "颗星").then_some(n)
}

/// The rating the words of a message give, or `None` when they are not one.
fn words_rating(words: &[String]) -> Option<u8> {
    let mut words: Vec<&str> = words.iter().map(String::as_str).collect();
    if words.len() == 1 {
        if let Some(n) = cjk_score(words[0]) {
            return Some(n);
        }
    }
    // "4 stars", "4 of 5 stars".
    let starred = words.len() > 1
        && words
            .last()
            .is_some_and(|w| STAR_SET.iter().any(|s| s == w));
    if starred {
        words.pop();
    }
    match words.as_slice() {
        [n] if digit(n).is_some() => return digit(n),
        [n, middle @ .., "5"] if OUT_OF_SET.iter().any(|o| o == middle) => return digit(n),
        _ if starred => return None,
        _ => {}
    }
    PHRASE_TABLE.get(&words.join(" ")).copied()
}

/// Whether `text` reads as a rating from 1 (poor) to 5 (excellent), and which.
///
/// Only short answers count: a digit (`5`, `٥`, `５`), `4/5`, `4 of 5`, `4 av 5`, `٤ من ٥`,
/// `4 stars`, stars (`⭐⭐⭐⭐`, `★★★★☆`), a thumb (`👍` 5, `👎` 1), a face, or a word or phrase in
/// English, Norwegian, Danish, Arabic or Chinese ("very good", "dårlig", "ممتاز", "不满意"), with
/// thanks around it ("5, thanks!"). A sentence that merely holds a number ("5 days and still
/// no refund") or a word ("good morning") is not a rating, nor is anything longer than
/// [`MAX_RATING_CHARS`] characters.
pub fn read_rating(text: &str) -> Option<u8> {
    if text.chars().count() > MAX_RATING_CHARS {
        return None;
    }
    let (mut stars, mut empty, mut scores) = (0usize, 0usize, Vec::new());
    let mut rest = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match symbol(c) {
            Some(Symbol::Star) => stars += 1,
            Some(Symbol::EmptyStar) => empty += 1,
            Some(Symbol::Score(s)) => scores.push(s),
            Some(Symbol::Modifier) => continue,
            None if c == '/' || c == '\u{FF0F}' => rest.push_str(" of "),
            None => {
                rest.push(c);
                continue;
            }
        }
        rest.push(' ');
    }
    let symbols = symbols_rating(stars, empty, &scores).ok()?;
    let mut words = Vec::new();
    for word in fold(&rest).split_whitespace() {
        if FILLER_SET.iter().any(|f| f == word) {
            continue;
        }
        let mut word = word.to_string();
        if word.chars().any(unspaced) {
            for f in CJK_FILLERS {
                word = word.replace(f, "");
            }
            if word.is_empty() {
                continue;
            }
        }
        words.push(word);
    }
    if words.len() > MAX_WORDS {
        return None;
    }
    let said = if words.is_empty() {
        None
    } else {
        Some(words_rating(&words)?)
    };
    match (symbols, said) {
        (None, None) => None,
        (Some(s), None) | (None, Some(s)) => Some(s),
        (Some(s), Some(w)) if s == w => Some(w),
        // "5 ⭐": the number says how many.
        (Some(_), Some(w)) if stars == 1 && empty == 0 && scores.is_empty() => Some(w),
        (Some(_), Some(_)) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Signed links
// ---------------------------------------------------------------------------------------------

/// The fewest bytes a link secret may have.
pub const MIN_SECRET_BYTES: usize = 32;

/// The longest token [`Secret::verify`] reads.
const MAX_TOKEN_BYTES: usize = 2048;

type HmacSha256 = Hmac<Sha256>;

/// The key survey links are signed with (`FRONTDESK_CSAT_SECRET`). Its `Debug` shows no byte
/// of it.
#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What a survey link's token says: which survey of which ticket, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The ticket.
    pub ticket: String,
    /// The survey.
    pub survey: String,
    /// The link works until then.
    pub expires: DateTime<Utc>,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token frontdesk makes (cut short, changed, or made up).
    #[error("the link is not one of ours: {0}")]
    Malformed(&'static str),
    /// The signature does not match: made with another secret, or a part of it changed.
    #[error("the link's signature does not match")]
    Forged,
    /// A real link whose time ran out.
    #[error("the link expired at {}", .0.expires.to_rfc3339())]
    Expired(Claims),
}

impl Secret {
    /// A secret from its bytes; refused when shorter than [`MIN_SECRET_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<Secret, String> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the survey link secret has {} bytes; use at least {MIN_SECRET_BYTES} random ones (e.g. `openssl rand -hex 32`)",
                bytes.len()
            ));
        }
        Ok(Secret(bytes.into()))
    }

    /// The secret rule-file tests sign with, so their replies show links (never used by the
    /// daemon).
    pub fn for_tests() -> Secret {
        Secret(
            b"frontdesk rule-file tests: not a secret at all"
                .as_slice()
                .into(),
        )
    }

    fn mac(&self, ticket: &str, survey: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"frontdesk csat link v1\0");
        for part in [ticket.as_bytes(), survey.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(&expires.to_be_bytes());
        mac
    }

    /// The token of a link: `TICKET.SURVEY.EXPIRES.SIGNATURE` (base64url, Unix seconds).
    pub fn sign(&self, claims: &Claims) -> String {
        let expires = claims.expires.timestamp();
        let sig = self
            .mac(&claims.ticket, &claims.survey, expires)
            .finalize()
            .into_bytes();
        format!(
            "{}.{}.{expires}.{}",
            URL_SAFE_NO_PAD.encode(&claims.ticket),
            URL_SAFE_NO_PAD.encode(&claims.survey),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// What a token says, once its signature is checked (in constant time) and its time has
    /// not run out at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("too long"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [ticket, survey, expires, sig] = parts.as_slice() else {
            return Err(TokenError::Malformed("not four parts"));
        };
        let text = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| !s.is_empty())
        };
        let (Some(ticket), Some(survey)) = (text(ticket), text(survey)) else {
            return Err(TokenError::Malformed("a part is not base64url text"));
        };
        let expires_secs: i64 = expires
            .parse()
            .map_err(|_| TokenError::Malformed("the expiry is not a number"))?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
        self.mac(&ticket, &survey, expires_secs)
            .verify_slice(&sig)
            .map_err(|_| TokenError::Forged)?;
        let expires = DateTime::from_timestamp(expires_secs, 0)
            .ok_or(TokenError::Malformed("the expiry is out of range"))?;
        let claims = Claims {
            ticket,
            survey,
            expires,
        };
        if now >= claims.expires {
            return Err(TokenError::Expired(claims));
        }
        Ok(claims)
    }
}

/// The link that rates a survey with `token` under `public_url`; `?score=N` picks the score.
pub fn link(public_url: &str, token: &str) -> String {
    format!("{}/v1/csat/{token}", public_url.trim_end_matches('/'))
}

// ---------------------------------------------------------------------------------------------
// Receiving a rating
// ---------------------------------------------------------------------------------------------

/// What became of a rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsatOutcome {
    /// On the ticket now; the rules ran on `csat.received`.
    Recorded,
    /// The survey was rated before; the first rating stands and nothing changed.
    AlreadyRated,
    /// The ticket has no survey to rate; nothing changed.
    NoSurvey,
    /// The rating is for another survey than the ticket's last; nothing changed.
    OtherSurvey,
    /// The event's `data` is not a rating (score not 1 to 5, unknown `via`); nothing changed.
    Invalid,
}

/// How a rating went, in the decision's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CsatTrace {
    /// What became of it.
    pub outcome: CsatOutcome,
    /// The survey rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<String>,
    /// The score given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// How it came: `link`, `chat` or `reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Why, for a person.
    pub message: String,
}

/// A rating met by [`receive`].
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The `csat.received` event the rules see instead of a customer's message that reads as
    /// a rating; `None` when the event was `csat.received` already.
    pub event: Option<Event>,
    /// What became of it.
    pub trace: CsatTrace,
}

impl Received {
    /// The rating changed nothing (and the rules do not run).
    pub fn refused(&self) -> bool {
        self.trace.outcome != CsatOutcome::Recorded
    }
}

/// When a rating was given: the event's own time ([`crate::kpi::event_time`]).
fn rated_at(event: &Event, now: DateTime<Utc>) -> DateTime<Utc> {
    crate::kpi::event_time(event, now)
}

/// What a rating does to the ticket, before the rules run.
///
/// - `csat.received` (`data`: `score` 1–5, optional `survey` and `via`): the ticket's survey
///   gets the score, when it is that survey and not rated yet.
/// - `message.created` by the customer, when the ticket's last survey was sent before it and
///   is not rated, and the text reads as a rating ([`read_rating`]): the same, with `via`
///   `chat` on chat tickets and `reply` otherwise; the rules see a `csat.received` event
///   ([`Received::event`]) with the message, so rules for customer messages do not run.
///
/// Anything else: `None`, and the ticket is not touched.
pub fn receive(ticket: &mut Ticket, event: &Event, now: DateTime<Utc>) -> Option<Received> {
    match event.kind {
        EventType::CsatReceived => Some(received(ticket, event, now)),
        EventType::MessageCreated => answered(ticket, event, now),
        _ => None,
    }
}

fn answered(ticket: &mut Ticket, event: &Event, now: DateTime<Utc>) -> Option<Received> {
    let message = event.message.as_ref()?;
    let at = rated_at(event, now);
    let survey = ticket
        .csat
        .as_mut()
        .filter(|c| c.score.is_none() && c.sent_at <= at)?;
    if message.author != Author::Customer {
        return None;
    }
    let score = read_rating(&message.text)?;
    let via = if ticket.channel == Channel::Chat {
        VIA_CHAT
    } else {
        VIA_REPLY
    };
    rate(survey, score, Some(via), at);
    let id = survey.survey.clone();
    let mut rating = event.clone();
    rating.kind = EventType::CsatReceived;
    rating.data.insert("survey".into(), Value::from(id.clone()));
    rating.data.insert("score".into(), Value::from(score));
    rating.data.insert("via".into(), Value::from(via));
    Some(Received {
        event: Some(rating),
        trace: CsatTrace {
            outcome: CsatOutcome::Recorded,
            message: format!(
                "the customer's message reads as a rating of {score}: decided as csat.received"
            ),
            survey: Some(id),
            score: Some(score),
            via: Some(via.into()),
        },
    })
}

fn rate(survey: &mut Csat, score: u8, via: Option<&str>, at: DateTime<Utc>) {
    survey.score = Some(score);
    survey.rated_at = Some(at);
    survey.via = via.map(str::to_string);
}

fn received(ticket: &mut Ticket, event: &Event, now: DateTime<Utc>) -> Received {
    let data = &event.data;
    let score = match data.get("score") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| (1..=5).contains(n))
    .map(|n| n as u8);
    let via = data.get("via").map(|v| v.as_str().unwrap_or_default());
    let asked = data.get("survey").and_then(Value::as_str);
    let mut trace = CsatTrace {
        outcome: CsatOutcome::Invalid,
        survey: asked.map(str::to_string),
        score,
        via: via.map(str::to_string),
        message: String::new(),
    };
    let refuse = |mut trace: CsatTrace, outcome, message: String| {
        trace.outcome = outcome;
        trace.message = message;
        Received { event: None, trace }
    };
    let Some(score) = score else {
        let got = data.get("score").map_or("nothing".into(), Value::to_string);
        return refuse(
            trace,
            CsatOutcome::Invalid,
            format!(
                "event.data.score must be a whole number from 1 to 5, not {got}; nothing changed"
            ),
        );
    };
    if let Some(v) = via.filter(|v| !VIAS.contains(v)) {
        return refuse(
            trace,
            CsatOutcome::Invalid,
            format!(
                "event.data.via `{v}` is not one of {}; nothing changed",
                VIAS.join(", ")
            ),
        );
    }
    let Some(survey) = ticket.csat.as_mut() else {
        return refuse(
            trace,
            CsatOutcome::NoSurvey,
            "the ticket has no survey to rate; nothing changed".into(),
        );
    };
    trace.survey = Some(survey.survey.clone());
    if let Some(asked) = asked.filter(|a| *a != survey.survey) {
        let message = format!(
            "the rating is for survey `{asked}`, but the ticket's last survey is `{}`; nothing changed",
            survey.survey
        );
        trace.survey = Some(asked.to_string());
        return refuse(trace, CsatOutcome::OtherSurvey, message);
    }
    if let Some(first) = survey.score {
        let how = survey
            .via
            .as_deref()
            .map_or(String::new(), |v| format!(" by {v}"));
        let message = format!(
            "survey `{}` was rated {first}{how} before; the first rating stands and nothing changed",
            survey.survey
        );
        return refuse(trace, CsatOutcome::AlreadyRated, message);
    }
    rate(survey, score, via, rated_at(event, now));
    trace.via = survey.via.clone();
    trace.outcome = CsatOutcome::Recorded;
    trace.message = format!("rated {score}");
    Received { event: None, trace }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_in_five_languages() {
        let cases: &[(&str, u8)] = &[
            ("5", 5),
            ("1", 1),
            ("5!", 5),
            ("  3.  ", 3),
            ("4/5", 4),
            ("3 / 5", 3),
            ("5 of 5", 5),
            ("3 out of 5", 3),
            ("4 av 5", 4),
            ("4 af 5", 4),
            ("2 stars", 2),
            ("4 of 5 stars", 4),
            ("5 stjerner", 5),
            ("٥", 5),
            ("٤ من ٥", 4),
            ("۳", 3),
            ("５", 5),
            ("5, thanks", 5),
            ("Takk, 5", 5),
            ("5 ⭐", 5),
            ("⭐⭐⭐⭐", 4),
            ("⭐️⭐️⭐️⭐️⭐️", 5),
            ("★★★★☆", 4),
            ("👍", 5),
            ("👍🏽👍🏽", 5),
            ("👎", 1),
            ("😐", 3),
            ("Great 👍", 5),
            ("excellent", 5),
            ("Excellent service, thank you!", 5),
            ("The service was excellent", 5),
            ("very good", 5),
            ("Good", 4),
            ("not good", 2),
            ("terrible", 1),
            ("It was terrible.", 1),
            ("bra", 4),
            ("Bra, takk!", 4),
            ("godt", 4),
            ("Veldig bra!", 5),
            ("det var veldig bra", 5),
            ("dårlig", 2),
            ("darlig", 2),
            ("ikke bra", 2),
            ("Dårligt", 2),
            ("Meget dårligt", 1),
            ("fremragende", 5),
            ("ممتاز", 5),
            ("شكراً، ممتاز", 5),
            ("جيد جداً", 5),
            ("سيء", 2),
            ("سيء جدا", 1),
            ("满意", 4),
            ("不满意", 2),
            ("非常满意，谢谢！", 5),
            ("很差", 1),
            ("5分", 5),
            ("五星", 5),
            ("一般", 3),
        ];
        for (text, want) in cases {
            assert_eq!(read_rating(text), Some(*want), "{text:?}");
        }
    }

    #[test]
    fn ordinary_messages_are_not_ratings() {
        let long = format!("excellent {}", "really ".repeat(10));
        let cases = [
            "",
            "   ",
            "5 days and still no refund",
            "I have 2 questions",
            "order 5",
            "call me at 5",
            "6",
            "0",
            "12",
            "5 5",
            "10/10",
            "5/10",
            "5 of 6",
            "ok",
            "Thanks!",
            "takk",
            "good morning",
            "Still not working",
            "not bad at all, but the refund is missing",
            "Hvor er pakken min?",
            "ikke bra i det hele tatt, pakken kom aldri",
            "你好",
            "不",
            "我还没有收到退款",
            "مرحبا",
            "⭐⭐⭐⭐⭐⭐",
            "★★☆",
            "👍👎",
            "5 👎",
            "🎉",
            &long,
            "excellent question: where is my order?",
        ];
        for text in cases {
            assert_eq!(read_rating(text), None, "{text:?}");
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn tokens_verify_and_refuse() {
        let secret = Secret::new(&[7u8; 32]).unwrap();
        let claims = Claims {
            ticket: "T-1 <b>".into(),
            survey: "timer:9/survey".into(),
            expires: at("2026-12-23T10:00:00Z"),
        };
        let token = secret.sign(&claims);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        let now = at("2026-11-24T10:00:00Z");
        assert_eq!(secret.verify(&token, now), Ok(claims.clone()));
        // Expired: the claims come back with the reason.
        assert_eq!(
            secret.verify(&token, claims.expires),
            Err(TokenError::Expired(claims.clone()))
        );
        // Another secret, another ticket, a longer life: forged.
        let other = Secret::new(&[8u8; 32]).unwrap();
        assert_eq!(other.verify(&token, now), Err(TokenError::Forged));
        let parts: Vec<&str> = token.split('.').collect();
        let moved = format!(
            "{}.{}.{}.{}",
            URL_SAFE_NO_PAD.encode("T-2"),
            parts[1],
            parts[2],
            parts[3]
        );
        assert_eq!(secret.verify(&moved, now), Err(TokenError::Forged));
        let longer = format!("{}.{}.{}.{}", parts[0], parts[1], "4102444800", parts[3]);
        assert_eq!(secret.verify(&longer, now), Err(TokenError::Forged));
        for bad in [
            "",
            "a.b.c",
            "x.y.z.w",
            &format!("{token}.x"),
            &"a".repeat(3000),
        ] {
            assert!(
                matches!(secret.verify(bad, now), Err(TokenError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(Secret::new(b"short").is_err());
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(
            link("https://desk.example/", &token),
            format!("https://desk.example/v1/csat/{token}")
        );
    }

    fn ticket(survey: Option<Csat>) -> Ticket {
        Ticket {
            id: "T1".into(),
            channel: Channel::Email,
            csat: survey,
            ..Ticket::default()
        }
    }

    fn sent() -> Csat {
        Csat {
            survey: "e0/survey".into(),
            sent_at: at("2026-11-24T10:00:00Z"),
            score: None,
            rated_at: None,
            via: None,
        }
    }

    fn event(json: serde_json::Value) -> Event {
        let mut v = serde_json::json!({"id": "e1", "ticket": {"id": "T1"}, "occurred_at": "2026-11-24T12:00:00Z"});
        v.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        Event::from_value(v).unwrap()
    }

    #[test]
    fn a_reply_to_a_pending_survey_is_a_rating() {
        let now = at("2026-11-24T12:00:05Z");
        let msg = |text: &str, author: &str| {
            event(
                serde_json::json!({"type": "message.created", "message": {"text": text, "author": author}}),
            )
        };
        let mut t = ticket(Some(sent()));
        let r = receive(&mut t, &msg("5, thanks!", "customer"), now).unwrap();
        assert!(!r.refused());
        let rating = r.event.unwrap();
        assert_eq!(rating.kind, EventType::CsatReceived);
        assert_eq!(rating.data["score"], 5);
        let c = t.csat.clone().unwrap();
        assert_eq!(
            (c.score, c.via.as_deref(), c.rated_at),
            (Some(5), Some("reply"), Some(at("2026-11-24T12:00:00Z")))
        );
        // Rated now: the next "5" is an ordinary message.
        assert_eq!(receive(&mut t, &msg("5", "customer"), now), None);
        // Not a rating, an agent, no survey, or a message older than the survey: untouched.
        let mut t = ticket(Some(sent()));
        assert_eq!(
            receive(&mut t, &msg("5 days and no refund", "customer"), now),
            None
        );
        assert_eq!(receive(&mut t, &msg("5", "agent"), now), None);
        assert_eq!(receive(&mut ticket(None), &msg("5", "customer"), now), None);
        let mut early = msg("5", "customer");
        early.occurred_at = Some(at("2026-11-24T09:00:00Z"));
        assert_eq!(receive(&mut t, &early, now), None);
        assert_eq!(t.csat, Some(sent()));
        // A chat ticket's answer came by chat.
        let mut t = ticket(Some(sent()));
        t.channel = Channel::Chat;
        receive(&mut t, &msg("👍", "customer"), now).unwrap();
        assert_eq!(t.csat.unwrap().via.as_deref(), Some("chat"));
    }

    #[test]
    fn csat_received_rates_the_survey_once() {
        let now = at("2026-11-24T12:00:05Z");
        let rating = |data: serde_json::Value| {
            event(serde_json::json!({"type": "csat.received", "data": data}))
        };
        let cases: &[(Option<Csat>, serde_json::Value, CsatOutcome)] = &[
            (
                Some(sent()),
                serde_json::json!({"score": 4, "via": "link", "survey": "e0/survey"}),
                CsatOutcome::Recorded,
            ),
            (
                Some(sent()),
                serde_json::json!({"score": "2"}),
                CsatOutcome::Recorded,
            ),
            (
                Some(sent()),
                serde_json::json!({"score": 6}),
                CsatOutcome::Invalid,
            ),
            (Some(sent()), serde_json::json!({}), CsatOutcome::Invalid),
            (
                Some(sent()),
                serde_json::json!({"score": 3, "via": "fax"}),
                CsatOutcome::Invalid,
            ),
            (None, serde_json::json!({"score": 3}), CsatOutcome::NoSurvey),
            (
                Some(sent()),
                serde_json::json!({"score": 3, "survey": "old/survey"}),
                CsatOutcome::OtherSurvey,
            ),
            (
                Some(Csat {
                    score: Some(5),
                    via: Some("reply".into()),
                    rated_at: Some(at("2026-11-24T11:00:00Z")),
                    ..sent()
                }),
                serde_json::json!({"score": 1, "via": "link"}),
                CsatOutcome::AlreadyRated,
            ),
        ];
        for (survey, data, outcome) in cases {
            let mut t = ticket(survey.clone());
            let r = receive(&mut t, &rating(data.clone()), now).unwrap();
            assert_eq!(r.trace.outcome, *outcome, "{data}: {}", r.trace.message);
            assert_eq!(r.event, None);
            if *outcome == CsatOutcome::Recorded {
                let c = t.csat.unwrap();
                assert_eq!(c.score, data["score"].as_u64().map(|n| n as u8).or(Some(2)));
                assert_eq!(c.rated_at, Some(at("2026-11-24T12:00:00Z")));
                assert_eq!(c.via.as_deref(), data["via"].as_str());
            } else {
                assert!(r.refused());
                assert_eq!(&t.csat, survey, "{data}: the ticket is untouched");
            }
        }
    }
}
