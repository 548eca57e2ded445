//! Loading and validating benchmark files.
//!
//! The TOML is read into a spanned tree (`toml::de::DeTable`) and converted by
//! hand rather than through serde, so that one pass finds every problem in a
//! file, each with the line of the key or value at fault.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub use crate::util::Problem;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Benchmark, BuiltinCheck, Check, DRIFT_COMPONENTS, Expected, Fact, Op, Rule, Scope, Severity,
    Targets, Test, ValueShape,
};
use crate::facts::{ComponentKind, Mode, Role};
use crate::k8s::files::FileAttr;
use crate::k8s::known::ValueKind;

/// Every problem found while loading a benchmark.
#[derive(Debug, thiserror::Error)]
pub struct BenchError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid benchmark: {} problem{}",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl BenchError {
    fn one(file: &str, message: String) -> BenchError {
        BenchError {
            problems: vec![Problem {
                file: file.to_string(),
                line: 0,
                message,
            }],
        }
    }
}

const PROFILE_FILE: &str = "profile.toml";
const PROFILE_KEYS: &[&str] = &[
    "id",
    "title",
    "version",
    "kubernetes",
    "extends",
    "removed",
    "sections",
    "severity",
    "checks",
];
const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "section",
    "scored",
    "level",
    "severity",
    "scope",
    "targets",
    "component",
    "remediation",
    "guidance",
    "check",
    "builtin",
    "replaces",
];
const OVERRIDE_KEYS: &[&str] = &["disabled", "title", "severity", "scored"];
/// How deep `extends` may chain (a profile extending one that extends ...).
const MAX_EXTENDS: usize = 4;

/// What `profile.toml` says, before the rules are merged.
struct ProfileDoc {
    bench: Benchmark,
    /// ` (line N)` of `[sections]`, for messages.
    sections_at: String,
    extends: Option<(String, usize)>,
    removed: Vec<(String, usize)>,
    /// Section id to the default severity of its rules.
    severity: BTreeMap<String, Severity>,
    checks: Vec<Override>,
}

/// `[checks."<id>"]` in profile.toml: a change to one check of the catalog.
struct Override {
    id: String,
    line: usize,
    disabled: Option<String>,
    title: Option<String>,
    severity: Option<Severity>,
    scored: Option<bool>,
}

/// A rule as read from its file, before it is merged into the profile.
struct Parsed {
    rule: Rule,
    file: String,
    id_line: usize,
    /// `severity` of the rule itself; else its section's default.
    severity: Option<Severity>,
    replaces: bool,
}
const TEST_KEYS: &[&str] = &["fact", "op", "value"];

/// Loads a benchmark from a directory holding `profile.toml` and rule files.
pub fn load_dir(dir: &Path) -> Result<Benchmark, BenchError> {
    let shown = dir.display().to_string();
    let entries =
        std::fs::read_dir(dir).map_err(|e| BenchError::one(&shown, format!("cannot read: {e}")))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| BenchError::one(&shown, format!("cannot read: {e}")))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                BenchError::one(&path.display().to_string(), format!("cannot read: {e}"))
            })?;
            sources.push((path.display().to_string(), text));
        }
    }
    sources.sort();
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    load_sources(&refs)
}

/// Loads a benchmark from `(file name, text)` pairs. Exactly one must be
/// named `profile.toml` (by its last path component). kubeharden's own
/// checks ([`super::OWN_CHECKS`]) join every profile that extends none; a
/// profile that extends another inherits them with the other's rules.
pub fn load_sources(sources: &[(&str, &str)]) -> Result<Benchmark, BenchError> {
    load_at_depth(sources, 0)
}

pub(super) fn load_at_depth(
    sources: &[(&str, &str)],
    depth: usize,
) -> Result<Benchmark, BenchError> {
    let mut problems = Vec::new();
    let mut profile = None;
    let mut rules = Vec::new();
    let mut sections: Vec<(String, String, String, usize)> = Vec::new();
    for (name, text) in sources {
        let is_profile = Path::new(name)
            .file_name()
            .is_some_and(|f| f == PROFILE_FILE);
        let doc = parse_file(
            name,
            text,
            is_profile,
            &mut problems,
            &mut rules,
            &mut sections,
        );
        if doc.is_some() {
            profile = doc;
        }
    }
    let Some(profile) = profile else {
        problems.push(Problem {
            file: sources
                .first()
                .map(|(n, _)| n.to_string())
                .unwrap_or_else(|| "<benchmark>".into()),
            line: 0,
            message: format!("no {PROFILE_FILE} in the benchmark"),
        });
        return Err(BenchError { problems });
    };
    let own_rule_count = rules.len();
    let profile_file = sources
        .iter()
        .map(|(n, _)| *n)
        .find(|n| Path::new(n).file_name().is_some_and(|f| f == PROFILE_FILE))
        .unwrap_or(PROFILE_FILE)
        .to_string();
    let at = |line: usize| Problem {
        file: profile_file.clone(),
        line,
        message: String::new(),
    };

    // What this profile starts from: the profile it extends, or an empty
    // one with kubeharden's own checks.
    let mut base: Vec<Rule> = Vec::new();
    let mut base_sections: BTreeMap<String, String> = BTreeMap::new();
    let mut base_severity: BTreeMap<String, Severity> = BTreeMap::new();
    match &profile.extends {
        Some((parent, line)) => {
            let loaded = if depth >= MAX_EXTENDS {
                Err(format!(
                    "extends {parent:?}: profiles may extend at most {MAX_EXTENDS} deep (a loop?)"
                ))
            } else if *parent == profile.bench.id {
                Err(format!(
                    "extends {parent:?}: a profile cannot extend itself"
                ))
            } else {
                super::builtin::load_builtin_at(parent, depth + 1).map_err(|e| {
                    format!(
                        "extends {parent:?}: {}",
                        e.to_string().trim_end().replace('\n', "\n   ")
                    )
                })
            };
            match loaded {
                Ok(p) => {
                    base = p.rules;
                    base_sections = p.sections;
                    base_severity = p.section_severity;
                }
                Err(message) => problems.push(Problem {
                    message,
                    ..at(*line)
                }),
            }
        }
        None => {
            let (name, text) = super::OWN_CHECKS;
            parse_file(name, text, false, &mut problems, &mut rules, &mut sections);
        }
    }
    let ProfileDoc {
        mut bench,
        sections_at,
        extends,
        removed,
        severity: own_defaults,
        checks,
    } = profile;
    let mut severity = base_severity;
    severity.extend(own_defaults);
    if extends.is_none() && bench.sections.is_empty() {
        problems.push(Problem {
            message: "missing required table [sections]".into(),
            ..at(0)
        });
    }
    let mut all_sections = base_sections;
    all_sections.extend(bench.sections.clone());
    for (id, title, file, line) in sections {
        match all_sections.get(&id) {
            Some(t) if *t != title => problems.push(Problem {
                file,
                line,
                message: format!("section {id:?} is titled {t:?} elsewhere"),
            }),
            _ => {
                all_sections.insert(id, title);
            }
        }
    }
    bench.sections = all_sections;

    // Inherited rules this version of the benchmark does not have.
    for (id, line) in &removed {
        match base.iter().position(|r| &r.id == id) {
            Some(i) => {
                base.remove(i);
            }
            None => problems.push(Problem {
                message: format!(
                    "removed: {id:?} is not a check of {}",
                    extends
                        .as_ref()
                        .map(|(p, _)| p.as_str())
                        .unwrap_or("an extended profile (this profile extends none)")
                ),
                ..at(*line)
            }),
        }
    }

    // Checks across files: unique ids, known sections, a severity.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut added = Vec::new();
    for p in rules {
        let Parsed {
            mut rule,
            file,
            id_line,
            severity: own_severity,
            replaces,
        } = p;
        let mut problem = |message: String| {
            problems.push(Problem {
                file: file.clone(),
                line: id_line,
                message,
            })
        };
        if let Some(first) = seen.insert(rule.id.clone(), rule.origin.clone()) {
            problem(format!(
                "rule id {:?} is defined twice (first at {first})",
                rule.id
            ));
        }
        if !bench.sections.contains_key(&rule.section) {
            problem(format!(
                "rule {}: section {:?} is not listed in {PROFILE_FILE} [sections]{}",
                rule.id, rule.section, sections_at
            ));
        }
        match own_severity.or_else(|| section_default(&severity, &rule.section)) {
            Some(s) => rule.severity = s,
            None => problem(format!(
                "rule {}: no severity: give the rule one, or its section a default in {PROFILE_FILE} [severity]",
                rule.id
            )),
        }
        let inherited = base.iter().position(|r| r.id == rule.id);
        if removed.iter().any(|(id, _)| *id == rule.id) {
            problem(format!(
                "rule {}: listed in removed and defined again; drop one",
                rule.id
            ));
        }
        match (inherited, replaces) {
            (Some(i), true) => base[i] = rule,
            (Some(_), false) => problem(format!(
                "rule {}: {} already has this check; write replaces = true to change it, or list it in removed",
                rule.id,
                extends.as_ref().map(|(p, _)| p.as_str()).unwrap_or("")
            )),
            (None, true) => problem(format!(
                "rule {}: replaces = true, but {} has no such check",
                rule.id,
                extends
                    .as_ref()
                    .map(|(p, _)| p.as_str())
                    .unwrap_or("no extended profile")
            )),
            (None, false) => added.push(rule),
        }
    }
    if own_rule_count == 0 && extends.is_none() && problems.is_empty() {
        problems.push(Problem {
            message: "the benchmark has no rules".to_string(),
            ..at(0)
        });
    }
    let mut all = base;
    all.extend(added);

    // Changes to single checks: disabled, retitled, re-rated.
    for o in checks {
        let Some(rule) = all.iter_mut().find(|r| r.id == o.id) else {
            problems.push(Problem {
                message: format!("checks.{:?}: no check of the catalog has this id", o.id),
                ..at(o.line)
            });
            continue;
        };
        if let Some(d) = o.disabled {
            rule.disabled = Some(d);
        }
        if let Some(t) = o.title {
            rule.title = t;
        }
        if let Some(s) = o.severity {
            rule.severity = s;
        }
        if let Some(s) = o.scored {
            rule.scored = s;
        }
    }
    if !problems.is_empty() {
        return Err(BenchError { problems });
    }
    bench.extends = extends.map(|(p, _)| p);
    bench.section_severity = severity;
    bench.rules = all;
    bench.rules.sort_by(|a, b| cmp_ids(&a.id, &b.id));
    Ok(bench)
}

/// Parses one file: the profile (returned) or a rule file (into `rules`
/// and `sections`).
fn parse_file(
    name: &str,
    text: &str,
    is_profile: bool,
    problems: &mut Vec<Problem>,
    rules: &mut Vec<Parsed>,
    sections: &mut Vec<(String, String, String, usize)>,
) -> Option<ProfileDoc> {
    let mut cx = Cx {
        file: name,
        newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        problems,
    };
    let (doc, errors) = DeTable::parse_recoverable(text);
    for (span, message) in crate::util::toml_syntax::syntax_errors(text, &errors) {
        let line = cx.line(span.start);
        cx.problems.push(Problem {
            file: name.to_string(),
            line,
            message,
        });
    }
    if is_profile {
        Some(cx.profile(doc.get_ref()))
    } else {
        cx.rules(doc.get_ref(), rules, sections);
        None
    }
}

/// The default severity of a section, or of the nearest section above it
/// (`1.2` for `1.2.3`, then `1`).
fn section_default(defaults: &BTreeMap<String, Severity>, section: &str) -> Option<Severity> {
    let mut s = section;
    loop {
        if let Some(v) = defaults.get(s) {
            return Some(*v);
        }
        s = s.rsplit_once('.')?.0;
    }
}

/// Orders check ids numerically part by part: 1.2.9 before 1.2.10.
pub fn cmp_ids(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split('.')
            .map(|p| (p.parse().unwrap_or(u64::MAX), p.to_string()))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

type Val<'i> = Spanned<DeValue<'i>>;

struct Cx<'a> {
    file: &'a str,
    /// Byte offsets of every newline, to turn spans into line numbers.
    newlines: Vec<usize>,
    problems: &'a mut Vec<Problem>,
}

impl Cx<'_> {
    fn line(&self, offset: usize) -> usize {
        // Newlines before `offset`, plus one.
        self.newlines.partition_point(|&nl| nl < offset) + 1
    }

    fn err(&mut self, span: Range<usize>, message: String) {
        let line = self.line(span.start);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    fn unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], what: &str) {
        for (k, _) in table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.err(
                    k.span(),
                    format!(
                        "unknown key {:?} in {what} (allowed: {})",
                        k.get_ref(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn string(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        span: Range<usize>,
        what: &str,
    ) -> Option<String> {
        match table.get(key) {
            Some(v) => match v.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
                DeValue::String(_) => {
                    self.err(v.span(), format!("{what}: {key} must not be empty"));
                    None
                }
                _ => {
                    self.err(v.span(), format!("{what}: {key} must be a string"));
                    None
                }
            },
            None => {
                self.err(span, format!("{what}: missing required key {key:?}"));
                None
            }
        }
    }

    fn opt_string(&mut self, table: &DeTable<'_>, key: &str, what: &str) -> Option<String> {
        let v = table.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.err(v.span(), format!("{what}: {key} must be a string"));
                None
            }
        }
    }

    fn profile(&mut self, doc: &DeTable<'_>) -> ProfileDoc {
        self.unknown_keys(doc, PROFILE_KEYS, PROFILE_FILE);
        let whole = 0..0;
        let id = self.string(doc, "id", whole.clone(), PROFILE_FILE);
        let title = self.string(doc, "title", whole.clone(), PROFILE_FILE);
        let version = self.string(doc, "version", whole.clone(), PROFILE_FILE);
        let kubernetes = self.opt_string(doc, "kubernetes", PROFILE_FILE);
        let extends = self.opt_string(doc, "extends", PROFILE_FILE).map(|p| {
            (
                p,
                self.line(doc.get("extends").expect("read above").span().start),
            )
        });
        let mut sections = BTreeMap::new();
        let mut sections_at = String::new();
        match doc.get("sections").map(|v| (v.span(), v.get_ref())) {
            Some((span, DeValue::Table(t))) => {
                sections_at = format!(" (line {})", self.line(span.start));
                self.section_table(t, &mut |id, title, _| {
                    sections.insert(id, title);
                });
            }
            Some((span, _)) => self.err(span, "sections must be a table".into()),
            None => {}
        }
        let mut removed = Vec::new();
        match doc.get("removed").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Array(items))) => {
                for i in items.iter() {
                    match i.get_ref() {
                        DeValue::String(s) => {
                            removed.push((s.to_string(), self.line(i.span().start)))
                        }
                        _ => self.err(i.span(), "removed: check ids must be strings".into()),
                    }
                }
            }
            Some((span, _)) => self.err(span, "removed must be an array of check ids".into()),
            None => {}
        }
        if extends.is_none() {
            if let Some(v) = doc.get("removed") {
                self.err(
                    v.span(),
                    "removed needs extends: it lists checks of the extended profile".into(),
                );
            }
        }
        let mut severity = BTreeMap::new();
        match doc.get("severity").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Table(t))) => {
                for (k, v) in t.iter() {
                    if let Some(s) = self.severity(v, &format!("severity.{:?}", k.get_ref())) {
                        severity.insert(k.get_ref().to_string(), s);
                    }
                }
            }
            Some((span, _)) => self.err(
                span,
                "severity must be a table of section = \"critical|high|medium|low|info\"".into(),
            ),
            None => {}
        }
        let mut checks = Vec::new();
        match doc.get("checks").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Table(t))) => {
                for (k, v) in t.iter() {
                    let id = k.get_ref().to_string();
                    let what = format!("checks.{id:?}");
                    let DeValue::Table(o) = v.get_ref() else {
                        self.err(v.span(), format!("{what} must be a table"));
                        continue;
                    };
                    self.unknown_keys(o, OVERRIDE_KEYS, &what);
                    let disabled = self.opt_string(o, "disabled", &what);
                    if let (Some(d), Some(v)) = (&disabled, o.get("disabled")) {
                        if d.trim().is_empty() {
                            self.err(v.span(), format!("{what}: disabled needs the reason"));
                        }
                    }
                    let title = self.opt_string(o, "title", &what);
                    let severity = o.get("severity").and_then(|v| self.severity(v, &what));
                    let scored = match o.get("scored").map(|v| (v.span(), v.get_ref())) {
                        Some((_, DeValue::Boolean(b))) => Some(*b),
                        Some((s, _)) => {
                            self.err(s, format!("{what}: scored must be true or false"));
                            None
                        }
                        None => None,
                    };
                    if o.is_empty() {
                        self.err(
                            v.span(),
                            format!(
                                "{what} changes nothing (keys: {})",
                                OVERRIDE_KEYS.join(", ")
                            ),
                        );
                    }
                    checks.push(Override {
                        id,
                        line: self.line(k.span().start),
                        disabled,
                        title,
                        severity,
                        scored,
                    });
                }
            }
            Some((span, _)) => self.err(
                span,
                "checks must be a table of [checks.\"<id>\"] tables".into(),
            ),
            None => {}
        }
        ProfileDoc {
            bench: Benchmark {
                id: id.unwrap_or_default(),
                title: title.unwrap_or_default(),
                version: version.unwrap_or_default(),
                kubernetes: kubernetes.unwrap_or_default(),
                extends: None,
                sections,
                section_severity: BTreeMap::new(),
                rules: Vec::new(),
            },
            sections_at,
            extends,
            removed,
            severity,
            checks,
        }
    }

    /// The entries of a `[sections]` table, each with its line.
    fn section_table(&mut self, t: &DeTable<'_>, add: &mut dyn FnMut(String, String, usize)) {
        for (k, v) in t.iter() {
            match v.get_ref() {
                DeValue::String(s) => add(
                    k.get_ref().to_string(),
                    s.to_string(),
                    self.line(k.span().start),
                ),
                _ => self.err(
                    v.span(),
                    format!("section {:?}: title must be a string", k.get_ref()),
                ),
            }
        }
    }

    fn severity(&mut self, v: &Val<'_>, what: &str) -> Option<Severity> {
        match v.get_ref() {
            DeValue::String(s) => match Severity::parse(s) {
                Some(x) => Some(x),
                None => {
                    self.err(
                        v.span(),
                        format!(
                            "{what}: severity {:?} is not one of {}",
                            s.as_ref(),
                            Severity::ALL.map(|s| s.as_str()).join(", ")
                        ),
                    );
                    None
                }
            },
            _ => {
                self.err(v.span(), format!("{what}: severity must be a string"));
                None
            }
        }
    }

    fn rules(
        &mut self,
        doc: &DeTable<'_>,
        out: &mut Vec<Parsed>,
        sections: &mut Vec<(String, String, String, usize)>,
    ) {
        for (k, v) in doc.iter() {
            if k.get_ref() == "sections" {
                match v.get_ref() {
                    DeValue::Table(t) => {
                        let file = self.file.to_string();
                        self.section_table(t, &mut |id, title, line| {
                            sections.push((id, title, file.clone(), line))
                        });
                    }
                    _ => self.err(v.span(), "sections must be a table".into()),
                }
                continue;
            }
            if k.get_ref() != "rule" {
                self.err(
                    k.span(),
                    format!(
                        "unknown top-level key {:?} (rule files hold [[rule]] tables and [sections])",
                        k.get_ref()
                    ),
                );
                continue;
            }
            let DeValue::Array(items) = v.get_ref() else {
                self.err(
                    v.span(),
                    "rule must be an array of tables: write [[rule]]".into(),
                );
                continue;
            };
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::Table(t) => {
                        if let Some(r) = self.rule(t, item.span()) {
                            out.push(r);
                        }
                    }
                    _ => self.err(item.span(), "each rule must be a table".into()),
                }
            }
        }
    }

    fn rule(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Parsed> {
        let before = self.problems.len();
        let id_line = t
            .get("id")
            .map(|v| self.line(v.span().start))
            .unwrap_or_else(|| self.line(span.start));
        let id = self.string(t, "id", span.clone(), "rule");
        let what = format!("rule {}", id.as_deref().unwrap_or("<no id>"));
        self.unknown_keys(t, RULE_KEYS, &what);
        let title = self.string(t, "title", span.clone(), &what);
        let section = self.string(t, "section", span.clone(), &what);
        let remediation = self.string(t, "remediation", span.clone(), &what);
        let guidance = self.opt_string(t, "guidance", &what);
        let scored = match t.get("scored").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Boolean(b))) => *b,
            Some((s, _)) => {
                self.err(s, format!("{what}: scored must be true or false"));
                false
            }
            None => {
                self.err(
                    span.clone(),
                    format!("{what}: missing required key \"scored\""),
                );
                false
            }
        };
        let level = match t.get("level").map(|v| (v.span(), v.get_ref())) {
            Some((s, DeValue::Integer(i))) => match i.as_str() {
                "1" => 1,
                "2" => 2,
                _ => {
                    self.err(s, format!("{what}: level must be 1 or 2"));
                    1
                }
            },
            Some((s, _)) => {
                self.err(s, format!("{what}: level must be 1 or 2"));
                1
            }
            None => 1,
        };
        let scope = match self.opt_string(t, "scope", &what).as_deref() {
            None | Some("node") => Scope::Node,
            Some("cluster") => Scope::Cluster,
            Some(other) => {
                let s = t.get("scope").map(|v| v.span()).unwrap_or(span.clone());
                self.err(s, format!("{what}: scope {other:?} is not node or cluster"));
                Scope::Node
            }
        };
        let targets = self.targets(t, scope, span.clone(), &what);
        let component = match t.get("component") {
            Some(v) => match v.get_ref() {
                DeValue::String(s) => match ComponentKind::parse(s) {
                    Some(c) => Some(c),
                    None => {
                        self.err(
                            v.span(),
                            format!("{what}: unknown component {:?}", s.as_ref()),
                        );
                        None
                    }
                },
                _ => {
                    self.err(v.span(), format!("{what}: component must be a string"));
                    None
                }
            },
            None => None,
        };
        if scope == Scope::Cluster && component.is_some() {
            let s = t.get("component").map(|v| v.span()).unwrap_or(span.clone());
            self.err(
                s,
                format!("{what}: a cluster-scope rule cannot name a component"),
            );
        }
        let check = t.get("check").and_then(|v| self.check(v, &what));
        let builtin = match t.get("builtin").map(|v| (v.span(), v.get_ref())) {
            Some((s, DeValue::String(name))) => match BuiltinCheck::parse(name) {
                Ok(b) => Some((b, s)),
                Err(e) => {
                    self.err(s, format!("{what}: {e}"));
                    None
                }
            },
            Some((s, _)) => {
                self.err(s, format!("{what}: builtin must be a string"));
                None
            }
            None => None,
        };
        let has_builtin = t.get("builtin").is_some();
        match (&check, t.get("check"), &guidance) {
            _ if has_builtin => {}
            (None, None, None) => self.err(
                span.clone(),
                format!("{what}: a rule needs a check, or guidance when it is manual"),
            ),
            (Some(_), _, _) if scope == Scope::Cluster => self.err(
                t.get("check").map(|v| v.span()).unwrap_or(span.clone()),
                format!("{what}: cluster-scope rules are manual or built in; a fact test cannot judge the cluster"),
            ),
            _ => {}
        }
        if let Some((b, bspan)) = builtin.clone() {
            self.builtin_fits(
                t,
                b,
                bspan,
                scope,
                &targets,
                component,
                id.as_deref(),
                &what,
            );
        }
        let severity = t.get("severity").and_then(|v| self.severity(v, &what));
        let replaces = match t.get("replaces").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Boolean(b))) => *b,
            Some((s, _)) => {
                self.err(s, format!("{what}: replaces must be true or false"));
                false
            }
            None => false,
        };
        if self.problems.len() != before {
            return None;
        }
        let origin = format!("{}:{}", self.file, id_line);
        Some(Parsed {
            rule: Rule {
                id: id?,
                title: title?,
                section: section?,
                scored,
                level,
                // Resolved with the profile's section defaults.
                severity: severity.unwrap_or(Severity::Medium),
                scope,
                targets,
                component,
                remediation: remediation?,
                guidance,
                check,
                builtin: builtin.map(|(b, _)| b),
                disabled: None,
                origin,
            },
            file: self.file.to_string(),
            id_line,
            severity,
            replaces,
        })
    }

    /// A rule decided by a built-in: no fact test, no guidance, the
    /// decider's scope, its component, and the id it reports under.
    #[allow(clippy::too_many_arguments)]
    fn builtin_fits(
        &mut self,
        t: &DeTable<'_>,
        b: BuiltinCheck,
        bspan: Range<usize>,
        scope: Scope,
        targets: &Targets,
        component: Option<ComponentKind>,
        id: Option<&str>,
        what: &str,
    ) {
        // An API check keeps its guidance: it is what a person does when
        // the objects were not read (`scan --no-api`, older facts).
        let api = matches!(b, BuiltinCheck::Api(_));
        for key in ["check", "guidance"] {
            if key == "guidance" && api {
                continue;
            }
            if let Some(v) = t.get(key) {
                self.err(
                    v.span(),
                    format!(
                        "{what}: a rule decided by builtin {} has no {key}",
                        b.as_str()
                    ),
                );
            }
        }
        if scope != b.scope() {
            self.err(
                bspan.clone(),
                format!(
                    "{what}: builtin {} judges {}; write scope = {:?}",
                    b.as_str(),
                    if b.scope() == Scope::Cluster {
                        "the cluster"
                    } else {
                        "each node"
                    },
                    if b.scope() == Scope::Cluster {
                        "cluster"
                    } else {
                        "node"
                    }
                ),
            );
        }
        if scope == Scope::Node && *targets != Targets::Any {
            self.err(
                t.get("targets").map(|v| v.span()).unwrap_or(bspan.clone()),
                format!(
                    "{what}: builtin {} decides where it applies; write targets = [\"any\"]",
                    b.as_str()
                ),
            );
        }
        match (b.per_component(), component) {
            (true, None) => self.err(
                bspan.clone(),
                format!(
                    "{what}: builtin {} needs the component it judges",
                    b.as_str()
                ),
            ),
            (false, Some(_)) => self.err(
                t.get("component")
                    .map(|v| v.span())
                    .unwrap_or(bspan.clone()),
                format!("{what}: builtin {} takes no component", b.as_str()),
            ),
            _ => {}
        }
        if let (BuiltinCheck::Drift, Some(c)) = (b, component) {
            if !DRIFT_COMPONENTS.contains(&c) {
                self.err(
                    bspan.clone(),
                    format!("{what}: {c} has no static-pod manifest to drift from"),
                );
            }
        }
        if let (Some(id), false) = (id, api) {
            let want = b.id(component);
            if (!b.per_component() || component.is_some()) && id != want {
                self.err(
                    t.get("id").map(|v| v.span()).unwrap_or(bspan),
                    format!(
                        "{what}: builtin {} reports under the id {want:?}",
                        b.as_str()
                    ),
                );
            }
        }
    }

    fn targets(
        &mut self,
        t: &DeTable<'_>,
        scope: Scope,
        span: Range<usize>,
        what: &str,
    ) -> Targets {
        let Some(v) = t.get("targets") else {
            if scope == Scope::Node {
                self.err(
                    span,
                    format!("{what}: node rules need targets (roles, or [\"any\"])"),
                );
            }
            return Targets::Any;
        };
        if scope == Scope::Cluster {
            self.err(
                v.span(),
                format!("{what}: a cluster-scope rule has no targets"),
            );
            return Targets::Any;
        }
        let DeValue::Array(items) = v.get_ref() else {
            self.err(
                v.span(),
                format!("{what}: targets must be an array of roles"),
            );
            return Targets::Any;
        };
        let mut roles = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if s == "any" && items.len() == 1 => return Targets::Any,
                DeValue::String(s) => match Role::parse(s) {
                    Some(r) => roles.push(r),
                    None => self.err(
                        item.span(),
                        format!(
                            "{what}: unknown target {:?} (control-plane, etcd, worker or any)",
                            s.as_ref()
                        ),
                    ),
                },
                _ => self.err(item.span(), format!("{what}: targets must be strings")),
            }
        }
        if roles.is_empty() {
            self.err(v.span(), format!("{what}: targets is empty"));
        }
        Targets::Roles(roles)
    }

    fn check(&mut self, v: &Val<'_>, what: &str) -> Option<Check> {
        let DeValue::Table(t) = v.get_ref() else {
            self.err(v.span(), format!("{what}: check must be a table"));
            return None;
        };
        for combinator in ["all", "any"] {
            if let Some(list) = t.get(combinator) {
                if t.len() != 1 {
                    self.err(
                        v.span(),
                        format!("{what}: {combinator} cannot be mixed with other keys"),
                    );
                    return None;
                }
                let DeValue::Array(items) = list.get_ref() else {
                    self.err(
                        list.span(),
                        format!("{what}: {combinator} must be an array of checks"),
                    );
                    return None;
                };
                if items.len() < 2 {
                    self.err(
                        list.span(),
                        format!("{what}: {combinator} needs at least two checks"),
                    );
                }
                let members: Vec<Option<Check>> =
                    items.iter().map(|i| self.check(i, what)).collect();
                let members: Option<Vec<Check>> = members.into_iter().collect();
                let members = members?;
                return Some(if combinator == "all" {
                    Check::All(members)
                } else {
                    Check::Any(members)
                });
            }
        }
        self.unknown_keys(t, TEST_KEYS, &format!("{what} check"));
        self.test(t, v.span(), what).map(Check::Test)
    }

    fn test(&mut self, t: &DeTable<'_>, span: Range<usize>, what: &str) -> Option<Test> {
        let fact_v = t.get("fact");
        let fact = match fact_v.map(|v| (v.span(), v.get_ref())) {
            Some((s, DeValue::String(name))) => match Fact::parse(name) {
                Ok(f) => Some((f, s)),
                Err(e) => {
                    self.err(s, format!("{what}: {e}"));
                    None
                }
            },
            Some((s, _)) => {
                self.err(s, format!("{what}: fact must be a string"));
                None
            }
            None => {
                self.err(span.clone(), format!("{what}: check is missing \"fact\""));
                None
            }
        };
        let op = match t.get("op").map(|v| (v.span(), v.get_ref())) {
            Some((s, DeValue::String(name))) => match Op::parse(name) {
                Some(o) => Some((o, s)),
                None => {
                    let known: Vec<&str> = Op::ALL.iter().map(|o| o.as_str()).collect();
                    self.err(
                        s,
                        format!(
                            "{what}: unknown operator {:?} (known: {})",
                            name.as_ref(),
                            known.join(", ")
                        ),
                    );
                    None
                }
            },
            Some((s, _)) => {
                self.err(s, format!("{what}: op must be a string"));
                None
            }
            None => {
                self.err(span.clone(), format!("{what}: check is missing \"op\""));
                None
            }
        };
        let ((fact, fact_span), (op, op_span)) = (fact?, op?);
        let value = self.expected(t, op, span.clone(), what)?;

        // The operator must suit the fact.
        let is_file = matches!(fact, Fact::File { .. });
        let fits = match fact {
            Fact::File {
                attr: FileAttr::Mode,
                ..
            } => op == Op::ModeAtMost,
            Fact::File {
                attr: FileAttr::Owner,
                ..
            } => op == Op::OwnerIs,
            Fact::AuditConcern(_) => op.is_level_op(),
            _ => !op.is_file_op() && !op.is_level_op(),
        };
        if !fits {
            let s = if is_file { fact_span } else { op_span };
            self.err(
                s,
                format!("{what}: operator {} cannot test {fact}", op.as_str()),
            );
            return None;
        }
        match (op, &value) {
            (Op::ModeAtMost, Expected::Str(m)) if Mode::parse_octal(m).is_none() => {
                self.err(span, format!("{what}: {m:?} is not an octal file mode"));
                return None;
            }
            (Op::LevelAtMost | Op::LevelAtLeast, Expected::Str(l))
                if crate::k8s::audit::Level::parse(l).is_none() =>
            {
                self.err(
                    span,
                    format!(
                        "{what}: {l:?} is not an audit level (None, Metadata, Request, RequestResponse)"
                    ),
                );
                return None;
            }
            (Op::OwnerIs, Expected::Str(o)) if !o.contains(':') => {
                self.err(span, format!("{what}: owner {o:?} must be user:group"));
                return None;
            }
            (Op::Gte | Op::Lte, Expected::Str(n))
                if n.parse::<f64>().is_err()
                    && !(fact.kind() == ValueKind::Duration
                        && crate::k8s::value::parse_go_duration(n).is_some()) =>
            {
                self.err(
                    span,
                    format!("{what}: {} needs a number, not {n:?}", op.as_str()),
                );
                return None;
            }
            (Op::Eq | Op::NotEq, Expected::Str(b))
                if fact.kind() == ValueKind::Bool
                    && crate::k8s::value::parse_go_bool(b).is_none() =>
            {
                self.err(span, format!("{what}: {fact} is a boolean; {b:?} is not"));
                return None;
            }
            _ => {}
        }
        Some(Test { fact, op, value })
    }

    fn expected(
        &mut self,
        t: &DeTable<'_>,
        op: Op,
        span: Range<usize>,
        what: &str,
    ) -> Option<Expected> {
        let v = t.get("value");
        match (op.value_shape(), v.map(|v| (v.span(), v.get_ref()))) {
            (ValueShape::None, None) => Some(Expected::None),
            (ValueShape::None, Some((s, _))) => {
                self.err(
                    s,
                    format!("{what}: operator {} takes no value", op.as_str()),
                );
                None
            }
            (_, None) => {
                self.err(
                    span,
                    format!("{what}: operator {} needs a value", op.as_str()),
                );
                None
            }
            (ValueShape::Str, Some((_, DeValue::String(s)))) => Some(Expected::Str(s.to_string())),
            (ValueShape::List, Some((s, DeValue::Array(items)))) => {
                let mut out = Vec::new();
                for i in items.iter() {
                    match i.get_ref() {
                        DeValue::String(x) => out.push(x.to_string()),
                        _ => {
                            self.err(
                                i.span(),
                                format!("{what}: {} takes an array of strings", op.as_str()),
                            );
                            return None;
                        }
                    }
                }
                if out.is_empty() {
                    self.err(
                        s,
                        format!("{what}: {} needs a non-empty array", op.as_str()),
                    );
                    return None;
                }
                Some(Expected::List(out))
            }
            (ValueShape::Str, Some((s, _))) => {
                self.err(
                    s,
                    format!("{what}: value must be a string (quote numbers and booleans)"),
                );
                None
            }
            (ValueShape::List, Some((s, _))) => {
                self.err(
                    s,
                    format!("{what}: {} needs an array of strings", op.as_str()),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "id = \"t\"\ntitle = \"T\"\nversion = \"1\"\n[sections]\n\"1.2\" = \"API server\"\n[severity]\n\"1\" = \"high\"\n";

    fn load(rules: &str) -> Result<Benchmark, BenchError> {
        load_sources(&[("profile.toml", PROFILE), ("rules.toml", rules)])
    }

    #[test]
    fn a_valid_rule_loads() {
        let b = load(
            r#"
[[rule]]
id = "1.2.15"
title = "Profiling is off"
section = "1.2"
scored = true
targets = ["control-plane"]
component = "apiserver"
remediation = "Set --profiling=false."
[rule.check]
fact = "flag:apiserver:--profiling"
op = "eq"
value = "false"
"#,
        )
        .unwrap();
        let rules: Vec<&Rule> = b.rules.iter().filter(|r| r.builtin.is_none()).collect();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].severity, Severity::High, "the section default");
        assert!(
            b.rules.iter().any(|r| r.id == "tls.min-version"),
            "kubeharden's own checks join every profile"
        );
        assert_eq!(
            rules[0].check.as_ref().unwrap().describe(),
            "kube-apiserver --profiling = false"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = r#"[[rule]]
id = "1.2.1"
title = "x"
section = "1.2"
scored = true
targets = ["control-plane"]
remediation = "r"
colour = "blue"
[rule.check]
fact = "flag:apiserver:--no-such-flag"
op = "eq"
value = "false"

[[rule]]
id = "1.2.2"
title = "y"
section = "9.9"
scored = true
targets = ["control-plane"]
remediation = "r"
[rule.check]
fact = "flag:apiserver:--profiling"
op = "equals"
value = "false"
"#;
        let err = load(text).unwrap_err();
        let got: Vec<(usize, &str)> = err
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert!(
            got.iter()
                .any(|(l, m)| *l == 8 && m.contains("unknown key \"colour\"")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(l, m)| *l == 10 && m.contains("not a known apiserver flag")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(l, m)| *l == 23 && m.contains("unknown operator \"equals\"")),
            "{got:?}"
        );
        assert!(err.problems.iter().all(|p| p.file == "rules.toml"), "{err}");
        assert_eq!(err.problems.len(), 3, "{err}");
    }

    #[test]
    fn section_not_in_profile_is_an_error_even_when_the_rule_is_fine() {
        let err = load(
            "[[rule]]\nid = \"9\"\ntitle = \"x\"\nsection = \"9.9\"\nscored = false\nscope = \"cluster\"\nremediation = \"r\"\nguidance = \"g\"\n",
        )
        .unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.line == 2 && p.message.contains("section \"9.9\"")),
            "{err}"
        );
    }

    #[test]
    fn toml_syntax_errors_name_the_line() {
        let err = load("[[rule]]\nid = \"1\"\ntitle = \n").unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.line == 3 && p.message.starts_with("TOML syntax")),
            "{err}"
        );
    }

    #[test]
    fn operators_must_fit_their_facts_and_values() {
        let err = load(
            r#"[[rule]]
id = "1"
title = "x"
section = "1.2"
scored = true
targets = ["control-plane"]
remediation = "r"
[rule.check]
all = [
  { fact = "file:pki.key:mode", op = "owner-is", value = "root:root" },
  { fact = "flag:apiserver:--profiling", op = "eq", value = "maybe" },
  { fact = "flag:apiserver:--audit-log-maxage", op = "gte", value = "thirty" },
  { fact = "file:pki.key:mode", op = "mode-at-most", value = "0999" },
  { fact = "flag:apiserver:--profiling", op = "present", value = "x" },
]
"#,
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
    }

    #[test]
    fn audit_level_operators_fit_only_audit_concerns() {
        let err = load(
            r#"[[rule]]
id = "1"
title = "x"
section = "1.2"
scored = true
targets = ["control-plane"]
remediation = "r"
[rule.check]
all = [
  { fact = "audit:secrets", op = "level-at-most", value = "Metadata" },
  { fact = "audit:secrets", op = "level-at-most", value = "Everything" },
  { fact = "audit:secrets", op = "eq", value = "Metadata" },
  { fact = "flag:apiserver:--profiling", op = "level-at-least", value = "None" },
  { fact = "audit:policy", op = "eq", value = "loaded" },
]
"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(
            text.contains("\"Everything\" is not an audit level"),
            "{err}"
        );
        assert!(
            text.contains("operator eq cannot test audit:secrets"),
            "{err}"
        );
        assert!(
            text.contains("operator level-at-least cannot test flag:apiserver:--profiling"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids_are_reported() {
        let rule = "[[rule]]\nid = \"1\"\ntitle = \"x\"\nsection = \"1.2\"\nscored = false\nscope = \"cluster\"\nremediation = \"r\"\nguidance = \"g\"\n";
        let err = load(&format!("{rule}{rule}")).unwrap_err();
        assert!(err.problems[0].message.contains("defined twice"), "{err}");
        assert_eq!(err.problems[0].line, 10);
    }

    const OWN_STYLE: &str = "[[rule]]\nid = \"tls.min-version\"\ntitle = \"x\"\nsection = \"1.2\"\nscored = true\ntargets = [\"any\"]\nremediation = \"r\"\n";

    #[test]
    fn builtins_are_a_closed_typed_set_checked_with_their_line() {
        // Unknown decider: named with its line and the known names.
        let err = load(&format!("{OWN_STYLE}builtin = \"tls.min_version\"\n")).unwrap_err();
        assert!(
            err.problems.iter().any(|p| p.line == 8
                && p.file == "rules.toml"
                && p.message.contains("unknown builtin \"tls.min_version\"")
                && p.message.contains("tls.weak-ciphers")),
            "{err}"
        );
        // A second rule for an own check is a duplicate of the catalog's.
        let err = load(&format!("{OWN_STYLE}builtin = \"tls.min-version\"\n")).unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
        // Per-component deciders need their component, and report under
        // `<name>.<component>`; drift only where a manifest exists.
        let err = load(
            "[[rule]]\nid = \"drift.x\"\ntitle = \"x\"\nsection = \"1.2\"\nscored = true\ntargets = [\"any\"]\nremediation = \"r\"\ncomponent = \"kubelet\"\nbuiltin = \"drift\"\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("kubelet has no static-pod manifest"), "{err}");
        assert!(
            text.contains("reports under the id \"drift.kubelet\""),
            "{err}"
        );
        // A fact test and a builtin cannot both decide.
        let err = load(
            "[[rule]]\nid = \"cert.x\"\ntitle = \"x\"\nsection = \"1.2\"\nscored = true\nscope = \"cluster\"\nremediation = \"r\"\nbuiltin = \"cert.expiry\"\nguidance = \"g\"\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("has no guidance"), "{err}");
        assert!(text.contains("judges each node"), "{err}");
    }

    fn with_profile(extra: &str) -> Result<Benchmark, BenchError> {
        let profile = format!("{PROFILE}{extra}");
        load_sources(&[
            ("profile.toml", profile.as_str()),
            (
                "rules.toml",
                "[[rule]]\nid = \"1.2.1\"\ntitle = \"x\"\nsection = \"1.2\"\nscored = true\nseverity = \"critical\"\ntargets = [\"control-plane\"]\nremediation = \"r\"\n[rule.check]\nfact = \"flag:apiserver:--profiling\"\nop = \"eq\"\nvalue = \"false\"\n",
            ),
        ])
    }

    #[test]
    fn a_profile_disables_and_relabels_checks_by_id() {
        let b = with_profile(
            "[checks.\"tls.plaintext\"]\ndisabled = \"our ingress terminates TLS\"\n[checks.\"cert.expiry\"]\ntitle = \"Renewed in time\"\nseverity = \"low\"\nscored = false\n[checks.\"1.2.1\"]\nseverity = \"low\"\n",
        )
        .unwrap();
        let r = b.rule("tls.plaintext").unwrap();
        assert_eq!(r.disabled.as_deref(), Some("our ingress terminates TLS"));
        let r = b.rule("cert.expiry").unwrap();
        assert_eq!(
            (r.title.as_str(), r.severity, r.scored),
            ("Renewed in time", Severity::Low, false)
        );
        assert_eq!(b.rule("1.2.1").unwrap().severity, Severity::Low);

        let err = with_profile(
            "[checks.\"tls.plain\"]\ndisabled = \"x\"\n[checks.\"1.2.1\"]\nseverity = \"urgent\"\ncolour = \"red\"\n",
        )
        .unwrap_err();
        let got: Vec<(usize, &str)> = err
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert!(
            got.iter()
                .any(|(l, m)| *l == 8 && m.contains("no check of the catalog has this id")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(l, m)| *l == 11 && m.contains("\"urgent\" is not one of")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(l, m)| *l == 12 && m.contains("unknown key \"colour\"")),
            "{got:?}"
        );
    }

    fn child(profile: &str, rules: &str) -> Result<Benchmark, BenchError> {
        load_sources(&[("profile.toml", profile), ("rules.toml", rules)])
    }

    const CHILD: &str = "id = \"c\"\ntitle = \"C\"\nversion = \"1\"\nkubernetes = \"1.30\"\nextends = \"cis-1.12\"\n";

    #[test]
    fn a_profile_extends_another_with_removals_replacements_and_additions() {
        let b = child(
            &format!("{CHILD}removed = [\"1.2.30\"]\n[sections]\n\"9\" = \"Extra\"\n[severity]\n\"9\" = \"low\"\n"),
            "[[rule]]\nid = \"1.2.15\"\nreplaces = true\ntitle = \"Profiling may stay\"\nsection = \"1.2\"\nscored = false\ntargets = [\"control-plane\"]\ncomponent = \"apiserver\"\nremediation = \"r\"\n[rule.check]\nfact = \"flag:apiserver:--profiling\"\nop = \"present\"\n\n[[rule]]\nid = \"9.1\"\ntitle = \"x\"\nsection = \"9\"\nscored = false\nscope = \"cluster\"\nremediation = \"r\"\nguidance = \"g\"\n",
        )
        .unwrap();
        let parent = super::super::load_builtin("cis-1.12").unwrap();
        assert_eq!(b.extends.as_deref(), Some("cis-1.12"));
        assert_eq!(b.rules.len(), parent.rules.len() - 1 + 1);
        assert!(b.rule("1.2.30").is_none());
        let r = b.rule("1.2.15").unwrap();
        assert_eq!((r.title.as_str(), r.scored), ("Profiling may stay", false));
        // Its severity: the parent's section default (1 -> medium).
        assert_eq!(r.severity, Severity::Medium);
        assert_eq!(b.rule("9.1").unwrap().severity, Severity::Low);
        assert_eq!(b.section_title("1.2"), parent.section_title("1.2"));
        assert!(
            b.rule("tls.min-version").is_some(),
            "own checks come with the parent"
        );
    }

    #[test]
    fn extends_is_validated_with_lines() {
        let err = child(
            "id = \"c\"\ntitle = \"C\"\nversion = \"1\"\nextends = \"cis-9.9\"\nremoved = [\"1.2.30\"]\n",
            "",
        )
        .unwrap_err();
        assert!(
            err.problems.iter().any(|p| p.line == 4
                && p.message.contains("extends \"cis-9.9\"")
                && p.message.contains("no built-in benchmark")),
            "{err}"
        );
        let err = child(
            &format!("{CHILD}removed = [\n  \"1.2.30\",\n  \"1.2.99\",\n]\n"),
            "[[rule]]\nid = \"1.2.15\"\ntitle = \"x\"\nsection = \"1.2\"\nscored = true\ntargets = [\"control-plane\"]\nremediation = \"r\"\n[rule.check]\nfact = \"flag:apiserver:--profiling\"\nop = \"present\"\n\n[[rule]]\nid = \"1.2.98\"\nreplaces = true\ntitle = \"x\"\nsection = \"1.2\"\nscored = true\ntargets = [\"control-plane\"]\nremediation = \"r\"\n[rule.check]\nfact = \"flag:apiserver:--profiling\"\nop = \"present\"\n",
        )
        .unwrap_err();
        let got: Vec<(&str, usize, &str)> = err
            .problems
            .iter()
            .map(|p| (p.file.as_str(), p.line, p.message.as_str()))
            .collect();
        assert!(
            got.iter().any(|(f, l, m)| *f == "profile.toml"
                && *l == 8
                && m.contains("\"1.2.99\" is not a check of cis-1.12")),
            "{got:?}"
        );
        assert!(
            got.iter().any(|(f, l, m)| *f == "rules.toml"
                && *l == 2
                && m.contains("write replaces = true")),
            "{got:?}"
        );
        assert!(
            got.iter().any(|(f, l, m)| *f == "rules.toml"
                && *l == 13
                && m.contains("replaces = true, but cis-1.12 has no such check")),
            "{got:?}"
        );
        assert_eq!(err.problems.len(), 3, "{err}");
        // removed without extends.
        let err = child(&format!("removed = [\"1.2.1\"]\n{PROFILE}"), "").unwrap_err();
        assert!(err.to_string().contains("removed needs extends"), "{err}");
        // A profile cannot extend itself (or loop).
        let err = child(
            "id = \"cis-1.12\"\ntitle = \"C\"\nversion = \"1\"\nextends = \"cis-1.12\"\n",
            "",
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot extend itself"), "{err}");
    }

    #[test]
    fn ids_sort_numerically() {
        let mut ids = vec!["1.2.10", "1.2.9", "2.1", "1.10.1", "1.2"];
        ids.sort_by(|a, b| cmp_ids(a, b));
        assert_eq!(ids, vec!["1.2", "1.2.9", "1.2.10", "1.10.1", "2.1"]);
    }
}
