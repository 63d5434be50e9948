//! Agents' presence read from a helpdesk: which of the pack's agents a helpdesk's agent list
//! stands for, and which statuses a poll applies.
//!
//! The shell fetches the list and keeps, per agent, the status it last read from the helpdesk
//! (`polled`); [`decide`] compares the two. A helpdesk status that differs from the one read
//! last time (or the first one read) is applied; one that is the same as last time is not, so
//! a status an agent set through `PUT /v1/agents/{id}/status` after the helpdesk's last change
//! stays until the helpdesk changes again.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{AgentStatus, Roster};
use crate::model::{named_enum, Helpdesk, Named};

named_enum! {
    /// Where an agent's current status came from.
    pub enum StatusSource {
        /// `PUT /v1/agents/{id}/status`.
        Api = "api",
        /// Read from the helpdesk's agent list.
        Helpdesk = "helpdesk",
    }
}

/// One agent as a helpdesk lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// Their id in the helpdesk, as text (`12`).
    pub id: String,
    /// Their e-mail address, when the helpdesk gives one.
    pub email: Option<String>,
    /// The helpdesk's status as it wrote it (`busy`).
    pub said: String,
    /// What that status is in frontdesk; `None` for a value frontdesk does not know.
    pub status: Option<AgentStatus>,
}

/// A listed agent (or an entry of the list) a poll passes over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// The entry at `index` of the list is not an agent frontdesk can read.
    Unreadable {
        /// Its place in the list.
        index: usize,
        /// What is wrong with it.
        why: String,
    },
    /// No agent of the pack has this helpdesk id or e-mail address.
    Unmatched {
        /// The id in the helpdesk.
        id: String,
        /// The e-mail address the helpdesk gave.
        email: Option<String>,
    },
    /// Another listed agent already stands for the same agent of the pack (one matched by
    /// helpdesk id before one matched by e-mail, otherwise the one listed first).
    Duplicate {
        /// The id in the helpdesk.
        id: String,
        /// The agent of the pack.
        agent: String,
    },
    /// The helpdesk's status is none frontdesk knows.
    UnknownStatus {
        /// The id in the helpdesk.
        id: String,
        /// The agent of the pack.
        agent: String,
        /// The status as the helpdesk wrote it.
        said: String,
    },
}

/// A mapped agent and the status the helpdesk gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The agent's id in the pack.
    pub agent: String,
    /// The status to apply.
    pub status: AgentStatus,
    /// The status as the helpdesk wrote it.
    pub said: String,
}

/// What one poll does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    /// Statuses that changed in the helpdesk since the last poll (or were never read): to
    /// apply and remember, in the order the pack lists the agents.
    pub apply: Vec<Change>,
    /// Mapped agents whose helpdesk status is the one read last time: their current status
    /// (perhaps set through the API since) stays.
    pub unchanged: Vec<String>,
    /// Listed agents passed over.
    pub ignored: Vec<Ignored>,
}

/// Chatwoot's `availability_status` as a status: `online` is online, `busy` away, `offline`
/// offline; anything else is unknown.
pub fn chatwoot_status(said: &str) -> Option<AgentStatus> {
    match said {
        "online" => Some(AgentStatus::Online),
        "busy" => Some(AgentStatus::Away),
        "offline" => Some(AgentStatus::Offline),
        _ => None,
    }
}

/// Reads Chatwoot's answer to `GET /api/v1/accounts/{account_id}/agents`.
///
/// Chatwoot's API reference ("List Agents in Account", developers.chatwoot.com, from the
/// `agent` schema of its swagger) documents the answer as a JSON array of agents, each with
/// `id` (integer), `account_id`, `availability_status` (`online`, `busy` or `offline`: the
/// effective status, from the agent's chosen availability, auto-offline and whether they are
/// connected), `auto_offline`, `confirmed`, `email`, `available_name`, `name`, `role`
/// (`agent` or `administrator`), `thumbnail` and `custom_role_id`. Only `id`,
/// `availability_status` and `email` are read.
///
/// An answer that is not an array is an error naming what it is; an entry without a usable
/// `id` or `availability_status` is passed over as [`Ignored::Unreadable`].
pub fn read_chatwoot(body: &Value) -> Result<(Vec<Reported>, Vec<Ignored>), String> {
    let Some(list) = body.as_array() else {
        return Err(format!(
            "expected a JSON array of agents, found {}",
            kind_of(body)
        ));
    };
    let mut reported = Vec::with_capacity(list.len());
    let mut ignored = Vec::new();
    for (index, entry) in list.iter().enumerate() {
        match read_one(entry) {
            Ok(r) => reported.push(r),
            Err(why) => ignored.push(Ignored::Unreadable { index, why }),
        }
    }
    Ok((reported, ignored))
}

fn read_one(entry: &Value) -> Result<Reported, String> {
    let Some(obj) = entry.as_object() else {
        return Err(format!(
            "expected an agent object, found {}",
            kind_of(entry)
        ));
    };
    let id = match obj.get("id") {
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => return Err(format!("`id`: expected an integer, found {n}")),
        Some(other) => {
            return Err(format!(
                "`id`: expected an integer, found {}",
                kind_of(other)
            ))
        }
        None => return Err("no `id`".into()),
    };
    let said = match obj.get("availability_status") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "agent {id}: `availability_status`: expected text, found {}",
                kind_of(other)
            ))
        }
        None => return Err(format!("agent {id}: no `availability_status`")),
    };
    let email = obj
        .get("email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    Ok(Reported {
        status: chatwoot_status(&said),
        id,
        email,
        said,
    })
}

/// The JSON type of a value, for messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An id under `helpdesk_ids` as text (`12` and `"12"` are the same id).
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_string()),
        _ => None,
    }
}

/// Which statuses a poll of `helpdesk` applies: each listed agent is the pack's agent whose
/// `helpdesk_ids` has its id, else the one with its e-mail address (compared without case);
/// `polled` is the status last read from the helpdesk for each agent (none: never read).
pub fn decide(
    roster: &Roster,
    helpdesk: Helpdesk,
    polled: &HashMap<String, AgentStatus>,
    reported: &[Reported],
) -> Presence {
    let key = helpdesk.name();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_email: HashMap<String, usize> = HashMap::new();
    for (i, a) in roster.agents.iter().enumerate() {
        if let Some(id) = a.helpdesk_ids.get(key).and_then(id_text) {
            by_id.entry(id).or_insert(i);
        }
        if let Some(email) = &a.email {
            by_email.entry(email.trim().to_lowercase()).or_insert(i);
        }
    }
    let mut out = Presence::default();
    // Per agent of the pack (by index, so applied in the pack's order): the listed agent
    // standing for them, and whether it was matched by id.
    let mut matched: BTreeMap<usize, (&Reported, bool)> = BTreeMap::new();
    for r in reported {
        let (agent, exact) = match by_id.get(&r.id) {
            Some(&i) => (i, true),
            None => match r
                .email
                .as_ref()
                .and_then(|e| by_email.get(&e.to_lowercase()))
            {
                Some(&i) => (i, false),
                None => {
                    out.ignored.push(Ignored::Unmatched {
                        id: r.id.clone(),
                        email: r.email.clone(),
                    });
                    continue;
                }
            },
        };
        let duplicate = |r: &Reported| Ignored::Duplicate {
            id: r.id.clone(),
            agent: roster.agents[agent].id.clone(),
        };
        match matched.get(&agent) {
            Some((_, true)) => out.ignored.push(duplicate(r)),
            Some((_, false)) if !exact => out.ignored.push(duplicate(r)),
            Some((before, false)) => {
                out.ignored.push(duplicate(before));
                matched.insert(agent, (r, exact));
            }
            None => {
                matched.insert(agent, (r, exact));
            }
        }
    }
    for (i, (r, _)) in matched {
        let agent = roster.agents[i].id.clone();
        let Some(status) = r.status else {
            out.ignored.push(Ignored::UnknownStatus {
                id: r.id.clone(),
                agent,
                said: r.said.clone(),
            });
            continue;
        };
        if polled.get(&agent) == Some(&status) {
            out.unchanged.push(agent);
        } else {
            out.apply.push(Change {
                agent,
                status,
                said: r.said.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Agent, Capacity};
    use serde_json::json;

    fn agent(id: &str, email: Option<&str>, chatwoot: Option<Value>) -> Agent {
        let mut helpdesk_ids = BTreeMap::new();
        if let Some(v) = chatwoot {
            helpdesk_ids.insert("chatwoot".to_string(), v);
        }
        Agent {
            id: id.into(),
            name: None,
            email: email.map(str::to_string),
            teams: Vec::new(),
            skills: Vec::new(),
            languages: vec!["en".into()],
            capacity: Capacity::default(),
            shift: None,
            helpdesk_ids,
        }
    }

    /// anna by Chatwoot id 1 (a number), bo by e-mail only, cy by Chatwoot id "3" (text)
    /// and an e-mail address.
    fn roster() -> Roster {
        let mut r = Roster::default();
        r.push_agent(agent("anna", Some("anna@example.com"), Some(json!(1))));
        r.push_agent(agent("bo", Some("Bo@Example.com"), None));
        r.push_agent(agent("cy", Some("cy@example.com"), Some(json!("3"))));
        r
    }

    fn listed(id: &str, email: Option<&str>, said: &str) -> Reported {
        Reported {
            id: id.into(),
            email: email.map(str::to_string),
            said: said.into(),
            status: chatwoot_status(said),
        }
    }

    fn polled(pairs: &[(&str, AgentStatus)]) -> HashMap<String, AgentStatus> {
        pairs.iter().map(|(a, s)| (a.to_string(), *s)).collect()
    }

    fn applied(p: &Presence) -> Vec<(&str, AgentStatus)> {
        p.apply
            .iter()
            .map(|c| (c.agent.as_str(), c.status))
            .collect()
    }

    use AgentStatus::{Away, Offline, Online};

    #[test]
    fn chatwoot_statuses_map_and_others_are_unknown() {
        let cases = [
            ("online", Some(Online)),
            ("busy", Some(Away)),
            ("offline", Some(Offline)),
            ("available", None),
            ("Online", None),
            ("", None),
        ];
        for (said, want) in cases {
            assert_eq!(chatwoot_status(said), want, "{said}");
        }
    }

    /// Each case: the statuses last read, what the helpdesk lists now, and the statuses
    /// applied and left alone.
    #[test]
    fn a_status_is_applied_when_it_changed_in_the_helpdesk() {
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, AgentStatus)>,
            Vec<Reported>,
            Vec<(&'a str, AgentStatus)>,
            Vec<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "never read: every mapped status is applied",
                vec![],
                vec![
                    listed("1", Some("x@example.com"), "online"),
                    listed("2", Some("bo@example.com"), "busy"),
                    listed("3", None, "offline"),
                ],
                vec![("anna", Online), ("bo", Away), ("cy", Offline)],
                vec![],
            ),
            (
                "read before and the same: left alone",
                vec![("anna", Online), ("bo", Away)],
                vec![
                    listed("1", None, "online"),
                    listed("2", Some("BO@example.COM"), "busy"),
                ],
                vec![],
                vec!["anna", "bo"],
            ),
            (
                "changed in the helpdesk: applied",
                vec![("anna", Online), ("bo", Away)],
                vec![
                    listed("1", None, "offline"),
                    listed("9", Some("bo@example.com"), "busy"),
                ],
                vec![("anna", Offline)],
                vec!["bo"],
            ),
            (
                "listed in another order: applied in the pack's",
                vec![],
                vec![listed("3", None, "online"), listed("1", None, "busy")],
                vec![("anna", Away), ("cy", Online)],
                vec![],
            ),
        ];
        let roster = roster();
        for (name, before, now, want_applied, want_unchanged) in cases {
            let p = decide(&roster, Helpdesk::Chatwoot, &polled(&before), &now);
            assert_eq!(applied(&p), want_applied, "{name}");
            assert_eq!(p.unchanged, want_unchanged, "{name}");
            assert_eq!(p.ignored, vec![], "{name}");
        }
    }

    #[test]
    fn unmatched_unknown_and_duplicate_agents_are_passed_over() {
        let roster = roster();
        let now = vec![
            listed("7", Some("nobody@example.com"), "online"),
            listed("8", None, "online"),
            listed("1", None, "dnd"),
            // bo by e-mail twice: the first stands.
            listed("20", Some("bo@example.com"), "online"),
            listed("21", Some("bo@example.com"), "offline"),
            // cy by e-mail first, then by id: the id wins.
            listed("30", Some("cy@example.com"), "online"),
            listed("3", None, "busy"),
        ];
        let p = decide(&roster, Helpdesk::Chatwoot, &HashMap::new(), &now);
        assert_eq!(applied(&p), vec![("bo", Online), ("cy", Away)]);
        assert_eq!(
            p.ignored,
            vec![
                Ignored::Unmatched {
                    id: "7".into(),
                    email: Some("nobody@example.com".into())
                },
                Ignored::Unmatched {
                    id: "8".into(),
                    email: None
                },
                Ignored::Duplicate {
                    id: "21".into(),
                    agent: "bo".into()
                },
                Ignored::Duplicate {
                    id: "30".into(),
                    agent: "cy".into()
                },
                Ignored::UnknownStatus {
                    id: "1".into(),
                    agent: "anna".into(),
                    said: "dnd".into()
                },
            ]
        );
    }

    #[test]
    fn ids_are_those_of_the_named_helpdesk() {
        let mut r = Roster::default();
        let mut a = agent("zed", None, None);
        a.helpdesk_ids.insert("zammad".into(), json!(5));
        r.push_agent(a);
        let p = decide(
            &r,
            Helpdesk::Chatwoot,
            &HashMap::new(),
            &[listed("5", None, "online")],
        );
        assert_eq!(applied(&p), vec![]);
        assert_eq!(p.ignored.len(), 1);
    }

    #[test]
    fn chatwoot_answers_are_read_entry_by_entry() {
        let body = json!([
            {"id": 1, "account_id": 1, "availability_status": "online", "auto_offline": true,
             "confirmed": true, "email": "anna@example.com", "available_name": "Anna",
             "name": "Anna Berg", "role": "agent", "thumbnail": ""},
            {"id": 2, "availability_status": "busy", "email": null},
            {"id": "3", "availability_status": "dnd", "email": " cy@example.com "},
            {"availability_status": "online"},
            {"id": 4.5, "availability_status": "online"},
            {"id": 5, "availability_status": 1},
            {"id": 6},
            "seven",
        ]);
        let (reported, ignored) = read_chatwoot(&body).unwrap();
        assert_eq!(
            reported,
            vec![
                Reported {
                    id: "1".into(),
                    email: Some("anna@example.com".into()),
                    said: "online".into(),
                    status: Some(Online)
                },
                Reported {
                    id: "2".into(),
                    email: None,
                    said: "busy".into(),
                    status: Some(Away)
                },
                Reported {
                    id: "3".into(),
                    email: Some("cy@example.com".into()),
                    said: "dnd".into(),
                    status: None
                },
            ]
        );
        let why: Vec<(usize, &str)> = ignored
            .iter()
            .map(|i| match i {
                Ignored::Unreadable { index, why } => (*index, why.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            why,
            vec![
                (3, "no `id`"),
                (4, "`id`: expected an integer, found 4.5"),
                (
                    5,
                    "agent 5: `availability_status`: expected text, found a number"
                ),
                (6, "agent 6: no `availability_status`"),
                (7, "expected an agent object, found text"),
            ]
        );
        assert_eq!(
            read_chatwoot(&json!({"error": "Unauthorized"})).unwrap_err(),
            "expected a JSON array of agents, found an object"
        );
        assert_eq!(read_chatwoot(&json!([])).unwrap(), (vec![], vec![]));
    }
}
