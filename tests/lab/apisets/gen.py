#!/usr/bin/env python3
"""Writes the lab API server's object sets (tests/lab/apisets/<set>/*.json).

    python3 tests/lab/apisets/gen.py          # rewrites every set
    python3 tests/lab/apisets/gen.py --check  # fails if a file would change

Each set is a directory with one file per resource (`pods.json`,
`clusterroles.json`, ...), each a `v1 List` of whole objects as the API
server stores them (apiVersion, kind, metadata with uid, resourceVersion and
creationTimestamp, spec, status), and `set.json` (what /version answers,
which resourceVersion a list reports). lib/apiserver.py serves them.

The objects are what a fresh cluster holds, written from the upstream
sources README.md cites, object by object:
  * kube-apiserver's RBAC bootstrap policy
    (kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy:
    policy.go ClusterRoles()/ClusterRoleBindings(), controller_policy.go,
    namespace_policy.go; the expected output is that package's
    testdata/*.yaml), with the roles that carry an aggregationRule filled in
    the way kube-controller-manager's clusterrole-aggregation-controller
    fills them (pkg/controller/clusterroleaggregation);
  * kubeadm's objects (cmd/kubeadm/app/phases/bootstraptoken/clusterinfo,
    bootstraptoken/node, uploadconfig, addons/proxy, addons/dns, kubeconfig
    `kubeadm:cluster-admins`), and its static pods as mirror pods
    (phases/controlplane/manifests.go, volumes.go; phases/etcd/local.go);
  * flannel's Documentation/kube-flannel.yml (flannel-io/flannel v0.26).
Nothing here is copied: the generator says what those sources produce.
"""

import base64
import copy
import hashlib
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")

K8S_VERSION = "v1.32.4"
CANARY = "KHSECRETCANARY7f3e91"
CP, W1 = "cp1", "w1"                     # the fixtures' node names
CP_IP, W1_IP = "192.168.56.11", "192.168.56.21"   # the fixtures' addresses
# the cluster was made by `kubeadm init` at this time (four days before the
# time the fixture tests judge at, materialize.py FIXTURE_NOW)
T_INIT = 1795478400 - 4 * 86400 + 9 * 3600


def ts(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def uid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "khlab:" + "/".join(parts)))


def h(text, n):
    """A deterministic suffix of n characters, as the ones Kubernetes
    draws from its safe alphabet (bcdfghjklmnpqrstvwxz2456789)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    d = hashlib.sha256(text.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in d[:n])


def b64(s):
    return base64.b64encode(s.encode()).decode()


# ---------------------------------------------------------------------------
# objects


class Store:
    def __init__(self):
        self.objs = []
        self.rv = 0
        self.per_second = {}

    def add(self, obj, t=None):
        m = obj["metadata"]
        m.setdefault("creationTimestamp", ts(t if t is not None else T_INIT + 60))
        # etcd's revision grows with every write: from the creation time,
        # so that a set and its variants agree on every shared object
        sec = m["creationTimestamp"]
        n = self.per_second[sec] = self.per_second.get(sec, 0) + 1
        import calendar
        import time
        secs = calendar.timegm(time.strptime(sec, "%Y-%m-%dT%H:%M:%SZ")) - T_INIT
        rv = 150 + secs * 4 + n * 3
        self.rv = max(self.rv, rv)
        m["resourceVersion"] = str(rv)
        m["uid"] = uid(obj["kind"], m.get("namespace", ""), m["name"])
        # the order the API server writes the keys in
        ordered = {k: m[k] for k in ("annotations", "creationTimestamp", "generateName",
                                     "generation", "labels", "name", "namespace",
                                     "ownerReferences", "resourceVersion", "uid") if k in m}
        obj["metadata"] = ordered
        self.objs.append(obj)
        return obj

    def find(self, kind, name, ns=None):
        for o in self.objs:
            if o["kind"] == kind and o["metadata"]["name"] == name and \
                    o["metadata"].get("namespace") == ns:
                return o
        raise KeyError((kind, ns, name))


def meta(name, ns=None, labels=None, annotations=None, **kw):
    m = {"name": name}
    if ns:
        m["namespace"] = ns
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    m.update(kw)
    return m


def rule(groups, resources, verbs, names=None):
    r = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        r = {"apiGroups": list(groups), "resourceNames": list(names),
             "resources": list(resources), "verbs": list(verbs)}
    return r


def url_rule(urls, verbs):
    return {"nonResourceURLs": list(urls), "verbs": list(verbs)}


RW = ["create", "delete", "deletecollection", "patch", "update"]
R = ["get", "list", "watch"]
EV = rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"])
BOOT_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
RBAC = "rbac.authorization.k8s.io"


def cluster_role(name, rules, labels=None, agg=None, bootstrap=True, annotations=None):
    o = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
         "metadata": meta(name, labels={**(BOOT_LABELS if bootstrap else {}), **(labels or {})},
                          annotations={**(AUTOUPDATE if bootstrap else {}), **(annotations or {})} or None)}
    if agg:
        o["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": agg}]}
    o["rules"] = rules
    if not o["metadata"].get("annotations"):
        o["metadata"].pop("annotations", None)
    return o


def subject(kind, name, ns=None):
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": ns}
    return {"apiGroup": RBAC, "kind": kind, "name": name}


def crb(name, role, subjects, bootstrap=True, labels=None, annotations=None):
    o = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(name, labels={**(BOOT_LABELS if bootstrap else {}), **(labels or {})},
                          annotations={**(AUTOUPDATE if bootstrap else {}), **(annotations or {})}),
         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role}}
    if subjects:
        o["subjects"] = subjects
    for k in ("labels", "annotations"):
        if not o["metadata"].get(k):
            o["metadata"].pop(k, None)
    return o


def role(name, ns, rules, bootstrap=True, labels=None):
    o = {"apiVersion": f"{RBAC}/v1", "kind": "Role",
         "metadata": meta(name, ns, labels={**(BOOT_LABELS if bootstrap else {}), **(labels or {})},
                          annotations=AUTOUPDATE if bootstrap else None),
         "rules": rules}
    if not o["metadata"].get("labels"):
        o["metadata"].pop("labels", None)
    return o


def rb(name, ns, role_kind, role_name, subjects, bootstrap=True):
    o = {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
         "metadata": meta(name, ns, labels=BOOT_LABELS if bootstrap else None,
                          annotations=AUTOUPDATE if bootstrap else None),
         "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
         "subjects": subjects}
    return o


# -- kube-apiserver's bootstrap policy (policy.go ClusterRoles) -------------

def bootstrap_cluster_roles():
    roles = [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), url_rule(["*"], ["*"])]),
        cluster_role("admin", None, agg={f"{RBAC}/aggregate-to-admin": "true"}),
        cluster_role("edit", None, labels={f"{RBAC}/aggregate-to-admin": "true"},
                     agg={f"{RBAC}/aggregate-to-edit": "true"}),
        cluster_role("view", None, labels={f"{RBAC}/aggregate-to-edit": "true"},
                     agg={f"{RBAC}/aggregate-to-view": "true"}),
        cluster_role("system:aggregate-to-admin", [
            rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
            rule([RBAC], ["rolebindings", "roles"], ["create", "delete", "deletecollection", "get",
                                                     "list", "patch", "update", "watch"]),
        ], labels={f"{RBAC}/aggregate-to-admin": "true"}),
        cluster_role("system:aggregate-to-edit", [
            rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                        "services/proxy"], R),
            rule([""], ["serviceaccounts"], ["impersonate"]),
            rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], RW),
            rule([""], ["pods/eviction"], ["create"]),
            rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                        "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                        "services/proxy"], RW),
            rule([""], ["serviceaccounts/token"], ["create"]),
            rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                            "replicasets", "replicasets/scale", "statefulsets",
                            "statefulsets/scale"], RW),
            rule(["autoscaling"], ["horizontalpodautoscalers"], RW),
            rule(["batch"], ["cronjobs", "jobs"], RW),
            rule(["extensions"], ["daemonsets", "deployments", "deployments/rollback",
                                  "deployments/scale", "ingresses", "networkpolicies", "replicasets",
                                  "replicasets/scale", "replicationcontrollers/scale"], RW),
            rule(["policy"], ["poddisruptionbudgets"], RW),
            rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], RW),
            rule(["coordination.k8s.io"], ["leases"], ["create", "delete", "deletecollection", "get",
                                                       "list", "patch", "update", "watch"]),
        ], labels={f"{RBAC}/aggregate-to-edit": "true"}),
        cluster_role("system:aggregate-to-view", [
            rule([""], ["configmaps", "endpoints", "persistentvolumeclaims",
                        "persistentvolumeclaims/status", "pods", "replicationcontrollers",
                        "replicationcontrollers/scale", "serviceaccounts", "services",
                        "services/status"], R),
            rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log",
                        "pods/status", "replicationcontrollers/status", "resourcequotas",
                        "resourcequotas/status"], R),
            rule([""], ["namespaces"], R),
            rule(["discovery.k8s.io"], ["endpointslices"], R),
            rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                            "deployments/scale", "deployments/status", "replicasets",
                            "replicasets/scale", "replicasets/status", "statefulsets",
                            "statefulsets/scale", "statefulsets/status"], R),
            rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], R),
            rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], R),
            rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                  "deployments/status", "ingresses", "ingresses/status",
                                  "networkpolicies", "replicasets", "replicasets/scale",
                                  "replicasets/status", "replicationcontrollers/scale"], R),
            rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], R),
            rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], R),
        ], labels={f"{RBAC}/aggregate-to-view": "true"}),
        cluster_role("system:auth-delegator", [
            rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
        cluster_role("system:basic-user", [
            rule(["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                 ["create"]),
            rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests/nodeclient"], ["create"])]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"], ["create"])]),
    ]
    for signer, name in (("kube-apiserver-client", "kube-apiserver-client-approver"),
                         ("kube-apiserver-client-kubelet", "kube-apiserver-client-kubelet-approver"),
                         ("kubelet-serving", "kubelet-serving-approver"),
                         ("legacy-unknown", "legacy-unknown-approver")):
        roles.append(cluster_role(f"system:certificates.k8s.io:{name}", [
            rule(["certificates.k8s.io"], ["signers"], ["approve"], names=[f"kubernetes.io/{signer}"])]))
    roles += [
        cluster_role("system:discovery", [url_rule(
            ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
             "/readyz", "/version", "/version/"], ["get"])]),
        cluster_role("system:heapster", [
            rule([""], ["events", "namespaces", "nodes", "pods"], R),
            rule(["extensions"], ["deployments"], R)]),
        cluster_role("system:kube-aggregator", [rule([""], ["endpoints", "services"], R)]),
        cluster_role("system:kube-controller-manager", [
            EV,
            rule(["coordination.k8s.io"], ["leases"], ["create"]),
            rule(["coordination.k8s.io"], ["leases"], ["get", "update"], names=["kube-controller-manager"]),
            rule([""], ["secrets", "serviceaccounts"], ["create"]),
            rule([""], ["secrets"], ["delete"]),
            rule([""], ["configmaps", "namespaces", "secrets", "serviceaccounts"], ["get"]),
            rule([""], ["secrets", "serviceaccounts"], ["update"]),
            rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            rule(["*"], ["*"], ["list", "watch"]),
            rule([""], ["serviceaccounts/token"], ["create"])]),
        cluster_role("system:kube-dns", [rule([""], ["endpoints", "services"], ["list", "watch"])]),
        cluster_role("system:kube-scheduler", [
            EV,
            rule(["coordination.k8s.io"], ["leases"], ["create"]),
            rule(["coordination.k8s.io"], ["leases"], ["get", "update"], names=["kube-scheduler"]),
            rule([""], ["nodes"], R),
            rule([""], ["pods"], ["delete", "get", "list", "watch"]),
            rule([""], ["bindings", "pods/binding"], ["create"]),
            rule([""], ["pods/status"], ["patch", "update"]),
            rule([""], ["replicationcontrollers", "services"], R),
            rule(["apps", "extensions"], ["replicasets"], R),
            rule(["apps"], ["statefulsets"], R),
            rule(["policy"], ["poddisruptionbudgets"], R),
            rule([""], ["persistentvolumeclaims", "persistentvolumes"], R),
            rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            rule(["storage.k8s.io"], ["csinodes"], R),
            rule([""], ["namespaces"], R),
            rule(["storage.k8s.io"], ["csidrivers"], R),
            rule(["storage.k8s.io"], ["csistoragecapacities"], R)]),
        cluster_role("system:kubelet-api-admin", [
            rule([""], ["nodes"], R),
            rule([""], ["nodes"], ["proxy"]),
            rule([""], ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"], ["*"])]),
        cluster_role("system:monitoring", [url_rule(
            ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis",
             "/readyz", "/readyz/*"], ["get"])]),
        cluster_role("system:node", [
            rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["localsubjectaccessreviews", "subjectaccessreviews"],
                 ["create"]),
            rule([""], ["services"], R),
            rule([""], ["nodes"], ["create", "get", "list", "watch"]),
            rule([""], ["nodes/status"], ["patch", "update"]),
            rule([""], ["nodes"], ["patch", "update"]),
            rule([""], ["events"], ["create", "patch", "update"]),
            rule([""], ["pods"], R),
            rule([""], ["pods"], ["create", "delete"]),
            rule([""], ["pods/status"], ["patch", "update"]),
            rule([""], ["pods/eviction"], ["create"]),
            rule([""], ["configmaps", "secrets"], R),
            rule([""], ["persistentvolumeclaims", "persistentvolumes"], ["get"]),
            rule([""], ["endpoints"], ["get"]),
            rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list",
                                                                           "watch"]),
            rule(["coordination.k8s.io"], ["leases"], ["create", "delete", "get", "patch", "update"]),
            rule(["storage.k8s.io"], ["volumeattachments"], ["get"]),
            rule([""], ["serviceaccounts/token"], ["create"]),
            rule([""], ["persistentvolumeclaims/status"], ["get", "patch", "update"]),
            rule(["storage.k8s.io"], ["csidrivers"], R),
            rule(["storage.k8s.io"], ["csinodes"], ["create", "delete", "get", "patch", "update"]),
            rule(["node.k8s.io"], ["runtimeclasses"], R)]),
        cluster_role("system:node-bootstrapper", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list",
                                                                           "watch"])]),
        cluster_role("system:node-problem-detector", [
            rule([""], ["nodes"], ["get"]), rule([""], ["nodes/status"], ["patch"]), EV]),
        cluster_role("system:node-proxier", [
            rule([""], ["endpoints", "services"], ["list", "watch"]),
            rule([""], ["nodes"], R), EV,
            rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"])]),
        cluster_role("system:persistent-volume-provisioner", [
            rule([""], ["persistentvolumes"], ["create", "delete", "get", "list", "watch"]),
            rule([""], ["persistentvolumeclaims"], ["get", "list", "update", "watch"]),
            rule(["storage.k8s.io"], ["storageclasses"], R),
            rule([""], ["events"], ["watch"]), EV]),
        cluster_role("system:public-info-viewer", [url_rule(
            ["/healthz", "/livez", "/readyz", "/version", "/version/"], ["get"])]),
        cluster_role("system:service-account-issuer-discovery", [url_rule(
            ["/.well-known/openid-configuration", "/openid/v1/jwks"], ["get"])]),
        cluster_role("system:volume-scheduler", [
            rule([""], ["persistentvolumes"], ["get", "list", "patch", "update", "watch"]),
            rule(["storage.k8s.io"], ["storageclasses"], R),
            rule([""], ["persistentvolumeclaims"], ["get", "list", "patch", "update", "watch"])]),
    ]
    return roles


def bootstrap_cluster_role_bindings():
    G, U = "Group", "User"
    return [
        crb("cluster-admin", "cluster-admin", [subject(G, "system:masters")]),
        crb("system:basic-user", "system:basic-user", [subject(G, "system:authenticated")]),
        crb("system:discovery", "system:discovery", [subject(G, "system:authenticated")]),
        crb("system:kube-controller-manager", "system:kube-controller-manager",
            [subject(U, "system:kube-controller-manager")]),
        crb("system:kube-dns", "system:kube-dns", [subject("ServiceAccount", "kube-dns", "kube-system")]),
        crb("system:kube-scheduler", "system:kube-scheduler", [subject(U, "system:kube-scheduler")]),
        crb("system:monitoring", "system:monitoring", [subject(G, "system:monitoring")]),
        # bound to no one since 1.8: the Node authorizer grants it
        crb("system:node", "system:node", []),
        crb("system:node-proxier", "system:node-proxier", [subject(U, "system:kube-proxy")]),
        crb("system:public-info-viewer", "system:public-info-viewer",
            [subject(G, "system:authenticated"), subject(G, "system:unauthenticated")]),
        crb("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
            [subject(G, "system:serviceaccounts")]),
        crb("system:volume-scheduler", "system:volume-scheduler", [subject(U, "system:kube-scheduler")]),
    ]


# controller_policy.go: one ClusterRole system:controller:<name> and one
# binding to the kube-system ServiceAccount <name> per controller that
# kube-controller-manager runs with --use-service-account-credentials
# (kubeadm sets it), with v1.32's default feature gates.
def controller_roles():
    c = {
        "attachdetach-controller": [
            rule([""], ["persistentvolumeclaims", "persistentvolumes"], ["list", "watch"]),
            rule([""], ["nodes"], R), rule([""], ["nodes/status"], ["patch", "update"]),
            rule([""], ["pods"], ["list", "watch"]), EV,
            rule(["storage.k8s.io"], ["volumeattachments"], ["create", "delete", "get", "list", "watch"]),
            rule(["storage.k8s.io"], ["csidrivers"], R), rule(["storage.k8s.io"], ["csinodes"], R)],
        "certificate-controller": [
            rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["delete", "get", "list", "watch"]),
            rule(["certificates.k8s.io"], ["certificatesigningrequests/approval",
                                           "certificatesigningrequests/status"], ["update"]),
            rule(["certificates.k8s.io"], ["signers"], ["approve"],
                 names=["kubernetes.io/kube-apiserver-client-kubelet"]),
            rule(["certificates.k8s.io"], ["signers"], ["sign"],
                 names=["kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
                        "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]), EV],
        "clusterrole-aggregation-controller": [
            rule([RBAC], ["clusterroles"], ["escalate", "get", "list", "patch", "update", "watch"])],
        "cronjob-controller": [
            rule(["batch"], ["cronjobs"], ["get", "list", "update", "watch"]),
            rule(["batch"], ["jobs"], ["create", "delete", "get", "list", "patch", "update", "watch"]),
            rule(["batch"], ["cronjobs/status"], ["update"]),
            rule(["batch"], ["cronjobs/finalizers"], ["update"]),
            rule([""], ["pods"], ["delete", "list", "watch"]), EV],
        "daemon-set-controller": [
            rule(["apps", "extensions"], ["daemonsets"], R),
            rule(["apps", "extensions"], ["daemonsets/status"], ["update"]),
            rule(["apps", "extensions"], ["daemonsets/finalizers"], ["update"]),
            rule([""], ["nodes"], ["list", "watch"]),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"]),
            rule([""], ["pods/binding"], ["create"]),
            rule(["apps"], ["controllerrevisions"], ["create", "delete", "get", "list", "patch",
                                                     "update", "watch"]), EV],
        "deployment-controller": [
            rule(["apps", "extensions"], ["deployments"], ["get", "list", "update", "watch"]),
            rule(["apps", "extensions"], ["deployments/status"], ["update"]),
            rule(["apps", "extensions"], ["deployments/finalizers"], ["update"]),
            rule(["apps", "extensions"], ["replicasets"], ["create", "delete", "get", "list", "patch",
                                                           "update", "watch"]),
            rule([""], ["pods"], ["get", "list", "update", "watch"]), EV],
        "disruption-controller": [
            rule(["apps", "extensions"], ["deployments"], R),
            rule(["apps", "extensions"], ["replicasets"], R),
            rule([""], ["replicationcontrollers"], R),
            rule(["policy"], ["poddisruptionbudgets"], R),
            rule(["apps"], ["statefulsets"], R),
            rule(["policy"], ["poddisruptionbudgets/status"], ["update"]),
            rule([""], ["pods/status"], ["patch", "update"]),
            rule(["*"], ["*/scale"], ["get"]), EV],
        "endpoint-controller": [
            rule([""], ["pods", "services"], R),
            rule([""], ["endpoints"], ["create", "delete", "get", "list", "update", "watch"]),
            rule([""], ["endpoints/restricted"], ["create"]), EV],
        "endpointslice-controller": [
            rule([""], ["nodes", "pods", "services"], R),
            rule([""], ["services/finalizers"], ["update"]),
            rule(["discovery.k8s.io"], ["endpointslices"], ["create", "delete", "get", "list",
                                                            "update", "watch"]), EV],
        "endpointslicemirroring-controller": [
            rule([""], ["endpoints", "services"], R),
            rule([""], ["services/finalizers"], ["update"]),
            rule([""], ["endpoints/finalizers"], ["update"]),
            rule(["discovery.k8s.io"], ["endpointslices"], ["create", "delete", "get", "list",
                                                            "update", "watch"]), EV],
        "ephemeral-volume-controller": [
            rule([""], ["pods"], R), rule([""], ["pods/finalizers"], ["update"]),
            rule([""], ["persistentvolumeclaims"], ["create", "get", "list", "watch"]), EV],
        "expand-controller": [
            rule([""], ["persistentvolumes"], ["get", "list", "patch", "update", "watch"]),
            rule([""], ["persistentvolumeclaims/status"], ["patch", "update"]),
            rule([""], ["persistentvolumeclaims"], R), EV],
        "generic-garbage-collector": [
            rule(["*"], ["*"], ["delete", "get", "list", "patch", "update", "watch"]), EV],
        "horizontal-pod-autoscaler": [
            rule(["autoscaling"], ["horizontalpodautoscalers"], R),
            rule(["autoscaling"], ["horizontalpodautoscalers/status"], ["update"]),
            rule(["*"], ["*/scale"], ["get", "update"]),
            rule([""], ["pods"], ["list", "watch"]),
            rule(["metrics.k8s.io"], ["pods"], ["list", "watch"]),
            rule(["custom.metrics.k8s.io"], ["*"], R),
            rule(["external.metrics.k8s.io"], ["*"], R), EV],
        "job-controller": [
            rule(["batch"], ["jobs"], ["get", "list", "patch", "update", "watch"]),
            rule(["batch"], ["jobs/status"], ["update"]),
            rule(["batch"], ["jobs/finalizers"], ["update"]),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"]), EV],
        "legacy-service-account-token-cleaner": [
            rule([""], ["configmaps"], ["get"],
                 names=["kube-apiserver-legacy-service-account-token-tracking"]),
            rule([""], ["secrets"], ["delete", "patch"])],
        "namespace-controller": [
            rule([""], ["namespaces"], ["delete", "get", "list", "watch"]),
            rule([""], ["namespaces/finalize", "namespaces/status"], ["update"]),
            rule(["*"], ["*"], ["delete", "deletecollection", "get", "list", "watch"])],
        "node-controller": [
            rule([""], ["nodes"], ["delete", "get", "list", "patch", "update", "watch"]),
            rule([""], ["nodes/status"], ["patch", "update"]),
            rule([""], ["pods/status"], ["patch", "update"]),
            rule([""], ["pods"], ["delete", "get", "list", "watch"]), EV],
        "persistent-volume-binder": [
            rule([""], ["persistentvolumes"], ["create", "delete", "get", "list", "update", "watch"]),
            rule([""], ["persistentvolumes/status"], ["update"]),
            rule([""], ["persistentvolumeclaims"], ["get", "list", "update", "watch"]),
            rule([""], ["persistentvolumeclaims/status"], ["update"]),
            rule([""], ["pods"], ["create", "delete", "get", "list", "watch"]),
            rule(["storage.k8s.io"], ["storageclasses"], R),
            rule([""], ["nodes"], ["list", "watch"]), EV,
            rule([""], ["events"], ["watch"])],
        "pod-garbage-collector": [
            rule([""], ["pods"], ["delete", "list", "watch"]),
            rule([""], ["nodes"], R),
            rule([""], ["pods/status"], ["patch"])],
        "pv-protection-controller": [
            rule([""], ["persistentvolumes"], ["get", "list", "update", "watch"]), EV],
        "pvc-protection-controller": [
            rule([""], ["persistentvolumeclaims"], ["get", "list", "update", "watch"]),
            rule([""], ["persistentvolumeclaims/status"], ["update"]),
            rule([""], ["pods"], R), EV],
        "replicaset-controller": [
            rule(["apps", "extensions"], ["replicasets"], ["get", "list", "update", "watch"]),
            rule(["apps", "extensions"], ["replicasets/status"], ["update"]),
            rule(["apps", "extensions"], ["replicasets/finalizers"], ["update"]),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"]), EV],
        "replication-controller": [
            rule([""], ["replicationcontrollers"], ["get", "list", "update", "watch"]),
            rule([""], ["replicationcontrollers/status"], ["update"]),
            rule([""], ["replicationcontrollers/finalizers"], ["update"]),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"]), EV],
        "resourcequota-controller": [
            rule(["*"], ["*"], ["list", "watch"]),
            rule([""], ["resourcequotas/status"], ["update"]), EV],
        "root-ca-cert-publisher": [
            rule([""], ["configmaps"], ["create", "update"]), EV],
        "route-controller": [
            rule([""], ["nodes"], ["list", "watch"]), rule([""], ["nodes/status"], ["patch"]), EV],
        "service-account-controller": [
            rule([""], ["serviceaccounts"], ["create"]), EV],
        "service-controller": [
            rule([""], ["services"], R), rule([""], ["services/status"], ["patch", "update"]),
            rule([""], ["nodes"], ["list", "watch"]), EV],
        "statefulset-controller": [
            rule([""], ["pods"], ["list", "watch"]),
            rule(["apps"], ["statefulsets"], R),
            rule(["apps"], ["statefulsets/status"], ["update"]),
            rule(["apps"], ["statefulsets/finalizers"], ["update"]),
            rule([""], ["pods"], ["create", "delete", "get", "patch", "update"]),
            rule(["apps"], ["controllerrevisions"], ["create", "delete", "get", "list", "patch",
                                                     "update", "watch"]),
            rule([""], ["persistentvolumeclaims"], ["create", "get", "list", "watch"]),
            rule([""], ["persistentvolumeclaims"], ["delete", "update"]),
            rule([""], ["pods/finalizers"], ["update"]), EV],
        "ttl-after-finished-controller": [
            rule(["batch"], ["jobs"], ["delete", "get", "list", "watch"]), EV],
        "ttl-controller": [
            rule([""], ["nodes"], ["list", "patch", "update", "watch"]), EV],
        "validatingadmissionpolicy-status-controller": [
            rule(["admissionregistration.k8s.io"], ["validatingadmissionpolicies"], R),
            rule(["admissionregistration.k8s.io"], ["validatingadmissionpolicies/status"],
                 ["get", "patch", "update"]), EV],
    }
    roles = [cluster_role(f"system:controller:{n}", rules) for n, rules in sorted(c.items())]
    binds = [crb(f"system:controller:{n}", f"system:controller:{n}",
                 [subject("ServiceAccount", n, "kube-system")]) for n in sorted(c)]
    return roles, binds, sorted(c)


def namespace_policy():
    """namespace_policy.go: roles and bindings in kube-system and kube-public."""
    ks, kp = "kube-system", "kube-public"
    roles = [
        role("extension-apiserver-authentication-reader", ks, [
            rule([""], ["configmaps"], R, names=["extension-apiserver-authentication"])]),
        role("system::leader-locking-kube-controller-manager", ks, [
            rule([""], ["configmaps"], ["watch"]),
            rule([""], ["configmaps"], ["get", "update"], names=["kube-controller-manager"])]),
        role("system::leader-locking-kube-scheduler", ks, [
            rule([""], ["configmaps"], ["watch"]),
            rule([""], ["configmaps"], ["get", "update"], names=["kube-scheduler"])]),
        role("system:controller:bootstrap-signer", ks, [rule([""], ["secrets"], R)]),
        role("system:controller:cloud-provider", ks, [
            rule([""], ["configmaps"], ["create", "get", "list", "watch"])]),
        role("system:controller:token-cleaner", ks, [
            rule([""], ["secrets"], ["delete", "get", "list", "watch"]), EV]),
        role("system:controller:bootstrap-signer", kp, [
            rule([""], ["configmaps"], R),
            rule([""], ["configmaps"], ["update"], names=["cluster-info"]), EV]),
    ]
    sa = lambda n: subject("ServiceAccount", n, ks)  # noqa: E731
    binds = [
        rb("system::extension-apiserver-authentication-reader", ks, "Role",
           "extension-apiserver-authentication-reader",
           [subject("User", "system:kube-controller-manager"), subject("User", "system:kube-scheduler")]),
        rb("system::leader-locking-kube-controller-manager", ks, "Role",
           "system::leader-locking-kube-controller-manager",
           [subject("User", "system:kube-controller-manager"), sa("kube-controller-manager")]),
        rb("system::leader-locking-kube-scheduler", ks, "Role", "system::leader-locking-kube-scheduler",
           [subject("User", "system:kube-scheduler"), sa("kube-scheduler")]),
        rb("system:controller:bootstrap-signer", ks, "Role", "system:controller:bootstrap-signer",
           [sa("bootstrap-signer")]),
        rb("system:controller:cloud-provider", ks, "Role", "system:controller:cloud-provider",
           [sa("cloud-provider")]),
        rb("system:controller:token-cleaner", ks, "Role", "system:controller:token-cleaner",
           [sa("token-cleaner")]),
        rb("system:controller:bootstrap-signer", kp, "Role", "system:controller:bootstrap-signer",
           [sa("bootstrap-signer")]),
    ]
    return roles, binds


def aggregate(store):
    """What kube-controller-manager's clusterrole-aggregation-controller
    writes into every ClusterRole with an aggregationRule: the rules of the
    ClusterRoles its selectors match, in name order, each rule once
    (pkg/controller/clusterroleaggregation, syncClusterRole). Run until
    nothing changes, as the controller does through its watch."""
    crs = [o for o in store.objs if o["kind"] == "ClusterRole"]
    for _ in range(10):
        changed = False
        for cr in crs:
            agg = cr.get("aggregationRule")
            if not agg:
                continue
            rules = []
            for other in sorted(crs, key=lambda o: o["metadata"]["name"]):
                if other is cr:
                    continue
                labels = other["metadata"].get("labels", {})
                if any(all(labels.get(k) == v for k, v in sel["matchLabels"].items())
                       for sel in agg["clusterRoleSelectors"]):
                    for r in other.get("rules") or []:
                        if r not in rules:
                            rules.append(copy.deepcopy(r))
            if cr.get("rules") != rules:
                cr["rules"] = rules
                changed = True
        if not changed:
            return


# -- namespaces, service accounts, config maps ------------------------------

def namespace(name, labels=None, t=None):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(name, labels={"kubernetes.io/metadata.name": name, **(labels or {})},
                             creationTimestamp=ts(t if t is not None else T_INIT)),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def service_account(name, ns, automount=None, labels=None, t=None):
    o = {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": meta(name, ns, labels=labels,
                          creationTimestamp=ts(t if t is not None else T_INIT + 60))}
    if automount is not None:
        o["automountServiceAccountToken"] = automount
    return o


def config_map(name, ns, data, labels=None, annotations=None, t=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(name, ns, labels=labels, annotations=annotations,
                             creationTimestamp=ts(t if t is not None else T_INIT + 60)),
            "data": data}


def root_ca(ns, t):
    # kube-controller-manager's root-ca-cert-publisher: in every namespace,
    # annotated with its description (pkg/controller/certificates/rootcacertpublisher)
    return config_map("kube-root-ca.crt", ns, {"ca.crt": LAB_CA_PLACEHOLDER},
                      annotations={"kubernetes.io/description":
                                   "Contains a CA bundle that can be used to verify the "
                                   "kube-apiserver when using internal endpoints such as the "
                                   "internal service IP or kubernetes.default.svc. No other usage "
                                   "is guaranteed across distributions of Kubernetes clusters."},
                      t=t)


# the served set replaces this with the lab's cluster CA (lib/apiserver.py)
LAB_CA_PLACEHOLDER = "@@KHLAB_CLUSTER_CA@@"


# -- pods --------------------------------------------------------------------

def sa_volume(pod_name):
    """The projected volume the ServiceAccount admission plugin adds
    (plugin/pkg/admission/serviceaccount: kube-api-access-<random>)."""
    return {"name": "kube-api-access-" + h(pod_name + "/sa", 5), "projected": {
        "defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}}]}}


def default_container(c, token_volume=None):
    c = copy.deepcopy(c)
    image = c["image"]
    c.setdefault("imagePullPolicy", "Always" if image.endswith(":latest") or ":" not in image
                 else "IfNotPresent")
    c.setdefault("resources", {})
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    for p in c.get("ports", []):
        p.setdefault("protocol", "TCP")
    if token_volume:
        c.setdefault("volumeMounts", []).append(
            {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": token_volume,
             "readOnly": True})
    return {k: c[k] for k in sorted(c)}


def pod_spec_defaults(spec, name, ns_sas, ns):
    """The pod as the API server stores it: defaults (pkg/apis/core/v1
    defaults.go), the ServiceAccount admission plugin's token volume unless
    the pod or its ServiceAccount opts out, and DefaultTolerationSeconds."""
    spec = copy.deepcopy(spec)
    sa = spec.get("serviceAccountName", "default")
    spec["serviceAccountName"] = sa
    spec["serviceAccount"] = sa
    sa_obj = ns_sas.get((ns, sa), {})
    automount = spec.get("automountServiceAccountToken",
                         sa_obj.get("automountServiceAccountToken", True))
    tv = None
    if automount and not spec.get("_mirror"):
        vol = sa_volume(name)
        spec.setdefault("volumes", []).append(vol)
        tv = vol["name"]
    spec["containers"] = [default_container(c, tv) for c in spec["containers"]]
    if spec.get("initContainers"):
        spec["initContainers"] = [default_container(c, tv) for c in spec["initContainers"]]
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", {"system-node-critical": 2000001000,
                                 "system-cluster-critical": 2000000000}.get(
        spec.get("priorityClassName"), 0))
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    tol = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        covered = any(t.get("key") == key or ("key" not in t and t.get("operator") == "Exists"
                                              and t.get("effect") in (None, "NoExecute")) for t in tol)
        if not covered:
            tol.append({"effect": "NoExecute", "key": key, "operator": "Exists",
                        "tolerationSeconds": 300})
    spec.pop("_mirror", None)
    for v in spec.get("volumes", []):
        if "configMap" in v:
            v["configMap"].setdefault("defaultMode", 420)
        if "secret" in v:
            v["secret"].setdefault("defaultMode", 420)
        if "hostPath" in v:
            v["hostPath"].setdefault("type", "")
    return {k: spec[k] for k in sorted(spec)}


class Cluster:
    def __init__(self, store):
        self.s = store
        self.pod_ip = 0

    def sas(self):
        return {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                for o in self.s.objs if o["kind"] == "ServiceAccount"}

    def pod(self, name, ns, spec, labels=None, annotations=None, owner=None, node=CP, t=None,
            host_ip=None):
        t = t if t is not None else T_INIT + 120
        full = pod_spec_defaults(spec, name, self.sas(), ns)
        full["nodeName"] = node
        ip_node = host_ip or (CP_IP if node == CP else W1_IP)
        if full.get("hostNetwork"):
            pod_ip = ip_node
        else:
            self.pod_ip += 1
            pod_ip = f"10.244.{0 if node == CP else 1}.{self.pod_ip + 1}"
        m = meta(name, ns, labels=labels, annotations=annotations, creationTimestamp=ts(t))
        if owner:
            m["ownerReferences"] = [owner]
        started = ts(t + 5)
        statuses = [{
            "containerID": "containerd://" + hashlib.sha256((ns + name + c["name"]).encode()).hexdigest(),
            "image": c["image"], "imageID": c["image"].split(":")[0] + "@sha256:" +
            hashlib.sha256(c["image"].encode()).hexdigest(),
            "lastState": {}, "name": c["name"], "ready": True, "restartCount": 0, "started": True,
            "state": {"running": {"startedAt": started}}} for c in full["containers"]]
        status = {
            "conditions": [{"lastProbeTime": None, "lastTransitionTime": ts(t + s), "status": "True",
                            "type": ty} for s, ty in ((6, "PodReadyToStartContainers"), (3, "Initialized"),
                                                      (7, "Ready"), (7, "ContainersReady"),
                                                      (1, "PodScheduled"))],
            "containerStatuses": statuses,
            "hostIP": ip_node, "hostIPs": [{"ip": ip_node}],
            "phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
            "qosClass": qos(full), "startTime": ts(t + 1)}
        return self.s.add({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": full,
                           "status": status})

    def deployment(self, name, ns, template, replicas=1, labels=None, t=None, nodes=(W1,),
                   strategy=None, annotations=None):
        """A Deployment, its ReplicaSet and its pods, with the ownerReferences
        and pod-template-hash labels the controllers set."""
        t = t if t is not None else T_INIT + 300
        labels = labels or template["metadata"]["labels"]
        dep = self.s.add({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta(name, ns, labels=labels, generation=1, creationTimestamp=ts(t),
                             annotations={"deployment.kubernetes.io/revision": "1", **(annotations or {})}),
            "spec": {"progressDeadlineSeconds": 600, "replicas": replicas, "revisionHistoryLimit": 10,
                     "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                     "strategy": strategy or {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                              "type": "RollingUpdate"},
                     "template": template_defaults(template)},
            "status": {"availableReplicas": replicas, "observedGeneration": 1, "readyReplicas": replicas,
                       "replicas": replicas, "updatedReplicas": replicas}})
        phash = h(ns + name + "template", 10)
        rs_name = f"{name}-{phash}"
        tl = {**template["metadata"]["labels"], "pod-template-hash": phash}
        own = lambda kind, o: {"apiVersion": "apps/v1", "blockOwnerDeletion": True,  # noqa: E731
                               "controller": True, "kind": kind, "name": o["metadata"]["name"],
                               "uid": o["metadata"]["uid"]}
        rs_tpl = copy.deepcopy(dep["spec"]["template"])
        rs_tpl["metadata"]["labels"] = tl
        rs = self.s.add({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta(rs_name, ns, labels=tl, generation=1, creationTimestamp=ts(t),
                             annotations={"deployment.kubernetes.io/desired-replicas": str(replicas),
                                          "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                          "deployment.kubernetes.io/revision": "1"},
                             ownerReferences=[own("Deployment", dep)]),
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {**template["metadata"]["labels"],
                                                  "pod-template-hash": phash}},
                     "template": rs_tpl},
            "status": {"availableReplicas": replicas, "fullyLabeledReplicas": replicas,
                       "observedGeneration": 1, "readyReplicas": replicas, "replicas": replicas}})
        pods = []
        for i in range(replicas):
            pn = f"{rs_name}-{h(rs_name + str(i), 5)}"
            pods.append(self.pod(pn, ns, template["spec"], labels=tl,
                                 annotations=template["metadata"].get("annotations"),
                                 owner=own("ReplicaSet", rs), node=nodes[i % len(nodes)], t=t + 2))
        return dep, rs, pods

    def daemonset(self, name, ns, template, labels=None, t=None, annotations=None):
        t = t if t is not None else T_INIT + 90
        ds = self.s.add({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": meta(name, ns, labels=labels or template["metadata"]["labels"], generation=1,
                             creationTimestamp=ts(t),
                             annotations={"deprecated.daemonset.template.generation": "1",
                                          **(annotations or {})}),
            "spec": {"revisionHistoryLimit": 10,
                     "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                     "template": template_defaults(template),
                     "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                        "type": "RollingUpdate"}},
            "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": 2,
                       "numberMisscheduled": 0, "numberReady": 2, "observedGeneration": 1,
                       "updatedNumberScheduled": 2}})
        rev = h(ns + name + "rev", 10)
        for node in (CP, W1):
            pn = f"{name}-{h(name + node, 5)}"
            spec = copy.deepcopy(template["spec"])
            # the DaemonSet controller pins each pod to its node
            spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                        "values": [node]}]}]}}}
            tol = spec.setdefault("tolerations", [])
            for key, eff in (("node.kubernetes.io/not-ready", "NoExecute"),
                             ("node.kubernetes.io/unreachable", "NoExecute"),
                             ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                             ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                             ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                             ("node.kubernetes.io/unschedulable", "NoSchedule")) + (
                    (("node.kubernetes.io/network-unavailable", "NoSchedule"),)
                    if spec.get("hostNetwork") else ()):
                tol.append({"effect": eff, "key": key, "operator": "Exists"})
            self.pod(pn, ns, spec,
                     labels={**template["metadata"]["labels"], "controller-revision-hash": rev,
                             "pod-template-generation": "1"},
                     annotations=template["metadata"].get("annotations"),
                     owner={"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                            "kind": "DaemonSet", "name": name, "uid": ds["metadata"]["uid"]},
                     node=node, t=t + 3)
        return ds


def template_defaults(template):
    t = copy.deepcopy(template)
    spec = t["spec"]
    spec["containers"] = [default_container(c) for c in spec["containers"]]
    if spec.get("initContainers"):
        spec["initContainers"] = [default_container(c) for c in spec["initContainers"]]
    for k, v in (("dnsPolicy", "ClusterFirst"), ("restartPolicy", "Always"),
                 ("schedulerName", "default-scheduler"), ("securityContext", {}),
                 ("terminationGracePeriodSeconds", 30)):
        spec.setdefault(k, v)
    for v in spec.get("volumes", []):
        if "configMap" in v:
            v["configMap"].setdefault("defaultMode", 420)
        if "hostPath" in v:
            v["hostPath"].setdefault("type", "")
    t["metadata"].setdefault("creationTimestamp", None)
    t["spec"] = {k: spec[k] for k in sorted(spec)}
    return t


def qos(spec):
    reqs = [c.get("resources", {}) for c in spec["containers"]]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    if all(r.get("limits") and r.get("limits") == r.get("requests") for r in reqs):
        return "Guaranteed"
    return "Burstable"


# -- the kubeadm v1.32 + flannel cluster --------------------------------------

def hostpath(name, path, typ):
    return {"hostPath": {"path": path, "type": typ}, "name": name}


def mount(name, path, ro=False):
    m = {"mountPath": path, "name": name}
    if ro:
        m["readOnly"] = True
    return m


CA_VOLUMES = [  # kubeadm phases/controlplane/volumes.go, on Debian/Ubuntu
    ("ca-certs", "/etc/ssl/certs", "DirectoryOrCreate"),
    ("etc-ca-certificates", "/etc/ca-certificates", "DirectoryOrCreate"),
    ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates", "DirectoryOrCreate"),
    ("usr-share-ca-certificates", "/usr/share/ca-certificates", "DirectoryOrCreate"),
]


def static_pods(c, fixture):
    """The control plane's static pods (/etc/kubernetes/manifests, from the
    node's fixture: the command is the manifest's) as the kubelet mirrors
    them into kube-system: named <pod>-<node>, owned by the Node, with the
    config.* annotations (pkg/kubelet/pod/mirror_client.go, config/common.go)."""
    comps = fixture["components"]
    node_uid = uid("Node", "", CP)
    probes = {
        "apiserver": ("/livez", "/readyz", 6443, "HTTPS", None),
        "controller-manager": ("/healthz", None, 10257, "HTTPS", "127.0.0.1"),
        "scheduler": ("/livez", "/readyz", 10259, "HTTPS", "127.0.0.1"),
        "etcd": ("/livez", "/readyz", 2381, "HTTP", "127.0.0.1"),
    }
    for kind in ("etcd", "apiserver", "controller-manager", "scheduler"):
        comp = comps.get(kind) or {}
        man = comp.get("manifest") or {}
        if not man.get("command"):
            continue
        binary = {"apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
                  "scheduler": "kube-scheduler", "etcd": "etcd"}[kind]
        image = "registry.k8s.io/etcd:3.5.16-0" if kind == "etcd" else f"registry.k8s.io/{binary}:{K8S_VERSION}"
        if kind == "etcd":
            vols = [hostpath("etcd-certs", "/etc/kubernetes/pki/etcd", "DirectoryOrCreate"),
                    hostpath("etcd-data", "/var/lib/etcd", "DirectoryOrCreate")]
            mounts = [mount("etcd-data", "/var/lib/etcd"), mount("etcd-certs", "/etc/kubernetes/pki/etcd")]
        elif kind == "apiserver":
            vols = [hostpath(n, p, t) for n, p, t in CA_VOLUMES[:2]] + \
                [hostpath("k8s-certs", "/etc/kubernetes/pki", "DirectoryOrCreate")] + \
                [hostpath(n, p, t) for n, p, t in CA_VOLUMES[2:]]
            mounts = [mount(v["name"], v["hostPath"]["path"], ro=True) for v in vols]
        elif kind == "controller-manager":
            vols = [hostpath(n, p, t) for n, p, t in CA_VOLUMES[:2]] + [
                hostpath("flexvolume-dir", "/usr/libexec/kubernetes/kubelet-plugins/volume/exec",
                         "DirectoryOrCreate"),
                hostpath("k8s-certs", "/etc/kubernetes/pki", "DirectoryOrCreate"),
                hostpath("kubeconfig", "/etc/kubernetes/controller-manager.conf", "FileOrCreate")] + \
                [hostpath(n, p, t) for n, p, t in CA_VOLUMES[2:]]
            mounts = [mount(v["name"], v["hostPath"]["path"], ro=v["name"] != "flexvolume-dir")
                      for v in vols]
        else:
            vols = [hostpath("kubeconfig", "/etc/kubernetes/scheduler.conf", "FileOrCreate")]
            mounts = [mount("kubeconfig", "/etc/kubernetes/scheduler.conf", ro=True)]
        live, ready, port, scheme, host = probes[kind]
        host = host or CP_IP

        def probe(path, delay, fail):
            return {"failureThreshold": fail, "httpGet": {"host": host, "path": path, "port": port,
                                                          "scheme": scheme},
                    "initialDelaySeconds": delay, "periodSeconds": 10, "successThreshold": 1,
                    "timeoutSeconds": 15}
        ctr = {"command": [a.replace("192.168.56.11", CP_IP) for a in man["command"]], "image": image,
               "imagePullPolicy": "IfNotPresent", "livenessProbe": probe(live, 10, 8), "name": binary,
               "resources": {"requests": {"cpu": {"etcd": "100m", "apiserver": "250m",
                                                  "controller-manager": "200m",
                                                  "scheduler": "100m"}[kind]}},
               "startupProbe": probe(live, 10, 24), "volumeMounts": mounts}
        if kind == "etcd":
            ctr["resources"]["requests"]["memory"] = "100Mi"
        if ready:
            ctr["readinessProbe"] = {**probe(ready, 0, 3), "periodSeconds": 1}
        spec = {"containers": [ctr], "hostNetwork": True, "priorityClassName": "system-node-critical",
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "volumes": vols,
                "_mirror": True, "tolerations": [{"effect": "NoExecute", "operator": "Exists"}]}
        chash = hashlib.md5((kind + json.dumps(man["command"])).encode()).hexdigest()
        ann = {"kubernetes.io/config.hash": chash, "kubernetes.io/config.mirror": chash,
               "kubernetes.io/config.seen": ts(T_INIT + 1).replace("Z", ".512345678Z"),
               "kubernetes.io/config.source": "file"}
        if kind == "apiserver":
            ann["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = f"{CP_IP}:6443"
        if kind == "etcd":
            ann["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = f"https://{CP_IP}:2379"
        c.pod(f"{binary}-{CP}", "kube-system", spec,
              labels={"component": binary, "tier": "control-plane"}, annotations=ann,
              owner={"apiVersion": "v1", "controller": True, "kind": "Node", "name": CP, "uid": node_uid},
              t=T_INIT + 20)


def kubeadm_flannel(fixture):
    s = Store()
    c = Cluster(s)
    # namespaces: the API server's own (default, kube-system, kube-public,
    # kube-node-lease: pkg/controlplane/controller/systemnamespaces), and
    # kube-flannel from kube-flannel.yml
    for n in ("default", "kube-node-lease", "kube-public", "kube-system"):
        s.add(namespace(n))
    s.add(namespace("kube-flannel", {"k8s-app": "flannel",
                                     "pod-security.kubernetes.io/enforce": "privileged"},
                    t=T_INIT + 400), t=T_INIT + 400)
    # nodes
    for name, ip, cp in ((CP, CP_IP, True), (W1, W1_IP, False)):
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        if cp:
            labels["node-role.kubernetes.io/control-plane"] = ""
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        s.add({"apiVersion": "v1", "kind": "Node",
               "metadata": meta(name, labels=labels, annotations={
                   "flannel.alpha.coreos.com/backend-data": '{"VNIDs":[1],"VtepMAC":"' +
                   ("e2:7a:31:0c:5b:11" if cp else "e2:7a:31:0c:5b:21") + '"}',
                   "flannel.alpha.coreos.com/backend-type": "vxlan",
                   "flannel.alpha.coreos.com/kube-subnet-manager": "true",
                   "flannel.alpha.coreos.com/public-ip": ip,
                   "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
                   "node.alpha.kubernetes.io/ttl": "0",
                   "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
                   creationTimestamp=ts(T_INIT + (0 if cp else 500))),
               "spec": {"podCIDR": f"10.244.{0 if cp else 1}.0/24",
                        "podCIDRs": [f"10.244.{0 if cp else 1}.0/24"],
                        **({"taints": [{"effect": "NoSchedule",
                                        "key": "node-role.kubernetes.io/control-plane"}]} if cp else {})},
               "status": {"addresses": [{"address": ip, "type": "InternalIP"},
                                        {"address": name, "type": "Hostname"}],
                          "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.24",
                                       "kernelVersion": "6.8.0-49-generic", "kubeProxyVersion": K8S_VERSION,
                                       "kubeletVersion": K8S_VERSION, "operatingSystem": "linux",
                                       "osImage": "Ubuntu 24.04.1 LTS"}}},
              t=T_INIT + (0 if cp else 500))
    # RBAC: the bootstrap policy
    for o in bootstrap_cluster_roles():
        s.add(o, T_INIT + 2)
    croles, cbinds, controllers = controller_roles()
    for o in croles + bootstrap_cluster_role_bindings() + cbinds:
        s.add(o, T_INIT + 2)
    nroles, nbinds = namespace_policy()
    for o in nroles + nbinds:
        s.add(o, T_INIT + 2)
    # kubeadm's own RBAC
    G = "Group"
    tokens = "system:bootstrappers:kubeadm:default-node-token"
    kubeadm = [
        # phases/kubeconfig: admin.conf's group, bound to cluster-admin (1.29+)
        crb("kubeadm:cluster-admins", "cluster-admin", [subject(G, "kubeadm:cluster-admins")], bootstrap=False),
        # phases/bootstraptoken/node/tlsbootstrap.go
        cluster_role("kubeadm:get-nodes", [rule([""], ["nodes"], ["get"])], bootstrap=False),
        crb("kubeadm:get-nodes", "kubeadm:get-nodes", [subject(G, tokens)], bootstrap=False),
        crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", [subject(G, tokens)], bootstrap=False),
        crb("kubeadm:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            [subject(G, tokens)], bootstrap=False),
        crb("kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            [subject(G, "system:nodes")], bootstrap=False),
        # phases/bootstraptoken/clusterinfo: anonymous may read cluster-info
        role("kubeadm:bootstrap-signer-clusterinfo", "kube-public",
             [rule([""], ["configmaps"], ["get"], names=["cluster-info"])], bootstrap=False),
        rb("kubeadm:bootstrap-signer-clusterinfo", "kube-public", "Role",
           "kubeadm:bootstrap-signer-clusterinfo", [subject("User", "system:anonymous")], bootstrap=False),
        # phases/uploadconfig, phases/kubelet
        role("kubeadm:nodes-kubeadm-config", "kube-system",
             [rule([""], ["configmaps"], ["get"], names=["kubeadm-config"])], bootstrap=False),
        rb("kubeadm:nodes-kubeadm-config", "kube-system", "Role", "kubeadm:nodes-kubeadm-config",
           [subject(G, tokens), subject(G, "system:nodes")], bootstrap=False),
        role("kubeadm:kubelet-config", "kube-system",
             [rule([""], ["configmaps"], ["get"], names=["kubelet-config"])], bootstrap=False),
        rb("kubeadm:kubelet-config", "kube-system", "Role", "kubeadm:kubelet-config",
           [subject(G, "system:nodes"), subject(G, tokens)], bootstrap=False),
        # phases/addons/proxy
        crb("kubeadm:node-proxier", "system:node-proxier",
            [subject("ServiceAccount", "kube-proxy", "kube-system")], bootstrap=False),
        role("kube-proxy", "kube-system", [rule([""], ["configmaps"], ["get"], names=["kube-proxy"])],
             bootstrap=False),
        rb("kube-proxy", "kube-system", "Role", "kube-proxy", [subject(G, tokens)], bootstrap=False),
        # phases/addons/dns
        cluster_role("system:coredns", [
            rule([""], ["endpoints", "services", "pods", "namespaces"], ["list", "watch"]),
            rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"])], bootstrap=False),
        crb("system:coredns", "system:coredns", [subject("ServiceAccount", "coredns", "kube-system")],
            bootstrap=False),
        # kube-flannel.yml
        cluster_role("flannel", [
            rule([""], ["pods"], ["get"]), rule([""], ["nodes"], ["get", "list", "watch"]),
            rule([""], ["nodes/status"], ["patch"])], bootstrap=False, labels={"k8s-app": "flannel"}),
        crb("flannel", "flannel", [subject("ServiceAccount", "flannel", "kube-flannel")], bootstrap=False,
            labels={"k8s-app": "flannel"}),
    ]
    for o in kubeadm:
        if o["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):
            o["metadata"].pop("annotations", None)
        s.add(o, T_INIT + 30 if "flannel" not in o["metadata"]["name"] else T_INIT + 400)
    aggregate(s)
    # service accounts: default in every namespace (service-account-controller),
    # the controllers' (kube-controller-manager --use-service-account-credentials),
    # the add-ons'
    for ns in ("default", "kube-node-lease", "kube-public", "kube-system"):
        s.add(service_account("default", ns))
    s.add(service_account("default", "kube-flannel", t=T_INIT + 400))
    for n in controllers + ["bootstrap-signer", "token-cleaner"]:
        s.add(service_account(n, "kube-system", t=T_INIT + 15))
    s.add(service_account("kube-proxy", "kube-system", t=T_INIT + 31))
    s.add(service_account("coredns", "kube-system", t=T_INIT + 31))
    s.add(service_account("flannel", "kube-flannel", labels={"k8s-app": "flannel"}, t=T_INIT + 400))
    # config maps and secrets kubeadm and the API server write
    for ns in ("default", "kube-node-lease", "kube-public", "kube-system", "kube-flannel"):
        s.add(root_ca(ns, T_INIT + (400 if ns == "kube-flannel" else 15)))
    s.add(config_map("cluster-info", "kube-public", {"kubeconfig": "@@KHLAB_CLUSTER_INFO@@"}), T_INIT + 30)
    s.add(config_map("kubeadm-config", "kube-system", {"ClusterConfiguration": KUBEADM_CLUSTER_CONFIG}))
    s.add(config_map("kubelet-config", "kube-system", {"kubelet": KUBELET_CONFIG},
                     annotations={"kubeadm.kubernetes.io/component-config.hash":
                                  "sha256:" + hashlib.sha256(KUBELET_CONFIG.encode()).hexdigest()}))
    s.add(config_map("kube-proxy", "kube-system",
                     {"config.conf": KUBE_PROXY_CONFIG, "kubeconfig.conf": KUBE_PROXY_KUBECONFIG},
                     labels={"app": "kube-proxy"},
                     annotations={"kubeadm.kubernetes.io/component-config.hash":
                                  "sha256:" + hashlib.sha256(KUBE_PROXY_CONFIG.encode()).hexdigest()}))
    s.add(config_map("coredns", "kube-system", {"Corefile": COREFILE}))
    s.add(config_map("extension-apiserver-authentication", "kube-system", {
        "client-ca-file": LAB_CA_PLACEHOLDER,
        "requestheader-allowed-names": '["front-proxy-client"]',
        "requestheader-client-ca-file": "@@KHLAB_FRONT_PROXY_CA@@",
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-uid-headers": '["X-Remote-Uid"]',
        "requestheader-username-headers": '["X-Remote-User"]'}), T_INIT + 3)
    s.add(config_map("kube-flannel-cfg", "kube-flannel", {"cni-conf.json": FLANNEL_CNI,
                                                          "net-conf.json": FLANNEL_NET},
                     labels={"app": "flannel", "k8s-app": "flannel", "tier": "node"}, t=T_INIT + 400))
    # the bootstrap token of `kubeadm init` (phases/bootstraptoken), its
    # 24 h not over yet on a fresh cluster
    s.add({"apiVersion": "v1", "kind": "Secret",
           "metadata": meta("bootstrap-token-9a08jv", "kube-system"),
           "type": "bootstrap.kubernetes.io/token",
           "data": {"auth-extra-groups": b64(tokens), "expiration": b64(ts(T_INIT + 86400)),
                    "token-id": b64("9a08jv"), "token-secret": b64("c0izixklcxtmnze7"),
                    "usage-bootstrap-authentication": b64("true"),
                    "usage-bootstrap-signing": b64("true")}}, T_INIT + 30)
    # services
    s.add({"apiVersion": "v1", "kind": "Service",
           "metadata": meta("kubernetes", "default", labels={"component": "apiserver",
                                                             "provider": "kubernetes"}),
           "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                    "sessionAffinity": "None", "type": "ClusterIP"},
           "status": {"loadBalancer": {}}}, T_INIT + 2)
    s.add({"apiVersion": "v1", "kind": "Service",
           "metadata": meta("kube-dns", "kube-system",
                            labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                    "kubernetes.io/name": "CoreDNS"},
                            annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}),
           "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                    "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                              {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                              {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                    "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None", "type": "ClusterIP"},
           "status": {"loadBalancer": {}}}, T_INIT + 31)
    # workloads
    static_pods(c, fixture)
    c.daemonset("kube-proxy", "kube-system", {
        "metadata": {"labels": {"k8s-app": "kube-proxy"}},
        "spec": {"containers": [{
            "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                        "--hostname-override=$(NODE_NAME)"],
            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                     "fieldPath": "spec.nodeName"}}}],
            "image": f"registry.k8s.io/kube-proxy:{K8S_VERSION}", "imagePullPolicy": "IfNotPresent",
            "name": "kube-proxy", "securityContext": {"privileged": True},
            "volumeMounts": [mount("kube-proxy", "/var/lib/kube-proxy"),
                             mount("xtables-lock", "/run/xtables.lock"),
                             mount("lib-modules", "/lib/modules", ro=True)]}],
            "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "linux"},
            "priorityClassName": "system-node-critical", "serviceAccountName": "kube-proxy",
            "tolerations": [{"operator": "Exists"}],
            "volumes": [{"configMap": {"name": "kube-proxy"}, "name": "kube-proxy"},
                        hostpath("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                        hostpath("lib-modules", "/lib/modules", "")]}},
        t=T_INIT + 31)
    flannel_tpl = {
        "metadata": {"labels": {"app": "flannel", "k8s-app": "flannel", "tier": "node"}},
        "spec": {
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In",
                                                             "values": ["linux"]}]}]}}},
            "containers": [{
                "args": ["--ip-masq", "--kube-subnet-mgr"], "command": ["/opt/bin/flanneld"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                        "fieldPath": "metadata.name"}}},
                        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
                        {"name": "EVENT_QUEUE_DEPTH", "value": "5000"},
                        {"name": "CONT_WHEN_CACHE_NOT_READY", "value": "false"}],
                "image": "ghcr.io/flannel-io/flannel:v0.26.4", "name": "kube-flannel",
                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}},
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}, "privileged": False},
                "volumeMounts": [mount("run", "/run/flannel"), mount("flannel-cfg", "/etc/kube-flannel/"),
                                 mount("xtables-lock", "/run/xtables.lock")]}],
            "hostNetwork": True,
            "initContainers": [
                {"args": ["-f", "/flannel", "/opt/cni/bin/flannel"], "command": ["cp"],
                 "image": "ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1", "name": "install-cni-plugin",
                 "volumeMounts": [mount("cni-plugin", "/opt/cni/bin")]},
                {"args": ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"],
                 "command": ["cp"], "image": "ghcr.io/flannel-io/flannel:v0.26.4", "name": "install-cni",
                 "volumeMounts": [mount("cni", "/etc/cni/net.d"), mount("flannel-cfg", "/etc/kube-flannel/")]}],
            "priorityClassName": "system-node-critical", "serviceAccountName": "flannel",
            "tolerations": [{"effect": "NoSchedule", "operator": "Exists"}],
            "volumes": [hostpath("run", "/run/flannel", ""), hostpath("cni-plugin", "/opt/cni/bin", ""),
                        hostpath("cni", "/etc/cni/net.d", ""),
                        {"configMap": {"name": "kube-flannel-cfg"}, "name": "flannel-cfg"},
                        hostpath("xtables-lock", "/run/xtables.lock", "FileOrCreate")]}}
    c.daemonset("kube-flannel-ds", "kube-flannel", flannel_tpl,
                labels={"app": "flannel", "k8s-app": "flannel", "tier": "node"}, t=T_INIT + 400)
    c.deployment("coredns", "kube-system", {
        "metadata": {"labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                "podAffinityTerm": {"labelSelector": {"matchExpressions": [
                    {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                    "topologyKey": "kubernetes.io/hostname"}, "weight": 100}]}},
            "containers": [{
                "args": ["-conf", "/etc/coredns/Corefile"], "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                "livenessProbe": {"failureThreshold": 5, "httpGet": {"path": "/health", "port": 8080,
                                                                     "scheme": "HTTP"},
                                  "initialDelaySeconds": 60, "periodSeconds": 10, "successThreshold": 1,
                                  "timeoutSeconds": 5},
                "name": "coredns",
                "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                          {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                          {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}],
                "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/ready", "port": 8181,
                                                                      "scheme": "HTTP"},
                                   "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
                "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True},
                "volumeMounts": [mount("config-volume", "/etc/coredns", ro=True)]}],
            "dnsPolicy": "Default", "nodeSelector": {"kubernetes.io/os": "linux"},
            "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                            {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}],
            "volumes": [{"configMap": {"items": [{"key": "Corefile", "path": "Corefile"}], "name": "coredns"},
                         "name": "config-volume"}]}},
        replicas=2, labels={"k8s-app": "kube-dns"}, nodes=(CP, CP), t=T_INIT + 31,
        strategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}, "type": "RollingUpdate"})
    return s


KUBEADM_CLUSTER_CONFIG = """apiServer: {}
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controllerManager: {}
dns: {}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: v1.32.4
networking:
  dnsDomain: cluster.local
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
proxy: {}
scheduler: {}
"""

KUBELET_CONFIG = """apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 0s
    cacheUnauthorizedTTL: 0s
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
kind: KubeletConfiguration
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
"""

KUBE_PROXY_CONFIG = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
clusterCIDR: 10.244.0.0/16
kind: KubeProxyConfiguration
mode: ""
"""

KUBE_PROXY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://""" + CP_IP + """:6443
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""

COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""

FLANNEL_CNI = """{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "flannel",
      "delegate": {
        "hairpinMode": true,
        "isDefaultGateway": true
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
"""

FLANNEL_NET = """{
  "Network": "10.244.0.0/16",
  "EnableNFTables": false,
  "Backend": {
    "Type": "vxlan"
  }
}
"""


# -- hardened: PSA labels and default-deny policies ---------------------------

def hardened(fixture):
    s = kubeadm_flannel(fixture)
    t = T_INIT + 3600
    psa = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version":
           "latest", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit":
           "restricted"}
    for o in s.objs:
        if o["kind"] == "Namespace":
            n = o["metadata"]["name"]
            if n in ("default", "kube-node-lease", "kube-public"):
                o["metadata"]["labels"].update(psa)
            elif n == "kube-system":
                # the control plane's static pods and kube-proxy need privileged
                o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
                o["metadata"]["labels"]["pod-security.kubernetes.io/warn"] = "baseline"
                o["metadata"]["labels"]["pod-security.kubernetes.io/audit"] = "baseline"
        if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "default":
            o["automountServiceAccountToken"] = False
    for ns in ("default", "kube-node-lease", "kube-public", "kube-system", "kube-flannel"):
        s.add(netpol("default-deny-all", ns, {}, ["Ingress", "Egress"]), t)
    # what kube-system still needs once everything is denied: DNS to CoreDNS
    s.add(netpol("allow-dns", "kube-system", {"matchLabels": {"k8s-app": "kube-dns"}}, ["Ingress"],
                 ingress=[{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]), t)
    s.add(netpol("allow-dns-egress", "kube-system", {}, ["Egress"],
                 egress=[{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                          "to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]}]), t)
    return s


def netpol(name, ns, selector, types, ingress=None, egress=None, t=None):
    spec = {"podSelector": selector, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(name, ns, generation=1), "spec": spec}


# -- problems ------------------------------------------------------------------

def last_applied(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"


def problems(fixture):
    s = kubeadm_flannel(fixture)
    c = Cluster(s)
    c.pod_ip = 40
    t = T_INIT + 2 * 86400
    U, G = "User", "Group"
    # namespaces
    s.add(namespace("app", t=t), t)
    s.add(namespace("payments", {"pod-security.kubernetes.io/enforce": "restricted",
                                 "pod-security.kubernetes.io/enforce-version": "latest"}, t=t), t)
    s.add(namespace("legacy", {"pod-security.kubernetes.io/enforce": "privileged"}, t=t), t)
    for ns in ("app", "payments", "legacy"):
        s.add(service_account("default", ns, t=t))
        s.add(root_ca(ns, t))
    s.add(netpol("default-deny", "payments", {}, ["Ingress", "Egress"]), t + 10)
    s.add(service_account("reporter", "app", t=t + 20))
    s.add(service_account("ci-bot", "app", t=t + 20))
    s.add(service_account("payments-api", "payments", automount=False, t=t + 20))
    # RBAC problems
    add = lambda o, dt=100: s.add(o, t + dt)  # noqa: E731
    add(crb("alice-cluster-admin", "cluster-admin", [subject(U, "alice@example.com")], bootstrap=False))
    add(crb("developers-cluster-admin", "cluster-admin", [subject(G, "developers")], bootstrap=False))
    add(crb("ops-masters", "cluster-admin", [subject(G, "system:masters"), subject(U, "ops-breakglass")],
            bootstrap=False))
    add(role("app-wildcard", "app", [rule(["*"], ["*"], ["*"])], bootstrap=False))
    add(rb("app-wildcard", "app", "Role", "app-wildcard", [subject(U, "bob@example.com")], bootstrap=False))
    add(cluster_role("ops-wildcard", [rule(["", "apps"], ["*"], ["*"])], bootstrap=False))
    add(crb("ops-wildcard", "ops-wildcard", [subject(G, "ops")], bootstrap=False))
    add(role("secret-reader", "app", [rule([""], ["secrets"], ["get", "list"])], bootstrap=False))
    add(rb("reporter-secret-reader", "app", "Role", "secret-reader",
           [subject("ServiceAccount", "reporter", "app")], bootstrap=False))
    agg_label = "rbac.example.com/aggregate-to-secrets-viewer"
    add(cluster_role("secrets-viewer", None, agg={agg_label: "true"}, bootstrap=False))
    add(cluster_role("secrets-viewer-core", [rule([""], ["secrets"], R)], labels={agg_label: "true"},
                     bootstrap=False))
    add(crb("all-users-secrets-viewer", "secrets-viewer", [subject(G, "system:authenticated")],
            bootstrap=False))
    add(rb("ci-bot-view-payments", "payments", "ClusterRole", "view",
           [subject("ServiceAccount", "ci-bot", "app")], bootstrap=False))
    add(cluster_role("pod-launcher", [rule([""], ["pods"], ["create", "get", "list"])], bootstrap=False))
    add(crb("all-users-pod-launcher", "pod-launcher", [subject(G, "system:authenticated")], bootstrap=False))
    add(cluster_role("rbac-escalator", [
        rule([RBAC], ["clusterroles", "roles"], ["bind", "escalate"]),
        rule([""], ["users", "groups", "serviceaccounts"], ["impersonate"])], bootstrap=False))
    add(crb("mallory-rbac-escalator", "rbac-escalator", [subject(U, "mallory@example.com")], bootstrap=False))
    add(cluster_role("pv-creator", [rule([""], ["persistentvolumes"], ["create", "get", "list"])],
                     bootstrap=False))
    add(crb("storage-team-pv-creator", "pv-creator", [subject(G, "storage-team")], bootstrap=False))
    add(cluster_role("node-proxy", [rule([""], ["nodes/proxy"], ["get", "create"])], bootstrap=False))
    add(crb("metrics-node-proxy", "node-proxy", [subject(U, "metrics-scraper")], bootstrap=False))
    add(cluster_role("csr-approver", [
        rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["get", "list", "watch"]),
        rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"]),
        rule(["certificates.k8s.io"], ["signers"], ["approve"],
             names=["kubernetes.io/kube-apiserver-client"])], bootstrap=False))
    add(crb("carol-csr-approver", "csr-approver", [subject(U, "carol@example.com")], bootstrap=False))
    add(cluster_role("webhook-admin", [
        rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations",
                                                "mutatingwebhookconfigurations"],
             ["create", "delete", "get", "list", "patch", "update"])], bootstrap=False))
    add(crb("ci-bot-webhook-admin", "webhook-admin", [subject("ServiceAccount", "ci-bot", "app")],
            bootstrap=False))
    add(cluster_role("token-minter", [rule([""], ["serviceaccounts/token"], ["create"])], bootstrap=False))
    add(crb("dave-token-minter", "token-minter", [subject(U, "dave@example.com")], bootstrap=False))
    aggregate(s)
    # secrets and the canary (must never leave the node)
    applied = {"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "db-credentials", "namespace": "app"},
               "stringData": {"password": CANARY, "username": "app"}, "type": "Opaque"}
    add({"apiVersion": "v1", "kind": "Secret",
         "metadata": meta("db-credentials", "app", annotations={
             "kubectl.kubernetes.io/last-applied-configuration": last_applied(applied)}),
         "type": "Opaque", "data": {"password": b64(CANARY), "username": b64("app")}}, 200)
    add({"apiVersion": "v1", "kind": "Secret", "metadata": meta("api-token", "app"),
         "type": "Opaque", "data": {"token": b64(CANARY + "-api-token")}}, 210)
    add({"apiVersion": "v1", "kind": "Secret",
         "metadata": meta("reporter-token", "app", annotations={
             "kubernetes.io/service-account.name": "reporter",
             "kubernetes.io/service-account.uid": uid("ServiceAccount", "app", "reporter")}),
         "type": "kubernetes.io/service-account-token",
         "data": {"ca.crt": b64(LAB_CA_PLACEHOLDER), "namespace": b64("app"),
                  "token": b64("eyJhbGciOiJSUzI1NiJ9." + b64(CANARY) + ".sig")}}, 220)
    add(config_map("app-config", "app", {"LOG_LEVEL": "info",
                                         "settings.ini": f"[db]\nhost=db.app\npassword={CANARY}\n"}), 230)
    # workloads
    app_tpl = lambda name, spec, labels=None: {  # noqa: E731
        "metadata": {"labels": labels or {"app": name}}, "spec": spec}
    nginx = "nginx:1.27.3"
    c.deployment("priv-debug", "app", app_tpl("priv-debug", {"containers": [{
        "name": "debug", "image": "busybox:1.37", "command": ["sleep", "infinity"],
        "securityContext": {"privileged": True}}]}), t=t + 300)
    c.deployment("web", "app", app_tpl("web", {"containers": [{
        "name": "web", "image": nginx, "ports": [{"containerPort": 80}],
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password",
                                                                       "name": "db-credentials"}}},
                {"name": "API_KEY", "value": CANARY}],
        "envFrom": [{"secretRef": {"name": "api-token"}}],
        "securityContext": {"allowPrivilegeEscalation": True, "runAsUser": 0,
                            "capabilities": {"add": ["NET_RAW", "SYS_ADMIN"]}}}]}),
        replicas=2, t=t + 310)
    c.deployment("report", "app", app_tpl("report", {
        "serviceAccountName": "reporter",
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "report", "image": "python:3.13-slim",
                        "command": ["python", "-m", "http.server"],
                        "volumeMounts": [{"mountPath": "/etc/db", "name": "db", "readOnly": True}]}],
        "volumes": [{"name": "db", "secret": {"secretName": "db-credentials"}}]}), t=t + 320)
    c.deployment("node-agent", "legacy", app_tpl("node-agent", {
        "hostPID": True, "hostIPC": True, "hostNetwork": True,
        "containers": [{"name": "agent", "image": "quay.io/example/node-agent:2.4.1",
                        "ports": [{"containerPort": 9100, "hostPort": 9100}],
                        "volumeMounts": [{"mountPath": "/host", "name": "host-root", "readOnly": True}]}],
        "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}]}), t=t + 330)
    c.deployment("proxy", "legacy", app_tpl("proxy", {"containers": [{
        "name": "haproxy", "image": "haproxy:3.1", "ports": [{"containerPort": 8443, "hostPort": 443}]}]}),
        t=t + 335)
    c.deployment("win-agent", "legacy", app_tpl("win-agent", {
        "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "windows"},
        "securityContext": {"windowsOptions": {"hostProcess": True,
                                               "runAsUserName": "NT AUTHORITY\\SYSTEM"}},
        "containers": [{"name": "agent", "image": "mcr.microsoft.com/oss/kubernetes/windows-host-process-"
                                                  "containers-base-image:v1.0.0",
                        "command": ["powershell.exe", "-Command", "Start-Sleep -Seconds 2147483"]}]}),
        t=t + 340)
    c.deployment("hello", "default", app_tpl("hello", {"containers": [{
        "name": "hello", "image": "nginx:latest"}]}), t=t + 350)
    c.deployment("payments-api", "payments", app_tpl("payments-api", {
        "serviceAccountName": "payments-api", "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "api", "image": "registry.example.com/payments-api:3.2.0",
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True}}]}), replicas=2, t=t + 360)
    # admission: a webhook (fail-open, every pod) and a ValidatingAdmissionPolicy
    add({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": meta("image-policy.example.com", generation=1),
         "webhooks": [{"admissionReviewVersions": ["v1"],
                       "clientConfig": {"service": {"name": "image-policy", "namespace": "app",
                                                    "path": "/validate", "port": 443}},
                       "failurePolicy": "Ignore", "matchPolicy": "Equivalent", "name": "image-policy.example.com",
                       "namespaceSelector": {}, "objectSelector": {},
                       "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                                  "resources": ["pods"], "scope": "*"}],
                       "sideEffects": "None", "timeoutSeconds": 10}]}, 400)
    add({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": meta("deny-host-namespaces", generation=1),
         "spec": {"failurePolicy": "Fail",
                  "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                                       "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                          "operations": ["CREATE", "UPDATE"],
                                                          "resources": ["pods"], "scope": "*"}]},
                  "validations": [{"expression": "!has(object.spec.hostPID) || !object.spec.hostPID"}]},
         "status": {"observedGeneration": 1, "typeChecking": {}}}, 410)
    add({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": meta("deny-host-namespaces-payments", generation=1),
         "spec": {"matchResources": {"matchPolicy": "Equivalent",
                                     "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name":
                                                                           "payments"}},
                                     "objectSelector": {}},
                  "policyName": "deny-host-namespaces", "validationActions": ["Deny"]}}, 420)
    return s


def forbidden(fixture):
    """problems, plus an auditor who may read everything the scanner lists
    but clusterroles and clusterrolebindings (a hand-written role, as a
    cautious administrator would give a scanner, missing two resources)."""
    s = problems(fixture)
    t = T_INIT + 3 * 86400
    s.add(cluster_role("kh-auditor", [
        rule([""], ["namespaces", "pods", "serviceaccounts"], ["get", "list"]),
        rule([RBAC], ["roles", "rolebindings"], ["get", "list"]),
        rule(["networking.k8s.io"], ["networkpolicies"], ["get", "list"]),
        rule(["apps"], ["daemonsets", "deployments"], ["get", "list"]),
        rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations",
                                                "mutatingwebhookconfigurations",
                                                "validatingadmissionpolicies",
                                                "validatingadmissionpolicybindings"], ["get", "list"])],
        bootstrap=False), t)
    s.add(crb("kh-auditor", "kh-auditor", [subject("User", "kh-auditor")], bootstrap=False), t)
    return s


# name: (fixture scenario, builder, description[, base set]). A set with a
# base holds only the objects that differ from the base's or are new, and
# set.json names the base; lib/apiserver.py lays it over the base.
SETS = {
    "kubeadm-flannel": ("kubeadm-default", kubeadm_flannel,
                        "a fresh kubeadm v1.32 cluster (cp1, w1) with flannel"),
    "kubeadm-flannel-hardened": ("hardened", hardened,
                                 "kubeadm-flannel with Pod Security labels on every namespace, "
                                 "default-deny NetworkPolicies and no automount on default SAs", "kubeadm-flannel"),
    "problems": ("misconfigured", problems, "kubeadm-flannel plus the problems of README.md",
                 "kubeadm-flannel"),
    "forbidden": ("kubeadm-default", forbidden,
                  "problems plus user kh-auditor, who cannot list clusterroles or clusterrolebindings",
                  "problems"),
}

# resource file names, by kind
PLURAL = {"Namespace": "namespaces", "Node": "nodes", "Pod": "pods", "ServiceAccount": "serviceaccounts",
          "Secret": "secrets", "ConfigMap": "configmaps", "Service": "services",
          "Deployment": "deployments", "DaemonSet": "daemonsets", "ReplicaSet": "replicasets",
          "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings", "Role": "roles",
          "RoleBinding": "rolebindings", "NetworkPolicy": "networkpolicies",
          "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
          "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
          "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
          "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings"}


def key(o):
    return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])


def build(name):
    fixture_dir, fn = SETS[name][:2]
    with open(os.path.join(FIXTURES, fixture_dir, "cp1.json")) as f:
        fixture = json.load(f)
    return fn(fixture)


def render(name):
    fixture_dir, fn, desc = SETS[name][:3]
    base = SETS[name][3] if len(SETS[name]) > 3 else None
    s = build(name)
    objs = s.objs
    removed = []
    if base:
        old = {key(o): o for o in build(base).objs}
        objs = [o for o in objs if old.get(key(o)) != o]
        removed = sorted(set(old) - {key(o) for o in s.objs})
    files = {}
    by = {}
    for o in objs:
        by.setdefault(PLURAL[o["kind"]], []).append(o)
    for plural, objs in sorted(by.items()):
        objs.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        files[plural + ".json"] = {"apiVersion": "v1", "kind": "List", "items": objs}
    files["set.json"] = {
        "description": desc, "fixture": f"tests/fixtures/{fixture_dir}/cp1.json",
        **({"base": base, "removed": [list(k) for k in removed]} if base else {}),
        "resourceVersion": str(s.rv + 1),
        "version": {"major": "1", "minor": "32", "gitVersion": K8S_VERSION,
                    "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "go1.23.6", "compiler": "gc",
                    "platform": "linux/amd64"}}
    return {k: json.dumps(v, indent=1, sort_keys=False) + "\n" for k, v in files.items()}


def main():
    check = "--check" in sys.argv[1:]
    bad = []
    for name in SETS:
        out = render(name)
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        for fn, text in out.items():
            p = os.path.join(d, fn)
            old = open(p).read() if os.path.exists(p) else None
            if old != text:
                if check:
                    bad.append(p)
                else:
                    with open(p, "w") as f:
                        f.write(text)
        for fn in os.listdir(d):
            if fn.endswith(".json") and fn not in out:
                if check:
                    bad.append(os.path.join(d, fn))
                else:
                    os.unlink(os.path.join(d, fn))
    if bad:
        sys.exit("out of date: " + ", ".join(bad))


if __name__ == "__main__":
    main()
