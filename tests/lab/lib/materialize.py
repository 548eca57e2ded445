#!/usr/bin/env python3
"""Builds the kubeharden lab's node trees from the facts fixtures.

Called by tests/lab/lab.sh; not meant to be run by hand.

    materialize.py build STATE_DIR LAB_ID NODES FIXTURES_DIR
        Generates the lab PKI, the SSH keys, every node's tree
        (STATE_DIR/nodes/<name>/root), its init script (init.sh), what a
        correct collector must find there (expected.json), plus
        inventory.toml, known_hosts, known-differences.txt, nodes.json and
        plan.tsv (one node a line, read by lab.sh).
    materialize.py finalize STATE_DIR
        Fills the init PIDs into nodes.json once the nodes run.

Nothing here needs the namespaces: it only writes under STATE_DIR.
"""

import base64
import concurrent.futures
import json
import os
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import sys

# --------------------------------------------------------------------------
# the lab plan

# name, short (netns/veth suffix), last address octet, kind, scenario, fixture node
NODES = [
    ("kubeadm-default-cp1", "kd-cp1", 10, "scenario", "kubeadm-default", "cp1"),
    ("kubeadm-default-w1", "kd-w1", 11, "scenario", "kubeadm-default", "w1"),
    ("hardened-cp1", "hd-cp1", 12, "scenario", "hardened", "cp1"),
    ("hardened-w1", "hd-w1", 13, "scenario", "hardened", "w1"),
    ("misconfigured-cp1", "mc-cp1", 14, "scenario", "misconfigured", "cp1"),
    ("misconfigured-w1", "mc-w1", 15, "scenario", "misconfigured", "w1"),
    ("fault-sshd-down", "f-down", 16, "sshd-down", None, None),
    ("fault-hang", "f-hang", 17, "hang", None, None),
    ("fault-hostkey", "f-hkey", 18, "hostkey", "kubeadm-default", "w1"),
    ("fault-sudo", "f-sudo", 19, "sudo", "kubeadm-default", "w1"),
]
NODE_BY_NAME = {n[0]: n for n in NODES}
# `lab.sh up --bench N`: N copies of the kubeadm-default worker, bench-001...,
# at 10.231.<lab>.20 and up.
BENCH_MAX = 234


def spec_of(name):
    if name in NODE_BY_NAME:
        return NODE_BY_NAME[name]
    m = re.fullmatch(r"bench-(\d{3})", name)
    if m and 1 <= int(m.group(1)) <= BENCH_MAX:
        i = int(m.group(1))
        return (name, f"b{i:03d}", 19 + i, "bench", "kubeadm-default", "w1")
    raise SystemExit(f"unknown lab node {name!r}; known: {', '.join(NODE_BY_NAME)}, "
                     f"bench-001..bench-{BENCH_MAX}")


SSHD_KINDS = ("scenario", "hostkey", "sudo", "bench")

# The fixtures' addresses, replaced by lab addresses in every argument.
FIXTURE_ADDR = {"cp1": "192.168.56.11", "w1": "192.168.56.21"}

# Users the fixtures name, with the ids the fixtures give them; and the
# fault-sudo node's login users.
FIXTURE_USERS = {"etcd": (996, 996, "/var/lib/etcd", "/usr/sbin/nologin"),
                 "ubuntu": (1000, 1000, "/home/ubuntu", "/bin/bash")}
SUDO_USERS = {"auditor": (2001, 2001, "/home/auditor", "/bin/sh"),
              "nopass": (2002, 2002, "/home/nopass", "/bin/sh")}
NAME_IDS = {"root": 0, "etcd": 996, "ubuntu": 1000}

# Directories that are the node's own: the host's directory of the same
# name (if any) must not show through the overlay.
OPAQUE = ["/etc/kubernetes", "/etc/cni", "/var/lib/etcd", "/var/lib/kubelet",
          "/var/lib/kube-proxy", "/var/lib/cni", "/etc/ssh", "/root", "/root/.ssh",
          "/usr/lib/systemd/system/kubelet.service.d",
          "/etc/systemd/system/kubelet.service.d", "/home"]

PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LAB_DIR = os.path.dirname(os.path.abspath(__file__))


def node_ip(lab_id, octet):
    return f"10.231.{lab_id}.{octet}"


def netns_name(lab_id, short):
    return f"khlab{lab_id}-{short}"


def veth_name(lab_id, short):
    return f"kh{lab_id}-{short}"


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw)


# --------------------------------------------------------------------------
# PKI: one set of CAs per lab, leaf certificates per node and address


class PKI:
    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.cas = {}

    def _ext(self, path, lines):
        with open(path, "w") as f:
            f.write("[ext]\n" + "\n".join(lines) + "\n")

    def _key(self, key):
        run("openssl", "genrsa", "-traditional", "-out", key, "2048")
        os.chmod(key, 0o600)

    def ca(self, name, cn):
        d = self.root
        key, crt = f"{d}/{name}.key", f"{d}/{name}.crt"
        self._key(key)
        csr, ext = f"{d}/{name}.csr", f"{d}/{name}.ext"
        run("openssl", "req", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr)
        self._ext(ext, ["basicConstraints=critical,CA:TRUE",
                        "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                        "subjectKeyIdentifier=hash"])
        run("openssl", "x509", "-req", "-in", csr, "-signkey", key, "-days", "3650",
            "-set_serial", "0x" + secrets.token_hex(8), "-extfile", ext, "-extensions", "ext",
            "-out", crt)
        os.unlink(csr)
        os.unlink(ext)
        self.cas[name] = (crt, key)

    def leaf(self, out, ca, subj, sans=None, eku="clientAuth"):
        """Writes out.key / out.crt (once) and returns their paths."""
        key, crt = out + ".key", out + ".crt"
        if os.path.exists(crt):
            return crt, key
        os.makedirs(os.path.dirname(out), exist_ok=True)
        self._key(key)
        csr, ext = out + ".csr", out + ".ext"
        run("openssl", "req", "-new", "-key", key, "-subj", subj, "-out", csr)
        lines = ["basicConstraints=critical,CA:FALSE",
                 "keyUsage=critical,digitalSignature,keyEncipherment",
                 f"extendedKeyUsage={eku}", "authorityKeyIdentifier=keyid",
                 "subjectKeyIdentifier=hash"]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        self._ext(ext, lines)
        ca_crt, ca_key = self.cas[ca]
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
            "-days", "365", "-set_serial", "0x" + secrets.token_hex(8),
            "-extfile", ext, "-extensions", "ext", "-out", crt)
        os.unlink(csr)
        os.unlink(ext)
        return crt, key


def read(path):
    with open(path) as f:
        return f.read()


def b64file(path):
    return base64.b64encode(open(path, "rb").read()).decode()


# --------------------------------------------------------------------------
# YAML emission for manifests (plain scalars only where unambiguous)

PLAIN = re.compile(r"[A-Za-z0-9/_.-][A-Za-z0-9/_.=:,*+@%-]*")
NUMBERISH = re.compile(r"[-+]?(\.?[0-9][0-9_.]*([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)", re.I)
KEYWORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


def yscalar(s):
    if PLAIN.fullmatch(s) and not NUMBERISH.fullmatch(s) and s.lower() not in KEYWORDS \
            and not s.endswith(":"):
        return s
    return json.dumps(s)


def manifest_yaml(component, command, image_tag):
    binary = {"apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
              "scheduler": "kube-scheduler", "etcd": "etcd"}.get(component, component)
    image = f"registry.k8s.io/etcd:3.5.16-0" if component == "etcd" else \
        f"registry.k8s.io/{binary}:{image_tag}"
    mounts = {
        "etcd": [("etcd-data", "/var/lib/etcd", "DirectoryOrCreate"),
                 ("etcd-certs", "/etc/kubernetes/pki/etcd", "DirectoryOrCreate")],
        "apiserver": [("ca-certs", "/etc/ssl/certs", "DirectoryOrCreate"),
                      ("k8s-certs", "/etc/kubernetes/pki", "DirectoryOrCreate"),
                      ("etc-kubernetes", "/etc/kubernetes", "Directory")],
        "controller-manager": [("ca-certs", "/etc/ssl/certs", "DirectoryOrCreate"),
                               ("k8s-certs", "/etc/kubernetes/pki", "DirectoryOrCreate"),
                               ("kubeconfig", "/etc/kubernetes/controller-manager.conf", "FileOrCreate")],
        "scheduler": [("kubeconfig", "/etc/kubernetes/scheduler.conf", "FileOrCreate")],
    }.get(component, [])
    out = ["apiVersion: v1", "kind: Pod", "metadata:",
           "  creationTimestamp: null", "  labels:", f"    component: {binary}",
           "    tier: control-plane", f"  name: {binary}", "  namespace: kube-system",
           "spec:", "  containers:", "  - command:"]
    out += [f"    - {yscalar(a)}" for a in command]
    out += [f"    image: {image}", "    imagePullPolicy: IfNotPresent",
            f"    name: {binary}", "    resources:", "      requests:",
            "        cpu: 100m"]
    if mounts:
        out.append("    volumeMounts:")
        for name, path, _ in mounts:
            out += [f"    - mountPath: {path}", f"      name: {name}"]
    out += ["  hostNetwork: true", "  priority: 2000001000",
            "  priorityClassName: system-node-critical", "  securityContext:",
            "    seccompProfile:", "      type: RuntimeDefault"]
    if mounts:
        out.append("  volumes:")
        for name, path, typ in mounts:
            out += ["  - hostPath:", f"      path: {path}", f"      type: {typ}",
                    f"    name: {name}"]
    out.append("status: {}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# plausible content for files the fixtures do not quote

def kubeconfig(ca_crt, server, user, cert=None, key=None, token_file=None):
    lines = ["apiVersion: v1", "clusters:", "- cluster:",
             f"    certificate-authority-data: {b64file(ca_crt)}",
             f"    server: {server}", "  name: kubernetes", "contexts:", "- context:",
             "    cluster: kubernetes", f"    user: {user}",
             f"  name: {user}@kubernetes", f"current-context: {user}@kubernetes",
             "kind: Config", "preferences: {}", "users:", f"- name: {user}", "  user:"]
    if cert:
        lines += [f"    client-certificate-data: {b64file(cert)}",
                  f"    client-key-data: {b64file(key)}"]
    if token_file:
        lines += [f"    tokenFile: {token_file}"]
    return "\n".join(lines) + "\n"


KUBELET_SERVICE = """[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""

KUBEADM_DROPIN = """# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

FLANNEL = """{
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

ADMISSION = """apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: EventRateLimit
  configuration:
    apiVersion: eventratelimit.admission.k8s.io/v1alpha1
    kind: Configuration
    limits:
    - type: Server
      qps: 50
      burst: 100
"""

AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
- RequestReceived
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets", "configmaps"]
- level: RequestResponse
  resources:
  - group: "rbac.authorization.k8s.io"
- level: Metadata
"""

README_DROPINS = """Kubelet configuration drop-ins, applied in lexical order after
/var/lib/kubelet/config.yaml (kubelet --config-dir).
"""


# --------------------------------------------------------------------------
# one node


class Node:
    def __init__(self, build, spec):
        self.b = build
        (self.name, self.short, octet, self.kind, self.scenario, self.fnode) = spec
        self.ip = node_ip(build.lab_id, octet)
        self.netns = netns_name(build.lab_id, self.short)
        self.veth = veth_name(build.lab_id, self.short)
        self.dir = os.path.join(build.state, "nodes", self.name)
        self.root = os.path.join(self.dir, "root")
        self.pki_dir = os.path.join(build.state, "pki", self.name)
        self.facts = None
        if self.scenario:
            path = os.path.join(build.fixtures, self.scenario, self.fnode + ".json")
            with open(path) as f:
                self.facts = json.load(f)
            self.fixture_path = path
        self.ipmap = {}
        if self.scenario:
            cp_ip = node_ip(build.lab_id, NODE_BY_NAME[f"{self.scenario}-cp1"][2])
            w1_ip = node_ip(build.lab_id, NODE_BY_NAME[f"{self.scenario}-w1"][2])
            self.ipmap = {FIXTURE_ADDR["cp1"]: cp_ip, FIXTURE_ADDR["w1"]: w1_ip}
            self.ipmap[FIXTURE_ADDR[self.fnode]] = self.ip
            self.cp_ip = cp_ip
        self.opaque = set()
        self.whiteouts = []
        self.ownership = {}  # node path -> (mode, uid, gid), applied last
        self.differences = []

    # ---- helpers
    def sub(self, s):
        for a, b in self.ipmap.items():
            s = s.replace(a, b)
        return s

    def host(self, path):
        return self.root + path

    def mkdir(self, path, mode=0o755, uid=0, gid=0):
        parts = path.strip("/").split("/")
        cur = ""
        for p in parts:
            cur += "/" + p
            hp = self.host(cur)
            if not os.path.isdir(hp):
                os.mkdir(hp)
                if cur not in self.ownership:
                    # Implicit parents copy the host's directory when there is one.
                    try:
                        st = os.stat(cur)
                        self.ownership[cur] = (st.st_mode & 0o7777, st.st_uid, st.st_gid)
                    except OSError:
                        self.ownership[cur] = (0o755, 0, 0)
        self.ownership[path] = (mode, uid, gid)

    def write(self, path, content, mode=0o644, uid=0, gid=0):
        self.mkdir_parent(path)
        data = content.encode() if isinstance(content, str) else content
        with open(self.host(path), "wb") as f:
            f.write(data)
        self.ownership[path] = (mode, uid, gid)

    def copy(self, src, path, mode=0o755):
        self.mkdir_parent(path)
        shutil.copyfile(src, self.host(path))
        self.ownership[path] = (mode, 0, 0)

    def mkdir_parent(self, path):
        parent = os.path.dirname(path)
        if parent != "/" and not os.path.isdir(self.host(parent)):
            self.mkdir(parent)
            # mkdir() recorded the parent as 0755 root; keep host-like modes
            # for parents that exist on the host.
            try:
                st = os.stat(parent)
                self.ownership[parent] = (st.st_mode & 0o7777, st.st_uid, st.st_gid)
            except OSError:
                pass

    # ---- PKI for this node
    def cert(self, which):
        """Returns (crt, key) for a named certificate of this node."""
        b = self.b
        ip = self.ip
        pd = self.pki_dir
        fname = self.fnode or self.name
        if which == "sa":
            key = os.path.join(pd, "sa.key")
            pub = os.path.join(pd, "sa.pub")
            if not os.path.exists(pub):
                os.makedirs(pd, exist_ok=True)
                b.pki._key(key)
                run("openssl", "rsa", "-in", key, "-pubout", "-out", pub)
            return pub, key
        table = {
            "apiserver": ("ca", "/CN=kube-apiserver",
                          ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                           "DNS:kubernetes.default.svc.cluster.local", f"DNS:{fname}",
                           f"DNS:{self.name}", "IP:10.96.0.1", f"IP:{ip}", "IP:127.0.0.1"],
                          "serverAuth"),
            "apiserver-kubelet-client": ("ca", "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client",
                                         None, "clientAuth"),
            "apiserver-etcd-client": ("etcd-ca", "/CN=kube-apiserver-etcd-client", None, "clientAuth"),
            "front-proxy-client": ("front-proxy-ca", "/CN=front-proxy-client", None, "clientAuth"),
            "etcd/server": ("etcd-ca", f"/CN={fname}",
                            ["DNS:localhost", f"DNS:{fname}", f"DNS:{self.name}", f"IP:{ip}",
                             "IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1"], "serverAuth,clientAuth"),
            "etcd/peer": ("etcd-ca", f"/CN={fname}",
                          ["DNS:localhost", f"DNS:{fname}", f"DNS:{self.name}", f"IP:{ip}",
                           "IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1"], "serverAuth,clientAuth"),
            "etcd/healthcheck-client": ("etcd-ca", "/CN=kube-etcd-healthcheck-client", None, "clientAuth"),
            "admin": ("ca", "/O=kubeadm:cluster-admins/CN=kubernetes-admin", None, "clientAuth"),
            "super-admin": ("ca", "/O=system:masters/CN=kubernetes-super-admin", None, "clientAuth"),
            "controller-manager": ("ca", "/CN=system:kube-controller-manager", None, "clientAuth"),
            "scheduler": ("ca", "/CN=system:kube-scheduler", None, "clientAuth"),
            "kubelet": ("ca", f"/O=system:nodes/CN=system:node:{fname}", None, "clientAuth"),
        }
        ca, subj, sans, eku = table[which]
        return b.pki.leaf(os.path.join(pd, which), ca, subj, sans, eku)

    # ---- file content for a fixture path
    def content_for(self, path, entry):
        b = self.b
        if "content" in entry:
            text = entry["content"]
            if entry.get("redacted"):
                # The node holds real secrets; the collector redacts them.
                text = text.replace("<redacted>", base64.b64encode(os.urandom(32)).decode())
            return text
        base = os.path.basename(path)
        if path.startswith("/etc/kubernetes/pki/"):
            rel = path[len("/etc/kubernetes/pki/"):]
            stem, ext = os.path.splitext(rel)
            cas = {"ca": "ca", "etcd/ca": "etcd-ca", "front-proxy-ca": "front-proxy-ca"}
            if stem in cas:
                crt, key = b.pki.cas[cas[stem]]
            elif stem == "sa":
                crt, key = self.cert("sa")
            else:
                crt, key = self.cert(stem)
            return read(key if ext == ".key" else crt)
        for comp in (self.facts or {}).get("components", {}).values():
            m = comp.get("manifest")
            if m and m.get("path") == path:
                kind = [k for k, v in self.facts["components"].items() if v is comp][0]
                return manifest_yaml(kind, [self.sub(a) for a in m.get("command", [])],
                                     self.facts["node"].get("kubernetes_version", "v1.32.4"))
        if path.startswith("/etc/kubernetes/manifests/"):
            name = os.path.splitext(base)[0]
            return manifest_yaml(name, [name], "v1.32.4")
        server = f"https://{self.cp_ip}:6443"
        kubeconfigs = {"admin.conf": ("admin", "kubernetes-admin"),
                       "super-admin.conf": ("super-admin", "kubernetes-super-admin"),
                       "controller-manager.conf": ("controller-manager", "system:kube-controller-manager"),
                       "scheduler.conf": ("scheduler", "system:kube-scheduler"),
                       "kubelet.conf": ("kubelet", f"system:node:{self.fnode}"),
                       "bootstrap-kubelet.conf": ("kubelet", "tls-bootstrap-token-user")}
        ca_crt = b.pki.cas["ca"][0]
        if os.path.dirname(path) == "/etc/kubernetes" and base in kubeconfigs:
            which, user = kubeconfigs[base]
            if base in ("controller-manager.conf", "scheduler.conf"):
                server = f"https://{self.ip}:6443"
            crt, key = self.cert(which)
            return kubeconfig(ca_crt, server, user, crt, key)
        if path == "/var/lib/kube-proxy/kubeconfig.conf":
            return kubeconfig(ca_crt, server, "default",
                              token_file="/var/run/secrets/kubernetes.io/serviceaccount/token")
        fixed = {
            "/usr/lib/systemd/system/kubelet.service": KUBELET_SERVICE,
            "/lib/systemd/system/kubelet.service": KUBELET_SERVICE,
            "/etc/systemd/system/kubelet.service": KUBELET_SERVICE,
            "/etc/cni/net.d/10-flannel.conflist": FLANNEL,
            "/etc/kubernetes/admission.yaml": ADMISSION,
            "/etc/kubernetes/audit-policy.yaml": AUDIT_POLICY,
            "/etc/kubernetes/kubelet.conf.d/README": README_DROPINS,
        }
        if path in fixed:
            return fixed[path]
        if path.endswith("kubelet.service.d/10-kubeadm.conf"):
            return KUBEADM_DROPIN
        if base == "tokens.csv":
            return f"{secrets.token_hex(16)},admin,admin-uid,system:masters\n"
        return f"# kubeharden lab: placeholder for {path}\n"

    # ---- build
    def build_fixture_files(self):
        files = self.facts["files"]
        # directories first, then files; parents implicitly
        for path in sorted(files):
            e = files[path]
            if not e.get("exists"):
                continue
            uid = e.get("uid", NAME_IDS.get(e.get("user", "root"), 0))
            gid = e.get("gid", NAME_IDS.get(e.get("group", "root"), 0))
            mode = int(e.get("mode", "0644"), 8)
            if e.get("error"):
                self.differences.append(
                    f"{path}: the fixture records an error ({e['error']!r}); the lab, "
                    "where the collector runs as root, has a normal readable file (0600 root:root)")
                self.write(path, self.content_for(path, e), 0o600, 0, 0)
                continue
            kind = e.get("kind", "file")
            if kind == "dir":
                self.mkdir(path, mode, uid, gid)
            elif kind == "file":
                self.write(path, self.content_for(path, e), mode, uid, gid)
            else:
                raise SystemExit(f"{self.name}: {path}: kind {kind} is not supported by the lab")

    def build_whiteouts(self):
        """Paths the fixture says are absent, and etcd's data dir on nodes
        that have no etcd, must not show through from the host: an overlay
        whiteout (a 0/0 character device) in the node's layer hides them."""
        absent = [p for p, e in self.facts["files"].items() if not e.get("exists")]
        if "/var/lib/etcd" not in self.facts["files"]:
            absent.append("/var/lib/etcd")
        for path in sorted(absent):
            if not os.path.lexists(path) or os.path.lexists(self.host(path)):
                continue
            ancestors = []
            a = os.path.dirname(path)
            while a != "/":
                ancestors.append(a)
                a = os.path.dirname(a)
            if any(a in self.opaque_dirs() and os.path.isdir(self.host(a)) for a in ancestors):
                continue  # an opaque directory of the node hides it already
            if any(os.path.islink(a) and not os.path.isdir(self.host(a)) for a in ancestors):
                self.differences.append(f"{path}: exists on the host behind a symlinked "
                                        "directory; the lab cannot hide it")
                continue
            self.mkdir_parent(path)
            os.mknod(self.host(path), 0o600 | stat.S_IFCHR, os.makedev(0, 0))
            self.whiteouts.append(path)

    def opaque_dirs(self):
        return set(OPAQUE) | self.opaque

    def bind_roots(self):
        """What init.sh bind-mounts from root/ over the overlay, so that the
        node sees (and writes) its tree live: its own directories (opaque and
        fixture directories) and every regular file outside them. The /lib
        link forest and whiteouts only live in the overlay layer."""
        cands = {p for p in self.opaque_dirs()
                 if os.path.isdir(self.host(p)) and not os.path.islink(self.host(p))}
        if self.facts:
            cands |= {p for p, e in self.facts["files"].items()
                      if e.get("exists") and e.get("kind") == "dir"}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = dirpath[len(self.root):] or "/"
            if rel == "/" and "lib" in dirnames and os.path.islink("/lib"):
                dirnames.remove("lib")
            for f in filenames:
                hp = os.path.join(dirpath, f)
                if os.path.isfile(hp) and not os.path.islink(hp):
                    cands.add(os.path.join(rel, f))
        roots = []
        for p in sorted(cands):
            if not any(p.startswith(r + "/") for r in roots):
                roots.append(p)
        return roots

    def build_lib_shadow(self):
        """Fixtures say /lib/X is absent while /usr/lib/X exists; on a merged-/usr
        host /lib is a link to usr/lib. Give the node a real /lib made of links
        into /usr/lib, leaving out the paths that must not exist."""
        files = self.facts["files"]
        hidden = []
        for path, e in files.items():
            if e.get("exists") or not path.startswith("/lib/"):
                continue
            twin = "/usr" + path
            if files.get(twin, {}).get("exists") or os.path.lexists(twin):
                hidden.append(path[len("/lib/"):].split("/"))
        if not hidden or not os.path.islink("/lib"):
            return

        def fill(node_dir, real_dir, hide):
            # node_dir: path in the node ("/lib/..."); real_dir: "/usr/lib/..."
            names = set(os.listdir(real_dir)) if os.path.isdir(real_dir) else set()
            if os.path.isdir(self.host(real_dir)):
                names |= set(os.listdir(self.host(real_dir)))
            heads = {}
            for h in hide:
                heads.setdefault(h[0], []).append(h[1:])
            if node_dir != "/lib" and all(
                    name in heads and any(not r for r in heads[name]) for name in names):
                return  # nothing but hidden entries: leave the directory out too
            self.mkdir(node_dir, os.stat(real_dir).st_mode & 0o7777 if os.path.isdir(real_dir) else 0o755)
            for name in sorted(names):
                if name in heads:
                    rests = [r for r in heads[name] if r]
                    if len(rests) < len(heads[name]):
                        continue  # the hidden path itself
                    fill(f"{node_dir}/{name}", f"{real_dir}/{name}", rests)
                else:
                    os.symlink(f"{real_dir}/{name}", self.host(f"{node_dir}/{name}"))

        fill("/lib", "/usr/lib", hidden)

    def build_users(self):
        extra = dict(FIXTURE_USERS)
        if self.kind == "sudo":
            extra.update(SUDO_USERS)
        names = set(extra)
        uids = {v[0] for v in extra.values()}
        gids = {v[1] for v in extra.values()}

        def keep(line, ids):
            # drop the host's entries that would clash by name or by id
            f = line.split(":")
            if len(f) < 3 or f[0] in names:
                return False
            return not (f[2].isdigit() and int(f[2]) in ids)

        passwd = [l for l in read("/etc/passwd").splitlines() if l and keep(l, uids)]
        group = [l for l in read("/etc/group").splitlines() if l and keep(l, gids)]
        shadow_lines = []
        kept_users = {l.split(":")[0] for l in passwd}
        for l in read("/etc/shadow").splitlines():
            f = l.split(":")
            if f[0] in kept_users:
                if f[0] == "root":
                    # key-only logins; a '!' (locked) root would be refused by sshd
                    f[1] = "*"
                shadow_lines.append(":".join(f))
        for name, (uid, gid, home, shell) in sorted(extra.items(), key=lambda kv: kv[1][0]):
            passwd.append(f"{name}:x:{uid}:{gid}:{name}:{home}:{shell}")
            group.append(f"{name}:x:{gid}:")
            shadow_lines.append(f"{name}:*:20000:0:99999:7:::")
        self.write("/etc/passwd", "\n".join(passwd) + "\n", 0o644)
        self.write("/etc/group", "\n".join(group) + "\n", 0o644)
        st = os.stat("/etc/shadow")
        self.write("/etc/shadow", "\n".join(shadow_lines) + "\n", 0o640, 0, st.st_gid)
        if os.path.exists("/etc/gshadow"):
            gs = [l for l in read("/etc/gshadow").splitlines() if l and l.split(":")[0] not in names]
            gs += [f"{n}:!::" for n in sorted(extra)]
            st = os.stat("/etc/gshadow")
            self.write("/etc/gshadow", "\n".join(gs) + "\n", 0o640, 0, st.st_gid)

    def build_ssh(self):
        b = self.b
        pub = read(b.client_key + ".pub")
        self.mkdir("/etc/ssh", 0o755)
        self.opaque.add("/etc/ssh")
        hk = self.host("/etc/ssh/ssh_host_ed25519_key")
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{self.name}", "-f", hk)
        self.ownership["/etc/ssh/ssh_host_ed25519_key"] = (0o600, 0, 0)
        self.ownership["/etc/ssh/ssh_host_ed25519_key.pub"] = (0o644, 0, 0)
        self.host_pub = read(hk + ".pub").split()[:2]
        permit = "no" if self.kind == "sudo" else "prohibit-password"
        self.write("/etc/ssh/sshd_config", f"""# kubeharden lab node {self.name}
ListenAddress {self.ip}:22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin {permit}
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
PidFile none
MaxStartups 100:30:200
MaxSessions 64
LoginGraceTime 30
LogLevel VERBOSE
Subsystem sftp internal-sftp
""", 0o644)
        # The node's own /root (opaque): the host's dotfiles (pyenv, cargo...)
        # must not run, or write, in the node's login shells.
        self.mkdir("/root", 0o700)
        self.opaque.add("/root")
        for dot in (".bashrc", ".profile"):
            if os.path.isfile("/etc/skel/" + dot):
                self.write("/root/" + dot, read("/etc/skel/" + dot), 0o644)
        self.mkdir("/root/.ssh", 0o700)
        self.write("/root/.ssh/authorized_keys", pub, 0o600)
        if self.kind == "sudo":
            self.mkdir("/home", 0o755)
            self.opaque.add("/home")
            for user, (uid, gid, home, _) in SUDO_USERS.items():
                self.mkdir(home, 0o750, uid, gid)
                self.mkdir(home + "/.ssh", 0o700, uid, gid)
                self.write(home + "/.ssh/authorized_keys", pub, 0o600, uid, gid)
            self.mkdir("/etc/sudoers.d", 0o755)
            self.opaque.add("/etc/sudoers.d")
            self.write("/etc/sudoers.d/khlab", """# kubeharden lab: auditor may run anything as root without a password;
# nopass needs a password, so `sudo -n` fails for it.
Defaults lecture=never
auditor ALL=(ALL:ALL) NOPASSWD: ALL
nopass ALL=(ALL:ALL) ALL
""", 0o440)

    def build_identity(self):
        hosts = read("/etc/hosts") if os.path.exists("/etc/hosts") else "127.0.0.1 localhost\n"
        hosts += f"\n# kubeharden lab\n{self.ip} {self.name}\n"
        self.write("/etc/hosts", hosts, 0o644)
        self.write("/etc/hostname", self.name + "\n", 0o644)

    def stub_path(self, argv0):
        return argv0 if argv0.startswith("/") else "/usr/local/bin/" + argv0

    def build_components(self):
        """Installs stubs and returns the spawn lines for init.sh."""
        lines = []
        exp = {}
        for kind, c in sorted(self.facts.get("components", {}).items()):
            if not c.get("running"):
                continue
            argv = [self.sub(a) for a in c["argv"]]
            env = {k: self.sub(v) for k, v in c.get("env", {}).items()}
            exp[kind] = {"argv": argv, "env": env}
            if kind == "etcd":
                binary = "/usr/bin/etcd"
            else:
                binary = self.stub_path(argv[0])
                self.copy(self.b.stub, binary, 0o755)
            envs = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))
            log = "4" if kind == "etcd" else "5"
            lines.append(
                f"( cd / && exec env -i PATH={PATH_ENV} HOME=/root {envs} "
                f"/run/khlab/khlab-helper exec {shlex.quote(binary)} "
                + " ".join(shlex.quote(a) for a in argv)
                + f" ) </dev/null >&{log} 2>&{log} 9>&- &")
            if kind == "apiserver":
                lines.append(
                    "if [ -f /etc/kubernetes/pki/apiserver.crt ] && [ -f /etc/kubernetes/pki/apiserver.key ]; then\n"
                    "  ( cd / && exec openssl s_server -quiet -www -accept 6443 "
                    "-cert /etc/kubernetes/pki/apiserver.crt -key /etc/kubernetes/pki/apiserver.key"
                    " ) </dev/null >&5 2>&5 9>&- &\nfi")
        self.expected_components = exp
        return lines

    def expected(self):
        return {
            "name": self.name,
            "files": self.facts["files"] if self.facts else {},
            "components": getattr(self, "expected_components", {}),
            # real etcd fills its data dir: these entries are not compared
            "volatile": ["/var/lib/etcd/member/"],
        }

    def build(self):
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "mnt"), exist_ok=True)
        os.mkdir(self.root)
        os.chmod(self.root, 0o755)
        spawn = []
        if self.facts:
            self.build_fixture_files()
            self.build_lib_shadow()
            self.build_whiteouts()
            spawn = self.build_components()
            if "etcd" in self.facts.get("components", {}):
                self.differences.append(
                    "/var/lib/etcd/member: the real etcd keeps its data there (snap/, wal/), "
                    "so the directory lists more entries than the fixture's []; "
                    "etcd runs as root, so what it creates is root-owned")
                self.differences.append(
                    "node.etcd_version: the lab runs Debian's etcd "
                    f"({self.b.etcd_version or 'unknown'}), not {self.facts['node'].get('etcd_version')}")
        self.build_users()
        self.build_identity()
        self.build_ssh()
        # ownership last, deepest first, so parents do not block anything
        for path in sorted(self.ownership, key=lambda p: -p.count("/")):
            mode, uid, gid = self.ownership[path]
            hp = self.host(path)
            os.lchown(hp, uid, gid)
            if not os.path.islink(hp):
                os.chmod(hp, mode)
        self.write_init(spawn)
        with open(os.path.join(self.dir, "expected.json"), "w") as f:
            json.dump(self.expected(), f, indent=1, sort_keys=True)

    def write_init(self, spawn):
        b = self.b
        q = shlex.quote
        dirs = (set(OPAQUE) | self.opaque)
        opaque = " ".join(f'"$M/layer"{q(p)}' for p in sorted(dirs)
                          if os.path.isdir(self.host(p)) and not os.path.islink(self.host(p)))
        sshd = self.kind in SSHD_KINDS
        body = [f"""#!/bin/bash
# Generated by tests/lab/lib/materialize.py: init of lab node {self.name}.
# Runs as a child of khlab-helper init (PID 1 of the node's PID namespace),
# inside the node's network, mount, UTS and IPC namespaces.
set -euo pipefail
NODE_DIR={q(self.dir)}
HELPER={q(b.helper)}
M="$NODE_DIR/mnt"
exec 9>>"$NODE_DIR/ready"
trap 'echo "failed: line $LINENO: $BASH_COMMAND" >&9' ERR
exec 3>>"$NODE_DIR/logs/sshd.log" 4>>"$NODE_DIR/logs/etcd.log" 5>>"$NODE_DIR/logs/components.log"
set -x
mount --make-rprivate /
hostname {q(self.name)}
ip link set lo up
# The node's root: its own tree over the host's /, with a writable layer.
# The tree is copied to a tmpfs first: overlayfs refuses a lower layer that
# lies inside another one (/).
mount -t tmpfs -o mode=0755 khlab-{self.short} "$M"
mkdir "$M/layer" "$M/upper" "$M/work" "$M/root"
cp -a "$NODE_DIR/root/." "$M/layer/"
"""]
        if opaque:
            body.append(f'"$HELPER" opaque {opaque}\n')
        body.append(f"""mount -t overlay khlab-{self.short} -o "lowerdir=$M/layer:/,upperdir=$M/upper,workdir=$M/work" "$M/root"
R="$M/root"
# The node's own tree, live: what is changed in root/ shows in the node.
for p in {" ".join(q(p) for p in self.bind_roots())}; do
  mount --bind "$NODE_DIR/root$p" "$R$p"
done
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mkdir -m 0755 "$R/run/sshd" "$R/run/khlab"
mkdir "$R/run/khlab/upper"
mount --bind -o ro "$M/upper" "$R/run/khlab/upper"
cp "$HELPER" "$R/run/khlab/khlab-helper"
cd /
"$HELPER" pivot "$R"
export PATH={PATH_ENV}
""")
        body += [l + "\n" for l in spawn]
        if self.kind == "hang":
            body.append(f"/run/khlab/khlab-helper hang {self.ip} 22 </dev/null >&3 2>&3 9>&- &\n")
        if sshd:
            body.append("/usr/sbin/sshd -t -f /etc/ssh/sshd_config\n")
            body.append("/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config </dev/null 2>&3 9>&- &\n")
        body.append("set +x\necho ready >&9\n")
        path = os.path.join(self.dir, "init.sh")
        with open(path, "w") as f:
            f.write("".join(body))
        os.chmod(path, 0o755)


# --------------------------------------------------------------------------


class Build:
    def __init__(self, state, lab_id, names, fixtures):
        self.state = os.path.abspath(state)
        self.lab_id = int(lab_id)
        self.fixtures = os.path.abspath(fixtures)
        self.names = names
        self.helper = os.path.join(self.state, "bin", "khlab-helper")
        self.stub = os.path.join(self.state, "bin", "khlab-stub")
        self.client_key = os.path.join(self.state, "id_ed25519")
        self.pki = PKI(os.path.join(self.state, "pki"))
        try:
            out = run("/usr/bin/etcd", "--version").stdout.decode()
            self.etcd_version = out.split("etcd Version:")[1].split()[0]
        except Exception:
            self.etcd_version = None

    def run(self):
        st = self.state
        specs = sorted({spec_of(n) for n in self.names}, key=lambda sp: sp[2])
        nodes = [Node(self, sp) for sp in specs]
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kubeharden-lab",
            "-f", self.client_key)
        wrong = os.path.join(st, "wrong_host_key")
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "not-the-node", "-f", wrong)
        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            list(ex.map(lambda a: self.pki.ca(*a), [("ca", "kubernetes"),
                                                   ("etcd-ca", "etcd-ca"),
                                                   ("front-proxy-ca", "front-proxy-ca")]))
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            for fut in [ex.submit(n.build) for n in nodes]:
                fut.result()

        # known_hosts: every node's real key, but a different one for fault-hostkey
        wrong_pub = read(wrong + ".pub").split()[:2]
        with open(os.path.join(st, "known_hosts"), "w") as f:
            for n in nodes:
                key = wrong_pub if n.kind == "hostkey" else n.host_pub
                f.write(f"{n.ip} {key[0]} {key[1]}\n")

        # inventory
        def s(x):
            return json.dumps(x)
        inv = ["# kubeharden lab inventory (generated by tests/lab/lab.sh up)", "[defaults]",
               'user = "root"', "port = 22", f"identity_file = {s(self.client_key)}",
               f"known_hosts = {s(os.path.join(st, 'known_hosts'))}",
               'connect_timeout = "5s"', 'command_timeout = "20s"']
        for n in nodes:
            roles = n.facts["node"]["roles"] if n.facts and n.kind == "scenario" else ["worker"]
            entries = [(n.name, None)]
            if n.kind == "sudo":
                entries = [(n.name, "auditor"), (n.name + "-nopass", "nopass")]
            for name, user in entries:
                inv += ["", "[[node]]", f"name = {s(name)}", f"address = {s(n.ip)}",
                        f"roles = [{', '.join(s(r) for r in roles)}]"]
                if user:
                    inv.append(f"user = {s(user)}")
        with open(os.path.join(st, "inventory.toml"), "w") as f:
            f.write("\n".join(inv) + "\n")

        # nodes.json (init PIDs filled in by finalize)
        meta = []
        for n in nodes:
            m = {"name": n.name, "address": n.ip, "netns": n.netns, "veth": n.veth,
                 "init_pid": None, "kind": n.kind}
            if n.kind == "scenario":
                m.update(scenario=n.scenario, fixture_node=n.fnode, fixture=n.fixture_path)
            else:
                if n.kind != "bench":
                    m["fault"] = n.kind
                if n.scenario:
                    # not "scenario": only the six scenario nodes carry that key
                    m.update(copy_of=f"{n.scenario}-{n.fnode}", fixture=n.fixture_path)
            m["ssh_users"] = {"scenario": ["root"], "hostkey": ["root"], "bench": ["root"],
                              "sudo": ["auditor", "nopass"]}.get(n.kind, [])
            m["etcd"] = bool(n.facts and "etcd" in n.facts.get("components", {}))
            meta.append(m)
        with open(os.path.join(st, "nodes.json"), "w") as f:
            json.dump(meta, f, indent=2)

        with open(os.path.join(st, "plan.tsv"), "w") as f:
            for n, m in zip(nodes, meta):
                f.write("\t".join([n.name, n.short, n.ip, n.netns, n.veth, n.kind,
                                   "1" if n.kind in SSHD_KINDS else "0",
                                   "1" if m["etcd"] else "0"]) + "\n")

        with open(os.path.join(st, "known-differences.txt"), "w") as f:
            f.write("# Where a correct collector run in the lab cannot reproduce the fixture.\n"
                    "# Every node: pids, sizes, sockets and collected_at; node name, address,\n"
                    "# os, kernel and versions are the lab's (its nodes run on this host's\n"
                    "# kernel and /etc/os-release); in argv and manifest commands\n"
                    "# 192.168.56.11 / 192.168.56.21 are replaced by the lab addresses;\n"
                    "# certificates are the lab's own PKI (the fixtures list none); files the\n"
                    "# fixture marks redacted hold real secrets on the node, which the\n"
                    "# collector must redact back to the fixture's text.\n"
                    "# Below: NODE<TAB>PATH-OR-FIELD: WHY\n")
            for n in nodes:
                for d in n.differences:
                    f.write(f"{n.name}\t{d}\n")


def finalize(state):
    path = os.path.join(state, "nodes.json")
    meta = json.load(open(path))
    for m in meta:
        pidf = os.path.join(state, "nodes", m["name"], "init.pid")
        if os.path.exists(pidf):
            m["init_pid"] = int(read(pidf).strip())
    with open(path + ".tmp", "w") as f:
        json.dump(meta, f, indent=2)
    os.replace(path + ".tmp", path)


def main(argv):
    if len(argv) >= 6 and argv[1] == "build":
        names = [n for n in argv[4].split(",") if n]
        for n in names:
            spec_of(n)
        Build(argv[2], argv[3], names, argv[5]).run()
    elif len(argv) == 3 and argv[1] == "finalize":
        finalize(argv[2])
    elif len(argv) == 2 and argv[1] == "names":
        print(",".join(n[0] for n in NODES))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
