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
# a PEM private key is refused), encryption configs, kubeconfigs and a
# supervisor's configuration (k3s's config.yaml: token, datastore-endpoint,
# ...) are redacted here, before anything is printed, as are flags named
# *-token, *-secret, *-password in the lines a supervisor logged; and only
# ETCD_* variables of the etcd process are read from its environment.
#
# A supervisor that runs components inside itself (k3s) logs their flags
# when it starts them: its own journal entries of this boot (journalctl
# _PID=<pid> -b, so only the running process's lines) or its log file
# (from the last start line on) are read, and only the lines that hold
# one of the requested texts are kept, at most 200 and KH_CAP bytes.
#
# Work is batched to keep the node's cost low: requests are gathered first,
# then one `find` lists every directory, one `stat` answers every path, and
# one `awk` per kind of read answers every file. Shell builtins do the rest.
#
# The first thing it does, before any work, is print a start line,
# "@@<nonce> START", so kubeharden can tell a collector that is running
# (and may take its time) from a login that never ran it (a ForceCommand, a
# profile script that waits, a hung home directory, sudo waiting on a
# directory service), which it abandons at the connect timeout. The nonce
# and the word are kept apart here, so a login that echoes this script back
# cannot forge the line; the leading newline ends whatever the login printed
# without one.
printf '\n@@%s START\n' "$KH_N"

LC_ALL=C
export LC_ALL
umask 077
KH_NL='
'

kh_b() { printf '@@%s B %s %s\n' "$KH_N" "$1" "$2"; }
kh_e() { printf '\n@@%s E\n' "$KH_N"; }

kh_meta() {
  kh_b meta os
  if [ -r /etc/os-release ]; then
    while IFS='=' read -r k v; do
      [ "$k" = PRETTY_NAME ] && { v=${v#\"}; printf '%s' "${v%\"}"; }
    done < /etc/os-release
  fi
  kh_e
  kh_b meta kernel
  read -r v 2>/dev/null < /proc/sys/kernel/osrelease && printf '%s' "$v"
  kh_e
  kh_b meta uid
  while read -r k v _; do [ "$k" = Uid: ] && printf '%s' "$v"; done < /proc/self/status
  kh_e
}

# Components from /proc, and the other processes named in the request (a
# distribution's supervisor). comm (15 chars) selects candidates without a
# fork; kubeharden decides on the full argv[0], so a truncated comm is
# harmless.
kh_procs() {
  kh_named=" $1 "
  for d in /proc/[0-9]*; do
    comm=
    read -r comm 2>/dev/null < "$d/comm" || continue
    case $comm in
      kube-apiserver|kube-controller|kube-scheduler|etcd|kubelet|kube-proxy) ;;
      *) case $kh_named in *" $comm "*) ;; *) continue ;; esac ;;
    esac
    kh_b proc "$comm"
    printf 'pid %s\ncmd\n' "${d#/proc/}"
    # Hex, so no byte of argv can break the frame; kubeharden drops the
    # spaces and line breaks (one fork fewer than piping through tr).
    od -An -v -tx1 < "$d/cmdline" 2>/dev/null
    # Its root directory: the host's / (same device and inode), or a
    # container's. Nothing when /proc/PID/root cannot be followed.
    if [ "$d/root/" -ef / ]; then
      printf 'root host\n'
    elif [ -d "$d/root/" ]; then
      printf 'root own\n'
    fi
    if [ "$comm" = etcd ]; then
      tr '\0' '\n' < "$d/environ" 2>/dev/null | sed -n 's/^\(ETCD_[A-Z0-9_]*=\)/env \1/p'
    fi
    kh_e
  done
}

kh_sockets() {
  if command -v ss >/dev/null 2>&1; then
    kh_b sockets ss
    ss -H -ltnp 2>/dev/null
  else
    kh_b sockets proc
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
  fi
  kh_e
}

# Appends a path to a newline-separated list variable named $1.
kh_add() { eval "$1=\${$1}\$2\$KH_NL"; }

# One stat for every path in $kh_stats. Paths that do not exist (or cannot be
# reached) are answered from shell tests; the rest in one `stats` frame of
# `mode|uid|gid|user|group|size|type|dev:ino|mtime|path` lines (device and
# inode tell two paths to one file apart from two files; the modification
# time, in seconds since the epoch, dates key files and configs for the
# rotation checks, from metadata alone).
kh_stat_all() {
  set --
  while IFS= read -r p; do
    [ -n "$p" ] || continue
    if [ -e "$p" ] || [ -L "$p" ]; then
      set -- "$@" "$p"
    else
      kh_b stat "$p"
      if [ -d "${p%/*}" ] && [ ! -x "${p%/*}" ]; then
        printf 'error parent directory not searchable'
      else
        printf 'missing'
      fi
      kh_e
    fi
  done <<KH_STATS
$kh_stats
KH_STATS
  [ $# -gt 0 ] || return 0
  kh_b stats batch
  stat -L -c '%a|%u|%g|%U|%G|%s|%F|%d:%i|%Y|%n' -- "$@" 2>/dev/null
  kh_e
}

# Every file in $kh_read_<mode>, read in one awk: capped, refused when it
# holds a PEM private key, redacted for its mode. Empty files get an empty
# frame here, since awk never sees a line of them.
kh_read_all() {
  mode=$1 list=$2
  set --
  while IFS= read -r p; do
    [ -n "$p" ] || continue
    if [ -f "$p" ] && [ -r "$p" ] && [ -s "$p" ]; then
      set -- "$@" "$p"
    elif [ -f "$p" ] && [ -r "$p" ]; then
      if [ "$mode" = manifest ]; then kh_b manifest "$p"; else kh_b read "$p"; fi
      kh_e
    elif [ -f "$p" ]; then
      kh_b err "$p"; printf 'not readable'; kh_e
    fi
  done <<KH_READS
$list
KH_READS
  [ $# -gt 0 ] || return 0
  awk -v N="$KH_N" -v CAP="$KH_CAP" -v MODE="$mode" '
    # YAML (secret: X, {secret: X}) and JSON ("secret":"X", one line as
    # k3s and RKE2 write encryption-config.json): the value goes, quoted
    # values stay quoted so the document still parses.
    function redact_enc(s,   out, rest) {
      out = ""
      while (match(s, /secret"?[ \t]*:[ \t]*/)) {
        out = out substr(s, 1, RSTART + RLENGTH - 1)
        rest = substr(s, RSTART + RLENGTH)
        if (substr(rest, 1, 1) == "\"") {
          out = out "\"<redacted>\""
          rest = substr(rest, 2)
          s = match(rest, /"/) ? substr(rest, RSTART + 1) : ""
        } else if (match(rest, /^[^,} \t][^,}]*/)) {
          out = out "<redacted>"
          s = substr(rest, RLENGTH + 1)
        } else {
          s = rest
        }
      }
      return out s
    }
    function redact_kubeconfig(s) {
      if (match(s, /(client-key-data|token|password)[ \t]*:[ \t]*[^ \t]/)) {
        seg = substr(s, RSTART, RLENGTH)
        sub(/[ \t]*:.*/, "", seg)
        return substr(s, 1, RSTART - 1) seg ": <redacted>"
      }
      return s
    }
    # A supervisor configuration (YAML): a top-level key that may hold a
    # secret loses its value and every line of it; an argument list item
    # name=value whose name ends in token, secret or password loses its
    # value. The k3s options secrets-encryption (a boolean) and
    # secrets-encryption-provider (aescbc or secretbox) name no secret and
    # stay: they say where the encryption configuration comes from.
    function redact_cfg(s,   key) {
      if (s ~ /^[^ \t#-]/) {
        hide = 0
        if (s ~ /^"?secrets-encryption(-provider)?"?[ \t]*:/) return s
        if (match(s, /^"?[A-Za-z0-9_-]*(token|secret|password|passwd|endpoint|access-key|psk|vpn-auth)[A-Za-z0-9_-]*"?\+?[ \t]*:/)) {
          hide = 1
          return substr(s, 1, RLENGTH) " <redacted>"
        }
        return s
      }
      if (hide) return ""
      if (match(s, /^[ \t]*-[ \t]*["\047]?-*[A-Za-z0-9_-]*(token|secret|password)=/)) {
        key = substr(s, 1, RLENGTH)
        # the closing quote of the item, so the YAML stays valid
        return key "<redacted>" (index(key, "\"") ? "\"" : index(key, "\047") ? "\047" : "")
      }
      return s
    }
    function redact_manifest(s) {
      if (match(s, /^[ \t]*(- )?value[ \t]*:/)) return substr(s, 1, RLENGTH) " <redacted>"
      return s
    }
    function flush() {
      if (cur == "") return
      if (bad) {
        printf "@@%s B err %s\nrefused to read: the file holds a private key\n@@%s E\n", N, cur, N
      } else {
        printf "@@%s B %s %s\n%s\n@@%s E\n", N, (MODE == "manifest" ? "manifest" : "read"), cur, buf, N
      }
    }
    FNR == 1 { flush(); cur = FILENAME; buf = ""; len = 0; bad = 0; first = 1; hide = 0 }
    {
      if ($0 ~ /-----BEGIN [A-Z ]*PRIVATE KEY-----/) bad = 1
      if (len >= CAP) next
      line = $0
      if (MODE == "enc") line = redact_enc(line)
      else if (MODE == "kubeconfig") line = redact_kubeconfig(line)
      else if (MODE == "manifest") line = redact_manifest(line)
      else if (MODE == "cfg") { line = redact_cfg(line); if (hide && line == "") next }
      buf = first ? line : buf "\n" line
      first = 0
      len += length($0) + 1
    }
    END { flush() }
  ' "$@" 2>/dev/null
}

# The lines a supervisor logged that hold one of the texts in
# $kh_logpats (one a line): from stdin, each capped, at most 200 (the last
# ones) and KH_CAP bytes. With START, a line holding it starts over (a log
# file holds every start; only the last one's lines belong to the running
# process). Values of flags named *-token, *-secret, *-password are
# redacted. journalctl's own complaints (no permission) are kept as notes.
kh_log_filter() {
  awk -v PATS="$kh_logpats" -v START="$1" -v CAP="$KH_CAP" '
    BEGIN { np = split(PATS, pat, "\n"); n = 0 }
    function redact(s,   out, seg) {
      out = ""
      while (match(s, /--[A-Za-z0-9-]*(token|secret|password)=[^ "]*/)) {
        seg = substr(s, RSTART, RLENGTH)
        sub(/=.*/, "=<redacted>", seg)
        out = out substr(s, 1, RSTART - 1) seg
        s = substr(s, RSTART + RLENGTH)
      }
      return out s
    }
    /^(No journal files|Failed to|journalctl: )/ { note = note "note " substr($0, 1, 300) "\n"; next }
    {
      keep = 0
      if (START != "" && index($0, START)) { n = 0; keep = 1 }
      for (i = 1; i <= np && !keep; i++) if (pat[i] != "" && index($0, pat[i])) keep = 1
      if (!keep) next
      line[n % 200] = redact(substr($0, 1, 65536)); n++
    }
    END {
      printf "%s", note
      first = n > 200 ? n - 200 : 0
      total = 0
      for (i = first; i < n; i++) {
        l = line[i % 200]
        total += length(l) + 1
        if (total > CAP) { print "note cut at the size cap"; break }
        print "line " l
      }
    }'
}

kh_logs() {
  while IFS= read -r pid; do
    [ -n "$pid" ] || continue
    kh_b log "journal:$pid"
    if command -v journalctl >/dev/null 2>&1; then
      journalctl -b "_PID=$pid" -o cat --no-pager 2>&1 | kh_log_filter ""
    else
      printf 'note no journalctl on the node\n'
    fi
    kh_e
  done <<KH_JOURNALS
$kh_journals
KH_JOURNALS
  while IFS= read -r p; do
    [ -n "$p" ] && [ -f "$p" ] || continue
    kh_b log "$p"
    if [ -r "$p" ]; then
      kh_log_filter "$kh_logstart" < "$p"
    else
      printf 'note not readable\n'
    fi
    kh_e
  done <<KH_LOGFILES
$kh_logfiles
KH_LOGFILES
}

# Certificate blocks only, from every file in $kh_certs: never the key that
# may share a file with them.
kh_certs_all() {
  set --
  while IFS= read -r p; do
    [ -n "$p" ] && [ -f "$p" ] && [ -r "$p" ] && [ -s "$p" ] && set -- "$@" "$p"
  done <<KH_CERTS
$kh_certs
KH_CERTS
  [ $# -gt 0 ] || return 0
  awk -v N="$KH_N" '
    FNR == 1 { if (cur != "") printf "\n@@%s E\n", N; cur = FILENAME; printf "@@%s B cert %s\n", N, cur; c = 0 }
    /-----BEGIN CERTIFICATE-----/ { c = 1 }
    c { print }
    /-----END CERTIFICATE-----/ { c = 0 }
    END { if (cur != "") printf "\n@@%s E\n", N }
  ' "$@" 2>/dev/null
}

# The labels of the PEM blocks in every file of $kh_pemkeys (public-key
# files: the service-account verification keys), one a line, so the keys
# can be counted: never a block's content. A file with a private key in it
# gets only the word "refused".
kh_pemkeys_all() {
  set --
  while IFS= read -r p; do
    [ -n "$p" ] && [ -f "$p" ] && [ -r "$p" ] && [ -s "$p" ] && set -- "$@" "$p"
  done <<KH_PEMKEYS
$kh_pemkeys
KH_PEMKEYS
  [ $# -gt 0 ] || return 0
  awk -v N="$KH_N" '
    function flush() {
      if (cur == "") return
      printf "@@%s B pemkeys %s\n%s\n@@%s E\n", N, cur, (bad ? "refused" : labels), N
    }
    FNR == 1 { flush(); cur = FILENAME; labels = ""; bad = 0; n = 0 }
    /^-----BEGIN [A-Z0-9 ]+-----/ {
      if ($0 ~ /PRIVATE KEY/) bad = 1
      if (n < 512) {
        l = $0; sub(/^-----BEGIN /, "", l); sub(/-----.*$/, "", l)
        labels = labels (n ? "\n" : "") l; n++
      }
    }
    END { flush() }
  ' "$@" 2>/dev/null
}

kh_main() {
  kh_pemkeys=
  kh_stats= kh_trees= kh_certs=
  kh_read_plain= kh_read_enc= kh_read_kubeconfig= kh_read_manifest= kh_read_cfg=
  kh_journals= kh_logfiles= kh_logpats= kh_logstart=
  do_meta= do_procs= do_sockets= kh_procs_named=
  while IFS= read -r kh_line; do
    kh_op=${kh_line%% *}
    p=${kh_line#* }
    case $kh_op in
      meta) do_meta=1 ;;
      procs) do_procs=1; kh_procs_named=$p ;;
      sockets) do_sockets=1 ;;
      stat) kh_add kh_stats "$p" ;;
      tree) kh_add kh_stats "$p"; kh_add kh_trees "$p" ;;
      read) kh_add kh_stats "$p"; kh_add kh_read_plain "$p" ;;
      readenc) kh_add kh_stats "$p"; kh_add kh_read_enc "$p" ;;
      readkc) kh_add kh_stats "$p"; kh_add kh_read_kubeconfig "$p" ;;
      certs) kh_add kh_stats "$p"; kh_add kh_certs "$p" ;;
      pemkeys) kh_add kh_stats "$p"; kh_add kh_pemkeys "$p" ;;
      readcfg) kh_add kh_stats "$p"; kh_add kh_read_cfg "$p" ;;
      journal) kh_add kh_journals "$p" ;;
      logfile) kh_add kh_stats "$p"; kh_add kh_logfiles "$p" ;;
      logmatch) kh_add kh_logpats "$p" ;;
      logstart) kh_logstart=$p ;;
      cfgdir)
        kh_add kh_stats "$p"; kh_add kh_trees "$p"
        for m in "$p"/*.yaml "$p"/*.yml "$p"/*.YAML "$p"/*.YML; do
          [ -f "$m" ] && kh_add kh_read_cfg "$m"
        done
        ;;
      manifests|dropins)
        kh_add kh_stats "$p"; kh_add kh_trees "$p"
        if [ "$kh_op" = manifests ]; then
          for m in "$p"/*.yaml "$p"/*.yml "$p"/*.json "$p"/*.manifest; do
            [ -f "$m" ] && kh_add kh_read_manifest "$m"
          done
        else
          for m in "$p"/*.conf; do
            [ -f "$m" ] && kh_add kh_read_plain "$m"
          done
        fi
        ;;
    esac
  done
  [ -n "$do_meta" ] && kh_meta
  [ -n "$do_procs" ] && kh_procs "$kh_procs_named"
  [ -n "$do_sockets" ] && kh_sockets
  if [ -n "$kh_trees" ]; then
    set --
    while IFS= read -r p; do
      [ -n "$p" ] && [ -d "$p" ] && set -- "$@" "$p"
    done <<KH_TREES
$kh_trees
KH_TREES
    if [ $# -gt 0 ]; then
      # -H: a directory given as a symlink is followed (kubespray's
      # /etc/kubernetes/pki -> ssl), links below it are not.
      kh_found=$(find -H "$@" -mindepth 1 2>/dev/null | head -n 5000)
      kh_b lists batch
      for p in "$@"; do printf 'root %s\n' "$p"; done
      printf '%s' "$kh_found"
      kh_e
      kh_stats=$kh_stats$kh_found$KH_NL
    fi
  fi
  kh_stat_all
  kh_read_all plain "$kh_read_plain"
  kh_read_all enc "$kh_read_enc"
  kh_read_all kubeconfig "$kh_read_kubeconfig"
  kh_read_all manifest "$kh_read_manifest"
  kh_read_all cfg "$kh_read_cfg"
  kh_logs
  kh_certs_all
  kh_pemkeys_all
}
