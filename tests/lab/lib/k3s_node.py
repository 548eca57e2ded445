"""k3s lab nodes (k3s-default-cp1/-w1, k3s-hardened-cp1/-w1): what
materialize.py does differently for a node whose fixture has the k3s
layout (tests/fixtures/gen_k3s.py writes the fixtures, and cites the k3s
sources for what they hold).

- One process runs everything, as k3s does (pkg/daemons/executor/embed.go:
  the API server, controller-manager, scheduler, kubelet and kube-proxy are
  goroutines of the k3s process): its exe is the multicall binary's
  `k3s-server` (or `k3s-agent`) link under /var/lib/rancher/k3s/data/<hash>/bin
  (cmd/k3s/main.go execs it), so its comm is `k3s-server`, and its command
  line is the single string `/usr/local/bin/k3s server`, as gspt leaves it
  (pkg/cli/server: gspt.SetProcTitle hides every flag).
- With embedded etcd (k3s-hardened-cp1, cluster-init) that process IS etcd:
  Debian's real /usr/bin/etcd installed as the k3s-server link, reading only
  server/db/etcd/config (ETCD_CONFIG_FILE; k3s starts its embedded etcd
  from that file, pkg/daemons/executor/etcd.go), so the node's etcd ports
  are served by the k3s-server process, with TLS and client-certificate
  checks, as on a real k3s server. Without it (kine) the process is the
  lab's stub.
- The flags are in the log: k3s under OpenRC writes its output to
  /var/log/k3s.log (k3s-agent.log for an agent; install.sh
  create_openrc_service_file). The file holds an earlier start (other
  flags, which the collector must ignore) and then this start's lines,
  logrus text format, as pkg/daemons/control/server.go and
  pkg/daemons/agent/agent.go write them ("Running kube-apiserver --...").
- Certificates are real: k3s's server/tls layout (deps.go) with the lab's
  CAs standing in for k3s's: server-ca and client-ca are the lab's
  cluster CA, request-header-ca its front-proxy CA, etcd's server-ca and
  peer-ca its etcd CA; every leaf is issued for what k3s issues it for.
- Listeners: the kubelet (10250, serving-kubelet.crt from the server CA,
  10248), kube-proxy (10249, 10256, both on 127.0.0.1: k3s passes
  --healthz-bind-address=127.0.0.1), the API server (6444 on 127.0.0.1,
  serving-kube-apiserver.crt, k3s's strong cipher list), the
  controller-manager and scheduler (10257, 10259, their tls-cert-file,
  Go's default suites) are served by khlab-netserve; etcd by itself.
  k3s's own supervisor port 6443 (its dynamiclistener, whose certificate
  lives in dynamic-cert.json) is not served: known-differences.txt.
"""

import json
import os
import re
import shlex

K3S = "/var/lib/rancher/k3s"
TLS = f"{K3S}/server/tls"
AGENT = f"{K3S}/agent"
DATA_BIN = f"{K3S}/data/4b8a3d2f61e0c97a1d35b0e3c2f17a9e5d6c4b2a1f0e9d8c7b6a5f4e3d2c1b0a/bin"

# the lab CA that stands in for each of k3s's CAs
CA_OF = {
    "server-ca": "ca", "server-ca.nochain": "ca", "client-ca": "ca", "client-ca.nochain": "ca",
    "request-header-ca": "front-proxy-ca", "etcd/server-ca": "etcd-ca", "etcd/peer-ca": "etcd-ca",
}


def is_k3s(facts):
    return bool(facts) and facts.get("layout", {}).get("name") == "k3s"


def supervisor(node):
    return node.facts["processes"][0]


def has_etcd(node):
    return "etcd" in node.facts.get("components", {})


def cert(node, rel):
    """(crt, key) host paths for server/tls/<rel> (without extension) or
    an agent file, issued as k3s issues it."""
    pki = node.b.pki
    if rel in CA_OF:
        return pki.cas[CA_OF[rel]]
    if rel in ("service", "service.current"):
        pub, key = node.cert("sa")
        return pub, key
    name = node.fnode
    ip = node.ip
    host = ["DNS:localhost", f"DNS:{name}", f"DNS:{node.name}", f"IP:{ip}", "IP:127.0.0.1"]
    if rel.startswith("etcd/"):
        table = ("etcd-ca", f"/CN=etcd-{rel[5:]}", host + ["IP:0:0:0:0:0:0:0:1"],
                 "serverAuth,clientAuth")
    elif rel == "serving-kube-apiserver":
        table = ("ca", "/CN=kube-apiserver",
                 ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                  "DNS:kubernetes.default.svc.cluster.local", "IP:10.43.0.1"] + host, "serverAuth")
    elif rel in ("kube-controller-manager/kube-controller-manager", "kube-scheduler/kube-scheduler"):
        table = ("ca", "/CN=" + rel.split("/")[0], ["DNS:localhost", "IP:127.0.0.1"], "serverAuth")
    elif rel.startswith("temporary-certs/"):
        table = ("ca", "/CN=apiserver-loopback-client", ["DNS:apiserver-loopback-client"],
                 "serverAuth")
    elif rel in ("serving-kubelet", "agent/serving-kubelet"):
        table = ("ca", f"/CN={name}", host, "serverAuth")
    elif rel == "client-auth-proxy":
        # the front-proxy client: request-header-ca's (deps.go)
        table = ("front-proxy-ca", "/CN=system:auth-proxy", None, "clientAuth")
    else:
        # client-<name>: client certificates of the client CA
        who = rel.split("/")[-1].replace("client-", "", 1)
        table = ("ca", f"/O=system:masters/CN=system:{who}", None, "clientAuth")
    ca, subj, sans, eku = table
    out = os.path.join(node.pki_dir, "k3s", rel.replace("/", "_"))
    return pki.leaf(out, ca, subj, sans, eku)


def content(node, path, entry):
    """The text of a k3s node's file, or None for materialize's default."""
    m = __import__("materialize")
    base, ext = os.path.splitext(path)
    if path.startswith(TLS + "/") and ext in (".crt", ".key"):
        crt, key = cert(node, base[len(TLS) + 1:])
        return m.read(key if ext == ".key" else crt)
    if path in (f"{AGENT}/serving-kubelet.crt", f"{AGENT}/serving-kubelet.key"):
        crt, key = cert(node, "agent/serving-kubelet")
        return m.read(key if ext == ".key" else crt)
    if path in (f"{AGENT}/client-ca.crt", f"{AGENT}/server-ca.crt"):
        return m.read(node.b.pki.cas["ca"][0])
    kubeconfigs = {
        "/etc/rancher/k3s/k3s.yaml": ("client-admin", "https://127.0.0.1:6443"),
        f"{K3S}/server/cred/admin.kubeconfig": ("client-admin", "https://127.0.0.1:6444"),
        f"{K3S}/server/cred/controller.kubeconfig": ("client-controller", "https://127.0.0.1:6444"),
        f"{K3S}/server/cred/scheduler.kubeconfig": ("client-scheduler", "https://127.0.0.1:6444"),
        f"{AGENT}/kubelet.kubeconfig": ("client-kubelet", "https://127.0.0.1:6444"),
        f"{AGENT}/kubeproxy.kubeconfig": ("client-kube-proxy", "https://127.0.0.1:6444"),
    }
    if path in kubeconfigs:
        which, server = kubeconfigs[path]
        if not has_etcd(node) and node.fnode == "w1":
            # an agent reaches the servers through its load balancer
            server = "https://127.0.0.1:6444"
        crt, key = cert(node, which)
        return m.kubeconfig(node.b.pki.cas["ca"][0], server, which, crt, key)
    if path.endswith("/10-flannel.conflist"):
        return m.FLANNEL
    if path == f"{TLS}/dynamic-cert.json":
        return json.dumps({"kubeharden-lab": "k3s keeps its supervisor's serving pair here"}) + "\n"
    if path.startswith("/var/lib/cni/networks/cbr0/"):
        leaf = os.path.basename(path)
        return "" if leaf == "lock" else f"khlab-container-{leaf}\neth0\n"
    return None


def log_file(node):
    sup = supervisor(node)["name"]
    return "/var/log/k3s-agent.log" if sup == "k3s-agent" else "/var/log/k3s.log"


def log_line(at, msg):
    return 'time="%s" level=info msg="%s"' % (at, msg.replace("\\", "\\\\").replace('"', '\\"'))


def log_text(node):
    """The log k3s wrote: an earlier start with other flags (a kubelet
    with --read-only-port=10255, which the collector must not judge), then
    this start, each component's line in the order k3s starts them."""
    facts = node.facts
    src = facts["node"]["kubernetes_version_source"]
    m = re.search(r" at (\S+): (Starting k3s .*)$", src)
    started_at, started = m.group(1), m.group(2)
    earlier = re.sub(r"v[0-9.]+\+k3s1 \(\w+\)", "v1.31.9+k3s1 (2f0d7a1c)", started)
    lines = [log_line("2026-11-20T17:02:44Z", earlier),
             log_line("2026-11-20T17:02:46Z", "Running kubelet --read-only-port=10255"),
             log_line(started_at, started)]
    comps = facts["components"]
    for kind in ("etcd", "apiserver", "controller-manager", "scheduler", "kubelet", "kube-proxy"):
        c = comps.get(kind)
        if not c:
            continue
        lg = c["logged"]
        if kind == "etcd":
            lines.append(log_line(lg["at"], lg["line"]))
            continue
        args = " ".join(node.sub(a) for a in c["argv"][1:])
        lines.append(log_line(lg["at"], f"{lg['line']} {args}"))
        lines.append(log_line(lg["at"], f"Waiting for {c['argv'][0]} to be ready"))
    return "\n".join(lines) + "\n"


def build(node):
    """Files beyond the fixture's: the log, the multicall binary's link."""
    node.opaque |= {"/var/lib/rancher", "/etc/rancher"}
    node.write(log_file(node), log_text(node), 0o644)
    if has_etcd(node):
        # lab.sh checks etcd's health with this client certificate
        node.cert("etcd/healthcheck-client")


def spawn(node):
    """init.sh lines that start the one k3s process."""
    m = __import__("materialize")
    sup = supervisor(node)
    binary = f"{DATA_BIN}/{sup['name']}"
    env = ""
    if has_etcd(node):
        node.copy("/usr/bin/etcd", binary, 0o755)
        cfg = m.flag_value(node.facts["components"]["etcd"]["argv"], "config-file")
        env = shlex.quote(f"ETCD_CONFIG_FILE={cfg}")
        fd = "4"
    else:
        node.copy(node.b.stub, binary, 0o755)
        fd = "5"
    node.expected_processes = [{"name": sup["name"], "argv": sup["argv"], "exe": binary}]
    node.expected_components = {}
    return [f"( cd {K3S}/server 2>/dev/null || cd /; exec env -i PATH={m.PATH_ENV} HOME=/root {env} "
            f"/run/khlab/khlab-helper exec {shlex.quote(binary)} "
            + " ".join(shlex.quote(a) for a in sup["argv"])
            + f" ) </dev/null >&{fd} 2>&{fd} 9>&- &"]


def listeners(node):
    """The node's listeners (see the module's doc)."""
    m = __import__("materialize")
    strong = m.go_ciphers(True)

    def served(path, rel, status="valid", issuer="cluster-ca"):
        crt = cert(node, rel)[0]
        node.certs[path] = {"issuer": issuer, "status": status, "sha256": m.cert_sha256(crt),
                            "host_copy": crt}

    def tls(component, port, bind, path, rel, ciphers_strong, routes, issuer="cluster-ca"):
        served(path, rel, issuer=issuer)
        node.listen(component, port, bind, "tls", "khlab-netserve", cert=path, min_tls="TLSv1.2",
                    client_cert="optional", routes=routes)
        if ciphers_strong:
            node.netserve[-1]["tls"]["ciphers"] = strong

    comps = node.facts["components"]
    kubelet = comps["kubelet"]["argv"]
    tls("kubelet", 10250, "*", f"{AGENT}/serving-kubelet.crt", "agent/serving-kubelet",
        any(a.startswith("--tls-cipher-suites=") for a in kubelet),
        {"/pods": m.route(m.UNAUTHORIZED, [200, m.JSON, m.PODLIST]),
         "/healthz": m.route(m.UNAUTHORIZED, m.OK)})
    node.listen("kubelet-healthz", 10248, "127.0.0.1", "http", "khlab-netserve",
                routes={"/healthz": m.route(m.OK)})
    node.listen("kube-proxy-metrics", 10249, "127.0.0.1", "http", "khlab-netserve",
                routes={"/metrics": m.route(m.METRICS)})
    node.listen("kube-proxy-healthz", 10256, "127.0.0.1", "http", "khlab-netserve",
                routes={"/healthz": m.route([200, m.JSON, json.dumps(
                    {"lastUpdated": m.iso_time(0), "currentTime": m.iso_time(0),
                     "nodeEligible": True}) + "\n"])})
    if "apiserver" in comps:
        tls("apiserver", 6444, "127.0.0.1", f"{TLS}/serving-kube-apiserver.crt",
            "serving-kube-apiserver", True,
            {"/healthz": m.route(m.UNAUTHORIZED, m.OK), "/": m.route(m.UNAUTHORIZED, m.OK)})
    for comp, port in (("controller-manager", 10257), ("scheduler", 10259)):
        if comp in comps:
            rel = f"kube-{comp}/kube-{comp}"
            tls(comp, port, "127.0.0.1", f"{TLS}/{rel}.crt", rel, False,
                {"/healthz": m.route(m.OK), "/metrics": m.route(m.FORBIDDEN, m.METRICS)})
    if has_etcd(node):
        cfg = m.etcd_config(node.sub(node.file_text(f"{K3S}/server/db/etcd/config")))
        for flag, what, cert_key in (("listen-client-urls", "client", "cert-file"),
                                     ("listen-peer-urls", "peer", "peer-cert-file"),
                                     ("listen-metrics-urls", "metrics", None)):
            for url in cfg.get(flag, "").split(","):
                mm = re.fullmatch(r"(https?)://([^:/]+):(\d+)", url.strip())
                if not mm:
                    continue
                scheme, addr, port = mm.group(1), mm.group(2), int(mm.group(3))
                extra = {"reachable_from_workers": addr not in ("127.0.0.1", "localhost")}
                if scheme == "http":
                    node.listen(f"etcd-{what}", port, addr, "http", "k3s-server (etcd)",
                                routes={"/health": m.route([200, m.JSON, ""])}, **extra)
                    continue
                path = cfg[cert_key]
                served(path, path[len(TLS) + 1:-len(".crt")], issuer="etcd-ca")
                node.listen(f"etcd-{what}", port, addr, "tls", "k3s-server (etcd)", cert=path,
                            min_tls="TLSv1.2", client_cert="required", **extra)
        node.differences.append(
            "sockets 2382: the lab's etcd (Debian's 3.4) has no listen-client-http-urls, "
            "so nothing listens on 127.0.0.1:2382")
    if "apiserver" in comps:
        node.differences.append(
            "sockets 6443: k3s's supervisor port (its dynamiclistener) is not served in the lab; "
            "10258 (k3s's cloud-controller-manager) neither")
    node.build_firewall(False)
