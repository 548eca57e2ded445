#!/usr/bin/env bash
# kubeharden test lab: simulated Kubernetes nodes in network, mount and PID
# namespaces on this machine, built from tests/fixtures. See README.md here.
#
#   lab.sh deps                                   install the Debian packages it needs
#   lab.sh up STATE_DIR [--lab-id N] [--nodes A,B] [--bench K]
#                                                 build the lab; returns when ready
#   lab.sh down STATE_DIR                         tear down what `up` recorded
#   lab.sh exec STATE_DIR NODE CMD...             run CMD inside a node
#   lab.sh netexec STATE_DIR NODE CMD...          run CMD in a node's network namespace only
#   lab.sh ssh STATE_DIR NODE [CMD...]            ssh to a node as its inventory user
#   lab.sh hash STATE_DIR NODE                    sha256 + stat of the node's files
#   lab.sh verify STATE_DIR [NODE...]             check nodes against their fixtures
#   lab.sh status STATE_DIR                       what is recorded, and whether it runs
#
# Everything runs as root. Nothing is written outside STATE_DIR except what
# `down` removes again: one bridge, one netns + veth per node (and /run/netns
# if it did not exist). No host file is edited, no service started.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/../.." && pwd)
FIXTURES=${KHLAB_FIXTURES:-$REPO/tests/fixtures}
LIB=$LAB_DIR/lib
NODE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
READY_TIMEOUT=${KHLAB_READY_TIMEOUT:-90}

DEPS=(openssh-server openssh-client etcd-server etcd-client iproute2 iptables sudo
      openssl gcc libc6-dev python3 curl procps util-linux)

log() { printf 'lab.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}" >&2; exit 2; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# ---------------------------------------------------------------------------
# deps

cmd_deps() {
  need_root
  local missing=() p
  for p in "${DEPS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  # kubectl for the control planes' `kubectl --kubeconfig /etc/kubernetes/admin.conf`
  # (the nodes see the host's /usr/bin): the host's own if it has one, else
  # Debian's kubernetes-client
  if ! command -v kubectl >/dev/null 2>&1 &&
     ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q 'install ok installed'; then
    missing+=(kubernetes-client)
  fi
  if [ ${#missing[@]} -eq 0 ]; then
    log "deps: all installed"
    return 0
  fi
  log "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages must not start their services (sshd, etcd) on the host: a
  # policy-rc.d that forbids it, only for the install, unless one is there.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, kubeharden lab.sh deps\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } || rc=$?
  if [ $made_policy = 1 ]; then rm -f "$policy"; fi
  [ $rc = 0 ] || die "deps: apt-get failed ($rc)"
  log "deps: done"
}

# ---------------------------------------------------------------------------
# state records: STATE/state, one created thing a line, appended right after
# it was created, so `down` removes exactly those, even after a failed `up`.
#   lab ID | link NAME IFINDEX | netns NAME INODE | proc NODE PID STARTTIME ROLE
#   runnetns-dir | runnetns-mount

record() { printf '%s\n' "$*" >>"$STATE/state"; }

proc_starttime() { # PID -> starttime (field 22 of /proc/PID/stat), fails if gone
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  [ "$1" != Z ] || return 1
  printf '%s\n' "${20}"
}

proc_starttime_any() { # like proc_starttime, zombies included
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  printf '%s\n' "${20}"
}

proc_is() { # PID STARTTIME: is it still that very process?
  local st
  st=$(proc_starttime "$1") || return 1
  [ "$st" = "$2" ]
}

link_ifindex() { cat "/sys/class/net/$1/ifindex" 2>/dev/null; }
netns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

set_state() {
  [ -n "${1:-}" ] || usage
  STATE=$(realpath -m -- "$1")
}

# ---------------------------------------------------------------------------
# down

cmd_down() {
  need_root
  set_state "${1:-}"
  local f=$STATE/state
  if [ ! -f "$f" ]; then
    if [ -f "$STATE/state.down" ]; then f=$STATE/state.down; else
      log "down: nothing recorded in $STATE"
      return 0
    fi
  fi
  do_down "$f"
  if [ "$f" = "$STATE/state" ]; then
    cat "$f" >>"$STATE/state.down"
    rm -f "$f"
  fi
  log "down: done"
}

do_down() {
  local f=$1 kind a b c d
  local -a procs=() links=() nss=() marks=()
  while read -r kind a b c d; do
    case $kind in
      proc) procs+=("$a $b $c $d") ;;
      link) links+=("$a $b") ;;
      netns) nss+=("$a $b") ;;
      runnetns-dir|runnetns-mount) marks+=("$kind") ;;
    esac
  done <"$f"

  # Processes: each node's init first (killing PID 1 of a PID namespace kills
  # everything in it), then the unshare parents. Only if PID and start time
  # still match what was recorded.
  local role p node pid st
  for role in apiserver init unshare; do
    for p in "${procs[@]}"; do
      read -r node pid st d <<<"$p"
      [ "$d" = "$role" ] || continue
      if proc_is "$pid" "$st"; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  done
  local deadline=$((SECONDS + 15)) alive
  while :; do
    alive=0
    for p in "${procs[@]}"; do
      read -r node pid st d <<<"$p"
      if proc_is "$pid" "$st"; then alive=1; fi
    done
    [ $alive = 0 ] && break
    [ $SECONDS -lt $deadline ] || { log "down: some lab processes did not exit"; break; }
    sleep 0.1
  done
  # give their parents a moment to reap them, so no zombie outlives `down`
  local n
  for ((n = 0; n < 20; n++)); do
    alive=0
    for p in "${procs[@]}"; do
      read -r node pid st d <<<"$p"
      if [ -e "/proc/$pid" ] && [ "$(proc_starttime_any "$pid")" = "$st" ]; then alive=1; fi
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done

  # Links, newest first (veths, then the bridge), when name and ifindex match.
  local i name idx
  for ((i = ${#links[@]} - 1; i >= 0; i--)); do
    read -r name idx <<<"${links[i]}"
    if [ "$(link_ifindex "$name")" = "$idx" ]; then
      ip link del "$name" 2>/dev/null || log "down: could not delete link $name"
    fi
  done
  for ((i = ${#nss[@]} - 1; i >= 0; i--)); do
    read -r name idx <<<"${nss[i]}"
    if [ -e "/run/netns/$name" ] && [ "$(netns_inode "$name")" = "$idx" ]; then
      ip netns del "$name" 2>/dev/null || log "down: could not delete netns $name"
    fi
  done
  # /run/netns: only if a lab `up` created it (this one, or another lab that
  # went down while this one still used it: such a /run/netns carries the
  # xattr user.khlab) and no netns is left in it.
  if [ -d /run/netns ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ] &&
     { [ ${#marks[@]} -gt 0 ] || runnetns_marked; }; then
    if mountpoint -q /run/netns; then umount /run/netns 2>/dev/null || true; fi
    if ! mountpoint -q /run/netns; then rmdir /run/netns 2>/dev/null || true; fi
  fi
}

runnetns_marked() {
  python3 -c 'import os, sys; os.getxattr("/run/netns", "user.khlab")' 2>/dev/null
}

runnetns_mark() {
  python3 -c 'import os; os.setxattr("/run/netns", "user.khlab", b"created by kubeharden tests/lab")' \
    2>/dev/null || true
}

# ---------------------------------------------------------------------------
# up

lab_id_free() {
  local id=$1
  ! ip link show "khlab${id}br" >/dev/null 2>&1 || return 1
  ! ip netns list 2>/dev/null | grep -q "^khlab${id}-" || return 1
  ! ip -4 addr show 2>/dev/null | grep -q " 10\.231\.${id}\." || return 1
  [ -z "$(ip -4 route show to match "10.231.${id}.1" 2>/dev/null | grep -v '^default')" ] || return 1
}

on_up_exit() {
  local rc=$?
  # only `up` itself tears down, and only if it did not finish
  [ "$BASHPID" = "${UP_PID:-}" ] || return 0
  [ "${UP_OK:-0}" = 0 ] || return 0
  trap - EXIT INT TERM
  log "up failed (status $rc); tearing down what was created"
  if [ -f "$STATE/state" ]; then
    do_down "$STATE/state" || true
    cat "$STATE/state" >>"$STATE/state.down"
    rm -f "$STATE/state"
  fi
  exit 1
}

tcp_open() { timeout 1 bash -c ": <>/dev/tcp/$1/$2" 2>/dev/null; }

apiserver_pid() { # INIT_PID -> host pid of the khlab-apiserver in that node's PID namespace
  local ns p
  ns=$(readlink "/proc/$1/ns/pid") || return 1
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = khlab-apiserver ] || continue
    [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
    printf '%s\n' "${p#/proc/}"
    return 0
  done
  return 1
}

etcd_healthy() { # NODE IP PORT
  local pd=$STATE/pki/$1/etcd
  curl -s --max-time 2 --cacert "$STATE/pki/etcd-ca.crt" --cert "$pd/healthcheck-client.crt" \
    --key "$pd/healthcheck-client.key" "https://$2:$3/health" 2>/dev/null | grep -q '"health":"true"'
}

cmd_up() {
  need_root
  local lab_id="" nodes="" state_arg="" bench=""
  while [ $# -gt 0 ]; do
    case $1 in
      --bench) bench=${2:?--bench needs a value}; shift 2 ;;
      --bench=*) bench=${1#*=}; shift ;;
      --lab-id) lab_id=${2:?--lab-id needs a value}; shift 2 ;;
      --lab-id=*) lab_id=${1#*=}; shift ;;
      --nodes) nodes=${2:?--nodes needs a value}; shift 2 ;;
      --nodes=*) nodes=${1#*=}; shift ;;
      -*) die "up: unknown option $1" ;;
      *) [ -z "$state_arg" ] || usage; state_arg=$1; shift ;;
    esac
  done
  set_state "$state_arg"
  local t0=$SECONDS c
  for c in ip nsenter unshare setsid gcc openssl ssh-keygen python3 curl /usr/sbin/sshd /usr/bin/etcd; do
    command -v "$c" >/dev/null 2>&1 || die "up: $c not found (run: $0 deps)"
  done
  if [ -n "$bench" ]; then
    # --bench N: N copies of the kubeadm-default worker (with --nodes: in addition)
    [[ $bench =~ ^[0-9]+$ ]] && [ "$bench" -ge 1 ] && [ "$bench" -le 179 ] ||
      die "up: --bench must be 1..179"
    local b
    for ((b = 1; b <= bench; b++)); do nodes+=${nodes:+,}$(printf 'bench-%03d' "$b"); done
  fi
  [ -n "$nodes" ] || nodes=$(python3 "$LIB/materialize.py" names)
  mkdir -p "$STATE"
  [ ! -e "$STATE/state" ] && [ ! -e "$STATE/state.down" ] || {
    [ ! -e "$STATE/state" ] || die "up: $STATE/state exists: the lab there is up (run: $0 down $STATE)"
    # a lab that was taken down: clear what its `up` generated
    rm -rf "${STATE:?}/nodes" "${STATE:?}/pki" "${STATE:?}/bin" "${STATE:?}/state.down" "${STATE:?}"/id_ed25519* \
      "$STATE"/wrong_host_key* "$STATE"/known_hosts "$STATE"/inventory.toml "$STATE"/nodes.json \
      "$STATE"/plan.tsv "$STATE"/known-differences.txt "$STATE"/hashes-before.txt "$STATE"/network.json
  }
  [ ! -e "$STATE/nodes" ] || die "up: $STATE/nodes exists; use an empty STATE_DIR"

  if [ -n "$lab_id" ]; then
    [[ $lab_id =~ ^[0-9]+$ ]] && [ "$lab_id" -ge 1 ] && [ "$lab_id" -le 254 ] ||
      die "up: --lab-id must be 1..254"
    lab_id_free "$lab_id" || die "up: lab id $lab_id is in use (bridge, netns or 10.231.$lab_id.0/24)"
  else
    local i start=$(($$ % 200 + 20)) cand
    for ((i = 0; i < 254; i++)); do
      cand=$(((start - 1 + i) % 254 + 1))
      if lab_id_free "$cand"; then lab_id=$cand; break; fi
    done
    [ -n "$lab_id" ] || die "up: no free lab id"
  fi
  LAB_ID=$lab_id
  UP_PID=$BASHPID
  : >"$STATE/state"
  # any failure from here on (errexit, die, a signal) tears down what exists
  UP_OK=0
  trap on_up_exit EXIT
  trap 'log "up: interrupted"; exit 130' INT TERM
  record "lab $LAB_ID"
  log "up: lab $LAB_ID in $STATE ($(tr , "\n" <<<"$nodes" | wc -l) nodes)"

  mkdir -p "$STATE/bin"
  gcc -O2 -Wall -o "$STATE/bin/khlab-helper" "$LIB/helper.c"
  gcc -O2 -Wall -o "$STATE/bin/khlab-stub" "$LIB/stub.c"
  # for roots of their own (containers), which hold no libc
  gcc -O2 -Wall -static -o "$STATE/bin/khlab-stub-static" "$LIB/stub.c"
  python3 "$LIB/materialize.py" build "$STATE" "$LAB_ID" "$nodes" "$FIXTURES"
  log "up: node trees and PKI ready ($((SECONDS - t0)) s)"

  # -- network: bridge 10.231.N.1/24, one netns + veth per node
  local br=khlab${LAB_ID}br
  ip link add "$br" type bridge
  record "link $br $(link_ifindex "$br")"
  ip link set dev "$br" addrgenmode none
  ip addr add "10.231.$LAB_ID.1/24" dev "$br"
  ip link set dev "$br" up

  local name ip ns veth kind has_sshd etcd_port
  local -a plan=()
  mapfile -t plan <"$STATE/plan.tsv"
  local run_dir_existed=0 run_mounted=0
  [ -d /run/netns ] && run_dir_existed=1
  mountpoint -q /run/netns 2>/dev/null && run_mounted=1
  local first=1
  for line in "${plan[@]}"; do
    IFS=$'\t' read -r name _ ip ns veth kind has_sshd etcd_port <<<"$line"
    [ ! -e "/run/netns/$ns" ] || die "up: netns $ns exists already"
    ip netns add "$ns"
    record "netns $ns $(netns_inode "$ns")"
    if [ $first = 1 ]; then
      first=0
      if [ $run_dir_existed = 0 ]; then record "runnetns-dir"; runnetns_mark; fi
      if [ $run_mounted = 0 ] && mountpoint -q /run/netns; then record "runnetns-mount"; fi
    fi
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    record "link $veth $(link_ifindex "$veth")"
    ip link set dev "$veth" addrgenmode none
    ip link set dev "$veth" master "$br" up
    ip -n "$ns" link set dev eth0 addrgenmode none
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set dev eth0 up
    ip -n "$ns" link set dev lo up
  done

  # -- nodes: khlab-helper init is PID 1 of a new PID namespace, in new
  # mount/UTS/IPC namespaces inside the node's netns; it runs init.sh.
  local nd pid st
  for line in "${plan[@]}"; do
    IFS=$'\t' read -r name _ ip ns veth kind has_sshd etcd_port <<<"$line"
    nd=$STATE/nodes/$name
    : >"$nd/ready"
    (cd / && exec setsid nsenter --net="/run/netns/$ns" -- \
      unshare --mount --pid --uts --ipc --fork --kill-child -- \
      "$STATE/bin/khlab-helper" init "$nd/init.pid" /bin/bash "$nd/init.sh") \
      </dev/null >>"$nd/logs/init.log" 2>&1 &
    pid=$!
    st=$(proc_starttime "$pid") || die "up: node $name did not start (see $nd/logs/init.log)"
    record "proc $name $pid $st unshare"
  done

  # -- wait until every node is ready: init done, sshd accepting, etcd healthy
  local deadline=$((SECONDS + READY_TIMEOUT)) pending
  local -A done_init=() done_all=()
  while :; do
    pending=0
    for line in "${plan[@]}"; do
      IFS=$'\t' read -r name _ ip ns veth kind has_sshd etcd_port <<<"$line"
      [ -z "${done_all[$name]:-}" ] || continue
      nd=$STATE/nodes/$name
      if [ -z "${done_init[$name]:-}" ] && [ -s "$nd/init.pid" ]; then
        pid=$(<"$nd/init.pid")
        if st=$(proc_starttime "$pid"); then
          record "proc $name $pid $st init"
          done_init[$name]=1
        fi
      fi
      if grep -q '^failed' "$nd/ready" 2>/dev/null; then
        log "up: node $name: $(grep '^failed' "$nd/ready" | head -1)"
        tail -n 20 "$nd/logs/init.log" >&2 || true
        false
      fi
      if [ -n "${done_init[$name]:-}" ] && grep -q '^ready' "$nd/ready" 2>/dev/null &&
        { [ "$has_sshd" = 0 ] && [ "$kind" != hang ] || tcp_open "$ip" 22; } &&
        { [ "$etcd_port" = 0 ] || etcd_healthy "$name" "$ip" "$etcd_port"; }; then
        if [ -f "$nd/apiserver.json" ]; then
          # init.sh said ready only once khlab-apiserver had bound :6443
          pid=$(apiserver_pid "$(<"$nd/init.pid")") || die "up: node $name: no khlab-apiserver"
          st=$(proc_starttime "$pid") || die "up: node $name: khlab-apiserver gone"
          record "proc $name $pid $st apiserver"
        fi
        done_all[$name]=1
        continue
      fi
      pending=1
    done
    [ $pending = 1 ] || break
    if [ $SECONDS -ge $deadline ]; then
      for line in "${plan[@]}"; do
        IFS=$'\t' read -r name _ <<<"$line"
        if [ -z "${done_all[$name]:-}" ]; then
          log "up: node $name not ready after ${READY_TIMEOUT}s; logs in $STATE/nodes/$name/logs:"
          tail -n 5 "$STATE/nodes/$name/logs"/*.log >&2 2>/dev/null || true
        fi
      done
      false
    fi
    sleep 0.2
  done
  python3 "$LIB/materialize.py" finalize "$STATE"
  log "up: all nodes running ($((SECONDS - t0)) s)"

  # -- check every node against its fixture, and that ssh logs in
  local -a vnodes=() sshnodes=() sshpids=()
  for line in "${plan[@]}"; do
    IFS=$'\t' read -r name _ ip ns veth kind has_sshd etcd_port <<<"$line"
    if [ "$has_sshd" = 1 ]; then
      # bench nodes are identical copies: verify the first one only
      [ "$kind" != bench ] || [ "$name" = bench-001 ] && vnodes+=("$name")
      # fault-hostkey's key is wrong in known_hosts on purpose; on
      # fault-forcecommand every login waits forever (selftest.sh checks it)
      [ "$kind" = hostkey ] || [ "$kind" = forcecommand ] || sshnodes+=("$name")
    fi
  done
  if [ ${#vnodes[@]} -gt 0 ]; then do_verify "${vnodes[@]}"; fi
  for name in "${sshnodes[@]}"; do
    ssh_to "$name" true </dev/null &
    sshpids+=($!)
  done
  for pid in "${sshpids[@]}"; do
    wait "$pid" || { log "up: ssh to a node failed"; false; }
  done
  : >"$STATE/hashes-before.txt"
  for line in "${plan[@]}"; do
    IFS=$'\t' read -r name _ _ _ _ kind _ _ <<<"$line"
    case $kind in sshd-down|hang|dropped) continue ;; esac
    if [ "$kind" = bench ] && [ "$name" != bench-001 ]; then continue; fi
    do_hash "$name" >"$STATE/nodes/$name/hashes-before.txt"
    sed "s|^|$name |" "$STATE/nodes/$name/hashes-before.txt" >>"$STATE/hashes-before.txt"
  done
  UP_OK=1
  trap - EXIT INT TERM
  log "up: ready in $((SECONDS - t0)) s: inventory $STATE/inventory.toml"
  printf '%s\n' "$STATE/inventory.toml"
}

# ---------------------------------------------------------------------------
# exec / ssh / hash / verify / status

node_line() { # NAME -> plan line
  local line
  [ -f "$STATE/plan.tsv" ] || die "no lab in $STATE"
  while IFS= read -r line; do
    [ "${line%%$'\t'*}" = "$1" ] && { printf '%s\n' "$line"; return 0; }
  done <"$STATE/plan.tsv"
  die "no node $1 in $STATE"
}

node_init_pid() { # NAME -> pid of its init, verified against the record
  local kind a b c d
  [ -f "$STATE/state" ] || die "lab in $STATE is not up"
  while read -r kind a b c d; do
    if [ "$kind" = proc ] && [ "$a" = "$1" ] && [ "$d" = init ] && proc_is "$b" "$c"; then
      printf '%s\n' "$b"
      return 0
    fi
  done <"$STATE/state"
  die "node $1 is not running"
}

in_node() { # NAME CMD... (stdin passes through)
  local pid
  pid=$(node_init_pid "$1")
  shift
  nsenter -t "$pid" -n -m -p -u -i -r -w -- env PATH="$NODE_PATH" "$@"
}

cmd_exec() {
  need_root
  set_state "${1:-}"
  [ -n "${2:-}" ] && [ $# -ge 3 ] || usage
  local node=$2
  shift 2
  local pid
  pid=$(node_init_pid "$node")
  exec nsenter -t "$pid" -n -m -p -u -i -r -w -- env PATH="$NODE_PATH" "$@"
}

# Only the node's network namespace: the node's addresses, routes, firewall
# and 127.0.0.1, with the host's files (STATE_DIR/pki, ...) and tools.
cmd_netexec() {
  need_root
  set_state "${1:-}"
  [ -n "${2:-}" ] && [ $# -ge 3 ] || usage
  local node=$2
  shift 2
  local pid
  pid=$(node_init_pid "$node")
  exec nsenter -t "$pid" -n -- "$@"
}

ssh_to() { # NAME [CMD...]: ssh with the lab key as the node's first user
  local name=$1 line ip kind user=root
  shift
  line=$(node_line "$name")
  IFS=$'\t' read -r _ _ ip _ _ kind _ _ <<<"$line"
  [ "$kind" = sudo ] && user=auditor
  ssh -i "$STATE/id_ed25519" -o UserKnownHostsFile="$STATE/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 \
    -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR "$user@$ip" "$@"
}

cmd_ssh() {
  set_state "${1:-}"
  [ -n "${2:-}" ] || usage
  local node=$2
  shift 2
  ssh_to "$node" "$@"
}

do_hash() { # NAME: hash of the node's tree, as the node sees it
  local name=$1
  python3 - "$STATE/nodes/$name/root" <<'EOF' | in_node "$name" python3 -c "$(cat "$LIB/inspect_node.py")" hash
import json, os, sys
root = sys.argv[1]
paths = []
for dirpath, dirnames, filenames in os.walk(root):
    rel = dirpath[len(root):] or "/"
    for n in dirnames + filenames:
        paths.append(os.path.join(rel, n))
print(json.dumps(paths))
EOF
}

cmd_hash() {
  need_root
  set_state "${1:-}"
  [ -n "${2:-}" ] || usage
  do_hash "$2"
}

do_verify() { # NAMES...: compare nodes with expected.json
  local name rc=0
  for name in "$@"; do
    in_node "$name" python3 -c "$(cat "$LIB/inspect_node.py")" verify \
      <"$STATE/nodes/$name/expected.json" || rc=1
  done
  [ $rc = 0 ] || { log "verify: nodes differ from their fixtures (see above)"; return 1; }
  log "verify: $* match their fixtures"
}

cmd_verify() {
  need_root
  set_state "${1:-}"
  shift
  local -a names=("$@")
  local name kind has_sshd
  if [ ${#names[@]} = 0 ]; then
    while IFS=$'\t' read -r name _ _ _ _ kind has_sshd _; do
      [ "$has_sshd" = 1 ] && names+=("$name")
    done <"$STATE/plan.tsv"
  fi
  do_verify "${names[@]}"
}

cmd_status() {
  set_state "${1:-}"
  local f=$STATE/state kind a b c d
  [ -f "$f" ] || { echo "down"; return 0; }
  while read -r kind a b c d; do
    case $kind in
      proc) if proc_is "$b" "$c"; then echo "proc $a $d $b running"; else echo "proc $a $d $b gone"; fi ;;
      link) if [ "$(link_ifindex "$a")" = "$b" ]; then echo "link $a present"; else echo "link $a gone"; fi ;;
      netns) if [ "$(netns_inode "$a")" = "$b" ]; then echo "netns $a present"; else echo "netns $a gone"; fi ;;
      *) echo "$kind $a" ;;
    esac
  done <"$f"
}

# ---------------------------------------------------------------------------

main() {
  local cmd=${1:-}
  [ -n "$cmd" ] || usage
  shift
  case $cmd in
    deps) cmd_deps "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    exec) cmd_exec "$@" ;;
    netexec) cmd_netexec "$@" ;;
    ssh) cmd_ssh "$@" ;;
    hash) cmd_hash "$@" ;;
    verify) cmd_verify "$@" ;;
    status) cmd_status "$@" ;;
    -h|--help|help) usage ;;
    *) usage ;;
  esac
}

main "$@"
