//! What every cluster holds by design, recognised so that it is listed apart
//! from a user's findings rather than hiding them or flooding the report.
//!
//! The policy checks of CIS section 5 find offending objects on every
//! default cluster: the control plane's static pods run with hostNetwork and
//! hostPath, kube-proxy and the CNI's agents run privileged, kube-apiserver's
//! bootstrap policy binds cluster-admin to `system:masters`, kubeadm binds it
//! to `kubeadm:cluster-admins`, and the controllers' service accounts in
//! kube-system may read secrets and create pods. These are named here, from
//! their upstream sources:
//! - identities: kube-apiserver's bootstrap policy
//!   (plugin/pkg/auth/authorizer/rbac/bootstrappolicy: `system:masters`,
//!   `system:nodes`, `system:kube-controller-manager`,
//!   `system:kube-scheduler`, `system:kube-proxy`, the controllers' service
//!   accounts in kube-system) and kubeadm's (cmd/kubeadm/app/constants:
//!   `kubeadm:cluster-admins`, `system:bootstrappers:kubeadm:default-node-token`);
//! - namespaces that hold only the platform: `kube-system`, `kube-public`,
//!   `kube-node-lease`, and those the common CNIs install into.
//!
//! `system:authenticated`, `system:unauthenticated` and
//! `system:serviceaccounts` are everyone, never a system identity: a grant
//! to them is always a user's finding.

/// Namespaces of the platform: what runs there is the cluster's own.
pub const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    // flannel (kube-flannel.yml), Calico's operator install, Cilium's and
    // Antrea's namespaces when not kube-system, local-path-provisioner
    // (k3s, kind)
    "kube-flannel",
    "calico-system",
    "calico-apiserver",
    "tigera-operator",
    "cilium",
    "cilium-secrets",
    "local-path-storage",
];

/// Groups that mean everyone (or every service account): never system.
const EVERYONE: &[&str] = &[
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
];

pub fn is_system_namespace(ns: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&ns)
}

/// Whether a subject (`kind`, `name` as a binding names it, service
/// accounts as `namespace/name`) is one of the platform's identities.
pub fn is_system_subject(kind: &str, name: &str) -> bool {
    match kind {
        "Group" => {
            !EVERYONE.contains(&name)
                && !name.starts_with("system:serviceaccounts:")
                && (name.starts_with("system:") || name == "kubeadm:cluster-admins")
        }
        "User" => name.starts_with("system:") && !name.starts_with("system:serviceaccount:"),
        "ServiceAccount" => name
            .split_once('/')
            .is_some_and(|(ns, _)| is_system_namespace(ns)),
        _ => false,
    }
}

/// Whether a role or binding name is the platform's (the bootstrap policy's
/// `system:` objects, `cluster-admin`, kubeadm's `kubeadm:` objects).
pub fn is_system_rbac_name(name: &str) -> bool {
    name.starts_with("system:") || name.starts_with("kubeadm:") || name == "cluster-admin"
}

/// A CNI recognised from its DaemonSet, and whether it enforces
/// NetworkPolicy.
pub struct Cni {
    pub name: &'static str,
    /// Matched against the DaemonSet's name or its images.
    pub marks: &'static [&'static str],
    pub enforces_policy: bool,
    pub note: &'static str,
}

/// From each project's manifests: flannel implements no NetworkPolicy
/// (its README says to add Calico as "canal" for policy).
pub const CNIS: &[Cni] = &[
    Cni {
        name: "Calico",
        marks: &["calico-node", "calico/node"],
        enforces_policy: true,
        note: "Calico enforces NetworkPolicy",
    },
    Cni {
        name: "Cilium",
        marks: &["cilium"],
        enforces_policy: true,
        note: "Cilium enforces NetworkPolicy",
    },
    Cni {
        name: "Antrea",
        marks: &["antrea-agent", "antrea/antrea"],
        enforces_policy: true,
        note: "Antrea enforces NetworkPolicy",
    },
    Cni {
        name: "Weave Net",
        marks: &["weave-net", "weaveworks/weave"],
        enforces_policy: true,
        note: "Weave Net's weave-npc enforces NetworkPolicy",
    },
    Cni {
        name: "kube-router",
        marks: &["kube-router"],
        enforces_policy: true,
        note: "kube-router enforces NetworkPolicy",
    },
    Cni {
        name: "Canal",
        marks: &["canal"],
        enforces_policy: true,
        note: "Canal (flannel with Calico's policy) enforces NetworkPolicy",
    },
    Cni {
        name: "flannel",
        marks: &["kube-flannel", "flannel"],
        enforces_policy: false,
        note: "flannel does not implement NetworkPolicy: policies are accepted and ignored",
    },
];

/// The CNIs whose DaemonSet (`name`, `images`) is running, first match wins
/// per DaemonSet.
pub fn cni_of(name: &str, images: &[String]) -> Option<&'static Cni> {
    CNIS.iter().find(|c| {
        c.marks
            .iter()
            .any(|m| name.contains(m) || images.iter().any(|i| i.contains(m)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_is_never_a_system_identity() {
        assert!(is_system_subject("Group", "system:masters"));
        assert!(is_system_subject("Group", "kubeadm:cluster-admins"));
        assert!(is_system_subject("User", "system:kube-controller-manager"));
        assert!(is_system_subject(
            "ServiceAccount",
            "kube-system/replicaset-controller"
        ));
        for g in EVERYONE {
            assert!(!is_system_subject("Group", g), "{g}");
        }
        assert!(!is_system_subject("Group", "system:serviceaccounts:app"));
        assert!(!is_system_subject(
            "User",
            "system:serviceaccount:app:builder"
        ));
        assert!(!is_system_subject("ServiceAccount", "app/default"));
        assert!(!is_system_subject("User", "alice"));
    }

    #[test]
    fn canal_is_not_taken_for_flannel() {
        let img = |s: &str| vec![s.to_string()];
        assert_eq!(
            cni_of(
                "kube-flannel-ds",
                &img("ghcr.io/flannel-io/flannel:v0.26.7")
            )
            .unwrap()
            .name,
            "flannel"
        );
        assert_eq!(
            cni_of("canal", &img("docker.io/calico/node:v3.29.0"))
                .unwrap()
                .name,
            "Calico"
        );
        assert!(cni_of("kube-proxy", &img("registry.k8s.io/kube-proxy:v1.32.4")).is_none());
    }
}
