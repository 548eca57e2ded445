#!/usr/bin/env bash
# Self-test of the kubeharden lab: builds it, checks every node the way the
# README promises, tears it down and checks nothing is left on the host.
#
#   tests/lab/selftest.sh [STATE_DIR]      (default: a new mktemp -d)
#
# Needs root and `tests/lab/lab.sh deps`. Ends with "N passed, N failed".
set -uo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB=$LAB_DIR/lab.sh
STATE=${1:-$(mktemp -d /tmp/khlab-selftest.XXXXXX)}
pass=0 fail=0

ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }
check() { # DESCRIPTION CMD...: passes when CMD succeeds
  local d=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}

snapshot() { # what the lab must leave as it found it
  {
    echo "## netns"; ip netns list 2>/dev/null | grep khlab || true
    echo "## links"; ip -o link show | awk -F': ' '{print $2}' | grep -E '^kh' || true
    echo "## mounts"; findmnt -rn -o TARGET | sort
    echo "## listeners"; ss -Hltn | awk '{print $4}' | sort
    echo "## procs"; ps -eo comm= | grep -E '^(etcd|sshd|kube-|kubelet|khlab|unshare|openssl)' | sort || true
    echo "## run-netns"; ls -d /run/netns 2>/dev/null || true
  } 2>&1
}

SSH=(ssh -i "$STATE/id_ed25519" -o UserKnownHostsFile="$STATE/known_hosts"
     -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes
     -o ConnectTimeout=3)

collector_input() { # the collector as kubeharden sends it, with a few requests
  printf 'KH_N=selftest1\nKH_CAP=65536\n'
  cat "$REPO/src/collect/collector.sh"
  printf "kh_main <<'KH_REQ_selftest1'\n"
  printf 'meta -\nprocs -\nsockets -\ntree /etc/kubernetes\ntree /var/lib/etcd\n'
  printf 'manifests /etc/kubernetes/manifests\nreadenc /etc/kubernetes/enc/encryption.yaml\n'
  printf 'read /var/lib/kubelet/config.yaml\ncerts /etc/kubernetes/pki/ca.crt\n'
  printf 'KH_REQ_selftest1\n'
}

before=$(snapshot)
t0=$(date +%s%N)
if ! "$LAB" up "$STATE"; then
  bad "lab.sh up $STATE"
  echo "$pass passed, $fail failed"
  exit 1
fi
t1=$(date +%s%N)
ok "lab.sh up in $(((t1 - t0) / 1000000)) ms"
N=$(awk '$1 == "lab" {print $2; exit}' "$STATE/state")
ip_of() { awk -F'\t' -v n="$1" '$1 == n {print $3}' "$STATE/plan.tsv"; }

for f in inventory.toml nodes.json known_hosts known-differences.txt hashes-before.txt id_ed25519 id_ed25519.pub; do
  check "STATE/$f written" test -s "$STATE/$f"
done
check "inventory has fault-sudo-nopass" grep -q 'name = "fault-sudo-nopass"' "$STATE/inventory.toml"

# -- scenario nodes: processes, manifests, etcd dir, over ssh from the host
for node in kubeadm-default-cp1 kubeadm-default-w1 hardened-cp1 hardened-w1 misconfigured-cp1 misconfigured-w1; do
  ip=$(ip_of "$node")
  fx=$(python3 -c 'import json,sys; m=[x for x in json.load(open(sys.argv[1])) if x["name"]==sys.argv[2]][0]; print(m["fixture"])' "$STATE/nodes.json" "$node")
  out=$("${SSH[@]}" "root@$ip" 'cat /proc/*/cmdline | tr "\0" " "; echo; ls -ln /etc/kubernetes/manifests; stat -c "%a %U:%G %n" /var/lib/etcd' 2>&1)
  if python3 - "$fx" "$ip" "$out" <<'EOF'; then ok "$node: argv, manifests and /var/lib/etcd over ssh"; else bad "$node: ssh view differs"; fi
import json, sys
fx, ip, out = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
sub = {"192.168.56.11": ip, "192.168.56.21": ip}
def s(a):
    for k, v in sub.items():
        a = a.replace(k, v)
    return a
bad = []
for kind, c in fx["components"].items():
    want = " ".join(s(a) for a in c["argv"])
    if want not in out:
        bad.append(kind)
files = fx["files"]
e = files.get("/var/lib/etcd")
if e and e.get("exists"):
    if f'{int(e["mode"], 8):o} {e["user"]}:{e["group"]} /var/lib/etcd' not in out:
        bad.append("/var/lib/etcd")
for p, e in files.items():
    if p.startswith("/etc/kubernetes/manifests/") and e.get("exists") and p.rsplit("/", 1)[1] not in out:
        bad.append(p)
if bad:
    print("missing:", bad, file=sys.stderr)
    sys.exit(1)
EOF
done

# -- etcd over TLS, inside each control-plane node and from the host
for node in kubeadm-default-cp1 hardened-cp1 misconfigured-cp1; do
  ip=$(ip_of "$node")
  check "$node: etcdctl endpoint health (127.0.0.1 and $ip) inside the node" \
    "$LAB" exec "$STATE" "$node" env ETCDCTL_API=3 etcdctl \
    --endpoints="https://127.0.0.1:2379,https://$ip:2379" \
    --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key /etc/kubernetes/pki/etcd/healthcheck-client.key endpoint health
  check "$node: apiserver cert verifies for $ip on :6443" \
    curl -sf --max-time 3 --cacert "$STATE/pki/ca.crt" "https://$ip:6443/"
done
check "hardened-cp1: etcd refuses a client without a certificate" \
  bash -c "! curl -s --max-time 3 --cacert '$STATE/pki/etcd-ca.crt' https://$(ip_of hardened-cp1):2379/health"

# -- fault nodes
out=$("${SSH[@]}" "root@$(ip_of fault-sshd-down)" true 2>&1)
case $out in *"Connection refused"*) ok "fault-sshd-down: connection refused" ;; *) bad "fault-sshd-down: $out" ;; esac
s=$(date +%s)
out=$(timeout 20 "${SSH[@]}" "root@$(ip_of fault-hang)" true 2>&1)
e=$(($(date +%s) - s))
case $out in *"timed out during banner exchange"*|*"Connection timed out"*) ok "fault-hang: ssh times out in the banner exchange (${e}s)" ;; *) bad "fault-hang: $out" ;; esac
out=$("${SSH[@]}" "root@$(ip_of fault-hostkey)" true 2>&1)
case $out in *"Host key verification failed"*) ok "fault-hostkey: host key mismatch" ;; *) bad "fault-hostkey: $out" ;; esac
real=$(awk '{print $2}' "$STATE/nodes/fault-hostkey/root/etc/ssh/ssh_host_ed25519_key.pub")
seen=$(ssh-keyscan -T 3 -t ed25519 "$(ip_of fault-hostkey)" 2>/dev/null | awk '{print $3}')
listed=$(awk -v ip="$(ip_of fault-hostkey)" '$1 == ip {print $3}' "$STATE/known_hosts")
if [ -n "$seen" ] && [ "$seen" = "$real" ] && [ "$listed" != "$real" ]; then
  ok "fault-hostkey: the node serves its own key, known_hosts lists another"
else bad "fault-hostkey: served $seen, real $real, listed $listed"; fi
out=$("${SSH[@]}" "root@$(ip_of fault-sudo)" true 2>&1)
case $out in *"Permission denied"*) ok "fault-sudo: root login refused" ;; *) bad "fault-sudo root: $out" ;; esac
check "fault-sudo: auditor runs sudo -n true" "${SSH[@]}" "auditor@$(ip_of fault-sudo)" sudo -n true
out=$("${SSH[@]}" "auditor@$(ip_of fault-sudo)" sudo -n id -u 2>&1)
[ "$out" = 0 ] && ok "fault-sudo: sudo -n id -u is 0" || bad "fault-sudo: sudo -n id -u said $out"
out=$("${SSH[@]}" "nopass@$(ip_of fault-sudo)" sudo -n true 2>&1)
case $out in *"password is required"*) ok "fault-sudo: nopass logs in, sudo -n fails" ;; *) bad "fault-sudo nopass: $out" ;; esac

# -- the collector runs read-only: hashes unchanged, over ssh, sudo and exec
for node in kubeadm-default-cp1 hardened-cp1 misconfigured-cp1 misconfigured-w1; do
  n=$(collector_input | "${SSH[@]}" "root@$(ip_of "$node")" sh | grep -c '^@@selftest1 B proc')
  [ "$n" -ge 2 ] && ok "$node: collector over ssh finds $n components" || bad "$node: collector found $n components"
done
n=$(collector_input | "${SSH[@]}" "auditor@$(ip_of fault-sudo)" sudo -n sh | grep -c '^@@selftest1 B proc')
[ "$n" = 2 ] && ok "fault-sudo: collector through sudo -n finds 2 components" || bad "fault-sudo: collector via sudo found $n"
n=$(collector_input | "$LAB" exec "$STATE" hardened-w1 sh | grep -c '^@@selftest1 B proc')
[ "$n" = 2 ] && ok "hardened-w1: collector through lab.sh exec finds 2 components" || bad "hardened-w1: exec collector found $n"
for node in kubeadm-default-cp1 kubeadm-default-w1 hardened-cp1 hardened-w1 misconfigured-cp1 misconfigured-w1 fault-hostkey fault-sudo; do
  check "$node: hash unchanged after the scans" diff -q "$STATE/nodes/$node/hashes-before.txt" <("$LAB" hash "$STATE" "$node")
done
check "lab.sh verify: every node still matches its fixture" "$LAB" verify "$STATE"
live=$STATE/nodes/hardened-w1/root/etc/kubernetes/kubelet.conf.d/live-test
echo live >"$live"
check "hardened-w1: a file added to its tree shows in the node" \
  "$LAB" exec "$STATE" hardened-w1 grep -qx live /etc/kubernetes/kubelet.conf.d/live-test
rm -f "$live"

# -- teardown leaves nothing
check "lab.sh down" "$LAB" down "$STATE"
check "lab.sh down again (idempotent)" "$LAB" down "$STATE"
after=$(snapshot)
if [ "$before" = "$after" ]; then ok "host as before: netns, links, mounts, listeners, processes, /run/netns"
else bad "host differs after down:"; diff <(echo "$before") <(echo "$after"); fi
check "no lab netns left" bash -c "! ip netns list | grep -q '^khlab$N-'"
check "no lab link left" bash -c "! ip -o link | grep -q 'kh$N-\\|khlab${N}br'"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
