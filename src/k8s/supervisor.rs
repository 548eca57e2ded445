//! Where a supervisor's component flags come from: its own configuration.
//!
//! k3s passes flags to the components it runs from the `*-arg` lists of its
//! configuration (`kube-apiserver-arg: ["profiling=false", ...]`), read
//! from `/etc/rancher/k3s/config.yaml` and then each `config.yaml.d/*.yaml`
//! in lexical order; a key written again replaces the value so far, and a
//! key with a trailing `+` (`kube-apiserver-arg+:`) appends to it
//! (`k3s:pkg/configfilearg/parser.go`, `readConfigFile`; k3s-docs
//! `installation/configuration.md`, "Value Merge Behavior"). Every other
//! flag on the logged line is k3s's own: its default, one of its options
//! (`secrets-encryption` adds `--encryption-provider-config`), or an
//! `--kube-apiserver-arg` on k3s's own command line, which its process
//! hides from `/proc` and so cannot be told apart here.
//!
//! The logged line is what the component runs with, whatever the source;
//! this only says where each value was set, for people fixing it.

use serde_json::Value as Json;

use super::effective::NodeCtx;
use super::layout::Launch;
use crate::facts::ComponentKind;
use crate::yaml;

/// One entry of a supervisor's `*-arg` list, and the file that set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgEntry {
    pub item: String,
    pub file: String,
}

impl ArgEntry {
    /// The flag the entry sets, `--name`: `name=v`, `name+=v` (k3s
    /// appends to its default), `name-=v` (prepends), or a bare `name`.
    pub fn flag(&self) -> String {
        let body = self.item.trim_start_matches('-');
        let name = body.split('=').next().unwrap_or(body);
        format!("--{}", name.trim_end_matches(['+', '-']))
    }
}

fn items(v: &Json) -> Vec<String> {
    match v {
        Json::Array(a) => a.iter().filter_map(yaml::scalar_text).collect(),
        other => yaml::scalar_text(other).into_iter().collect(),
    }
}

impl NodeCtx<'_> {
    /// The supervisor's configuration files that exist, in the order it
    /// reads them: each file, then its `.d/*.yaml` drop-ins by name.
    fn supervisor_files(&self) -> Vec<String> {
        let Ok(layout) = self.layout() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for f in layout.supervisor.iter().flat_map(|s| s.config_files.iter()) {
            if self.facts.files.get(f).is_some_and(|x| x.exists) {
                out.push(f.clone());
            }
            let dir = format!("{f}.d/");
            let mut drop_ins: Vec<&String> = self
                .facts
                .files
                .get(&format!("{f}.d"))
                .and_then(|d| d.entries.as_ref())
                .into_iter()
                .flatten()
                .filter(|p| {
                    p.strip_prefix(&dir).is_some_and(|n| {
                        let n = n.to_ascii_lowercase();
                        !n.contains('/') && (n.ends_with(".yaml") || n.ends_with(".yml"))
                    })
                })
                .collect();
            drop_ins.sort();
            out.extend(drop_ins.into_iter().cloned());
        }
        out
    }

    /// The entries of `key` the supervisor's configuration ends up with,
    /// merged as k3s merges its files; `Err` names a file that could not
    /// be read or parsed.
    pub fn supervisor_arg_list(&self, key: &str) -> Result<Vec<ArgEntry>, String> {
        let mut out: Vec<ArgEntry> = Vec::new();
        for path in self.supervisor_files() {
            let f = &self.facts.files[&path];
            let Some(text) = f.content.as_deref() else {
                return Err(format!("{path} exists but was not read"));
            };
            if f.truncated {
                return Err(format!("{path} is larger than the collection cap"));
            }
            let doc = yaml::parse(text).map_err(|e| format!("{path} is not valid YAML: {e}"))?;
            let Some(map) = doc.as_object() else { continue };
            for (k, v) in map {
                let (name, append) = match k.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (k.as_str(), false),
                };
                if name != key {
                    continue;
                }
                if !append {
                    out.clear();
                }
                out.extend(items(v).into_iter().map(|item| ArgEntry {
                    item,
                    file: path.clone(),
                }));
            }
        }
        Ok(out)
    }

    /// The value the supervisor's configuration gives its own option `key`
    /// (`secrets-encryption: true`), and the file that gave it: the last
    /// file that sets it wins, as k3s merges its files.
    pub fn supervisor_option(&self, key: &str) -> Result<Option<(String, String)>, String> {
        let mut out = None;
        for path in self.supervisor_files() {
            let f = &self.facts.files[&path];
            let Some(text) = f.content.as_deref() else {
                return Err(format!("{path} exists but was not read"));
            };
            if f.truncated {
                return Err(format!("{path} is larger than the collection cap"));
            }
            let doc = yaml::parse(text).map_err(|e| format!("{path} is not valid YAML: {e}"))?;
            if let Some(v) = doc.as_object().and_then(|m| m.get(key)) {
                let shown = match v {
                    Json::Array(_) => items(v).join(","),
                    other => yaml::scalar_text(other).unwrap_or_default(),
                };
                out = Some((shown, path.clone()));
            }
        }
        Ok(out)
    }

    /// Where an embedded component's flag was set, for a finding's source:
    /// ` (set in FILE kube-apiserver-arg: ITEM)`, or that k3s set it.
    /// Empty for a component with a command line of its own.
    pub fn set_in(&self, kind: ComponentKind, flag: &str) -> String {
        let Some(c) = self.facts.component(kind).filter(|c| c.logged.is_some()) else {
            return String::new();
        };
        let Ok(layout) = self.layout() else {
            return String::new();
        };
        let Some(key) = layout
            .component(kind)
            .filter(|l| l.launch == Launch::Embedded)
            .and_then(|l| l.arg_key.as_ref())
        else {
            return String::new();
        };
        let sup = c
            .logged
            .as_ref()
            .map(|l| l.supervisor.as_str())
            .unwrap_or("");
        let files = layout
            .supervisor
            .as_ref()
            .map(|s| {
                s.config_files
                    .iter()
                    .map(|f| format!("{f} (and {f}.d)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        match self.supervisor_arg_list(key) {
            Err(e) => format!(" (where it was set is not known: {e})"),
            Ok(list) => {
                let hits: Vec<&ArgEntry> = list.iter().filter(|e| e.flag() == flag).collect();
                if hits.is_empty() {
                    // The supervisor's own options that set this flag.
                    let options: Vec<&String> = layout
                        .component(kind)
                        .map(|l| {
                            l.options
                                .iter()
                                .filter(|(_, flags)| flags.iter().any(|f| f == flag))
                                .map(|(o, _)| o)
                                .collect()
                        })
                        .unwrap_or_default();
                    let set: Vec<String> = options
                        .iter()
                        .filter_map(|o| match self.supervisor_option(o) {
                            Ok(Some((v, file))) => Some(format!("{o}: {v} in {file}")),
                            _ => None,
                        })
                        .collect();
                    if !set.is_empty() {
                        return format!(" (set by {sup} from its option {})", set.join("; "));
                    }
                    let which = if options.is_empty() {
                        "one of its options".to_string()
                    } else {
                        let names: Vec<&str> = options.iter().map(|o| o.as_str()).collect();
                        format!("its option {} given another way", names.join(" or "))
                    };
                    format!(
                        " (set by {sup}: no {key} entry for it in {files}; {} default, {which}, or its own command line)",
                        layout.title
                    )
                } else {
                    let shown: Vec<String> = hits
                        .iter()
                        .map(|e| format!("{} {key}: {}", e.file, e.item))
                        .collect();
                    format!(" (set in {})", shown.join("; "))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ComponentFacts, FileFacts, LayoutFacts, LoggedArgv, NodeFacts};

    fn file(content: &str) -> FileFacts {
        FileFacts {
            exists: true,
            content: Some(content.into()),
            ..Default::default()
        }
    }

    #[test]
    fn entries_merge_as_k3s_merges_its_files_and_sources_name_them() {
        let mut f = NodeFacts {
            layout: Some(LayoutFacts {
                name: "k3s".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        f.files.insert(
            "/etc/rancher/k3s/config.yaml".into(),
            file("kube-apiserver-arg:\n  - profiling=true\n  - 'audit-log-maxage=30'\n"),
        );
        f.files.insert(
            "/etc/rancher/k3s/config.yaml.d".into(),
            FileFacts {
                exists: true,
                entries: Some(vec![
                    "/etc/rancher/k3s/config.yaml.d/20-more.yaml".into(),
                    "/etc/rancher/k3s/config.yaml.d/10-cis.yaml".into(),
                    "/etc/rancher/k3s/config.yaml.d/notes.txt".into(),
                ]),
                ..Default::default()
            },
        );
        // 10 replaces the main file's list; 20 appends to it.
        f.files.insert(
            "/etc/rancher/k3s/config.yaml.d/10-cis.yaml".into(),
            file("kube-apiserver-arg:\n  - profiling=false\n"),
        );
        f.files.insert(
            "/etc/rancher/k3s/config.yaml.d/20-more.yaml".into(),
            file("kube-apiserver-arg+: enable-admission-plugins+=EventRateLimit\n"),
        );
        f.components.insert(
            ComponentKind::ApiServer,
            ComponentFacts {
                running: true,
                pid: Some(812),
                argv: vec!["kube-apiserver".into(), "--profiling=false".into()],
                logged: Some(LoggedArgv {
                    supervisor: "k3s-server".into(),
                    log: "journal".into(),
                    line: "Running kube-apiserver".into(),
                    at: None,
                }),
                ..Default::default()
            },
        );
        let ctx = NodeCtx::new(&f);
        let list = ctx.supervisor_arg_list("kube-apiserver-arg").unwrap();
        assert_eq!(
            list.iter().map(|e| e.flag()).collect::<Vec<_>>(),
            ["--profiling", "--enable-admission-plugins"]
        );
        assert_eq!(
            ctx.set_in(ComponentKind::ApiServer, "--profiling"),
            " (set in /etc/rancher/k3s/config.yaml.d/10-cis.yaml kube-apiserver-arg: profiling=false)"
        );
        assert!(
            ctx.set_in(ComponentKind::ApiServer, "--audit-log-maxage")
                .contains("set by k3s-server: no kube-apiserver-arg entry")
        );
        // An ordinary process: nothing added.
        assert_eq!(ctx.set_in(ComponentKind::Kubelet, "--profiling"), "");
        // Not in the list, but set by one of k3s's own options: the layout
        // says secrets-encryption sets --encryption-provider-config.
        assert!(
            ctx.set_in(ComponentKind::ApiServer, "--encryption-provider-config")
                .contains("its option secrets-encryption given another way"),
            "{}",
            ctx.set_in(ComponentKind::ApiServer, "--encryption-provider-config")
        );
        f.files.insert(
            "/etc/rancher/k3s/config.yaml.d/30-enc.yaml".into(),
            file("secrets-encryption: true\n"),
        );
        if let Some(d) = f.files.get_mut("/etc/rancher/k3s/config.yaml.d") {
            d.entries
                .as_mut()
                .unwrap()
                .push("/etc/rancher/k3s/config.yaml.d/30-enc.yaml".into());
        }
        let ctx = NodeCtx::new(&f);
        assert_eq!(
            ctx.set_in(ComponentKind::ApiServer, "--encryption-provider-config"),
            " (set by k3s-server from its option secrets-encryption: true in /etc/rancher/k3s/config.yaml.d/30-enc.yaml)"
        );
        assert_eq!(
            ctx.supervisor_option("secrets-encryption").unwrap(),
            Some((
                "true".to_string(),
                "/etc/rancher/k3s/config.yaml.d/30-enc.yaml".to_string()
            ))
        );
    }
}
