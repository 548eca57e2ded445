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
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time

import distro_nodes
import k3s_node

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
    # Nodes added later take the free addresses below .10 (.1 is the host),
    # so that no node's address ever moves.
    ("fault-forcecommand", "f-fcmd", 8, "forcecommand", None, None),
    ("fault-dropped", "f-drop", 9, "dropped", None, None),
    # etcd started as RKE2 starts it, with --config-file only (README.md)
    ("etcd-config-file-cp1", "ef-cp1", 7, "scenario", "etcd-config-file", "cp1"),
]
# Distribution nodes, built only when named with --nodes (the default lab
# stays the nodes above), at fixed addresses from .200 up: kubespray and RKE2
# (lib/distro_nodes.py) at .200-.209, k3s (lib/k3s_node.py) at .210-.219.
# Bench nodes stop below them.
DISTRO_NODES = distro_nodes.NODES + [
    ("k3s-default-cp1", "k3d-cp1", 210, "scenario", "k3s-default", "cp1"),
    ("k3s-default-w1", "k3d-w1", 211, "scenario", "k3s-default", "w1"),
    ("k3s-hardened-cp1", "k3h-cp1", 212, "scenario", "k3s-hardened", "cp1"),
    ("k3s-hardened-w1", "k3h-w1", 213, "scenario", "k3s-hardened", "w1"),
]
NODE_BY_NAME = {n[0]: n for n in NODES + DISTRO_NODES}
# `lab.sh up --bench N`: N copies of the kubeadm-default worker, bench-001...,
# at 10.231.<lab>.20 and up, below the distribution nodes.
BENCH_MAX = 179



# The time the fixture tests judge the fixtures at (tests/fixture_verdicts.rs:
# 2026-11-24T00:00:00Z); fixture file times are ages before it.
FIXTURE_NOW = 1795478400

def spec_of(name):
    if name in NODE_BY_NAME:
        return NODE_BY_NAME[name]
    m = re.fullmatch(r"bench-(\d{3})", name)
    if m and 1 <= int(m.group(1)) <= BENCH_MAX:
        i = int(m.group(1))
        return (name, f"b{i:03d}", 19 + i, "bench", "kubeadm-default", "w1")
    raise SystemExit(f"unknown lab node {name!r}; known: {', '.join(NODE_BY_NAME)}, "
                     f"bench-001..bench-{BENCH_MAX}")


SSHD_KINDS = ("scenario", "hostkey", "sudo", "bench", "forcecommand")

# fault-forcecommand's sshd runs this for every login, whatever the client
# asked for. sshd_config(5), ForceCommand: the command replaces the
# client's (which sshd keeps in SSH_ORIGINAL_COMMAND) and is run with the
# user's login shell and -c (OpenSSH session.c: do_exec() swaps in the
# forced command, do_child() runs `shell -c command`). It stands for a login
# gate such as login_duo(8), installed as `ForceCommand /usr/sbin/login_duo`
# (its man page, EXAMPLES), which runs the client's command only once a
# second factor approves the login: here the approval never comes. It reads
# nothing from stdin, prints nothing on stdout and one line on stderr, and
# waits until its session is gone: sshd (its parent, through `exec`) exits
# when the connection closes, so no gate outlives the scan that started it.
LOGIN_GATE = "/usr/local/sbin/khlab-login-gate"
LOGIN_GATE_SCRIPT = """#!/bin/sh
# kubeharden lab, fault-forcecommand: sshd's ForceCommand (see sshd_config):
# a login gate waiting for an approval that never comes. It never runs
# $SSH_ORIGINAL_COMMAND, never reads stdin, and ends with its session.
echo "khlab-login-gate: the login of $USER from ${SSH_CONNECTION%% *} waits for approval" >&2
while kill -0 "$PPID" 2>/dev/null; do sleep 1; done
exit 1
"""

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
          "/var/lib/cni", "/etc/ssh", "/root", "/root/.ssh",
          "/usr/lib/systemd/system/kubelet.service.d",
          "/etc/systemd/system/kubelet.service.d", "/home"]

# Where a container's root lives on a node (containerd's runtime v2 task
# directory; the node's /run is a tmpfs of its own).
CONTAINER_ROOT = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/rootfs"
# kubeadm's kube-proxy DaemonSet mounts its ConfigMap (config.conf,
# kubeconfig.conf) at /var/lib/kube-proxy inside the container
# (cmd/kubeadm/app/phases/addons/proxy/manifests.go); on the host the kubelet
# keeps the volume under the pod's directory. component -> (mount point in
# the container, volume plugin directory, volume name)
CONTAINER_MOUNTS = {"kube-proxy": ("/var/lib/kube-proxy", "kubernetes.io~configmap", "kube-proxy")}
# What kubeadm's kube-proxy ConfigMap holds as kubeconfig.conf (the pod's
# service account token and CA; no key, no certificate).
PROXY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: {server}
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
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token"""

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

    # -- the network stand-ins' certificates (EC P-256: fast to make)
    EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def ec_ca(self, name, cn):
        """A CA with an EC key: the rogue CA, whose subject (CN=kubernetes)
        is the cluster CA's, with another key."""
        d = self.root
        key, crt = f"{d}/{name}.key", f"{d}/{name}.crt"
        run("openssl", "req", "-x509", *self.EC, "-keyout", key, "-out", crt,
            "-subj", f"/CN={cn}", "-days", "3650", "-set_serial", "0x" + secrets.token_hex(8),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign")
        os.chmod(key, 0o600)
        self.cas[name] = (crt, key)

    def serving(self, out, issuer, subj, sans, not_before, not_after, eku="serverAuth"):
        """A TLS serving certificate (EC P-256 key) valid from not_before to
        not_after, both in days from now (negative: in the past). issuer is
        a CA name, or "self" for a self-signed certificate (from now on)."""
        key, crt = out + ".key", out + ".crt"
        os.makedirs(os.path.dirname(out), exist_ok=True)
        exts = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
                f"extendedKeyUsage={eku}"] + (["subjectAltName=" + ",".join(sans)] if sans else [])
        if not_before == 0:
            # valid from now: one `openssl req -x509`, self-signed or with -CA
            args = []
            for e in exts:
                args += ["-addext", e]
            if issuer != "self":
                args += ["-CA", self.cas[issuer][0], "-CAkey", self.cas[issuer][1]]
            run("openssl", "req", "-x509", *self.EC, "-keyout", key, "-out", crt, "-subj", subj,
                "-days", str(not_after), "-set_serial", "0x" + secrets.token_hex(8), *args)
            os.chmod(key, 0o600)
            return crt, key
        # dates in the past: `openssl ca`, the only tool of OpenSSL 3.0 that
        # takes a start and an end date
        assert issuer != "self"
        ca_crt, ca_key = self.cas[issuer]
        with tempfile.TemporaryDirectory(dir=self.root) as t:
            csr = f"{t}/req.csr"
            run("openssl", "req", "-new", *self.EC, "-keyout", key, "-out", csr, "-subj", subj)
            os.chmod(key, 0o600)
            open(f"{t}/index.txt", "w").close()
            with open(f"{t}/serial", "w") as f:
                f.write(secrets.token_hex(8) + "\n")
            with open(f"{t}/ca.cnf", "w") as f:
                f.write(f"[ca]\ndefault_ca = khlab\n[khlab]\ndatabase = {t}/index.txt\n"
                        f"serial = {t}/serial\n"
                        f"new_certs_dir = {t}\ndefault_md = sha256\npolicy = khlab_policy\n"
                        "unique_subject = no\n[khlab_policy]\norganizationName = optional\n"
                        "commonName = supplied\n")
            with open(f"{t}/ext", "w") as f:
                f.write("[ext]\n" + "\n".join(exts + ["authorityKeyIdentifier=keyid",
                                                       "subjectKeyIdentifier=hash"]) + "\n")
            run("openssl", "ca", "-batch", "-notext", "-config", f"{t}/ca.cnf", "-cert", ca_crt,
                "-keyfile", ca_key, "-in", csr, "-out", crt, "-preserveDN",
                "-startdate", asn1_time(not_before), "-enddate", asn1_time(not_after),
                "-extfile", f"{t}/ext", "-extensions", "ext")
        return crt, key

    def client_go_pair(self, out, host, alt_ips=(), alt_dns=(), days=365):
        """A serving pair made the way client-go's
        GenerateSelfSignedCertKeyWithFixtures (k8s.io/client-go/util/cert,
        cert.go) makes it, which the kubelet (cmd/kubelet/app/server.go,
        InitializeTLS) and the controller-manager and scheduler
        (k8s.io/apiserver/pkg/server/options/serving.go,
        MaybeDefaultWithSelfSignedCerts) call when they get no certificate:

          validFrom = now - 1h, NotAfter = validFrom + 365 days (v1.32)
          CA:   RSA 2048, serial random in [1, 2^63-1], CN=<host>-ca@<unix now>,
                keyUsage critical digitalSignature,keyEncipherment,keyCertSign,
                basicConstraints critical CA:TRUE; Go's x509.CreateCertificate
                adds a subject key id (SHA-1 of the key) and, self-signed,
                no authority key id
          leaf: RSA 2048, another random serial, CN=<host>@<unix now>,
                keyUsage critical digitalSignature,keyEncipherment,
                extKeyUsage serverAuth, basicConstraints critical CA:FALSE,
                the CA's key id as authority key id and none of its own;
                SANs: <host> (DNS, or IP when it is an address), then
                alternateDNS, then the IPs (Go writes DNS names before IPs)
          out.crt: the leaf, then the CA (PEM); out.key: the leaf's key,
                PKCS#1 ("RSA PRIVATE KEY", keyutil.RSAPrivateKeyBlockType).
                The CA key is thrown away, as upstream never keeps it.

        OpenSSL 3.0's `openssl ca` is the one tool here that takes a start
        date in the past. Also writes out-ca.crt (the CA alone), a host copy
        for netcheck. Returns (crt, key, what network.json says of them)."""
        key, crt = out + ".key", out + ".crt"
        os.makedirs(os.path.dirname(out), exist_ok=True)
        valid_from = int(time.time()) - 3600
        start = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(valid_from))
        end = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(valid_from + days * 86400))
        try:
            host_ip = ipaddress.ip_address(host)
        except ValueError:
            host_ip = None
        dns = ([] if host_ip else [host]) + list(alt_dns)
        ips = ([host] if host_ip else []) + list(alt_ips)
        sans = ",".join([f"DNS:{x}" for x in dns] + [f"IP:{x}" for x in ips])
        with tempfile.TemporaryDirectory(dir=self.root) as t:
            with open(f"{t}/ca.cnf", "w") as f:
                f.write(f"[ca]\ndefault_ca = cg\n[cg]\ndatabase = {t}/index.txt\n"
                        f"serial = {t}/serial\nnew_certs_dir = {t}\ndefault_md = sha256\n"
                        "policy = pol\nunique_subject = no\n[pol]\ncommonName = supplied\n"
                        "[ca_ext]\nkeyUsage = critical,digitalSignature,keyEncipherment,keyCertSign\n"
                        "basicConstraints = critical,CA:TRUE\nsubjectKeyIdentifier = hash\n"
                        "[leaf_ext]\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
                        "extendedKeyUsage = serverAuth\nbasicConstraints = critical,CA:FALSE\n"
                        "authorityKeyIdentifier = keyid\nsubjectKeyIdentifier = none\n"
                        f"subjectAltName = {sans}\n")
            open(f"{t}/index.txt", "w").close()

            def sign(subj, req_key, ext, out_crt, selfsign):
                run("openssl", "req", "-new", "-key", req_key, "-subj", subj, "-out", f"{t}/req.csr")
                with open(f"{t}/serial", "w") as f:
                    f.write("%016x\n" % (secrets.randbelow(2**63 - 1) + 1))
                who = ["-selfsign"] if selfsign else ["-cert", f"{t}/ca.crt"]
                run("openssl", "ca", "-batch", "-notext", "-config", f"{t}/ca.cnf", *who,
                    "-keyfile", f"{t}/ca.key", "-in", f"{t}/req.csr", "-out", out_crt,
                    "-startdate", start, "-enddate", end, "-extensions", ext, "-preserveDN")

            self._key(f"{t}/ca.key")
            ca_subj = f"/CN={host}-ca@{int(time.time())}"
            sign(ca_subj, f"{t}/ca.key", "ca_ext", f"{t}/ca.crt", True)
            self._key(key)
            leaf_subj = f"/CN={host}@{int(time.time())}"
            sign(leaf_subj, key, "leaf_ext", f"{t}/leaf.crt", False)
            ca_pem = read(f"{t}/ca.crt")
            with open(crt, "w") as f:
                f.write(read(f"{t}/leaf.crt") + ca_pem)
            with open(out + "-ca.crt", "w") as f:
                f.write(ca_pem)
        return crt, key, {"subject": leaf_subj, "ca_subject": ca_subj, "sans": sans,
                          "not_before": iso_at(valid_from), "not_after": iso_at(valid_from + days * 86400),
                          "ca_host_copy": out + "-ca.crt"}


def asn1_time(days):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + days * 86400))


# TLS 1.2 suites as OpenSSL names them. Go's defaults (1.22 and later):
# ECDHE with AES-GCM, ChaCha20-Poly1305, and AES-CBC-SHA; the strong list
# is what the hardened fixture configures (--tls-cipher-suites,
# tlsCipherSuites): ECDHE with AEAD only.
GO_STRONG = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
             "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
             "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
GO_DEFAULT = (GO_STRONG + ":ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
              "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA")


def go_ciphers(strong):
    return GO_STRONG if strong else GO_DEFAULT


def iso_time(days):
    return iso_at(time.time() + days * 86400)


def iso_at(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def cert_sha256(path):
    """sha256 of the first certificate of a PEM file (its DER)."""
    text = read(path)
    end = "-----END CERTIFICATE-----"
    first = text[text.index("-----BEGIN CERTIFICATE-----"):text.index(end) + len(end)]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


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

README_DROPINS = """Kubelet configuration drop-ins, applied in lexical order after
/var/lib/kubelet/config.yaml (kubelet --config-dir).
"""


# --------------------------------------------------------------------------
# network stand-ins: what the node's kubelet, kube-proxy, controller-manager
# and scheduler would serve, and the verdict a network check should reach.
# See README.md ("Network listeners") and STATE/network.json.

TLS_DIR = "/etc/khlab/tls"

# The object sets (tests/lab/apisets) the control planes' :6443 serves
# through khlab-apiserver (lib/apiserver.py). Other control planes keep
# `openssl s_server -www` there.
APISETS = {"kubeadm-default-cp1": "kubeadm-flannel",
           "hardened-cp1": "kubeadm-flannel-hardened",
           "misconfigured-cp1": "problems",
           "etcd-config-file-cp1": "forbidden"}
APISETS_DIR = os.path.join(os.path.dirname(LAB_DIR), "apisets")
# the user of the `forbidden` set's RBAC who may not list clusterroles or
# clusterrolebindings: its certificate is the lab's (pki/kh-auditor.*)
AUDITOR = "kh-auditor"
AUDITOR_KUBECONFIG = "/etc/khlab/kh-auditor.conf"


def apiserver_auth(argv, files):
    """How the API server with this argv authenticates anonymous requests
    and authorizes, as kube-apiserver reads its flags (see lib/apiserver.py):
    (anonymous {"enabled", "paths"}, [authorizer types])."""
    cfg = flag_value(argv, "authorization-config")
    if cfg:
        text = (files.get(cfg) or {}).get("content") or ""
        modes = re.findall(r"^\s*-?\s*type:\s*(\S+)", text, re.M)
    else:
        modes = (flag_value(argv, "authorization-mode") or "AlwaysAllow").split(",")
    anon = {"enabled": (flag_value(argv, "anonymous-auth") or "true") != "false", "paths": None}
    acfg = flag_value(argv, "authentication-config")
    if acfg:
        text = (files.get(acfg) or {}).get("content") or ""
        m = re.search(r"^anonymous:\s*\n((?:[ \t-].*\n?)*)", text, re.M)
        block = m.group(1) if m else ""
        anon["enabled"] = bool(re.search(r"enabled:\s*true", block))
        paths = re.findall(r"path:\s*(\S+)", block)
        if paths:
            anon["paths"] = paths
    # pkg/kubeapiserver/options/authentication.go ApplyAuthorization:
    # "AnonymousAuth is not allowed with the AlwaysAllow authorizer"
    if modes == ["AlwaysAllow"]:
        anon["enabled"] = False
    return anon, modes

# The kubelet's serving certificate (port 10250) and the lowest TLS version
# it accepts, by scenario and fixture node: (issuer, valid from, valid to
# (days from now), status, min TLS). Where it lives follows the kubelet's
# config, as InitializeTLS (cmd/kubelet/app/server.go) decides: with
# serverTLSBootstrap the certificate manager's kubelet-server-current.pem
# (here TLS_DIR/kubelet.crt, a stand-in issued by the cluster CA); else the
# tlsCertFile; else <cert-dir>/kubelet.crt (default /var/lib/kubelet/pki),
# which the kubelet writes itself, with client-go's pair, when it cannot
# read it (and the fixture lists it).
KUBELET_TLS = {
    # kubeadm's config sets neither: the kubelet's self-generated pair
    ("kubeadm-default", "cp1"): ("self-generated", 0, 365, "self-generated", "TLSv1.2"),
    ("kubeadm-default", "w1"): ("self-generated", 0, 365, "self-generated", "TLSv1.2"),
    # serverTLSBootstrap: signed by the cluster CA
    ("hardened", "cp1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    ("hardened", "w1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    # kubelet.crt holds a certificate of the cluster CA that someone put
    # there (the kubelet serves whatever it can read), expired 35 days ago
    ("misconfigured", "cp1"): ("ca", -400, -35, "expired", "TLSv1.2"),
    # rotateCertificates: false, no tlsCipherSuites: a certificate that
    # expires in 5 days, and TLS 1.0 (at OpenSSL security level 0) accepted
    ("misconfigured", "w1"): ("ca", -360, 5, "expiring-soon", "TLSv1"),
    # otherwise kubeadm-default's control plane
    ("etcd-config-file", "cp1"): ("self-generated", 0, 365, "self-generated", "TLSv1.2"),
}
KUBELET_TLS.update(distro_nodes.KUBELET_TLS)

SEVERITY = {"cert-expired": "fail", "cert-untrusted-ca": "fail", "tls-legacy-version": "fail",
            "insecure-api-port": "fail",
            "anonymous-access": "fail", "plaintext-exposed": "fail",
            "bound-all-addresses": "fail", "cert-expiring-soon": "warn",
            "cert-self-generated": "warn", "reachable-from-workers": "warn"}
CERT_FINDING = {"expired": "cert-expired", "expiring-soon": "cert-expiring-soon",
                "untrusted-ca": "cert-untrusted-ca", "self-generated": "cert-self-generated"}

PODLIST = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [
    {"metadata": {"name": "khlab-pod", "namespace": "default", "uid": "khlab-0001"},
     "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}]},
    separators=(",", ":")) + "\n"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
OK = [200, TEXT, "ok"]
UNAUTHORIZED = [401, TEXT, "Unauthorized\n"]
FORBIDDEN = [403, JSON, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "message": "forbidden: User \"system:anonymous\" cannot get "
                                    "path \"/metrics\"", "reason": "Forbidden", "code": 403}) + "\n"]
METRICS = [200, "text/plain; version=0.0.4",
           "# HELP khlab_up The kubeharden lab's stand-in.\n# TYPE khlab_up gauge\nkhlab_up 1\n"]


def route(anonymous, authenticated=None):
    return {"anonymous": anonymous, "authenticated": authenticated or anonymous}


def flag_value(argv, flag):
    """The last value of --flag=V / --flag V / -flag=V in argv ("" for a
    bare --flag), or None."""
    val = None
    for i, a in enumerate(argv):
        for pfx in ("--" + flag, "-" + flag):
            if a.startswith(pfx + "="):
                val = a.split("=", 1)[1]
            elif a == pfx:
                val = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else ""
    return val


def yaml_value(text, key):
    """The value of a top-level `key: value` in a flat YAML text, or None."""
    m = re.search(rf"^{key}:[ \t]*(.*?)[ \t]*$", text or "", re.M)
    return m.group(1).strip('"\'') if m else None


def etcd_config(text):
    """etcd's --config-file (YAML: top-level keys, and one level under
    client-transport-security / peer-transport-security) as a flat dict
    keyed like the flags: `peer-transport-security: {cert-file: X}` is
    `peer-cert-file`, as etcd's configYAML maps them."""
    out, section = {}, None
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip().strip('"\'')
        if not line[0].isspace():
            section = key if not value else None
            if value:
                out[key] = value
        elif section in ("client-transport-security", "peer-transport-security"):
            out[("peer-" if section.startswith("peer") else "") + key] = value
    return out


def etcd_listen_port(facts, sub=lambda x: x):
    """The HTTPS client port etcd listens on at a non-loopback address, from
    its --config-file alone when it has one (etcdmain's config.parse),
    else its flags and ETCD_* variables, else etcd's default 2379."""
    c = facts.get("components", {}).get("etcd")
    if not c or not c.get("running"):
        return None
    argv, env = c["argv"], c.get("env", {})
    cfg_path = flag_value(argv, "config-file") or env.get("ETCD_CONFIG_FILE")
    if cfg_path:
        urls = etcd_config(sub(facts["files"].get(cfg_path, {}).get("content", ""))).get(
            "listen-client-urls")
    else:
        urls = flag_value(argv, "listen-client-urls") or env.get("ETCD_LISTEN_CLIENT_URLS")
    for u in (urls or "").split(","):
        m = re.fullmatch(r"https://([^:/]+):(\d+)", u.strip())
        if m and m.group(1) not in ("127.0.0.1", "localhost"):
            return int(m.group(2))
    return 2379


def bind_of(addr):
    """A bind address as ss shows it: "*" for the unspecified addresses."""
    return "*" if addr in ("", "0.0.0.0", "::", "[::]") else addr


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
            self.ipmap = {FIXTURE_ADDR["cp1"]: cp_ip}
            if f"{self.scenario}-w1" in NODE_BY_NAME:
                self.ipmap[FIXTURE_ADDR["w1"]] = node_ip(
                    build.lab_id, NODE_BY_NAME[f"{self.scenario}-w1"][2])
            self.ipmap[FIXTURE_ADDR[self.fnode]] = self.ip
            self.cp_ip = cp_ip
        self.opaque = set()
        self.whiteouts = []
        self.ownership = {}  # node path -> (mode, uid, gid), applied last
        self.differences = []
        self.listeners = []     # for STATE/network.json
        self.netserve = []      # for the node's khlab-netserve
        self.apiserver = None   # apiserver.json, when :6443 serves an object set
        self.certs = {}         # node path -> what network.json says of it
        self._kubelet = False   # kubelet_serving(), once made
        self.firewall = None
        self.inside = {}        # component -> {container path: fixture entry}
        self.containers = {}    # component -> (container root, volume dir, mount point)
        self.container_skeletons = []  # (root, binary, mount point), made by init.sh
        self.container_files = []      # (root, path): a host file bind-mounted there

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
        pd = self.pki_dir
        if which == "sa":
            key = os.path.join(pd, "sa.key")
            pub = os.path.join(pd, "sa.pub")
            if not os.path.exists(pub):
                os.makedirs(pd, exist_ok=True)
                b.pki._key(key)
                run("openssl", "rsa", "-in", key, "-pubout", "-out", pub)
            return pub, key
        ca, subj, sans, eku = self.cert_table()[which]
        return b.pki.leaf(os.path.join(pd, which), ca, subj, sans, eku)

    def cert_table(self):
        """Named certificates of this node: name -> (CA, subject, SANs, EKU)."""
        ip = self.ip
        fname = self.fnode or self.name
        return {
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
            # misconfigured: --tls-cert-file, from the rogue CA (CN=kubernetes)
            "controller-manager-serving": ("rogue-ca", "/CN=kube-controller-manager",
                                           ["DNS:localhost", f"DNS:{fname}", f"DNS:{self.name}",
                                            "IP:127.0.0.1", f"IP:{ip}"], "serverAuth"),
            **distro_nodes.extra_certs(self),
        }

    def cert_which(self, path):
        """The cert_table name of the certificate a node path holds."""
        return (distro_nodes.cert_which(self, path)
                or os.path.splitext(path[len("/etc/kubernetes/pki/"):])[0])

    # ---- file content for a fixture path
    def content_for(self, path, entry):
        b = self.b
        if "content" in entry:
            text = self.sub(entry["content"])
            if entry.get("redacted"):
                # The node holds real secrets; the collector redacts them.
                text = text.replace("<redacted>", base64.b64encode(os.urandom(32)).decode())
            return text
        if k3s_node.is_k3s(self.facts):
            text = k3s_node.content(self, path, entry)
            if text is not None:
                return text
            return f"# kubeharden lab: placeholder for {path}\n"
        text = distro_nodes.content(self, path, entry, read, kubeconfig)
        if text is not None:
            return text
        base = os.path.basename(path)
        if path.startswith("/var/lib/kubelet/pki/kubelet-client-") and path.endswith(".pem"):
            return self.kubelet_client_store(path)
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
        k = self.kubelet_serving()
        if k and path in (k["path"], k["key_path"]):
            return read(k["host_copy"] if path == k["path"] else k["host_key"])
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
            return PROXY_KUBECONFIG.format(server=server)
        fixed = {
            "/usr/lib/systemd/system/kubelet.service": KUBELET_SERVICE,
            "/lib/systemd/system/kubelet.service": KUBELET_SERVICE,
            "/etc/systemd/system/kubelet.service": KUBELET_SERVICE,
            "/etc/cni/net.d/10-flannel.conflist": FLANNEL,
            "/etc/kubernetes/admission.yaml": ADMISSION,
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
            if e.get("inside"):
                # read inside a container: it goes in the container's root
                self.inside.setdefault(e["inside"]["component"], {})[path] = e
                continue
            if not e.get("exists"):
                continue
            if path.startswith("/lib/") and os.path.islink("/lib"):
                # Merged /usr: /lib is the host's link to usr/lib, so this is
                # the /usr/lib file by another path, as the fixture says
                # (same device and inode).
                twin = files.get("/usr" + path, {})
                if not (twin.get("exists") and twin.get("dev_ino") and
                        twin.get("dev_ino") == e.get("dev_ino")):
                    raise SystemExit(f"{self.name}: {path} exists in the fixture but is not "
                                     f"/usr{path}; on this merged-/usr host it can only be that")
                continue
            if path.startswith("/lib/"):
                self.differences.append(
                    f"{path}: this host is split-/usr, so the node has a copy of /usr{path} "
                    "there, another file (another device:inode)")
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

    def kubelet_client_store(self, path):
        """A file of the kubelet's rotating client-certificate store, as
        client-go's certificate_store.go writes it: the certificate the
        cluster CA signed for system:node:<name>, then its key, in
        kubelet-client-<time>.pem; kubelet-client-current.pem is the newest.
        Each certificate was issued at the time its name carries (read as an
        age before FIXTURE_NOW, kept on the lab's clock, like build_mtimes)
        and is valid for a year (kube-controller-manager's
        --cluster-signing-duration default, 8760h)."""
        import calendar
        dated = sorted(p for p in self.facts["files"]
                       if os.path.basename(p).startswith("kubelet-client-2"))
        target = dated[-1] if path.endswith("-current.pem") else path
        stamp = os.path.basename(target)[len("kubelet-client-"):-len(".pem")]
        issued = calendar.timegm(time.strptime(stamp, "%Y-%m-%d-%H-%M-%S"))
        age = (FIXTURE_NOW - issued) // 86400 + int(time.time() - FIXTURE_NOW) // 86400
        out = os.path.join(self.pki_dir, "khlab", os.path.basename(target)[:-len(".pem")])
        if not os.path.exists(out + ".crt"):
            self.b.pki.serving(out, "ca", f"/O=system:nodes/CN=system:node:{self.fnode}", None,
                               -age, 365 - age, eku="clientAuth")
        return read(out + ".crt") + read(out + ".key")

    def build_mtimes(self):
        """File times, as a node's files carry them: a fixture's `mtime` is
        when the file last changed, judged at FIXTURE_NOW (the time the
        fixture tests evaluate at); the lab keeps its age on the lab's
        clock, like `touch -d '<age> ago'`, so a scan now sees the age the
        fixture means (an encryption config unchanged for a year, an
        sa.key from `kubeadm init`)."""
        now = time.time()
        for path, e in sorted((self.facts or {}).get("files", {}).items()):
            if "mtime" not in e or not e.get("exists") or e.get("inside"):
                continue
            hp = self.host(path)
            if not os.path.lexists(hp):
                raise SystemExit(f"{self.name}: {path} has an mtime in the fixture but was not built")
            t = now - (FIXTURE_NOW - e["mtime"])
            run("touch", "-h", "-d", "@%d" % int(t), hp)

    def build_whiteouts(self):
        """Paths the fixture says are absent, files it says are inside a
        container (so not on the host), and etcd's data dir on nodes that
        have no etcd, must not show through from the host: an overlay
        whiteout (a 0/0 character device) in the node's layer hides them."""
        absent = [p for p, e in self.facts["files"].items()
                  if not e.get("exists") or e.get("inside")]
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
        fixture directories) and every regular file outside them. Whiteouts
        only live in the overlay layer."""
        cands = {p for p in self.opaque_dirs()
                 if os.path.isdir(self.host(p)) and not os.path.islink(self.host(p))}
        if self.facts:
            # (not the /lib ones of a merged-/usr host, nor those in a
            # container: they are not in root/)
            cands |= {p for p, e in self.facts["files"].items()
                      if e.get("exists") and e.get("kind") == "dir"
                      and os.path.isdir(self.host(p)) and not os.path.islink(self.host(p))}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = dirpath[len(self.root):] or "/"
            for f in filenames:
                hp = os.path.join(dirpath, f)
                if os.path.isfile(hp) and not os.path.islink(hp):
                    cands.add(os.path.join(rel, f))
        roots = []
        for p in sorted(cands):
            if not any(p.startswith(r + "/") for r in roots):
                roots.append(p)
        return roots

    def build_containers(self):
        """Components that run in a container of their own: the fixture says
        so (`own_root`), and names the files read inside it. kube-proxy: its
        ConfigMap is a configMap volume the kubelet lays out under the pod's
        directory as AtomicWriter does (pkg/volume/util/atomic_writer.go:
        the files in a `..<timestamp>` directory (0755), `..data` a link to
        it, each name a link into `..data`; the volume directory itself is
        an emptyDir's, 0777), and the container sees that directory at
        /var/lib/kube-proxy. Nothing is at /var/lib/kube-proxy on the host."""
        for kind, c in sorted(self.facts.get("components", {}).items()):
            if not (c.get("running") and c.get("own_root")):
                continue
            if kind not in CONTAINER_MOUNTS:
                raise SystemExit(f"{self.name}: the lab has no container for {kind}")
            mount, plugin, volume = CONTAINER_MOUNTS[kind]
            files = self.inside.get(kind, {})
            wrong = [p for p in files if os.path.dirname(p) != mount]
            if wrong:
                raise SystemExit(f"{self.name}: {wrong}: not in {kind}'s volume {mount}")
            h = hashlib.sha256(f"{self.name}/{kind}".encode()).hexdigest()
            pod = f"/var/lib/kubelet/pods/{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
            self.mkdir(pod, 0o750)
            self.mkdir(pod + "/volumes", 0o750)
            self.mkdir(f"{pod}/volumes/{plugin}", 0o755)
            vol = f"{pod}/volumes/{plugin}/{volume}"
            self.mkdir(vol, 0o777)
            ts = "..2026_11_24_08_58_31.1402339715"
            self.mkdir(f"{vol}/{ts}", 0o755)
            os.symlink(ts, self.host(f"{vol}/..data"))
            for path, e in sorted(files.items()):
                if not e.get("exists"):
                    continue
                name = os.path.basename(path)
                self.write(f"{vol}/{ts}/{name}", self.content_for(path, e),
                           int(e.get("mode", "0644"), 8), e.get("uid", 0), e.get("gid", 0))
                os.symlink(f"..data/{name}", self.host(f"{vol}/{name}"))
            cid = hashlib.sha256(f"{self.name}/{kind}/container".encode()).hexdigest()
            self.containers[kind] = (CONTAINER_ROOT.format(id=cid), vol, mount)

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
""" + (f"ForceCommand exec {LOGIN_GATE}\n" if self.kind == "forcecommand" else ""), 0o644)
        if self.kind == "forcecommand":
            self.write(LOGIN_GATE, LOGIN_GATE_SCRIPT, 0o755)
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
        if k3s_node.is_k3s(self.facts):
            return k3s_node.spawn(self)
        lines = []
        exp = {}
        for kind, c in sorted(self.facts.get("components", {}).items()):
            if not c.get("running"):
                continue
            argv = [self.sub(a) for a in c["argv"]]
            env = {k: self.sub(v) for k, v in c.get("env", {}).items()}
            exp[kind] = {"argv": argv, "env": env}
            envs = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))
            if kind in self.containers:
                # Its own mount namespace and root: the statically linked
                # stub under the argv[0] path in a root of its own, the
                # volume bind-mounted where the DaemonSet mounts it.
                croot, vol, mount = self.containers[kind]
                q = shlex.quote
                # hostPath mounts of single files, at their own paths
                binds = distro_nodes.host_binds(self, kind)
                self.container_files += [(croot, p) for p in binds]
                pre = "".join(f'mount --bind {p} \"$r\"{p} && ' for p in binds)
                lines.append(
                    f"( cd / && exec env -i PATH={PATH_ENV} HOME=/root {envs} unshare --mount -- "
                    "/bin/sh -c 'v=$1 r=$2 m=$3; shift 3; mount --bind \"$v\" \"$r$m\" && "
                    f"{pre}cd \"$r\" && exec chroot \"$r\" \"$@\"' khlab-container "
                    f"{q(vol)} {q(croot)} {q(mount)} " + " ".join(q(a) for a in argv)
                    + " ) </dev/null >&5 2>&5 9>&- &")
                self.container_skeletons.append((croot, self.stub_path(argv[0]), mount))
                continue
            if kind == "etcd":
                binary = "/usr/bin/etcd"
            else:
                binary = self.stub_path(argv[0])
                self.copy(self.b.stub, binary, 0o755)
            log = "4" if kind == "etcd" else "5"
            lines.append(
                f"( cd / && exec env -i PATH={PATH_ENV} HOME=/root {envs} "
                f"/run/khlab/khlab-helper exec {shlex.quote(binary)} "
                + " ".join(shlex.quote(a) for a in argv)
                + f" ) </dev/null >&{log} 2>&{log} 9>&- &")
            if kind == "apiserver" and self.name in APISETS and not distro_nodes.is_distro(self):
                continue  # khlab-apiserver serves :6443 (write_init starts it)
            if kind == "apiserver":
                crt = shlex.quote(flag_value(argv, "tls-cert-file") or "/etc/kubernetes/pki/apiserver.crt")
                key = shlex.quote(flag_value(argv, "tls-private-key-file") or "/etc/kubernetes/pki/apiserver.key")
                lines.append(
                    f"if [ -f {crt} ] && [ -f {key} ]; then\n"
                    "  ( cd / && exec openssl s_server -quiet -www -accept 6443 "
                    f"-cipher {go_ciphers(any(a.startswith('--tls-cipher-suites') for a in argv))} "
                    f"-cert {crt} -key {key}"
                    " ) </dev/null >&5 2>&5 9>&- &\nfi")
        # a distribution's supervisor (rke2): a stub with its argv, so its
        # comm and command line are the real thing's
        for argv in distro_nodes.supervisors(self):
            self.copy(self.b.stub, argv[0], 0o755)
            lines.append(
                f"( cd / && exec env -i PATH={PATH_ENV} HOME=/root "
                f"/run/khlab/khlab-helper exec {shlex.quote(argv[0])} "
                + " ".join(shlex.quote(a) for a in argv)
                + " ) </dev/null >&5 2>&5 9>&- &")
        self.expected_components = exp
        return lines

    # ---- network: listeners, their certificates, the firewall
    def component_argv(self, kind):
        c = (self.facts or {}).get("components", {}).get(kind)
        if not c or not c.get("running"):
            return None
        return [self.sub(a) for a in c["argv"]]

    def file_text(self, path):
        e = (self.facts or {}).get("files", {}).get(path, {})
        return e.get("content") if e.get("exists") else None

    def kubelet_conf(self):
        """The kubelet settings the listeners follow, from its argv, config
        file and drop-ins (flags win), or None without a running kubelet."""
        argv = self.component_argv("kubelet")
        if not argv:
            return None
        files = self.facts["files"]
        texts = [self.file_text(flag_value(argv, "config") or "")]
        cdir = flag_value(argv, "config-dir")
        if cdir:
            texts += [self.file_text(p) for p in sorted(files)
                      if os.path.dirname(p) == cdir and p.endswith(".conf")]
        conf = {}
        for t in filter(None, texts):
            for key in ("readOnlyPort", "healthzBindAddress", "healthzPort", "address",
                        "serverTLSBootstrap", "tlsCertFile", "tlsPrivateKeyFile"):
                v = yaml_value(t, key)
                if v is not None:
                    conf[key] = self.sub(v)
            m = re.search(r"^authentication:\s*\n(?:[ \t]+.*\n)*?[ \t]+anonymous:\s*\n"
                          r"[ \t]+enabled:[ \t]*(\w+)", t, re.M)
            if m:
                conf["anonymous"] = m.group(1)
        for key, flag in (("readOnlyPort", "read-only-port"), ("address", "address"),
                          ("anonymous", "anonymous-auth"), ("healthzPort", "healthz-port"),
                          ("healthzBindAddress", "healthz-bind-address"),
                          ("tlsCertFile", "tls-cert-file"), ("tlsPrivateKeyFile", "tls-private-key-file"),
                          ("certDir", "cert-dir")):
            v = flag_value(argv, flag)
            if v is not None:
                conf[key] = v
        return conf

    def kubelet_serving(self):
        """The kubelet's serving certificate, made once: a dict with the node
        paths of the certificate and key ("path", "key_path"), their host
        copies, the lowest TLS version, and what network.json says of it.
        Where it lives is decided as InitializeTLS decides (see KUBELET_TLS);
        None without a kubelet."""
        if self._kubelet is not False:
            return self._kubelet
        conf = self.kubelet_conf()
        if conf is None:
            self._kubelet = None
            return None
        issuer, nb, na, status, min_tls = KUBELET_TLS[(self.scenario, self.fnode)]
        cert_dir = (conf.get("certDir") or "/var/lib/kubelet/pki").rstrip("/")
        if conf.get("serverTLSBootstrap") == "true":
            path = f"{TLS_DIR}/kubelet.crt"
            key_path = f"{TLS_DIR}/kubelet.key"
        elif conf.get("tlsCertFile"):
            path, key_path = conf["tlsCertFile"], conf.get("tlsPrivateKeyFile")
        else:
            path, key_path = f"{cert_dir}/kubelet.crt", f"{cert_dir}/kubelet.key"
        out = os.path.join(self.pki_dir, "khlab", "kubelet")
        if issuer == "self-generated":
            # nodeutil.GetHostname: the node's hostname (the lab sets it to
            # the node name), lowercased; no alternate names
            crt, key, meta = self.b.pki.client_go_pair(out, self.name.lower())
            entry = dict(meta, issuer="self-generated")
        else:
            host_sans = [f"DNS:{self.fnode}", f"DNS:{self.name}", "DNS:localhost", f"IP:{self.ip}",
                         "IP:127.0.0.1"]
            subj = f"/O=system:nodes/CN=system:node:{self.fnode}"
            crt, key = self.b.pki.serving(out, issuer, subj, host_sans, nb, na)
            entry = {"issuer": "cluster-ca", "subject": subj, "not_before": iso_time(nb),
                     "not_after": iso_time(na)}
        entry.update(status=status, sha256=cert_sha256(crt), host_copy=crt)
        self._kubelet = {"path": path, "key_path": key_path, "host_copy": crt, "host_key": key,
                         "min_tls": min_tls, "entry": entry}
        return self._kubelet

    def listen(self, component, port, bind, protocol, served_by, cert=None, min_tls=None,
               client_cert=None, routes=None, note=None, garbage=None, **extra):
        """Records a listener for network.json; netserve ones are also served."""
        local = bind in ("127.0.0.1", "::1")
        reach = [bind] if bind != "*" else [self.ip, "127.0.0.1", "::1"]
        l = {"component": component, "port": port, "address": bind, "reachable_on": reach,
             "protocol": protocol, "served_by": served_by,
             "min_tls": min_tls, "cert": cert,
             "cert_status": self.certs.get(cert, {}).get("status") if cert else None,
             "cert_sha256": self.certs.get(cert, {}).get("sha256") if cert else None,
             "client_cert_required": (client_cert == "required") if protocol == "tls" else None,
             "client_cert_requested": (client_cert in ("optional", "required"))
             if protocol == "tls" else None,
             "http": {p: {"anonymous": r["anonymous"][0], "client_cert": r["authenticated"][0]}
                      for p, r in (routes or {}).items()},
             "reachable_from_workers": not local}
        l.update(extra)
        if note:
            l["note"] = note
        self.listeners.append(l)
        if served_by == "khlab-netserve":
            tls = None
            if protocol == "tls":
                # As a Go server would: Go's default TLS 1.2 suites, or
                # only the strong ones when the fixture configures them
                # (the hardened kubelet's tlsCipherSuites).
                strong = component == "kubelet" and (self.scenario or "").endswith("hardened")
                tls = {"cert": cert, "key": cert[:-4] + ".key", "min_version": min_tls,
                       "client_ca": f"{TLS_DIR}/ca.crt", "client_cert": client_cert,
                       "ciphers": go_ciphers(strong)}
            served = {"name": component, "bind": bind, "port": port, "tls": tls,
                      "routes": routes or {}}
            if garbage:
                # answers non-HTTP input with Go's 400 at once (netserve.py)
                served["garbage"] = garbage
                l["on_client_hello"] = "400 Bad Request at once"
            elif protocol == "http":
                l["on_client_hello"] = "silent (waits for a request head, as Go's net/http)"
            self.netserve.append(served)
        return l

    def build_network(self):
        self.build_listeners()
        for l in self.listeners:
            self.judge(l)

    def build_apiserver(self, argv, cert):
        """:6443 served by khlab-apiserver (lib/apiserver.py) with the
        node's object set: its config, the auditor's kubeconfig, and the
        listener for network.json, whose answers follow the API server's
        authentication and authorization flags."""
        b = self.b
        files = self.facts["files"]
        anon, modes = apiserver_auth(argv, files)
        strong = any(a.startswith("--tls-cipher-suites") for a in argv)
        key = flag_value(argv, "tls-private-key-file")
        ca = flag_value(argv, "client-ca-file")
        fp_ca = read(b.pki.cas["front-proxy-ca"][0])
        ca_pem = read(b.pki.cas["ca"][0])
        server = f"https://{self.ip}:6443"
        cluster_info = "\n".join(kubeconfig(b.pki.cas["ca"][0], server, "x").split("\n")[:6]) + \
            "\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n"
        self.apiserver = {
            "set": APISETS[self.name], "sets_dir": "/run/khlab/apisets", "bind": "*", "port": 6443,
            "tls": {"cert": cert, "key": key, "client_ca": ca, "ciphers": go_ciphers(strong)},
            "anonymous": anon, "authorizers": modes,
            "placeholders": {"@@KHLAB_CLUSTER_CA@@": ca_pem, "@@KHLAB_FRONT_PROXY_CA@@": fp_ca,
                             "@@KHLAB_CLUSTER_INFO@@": cluster_info},
            "server_address": f"{self.ip}:6443", "log": "/run/khlab/apiserver.log"}
        crt, k = b.pki.auditor
        self.write(AUDITOR_KUBECONFIG, kubeconfig(b.pki.cas["ca"][0], server, AUDITOR, crt, k), 0o600)

        def anonymous(path, allowed):
            if not anon["enabled"] or (anon["paths"] is not None and path not in anon["paths"]):
                return 401
            if "AlwaysAllow" in modes:
                return 200
            return 200 if allowed else 403
        ok = [200, "application/json", ""]
        routes = {}
        # system:public-info-viewer lets system:unauthenticated get these
        for p, public in (("/version", True), ("/healthz", True), ("/api/v1/pods", False),
                          ("/apis/rbac.authorization.k8s.io/v1/clusterroles", False)):
            routes[p] = route([anonymous(p, public), "application/json", ""], ok)
        self.listen("apiserver", 6443, "*", "tls", "khlab-apiserver", cert=cert, min_tls="TLSv1.2",
                    client_cert="optional", routes=routes, apiset=APISETS[self.name],
                    request_log=os.path.join(self.dir, "apiserver.log"),
                    note=f"khlab-apiserver serving the object set {APISETS[self.name]} "
                         f"(authorizers {','.join(modes)}; anonymous "
                         f"{'off' if not anon['enabled'] else 'on' if anon['paths'] is None else 'only on ' + ' '.join(anon['paths'])})")

    def build_listeners(self):
        """The node's listeners (the stand-ins khlab-netserve serves, and
        what sshd, etcd and openssl s_server already serve), the serving
        certificates (the kubelet's kubelet.crt, the in-memory pairs'
        stand-ins under /etc/khlab/tls), and on hardened control planes the
        iptables rules that keep workers away from etcd."""
        b, ip = self.b, self.ip
        if self.kind == "forcecommand":
            self.listen("sshd", 22, ip, "plain", "sshd", service="ssh",
                        note=f"ForceCommand: every login runs {LOGIN_GATE}, which never "
                             "runs the client's command and never returns")
        elif self.kind in SSHD_KINDS:
            self.listen("sshd", 22, ip, "plain", "sshd", service="ssh")
        elif self.kind == "hang":
            self.listen("sshd", 22, ip, "plain", "khlab-helper hang", service="silent",
                        note="accepts and never sends a byte")
        elif self.kind == "dropped":
            self.build_drop_firewall()
        if not self.facts:
            return
        self.mkdir("/etc/khlab", 0o755)
        self.mkdir(TLS_DIR, 0o755)
        self.opaque.add("/etc/khlab")
        self.write(f"{TLS_DIR}/ca.crt", read(b.pki.cas["ca"][0]), 0o644)
        if k3s_node.is_k3s(self.facts):
            k3s_node.listeners(self)
            return

        # -- the API server: openssl s_server on :6443 (made by build_components)
        files = self.facts["files"]
        api = self.component_argv("apiserver") or []
        path = flag_value(api, "tls-cert-file")
        if api and all(files.get(p or "", {}).get("exists")
                       for p in (path, flag_value(api, "tls-private-key-file"))):
            self.certs[path] = {"issuer": "cluster-ca", "subject": "/CN=kube-apiserver",
                                "status": "valid",
                                "sha256": cert_sha256(self.cert("apiserver")[0]),
                                "host_copy": self.cert("apiserver")[0]}
            if self.name in APISETS:
                self.build_apiserver(api, path)
            else:
                self.listen("apiserver", 6443, "*", "tls", "openssl", cert=path, min_tls="TLSv1.2",
                            client_cert="none", routes={"/": route([200, "text/html", ""])},
                            note="openssl s_server -www: any GET gets its status page (200)")

        # -- etcd (the real one): its listeners, from its --config-file alone
        # when it has one (etcdmain's config.parse ignores flags and ETCD_*
        # then), else its argv and ETCD_* env
        argv = self.component_argv("etcd")
        if argv:
            env = self.facts["components"]["etcd"].get("env", {})
            cfg_path = flag_value(argv, "config-file") or env.get("ETCD_CONFIG_FILE")
            cfg = etcd_config(self.sub(self.file_text(cfg_path) or "")) if cfg_path else None

            def opt(flag):
                if cfg is not None:
                    return cfg.get(flag)
                v = flag_value(argv, flag)
                return v if v is not None else env.get("ETCD_" + flag.upper().replace("-", "_"))

            def truthy(flag):
                return (opt(flag) or "false").lower() in ("true", "1", "")

            fw = self.scenario == "hardened"
            for flag, what, cert_flag, auth_flag, ca_flag in (
                    ("listen-client-urls", "client", "cert-file", "client-cert-auth", "trusted-ca-file"),
                    ("listen-peer-urls", "peer", "peer-cert-file", "peer-client-cert-auth",
                     "peer-trusted-ca-file"),
                    ("listen-metrics-urls", "metrics", None, None, None)):
                for url in (opt(flag) or "").split(","):
                    m = re.fullmatch(r"(https?)://([^:/]+):(\d+)", url.strip())
                    if not m:
                        continue
                    scheme, addr, port = m.group(1), m.group(2), int(m.group(3))
                    local = addr in ("127.0.0.1", "localhost")
                    extra = {"reachable_from_workers": not local and not fw}
                    if scheme == "http":
                        self.listen(f"etcd-{what}", port, addr, "http", "etcd",
                                    routes={"/health": route([200, JSON, ""])}, **extra)
                        continue
                    cert = opt(cert_flag)
                    if cert and cert not in self.certs:
                        host = self.cert(self.cert_which(cert))[0]
                        self.certs[cert] = {"issuer": "etcd-ca", "status": "valid",
                                            "sha256": cert_sha256(host), "host_copy": host}
                    # etcd asks for a client certificate when --client-cert-auth
                    # is on, and ALSO whenever --trusted-ca-file is set, whatever
                    # --client-cert-auth says (etcd's TLSInfo.ServerConfig)
                    required = truthy(auth_flag) or bool(opt(ca_flag))
                    note = None
                    if what == "client" and required and not truthy(auth_flag):
                        note = ("--client-cert-auth=false, but --trusted-ca-file is set: etcd "
                                "still requires a client certificate in the TLS handshake")
                    if fw and not local:
                        extra["firewall"] = "workers dropped (iptables chain KHLAB-ETCD)"
                    self.listen(f"etcd-{what}", port, addr, "tls", "etcd", cert=cert,
                                min_tls="TLSv1.2", client_cert="required" if required else "none",
                                note=note, **extra)
            self.build_firewall(fw)

        # -- the kubelet: 10250 (TLS), 10248 healthz, 10255 read-only port
        conf = self.kubelet_conf()
        if conf is not None:
            anonymous = conf.get("anonymous", "false") == "true"
            k = self.kubelet_serving()
            cert, min_tls = k["path"], k["min_tls"]
            if cert not in files:
                # not a fixture file (the bootstrap stand-in): written here
                self.write(cert, read(k["host_copy"]), 0o644)
                self.write(k["key_path"], read(k["host_key"]), 0o600)
            self.certs[cert] = k["entry"]
            pods = route([200, JSON, PODLIST] if anonymous else UNAUTHORIZED, [200, JSON, PODLIST])
            bind = bind_of(conf.get("address", "0.0.0.0"))
            self.listen("kubelet", 10250, bind, "tls", "khlab-netserve", cert=cert, min_tls=min_tls,
                        client_cert="optional", routes={"/pods": pods, "/healthz": route(
                            OK if anonymous else UNAUTHORIZED, OK)},
                        anonymous_auth=anonymous)
            hz = int(conf.get("healthzPort", "10248"))
            if hz:
                self.listen("kubelet-healthz", hz, bind_of(conf.get("healthzBindAddress", "127.0.0.1")),
                            "http", "khlab-netserve", routes={"/healthz": route(OK)})
            ro = int(conf.get("readOnlyPort", "0"))
            if ro:
                self.listen("kubelet-read-only", ro, bind, "http", "khlab-netserve",
                            routes={"/pods": route([200, JSON, PODLIST]), "/healthz": route(OK)})

        # -- kube-proxy: metrics 10249, healthz 10256 (plain HTTP)
        argv = self.component_argv("kube-proxy")
        if argv:
            ptext = self.file_text(flag_value(argv, "config") or "")
            for flag, key, default, comp, routes in (
                    ("metrics-bind-address", "metricsBindAddress", "127.0.0.1:10249",
                     "kube-proxy-metrics", {"/metrics": route(METRICS)}),
                    ("healthz-bind-address", "healthzBindAddress", "0.0.0.0:10256",
                     "kube-proxy-healthz", {"/healthz": route([200, JSON, json.dumps(
                         {"lastUpdated": iso_time(0), "currentTime": iso_time(0),
                          "nodeEligible": True}) + "\n"])})):
                v = flag_value(argv, flag) or yaml_value(ptext, key) or default
                # an address alone keeps the default port (kube-proxy's
                # IPPortVar): k3s and RKE2 pass --healthz-bind-address=127.0.0.1
                addr, _, port = v.rpartition(":") if ":" in v else (v, "", "")
                # One plaintext listener answers a ClientHello with Go's 400
                # at once (as Go does when the hello holds a newline); every
                # other one stays silent.
                garbage = "400" if (self.scenario, self.fnode, comp) == ("misconfigured", "w1",
                                                      "kube-proxy-metrics") else None
                self.listen(comp, int(port or default.rsplit(":", 1)[1]), bind_of(addr or "0.0.0.0"),
                            "http", "khlab-netserve", routes=routes, garbage=garbage)

        # -- misconfigured-cp1: a `kubectl proxy --port=8080` left running by
        # an administrator. kubectl proxy (k8s.io/kubectl/pkg/proxy, Go
        # net/http) listens on 127.0.0.1 by default and forwards every
        # request to the API server with the admin kubeconfig's
        # credentials: an unauthenticated API on the node, as the insecure
        # port (--insecure-port, removed in 1.24) was.
        if (self.scenario, self.fnode) == ("misconfigured", "cp1"):
            paths = json.dumps({"paths": ["/api", "/apis", "/healthz", "/livez", "/readyz",
                                          "/version"]}) + "\n"
            self.listen("insecure-api-proxy", 8080, "127.0.0.1", "http", "khlab-netserve",
                        routes={"/": route([200, JSON, paths]),
                                "/api": route([200, JSON, json.dumps(
                                    {"kind": "APIVersions", "versions": ["v1"]}) + "\n"])},
                        note="stands in for `kubectl proxy --port=8080` with the admin "
                             "kubeconfig: the whole API, unauthenticated, on loopback")

        # -- controller-manager 10257, scheduler 10259 (TLS, self-served)
        for comp, port in (("controller-manager", 10257), ("scheduler", 10259)):
            argv = self.component_argv(comp)
            if not argv:
                continue
            bind_addr = flag_value(argv, "bind-address") or "0.0.0.0"
            bind = bind_of(bind_addr)
            named = flag_value(argv, "tls-cert-file")
            if named:
                # the file --tls-cert-file names, which the fixture lists
                # (misconfigured: issued by the rogue CA)
                which = self.cert_which(named)
                ca, subj = self.cert_table()[which][:2]
                host = self.cert(which)[0]
                self.certs[named] = {"issuer": {"ca": "cluster-ca"}.get(ca, ca), "subject": subj,
                                     "status": "untrusted-ca" if ca == "rogue-ca" else "valid",
                                     "sha256": cert_sha256(host), "host_copy": host}
                cert = named
            else:
                # No --tls-cert-file, no --cert-dir: the controller-manager's
                # and scheduler's Config() call
                # MaybeDefaultWithSelfSignedCerts("localhost", nil, [127.0.0.1]),
                # which adds "localhost" to the DNS names when the bind address
                # is unspecified, else the bind address to the IPs, and keeps
                # the pair in memory (dynamiccertificates.NewStaticCertKeyContent,
                # so the CA is sent after the leaf). The stand-in needs files:
                # TLS_DIR, which nothing of Kubernetes reads.
                unspecified = bind == "*"
                crt, key, meta = b.pki.client_go_pair(
                    os.path.join(self.pki_dir, "khlab", comp), "localhost",
                    ["127.0.0.1"] + ([] if unspecified else [bind_addr]),
                    ["localhost"] if unspecified else [])
                cert = f"{TLS_DIR}/{comp}.crt"
                self.write(cert, read(crt), 0o644)
                self.write(f"{TLS_DIR}/{comp}.key", read(key), 0o600)
                self.certs[cert] = dict(meta, issuer="self-generated", status="self-generated",
                                        in_memory=True, sha256=cert_sha256(crt), host_copy=crt)
            self.listen(comp, port, bind, "tls", "khlab-netserve", cert=cert, min_tls="TLSv1.2",
                        client_cert="optional",
                        routes={"/healthz": route(OK), "/metrics": route(FORBIDDEN, METRICS)})

    def judge(self, l):
        """The verdict a network check should reach on a listener."""
        f = []
        comp, local = l["component"], l["address"] in ("127.0.0.1", "::1")
        if l["component"] == "sshd":
            l.update(findings=[], verdict="info", related_checks=[])
            return
        if l["protocol"] == "tls":
            if l["cert_status"] in CERT_FINDING:
                f.append(CERT_FINDING[l["cert_status"]])
            if l["min_tls"] in ("TLSv1", "TLSv1.1"):
                f.append("tls-legacy-version")
        if comp == "kubelet" and l["http"].get("/pods", {}).get("anonymous") == 200:
            f.append("anonymous-access")
        if comp == "kube-proxy-metrics" and not local:
            f.append("plaintext-exposed")
        # the read-only port and an unauthenticated API on 8080 fail
        # wherever they listen, loopback included
        if comp == "kubelet-read-only":
            f.append("plaintext-exposed")
        if comp == "insecure-api-proxy":
            f.append("insecure-api-port")
        if comp in ("controller-manager", "scheduler") and not local:
            f.append("bound-all-addresses")
        if comp.startswith("etcd") and l["reachable_from_workers"]:
            f.append("reachable-from-workers")
        related = {("kubelet", "anonymous-access"): "4.2.1",
                   ("kubelet-read-only", "plaintext-exposed"): "4.2.4",
                   ("kube-proxy-metrics", "plaintext-exposed"): "4.3.1",
                   ("controller-manager", "bound-all-addresses"): "1.3.7",
                   ("scheduler", "bound-all-addresses"): "1.4.2"}
        sev = [SEVERITY[x] for x in f]
        l["findings"] = f
        l["verdict"] = "fail" if "fail" in sev else "warn" if "warn" in sev else "pass"
        l["related_checks"] = sorted({related[(comp, x)] for x in f if (comp, x) in related})

    def build_firewall(self, block):
        """iptables in the node's netns: on hardened control planes, only
        the node itself, loopback and the lab host reach etcd (2379, 2380);
        every other lab address (all workers) is dropped."""
        subnet = f"10.231.{self.b.lab_id}.0/24"
        host = f"10.231.{self.b.lab_id}.1"
        rules = []
        if block:
            rules = ["-N KHLAB-ETCD",
                     "-A INPUT -p tcp -m tcp --dport 2379 -j KHLAB-ETCD",
                     "-A INPUT -p tcp -m tcp --dport 2380 -j KHLAB-ETCD",
                     "-A KHLAB-ETCD -i lo -j RETURN",
                     f"-A KHLAB-ETCD -s {self.ip}/32 -j RETURN",
                     f"-A KHLAB-ETCD -s {host}/32 -j RETURN",
                     f"-A KHLAB-ETCD -s {subnet} -j DROP"]
        policies = ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"]
        # `iptables -S` lists the chains first, then the rules
        self.firewall = {
            "tool": "iptables", "table": "filter", "rules": rules,
            "iptables_S": policies + [r for r in rules if r.startswith("-N")]
            + [r for r in rules if r.startswith("-A")],
            "ports": [2379, 2380] if block else [],
            "allowed": ["lo", f"{self.ip} (the node)", f"{host} (the lab host)"] if block else ["all"],
            "blocked": f"{subnet}: every other lab address (all workers, fault and bench "
                       "nodes, the other scenarios' nodes)" if block else None,
        }

    def build_drop_firewall(self):
        """iptables in fault-dropped's netns: every TCP SYN to port 22 is
        dropped (DROP, not REJECT), so a connect gets no answer at all and
        times out, as behind a firewall or a security group that silently
        discards, or towards an address where no host answers."""
        rules = ["-A INPUT -p tcp -m tcp --dport 22 -j DROP"]
        self.firewall = {
            "tool": "iptables", "table": "filter", "rules": rules,
            "iptables_S": ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"] + rules,
            "ports": [22], "allowed": [],
            "blocked": "every address: TCP to port 22 is dropped, a connect times out",
        }

    def expected(self):
        files = {}
        for p, e in (self.facts["files"] if self.facts else {}).items():
            e = dict(e)
            if "content" in e:
                e["content"] = self.sub(e["content"])
            files[p] = e
        return {
            "name": self.name,
            # "inside" entries are checked through the component's
            # /proc/<pid>/root, and must not be on the node's host
            "files": files,
            "components": getattr(self, "expected_components", {}),
            # a supervisor that runs the components inside itself (k3s)
            "processes": getattr(self, "expected_processes", []),
            # real etcd fills its data dir: these entries are not compared
            "volatile": ["/var/lib/etcd/member/", "/var/lib/rancher/k3s/server/db/etcd/member/"],
        }

    def build(self):
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "mnt"), exist_ok=True)
        os.mkdir(self.root)
        os.chmod(self.root, 0o755)
        spawn = []
        if self.facts:
            if k3s_node.is_k3s(self.facts):
                k3s_node.build(self)
            self.build_fixture_files()
            distro_nodes.build_extra(self)
            self.build_containers()
            self.build_whiteouts()
            spawn = self.build_components()
            if "etcd" in self.facts.get("components", {}) and not k3s_node.is_k3s(self.facts):
                self.differences.append(
                    "/var/lib/etcd/member: the real etcd keeps its data there (snap/, wal/), "
                    "so the directory lists more entries than the fixture's []; "
                    "etcd runs as root, so what it creates is root-owned")
                self.differences.append(
                    "node.etcd_version: the lab runs Debian's etcd "
                    f"({self.b.etcd_version or 'unknown'}), not {self.facts['node'].get('etcd_version')}")
        self.build_network()
        if self.netserve:
            with open(os.path.join(self.dir, "netserve.json"), "w") as f:
                json.dump({"listeners": self.netserve}, f, indent=1)
        if self.apiserver:
            with open(os.path.join(self.dir, "apiserver.json"), "w") as f:
                json.dump(self.apiserver, f, indent=1)
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
        self.build_mtimes()
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
exec 6>>"$NODE_DIR/logs/netserve.log"
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
""")
        for croot, binary, mount in self.container_skeletons:
            # a container's root, on the node's /run: its image (the static
            # stub under the component's path) and the volume's mount point
            body.append(f"""mkdir -p "$R"{q(croot + os.path.dirname(binary))} "$R"{q(croot + mount)}
cp {q(b.stub_static)} "$R"{q(croot + binary)}
""")
        for croot, path in self.container_files:
            body.append(f"""mkdir -p "$R"{q(croot + os.path.dirname(path))}
: > "$R"{q(croot + path)}
""")
        if self.netserve:
            body.append(f"""cp {q(b.netserve)} "$R/run/khlab/khlab-netserve.py"
cp "$NODE_DIR/netserve.json" "$R/run/khlab/netserve.json"
""")
        if self.apiserver:
            # the request log is STATE/nodes/<node>/apiserver.log on the
            # host, /run/khlab/apiserver.log in the node (not in its tree)
            body.append(f"""cp {q(b.apiserver)} "$R/run/khlab/khlab-apiserver.py"
cp "$NODE_DIR/apiserver.json" "$R/run/khlab/apiserver.json"
cp -r {q(b.apisets)} "$R/run/khlab/apisets"
: >>"$NODE_DIR/apiserver.log"
: >"$R/run/khlab/apiserver.log"
mount --bind "$NODE_DIR/apiserver.log" "$R/run/khlab/apiserver.log"
""")
        if self.firewall:
            body.append('exec 8>"$NODE_DIR/iptables.txt"\n')
        body.append(f"""cd /
"$HELPER" pivot "$R"
export PATH={PATH_ENV}
""")
        if self.firewall:
            # before etcd starts: no moment where workers reach it
            body += [f"iptables {r}\n" for r in self.firewall["rules"]]
            body.append("iptables -S >&8\nexec 8>&-\n")
        body += [l + "\n" for l in spawn]
        if self.apiserver:
            # the API server's stand-in; it says "ready" once :6443 is bound
            body.append("""mkfifo -m 0600 /run/khlab/apiserver.ready
exec 7<>/run/khlab/apiserver.ready
( cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/python3 -I -B \\
  /run/khlab/khlab-apiserver.py /run/khlab/apiserver.json /run/khlab/apiserver.ready ) \\
  </dev/null >&5 2>&5 3>&- 4>&- 6>&- 7>&- 9>&- &
apipid=$! apiready=
for _ in $(seq 150); do
  part=; read -r -t 0.2 -u 7 part && { apiready+=$part; break; }
  apiready+=$part; kill -0 $apipid
done
[ "$apiready" = ready ]
exec 7>&-
""")
        if self.kind == "hang":
            body.append(f"/run/khlab/khlab-helper hang {self.ip} 22 </dev/null >&3 2>&3 9>&- &\n")
        if sshd:
            body.append("/usr/sbin/sshd -t -f /etc/ssh/sshd_config\n")
            body.append("/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config </dev/null 2>&3 9>&- &\n")
        if self.netserve:
            # the network stand-ins, last (only they get fd 7); init is
            # ready once they have bound every port
            body.append("""mkfifo -m 0600 /run/khlab/netserve.ready
exec 7<>/run/khlab/netserve.ready
( cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/python3 -I -B \\
  /run/khlab/khlab-netserve.py /run/khlab/netserve.json /run/khlab/netserve.ready ) \\
  </dev/null >&6 2>&6 3>&- 4>&- 5>&- 7>&- 9>&- &
netpid=$! netready=
for _ in $(seq 100); do  # a timed-out read keeps what it read so far
  part=; read -r -t 0.2 -u 7 part && { netready+=$part; break; }
  netready+=$part; kill -0 $netpid
done
[ "$netready" = ready ]
exec 7>&-
""")
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
        self.stub_static = os.path.join(self.state, "bin", "khlab-stub-static")
        self.netserve = os.path.join(self.state, "bin", "khlab-netserve.py")
        self.apiserver = os.path.join(self.state, "bin", "khlab-apiserver.py")
        self.apisets = os.path.join(self.state, "bin", "apisets")
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
        shutil.copyfile(os.path.join(LAB_DIR, "netserve.py"), self.netserve)
        shutil.copyfile(os.path.join(LAB_DIR, "apiserver.py"), self.apiserver)
        shutil.copytree(APISETS_DIR, self.apisets, ignore=shutil.ignore_patterns("*.py", "*.md"))
        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            list(ex.map(lambda a: self.pki.ca(*a), [("ca", "kubernetes"),
                                                   ("etcd-ca", "etcd-ca"),
                                                   ("front-proxy-ca", "front-proxy-ca")]))
        # the "wrong CA": same subject as the cluster CA, another key
        self.pki.ec_ca("rogue-ca", "kubernetes")
        # client certificates for probes (selftest.sh, network checks)
        for ca in ("ca", "etcd-ca"):
            self.pki.serving(os.path.join(self.pki.root, f"probe-client-{ca}"), ca,
                             "/O=system:masters/CN=khlab-probe", None, 0, 365, "clientAuth")
        # the `forbidden` set's auditor (CN=kh-auditor, no group)
        self.pki.serving(os.path.join(self.pki.root, AUDITOR), "ca", f"/CN={AUDITOR}", None, 0, 365,
                         "clientAuth")
        self.pki.auditor = tuple(os.path.join(self.pki.root, AUDITOR + e) for e in (".crt", ".key"))
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
                              "sudo": ["auditor", "nopass"],
                              "forcecommand": ["root"]}.get(n.kind, [])
            m["etcd"] = bool(n.facts and "etcd" in n.facts.get("components", {}))
            # where lab.sh checks etcd's health (https://<address>:<port>/health)
            m["etcd_client_port"] = etcd_listen_port(n.facts, n.sub) if m["etcd"] else None
            meta.append(m)
        with open(os.path.join(st, "nodes.json"), "w") as f:
            json.dump(meta, f, indent=2)

        with open(os.path.join(st, "plan.tsv"), "w") as f:
            for n, m in zip(nodes, meta):
                f.write("\t".join([n.name, n.short, n.ip, n.netns, n.veth, n.kind,
                                   "1" if n.kind in SSHD_KINDS else "0",
                                   str(m["etcd_client_port"] or 0)]) + "\n")

        self.write_network(nodes, meta)

        with open(os.path.join(st, "known-differences.txt"), "w") as f:
            f.write("# Where a correct collector run in the lab cannot reproduce the fixture.\n"
                    "# Every node: pids (also those of `inside`), sizes, device:inode numbers\n"
                    "# (dev_ino: equal where the fixture's are), sockets and collected_at; node\n"
                    "# name, address, os, kernel and versions are the lab's (its nodes run on\n"
                    "# this host's kernel and /etc/os-release); in argv, manifest commands and\n"
                    "# file contents 192.168.56.11 / 192.168.56.21 are the lab addresses;\n"
                    "# certificates are the lab's own PKI (the fixtures list none); files the\n"
                    "# fixture marks redacted hold real secrets on the node, which the\n"
                    "# collector must redact back to the fixture's text.\n"
                    "# Below: NODE<TAB>PATH-OR-FIELD: WHY\n")
            for n in nodes:
                for d in n.differences:
                    f.write(f"{n.name}\t{d}\n")

    def write_network(self, nodes, meta):
        """STATE/network.json: every node's listeners, certificates and
        firewall, and the verdict a network check should reach on each."""
        lab = self.lab_id
        out = {
            "lab_id": lab, "subnet": f"10.231.{lab}.0/24", "host_address": f"10.231.{lab}.1",
            "cas": {n: self.pki.cas[n][0] for n in ("ca", "etcd-ca", "front-proxy-ca", "rogue-ca")},
            "client_certs": {"cluster-ca": os.path.join(self.pki.root, "probe-client-ca.crt"),
                             "etcd-ca": os.path.join(self.pki.root, "probe-client-etcd-ca.crt")},
            "verdicts": {"pass": "nothing to report", "warn": "worth a look",
                         "fail": "a real weakness", "info": "not judged (sshd)"},
            "findings": SEVERITY,
            "nodes": [],
        }
        for n, m in zip(nodes, meta):
            roles = n.facts["node"]["roles"] if n.facts and n.kind == "scenario" else ["worker"]
            e = {"name": n.name, "address": n.ip, "kind": n.kind, "roles": roles}
            for k in ("scenario", "copy_of"):
                if k in m:
                    e[k] = m[k]
            e["firewall"] = n.firewall
            e["certs"] = n.certs
            e["listeners"] = n.listeners
            out["nodes"].append(e)
        with open(os.path.join(self.state, "network.json"), "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


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
