//! Ansible inventories (INI and YAML) as inventory nodes, at least in
//! kubespray's layout.
//!
//! Roles come from kubespray's groups, directly or through `:children`:
//! `kube_control_plane` (legacy `kube-master`) is `control-plane`, `etcd` is
//! `etcd`, `kube_node` (legacy `kube-node`) is `worker`; a host may be in
//! several. Hosts in none of them are skipped, with a note.
//!
//! Connection settings are the host's variables: `ansible_host`,
//! `ansible_user`, `ansible_port` and `ansible_ssh_private_key_file` (and
//! their older `ansible_ssh_*` spellings), as Ansible resolves them: host
//! variables win over group variables, a child group's over its parent's,
//! and `all`'s come last; groups at the same depth apply in name order.
//! Templated values (`{{ ... }}`) are not evaluated: they are an error when
//! kubeharden needs the variable. A jump host in `ansible_ssh_common_args`
//! or `ansible_ssh_extra_args` (`-J HOST`, `-o ProxyJump=HOST`) becomes the
//! node's `proxy_jump`; their other arguments are ignored, with a note.
//! As in kubespray, a host in the `bastion` group is the jump host of
//! every node that names none of its own.
//!
//! # Which files are Ansible inventories
//!
//! `--inventory FILE` reads TOML unless [`detect`] says otherwise:
//! * a name ending in `.ini` is an INI inventory, one ending in `.yml` or
//!   `.yaml` a YAML inventory (`.toml` is always TOML);
//! * otherwise, a file whose first line that is not blank or a comment is
//!   `---` or a bare `name:` key at the start of the line is YAML (a TOML
//!   key always has `=`);
//! * otherwise, a file with an INI section header TOML cannot mean here
//!   (`[all]`, `[ungrouped]`, `[GROUP:vars]`, `[GROUP:children]`, or one of
//!   kubespray's groups above and `[k8s_cluster]`) is INI.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use crate::facts::Role;
use crate::util::Problem;

use super::imported::{Imported, ImportedNode, apply_role_overrides};
use super::{InventoryError, NodeSpec, SshConfig};

/// The kind of an Ansible inventory file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ini,
    Yaml,
}

const ROLE_GROUPS: &[(&str, Role)] = &[
    ("kube_control_plane", Role::ControlPlane),
    ("kube-master", Role::ControlPlane),
    ("etcd", Role::Etcd),
    ("kube_node", Role::Worker),
    ("kube-node", Role::Worker),
];

/// Whether `path` (with contents `text`) is an Ansible inventory, and which
/// kind; `None` means TOML. The rules are in the module documentation.
pub fn detect(path: &Path, text: &str) -> Option<Kind> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("toml") => return None,
        Some("ini") => return Some(Kind::Ini),
        Some("yml" | "yaml") => return Some(Kind::Yaml),
        _ => {}
    }
    let significant = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if let Some(first) = significant {
        let bare_key = first.strip_suffix(':').is_some_and(|k| {
            !k.is_empty()
                && !k.starts_with(char::is_whitespace)
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        });
        if first == "---" || bare_key {
            return Some(Kind::Yaml);
        }
    }
    let ini_section = text.lines().any(|l| {
        let Some(name) = section_header(l.trim()) else {
            return false;
        };
        let (group, suffix) = name.split_once(':').unwrap_or((name, ""));
        matches!(suffix, "vars" | "children")
            || ["all", "ungrouped", "k8s_cluster"].contains(&group)
            || ROLE_GROUPS.iter().any(|(g, _)| *g == group)
    });
    ini_section.then_some(Kind::Ini)
}

/// `[name]` (with an optional trailing comment) as `name`; `[[...]]` is not
/// an INI section.
fn section_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    if rest.starts_with('[') {
        return None;
    }
    let (name, after) = rest.split_once(']')?;
    let after = after.trim();
    (after.is_empty() || after.starts_with('#') || after.starts_with(';'))
        .then_some(name.trim())
        .filter(|n| !n.is_empty())
}

#[derive(Clone, Debug)]
struct Var {
    key: String,
    value: Value,
    line: usize,
}

#[derive(Clone, Debug, Default)]
struct Group {
    hosts: Vec<String>,
    children: Vec<(String, usize)>,
    vars: Vec<Var>,
    line: usize,
}

/// An inventory as Ansible sees it, before resolution.
struct Inv<'a> {
    file: &'a str,
    groups: BTreeMap<String, Group>,
    /// Hosts in order of first appearance, with that line.
    hosts: Vec<(String, usize)>,
    host_vars: HashMap<String, Vec<Var>>,
    problems: Vec<Problem>,
}

impl<'a> Inv<'a> {
    fn new(file: &'a str) -> Self {
        let mut groups = BTreeMap::new();
        groups.insert("all".to_string(), Group::default());
        groups.insert("ungrouped".to_string(), Group::default());
        Inv {
            file,
            groups,
            hosts: Vec::new(),
            host_vars: HashMap::new(),
            problems: Vec::new(),
        }
    }

    fn err(&mut self, line: usize, message: String) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    fn group(&mut self, name: &str, line: usize) -> &mut Group {
        let g = self.groups.entry(name.to_string()).or_default();
        if g.line == 0 {
            g.line = line;
        }
        g
    }

    /// Adds a host (a pattern with ranges is several) to `group`, with its
    /// own variables.
    fn add_host(&mut self, group: &str, pattern: &str, vars: Vec<Var>, line: usize) {
        let (pattern, port) = split_port(pattern);
        let names = match expand_ranges(pattern) {
            Ok(n) => n,
            Err(e) => {
                self.err(line, format!("host {pattern:?}: {e}"));
                return;
            }
        };
        for name in names {
            if !self.hosts.iter().any(|(h, _)| *h == name) {
                self.hosts.push((name.clone(), line));
            }
            let g = self.group(group, line);
            if !g.hosts.contains(&name) {
                g.hosts.push(name.clone());
            }
            let hv = self.host_vars.entry(name).or_default();
            if let Some(p) = port {
                hv.push(Var {
                    key: "ansible_port".into(),
                    value: Value::from(p),
                    line,
                });
            }
            hv.extend(vars.iter().cloned());
        }
    }
}

/// `host:port` as written in an inventory (not an IPv6 address).
fn split_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some((h, p)) = pattern.rsplit_once(':') {
        if !h.contains(':') && !h.is_empty() {
            if let Ok(port) = p.parse::<u16>() {
                return (h, Some(port));
            }
        }
    }
    (pattern, None)
}

/// Expands Ansible host ranges: `node[1:3]`, `node[01:10:2]`, `[a:c]x`.
fn expand_ranges(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|c| open + c)
        .ok_or("unclosed '[' in a host range")?;
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = spec.split(':').collect();
    let (start, end, step) = match parts.as_slice() {
        [s, e] => (*s, *e, 1),
        [s, e, st] => (
            *s,
            *e,
            st.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("range step {st:?} is not a positive number"))?,
        ),
        _ => return Err(format!("[{spec}] is not a range (expected [start:end])")),
    };
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if a > b {
            return Err(format!("range [{spec}] runs backwards"));
        }
        let width = if start.starts_with('0') && start.len() > 1 {
            start.len()
        } else {
            0
        };
        (a..=b)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else {
        let (a, b) = match (start.as_bytes(), end.as_bytes()) {
            ([a], [b]) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && a <= b => (*a, *b),
            _ => return Err(format!("range [{spec}] is neither numeric nor a:z")),
        };
        (a..=b)
            .step_by(step)
            .map(|c| (c as char).to_string())
            .collect()
    };
    let mut out = Vec::new();
    for item in items {
        for rest in expand_ranges(tail)? {
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

/// An INI value as Ansible reads it: quotes removed, integers as numbers.
fn ini_value(v: &str) -> Value {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return Value::String(v[1..v.len() - 1].to_string());
        }
    }
    match v.parse::<i64>() {
        Ok(i) => Value::from(i),
        Err(_) => Value::String(v.to_string()),
    }
}

/// Splits a host line into words the way Python's shlex does for Ansible:
/// whitespace separates, quotes group, `#` starts a comment.
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(x) if x == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err("unterminated quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated quote".into()),
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn parse_ini(inv: &mut Inv<'_>, text: &str) {
    enum Section {
        Hosts(String),
        Vars(String),
        Children(String),
    }
    let mut section = Section::Hosts("ungrouped".into());
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') {
            let Some(name) = section_header(t) else {
                inv.err(
                    line,
                    format!(
                        "{t:?} is not a section header ([group], [group:vars], [group:children])"
                    ),
                );
                continue;
            };
            let (group, kind) = name.split_once(':').unwrap_or((name, ""));
            if group.is_empty() || group.contains(char::is_whitespace) {
                inv.err(line, format!("[{name}]: {group:?} is not a group name"));
                continue;
            }
            inv.group(group, line);
            section = match kind {
                "" | "hosts" => Section::Hosts(group.into()),
                "vars" => Section::Vars(group.into()),
                "children" => Section::Children(group.into()),
                other => {
                    inv.err(
                        line,
                        format!("[{name}]: unknown section kind {other:?} (vars, children)"),
                    );
                    Section::Vars(String::new())
                }
            };
            continue;
        }
        match &section {
            Section::Hosts(g) => {
                let words = match shell_words(t) {
                    Ok(w) => w,
                    Err(e) => {
                        inv.err(line, format!("{e} in {t:?}"));
                        continue;
                    }
                };
                let Some((host, rest)) = words.split_first() else {
                    continue;
                };
                let mut vars = Vec::new();
                for w in rest {
                    match w.split_once('=') {
                        Some((k, v)) if !k.is_empty() => vars.push(Var {
                            key: k.to_string(),
                            value: ini_value(v),
                            line,
                        }),
                        _ => inv.err(
                            line,
                            format!("host {host}: {w:?} is not a variable (expected key=value)"),
                        ),
                    }
                }
                let g = g.clone();
                inv.add_host(&g, host, vars, line);
            }
            Section::Vars(g) if g.is_empty() => {}
            Section::Vars(g) => match t.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    let var = Var {
                        key: k.trim().to_string(),
                        value: ini_value(v),
                        line,
                    };
                    let g = g.clone();
                    inv.group(&g, line).vars.push(var);
                }
                _ => inv.err(
                    line,
                    format!("[{g}:vars]: {t:?} is not a variable (expected key=value)"),
                ),
            },
            Section::Children(g) => {
                let child = t.split_whitespace().next().unwrap_or(t).to_string();
                if child == "all" || child == *g {
                    inv.err(line, format!("[{g}:children]: {child:?} cannot be a child"));
                    continue;
                }
                let g = g.clone();
                inv.group(&child, line);
                inv.group(&g, line).children.push((child, line));
            }
        }
    }
}

fn parse_yaml(inv: &mut Inv<'_>, text: &str) {
    let (doc, lines) = match crate::yaml::parse_with_lines(text) {
        Ok(x) => x,
        Err(crate::yaml::YamlError::Syntax { line, message }) => {
            inv.err(line, format!("YAML syntax: {message}"));
            return;
        }
        Err(e) => {
            inv.err(0, format!("YAML: {e}"));
            return;
        }
    };
    let line_of = |ptr: &str| lines.get(ptr).copied().unwrap_or(0);
    let Value::Object(top) = doc else {
        inv.err(
            1,
            "expected a mapping of groups at the top (all: hosts:, children:, vars:)".into(),
        );
        return;
    };
    // Walk groups depth-first; a child's definition can repeat anywhere.
    let mut stack: Vec<(String, Value, String)> = top
        .into_iter()
        .rev()
        .map(|(k, v)| {
            let ptr = format!("/{}", pointer_token(&k));
            (k, v, ptr)
        })
        .collect();
    while let Some((name, value, ptr)) = stack.pop() {
        let line = line_of(&ptr);
        inv.group(&name, line);
        let body = match value {
            Value::Null => continue,
            Value::Object(m) => m,
            other => {
                inv.err(
                    line,
                    format!(
                        "group {name}: expected a mapping (hosts:, children:, vars:), found {}",
                        kind(&other)
                    ),
                );
                continue;
            }
        };
        let mut children = Vec::new();
        for (key, v) in body {
            let kptr = format!("{ptr}/{}", pointer_token(&key));
            let kline = line_of(&kptr);
            match (key.as_str(), v) {
                (_, Value::Null) => {}
                ("hosts", Value::Object(hosts)) => {
                    for (host, hv) in hosts {
                        let hptr = format!("{kptr}/{}", pointer_token(&host));
                        let hline = line_of(&hptr);
                        let vars = match hv {
                            Value::Null => Vec::new(),
                            Value::Object(m) => m
                                .into_iter()
                                .map(|(k, value)| Var {
                                    line: line_of(&format!("{hptr}/{}", pointer_token(&k))),
                                    key: k,
                                    value,
                                })
                                .collect(),
                            other => {
                                inv.err(
                                    hline,
                                    format!(
                                        "host {host}: expected a mapping of variables, found {}",
                                        kind(&other)
                                    ),
                                );
                                continue;
                            }
                        };
                        inv.add_host(&name, &host, vars, hline);
                    }
                }
                ("vars", Value::Object(vars)) => {
                    let vars: Vec<Var> = vars
                        .into_iter()
                        .map(|(k, value)| Var {
                            line: line_of(&format!("{kptr}/{}", pointer_token(&k))),
                            key: k,
                            value,
                        })
                        .collect();
                    inv.group(&name, line).vars.extend(vars);
                }
                ("children", Value::Object(cs)) => {
                    for (child, cv) in cs {
                        let cptr = format!("{kptr}/{}", pointer_token(&child));
                        let cline = line_of(&cptr);
                        if child == "all" || child == name {
                            inv.err(cline, format!("group {name}: {child:?} cannot be a child"));
                            continue;
                        }
                        inv.group(&name, line).children.push((child.clone(), cline));
                        children.push((child, cv, cptr));
                    }
                }
                ("hosts" | "vars" | "children", other) => inv.err(
                    kline,
                    format!(
                        "group {name}: {key} must be a mapping, found {}",
                        kind(&other)
                    ),
                ),
                (other, _) => inv.err(
                    kline,
                    format!("group {name}: unknown key {other:?} (hosts, children, vars)"),
                ),
            }
        }
        stack.extend(children.into_iter().rev());
    }
}

fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Each group's depth below `all` (Ansible's variable precedence), and
/// problems for cycles in `children`.
fn depths(inv: &mut Inv<'_>) -> HashMap<String, usize> {
    let mut depth: HashMap<String, usize> = inv
        .groups
        .keys()
        .map(|g| (g.clone(), usize::from(g != "all")))
        .collect();
    let edges: Vec<(String, String, usize)> = inv
        .groups
        .iter()
        .flat_map(|(p, g)| g.children.iter().map(|(c, l)| (p.clone(), c.clone(), *l)))
        .collect();
    for _ in 0..=inv.groups.len() {
        let mut changed = None;
        for (p, c, l) in &edges {
            let want = depth[p] + 1;
            if depth[c] < want {
                depth.insert(c.clone(), want);
                changed = Some((p, c, *l));
            }
        }
        let Some((p, c, l)) = changed else {
            return depth;
        };
        if depth[c] > inv.groups.len() {
            inv.err(
                l,
                format!("group {p} and its child {c} are in a cycle of children"),
            );
            return depth;
        }
    }
    depth
}

/// Every host in `group` or its descendants.
fn members(inv: &Inv<'_>, group: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut seen = HashSet::new();
    let mut todo = vec![group.to_string()];
    while let Some(g) = todo.pop() {
        if !seen.insert(g.clone()) {
            continue;
        }
        if let Some(def) = inv.groups.get(&g) {
            out.extend(def.hosts.iter().cloned());
            todo.extend(def.children.iter().map(|(c, _)| c.clone()));
        }
    }
    out
}

/// Variable names, newest spelling first.
const HOST_KEYS: &[&str] = &["ansible_host", "ansible_ssh_host"];
const USER_KEYS: &[&str] = &["ansible_user", "ansible_ssh_user"];
const PORT_KEYS: &[&str] = &["ansible_port", "ansible_ssh_port"];
const KEY_KEYS: &[&str] = &["ansible_ssh_private_key_file", "ansible_private_key_file"];
/// Extra `ssh` arguments Ansible passes; a jump host in them is followed.
const SSH_ARGS_KEYS: &[&str] = &["ansible_ssh_common_args", "ansible_ssh_extra_args"];

/// The jump host in `ssh` arguments (`-J HOST`, `-o ProxyJump=HOST`), and
/// the arguments kubeharden does not follow.
fn proxy_jump_of(args: &str) -> (Option<String>, Vec<String>) {
    let words = match shell_words(args) {
        Ok(w) => w,
        Err(_) => return (None, vec![args.to_string()]),
    };
    let mut jump = None;
    let mut ignored = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let option = match w.as_str() {
            "-J" => {
                jump = it.next();
                continue;
            }
            "-o" => it.next().unwrap_or_default(),
            _ if w.starts_with("-J") => {
                jump = Some(w[2..].to_string());
                continue;
            }
            _ if w.starts_with("-o") => w[2..].to_string(),
            _ => {
                ignored.push(w);
                continue;
            }
        };
        let (key, value) = option
            .split_once(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or((option.as_str(), ""));
        if key.eq_ignore_ascii_case("proxyjump") && !value.trim().is_empty() {
            jump = Some(value.trim().to_string());
        } else {
            ignored.push(format!("-o {option}"));
        }
    }
    (jump.filter(|j| j != "none"), ignored)
}

fn resolve(
    mut inv: Inv<'_>,
    overrides: &[(String, Vec<Role>)],
) -> Result<Imported, InventoryError> {
    let depth = depths(&mut inv);
    let mut role_members: Vec<(Role, HashSet<String>)> = Vec::new();
    for (g, role) in ROLE_GROUPS {
        role_members.push((*role, members(&inv, g)));
    }
    let group_members: Vec<(String, usize, HashSet<String>)> = inv
        .groups
        .keys()
        .filter(|g| *g != "all")
        .map(|g| (g.clone(), depth[g], members(&inv, g)))
        .collect();
    let mut ordered: Vec<&(String, usize, HashSet<String>)> = group_members.iter().collect();
    ordered.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let mut nodes = Vec::new();
    let mut skipped = Vec::new();
    let mut notes = Vec::new();
    // kubespray's [bastion] group: every node is reached through it.
    let bastions = members(&inv, "bastion");
    let mut bastion: Option<(String, String)> = None;
    let hosts = inv.hosts.clone();
    for (host, line) in &hosts {
        let roles: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| {
                role_members
                    .iter()
                    .any(|(role, m)| role == r && m.contains(host))
            })
            .collect();
        let overridden = overrides.iter().any(|(n, _)| n == host);
        let is_bastion = bastions.contains(host);
        if roles.is_empty() && !overridden && !is_bastion {
            skipped.push(host.clone());
            continue;
        }
        // Later entries win: all, groups by depth then name, the host.
        let mut vars: HashMap<&str, &Var> = HashMap::new();
        let layers = std::iter::once(&inv.groups["all"].vars)
            .chain(
                ordered
                    .iter()
                    .filter(|(_, _, m)| m.contains(host))
                    .map(|(g, _, _)| &inv.groups[g].vars),
            )
            .chain(inv.host_vars.get(host));
        for layer in layers {
            for v in layer {
                vars.insert(v.key.as_str(), v);
            }
        }
        let mut problems = Vec::new();
        let mut get = |keys: &[&str]| -> Option<(String, usize)> {
            let v = keys.iter().find_map(|k| vars.get(k))?;
            let text = match &v.value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    problems.push((
                        v.line,
                        format!(
                            "host {host}: {} must be a string, found {}",
                            v.key,
                            kind(other)
                        ),
                    ));
                    return None;
                }
            };
            if text.contains("{{") || text.contains("{%") {
                problems.push((v.line, format!("host {host}: {} is a template ({text:?}); kubeharden does not evaluate templates, give it a plain value", v.key)));
                return None;
            }
            if text.trim().is_empty() {
                problems.push((v.line, format!("host {host}: {} is empty", v.key)));
                return None;
            }
            Some((text, v.line))
        };
        let address = get(HOST_KEYS).map(|(a, _)| a);
        let user = get(USER_KEYS).map(|(u, _)| u);
        let identity_file = get(KEY_KEYS).map(|(k, _)| k);
        let mut proxy_jump = None;
        for key in SSH_ARGS_KEYS {
            let Some(v) = vars.get(key) else { continue };
            let Value::String(args) = &v.value else {
                continue;
            };
            let (jump, ignored) = if args.contains("{{") {
                (None, vec![args.clone()])
            } else {
                proxy_jump_of(args)
            };
            proxy_jump = proxy_jump.or(jump);
            if !ignored.is_empty() {
                notes.push(format!(
                    "{}:{}: host {host}: {key}: kubeharden follows only a jump host (-J, -o ProxyJump) and ignores {}",
                    inv.file,
                    v.line,
                    ignored.join(" ")
                ));
            }
        }
        let port = match get(PORT_KEYS) {
            Some((p, l)) => match p.trim().parse::<u16>() {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    problems.push((l, format!("host {host}: ansible_port {p:?} is not 1-65535")));
                    None
                }
            },
            None => None,
        };
        for (l, m) in problems {
            inv.err(l, m);
        }
        if is_bastion && bastion.is_none() {
            let mut jump = address.clone().unwrap_or_else(|| host.clone());
            if let Some(u) = &user {
                jump = format!("{u}@{jump}");
            }
            if let Some(p) = port {
                jump = format!("{jump}:{p}");
            }
            bastion = Some((host.clone(), jump));
        }
        if roles.is_empty() && !overridden {
            continue;
        }
        nodes.push(ImportedNode {
            name: host.clone(),
            address: address.unwrap_or_else(|| host.clone()),
            roles,
            user,
            port,
            identity_file,
            known_hosts: None,
            proxy_jump,
            line: *line,
        });
    }
    let file = inv.file;
    if !inv.problems.is_empty() {
        return Err(InventoryError {
            problems: inv.problems,
        });
    }
    apply_role_overrides(file, &mut nodes, overrides)?;
    if nodes.is_empty() {
        return Err(InventoryError {
            problems: vec![Problem {
                file: file.to_string(),
                line: 0,
                message: format!(
                    "no host is in kube_control_plane, kube-master, etcd, kube_node or kube-node{}",
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!(" (hosts found: {})", skipped.join(", "))
                    }
                ),
            }],
        });
    }
    if let Some((name, jump)) = &bastion {
        let mut through = Vec::new();
        for n in nodes
            .iter_mut()
            .filter(|n| n.proxy_jump.is_none() && &n.name != name)
        {
            n.proxy_jump = Some(jump.clone());
            through.push(n.name.clone());
        }
        if !through.is_empty() {
            notes.push(format!(
                "{file}: {} reached through the bastion {name} ({jump}), as kubespray does",
                through.join(", ")
            ));
        }
    }
    if !skipped.is_empty() {
        notes.push(format!(
            "{file}: skipped {} (in none of kube_control_plane, kube-master, etcd, kube_node, kube-node)",
            skipped.join(", ")
        ));
    }
    Ok(Imported {
        nodes,
        notes,
        header: vec![
            format!(
                "kubeharden inventory, generated by `kubeharden inventory from-ansible` from {file}."
            ),
            "Host keys are checked against ~/.ssh/known_hosts; for hosts not listed there yet,"
                .into(),
            "scan with --host-keys accept-new.".into(),
        ],
    })
}

/// Parses an Ansible inventory's text (`file` names it in messages).
/// `overrides` (`--role NAME=ROLES`) replace the roles groups give, and
/// bring in a host that is in no role group.
pub fn import(
    file: &str,
    text: &str,
    kind: Kind,
    overrides: &[(String, Vec<Role>)],
) -> Result<Imported, InventoryError> {
    let mut inv = Inv::new(file);
    match kind {
        Kind::Ini => parse_ini(&mut inv, text),
        Kind::Yaml => parse_yaml(&mut inv, text),
    }
    resolve(inv, overrides)
}

/// An Ansible inventory as the scanner's nodes, as `--inventory` reads it.
/// Skipped hosts are in the notes.
pub fn parse(
    file: &str,
    text: &str,
    kind: Kind,
    ssh: &SshConfig,
) -> Result<(Vec<NodeSpec>, Vec<String>), InventoryError> {
    let imported = import(file, text, kind, &[])?;
    Ok((
        imported.nodes.iter().map(|n| n.to_spec(ssh)).collect(),
        imported.notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_like_ansible() {
        assert_eq!(
            expand_ranges("node[1:3]").unwrap(),
            ["node1", "node2", "node3"]
        );
        assert_eq!(
            expand_ranges("n[08:10]x").unwrap(),
            ["n08x", "n09x", "n10x"]
        );
        assert_eq!(expand_ranges("w[1:5:2]").unwrap(), ["w1", "w3", "w5"]);
        assert_eq!(
            expand_ranges("[a:b][1:2]").unwrap(),
            ["a1", "a2", "b1", "b2"]
        );
        assert!(expand_ranges("n[3:1]").is_err());
        assert!(expand_ranges("n[1:").is_err());
        assert!(expand_ranges("n[x]").is_err());
    }

    #[test]
    fn host_lines_split_like_shlex() {
        assert_eq!(
            shell_words("node1 ansible_host=10.0.0.1 k='a b' # ip=1").unwrap(),
            ["node1", "ansible_host=10.0.0.1", "k=a b"]
        );
        assert!(shell_words("n k=\"open").is_err());
    }

    #[test]
    fn detection_follows_the_documented_rules() {
        let p = Path::new;
        assert_eq!(detect(p("x.ini"), ""), Some(Kind::Ini));
        assert_eq!(detect(p("hosts.yaml"), ""), Some(Kind::Yaml));
        assert_eq!(detect(p("x.toml"), "all:\n"), None);
        assert_eq!(
            detect(p("hosts"), "# c\nall:\n  hosts:\n"),
            Some(Kind::Yaml)
        );
        assert_eq!(detect(p("hosts"), "---\nall: {}\n"), Some(Kind::Yaml));
        assert_eq!(
            detect(p("hosts"), "[kube_control_plane]\nn1\n"),
            Some(Kind::Ini)
        );
        assert_eq!(detect(p("hosts"), "[lab:children]\nx\n"), Some(Kind::Ini));
        assert_eq!(
            detect(
                p("lab"),
                "[defaults]\nuser = \"root\"\n[[node]]\nname = \"a\"\n"
            ),
            None
        );
        assert_eq!(detect(p("lab"), "name = \"a\"\n"), None);
    }

    #[test]
    fn group_variables_follow_ansible_precedence() {
        let text = "\
[all:vars]
ansible_user=allu
ansible_port=2200
[k8s_cluster:vars]
ansible_user=clusteru
[kube_node:vars]
ansible_user=nodeu
[kube_node]
w1 ansible_host=10.0.0.21
w2:2222 ansible_user=own
[k8s_cluster:children]
kube_node
";
        let imp = import("i.ini", text, Kind::Ini, &[]).unwrap();
        let n = &imp.nodes;
        assert_eq!(
            (n[0].user.as_deref(), n[0].port),
            (Some("nodeu"), Some(2200))
        );
        assert_eq!((n[1].user.as_deref(), n[1].port), (Some("own"), Some(2222)));
        assert_eq!(n[1].address, "w2");
    }

    #[test]
    fn jump_hosts_in_ssh_arguments_are_followed() {
        assert_eq!(
            proxy_jump_of("-J ops@bastion:2222"),
            (Some("ops@bastion:2222".into()), vec![])
        );
        assert_eq!(
            proxy_jump_of("-o ProxyJump=b1,b2 -o StrictHostKeyChecking=no"),
            (
                Some("b1,b2".into()),
                vec!["-o StrictHostKeyChecking=no".into()]
            )
        );
        assert_eq!(
            proxy_jump_of("-o 'ProxyCommand=ssh -W %h:%p bastion'"),
            (None, vec!["-o ProxyCommand=ssh -W %h:%p bastion".into()])
        );
        let text = "[kube_node]\nw1 ansible_ssh_common_args='-o ProxyJump=jump.example'\nw2\n[kube_node:vars]\nansible_ssh_extra_args=-o Compression=yes\n";
        let imp = import("j.ini", text, Kind::Ini, &[]).unwrap();
        assert_eq!(imp.nodes[0].proxy_jump.as_deref(), Some("jump.example"));
        assert_eq!(imp.nodes[1].proxy_jump, None);
        assert!(
            imp.notes.iter().any(
                |n| n.starts_with("j.ini:5: host w2: ansible_ssh_extra_args")
                    && n.contains("ignores -o Compression=yes")
            ),
            "{:?}",
            imp.notes
        );
    }

    #[test]
    fn cycles_are_reported() {
        let text = "[a:children]\nb\n[b:children]\na\n[kube_node]\nw1\n";
        let err = import("c.ini", text, Kind::Ini, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cycle of children"), "{err}");
    }
}
