# kubeharden API reader. POSIX sh. Runs the node's own kubectl with the
# node's admin kubeconfig, so no credential ever leaves the node: only the
# fields printed by the JSONPath templates below come back.
#
# kubeharden sends this script on stdin with these lines prepended:
#   KH_N=<random nonce>
#   KH_KUBECTL=<candidate kubectl commands, one per line>
#   KH_KUBECONFIG=<candidate kubeconfig paths, one per line>
# and the requests ("<resource> <jsonpath template>", one per line) in a
# here-document at the end. Answers are framed as the collector's are:
#   @@<nonce> B <type> <key>
#   <payload>
#   @@<nonce> E
#
# Read-only: only `kubectl get` and `kubectl version`. kubectl keeps a
# discovery and HTTP cache under ~/.kube/cache; here HOME and --cache-dir
# point at a private temporary directory, removed on the way out, so the
# node is left as it was found. Secrets and ConfigMaps are never listed,
# and the templates print no annotation and no environment value.
printf '\n@@%s START\n' "$KH_N"

LC_ALL=C
export LC_ALL
umask 077

kh_b() { printf '@@%s B %s %s\n' "$KH_N" "$1" "$2"; }
kh_e() { printf '\n@@%s E\n' "$KH_N"; }

# The first candidate whose program exists: a path that is executable, or a
# name on PATH (k3s's is "k3s kubectl", two words).
kh_find_kubectl() {
  while IFS= read -r c; do
    [ -n "$c" ] || continue
    set -f
    # shellcheck disable=SC2086
    set -- $c
    set +f
    case $1 in
      /*) [ -x "$1" ] && { printf '%s' "$c"; return 0; } ;;
      *) command -v "$1" >/dev/null 2>&1 && { printf '%s' "$c"; return 0; } ;;
    esac
  done <<KH_C
$KH_KUBECTL
KH_C
  return 1
}

kh_find_kubeconfig() {
  while IFS= read -r p; do
    [ -n "$p" ] && [ -r "$p" ] && [ -f "$p" ] && { printf '%s' "$p"; return 0; }
  done <<KH_C
$KH_KUBECONFIG
KH_C
  return 1
}

kh_api() (
  kc=$(kh_find_kubectl) || {
    kh_b apierror kubectl
    printf 'no kubectl on the node (looked for: %s)' "$(printf '%s' "$KH_KUBECTL" | tr '\n' ' ')"
    kh_e
    exit 0
  }
  cfg=$(kh_find_kubeconfig) || {
    kh_b apierror kubeconfig
    printf 'no readable admin kubeconfig on the node (looked for: %s)' "$(printf '%s' "$KH_KUBECONFIG" | tr '\n' ' ')"
    kh_e
    exit 0
  }
  d=$(mktemp -d "${TMPDIR:-/tmp}/kubeharden-api.XXXXXXXX") || {
    kh_b apierror tmp
    printf 'cannot make a private temporary directory for kubectl'\''s cache'
    kh_e
    exit 0
  }
  trap 'rm -rf "$d"' EXIT
  trap 'exit 1' HUP INT TERM
  kh_b api source
  printf '%s\n%s' "$kc" "$cfg"
  kh_e
  set -f
  # shellcheck disable=SC2086
  set -- $kc
  set +f
  kh_b api version
  HOME=$d KUBECONFIG='' "$@" --kubeconfig "$cfg" --cache-dir "$d/cache" \
    --request-timeout=15s version -o json </dev/null 2>"$d/err"
  rc=$?
  kh_e
  [ "$rc" -eq 0 ] || { kh_b apierr version; head -c 2000 "$d/err"; kh_e; }
  while IFS=' ' read -r res tpl; do
    [ -n "$res" ] || continue
    kh_b api "$res"
    HOME=$d KUBECONFIG='' "$@" --kubeconfig "$cfg" --cache-dir "$d/cache" \
      --request-timeout=15s get "$res" --all-namespaces -o "jsonpath=$tpl" </dev/null 2>"$d/err"
    rc=$?
    kh_e
    [ "$rc" -eq 0 ] || { kh_b apierr "$res"; head -c 2000 "$d/err"; kh_e; }
  done
)
