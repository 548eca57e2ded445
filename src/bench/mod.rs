//! Benchmarks as data: rules loaded from TOML, validated, and typed.
//!
//! A rule names a fact (see [`Fact`]) and an operator, never a command: which
//! commands run on a node is for the collectors to decide. The format is
//! documented in `docs/benchmark-format.md`.
//!
//! Loading validates everything it can (unknown keys, operators, fact names,
//! values of the wrong shape) and reports every problem with its file and line,
//! so a benchmark author fixes a file in one pass rather than one error at a time.

mod builtin;
mod fact;
mod load;
mod own;
pub mod render;
pub mod select;

use std::collections::BTreeMap;
use std::fmt;

pub use crate::k8s::files::{FileAttr, FileRef};
pub use builtin::{BUILTIN, OWN_CHECKS, builtin_ids, load_builtin};
pub use fact::Fact;
pub use load::{BenchError, Problem, cmp_ids, load_dir, load_sources};
pub use own::{ApiCheck, BuiltinCheck, DRIFT_COMPONENTS};

use crate::facts::{ComponentKind, Role};
pub use crate::verdict::Severity;

/// A loaded benchmark profile.
#[derive(Clone, Debug)]
pub struct Benchmark {
    pub id: String,
    pub title: String,
    pub version: String,
    /// Kubernetes versions the profile is written for, e.g. `1.32-1.34`.
    pub kubernetes: String,
    /// The profile this one is written as changes to (`extends`).
    pub extends: Option<String>,
    /// Section id to title.
    pub sections: BTreeMap<String, String>,
    /// Section id to the default severity of its rules (`[severity]`,
    /// inherited by profiles that extend this one).
    pub section_severity: BTreeMap<String, Severity>,
    /// The check catalog: the benchmark's rules and kubeharden's own checks.
    pub rules: Vec<Rule>,
}

impl Benchmark {
    pub fn section_title(&self, id: &str) -> &str {
        self.sections.get(id).map(String::as_str).unwrap_or("")
    }

    /// The catalog entry of a check id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The check ids a waiver may name: every check of the catalog. (A
    /// waiver only ever changes a `fail` or `warn`, so one naming a manual
    /// check matches nothing, and the report says so.)
    pub fn waivable_ids(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.id.clone()).collect()
    }

    /// The Kubernetes minor versions the profile is written for, from
    /// `kubernetes = "1.32-1.34"` (or one version `"1.33"`).
    pub fn kubernetes_range(&self) -> Option<((u32, u32), (u32, u32))> {
        let minor = |s: &str| -> Option<(u32, u32)> {
            let (a, b) = s.trim().split_once('.')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        match self.kubernetes.split_once('-') {
            Some((lo, hi)) => Some((minor(lo)?, minor(hi)?)),
            None => minor(&self.kubernetes).map(|v| (v, v)),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub section: String,
    /// CIS "Automated": a failed test is `fail`; otherwise it is `warn`.
    pub scored: bool,
    pub level: u8,
    /// How much a failure matters: the rule's own `severity`, else its
    /// section's default from `profile.toml [severity]`.
    pub severity: Severity,
    pub scope: Scope,
    pub targets: Targets,
    pub component: Option<ComponentKind>,
    pub remediation: String,
    /// For manual rules: what a person should look at.
    pub guidance: Option<String>,
    /// `None` for manual rules and kubeharden's own checks.
    pub check: Option<Check>,
    /// For kubeharden's own checks: the engine's decider.
    pub builtin: Option<BuiltinCheck>,
    /// Set when the profile disables the check (`[checks."<id>"] disabled`):
    /// the reason, reported with a `skip`.
    pub disabled: Option<String>,
    /// Where the rule was defined, for messages.
    pub origin: String,
}

impl Rule {
    /// A person must judge it: no check and no built-in decider.
    pub fn is_manual(&self) -> bool {
        self.check.is_none() && self.builtin.is_none()
    }

    /// What the check requires, in words.
    pub fn describe(&self) -> Option<String> {
        match (&self.check, self.builtin) {
            (Some(c), _) => Some(c.describe()),
            (None, Some(b)) => Some(b.describe(self.component)),
            (None, None) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Node,
    Cluster,
}

/// Which nodes a node-scope rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    Any,
    Roles(Vec<Role>),
}

impl Targets {
    pub fn describe(&self) -> String {
        match self {
            Targets::Any => "any".to_string(),
            Targets::Roles(r) => r.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Check {
    Test(Test),
    All(Vec<Check>),
    Any(Vec<Check>),
}

impl Check {
    /// Every test in this check, depth first.
    pub fn tests(&self) -> Vec<&Test> {
        match self {
            Check::Test(t) => vec![t],
            Check::All(c) | Check::Any(c) => c.iter().flat_map(|c| c.tests()).collect(),
        }
    }

    /// The check as people read it, e.g. `--profiling eq false`.
    pub fn describe(&self) -> String {
        match self {
            Check::Test(t) => t.describe(),
            Check::All(c) => join_checks(c, " AND "),
            Check::Any(c) => join_checks(c, " OR "),
        }
    }
}

fn join_checks(c: &[Check], sep: &str) -> String {
    c.iter()
        .map(|c| match c {
            Check::Test(t) => t.describe(),
            other => format!("({})", other.describe()),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

#[derive(Clone, Debug)]
pub struct Test {
    pub fact: Fact,
    pub op: Op,
    pub value: Expected,
}

impl Test {
    pub fn describe(&self) -> String {
        let subject = self.fact.subject();
        match (&self.op, &self.value) {
            (Op::Present, _) => format!("{subject} is set"),
            (Op::Absent, _) => format!("{subject} is not set"),
            (Op::Loopback, _) => format!("{subject} is a loopback address"),
            (Op::ModeAtMost, v) => format!("{subject} mode {} or stricter", v),
            (Op::OwnerIs, v) => format!("{subject} owned by {v}"),
            (Op::LevelAtMost, v) => format!("{subject} at most {v}"),
            (Op::LevelAtLeast, v) => format!("{subject} at least {v}"),
            (op, v) => format!("{subject} {} {v}", op.symbol()),
        }
    }
}

/// An operator of the rule language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Gte,
    Lte,
    Has,
    NotHave,
    InSet,
    SubsetOf,
    Present,
    Absent,
    Loopback,
    ModeAtMost,
    OwnerIs,
    LevelAtMost,
    LevelAtLeast,
}

impl Op {
    pub const ALL: [Op; 15] = [
        Op::Eq,
        Op::NotEq,
        Op::Gte,
        Op::Lte,
        Op::Has,
        Op::NotHave,
        Op::InSet,
        Op::SubsetOf,
        Op::Present,
        Op::Absent,
        Op::Loopback,
        Op::ModeAtMost,
        Op::OwnerIs,
        Op::LevelAtMost,
        Op::LevelAtLeast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::NotEq => "noteq",
            Op::Gte => "gte",
            Op::Lte => "lte",
            Op::Has => "has",
            Op::NotHave => "nothave",
            Op::InSet => "in-set",
            Op::SubsetOf => "subset-of",
            Op::Present => "present",
            Op::Absent => "absent",
            Op::Loopback => "loopback",
            Op::ModeAtMost => "mode-at-most",
            Op::OwnerIs => "owner-is",
            Op::LevelAtMost => "level-at-most",
            Op::LevelAtLeast => "level-at-least",
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Gte => ">=",
            Op::Lte => "<=",
            Op::Has => "includes",
            Op::NotHave => "excludes",
            Op::InSet => "is one of",
            Op::SubsetOf => "only from",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// What kind of `value` the operator takes.
    pub fn value_shape(self) -> ValueShape {
        match self {
            Op::Present | Op::Absent | Op::Loopback => ValueShape::None,
            Op::InSet | Op::SubsetOf => ValueShape::List,
            _ => ValueShape::Str,
        }
    }

    /// Whether the operator compares audit levels.
    pub fn is_level_op(self) -> bool {
        matches!(self, Op::LevelAtMost | Op::LevelAtLeast)
    }

    /// Whether the operator reads a file attribute rather than a setting.
    pub fn is_file_op(self) -> bool {
        matches!(self, Op::ModeAtMost | Op::OwnerIs)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueShape {
    None,
    Str,
    List,
}

/// The `value` of a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    None,
    Str(String),
    List(Vec<String>),
}

impl Expected {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Expected::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[String] {
        match self {
            Expected::List(l) => l,
            _ => &[],
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::None => Ok(()),
            Expected::Str(s) => f.write_str(s),
            Expected::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}
