//! `teams:` and `agents:` in rule files, and the `assign: {team: ...}` action, compiled with
//! diagnostics.

use std::collections::BTreeMap;

use super::compile::Compiler;
use crate::model::{Channel, Helpdesk, Named};
use crate::routing::{
    Agent, Capacity, LanguageReq, Otherwise, Strategy, Team, TeamAssign, LANGUAGE_FIELDS,
};
use crate::syntax::decode::{index, join};
use crate::syntax::diag::did_you_mean;
use crate::syntax::yaml::{Kind, Node};

/// Keys of a team.
pub const TEAM_KEYS: &[&str] = &["name", "description", "strategy"];
/// Keys of an agent.
pub const AGENT_KEYS: &[&str] = &[
    "name",
    "email",
    "teams",
    "skills",
    "languages",
    "capacity",
    "shift",
    "helpdesk_ids",
];
/// Keys of `require:`.
pub const REQUIRE_KEYS: &[&str] = &["skills", "language"];
/// Keys of `fallback:`.
pub const FALLBACK_KEYS: &[&str] = &["team", "or"];
/// Values of `fallback.or`.
pub const OTHERWISE: &[&str] = &["queue", "keep"];

/// A skill or team tag: lower-case, no spaces.
fn tag(c: &mut Compiler<'_>, node: &Node, path: &str, what: &str) -> Option<String> {
    let t = c.cx.nonempty_text(node, path)?;
    if t.chars().any(char::is_whitespace) || t.contains(',') {
        c.cx.error(node.pos, path, format!("{what} `{t}` has spaces or commas"));
        return None;
    }
    Some(t.to_lowercase())
}

impl Compiler<'_> {
    /// Compiles `teams:`.
    pub fn teams(&mut self, node: &Node) {
        let path = "teams";
        let Kind::Map(pairs) = &node.kind else {
            self.cx
                .expected(node, path, "a mapping of team ids to teams");
            return;
        };
        for (k, v) in pairs {
            let Some(id) = tag(self, k, path, "team id") else {
                continue;
            };
            let p = join(path, &id);
            if let Some((file, first)) = self.pack.team_sites.get(&id) {
                let msg = format!(
                    "team `{id}` is already defined at {}:{}:{}",
                    file.display(),
                    first.line,
                    first.col
                );
                self.cx.error(k.pos, &p, msg);
                continue;
            }
            self.pack
                .team_sites
                .insert(id.clone(), (self.cx.file.to_path_buf(), k.pos));
            let mut team = Team {
                id: id.clone(),
                name: None,
                strategy: Strategy::default(),
                members: Vec::new(),
                lock: String::new(),
            };
            if !matches!(v.kind, Kind::Null) {
                let Some(f) = self.cx.map(v, &p, TEAM_KEYS) else {
                    continue;
                };
                if let Some(n) = f.get("name") {
                    team.name = self.cx.nonempty_text(n, &join(&p, "name"));
                }
                if let Some(d) = f.get("description") {
                    self.cx.text(d, &join(&p, "description"));
                }
                if let Some(s) = f.get("strategy") {
                    match self.cx.named(s, &join(&p, "strategy"), "strategy") {
                        Some(s) => team.strategy = s,
                        None => continue,
                    }
                }
            }
            self.pack.roster.push_team(team);
        }
    }

    /// Compiles `agents:`.
    pub fn agents(&mut self, node: &Node) {
        let path = "agents";
        let Kind::Map(pairs) = &node.kind else {
            self.cx
                .expected(node, path, "a mapping of agent ids to agents");
            return;
        };
        for (k, v) in pairs {
            let Some(id) = self.cx.nonempty_text(k, path) else {
                continue;
            };
            let p = join(path, &id);
            if let Some((file, first)) = self.pack.agent_sites.get(&id) {
                let msg = format!(
                    "agent `{id}` is already defined at {}:{}:{}",
                    file.display(),
                    first.line,
                    first.col
                );
                self.cx.error(k.pos, &p, msg);
                continue;
            }
            self.pack
                .agent_sites
                .insert(id.clone(), (self.cx.file.to_path_buf(), k.pos));
            if let Some(agent) = self.agent(id, k, v, &p) {
                for s in &agent.skills {
                    self.pack.skills.insert(s.clone());
                }
                self.pack.roster.push_agent(agent);
            }
        }
    }

    fn agent(&mut self, id: String, key: &Node, node: &Node, p: &str) -> Option<Agent> {
        let f = self.cx.map(node, p, AGENT_KEYS)?;
        let mut ok = true;
        let text = |c: &mut Self, k: &str, ok: &mut bool| match f.get(k) {
            Some(n) => {
                let t = c.cx.nonempty_text(n, &join(p, k));
                *ok &= t.is_some();
                t
            }
            None => None,
        };
        let name = text(self, "name", &mut ok);
        let email = text(self, "email", &mut ok);
        if let (Some(e), Some(n)) = (&email, f.get("email")) {
            if !e.contains('@') {
                self.cx.error(
                    n.pos,
                    &join(p, "email"),
                    format!("`{e}` is not an e-mail address"),
                );
                ok = false;
            }
        }
        let mut teams = Vec::new();
        match f.get("teams") {
            Some(t) => {
                let tp = join(p, "teams");
                let single = !matches!(t.kind, Kind::Seq(_));
                for (i, item) in self.cx.list(t).into_iter().enumerate() {
                    let ip = if single { tp.clone() } else { index(&tp, i) };
                    match self.team(item, &ip) {
                        Some(ti) if !teams.contains(&ti) => teams.push(ti),
                        Some(_) => {}
                        None => ok = false,
                    }
                }
            }
            None => {
                self.cx.missing(&f, p, "teams");
                ok = false;
            }
        }
        let mut skills = Vec::new();
        if let Some(s) = f.get("skills") {
            let sp = join(p, "skills");
            let single = !matches!(s.kind, Kind::Seq(_));
            for (i, item) in self.cx.list(s).into_iter().enumerate() {
                let ip = if single { sp.clone() } else { index(&sp, i) };
                match tag(self, item, &ip, "skill") {
                    Some(t) if !skills.contains(&t) => skills.push(t),
                    Some(_) => {}
                    None => ok = false,
                }
            }
        }
        let mut languages = Vec::new();
        match f.get("languages") {
            Some(l) => {
                let lp = join(p, "languages");
                let single = !matches!(l.kind, Kind::Seq(_));
                for (i, item) in self.cx.list(l).into_iter().enumerate() {
                    let ip = if single { lp.clone() } else { index(&lp, i) };
                    match self.language(item, &ip) {
                        Some(t) => languages.push(t.to_lowercase()),
                        None => ok = false,
                    }
                }
            }
            None => {
                self.cx.missing(&f, p, "languages");
                ok = false;
            }
        }
        let capacity = match f.get("capacity") {
            Some(c) => self.capacity(c, &join(p, "capacity")),
            None => {
                self.cx.missing(&f, p, "capacity");
                None
            }
        };
        if let (Some(cap), Some(n)) = (&capacity, f.get("capacity")) {
            if cap.is_zero() {
                self.cx.warn(
                    n.pos,
                    &join(p, "capacity"),
                    format!(
                        "agent `{id}` has no capacity: no ticket will ever be assigned to them"
                    ),
                );
            }
        }
        let shift = match f.get("shift") {
            Some(s) => {
                let r = self.calendar_ref(s, &join(p, "shift"));
                ok &= r.is_some();
                r
            }
            None => {
                self.cx.warn(
                    key.pos,
                    p,
                    format!("agent `{id}` has no `shift` calendar: they count as on shift whenever they are online"),
                );
                None
            }
        };
        let mut helpdesk_ids = BTreeMap::new();
        if let Some(h) = f.get("helpdesk_ids") {
            let hp = join(p, "helpdesk_ids");
            let names = Helpdesk::names();
            match self.cx.map_with(h, &hp, &names, "helpdesk") {
                Some(hf) => {
                    for (k, _, v) in hf.iter() {
                        match &v.kind {
                            Kind::Int(_) | Kind::Str(_) => {
                                helpdesk_ids.insert(k.to_string(), v.to_json());
                            }
                            _ => {
                                self.cx.expected(
                                    v,
                                    &join(&hp, k),
                                    "the agent's id in that helpdesk",
                                );
                                ok = false;
                            }
                        }
                    }
                }
                None => ok = false,
            }
        }
        let capacity = capacity?;
        ok.then_some(Agent {
            id,
            name,
            email,
            teams,
            skills,
            languages,
            capacity,
            shift,
            helpdesk_ids,
        })
    }

    /// `capacity: 20` (overall) or `{chat: 3, email: 20, total: 20}`.
    fn capacity(&mut self, node: &Node, path: &str) -> Option<Capacity> {
        let count = |c: &mut Self, n: &Node, p: &str| -> Option<u32> {
            let v = c.cx.int(n, p)?;
            match u32::try_from(v) {
                Ok(v) => Some(v),
                Err(_) => {
                    c.cx.error(n.pos, p, format!("`{v}` is not a number of tickets"));
                    None
                }
            }
        };
        if let Kind::Int(_) = node.kind {
            return Some(Capacity {
                total: Some(count(self, node, path)?),
                ..Capacity::default()
            });
        }
        let mut keys = Channel::names();
        keys.push("total");
        let f = self.cx.map_with(node, path, &keys, "channel")?;
        let mut cap = Capacity::default();
        let mut ok = true;
        for (k, _, v) in f.iter() {
            let p = join(path, k);
            let Some(n) = count(self, v, &p) else {
                ok = false;
                continue;
            };
            match Channel::parse(k) {
                Some(ch) => cap.channels[ch as usize] = Some(n),
                None => cap.total = Some(n),
            }
        }
        if matches!(&node.kind, Kind::Map(p) if p.is_empty()) {
            self.cx.error(
                node.pos,
                path,
                "needs `total` or a number per channel (`chat: 3`, `email: 20`)",
            );
            return None;
        }
        ok.then_some(cap)
    }

    /// A team reference: its index, or an error with the nearest team id.
    pub fn team(&mut self, node: &Node, path: &str) -> Option<usize> {
        let id = self.cx.nonempty_text(node, path)?;
        if let Some(i) = self.pack.roster.team_index(&id.to_lowercase()) {
            return Some(i);
        }
        if self.pack.team_sites.contains_key(&id.to_lowercase()) {
            return None; // defined, but with errors already reported
        }
        let names: Vec<&str> = self
            .pack
            .roster
            .teams
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        let hint = did_you_mean(&id, names.iter().copied());
        let hint = if !hint.is_empty() {
            hint
        } else if names.is_empty() {
            " (define it under `teams:`)".to_string()
        } else {
            format!(" (teams: {})", names.join(", "))
        };
        self.cx
            .error(node.pos, path, format!("unknown team `{id}`{hint}"));
        None
    }

    fn skill(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = tag(self, node, path, "skill")?;
        if self.pack.skills.contains(&s) {
            return Some(s);
        }
        let hint = did_you_mean(&s, self.pack.skills.iter().map(String::as_str));
        let hint = if hint.is_empty() && self.pack.skills.is_empty() {
            " (no agent has any `skills:`)".to_string()
        } else {
            hint
        };
        self.cx.error(
            node.pos,
            path,
            format!("unknown skill `{s}`: no agent has it{hint}"),
        );
        None
    }

    /// Compiles `assign: {team: ..., strategy, require, fallback}`.
    pub fn team_assign(
        &mut self,
        f: &crate::syntax::decode::Fields<'_>,
        p: &str,
    ) -> Option<TeamAssign> {
        let team = self.team(f.get("team")?, &join(p, "team"));
        let mut ok = team.is_some();
        let strategy = match f.get("strategy") {
            Some(s) => {
                let s = self.cx.named(s, &join(p, "strategy"), "strategy");
                ok &= s.is_some();
                s
            }
            None => None,
        };
        let mut skills = Vec::new();
        let mut language = None;
        if let Some(r) = f.get("require") {
            let rp = join(p, "require");
            match self.cx.map(r, &rp, REQUIRE_KEYS) {
                Some(rf) => {
                    if let Some(s) = rf.get("skills") {
                        let sp = join(&rp, "skills");
                        let single = !matches!(s.kind, Kind::Seq(_));
                        for (i, item) in self.cx.list(s).into_iter().enumerate() {
                            let ip = if single { sp.clone() } else { index(&sp, i) };
                            match self.skill(item, &ip) {
                                Some(s) => skills.push(s),
                                None => ok = false,
                            }
                        }
                    }
                    if let Some(l) = rf.get("language") {
                        language = self.language_req(l, &join(&rp, "language"));
                        ok &= language.is_some();
                    }
                }
                None => ok = false,
            }
        }
        let mut fallback = None;
        let mut otherwise = Otherwise::Queue;
        if let Some(fb) = f.get("fallback") {
            let fp = join(p, "fallback");
            if let Kind::Str(s) = &fb.kind {
                match s.as_str() {
                    "queue" => {}
                    "keep" => otherwise = Otherwise::Keep,
                    _ => {
                        fallback = self.team(fb, &fp);
                        ok &= fallback.is_some();
                    }
                }
            } else {
                match self.cx.map(fb, &fp, FALLBACK_KEYS) {
                    Some(ff) => {
                        if let Some(t) = ff.get("team") {
                            fallback = self.team(t, &join(&fp, "team"));
                            ok &= fallback.is_some();
                        }
                        if let Some(o) = ff.get("or") {
                            let op = join(&fp, "or");
                            match self.cx.text(o, &op).as_deref() {
                                Some("queue") => {}
                                Some("keep") => otherwise = Otherwise::Keep,
                                Some(other) => {
                                    let hint = did_you_mean(other, OTHERWISE.iter().copied());
                                    let hint = if hint.is_empty() {
                                        " (expected `queue`: wait in the team's queue, or `keep`: leave the ticket as it is)".to_string()
                                    } else {
                                        hint
                                    };
                                    self.cx.error(
                                        o.pos,
                                        &op,
                                        format!("unknown fallback `{other}`{hint}"),
                                    );
                                    ok = false;
                                }
                                None => ok = false,
                            }
                        }
                    }
                    None => ok = false,
                }
            }
        }
        ok.then(|| TeamAssign {
            team: team.expect("checked"),
            strategy,
            skills,
            language,
            fallback,
            otherwise,
        })
    }

    fn language_req(&mut self, node: &Node, path: &str) -> Option<LanguageReq> {
        let text = self.cx.nonempty_text(node, path)?;
        if text.contains('.') {
            return match text.as_str() {
                "ticket.customer.language" => Some(LanguageReq::Customer),
                "message.language" => Some(LanguageReq::Message),
                other => {
                    let hint = did_you_mean(other, LANGUAGE_FIELDS.iter().copied());
                    let hint = if hint.is_empty() {
                        format!(
                            " (expected a language tag or one of: {})",
                            LANGUAGE_FIELDS.join(", ")
                        )
                    } else {
                        hint
                    };
                    self.cx.error(
                        node.pos,
                        path,
                        format!("unknown language field `{other}`{hint}"),
                    );
                    None
                }
            };
        }
        self.language(node, path)
            .map(|t| LanguageReq::Tag(t.to_lowercase()))
    }
}
