//! Which built-in profile fits a cluster: the one written for the Kubernetes
//! version its control plane runs.
//!
//! Each profile says which minors it is written for (`kubernetes =
//! "1.32-1.34"` in its `profile.toml`). The version is the control plane's:
//! the API server is what the benchmark's control-plane sections judge, and
//! Kubernetes' version skew policy lets kubelets lag behind it, never lead.
//! With control-plane nodes of several versions (an upgrade under way), the
//! oldest one decides, since the cluster only has the features every API
//! server has. Nodes without a control-plane role count only when no
//! control-plane node reported a version.

use std::collections::BTreeMap;

use super::{BUILTIN, Benchmark, load_builtin};
use crate::facts::{NodeFacts, Role, ScanStatus};

/// The profile used when nothing tells the version.
pub const DEFAULT_PROFILE: &str = "cis-1.12";

/// The profile picked, and why, in words for the report and stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub id: &'static str,
    pub why: String,
}

/// `v1.32.4`, `1.32.4+k3s1`, `v1.31.2-eks-7f9249a` -> (1, 32).
pub fn parse_minor(version: &str) -> Option<(u32, u32)> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, minor.parse().ok()?))
}

/// A Kubernetes minor version, e.g. (1, 32).
type Minor = (u32, u32);

fn show((a, b): Minor) -> String {
    format!("{a}.{b}")
}

/// The built-in profile for the nodes' Kubernetes version.
pub fn choose(nodes: &[NodeFacts]) -> Choice {
    choose_with(nodes, None)
}

/// [`choose`], with the API server's version (`gitVersion`, as read with
/// the cluster's objects) when the control plane's nodes say none: a
/// managed cluster scanned with `--kubeconfig`, its control plane out of
/// reach.
pub fn choose_with(nodes: &[NodeFacts], api_server: Option<&str>) -> Choice {
    let versions = |control: bool| -> BTreeMap<(u32, u32), Vec<&str>> {
        let mut out: BTreeMap<(u32, u32), Vec<&str>> = BTreeMap::new();
        for n in nodes.iter().filter(|n| {
            n.scan_status == ScanStatus::Ok
                && (n.has_role(Role::ControlPlane) == control || !control)
        }) {
            if let Some(v) = n.node.kubernetes_version.as_deref().and_then(parse_minor) {
                out.entry(v).or_default().push(&n.node.name);
            }
        }
        out
    };
    let control = versions(true);
    let api: BTreeMap<(u32, u32), Vec<&str>> = api_server
        .and_then(parse_minor)
        .map(|v| [(v, vec!["the API server"])].into())
        .unwrap_or_default();
    let (seen, whose) = if control.is_empty() && !api.is_empty() {
        (api, "the API server's")
    } else if control.is_empty() {
        (
            versions(false),
            "no control-plane node reported a version; the nodes'",
        )
    } else {
        (control, "the control plane's")
    };
    let Some((&minor, names)) = seen.iter().next() else {
        return Choice {
            id: DEFAULT_PROFILE,
            why: format!(
                "no node reported its Kubernetes version; {DEFAULT_PROFILE} is the default (--benchmark picks another)"
            ),
        };
    };
    let mut why = format!("{whose} Kubernetes version is {}", show(minor));
    if seen.len() > 1 {
        let all: Vec<String> = seen
            .iter()
            .map(|(v, n)| format!("{} on {}", show(*v), n.join(", ")))
            .collect();
        why = format!(
            "{why}, the oldest of {} (mixed versions: {}; an upgrade under way?)",
            seen.len(),
            all.join("; ")
        );
    } else if names.len() == 1 && whose.starts_with("the control") {
        why = format!("{why} (on {})", names[0]);
    }
    let others: Vec<String> = versions(false)
        .into_keys()
        .filter(|v| !seen.contains_key(v))
        .map(show)
        .collect();
    if !others.is_empty() {
        why.push_str(&format!(
            "; other nodes run {}, which the control plane's version decides for",
            others.join(", ")
        ));
    }
    let ranges: Vec<(&'static str, (Minor, Minor))> = BUILTIN
        .iter()
        .filter_map(|b| Some((b.id, load_builtin(b.id).ok()?.kubernetes_range()?)))
        .collect();
    // The newest profile written for the version.
    if let Some((id, (lo, hi))) = ranges
        .iter()
        .rev()
        .find(|(_, (lo, hi))| *lo <= minor && minor <= *hi)
    {
        return Choice {
            id,
            why: format!("{why}; {id} is written for {}-{}", show(*lo), show(*hi)),
        };
    }
    let (oldest, (lo, _)) = ranges.first().expect("built-in profiles exist");
    let (newest, (_, hi)) = ranges.last().expect("built-in profiles exist");
    if minor < *lo {
        Choice {
            id: oldest,
            why: format!(
                "{why}, older than any profile; {oldest}, the oldest, is written for {} and later",
                show(*lo)
            ),
        }
    } else {
        Choice {
            id: newest,
            why: format!(
                "{why}, newer than any profile; {newest}, the newest, is written for up to {}",
                show(*hi)
            ),
        }
    }
}

/// Loads the profile [`choose`] picks.
pub fn load_for(nodes: &[NodeFacts]) -> (Benchmark, Choice) {
    load_for_cluster(nodes, None)
}

/// Loads the profile [`choose_with`] picks.
pub fn load_for_cluster(nodes: &[NodeFacts], api_server: Option<&str>) -> (Benchmark, Choice) {
    let choice = choose_with(nodes, api_server);
    let bench = load_builtin(choice.id).expect("the built-in profiles load (tested)");
    (bench, choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, role: Role, version: Option<&str>) -> NodeFacts {
        let mut n = NodeFacts::default();
        n.node.name = name.into();
        n.node.roles = vec![role];
        n.node.kubernetes_version = version.map(String::from);
        n
    }

    #[test]
    fn versions_parse_with_distribution_suffixes() {
        assert_eq!(parse_minor("v1.32.4"), Some((1, 32)));
        assert_eq!(parse_minor("v1.33.1+k3s1"), Some((1, 33)));
        assert_eq!(parse_minor("1.31.2-eks-7f9249a"), Some((1, 31)));
        assert_eq!(parse_minor("v1.35"), Some((1, 35)));
        assert_eq!(parse_minor("garbage"), None);
    }

    #[test]
    fn the_control_planes_version_picks_the_newest_profile_written_for_it() {
        let pick = |v: &str| choose(&[node("cp1", Role::ControlPlane, Some(v))]);
        assert_eq!(pick("v1.28.15").id, "cis-1.10");
        assert_eq!(pick("v1.31.2").id, "cis-1.10");
        assert_eq!(pick("v1.32.4").id, "cis-1.12");
        assert_eq!(pick("v1.33.0").id, "cis-1.12");
        // 1.34 is in both cis-1.12 and cis-2.0: the newer wins.
        let c = pick("v1.34.1");
        assert_eq!(c.id, "cis-2.0");
        assert!(
            c.why.contains("1.34") && c.why.contains("cis-2.0 is written for 1.34-1.35"),
            "{}",
            c.why
        );
        assert_eq!(pick("v1.35.0").id, "cis-2.0");
        let c = pick("v1.27.3");
        assert_eq!(c.id, "cis-1.10");
        assert!(c.why.contains("older than any profile"), "{}", c.why);
        let c = pick("v1.36.0");
        assert_eq!(c.id, "cis-2.0");
        assert!(c.why.contains("newer than any profile"), "{}", c.why);
    }

    #[test]
    fn mixed_versions_go_by_the_control_plane_and_say_so() {
        // Workers lag behind the control plane: the control plane decides.
        let c = choose(&[
            node("cp1", Role::ControlPlane, Some("v1.34.0")),
            node("w1", Role::Worker, Some("v1.32.4")),
        ]);
        assert_eq!(c.id, "cis-2.0");
        assert!(
            c.why.contains("control plane's Kubernetes version is 1.34"),
            "{}",
            c.why
        );
        assert!(c.why.contains("other nodes run 1.32"), "{}", c.why);
        // Control planes mid-upgrade: the oldest decides.
        let c = choose(&[
            node("cp1", Role::ControlPlane, Some("v1.32.0")),
            node("cp2", Role::ControlPlane, Some("v1.31.9")),
        ]);
        assert_eq!(c.id, "cis-1.10");
        assert!(
            c.why.contains("mixed versions: 1.31 on cp2; 1.32 on cp1"),
            "{}",
            c.why
        );
        // No control plane reported one: the nodes'.
        let c = choose(&[
            node("cp1", Role::ControlPlane, None),
            node("w1", Role::Worker, Some("v1.33.2")),
        ]);
        assert_eq!(c.id, "cis-1.12");
        assert!(
            c.why.starts_with("no control-plane node reported"),
            "{}",
            c.why
        );
        // Nothing at all: the default, said.
        let c = choose(&[node("w1", Role::Worker, None)]);
        assert_eq!(c.id, DEFAULT_PROFILE);
        assert!(
            c.why.contains("no node reported its Kubernetes version"),
            "{}",
            c.why
        );
    }
}
