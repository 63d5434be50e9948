use super::*;
use crate::config::Config;

const BOT: &str = r#"
bot: shop
languages: [en, nb, ar]
greeting: { en: "Hi!", nb: "Hei!", ar: "مرحبًا!" }
fallback: { en: "Sorry, I don't know.", nb: "Beklager, det vet jeg ikke." }
handoff:
  after: 2
  message: { en: "Passing you to a person.", nb: "Du får snakke med en person." }
feedback:
  yes: { en: "Yes, thanks" }
faq:
  - id: opening_hours
    questions:
      en: ["When are you open?", "What are your opening hours?"]
      nb: ["Når har dere åpent?", "Hva er åpningstidene?"]
      ar: ["متى تفتحون؟", "ما هي ساعات العمل؟"]
    answers: { en: "Weekdays 9-17.", nb: "Hverdager 9-17.", ar: "أيام الأسبوع 9-17." }
    links: [{ title: { en: Contact, nb: Kontakt }, url: "https://example.com/contact" }]
  - id: password
    questions: { en: ["I forgot my password", "How do I reset my password?"] }
    answer: "Use 'Forgot password'."
"#;

const PACK: &str = r#"
calendars:
  oslo:
    timezone: Europe/Oslo
    hours: { mon-fri: ["08:00-16:00"] }
settings:
  response_calendar: oslo
  first_response: { urgent: 30m, high: 2h, normal: 4h, low: 2d }
"#;

fn bot() -> Bot {
    Bot::from_yaml("shop.yaml", BOT).expect("a valid bot")
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn session(bot: &Bot, lang: Option<&str>) -> Session {
    Session::open(
        "s1".into(),
        bot,
        lang,
        Customer::default(),
        None,
        t("2026-11-23T10:00:00Z"),
    )
}

fn say(bot: &Bot, s: &Session, text: &str) -> Turn {
    reply(bot, s, &Input::Text(text.into()), t("2026-11-23T10:01:00Z")).expect("a turn")
}

#[test]
fn a_question_is_answered_with_links_and_feedback_buttons() {
    let bot = bot();
    let s = session(&bot, Some("en"));
    let turn = say(&bot, &s, "when are you open?");
    assert_eq!(turn.reply.answer_id.as_deref(), Some("opening_hours"));
    assert_eq!(turn.reply.text, "Weekdays 9-17.");
    assert_eq!(turn.reply.links[0].title, "Contact");
    assert_eq!(
        turn.reply.prompt.as_deref(),
        Some("Did this answer your question?")
    );
    assert_eq!(
        turn.reply.quick_replies,
        ["Yes, thanks", "No", "Talk to a person"]
    );
    assert_eq!(
        turn.session.awaiting_feedback.as_deref(),
        Some("opening_hours")
    );
    assert_eq!((turn.session.questions, turn.session.answered), (1, 1));
    assert_eq!(turn.messages.len(), 2);
    assert_eq!(turn.messages[0].seq, 1);
    assert_eq!(turn.messages[1].seq, 2);
    assert_eq!(turn.session.messages, 2);
    assert!(turn.handoff.is_none());
}

#[test]
fn feedback_as_text_or_as_value() {
    let bot = bot();
    let s = say(&bot, &session(&bot, Some("en")), "when are you open").session;
    // The quick reply's text (any case and punctuation) is the feedback.
    let yes = say(&bot, &s, "yes, THANKS!");
    assert_eq!(
        yes.feedback,
        Some((Some("opening_hours".into()), Feedback::Yes))
    );
    assert_eq!(yes.reply.text, "Glad I could help! Ask me anything else.");
    assert_eq!(yes.session.awaiting_feedback, None);
    assert_eq!(yes.session.state, SessionState::Open);
    // Yes again: nothing to rate any more.
    let again = reply(
        &bot,
        &yes.session,
        &Input::Feedback(Feedback::Yes),
        t("2026-11-23T10:02:00Z"),
    );
    assert_eq!(again, Err(ChatError::NothingToRate));
    // "No" hands over.
    let no = reply(
        &bot,
        &s,
        &Input::Feedback(Feedback::No),
        t("2026-11-23T10:02:00Z"),
    )
    .unwrap();
    assert_eq!(
        no.feedback,
        Some((Some("opening_hours".into()), Feedback::No))
    );
    assert_eq!(no.handoff, Some(HandoffReason::NotHelped));
    assert_eq!(no.session.state, SessionState::HandedOff);
    assert_eq!(no.reply.text, "Passing you to a person.");
    assert_eq!(no.messages[0].text, "No");
    assert!(no.messages[1].handoff);
}

#[test]
fn asking_for_a_person_hands_over_in_any_language() {
    let bot = bot();
    for (lang, text, message) in [
        ("en", "can I talk to a human?", "Passing you to a person."),
        (
            "nb",
            "kan jeg snakke med et menneske",
            "Du får snakke med en person.",
        ),
        ("ar", "أريد التحدث مع موظف", "Passing you to a person."),
    ] {
        let turn = say(&bot, &session(&bot, Some(lang)), text);
        assert_eq!(turn.handoff, Some(HandoffReason::Asked), "{text}");
        assert_eq!(turn.reply.text, message);
        assert_eq!(turn.feedback, None, "no answer to rate yet");
        assert_eq!(turn.session.questions, 0, "a request is not a question");
    }
}

#[test]
fn repeated_abstention_hands_over() {
    let bot = Bot::from_yaml(
        "support.yaml",
        include_str!("../../../../bots/support.yaml"),
    )
    .unwrap();
    let s = session(&bot, Some("en"));
    let first = say(&bot, &s, "What is the weather like on Mars?");
    assert!(first.reply.abstained);
    assert_eq!(first.reply.text, bot.fallback("en").unwrap());
    assert_eq!(first.reply.prompt.as_deref(), bot.handoff_offer("en"));
    assert_eq!(first.reply.quick_replies, ["Talk to a person"]);
    assert_eq!(
        first.unanswered.as_deref(),
        Some("what is the weather like on mars")
    );
    assert!(first.handoff.is_none());
    let second = say(
        &bot,
        &first.session,
        "Who won the football match yesterday?",
    );
    assert_eq!(second.handoff, Some(HandoffReason::Unanswered));
    assert!(second.reply.abstained);
    assert_eq!(second.reply.text, bot.handoff_message("en").unwrap());
    assert_eq!(second.session.state, SessionState::HandedOff);
    assert_eq!(second.session.unanswered_in_row, 2);
    assert_eq!((second.session.questions, second.session.answered), (2, 0));
    // An answer in between starts the count again.
    let answered = say(&bot, &first.session, "I forgot my password");
    assert_eq!(answered.session.unanswered_in_row, 0);
    assert_eq!(answered.reply.answer_id.as_deref(), Some("password_reset"));
}

#[test]
fn no_answers_after_handoff_or_close() {
    let bot = bot();
    let mut s = say(&bot, &session(&bot, None), "talk to a person").session;
    // Handed off: the message is kept for the person, the bot says nothing.
    let later = t("2026-11-23T11:00:00Z");
    let kept = reply(&bot, &s, &Input::Text(" hello? ".into()), later).unwrap();
    assert_eq!(kept.reply.text, "");
    assert!(kept.reply.quick_replies.is_empty());
    assert_eq!(kept.session.state, SessionState::HandedOff);
    assert_eq!(kept.session.messages, s.messages + 1);
    assert_eq!(kept.session.questions, s.questions, "not a question");
    assert_eq!(kept.session.updated_at, later);
    assert_eq!(kept.messages.len(), 1);
    assert_eq!(
        (
            kept.messages[0].seq,
            kept.messages[0].author,
            kept.messages[0].text.as_str()
        ),
        (s.messages + 1, Speaker::Customer, "hello?")
    );
    assert_eq!(
        (kept.handoff, kept.feedback, kept.unanswered),
        (None, None, None)
    );
    let again = reply(
        &bot,
        &kept.session,
        &Input::Feedback(Feedback::Person),
        later,
    )
    .unwrap();
    assert_eq!(again.messages[0].seq, s.messages + 2);
    assert_eq!(again.handoff, None, "handed off once");
    assert_eq!(
        reply(&bot, &s, &Input::Feedback(Feedback::No), later),
        Err(ChatError::NothingToRate)
    );
    assert_eq!(
        reply(&bot, &s, &Input::Text("  ".into()), later),
        Err(ChatError::Empty)
    );
    s.state = SessionState::Closed;
    assert_eq!(
        reply(
            &bot,
            &s,
            &Input::Text("hello?".into()),
            t("2026-11-23T11:00:00Z")
        ),
        Err(ChatError::Closed)
    );
}

#[test]
fn bad_messages() {
    let bot = bot();
    let s = session(&bot, None);
    let now = t("2026-11-23T10:00:00Z");
    assert_eq!(
        reply(&bot, &s, &Input::Text("  \n".into()), now),
        Err(ChatError::Empty)
    );
    let long = "ø".repeat(MAX_MESSAGE_CHARS + 1);
    assert_eq!(
        reply(&bot, &s, &Input::Text(long), now),
        Err(ChatError::TooLong(MAX_MESSAGE_CHARS + 1))
    );
    assert!(reply(&bot, &s, &Input::Text("ø".repeat(MAX_MESSAGE_CHARS)), now).is_ok());
}

#[test]
fn the_language_follows_the_customer_unless_given() {
    let bot = bot();
    let s = session(&bot, None);
    assert_eq!(s.language, "en");
    assert!(!s.language_given);
    let turn = say(&bot, &s, "hva er åpningstidene?");
    assert_eq!(turn.session.language, "nb");
    assert_eq!(
        turn.reply.quick_replies,
        ["Ja", "Nei", "Snakk med en person"]
    );
    let given = Session::open(
        "s2".into(),
        &bot,
        None,
        Customer {
            language: Some("nb-NO".into()),
            ..Customer::default()
        },
        None,
        t("2026-11-23T10:00:00Z"),
    );
    assert_eq!(
        (given.language.as_str(), given.language_given),
        ("nb", true)
    );
    assert_eq!(given.greeting(&bot).as_deref(), Some("Hei!"));
    // A language the bot lacks falls back to its default, and is not fixed.
    let fr = session(&bot, Some("fr"));
    assert_eq!((fr.language.as_str(), fr.language_given), ("en", false));
}

#[test]
fn the_notice_says_when_a_person_answers() {
    let bot = bot();
    let pack = Config::from_yaml("pack.yaml", PACK).expect("a valid pack");
    let response = pack.response_targets();
    // Monday 10:00 Oslo: open, normal priority = 4 business hours.
    let open = handoff_notice(
        &bot,
        "en",
        None,
        t("2026-11-23T09:00:00Z"),
        response,
        Priority::Normal,
    )
    .unwrap();
    assert!(open.open);
    assert_eq!(open.text, "Someone will answer within 4 hours.");
    assert_eq!(open.opens_at, None);
    // Friday 20:00 Oslo: closed until Monday 08:00.
    let closed = handoff_notice(
        &bot,
        "nb",
        None,
        t("2026-11-27T19:00:00Z"),
        response,
        Priority::Urgent,
    )
    .unwrap();
    assert!(!closed.open);
    assert_eq!(
        closed.text,
        "Vi har stengt nå og er tilbake mandag kl. 08.00. Noen svarer deg senest mandag kl. 08.30."
    );
    assert_eq!(
        closed.opens_at.as_deref(),
        Some("2026-11-30T08:00:00+01:00")
    );
    let ar = handoff_notice(
        &bot,
        "ar",
        None,
        t("2026-11-27T19:00:00Z"),
        response,
        Priority::Urgent,
    )
    .unwrap();
    assert!(ar.text.contains("يوم الاثنين الساعة 08:00"), "{}", ar.text);
    // No targets in the pack: nothing to promise.
    assert_eq!(
        handoff_notice(
            &bot,
            "en",
            None,
            t("2026-11-23T09:00:00Z"),
            None,
            Priority::Normal
        ),
        None
    );
}

#[test]
fn turns_are_deterministic() {
    let bot = bot();
    let s = session(&bot, None);
    assert_eq!(
        say(&bot, &s, "I forgot my pasword"),
        say(&bot, &s, "I forgot my pasword")
    );
}

#[test]
fn closing_ends_the_chat() {
    let bot = bot();
    let s = say(&bot, &session(&bot, Some("en")), "when are you open").session;
    let closed = close(&s, t("2026-11-23T10:05:00Z")).unwrap();
    assert_eq!(closed.session.state, SessionState::Closed);
    assert_eq!(closed.session.awaiting_feedback, None);
    assert!(closed.messages.is_empty() && closed.feedback.is_none());
    assert_eq!(
        close(&closed.session, t("2026-11-23T10:06:00Z")),
        Err(ChatError::Closed)
    );
    // A handed-off chat can be closed too (the person is done).
    let handed = say(&bot, &s, "agent please").session;
    assert_eq!(
        close(&handed, t("2026-11-23T10:06:00Z"))
            .unwrap()
            .session
            .state,
        SessionState::Closed
    );
}

#[test]
fn a_bot_without_texts_still_says_something() {
    let bot = Bot::from_yaml(
        "bare.yaml",
        "bot: bare\nlanguages: [da]\nhandoff: { after: 1 }\nfaq:\n  - id: a\n    questions: [Hvor er min ordre?]\n    answer: Under Mine ordrer.\n",
    )
    .unwrap();
    let s = session(&bot, None);
    assert_eq!(s.greeting(&bot), None);
    let turn = say(&bot, &s, "jeg vil gerne tale med en medarbejder");
    assert_eq!(
        turn.reply.text,
        "Jeg sender dig videre til en medarbejder nu."
    );
}
