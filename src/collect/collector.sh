# kubeharden collector. POSIX sh (dash, bash, busybox ash). Read-only: it
# reads /proc and files, never writes, never executes node binaries.
#
# kubeharden sends this script on stdin with two lines prepended:
#   KH_N=<random nonce>  KH_CAP=<max bytes read from one file>
# and a request list (one "<op> <path>" per line) in a here-document at the
# end. Every answer is framed as
#   @@<nonce> B <type> <key>
#   <payload>
#   @@<nonce> E
# The nonce is random per run, so file contents cannot forge frames.
#
# Secrets never leave the node: private keys are never read (a file holding
# a PEM private key is refused), encryption configs and kubeconfigs are
# redacted here, before anything is printed, and only ETCD_* variables of the
# etcd process are read from its environment.

LC_ALL=C
export LC_ALL
umask 077

kh_b() { printf '@@%s B %s %s\n' "$KH_N" "$1" "$2"; }
kh_e() { printf '\n@@%s E\n' "$KH_N"; }
kh_err() { kh_b err "$1"; printf '%s' "$2"; kh_e; }

kh_meta() {
  kh_b meta os
  if [ -r /etc/os-release ]; then
    sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"'
  fi
  kh_e
  kh_b meta kernel; uname -r 2>/dev/null; kh_e
  kh_b meta uid; id -u 2>/dev/null; kh_e
}

# stat one path, following symlinks (a ConfigMap-mounted file is a link).
kh_stat() {
  p=$1
  kh_b stat "$p"
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then
    if [ -d "${p%/*}" ] && [ ! -x "${p%/*}" ]; then
      printf 'error parent directory not searchable'
    else
      printf 'missing'
    fi
  else
    out=$(stat -L -c '%a|%u|%g|%U|%G|%s|%F' -- "$p" 2>&1) && printf 'ok %s' "$out" || printf 'error %s' "$out"
    if [ -L "$p" ]; then
      printf '\nlink %s' "$(readlink -- "$p" 2>/dev/null)"
    fi
  fi
  kh_e
}

# stat a directory and everything under it (capped), listing the entries.
kh_tree() {
  kh_stat "$1"
  [ -d "$1" ] || return 0
  kh_list=$(find "$1" -mindepth 1 2>/dev/null | head -n 2000)
  kh_b list "$1"
  printf '%s' "$kh_list"
  kh_e
  printf '%s\n' "$kh_list" | while IFS= read -r q; do
    [ -n "$q" ] && kh_stat "$q"
  done
}

kh_has_private_key() {
  grep -q -- '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$1" 2>/dev/null
}

# read a config file's content, capped; $2 selects on-node redaction.
kh_read() {
  p=$1
  kh_stat "$p"
  [ -f "$p" ] || return 0
  if kh_has_private_key "$p"; then
    kh_err "$p" "refused to read: the file holds a private key"
    return 0
  fi
  if [ ! -r "$p" ]; then
    kh_err "$p" "not readable"
    return 0
  fi
  if [ "$2" = manifest ]; then kh_b manifest "$p"; else kh_b read "$p"; fi
  case $2 in
    enc)
      # EncryptionConfiguration: drop every key's secret, both styles.
      head -c "$KH_CAP" -- "$p" | sed -e 's/\(secret[[:space:]]*:[[:space:]]*\)[^,}[:space:]][^,}]*/\1<redacted>/g' ;;
    kubeconfig)
      head -c "$KH_CAP" -- "$p" | sed \
        -e 's/\(client-key-data[[:space:]]*:[[:space:]]*\)[^[:space:]].*/\1<redacted>/' \
        -e 's/\(token[[:space:]]*:[[:space:]]*\)[^[:space:]].*/\1<redacted>/' \
        -e 's/\(password[[:space:]]*:[[:space:]]*\)[^[:space:]].*/\1<redacted>/' ;;
    manifest)
      # Pod env values may hold secrets; command and args are what we need.
      head -c "$KH_CAP" -- "$p" | sed -e 's/^\([[:space:]]*\(- \)\{0,1\}value[[:space:]]*:\).*/\1 <redacted>/' ;;
    *)
      head -c "$KH_CAP" -- "$p" ;;
  esac
  kh_e
}

# certificate blocks only: never the key that may share the file.
kh_certs() {
  p=$1
  kh_stat "$p"
  [ -f "$p" ] && [ -r "$p" ] || return 0
  kh_b cert "$p"
  head -c "$KH_CAP" -- "$p" | awk '/-----BEGIN CERTIFICATE-----/{c=1} c{print} /-----END CERTIFICATE-----/{c=0}'
  kh_e
}

kh_manifests() {
  kh_tree "$1"
  [ -d "$1" ] || return 0
  for m in "$1"/*.yaml "$1"/*.yml "$1"/*.json "$1"/*.manifest; do
    [ -f "$m" ] && kh_read "$m" manifest
  done
}

kh_dropins() {
  kh_tree "$1"
  [ -d "$1" ] || return 0
  for m in "$1"/*.conf; do
    [ -f "$m" ] && kh_read "$m" plain
  done
}

# Components from /proc. comm (15 chars) is a cheap filter; the full name
# from exe or argv[0] decides, so kube-controller-manager is not truncated.
kh_procs() {
  for d in /proc/[0-9]*; do
    comm=
    read -r comm 2>/dev/null < "$d/comm" || continue
    case $comm in
      kube-apiserver|kube-controller|kube-scheduler|etcd|kubelet|kube-proxy) ;;
      *) continue ;;
    esac
    pid=${d#/proc/}
    exe=$(readlink "$d/exe" 2>/dev/null)
    a0=$(tr '\0' '\n' < "$d/cmdline" 2>/dev/null | head -n 1)
    for c in kube-apiserver kube-controller-manager kube-scheduler etcd kubelet kube-proxy; do
      if [ "${exe##*/}" = "$c" ] || [ "${a0##*/}" = "$c" ]; then
        kh_b proc "$c"
        printf 'pid %s\n' "$pid"
        printf 'exe %s\n' "$exe"
        printf 'cmd '
        od -An -v -tx1 < "$d/cmdline" 2>/dev/null | tr -d ' \n'
        printf '\n'
        if [ "$c" = etcd ]; then
          tr '\0' '\n' < "$d/environ" 2>/dev/null | grep '^ETCD_[A-Z0-9_]*=' | sed 's/^/env /'
        fi
        kh_e
        break
      fi
    done
  done
}

kh_sockets() {
  kh_b sockets ss
  if command -v ss >/dev/null 2>&1; then
    ss -H -ltnp 2>/dev/null
  fi
  kh_e
  kh_b sockets proc
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
  kh_e
}

# Requests follow in a here-document with a quoted, nonce-bearing delimiter,
# so nothing in a path is ever expanded by the shell.
kh_main() {
  while IFS= read -r kh_line; do
    kh_op=${kh_line%% *}
    kh_arg=${kh_line#* }
    case $kh_op in
      meta) kh_meta ;;
      procs) kh_procs ;;
      sockets) kh_sockets ;;
      stat) kh_stat "$kh_arg" ;;
      tree) kh_tree "$kh_arg" ;;
      read) kh_read "$kh_arg" plain ;;
      readenc) kh_read "$kh_arg" enc ;;
      readkc) kh_read "$kh_arg" kubeconfig ;;
      manifests) kh_manifests "$kh_arg" ;;
      dropins) kh_dropins "$kh_arg" ;;
      certs) kh_certs "$kh_arg" ;;
    esac
  done
}
