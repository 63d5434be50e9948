//! The bodies of frontdesk's fuzz targets, one function per target.
//!
//! Each function takes AFL's bytes and hands them to frontdesk's own entry points. Nothing
//! here asserts or unwraps on the input: a panic while a target runs is frontdesk's. What is
//! loaded once (the example rule pack, the example bot, a fixed template pack) is loaded by
//! [`init`] before the first input; a failure there is a broken checkout, not a finding, and
//! stops the run at once.
//!
//! The AFL binaries (`fuzz/src/bin/`) and the corpus replay in the root crate's
//! `tests/fuzz_corpus.rs` both compile this file, so it uses only `frontdesk`,
//! `frontdesk_core`, `chrono`, `http`, `serde_json` and `std`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use frontdesk::adapters::signature::{Scheme, Verifier};
use frontdesk::adapters::{self, AdapterKind, Inbound};
use frontdesk::config::Config;
use frontdesk::engine;
use frontdesk::faq::lang::{self, Lang};
use frontdesk::faq::BotSet;
use frontdesk::model::{Customer, Event};
use frontdesk::{bot, plan, schedule, time};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};

/// A target's body: one input in, nothing out.
pub type Target = fn(&[u8]);

/// Every target by name, as the corpus folders are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("event_json", event_json),
    ("adapters", adapters),
    ("rule_pack", rule_pack),
    ("template", template),
    ("faq", faq),
    ("calendar_cron", calendar_cron),
];

/// Loads what `target` shares between inputs. Call it once before the first input (before
/// AFL's fork server starts, so every run starts from it); the targets also load on first
/// use, so a missed call costs only the first input's time.
pub fn init(target: &str) {
    match target {
        "event_json" => {
            rules();
        }
        "adapters" => {
            verifiers();
        }
        "template" => {
            template_pack();
        }
        "faq" => {
            bots();
        }
        _ => {}
    }
}

/// The repository's own folder `rel` (`rules`, `bots`): this file is compiled from the
/// repository root (the corpus test) and from `fuzz/` (the AFL binaries).
fn repo_dir(rel: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here.join(rel);
    if dir.is_dir() {
        dir
    } else {
        here.join("..").join(rel)
    }
}

/// The example rule pack (`rules/`, with the bots of `bots/`).
fn rules() -> &'static Config {
    static RULES: OnceLock<Config> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = repo_dir("rules");
        Config::load(&dir)
            .unwrap_or_else(|d| panic!("the example rules in {} do not load:\n{d}", dir.display()))
    })
}

/// The example FAQ bots (`bots/`).
fn bots() -> &'static BotSet {
    static BOTS: OnceLock<BotSet> = OnceLock::new();
    BOTS.get_or_init(|| {
        let dir = repo_dir("bots");
        BotSet::load(&dir)
            .unwrap_or_else(|d| panic!("the example bots in {} do not load:\n{d}", dir.display()))
    })
}

/// The fixed time inputs are decided at when they carry none: a Monday morning in Oslo.
fn fixed_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_428_000, 0).unwrap_or_default() // 2026-11-23T10:00:00Z
}

/// The input as text; `None` when it is not UTF-8 (every entry point here takes `&str`).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

// ---- event_json -------------------------------------------------------------------------------

/// A body of `POST /v1/events` (or a `frontdesk run` event file): read by
/// [`Event::from_json`] and, as a JSON value, by [`Event::from_value`] (rule-file tests);
/// every event read is prepared as the daemon prepares a new ticket's event and decided
/// against the example rules, at its own `occurred_at` as `frontdesk run` does.
pub fn event_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let from_json = Event::from_json(text).ok();
    let from_value = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| Event::from_value(v).ok());
    let same = from_json.is_some() && from_json == from_value;
    for event in from_json.into_iter().chain(from_value) {
        let config = rules();
        let ev = plan::prepare(None, &event, None);
        let now = event.occurred_at.unwrap_or_else(fixed_now);
        let decision = engine::decide(config, &ev.ticket, &ev, now);
        let _ = serde_json::to_string(&decision);
        if same {
            break; // both readings gave one event: decide it once
        }
    }
}

// ---- adapters ---------------------------------------------------------------------------------

/// Signature verifiers for every scheme, with a Standard Webhooks secret (the specification's
/// example) and a text one.
fn verifiers() -> &'static [(Scheme, Verifier); 4] {
    static VERIFIERS: OnceLock<[(Scheme, Verifier); 4]> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let make = |scheme: Scheme, secrets: &[&str]| {
            let v = Verifier::new(scheme, secrets)
                .unwrap_or_else(|e| panic!("fuzz verifier for {scheme:?}: {e}"));
            (scheme, v)
        };
        [
            make(
                Scheme::StandardWebhooks,
                &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "c2VjcmV0"],
            ),
            make(Scheme::Chatwoot, &["s3cr3t", "rotated"]),
            make(
                Scheme::Zendesk,
                &["dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="],
            ),
            make(Scheme::Zammad, &["s3cr3t-t0k3n"]),
        ]
    })
}

/// The headers an adapter's deliveries carry: its signature headers and the ones it reads.
fn adapter_headers(kind: AdapterKind) -> &'static [&'static str] {
    match kind {
        AdapterKind::Generic => &[
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "webhook-signature",
        ],
        AdapterKind::Chatwoot => &[
            "x-chatwoot-timestamp",
            "x-chatwoot-signature",
            "x-chatwoot-delivery",
        ],
        AdapterKind::Zammad => &["x-hub-signature", "x-zammad-delivery", "x-zammad-trigger"],
        AdapterKind::Zendesk => &[
            "x-zendesk-webhook-signature-timestamp",
            "x-zendesk-webhook-signature",
            "x-zendesk-webhook-invocation-id",
            "x-zendesk-account-id",
            "x-zendesk-webhook-id",
        ],
    }
}

/// A webhook delivery: `[adapter][n][n bytes of header values, one a line][body]`.
///
/// The first byte picks the adapter (generic, chatwoot, zammad, zendesk, by its value modulo
/// 4). The header lines go, in turn, to the adapter's signature headers and the headers it
/// reads (values that are no valid header value are left out). The body is translated by
/// [`adapters::translate`] with those headers, and checked by the adapter's signature scheme
/// with them, without them, and (Standard Webhooks) with a valid signature; the header text
/// is also read as an adapter name and as a secret.
pub fn adapters(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let kind = match first % 4 {
        0 => AdapterKind::Generic,
        1 => AdapterKind::Chatwoot,
        2 => AdapterKind::Zammad,
        _ => AdapterKind::Zendesk,
    };
    let (head, body) = match rest.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n).min(rest.len())),
        None => (&[][..], rest),
    };
    let names = adapter_headers(kind);
    let mut headers = HeaderMap::new();
    for (i, line) in head.split(|b| *b == b'\n').enumerate() {
        let name = HeaderName::from_static(names[i % names.len()]);
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(name, value);
        }
    }
    let now = fixed_now();
    let inbound = Inbound {
        body,
        headers: &headers,
        received_at: now,
    };
    let _ = adapters::translate(kind, &inbound);

    let scheme = Scheme::of(kind);
    let empty = HeaderMap::new();
    for (s, verifier) in verifiers() {
        if *s == scheme {
            let _ = verifier.verify(&headers, body, now);
            let _ = verifier.verify(&empty, body, now);
        }
    }
    // A delivery signed as it should be, so the comparison that succeeds runs too.
    let (_, standard) = &verifiers()[0];
    if let Some(signature) = standard.sign("msg_fuzz", now.timestamp(), body) {
        let mut signed = HeaderMap::new();
        for (name, value) in [
            ("webhook-id", "msg_fuzz".to_string()),
            ("webhook-timestamp", now.timestamp().to_string()),
            ("webhook-signature", signature),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                signed.insert(HeaderName::from_static(name), value);
            }
        }
        let _ = standard.verify(&signed, body, now);
    }
    if let Some(head) = text(head) {
        let _ = adapters::kind(head);
        let _ = Verifier::new(scheme, &[head]);
    }
}

// ---- rule_pack --------------------------------------------------------------------------------

/// Rule-file tests run per input at most: each decides one event.
const MAX_PACK_TESTS: usize = 8;

/// A rule file: compiled by [`Config::from_yaml`] (rules, inline Rhai scripts, templates,
/// calendars, schedules, SLA policies, routing, tests); when it compiles, its own `tests:`
/// run as `frontdesk test` runs them.
pub fn rule_pack(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(config) = Config::from_yaml("fuzz.yaml", text) else {
        return;
    };
    for test in config.tests.iter().take(MAX_PACK_TESTS) {
        let _ = test.run(&config);
    }
}

// ---- template ---------------------------------------------------------------------------------

/// A pack whose texts print what a customer wrote in many ways. Every text is rendered for
/// every event the target makes.
const TEMPLATE_PACK: &str = r##"
settings:
  default_language: en
  languages: { nn: [nb], sv: [da, nb] }
templates:
  echo:
    en: |
      Hi {{ customer.first_name or customer.name or "there" }},
      you wrote about "{{ ticket.subject }}": {{ message.text }}
      {% for word in message.text | split %}{{ loop.index }}={{ word | title }} {% endfor %}
    nb: "Hei {{ customer.name | upper }}: {{ message.text | lower | replace('a', 'å') }}"
    ar: "{{ message.text | reverse }} {{ ticket.subject | length }}"
    zh: "{{ message.text | trim }}{{ ticket.fields.order | default('-') }}"
  fields: |
    {{ ticket.fields | tojson }} {{ event.data | tojson }} {{ customer.fields | tojson }}
    {% if ticket.fields.order is string %}{{ ticket.fields.order | indent(2) }}{% endif %}
    {{ event.data.note | default("") | escape }} {{ customer.tier | capitalize }}
    {% for k, v in ticket.fields | items %}{{ k }}: {{ v }}; {% endfor %}
rules:
  - name: echo
    on: [ticket.created, message.created]
    then:
      - reply: { template: echo }
      - internal_note: { template: fields }
      - internal_note: { text: "{{ ticket.subject }} / {{ message.text | lines | length }} / {{ customer.email }}" }
      - notify: { channel: slack, to: "#fuzz", text: "{{ ticket.id }} {{ message.text | tojson }} {{ ticket.tags | join(', ') }}" }
      - internal_note: { text: "{{ '%s|%s' | format(message.text, ticket.subject) }} {{ message.text | list | unique | sort | batch(3) | list }}" }
"##;

/// The fixed template pack.
fn template_pack() -> &'static Config {
    static PACK: OnceLock<Config> = OnceLock::new();
    PACK.get_or_init(|| {
        Config::from_yaml("template-pack.yaml", TEMPLATE_PACK)
            .unwrap_or_else(|d| panic!("the fuzz template pack does not compile:\n{d}"))
    })
}

/// Customer data for the fixed templates: the input, split at NUL bytes, is the message text,
/// the subject, the customer's name, language, tier and e-mail, a ticket field and an event
/// data field. The event is decided against the template pack for a new ticket and for a
/// message, so each text renders with the hostile values.
pub fn template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or("").to_string();
    let (message, subject, name, language) = (next(), next(), next(), next());
    let (tier, email, order, note) = (next(), next(), next(), next());
    let config = template_pack();
    for kind in ["ticket.created", "message.created"] {
        let mut value = json!({
            "id": "fuzz-1",
            "type": kind,
            "ticket": {
                "id": "T-1",
                "subject": subject,
                "tags": ["vip", "fuzz"],
                "customer": {
                    "name": name, "language": language, "tier": tier, "email": email,
                    "fields": { "note": note },
                },
                "fields": { "order": order, "n": message.len() },
            },
            "message": { "text": message, "author": "customer" },
            "data": { "note": note },
        });
        let event = match Event::from_value(value.clone()) {
            Ok(event) => event,
            Err(_) => {
                // A language frontdesk refuses: the daemon never renders for it.
                value["ticket"]["customer"]["language"] = Value::Null;
                match Event::from_value(value) {
                    Ok(event) => event,
                    Err(_) => return,
                }
            }
        };
        let _ = engine::decide(config, &event.ticket, &event, fixed_now());
    }
}

// ---- faq --------------------------------------------------------------------------------------

/// A question to the example FAQ bot (`bots/support.yaml`). When the input's first line is
/// short (at most 16 bytes) it is the customer's language tag and the rest the question;
/// otherwise all of it is the question, with no language. The question is normalised, read
/// and answered, its language detected, and it is sent as a chat message in a new session.
pub fn faq(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let (tag, question) = match text.split_once('\n') {
        Some((tag, rest)) if tag.len() <= 16 => (Some(tag), rest),
        _ => (None, text),
    };
    let _ = lang::detect(question, Lang::ALL, Lang::En);
    for bot in bots().iter() {
        let reading = bot.read(question, tag);
        let _ = bot.answer(&reading, tag, bot.threshold());
        let _ = bot.has_read(&reading, question, tag);
        let _ = bot.ask(question, None);
        let _ = bot.signals(question);
        let customer = Customer {
            language: tag.map(str::to_string),
            ..Customer::default()
        };
        let now = fixed_now();
        let session = bot::Session::open("fuzz".into(), bot, tag, customer, None, now);
        if let Ok(turn) = bot::reply(bot, &session, &bot::Input::Text(question.into()), now) {
            let _ = bot::reply(
                bot,
                &turn.session,
                &bot::Input::Text(question.into()),
                now + Duration::seconds(1),
            );
        }
    }
}

// ---- calendar_cron ----------------------------------------------------------------------------

/// Instants schedules are asked about: ordinary days, clock changes in Europe, a leap day.
fn probe_instants() -> Vec<DateTime<Utc>> {
    [
        "2026-11-23T10:00:00Z",
        "2026-03-29T00:30:00Z",
        "2026-10-25T00:30:00Z",
        "2028-02-29T23:59:59Z",
        "1970-01-01T00:00:00Z",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// Instants calendars are asked about: [`probe_instants`] and the first and last that an
/// event's RFC 3339 times can name (an event's time is `now` for `frontdesk run`).
fn calendar_instants() -> Vec<DateTime<Utc>> {
    let ends = ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"];
    probe_instants()
        .into_iter()
        .chain(ends.iter().filter_map(|s| s.parse().ok()))
        .collect()
}

/// `text` as a YAML double-quoted scalar: everything outside printable ASCII escaped, so any
/// input is one scalar and never changes the structure around it.
fn yaml_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Cron expressions and business hours.
///
/// Every line (and the whole text) goes through the parsers on their own: cron
/// ([`schedule::parse_cron`], whose schedule is then asked for occurrences), time windows,
/// clock times, weekday keys, dates, business durations; the whole text is also read as an
/// iCalendar holiday feed. Then the lines make a rule file, each as one quoted scalar: the
/// first is a schedule's cron expression, the second the time zone of it and of a calendar,
/// and each further line is a calendar's `hours:` entry when it has a `=` (`mon-fri=08:00-12:00,13:00-16:00`)
/// or else a holiday (`2026-12-24`, `2026-12-27..2026-12-31`). When the file compiles, the
/// calendar and the schedule are asked what they answer at fixed instants.
pub fn calendar_cron(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let probes = probe_instants();
    for line in std::iter::once(text).chain(text.lines()) {
        if let Ok(cron) = schedule::parse_cron(line) {
            for t in &probes {
                for _ in cron.after(t).take(3) {}
            }
        }
        let _ = time::hours::Window::parse(line);
        let _ = time::hours::parse_clock(line);
        let _ = time::hours::parse_days(line);
        let _ = time::holidays::parse_date(line);
        let _ = time::parse_business(line);
    }
    let mut holidays = time::holidays::Holidays::default();
    if time::ical::parse(text, &mut holidays).is_ok() {
        for t in &probes {
            let _ = holidays.contains(t.date_naive());
        }
    }

    let mut lines = text.lines();
    let cron = lines.next().unwrap_or("");
    let tz = lines.next().unwrap_or("UTC");
    let mut hours = Vec::new();
    let mut holidays = Vec::new();
    for line in lines.take(32) {
        match line.split_once('=') {
            Some((days, windows)) => {
                let windows: Vec<String> = windows.split(',').map(yaml_str).collect();
                hours.push(format!("{}: [{}]", yaml_str(days), windows.join(", ")));
            }
            None => holidays.push(yaml_str(line)),
        }
    }
    let yaml = format!(
        "calendars:\n  fuzz:\n    timezone: {tz}\n    hours: {{ {hours} }}\n    holidays: [{holidays}]\n\
         schedules:\n  - name: fuzz\n    cron: {cron}\n    timezone: {tz}\n\
         \x20   then: [ {{ notify: {{ channel: slack, to: \"#fuzz\", text: tick }} }} ]\n",
        tz = yaml_str(tz),
        hours = hours.join(", "),
        holidays = holidays.join(", "),
        cron = yaml_str(cron),
    );
    let Ok(config) = Config::from_yaml("calendar.yaml", &yaml) else {
        return;
    };
    if let Some(cal) = config.calendar("fuzz") {
        for t in calendar_instants() {
            let _ = cal.is_open(t);
            let _ = cal.next_open(t);
            let _ = cal.add(t, Duration::hours(4));
            let _ = cal.add_days(t, 2);
            if let Some(later) = t.checked_add_signed(Duration::days(3)) {
                let _ = cal.business_duration(t, later);
            }
            let _ = cal.windows_on(cal.local_date(t));
            for _ in cal.intervals(t).take(3) {}
        }
    }
    if let Some(schedule) = config.schedule("fuzz") {
        for &t in &probes {
            for _ in schedule.after(t).take(3) {}
            if let Some(earlier) = t.checked_sub_signed(Duration::days(2)) {
                let _ = schedule.latest(earlier, t, 50);
            }
        }
    }
}
