//! Distribution layouts as data: where a distribution puts each
//! component's binary, manifest or unit, configuration, kubeconfig,
//! certificates and data, how it launches each one, and which components a
//! node of each role runs.
//!
//! CIS writes its audits for kubeadm's paths. kube-bench hard-codes lists of
//! candidate paths, and is wrong wherever a distribution differs (etcd from an
//! environment file on kubespray, RKE2's pod manifests, k3s's embedded
//! components). Here each distribution is one file in `benchmarks/layouts/`,
//! typed and validated when it loads (every problem with its file and line),
//! compiled into the binary. A node's layout is detected from what it holds
//! ([`detect`], with the evidence), or given with `--layout`; a node that
//! matches none is `unknown`, and no kubeadm path is assumed for it.
//!
//! Adding a distribution whose components are ordinary processes with flags
//! and configuration files is a new file here, and nothing else.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use crate::facts::{ComponentKind, LayoutFacts, NodeFacts, Role};
use crate::util::Problem;

/// How a distribution runs a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launch {
    /// A static pod: a manifest the kubelet runs.
    StaticPod,
    /// A systemd service: its unit, drop-ins and environment files.
    Systemd,
    /// Started by a supervisor process (`by`) with flags, with no unit or
    /// manifest of its own (RKE2's kubelet).
    Supervised,
    /// Run inside a supervisor process (`by`), not a process of its own
    /// (k3s's components).
    Embedded,
    /// A pod of a DaemonSet: its files live in its container.
    Pod,
}

impl Launch {
    pub fn as_str(self) -> &'static str {
        match self {
            Launch::StaticPod => "static-pod",
            Launch::Systemd => "systemd",
            Launch::Supervised => "supervised",
            Launch::Embedded => "embedded",
            Launch::Pod => "pod",
        }
    }
}

/// Where one component's files are, and how it is launched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentLayout {
    pub launch: Launch,
    /// The supervisor processes, for `supervised` and `embedded` (k3s's
    /// kubelet runs in `k3s-server` or in `k3s-agent`).
    pub by: Vec<String>,
    /// The static-pod manifest.
    pub manifest: Option<String>,
    /// The systemd unit's name (searched in the unit path, with its
    /// `NAME.d` drop-ins).
    pub unit: Option<String>,
    /// Environment files the unit reads.
    pub env_files: Vec<String>,
    /// The component's configuration files when they are not named on its
    /// command line (a supervisor's own configuration).
    pub config_files: Vec<String>,
    /// The directory of the component's own certificates.
    pub pki: Option<String>,
    /// Drop-in directories read with the layout's paths, before the
    /// component's flags are known (the kubelet's `--config-dir` of an
    /// embedded kubelet), so the files they name are read in the same
    /// collection.
    pub config_dirs: Vec<String>,
    /// `embedded`: the message the supervisor logs when it starts the
    /// component, up to where the flags begin (`Running kube-apiserver`).
    pub logged: Option<String>,
    /// `embedded`: the arguments the component runs with when the logged
    /// line carries none (k3s's etcd reads one configuration file:
    /// `--config-file=...`).
    pub runs_with: Vec<String>,
    /// The key of the supervisor's configuration whose list passes flags
    /// to the component (`kube-apiserver-arg`).
    pub arg_key: Option<String>,
    /// Why the component may legitimately not run on a node of this
    /// layout (k3s keeps its data in kine unless etcd is chosen).
    pub absent: Option<String>,
    /// `embedded`: the supervisor's own options (keys of its
    /// configuration) and the component flags each one sets
    /// (`secrets-encryption` sets `--encryption-provider-config`), so a
    /// flag no `arg_key` entry set is traced to the option that did.
    pub options: BTreeMap<String, Vec<String>>,
}

impl ComponentLayout {
    /// The supervisors, for people: `k3s-server or k3s-agent`.
    pub fn by_text(&self) -> String {
        if self.by.is_empty() {
            "its supervisor".into()
        } else {
            self.by.join(" or ")
        }
    }
}

/// The program whose processes run (`embedded`) or start (`supervised`)
/// components, what it logs and what configures it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Supervisor {
    /// Its processes' names (`comm`): `k3s-server`, `k3s-agent`.
    pub processes: Vec<String>,
    /// The message it logs each time it starts (`Starting k3s `): in a log
    /// file only the lines after the last one belong to the running
    /// process, and lines of it without a component's line mean the
    /// component was not started.
    pub started: Option<String>,
    /// Where it logs when not to the journal (OpenRC's `/var/log/k3s.log`).
    pub log_files: Vec<String>,
    /// Its own configuration files (YAML); each `FILE.d/` directory of
    /// `*.yaml` drop-ins is read with it, in lexical order.
    pub config_files: Vec<String>,
}

/// One way to recognise a layout: all of its conditions hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recognise {
    /// A process of this name (its `comm`, or its argv\[0\]'s last
    /// component).
    pub process: Option<String>,
    /// A path that exists.
    pub path: Option<String>,
}

/// A distribution's audit where the benchmark's does not carry over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckNote {
    /// The check does not apply on this distribution: a skip, with why.
    pub skip: Option<String>,
    /// How the benchmark's intent is applied here, added to the evidence.
    pub note: Option<String>,
}

/// A distribution layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub name: String,
    pub title: String,
    pub summary: String,
    /// Lower is tried first.
    pub priority: u32,
    pub detect: Vec<Recognise>,
    /// Directories whose files CIS 1.1.19-1.1.21 judge.
    pub pki: Vec<String>,
    /// Directories read for certificates.
    pub certificates: Vec<String>,
    /// Static-pod manifest directories.
    pub manifests: Vec<String>,
    pub admin_kubeconfigs: Vec<String>,
    /// The kubectl commands the distribution installs on its control
    /// planes, tried in order to read the cluster's objects (`k3s kubectl`
    /// is two words).
    pub kubectl: Vec<String>,
    pub cni: Vec<String>,
    /// The CA that issues the serving certificates of the API server, the
    /// kubelets, the controller manager and the scheduler (the CA their
    /// clients trust), as candidate paths: the first one a node holds.
    /// Distributions that keep separate server and client CAs (RKE2, k3s)
    /// name the server one here, which no component flag names.
    pub cluster_ca: Vec<String>,
    /// The CA that should issue etcd's certificates when no flag says.
    pub etcd_ca: Vec<String>,
    pub components: BTreeMap<ComponentKind, ComponentLayout>,
    /// The supervisor, when the layout has components it runs or starts
    /// whose logs or configuration are read.
    pub supervisor: Option<Supervisor>,
    /// The components each role runs (presence is checked against it).
    pub roles: BTreeMap<Role, Vec<ComponentKind>>,
    pub checks: BTreeMap<String, CheckNote>,
    /// Where the layout was defined, for messages.
    pub origin: String,
}

impl Layout {
    pub fn component(&self, kind: ComponentKind) -> Option<&ComponentLayout> {
        self.components.get(&kind)
    }

    /// The components a node of `roles` should run.
    pub fn expected_components(&self, roles: &[Role]) -> Vec<ComponentKind> {
        let mut out = Vec::new();
        for r in roles {
            for k in self.roles.get(r).into_iter().flatten() {
                if !out.contains(k) {
                    out.push(*k);
                }
            }
        }
        out
    }

    /// Every path whose existence recognises a layout.
    fn detect_paths(&self) -> impl Iterator<Item = &str> {
        self.detect.iter().filter_map(|r| r.path.as_deref())
    }
}

/// Every problem found in the layout files.
#[derive(Debug, thiserror::Error)]
pub struct LayoutError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid layouts: {} problem(s)", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

// ---- the file format (serde, every key known, strings spanned for lines)

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    name: Spanned<String>,
    title: String,
    summary: String,
    detect: RawDetect,
    paths: RawPaths,
    components: BTreeMap<Spanned<String>, RawComponent>,
    supervisor: Option<RawSupervisor>,
    roles: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    checks: BTreeMap<Spanned<String>, RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetect {
    priority: u32,
    any: Vec<RawRecognise>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecognise {
    process: Option<String>,
    path: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    #[serde(default)]
    pki: Vec<Spanned<String>>,
    #[serde(default)]
    certificates: Vec<Spanned<String>>,
    #[serde(default)]
    manifests: Vec<Spanned<String>>,
    #[serde(default)]
    admin_kubeconfigs: Vec<Spanned<String>>,
    #[serde(default)]
    kubectl: Vec<Spanned<String>>,
    #[serde(default)]
    cni: Vec<Spanned<String>>,
    cluster_ca: Option<Spanned<toml::Value>>,
    etcd_ca: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervisor {
    processes: Vec<String>,
    started: Option<String>,
    #[serde(default)]
    log_files: Vec<Spanned<String>>,
    #[serde(default)]
    config_files: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    launch: Spanned<Launch>,
    by: Option<OneOrMany>,
    manifest: Option<Spanned<String>>,
    unit: Option<String>,
    #[serde(default)]
    env_files: Vec<Spanned<String>>,
    #[serde(default)]
    config_files: Vec<Spanned<String>>,
    pki: Option<Spanned<String>>,
    #[serde(default)]
    config_dirs: Vec<Spanned<String>>,
    logged: Option<String>,
    #[serde(default)]
    runs_with: Vec<String>,
    arg_key: Option<String>,
    absent: Option<String>,
    #[serde(default)]
    options: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    skip: Option<String>,
    note: Option<String>,
}

struct Cx<'a> {
    file: &'a str,
    newlines: Vec<usize>,
    problems: Vec<Problem>,
}

impl Cx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < offset) + 1
    }

    fn err(&mut self, at: usize, message: String) {
        let line = self.line(at);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    fn path(&mut self, p: &Spanned<String>) -> String {
        let s = p.get_ref();
        if !s.starts_with('/') || s.contains('\n') || s.contains("//") {
            self.err(p.span().start, format!("{s:?} is not an absolute path"));
        }
        s.clone()
    }

    fn paths(&mut self, ps: &[Spanned<String>]) -> Vec<String> {
        ps.iter().map(|p| self.path(p)).collect()
    }

    /// A path, or a list of candidate paths (`cluster_ca`, `etcd_ca`).
    fn one_or_many(&mut self, v: Option<&Spanned<toml::Value>>, key: &str) -> Vec<String> {
        let Some(v) = v else {
            return Vec::new();
        };
        let at = v.span();
        let items: Vec<Option<&str>> = match v.get_ref() {
            toml::Value::String(s) => vec![Some(s.as_str())],
            toml::Value::Array(a) => a.iter().map(toml::Value::as_str).collect(),
            _ => vec![None],
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Some(s) => out.push(self.path(&Spanned::new(at.clone(), s.to_string()))),
                None => self.err(at.start, format!("{key}: give a path or a list of paths")),
            }
        }
        out
    }
}

/// Loads layouts from `(file name, text)` pairs, reporting every problem.
pub fn load_sources(sources: &[(&str, &str)]) -> Result<Vec<Layout>, LayoutError> {
    let mut problems = Vec::new();
    let mut layouts: Vec<Layout> = Vec::new();
    for (file, text) in sources {
        let mut cx = Cx {
            file,
            newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
            problems: Vec::new(),
        };
        let raw: RawLayout = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let line = e.span().map(|s| cx.line(s.start)).unwrap_or(0);
                problems.push(Problem {
                    file: file.to_string(),
                    line,
                    message: e.message().trim().to_string(),
                });
                continue;
            }
        };
        let name = raw.name.get_ref().clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            cx.err(
                raw.name.span().start,
                format!("layout name {name:?}: use lowercase letters, digits and -"),
            );
        }
        if name == UNKNOWN {
            cx.err(raw.name.span().start, format!("{UNKNOWN:?} is reserved"));
        }
        if let Some(other) = layouts.iter().find(|l| l.name == name) {
            cx.err(
                raw.name.span().start,
                format!("layout {name:?} is also defined in {}", other.origin),
            );
        }
        let mut detect = Vec::new();
        if raw.detect.any.is_empty() {
            cx.err(
                0,
                "detect.any is empty: the layout could never be detected".into(),
            );
        }
        for r in &raw.detect.any {
            if r.process.is_none() && r.path.is_none() {
                cx.err(0, "a detect.any entry needs a process or a path".into());
            }
            detect.push(Recognise {
                process: r.process.clone(),
                path: r.path.as_ref().map(|p| cx.path(p)),
            });
        }
        let supervisor = raw.supervisor.as_ref().map(|s| {
            if s.processes.is_empty() {
                cx.err(0, "supervisor.processes is empty".into());
            }
            Supervisor {
                processes: s.processes.clone(),
                started: s.started.clone(),
                log_files: cx.paths(&s.log_files),
                config_files: cx.paths(&s.config_files),
            }
        });
        let mut components = BTreeMap::new();
        for (k, c) in &raw.components {
            let Some(kind) = ComponentKind::parse(k.get_ref()) else {
                cx.err(
                    k.span().start,
                    format!(
                        "unknown component {:?} (known: {})",
                        k.get_ref(),
                        ComponentKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                );
                continue;
            };
            let launch = *c.launch.get_ref();
            let at = c.launch.span().start;
            match launch {
                Launch::StaticPod if c.manifest.is_none() => {
                    cx.err(at, format!("{kind}: a static pod needs its manifest"))
                }
                Launch::Systemd if c.unit.is_none() => {
                    cx.err(at, format!("{kind}: a systemd service needs its unit"))
                }
                Launch::Supervised | Launch::Embedded if c.by.is_none() => cx.err(
                    at,
                    format!("{kind}: {} needs `by` (the supervisor)", launch.as_str()),
                ),
                Launch::Embedded if c.logged.is_none() => cx.err(
                    at,
                    format!(
                        "{kind}: embedded needs `logged` (what the supervisor logs when it starts it): it has no command line of its own"
                    ),
                ),
                _ => {}
            }
            let by = c.by.as_ref().map(OneOrMany::list).unwrap_or_default();
            if let Some(s) = &supervisor {
                for b in by.iter().filter(|b| !s.processes.contains(b)) {
                    cx.err(
                        at,
                        format!("{kind}: `by` names {b:?}, which is not in supervisor.processes"),
                    );
                }
            }
            if launch != Launch::Embedded && (c.logged.is_some() || !c.runs_with.is_empty()) {
                cx.err(
                    at,
                    format!("{kind}: `logged` and `runs_with` are for embedded components"),
                );
            }
            if c.arg_key.is_some()
                && supervisor
                    .as_ref()
                    .is_none_or(|s| s.config_files.is_empty())
            {
                cx.err(
                    at,
                    format!(
                        "{kind}: `arg_key` needs [supervisor] config_files, where the key is read"
                    ),
                );
            }
            if !c.options.is_empty() && c.arg_key.is_none() {
                cx.err(
                    at,
                    format!("{kind}: `options` are traced beside `arg_key`, which is missing"),
                );
            }
            for (opt, flags) in &c.options {
                if flags.is_empty()
                    || flags
                        .iter()
                        .any(|f| !f.starts_with("--") || f.contains('='))
                {
                    cx.err(
                        at,
                        format!("{kind}: option {opt:?} lists flag names (--name)"),
                    );
                }
            }
            if c.runs_with.iter().any(|a| !a.starts_with("--")) {
                cx.err(
                    at,
                    format!("{kind}: `runs_with` holds flags (--name=value)"),
                );
            }
            if let Some(u) = &c.unit {
                if !u.ends_with(".service") || u.contains('/') {
                    cx.err(at, format!("{kind}: unit {u:?} is not a unit name"));
                }
            }
            components.insert(
                kind,
                ComponentLayout {
                    launch,
                    by,
                    manifest: c.manifest.as_ref().map(|p| cx.path(p)),
                    unit: c.unit.clone(),
                    env_files: cx.paths(&c.env_files),
                    config_files: cx.paths(&c.config_files),
                    pki: c.pki.as_ref().map(|p| cx.path(p)),
                    config_dirs: cx.paths(&c.config_dirs),
                    logged: c.logged.clone(),
                    runs_with: c.runs_with.clone(),
                    arg_key: c.arg_key.clone(),
                    absent: c.absent.clone(),
                    options: c.options.clone(),
                },
            );
        }
        let mut roles = BTreeMap::new();
        for (r, kinds) in &raw.roles {
            let Some(role) = Role::parse(r.get_ref()) else {
                cx.err(
                    r.span().start,
                    format!(
                        "unknown role {:?} (control-plane, etcd, worker)",
                        r.get_ref()
                    ),
                );
                continue;
            };
            let mut list = Vec::new();
            for k in kinds {
                match ComponentKind::parse(k.get_ref()) {
                    Some(kind) if components.contains_key(&kind) => list.push(kind),
                    Some(kind) => cx.err(
                        k.span().start,
                        format!("role {role} lists {kind}, which has no [components.{kind}]"),
                    ),
                    None => cx.err(
                        k.span().start,
                        format!("unknown component {:?}", k.get_ref()),
                    ),
                }
            }
            roles.insert(role, list);
        }
        for role in Role::ALL {
            if !roles.contains_key(&role) {
                cx.err(0, format!("[roles] does not say what a {role} node runs"));
            }
        }
        let mut checks = BTreeMap::new();
        for (id, c) in &raw.checks {
            if c.skip.is_none() && c.note.is_none() {
                cx.err(
                    id.span().start,
                    format!("check {}: give skip or note", id.get_ref()),
                );
            }
            checks.insert(
                id.get_ref().clone(),
                CheckNote {
                    skip: c.skip.clone(),
                    note: c.note.clone(),
                },
            );
        }
        let p = &raw.paths;
        let layout = Layout {
            name,
            title: raw.title.clone(),
            summary: raw.summary.clone(),
            priority: raw.detect.priority,
            detect,
            pki: cx.paths(&p.pki),
            certificates: cx.paths(&p.certificates),
            manifests: cx.paths(&p.manifests),
            admin_kubeconfigs: cx.paths(&p.admin_kubeconfigs),
            kubectl: p
                .kubectl
                .iter()
                .filter_map(|k| {
                    let c = k.get_ref();
                    if c.trim().is_empty() || c.contains(['\n', '\r', '\'', '\0']) {
                        cx.err(k.span().start, format!("kubectl: {c:?} is not a command"));
                        None
                    } else {
                        Some(c.clone())
                    }
                })
                .collect(),
            cni: cx.paths(&p.cni),
            cluster_ca: cx.one_or_many(p.cluster_ca.as_ref(), "cluster_ca"),
            etcd_ca: cx.one_or_many(p.etcd_ca.as_ref(), "etcd_ca"),
            components,
            supervisor,
            roles,
            checks,
            origin: file.to_string(),
        };
        problems.append(&mut cx.problems);
        layouts.push(layout);
    }
    if problems.is_empty() {
        layouts.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.name.cmp(&b.name)));
        Ok(layouts)
    } else {
        Err(LayoutError { problems })
    }
}

/// The name a node gets when no layout matches.
pub const UNKNOWN: &str = "unknown";

macro_rules! layout_files {
    ($($name:literal),+ $(,)?) => {
        &[$((
            concat!("benchmarks/layouts/", $name),
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/benchmarks/layouts/", $name)),
        )),+]
    };
}

/// The built-in layout files, compiled in.
pub static BUILTIN_FILES: &[(&str, &str)] =
    layout_files!("k3s.toml", "kubeadm.toml", "kubespray.toml", "rke2.toml",);

/// The built-in layouts, most specific first. They are validated by the
/// test suite, so a broken one cannot ship.
pub fn builtin() -> &'static [Layout] {
    static LAYOUTS: OnceLock<Vec<Layout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| match load_sources(BUILTIN_FILES) {
        Ok(l) => l,
        Err(e) => panic!("the built-in layouts are invalid: {e}"),
    })
}

/// A built-in layout by name.
pub fn find(name: &str) -> Option<&'static Layout> {
    builtin().iter().find(|l| l.name == name)
}

/// The names of the built-in layouts, for messages.
pub fn names() -> Vec<&'static str> {
    builtin().iter().map(|l| l.name.as_str()).collect()
}

/// Every path that recognises a layout: the collector stats them in its
/// first round trip.
pub fn detection_paths() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in builtin() {
        for p in l.detect_paths() {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// The supervisor processes layouts are recognised by (`rke2`, ...): the
/// collector reports them beside the components.
pub fn supervisor_names() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in builtin() {
        let named = l
            .detect
            .iter()
            .filter_map(|r| r.process.clone())
            .chain(l.components.values().flat_map(|c| c.by.clone()))
            .chain(l.supervisor.iter().flat_map(|s| s.processes.clone()));
        for n in named {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

fn exists(facts: &NodeFacts, path: &str) -> bool {
    facts.files.get(path).is_some_and(|f| f.exists)
}

fn process(facts: &NodeFacts, name: &str) -> Option<String> {
    facts.processes.iter().find(|p| p.name == name).map(|p| {
        format!(
            "process {name}{}",
            p.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
        )
    })
}

/// What recognises `layout` on this node, if anything does.
fn recognise(layout: &Layout, facts: &NodeFacts) -> Option<Vec<String>> {
    layout.detect.iter().find_map(|r| {
        let mut evidence = Vec::new();
        if let Some(p) = &r.process {
            evidence.push(process(facts, p)?);
        }
        if let Some(path) = &r.path {
            if !exists(facts, path) {
                return None;
            }
            evidence.push(format!("{path} exists"));
        }
        Some(evidence)
    })
}

/// The layout a node's facts show, with the evidence; `unknown` (naming
/// what was looked for) when none matches.
pub fn detect(facts: &NodeFacts) -> LayoutFacts {
    for l in builtin() {
        if let Some(evidence) = recognise(l, facts) {
            return LayoutFacts {
                name: l.name.clone(),
                forced: false,
                evidence,
            };
        }
    }
    let looked: Vec<String> = builtin()
        .iter()
        .map(|l| {
            let what: Vec<String> = l
                .detect
                .iter()
                .map(|r| {
                    [
                        r.process.as_ref().map(|p| format!("process {p}")),
                        r.path.clone(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" and ")
                })
                .collect();
            format!("{} ({})", l.name, what.join(" or "))
        })
        .collect();
    LayoutFacts {
        name: UNKNOWN.to_string(),
        forced: false,
        evidence: vec![format!(
            "no layout matched: looked for {}",
            looked.join("; ")
        )],
    }
}

/// The layout given with `--layout NAME`.
pub fn forced(name: &str) -> Result<LayoutFacts, String> {
    match find(name) {
        Some(l) => Ok(LayoutFacts {
            name: l.name.clone(),
            forced: true,
            evidence: vec![format!("given with --layout {name}")],
        }),
        None => Err(format!(
            "no layout {name:?} (known: {})",
            names().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FileFacts, ProcessFacts};

    #[test]
    fn the_built_in_layouts_load_and_every_one_is_detectable() {
        let layouts = builtin();
        assert!(layouts.iter().any(|l| l.name == "kubeadm"));
        // Most specific first: kubeadm, which the others resemble, last.
        assert_eq!(layouts.last().unwrap().name, "kubeadm");
        for l in layouts {
            assert!(!l.detect.is_empty(), "{}", l.name);
            for role in Role::ALL {
                assert!(l.roles.contains_key(&role), "{}: {role}", l.name);
            }
        }
    }

    #[test]
    fn every_built_in_layout_file_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/layouts");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut built: Vec<String> = BUILTIN_FILES
            .iter()
            .map(|(n, _)| n.rsplit('/').next().unwrap().to_string())
            .collect();
        built.sort();
        assert_eq!(on_disk, built);
    }

    #[test]
    fn problems_name_their_file_and_line() {
        let text = "name = \"x\"\ntitle = \"t\"\nsummary = \"s\"\n[detect]\npriority = 1\n[[detect.any]]\npath = \"relative\"\n[paths]\npki = [\"/p\"]\n[components.apiservr]\nlaunch = \"static-pod\"\n[components.etcd]\nlaunch = \"systemd\"\n[roles]\ncontrol-plane = [\"etcd\"]\netcd = [\"etcd\"]\n";
        let e = load_sources(&[("bad.toml", text)]).unwrap_err();
        let shown: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            shown
                .iter()
                .any(|p| p.starts_with("bad.toml:7:") && p.contains("not an absolute path")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|p| p.starts_with("bad.toml:10:") && p.contains("unknown component")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|p| p.starts_with("bad.toml:13:") && p.contains("needs its unit")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|p| p.contains("what a worker node runs")),
            "{shown:?}"
        );
        let e = load_sources(&[("typo.toml", "name = \"x\"\ntitel = \"t\"\n")]).unwrap_err();
        assert_eq!(e.problems[0].file, "typo.toml");
        assert!(e.problems[0].line >= 1, "{:?}", e.problems);
    }

    fn with(paths: &[&str], procs: &[&str]) -> NodeFacts {
        let mut n = NodeFacts::default();
        for p in paths {
            n.files.insert(
                p.to_string(),
                FileFacts {
                    exists: true,
                    ..Default::default()
                },
            );
        }
        for p in procs {
            n.processes.push(ProcessFacts {
                name: p.to_string(),
                pid: Some(42),
                argv: vec![format!("/usr/local/bin/{p}"), "server".into()],
            });
        }
        n
    }

    #[test]
    fn detection_says_why_and_unknown_assumes_nothing() {
        let d = detect(&with(
            &["/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"],
            &[],
        ));
        assert_eq!(d.name, "kubeadm");
        assert_eq!(
            d.evidence,
            vec!["/etc/systemd/system/kubelet.service.d/10-kubeadm.conf exists"]
        );
        // kubespray also has kubeadm's manifests: its own files win.
        let d = detect(&with(
            &[
                "/etc/kubernetes/manifests/kube-apiserver.yaml",
                "/etc/etcd.env",
            ],
            &[],
        ));
        assert_eq!(d.name, "kubespray");
        let d = detect(&with(&[], &["rke2"]));
        assert_eq!(
            (d.name.as_str(), d.evidence[0].as_str()),
            ("rke2", "process rke2 (pid 42)")
        );
        // A kubespray worker: no etcd.env, but the kubelet's environment
        // file, beside the kubelet.conf that `kubeadm join` also writes.
        let d = detect(&with(
            &[
                "/etc/kubernetes/kubelet.env",
                "/etc/kubernetes/kubelet.conf",
            ],
            &[],
        ));
        assert_eq!(
            (d.name.as_str(), d.evidence.as_slice()),
            (
                "kubespray",
                &["/etc/kubernetes/kubelet.env exists".to_string()][..]
            )
        );
        // An RKE2 agent whose rke2 process is not running (stopped for an
        // upgrade): its pod-manifest directory still says RKE2.
        let d = detect(&with(&["/var/lib/rancher/rke2/agent/pod-manifests"], &[]));
        assert_eq!(
            (d.name.as_str(), d.evidence[0].as_str()),
            ("rke2", "/var/lib/rancher/rke2/agent/pod-manifests exists")
        );
        // A node with an rke2 process and a leftover kubeadm drop-in is
        // RKE2: RKE2 is tried before kubeadm.
        let d = detect(&with(
            &["/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"],
            &["rke2"],
        ));
        assert_eq!(d.name, "rke2");
        let d = detect(&with(&["/opt/something"], &[]));
        assert_eq!(d.name, UNKNOWN);
        assert!(d.evidence[0].contains("kubeadm ("), "{:?}", d.evidence);
        assert!(forced("nope").unwrap_err().contains("known: "));
        assert!(forced("rke2").unwrap().forced);
    }

    #[test]
    fn supervisor_options_name_flags_beside_an_arg_key() {
        let text = |opts: &str, arg_key: &str| {
            format!(
                "name = \"s\"\ntitle = \"S\"\nsummary = \"s\"\n[detect]\npriority = 5\n[[detect.any]]\nprocess = \"sup\"\n[paths]\n[supervisor]\nprocesses = [\"sup\"]\nconfig_files = [\"/etc/sup.yaml\"]\n[components.apiserver]\nlaunch = \"embedded\"\nby = \"sup\"\nlogged = \"Running kube-apiserver\"\n{arg_key}[components.apiserver.options]\n{opts}\n[roles]\ncontrol-plane = [\"apiserver\"]\netcd = []\nworker = []\n"
            )
        };
        let ok = load_sources(&[(
            "s.toml",
            &text(
                "\"secrets-encryption\" = [\"--encryption-provider-config\"]",
                "arg_key = \"kube-apiserver-arg\"\n",
            ),
        )])
        .unwrap();
        assert_eq!(
            ok[0].component(ComponentKind::ApiServer).unwrap().options["secrets-encryption"],
            ["--encryption-provider-config"]
        );
        let shown = |e: LayoutError| -> Vec<String> {
            e.problems.iter().map(|p| p.message.clone()).collect()
        };
        let e = load_sources(&[(
            "s.toml",
            &text(
                "\"x\" = [\"encryption-provider-config=/p\"]",
                "arg_key = \"kube-apiserver-arg\"\n",
            ),
        )])
        .unwrap_err();
        assert!(
            shown(e)
                .iter()
                .any(|m| m.contains("option \"x\" lists flag names")),
            "flags are --names"
        );
        let e = load_sources(&[("s.toml", &text("\"x\" = [\"--a\"]", ""))]).unwrap_err();
        assert!(
            shown(e)
                .iter()
                .any(|m| m.contains("`arg_key`, which is missing")),
            "options need an arg_key"
        );
    }

    #[test]
    fn k3s_is_recognised_by_its_server_or_agent_process_or_its_files() {
        // The k3s wrapper execs k3s-server or k3s-agent: that is the comm.
        for p in ["k3s-server", "k3s-agent"] {
            let d = detect(&with(&[], &[p]));
            assert_eq!(
                (d.name.as_str(), d.evidence.clone()),
                ("k3s", vec![format!("process {p} (pid 42)")])
            );
        }
        // k3s stopped: its files still say what the node is.
        for path in [
            "/var/lib/rancher/k3s/server/tls",
            "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d",
        ] {
            let d = detect(&with(&[path], &[]));
            assert_eq!(d.name, "k3s");
            assert_eq!(d.evidence, vec![format!("{path} exists")]);
        }
        // A plain "k3s" process (the wrapper before it execs, or `k3s
        // kubectl`) is not a server, and RKE2's files are not k3s's.
        assert_eq!(detect(&with(&[], &["k3s"])).name, UNKNOWN);
        let d = detect(&with(&["/var/lib/rancher/rke2/agent/pod-manifests"], &[]));
        assert_eq!(d.name, "rke2");
        // k3s's layout runs every component inside the supervisor, with
        // the line it logs and the config key that sets its flags.
        let l = find("k3s").unwrap();
        let api = l.component(ComponentKind::ApiServer).unwrap();
        assert_eq!(api.launch, Launch::Embedded);
        assert_eq!(api.logged.as_deref(), Some("Running kube-apiserver"));
        assert_eq!(api.arg_key.as_deref(), Some("kube-apiserver-arg"));
        for id in ["1.1.12", "1.3.6", "4.2.7", "4.2.10", "4.2.11"] {
            assert!(
                l.checks.get(id).is_some_and(|c| c.skip.is_some()),
                "k3s skips {id} with a reason"
            );
        }
    }
}
