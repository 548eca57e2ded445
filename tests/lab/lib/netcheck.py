#!/usr/bin/env python3
"""Checks every listener of STATE_DIR/network.json over the network, from
inside the lab's network namespaces. Called by tests/lab/selftest.sh.

    netcheck.py STATE_DIR

For each node it picks where to probe from: loopback listeners (and the
firewalled etcd ports) from the node itself, every other listener from a
neighbour (the scenario's other node, kubeadm-default-w1 for a control plane
without a worker of its own; kubeadm-default-cp1 for the copies of its
worker). It writes one bash script per probing node and runs them all at
once with `lab.sh netexec` (the node's network namespace, the host's openssl,
curl and STATE_DIR/pki). One line per listener:

    ok   NODE COMPONENT ADDR:PORT (from PROBE): what was checked
    FAIL NODE COMPONENT ADDR:PORT (from PROBE): what differed

For TLS: the certificate served (sha256 of network.json's cert), the verify
result against the CA that should have signed it (0 valid, 10 expired, 19
for a self-generated pair, whose own CA comes in the chain, or 64 when its
leaf does not name the address, as the kubelet's names only its hostname;
for such a pair also 2 certificates sent, and 0 against its own CA; 20/21
wrong CA, and 0 against the rogue CA),
expiry within 30 days, the lowest TLS version accepted (TLS 1.0 handshake
accepted, or TLS 1.0 and 1.1 refused and 1.2 accepted), whether a client
certificate is requested and whether a TLS 1.2 handshake completes without
one (and with one when it is required), and the HTTP status of each path,
anonymous and with a client certificate. For plain HTTP: the status of each
path, and what a ClientHello gets (silence, as from Go's net/http, or the
one listener's immediate 400). Loopback listeners must refuse connections on the node's address; `*`
listeners must also answer on 127.0.0.1.
"""

import json
import os
import shlex
import subprocess
import sys

LAB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lab.sh")

PRELUDE = r"""
set -u
errs=() did=()
e() { errs+=("$*"); }
d() { did+=("$*"); }
report() { # LABEL
  if [ ${#errs[@]} = 0 ]; then printf 'ok   %s: %s\n' "$1" "$(IFS=,; echo "${did[*]}")"
  else printf 'FAIL %s: %s\n' "$1" "$(IFS=';'; echo "${errs[*]}")"; fi
  errs=() did=()
}
tcp() { timeout 2 bash -c ": <>/dev/tcp/$1/$2" 2>/dev/null; }
hs() { # ADDR PORT ARGS...: does a TLS handshake complete?
  local a=$1 p=$2; shift 2
  timeout 5 openssl s_client -connect "$a:$p" "$@" </dev/null >/dev/null 2>&1
}
code() { # URL CURL-ARGS...: HTTP status
  curl -sk -o /dev/null --max-time 5 -w '%{http_code}' "$@" 2>/dev/null
}
hello() { # ADDR PORT: what a plaintext port answers a ClientHello in 1.5 s
  # (the first line, or "silent"): a TLS 1.2 record header and the start
  # of a ClientHello, binary, without a newline
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03kubeharden-lab-hello-0123456789ab" >&3
    IFS= read -r -t 1.5 line <&3 && printf %s "$line" || echo silent' "$1" "$2" 2>/dev/null | tr -d '\r'
}
"""


def sh(*a):
    return " ".join(shlex.quote(str(x)) for x in a)


def url_host(a):
    return f"[{a}]" if ":" in a else a


def main():
    state = sys.argv[1]
    net = json.load(open(os.path.join(state, "network.json")))
    nodes = net["nodes"]
    names = {n["name"] for n in nodes}
    cas = net["cas"]
    ccert = {k: (v, v[:-4] + ".key") for k, v in net["client_certs"].items()}
    scripts = {}

    def peer_of(n):
        if n.get("scenario"):
            other = n["scenario"] + ("-w1" if n["name"].endswith("-cp1") else "-cp1")
            if other not in names and n["name"].endswith("-cp1"):
                # a control plane without a worker of its own (etcd-config-file)
                other = "kubeadm-default-w1"
        else:
            other = "kubeadm-default-cp1"
        return other if other in names else n["name"]

    for n in nodes:
        for l in n["listeners"]:
            if l["component"] == "sshd":
                continue  # selftest.sh checks sshd and the fault nodes itself
            bind, port = l["address"], l["port"]
            local = bind in ("127.0.0.1", "::1")
            if local or not l["reachable_from_workers"]:
                probe = n["name"]
            else:
                probe = peer_of(n)
            target = n["address"] if bind == "*" else bind
            label = f"{n['name']} {l['component']} {bind}:{port} via {target} (from {probe})"
            s = [f"# {label}"]
            if l["protocol"] == "tls":
                issuer = (n["certs"].get(l["cert"]) or {}).get("issuer", "cluster-ca")
                ca = cas["etcd-ca"] if issuer == "etcd-ca" else cas["ca"]
                cc = ccert["etcd-ca" if issuer == "etcd-ca" else "cluster-ca"]
                need = l["client_cert_required"]
                with_cert = ["-cert", cc[0], "-key", cc[1]] if cc else []
                s.append(f"out=$(timeout 5 openssl s_client -tls1_2 -connect {sh(target + ':' + str(port))} "
                         f"-CAfile {sh(ca)} -verify_ip {sh(target)} {sh(*with_cert) if need else ''} "
                         "</dev/null 2>&1)")
                s.append("fp=$(printf '%s\\n' \"$out\" | openssl x509 -noout -fingerprint -sha256 2>/dev/null"
                         " | tr -d : | tr A-F a-f); fp=${fp#*=}")
                s.append(f"[ \"$fp\" = {sh(l['cert_sha256'])} ] && d 'serves {l['cert']}' "
                         f"|| e 'serves sha256 '\"${{fp:-nothing}}\"', not {l['cert']}'")
                want = {"valid": "0", "expiring-soon": "0", "expired": "10", "self-generated": "19",
                        "untrusted-ca": "2[01]"}[l["cert_status"]]
                sans = ((n["certs"].get(l["cert"]) or {}).get("sans") or "").split(",")
                if l["cert_status"] == "self-generated" and f"IP:{target}" not in sans:
                    # the kubelet's pair names only its hostname: s_client
                    # reports the IP mismatch, found after the untrusted CA
                    want = "64"
                s.append("vc=$(printf '%s\\n' \"$out\" | sed -n 's/^ *Verify return code: \\([0-9]*\\).*/\\1/p' | tail -1)")
                s.append(f"[[ \"$vc\" =~ ^({want})$ ]] && d \"verify $vc\" || e \"verify $vc, want {want}\"")
                if l["cert_status"] == "untrusted-ca":
                    s.append(f"vc=$(timeout 5 openssl s_client -connect {sh(target + ':' + str(port))} "
                             f"-CAfile {sh(cas['rogue-ca'])} -verify_ip {sh(target)} </dev/null 2>&1 "
                             "| sed -n 's/^ *Verify return code: \\([0-9]*\\).*/\\1/p' | tail -1)")
                    s.append("[ \"$vc\" = 0 ] && d 'signed by the rogue CA' || e \"rogue CA verify $vc\"")
                if l["cert_status"] == "self-generated":
                    # client-go's pair: the leaf, then the CA that signed it,
                    # both in the handshake; that CA alone verifies it
                    own = (n["certs"].get(l["cert"]) or {}).get("ca_host_copy")
                    s.append(f"out2=$(timeout 5 openssl s_client -showcerts -connect {sh(target + ':' + str(port))} "
                             f"-CAfile {sh(own)} </dev/null 2>&1)")
                    s.append("nc=$(grep -c 'BEGIN CERTIFICATE' <<<\"$out2\")")
                    s.append("[ \"$nc\" = 2 ] && d 'sends leaf + its CA' || e \"sends $nc certificates, not 2\"")
                    s.append("vc=$(printf '%s\\n' \"$out2\" | sed -n 's/^ *Verify return code: \\([0-9]*\\).*/\\1/p' | tail -1)")
                    s.append("[ \"$vc\" = 0 ] && d 'its own CA verifies it' || e \"own CA verify $vc\"")
                soon = l["cert_status"] == "expiring-soon"
                s.append("printf '%s\\n' \"$out\" | openssl x509 -noout -checkend 2592000 >/dev/null 2>&1; r=$?")
                if l["cert_status"] != "expired":
                    s.append(f"[ $r = {1 if soon else 0} ] && d '{'expires within 30 days' if soon else 'valid 30+ days'}'"
                             f" || e 'expiry within 30 days: {'no' if soon else 'yes'}'")
                    if soon:
                        s.append("printf '%s\\n' \"$out\" | openssl x509 -noout -checkend 345600 >/dev/null 2>&1 "
                                 "&& d 'not within 4 days' || e 'expires within 4 days'")
                # s_client prints this only when the server sent a CertificateRequest
                s.append("grep -q 'Client Certificate Types' <<<\"$out\" && rq=1 || rq=0")
                s.append(f"[ $rq = {1 if l['client_cert_requested'] else 0} ] && "
                         f"d 'client cert {'requested' if l['client_cert_requested'] else 'not requested'}' "
                         f"|| e 'client cert requested: '$rq")
                tgt = sh(target, port)
                if need:
                    s.append(f"hs {tgt} -tls1_2 && e 'TLS 1.2 handshake completes without a client cert' "
                             "|| d 'no handshake without client cert'")
                    s.append(f"hs {tgt} -tls1_2 {sh(*with_cert)} && d 'handshake with client cert' "
                             "|| e 'no handshake with a client cert'")
                else:
                    s.append(f"hs {tgt} -tls1_2 && d 'handshake without client cert' "
                             "|| e 'no TLS 1.2 handshake without a client cert'")
                lo = "-cipher 'DEFAULT:@SECLEVEL=0'"
                extra = sh(*with_cert) if need else ""
                if l["min_tls"] == "TLSv1":
                    s.append(f"hs {tgt} -tls1 {lo} && d 'TLS 1.0 accepted' || e 'TLS 1.0 refused'")
                else:
                    s.append(f"hs {tgt} -tls1 {lo} {extra} && e 'TLS 1.0 accepted' || d 'TLS 1.0 refused'")
                    s.append(f"hs {tgt} -tls1_1 {lo} {extra} && e 'TLS 1.1 accepted' || d 'TLS 1.1 refused'")
                    s.append(f"hs {tgt} -tls1_2 {extra} && d 'TLS 1.2 accepted' || e 'TLS 1.2 refused'")
                scheme = "https"
            else:
                scheme = "http"
                cc = ccert["cluster-ca"]
                if l.get("on_client_hello"):
                    # Go's net/http waits for a newline, or answers 400
                    want = "silent" if l["on_client_hello"].startswith("silent") \
                        else "HTTP/1.1 400 Bad Request"
                    s.append(f"h=$(hello {sh(target, port)})")
                    s.append(f"[ \"$h\" = {sh(want)} ] && d 'ClientHello: {want}' "
                             f"|| e 'ClientHello answered '\"$h\"', not {want}'")
            base = f"{scheme}://{url_host(target)}:{port}"
            for path, want in sorted(l["http"].items()):
                s.append(f"c=$(code {sh(base + path)})")
                s.append(f"[ \"$c\" = {want['anonymous']} ] && d 'GET {path} {want['anonymous']}' "
                         f"|| e 'GET {path} '$c' not {want['anonymous']}'")
                if scheme == "https" and cc and l["served_by"] in ("khlab-netserve", "khlab-apiserver"):
                    s.append(f"c=$(code {sh(base + path)} --cert {sh(cc[0])} --key {sh(cc[1])})")
                    s.append(f"[ \"$c\" = {want['client_cert']} ] && d 'with client cert {want['client_cert']}' "
                             f"|| e 'GET {path} with client cert '$c' not {want['client_cert']}'")
            s.append(f"report {sh(label)}")
            scripts.setdefault(probe, []).append("\n".join(s))
            # the binding itself
            other = peer_of(n)
            shared = any(x["port"] == port and x["address"] not in ("127.0.0.1", "::1")
                         for x in n["listeners"])
            if local and other != n["name"] and not shared:
                what = f"{n['name']} {l['component']} {bind}:{port}: not on {n['address']} (from {other})"
                scripts.setdefault(other, []).append(
                    f"tcp {sh(n['address'], port)} && e 'answers on {n['address']}' "
                    f"|| d 'connection to {n['address']} fails'\nreport {sh(what)}")
            if bind == "*":
                what = f"{n['name']} {l['component']} *:{port}: also on 127.0.0.1 (from itself)"
                scripts.setdefault(n["name"], []).append(
                    f"tcp 127.0.0.1 {port} && d 'answers on 127.0.0.1' || e 'not on 127.0.0.1'\n"
                    f"report {sh(what)}")

    procs = []
    for probe, parts in sorted(scripts.items()):
        body = PRELUDE + "\n".join(parts) + "\n"
        p = subprocess.Popen(["bash", LAB, "netexec", state, probe, "bash", "-s"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        p.stdin.write(body)
        p.stdin.close()
        procs.append(p)
    failed = 0
    for p in procs:
        out = p.stdout.read()
        p.wait()
        for line in out.splitlines():
            print(line)
            if not line.startswith("ok   "):
                failed += 1
        if p.returncode:
            print(f"FAIL a probe script exited {p.returncode}")
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
