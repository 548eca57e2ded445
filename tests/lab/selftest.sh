#!/usr/bin/env bash
# Self-test of the kubeharden lab: builds it, checks every node the way the
# README promises, tears it down and checks nothing is left on the host.
#
#   tests/lab/selftest.sh [STATE_DIR]      (default: a new mktemp -d)
#
# Needs root and `tests/lab/lab.sh deps`. Ends with "N passed, N failed".
# Other labs may run at the same time: the leftovers check ignores their
# netns, links, mounts and processes (by lab id and network namespace).
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

N=
others_but_mine() { # drops the names of other labs (ids other than $N) running at the same time
  local line id
  while IFS= read -r line; do
    if [[ $line =~ (^|[^0-9a-z])kh(lab)?([0-9]+)(-|br) ]]; then
      id=${BASH_REMATCH[3]}
      [ -n "$N" ] && [ "$id" = "$N" ] || continue
    fi
    printf '%s\n' "$line"
  done
}
snapshot() { # what the lab must leave as it found it
  # processes in another lab's netns are that lab's
  local -A theirs=()
  local f
  for f in /run/netns/khlab*; do
    [ -e "$f" ] || continue
    case ${f##*/} in "khlab$N-"*) [ -n "$N" ] && continue ;; esac
    theirs[$(stat -L -c %i "$f")]=1
  done
  # one "section: item" a line, sorted
  {
    ip netns list 2>/dev/null | grep khlab | others_but_mine | sed 's/^/netns: /'
    ip -o link show | awk -F': ' '{print $2}' | grep -E '^kh' | others_but_mine | sed 's/^/link: /'
    findmnt -rn -o TARGET | others_but_mine | sed 's/^/mount: /'
    ss -Hltn | awk '{print "listener: " $4}'
    local c ino
    for f in /proc/[0-9]*; do
      { read -r c <"$f/comm"; } 2>/dev/null || continue
      [[ $c =~ ^(etcd|sshd|kube-|kubelet|khlab|unshare|openssl) ]] || continue
      ino=$(stat -L -c %i "$f/ns/net" 2>/dev/null) || continue  # gone meanwhile
      [ -z "${theirs[$ino]:-}" ] || continue
      echo "proc: $c"
    done
    ls -d /run/netns 2>/dev/null | sed 's/^/run-netns: /'
    iptables-save 2>/dev/null | grep -v '^#' | sed 's/^/iptables: /'
    ls /run/xtables.lock 2>/dev/null | sed 's/^/file: /'
  } 2>&1 | LC_ALL=C sort
}
leftovers() { # what is there now and was not before (other engineers' short-lived
  # processes may come and go: a few tries)
  local try new
  for try in 1 2 3 4; do
    new=$(LC_ALL=C comm -13 <(echo "$before") <(snapshot))
    [ -z "$new" ] && return 0
    sleep 1
  done
  printf '%s\n' "$new"
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

for f in inventory.toml nodes.json network.json known_hosts known-differences.txt hashes-before.txt id_ed25519 id_ed25519.pub; do
  check "STATE/$f written" test -s "$STATE/$f"
done
check "inventory has fault-sudo-nopass" grep -q 'name = "fault-sudo-nopass"' "$STATE/inventory.toml"

SCENARIO_NODES="kubeadm-default-cp1 kubeadm-default-w1 hardened-cp1 hardened-w1 misconfigured-cp1 misconfigured-w1 etcd-config-file-cp1"
CONTROL_PLANES="kubeadm-default-cp1 hardened-cp1 misconfigured-cp1 etcd-config-file-cp1"
# etcd's HTTPS client port on each control plane (plan.tsv: from its
# --config-file on etcd-config-file-cp1)
etcd_port() { awk -F'\t' -v n="$1" '$1 == n {print $8}' "$STATE/plan.tsv"; }

# -- scenario nodes: processes, manifests, etcd dir, over ssh from the host
for node in $SCENARIO_NODES; do
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
for node in $CONTROL_PLANES; do
  ip=$(ip_of "$node") port=$(etcd_port "$node")
  check "$node: etcdctl endpoint health (127.0.0.1 and $ip, port $port) inside the node" \
    "$LAB" exec "$STATE" "$node" env ETCDCTL_API=3 etcdctl \
    --endpoints="https://127.0.0.1:$port,https://$ip:$port" \
    --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key /etc/kubernetes/pki/etcd/healthcheck-client.key endpoint health
  check "$node: apiserver cert verifies for $ip on :6443" \
    curl -s -o /dev/null --max-time 3 --cacert "$STATE/pki/ca.crt" "https://$ip:6443/version"
done
check "etcd-config-file-cp1: etcd runs with --config-file only, and listens on the file's ports 12379/12380/12381, not 2379" \
  "$LAB" exec "$STATE" etcd-config-file-cp1 sh -c '[ "$(tr "\0" " " </proc/$(pgrep -x etcd)/cmdline)" = "etcd --config-file=/var/lib/etcd/config " ] &&
    ss -Hltn | grep -q ":12379 " && ss -Hltn | grep -q ":12380 " && ss -Hltn | grep -q "127.0.0.1:12381 " && ! ss -Hltn | grep -q ":2379 "'
# -- kube-proxy in a root of its own, its ConfigMap volume mounted there
for node in kubeadm-default-w1 hardened-w1 misconfigured-w1; do
  check "$node: kube-proxy's root is its own, with /var/lib/kube-proxy in it and not on the host" \
    "$LAB" exec "$STATE" "$node" sh -c 'p=$(pgrep -x kube-proxy) && ! [ /proc/$p/root/ -ef / ] &&
      [ -L /proc/$p/root/var/lib/kube-proxy/..data ] && [ -f /proc/$p/root/var/lib/kube-proxy/kubeconfig.conf ] &&
      ! [ -e /var/lib/kube-proxy ] && [ /proc/$(pgrep -x kubelet)/root/ -ef / ]'
done
check "hardened-cp1: etcd refuses a client without a certificate" \
  bash -c "! curl -s --max-time 3 --cacert '$STATE/pki/etcd-ca.crt' https://$(ip_of hardened-cp1):2379/health"

# -- network listeners (STATE/network.json): every TLS and HTTP listener,
# probed from the node's network namespace or a neighbour's (lib/netcheck.py)
t2=$(date +%s%N)
while IFS= read -r line; do
  case $line in
    "ok   "*) ok "${line#ok   }" ;;
    "FAIL "*) bad "${line#FAIL }" ;;
    *) bad "netcheck: $line" ;;
  esac
done < <(python3 "$LAB_DIR/lib/netcheck.py" "$STATE" 2>&1)
echo "     (netcheck took $((($(date +%s%N) - t2) / 1000000)) ms)"
net() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2])' "$STATE/network.json" "$@"; }

# the certificate files in the nodes are the ones network.json describes
for node in $SCENARIO_NODES; do
  want=$(net 'n=[x for x in d["nodes"] if x["name"]==sys.argv[3]][0]
for p, c in sorted(n["certs"].items()): print(c["sha256"], p)' "$node")
  have=$(awk '{print $2}' <<<"$want" | "$LAB" exec "$STATE" "$node" sh -c \
    'while read -r p; do printf "%s %s\n" "$(openssl x509 -in "$p" -outform der | sha256sum | cut -d" " -f1)" "$p"; done')
  if [ -n "$want" ] && [ "$want" = "$have" ]; then ok "$node: $(wc -l <<<"$want") certificate files as in network.json"
  else bad "$node: certificate files differ from network.json"; diff <(echo "$want") <(echo "$have"); fi
done
# misconfigured-cp1: the kubelet's kubelet.crt has expired; the
# controller-manager's --tls-cert-file comes from the rogue CA, whose subject
# is the cluster CA's (host copies: the node's files are compared above)
cert_of() { # NODE PATH KEY: a field of network.json's entry for a certificate
  net 'n=[x for x in d["nodes"] if x["name"]==sys.argv[3]][0]; print(n["certs"][sys.argv[4]][sys.argv[5]])' "$@"
}
expired=$(cert_of misconfigured-cp1 /var/lib/kubelet/pki/kubelet.crt host_copy)
wrong=$(cert_of misconfigured-cp1 /etc/kubernetes/pki/controller-manager-serving.crt host_copy)
out=$(! openssl x509 -in "$expired" -noout -checkend 0 >/dev/null &&
  ! openssl verify -CAfile "$STATE/pki/ca.crt" "$wrong" >/dev/null 2>&1 &&
  openssl verify -CAfile "$STATE/pki/rogue-ca.crt" "$wrong" &&
  openssl x509 -in "$STATE/pki/rogue-ca.crt" -noout -subject && openssl x509 -in "$STATE/pki/ca.crt" -noout -subject 2>&1)
[ "$(grep -c 'subject=CN = kubernetes' <<<"$out")" = 2 ] &&
  ok "misconfigured-cp1: kubelet.crt has expired; controller-manager-serving.crt is signed by the rogue CA, whose subject is the cluster CA's" ||
  bad "misconfigured-cp1 certificates: $out"
check "misconfigured-cp1: the controller-manager names its serving certificate (--tls-cert-file)" \
  "$LAB" exec "$STATE" misconfigured-cp1 sh -c 'tr "\0" " " </proc/$(pgrep -x kube-controller)/cmdline |
  grep -- "--tls-cert-file=/etc/kubernetes/pki/controller-manager-serving.crt"'
check "misconfigured-w1: /var/lib/kubelet/pki/kubelet.crt expires in 4 to 6 days" \
  "$LAB" exec "$STATE" misconfigured-w1 sh -c 'f=/var/lib/kubelet/pki/kubelet.crt;
  ! openssl x509 -in $f -noout -checkend 518400 && openssl x509 -in $f -noout -checkend 345600'

# client-go's self-generated pairs (GenerateSelfSignedCertKeyWithFixtures):
# the kubeadm-default kubelets' kubelet.crt in the node, and the in-memory
# pairs the controller-manager and scheduler serve without --tls-cert-file
pair_ok() { # FILE HOST: leaf CN=HOST@T then CA CN=HOST-ca@T that signed it; prints a summary
  local f=$1 host=$2 t leaf ca
  t=$(mktemp -d)
  awk -v d="$t" '/BEGIN CERT/{n++} {print > (d "/c" n ".pem")}' "$f"
  [ -f "$t/c2.pem" ] && [ ! -f "$t/c3.pem" ] || { echo "not two certificates"; rm -rf "$t"; return 1; }
  leaf=$(openssl x509 -in "$t/c1.pem" -noout -subject -issuer -startdate -enddate -ext basicConstraints,extendedKeyUsage,subjectAltName 2>&1)
  ca=$(openssl x509 -in "$t/c2.pem" -noout -subject -ext basicConstraints,keyUsage 2>&1)
  local good=1
  grep -Eq "^subject=CN = $host@[0-9]+$" <<<"$leaf" || good=0
  grep -Eq "^issuer=CN = $host-ca@[0-9]+$" <<<"$leaf" || good=0
  grep -q "CA:FALSE" <<<"$leaf" && grep -q "TLS Web Server Authentication" <<<"$leaf" || good=0
  grep -Eq "^subject=CN = $host-ca@[0-9]+$" <<<"$ca" && grep -q "CA:TRUE" <<<"$ca" || good=0
  openssl verify -CAfile "$t/c2.pem" "$t/c1.pem" >/dev/null 2>&1 || good=0
  # valid from an hour before it was made, for 365 days
  local nb na made
  nb=$(date -d "$(sed -n 's/^notBefore=//p' <<<"$leaf")" +%s)
  na=$(date -d "$(sed -n 's/^notAfter=//p' <<<"$leaf")" +%s)
  made=$(sed -n "s/^subject=CN = $host@//p" <<<"$leaf")
  [ $((made - nb)) -ge 3600 ] && [ $((made - nb)) -le 3700 ] && [ $((na - nb)) = 31536000 ] || good=0
  rm -rf "$t"
  printf '%s\n' "$leaf" | sed -n 's/^subject=//p;s/^ *\(DNS:\)/\1/p' | paste -sd' '
  [ $good = 1 ]
}
for node in kubeadm-default-cp1 kubeadm-default-w1; do
  f=$("$LAB" exec "$STATE" $node cat /var/lib/kubelet/pki/kubelet.crt > "$STATE/.pair.pem" && echo "$STATE/.pair.pem")
  if got=$(pair_ok "$f" "$node"); then ok "$node: /var/lib/kubelet/pki/kubelet.crt is client-go's pair ($got)"
  else bad "$node: kubelet.crt is not client-go's pair: $got"; fi
  check "$node: kubelet.key is PKCS#1 RSA, 0600 root:root" \
    "$LAB" exec "$STATE" $node sh -c 'head -1 /var/lib/kubelet/pki/kubelet.key | grep -qx -- "-----BEGIN RSA PRIVATE KEY-----" &&
    [ "$(stat -c %a:%U:%G /var/lib/kubelet/pki/kubelet.key)" = 600:root:root ] &&
    [ "$(stat -c %a /var/lib/kubelet/pki/kubelet.crt)" = 644 ]'
done
for node in kubeadm-default-cp1 hardened-cp1; do
  for comp in controller-manager scheduler; do
    f=$(cert_of $node /etc/khlab/tls/$comp.crt host_copy)
    if got=$(pair_ok "$f" localhost); then ok "$node: $comp serves client-go's in-memory pair ($got)"
    else bad "$node: $comp's pair: $got"; fi
  done
done
rm -f "$STATE/.pair.pem"

# the collector sees exactly the fixture's components: the stand-ins are
# khlab-netserve, khlab-apiserver and openssl, nothing named like a Kubernetes component
for node in $SCENARIO_NODES; do
  want=$(net 'n=[x for x in d["nodes"] if x["name"]==sys.argv[3]][0]
import json as j; f=j.load(open([m for m in j.load(open(sys.argv[1].replace("network.json","nodes.json"))) if m["name"]==n["name"]][0]["fixture"]))
print(sum(1 for c in f["components"].values() if c.get("running")))' "$node")
  have=$("$LAB" exec "$STATE" "$node" sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' |
    grep -cxE 'kube-apiserver|kube-controller|kube-scheduler|etcd|kubelet|kube-proxy')
  [ "$want" = "$have" ] && ok "$node: $have component processes, as in the fixture (stand-ins: $("$LAB" exec "$STATE" "$node" sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -xE 'khlab-netserve|khlab-apiserver|openssl' | sort | uniq -c | awk '{print $1" "$2}' | paste -sd,))" ||
    bad "$node: $have component processes, fixture has $want"
done

# -- firewall: iptables in the control planes' netns and fault-dropped's
# (network.json "firewall")
for node in $CONTROL_PLANES fault-dropped; do
  want=$(net 'n=[x for x in d["nodes"] if x["name"]==sys.argv[3]][0]; print("\n".join(n["firewall"]["iptables_S"]))' "$node")
  have=$("$LAB" exec "$STATE" "$node" iptables -S 2>&1)
  if [ "$want" = "$have" ] && [ "$have" = "$(cat "$STATE/nodes/$node/iptables.txt")" ]; then
    ok "$node: iptables -S as recorded ($(grep -c '^-A' <<<"$have") rules)"
  else bad "$node: iptables -S differs"; diff <(echo "$want") <(echo "$have"); fi
done
# Each probe in the background: a dropped SYN takes the whole timeout.
bgdir=$(mktemp -d)
bg() { # NAME EXPECT(open|dropped) DESCRIPTION CMD...: CMD connects; 124 = timed out
  local name=$1 want=$2 desc=$3
  shift 3
  ( "$@" >/dev/null 2>&1; rc=$?
    if [ $want = open ] && [ $rc = 0 ]; then echo "ok   $desc"
    elif [ $want = dropped ] && { [ $rc = 124 ] || [ $rc = 28 ]; }; then echo "ok   $desc (no answer: timed out, rc $rc)"
    else echo "FAIL $desc (rc $rc)"; fi ) >"$bgdir/$name" &
}
tcp2() { echo "timeout 2 bash -c ': <>/dev/tcp/$1/$2'"; }
hd=$(ip_of hardened-cp1) kd=$(ip_of kubeadm-default-cp1) mc=$(ip_of misconfigured-cp1)
for port in 2379 2380; do
  bg hw$port dropped "hardened-w1 -> hardened-cp1:$port dropped (lab.sh exec, bash /dev/tcp)" \
    "$LAB" exec "$STATE" hardened-w1 bash -c "$(tcp2 "$hd" $port)"
  bg kw$port open "kubeadm-default-w1 -> kubeadm-default-cp1:$port open (lab.sh exec, bash /dev/tcp)" \
    "$LAB" exec "$STATE" kubeadm-default-w1 bash -c "$(tcp2 "$kd" $port)"
  bg mw$port open "misconfigured-w1 -> misconfigured-cp1:$port open (lab.sh exec, bash /dev/tcp)" \
    "$LAB" exec "$STATE" misconfigured-w1 bash -c "$(tcp2 "$mc" $port)"
done
bg hwssh dropped "hardened-w1 -> hardened-cp1:2379 dropped (ssh hardened-w1 curl)" \
  "${SSH[@]}" "root@$(ip_of hardened-w1)" "curl -sk --max-time 2 https://$hd:2379/health"
bg fs dropped "fault-sudo (a kubeadm-default worker) -> hardened-cp1:2379 dropped" \
  "$LAB" exec "$STATE" fault-sudo bash -c "$(tcp2 "$hd" 2379)"
bg kc dropped "kubeadm-default-cp1 (another cluster) -> hardened-cp1:2379 dropped" \
  "$LAB" exec "$STATE" kubeadm-default-cp1 bash -c "$(tcp2 "$hd" 2379)"
bg hs open "hardened-cp1 -> its own $hd:2379 open" "$LAB" exec "$STATE" hardened-cp1 bash -c "$(tcp2 "$hd" 2379)"
bg hh open "the lab host -> hardened-cp1:2379 open" bash -c "$(tcp2 "$hd" 2379)"
bg hk open "hardened-w1 -> hardened-cp1:6443 and :10250 open (only etcd is filtered)" \
  "$LAB" exec "$STATE" hardened-w1 bash -c "$(tcp2 "$hd" 6443) && $(tcp2 "$hd" 10250)"
# -- etcd client certificates, from the workers with curl (no client cert:
# no HTTP answer; with the etcd healthcheck client cert: healthy)
etcd_nocert() { # WORKER CP-IP: curl without a client cert, over ssh; prints curl's exit code
  "${SSH[@]}" "root@$(ip_of "$1")" "curl -sk --max-time 3 -o /dev/null https://$2:2379/health; echo \$?"
}
for sc in kubeadm-default misconfigured; do
  cpip=$(ip_of $sc-cp1)
  rc=$(etcd_nocert $sc-w1 "$cpip")
  # curl connects, then TLS fails: 35 (in the handshake), 55/56 (the server's
  # "certificate required" alert after the TLS 1.3 handshake, sending/receiving)
  case $rc in 35|55|56) ok "$sc-w1 -> $sc-cp1:2379 with curl, no client cert: refused in TLS (curl rc $rc)" ;;
    *) bad "$sc-w1 -> $sc-cp1:2379 without client cert: curl rc $rc" ;; esac
  check "$sc-w1 -> $sc-cp1:2379: TLS 1.2 handshake without a client cert fails (lab.sh exec, openssl s_client)" \
    bash -c "! '$LAB' exec '$STATE' $sc-w1 openssl s_client -tls1_2 -connect $cpip:2379 </dev/null"
  check "$sc-w1 -> $sc-cp1:2379 with curl and the etcd client cert: healthy (lab.sh netexec)" \
    bash -c "'$LAB' netexec '$STATE' $sc-w1 curl -s --max-time 3 --cacert '$STATE/pki/etcd-ca.crt' \
      --cert '$STATE/pki/$sc-cp1/etcd/healthcheck-client.crt' --key '$STATE/pki/$sc-cp1/etcd/healthcheck-client.key' \
      https://$cpip:2379/health | grep -q '\"health\":\"true\"'"
done
check "misconfigured-cp1: etcd runs with --client-cert-auth=false and --trusted-ca-file (so client certs are still required)" \
  "$LAB" exec "$STATE" misconfigured-cp1 sh -c 'tr "\0" " " </proc/$(pgrep -x etcd)/cmdline | grep -- "--trusted-ca-file=.*--client-cert-auth=false"'
wait
for f in "$bgdir"/*; do
  line=$(cat "$f")
  case $line in "ok   "*) ok "${line#ok   }" ;; *) bad "${line#FAIL }" ;; esac
done
rm -rf "$bgdir"

# -- fault nodes
out=$("${SSH[@]}" "root@$(ip_of fault-sshd-down)" true 2>&1)
case $out in *"Connection refused"*) ok "fault-sshd-down: connection refused" ;; *) bad "fault-sshd-down: $out" ;; esac
s=$(date +%s)
out=$(timeout 20 "${SSH[@]}" "root@$(ip_of fault-hang)" true 2>&1)
e=$(($(date +%s) - s))
case $out in *"timed out during banner exchange"*|*"Connection timed out"*) ok "fault-hang: ssh times out in the banner exchange (${e}s)" ;; *) bad "fault-hang: $out" ;; esac
s=$(date +%s)
out=$(timeout 20 "${SSH[@]}" "root@$(ip_of fault-dropped)" true 2>&1)
e=$(($(date +%s) - s))
case $out in *"Connection timed out"*) ok "fault-dropped: the TCP connect gets no answer and times out (${e}s)" ;; *) bad "fault-dropped: $out" ;; esac
# fault-forcecommand: the key is accepted, the forced command runs instead
# of ours and never returns; it says so on stderr, and ends with its session
out=$(timeout 4 "${SSH[@]}" "root@$(ip_of fault-forcecommand)" 'echo never-run' 2>&1)
rc=$?
case $rc:$out in 124:*"waits for approval"*) ok "fault-forcecommand: login accepted, the client's command never runs (timed out, rc $rc)" ;;
  *) bad "fault-forcecommand: rc $rc: $out" ;; esac
check "fault-forcecommand: sshd accepted the key and ran its ForceCommand" \
  grep -q "forced-command (config) 'exec /usr/local/sbin/khlab-login-gate' for root" \
  "$STATE/nodes/fault-forcecommand/logs/sshd.log"
gone=0
for _ in $(seq 25); do
  "$LAB" exec "$STATE" fault-forcecommand ps -eo args | grep -q '[k]hlab-login-gate' || { gone=1; break; }
  sleep 0.2
done
[ $gone = 1 ] && ok "fault-forcecommand: the gate ends with its session" || bad "fault-forcecommand: the gate outlived its session"
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
# -- the API servers' object sets (tests/lab/apisets), read by the node's own
# kubectl with its admin.conf, as kubeharden reads them
KC=(kubectl --cache-dir /tmp/khlab-selftest-kubectl --request-timeout=20s)
set_names() { # NODE RESOURCE: the names the node's object set holds, sorted
  python3 - "$LAB_DIR" "$1" "$2" <<'EOF2'
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "lib"))
import apiserver
cfg = json.load(open(os.path.join(os.environ["STATE"], "nodes", sys.argv[2], "apiserver.json")))
objs, _ = apiserver.load_set(os.path.join(sys.argv[1], "apisets"), cfg["set"], {})
for o in sorted(objs.get(sys.argv[3], []), key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])):
    print(o["metadata"].get("namespace", "") + "/" + o["metadata"]["name"])
EOF2
}
export STATE
api_log() { cat "$STATE/nodes/$1/apiserver.log"; }
logged() { # NODE PYTHON-CONDITION-ON-d: some request log line matches
  python3 -c 'import json, sys
cond = sys.argv[1]
sys.exit(0 if any(eval(cond, {"d": json.loads(l)}) for l in sys.stdin if l.strip()) else 1)' "$2" <"$STATE/nodes/$1/apiserver.log"
}
for node in kubeadm-default-cp1 hardened-cp1 misconfigured-cp1 etcd-config-file-cp1; do
  want=$(set_names "$node" pods)
  got=$("$LAB" exec "$STATE" "$node" "${KC[@]}" --kubeconfig /etc/kubernetes/admin.conf get pods -A \
    -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>&1)
  [ -n "$want" ] && [ "$got" = "$want" ] && ok "$node: kubectl get pods -A (admin.conf) lists the set's $(wc -l <<<"$want") pods" \
    || bad "$node: kubectl get pods -A: got '$got'"
done
node=misconfigured-cp1
got=$("$LAB" exec "$STATE" "$node" "${KC[@]}" --kubeconfig /etc/kubernetes/admin.conf get pods -A --chunk-size=2 \
  -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>&1)
[ "$got" = "$(set_names "$node" pods)" ] && logged "$node" 'd["path"] == "/api/v1/pods" and "limit=2" in d["query"] and "continue=" in d["query"] and d["status"] == 200' \
  && ok "$node: --chunk-size=2 pages through the pods with limit/continue, same list" || bad "$node: paging: '$got'"
for r in namespaces serviceaccounts roles rolebindings clusterroles clusterrolebindings networkpolicies daemonsets deployments \
         validatingwebhookconfigurations mutatingwebhookconfigurations validatingadmissionpolicies validatingadmissionpolicybindings; do
  got=$("$LAB" exec "$STATE" "$node" "${KC[@]}" --kubeconfig /etc/kubernetes/admin.conf get "$r" -A \
    -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>&1)
  [ "$got" = "$(set_names "$node" "$r")" ] || { bad "$node: kubectl get $r -A: '$got'"; continue; }
  ok "$node: kubectl get $r -A lists the set's $(grep -c . <<<"$got") objects"
done
check "$node: kubectl version -o json and get --raw /apis answer" \
  "$LAB" exec "$STATE" "$node" sh -c "${KC[*]} --kubeconfig /etc/kubernetes/admin.conf version -o json | grep -q '\"gitVersion\": \"v1.32.4\"' &&
    ${KC[*]} --kubeconfig /etc/kubernetes/admin.conf get --raw /apis | grep -q APIGroupList"
ip=$(ip_of "$node")
cc=(--cert "$STATE/pki/probe-client-ca.crt" --key "$STATE/pki/probe-client-ca.key")
for m in POST PUT PATCH DELETE HEAD OPTIONS; do
  c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$STATE/pki/ca.crt" "${cc[@]}" -X "$m" \
      -H 'Content-Type: application/json' -d '{}' "https://$ip:6443/api/v1/namespaces/app/secrets/db-credentials")
  [ "$m" = HEAD ] && c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$STATE/pki/ca.crt" "${cc[@]}" -I \
      "https://$ip:6443/api/v1/namespaces/app/secrets/db-credentials")
  [ "$c" = 405 ] && logged "$node" "d['method'] == '$m' and d['status'] == 405 and d['cert_cn'] == 'khlab-probe' and d['cert_o'] == ['system:masters']" \
    && ok "$node: $m refused with 405 and logged" || bad "$node: $m answered $c (or not logged)"
done
for node in misconfigured-cp1 hardened-cp1; do
  out=$(curl -s --max-time 5 --cacert "$STATE/pki/ca.crt" -w ' %{http_code}' "https://$(ip_of "$node"):6443/api/v1/pods")
  [[ $out == *'"reason":"Unauthorized"'*' 401' ]] && logged "$node" 'd["path"] == "/api/v1/pods" and d["cert_cn"] is None and d["status"] == 401' \
    && ok "$node: no client certificate: 401 Unauthorized Status, logged" || bad "$node: no client cert: $out"
done
out=$(curl -s --max-time 5 --cacert "$STATE/pki/ca.crt" -w ' %{http_code}' "https://$(ip_of kubeadm-default-cp1):6443/api/v1/pods")
[[ $out == *'User \"system:anonymous\" cannot list resource \"pods\"'*' 403' ]] \
  && ok "kubeadm-default-cp1: no client certificate (anonymous auth on, RBAC): 403 for system:anonymous" \
  || bad "kubeadm-default-cp1: anonymous: $out"
node=etcd-config-file-cp1
for r in clusterroles clusterrolebindings; do
  out=$("$LAB" exec "$STATE" "$node" "${KC[@]}" --kubeconfig /etc/khlab/kh-auditor.conf get "$r" -o name 2>&1)
  [ "$out" = "Error from server (Forbidden): $r.rbac.authorization.k8s.io is forbidden: User \"kh-auditor\" cannot list resource \"$r\" in API group \"rbac.authorization.k8s.io\" at the cluster scope" ] \
    && ok "$node: kh-auditor cannot list $r: 403, RBAC's message" || bad "$node: kh-auditor $r: $out"
done
check "$node: kh-auditor lists pods, roles and webhooks, and the 403s are logged with its CN" \
  bash -c "'$LAB' exec '$STATE' $node ${KC[*]} --kubeconfig /etc/khlab/kh-auditor.conf get pods,roles,validatingwebhookconfigurations -A -o name | grep -q pod/ &&
    grep -q '\"cert_cn\":\"kh-auditor\".*\"status\":403' '$STATE/nodes/$node/apiserver.log'"
check "lab.sh status: every khlab-apiserver recorded and running" \
  bash -c "[ \"\$('$LAB' status '$STATE' | grep -c ' apiserver [0-9]* running')\" = 4 ]"

for node in $SCENARIO_NODES fault-hostkey fault-sudo fault-forcecommand; do
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
new=$(leftovers)
# gone: what the lab may have removed (processes and their listeners come
# and go by themselves)
gone=$(LC_ALL=C comm -23 <(echo "$before") <(snapshot) | grep -vE '^(proc|listener): ')
if [ -z "$new$gone" ]; then ok "host as before: netns, links, mounts, listeners, processes, /run/netns, iptables"
else
  bad "host differs after down:"
  [ -z "$new" ] || sed 's/^/  left behind: /' <<<"$new"
  [ -z "$gone" ] || sed 's/^/  gone: /' <<<"$gone"
fi
check "no lab netns left" bash -c "! ip netns list | grep -q '^khlab$N-'"
check "no lab link left" bash -c "! ip -o link | grep -q 'kh$N-\\|khlab${N}br'"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
