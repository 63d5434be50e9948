//! Chat sessions with an FAQ bot: what the bot says to each message, when it asks for
//! feedback, and when it hands the conversation to a person.
//!
//! Like [`crate::engine::decide`], this part is pure: [`reply`] takes the bot, the session as
//! stored, the customer's input and `now`, and returns the bot's [`Reply`] with the session's
//! next state and what to record ([`Turn`]); [`handoff_notice`] phrases the wait for a person
//! from the pack's response calendar and targets. The daemon (`service::chat`) loads and stores
//! sessions, and sends a handoff through the ordinary event path so rules act on it.
//!
//! A conversation:
//!
//! - the session opens with the bot's greeting in the session's language;
//! - a question is answered with the best FAQ entry, its links, and the quick replies "Did this
//!   answer your question?" yes / no / talk to a person ([`crate::faq::ChatText`]);
//! - "yes" is recorded as feedback and thanked; "no" and "talk to a person" are recorded and hand
//!   the chat over, as does any message asking for a person ([`person::asks_for_person`]) and the
//!   bot failing to answer `handoff.after` questions in a row;
//! - once handed over the bot answers no more: what the customer still writes is kept in the
//!   transcript for the person (a message sent while the handoff was being answered included);
//!   once closed, nothing is taken.
//!
//! # Example
//!
//! ```
//! use frontdesk_core::bot::{self, Feedback, Input, Session, SessionState};
//! use frontdesk_core::faq::Bot;
//!
//! let bot = Bot::from_yaml("shop.yaml", r#"
//! bot: shop
//! languages: [en, nb]
//! greeting: { en: "Hi!", nb: "Hei!" }
//! faq:
//!   - id: opening_hours
//!     questions: { en: ["When are you open?"], nb: ["Når har dere åpent?"] }
//!     answers: { en: "Weekdays 9-17.", nb: "Hverdager 9-17." }
//!   - id: password
//!     questions: { en: ["I forgot my password"] }
//!     answer: "Use 'Forgot password'."
//! "#).unwrap();
//! let now = "2026-11-23T10:00:00Z".parse().unwrap();
//! let session = Session::open("s1".into(), &bot, Some("nb"), Default::default(), None, now);
//! assert_eq!(session.greeting(&bot).as_deref(), Some("Hei!"));
//!
//! let turn = bot::reply(&bot, &session, &Input::Text("når har dere åpent?".into()), now).unwrap();
//! assert_eq!(turn.reply.text, "Hverdager 9-17.");
//! assert_eq!(turn.reply.quick_replies, ["Ja", "Nei", "Snakk med en person"]);
//!
//! // "Nei" rates the answer and hands the chat to a person.
//! let turn = bot::reply(&bot, &turn.session, &Input::Text("Nei".into()), now).unwrap();
//! assert_eq!(turn.feedback, Some((Some("opening_hours".into()), Feedback::No)));
//! assert_eq!(turn.session.state, SessionState::HandedOff);
//! assert_eq!(turn.reply.text, "Jeg setter deg over til en person nå.");
//! ```

pub mod person;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::faq::{Bot, ChatText};
use crate::model::{Channel, Customer, Priority};
use crate::time::calendar::Calendar;
use crate::time::expected::{expected_response, ResponseTargets};

/// Longest message a customer may send, in characters (as JSON Schema's `maxLength` counts).
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Where a session is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// The bot answers.
    #[default]
    Open,
    /// A person has taken over; the bot answers no more, the customer's messages are kept.
    HandedOff,
    /// Ended by the customer or the site.
    Closed,
}

impl SessionState {
    /// The state's name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::HandedOff => "handed_off",
            SessionState::Closed => "closed",
        }
    }

    /// The state for a stored name.
    pub fn parse(s: &str) -> Option<SessionState> {
        Some(match s {
            "open" => SessionState::Open,
            "handed_off" => SessionState::HandedOff,
            "closed" => SessionState::Closed,
            _ => return None,
        })
    }
}

/// What the customer thought of an answer, or that they want a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// The answer helped.
    Yes,
    /// It did not (the chat goes to a person).
    No,
    /// Talk to a person.
    Person,
}

impl Feedback {
    /// The value's name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Yes => "yes",
            Feedback::No => "no",
            Feedback::Person => "person",
        }
    }

    fn text(self) -> ChatText {
        match self {
            Feedback::Yes => ChatText::Yes,
            Feedback::No => ChatText::No,
            Feedback::Person => ChatText::Person,
        }
    }
}

/// Why a chat went to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer asked for a person (in words or with the quick reply).
    Asked,
    /// The customer said the answer did not help.
    NotHelped,
    /// The bot could not answer `handoff.after` questions in a row.
    Unanswered,
}

impl HandoffReason {
    /// The reason's name, as stored and sent to the rules.
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffReason::Asked => "asked",
            HandoffReason::NotHelped => "not_helped",
            HandoffReason::Unanswered => "unanswered",
        }
    }
}

/// A chat session as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// The bot's name.
    pub bot: String,
    /// The language the bot speaks in it (a code of the bot's: `en`, `nb`, ...).
    pub language: String,
    /// Whether the language was given (by the request or the customer); if not, the bot follows
    /// the language the customer writes in.
    pub language_given: bool,
    /// Who is chatting, as far as the site knows.
    pub customer: Customer,
    /// The channel the chat runs on (`chat` unless the site says otherwise).
    pub channel: Channel,
    /// Open, handed off or closed.
    pub state: SessionState,
    /// Why it was handed off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_reason: Option<HandoffReason>,
    /// Questions in a row the bot could not answer.
    pub unanswered_in_row: u32,
    /// The entry last answered with, while its feedback is awaited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_feedback: Option<String>,
    /// Questions asked.
    pub questions: u32,
    /// Questions the bot answered.
    pub answered: u32,
    /// Messages in the transcript (customer's and bot's).
    pub messages: u32,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Turns saved so far; the store refuses a turn computed from an older state.
    pub version: i64,
}

impl Session {
    /// A new session of `bot`. The language is `language`, else the customer's, when the bot
    /// speaks it; else the bot's default (and then it follows the customer's writing).
    pub fn open(
        id: String,
        bot: &Bot,
        language: Option<&str>,
        customer: Customer,
        channel: Option<Channel>,
        now: DateTime<Utc>,
    ) -> Session {
        let spoken = |tag: &str| {
            let code = crate::faq::lang::Lang::from_tag(tag)?.code();
            bot.languages().into_iter().find(|l| *l == code)
        };
        let given = language
            .and_then(spoken)
            .or_else(|| customer.language.as_deref().and_then(spoken));
        Session {
            id,
            bot: bot.name().to_string(),
            language: given.unwrap_or(bot.default_language()).to_string(),
            language_given: given.is_some(),
            customer,
            channel: channel.unwrap_or(Channel::Chat),
            state: SessionState::Open,
            handoff_reason: None,
            unanswered_in_row: 0,
            awaiting_feedback: None,
            questions: 0,
            answered: 0,
            messages: 0,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The ticket id a handoff of this session is decided for.
    pub fn ticket_id(&self) -> String {
        format!("chat-{}", self.id)
    }

    /// The greeting, in the session's language.
    pub fn greeting(&self, bot: &Bot) -> Option<String> {
        bot.greeting(&self.language).map(str::to_string)
    }

    /// The lines a new session opens with, numbered from 1 and counted in `messages`: the
    /// bot's greeting in the session's language, when the bot has one.
    pub fn opening_lines(&mut self, bot: &Bot, at: DateTime<Utc>) -> Vec<Message> {
        let lines: Vec<Message> = self
            .greeting(bot)
            .map(|text| Message {
                seq: 1,
                author: Speaker::Bot,
                text,
                at,
                answer_id: None,
                score: None,
                feedback: None,
                handoff: false,
                name: None,
            })
            .into_iter()
            .collect();
        self.messages = lines.len() as u32;
        lines
    }

    /// The quick replies offered with the greeting.
    pub fn opening_quick_replies(&self, bot: &Bot) -> Vec<String> {
        vec![bot.chat_text(ChatText::Person, &self.language).to_string()]
    }
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The customer.
    Customer,
    /// The bot.
    Bot,
    /// A person of the desk, after the handoff.
    Agent,
}

impl Speaker {
    /// The name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Customer => "customer",
            Speaker::Bot => "bot",
            Speaker::Agent => "agent",
        }
    }
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    /// Its number in the session, from 1.
    pub seq: u32,
    /// Who wrote it.
    pub author: Speaker,
    /// What it says.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The entry the bot answered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_id: Option<String>,
    /// The bot's confidence, on answers and abstentions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The customer's feedback this message gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// This bot message handed the chat over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handoff: bool,
    /// On a person's line: their name as the desk shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A link shown with an answer, in the session's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReplyLink {
    /// What it says.
    pub title: String,
    /// Where it goes.
    pub url: String,
}

/// What the bot says to one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reply {
    /// The text (the answer, the fallback, the thanks or the handoff message).
    pub text: String,
    /// The entry answered with; `null` when the bot did not answer a question.
    pub answer_id: Option<String>,
    /// The confidence of the best entry, when a question was asked.
    pub score: Option<f64>,
    /// The bot was asked a question and did not answer it.
    pub abstained: bool,
    /// Links of the answer.
    pub links: Vec<ReplyLink>,
    /// A question shown above the quick replies ("Did this answer your question?").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Buttons whose text may be sent back as the next message.
    pub quick_replies: Vec<String>,
    /// The language of the text.
    pub language: String,
}

/// What the customer sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A message.
    Text(String),
    /// A quick reply sent as such.
    Feedback(Feedback),
}

/// Why the bot will not take a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    /// The message is empty.
    #[error("the message is empty")]
    Empty,
    /// The message is over [`MAX_MESSAGE_CHARS`].
    #[error("the message is {0} characters; at most {MAX_MESSAGE_CHARS} are taken")]
    TooLong(usize),
    /// The session has ended.
    #[error("the chat is closed")]
    Closed,
    /// Feedback on an answer when there is none to rate.
    #[error("there is no answer to give feedback on")]
    NothingToRate,
    /// A person's line in a chat the bot still answers.
    #[error("the chat has not been handed to a person")]
    NotHandedOff,
}

/// The outcome of one message: the reply, the session's next state and what to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The session after the message (its `version` not yet moved on; the store does that).
    pub session: Session,
    /// What the bot says.
    pub reply: Reply,
    /// The transcript lines to add: the customer's message and the bot's reply.
    pub messages: Vec<Message>,
    /// Feedback to record: on which entry (none when a person was asked for without an answer
    /// to rate) and what.
    pub feedback: Option<(Option<String>, Feedback)>,
    /// The normalised text of a question the bot could not answer.
    pub unanswered: Option<String>,
    /// The chat goes to a person, and why. The shell decides the handoff event and adds
    /// [`handoff_notice`] to the reply.
    pub handoff: Option<HandoffReason>,
    /// The client's id of the message (set by the shell), kept with the customer's line so a
    /// resend of the same message gets [`Turn::answer`] again.
    pub message_id: Option<String>,
    /// The answer as sent (JSON, set by the shell), kept for resends.
    pub answer: Option<String>,
    /// The event that brought a person's line ([`from_person`], set by the shell): the store
    /// adds the line once per event.
    pub event_id: Option<String>,
}

/// What the bot says to `input` in `session` at `now`. Pure: the same arguments give the same
/// turn. In a handed-off session the bot says nothing: the message is kept for the person
/// (`{feedback: yes|no}` has nothing to rate there).
pub fn reply(
    bot: &Bot,
    session: &Session,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<Turn, ChatError> {
    match session.state {
        SessionState::HandedOff => return for_person(bot, session, input, now),
        SessionState::Closed => return Err(ChatError::Closed),
        SessionState::Open => {}
    }
    let mut next = session.clone();
    next.updated_at = now;
    let lang = session.language.clone();
    // What the customer said, and what it means.
    let (said, feedback) = what_was_said(bot, session, input)?;
    if matches!(feedback, Some(Feedback::Yes | Feedback::No)) && session.awaiting_feedback.is_none()
    {
        if let Input::Feedback(_) = input {
            return Err(ChatError::NothingToRate);
        }
    }
    let mut customer = Message {
        seq: session.messages + 1,
        author: Speaker::Customer,
        text: said.clone(),
        at: now,
        answer_id: None,
        score: None,
        feedback: None,
        handoff: false,
        name: None,
    };
    let mut turn = Turn {
        session: next,
        reply: Reply {
            text: String::new(),
            answer_id: None,
            score: None,
            abstained: false,
            links: Vec::new(),
            prompt: None,
            quick_replies: Vec::new(),
            language: lang.clone(),
        },
        messages: Vec::new(),
        feedback: None,
        unanswered: None,
        handoff: None,
        message_id: None,
        answer: None,
        event_id: None,
    };
    let rated = session.awaiting_feedback.clone();
    match feedback {
        Some(Feedback::Yes) if rated.is_some() => {
            customer.feedback = Some(Feedback::Yes);
            turn.feedback = Some((rated, Feedback::Yes));
            turn.session.awaiting_feedback = None;
            turn.reply.text = bot.chat_text(ChatText::Thanks, &lang).to_string();
        }
        Some(Feedback::No) if rated.is_some() => {
            customer.feedback = Some(Feedback::No);
            turn.feedback = Some((rated, Feedback::No));
            hand_off(bot, &mut turn, HandoffReason::NotHelped);
        }
        Some(Feedback::Person) => {
            customer.feedback = Some(Feedback::Person);
            turn.feedback = Some((rated, Feedback::Person));
            hand_off(bot, &mut turn, HandoffReason::Asked);
        }
        _ if person::asks_for_person(&said) => {
            if rated.is_some() {
                customer.feedback = Some(Feedback::Person);
                turn.feedback = Some((rated, Feedback::Person));
            }
            hand_off(bot, &mut turn, HandoffReason::Asked);
        }
        _ => ask(bot, &mut turn, &said, &mut customer),
    }
    customer.seq = session.messages + 1;
    let bot_line = Message {
        seq: session.messages + 2,
        author: Speaker::Bot,
        text: turn.reply.text.clone(),
        at: now,
        answer_id: turn.reply.answer_id.clone(),
        score: turn.reply.score,
        feedback: None,
        handoff: turn.handoff.is_some(),
        name: None,
    };
    turn.messages = vec![customer, bot_line];
    turn.session.messages = session.messages + 2;
    Ok(turn)
}

/// The customer's text for `input`, and the feedback it gives.
fn what_was_said(
    bot: &Bot,
    session: &Session,
    input: &Input,
) -> Result<(String, Option<Feedback>), ChatError> {
    Ok(match input {
        Input::Feedback(f) => (
            bot.chat_text(f.text(), &session.language).to_string(),
            Some(*f),
        ),
        Input::Text(t) => {
            let t = t.trim();
            if t.is_empty() {
                return Err(ChatError::Empty);
            }
            let chars = t.chars().count();
            if chars > MAX_MESSAGE_CHARS {
                return Err(ChatError::TooLong(chars));
            }
            (t.to_string(), quick_reply(bot, session, t))
        }
    })
}

/// A message to a handed-off session: one transcript line for the person, no reply.
fn for_person(
    bot: &Bot,
    session: &Session,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<Turn, ChatError> {
    let (said, _) = what_was_said(bot, session, input)?;
    if matches!(input, Input::Feedback(Feedback::Yes | Feedback::No)) {
        return Err(ChatError::NothingToRate);
    }
    let mut next = session.clone();
    next.updated_at = now;
    next.messages = session.messages + 1;
    let line = Message {
        seq: session.messages + 1,
        author: Speaker::Customer,
        text: said,
        at: now,
        answer_id: None,
        score: None,
        feedback: None,
        handoff: false,
        name: None,
    };
    Ok(silent(next, vec![line]))
}

/// A turn in which the bot says nothing: `session` after it, and the transcript lines it adds.
fn silent(session: Session, messages: Vec<Message>) -> Turn {
    let language = session.language.clone();
    Turn {
        session,
        reply: Reply {
            text: String::new(),
            answer_id: None,
            score: None,
            abstained: false,
            links: Vec::new(),
            prompt: None,
            quick_replies: Vec::new(),
            language,
        },
        messages,
        feedback: None,
        unanswered: None,
        handoff: None,
        message_id: None,
        answer: None,
        event_id: None,
    }
}

/// Ends `session` at `now` (the customer closed the chat, or a person finished it): no message
/// is answered in it after. A session already closed is refused.
pub fn close(session: &Session, now: DateTime<Utc>) -> Result<Turn, ChatError> {
    if session.state == SessionState::Closed {
        return Err(ChatError::Closed);
    }
    let mut next = session.clone();
    next.state = SessionState::Closed;
    next.awaiting_feedback = None;
    next.updated_at = now;
    Ok(silent(next, Vec::new()))
}

/// A line a person of the desk wrote in a handed-off `session` at `now`, signed `name`: the
/// session's next state with that line, and no reply. Refused in a session the bot still answers
/// (a person takes a chat over by its handoff) and in a closed one.
pub fn from_person(
    session: &Session,
    name: Option<&str>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Turn, ChatError> {
    match session.state {
        SessionState::Open => return Err(ChatError::NotHandedOff),
        SessionState::Closed => return Err(ChatError::Closed),
        SessionState::HandedOff => {}
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(ChatError::Empty);
    }
    let mut next = session.clone();
    next.updated_at = now;
    next.messages = session.messages + 1;
    let line = Message {
        seq: session.messages + 1,
        author: Speaker::Agent,
        text: text.to_string(),
        at: now,
        answer_id: None,
        score: None,
        feedback: None,
        handoff: false,
        name: name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
    };
    Ok(silent(next, vec![line]))
}

/// What the bot says on a handoff when its file has no `handoff.message`.
fn default_handoff_message(lang: &str) -> &'static str {
    match lang {
        "nb" => "Jeg setter deg over til en person nå.",
        "da" => "Jeg sender dig videre til en medarbejder nu.",
        "ar" => "سأحوّلك الآن إلى أحد الموظفين.",
        "zh" => "正在为您转接人工客服。",
        _ => "I'm passing you to a person now.",
    }
}

/// What the bot says to a question it cannot answer when its file has neither `fallback` nor
/// `handoff.offer`.
fn default_fallback(lang: &str) -> &'static str {
    match lang {
        "nb" => "Beklager, det har jeg ikke noe svar på.",
        "da" => "Beklager, det har jeg ikke et svar på.",
        "ar" => "عذرًا، ليست لدي إجابة على ذلك.",
        "zh" => "抱歉，我暂时无法回答这个问题。",
        _ => "Sorry, I don't have an answer to that.",
    }
}

/// The feedback a text means when it is one of the quick replies on offer.
fn quick_reply(bot: &Bot, session: &Session, text: &str) -> Option<Feedback> {
    let norm = crate::faq::normalise::normalise(text);
    let is = |f: Feedback| {
        crate::faq::normalise::normalise(bot.chat_text(f.text(), &session.language)) == norm
    };
    if session.awaiting_feedback.is_some() {
        for f in [Feedback::Yes, Feedback::No] {
            if is(f) {
                return Some(f);
            }
        }
    }
    is(Feedback::Person).then_some(Feedback::Person)
}

fn ask(bot: &Bot, turn: &mut Turn, question: &str, customer: &mut Message) {
    let s = &mut turn.session;
    let asked = s.language_given.then_some(s.language.as_str());
    let answer = bot.ask(question, asked);
    if !s.language_given {
        s.language = answer.language.clone();
    }
    let lang = s.language.clone();
    s.questions += 1;
    s.awaiting_feedback = None;
    customer.score = Some(answer.score);
    turn.reply.language = lang.clone();
    turn.reply.score = Some(answer.score);
    match answer.answer_id.as_deref().and_then(|id| bot.entry(id)) {
        Some(entry) => {
            s.answered += 1;
            s.unanswered_in_row = 0;
            s.awaiting_feedback = Some(entry.id.clone());
            customer.answer_id = Some(entry.id.clone());
            let default = bot.default_language();
            turn.reply.text = answer.text.clone().unwrap_or_default();
            turn.reply.answer_id = Some(entry.id.clone());
            turn.reply.links = entry
                .links
                .iter()
                .map(|l| ReplyLink {
                    title: l.title(&lang, default).to_string(),
                    url: l.url.clone(),
                })
                .collect();
            turn.reply.quick_replies = entry
                .quick_replies(&lang, default)
                .into_iter()
                .map(str::to_string)
                .chain(
                    [Feedback::Yes, Feedback::No, Feedback::Person]
                        .iter()
                        .map(|f| bot.chat_text(f.text(), &lang).to_string()),
                )
                .collect();
            turn.reply.prompt = Some(bot.chat_text(ChatText::FeedbackQuestion, &lang).to_string());
        }
        None => {
            s.unanswered_in_row += 1;
            turn.reply.abstained = true;
            turn.unanswered =
                Some(crate::faq::normalise::normalise(question)).filter(|n| !n.is_empty());
            if s.unanswered_in_row >= bot.handoff_after().max(1) {
                hand_off(bot, turn, HandoffReason::Unanswered);
                turn.reply.abstained = true;
                return;
            }
            let offer = bot.handoff_offer(&lang).map(str::to_string);
            turn.reply.text = answer
                .text
                .clone()
                .or_else(|| offer.clone())
                .unwrap_or_else(|| default_fallback(&lang).to_string());
            turn.reply.prompt = offer.filter(|o| *o != turn.reply.text);
            turn.reply.quick_replies = vec![bot.chat_text(ChatText::Person, &lang).to_string()];
        }
    }
}

fn hand_off(bot: &Bot, turn: &mut Turn, reason: HandoffReason) {
    let lang = turn.session.language.clone();
    turn.session.state = SessionState::HandedOff;
    turn.session.handoff_reason = Some(reason);
    turn.session.awaiting_feedback = None;
    turn.handoff = Some(reason);
    turn.reply.text = bot
        .handoff_message(&lang)
        .unwrap_or_else(|| default_handoff_message(&lang))
        .to_string();
    turn.reply.quick_replies.clear();
    turn.reply.prompt = None;
    turn.reply.links.clear();
}

/// When a person will answer, as the bot tells the customer at the handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Notice {
    /// The sentence (`handoff.expected` or, when the desk is closed, `handoff.closed`).
    pub text: String,
    /// The expected response ("within 2 hours", "by 08:00 tomorrow").
    pub expected_response: String,
    /// Its moment (RFC 3339, in the customer's time zone or the calendar's).
    pub expected_response_at: String,
    /// Whether the response calendar is open now.
    pub open: bool,
    /// When it opens, if it is closed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
}

/// The wait for a person after a handoff at `now`, from the pack's response calendar and
/// first-response target for `priority`, phrased in `lang` and shown in `tz` (else the
/// calendar's zone). `None` when the pack sets no response targets or the calendar never opens.
pub fn handoff_notice(
    bot: &Bot,
    lang: &str,
    tz: Option<Tz>,
    now: DateTime<Utc>,
    response: Option<(&Calendar, &ResponseTargets)>,
    priority: Priority,
) -> Option<Notice> {
    let (cal, targets) = response?;
    let phrase_lang = crate::time::Lang::from_tag(lang).unwrap_or(crate::time::Lang::En);
    let expected = expected_response(cal, targets.target(priority), now, phrase_lang, tz)?;
    let open = cal.is_open(now);
    let zone = tz.unwrap_or(cal.timezone());
    let opens = if open { None } else { cal.next_open(now) };
    let template = if opens.is_some() {
        ChatText::Closed
    } else {
        ChatText::Expected
    };
    let mut text = bot
        .chat_text(template, lang)
        .replace("{expected_response}", &expected.text);
    if let Some(at) = opens {
        let local = at.with_timezone(&zone);
        let today = now.with_timezone(&zone).date_naive();
        let phrase =
            crate::time::phrase::opening(phrase_lang, local.date_naive(), local.time(), today);
        text = text.replace("{opens}", &phrase);
    }
    Some(Notice {
        text: text.replace("{{", "{"),
        expected_response: expected.text.clone(),
        expected_response_at: expected.at_rfc3339(),
        open,
        opens_at: opens.map(|t| t.with_timezone(&zone).to_rfc3339()),
    })
}

#[cfg(test)]
mod tests;
