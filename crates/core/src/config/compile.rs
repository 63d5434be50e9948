//! The compile step: validated, fast runtime forms from the raw YAML of every file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::faq::BotSet;
use crate::model::{EventType, Named, Priority};
use crate::rules::action::{self, ActionEnv, TimerDef};
use crate::rules::condition::{self, CondEnv};
use crate::rules::field::TextSlot;
use crate::rules::script::{ScriptError, Scripts};
use crate::rules::template::{valid_language, Templates, TextDef, CONTEXT_NAMES, RESPONSE_NAMES};
use crate::rules::text::KeywordSet;
use crate::rules::Rule;
use crate::syntax::decode::{index, join, Cx, Sites};
use crate::syntax::diag::did_you_mean;
use crate::syntax::yaml::{Kind, Node, Pos};
use crate::time::expected::ResponseTargets;
use crate::time::{decode as time_decode, parse_business, Calendars};

/// Keys a rule may have.
pub const RULE_KEYS: &[&str] = &[
    "name",
    "on",
    "when",
    "then",
    "stop",
    "enabled",
    "order",
    "description",
];
/// Keys of `settings:`.
pub const SETTINGS_KEYS: &[&str] = &[
    "default_language",
    "languages",
    "response_calendar",
    "first_response",
    "measured_response",
    "public_url",
    "survey_links_valid_for",
    "exact_keywords",
];

/// How long survey links work unless `settings.survey_links_valid_for` says otherwise.
pub const SURVEY_LINKS_VALID_FOR_DAYS: i64 = 30;

/// Keys of `settings.measured_response`.
pub const MEASURED_KEYS: &[&str] = &["percentile", "min_samples", "window"];

/// State shared by every file of a pack while it compiles.
#[derive(Default)]
pub(crate) struct Pack {
    pub keywords: KeywordSet,
    pub slots_used: [bool; 3],
    pub scripts: Scripts,
    pub templates: Templates,
    pub timers: HashMap<String, TimerDef>,
    timer_sites: HashMap<String, (PathBuf, Pos)>,
    pub rules: Vec<Rule>,
    rule_sites: HashMap<String, (PathBuf, Pos)>,
    pub used_templates: std::collections::HashSet<String>,
    pub settings_site: Option<PathBuf>,
    pub calendars: Calendars,
    calendar_sites: HashMap<String, (PathBuf, Pos)>,
    pub response: Option<ResponseTargets>,
    pub measured: Option<crate::measured::MeasuredSettings>,
    pub roster: crate::routing::Roster,
    pub team_sites: HashMap<String, (PathBuf, Pos)>,
    pub agent_sites: HashMap<String, (PathBuf, Pos)>,
    /// Every agent's skills.
    pub skills: std::collections::BTreeSet<String>,
    /// `settings` names response targets (even ones with errors).
    response_written: bool,
    /// The FAQ bots that `answer_faq` and `intent` may name.
    pub bots: std::sync::Arc<BotSet>,
    /// `settings.exact_keywords`: keywords match whole words only unless a condition says
    /// `exact: false`.
    pub exact_keywords: bool,
    /// Every language tag the pack names (settings, template variants), where.
    pub languages_named: Vec<(String, PathBuf, Pos, String)>,
    /// What `Config::untagged_languages` will be.
    pub untagged_languages: Vec<crate::rules::forms::FormLang>,
    /// The bots directory had errors (already reported): references to bots are not checked.
    pub bots_failed: bool,
    /// SLA policies.
    pub sla: crate::sla::Policies,
    pub(crate) sla_sites: Sites,
    /// Some SLA policy has first-response targets (for `expected_response`).
    pub(crate) sla_first_response: bool,
    /// Cron schedules.
    pub schedules: Vec<crate::schedule::CronSchedule>,
    pub(crate) schedule_sites: Sites,
    /// `settings.public_url`: where customers reach the daemon (survey links).
    pub public_url: Option<String>,
    /// `settings.survey_links_valid_for`.
    pub survey_links_valid_for: Option<chrono::Duration>,
}

/// Compiles the parts of one file.
pub(crate) struct Compiler<'d> {
    pub cx: Cx<'d>,
    pub pack: &'d mut Pack,
    /// The rule being compiled.
    pub rule: String,
}

fn script_position(node: &Node, e: &ScriptError) -> Pos {
    // An inline expression: map the script's own line/column onto the YAML scalar.
    if e.line <= 1 {
        Pos {
            line: node.pos.line,
            col: node.pos.col + e.col.saturating_sub(1) as u32,
        }
    } else {
        Pos {
            line: node.pos.line + e.line as u32 - 1,
            col: e.col.max(1) as u32,
        }
    }
}

/// Where `needle` first appears inside a text scalar: exact for block scalars (`|`), the
/// line for others.
fn position_in(node: &Node, source: &str, needle: &str) -> Pos {
    let Some(at) = source.find(needle) else {
        return node.pos;
    };
    let before = &source[..at];
    let line = before.matches('\n').count() as u32;
    if line == 0 {
        return node.pos;
    }
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32;
    Pos {
        line: node.pos.line + line,
        col: node.pos.col + col,
    }
}

impl Compiler<'_> {
    /// The id of a keyword in the pack's automaton.
    pub fn keyword(&mut self, folded: &str, slot: TextSlot, exact: bool) -> u32 {
        self.pack.slots_used[slot as usize] = true;
        self.pack.keywords.intern(folded, exact)
    }

    /// Compiles a `script:` condition.
    pub fn compile_script_expression(
        &mut self,
        source: &str,
        node: &Node,
        path: &str,
    ) -> Option<usize> {
        match self.pack.scripts.compile_expression(source) {
            Ok(id) => Some(id),
            Err(e) => {
                self.cx.error(
                    script_position(node, &e),
                    path,
                    format!("script: {}", e.message),
                );
                None
            }
        }
    }

    fn report_unknown_names(
        &mut self,
        used: Vec<String>,
        source: &str,
        node: &Node,
        path: &str,
    ) -> bool {
        let mut ok = true;
        if !self.pack.response_written && !self.pack.sla_first_response {
            for name in used.iter().filter(|n| RESPONSE_NAMES.contains(&n.as_str())) {
                let pos = position_in(node, source, name);
                self.cx.error(
                    pos,
                    path,
                    format!(
                        "template uses `{name}`, which needs `response_calendar` and `first_response` (business time per priority) in `settings:`, or an `sla:` policy with `first_response`"
                    ),
                );
                ok = false;
            }
        }
        let unknown: Vec<&String> = used
            .iter()
            .filter(|n| !CONTEXT_NAMES.contains(&n.as_str()))
            .collect();
        for name in &unknown {
            let pos = position_in(node, source, name);
            let hint = did_you_mean(name, CONTEXT_NAMES.iter().copied());
            let hint = if hint.is_empty() {
                format!(" (templates see: {})", CONTEXT_NAMES.join(", "))
            } else {
                hint
            };
            self.cx.error(
                pos,
                path,
                format!("template uses unknown variable `{name}`{hint}"),
            );
        }
        ok && unknown.is_empty()
    }

    /// Compiles `calendars:`.
    pub fn calendars(&mut self, node: &Node) {
        let path = "calendars";
        let Kind::Map(pairs) = &node.kind else {
            self.cx
                .expected(node, path, "a mapping of calendar names to calendars");
            return;
        };
        for (k, v) in pairs {
            let Some(name) = self.cx.nonempty_text(k, path) else {
                continue;
            };
            let p = join(path, &name);
            if let Some((file, first)) = self.pack.calendar_sites.get(&name) {
                let msg = format!(
                    "calendar `{name}` is already defined at {}:{}:{}",
                    file.display(),
                    first.line,
                    first.col
                );
                self.cx.error(k.pos, &p, msg);
                continue;
            }
            self.pack
                .calendar_sites
                .insert(name.clone(), (self.cx.file.to_path_buf(), k.pos));
            if let Some(cal) = time_decode::calendar(&mut self.cx, &name, v, &p) {
                self.pack.calendars.push(cal);
            }
        }
    }

    /// A reference to a calendar by name: its index, or an error with the nearest name.
    /// Checks that a bot named by `answer_faq` or `intent` is loaded.
    pub fn bot_ref(&mut self, bot: &str, node: &Node, path: &str) -> bool {
        if self.pack.bots.get(bot).is_some() {
            return true;
        }
        if self.pack.bots_failed {
            return false;
        }
        let hint = did_you_mean(bot, self.pack.bots.iter().map(|b| b.name()));
        let hint = if !hint.is_empty() {
            hint
        } else if self.pack.bots.is_empty() {
            " (no bots are loaded: put bot files in the bots directory, `--bots DIR`)".to_string()
        } else {
            let names: Vec<&str> = self.pack.bots.iter().map(|b| b.name()).collect();
            format!(" (bots: {})", names.join(", "))
        };
        self.cx
            .error(node.pos, path, format!("unknown bot `{bot}`{hint}"));
        false
    }

    pub fn calendar_ref(&mut self, node: &Node, path: &str) -> Option<usize> {
        let name = self.cx.nonempty_text(node, path)?;
        if let Some(i) = self.pack.calendars.index_of(&name) {
            return Some(i);
        }
        if self.pack.calendar_sites.contains_key(&name) {
            return None; // defined, but with errors already reported
        }
        let hint = did_you_mean(&name, self.pack.calendars.names());
        let hint = if !hint.is_empty() {
            hint
        } else if self.pack.calendars.is_empty() {
            " (define it under `calendars:`)".to_string()
        } else {
            let names: Vec<&str> = self.pack.calendars.names().collect();
            format!(" (calendars: {})", names.join(", "))
        };
        self.cx
            .error(node.pos, path, format!("unknown calendar `{name}`{hint}"));
        None
    }

    fn response_targets(&mut self, f: &crate::syntax::decode::Fields<'_>, path: &str) {
        let (cal, targets) = (f.get("response_calendar"), f.get("first_response"));
        let (cal_node, targets_node) = match (cal, targets) {
            (None, None) => return,
            (Some(c), Some(t)) => {
                self.pack.response_written = true;
                (c, t)
            }
            (Some(_), None) => {
                self.cx.error(
                    f.pos,
                    path,
                    "`response_calendar` needs `first_response` (a business time per priority)",
                );
                return;
            }
            (None, Some(_)) => {
                self.cx.error(
                    f.pos,
                    path,
                    "`first_response` needs `response_calendar` (the calendar its business time is counted in)",
                );
                return;
            }
        };
        let calendar = self.calendar_ref(cal_node, &join(path, "response_calendar"));
        let tpath = join(path, "first_response");
        let names = Priority::names();
        let Some(tf) = self.cx.map_with(targets_node, &tpath, &names, "priority") else {
            return;
        };
        let mut spans = [None; 4];
        for (key, _, v) in tf.iter() {
            let p = join(&tpath, key);
            let Some(text) = self.cx.text(v, &p) else {
                continue;
            };
            match parse_business(&text) {
                Ok(span) => {
                    let i = Priority::parse(key).expect("keys are checked") as usize;
                    spans[i] = Some(span);
                }
                Err(e) => self.cx.error(v.pos, &p, e),
            }
        }
        let missing: Vec<&str> = names
            .iter()
            .zip(&spans)
            .filter(|(_, s)| s.is_none())
            .map(|(n, _)| *n)
            .collect();
        if tf.len() == names.len() && !missing.is_empty() {
            return; // a value was wrong, already reported
        }
        if !missing.is_empty() {
            self.cx.error(
                tf.pos,
                &tpath,
                format!(
                    "needs a target for every priority; missing: {}",
                    missing.join(", ")
                ),
            );
            return;
        }
        if let Some(calendar) = calendar {
            self.pack.response = Some(ResponseTargets {
                calendar,
                first_response: spans.map(|s| s.expect("all present")),
            });
        }
    }

    /// Compiles `settings:`.
    pub fn settings(&mut self, node: &Node) {
        let path = "settings";
        if let Some(first) = &self.pack.settings_site {
            let first = first.display().to_string();
            self.cx.error(
                node.pos,
                path,
                format!("settings are already set in {first}; keep them in one file"),
            );
            return;
        }
        self.pack.settings_site = Some(self.cx.file.to_path_buf());
        let Some(f) = self.cx.map(node, path, SETTINGS_KEYS) else {
            return;
        };
        let mut default = "en".to_string();
        if let Some(d) = f.get("default_language") {
            if let Some(lang) = self.language(d, &join(path, "default_language")) {
                default = lang;
            }
        }
        let mut fallbacks = HashMap::new();
        if let Some(l) = f.get("languages") {
            let lpath = join(path, "languages");
            if let Kind::Map(pairs) = &l.kind {
                for (k, v) in pairs {
                    let Some(from) = self.language(k, &lpath) else {
                        continue;
                    };
                    let p = join(&lpath, &from);
                    let mut list = Vec::new();
                    for (i, item) in self.cx.list(v).into_iter().enumerate() {
                        if let Some(to) = self.language(item, &index(&p, i)) {
                            list.push(to);
                        }
                    }
                    fallbacks.insert(from, list);
                }
            } else {
                self.cx
                    .expected(l, &lpath, "a mapping of language to fallback languages");
            }
        }
        self.pack.templates.set_languages(default, fallbacks);
        if let Some(e) = f.get("exact_keywords") {
            if let Some(b) = self.cx.boolean(e, &join(path, "exact_keywords")) {
                self.pack.exact_keywords = b;
            }
        }
        self.response_targets(&f, path);
        if let Some(m) = f.get("measured_response") {
            self.pack.measured = self.measured_response(m, &join(path, "measured_response"));
        }
        if let Some(u) = f.get("public_url") {
            self.pack.public_url = self.public_url(u, &join(path, "public_url"));
        }
        if let Some(v) = f.get("survey_links_valid_for") {
            let p = join(path, "survey_links_valid_for");
            if let Some(text) = self.cx.text(v, &p) {
                match action::parse_duration(&text) {
                    Ok(d) => self.pack.survey_links_valid_for = Some(d),
                    Err(e) => self.cx.error(v.pos, &p, e),
                }
            }
        }
    }

    /// `settings.public_url`: an http(s) URL without query or fragment, kept without a
    /// trailing `/`.
    fn public_url(&mut self, node: &Node, path: &str) -> Option<String> {
        let url = self.cx.nonempty_text(node, path)?;
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let problem = match rest {
            None => Some("is not an http(s) URL"),
            Some(r) if r.is_empty() || r.starts_with('/') => Some("has no host"),
            Some(_) if url.contains(['?', '#']) => {
                Some("has a query or fragment; write the base URL the daemon is reached at")
            }
            Some(_) if url.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                Some("has white space in it")
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            self.cx.error(node.pos, path, format!("`{url}` {problem}"));
            return None;
        }
        Some(url.trim_end_matches('/').to_string())
    }

    /// `settings.measured_response`: `true` (the defaults) or `{percentile, min_samples,
    /// window}`.
    fn measured_response(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<crate::measured::MeasuredSettings> {
        let mut m = crate::measured::MeasuredSettings::default();
        match node.kind {
            Kind::Map(_) => {}
            Kind::Bool(on) => return on.then_some(m),
            _ => {
                self.cx.expected(
                    node,
                    path,
                    "`true` (the defaults) or a mapping with `percentile`, `min_samples`, `window`",
                );
                return None;
            }
        }
        let f = self.cx.map(node, path, MEASURED_KEYS)?;
        if let Some(v) = f.get("percentile") {
            let p = join(path, "percentile");
            match self.cx.int(v, &p)? {
                n @ 1..=99 => m.percentile = n as u8,
                n => {
                    self.cx
                        .error(v.pos, &p, format!("percentile {n} is not between 1 and 99"));
                    return None;
                }
            }
        }
        if let Some(v) = f.get("min_samples") {
            let p = join(path, "min_samples");
            match self.cx.int(v, &p)? {
                n @ 1..=100_000 => m.min_samples = n as usize,
                n => {
                    self.cx.error(
                        v.pos,
                        &p,
                        format!("min_samples {n} is not between 1 and 100000"),
                    );
                    return None;
                }
            }
        }
        if let Some(v) = f.get("window") {
            let p = join(path, "window");
            let text = self.cx.text(v, &p)?;
            match action::parse_duration(&text) {
                Ok(d) if d > chrono::Duration::zero() => m.window = d,
                Ok(_) => {
                    self.cx
                        .error(v.pos, &p, "the window must be longer than zero");
                    return None;
                }
                Err(e) => {
                    self.cx.error(v.pos, &p, e);
                    return None;
                }
            }
        }
        Some(m)
    }

    pub(crate) fn language(&mut self, node: &Node, path: &str) -> Option<String> {
        let tag = self.cx.text(node, path)?;
        if valid_language(&tag) {
            self.pack.languages_named.push((
                tag.clone(),
                self.cx.file.to_path_buf(),
                node.pos,
                path.to_string(),
            ));
            Some(tag)
        } else {
            self.cx.error(
                node.pos,
                path,
                format!(
                    "`{tag}` is not a language tag (write e.g. `en`, `nb`, `ar`, `zh`, `en-GB`)"
                ),
            );
            None
        }
    }

    /// Compiles `templates:`.
    pub fn templates(&mut self, node: &Node) {
        let path = "templates";
        let Kind::Map(pairs) = &node.kind else {
            self.cx
                .expected(node, path, "a mapping of template names to texts");
            return;
        };
        for (k, v) in pairs {
            let Some(name) = self.cx.nonempty_text(k, path) else {
                continue;
            };
            let p = join(path, &name);
            if self.pack.templates.has(&name) {
                self.cx
                    .error(k.pos, &p, format!("template `{name}` is defined twice"));
                continue;
            }
            match &v.kind {
                Kind::Str(text) => self.add_variant(&name, "*", text, v, &p),
                Kind::Map(variants) if !variants.is_empty() => {
                    for (lk, lv) in variants {
                        let Some(lang) = self.language(lk, &p) else {
                            continue;
                        };
                        let lp = join(&p, &lang);
                        if let Some(text) = self.cx.text(lv, &lp) {
                            self.add_variant(&name, &lang, &text, lv, &lp);
                        }
                    }
                }
                _ => self
                    .cx
                    .expected(v, &p, "text, or a mapping of language to text"),
            }
        }
    }

    fn add_variant(&mut self, name: &str, lang: &str, text: &str, node: &Node, path: &str) {
        match self.pack.templates.add_named(name, lang, text) {
            Ok(unknown) => {
                self.report_unknown_names(unknown, text, node, path);
            }
            Err(e) => {
                let pos = Pos {
                    line: node.pos.line + e.line.unwrap_or(1).saturating_sub(1) as u32,
                    col: node.pos.col,
                };
                self.cx.error(pos, path, format!("template: {}", e.message));
            }
        }
    }

    /// Compiles `rules:` of this file.
    /// Compiles `sla:` of one file into the pack.
    pub fn sla(&mut self, node: &Node) {
        let mut names = std::mem::take(&mut self.pack.sla_sites);
        let policies = crate::sla::compile(self, node, &mut names);
        self.pack.sla_sites = names;
        for p in policies {
            self.pack.sla_first_response |= p.has(crate::model::Metric::FirstResponse);
            self.pack.sla.push(p);
        }
    }

    /// Compiles `schedules:` of one file into the pack.
    pub fn schedules(&mut self, node: &Node) {
        let mut names = std::mem::take(&mut self.pack.schedule_sites);
        let schedules = crate::schedule::compile(self, node, &mut names);
        self.pack.schedule_sites = names;
        self.pack.schedules.extend(schedules);
    }

    pub fn rules(&mut self, node: &Node) {
        let Some(items) = self.cx.seq(node, "rules") else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let path = index("rules", i);
            if let Some(rule) = self.rule(item, &path) {
                self.pack.rules.push(rule);
            }
        }
    }

    fn rule(&mut self, node: &Node, path: &str) -> Option<Rule> {
        let f = self.cx.map(node, path, RULE_KEYS)?;
        let name = match f.get("name") {
            Some(n) => self.cx.nonempty_text(n, &join(path, "name")),
            None => {
                self.cx.missing(&f, path, "name");
                None
            }
        };
        if let (Some(name), Some(n)) = (&name, f.get("name")) {
            if let Some((file, pos)) = self.pack.rule_sites.get(name) {
                let msg = format!(
                    "duplicate rule name `{name}` (first at {}:{}:{})",
                    file.display(),
                    pos.line,
                    pos.col
                );
                self.cx.error(n.pos, &join(path, "name"), msg);
            } else {
                self.pack
                    .rule_sites
                    .insert(name.clone(), (self.cx.file.to_path_buf(), n.pos));
            }
        }
        self.rule = name.clone().unwrap_or_else(|| path.to_string());
        let on = match f.get("on") {
            Some(on) => self.event_types(on, &join(path, "on")),
            None => {
                self.cx.missing(&f, path, "on");
                None
            }
        };
        let when = match f.get("when") {
            Some(w) => condition::compile(self, w, &join(path, "when")).map(Some),
            None => Some(None),
        };
        let then = match f.get("then") {
            Some(t) => action::compile_list(self, t, &join(path, "then")),
            None => {
                self.cx.missing(&f, path, "then");
                None
            }
        };
        let flag = |c: &mut Self, key: &str, default: bool| match f.get(key) {
            Some(n) => c.cx.boolean(n, &join(path, key)),
            None => Some(default),
        };
        let stop = flag(self, "stop", false);
        let enabled = flag(self, "enabled", true);
        let order = match f.get("order") {
            Some(n) => self.cx.int(n, &join(path, "order")),
            None => Some(0),
        };
        if let Some(d) = f.get("description") {
            self.cx.text(d, &join(path, "description"));
        }
        let when = when?;
        let required = when.as_ref().and_then(condition::Cond::required_keywords);
        Some(Rule {
            name: name?,
            file: self.cx.file.to_path_buf(),
            pos: node.pos,
            on: on?,
            when,
            then: then?,
            stop: stop?,
            enabled: enabled?,
            order: order?,
            required,
        })
    }

    fn event_types(&mut self, node: &Node, path: &str) -> Option<u16> {
        let single = !matches!(node.kind, Kind::Seq(_));
        let items = self.cx.list(node);
        if items.is_empty() {
            self.cx
                .error(node.pos, path, "needs at least one event type");
            return None;
        }
        let mut bits = 0;
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            let p = if single {
                path.to_string()
            } else {
                index(path, i)
            };
            match self.cx.named::<EventType>(item, &p, "event type") {
                Some(t) => bits |= t.bit(),
                None => ok = false,
            }
        }
        ok.then_some(bits)
    }
}

impl<'d> ActionEnv<'d> for Compiler<'d> {
    fn cx(&mut self) -> &mut Cx<'d> {
        &mut self.cx
    }

    fn text(&mut self, node: &Node, path: &str, named: bool) -> Option<TextDef> {
        let text = self.cx.nonempty_text(node, path)?;
        if named {
            self.pack.used_templates.insert(text.clone());
            if self.pack.templates.has(&text) {
                return Some(TextDef::Named(text));
            }
            let names: Vec<&str> = self.pack.templates.names().collect();
            let hint = did_you_mean(&text, names.iter().copied());
            self.cx
                .error(node.pos, path, format!("unknown template `{text}`{hint}"));
            return None;
        }
        match self.pack.templates.add_inline(&text) {
            Ok((def, unknown)) => self
                .report_unknown_names(unknown, &text, node, path)
                .then_some(def),
            Err(e) => {
                self.cx
                    .error(node.pos, path, format!("template: {}", e.message));
                None
            }
        }
    }

    fn timer(&mut self, def: TimerDef, pos: Pos, path: &str) -> Option<String> {
        if def.name.starts_with(crate::model::SLA_TIMER_PREFIX) {
            self.cx.error(
                pos,
                path,
                format!(
                    "timer name `{}`: names starting with `sla:` belong to the SLA clocks; choose another `name`",
                    def.name
                ),
            );
            return None;
        }
        if let Some((file, first)) = self.pack.timer_sites.get(&def.name) {
            let msg = format!(
                "timer name `{}` is already used at {}:{}:{}; give each `schedule` its own `name`",
                def.name,
                file.display(),
                first.line,
                first.col
            );
            self.cx.error(pos, path, msg);
            return None;
        }
        self.pack
            .timer_sites
            .insert(def.name.clone(), (self.cx.file.to_path_buf(), pos));
        let name = def.name.clone();
        self.pack.timers.insert(name.clone(), def);
        Some(name)
    }

    fn script_file(&mut self, node: &Node, path: &str) -> Option<usize> {
        let rel = self.cx.nonempty_text(node, path)?;
        let base = self.cx.file.parent().unwrap_or(Path::new("."));
        let full = base.join(&rel);
        if full.extension().and_then(|e| e.to_str()) != Some("rhai") {
            self.cx
                .error(node.pos, path, format!("`{rel}` is not a .rhai file"));
            return None;
        }
        use crate::syntax::{read_source, SourceError, MAX_RULE_FILE_BYTES};
        let source = match read_source(&full, "a script", MAX_RULE_FILE_BYTES) {
            Ok(s) => s,
            Err(e) => {
                let message = match e {
                    SourceError::Unreadable(e) => {
                        format!("cannot read script `{}`: {e}", full.display())
                    }
                    SourceError::TooLarge(why) => format!("script `{}`: {why}", full.display()),
                };
                self.cx.error(node.pos, path, message);
                return None;
            }
        };
        // Templates a script names (`template: "x"`) count as used.
        let named: Vec<String> = self
            .pack
            .templates
            .names()
            .filter(|n| source.contains(&format!("\"{n}\"")))
            .map(str::to_string)
            .collect();
        self.pack.used_templates.extend(named);
        match self.pack.scripts.compile_program(&source) {
            Ok(id) => Some(id),
            Err(e) => {
                // Report at the script's own position, in the script's file.
                let mut cx = Cx {
                    file: &full,
                    diags: &mut *self.cx.diags,
                };
                let pos = Pos {
                    line: e.line.max(1) as u32,
                    col: e.col.max(1) as u32,
                };
                cx.error(
                    pos,
                    "",
                    format!("script error: {} (used by {path})", e.message),
                );
                None
            }
        }
    }

    fn rule_name(&self) -> String {
        self.rule.clone()
    }

    fn set_rule_name(&mut self, name: String) {
        self.rule = name;
    }

    fn calendar(&mut self, node: &Node, path: &str) -> Option<usize> {
        self.calendar_ref(node, path)
    }

    fn faq_bot(&mut self, bot: &str, node: &Node, path: &str) -> bool {
        self.bot_ref(bot, node, path)
    }

    fn team_assign(
        &mut self,
        fields: &crate::syntax::decode::Fields<'_>,
        path: &str,
    ) -> Option<crate::routing::TeamAssign> {
        Compiler::team_assign(self, fields, path)
    }
}

impl<'d> CondEnv<'d> for Compiler<'d> {
    fn cx(&mut self) -> &mut Cx<'d> {
        &mut self.cx
    }

    fn keyword(&mut self, folded: &str, slot: TextSlot, exact: bool) -> u32 {
        Compiler::keyword(self, folded, slot, exact)
    }

    fn exact_keywords(&self) -> bool {
        self.pack.exact_keywords
    }

    fn script_expression(&mut self, source: &str, node: &Node, path: &str) -> Option<usize> {
        self.compile_script_expression(source, node, path)
    }

    fn calendar_ref(&mut self, node: &Node, path: &str) -> Option<usize> {
        Compiler::calendar_ref(self, node, path)
    }

    fn bot_ref(&mut self, bot: &str, node: &Node, path: &str) -> bool {
        Compiler::bot_ref(self, bot, node, path)
    }

    fn bots(&self) -> std::sync::Arc<BotSet> {
        self.pack.bots.clone()
    }
}
