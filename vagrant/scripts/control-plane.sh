#!/usr/bin/env bash
# The control plane (stacked etcd): kubeadm init, flannel, the workers'
# bootstrap token, and with KH_HARDENED=1 the CIS remediations kubeadm
# supports. Idempotent: run again, it only makes sure of each step.
#
# Hardening is one-way: with KH_HARDENED=0 an already hardened control plane
# is left as it is (taking the encryption provider away would make the
# secrets encrypted with it unreadable). `vagrant destroy` to start over.
#
# Environment (set by the Vagrantfile): KH_K8S_VERSION, KH_CP_IP,
# KH_TOKEN, KH_POD_CIDR, KH_NET_GATEWAY (the host's address on the
# private network, which flannel routes towards), KH_FLANNEL_VERSION,
# KH_HARDENED (0 or 1).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export KUBECONFIG=/etc/kubernetes/admin.conf
STATE=/etc/kubeharden-lab
KUBEADM_CONFIG=$STATE/kubeadm.yaml
HARDENED_MARK=$STATE/hardened
AUDIT_POLICY=/etc/kubernetes/audit-policy.yaml
ENC_DIR=/etc/kubernetes/enc
ENC_CONFIG=$ENC_DIR/encryption.yaml
# HARDEN: 1 to render and apply the hardened configuration (main sets it).
HARDEN=${HARDEN:-0}
NEW_KEY=0

# An `extraArgs` entry of kubeadm's v1beta4 configuration.
arg() { printf '      - name: %s\n        value: "%s"\n' "$1" "$2"; }

# kubeadm_config: the whole kubeadm configuration, hardened when HARDEN=1.
kubeadm_config() {
  local suites
  suites=$(
    IFS=,
    echo "${KH_CIPHERS[*]}"
  )
  cat <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "$KH_TOKEN"
    ttl: 24h0m0s
    usages: [signing, authentication]
    groups: ["system:bootstrappers:kubeadm:default-node-token"]
localAPIEndpoint:
  advertiseAddress: $KH_CP_IP
  bindPort: 6443
nodeRegistration:
  name: $(hostname)
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: "$KH_CP_IP"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: kh-lab
kubernetesVersion: v$KH_K8S_VERSION
controlPlaneEndpoint: "$KH_CP_IP:6443"
networking:
  podSubnet: $KH_POD_CIDR
  serviceSubnet: 10.96.0.0/12
EOF
  if [[ "$HARDEN" == 1 ]]; then
    cat <<EOF
apiServer:
  extraArgs:
$(arg profiling false)
$(arg audit-log-path /var/log/kubernetes/audit/audit.log)
$(arg audit-log-maxage 30)
$(arg audit-log-maxbackup 10)
$(arg audit-log-maxsize 100)
$(arg audit-policy-file "$AUDIT_POLICY")
$(arg encryption-provider-config "$ENC_CONFIG")
$(arg service-account-extend-token-expiration false)
$(arg tls-cipher-suites "$suites")
  extraVolumes:
    - name: audit-policy
      hostPath: $AUDIT_POLICY
      mountPath: $AUDIT_POLICY
      readOnly: true
      pathType: File
    - name: audit-log
      hostPath: /var/log/kubernetes/audit
      mountPath: /var/log/kubernetes/audit
      pathType: DirectoryOrCreate
    - name: encryption-config
      hostPath: $ENC_DIR
      mountPath: $ENC_DIR
      readOnly: true
      pathType: Directory
controllerManager:
  extraArgs:
$(arg profiling false)
$(arg terminated-pod-gc-threshold 10)
scheduler:
  extraArgs:
$(arg profiling false)
EOF
  fi
}

# harden_inputs: the files the hardened flags name. The encryption key is
# made here, on the VM, once; it never leaves it.
harden_inputs() {
  install -d -m 0700 /var/log/kubernetes/audit "$ENC_DIR"
  write_file "$AUDIT_POLICY" 0600 <<'EOF'
# kubeharden lab: log who did what, without secret payloads.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
      - group: ""
        resources: ["endpoints", "services", "services/status"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps", "serviceaccounts/token"]
      - group: "authentication.k8s.io"
        resources: ["tokenreviews"]
  - level: RequestResponse
    resources:
      - group: "rbac.authorization.k8s.io"
  - level: Metadata
EOF
  if [[ ! -s "$ENC_CONFIG" ]]; then
    local key
    key=$(head -c 32 /dev/urandom | base64)
    write_file "$ENC_CONFIG" 0600 <<EOF
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: $key
      - identity: {}
EOF
    NEW_KEY=1
  fi
}

# etcd_firewall_rules: the nftables ruleset of etcd_firewall.
etcd_firewall_rules() {
  cat <<EOF
#!/usr/sbin/nft -f
# kubeharden lab: etcd (2379 client, 2380 peer) for control planes only.
table inet kh_etcd
delete table inet kh_etcd
table inet kh_etcd {
  set control_planes {
    type ipv4_addr
    elements = { $KH_CP_IP }
  }
  chain input {
    type filter hook input priority filter - 10; policy accept;
    tcp dport { 2379, 2380 } iifname "lo" accept
    tcp dport { 2379, 2380 } ip saddr @control_planes accept
    tcp dport { 2379, 2380 } counter drop
  }
}
EOF
}

# etcd_firewall: only the control planes and loopback reach etcd's client
# and peer ports. Its own nftables table, loaded by its own unit, so neither
# kube-proxy's nor flannel's rules are touched.
etcd_firewall() {
  write_file "$STATE/etcd-firewall.nft" 0600 < <(etcd_firewall_rules)
  local rules_changed=$CHANGED
  write_file /etc/systemd/system/kh-etcd-firewall.service 0644 <<EOF
[Unit]
Description=kubeharden lab: only control planes may reach etcd (2379, 2380)
Before=kubelet.service
After=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f $STATE/etcd-firewall.nft
ExecStop=/usr/sbin/nft delete table inet kh_etcd

[Install]
WantedBy=multi-user.target
EOF
  if ((CHANGED)); then
    systemctl daemon-reload
  fi
  systemctl enable --quiet kh-etcd-firewall.service
  if ((rules_changed)) || ! systemctl is-active --quiet kh-etcd-firewall.service; then
    log "etcd firewall: loading"
    systemctl restart kh-etcd-firewall.service
  fi
  nft list table inet kh_etcd >/dev/null || die "the etcd firewall table is not loaded"
}

# harden_cp_files: CIS section 1.1 permissions and ownership.
harden_cp_files() {
  chmod_existing 0600 /etc/kubernetes/manifests/*.yaml \
    /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf \
    /etc/kubernetes/scheduler.conf /etc/kubernetes/controller-manager.conf
  chown -R root:root /etc/kubernetes/pki /etc/kubernetes/manifests
  find /etc/kubernetes/pki -type f -exec chmod 0600 {} +
  if ! id -u etcd >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd
  fi
  chown -R etcd:etcd /var/lib/etcd
  chmod 0700 /var/lib/etcd
}


api_ready() { kubectl get --raw=/readyz >/dev/null 2>&1; }
# The kubelet restarts the API server some seconds after its manifest
# changes: until then the old one still answers.
apiserver_hardened() { pgrep -f -- "kube-apiserver .*--encryption-provider-config=$ENC_CONFIG" >/dev/null; }

main() {
  local ipv4 config config_changed flannel_url reach
  require_env KH_K8S_VERSION KH_CP_IP KH_TOKEN KH_POD_CIDR KH_NET_GATEWAY KH_FLANNEL_VERSION KH_HARDENED
  ipv4='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
  must_match KH_CP_IP "$ipv4"
  must_match KH_NET_GATEWAY "$ipv4"
  must_match KH_POD_CIDR '^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
  must_match KH_TOKEN '^[a-z0-9]{6}\.[a-z0-9]{16}$'
  must_match KH_FLANNEL_VERSION '^v[0-9]+\.[0-9]+\.[0-9]+$'
  must_match KH_HARDENED '^[01]$'
  [[ $EUID -eq 0 ]] || die "run as root (Vagrant's shell provisioner does)"

  install -d -m 0700 "$STATE"

  if [[ -e "$HARDENED_MARK" ]]; then
    HARDEN=1
    if [[ "$KH_HARDENED" == 0 ]]; then
      log "this control plane is already hardened; KH_HARDENED=0 does not undo it (vagrant destroy to start over)"
    fi
  else
    HARDEN=$KH_HARDENED
  fi

  if [[ "$HARDEN" == 1 ]]; then
    harden_inputs
  fi
  config=$(kubeadm_config)
  write_file "$KUBEADM_CONFIG" 0600 <<<"$config"
  # Applied is what the control plane runs with; a run that failed half-way
  # is completed by the next one.
  config_changed=0
  if [[ ! -e "$STATE/kubeadm.applied" ]] || ! cmp -s "$KUBEADM_CONFIG" "$STATE/kubeadm.applied"; then
    config_changed=1
  fi
  if [[ -e "$STATE/kubeadm.applied" ]] &&
    ! grep -qx "kubernetesVersion: v$KH_K8S_VERSION" "$STATE/kubeadm.applied"; then
    die "this lab runs $(grep '^kubernetesVersion:' "$STATE/kubeadm.applied"); KH_K8S_VERSION=$KH_K8S_VERSION needs a new lab (vagrant destroy -f && vagrant up)"
  fi

  if [[ ! -e /etc/kubernetes/admin.conf ]]; then
    log "kubeadm init (Kubernetes v$KH_K8S_VERSION, hardened=$HARDEN)"
    kubeadm init --config "$KUBEADM_CONFIG"
    cp "$KUBEADM_CONFIG" "$STATE/kubeadm.applied"
    config_changed=0
  elif ((config_changed)); then
    log "kubeadm: configuration changed, regenerating the control plane's manifests"
    kubeadm init phase control-plane all --config "$KUBEADM_CONFIG"
    kubeadm init phase upload-config kubeadm --config "$KUBEADM_CONFIG"
    cp "$KUBEADM_CONFIG" "$STATE/kubeadm.applied"
  fi
  if [[ "$HARDEN" == 1 ]]; then
    retry 60 5 apiserver_hardened || die "the API server did not restart with the hardened flags: crictl ps -a"
  fi
  log "waiting for the API server"
  retry 90 5 api_ready || die "the API server is not ready: crictl ps -a; journalctl -u kubelet"

  # kubectl for the vagrant user.
  install -d -o vagrant -g vagrant -m 0700 /home/vagrant/.kube
  install -o vagrant -g vagrant -m 0600 /etc/kubernetes/admin.conf /home/vagrant/.kube/config

  # The workers' bootstrap token (expired tokens are deleted by the cluster).
  if ! kubeadm token list | awk 'NR > 1 { print $1 }' | grep -qxF "$KH_TOKEN"; then
    log "creating the workers' bootstrap token"
    kubeadm token create "$KH_TOKEN" --ttl 24h0m0s
  fi

  # Pod network: flannel, pinned, routed over the private network (the NAT
  # interface has the same address on every VirtualBox VM).
  flannel_url="https://github.com/flannel-io/flannel/releases/download/$KH_FLANNEL_VERSION/kube-flannel.yml"
  if ! kubectl -n kube-flannel get daemonset kube-flannel-ds >/dev/null 2>&1; then
    log "installing flannel $KH_FLANNEL_VERSION"
    kubectl apply -f "$flannel_url"
  fi
  reach="--iface-can-reach=$KH_NET_GATEWAY"
  if ! kubectl -n kube-flannel get daemonset kube-flannel-ds \
    -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -qF -- "\"$reach\""; then
    kubectl -n kube-flannel patch daemonset kube-flannel-ds --type json \
      -p "[{\"op\": \"add\", \"path\": \"/spec/template/spec/containers/0/args/-\", \"value\": \"$reach\"}]"
  fi

  if [[ "$HARDEN" == 1 ]]; then
    # Rewritten once after the key is made (a run that stopped before
    # this point does it on the next run).
    if ((NEW_KEY)) || [[ ! -e "$STATE/secrets-encrypted" ]]; then
      log "encrypting the existing secrets with the new key"
      kubectl get secrets --all-namespaces -o json | kubectl replace -f - >/dev/null
      touch "$STATE/secrets-encrypted"
    fi
    etcd_firewall
    harden_cp_files
    harden_node_files
    harden_kubelet
    touch "$HARDENED_MARK"
    log "control plane hardened"
  fi
  log "control plane ready: $(kubectl get nodes --no-headers 2>/dev/null | wc -l) node(s) registered"
}

# Sourced (by the lab's tests, to render the configuration), it only
# defines; run, it provisions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
