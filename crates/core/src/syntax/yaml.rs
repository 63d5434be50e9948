//! YAML with positions: rule files are read into a tree of [`Node`]s that remember where each
//! value was written, so that every diagnostic can name `file:line:col`.
//!
//! Scalars are resolved with the YAML 1.2 core schema (`true`/`false`, `null`/`~`, numbers); a
//! quoted scalar is always text, and words such as `no`, `yes`, `on` stay text, which matters
//! for language codes like Norwegian `no`.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a source file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl Pos {
    fn from_marker(m: Marker) -> Pos {
        Pos {
            line: m.line() as u32,
            col: m.col() as u32 + 1,
        }
    }
}

/// One YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where it starts.
    pub pos: Pos,
    /// What it is.
    pub kind: Kind,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short name of the node's type, for messages ("a list", "text").
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "nothing",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "text",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar (numbers and booleans as written); `None` for null and collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The node as JSON (mapping keys become text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A node from JSON, every part at `pos` (for values produced by scripts).
    pub fn from_json(value: &serde_json::Value, pos: Pos) -> Node {
        use serde_json::Value;
        let kind = match value {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Kind::Int(i),
                None => Kind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Kind::Str(s.clone()),
            Value::Array(items) => {
                Kind::Seq(items.iter().map(|v| Node::from_json(v, pos)).collect())
            }
            Value::Object(map) => Kind::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Node {
                                pos,
                                kind: Kind::Str(k.clone()),
                            },
                            Node::from_json(v, pos),
                        )
                    })
                    .collect(),
            ),
        };
        Node { pos, kind }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it said.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses one YAML document. An empty file is `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        pos: Pos::from_marker(*e.marker()),
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    let mut docs = builder.docs;
    match docs.len() {
        0 => Ok(Node {
            pos: Pos { line: 1, col: 1 },
            kind: Kind::Null,
        }),
        1 => Ok(docs.pop().expect("one document")),
        _ => Err(SyntaxError {
            pos: docs[1].pos,
            message: "a rule file holds one YAML document; remove the second `---`".into(),
        }),
    }
}

/// How many values aliases may add to a document in all, counting every value inside each
/// aliased collection. Aliases in real rule files repeat a few lists; nested aliases of
/// aliases (a "billion laughs") would otherwise build a tree exponentially larger than the
/// file before any check could see it.
pub const MAX_ALIASED_VALUES: usize = 100_000;

#[derive(Default)]
struct Builder {
    /// Open collections: the node being built, and for mappings a pending key.
    stack: Vec<(Node, Option<Node>)>,
    /// Anchored nodes, with how many values each holds (itself included).
    anchors: HashMap<usize, (Node, usize)>,
    /// Anchor ids of the open collections, parallel to `stack`.
    open_anchors: Vec<usize>,
    /// Values held by the open collections so far, parallel to `stack`.
    sizes: Vec<usize>,
    /// Values added by aliases so far.
    aliased: usize,
    docs: Vec<Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    /// Adds a finished value holding `size` values to the open collection (or as a document).
    fn push_value(&mut self, node: Node, size: usize) {
        if let Some(open) = self.sizes.last_mut() {
            *open += size;
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, pending_key)) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(pairs) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => {
                        if let Some(text) = key.scalar_text() {
                            let duplicate = pairs
                                .iter()
                                .any(|(k, _)| k.scalar_text().as_deref() == Some(text.as_str()));
                            if duplicate && self.error.is_none() {
                                self.error = Some(SyntaxError {
                                    pos: key.pos,
                                    message: format!("duplicate key `{text}` in this mapping"),
                                });
                            }
                        }
                        pairs.push((key, node));
                    }
                },
                _ => unreachable!("only collections are on the stack"),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    pos,
                    kind: resolve(text, style, tag.as_ref()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push_value(node, 1);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((
                    Node {
                        pos,
                        kind: Kind::Seq(Vec::new()),
                    },
                    None,
                ));
                self.open_anchors.push(anchor);
                self.sizes.push(1);
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((
                    Node {
                        pos,
                        kind: Kind::Map(Vec::new()),
                    },
                    None,
                ));
                self.open_anchors.push(anchor);
                self.sizes.push(1);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (mut node, _) = self.stack.pop().expect("balanced events");
                // A block mapping's start mark can fall after its first key; a mapping is
                // where its first key is, unless a `{` came before it.
                if let Kind::Map(pairs) = &node.kind {
                    if let Some((k, _)) = pairs.first() {
                        node.pos = node.pos.min(k.pos);
                    }
                }
                let anchor = self.open_anchors.pop().unwrap_or(0);
                let size = self.sizes.pop().unwrap_or(1);
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                self.push_value(node, size);
            }
            Event::Alias(id) => {
                let null = Node {
                    pos,
                    kind: Kind::Null,
                };
                let (node, size) = match self.anchors.get(&id) {
                    Some((n, size)) if self.aliased + size <= MAX_ALIASED_VALUES => {
                        self.aliased += size;
                        let node = Node {
                            pos,
                            kind: n.kind.clone(),
                        };
                        (node, *size)
                    }
                    Some(_) => {
                        if self.error.is_none() {
                            self.error = Some(SyntaxError {
                                pos,
                                message: format!(
                                    "aliases here would expand the file to more than \
                                     {MAX_ALIASED_VALUES} repeated values (aliases of aliases \
                                     multiply); write the values out or alias fewer levels"
                                ),
                            });
                        }
                        (null, 1)
                    }
                    None => (null, 1),
                };
                self.push_value(node, size);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

fn resolve(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Kind {
    if let Some(tag) = tag {
        if tag.suffix == "str" {
            return Kind::Str(text);
        }
    }
    if style != TScalarStyle::Plain {
        return Kind::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
        if let Ok(i) = text.parse::<i64>() {
            return Kind::Int(i);
        }
        if let Some(hex) = text.strip_prefix("0x") {
            if let Ok(i) = i64::from_str_radix(hex, 16) {
                return Kind::Int(i);
            }
        }
        if let Some(oct) = text.strip_prefix("0o") {
            if let Ok(i) = i64::from_str_radix(oct, 8) {
                return Kind::Int(i);
            }
        }
        let looks_float = text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        if looks_float {
            if let Ok(f) = text.parse::<f64>() {
                return Kind::Float(f);
            }
        }
    }
    Kind::Str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let doc = parse("rules:\n  - name: a\n    on: x\n").unwrap();
        let Kind::Map(top) = &doc.kind else { panic!() };
        let Kind::Seq(rules) = &top[0].1.kind else {
            panic!()
        };
        let Kind::Map(rule) = &rules[0].kind else {
            panic!()
        };
        assert_eq!(rule[0].0.pos, Pos { line: 2, col: 5 });
        assert_eq!(rule[1].1.pos, Pos { line: 3, col: 9 });
    }

    #[test]
    fn norwegian_no_stays_text() {
        let doc = parse("[no, yes, on, 'true', true, 12, 1.5, ~]").unwrap();
        let Kind::Seq(items) = doc.kind else { panic!() };
        let kinds: Vec<_> = items.into_iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Str("no".into()),
                Kind::Str("yes".into()),
                Kind::Str("on".into()),
                Kind::Str("true".into()),
                Kind::Bool(true),
                Kind::Int(12),
                Kind::Float(1.5),
                Kind::Null
            ]
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, col: 1 });
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("rules:\n  - name: [unclosed\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
    }

    #[test]
    fn nested_aliases_cannot_multiply_a_file() {
        // Nine levels of nine aliases each: 9^9 (387 million) values from 11 lines.
        let mut bomb = String::from("a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let (prev, next) = (w[0], w[1]);
            let refs = vec![format!("*{prev}"); 9].join(", ");
            bomb.push_str(&format!("{next}: &{next} [{refs}]\n"));
        }
        bomb.push_str("rules:\n  - name: x\n    when: { contains_any: *i }\n");
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
        // Where the budget runs out: the aliases of b to e add 74,718 values, the first `*e`
        // of f (line 6) 66,430 more.
        assert_eq!(err.pos, Pos { line: 6, col: 8 }, "{err:?}");
    }

    #[test]
    fn aliases_within_the_budget_are_expanded() {
        let mut text = String::from("base: &base [");
        text.push_str(&vec!["w"; 1000].join(", "));
        text.push_str("]\n");
        for i in 0..90 {
            text.push_str(&format!("copy{i}: *base\n"));
        }
        let doc = parse(&text).unwrap();
        let Kind::Map(top) = doc.kind else { panic!() };
        assert_eq!(top.len(), 91);
        let Kind::Seq(items) = &top[90].1.kind else {
            panic!()
        };
        assert_eq!(items.len(), 1000);
    }

    #[test]
    fn aliases_copy_the_anchored_value() {
        let doc = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let Kind::Map(top) = doc.kind else { panic!() };
        assert_eq!(top[0].1.kind, top[1].1.kind);
    }
}
