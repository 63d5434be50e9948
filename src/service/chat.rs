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
    /// On a handoff nobody can take now (the desk is closed, or the ticket waits in a team's
    /// queue with no agent free): offer to leave an e-mail address for the answer
    /// (`POST /v1/chat/sessions/{id}/contact`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_contact: bool,
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
    let lines = session.opening_lines(bot, now);
    let greeting = lines.first().map(|l| l.text.clone());
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
    let messages = state.store.chat_messages(id, 0).await?;
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
    /// After the handoff: the customer's line, sent on to the chat's ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    forwarded: Option<Forward>,
}

/// A customer's line after the handoff, as it goes on to the chat's ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Forward {
    seq: u32,
    text: String,
    at: chrono::DateTime<chrono::Utc>,
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

/// A message's text: not only spaces, at most [`bot::MAX_MESSAGE_CHARS`] characters.
fn check_text(text: &str) -> Result<(), Error> {
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
    Ok(())
}

/// A caller's message id, when there is one: 1 to 128 of `A-Za-z0-9-_.:`.
fn check_message_id(id: Option<&str>) -> Result<(), Error> {
    match id {
        Some(mid) if !valid_message_id(mid) => Err(Error::invalid_request(
            format!(
                "id: `{mid}` is not a message id (1 to 128 letters, digits, `-`, `_`, `.`, `:`)"
            ),
            "id",
        )),
        _ => Ok(()),
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
    check_message_id(body.id.as_deref())?;
    let input = match (&body.text, body.feedback) {
        (Some(text), None) => {
            check_text(text)?;
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
                let (answer, forwarded) = resent(&kept, &request, mid)?;
                // The first time may have stopped before the line reached the ticket.
                if let Some(f) = forwarded {
                    forward(state, &load_session(state, id).await?, &f).await?;
                }
                return Ok(answer);
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
            ChatError::NotHandedOff => Error::new(Code::NotHandedOff, e.to_string()),
        })?;
        let mut expected = None;
        let mut event = None;
        let mut queued = false;
        if let Some(reason) = turn.handoff {
            let transcript = state.store.chat_messages(id, 0).await?;
            let mut ev = handoff_event(&turn.session, reason, &transcript, &turn.messages, now);
            // Chats go on in a helpdesk: the handoff opens the conversation there (an outbox
            // row of the decision, `outbound::chat_rows`).
            if let Some(b) = state.connectors.chat_bridge() {
                if let Some(chat) = ev.data.get_mut("chat") {
                    chat["open"] = json!({ "helpdesk": b.helpdesk, "account": b.account,
                                           "inbox": b.inbox, "group": b.group });
                }
            }
            let (decided, priority, waits) = decide_handoff(state, &turn.session, ev).await?;
            queued = waits;
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
            ask_contact: turn.handoff.is_some()
                && (queued || expected.as_ref().is_some_and(|n| !n.open)),
            expected,
            event,
            rating,
        };
        // A line for the person goes on to the chat's ticket, unless it rated the survey (the
        // rating went as its own event).
        let forwarded = match (&input, session.state, &answer.rating) {
            (Input::Text(_), SessionState::HandedOff, None) => {
                turn.messages.first().map(|line| Forward {
                    seq: line.seq,
                    text: line.text.clone(),
                    at: line.at,
                })
            }
            _ => None,
        };
        turn.message_id = request.id.clone();
        turn.answer = Some(serde_json::to_string(&Kept {
            request: request.clone(),
            answer: answer.clone(),
            forwarded: forwarded.clone(),
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
        state.chat_changed(id);
        if let Some(f) = &forwarded {
            forward(state, &turn.session, f).await?;
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

/// The answer kept for message `mid` and the line it sent on to the ticket, when the request is
/// the same; else a 409.
fn resent(
    kept: &str,
    request: &ChatInput,
    mid: &str,
) -> Result<(ChatAnswer, Option<Forward>), Error> {
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
    Ok((kept.answer, kept.forwarded))
}

/// A message without an id to a handed-off session that repeats the message that handed it
/// over, with nothing said since: the client did not get that answer and sent it again. It
/// gets the handoff's answer again instead of a line for the person.
async fn handoff_resent(
    state: &Desk,
    session: &Session,
    request: &ChatInput,
) -> Result<Option<ChatAnswer>, Error> {
    let lines = state.store.chat_messages(&session.id, 0).await?;
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
    Ok(resent(&kept, request, "").ok().map(|(answer, _)| answer))
}

/// Decides the handoff event; when its id was taken by a handoff of this session whose turn
/// was never saved (the daemon stopped in between, or another replica lost the race to save),
/// that decision stands and is read back. Returns what the answer shows, and the priority the
/// rules gave the ticket, and whether it waits in a team's queue.
async fn decide_handoff(
    state: &Desk,
    session: &Session,
    ev: Event,
) -> Result<(HandoffEvent, crate::model::Priority, bool), Error> {
    let event_id = ev.id.clone();
    match state.process(ev, None, false).await {
        Ok(applied) => {
            let d = applied.decision;
            let priority = d.ticket.priority;
            let queued = d.routing.queued.is_some();
            Ok((
                HandoffEvent {
                    event_id: d.event_id,
                    ticket_id: d.ticket.id,
                    rules: d.trace.fired,
                    actions: d.actions,
                },
                priority,
                queued,
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
                record.ticket.assignee.is_none(),
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
                state.chat_changed(id);
                return Ok(ChatClosed {
                    session: id.to_string(),
                    state: turn.session.state,
                });
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
            author_name: None,
        }),
        changes: Default::default(),
        timer: None,
        data,
    }
}

/// Sends a customer's line written after the handoff on to the chat's ticket, as the event
/// `message.created` `chat:<session>:<line>`, so the rules, the SLA clocks and the helpdesk see
/// it. Repeating it repeats nothing (the event id).
async fn forward(state: &Desk, session: &Session, line: &Forward) -> Result<(), Error> {
    let id = format!("chat:{}:{}", session.id, line.seq);
    let ticket_id = session.ticket_id();
    let mut data = serde_json::Map::new();
    data.insert(
        "chat".into(),
        json!({ "session": session.id, "bot": session.bot, "line": line.seq }),
    );
    let mut event = chat_ticket_event(
        id.clone(),
        EventType::MessageCreated,
        ticket_id.clone(),
        line.at,
        data,
    );
    event.message = Some(crate::model::Message {
        id: Some(id),
        text: line.text.clone(),
        author: Author::Customer,
        at: Some(line.at),
        language: Some(session.language.clone()),
        author_name: None,
    });
    // Only the id is sent: the ticket keeps what the handoff and the rules made of it.
    state
        .process(event, Some(json!({ "id": ticket_id })), false)
        .await?;
    Ok(())
}

/// An event of frontdesk's own on a chat's ticket: it names only the ticket's id, so it is
/// decided with the ticket as stored (see the `patch` of [`Desk::process`]).
fn chat_ticket_event(
    id: String,
    kind: EventType,
    ticket_id: String,
    at: chrono::DateTime<chrono::Utc>,
    data: serde_json::Map<String, serde_json::Value>,
) -> Event {
    Event {
        id,
        kind,
        occurred_at: Some(at),
        ticket: Ticket {
            id: ticket_id,
            ..Ticket::default()
        },
        message: None,
        changes: Default::default(),
        timer: None,
        data,
    }
}

/// A chat's conversation was opened in a helpdesk (the outbox row `<handoff>/open`), which gave
/// it `id`: the ticket records it as its `source` (`ticket.updated` `<row>:opened`), so the
/// helpdesk's webhooks for that conversation reach the chat and the ticket's actions go there.
pub(crate) async fn opened(
    state: &Desk,
    row: &crate::store::OutboxRow,
    id: &str,
) -> Result<(), Error> {
    let target = row.target.as_ref();
    let text = |k: &str| {
        target
            .and_then(|t| t.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let helpdesk = text("helpdesk").unwrap_or_default();
    let source = crate::model::Source {
        api: state.connectors.calls_back(&helpdesk),
        helpdesk,
        account: text("account"),
        id: Some(id.to_string()),
    };
    let mut changes = std::collections::BTreeMap::new();
    changes.insert(
        "ticket.source".to_string(),
        crate::model::Change {
            from: serde_json::Value::Null,
            to: json!(source),
        },
    );
    let mut event = chat_ticket_event(
        format!("{}:opened", row.id),
        EventType::TicketUpdated,
        row.ticket_id.clone(),
        state.clock.now(),
        Default::default(),
    );
    event.changes = changes;
    state
        .process(
            event,
            Some(json!({ "id": row.ticket_id, "source": source })),
            false,
        )
        .await?;
    tracing::info!(ticket = %row.ticket_id, helpdesk = %source.helpdesk, conversation = %id, "the chat goes on in the helpdesk");
    Ok(())
}

/// A person's message brought by an event, on its way to the chat it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct PersonLine {
    session: String,
    event_id: String,
    name: Option<String>,
    text: String,
    at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The chat line an event brings: a `message.agent` event on a chat's handoff ticket
/// (`chat-<session>`), from any adapter, `POST /v1/events` or the agent-messages endpoint.
pub(crate) fn person_line(event: &Event) -> Option<PersonLine> {
    if event.kind != EventType::MessageAgent {
        return None;
    }
    let session = event.ticket.id.strip_prefix("chat-")?;
    let message = event.message.as_ref()?;
    if session.is_empty() || message.text.trim().is_empty() {
        return None;
    }
    Some(PersonLine {
        session: session.to_string(),
        event_id: event.id.clone(),
        name: message.author_name.clone(),
        text: message.text.clone(),
        at: message.at.or(event.occurred_at),
    })
}

/// Adds a person's line to its chat once the event that brought it is stored (a repeat of the
/// event adds nothing: the line remembers its event). Without a name the line is signed with
/// the ticket's assignee as the pack names them. A chat that is unknown, closed or not handed
/// over keeps the event on the ticket only. Returns the line's number.
pub(crate) async fn add_person_line(
    state: &Desk,
    line: PersonLine,
    ticket: &Ticket,
) -> Result<Option<u32>, Error> {
    let _turn = state.chat_locks.lock(&line.session).await;
    let name = line.name.clone().or_else(|| {
        let assignee = ticket.assignee.as_deref()?;
        let loaded = state.config.load();
        let agent = loaded.config.roster().agent(assignee);
        Some(
            agent
                .and_then(|a| a.name.clone())
                .unwrap_or_else(|| assignee.to_string()),
        )
    });
    let mut stale = String::new();
    for _ in 0..TURN_ATTEMPTS {
        if let Some(seq) = state
            .store
            .chat_line_of_event(&line.session, &line.event_id)
            .await?
        {
            return Ok(Some(seq));
        }
        let Some(session) = state.store.chat_session(&line.session).await? else {
            tracing::debug!(session = %line.session, event_id = %line.event_id, "no such chat session: the message stays on the ticket");
            return Ok(None);
        };
        let now = state.clock.now();
        let at = line.at.filter(|t| *t <= now).unwrap_or(now);
        let mut turn = match bot::from_person(&session, name.as_deref(), &line.text, at) {
            Ok(turn) => turn,
            Err(e) => {
                tracing::info!(session = %line.session, event_id = %line.event_id, "{e}: the person's message stays on the ticket");
                return Ok(None);
            }
        };
        turn.session.updated_at = now.max(session.updated_at);
        turn.event_id = Some(line.event_id.clone());
        let seq = turn.messages.first().map(|m| m.seq);
        match state.store.save_chat_turn(&turn).await {
            Ok(_) => {
                state.chat_changed(&line.session);
                metrics::chat_message(&session.bot, "from_person");
                return Ok(seq);
            }
            // Another turn was saved first, or the line is there already: look again.
            Err(StoreError::Stale(why)) => stale = why,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::new(Code::Stale, stale))
}

/// Body of `POST /v1/chat/sessions/{id}/agent-messages`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentMessage {
    /// The caller's id of this message (1 to 128 letters, digits and `-_.:`): sent again with
    /// the same id, the message is added once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z0-9_.:-]{1,128}$"))]
    pub id: Option<String>,
    /// What the person wrote (up to 4,096 characters, not only spaces).
    #[schemars(pattern(r"\S"), length(max = 4096))]
    pub text: String,
    /// Who wrote it: an agent's id in the pack (shown by its name) or the name to show.
    #[schemars(pattern(r"\S"), length(max = 200))]
    pub agent: String,
}

/// A person's line added to a chat.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentPosted {
    /// The session.
    pub session: String,
    /// The event the message was decided as (`message.agent` on the chat's ticket).
    pub event_id: String,
    /// The ticket (`chat-<session>`).
    pub ticket_id: String,
    /// The line as the customer sees it.
    pub message: Message,
}

/// A person's message to a chat handed over to people, without a helpdesk: decided as the event
/// `message.agent` on the chat's ticket (so the rules and SLA clocks see the first response),
/// and added to the transcript, which the customer's widget shows at once.
pub async fn agent_message(
    state: &Desk,
    id: &str,
    body: AgentMessage,
) -> Result<AgentPosted, Error> {
    check_text(&body.text)?;
    let text = body.text.trim();
    let agent = body.agent.trim();
    if agent.is_empty() || agent.chars().count() > 200 {
        return Err(Error::invalid_request(
            "agent: say who wrote the message (an agent's id or a name, up to 200 characters)",
            "agent",
        ));
    }
    check_message_id(body.id.as_deref())?;
    let session = load_session(state, id).await?;
    handed_off(&session)?;
    let name = {
        let loaded = state.config.load();
        let known = loaded.config.roster().agent(agent);
        known
            .and_then(|a| a.name.clone())
            .unwrap_or_else(|| agent.to_string())
    };
    let event_id = format!(
        "chat:{id}:agent:{}",
        body.id.clone().unwrap_or_else(session_id)
    );
    let ticket_id = session.ticket_id();
    let now = state.clock.now();
    let mut data = serde_json::Map::new();
    data.insert("chat".into(), json!({ "session": id, "agent": agent }));
    let mut event = chat_ticket_event(
        event_id.clone(),
        EventType::MessageAgent,
        ticket_id.clone(),
        now,
        data,
    );
    event.message = Some(crate::model::Message {
        id: Some(event_id.clone()),
        text: text.to_string(),
        author: Author::Agent,
        at: Some(now),
        language: None,
        author_name: Some(name),
    });
    // `process` adds the line (see `Desk::process`); a repeat of the id finds it again.
    state
        .process(event, Some(json!({ "id": ticket_id })), false)
        .await?;
    let seq = state
        .store
        .chat_line_of_event(id, &event_id)
        .await?
        .ok_or_else(|| {
            // Closed between the check and the event: the message stays on the ticket.
            Error::new(
                Code::SessionClosed,
                format!(
                    "chat session `{id}` was closed; the message is on ticket `{ticket_id}` only"
                ),
            )
        })?;
    let message = state
        .store
        .chat_messages(id, seq.saturating_sub(1))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal(format!("line {seq} of chat `{id}` is missing")))?;
    Ok(AgentPosted {
        session: id.to_string(),
        event_id,
        ticket_id,
        message,
    })
}

/// Refuses a session that is not with people: closed (409 `session_closed`) or still answered
/// by the bot (409 `not_handed_off`).
fn handed_off(session: &Session) -> Result<(), Error> {
    match session.state {
        SessionState::HandedOff => Ok(()),
        SessionState::Closed => Err(Error::new(
            Code::SessionClosed,
            format!("chat session `{}` is closed", session.id),
        )),
        SessionState::Open => Err(Error::new(
            Code::NotHandedOff,
            format!(
                "chat session `{}` has not been handed to a person; the bot answers it",
                session.id
            ),
        )),
    }
}

/// Body of `POST /v1/chat/sessions/{id}/contact`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveContact {
    /// Where the answer may go when nobody can answer in the chat now: a local part of at most
    /// 64 characters, `@`, and a domain of two or more dot-separated labels; no spaces,
    /// control characters or `<>,;`.
    #[schemars(length(max = 254), pattern(r"^[^\x00-\x20\x7f-\xa0@<>,;\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]{1,64}@[^.\x00-\x20\x7f-\xa0@<>,;\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+(\.[^.\x00-\x20\x7f-\xa0@<>,;\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+)+$"))]
    pub email: String,
}

/// The address kept for the answer.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContactLeft {
    /// The session.
    pub session: String,
    /// The ticket the address is on (`customer.email`).
    pub ticket_id: String,
    /// The address.
    pub email: String,
}

/// A character an address may hold: none of the spaces (Unicode's), the control characters,
/// `@` (but the one) and `<>,;`. The schema's `pattern` of [`LeaveContact::email`] spells the
/// same set.
fn email_char(c: char) -> bool {
    !(c <= ' '
        || ('\u{7f}'..='\u{a0}').contains(&c)
        || matches!(
            c,
            '@' | '<' | '>' | ',' | ';' | '\u{1680}' | '\u{2000}'
                ..='\u{200a}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202f}'
                    | '\u{205f}'
                    | '\u{3000}'
                    | '\u{feff}'
        ))
}

/// Whether `s` reads as one e-mail address: a local part of 1 to 64 characters, `@`, and a
/// domain of two or more labels separated by single dots, at most 254 characters in all, every
/// character an [`email_char`] (the dots of the domain aside).
fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    s.chars().count() <= 254
        && (1..=64).contains(&local.chars().count())
        && local.chars().all(email_char)
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(email_char))
}

/// The customer leaves an e-mail address for the answer (nobody could answer in the chat):
/// stored on the chat's ticket as `customer.email` by the event `ticket.updated`
/// `chat:<session>:contact:<address>`, so the answer can go by e-mail through the helpdesk or
/// the SMTP connector.
pub async fn leave_contact(
    state: &Desk,
    id: &str,
    body: LeaveContact,
) -> Result<ContactLeft, Error> {
    let email = body.email;
    if !plausible_email(&email) {
        return Err(Error::invalid_request(
            format!("email: `{email}` is not an e-mail address"),
            "email",
        ));
    }
    let session = load_session(state, id).await?;
    handed_off(&session)?;
    let ticket_id = session.ticket_id();
    let before = state
        .store
        .ticket(&ticket_id)
        .await?
        .and_then(|r| r.ticket.customer.email);
    let mut changes = std::collections::BTreeMap::new();
    changes.insert(
        "ticket.customer.email".to_string(),
        crate::model::Change {
            from: before.map_or(serde_json::Value::Null, serde_json::Value::String),
            to: json!(email),
        },
    );
    let mut data = serde_json::Map::new();
    data.insert("chat".into(), json!({ "session": id, "contact": "email" }));
    let mut event = chat_ticket_event(
        format!("chat:{id}:contact:{}", email.to_lowercase()),
        EventType::TicketUpdated,
        ticket_id.clone(),
        state.clock.now(),
        data,
    );
    event.changes = changes;
    state
        .process(
            event,
            Some(json!({ "id": ticket_id, "customer": { "email": email } })),
            false,
        )
        .await?;
    Ok(ContactLeft {
        session: id.to_string(),
        ticket_id,
        email,
    })
}

/// What a session's live stream carries.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// A line added to the transcript.
    Line(Message),
    /// The session's state changed (a handoff, the chat closed); a closed session's stream ends.
    State(SessionState),
}

/// How often a live stream looks at the store for lines another replica added.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_secs(3);

/// A session's live stream: the lines after line `after`, then each line and state change as
/// it happens, until the session is closed or `stop` turns true. Lines added by this process
/// come at once; those added by another replica within [`FOLLOW_POLL`].
pub async fn follow(
    state: Arc<Desk>,
    id: &str,
    after: u32,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<impl futures_util::Stream<Item = Result<News, Error>> + Send + 'static, Error> {
    // Listen before reading, so nothing saved in between is missed.
    let news = state.chat_news.subscribe();
    let session = load_session(&state, id).await?;
    struct Follow {
        state: Arc<Desk>,
        id: String,
        after: u32,
        seen: Option<SessionState>,
        news: tokio::sync::broadcast::Receiver<String>,
        stop: tokio::sync::watch::Receiver<bool>,
        queue: std::collections::VecDeque<News>,
        first: bool,
        done: bool,
    }
    let start = Follow {
        state,
        id: id.to_string(),
        after,
        seen: Some(session.state),
        news,
        stop,
        queue: Default::default(),
        first: true,
        done: false,
    };
    Ok(futures_util::stream::unfold(start, |mut f| async move {
        loop {
            if let Some(item) = f.queue.pop_front() {
                return Some((Ok(item), f));
            }
            if f.done {
                return None;
            }
            if !f.first {
                // Wait for news of this session, the poll, or the daemon stopping.
                let wait = async {
                    loop {
                        match f.news.recv().await {
                            Ok(changed) if changed == f.id => return,
                            Ok(_) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await
                            }
                        }
                    }
                };
                tokio::select! {
                    _ = wait => {}
                    _ = tokio::time::sleep(FOLLOW_POLL) => {}
                    _ = f.stop.wait_for(|s| *s) => return None,
                }
            }
            f.first = false;
            let read = async {
                let lines = f.state.store.chat_messages(&f.id, f.after).await?;
                let session = f.state.store.chat_session(&f.id).await?;
                Ok::<_, StoreError>((lines, session))
            };
            match read.await {
                Ok((lines, session)) => {
                    for line in lines {
                        f.after = f.after.max(line.seq);
                        f.queue.push_back(News::Line(line));
                    }
                    let now = session.map_or(SessionState::Closed, |s| s.state);
                    if f.seen != Some(now) {
                        f.seen = Some(now);
                        f.queue.push_back(News::State(now));
                    }
                    f.done = now == SessionState::Closed;
                }
                Err(e) => {
                    f.done = true;
                    return Some((Err(e.into()), f));
                }
            }
        }
    }))
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
    fn addresses_for_the_answer() {
        for ok in [
            "anna@example.com",
            "a.b+c@mail.example.co.uk",
            "øyvind@eksempel.no",
            "李@例子.中国",
        ] {
            assert!(plausible_email(ok), "{ok}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "anna@example",
            "anna@.example.com",
            "anna@example.com.",
            "anna@example..com",
            "a@b@c.d",
            "an na@example.com",
            "anna@example.com\u{3000}",
            "anna\u{85}@example.com",
            "anna\u{feff}@example.com",
            "<anna@example.com>",
            "anna@example.com,bo@example.com",
            &long_local,
            &long,
        ] {
            assert!(!plausible_email(bad), "{bad:?}");
        }
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
