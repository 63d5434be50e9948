//! Satisfaction ratings that reach frontdesk itself: a survey link followed
//! (`GET /v1/csat/{token}?score=N`) and a rating typed or picked in a chat handed to a person.
//!
//! Each becomes one `csat.received` event through [`Desk::process`], with the id
//! `csat:<survey>` and the ticket named by id only, so the same rating again is the same event
//! (answered from the store), and a different one is refused: the first rating stands. What a
//! rating does to the ticket is decided by [`crate::csat::receive`] in the engine; ratings in
//! e-mail replies need nothing here, the engine reads them from the `message.created` event.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Code, Desk, Error};
use crate::csat::{self, TokenError};
use crate::model::{Event, EventType, Ticket};

/// A rating taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rated {
    /// The ticket rated.
    pub ticket_id: String,
    /// The survey rated.
    pub survey: String,
    /// The score, 1 to 5.
    pub score: u8,
    /// The same rating had been given before: nothing new was stored.
    pub repeated: bool,
}

/// The answer to a survey link: the rating, or why it was not taken, and what the page needs
/// to speak to the customer.
#[derive(Debug, Clone)]
pub struct LinkAnswer {
    /// The customer's language, when the link names a ticket frontdesk knows.
    pub language: Option<String>,
    /// The customer's first name, likewise.
    pub first_name: Option<String>,
    /// The rating, or why not.
    pub result: Result<Rated, Error>,
}

/// A survey link followed: checks its token (signature, then expiry) and `score` (1 to 5),
/// then rates the survey the token names, when it is still the ticket's survey. Nothing is
/// stored unless all of that holds.
pub async fn rate_by_link(desk: &Desk, token: &str, score: Option<&str>) -> LinkAnswer {
    let mut answer = LinkAnswer {
        language: None,
        first_name: None,
        result: Err(Error::internal("not rated")),
    };
    answer.result = link_rating(desk, token, score, &mut answer).await;
    if let Err(e) = &answer.result {
        tracing::info!(code = %e.code, "survey link refused: {}", e.message);
    }
    answer
}

async fn link_rating(
    desk: &Desk,
    token: &str,
    score: Option<&str>,
    answer: &mut LinkAnswer,
) -> Result<Rated, Error> {
    let Some(secret) = &desk.csat_secret else {
        return Err(Error::new(
            Code::SurveyLinksOff,
            "this daemon offers no survey links: FRONTDESK_CSAT_SECRET is not set",
        ));
    };
    let (claims, expired) = match secret.verify(token, desk.clock.now()) {
        Ok(c) => (c, false),
        Err(TokenError::Expired(c)) => (c, true),
        Err(e) => {
            return Err(Error::new(Code::SurveyLinkInvalid, e.to_string()).field("token"));
        }
    };
    let record = desk.store.ticket(&claims.ticket).await?.ok_or_else(|| {
        Error::not_found(format!(
            "the link is for ticket `{}`, which frontdesk does not know",
            claims.ticket
        ))
        .field("token")
    })?;
    let ticket = record.ticket;
    answer.language = ticket.customer.language.clone();
    answer.first_name = ticket.customer.first_name().map(str::to_string);
    if expired {
        return Err(Error::new(
            Code::SurveyLinkExpired,
            format!(
                "the link expired at {}",
                claims
                    .expires
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        )
        .field("token"));
    }
    let score = parse_score(score)?;
    rate(desk, &ticket, &claims.survey, score, csat::VIA_LINK).await
}

/// `score` as a link carries it: a whole number from 1 to 5.
fn parse_score(score: Option<&str>) -> Result<u8, Error> {
    let bad = |what: String| Error::new(Code::InvalidQuery, what).field("score");
    let Some(text) = score else {
        return Err(bad(
            "score: missing; the link needs `?score=N` with N from 1 to 5".into(),
        ));
    };
    match text.trim().parse::<u8>() {
        Ok(n) if (1..=5).contains(&n) => Ok(n),
        _ => Err(bad(format!(
            "score: `{text}` is not a whole number from 1 to 5"
        ))),
    }
}

/// Rates `survey` of the stored `ticket` with `score`: refused when it is not the ticket's
/// last survey (`survey_closed`) or was rated otherwise before (`survey_already_rated`); the
/// same score again is taken as a repeat.
pub(crate) async fn rate(
    desk: &Desk,
    ticket: &Ticket,
    survey: &str,
    score: u8,
    via: &str,
) -> Result<Rated, Error> {
    let rated = |repeated| Rated {
        ticket_id: ticket.id.clone(),
        survey: survey.to_string(),
        score,
        repeated,
    };
    let already = |first: Option<u8>| {
        let first = first.map_or(String::new(), |n| format!(" {n}"));
        Error::new(
            Code::SurveyAlreadyRated,
            format!("survey `{survey}` was already rated{first}; the first rating stands"),
        )
        .field("score")
    };
    let current = match &ticket.csat {
        Some(c) if c.survey == survey => c,
        Some(_) => {
            return Err(Error::new(
                Code::SurveyClosed,
                format!("survey `{survey}` is closed: a newer survey of the ticket replaced it"),
            ))
        }
        None => {
            return Err(Error::new(
                Code::SurveyClosed,
                format!("ticket `{}` has no survey `{survey}`", ticket.id),
            ))
        }
    };
    match current.score {
        Some(first) if first == score => return Ok(rated(true)),
        Some(first) => return Err(already(Some(first))),
        None => {}
    }
    let mut data = serde_json::Map::new();
    data.insert("survey".into(), json!(survey));
    data.insert("score".into(), json!(score));
    data.insert("via".into(), json!(via));
    let event = Event {
        id: csat::rating_event_id(survey),
        kind: EventType::CsatReceived,
        occurred_at: None,
        ticket: Ticket {
            id: ticket.id.clone(),
            ..Ticket::default()
        },
        message: None,
        changes: Default::default(),
        timer: None,
        data,
    };
    let patch = json!({ "id": ticket.id });
    match desk.process(event, Some(patch), false).await {
        Ok(applied) => {
            let d = applied.decision;
            let now = d.ticket.csat.as_ref().filter(|c| c.survey == survey);
            match now.and_then(|c| c.score) {
                Some(s) if s == score => Ok(rated(applied.replayed)),
                Some(first) => Err(already(Some(first))),
                None => Err(Error::new(
                    Code::SurveyClosed,
                    d.trace
                        .csat
                        .map_or("the rating was not taken".into(), |t| t.message),
                )),
            }
        }
        // The event id is taken by another rating of this survey: the first stands.
        Err(e) if e.code == Code::EventIdReused => Err(already(None)),
        Err(e) => Err(e),
    }
}

/// A line a customer typed (or a quick reply picked) in a chat handed to a person: when the
/// chat's ticket has a survey waiting for its rating and the line reads as one, the survey is
/// rated (`via: chat`). `None` when it is no rating, or no longer needed.
pub(crate) async fn rate_in_chat(
    desk: &Desk,
    ticket_id: &str,
    text: &str,
) -> Result<Option<Rated>, Error> {
    let Some(score) = csat::read_rating(text) else {
        return Ok(None);
    };
    let Some(record) = desk.store.ticket(ticket_id).await? else {
        return Ok(None);
    };
    let Some(survey) = record
        .ticket
        .csat
        .as_ref()
        .filter(|c| c.score.is_none())
        .map(|c| c.survey.clone())
    else {
        return Ok(None);
    };
    match rate(desk, &record.ticket, &survey, score, csat::VIA_CHAT).await {
        Ok(r) => Ok(Some(r)),
        Err(e) if matches!(e.code, Code::SurveyAlreadyRated | Code::SurveyClosed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the chat shows of its ticket's survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatSurvey {
    /// The survey's id.
    pub id: String,
    /// Sent and not rated yet: the widget offers the quick replies.
    pub pending: bool,
    /// The rating, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// What to offer: `1` to `5`, each sent as the customer's message.
    pub quick_replies: Vec<String>,
}

/// The survey of a chat's ticket, when it has one.
pub(crate) async fn chat_survey(desk: &Desk, ticket_id: &str) -> Result<Option<ChatSurvey>, Error> {
    let Some(record) = desk.store.ticket(ticket_id).await? else {
        return Ok(None);
    };
    Ok(record.ticket.csat.map(|c| ChatSurvey {
        pending: c.score.is_none(),
        id: c.survey,
        score: c.score,
        quick_replies: csat::SCORES.iter().map(u8::to_string).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        assert_eq!(parse_score(Some("5")), Ok(5));
        assert_eq!(parse_score(Some(" 1 ")), Ok(1));
        for bad in [
            None,
            Some(""),
            Some("0"),
            Some("6"),
            Some("4.5"),
            Some("five"),
            Some("-1"),
        ] {
            let e = parse_score(bad).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_deref()),
                (Code::InvalidQuery, Some("score")),
                "{bad:?}"
            );
        }
    }
}
