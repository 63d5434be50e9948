//! Loading a rule pack: files → YAML with positions ([`yaml`]) → compiled [`Config`]
//! ([`compile`]), with every problem collected as a [`Diagnostic`].
//!
//! The runtime never sees YAML: a `Config` is immutable and holds only compiled forms (one
//! keyword automaton, compiled regexes, Rhai ASTs, MiniJinja templates).

pub(crate) mod compile;
pub mod routing;
pub mod schema;
pub mod tests;

pub(crate) use crate::syntax::decode;
pub use crate::syntax::{diag, yaml};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diag::{Diagnostic, Diagnostics, Severity};

use crate::faq::BotSet;
use crate::model::{EventType, Named};
use crate::routing::Roster;
use crate::rules::action::{ActionDef, TimerDef};
use crate::rules::field::TextSlot;
use crate::rules::forms::FormLang;
use crate::rules::script::Scripts;
use crate::rules::template::Templates;
use crate::rules::text::{BitSet, KeywordSet};
use crate::rules::Rule;
use crate::time::expected::ResponseTargets;
use crate::time::{Calendar, Calendars};
use compile::{Compiler, Pack};
use decode::Cx;
use tests::TestCase;
use yaml::Pos;

/// Top-level keys of a rule file.
pub const FILE_KEYS: &[&str] = &[
    "calendars",
    "settings",
    "teams",
    "agents",
    "sla",
    "rules",
    "schedules",
    "templates",
    "tests",
];

/// One rule file's text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path shown in diagnostics; scripts resolve relative to it.
    pub path: PathBuf,
    /// The YAML.
    pub text: String,
}

/// A compiled, immutable rule pack.
#[derive(Debug)]
pub struct Config {
    pub(crate) rules: Vec<Rule>,
    pub(crate) keywords: KeywordSet,
    /// The languages whose word forms keywords match in a message with no language tag: the
    /// pack's languages that have a stemmer (English when it names none).
    pub(crate) untagged_languages: Vec<FormLang>,
    pub(crate) slots_used: [bool; 3],
    /// Per event type: enabled rules listening to it.
    pub(crate) listening: Vec<BitSet>,
    /// Rules that need one of their keywords present.
    pub(crate) gated: BitSet,
    /// Per text slot, per keyword id: the gated rules it lets through.
    pub(crate) gates: [Vec<Vec<u32>>; 3],
    pub(crate) templates: Templates,
    pub(crate) scripts: Scripts,
    pub(crate) timers: HashMap<String, TimerDef>,
    pub(crate) calendars: Calendars,
    pub(crate) response: Option<ResponseTargets>,
    /// `settings.measured_response`: blend expected responses with measured ones.
    pub(crate) measured: Option<crate::measured::MeasuredSettings>,
    pub(crate) bots: Arc<BotSet>,
    pub(crate) roster: Roster,
    /// Per event type: the routing locks and agents of the teams its decisions may assign to.
    pub(crate) routing: Vec<crate::routing::RoutingNeed>,
    /// By event type: the FAQ bots its rules (and for `timer.fired`, the timers) may ask.
    asks: Vec<Vec<String>>,
    pub(crate) sla: crate::sla::Policies,
    pub(crate) schedules: Vec<crate::schedule::CronSchedule>,
    /// `settings.public_url`, without a trailing `/`.
    pub(crate) public_url: Option<String>,
    /// How long survey links work.
    pub(crate) survey_links_valid_for: chrono::Duration,
    /// Some rule, timer or schedule sends a survey.
    pub(crate) surveys: bool,
    /// The `tests:` of every file.
    pub tests: Vec<TestCase>,
    /// The files the pack was compiled from.
    pub files: Vec<PathBuf>,
    /// Warnings found while compiling.
    pub warnings: Vec<Diagnostic>,
    /// The hash of the files the pack was compiled from, when its loader named one
    /// ([`Config::with_pack`]); every decision records it in `trace.pack`.
    pub(crate) pack: Option<String>,
}

/// The bots directory a rules directory goes with when none is named: `bots/` beside it
/// (`rules/` → `bots/`), if there is one.
pub fn default_bots_dir(rules: &Path) -> Option<PathBuf> {
    let parent = match rules.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = parent.join("bots");
    (dir.is_dir() && dir != rules).then_some(dir)
}

impl Config {
    /// Loads every `*.yaml` / `*.yml` under `dir` (recursively, in path order), with the FAQ
    /// bots of `bots/` beside it when there is one ([`default_bots_dir`]).
    pub fn load(dir: &Path) -> Result<Config, Diagnostics> {
        Config::load_with_bots(dir, default_bots_dir(dir).as_deref())
    }

    /// Loads the rules under `dir` and the FAQ bots in `bots` (every `*.yaml` there), so that
    /// rules can answer with them (`answer_faq`) and read their intents (`intent`). Problems of
    /// both are reported together.
    pub fn load_with_bots(dir: &Path, bots: Option<&Path>) -> Result<Config, Diagnostics> {
        Config::load_kept(dir, bots, None)
    }

    /// [`Config::load_with_bots`], reading the bots' trained matchers back from `models` (and
    /// keeping them there) when there are any ([`crate::faq::Models`]).
    pub fn load_kept(
        dir: &Path,
        bots: Option<&Path>,
        models: Option<&dyn crate::faq::Models>,
    ) -> Result<Config, Diagnostics> {
        let mut diags = Diagnostics::default();
        // Bot problems are reported with the rules' own, in one list.
        let mut bot_diags = Diagnostics::default();
        let bots = match bots.map(|dir| BotSet::load_kept(dir, models)) {
            None => Arc::new(BotSet::default()),
            Some(Ok(set)) => {
                for bot in set.iter() {
                    for w in bot.warnings() {
                        bot_diags.push(w.clone());
                    }
                }
                Arc::new(set)
            }
            Some(Err(d)) => {
                bot_diags.extend(d);
                Arc::new(BotSet::default())
            }
        };
        let whole = |message: String| Diagnostic {
            severity: Severity::Error,
            file: dir.to_path_buf(),
            pos: Pos::default(),
            path: String::new(),
            message,
        };
        let mut paths = Vec::new();
        if let Err(e) = collect_yaml(dir, &mut paths) {
            diags.push(whole(format!("cannot read the rules directory: {e}")));
        } else if paths.is_empty() {
            diags.push(whole("no rule files (*.yaml) in this directory".into()));
        }
        paths.sort();
        let mut sources = Vec::new();
        for path in paths {
            match crate::syntax::read_source(
                &path,
                "a rule file",
                crate::syntax::MAX_RULE_FILE_BYTES,
            ) {
                Ok(text) => sources.push(Source { path, text }),
                Err(e) => diags.push(Diagnostic {
                    severity: Severity::Error,
                    file: path,
                    pos: Pos::default(),
                    path: String::new(),
                    message: e.to_string(),
                }),
            }
        }
        if diags.has_errors() {
            diags.extend(bot_diags);
            diags.sort();
            return Err(diags);
        }
        match Config::compile_pack(sources, bots, bot_diags.has_errors()) {
            Ok(mut config) if !bot_diags.has_errors() => {
                config.warnings.extend(bot_diags.warnings().cloned());
                Ok(config)
            }
            Ok(config) => {
                let mut all = bot_diags;
                for w in config.warnings {
                    all.push(w);
                }
                all.sort();
                Err(all)
            }
            Err(mut d) => {
                d.extend(bot_diags);
                d.sort();
                Err(d)
            }
        }
    }

    /// Compiles one YAML text (tests, benchmarks, `frontdesk init`).
    pub fn from_yaml(name: &str, text: &str) -> Result<Config, Diagnostics> {
        Config::compile(vec![Source {
            path: PathBuf::from(name),
            text: text.to_string(),
        }])
    }

    /// Compiles a pack from its files' texts. On any error, every diagnostic is returned.
    pub fn compile(sources: Vec<Source>) -> Result<Config, Diagnostics> {
        Config::compile_with_bots(sources, Arc::new(BotSet::default()))
    }

    /// Compiles a pack whose rules may use these FAQ bots.
    pub fn compile_with_bots(
        sources: Vec<Source>,
        bots: Arc<BotSet>,
    ) -> Result<Config, Diagnostics> {
        Config::compile_pack(sources, bots, false)
    }

    fn compile_pack(
        sources: Vec<Source>,
        bots: Arc<BotSet>,
        bots_failed: bool,
    ) -> Result<Config, Diagnostics> {
        let mut diags = Diagnostics::default();
        let mut pack = Pack::default();
        pack.bots = bots;
        pack.bots_failed = bots_failed;
        let mut docs = Vec::new();
        for src in &sources {
            match yaml::parse(&src.text) {
                Ok(node) => {
                    let mut cx = Cx {
                        file: &src.path,
                        diags: &mut diags,
                    };
                    let top = match node.kind {
                        yaml::Kind::Null => None,
                        _ => cx.map(&node, "", FILE_KEYS).map(|f| {
                            f.iter()
                                .map(|(k, _, v)| (k.to_string(), v.clone()))
                                .collect::<Vec<_>>()
                        }),
                    };
                    docs.push((src.path.clone(), top.unwrap_or_default()));
                }
                Err(e) => diags.push(Diagnostic {
                    severity: Severity::Error,
                    file: src.path.clone(),
                    pos: e.pos,
                    path: String::new(),
                    message: format!("invalid YAML: {}", e.message),
                }),
            }
        }
        // Calendars, teams, agents, settings, SLA policies and templates first: rules refer to
        // them from any file (agents to teams and calendars; templates may promise an SLA
        // policy's first response).
        for phase in [
            "calendars",
            "teams",
            "agents",
            "settings",
            "sla",
            "templates",
            "rules",
            "schedules",
        ] {
            for (file, top) in &docs {
                for (key, value) in top.iter().filter(|(k, _)| k == phase) {
                    let mut c = Compiler {
                        cx: Cx {
                            file,
                            diags: &mut diags,
                        },
                        pack: &mut pack,
                        rule: String::new(),
                    };
                    match key.as_str() {
                        "calendars" => c.calendars(value),
                        "teams" => c.teams(value),
                        "agents" => c.agents(value),
                        "settings" => c.settings(value),
                        "sla" => c.sla(value),
                        "schedules" => c.schedules(value),
                        "templates" => c.templates(value),
                        _ => c.rules(value),
                    }
                }
            }
        }
        pack.roster.assign_locks();
        warn_empty_teams(&pack, &docs, &mut diags);
        if let Err(message) = pack.keywords.build() {
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: docs.first().map(|(f, _)| f.clone()).unwrap_or_default(),
                pos: yaml::Pos::default(),
                path: String::new(),
                message,
            });
        }
        pack.untagged_languages = keyword_languages(&pack, &mut diags);
        pack.rules.sort_by_key(|r| r.order);
        let rule_names: Vec<String> = pack.rules.iter().map(|r| r.name.clone()).collect();
        let mut tests = Vec::new();
        for (file, top) in &docs {
            for (_, value) in top.iter().filter(|(k, _)| k == "tests") {
                let mut cx = Cx {
                    file,
                    diags: &mut diags,
                };
                tests.extend(tests::compile(&mut cx, value, &rule_names, &pack.roster));
            }
        }
        warn_unused_templates(&pack, &docs, &mut diags);
        diags.sort();
        if diags.has_errors() {
            return Err(diags);
        }
        let warnings = diags.warnings().cloned().collect();
        Ok(Config::assemble(
            pack,
            tests,
            sources.into_iter().map(|s| s.path).collect(),
            warnings,
        ))
    }

    fn assemble(
        pack: Pack,
        tests: Vec<TestCase>,
        files: Vec<PathBuf>,
        warnings: Vec<Diagnostic>,
    ) -> Config {
        let n = pack.rules.len();
        let mut listening = vec![BitSet::new(n); EventType::ALL.len()];
        let mut gated = BitSet::new(n);
        let mut gates: [Vec<Vec<u32>>; 3] =
            std::array::from_fn(|_| vec![Vec::new(); pack.keywords.len()]);
        for (i, rule) in pack.rules.iter().enumerate() {
            if rule.enabled {
                for t in EventType::ALL {
                    if rule.on & t.bit() != 0 {
                        listening[*t as usize].insert(i);
                    }
                }
            }
            if let Some(req) = &rule.required {
                gated.insert(i);
                for (slot, kw) in req {
                    let list = &mut gates[*slot as usize][*kw as usize];
                    if list.last() != Some(&(i as u32)) {
                        list.push(i as u32);
                    }
                }
            }
        }
        let mut asks = vec![Vec::new(); EventType::ALL.len()];
        for t in EventType::ALL {
            let bots: &mut Vec<String> = &mut asks[*t as usize];
            for rule in pack
                .rules
                .iter()
                .filter(|r| r.enabled && r.on & t.bit() != 0)
            {
                if let Some(when) = &rule.when {
                    when.bots(bots);
                }
                answering_bots(&rule.then, bots);
            }
            if *t == EventType::TimerFired {
                for def in pack.timers.values() {
                    answering_bots(&def.then, bots);
                }
            }
            bots.sort();
            bots.dedup();
        }
        let mut routing = vec![crate::routing::RoutingNeed::default(); EventType::ALL.len()];
        for t in EventType::ALL {
            let mut teams = Vec::new();
            for rule in pack
                .rules
                .iter()
                .filter(|r| r.enabled && r.on & t.bit() != 0)
            {
                team_targets(&rule.then, &mut teams);
            }
            match t {
                EventType::TimerFired => {
                    for def in pack.timers.values() {
                        team_targets(&def.then, &mut teams);
                    }
                }
                EventType::AgentAvailable => teams.extend(0..pack.roster.teams.len()),
                _ => {}
            }
            let mut locks: Vec<String> = teams
                .iter()
                .map(|&i| pack.roster.teams[i].lock.clone())
                .collect();
            locks.sort();
            locks.dedup();
            let mut agents: Vec<String> = teams
                .iter()
                .flat_map(|&i| &pack.roster.teams[i].members)
                .map(|&a| pack.roster.agents[a].id.clone())
                .collect();
            agents.sort();
            agents.dedup();
            routing[*t as usize] = crate::routing::RoutingNeed { locks, agents };
        }
        let surveys = pack.rules.iter().any(|r| sends_survey(&r.then))
            || pack.timers.values().any(|t| sends_survey(&t.then))
            || pack.schedules.iter().any(|s| sends_survey(&s.then));
        Config {
            public_url: pack.public_url,
            survey_links_valid_for: pack
                .survey_links_valid_for
                .unwrap_or_else(|| chrono::Duration::days(compile::SURVEY_LINKS_VALID_FOR_DAYS)),
            surveys,
            roster: pack.roster,
            routing,
            asks,
            rules: pack.rules,
            keywords: pack.keywords,
            untagged_languages: pack.untagged_languages,
            slots_used: pack.slots_used,
            listening,
            gated,
            gates,
            templates: pack.templates,
            scripts: pack.scripts,
            timers: pack.timers,
            calendars: pack.calendars,
            response: pack.response,
            measured: pack.measured,
            bots: pack.bots,
            sla: pack.sla,
            schedules: pack.schedules,
            tests,
            files,
            warnings,
            pack: None,
        }
    }

    /// The same pack, named by `hash` (the daemon's hash of the pack's files): the decisions
    /// it makes record the hash in `trace.pack`, so a decision names the pack that made it.
    pub fn with_pack(mut self, hash: impl Into<String>) -> Config {
        self.pack = Some(hash.into());
        self
    }

    /// The hash the pack was named by ([`Config::with_pack`]), if any.
    pub fn pack(&self) -> Option<&str> {
        self.pack.as_deref()
    }

    /// Rule names in evaluation order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// How many rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// How many distinct keywords the automaton holds.
    pub fn keyword_count(&self) -> usize {
        self.keywords.len()
    }

    /// How many named templates.
    pub fn template_count(&self) -> usize {
        self.templates.names().count()
    }

    /// A calendar by name.
    pub fn calendar(&self, name: &str) -> Option<&Calendar> {
        self.calendars.get(name)
    }

    /// Names of the pack's calendars.
    pub fn calendar_names(&self) -> impl Iterator<Item = &str> {
        self.calendars.names()
    }

    /// `settings.measured_response`, when expected responses are blended with measured ones.
    pub fn measured_response(&self) -> Option<&crate::measured::MeasuredSettings> {
        self.measured.as_ref()
    }

    /// `settings.public_url`: the base URL customers reach the daemon at, which survey links
    /// start with (without a trailing `/`).
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// How long a survey link works after the survey is sent (`settings.survey_links_valid_for`,
    /// default 30 days).
    pub fn survey_links_valid_for(&self) -> chrono::Duration {
        self.survey_links_valid_for
    }

    /// Whether some rule, timer or schedule sends a satisfaction survey (`survey`).
    pub fn sends_surveys(&self) -> bool {
        self.surveys
    }

    /// The pack's first-response targets (`settings.response_calendar`, `first_response`).
    pub fn response_targets(&self) -> Option<(&Calendar, &ResponseTargets)> {
        self.response
            .as_ref()
            .map(|r| (self.calendars.at(r.calendar), r))
    }

    /// The FAQ bots loaded with the pack.
    pub fn bots(&self) -> &BotSet {
        &self.bots
    }

    /// The FAQ bots, shared.
    pub fn bots_shared(&self) -> Arc<BotSet> {
        self.bots.clone()
    }

    /// The agents and teams.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The pack's calendars.
    pub fn calendars(&self) -> &Calendars {
        &self.calendars
    }

    /// The routing locks a decision of `kind` must hold before it reads the routing state
    /// (sorted); empty when no rule for it assigns to a team.
    pub fn routing_locks(&self, kind: EventType) -> &[String] {
        &self.routing[kind as usize].locks
    }

    /// What a decision of `kind` needs from the store to assign: the routing locks and the
    /// agents of the teams its rules may assign to (every team's for `agent.available`).
    pub fn routing_need(&self, kind: EventType) -> &crate::routing::RoutingNeed {
        &self.routing[kind as usize]
    }

    /// The FAQ bots a decision of `kind` may ask (`intent` conditions, `answer_faq` actions),
    /// sorted.
    pub fn bots_asked(&self, kind: EventType) -> &[String] {
        &self.asks[kind as usize]
    }

    /// The pack's SLA policies, in the order they are matched.
    pub fn sla_policies(&self) -> &crate::sla::Policies {
        &self.sla
    }

    /// The pack's cron schedules.
    pub fn schedules(&self) -> &[crate::schedule::CronSchedule] {
        &self.schedules
    }

    /// A cron schedule by name.
    pub fn schedule(&self, name: &str) -> Option<&crate::schedule::CronSchedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    pub(crate) fn slot_used(&self, slot: TextSlot) -> bool {
        self.slots_used[slot as usize]
    }
}

/// The languages an untagged message's keywords match the word forms of; with a warning, once
/// per tag, for each language the pack names that has no stemmer (when some keyword has word
/// forms).
fn keyword_languages(pack: &compile::Pack, diags: &mut Diagnostics) -> Vec<FormLang> {
    let mut langs = Vec::new();
    let mut told = std::collections::HashSet::new();
    for (tag, file, pos, path) in &pack.languages_named {
        match FormLang::from_tag(tag) {
            Some(l) if !langs.contains(&l) => langs.push(l),
            Some(_) => {}
            None if FormLang::unspaced_tag(tag) || !pack.keywords.has_forms() => {}
            None => {
                let base = crate::faq::lang::base_subtag(tag);
                if told.insert(base.clone()) {
                    diags.push(Diagnostic {
                        severity: Severity::Warning,
                        file: file.clone(),
                        pos: *pos,
                        path: path.clone(),
                        message: format!(
                            "keywords match whole words only in messages in `{base}`: there is no stemmer for it"
                        ),
                    });
                }
            }
        }
    }
    if langs.is_empty() {
        langs.push(FormLang::EN);
    }
    langs
}

/// Teams an action list may assign to (`assign: {team}` and its fallback).
/// The FAQ bots `actions` answer from.
fn answering_bots(actions: &[ActionDef], out: &mut Vec<String>) {
    for a in actions {
        if let ActionDef::AnswerFaq { bot, .. } = a {
            out.push(bot.clone());
        }
    }
}

fn team_targets(actions: &[ActionDef], out: &mut Vec<usize>) {
    for a in actions {
        if let ActionDef::AssignTeam(spec) = a {
            out.push(spec.team);
            out.extend(spec.fallback);
        }
    }
}

fn warn_empty_teams(
    pack: &Pack,
    docs: &[(PathBuf, Vec<(String, yaml::Node)>)],
    diags: &mut Diagnostics,
) {
    for (file, top) in docs {
        for (_, value) in top.iter().filter(|(k, _)| k == "teams") {
            if let yaml::Kind::Map(pairs) = &value.kind {
                for (k, _) in pairs {
                    let Some(name) = k.scalar_text() else {
                        continue;
                    };
                    let Some(team) = pack.roster.team(&name.to_lowercase()) else {
                        continue;
                    };
                    if team.members.is_empty() {
                        let mut cx = Cx {
                            file,
                            diags: &mut *diags,
                        };
                        cx.warn(
                            k.pos,
                            &format!("teams.{name}"),
                            format!("team `{name}` has no agents: tickets assigned to it wait in its queue"),
                        );
                    }
                }
            }
        }
    }
}

fn sends_survey(actions: &[ActionDef]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, ActionDef::Survey { .. }))
}

fn warn_unused_templates(
    pack: &Pack,
    docs: &[(PathBuf, Vec<(String, yaml::Node)>)],
    diags: &mut Diagnostics,
) {
    for (file, top) in docs {
        for (_, value) in top.iter().filter(|(k, _)| k == "templates") {
            if let yaml::Kind::Map(pairs) = &value.kind {
                for (k, _) in pairs {
                    if let Some(name) = k.scalar_text() {
                        if !pack.used_templates.contains(&name) {
                            let mut cx = Cx {
                                file,
                                diags: &mut *diags,
                            };
                            cx.warn(
                                k.pos,
                                &format!("templates.{name}"),
                                format!("template `{name}` is not used by any rule"),
                            );
                        }
                    }
                }
            }
        }
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
