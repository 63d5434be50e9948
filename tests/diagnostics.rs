//! Bad input gets a precise diagnostic: one table row per kind of mistake, each with the exact
//! `file:line:col: path: message` an admin sees.

mod common;

use common::snapshot;
use frontdesk::config::{Config, Diagnostics, Source};
use frontdesk::model::Event;

fn diagnostics(yaml: &str) -> Vec<String> {
    match Config::from_yaml("r.yaml", yaml) {
        Ok(_) => Vec::new(),
        Err(d) => d.items().iter().map(|d| d.to_string()).collect(),
    }
}

const RULE: &str = "rules:\n  - name: a\n    on: [ticket.created]\n";

#[test]
fn each_mistake_is_named_with_its_place() {
    let cases: &[(&str, String)] = &[
        (
            "malformed yaml",
            "rules:\n  - name: a\n    on: [ticket.created\n".into(),
        ),
        (
            "unknown top-level key",
            "rulez: []\n".into(),
        ),
        (
            "unknown rule field",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n    stpo: true\n"),
        ),
        (
            "wrong type",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n    stop: sometimes\n"),
        ),
        (
            "unknown field path",
            format!("{RULE}    when: {{ field: ticket.prio, eq: high }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "unknown operator",
            format!("{RULE}    when: {{ field: message.text, contians_any: [a] }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "operator that does not fit the field",
            format!("{RULE}    when: {{ field: ticket.tags, gt: 3 }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "two operators",
            format!("{RULE}    when: {{ field: ticket.priority, eq: high, ne: low }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "unknown enum value",
            format!("{RULE}    when: {{ field: ticket.priority, in: [high, urgnt] }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "unknown action",
            format!("{RULE}    then: [ {{ set_prio: high }} ]\n"),
        ),
        (
            "unknown action value",
            format!("{RULE}    then: [ {{ set_status: clsoed }} ]\n"),
        ),
        (
            "unknown template",
            format!("{RULE}    then: [ {{ reply: {{ template: akc }} }} ]\ntemplates:\n  ack: hi\n"),
        ),
        (
            "template with an unknown variable",
            format!("{RULE}    then: [ {{ reply: {{ template: ack }} }} ]\ntemplates:\n  ack: \"{{{{ custmer.name }}}}\"\n"),
        ),
        (
            "template syntax error",
            format!("{RULE}    then: [ {{ reply: {{ text: \"{{{{ ticket.id \" }} }} ]\n"),
        ),
        (
            "exact on an operator that compares whole values",
            format!("{RULE}    when: {{ field: ticket.category, eq: billing, exact: true }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "exact on a list",
            format!("{RULE}    when: {{ field: ticket.tags, contains: vip, exact: true }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "exact that is not a flag",
            format!("{RULE}    when: {{ field: text, contains: refund, exact: sometimes }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "invalid regex",
            format!("{RULE}    when: {{ field: message.text, matches: '(unclosed' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "regex over the size limit",
            format!("{RULE}    when: {{ field: message.text, matches: '\\w{{500}}\\w{{500}}' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "rhai syntax error",
            format!("{RULE}    when: {{ script: 'ticket.priority == ' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "rhai unknown variable",
            format!("{RULE}    when: {{ script: 'tiket.priority == \"high\"' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "duplicate rule names",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n  - name: a\n    on: ticket.created\n    then: [ {{ add_tags: [y] }} ]\n"),
        ),
        (
            "unknown event type",
            "rules:\n  - name: a\n    on: [ticket.create]\n    then: [ { add_tags: [x] } ]\n".into(),
        ),
        (
            "missing then",
            RULE.into(),
        ),
        (
            "duplicate key",
            "rules:\n  - name: a\n    name: b\n".into(),
        ),
        (
            "keyword without letters",
            format!("{RULE}    when: {{ field: message.text, contains: '!!' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
        ),
        (
            "bad duration",
            format!("{RULE}    then: [ {{ schedule: {{ after: 3 fortnights, then: [ {{ add_tags: [x] }} ] }} }} ]\n"),
        ),
        (
            "bad language tag",
            "templates:\n  ack:\n    english: Hi\n".into(),
        ),
        (
            "test event with a wrong field type",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\ntests:\n  - name: t\n    event: {{ type: ticket.created, ticket: {{ priority: highest }} }}\n    expect: {{ tags: [x] }}\n"),
        ),
        (
            "webhook headers: a bad name, frontdesk's own, a bad secret name, a line break",
            format!("{RULE}    then: [ {{ webhook: {{ url: \"https://x.example\", headers: {{ \"X Key\": a, Webhook-Id: b, X-Token: {{ secret: crm-token }}, X-Note: \"a\\nb\" }} }} }} ]\n"),
        ),
        (
            "test naming a rule that does not exist",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\ntests:\n  - name: t\n    event: {{ type: ticket.created }}\n    expect: {{ rules: [b] }}\n"),
        ),
    ];
    insta::assert_snapshot!(snapshot::cases(
        cases.iter().map(|(name, yaml)| (name, diagnostics(yaml)))
    ));
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let yaml = "\
rules:
  - name: one
    on: [ticket.creatd]
    when: { field: ticket.chanel, eq: email }
    then: [ { set_priority: hgih } ]
  - name: two
    on: message.created
    when: { field: message.text, matches: '[' }
    then: [ { add_tag: [x] } ]
";
    let got = diagnostics(yaml);
    assert_eq!(got.len(), 5, "{got:#?}");
    let lines: Vec<u32> = match Config::from_yaml("r.yaml", yaml) {
        Err(d) => d.items().iter().map(|d| d.pos.line).collect(),
        Ok(_) => unreachable!(),
    };
    assert_eq!(lines, [3, 4, 5, 8, 9]);
}

#[test]
fn errors_in_several_files_are_all_reported() {
    let sources = vec![
        Source {
            path: "a.yaml".into(),
            text: format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n"),
        },
        Source {
            path: "b.yaml".into(),
            text: format!("{RULE}    then: [ {{ add_tags: [y] }} ]\n    bogus: 1\n"),
        },
        Source {
            path: "c.yaml".into(),
            text: "rules: [".into(),
        },
    ];
    let err: Diagnostics = Config::compile(sources).unwrap_err();
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn script_file_errors_point_into_the_script() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.rhai"), "let x = [1, 2;\nx\n").unwrap();
    std::fs::write(
        dir.path().join("r.yaml"),
        format!("{RULE}    then: [ {{ script: bad.rhai }}, {{ script: missing.rhai }} ]\n"),
    )
    .unwrap();
    let err = Config::load(dir.path()).unwrap_err().to_string();
    let bad = dir.path().join("bad.rhai").display().to_string();
    assert!(err.contains(&format!("{bad}:1:14: script error:")), "{err}");
    assert!(
        err.contains("rules[0].then[1].script: cannot read script"),
        "{err}"
    );
}

#[test]
fn events_missing_required_fields_are_refused_with_the_field() {
    let cases = [
        (
            r#"{"type": "ticket.created", "ticket": {"id": "1"}}"#,
            "missing field `id`",
        ),
        (
            r#"{"id": "e", "ticket": {"id": "1"}}"#,
            "missing field `type`",
        ),
        (
            r#"{"id": "e", "type": "ticket.created"}"#,
            "missing field `ticket`",
        ),
        (
            r#"{"id": "e", "type": "ticket.made", "ticket": {"id": "1"}}"#,
            "type: unknown variant `ticket.made`",
        ),
        (
            r#"{"id": "e", "type": "ticket.created", "ticket": {"id": "1", "priority": "hi"}}"#,
            "ticket.priority: unknown variant `hi`",
        ),
        (
            r#"{"id": "e", "type": "ticket.created", "ticket": {"id": "1", "colour": "red"}}"#,
            "ticket.colour: unknown field `colour`, expected one of `id`",
        ),
        (
            r#"{"id": "e", "type": "ticket.created", "ticket": {"id": "1"}"#,
            "EOF while parsing",
        ),
    ];
    for (json, want) in cases {
        let err = Event::from_json(json).unwrap_err();
        assert!(err.contains(want), "{json}\n  want: {want}\n  got:  {err}");
    }
}

#[test]
fn nothing_panics_on_odd_yaml() {
    let odd = [
        "", "~", "[]", "42", "rules: 5", "rules: [5]", "rules: [[]]", "rules: [{}]", "templates: []",
        "tests: [{}]", "settings: {languages: 5}", "rules: [{name: a, on: [], then: []}]",
        "rules: [{name: a, on: x, when: [], then: [{}]}]", "rules: [{name: a, on: x, when: {not: {}}, then: [{}]}]",
        "? [a]\n: b", "&a [*a]", "rules: [{name: a, on: ticket.created, when: {any: []}, then: [{reply: 5}]}]",
        "rules: [{name: a, on: ticket.created, then: [{schedule: {after: 1h, then: [{schedule: {after: 1h, then: []}}]}}]}]",
        "rules: [{name: a, on: ticket.created, when: {field: event.data., eq: 1}, then: [{add_tags: ['a b']}]}]",
    ];
    for text in odd {
        let _ = Config::from_yaml("odd.yaml", text);
    }
}

const TEAMS: &str = "calendars:\n  oslo: { timezone: Europe/Oslo, hours: { mon-fri: [\"08:00-16:00\"] } }\nteams:\n  support: {}\n  billing: {}\n";
const AGENT: &str = "agents:\n  kari: { teams: [support], skills: [billing], languages: [nb], capacity: 3, shift: oslo }\n";

#[test]
fn routing_mistakes_are_named_with_their_place() {
    let route = |then: &str| format!("{TEAMS}{AGENT}{RULE}    then: [ {{ assign: {then} }} ]\n");
    let cases: &[(&str, String)] = &[
        (
            "unknown team in a rule",
            route("{ team: suport }"),
        ),
        (
            "unknown skill in a rule",
            route("{ team: support, require: { skills: [biling] } }"),
        ),
        (
            "unknown strategy",
            route("{ team: support, strategy: round_robbin }"),
        ),
        (
            "unknown language field",
            route("{ team: support, require: { language: ticket.customer.lang } }"),
        ),
        (
            "unknown fallback",
            route("{ team: support, fallback: { team: biling, or: queu } }"),
        ),
        (
            "unknown fallback action",
            route("{ team: support, fallback: { or: queu } }"),
        ),
        (
            "strategy without a team",
            route("{ agent: kari, strategy: skills }"),
        ),
        (
            "agent in an unknown team",
            format!("{TEAMS}agents:\n  kari: {{ teams: [suport], languages: [nb], capacity: 3, shift: oslo }}\n"),
        ),
        (
            "agent with an unknown calendar",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 3, shift: olso }}\n"),
        ),
        (
            "agent with a bad language tag",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [Norsk], capacity: 3, shift: oslo }}\n"),
        ),
        (
            "agent with an unknown capacity channel",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: {{ chats: 3 }}, shift: oslo }}\n"),
        ),
        (
            "agent with an unknown helpdesk",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 3, shift: oslo, helpdesk_ids: {{ chatwot: 12 }} }}\n"),
        ),
        (
            "agent without capacity",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], shift: oslo }}\n"),
        ),
        (
            "unknown agent field",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 3, shift: oslo, skils: [x] }}\n"),
        ),
        (
            "unknown team field",
            "teams:\n  support: { strategy: least_loaded, lead: kari }\n".into(),
        ),
        (
            "unknown agent in a test",
            format!("{TEAMS}{AGENT}tests:\n  - name: t\n    event: {{ type: ticket.created }}\n    agents: {{ karl: {{ status: online }} }}\n    expect: {{}}\n"),
        ),
        (
            "bad agent status in a test",
            format!("{TEAMS}{AGENT}tests:\n  - name: t\n    event: {{ type: ticket.created }}\n    agents: {{ kari: {{ status: onlien }} }}\n    expect: {{}}\n"),
        ),
    ];
    insta::assert_snapshot!(snapshot::cases(
        cases.iter().map(|(what, yaml)| (what, diagnostics(yaml)))
    ));
}

#[test]
fn agents_without_capacity_or_shift_are_warned_about() {
    let yaml = format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 0, shift: oslo }}\n  ola: {{ teams: [support, billing], languages: [nb], capacity: {{ chat: 2 }} }}\n");
    let config = Config::from_yaml("r.yaml", &yaml).expect("warnings only");
    let warnings: Vec<String> = config.warnings.iter().map(|d| d.to_string()).collect();
    insta::assert_snapshot!(warnings.join("\n"));
}

#[test]
fn keywords_that_match_nearly_everything_and_languages_without_stemmer_are_warned_about() {
    let yaml = "settings:\n  default_language: en\n  languages: { pl: [en], ko: [en], zh-hant: [zh], pl-PL: [pl] }\nrules:\n  - name: a\n    on: [ticket.created]\n    when: { field: text, contains_any: [refund, The, \"and the\", og, في] }\n    then: [ { add_tags: [x] } ]\n  - name: b\n    on: [ticket.created]\n    when: { field: text, contains: the, exact: true }\n    then: [ { add_tags: [y] } ]\n";
    let config = Config::from_yaml("r.yaml", yaml).expect("warnings only");
    let warnings: Vec<String> = config.warnings.iter().map(|d| d.to_string()).collect();
    insta::assert_snapshot!(warnings.join("\n"));

    // With whole words everywhere, a language without a stemmer changes nothing: no warning.
    let exact = yaml.replace(
        "default_language: en\n",
        "default_language: en\n  exact_keywords: true\n",
    );
    let config = Config::from_yaml("r.yaml", &exact).expect("compiles");
    assert!(
        config
            .warnings
            .iter()
            .all(|w| !w.message.contains("stemmer") && !w.message.contains("common word")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn a_team_or_agent_defined_in_two_files_is_an_error() {
    let src = |name: &str, text: String| Source {
        path: name.into(),
        text,
    };
    let err = Config::compile(vec![
        src("a.yaml", format!("{TEAMS}{AGENT}")),
        src(
            "b.yaml",
            "teams:\n  support: {}\nagents:\n  kari: { teams: [support], languages: [nb], capacity: 3 }\n".into(),
        ),
    ])
    .unwrap_err();
    let got: Vec<String> = err.items().iter().map(|d| d.to_string()).collect();
    insta::assert_snapshot!(got.join("\n"));
}
