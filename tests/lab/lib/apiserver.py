"""khlab-apiserver: the kubeharden lab's stand-in for kube-apiserver's :6443.

Runs INSIDE a lab control-plane node (init.sh starts it as
/usr/bin/python3 -I -B /run/khlab/khlab-apiserver.py CONFIG READY), with
comm "khlab-apiserver". It serves one fixed object set
(tests/lab/apisets/<set>/, see that README) read-only, to real kubectl,
and writes one JSON line per request to its request log. CONFIG
(apiserver.json, written by materialize.py):

    {"set": NAME, "sets_dir": DIR, "bind": "*", "port": 6443,
     "tls": {"cert": F, "key": F, "client_ca": F, "ciphers": OPENSSL-LIST},
     "anonymous": {"enabled": bool, "paths": [PATH...] | null},
     "authorizers": ["Node", "RBAC"] | ["AlwaysAllow"] | ...,
     "placeholders": {"@@...@@": TEXT}, "server_address": "IP:6443"}

What it does, and where upstream does it (kubernetes/kubernetes, v1.32):

* TLS as kube-apiserver sets it up (staging/src/k8s.io/apiserver/pkg/server/
  secure_serving.go, options/serving.go): TLS 1.2 at least, Go's default
  suites unless --tls-cipher-suites names others (the same OpenSSL list the
  lab's other Go stand-ins use), and, with --client-ca-file, a client
  certificate requested but optional (tls.VerifyClientCertIfGiven, from
  dynamiccertificates' client-CA provider): a certificate that is sent must
  verify against the CA, or the handshake fails.
* Authentication (pkg/kubeapiserver/authenticator/config.go, the x509
  authenticator of k8s.io/apiserver/pkg/authentication/request/x509): the
  user is the certificate's CN, its groups the O values, plus
  system:authenticated. Without a certificate, the anonymous authenticator
  (--anonymous-auth, default true; or an AuthenticationConfiguration's
  `anonymous` with `conditions`, only for those paths) makes the request
  system:anonymous in group system:unauthenticated; without it the answer
  is 401 with the metav1 Status "Unauthorized". kube-apiserver turns
  anonymous off when the only authorizer is AlwaysAllow
  (pkg/kubeapiserver/options/authentication.go ApplyAuthorization).
* Authorization, in the order of --authorization-mode or the
  AuthorizationConfiguration (pkg/kubeapiserver/authorizer/config.go): the
  group system:masters is always allowed (authorizerfactory
  NewPrivilegedGroups); AlwaysAllow allows; RBAC evaluates the set's own
  Roles, ClusterRoles and bindings (plugin/pkg/auth/authorizer/rbac:
  subjects, verbs, apiGroups, resources with "*" and "*/sub",
  resourceNames, nonResourceURLs with a trailing "*"); Node has an opinion
  only on node identities and is modelled as NoOpinion. A denial is a 403
  Status worded as responsewriters.forbiddenMessage and
  apierrors.NewForbidden word it.
* Discovery: /version, /api, /apis, /api/v1, /apis/<group>[/<version>] in
  the legacy form (APIVersions, APIGroupList, APIGroup, APIResourceList),
  and /api and /apis in the aggregated form (apidiscovery.k8s.io/v2 or
  v2beta1 APIGroupDiscoveryList) when the Accept header asks for it with
  `as=APIGroupDiscoveryList`, as kubectl 1.26+ does; the Content-Type says
  which (staging/src/k8s.io/apiserver/pkg/endpoints/discovery/aggregated).
* Reads: list (cluster-wide, or in one namespace) and get, for every
  resource of the served groups; resources the set has no objects of list
  empty. Lists are in etcd key order (namespace, then name), carry
  metadata.resourceVersion, and page with limit/continue as the etcd3 store
  does (staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go GetList:
  continue is base64 of {"v":"meta.k8s.io/v1","rv":N,"start":KEY+"\\x00"},
  remainingItemCount when no selector filters); items carry no
  apiVersion/kind, as the API server writes list items. labelSelector
  (=, ==, !=, in, notin, exists, !exists) and fieldSelector
  (metadata.name, metadata.namespace, spec.nodeName, status.phase) filter.
  An Accept asking for `as=Table` gets a meta.k8s.io/v1 Table
  (includeObject=Metadata unless the query says otherwise); columns are the
  default convertor's (Name, Created At; rest.NewDefaultTableConvertor),
  which kubectl prints as NAME and CREATED AT.
* Writes are not served: every method but GET (POST, PUT, PATCH, DELETE,
  HEAD, OPTIONS, ...) and ?watch=true get 405 MethodNotAllowed after
  authentication. A real API server would run them; the lab's object sets
  are fixed, and a scanner that tries to change them must be seen.

Every request, refused or not, is one JSON line in the request log: time,
remote address, method, path, query, Accept, user agent, the client
certificate's CN and O, the user and groups it was served as, and the
status code.
"""

import base64
import ctypes
import datetime
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import urllib.parse

CONN_TIMEOUT = 30
GO_TLS_PLAIN_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
GO_HTTP_LOOKING = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")

ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NS_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]

# (group, version, resource, singular, kind, namespaced, verbs, shortNames,
#  categories, subresources [(name, kind, group/version of kind or None, verbs)])
RESOURCES = [
    ("", "v1", "configmaps", "configmap", "ConfigMap", True, ALL, ["cm"], [], []),
    ("", "v1", "endpoints", "endpoints", "Endpoints", True, ALL, ["ep"], [], []),
    ("", "v1", "events", "event", "Event", True, ALL, ["ev"], [], []),
    ("", "v1", "limitranges", "limitrange", "LimitRange", True, ALL, ["limits"], [], []),
    ("", "v1", "namespaces", "namespace", "Namespace", False, NS_VERBS, ["ns"], [],
     [("finalize", "Namespace", None, ["update"]), ("status", "Namespace", None, STATUS_VERBS)]),
    ("", "v1", "nodes", "node", "Node", False, ALL, ["no"], [],
     [("proxy", "NodeProxyOptions", None, ["create", "delete", "get", "patch", "update"]),
      ("status", "Node", None, STATUS_VERBS)]),
    ("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", True, ALL,
     ["pvc"], [], [("status", "PersistentVolumeClaim", None, STATUS_VERBS)]),
    ("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", False, ALL, ["pv"], [],
     [("status", "PersistentVolume", None, STATUS_VERBS)]),
    ("", "v1", "pods", "pod", "Pod", True, ALL, ["po"], ["all"],
     [("attach", "PodAttachOptions", None, ["create", "get"]), ("binding", "Binding", None, ["create"]),
      ("ephemeralcontainers", "Pod", None, STATUS_VERBS), ("eviction", "Eviction", "policy/v1", ["create"]),
      ("exec", "PodExecOptions", None, ["create", "get"]), ("log", "Pod", None, ["get"]),
      ("portforward", "PodPortForwardOptions", None, ["create", "get"]),
      ("proxy", "PodProxyOptions", None, ["create", "delete", "get", "patch", "update"]),
      ("resize", "Pod", None, STATUS_VERBS), ("status", "Pod", None, STATUS_VERBS)]),
    ("", "v1", "podtemplates", "podtemplate", "PodTemplate", True, ALL, [], [], []),
    ("", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", True, ALL,
     ["rc"], ["all"], [("scale", "Scale", "autoscaling/v1", STATUS_VERBS),
                       ("status", "ReplicationController", None, STATUS_VERBS)]),
    ("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", True, ALL, ["quota"], [],
     [("status", "ResourceQuota", None, STATUS_VERBS)]),
    ("", "v1", "secrets", "secret", "Secret", True, ALL, [], [], []),
    ("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ALL, ["sa"], [],
     [("token", "TokenRequest", "authentication.k8s.io/v1", ["create"])]),
    ("", "v1", "services", "service", "Service", True, ALL, ["svc"], ["all"],
     [("proxy", "ServiceProxyOptions", None, ["create", "delete", "get", "patch", "update"]),
      ("status", "Service", None, STATUS_VERBS)]),
    ("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", True, ALL, [], [], []),
    ("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ALL, ["ds"], ["all"],
     [("status", "DaemonSet", None, STATUS_VERBS)]),
    ("apps", "v1", "deployments", "deployment", "Deployment", True, ALL, ["deploy"], ["all"],
     [("scale", "Scale", "autoscaling/v1", STATUS_VERBS), ("status", "Deployment", None, STATUS_VERBS)]),
    ("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ALL, ["rs"], ["all"],
     [("scale", "Scale", "autoscaling/v1", STATUS_VERBS), ("status", "ReplicaSet", None, STATUS_VERBS)]),
    ("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True, ALL, ["sts"], ["all"],
     [("scale", "Scale", "autoscaling/v1", STATUS_VERBS), ("status", "StatefulSet", None, STATUS_VERBS)]),
    ("networking.k8s.io", "v1", "ingressclasses", "ingressclass", "IngressClass", False, ALL, [], [], []),
    ("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", True, ALL, ["ing"], [],
     [("status", "Ingress", None, STATUS_VERBS)]),
    ("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True, ALL, ["netpol"],
     [], []),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
     False, ALL, [], [], []),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False, ALL, [], [], []),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True, ALL, [], [], []),
    ("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, ALL, [], [], []),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration",
     "MutatingWebhookConfiguration", False, ALL, [], ["api-extensions"], []),
    ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "validatingadmissionpolicy",
     "ValidatingAdmissionPolicy", False, ALL, [], ["api-extensions"],
     [("status", "ValidatingAdmissionPolicy", None, STATUS_VERBS)]),
    ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
     "validatingadmissionpolicybinding", "ValidatingAdmissionPolicyBinding", False, ALL, [],
     ["api-extensions"], []),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "validatingwebhookconfiguration",
     "ValidatingWebhookConfiguration", False, ALL, [], ["api-extensions"], []),
    # served by the apiextensions-apiserver that kube-apiserver chains in
    # (staging/src/k8s.io/apiextensions-apiserver); a cluster with no
    # operator installed lists none
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
     "CustomResourceDefinition", False, ALL, ["crd", "crds"], ["api-extensions"],
     [("status", "CustomResourceDefinition", None, STATUS_VERBS)]),
]
# /apis lists groups in the API server's order (pkg/controlplane
# apiVersionPriorities); only these are served
GROUPS = ["apps", "networking.k8s.io", "rbac.authorization.k8s.io", "admissionregistration.k8s.io",
          "apiextensions.k8s.io"]
BY_PATH = {(r[0], r[1], r[2]): r for r in RESOURCES}


def set_comm(name):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------
# the object set

def load_set(sets_dir, name, placeholders):
    """The set's objects by resource, its base's first (set.json "base"),
    then its own, which replace the base's of the same kind, namespace and
    name; set.json "removed" drops base objects."""
    d = os.path.join(sets_dir, name)
    with open(os.path.join(d, "set.json")) as f:
        info = json.load(f)
    objs = {}
    if info.get("base"):
        base, _ = load_set(sets_dir, info["base"], placeholders)
        for plural, items in base.items():
            for o in items:
                objs[(plural, o["metadata"].get("namespace", ""), o["metadata"]["name"])] = o
    for k in info.get("removed", []):
        kind, ns, n = k
        for key in [key for key in objs if key[1:] == (ns, n) and objs[key]["kind"] == kind]:
            del objs[key]
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".json") or fn == "set.json":
            continue
        with open(os.path.join(d, fn)) as f:
            text = f.read()
        for ph, value in placeholders.items():
            # as JSON string text, and base64-encoded (Secret data)
            text = text.replace(ph, json.dumps(value)[1:-1])
            text = text.replace(base64.b64encode(ph.encode()).decode(),
                                base64.b64encode(value.encode()).decode())
        for o in json.loads(text)["items"]:
            objs[(fn[:-5], o["metadata"].get("namespace", ""), o["metadata"]["name"])] = o
    by = {}
    for (plural, ns, n), o in sorted(objs.items()):
        by.setdefault(plural, []).append(o)
    return by, info


# ---------------------------------------------------------------------------
# authorization

def rule_verbs(rule, verb):
    return "*" in rule.get("verbs", []) or verb in rule.get("verbs", [])


def rule_allows(rule, a):
    if not rule_verbs(rule, a["verb"]):
        return False
    if not a["resource_request"]:
        for u in rule.get("nonResourceURLs") or []:
            if u == "*" or u == a["path"] or (u.endswith("*") and a["path"].startswith(u[:-1])):
                return True
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and a["group"] not in groups:
        return False
    res = a["resource"] + ("/" + a["subresource"] if a["subresource"] else "")
    ok = False
    for r in rule.get("resources") or []:
        if r == "*" or r == res or (a["subresource"] and r == "*/" + a["subresource"]):
            ok = True
            break
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or a["name"] in names


def subject_matches(s, user, groups, binding_ns):
    k = s.get("kind")
    if k == "User":
        return s.get("name") == user
    if k == "Group":
        return s.get("name") in groups
    if k == "ServiceAccount":
        ns = s.get("namespace") or binding_ns
        return user == f"system:serviceaccount:{ns}:{s.get('name')}"
    return False


class Authorizer:
    def __init__(self, objs, modes):
        self.modes = modes
        self.cr = {o["metadata"]["name"]: o for o in objs.get("clusterroles", [])}
        self.roles = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs.get("roles", [])}
        self.crbs = objs.get("clusterrolebindings", [])
        self.rbs = objs.get("rolebindings", [])

    def rbac(self, user, groups, a):
        for b in self.crbs:
            if any(subject_matches(s, user, groups, "") for s in b.get("subjects") or []):
                role = self.cr.get(b["roleRef"]["name"]) if b["roleRef"]["kind"] == "ClusterRole" else None
                if role and any(rule_allows(r, a) for r in role.get("rules") or []):
                    return True
        if a["namespace"]:
            for b in self.rbs:
                ns = b["metadata"]["namespace"]
                if ns != a["namespace"]:
                    continue
                if not any(subject_matches(s, user, groups, ns) for s in b.get("subjects") or []):
                    continue
                ref = b["roleRef"]
                role = self.cr.get(ref["name"]) if ref["kind"] == "ClusterRole" else self.roles.get((ns, ref["name"]))
                if role and any(rule_allows(r, a) for r in role.get("rules") or []):
                    return True
        return False

    def allowed(self, user, groups, a):
        if "system:masters" in groups:
            return True
        for m in self.modes:
            if m == "AlwaysAllow":
                return True
            if m == "AlwaysDeny":
                return False
            if m == "RBAC" and self.rbac(user, groups, a):
                return True
        return False


def forbidden_status(user, a):
    """responsewriters.Forbidden: forbiddenMessage wrapped by NewForbidden."""
    if not a["resource_request"]:
        msg = f'User "{user}" cannot {a["verb"]} path "{a["path"]}"'
        return status(403, "Forbidden", f"forbidden: {msg}", {})
    res = a["resource"] + ("/" + a["subresource"] if a["subresource"] else "")
    if a["namespace"]:
        msg = (f'User "{user}" cannot {a["verb"]} resource "{res}" in API group "{a["group"]}" '
               f'in the namespace "{a["namespace"]}"')
    else:
        msg = f'User "{user}" cannot {a["verb"]} resource "{res}" in API group "{a["group"]}" at the cluster scope'
    qualified = a["resource"] + ("." + a["group"] if a["group"] else "")
    details = {}
    if a["name"]:
        details["name"] = a["name"]
        text = f'{qualified} "{a["name"]}" is forbidden: {msg}'
    else:
        text = f"{qualified} is forbidden: {msg}"
    if a["group"]:
        details["group"] = a["group"]
    details["kind"] = a["resource"]
    return status(403, "Forbidden", text, details)


def status(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
         "reason": reason}
    if details is not None:
        s["details"] = details
    s["code"] = code
    return s


# ---------------------------------------------------------------------------
# selectors and pages

def parse_label_selector(text):
    reqs = []
    if not text:
        return reqs
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        p = p.strip()
        m = re.match(r"^(\S+)\s+(in|notin)\s+\((.*)\)$", p)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",")]))
        elif "!=" in p:
            k, v = p.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in p:
            k, v = p.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in p:
            k, v = p.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif p.startswith("!"):
            reqs.append((p[1:].strip(), "!exists", []))
        elif p:
            reqs.append((p, "exists", []))
    return reqs


def label_match(labels, reqs):
    for k, op, vals in reqs:
        has = k in labels
        if op == "=" and (not has or labels[k] != vals[0]):
            return False
        if op == "!=" and has and labels[k] == vals[0]:
            return False
        if op == "in" and (not has or labels[k] not in vals):
            return False
        if op == "notin" and has and labels[k] in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


FIELDS = {"metadata.name": lambda o: o["metadata"]["name"],
          "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
          "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
          "status.phase": lambda o: (o.get("status") or {}).get("phase", "")}


def field_match(o, text):
    for p in [p for p in (text or "").split(",") if p]:
        neg = "!=" in p
        k, v = p.split("!=" if neg else ("==" if "==" in p else "="), 1)
        get = FIELDS.get(k.strip())
        if get is None:
            raise ValueError(f'field label not supported: {k.strip()}')
        if (get(o) == v.strip()) == neg:
            return False
    return True


def continue_token(rv, key):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        if d.get("v") != "meta.k8s.io/v1" or not isinstance(d.get("start"), str):
            raise ValueError
        return d["rv"], d["start"].rstrip("\x00")
    except Exception:
        raise ValueError("continue key is not valid: incorrect encoded start resourceVersion "
                         "(version meta.k8s.io/v1)")


def etcd_key(o):
    ns = o["metadata"].get("namespace")
    return (ns + "/" if ns else "") + o["metadata"]["name"]


# ---------------------------------------------------------------------------
# discovery

def gv_string(group, version):
    return f"{group}/{version}" if group else version


def legacy_resources(group, version):
    out = []
    for r in RESOURCES:
        if (r[0], r[1]) != (group, version):
            continue
        g, v, plural, singular, kind, nsd, verbs, short, cats, subs = r
        e = {"name": plural, "singularName": singular, "namespaced": nsd, "kind": kind, "verbs": verbs}
        if short:
            e["shortNames"] = short
        if cats:
            e["categories"] = cats
        out.append(e)
        for name, skind, sgv, sverbs in subs:
            s = {"name": f"{plural}/{name}", "singularName": "", "namespaced": nsd, "kind": skind,
                 "verbs": sverbs}
            if sgv:
                s["group"], s["version"] = sgv.split("/")
            out.append(s)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv_string(group, version),
            "resources": out}


def aggregated_group(group):
    res = []
    for r in RESOURCES:
        if r[0] != group:
            continue
        g, v, plural, singular, kind, nsd, verbs, short, cats, subs = r
        e = {"resource": plural, "responseKind": {"group": g, "version": v, "kind": kind},
             "scope": "Namespaced" if nsd else "Cluster", "singularResource": singular, "verbs": verbs}
        if short:
            e["shortNames"] = short
        if cats:
            e["categories"] = cats
        if subs:
            e["subresources"] = []
            for name, skind, sgv, sverbs in subs:
                sg, sv = sgv.split("/") if sgv else (g, v)
                e["subresources"].append({"subresource": name,
                                          "responseKind": {"group": sg, "version": sv, "kind": skind},
                                          "verbs": sverbs})
        res.append(e)
    meta = {"creationTimestamp": None}
    if group:
        meta["name"] = group
    return {"metadata": meta, "versions": [{"version": "v1", "resources": res, "freshness": "Current"}]}


# ---------------------------------------------------------------------------
# the server

class Handler(http.server.BaseHTTPRequestHandler):
    server_version = ""
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # -- plumbing
    def send_json(self, code, obj, ctype="application/json"):
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Audit-Id", os.urandom(16).hex())
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "")
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.code = code

    def peer(self):
        cn, orgs = None, []
        try:
            cert = self.connection.getpeercert()
        except (ValueError, ssl.SSLError, AttributeError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
        return cn, orgs

    def log_request_line(self, user, groups, cn, orgs):
        u = urllib.parse.urlsplit(self.path)
        line = {"time": now_rfc3339(), "remote": self.client_address[0], "method": self.command,
                "path": u.path, "query": u.query, "accept": self.headers.get("Accept"),
                "user_agent": self.headers.get("User-Agent"), "cert_cn": cn, "cert_o": orgs,
                "user": user, "groups": groups, "status": getattr(self, "code", None)}
        self.server.write_log(line)

    # -- every method
    def handle_any(self):
        self.code = None
        cn, orgs = self.peer()
        user, groups = None, []
        try:
            u = urllib.parse.urlsplit(self.path)
            path = u.path
            q = urllib.parse.parse_qs(u.query)
            if cn is not None:
                user, groups = cn, orgs + ["system:authenticated"]
            else:
                anon = self.server.cfg["anonymous"]
                paths = anon.get("paths")
                if anon.get("enabled") and (paths is None or path in paths):
                    user, groups = "system:anonymous", ["system:unauthenticated"]
            if user is None:
                self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
                return
            if self.command != "GET" or q.get("watch", ["false"])[0] in ("true", "1"):
                self.send_json(405, status(405, "MethodNotAllowed",
                                           "the server does not allow this method on the requested resource",
                                           {}))
                return
            self.route(path, q, user, groups)
        except Exception as e:  # noqa: BLE001 - answer like a server, log it
            sys.stderr.write(f"khlab-apiserver: {self.command} {self.path}: {e!r}\n")
            if self.code is None:
                self.send_json(500, status(500, "InternalError", f"Internal error occurred: {e}", {}))
        finally:
            self.log_request_line(user, groups, cn, orgs)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    # -- routing
    def route(self, path, q, user, groups):
        accept = self.headers.get("Accept") or ""
        parts = [p for p in path.split("/") if p]
        srv = self.server
        res_req = None
        if parts[:2] == ["api", "v1"] and len(parts) > 2:
            res_req = ("", "v1", parts[2:])
        elif parts[:1] == ["apis"] and len(parts) > 3:
            res_req = (parts[1], parts[2], parts[3:])
        if res_req is None:
            a = {"resource_request": False, "verb": "get", "path": path}
            if not srv.authz.allowed(user, groups, a):
                self.send_json(403, forbidden_status(user, a))
                return
            return self.non_resource(path, parts, accept)
        group, version, rest = res_req
        ns = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        r = BY_PATH.get((group, version, resource))
        if r is None or len(rest) > 3 or (ns and not r[5]):
            self.send_json(404, status(404, "NotFound", "the server could not find the requested resource", {}))
            return
        verb = "get" if name else "list"
        a = {"resource_request": True, "verb": verb, "group": group, "resource": resource,
             "subresource": sub, "namespace": ns, "name": name, "path": path}
        if not srv.authz.allowed(user, groups, a):
            self.send_json(403, forbidden_status(user, a))
            return
        if sub:
            # subresources (log, exec, proxy, status ...) are not served
            self.send_json(405, status(405, "MethodNotAllowed",
                                       "the server does not allow this method on the requested resource", {}))
            return
        items = [o for o in srv.objs.get(resource, []) if not ns or o["metadata"].get("namespace") == ns]
        table = "as=Table" in accept.replace(" ", "")
        if name:
            for o in items:
                if o["metadata"]["name"] == name:
                    if table:
                        return self.send_table(r, [o], q, {"resourceVersion": o["metadata"]["resourceVersion"]})
                    return self.send_json(200, o)
            qualified = resource + ("." + group if group else "")
            d = {"name": name}
            if group:
                d["group"] = group
            d["kind"] = resource
            self.send_json(404, status(404, "NotFound", f'{qualified} "{name}" not found', d))
            return
        self.list(r, items, q, table)

    def list(self, r, items, q, table):
        group, version, resource, kind = r[0], r[1], r[2], r[4]
        rv = self.server.info["resourceVersion"]
        try:
            reqs = parse_label_selector(q.get("labelSelector", [""])[0])
            fsel = q.get("fieldSelector", [""])[0]
            items = [o for o in items if label_match(o["metadata"].get("labels") or {}, reqs)
                     and field_match(o, fsel)]
        except ValueError as e:
            self.send_json(400, status(400, "BadRequest", str(e), None))
            return
        items.sort(key=etcd_key)
        filtered = bool(reqs) or bool(fsel)
        meta = {"resourceVersion": rv}
        cont = q.get("continue", [""])[0]
        if cont:
            try:
                rv_c, start = decode_continue(cont)
            except ValueError as e:
                self.send_json(400, status(400, "BadRequest", str(e), {}))
                return
            meta["resourceVersion"] = str(rv_c)
            items = [o for o in items if etcd_key(o) > start]
        limit = int(q.get("limit", ["0"])[0] or 0)
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = continue_token(int(meta["resourceVersion"]), etcd_key(items[-1]))
            if not filtered:
                meta["remainingItemCount"] = rest
        if table:
            return self.send_table(r, items, q, meta)
        out = []
        for o in items:
            o = dict(o)
            o.pop("apiVersion", None)
            o.pop("kind", None)
            out.append(o)
        self.send_json(200, {"kind": kind + "List", "apiVersion": gv_string(group, version),
                             "metadata": meta, "items": out})

    def send_table(self, r, items, q, meta):
        """rest.NewDefaultTableConvertor: Name and Created At, and the object
        as PartialObjectMetadata (includeObject=Metadata, kubectl's)."""
        include = q.get("includeObject", ["Metadata"])[0]
        rows = []
        for o in items:
            if include == "Object":
                obj = o
            elif include == "None":
                obj = None
            else:
                obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": o["metadata"]}
            row = {"cells": [o["metadata"]["name"], o["metadata"].get("creationTimestamp")]}
            if obj is not None:
                row["object"] = obj
            rows.append(row)
        table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                 "columnDefinitions": [
                     {"name": "Name", "type": "string", "format": "name",
                      "description": "Name must be unique within a namespace. Is required when creating "
                                     "resources, although some resources may allow a client to request the "
                                     "generation of an appropriate name automatically. Name is primarily "
                                     "intended for creation idempotence and configuration definition. Cannot "
                                     "be updated. More info: https://kubernetes.io/docs/concepts/overview/"
                                     "working-with-objects/names#names", "priority": 0},
                     {"name": "Created At", "type": "date", "format": "",
                      "description": "CreationTimestamp is a timestamp representing the server time when "
                                     "this object was created.", "priority": 0}],
                 "rows": rows}
        self.send_json(200, table, "application/json;as=Table;v=v1;g=meta.k8s.io")

    def non_resource(self, path, parts, accept):
        srv = self.server
        agg = "as=APIGroupDiscoveryList" in accept.replace(" ", "")
        agg_v = "v2" if re.search(r"v=v2(;|,|$)", accept.replace(" ", "")) else "v2beta1"
        if path in ("/version", "/version/"):
            return self.send_json(200, srv.info["version"])
        if path in ("/healthz", "/livez", "/readyz"):
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.code = 200
            return
        if parts == ["api"]:
            if agg:
                return self.send_json(200, {"kind": "APIGroupDiscoveryList",
                                            "apiVersion": f"apidiscovery.k8s.io/{agg_v}", "metadata": {},
                                            "items": [aggregated_group("")]},
                                      f"application/json;g=apidiscovery.k8s.io;v={agg_v};as=APIGroupDiscoveryList")
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [
                                            {"clientCIDR": "0.0.0.0/0",
                                             "serverAddress": srv.cfg["server_address"]}]})
        if parts == ["api", "v1"]:
            return self.send_json(200, legacy_resources("", "v1"))
        if parts == ["apis"]:
            if agg:
                return self.send_json(200, {"kind": "APIGroupDiscoveryList",
                                            "apiVersion": f"apidiscovery.k8s.io/{agg_v}", "metadata": {},
                                            "items": [aggregated_group(g) for g in GROUPS]},
                                      f"application/json;g=apidiscovery.k8s.io;v={agg_v};as=APIGroupDiscoveryList")
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                        "groups": [self.api_group(g) for g in GROUPS]})
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in GROUPS:
            return self.send_json(200, {"kind": "APIGroup", "apiVersion": "v1", **self.api_group(parts[1])})
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in GROUPS and parts[2] == "v1":
            return self.send_json(200, legacy_resources(parts[1], "v1"))
        self.send_json(404, status(404, "NotFound", "the server could not find the requested resource", {}))

    @staticmethod
    def api_group(g):
        gv = {"groupVersion": f"{g}/v1", "version": "v1"}
        return {"name": g, "versions": [gv], "preferredVersion": gv}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, cfg, log):
        self.cfg = cfg
        self.log = log
        self.log_lock = threading.Lock()
        ph = dict(cfg.get("placeholders", {}))
        self.objs, self.info = load_set(cfg["sets_dir"], cfg["set"], ph)
        self.authz = Authorizer(self.objs, cfg["authorizers"])
        t = cfg["tls"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(t["ciphers"])
        ctx.load_cert_chain(t["cert"], t["key"])
        if t.get("client_ca"):
            ctx.load_verify_locations(t["client_ca"])
            ctx.verify_mode = ssl.CERT_OPTIONAL   # Go's VerifyClientCertIfGiven
        self.ctx = ctx
        bind = cfg.get("bind", "*")
        if bind == "*":
            self.address_family = socket.AF_INET6
            addr = ("::", cfg["port"])
        else:
            self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
            addr = (bind, cfg["port"])
        super().__init__(addr, Handler, bind_and_activate=False)
        if bind == "*":
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.server_bind()
        self.server_activate()

    def write_log(self, line):
        data = json.dumps(line, separators=(",", ":")) + "\n"
        with self.log_lock:
            self.log.write(data)
            self.log.flush()

    def finish_request(self, request, client_address):
        request.settimeout(CONN_TIMEOUT)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = request
        try:
            first = request.recv(5, socket.MSG_PEEK)
            if first.startswith(GO_HTTP_LOOKING):
                request.sendall(GO_TLS_PLAIN_ANSWER)
                return
            conn = self.ctx.wrap_socket(request, server_side=True)
            super().finish_request(conn, client_address)
        except (OSError, ssl.SSLError):
            pass
        finally:
            if conn is not request:
                conn.close()

    def handle_error(self, request, client_address):
        pass


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: khlab-apiserver.py CONFIG READY")
    set_comm("khlab-apiserver")
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    log = open(cfg["log"], "a", buffering=1)
    server = Server(cfg, log)
    sys.stderr.write(f"khlab-apiserver: serving set {cfg['set']} on {cfg.get('bind', '*')}:{cfg['port']} "
                     f"({sum(len(v) for v in server.objs.values())} objects; authorizers "
                     f"{','.join(cfg['authorizers'])})\n")
    with open(sys.argv[2], "w") as f:
        f.write("ready\n")
    server.serve_forever(poll_interval=3600)


if __name__ == "__main__":
    main()
