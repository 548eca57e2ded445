"""The kubespray and RKE2 lab nodes (tests/fixtures/{kubespray,rke2}-*).

Used by materialize.py, which builds them like every scenario node from
their fixtures; this module knows what lives at these distributions' own
paths, where kubeadm's conventions (which materialize.py follows) do not
hold. Upstream sources are cited in tests/fixtures/gen_kubespray_rke2.py and
tests/lab/README.md ("kubespray and RKE2 nodes").

Nodes are at 10.231.N.200-207, above the bench range (bench-179 is .198),
and built only when named with `--nodes` (they are not in the default set).
"""

import os

# name, short, last octet, kind, scenario, fixture node
NODES = [
    ("kubespray-default-cp1", "ksd-cp1", 200, "scenario", "kubespray-default", "cp1"),
    ("kubespray-default-w1", "ksd-w1", 201, "scenario", "kubespray-default", "w1"),
    ("kubespray-hardened-cp1", "ksh-cp1", 202, "scenario", "kubespray-hardened", "cp1"),
    ("kubespray-hardened-w1", "ksh-w1", 203, "scenario", "kubespray-hardened", "w1"),
    ("rke2-default-cp1", "r2d-cp1", 204, "scenario", "rke2-default", "cp1"),
    ("rke2-default-w1", "r2d-w1", 205, "scenario", "rke2-default", "w1"),
    ("rke2-hardened-cp1", "r2h-cp1", 206, "scenario", "rke2-hardened", "cp1"),
    ("rke2-hardened-w1", "r2h-w1", 207, "scenario", "rke2-hardened", "w1"),
]

# The kubelet's serving certificate (materialize.KUBELET_TLS): kubespray's
# default kubelet sets neither tlsCertFile nor serverTLSBootstrap, so it
# makes its own pair in /var/lib/kubelet/pki; the hardened one has
# serverTLSBootstrap (kubelet_rotate_server_certificates); rke2 issues
# agent/serving-kubelet.crt from its server CA (tlsCertFile).
KUBELET_TLS = {
    ("kubespray-default", "cp1"): ("self-generated", 0, 365, "self-generated", "TLSv1.2"),
    ("kubespray-default", "w1"): ("self-generated", 0, 365, "self-generated", "TLSv1.2"),
    ("kubespray-hardened", "cp1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    ("kubespray-hardened", "w1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    ("rke2-default", "cp1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    ("rke2-default", "w1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    ("rke2-hardened", "cp1"): ("ca", 0, 365, "valid", "TLSv1.2"),
    ("rke2-hardened", "w1"): ("ca", 0, 365, "valid", "TLSv1.2"),
}

KS_SSL = "/etc/kubernetes/ssl"
ETCD_SSL = "/etc/ssl/etcd/ssl"
R = "/var/lib/rancher/rke2"
TLS = f"{R}/server/tls"

# kubespray's units and environment files (roles/etcd/templates/
# etcd-host.service.j2, roles/kubernetes/node/templates/kubelet.service.j2
# and kubelet.env.v1beta1.j2, rendered with the defaults).
ETCD_SERVICE = """[Unit]
Description=etcd
After=network.target

[Service]
Type=notify
User=root
EnvironmentFile=/etc/etcd.env
ExecStart=/usr/local/bin/etcd
NotifyAccess=all
Restart=always
RestartSec=10s
LimitNOFILE=40000

[Install]
WantedBy=multi-user.target
"""

KUBELET_SERVICE = """[Unit]
Description=Kubernetes Kubelet Server
Documentation=https://github.com/GoogleCloudPlatform/kubernetes
After=containerd.service
Wants=containerd.service

[Service]
EnvironmentFile=-/etc/kubernetes/kubelet.env
ExecStart=/usr/local/bin/kubelet \\
		$KUBE_LOGTOSTDERR \\
		$KUBE_LOG_LEVEL \\
		$KUBELET_API_SERVER \\
		$KUBELET_ADDRESS \\
		$KUBELET_PORT \\
		$KUBELET_HOSTNAME \\
		$KUBELET_ARGS \\
		$DOCKER_SOCKET \\
		$KUBELET_NETWORK_PLUGIN \\
		$KUBELET_VOLUME_PLUGIN \\
		$KUBELET_CLOUDPROVIDER
Restart=always
RestartSec=10s

[Install]
WantedBy=multi-user.target
"""

RKE2_SERVICE = """[Unit]
Description=Rancher Kubernetes Engine v2 ({kind})
Documentation=https://github.com/rancher/rke2#readme
Wants=network-online.target
After=network-online.target
Conflicts=rke2-{other}.service

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/usr/local/lib/systemd/system/%N.env
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=/bin/sh -xc '! /usr/bin/systemctl is-enabled --quiet nm-cloud-setup.service'
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/rke2 {kind}
"""


def is_distro(node):
    return bool(node.scenario) and node.scenario.split("-")[0] in ("kubespray", "rke2")


def kubelet_env(node):
    """kubelet.env as kubespray renders it: the kubelet's argv, one
    variable a group."""
    argv = node.component_argv("kubelet") or []
    flags = argv[1:]
    level = [a for a in flags if a.startswith("--v=")]
    addr = [a for a in flags if a.startswith("--node-ip=")]
    host = [a for a in flags if a.startswith("--hostname-override=")]
    rest = [a for a in flags if a not in level + addr + host]
    return (f'KUBE_LOG_LEVEL="{" ".join(level)}"\nKUBELET_ADDRESS="{" ".join(addr)}"\n'
            f'KUBELET_HOSTNAME="{" ".join(host)}"\n\n'
            'KUBELET_ARGS="' + " \\\n".join(rest) + ' "\n'
            'KUBELET_CLOUDPROVIDER=""\n\n'
            "PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")


def etcd_env(node):
    c = node.facts["components"].get("etcd", {})
    lines = [f"{k}={node.sub(v)}" for k, v in c.get("env", {}).items()]
    return "# Environment file for etcd v3.5.16\n" + "\n".join(lines) + "\n"


def cert_which(node, path):
    """The lab certificate (materialize's Node.cert_table name) a file of
    these distributions holds, or None."""
    base = os.path.basename(path)
    if path.startswith(KS_SSL + "/"):
        return os.path.splitext(path[len(KS_SSL) + 1:])[0]
    if path.startswith(ETCD_SSL + "/"):
        stem = base[:-len("-key.pem")] if base.endswith("-key.pem") else base[:-len(".pem")]
        if stem.startswith("member-"):
            return "etcd/server"
        return "apiserver-etcd-client"  # admin-<host>, node-<host>: etcd clients
    if path.startswith(TLS + "/"):
        rel = os.path.splitext(path[len(TLS) + 1:])[0]
        return {
            "serving-kube-apiserver": "apiserver",
            "etcd/server-client": "etcd/server",
            "etcd/peer-server-client": "etcd/peer",
            "etcd/client": "apiserver-etcd-client",
            "client-kube-apiserver": "apiserver-kubelet-client",
            "client-auth-proxy": "front-proxy-client",
            "kube-controller-manager/kube-controller-manager": "kcm-serving",
            "kube-scheduler/kube-scheduler": "scheduler-serving",
            "client-controller": "controller-manager",
            "client-scheduler": "scheduler",
        }.get(rel, "admin" if rel.startswith("client-") else None)
    if path.startswith(f"{R}/agent/"):
        rel = os.path.splitext(base)[0]
        return {"client-kubelet": "kubelet", "client-kube-proxy": "admin"}.get(rel)
    return None


# CAs by file: (lab CA name). RKE2 keeps a server and a client CA; the lab
# has one cluster CA, which stands for both.
CA_FILES = {
    f"{ETCD_SSL}/ca.pem": "etcd-ca", f"{ETCD_SSL}/ca-key.pem": "etcd-ca",
    f"{TLS}/client-ca": "ca", f"{TLS}/server-ca": "ca", f"{TLS}/client-ca.nochain": "ca",
    f"{TLS}/server-ca.nochain": "ca", f"{TLS}/request-header-ca": "front-proxy-ca",
    f"{TLS}/etcd/server-ca": "etcd-ca", f"{TLS}/etcd/peer-ca": "etcd-ca",
    f"{R}/agent/client-ca": "ca", f"{R}/agent/server-ca": "ca",
}


def extra_certs(node):
    """Serving certificates RKE2's controller-manager and scheduler name
    with --tls-cert-file (issued by its server CA, for localhost and
    127.0.0.1: k3s deps.go)."""
    sans = ["DNS:localhost", "IP:127.0.0.1"]
    return {"kcm-serving": ("ca", "/CN=kube-controller-manager", sans, "serverAuth"),
            "scheduler-serving": ("ca", "/CN=kube-scheduler", sans, "serverAuth")}


def content(node, path, entry, read, kubeconfig):
    """The text of a file at one of these distributions' paths, or None
    (materialize's own rules then apply)."""
    if not is_distro(node):
        return None
    b = node.b
    if path.startswith(KS_SSL + "/"):
        # kubeadm's certificatesDir, moved: the same files as
        # /etc/kubernetes/pki holds on a kubeadm node
        return node.content_for("/etc/kubernetes/pki/" + path[len(KS_SSL) + 1:], entry)
    base = os.path.basename(path)
    key = base.endswith((".key", "-key.pem"))
    stem = path[:-len("-key.pem")] + ".pem" if base.endswith("-key.pem") else path
    stem = os.path.splitext(stem)[0]
    if stem in CA_FILES or stem + ".pem" in CA_FILES or path in CA_FILES:
        ca = CA_FILES.get(stem) or CA_FILES.get(stem + ".pem") or CA_FILES[path]
        crt, k = b.pki.cas[ca]
        return read(k if key else crt)
    if path in (f"{TLS}/service.key", f"{TLS}/service.current.key"):
        return read(node.cert("sa")[1])
    if path == "/var/lib/kubelet/pki/kubelet-client-current.pem":
        # The kubelet's certificate manager's pair after its bootstrap
        # (kubespray bootstraps the kubelet with a token): the client
        # certificate the cluster CA signed for system:node:<name>, then its
        # key, in one file (client-go util/certificate/certificate_store.go
        # Update writes the certificate blocks, then the key's).
        crt, k = b.pki.leaf(os.path.join(node.pki_dir, "kubelet-client"), "ca",
                            f"/O=system:nodes/CN=system:node:{node.fnode}")
        return read(crt) + read(k)
    if path == "/var/lib/kubelet/pki/kubelet-server-current.pem":
        # Under serverTLSBootstrap, the serving pair the certificate manager
        # got approved, stored the same way: the certificate the kubelet
        # serves (materialize.kubelet_serving), then its key.
        k = node.kubelet_serving()
        return read(k["host_copy"]) + read(k["host_key"])
    which = cert_which(node, path)
    if which and (path.endswith((".crt", ".key", ".pem"))):
        crt, k = node.cert(which)
        return read(k if key else crt)
    server = f"https://{node.cp_ip}:6443"
    ca_crt = b.pki.cas["ca"][0]
    if path.endswith(".kubeconfig") or path == "/etc/rancher/rke2/rke2.yaml":
        who = os.path.splitext(base)[0]
        which, user = {
            "controller": ("controller-manager", "system:kube-controller-manager"),
            "scheduler": ("scheduler", "system:kube-scheduler"),
            "kubelet": ("kubelet", f"system:node:{node.fnode}"),
        }.get(who, ("admin", "system:admin"))
        crt, k = node.cert(which)
        return kubeconfig(ca_crt, server, user, crt, k)
    fixed = {
        "/etc/kubernetes/kubelet.env": lambda: kubelet_env(node),
        "/etc/etcd.env": lambda: etcd_env(node),
        "/etc/systemd/system/etcd.service": lambda: ETCD_SERVICE,
        "/etc/systemd/system/kubelet.service": lambda: KUBELET_SERVICE,
    }
    if path in fixed:
        return fixed[path]()
    return None


def build_extra(node):
    """What these nodes hold beside their fixture: kubespray's
    /etc/kubernetes/pki link to /etc/kubernetes/ssl; rke2's unit; the
    healthcheck pair lab.sh probes etcd with."""
    if not is_distro(node):
        return
    if node.scenario.startswith("kubespray"):
        node.mkdir_parent("/etc/kubernetes/pki")
        os.symlink("ssl", node.host("/etc/kubernetes/pki"))
    else:
        server = "control-plane" in node.facts["node"]["roles"]
        kind, other = ("server", "agent") if server else ("agent", "server")
        unit = f"/usr/local/lib/systemd/system/rke2-{kind}.service"
        node.write(unit, RKE2_SERVICE.format(kind=kind, other=other), 0o644)
        # what rke2 keeps beside the files the collector reads: the
        # agent's client pairs (kube-proxy's is mounted in its pod)
        for name, which in (("client-kubelet", "kubelet"), ("client-kube-proxy", "admin")):
            crt, key = node.cert(which)
            node.write(f"{R}/agent/{name}.crt", open(crt).read(), 0o644)
            node.write(f"{R}/agent/{name}.key", open(key).read(), 0o600)
    if "etcd" in node.facts.get("components", {}):
        node.cert("etcd/healthcheck-client")


def supervisors(node):
    """The processes the fixture lists beside its components (rke2's):
    (argv) to start as stubs."""
    return [p["argv"] for p in node.facts.get("processes", []) if p.get("argv")]


def host_binds(node, kind):
    """Host files a component's container mounts at their own paths
    (RKE2's static pods: pkg/podtemplate mounts every file an argument
    names with a hostPath): kube-proxy's kubeconfig."""
    if not is_distro(node) or not node.scenario.startswith("rke2") or kind != "kube-proxy":
        return []
    return [f"{R}/agent/kubeproxy.kubeconfig", f"{R}/agent/client-kube-proxy.crt",
            f"{R}/agent/client-kube-proxy.key", f"{R}/agent/server-ca.crt"]


