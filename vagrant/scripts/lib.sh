# shellcheck shell=bash
# Shared by the lab's provisioning scripts (sourced, never run): logging,
# checked environment, idempotent file writes, and the hardening every node
# gets (kubelet drop-in, file permissions).

log() { printf '[kh-lab %s] %s\n' "$(hostname)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# require_env NAME...: each variable must be set and non-empty.
require_env() {
  local v
  for v in "$@"; do
    [[ -n "${!v:-}" ]] || die "$v is not set (the Vagrantfile passes it)"
  done
}

# must_match NAME REGEX: the variable's value must match the regex.
must_match() {
  [[ "${!1}" =~ $2 ]] || die "$1=${!1@Q} is not valid (expected $2)"
}

# retry TIMES DELAY CMD...: runs CMD until it succeeds, at most TIMES times.
retry() {
  local times=$1 delay=$2 i
  shift 2
  for ((i = 1; i <= times; i++)); do
    if "$@"; then
      return 0
    fi
    sleep "$delay"
  done
  return 1
}

# write_file PATH MODE < CONTENT: installs CONTENT at PATH with MODE (owner
# root) unless it is already there; sets CHANGED=1 when it wrote, 0 if not.
CHANGED=0
write_file() {
  local path=$1 mode=$2 tmp
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$path" ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    chmod "$mode" "$path"
    CHANGED=0
  else
    mv -f "$tmp" "$path"
    CHANGED=1
  fi
}

# chmod_existing MODE PATH...: chmod the paths that exist.
chmod_existing() {
  local mode=$1 p
  shift
  for p in "$@"; do
    if [[ -e "$p" ]]; then
      chmod "$mode" "$p"
    fi
  done
}

# The TLS cipher suites CIS accepts (strong ECDHE AEAD suites only).
KH_CIPHERS=(
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305
)

KUBELET_DROPIN_DIR=/etc/kubernetes/kubelet.conf.d

# kubelet_dropin: the KubeletConfiguration drop-in harden_kubelet installs.
kubelet_dropin() {
  local suites
  suites=$(printf -- '- %s\n' "${KH_CIPHERS[@]}")
  cat <<EOF
# kubeharden lab (KH_HARDENED=1): CIS Kubernetes Benchmark section 4.2.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
readOnlyPort: 0
protectKernelDefaults: true
makeIPTablesUtilChains: true
rotateCertificates: true
eventRecordQPS: 5
streamingConnectionIdleTimeout: 5m0s
seccompDefault: true
podPidsLimit: 4096
tlsCipherSuites:
$suites
EOF
}

kubelet_healthy() { curl -sf --max-time 3 http://127.0.0.1:10248/healthz >/dev/null; }

# harden_kubelet: CIS section 4.2 in a KubeletConfiguration drop-in (read
# through --config-dir, merged over kubeadm's /var/lib/kubelet/config.yaml),
# then restarts the kubelet if anything changed. protectKernelDefaults
# needs the sysctls common.sh sets.
harden_kubelet() {
  local restart=0
  write_file "$KUBELET_DROPIN_DIR/50-cis.conf" 0600 < <(kubelet_dropin)
  restart=$((restart | CHANGED))
  chmod 0755 "$KUBELET_DROPIN_DIR"
  # kubeadm's systemd drop-in reads KUBELET_EXTRA_ARGS from here.
  write_file /etc/default/kubelet 0600 <<EOF
KUBELET_EXTRA_ARGS=--config-dir=$KUBELET_DROPIN_DIR
EOF
  restart=$((restart | CHANGED))
  if ((restart)); then
    log "kubelet: hardened configuration changed, restarting"
    systemctl daemon-reload
    systemctl restart kubelet
  fi
  # A kubelet that rejects its configuration exits and is restarted by
  # systemd, so "active" proves little: ask its health endpoint.
  retry 30 2 kubelet_healthy ||
    die "the kubelet is not healthy with the hardened configuration: journalctl -u kubelet"
}

# harden_node_files: CIS section 4.1 file permissions and ownership.
harden_node_files() {
  chmod_existing 0600 \
    /usr/lib/systemd/system/kubelet.service \
    /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf \
    /etc/systemd/system/kubelet.service.d/10-kubeadm.conf \
    /etc/kubernetes/kubelet.conf \
    /var/lib/kubelet/config.yaml \
    /etc/kubernetes/pki/ca.crt
  if [[ -d /etc/cni/net.d ]]; then
    find /etc/cni/net.d -maxdepth 1 -type f -exec chmod 0600 {} +
    chown -R root:root /etc/cni/net.d
  fi
  local f
  for f in /etc/kubernetes/kubelet.conf /var/lib/kubelet/config.yaml; do
    if [[ -e "$f" ]]; then
      chown root:root "$f"
    fi
  done
}
