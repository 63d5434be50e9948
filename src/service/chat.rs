//! Chat sessions with FAQ bots: opening one, a customer's message (the bot's answer, feedback,
//! the handoff to a person), closing, the transcript and a bot's statistics.
//!
//! The conversation logic is [`crate::bot::reply`] (pure); this file loads and stores sessions
//! and, when a chat goes to a person, decides a `ticket.created` event for the ticket
//! `chat-<session id>` through [`Desk::process`], so the rules (a `handoff` action, a
//! connector) act on it like on any other ticket.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{metrics, Code, Desk, Error};
use crate::bot::{
    self, ChatError, Feedback, HandoffReason, Input, Message, Notice, Reply, Session, SessionState,
    Speaker,
};
use crate::config::diag::did_you_mean;
use crate::faq::Bot;
use crate::model::{Action, Author, Channel, Customer, Event, EventType, Ticket};
use crate::store::{AnswerOf, AuditQuery, ChatStats, StoreError};

/// Body of `POST /v1/chat/sessions`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChat {
    /// The bot's name (`bot:` in its file).
    pub bot: String,
    /// The language to chat in (a BCP 47 tag); else the customer's; else the bot's default,
    /// and then the bot follows the language the customer writes in.
    #[serde(default)]
    pub language: Option<String>,
    /// Who is chatting, when the site knows.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The channel (default `chat`).
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// A new session (`201 Created`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatOpened {
    /// The session id, for the next calls.
    pub id: String,
    /// The bot.
    pub bot: String,
    /// The language the bot speaks.
    pub language: String,
    /// `open`.
    pub state: SessionState,
    /// The bot's greeting, if it has one.
    pub greeting: Option<String>,
    /// Buttons offered with the greeting.
    pub quick_replies: Vec<String>,
}

/// Body of `POST /v1/chat/sessions/{id}/messages`: exactly one of `text` and `feedback`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["text"], "properties": { "text": { "type": "string" } } },
    { "required": ["feedback"], "properties": { "feedback": { "type": "string" } } }
]))]
pub struct ChatInput {
    /// The client's id of this message (1 to 128 letters, digits and `-_.:`): sent again with
    /// the same id, the message is not taken twice but answered as the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z0-9_.:-]{1,128}$"))]
    pub id: Option<String>,
    /// What the customer wrote (up to 4,096 characters, not only spaces). A quick reply's
    /// text counts as that quick reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"\S"), length(max = 4096))]
    pub text: Option<String>,
    /// A quick reply sent as a value: `yes` / `no` on the last answer, or `person`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
}

/// The handoff event decided for a chat that went to a person.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HandoffEvent {
    /// The event's id (`chat:<session>:handoff`).
    pub event_id: String,
    /// The ticket (`chat-<session>`).
    pub ticket_id: String,
    /// The rules that fired.
    pub rules: Vec<String>,
    /// The actions decided.
    pub actions: Vec<Action>,
}

/// The bot's answer to a message.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatAnswer {
    /// The session.
    pub session: String,
    /// Its state after the message.
    pub state: SessionState,
    /// What the bot says.
    pub reply: Reply,
    /// The feedback the message gave.
    pub feedback: Option<Feedback>,
    /// The chat went to a person with this message.
    pub handoff: bool,
    /// Why.
    pub handoff_reason: Option<HandoffReason>,
    /// When a person will answer (on a handoff, when the rules set response targets).
    pub expected: Option<Notice>,
    /// The event decided for the handoff.
    pub event: Option<HandoffEvent>,
    /// After the handoff, a line that rated the chat's survey (`5`, `👍`, "very good").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<super::csat::Rated>,
}

/// A session and its transcript.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transcript {
    /// The session.
    pub session: Session,
    /// Every line, oldest first.
    pub messages: Vec<Message>,
    /// After a handoff: the satisfaction survey of the chat's ticket, when one was sent; while
    /// it is pending the widget offers its quick replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<super::csat::ChatSurvey>,
}

/// The bot named `name`, or a 404 that names the field and the nearest bot.
fn find_bot<'b>(bots: &'b crate::faq::BotSet, name: &str, field: &str) -> Result<&'b Bot, Error> {
    bots.get(name).ok_or_else(|| {
        let hint = did_you_mean(name, bots.iter().map(|b| b.name()));
        Error::not_found(format!("no bot `{name}` is loaded{hint}")).field(field)
    })
}

/// 32 hex digits from the operating system's random source.
fn session_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // No /dev/urandom: SipHash with the process's random keys over the time and a counter.
        use std::hash::{BuildHasher, Hasher};
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(nanos);
            h.write_u64(n);
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens a session with a bot: its greeting and first quick replies.
pub async fn open(state: &Desk, req: NewChat) -> Result<ChatOpened, Error> {
    if let Some(tag) = &req.language {
        if !crate::model::valid_language(&tag.to_ascii_lowercase()) {
            return Err(Error::invalid_request(
                format!("`{tag}` is not a language tag (en, nb, da, ar, zh-Hans, ...)"),
                "language",
            ));
        }
    }
    let customer = req.customer.unwrap_or_default();
    if let Some(tz) = &customer.timezone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::invalid_request(
                format!("`{tz}` is not an IANA time zone (Europe/Oslo, Asia/Shanghai, ...)"),
                "customer.timezone",
            ));
        }
    }
    let bots = state.bots();
    let bot = find_bot(&bots, &req.bot, "bot")?;
    let now = state.clock.now();
    let mut session = Session::open(
        session_id(),
        bot,
        req.language.as_deref(),
        customer,
        req.channel,
        now,
    );
    let greeting = session.greeting(bot);
    let mut lines = Vec::new();
    if let Some(text) = &greeting {
        lines.push(Message {
            seq: 1,
            author: Speaker::Bot,
            text: text.clone(),
            at: now,
            answer_id: None,
            score: None,
            feedback: None,
            handoff: false,
        });
    }
    session.messages = lines.len() as u32;
    state.store.create_chat_session(&session, &lines).await?;
    metrics::chat_session(&session.bot);
    let opened = ChatOpened {
        quick_replies: session.opening_quick_replies(bot),
        id: session.id,
        bot: session.bot,
        language: session.language,
        state: session.state,
        greeting,
    };
    Ok(opened)
}

async fn load_session(state: &Desk, id: &str) -> Result<Session, Error> {
    state
        .store
        .chat_session(id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no chat session `{id}`")).field("id"))
}

/// A session and its transcript.
pub async fn transcript(state: &Desk, id: &str) -> Result<Transcript, Error> {
    let session = load_session(state, id).await?;
    let messages = state.store.chat_messages(id).await?;
    let survey = match session.state {
        SessionState::HandedOff => super::csat::chat_survey(state, &session.ticket_id()).await?,
        _ => None,
    };
    Ok(Transcript {
        session,
        messages,
        survey,
    })
}

/// How often a turn is computed again when another replica saved a turn of the same session
/// first (within one daemon the turns of a session already wait for each other). Every refusal
/// means another turn was saved, so this only bounds a runaway.
const TURN_ATTEMPTS: usize = 16;

/// What is kept with a customer's line: the request and the answer it got, for resends.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    request: ChatInput,
    answer: ChatAnswer,
}

/// The turns of one chat session in this daemon run one after another: a message waits for
/// the one before it to be answered and saved, so two messages (a handoff among them) never
/// compute their turns from the same stored state. Across replicas the store's version check
/// catches what this cannot, and the turn is computed again.
#[derive(Default)]
pub(crate) struct SessionLocks {
    held: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A session's turn in progress; dropping it lets the next one in.
pub(crate) struct SessionTurn<'a> {
    locks: &'a SessionLocks,
    id: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl SessionLocks {
    /// Waits until no other turn of session `id` is in progress here.
    pub(crate) async fn lock(&self, id: &str) -> SessionTurn<'_> {
        let mutex = self
            .held
            .lock()
            .expect("chat session locks")
            .entry(id.to_string())
            .or_default()
            .clone();
        let guard = mutex.lock_owned().await;
        SessionTurn {
            locks: self,
            id: id.to_string(),
            guard: Some(guard),
        }
    }

    /// Sessions with a turn in progress or waiting.
    #[cfg(test)]
    fn busy(&self) -> usize {
        self.held.lock().expect("chat session locks").len()
    }
}

impl Drop for SessionTurn<'_> {
    fn drop(&mut self) {
        let mut held = self.locks.held.lock().expect("chat session locks");
        drop(self.guard.take());
        // Nobody waits for it: forget the session.
        if held
            .get(&self.id)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            held.remove(&self.id);
        }
    }
}

/// A client's message id: 1 to 128 of `A-Za-z0-9-_.:`.
fn valid_message_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A customer's message (`text`) or feedback: the bot's answer, or the handoff to a person.
///
/// The turn runs to its end in a task of its own even when the caller goes away meanwhile: a
/// handoff decided and then dropped before its turn is saved would leave the session behind
/// its ticket.
pub async fn message(state: &Arc<Desk>, id: &str, body: ChatInput) -> Result<ChatAnswer, Error> {
    if let Some(mid) = &body.id {
        if !valid_message_id(mid) {
            return Err(Error::invalid_request(
                format!("id: `{mid}` is not a message id (1 to 128 letters, digits, `-`, `_`, `.`, `:`)"),
                "id",
            ));
        }
    }
    let input = match (&body.text, body.feedback) {
        (Some(text), None) => {
            if text.trim().is_empty() {
                return Err(Error::invalid_request("text: the message is empty", "text"));
            }
            let chars = text.chars().count();
            if chars > bot::MAX_MESSAGE_CHARS {
                return Err(Error::invalid_request(
                    format!(
                        "text: the message is {chars} characters; at most {} are taken",
                        bot::MAX_MESSAGE_CHARS
                    ),
                    "text",
                ));
            }
            Input::Text(text.clone())
        }
        (None, Some(f)) => Input::Feedback(f),
        (Some(_), Some(_)) => {
            return Err(Error::invalid_request(
                "send either `text` or `feedback`, not both",
                "feedback",
            ))
        }
        (None, None) => return Err(Error::invalid_request(
            "text: missing; send `text` (what the customer wrote) or `feedback` (yes, no, person)",
            "text",
        )),
    };
    let state = state.clone();
    let id = id.to_string();
    let task = tokio::spawn(async move { take_message(&state, &id, body, input).await });
    match task.await {
        Ok(answer) => answer,
        Err(e) => Err(Error::internal(format!(
            "answering the message failed: {e}"
        ))),
    }
}

/// One customer message, in the session's turn.
async fn take_message(
    state: &Desk,
    id: &str,
    request: ChatInput,
    input: Input,
) -> Result<ChatAnswer, Error> {
    let _turn = state.chat_locks.lock(id).await;
    let mut stale = String::new();
    for _ in 0..TURN_ATTEMPTS {
        if let Some(mid) = &request.id {
            if let Some(kept) = state.store.chat_answer(id, AnswerOf::Id(mid)).await? {
                return resent(&kept, &request, mid);
            }
        }
        let session = load_session(state, id).await?;
        if request.id.is_none() && session.state == SessionState::HandedOff {
            if let Some(answer) = handoff_resent(state, &session, &request).await? {
                return Ok(answer);
            }
        }
        // One pack snapshot for the whole message: the bot and the response targets agree.
        let loaded = state.config.load_full();
        let bot = find_bot(loaded.config.bots(), &session.bot, "bot")?;
        let now = state.clock.now();
        let mut turn = bot::reply(bot, &session, &input, now).map_err(|e| match e {
            ChatError::Closed => Error::new(Code::SessionClosed, e.to_string()),
            ChatError::NothingToRate => {
                Error::new(Code::NothingToRate, e.to_string()).field("feedback")
            }
            ChatError::Empty | ChatError::TooLong(_) => {
                Error::invalid_request(e.to_string(), "text")
            }
        })?;
        let mut expected = None;
        let mut event = None;
        if let Some(reason) = turn.handoff {
            let transcript = state.store.chat_messages(id).await?;
            let ev = handoff_event(&turn.session, reason, &transcript, &turn.messages, now);
            let (decided, priority) = decide_handoff(state, &turn.session, ev).await?;
            let tz = turn
                .session
                .customer
                .timezone
                .as_deref()
                .and_then(|z| z.parse::<chrono_tz::Tz>().ok());
            expected = bot::handoff_notice(
                bot,
                &turn.session.language,
                tz,
                now,
                loaded.config.response_targets(),
                priority,
            );
            if let Some(n) = &expected {
                let text = [turn.reply.text.as_str(), n.text.as_str()]
                    .iter()
                    .filter(|t| !t.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                turn.reply.text = text.clone();
                if let Some(line) = turn.messages.last_mut() {
                    line.text = text;
                }
            }
            event = Some(decided);
        }
        // After the handoff the person's survey may be waiting: a line that reads as a rating
        // rates it (the line is kept for the person all the same).
        let rating = match (&input, session.state) {
            (Input::Text(text), SessionState::HandedOff) => {
                super::csat::rate_in_chat(state, &session.ticket_id(), text).await?
            }
            _ => None,
        };
        let answer = ChatAnswer {
            session: turn.session.id.clone(),
            state: turn.session.state,
            feedback: turn.feedback.as_ref().map(|(_, f)| *f),
            handoff: turn.handoff.is_some(),
            handoff_reason: turn.handoff,
            reply: turn.reply.clone(),
            expected,
            event,
            rating,
        };
        turn.message_id = request.id.clone();
        turn.answer = Some(serde_json::to_string(&Kept {
            request: request.clone(),
            answer: answer.clone(),
        })?);
        match state.store.save_chat_turn(&turn).await {
            Ok(_) => {}
            // Another replica saved a turn of this session first: answer from the new state.
            // A handoff decided on the way is found again by its event id.
            Err(StoreError::Stale(why)) => {
                stale = why;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let outcome = match (&turn.handoff, turn.reply.abstained, &turn.feedback) {
            _ if session.state == SessionState::HandedOff => "after_handoff",
            (Some(_), _, _) => "handoff",
            (None, _, Some(_)) => "feedback",
            (None, true, None) => "abstained",
            (None, false, None) => "answered",
        };
        metrics::chat_message(&turn.session.bot, outcome);
        return Ok(answer);
    }
    Err(Error::new(Code::Stale, stale))
}

/// The answer kept for message `mid`, when the request is the same; else a 409.
fn resent(kept: &str, request: &ChatInput, mid: &str) -> Result<ChatAnswer, Error> {
    let kept: Kept = serde_json::from_str(kept)?;
    fn said(a: &ChatInput) -> (Option<&str>, Option<Feedback>) {
        (a.text.as_deref().map(str::trim), a.feedback)
    }
    if said(&kept.request) != said(request) {
        return Err(Error::new(
            Code::MessageIdReused,
            format!("message id `{mid}` was already used for another message in this session"),
        )
        .field("id"));
    }
    Ok(kept.answer)
}

/// A message without an id to a handed-off session that repeats the message that handed it
/// over, with nothing said since: the client did not get that answer and sent it again. It
/// gets the handoff's answer again instead of a line for the person.
async fn handoff_resent(
    state: &Desk,
    session: &Session,
    request: &ChatInput,
) -> Result<Option<ChatAnswer>, Error> {
    let lines = state.store.chat_messages(&session.id).await?;
    let [.., asked, handed] = lines.as_slice() else {
        return Ok(None);
    };
    if !(handed.handoff && asked.author == Speaker::Customer) {
        return Ok(None);
    }
    let Some(kept) = state
        .store
        .chat_answer(&session.id, AnswerOf::Seq(asked.seq))
        .await?
    else {
        return Ok(None);
    };
    Ok(resent(&kept, request, "").ok())
}

/// Decides the handoff event; when its id was taken by a handoff of this session whose turn
/// was never saved (the daemon stopped in between, or another replica lost the race to save),
/// that decision stands and is read back. Returns what the answer shows, and the priority the
/// rules gave the ticket.
async fn decide_handoff(
    state: &Desk,
    session: &Session,
    ev: Event,
) -> Result<(HandoffEvent, crate::model::Priority), Error> {
    let event_id = ev.id.clone();
    match state.process(ev, None, false).await {
        Ok(applied) => {
            let d = applied.decision;
            let priority = d.ticket.priority;
            Ok((
                HandoffEvent {
                    event_id: d.event_id,
                    ticket_id: d.ticket.id,
                    rules: d.trace.fired,
                    actions: d.actions,
                },
                priority,
            ))
        }
        Err(e) if e.code == Code::EventIdReused => {
            let ticket_id = session.ticket_id();
            let Some(record) = state.store.ticket(&ticket_id).await? else {
                return Err(e);
            };
            let mut rows = state
                .store
                .audit(&AuditQuery {
                    ticket: Some(ticket_id.clone()),
                    rule: None,
                    limit: Some(1000),
                })
                .await?;
            rows.retain(|r| r.event_id == event_id);
            rows.reverse();
            let actions = match rows.first() {
                Some(r) => serde_json::from_value(r.actions.clone())?,
                None => Vec::new(),
            };
            tracing::info!(%event_id, "the chat's handoff was decided before; its decision stands");
            Ok((
                HandoffEvent {
                    event_id,
                    ticket_id,
                    rules: rows.into_iter().map(|r| r.rule).collect(),
                    actions,
                },
                record.ticket.priority,
            ))
        }
        Err(e) => Err(e),
    }
}

/// The answer to `POST /v1/chat/sessions/{id}/close`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatClosed {
    /// The session.
    pub session: String,
    /// `closed`.
    pub state: SessionState,
}

/// Ends a chat; the bot answers nothing more in it.
pub async fn close(state: &Desk, id: &str) -> Result<ChatClosed, Error> {
    let _turn = state.chat_locks.lock(id).await;
    let mut stale = String::new();
    for _ in 0..TURN_ATTEMPTS {
        let session = load_session(state, id).await?;
        let turn = bot::close(&session, state.clock.now())
            .map_err(|e| Error::new(Code::SessionClosed, e.to_string()))?;
        match state.store.save_chat_turn(&turn).await {
            Ok(_) => {
                return Ok(ChatClosed {
                    session: id.to_string(),
                    state: turn.session.state,
                })
            }
            Err(StoreError::Stale(why)) => stale = why,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::new(Code::Stale, stale))
}

/// The `ticket.created` event of a handoff: the ticket `chat-<session>` on the session's
/// channel, with the customer's messages as its message and the transcript in
/// `event.data.chat`.
fn handoff_event(
    session: &Session,
    reason: HandoffReason,
    earlier: &[Message],
    now_lines: &[Message],
    now: chrono::DateTime<chrono::Utc>,
) -> Event {
    let lines: Vec<&Message> = earlier.iter().chain(now_lines).collect();
    let said: Vec<&str> = lines
        .iter()
        .filter(|m| m.author == Speaker::Customer)
        .map(|m| m.text.as_str())
        .collect();
    let subject = said
        .iter()
        .find(|t| t.chars().any(char::is_alphanumeric))
        .map(|t| t.chars().take(120).collect::<String>())
        .unwrap_or_else(|| format!("Chat with {}", session.bot));
    let ticket = Ticket {
        id: session.ticket_id(),
        channel: session.channel,
        subject,
        customer: session.customer.clone(),
        tags: vec!["chat".into(), "bot_handoff".into()],
        created_at: Some(session.created_at),
        ..Ticket::default()
    };
    let transcript: Vec<_> = lines
        .iter()
        .map(|m| json!({ "author": m.author.as_str(), "text": m.text, "at": m.at }))
        .collect();
    let mut data = serde_json::Map::new();
    data.insert(
        "chat".into(),
        json!({
            "session": session.id,
            "bot": session.bot,
            "reason": reason.as_str(),
            "language": session.language,
            "transcript": transcript,
        }),
    );
    Event {
        id: format!("chat:{}:handoff", session.id),
        kind: EventType::TicketCreated,
        occurred_at: Some(now),
        ticket,
        message: Some(crate::model::Message {
            id: Some(format!(
                "chat:{}:{}",
                session.id,
                now_lines.first().map_or(0, |m| m.seq)
            )),
            text: said.join("\n"),
            author: Author::Customer,
            at: Some(now),
            language: Some(session.language.clone()),
        }),
        changes: Default::default(),
        timer: None,
        data,
    }
}

/// Counts over a bot's sessions and its `top` most often unanswered questions (default 10).
pub async fn stats(state: &Desk, bot: &str, top: Option<u32>) -> Result<ChatStats, Error> {
    let bots = state.bots();
    let bot = find_bot(&bots, bot, "bot")?;
    Ok(state
        .store
        .chat_stats(bot.name(), top.unwrap_or(10))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[tokio::test]
    async fn a_sessions_turns_wait_for_each_other_and_are_forgotten_after() {
        let locks = SessionLocks::default();
        let first = locks.lock("a").await;
        // Another session is not held up.
        drop(locks.lock("b").await);
        let mut second = std::pin::pin!(locks.lock("a"));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            second.as_mut().poll(&mut cx).is_pending(),
            "waits for the first"
        );
        assert_eq!(locks.busy(), 1);
        drop(first);
        let std::task::Poll::Ready(second) = second.as_mut().poll(&mut cx) else {
            panic!("the second turn goes once the first is done");
        };
        drop(second);
        assert_eq!(locks.busy(), 0);
    }

    #[test]
    fn message_ids() {
        for ok in ["m1", "web:3f9c.7", "a-b_c", &"x".repeat(128)] {
            assert!(valid_message_id(ok), "{ok}");
        }
        for bad in ["", "with space", "é", "a/b", &"x".repeat(129)] {
            assert!(!valid_message_id(bad), "{bad}");
        }
    }
}
