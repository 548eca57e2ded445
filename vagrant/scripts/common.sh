#!/usr/bin/env bash
# Every lab node: kernel settings, swap off, containerd and the pinned
# kubelet, kubeadm and kubectl from pkgs.k8s.io. Idempotent: a second run
# changes nothing and restarts nothing.
#
# Environment (set by the Vagrantfile): KH_K8S_VERSION (1.32.4),
# KH_K8S_PKG_REV (1.1), KH_CONTAINERD_VERSION (containerd.io's Debian
# version, 1.7.24-1).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env KH_K8S_VERSION KH_K8S_PKG_REV KH_CONTAINERD_VERSION
must_match KH_K8S_VERSION '^[0-9]+\.[0-9]+\.[0-9]+$'
must_match KH_K8S_PKG_REV '^[0-9]+(\.[0-9]+)*$'
must_match KH_CONTAINERD_VERSION '^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$'
[[ $EUID -eq 0 ]] || die "run as root (Vagrant's shell provisioner does)"

minor=${KH_K8S_VERSION%.*}
pkg_version="$KH_K8S_VERSION-$KH_K8S_PKG_REV"
export DEBIAN_FRONTEND=noninteractive

# --- kernel: modules, forwarding, and what the kubelet's
# protectKernelDefaults expects (set on every node, hardened or not, so a
# later KH_HARDENED=1 run never finds the kernel at odds with the kubelet).
write_file /etc/modules-load.d/kubernetes.conf 0644 <<'CONF'
overlay
br_netfilter
CONF
modprobe overlay
modprobe br_netfilter
write_file /etc/sysctl.d/90-kubernetes.conf 0644 <<'CONF'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
vm.overcommit_memory = 1
vm.panic_on_oom = 0
kernel.panic = 10
kernel.panic_on_oops = 1
kernel.keys.root_maxkeys = 1000000
kernel.keys.root_maxbytes = 25000000
CONF
sysctl --system >/dev/null

# --- swap: the kubelet refuses to start with swap on.
if [[ -n "$(swapon --show --noheadings)" ]]; then
  log "turning swap off"
  swapoff -a
fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
  sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# kh-lab: \1/' /etc/fstab
fi

# --- apt repositories: Docker's for containerd.io, pkgs.k8s.io for the
# Kubernetes minor version.
. /etc/os-release
arch=$(dpkg --print-architecture)
installed() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p' || true; }
missing=()
for p in ca-certificates curl gpg nftables conntrack socat; do
  [[ -n "$(installed "$p")" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
install -d -m 0755 /etc/apt/keyrings
if [[ ! -s /etc/apt/keyrings/docker.asc ]]; then
  curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc
  chmod 0644 /etc/apt/keyrings/docker.asc
fi
write_file /etc/apt/sources.list.d/docker.list 0644 <<LIST
deb [arch=$arch signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu $VERSION_CODENAME stable
LIST
k8s_key=/etc/apt/keyrings/kubernetes-v$minor.gpg
if [[ ! -s "$k8s_key" ]]; then
  curl -fsSL "https://pkgs.k8s.io/core:/stable:/v$minor/deb/Release.key" | gpg --dearmor --yes -o "$k8s_key"
  chmod 0644 "$k8s_key"
fi
write_file /etc/apt/sources.list.d/kubernetes.list 0644 <<LIST
deb [signed-by=$k8s_key] https://pkgs.k8s.io/core:/stable:/v$minor/deb/ /
LIST

want=()
[[ "$(installed containerd.io)" == "$KH_CONTAINERD_VERSION" ]] || want+=("containerd.io=$KH_CONTAINERD_VERSION")
for p in kubelet kubeadm kubectl; do
  [[ "$(installed "$p")" == "$pkg_version" ]] || want+=("$p=$pkg_version")
done
if ((${#want[@]})); then
  log "installing ${want[*]}"
  apt-get update -qq
  apt-get install -y -qq --allow-change-held-packages --allow-downgrades "${want[@]}" >/dev/null
fi
apt-mark hold containerd.io kubelet kubeadm kubectl >/dev/null

# --- containerd: the CRI plugin on (containerd.io ships it disabled),
# systemd cgroups as the kubelet uses, and kubeadm's pause image.
pause=$(kubeadm config images list --kubernetes-version "v$KH_K8S_VERSION" 2>/dev/null | grep '/pause:' || true)
[[ -n "$pause" ]] || die "kubeadm did not name its pause image"
config=$(containerd config default |
  sed -E -e 's/^([[:space:]]*SystemdCgroup = ).*/\1true/' \
    -e "s#^([[:space:]]*sandbox_image = ).*#\\1\"$pause\"#")
grep -q 'SystemdCgroup = true' <<<"$config" || die "containerd's default configuration has no SystemdCgroup setting (containerd 2.x?)"
write_file /etc/containerd/config.toml 0644 <<<"$config"
if ((CHANGED)) || ! systemctl is-active --quiet containerd; then
  log "containerd: configuration changed, restarting"
  systemctl restart containerd
fi
systemctl enable --quiet containerd kubelet
retry 15 2 test -S /run/containerd/containerd.sock || die "containerd did not come up"
log "node ready for kubeadm: Kubernetes $pkg_version, containerd.io $KH_CONTAINERD_VERSION"
