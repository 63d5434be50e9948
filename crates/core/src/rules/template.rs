//! Reply templates: MiniJinja texts with one variant per language, chosen by the customer's
//! language through a fallback chain.

use std::collections::{BTreeMap, HashMap, HashSet};

use minijinja::{Environment, UndefinedBehavior};

/// Names a template may use.
pub const CONTEXT_NAMES: &[&str] = &[
    "ticket",
    "customer",
    "message",
    "event",
    "now",
    "expected_response",
    "expected_response_at",
    "survey",
];

/// Names that exist only when the pack sets response targets (`settings.first_response`).
pub const RESPONSE_NAMES: &[&str] = &["expected_response", "expected_response_at"];

/// Which of the [`CONTEXT_NAMES`] a text reads, and which fields of `ticket`: the context of
/// a render needs only these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    names: u16,
    /// The top-level ticket fields read (`ticket.id`); `None` when the ticket is read whole.
    ticket: Option<Vec<String>>,
    /// The top-level event fields read (`event.data`); `None` when the event is read whole.
    event: Option<Vec<String>>,
}

impl Reads {
    /// Everything: for texts whose reads are not known (a script's text, one that includes,
    /// imports or extends another template, or prints the context with `debug()`).
    pub const ALL: Reads = Reads {
        names: u16::MAX,
        ticket: None,
        event: None,
    };

    /// The names in `used`, and the ticket and event fields of the dotted paths in `paths`
    /// (`ticket.id`; a bare `ticket` reads it whole).
    fn of(used: &[String], paths: &HashSet<String>) -> Reads {
        let names = CONTEXT_NAMES
            .iter()
            .enumerate()
            .filter(|(_, n)| used.iter().any(|u| u == *n))
            .fold(0, |bits, (i, _)| bits | 1 << i);
        let fields = |name: &str| {
            (!paths.contains(name)).then(|| {
                let prefix = format!("{name}.");
                let mut fields: Vec<String> = paths
                    .iter()
                    .filter_map(|p| p.strip_prefix(prefix.as_str()))
                    .map(|rest| rest.split('.').next().unwrap_or(rest).to_string())
                    .collect();
                fields.sort();
                fields.dedup();
                fields
            })
        };
        Reads {
            names,
            ticket: fields("ticket"),
            event: fields("event"),
        }
    }

    /// Whether `name` (one of [`CONTEXT_NAMES`]) is read.
    pub fn has(&self, name: &str) -> bool {
        CONTEXT_NAMES
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.names & (1 << i) != 0)
    }

    /// The ticket fields read, when not the whole ticket.
    pub fn ticket_fields(&self) -> Option<&[String]> {
        self.ticket.as_deref()
    }

    /// The event fields read, when not the whole event.
    pub fn event_fields(&self) -> Option<&[String]> {
        self.event.as_deref()
    }
}

/// Whether a template source may read context names that its own undeclared variables do
/// not show: through another template (`include`, `import`, `from`, `extends`) or `debug()`.
fn reads_beyond_itself(source: &str) -> bool {
    if source.contains("debug") {
        return true;
    }
    source.split("{%").skip(1).any(|tag| {
        let word = tag
            .trim_start_matches(['-', '+'])
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        matches!(word, "include" | "import" | "from" | "extends")
    })
}

/// Rendering stops after this much work (a runaway loop in a template).
const FUEL: u64 = 50_000;

/// A text an action sends: a named template, or a text written in the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum TextDef {
    /// A template from `templates:`.
    Named(String),
    /// Text written inline in a rule, compiled under this key.
    Inline(String),
    /// Text returned by a script, compiled when rendered.
    Runtime(String),
}

/// All templates of a pack.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Template name → language → compiled key. The language `*` is the text for all.
    named: HashMap<String, BTreeMap<String, String>>,
    /// Compiled key → the context names the template reads.
    reads: HashMap<String, Reads>,
    inline_count: usize,
    default_language: String,
    fallbacks: HashMap<String, Vec<String>>,
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_keep_trailing_newline(false);
        Templates {
            env,
            named: HashMap::new(),
            reads: HashMap::new(),
            inline_count: 0,
            default_language: "en".into(),
            fallbacks: HashMap::new(),
        }
    }
}

/// A template compile problem: the message and the line inside the template text.
#[derive(Debug)]
pub struct TemplateError {
    /// What is wrong.
    pub message: String,
    /// 1-based line inside the template, when known.
    pub line: Option<usize>,
}

fn describe(e: &minijinja::Error) -> TemplateError {
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    TemplateError {
        message,
        line: e.line(),
    }
}

impl Templates {
    /// Sets the pack's default language and extra fallbacks.
    pub fn set_languages(&mut self, default: String, fallbacks: HashMap<String, Vec<String>>) {
        self.default_language = default;
        self.fallbacks = fallbacks;
    }

    /// Whether a named template exists.
    pub fn has(&self, name: &str) -> bool {
        self.named.contains_key(name)
    }

    /// Names of all templates.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.named.keys().map(String::as_str)
    }

    /// Compiles one text; returns the names it reads from the context (known or not),
    /// sorted. Names outside [`CONTEXT_NAMES`] are mistakes.
    fn add(&mut self, key: String, source: &str) -> Result<Vec<String>, TemplateError> {
        self.env
            .add_template_owned(key.clone(), source.to_string())
            .map_err(|e| describe(&e))?;
        let tmpl = self.env.get_template(&key).map_err(|e| describe(&e))?;
        let mut used: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| self.env.globals().all(|(g, _)| g != v.as_str()))
            .collect();
        used.sort();
        let reads = if reads_beyond_itself(source) {
            Reads::ALL
        } else {
            Reads::of(&used, &tmpl.undeclared_variables(true))
        };
        self.reads.insert(key, reads);
        Ok(used)
    }

    /// Adds a variant of a named template (`lang` is `*` for the one text for all).
    pub fn add_named(
        &mut self,
        name: &str,
        lang: &str,
        source: &str,
    ) -> Result<Vec<String>, TemplateError> {
        let key = format!("{name}@{lang}");
        let used = self.add(key.clone(), source)?;
        self.named
            .entry(name.to_string())
            .or_default()
            .insert(lang.to_string(), key);
        Ok(used)
    }

    /// Compiles an inline text.
    pub fn add_inline(&mut self, source: &str) -> Result<(TextDef, Vec<String>), TemplateError> {
        self.inline_count += 1;
        let key = format!("inline#{}", self.inline_count);
        let used = self.add(key.clone(), source)?;
        Ok((TextDef::Inline(key), used))
    }

    /// Checks a text that a script returned, without keeping it.
    pub fn check_runtime(&self, source: &str) -> Result<(), TemplateError> {
        self.env
            .template_from_str(source)
            .map(|_| ())
            .map_err(|e| describe(&e))
    }

    /// The languages to try for a customer language, best first.
    pub fn language_chain(&self, wanted: Option<&str>) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        let mut push = |l: &str| {
            let l = l.to_ascii_lowercase();
            if !l.is_empty() && !chain.contains(&l) {
                chain.push(l);
            }
        };
        if let Some(w) = wanted {
            let w = w.replace('_', "-");
            push(&w);
            let base = w.split('-').next().unwrap_or("").to_ascii_lowercase();
            push(&base);
            for key in [w.to_ascii_lowercase(), base.clone()] {
                if let Some(extra) = self.fallbacks.get(&key) {
                    for e in extra {
                        push(e);
                    }
                }
            }
        }
        push(&self.default_language.clone());
        push("en");
        chain
    }

    /// Renders a text for a customer language. `ctx` builds the context for the language
    /// the text is written in (the variant's, else the customer's), with at least the names
    /// the text reads (the others may be left undefined). Returns the text and the language
    /// variant used.
    pub fn render(
        &self,
        def: &TextDef,
        language: Option<&str>,
        ctx: &dyn Fn(Option<&str>, &Reads) -> minijinja::Value,
    ) -> Result<(String, Option<String>), String> {
        let (key, lang) = match def {
            TextDef::Inline(key) => (key.clone(), None),
            TextDef::Runtime(source) => {
                let text = self
                    .env
                    .render_str(source, ctx(language, &Reads::ALL))
                    .map_err(|e| describe(&e).message)?;
                return Ok((text.trim().to_string(), None));
            }
            TextDef::Named(name) => {
                let variants = self
                    .named
                    .get(name)
                    .ok_or_else(|| format!("no template `{name}`"))?;
                self.pick(variants, language)
            }
        };
        let tmpl = self
            .env
            .get_template(&key)
            .map_err(|e| describe(&e).message)?;
        let reads = self.reads.get(&key).unwrap_or(&Reads::ALL);
        let ctx = ctx(lang.as_deref().or(language), reads);
        let text = tmpl.render(ctx).map_err(|e| describe(&e).message)?;
        Ok((text.trim().to_string(), lang))
    }

    fn pick(
        &self,
        variants: &BTreeMap<String, String>,
        language: Option<&str>,
    ) -> (String, Option<String>) {
        if let Some(key) = variants.get("*") {
            return (key.clone(), None);
        }
        for lang in self.language_chain(language) {
            if let Some(key) = variants.get(&lang) {
                return (key.clone(), Some(lang));
            }
        }
        let (lang, key) = variants.iter().next().expect("a template has a variant");
        (key.clone(), Some(lang.clone()))
    }
}

pub use crate::model::valid_language;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_chain() {
        let mut t = Templates::default();
        t.set_languages(
            "en".into(),
            HashMap::from([("nn".to_string(), vec!["nb".to_string()])]),
        );
        assert_eq!(t.language_chain(Some("nn-NO")), ["nn-no", "nn", "nb", "en"]);
        assert_eq!(t.language_chain(None), ["en"]);
    }

    #[test]
    fn picks_variant_and_falls_back() {
        let mut t = Templates::default();
        t.add_named("ack", "en", "Hi {{ customer.first_name }}")
            .unwrap();
        t.add_named("ack", "nb", "Hei {{ customer.first_name }}")
            .unwrap();
        let ctx = |_: Option<&str>, reads: &Reads| {
            assert!(reads.has("customer") && !reads.has("ticket"));
            minijinja::context! { customer => minijinja::context! { first_name => "Kari" } }
        };
        let def = TextDef::Named("ack".into());
        assert_eq!(
            t.render(&def, Some("nb-NO"), &ctx).unwrap(),
            ("Hei Kari".into(), Some("nb".into()))
        );
        assert_eq!(
            t.render(&def, Some("ar"), &ctx).unwrap(),
            ("Hi Kari".into(), Some("en".into()))
        );
    }

    #[test]
    fn unknown_names_are_reported() {
        let mut t = Templates::default();
        let used = t
            .add_named("x", "en", "{{ custmer.name }} {{ ticket.id }}")
            .unwrap();
        assert_eq!(used, ["custmer", "ticket"]);
        assert!(t.add_named("y", "en", "{{ broken").is_err());
    }

    #[test]
    fn reads_are_the_names_used_unless_another_template_may_read_more() {
        let mut t = Templates::default();
        t.add_named(
            "a",
            "*",
            "{{ ticket.id }} {% if survey.links %}{{ now }}{% endif %}",
        )
        .unwrap();
        let reads = &t.reads["a@*"];
        assert!(reads.has("ticket") && reads.has("survey") && reads.has("now"));
        assert!(!reads.has("event") && !reads.has("customer"));
        assert_eq!(reads.ticket_fields(), Some(&["id".to_string()][..]));
        t.add_named(
            "c",
            "*",
            "{{ ticket.csat.score }} {{ ticket.id }} {{ ticket['subject'] }}",
        )
        .unwrap();
        assert_eq!(
            t.reads["c@*"].ticket_fields(),
            None,
            "read whole by subscript"
        );
        t.add_named("d", "*", "{{ ticket.csat.score }} {{ ticket.id }}")
            .unwrap();
        assert_eq!(
            t.reads["d@*"].ticket_fields(),
            Some(&["csat".to_string(), "id".to_string()][..])
        );
        t.add_named("e", "*", "{{ event.data.percent }} {{ event.type }}")
            .unwrap();
        assert_eq!(
            t.reads["e@*"].event_fields(),
            Some(&["data".to_string(), "type".to_string()][..])
        );
        assert_eq!(t.reads["e@*"].ticket_fields(), Some(&[][..]));
        t.add_named("f", "*", "{{ event }}").unwrap();
        assert_eq!(t.reads["f@*"].event_fields(), None, "read whole");
        for source in [
            "{% include 'a@*' %}",
            "{%- import 'a@*' as m %}",
            "{% from 'a@*' import x %}",
            "{{ debug() }}",
        ] {
            t.add_named("b", "*", source).unwrap();
            assert_eq!(t.reads["b@*"], Reads::ALL, "{source}");
        }
    }

    #[test]
    fn language_tags() {
        assert!(valid_language("nb") && valid_language("zh-Hans") && valid_language("en-GB"));
        assert!(!valid_language("EN") && !valid_language("english") && !valid_language(""));
    }
}
