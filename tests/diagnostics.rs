//! Bad input gets a precise diagnostic: one table row per kind of mistake, each with the exact
//! `file:line:col: path: message` an admin sees.

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
    let cases: &[(&str, String, &str)] = &[
        (
            "malformed yaml",
            "rules:\n  - name: a\n    on: [ticket.created\n".into(),
            "r.yaml:4:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'",
        ),
        (
            "unknown top-level key",
            "rulez: []\n".into(),
            "r.yaml:1:1: rulez: unknown field `rulez`; did you mean `rules`?",
        ),
        (
            "unknown rule field",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n    stpo: true\n"),
            "r.yaml:5:5: rules[0].stpo: unknown field `stpo`; did you mean `stop`?",
        ),
        (
            "wrong type",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n    stop: sometimes\n"),
            "r.yaml:5:11: rules[0].stop: expected `true` or `false`, found text",
        ),
        (
            "unknown field path",
            format!("{RULE}    when: {{ field: ticket.prio, eq: high }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:20: rules[0].when.field: unknown field `ticket.prio`; did you mean `ticket.priority`?",
        ),
        (
            "unknown operator",
            format!("{RULE}    when: {{ field: message.text, contians_any: [a] }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:34: rules[0].when.contians_any: unknown operator `contians_any`; did you mean `contains_any`?",
        ),
        (
            "operator that does not fit the field",
            format!("{RULE}    when: {{ field: ticket.tags, gt: 3 }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:37: rules[0].when.gt: `gt` does not apply to `ticket.tags` (a list); lists use `contains`, `contains_any`, `contains_all` or `exists`",
        ),
        (
            "two operators",
            format!("{RULE}    when: {{ field: ticket.priority, eq: high, ne: low }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:47: rules[0].when: one operator per condition; combine several with `all:`",
        ),
        (
            "unknown enum value",
            format!("{RULE}    when: {{ field: ticket.priority, in: [high, urgnt] }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:48: rules[0].when.in[1]: unknown priority `urgnt`; did you mean `urgent`?",
        ),
        (
            "unknown action",
            format!("{RULE}    then: [ {{ set_prio: high }} ]\n"),
            "r.yaml:4:15: rules[0].then[0].set_prio: unknown action `set_prio`; did you mean `set_priority`?",
        ),
        (
            "unknown action value",
            format!("{RULE}    then: [ {{ set_status: clsoed }} ]\n"),
            "r.yaml:4:27: rules[0].then[0].set_status: unknown status `clsoed`; did you mean `closed`?",
        ),
        (
            "unknown template",
            format!("{RULE}    then: [ {{ reply: {{ template: akc }} }} ]\ntemplates:\n  ack: hi\n"),
            "r.yaml:4:34: rules[0].then[0].reply.template: unknown template `akc`; did you mean `ack`?",
        ),
        (
            "template with an unknown variable",
            format!("{RULE}    then: [ {{ reply: {{ template: ack }} }} ]\ntemplates:\n  ack: \"{{{{ custmer.name }}}}\"\n"),
            "r.yaml:6:8: templates.ack: template uses unknown variable `custmer`; did you mean `customer`?",
        ),
        (
            "template syntax error",
            format!("{RULE}    then: [ {{ reply: {{ text: \"{{{{ ticket.id \" }} }} ]\n"),
            "r.yaml:4:30: rules[0].then[0].reply.text: template: syntax error: unexpected end of input, expected end of variable block",
        ),
        (
            "invalid regex",
            format!("{RULE}    when: {{ field: message.text, matches: '(unclosed' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:43: rules[0].when.matches: invalid regex: error: unclosed group",
        ),
        (
            "regex over the size limit",
            format!("{RULE}    when: {{ field: message.text, matches: '\\w{{500}}\\w{{500}}' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:43: rules[0].when.matches: regex is too big: it compiles to more than 1048576 bytes; simplify it or use `contains_any`",
        ),
        (
            "rhai syntax error",
            format!("{RULE}    when: {{ script: 'ticket.priority == ' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:40: rules[0].when.script: script: Script is incomplete",
        ),
        (
            "rhai unknown variable",
            format!("{RULE}    when: {{ script: 'tiket.priority == \"high\"' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:21: rules[0].when.script: script: Undefined variable: tiket",
        ),
        (
            "duplicate rule names",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\n  - name: a\n    on: ticket.created\n    then: [ {{ add_tags: [y] }} ]\n"),
            "r.yaml:5:11: rules[1].name: duplicate rule name `a` (first at r.yaml:2:11)",
        ),
        (
            "unknown event type",
            "rules:\n  - name: a\n    on: [ticket.create]\n    then: [ { add_tags: [x] } ]\n".into(),
            "r.yaml:3:10: rules[0].on[0]: unknown event type `ticket.create`; did you mean `ticket.created`?",
        ),
        (
            "missing then",
            RULE.into(),
            "r.yaml:2:5: rules[0]: missing required field `then`",
        ),
        (
            "duplicate key",
            "rules:\n  - name: a\n    name: b\n".into(),
            "r.yaml:3:5: invalid YAML: duplicate key `name` in this mapping",
        ),
        (
            "keyword without letters",
            format!("{RULE}    when: {{ field: message.text, contains: '!!' }}\n    then: [ {{ add_tags: [x] }} ]\n"),
            "r.yaml:4:44: rules[0].when.contains: keyword `!!` has no letters or digits to match",
        ),
        (
            "bad duration",
            format!("{RULE}    then: [ {{ schedule: {{ after: 3 fortnights, then: [ {{ add_tags: [x] }} ] }} }} ]\n"),
            "r.yaml:4:34: rules[0].then[0].schedule.after: unknown unit `fortnights` in `3 fortnights` (use s, m, h, d or w)",
        ),
        (
            "bad language tag",
            "templates:\n  ack:\n    english: Hi\n".into(),
            "r.yaml:3:5: templates.ack: `english` is not a language tag (write e.g. `en`, `nb`, `ar`, `zh`, `en-GB`)",
        ),
        (
            "test event with a wrong field type",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\ntests:\n  - name: t\n    event: {{ type: ticket.created, ticket: {{ priority: highest }} }}\n    expect: {{ tags: [x] }}\n"),
            "r.yaml:7:56: tests[0].event: ticket.priority: unknown variant `highest`, expected one of `low`, `normal`, `high`, `urgent`",
        ),
        (
            "test naming a rule that does not exist",
            format!("{RULE}    then: [ {{ add_tags: [x] }} ]\ntests:\n  - name: t\n    event: {{ type: ticket.created }}\n    expect: {{ rules: [b] }}\n"),
            "r.yaml:8:22: tests[0].expect.rules[0]: no rule named `b`; did you mean `a`?",
        ),
    ];
    let mut failures = Vec::new();
    for (name, yaml, want) in cases {
        let got = diagnostics(yaml);
        if !got.iter().any(|g| g == want) {
            failures.push(format!(
                "{name}:\n  want: {want}\n  got:  {}",
                got.join("\n        ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
    let text = err.to_string();
    assert!(
        text.contains("b.yaml:2:11: rules[0].name: duplicate rule name `a` (first at a.yaml:2:11)"),
        "{text}"
    );
    assert!(
        text.contains("b.yaml:5:5: rules[0].bogus: unknown field `bogus`"),
        "{text}"
    );
    assert!(
        text.contains("c.yaml:2:1: invalid YAML: while parsing a node"),
        "{text}"
    );
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
    let cases: &[(&str, String, &str)] = &[
        (
            "unknown team in a rule",
            route("{ team: suport }"),
            "r.yaml:11:31: rules[0].then[0].assign.team: unknown team `suport`; did you mean `support`?",
        ),
        (
            "unknown skill in a rule",
            route("{ team: support, require: { skills: [biling] } }"),
            "r.yaml:11:60: rules[0].then[0].assign.require.skills[0]: unknown skill `biling`: no agent has it; did you mean `billing`?",
        ),
        (
            "unknown strategy",
            route("{ team: support, strategy: round_robbin }"),
            "r.yaml:11:50: rules[0].then[0].assign.strategy: unknown strategy `round_robbin`; did you mean `round_robin`?",
        ),
        (
            "unknown language field",
            route("{ team: support, require: { language: ticket.customer.lang } }"),
            "r.yaml:11:61: rules[0].then[0].assign.require.language: unknown language field `ticket.customer.lang`; did you mean `ticket.customer.language`?",
        ),
        (
            "unknown fallback",
            route("{ team: support, fallback: { team: biling, or: queu } }"),
            "r.yaml:11:58: rules[0].then[0].assign.fallback.team: unknown team `biling`; did you mean `billing`?",
        ),
        (
            "unknown fallback action",
            route("{ team: support, fallback: { or: queu } }"),
            "r.yaml:11:56: rules[0].then[0].assign.fallback.or: unknown fallback `queu`; did you mean `queue`?",
        ),
        (
            "strategy without a team",
            route("{ agent: kari, strategy: skills }"),
            "r.yaml:11:23: rules[0].then[0].assign.strategy: `strategy` goes with `team: NAME` (automatic assignment)",
        ),
        (
            "agent in an unknown team",
            format!("{TEAMS}agents:\n  kari: {{ teams: [suport], languages: [nb], capacity: 3, shift: oslo }}\n"),
            "r.yaml:7:19: agents.kari.teams[0]: unknown team `suport`; did you mean `support`?",
        ),
        (
            "agent with an unknown calendar",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 3, shift: olso }}\n"),
            "r.yaml:7:66: agents.kari.shift: unknown calendar `olso`; did you mean `oslo`?",
        ),
        (
            "agent with a bad language tag",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [Norsk], capacity: 3, shift: oslo }}\n"),
            "r.yaml:7:41: agents.kari.languages[0]: `Norsk` is not a language tag",
        ),
        (
            "agent with an unknown capacity channel",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: {{ chats: 3 }}, shift: oslo }}\n"),
            "r.yaml:7:58: agents.kari.capacity.chats: unknown channel `chats`; did you mean `chat`?",
        ),
        (
            "agent with an unknown helpdesk",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 3, shift: oslo, helpdesk_ids: {{ chatwot: 12 }} }}\n"),
            "r.yaml:7:88: agents.kari.helpdesk_ids.chatwot: unknown helpdesk `chatwot`; did you mean `chatwoot`?",
        ),
        (
            "agent without capacity",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], shift: oslo }}\n"),
            "r.yaml:7:9: agents.kari: missing required field `capacity`",
        ),
        (
            "unknown agent field",
            format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 3, shift: oslo, skils: [x] }}\n"),
            "r.yaml:7:72: agents.kari.skils: unknown field `skils`; did you mean `skills`?",
        ),
        (
            "unknown team field",
            "teams:\n  support: { strategy: least_loaded, lead: kari }\n".into(),
            "r.yaml:2:38: teams.support.lead: unknown field `lead` (expected one of: name, description, strategy)",
        ),
        (
            "unknown agent in a test",
            format!("{TEAMS}{AGENT}tests:\n  - name: t\n    event: {{ type: ticket.created }}\n    agents: {{ karl: {{ status: online }} }}\n    expect: {{}}\n"),
            "r.yaml:11:15: tests[0].agents: unknown agent `karl`; did you mean `kari`?",
        ),
        (
            "bad agent status in a test",
            format!("{TEAMS}{AGENT}tests:\n  - name: t\n    event: {{ type: ticket.created }}\n    agents: {{ kari: {{ status: onlien }} }}\n    expect: {{}}\n"),
            "r.yaml:11:31: tests[0].agents.kari.status: unknown agent status `onlien`; did you mean `online`?",
        ),
    ];
    let mut failures = Vec::new();
    for (what, yaml, want) in cases {
        let got = diagnostics(yaml);
        if !got.iter().any(|g| g.starts_with(want)) {
            failures.push(format!("{what}:\n  want {want}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn agents_without_capacity_or_shift_are_warned_about() {
    let yaml = format!("{TEAMS}agents:\n  kari: {{ teams: [support], languages: [nb], capacity: 0, shift: oslo }}\n  ola: {{ teams: [support, billing], languages: [nb], capacity: {{ chat: 2 }} }}\n");
    let config = Config::from_yaml("r.yaml", &yaml).expect("warnings only");
    let warnings: Vec<String> = config.warnings.iter().map(|d| d.to_string()).collect();
    let want = [
        "r.yaml:7:56: warning: agents.kari.capacity: agent `kari` has no capacity",
        "r.yaml:8:3: warning: agents.ola: agent `ola` has no `shift` calendar",
    ];
    for w in want {
        assert!(
            warnings.iter().any(|g| g.starts_with(w)),
            "missing {w} in {warnings:?}"
        );
    }
    assert_eq!(warnings.len(), 2, "{warnings:?}");
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
    for want in [
        "b.yaml:2:3: teams.support: team `support` is already defined at a.yaml:4:3",
        "b.yaml:4:3: agents.kari: agent `kari` is already defined at a.yaml:7:3",
    ] {
        assert!(got.iter().any(|g| g == want), "missing {want} in {got:?}");
    }
}
