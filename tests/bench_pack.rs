//! The shared benchmark pack: frontdesk must reproduce every pack's published match count and
//! checksum, and `explain` must fire the same rules as `decide`.

#[path = "../benches/support/pack.rs"]
mod pack;

use frontdesk::engine;

/// Generates the pack into a fresh directory, or says why it cannot.
fn generated() -> Option<tempfile::TempDir> {
    if !pack::shared_dir().is_dir() {
        eprintln!("skipping: {} is missing", pack::shared_dir().display());
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    match pack::generate(dir.path()) {
        Ok(()) => Some(dir),
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

#[test]
fn translation_reads_as_intended() {
    let pack: serde_json::Value = serde_json::from_str(
        r#"{"rules": [{"name": "r0", "all": [
            {"field": "ticket.channel", "in": ["email", "chat"]},
            {"field": "text", "contains_word": "refund invoice"},
            {"any": [{"field": "ticket.customer.tier", "eq": "gold"},
                     {"field": "ticket.priority_level", "lte": 2}]}],
          "then": {"add_tag": "r0"}}]}"#,
    )
    .unwrap();
    let yaml = pack::to_yaml(&pack).unwrap();
    let want = r#"rules:
  - name: "r0"
    on: [ticket.created]
    when:
      all:
        - { field: "ticket.channel", in: ["email","chat"] }
        - { field: "text", contains: "refund invoice", exact: true }
        - any:
            - { field: "ticket.customer.tier", eq: "gold" }
            - { field: "ticket.fields.priority_level", lte: 2 }
    then:
      - add_tags: ["r0"]
"#;
    assert_eq!(yaml, want);
    let config = pack::compile(1, &yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.rule_names().collect::<Vec<_>>(), ["r0"]);

    let ticket = |channel: &str, tier: &str, level: u8, body: &str| {
        let t = serde_json::json!({"id": "T", "channel": channel, "subject": "Hello",
            "body": body, "customer": {"tier": tier, "name": "C"}, "priority_level": level});
        let e = pack::ticket_event(&t).unwrap();
        engine::decide(&config, &e.ticket, &e, pack::now())
            .trace
            .fired
    };
    assert_eq!(ticket("chat", "standard", 2, "My Refund, invoice?"), ["r0"]);
    assert_eq!(ticket("chat", "gold", 4, "refund invoice"), ["r0"]);
    assert!(ticket("chat", "silver", 3, "refund invoice").is_empty());
    assert!(ticket("sms", "gold", 1, "refund invoice").is_empty());
    assert!(ticket("email", "gold", 1, "invoice refund").is_empty());
    assert!(ticket("email", "gold", 1, "refunds invoice").is_empty());
}

#[test]
fn packs_reproduce_the_published_checksums() {
    let Some(dir) = generated() else { return };
    let events = pack::load_events(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 10_000);
    let mut failures = Vec::new();
    for rules in pack::SIZES {
        let yaml = pack::pack_yaml(dir.path(), rules).unwrap_or_else(|e| panic!("{e}"));
        let config = pack::compile(rules, &yaml).unwrap_or_else(|e| panic!("pack-{rules}:\n{e}"));
        assert_eq!(config.rule_count(), rules);
        let (matches, checksum) = pack::run(&config, &events);
        if let Err(e) = pack::verify(rules, matches, &checksum) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn explain_fires_the_same_rules_as_decide() {
    let Some(dir) = generated() else { return };
    let events = pack::load_events(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let yaml = pack::pack_yaml(dir.path(), 100).unwrap_or_else(|e| panic!("{e}"));
    let config = pack::compile(100, &yaml).unwrap_or_else(|e| panic!("{e}"));
    let now = pack::now();
    for e in &events[..500] {
        let decided = engine::decide(&config, &e.ticket, e, now);
        let explained = engine::explain(&config, &e.ticket, e, now);
        assert_eq!(
            decided.trace.fired, explained.trace.fired,
            "ticket {}",
            e.ticket.id
        );
        assert_eq!(explained.trace.rules.len(), 100, "ticket {}", e.ticket.id);
    }
}
