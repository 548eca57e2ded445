#!/usr/bin/env bash
# A worker: waits for the control plane, joins with the lab's bootstrap
# token, and with KH_HARDENED=1 hardens its kubelet and files. Idempotent:
# a joined worker is not joined again.
#
# Environment (set by the Vagrantfile): KH_CP_IP, KH_NODE_IP, KH_TOKEN,
# KH_HARDENED (0 or 1).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env KH_CP_IP KH_NODE_IP KH_TOKEN KH_HARDENED
ipv4='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
must_match KH_CP_IP "$ipv4"
must_match KH_NODE_IP "$ipv4"
must_match KH_TOKEN '^[a-z0-9]{6}\.[a-z0-9]{16}$'
must_match KH_HARDENED '^[01]$'
[[ $EUID -eq 0 ]] || die "run as root (Vagrant's shell provisioner does)"

STATE=/etc/kubeharden-lab
HARDENED_MARK=$STATE/hardened
install -d -m 0700 "$STATE"

api_up() { curl -ksf --max-time 5 "https://$KH_CP_IP:6443/livez" >/dev/null; }

# A failed join leaves half a node behind: reset before the next attempt.
join_once() {
  if kubeadm join --config "$STATE/join.yaml"; then
    return 0
  fi
  log "kubeadm join failed; resetting before trying again"
  kubeadm reset --force >/dev/null 2>&1 || true
  return 1
}

if [[ ! -e /etc/kubernetes/kubelet.conf ]]; then
  # Providers that start machines in parallel (libvirt) may get here first.
  log "waiting for the control plane at $KH_CP_IP:6443"
  retry 180 5 api_up || die "no API server at https://$KH_CP_IP:6443 after 15 minutes; is cp1 up (vagrant status)?"
  # The token authenticates the cluster-info the control plane signs with
  # it (JWS), so the CA is not pinned: the lab's CA is made on cp1 after
  # this machine's configuration was written.
  join_config=$(
    cat <<YAML
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "$KH_CP_IP:6443"
    token: "$KH_TOKEN"
    unsafeSkipCAVerification: true
nodeRegistration:
  name: $(hostname)
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: "$KH_NODE_IP"
YAML
  )
  write_file "$STATE/join.yaml" 0600 <<<"$join_config"
  log "kubeadm join"
  retry 3 20 join_once ||
    die "kubeadm join failed; on cp1: kubeadm token list"
fi

if [[ "$KH_HARDENED" == 1 || -e "$HARDENED_MARK" ]]; then
  harden_node_files
  harden_kubelet
  touch "$HARDENED_MARK"
  log "worker hardened"
fi
log "worker joined"
