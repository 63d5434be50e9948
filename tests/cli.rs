//! The `frontdesk` command as an admin uses it: real process, real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn frontdesk(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run frontdesk")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every file under `dir`, as `prefix/relative/path`.
fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let rel = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            list_files(&entry.path(), &rel, out);
        } else {
            out.push(rel);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_example_pack_checks_clean_and_passes_its_tests() {
    let o = frontdesk(&["check", "rules"], &root());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.starts_with("rules: ok"), "{out}");
    assert!(err.is_empty(), "no warnings expected: {err}");

    let o = frontdesk(&["test", "rules"], &root());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains(" 0 failed"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn a_broken_copy_reports_every_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    copy_dir(&root().join("rules"), &rules);
    copy_dir(&root().join("bots"), &dir.path().join("bots"));
    let edit = |file: &str, from: &str, to: &str| {
        let path = rules.join(file);
        let s = std::fs::read_to_string(&path).unwrap();
        assert!(s.contains(from), "{file} has {from:?}");
        std::fs::write(&path, s.replacen(from, to, 1)).unwrap();
    };
    edit("triage.yaml", "set_priority: urgent", "set_priority: urgnt");
    edit(
        "triage.yaml",
        "field: customer.tier",
        "field: customer.teir",
    );
    edit("support.yaml", "template: ack", "template: akc");
    edit("templates.yaml", "{{ ticket.id }}", "{{ tiket.id }}");
    edit(
        "scripts/vip.rhai",
        "actions.push(#{ add_tags: [\"vip\"] });",
        "actions.push(#{ add_tags: [\"vip\"] };",
    );

    let o = frontdesk(&["check", "rules"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    insta::assert_snapshot!(err.replace(&dir.path().display().to_string(), "[dir]"));
}

/// A "billion laughs" (nine levels of nine aliases, 9^9 values from a dozen lines) is refused
/// where the aliases would multiply, at once, instead of filling the memory.
#[test]
fn a_yaml_alias_bomb_is_refused_where_it_multiplies() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let mut yaml = String::from("x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(", ");
        yaml.push_str(&format!("x-{}: &{} [{refs}]\n", w[1], w[1]));
    }
    yaml.push_str(
        "rules:\n  - name: laughs\n    on: [ticket.created]\n    \
         when: { field: message.text, contains_any: *i }\n    then: [ { add_tags: [x] } ]\n",
    );
    std::fs::write(rules.join("bomb.yaml"), yaml).unwrap();
    let o = frontdesk(&["check", "rules"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rules/bomb.yaml:6:10: invalid YAML: aliases here would expand the file"),
        "{err}"
    );
}

/// A rule file of many megabytes is refused before it is read; a large keyword list within the
/// limit compiles in linear time (80,000 distinct keywords used to take 10 s).
#[test]
fn rule_files_have_a_size_limit_and_long_keyword_lists_compile() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let keywords: Vec<String> = (0..80_000).map(|i| format!("w{i:x}q")).collect();
    let rule = |list: &[String]| {
        format!(
            "rules:\n  - name: many\n    on: [ticket.created]\n    \
             when: {{ field: message.text, contains_any: [{}] }}\n    \
             then: [ {{ add_tags: [x] }} ]\n",
            list.join(", ")
        )
    };
    std::fs::write(rules.join("many.yaml"), rule(&keywords)).unwrap();
    let o = frontdesk(&["check", "rules"], dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("80000 keywords in one automaton"), "{out}");

    let huge: Vec<String> = (0..600_000).map(|i| format!("w{i:x}q")).collect();
    std::fs::write(rules.join("many.yaml"), rule(&huge)).unwrap();
    let o = frontdesk(&["check", "rules"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rules/many.yaml: the file is 5.")
            && err.contains("a rule file may be at most 4 MB"),
        "{err}"
    );
}

#[test]
fn run_explains_every_example_event() {
    let dir = root().join("examples/events");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for f in &files {
        let f = f.to_str().unwrap();
        let o = frontdesk(&["run", "--event", f], &root());
        let (out, err) = text(&o);
        assert!(o.status.success(), "{f}: {err}");
        let d: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{f}: {e}\n{out}"));
        assert!(
            d["trace"]["fired"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{f}: some rule fires"
        );

        let o = frontdesk(&["run", "--explain", "--event", f], &root());
        let (out, err) = text(&o);
        assert!(o.status.success(), "{f}: {err}");
        assert!(out.contains("✔ matched"), "{out}");
        assert!(out.contains("ticket: priority"), "{out}");
    }
    let (out, _) = text(&frontdesk(
        &[
            "run",
            "--explain",
            "--event",
            "examples/events/outage-nb.json",
        ],
        &root(),
    ));
    assert!(
        out.contains("✔ matched    outage is urgent  → set_priority, add_tags, internal_note"),
        "{out}"
    );
    assert!(out.contains("Vi behandler dette som hastesak"), "{out}");
}

#[test]
fn run_refuses_a_bad_event_with_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.json");
    std::fs::write(
        &f,
        r#"{"id": "x", "type": "ticket.created", "ticket": {"id": "1", "channel": "pigeon"}}"#,
    )
    .unwrap();
    let rules = root().join("rules");
    let o = frontdesk(
        &[
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--event",
            f.to_str().unwrap(),
        ],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("bad.json: invalid event: ticket.channel: unknown variant `pigeon`"),
        "{err}"
    );
}

#[test]
fn run_takes_now_and_yaml_events() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.yaml");
    std::fs::write(&f, "id: y1\ntype: ticket.status_changed\nticket: { id: '9', status: pending }\nchanges: { ticket.status: { from: open, to: pending } }\n").unwrap();
    let rules = root().join("rules");
    let o = frontdesk(
        &[
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--now",
            "2026-11-23T10:00:00+01:00",
            "--event",
            f.to_str().unwrap(),
        ],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["timers"][0]["name"], "nudge pending customer");
    assert_eq!(d["timers"][0]["due_at"], "2026-11-25T09:00:00Z");
}

#[test]
fn init_writes_a_pack_that_checks_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let o = frontdesk(&["init", "mydesk"], dir.path());
    assert!(o.status.success(), "{:?}", text(&o));
    let desk = dir.path().join("mydesk");
    let o = frontdesk(&["check"], &desk);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = frontdesk(&["test", "mydesk/rules"], dir.path());
    assert!(o.status.success(), "{:?}", text(&o));
    let again = frontdesk(&["init", "mydesk"], dir.path());
    assert_eq!(
        again.status.code(),
        Some(1),
        "refuses a non-empty directory"
    );
    // The embedded pack is the repository's pack.
    let mut files = Vec::new();
    for top in ["rules", "bots"] {
        list_files(&root().join(top), top, &mut files);
    }
    assert!(files.len() >= 7, "{files:?}");
    for f in files {
        assert_eq!(
            std::fs::read_to_string(desk.join(&f)).unwrap(),
            std::fs::read_to_string(root().join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn schema_and_completions() {
    for which in ["rules", "event", "decision"] {
        let o = frontdesk(&["schema", which], &root());
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v.is_object(), "{which}");
    }
    let o = frontdesk(&["schema"], &root());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let actions = v["$defs"]["actions"]["items"]["anyOf"].as_array().unwrap();
    assert_eq!(actions.len(), 17);
    assert_eq!(
        v["properties"]["rules"]["items"]["additionalProperties"],
        false
    );

    let o = frontdesk(&["completions", "bash"], &root());
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("frontdesk"));
    let o = frontdesk(&["--help"], &root());
    let (out, _) = text(&o);
    for cmd in ["check", "test", "run", "init", "schema", "completions"] {
        assert!(out.contains(cmd), "{out}");
    }
}

#[test]
fn a_missing_rules_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = frontdesk(&["check", "nope"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.starts_with("nope: cannot read the rules directory:"),
        "{err}"
    );
}

#[test]
fn the_openapi_document_validates() {
    let check = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !check.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipping: python3 with openapi-spec-validator is not installed (.ci/run installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = frontdesk(&["schema", "openapi"], &root());
    assert!(o.status.success());
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, &o.stdout).unwrap();
    let v = Command::new("python3")
        .args(["-c", "import json,sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')"])
        .arg(&path)
        .output()
        .unwrap();
    let (out, err) = text(&v);
    assert!(v.status.success() && out.contains("valid"), "{out}{err}");
}

#[test]
fn report_options_and_stores_are_checked_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.db");
    let url = format!("sqlite://{}", missing.display());
    let o = frontdesk(&["report", "--store", &url], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no store at"), "{err}");
    assert!(!missing.exists(), "a report creates no database");
    for (args, named) in [
        (&["--group-by", "colour"][..], "--group-by"),
        (&["--interval", "month"], "--interval"),
        (&["--since", "yesterday"], "--since"),
        (&["--since", "500d"], "--since"),
        (
            &[
                "--from",
                "2026-03-05T00:00:00Z",
                "--to",
                "2026-03-01T00:00:00Z",
            ],
            "--from",
        ),
        (&["--to", "soon"], "--to"),
    ] {
        let o = frontdesk(
            &[&["report", "--store", &url][..], args].concat(),
            dir.path(),
        );
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
    for sub in [&["kpis", "rebuild"][..], &["export", "events"]] {
        let o = frontdesk(&[sub, &["--store", &url]].concat(), dir.path());
        assert_eq!(o.status.code(), Some(1), "{sub:?}");
        assert!(text(&o).1.contains("no store at"), "{sub:?}");
    }
}
