//! YAML from nodes, parsed defensively into `serde_json::Value`.
//!
//! Config files and manifests come from nodes we do not trust. The parser is
//! yaml-rust2 (pure safe Rust; see Cargo.toml for why not serde_yaml), driven
//! through its event API so that aliases are expanded against a node budget:
//! a "billion laughs" document stops with an error instead of eating memory.
//! JSON is YAML, so JSON config files parse here too.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Most nodes (scalars, sequences, mappings, counting alias expansions) one
/// document may produce. Real kubelet configs have a few hundred.
pub const MAX_NODES: usize = 200_000;

/// Deepest nesting of sequences and mappings. Kubernetes configs nest a
/// dozen levels; a deeper document is hostile or broken, and nesting without
/// limit would make every later walk of the value (dropping it, too) recurse
/// without limit.
pub const MAX_DEPTH: usize = 128;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("document expands to more than {MAX_NODES} nodes (alias bomb?)")]
    TooLarge,
    #[error("document nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("a mapping key is not a scalar")]
    ComplexKey,
    #[error("alias to unknown anchor")]
    UnknownAnchor,
}

/// Parses the first document of `text`. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    load(text, None)
}

/// The line (1-based) where each node of a document starts, by JSON pointer
/// (`/all/hosts/node1`, as [`Value::pointer`] takes). A mapping value's line
/// is its key's line. Nodes expanded from an alias keep only the alias's line.
pub type Lines = BTreeMap<String, usize>;

/// [`parse`], also returning where each node is, for messages that name a
/// line of a file a person wrote.
pub fn parse_with_lines(text: &str) -> Result<(Value, Lines), YamlError> {
    let mut lines = Lines::new();
    let v = load(text, Some(&mut lines))?;
    Ok((v, lines))
}

fn load(text: &str, lines: Option<&mut Lines>) -> Result<Value, YamlError> {
    let mut b = Builder {
        lines,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    let res = parser.load(&mut b, false);
    if let Some(e) = b.error {
        return Err(e);
    }
    res.map_err(|e| YamlError::Syntax {
        line: e.marker().line(),
        message: e.info().to_string(),
    })?;
    Ok(b.root.unwrap_or(Value::Null))
}

/// `key` escaped as one JSON pointer token.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<String>, usize),
}

#[derive(Default)]
struct Builder<'a> {
    stack: Vec<Frame>,
    anchors: Vec<(usize, Value)>,
    root: Option<Value>,
    nodes: usize,
    error: Option<YamlError>,
    /// Filled only by [`parse_with_lines`].
    lines: Option<&'a mut Lines>,
}

impl Builder<'_> {
    /// Records the line of the node about to be inserted; a scalar in key
    /// position records its mapping value's line.
    fn mark(&mut self, ev: &Event, mark: Marker) {
        let Some(lines) = self.lines.as_deref_mut() else {
            return;
        };
        let mut path = String::new();
        for (i, frame) in self.stack.iter().enumerate() {
            let top = i + 1 == self.stack.len();
            match frame {
                Frame::Seq(items, _) => path.push_str(&format!("/{}", items.len())),
                Frame::Map(_, Some(k), _) => {
                    path.push('/');
                    path.push_str(&pointer_token(k));
                }
                Frame::Map(_, None, _) if top => match ev {
                    Event::Scalar(k, ..) => {
                        path.push('/');
                        path.push_str(&pointer_token(k));
                    }
                    // A complex key: nothing a message could name.
                    _ => return,
                },
                Frame::Map(_, None, _) => return,
            }
        }
        lines.entry(path).or_insert(mark.line());
    }

    fn count(&mut self, n: usize) -> bool {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            self.error.get_or_insert(YamlError::TooLarge);
            return false;
        }
        true
    }

    /// Whether one more sequence or mapping may open.
    fn deeper(&mut self) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            self.error.get_or_insert(YamlError::TooDeep);
            return false;
        }
        self.count(1)
    }

    fn insert(&mut self, v: Value, anchor: usize) {
        // The copy an anchor keeps counts against the budget too: nested
        // anchors would otherwise copy the same nodes once per level.
        if anchor > 0 && self.count(size(&v)) {
            self.anchors.push((anchor, v.clone()));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(v);
                }
            }
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(map, key, _)) => match key.take() {
                None => match v {
                    Value::String(s) => *key = Some(s),
                    Value::Null => *key = Some("null".into()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Number(n) => *key = Some(n.to_string()),
                    _ => {
                        self.error.get_or_insert(YamlError::ComplexKey);
                    }
                },
                Some(k) => {
                    map.insert(k, v);
                }
            },
        }
    }
}

fn size(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(size).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

fn scalar(v: String, style: TScalarStyle, tag: Option<Tag>) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(v);
    }
    if let Some(t) = tag {
        if t.suffix == "str" {
            return Value::String(v);
        }
    }
    match v.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = v.parse::<i64>() {
        return Value::Number(i.into());
    }
    if v.chars().any(|c| c.is_ascii_digit()) {
        if let Ok(f) = v.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(v)
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        if matches!(
            ev,
            Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Scalar(..)
                | Event::Alias(_)
        ) {
            self.mark(&ev, mark);
        }
        match ev {
            // `count` records the error when the budget runs out; the event
            // is then dropped and every later one ignored.
            Event::SequenceStart(anchor, _) if self.deeper() => {
                self.stack.push(Frame::Seq(Vec::new(), anchor));
            }
            Event::MappingStart(anchor, _) if self.deeper() => {
                self.stack.push(Frame::Map(Map::new(), None, anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, anchor)) => self.insert(Value::Array(items), anchor),
                Some(Frame::Map(map, _, anchor)) => self.insert(Value::Object(map), anchor),
                None => {}
            },
            Event::Scalar(v, style, anchor, tag) if self.count(1) => {
                self.insert(scalar(v, style, tag), anchor);
            }
            Event::Alias(id) => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, v)| v.clone());
                match found {
                    Some(v) => {
                        if self.count(size(&v)) {
                            self.insert(v, 0);
                        }
                    }
                    None => {
                        self.error.get_or_insert(YamlError::UnknownAnchor);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Looks up a dotted path (`authentication.anonymous.enabled`) in a mapping.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(root, |v, key| v.as_object()?.get(key))
}

/// A scalar as text the way a component would read it; `None` for null,
/// sequences and mappings.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubelet_config_parses_with_types() {
        let v = parse(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\nreadOnlyPort: 0\nstreamingConnectionIdleTimeout: \"0s\"\ntlsCipherSuites: [A, B]\n",
        )
        .unwrap();
        assert_eq!(
            lookup(&v, "authentication.anonymous.enabled"),
            Some(&json!(false))
        );
        assert_eq!(lookup(&v, "readOnlyPort"), Some(&json!(0)));
        assert_eq!(
            lookup(&v, "streamingConnectionIdleTimeout"),
            Some(&json!("0s"))
        );
        assert_eq!(lookup(&v, "tlsCipherSuites"), Some(&json!(["A", "B"])));
        assert_eq!(lookup(&v, "authentication.webhook.enabled"), None);
    }

    #[test]
    fn json_is_yaml() {
        let v = parse("{\"readOnlyPort\": 10255, \"x\": {\"y\": \"z\"}}").unwrap();
        assert_eq!(lookup(&v, "readOnlyPort"), Some(&json!(10255)));
        assert_eq!(lookup(&v, "x.y"), Some(&json!("z")));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let v = parse("a: \"true\"\nb: '0'\nc: !!str 5\n").unwrap();
        assert_eq!(v, json!({"a": "true", "b": "0", "c": "5"}));
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        assert_eq!(parse(&doc), Err(YamlError::TooLarge));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&deep), Err(YamlError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        // Block style nests through indentation just the same.
        let mut block = String::new();
        for i in 0..=MAX_DEPTH {
            block.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert_eq!(parse(&block), Err(YamlError::TooDeep));
    }

    /// Anchors nested in anchors each keep a copy of what they hold; the
    /// copies count, so that 100 levels of them cannot multiply a large
    /// document by 100.
    #[test]
    fn anchored_copies_count_against_the_budget() {
        let leaves = "[".to_string() + &vec!["x"; 30_000].join(",") + "]";
        let mut doc = leaves;
        for i in 0..10 {
            doc = format!("{{k: &a{i} {doc}}}");
        }
        assert_eq!(parse(&doc), Err(YamlError::TooLarge));
        let small = "[".to_string() + &vec!["x"; 3_000].join(",") + "]";
        let mut doc = small;
        for i in 0..10 {
            doc = format!("{{k: &a{i} {doc}}}");
        }
        assert!(parse(&doc).is_ok());
    }

    #[test]
    fn small_aliases_still_work() {
        let v = parse("base: &b {x: 1}\nother: *b\n").unwrap();
        assert_eq!(lookup(&v, "other.x"), Some(&json!(1)));
    }

    #[test]
    fn lines_are_recorded_by_pointer() {
        let text = "all:\n  hosts:\n    node1:\n      ansible_host: 10.0.0.1\n    node2:\n  children:\n    k/8s:\n      - a\n      - b\n";
        let (v, lines) = parse_with_lines(text).unwrap();
        assert_eq!(v, parse(text).unwrap());
        assert_eq!(lines["/all"], 1);
        assert_eq!(lines["/all/hosts/node1"], 3);
        assert_eq!(lines["/all/hosts/node1/ansible_host"], 4);
        assert_eq!(lines["/all/hosts/node2"], 5);
        assert_eq!(lines["/all/children/k~18s/1"], 9);
        assert!(v.pointer("/all/children/k~18s/1").is_some());
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        match parse("a: 1\nb: [1, 2\nc: 3\n") {
            Err(YamlError::Syntax { line, .. }) => assert!(line >= 2, "{line}"),
            other => panic!("{other:?}"),
        }
    }
}
