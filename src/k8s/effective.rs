//! Effective configuration: what a component really runs with, and where each
//! value came from.
//!
//! * Control-plane components: the running command line, then the documented
//!   default. The API server's `--authorization-mode` is read from the
//!   `--authorization-config` file when that is used instead. Settings that
//!   several flags or files decide together are resolved as the API server
//!   resolves them, not read off one flag: whether an admission plugin runs
//!   (`--enable-admission-plugins`, `--disable-admission-plugins`, the
//!   deprecated `--admission-control`, defaults), and where anonymous
//!   requests get in (`--anonymous-auth` or the AuthenticationConfiguration).
//!   A combination the API server refuses to start with is an error, since
//!   what runs cannot be what the command line says.
//! * etcd: the command line, then `ETCD_*` environment variables, then the
//!   default; but with `--config-file` (or `ETCD_CONFIG_FILE`), etcd reads
//!   only that file. Its listen URLs are resolved here once, for the checks,
//!   the port probes and the reachability attempts alike, so that they can
//!   never disagree about where etcd listens.
//! * kubelet: defaults, then the file named by `--config` (not a guessed
//!   path), then the `--config-dir` drop-ins in lexical order, then command-line
//!   flags, which win. Flag defaults and config-file defaults differ
//!   (`readOnlyPort` is 10255 without a config file and 0 with one).
//! * kube-proxy: with `--config`, the file and its defaults only (kube-proxy
//!   ignores the flags then); without, the flags and their defaults.
//!
//! Everything here is a pure function of the facts of one node.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::argv::{Args, FlagValue, parse_argv};
use super::known::{AdmissionSpec, FlagSpec, GateSpec, SettingSpec, ValueKind, etcd_env_name};
use super::layout::Layout;
use super::value::{Observed, Value, parse_go_duration};
use crate::facts::{ComponentFacts, ComponentKind, FileFacts, LayoutFacts, NodeFacts};
use crate::yaml;

/// Why a fact has no value to test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// Does not apply on this node (a skip), with the reason.
    NotApplicable(String),
    /// Should have been readable but was not (an error), with the reason.
    Unreadable(String),
}

pub type Resolution<T> = Result<T, Unresolved>;

/// A parsed config file layer.
#[derive(Clone, Debug)]
struct Layer {
    path: String,
    /// The path as reports name it (`... inside the kube-proxy container`).
    shown: String,
    doc: Json,
    drop_in: bool,
}

/// Per-node cache of parsed command lines and config files. Built for one
/// node, used by every rule evaluated on it, then dropped.
pub struct NodeCtx<'a> {
    pub facts: &'a NodeFacts,
    args: BTreeMap<ComponentKind, Args>,
    kubelet_layers: OnceCell<Resolution<Vec<Layer>>>,
    proxy_config: OnceCell<Resolution<Option<Layer>>>,
    etcd_config: OnceCell<Resolution<Option<Layer>>>,
    scheduler_config: OnceCell<Resolution<Option<Layer>>>,
    /// The node's layout as its facts say (detected now for facts saved
    /// before layouts existed), and the layout's data when it is known.
    pub layout: LayoutFacts,
    layout_data: Option<&'static Layout>,
}

impl<'a> NodeCtx<'a> {
    pub fn new(facts: &'a NodeFacts) -> NodeCtx<'a> {
        let args = facts
            .components
            .iter()
            .filter(|(_, c)| c.running)
            .map(|(k, c)| (*k, parse_argv(*k, &c.argv)))
            .collect();
        let layout = facts
            .layout
            .clone()
            .unwrap_or_else(|| super::layout::detect(facts));
        let layout_data = super::layout::find(&layout.name);
        NodeCtx {
            facts,
            args,
            kubelet_layers: OnceCell::new(),
            proxy_config: OnceCell::new(),
            etcd_config: OnceCell::new(),
            scheduler_config: OnceCell::new(),
            layout,
            layout_data,
        }
    }

    /// The node's layout, or why path-dependent checks cannot be judged:
    /// kubeadm's paths are never assumed for a node that matched no layout.
    pub fn layout(&self) -> Resolution<&'static Layout> {
        self.layout_data.ok_or_else(|| {
            Unresolved::Unreadable(format!(
                "the node's layout is {:?} ({}), so where its files are is not known; give --layout {} if the node is one of them",
                self.layout.name,
                self.layout.evidence.join("; "),
                super::layout::names().join("|")
            ))
        })
    }

    /// The running component, or why it cannot be used.
    pub fn running(&self, kind: ComponentKind) -> Resolution<(&'a ComponentFacts, &Args)> {
        let item = format!("component:{kind}");
        let embedded = self
            .layout_data
            .and_then(|l| l.component(kind))
            .filter(|c| c.launch == super::layout::Launch::Embedded);
        match self.facts.component(kind) {
            Some(c) if c.error.is_some() && embedded.is_some() => {
                Err(Unresolved::Unreadable(format!(
                    "what the {} embedded in {} runs with is not known: {}",
                    kind.binary(),
                    embedded.map(|e| e.by_text()).unwrap_or_default(),
                    c.error.as_deref().unwrap_or("")
                )))
            }
            Some(c) if c.error.is_some() => Err(Unresolved::Unreadable(format!(
                "the {} process could not be read: {}",
                kind.binary(),
                c.error.as_deref().unwrap_or("")
            ))),
            Some(c) if c.running => Ok((c, &self.args[&kind])),
            Some(c) => match &c.manifest {
                Some(m) => Err(Unresolved::Unreadable(format!(
                    "{} has a static-pod manifest at {} but is not running, so its effective settings are unknown",
                    kind.binary(),
                    m.path
                ))),
                None => Err(Unresolved::NotApplicable(format!(
                    "{} is not running on this node",
                    kind.binary()
                ))),
            },
            None => match self.facts.error_for(&item) {
                Some(e) => Err(Unresolved::Unreadable(format!(
                    "{} could not be looked for: {e}",
                    kind.binary()
                ))),
                None => Err(Unresolved::NotApplicable(match embedded {
                    // The layout says why it may not run, and what was
                    // looked for.
                    Some(e) => format!(
                        "{} is not running on this node: no {} logged a {:?} line since it started{}",
                        kind.binary(),
                        e.by_text(),
                        e.logged.as_deref().unwrap_or(""),
                        e.absent
                            .as_ref()
                            .map(|a| format!("; {a}"))
                            .unwrap_or_default()
                    ),
                    None => format!("{} is not running on this node", kind.binary()),
                })),
            },
        }
    }

    /// A file's facts, or why it cannot be used. `what` names it for people.
    pub fn file(&self, path: &str) -> Resolution<&'a FileFacts> {
        match self.facts.files.get(path) {
            Some(f) if f.error.is_some() => Err(Unresolved::Unreadable(format!(
                "{path} could not be read: {}",
                f.error.as_deref().unwrap_or("")
            ))),
            Some(f) => Ok(f),
            None => Err(Unresolved::Unreadable(match self.facts.error_for(path) {
                Some(e) => format!("{path} could not be read: {e}"),
                None => format!("{path} was not collected"),
            })),
        }
    }

    /// A path as reports name it: with "inside the X container (pid N)"
    /// when the file was read in a container, not on the host.
    pub fn shown_path(&self, path: &str) -> String {
        match self.facts.files.get(path) {
            Some(f) => f.located(path),
            None => path.to_string(),
        }
    }

    fn layer(&self, path: &str, doc: Json, drop_in: bool) -> Layer {
        Layer {
            path: path.to_string(),
            shown: self.shown_path(path),
            doc,
            drop_in,
        }
    }

    /// The parsed content of a config file that must exist.
    pub(super) fn config_doc(&self, path: &str, what: &str) -> Resolution<Json> {
        let f = self.file(path)?;
        let shown = f.located(path);
        if !f.exists {
            return Err(Unresolved::Unreadable(format!(
                "{what} {shown} does not exist"
            )));
        }
        let Some(text) = &f.content else {
            return Err(Unresolved::Unreadable(format!(
                "{what} {shown} exists but its content was not collected"
            )));
        };
        if f.truncated {
            return Err(Unresolved::Unreadable(format!(
                "{what} {shown} is larger than the collection cap; it was not parsed"
            )));
        }
        yaml::parse(text)
            .map_err(|e| Unresolved::Unreadable(format!("{what} {shown} is not valid YAML: {e}")))
    }

    /// An effective command-line setting of a control-plane component or etcd
    /// (or a flag-only kubelet/kube-proxy flag).
    pub fn flag(&self, spec: &FlagSpec) -> Resolution<Observed> {
        let kind = spec.component;
        let (comp, args) = self.running(kind)?;
        let pid = pid_text(comp);
        if kind == ComponentKind::Etcd {
            if let Some(layer) = self.etcd_config()? {
                return Ok(etcd_from_config(spec, layer));
            }
        }
        if kind == ComponentKind::ApiServer
            && matches!(
                spec.name,
                "--etcd-cafile" | "--etcd-certfile" | "--etcd-keyfile"
            )
            && args.get(spec.name).is_none()
        {
            // Storage reached over a unix socket (k3s's kine) has no TLS
            // to configure: there is no network path to protect.
            if let Some(servers) = args.value("--etcd-servers").filter(|v| {
                let all: Vec<&str> = v.split(',').map(str::trim).collect();
                !all.is_empty() && all.iter().all(|s| s.starts_with("unix://"))
            }) {
                return Err(Unresolved::NotApplicable(format!(
                    "the API server reaches its storage only through the unix socket {servers} (--etcd-servers on the {}{}): a local socket, with no TLS to etcd to configure (k3s's kine, SQLite or an external database behind it)",
                    command_line(kind, comp),
                    self.set_in(kind, "--etcd-servers")
                )));
            }
        }
        if kind == ComponentKind::Scheduler && spec.name == "--profiling" {
            if let Some(layer) = self.scheduler_config()? {
                return Ok(scheduler_profiling(layer, args.get(spec.name).is_some()));
            }
        }
        if let Some(fv) = args.get(spec.name) {
            let repeated = if fv.occurrences > 1 {
                format!(
                    " (given {} times; {})",
                    fv.occurrences,
                    if spec.kind == ValueKind::List {
                        "values appended"
                    } else {
                        "the last one wins"
                    }
                )
            } else {
                String::new()
            };
            return Ok(Observed {
                value: Some(as_value(spec.kind, &fv.value)),
                explicit: true,
                source: format!(
                    "{}: {}{repeated}{}",
                    command_line(kind, comp),
                    shown(spec.name, fv),
                    self.set_in(kind, spec.name)
                ),
                kind: spec.kind,
            });
        }
        if kind == ComponentKind::Etcd {
            let var = etcd_env_name(spec.name);
            if let Some(v) = comp.env.get(&var) {
                return Ok(Observed {
                    value: Some(as_value(spec.kind, v)),
                    explicit: true,
                    source: format!("etcd environment{pid}: {var}={v}"),
                    kind: spec.kind,
                });
            }
        }
        if kind == ComponentKind::ApiServer && spec.name == "--authorization-mode" {
            if let Some(path) = args.value("--authorization-config") {
                return self.authorization_config(path);
            }
        }
        Ok(default_of(
            spec.kind,
            spec.default,
            format!(
                "{} not set on the {}{}",
                spec.name,
                command_line(kind, comp),
                self.set_in(kind, spec.name)
            ),
        ))
    }

    /// Authorizer types from a structured authorization config file.
    fn authorization_config(&self, path: &str) -> Resolution<Observed> {
        let doc = self.config_doc(path, "authorization config")?;
        let types: Vec<String> = doc
            .get("authorizers")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get("type").and_then(Json::as_str))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Observed {
            value: Some(Value::List(types)),
            explicit: true,
            source: format!(
                "authorizers[].type in {} (--authorization-config)",
                self.shown_path(path)
            ),
            kind: ValueKind::List,
        })
    }

    /// The config file a component names with `flag`, parsed once per node.
    fn flag_config<'s>(
        &'s self,
        cell: &'s OnceCell<Resolution<Option<Layer>>>,
        kind: ComponentKind,
        flag: &str,
        what: &str,
    ) -> Resolution<Option<&'s Layer>> {
        cell.get_or_init(|| {
            let (comp, args) = self.running(kind)?;
            // etcd also takes --config-file from ETCD_CONFIG_FILE (etcdmain's
            // config.parse), and then reads nothing else.
            let path = args.value(flag).map(String::from).or_else(|| {
                (kind == ComponentKind::Etcd)
                    .then(|| comp.env.get(&etcd_env_name(flag)).cloned())
                    .flatten()
            });
            let Some(path) = path.filter(|p| !p.is_empty()) else {
                return Ok(None);
            };
            let doc = self.config_doc(&path, what)?;
            Ok(Some(self.layer(&path, doc, false)))
        })
        .as_ref()
        .map(Option::as_ref)
        .map_err(Clone::clone)
    }

    fn etcd_config(&self) -> Resolution<Option<&Layer>> {
        self.flag_config(
            &self.etcd_config,
            ComponentKind::Etcd,
            "--config-file",
            "etcd config file",
        )
    }

    /// The KubeSchedulerConfiguration the scheduler reads with `--config`.
    fn scheduler_config(&self) -> Resolution<Option<&Layer>> {
        self.flag_config(
            &self.scheduler_config,
            ComponentKind::Scheduler,
            "--config",
            "kube-scheduler config file",
        )
    }

    /// The file etcd reads its whole configuration from, when it has one
    /// (`--config-file`, or `ETCD_CONFIG_FILE`).
    pub fn etcd_config_file(&self) -> Resolution<Option<String>> {
        Ok(self.etcd_config()?.map(|l| l.path.clone()))
    }

    /// Where etcd listens: its client, peer and metrics URLs as etcd itself
    /// works them out (the `--config-file` alone when it has one; else the
    /// flags, then `ETCD_*`, then etcd's defaults), with where each came
    /// from. Collection, the probes and the checks all use this one answer.
    pub fn etcd_listen(&self) -> Resolution<EtcdListen> {
        let get = |name: &str| -> Resolution<Observed> {
            let spec = super::known::find_flag(ComponentKind::Etcd, name).expect("known flag");
            self.flag(spec)
        };
        Ok(EtcdListen {
            client: get("--listen-client-urls")?,
            peer: get("--listen-peer-urls")?,
            metrics: get("--listen-metrics-urls")?,
        })
    }

    fn kubelet_layers(&self) -> Resolution<&[Layer]> {
        self.kubelet_layers
            .get_or_init(|| {
                let (_, args) = self.running(ComponentKind::Kubelet)?;
                let mut layers = Vec::new();
                if let Some(path) = args.value("--config") {
                    let doc = self.config_doc(path, "kubelet config file")?;
                    layers.push(self.layer(path, doc, false));
                }
                if let Some(dir) = args.value("--config-dir") {
                    let d = self.file(dir)?;
                    if d.exists {
                        let Some(entries) = &d.entries else {
                            return Err(Unresolved::Unreadable(format!(
                                "the kubelet --config-dir {dir} was not listed, so its drop-ins are unknown"
                            )));
                        };
                        let mut names: Vec<&String> = entries
                            .iter()
                            .filter(|p| {
                                p.ends_with(".conf")
                                    && p.strip_prefix(dir.trim_end_matches('/'))
                                        .is_some_and(|rest| rest.matches('/').count() == 1)
                            })
                            .collect();
                        names.sort();
                        for p in names {
                            let doc = self.config_doc(p, "kubelet drop-in")?;
                            layers.push(self.layer(p, doc, true));
                        }
                    }
                }
                Ok(layers)
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    fn proxy_config(&self) -> Resolution<Option<&Layer>> {
        self.flag_config(
            &self.proxy_config,
            ComponentKind::KubeProxy,
            "--config",
            "kube-proxy config file",
        )
    }

    /// An effective kubelet or kube-proxy config-file setting.
    pub fn setting(&self, component: ComponentKind, spec: &SettingSpec) -> Resolution<Observed> {
        let (comp, args) = self.running(component)?;
        let binary = component.binary();
        if component == ComponentKind::KubeProxy {
            if let Some(layer) = self.proxy_config()? {
                let ignored = spec
                    .flag
                    .filter(|f| args.get(f).is_some())
                    .map(|f| {
                        format!("; {f} on the command line is ignored because --config is set")
                    })
                    .unwrap_or_default();
                return Ok(match from_layers(spec, std::slice::from_ref(layer)) {
                    Some(mut o) => {
                        o.source.push_str(&ignored);
                        o
                    }
                    None => default_of(
                        spec.kind,
                        spec.config_default,
                        format!("{} not set in {}{ignored}", spec.path, layer.shown),
                    ),
                });
            }
        }
        if let Some(flag) = spec.flag {
            if let Some(fv) = args.get(flag) {
                return Ok(Observed {
                    value: Some(as_value(spec.kind, &fv.value)),
                    explicit: true,
                    source: format!(
                        "{}: {} (flags override the config file){}",
                        command_line(component, comp),
                        shown(flag, fv),
                        self.set_in(component, flag)
                    ),
                    kind: spec.kind,
                });
            }
        }
        let layers = if component == ComponentKind::Kubelet {
            self.kubelet_layers()?
        } else {
            &[]
        };
        if let Some(o) = from_layers(spec, layers) {
            return Ok(o);
        }
        let flag_text = spec
            .flag
            .map(|f| format!("{f} not on the command line"))
            .unwrap_or_default();
        if layers.is_empty() {
            Ok(default_of(
                spec.kind,
                spec.flag_default,
                format!("{binary} has no --config file; {flag_text}"),
            ))
        } else {
            let files: Vec<&str> = layers.iter().map(|l| l.shown.as_str()).collect();
            let zero = layers.iter().rev().find_map(|l| {
                let v = yaml::lookup(&l.doc, spec.path)?;
                let t = yaml::scalar_text(v)?;
                Some(format!(
                    "{}: {} is {t:?}, which the kubelet replaces with the default",
                    l.shown, spec.path
                ))
            });
            let why = match zero {
                Some(z) => format!("{z}; {flag_text}"),
                None => format!(
                    "{} not set in {}; {flag_text}; config-file default applies",
                    spec.path,
                    files.join(", ")
                ),
            };
            Ok(default_of(spec.kind, spec.config_default, why))
        }
    }

    /// Whether a feature gate is on, from `--feature-gates` (and, for the
    /// kubelet, the config file's `featureGates`), else its default.
    pub fn feature_gate(&self, component: ComponentKind, gate: &GateSpec) -> Resolution<Observed> {
        let (comp, args) = self.running(component)?;
        let pid = pid_text(comp);
        if let Some(fv) = args.get("--feature-gates") {
            for pair in fv.value.split(',').rev() {
                if let Some((k, v)) = pair.split_once('=') {
                    if k.trim() == gate.name {
                        return Ok(Observed {
                            value: Some(Value::Scalar(v.trim().to_string())),
                            explicit: true,
                            source: format!(
                                "{}: --feature-gates={}{}",
                                command_line(component, comp),
                                fv.value,
                                self.set_in(component, "--feature-gates")
                            ),
                            kind: ValueKind::Bool,
                        });
                    }
                }
            }
        }
        if component == ComponentKind::Kubelet {
            let path = format!("featureGates.{}", gate.name);
            for layer in self.kubelet_layers()?.iter().rev() {
                if let Some(v) = yaml::lookup(&layer.doc, &path) {
                    let text = yaml::scalar_text(v).unwrap_or_default();
                    return Ok(Observed {
                        value: Some(Value::Scalar(text)),
                        explicit: true,
                        source: layer_source(layer, &path),
                        kind: ValueKind::Bool,
                    });
                }
            }
        }
        Ok(Observed {
            value: Some(Value::Scalar(gate.default.to_string())),
            explicit: false,
            source: format!(
                "{} not set for {}{pid}; default in Kubernetes 1.32-1.34",
                gate.name,
                component.binary()
            ),
            kind: ValueKind::Bool,
        })
    }

    /// Whether a kube-apiserver admission plugin is enabled, the way
    /// kube-apiserver works it out (`pkg/kubeapiserver/options/admission.go`
    /// and the generic `enabledPluginNames`): with the deprecated
    /// `--admission-control`, exactly the plugins it lists; otherwise a
    /// plugin in `--enable-admission-plugins` is on, one in
    /// `--disable-admission-plugins` is off, and any other keeps its
    /// default. kube-apiserver refuses to start with `--admission-control`
    /// beside either of the others, or with a plugin in both lists, so a
    /// running server with such a command line is an error: what runs is
    /// not what the command line says.
    pub fn admission_plugin(&self, plugin: &AdmissionSpec) -> Resolution<Observed> {
        let (comp, args) = self.running(ComponentKind::ApiServer)?;
        let cl = command_line(ComponentKind::ApiServer, comp);
        let legacy = args.get("--admission-control");
        let enable = args.get("--enable-admission-plugins");
        let disable = args.get("--disable-admission-plugins");
        let names = |fv: Option<&FlagValue>| -> Vec<String> {
            fv.map(|f| match as_value(ValueKind::List, &f.value) {
                Value::List(l) => l,
                Value::Scalar(s) => vec![s],
            })
            .unwrap_or_default()
        };
        let bool_obs = |on: bool, explicit: bool, source: String| Observed {
            value: Some(Value::Scalar(on.to_string())),
            explicit,
            source,
            kind: ValueKind::Bool,
        };
        if let Some(l) = legacy {
            let others: Vec<String> = [
                ("--enable-admission-plugins", enable),
                ("--disable-admission-plugins", disable),
            ]
            .into_iter()
            .filter_map(|(n, fv)| fv.map(|f| shown(n, f)))
            .collect();
            if !others.is_empty() {
                return Err(Unresolved::Unreadable(format!(
                    "the {cl} has both {} and {}: kube-apiserver refuses to start with --admission-control beside --enable-admission-plugins or --disable-admission-plugins (they are mutually exclusive), so the running server cannot have this configuration; find out what really runs",
                    shown("--admission-control", l),
                    others.join(" and ")
                )));
            }
            let on = names(Some(l)).iter().any(|n| n == plugin.name);
            return Ok(bool_obs(
                on,
                true,
                format!(
                    "{cl}: {} (deprecated flag: the plugins it lists are enabled and every other plugin is disabled{})",
                    shown("--admission-control", l),
                    if on { "" } else { ", so this one is off" }
                ),
            ));
        }
        let (en, dis) = (names(enable), names(disable));
        let in_en = en.iter().any(|n| n == plugin.name);
        let in_dis = dis.iter().any(|n| n == plugin.name);
        match (in_en, in_dis) {
            (true, true) => Err(Unresolved::Unreadable(format!(
                "{} is in both --enable-admission-plugins and --disable-admission-plugins on the {cl}: kube-apiserver refuses to start with a plugin in both, so the running server cannot have this configuration",
                plugin.name
            ))),
            (true, false) => Ok(bool_obs(
                true,
                true,
                format!(
                    "{cl}: {}",
                    shown("--enable-admission-plugins", enable.expect("named in it"))
                ),
            )),
            (false, true) => Ok(bool_obs(
                false,
                true,
                format!(
                    "{cl}: {}",
                    shown("--disable-admission-plugins", disable.expect("named in it"))
                ),
            )),
            (false, false) => {
                let given: Vec<String> = [
                    ("--enable-admission-plugins", enable),
                    ("--disable-admission-plugins", disable),
                ]
                .into_iter()
                .filter_map(|(n, fv)| fv.map(|f| shown(n, f)))
                .collect();
                Ok(bool_obs(
                    plugin.default_on,
                    false,
                    format!(
                        "{} is not named on the {cl} ({}); kube-apiserver 1.32-1.34 {} by default",
                        plugin.name,
                        if given.is_empty() {
                            "no admission plugin flags".to_string()
                        } else {
                            given.join(", ")
                        },
                        if plugin.default_on {
                            "enables it"
                        } else {
                            "leaves it off"
                        }
                    ),
                ))
            }
        }
    }

    /// Whether the API server lets anonymous requests in, and where:
    /// `disabled`, `health endpoints only` (anonymous requests authenticate
    /// only on `/livez`, `/readyz` and `/healthz`) or `enabled`.
    ///
    /// Since Kubernetes 1.32 (AnonymousAuthConfigurableEndpoints) the
    /// `anonymous` section of the AuthenticationConfiguration named by
    /// `--authentication-config` may set it instead of `--anonymous-auth`;
    /// kube-apiserver refuses both at once (`authentication.go`: "cannot be
    /// set when anonymous field is configured"), and a file without the
    /// section leaves the flag, default true, in charge. With conditions,
    /// only requests whose path is exactly one of theirs are anonymous
    /// (`request/anonymous`); conditions with `enabled: false` are refused.
    pub fn anonymous_auth(&self) -> Resolution<Observed> {
        let (comp, args) = self.running(ComponentKind::ApiServer)?;
        let cl = command_line(ComponentKind::ApiServer, comp);
        let flag = args.get("--anonymous-auth");
        let file = args
            .value("--authentication-config")
            .filter(|p| !p.is_empty());
        let section = match file {
            Some(path) => {
                let doc = self.config_doc(path, "authentication config")?;
                doc.get("anonymous")
                    .filter(|a| !a.is_null())
                    .cloned()
                    .map(|a| (self.shown_path(path), a))
            }
            None => None,
        };
        let obs = |value: &str, explicit: bool, source: String| Observed {
            value: Some(Value::Scalar(value.to_string())),
            explicit,
            source,
            kind: ValueKind::Str,
        };
        if let Some((shown_file, anon)) = section {
            if let Some(fv) = flag {
                return Err(Unresolved::Unreadable(format!(
                    "the {cl} sets {} and its AuthenticationConfiguration {shown_file} (--authentication-config) has an anonymous section: kube-apiserver refuses to start with both, so the running server cannot have this configuration",
                    shown("--anonymous-auth", fv)
                )));
            }
            let where_ =
                format!("AuthenticationConfiguration {shown_file}, --authentication-config");
            let enabled = match anon.get("enabled") {
                None | Some(Json::Null) => false,
                Some(v) => {
                    let t = yaml::scalar_text(v).unwrap_or_default();
                    match t.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(Unresolved::Unreadable(format!(
                                "anonymous.enabled in {shown_file} is {t:?}, not a boolean"
                            )));
                        }
                    }
                }
            };
            let paths: Vec<String> = anon
                .get("conditions")
                .and_then(Json::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x.get("path").and_then(yaml::scalar_text))
                        .collect()
                })
                .unwrap_or_default();
            return match (enabled, paths.is_empty()) {
                (false, true) => Ok(obs(
                    "disabled",
                    true,
                    format!("disabled by anonymous.enabled: false ({where_})"),
                )),
                (false, false) => Err(Unresolved::Unreadable(format!(
                    "{shown_file} sets anonymous.enabled: false with conditions ({}), which kube-apiserver rejects (\"enabled should be set to true when conditions are defined\"), so the running server cannot have this configuration",
                    paths.join(", ")
                ))),
                (true, true) => Ok(obs(
                    "enabled",
                    true,
                    format!(
                        "enabled for every path by anonymous.enabled: true without conditions ({where_})"
                    ),
                )),
                (true, false) => {
                    let health = paths.iter().all(|p| HEALTH_PATHS.contains(&p.as_str()));
                    Ok(obs(
                        if health { HEALTH_ONLY } else { "enabled" },
                        true,
                        format!(
                            "enabled only for {} (anonymous.conditions in {where_}){}",
                            paths.join(", "),
                            if health {
                                ""
                            } else {
                                "; not only health endpoints"
                            }
                        ),
                    ))
                }
            };
        }
        let no_section = file
            .map(|p| {
                format!(
                    "; AuthenticationConfiguration {} (--authentication-config) has no anonymous section",
                    self.shown_path(p)
                )
            })
            .unwrap_or_default();
        match flag {
            Some(fv) => match super::value::parse_go_bool(&fv.value) {
                Some(on) => Ok(obs(
                    if on { "enabled" } else { "disabled" },
                    true,
                    format!(
                        "{} by {} ({cl}){no_section}",
                        if on {
                            "enabled for every path"
                        } else {
                            "disabled"
                        },
                        shown("--anonymous-auth", fv)
                    ),
                )),
                None => Err(Unresolved::Unreadable(format!(
                    "{} on the {cl} is not a boolean",
                    shown("--anonymous-auth", fv)
                ))),
            },
            None => Ok(obs(
                "enabled",
                false,
                format!(
                    "enabled for every path: --anonymous-auth not set on the {cl}{no_section}; documented default is true"
                ),
            )),
        }
    }

    /// The first provider that encrypts `secrets`, from the API server's
    /// `--encryption-provider-config` (redacted on the node; keys are never here).
    pub fn secrets_provider(&self) -> Resolution<Observed> {
        let (comp, args) = self.running(ComponentKind::ApiServer)?;
        let Some(path) = args.value("--encryption-provider-config") else {
            return Ok(Observed {
                value: None,
                explicit: false,
                source: format!(
                    "--encryption-provider-config not set on the {}: secrets are stored unencrypted",
                    command_line(ComponentKind::ApiServer, comp)
                ),
                kind: ValueKind::Str,
            });
        };
        let doc = self.config_doc(path, "encryption provider config")?;
        let shown = self.shown_path(path);
        let resources = doc
            .get("resources")
            .and_then(Json::as_array)
            .ok_or_else(|| Unresolved::Unreadable(format!("{shown} has no resources list")))?;
        for (i, r) in resources.iter().enumerate() {
            let covers = r
                .get("resources")
                .and_then(Json::as_array)
                .is_some_and(|names| {
                    names
                        .iter()
                        .filter_map(Json::as_str)
                        .any(|n| n == "secrets" || n == "*." || n == "*.*")
                });
            if !covers {
                continue;
            }
            let first = r
                .get("providers")
                .and_then(Json::as_array)
                .and_then(|p| p.first())
                .and_then(Json::as_object)
                .and_then(|o| o.keys().next().cloned());
            return Ok(Observed {
                value: first.map(Value::Scalar),
                explicit: true,
                source: format!("{shown}: resources[{i}].providers[0]"),
                kind: ValueKind::Str,
            });
        }
        Ok(Observed {
            value: None,
            explicit: false,
            source: format!("{shown}: no resources entry covers secrets"),
            kind: ValueKind::Str,
        })
    }
}

/// The only paths anonymous requests may reach on a hardened API server.
pub const HEALTH_PATHS: [&str; 3] = ["/livez", "/readyz", "/healthz"];
/// `authentication:anonymous` when anonymous requests reach only those.
pub const HEALTH_ONLY: &str = "health endpoints only";

/// etcd's listen URLs, as [`NodeCtx::etcd_listen`] resolves them.
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdListen {
    pub client: Observed,
    pub peer: Observed,
    /// `--listen-metrics-urls`: unset (no separate metrics listener) by default.
    pub metrics: Observed,
}

impl EtcdListen {
    fn ports(o: &Observed) -> Vec<u16> {
        let items = o.value.as_ref().map(Value::items).unwrap_or_default();
        crate::k8s::ports::url_ports(items.iter().map(String::as_str))
    }

    pub fn client_ports(&self) -> Vec<u16> {
        Self::ports(&self.client)
    }

    pub fn peer_ports(&self) -> Vec<u16> {
        Self::ports(&self.peer)
    }

    pub fn metrics_ports(&self) -> Vec<u16> {
        Self::ports(&self.metrics)
    }

    /// The client and peer ports, each once: what a firewall must guard.
    pub fn member_ports(&self) -> Vec<u16> {
        let mut out = self.client_ports();
        for p in self.peer_ports() {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// `URLS` as set, or `URLS (etcd's default)`.
    pub fn describe(o: &Observed) -> String {
        let text = o.value.as_ref().map(Value::text).unwrap_or_default();
        if o.explicit {
            text
        } else {
            format!("{text} (etcd's default)")
        }
    }
}

/// A flag as it was given: `--x=v`, or `--x` for a bare boolean.
fn shown(name: &str, fv: &FlagValue) -> String {
    if fv.bare {
        format!("{name} (bare boolean: {})", fv.value)
    } else {
        format!("{name}={}", fv.value)
    }
}

fn pid_text(c: &ComponentFacts) -> String {
    c.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

/// Where a component's flags were read, for people: its process's command
/// line, or, for a component embedded in a supervisor, the command line
/// the supervisor logged when it started it.
pub fn command_line(kind: ComponentKind, c: &ComponentFacts) -> String {
    match &c.logged {
        Some(l) => format!(
            "{} command line that {}{} logged {}{}",
            kind.binary(),
            l.supervisor,
            pid_text(c),
            if l.log == "journal" {
                "in the journal".to_string()
            } else {
                format!("in {}", l.log)
            },
            l.at.as_ref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default()
        ),
        None => format!("{} command line{}", kind.binary(), pid_text(c)),
    }
}

fn as_value(kind: ValueKind, text: &str) -> Value {
    if kind == ValueKind::List {
        Value::List(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        )
    } else {
        Value::Scalar(text.to_string())
    }
}

fn json_value(kind: ValueKind, v: &Json) -> Option<Value> {
    match v {
        Json::Array(items) => Some(Value::List(
            items.iter().filter_map(yaml::scalar_text).collect(),
        )),
        Json::Null => None,
        other => yaml::scalar_text(other).map(|t| as_value(kind, &t)),
    }
}

fn layer_source(layer: &Layer, key: &str) -> String {
    if layer.drop_in {
        format!("drop-in {}: {key}", layer.shown)
    } else {
        format!("{}: {key}", layer.shown)
    }
}

/// The value from the last layer that sets `spec.path`.
fn from_layers(spec: &SettingSpec, layers: &[Layer]) -> Option<Observed> {
    layers.iter().rev().find_map(|layer| {
        let v = yaml::lookup(&layer.doc, spec.path)?;
        // An empty string in a component config means "use the default", and
        // so does a zero for fields defaulted by value.
        if v.as_str() == Some("") || (spec.zero_is_default && is_zero(spec.kind, v)) {
            return None;
        }
        Some(Observed {
            value: json_value(spec.kind, v),
            explicit: true,
            source: layer_source(layer, spec.path),
            kind: spec.kind,
        })
    })
}

fn is_zero(kind: ValueKind, v: &Json) -> bool {
    match yaml::scalar_text(v) {
        Some(t) => match kind {
            ValueKind::Duration => parse_go_duration(&t) == Some(0.0),
            ValueKind::Int => t.parse::<f64>().is_ok_and(|n| n == 0.0),
            _ => false,
        },
        None => false,
    }
}

fn default_of(kind: ValueKind, default: Option<&str>, why: String) -> Observed {
    match default {
        Some(d) => Observed {
            value: Some(as_value(kind, d)),
            explicit: false,
            source: format!(
                "{why}; documented default is {}",
                if d.is_empty() { "empty" } else { d }
            ),
            kind,
        },
        None => Observed {
            value: None,
            explicit: false,
            source: format!("{why}; no default"),
            kind,
        },
    }
}

/// kube-scheduler's profiling when it runs with `--config`: the deprecated
/// `--profiling` flag is then ignored (cmd/kube-scheduler/app/options:
/// `ApplyDeprecated` runs only without a config file; the flag's help says
/// "This parameter is ignored if a config file is specified in --config"),
/// and `enableProfiling` in the file decides, true by default
/// (KubeSchedulerConfiguration v1 defaults). kubespray starts the scheduler
/// this way, with `--profiling=False` beside a file that leaves profiling on.
fn scheduler_profiling(layer: &Layer, flag_given: bool) -> Observed {
    let ignored = if flag_given {
        "; --profiling on the command line is ignored because --config is set"
    } else {
        ""
    };
    match yaml::lookup(&layer.doc, "enableProfiling").and_then(yaml::scalar_text) {
        Some(t) => Observed {
            value: Some(as_value(ValueKind::Bool, &t)),
            explicit: true,
            source: format!("{}: enableProfiling: {t}{ignored}", layer.shown),
            kind: ValueKind::Bool,
        },
        None => default_of(
            ValueKind::Bool,
            Some("true"),
            format!(
                "enableProfiling not set in {} (kube-scheduler --config), whose default is true{ignored}",
                layer.shown
            ),
        ),
    }
}

/// etcd's `--config-file` keys for the flags rules read.
fn etcd_config_key(flag: &str) -> String {
    let bare = flag.trim_start_matches('-');
    for (prefix, section) in [
        ("peer-", "peer-transport-security"),
        ("", "client-transport-security"),
    ] {
        if let Some(rest) = bare.strip_prefix(prefix) {
            if matches!(
                rest,
                "cert-file" | "key-file" | "client-cert-auth" | "auto-tls" | "trusted-ca-file"
            ) {
                return format!("{section}.{rest}");
            }
        }
    }
    bare.to_string()
}

fn etcd_from_config(spec: &FlagSpec, layer: &Layer) -> Observed {
    let key = etcd_config_key(spec.name);
    let found = yaml::lookup(&layer.doc, &key);
    match found.and_then(|v| json_value(spec.kind, v)) {
        Some(value) if !matches!(&value, Value::Scalar(s) if s.is_empty()) => Observed {
            value: Some(value),
            explicit: true,
            source: format!(
                "{}: {key} (etcd reads only --config-file; flags and ETCD_* are ignored)",
                layer.shown
            ),
            kind: spec.kind,
        },
        _ => default_of(
            spec.kind,
            spec.default,
            format!("{key} not set in etcd --config-file {}", layer.shown),
        ),
    }
}
