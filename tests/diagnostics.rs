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
