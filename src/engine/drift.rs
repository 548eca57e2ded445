//! Drift: the running process and its static-pod manifest disagree.
//!
//! The kubelet restarts a static pod when its manifest changes, so a
//! difference means a restart is pending or failing, or the process was
//! started by something else. Either way the manifest does not describe what
//! runs, and a person who fixes the manifest may not have fixed the node.
//! Checks read the running process; drift is reported beside them.

use crate::facts::{ComponentFacts, ComponentKind};
use crate::k8s::argv::{Args, parse_argv};

/// One flag that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    OnlyRunning(String, String),
    OnlyManifest(String, String),
    Changed {
        flag: String,
        running: String,
        manifest: String,
    },
}

impl Difference {
    pub fn describe(&self) -> String {
        match self {
            Difference::OnlyRunning(f, v) => format!("{f}={v} only on the running process"),
            Difference::OnlyManifest(f, v) => format!("{f}={v} only in the manifest"),
            Difference::Changed {
                flag,
                running,
                manifest,
            } => format!("{flag} is {running} running but {manifest} in the manifest"),
        }
    }
}

/// Differences between a running component and its manifest; `None` when
/// there is nothing to compare (not running, no manifest, manifest unread).
pub fn compare(kind: ComponentKind, comp: &ComponentFacts) -> Option<Vec<Difference>> {
    let manifest = comp.manifest.as_ref()?;
    if !comp.running || manifest.error.is_some() || manifest.command.is_empty() {
        return None;
    }
    let running = parse_argv(kind, &comp.argv);
    let declared = parse_argv(kind, &manifest.command);
    Some(diff(&running, &declared))
}

fn diff(running: &Args, declared: &Args) -> Vec<Difference> {
    let mut out = Vec::new();
    for (flag, r) in &running.flags {
        match declared.flags.get(flag) {
            None => out.push(Difference::OnlyRunning(flag.clone(), r.value.clone())),
            // `$(VAR)` is expanded by the kubelet from the pod's environment.
            Some(d) if d.value.contains("$(") => {}
            Some(d) if d.value != r.value => out.push(Difference::Changed {
                flag: flag.clone(),
                running: r.value.clone(),
                manifest: d.value.clone(),
            }),
            Some(_) => {}
        }
    }
    for (flag, d) in &declared.flags {
        if !running.flags.contains_key(flag) {
            out.push(Difference::OnlyManifest(flag.clone(), d.value.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ManifestFacts;

    fn comp(argv: &[&str], manifest: &[&str]) -> ComponentFacts {
        ComponentFacts {
            running: true,
            pid: Some(1),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            manifest: Some(ManifestFacts {
                path: "/etc/kubernetes/manifests/kube-apiserver.yaml".into(),
                command: manifest.iter().map(|s| s.to_string()).collect(),
                error: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn same_flags_in_another_order_and_form_are_not_drift() {
        let c = comp(
            &[
                "kube-apiserver",
                "--profiling=false",
                "--audit-log-maxage",
                "30",
            ],
            &[
                "kube-apiserver",
                "--audit-log-maxage=30",
                "--profiling=false",
            ],
        );
        assert_eq!(compare(ComponentKind::ApiServer, &c), Some(vec![]));
    }

    #[test]
    fn every_kind_of_difference_is_reported() {
        let c = comp(
            &[
                "kube-apiserver",
                "--profiling=true",
                "--a=1",
                "--advertise-address=10.0.0.1",
            ],
            &[
                "kube-apiserver",
                "--profiling=false",
                "--b=2",
                "--advertise-address=$(HOST_IP)",
            ],
        );
        let d = compare(ComponentKind::ApiServer, &c).unwrap();
        assert_eq!(
            d,
            vec![
                Difference::OnlyRunning("--a".into(), "1".into()),
                Difference::Changed {
                    flag: "--profiling".into(),
                    running: "true".into(),
                    manifest: "false".into()
                },
                Difference::OnlyManifest("--b".into(), "2".into()),
            ]
        );
    }

    #[test]
    fn nothing_to_compare_without_a_readable_manifest() {
        let mut c = comp(&["kube-apiserver"], &["kube-apiserver"]);
        c.manifest.as_mut().unwrap().error = Some("permission denied".into());
        assert_eq!(compare(ComponentKind::ApiServer, &c), None);
        c.manifest = None;
        assert_eq!(compare(ComponentKind::ApiServer, &c), None);
    }
}
