#!/usr/bin/env bash
# CI check of the README's two commands as a new user runs them: a non-root
# user whose Rust is only in ~/.cargo/bin (as rustup installs it) runs
# `sudo scripts/demo` and `sudo scripts/test` from their own clone. sudo
# resets PATH to its secure_path, which has no ~/.cargo/bin: the scripts must
# find the user's toolchain, compile as the user and leave nothing in the
# clone that the user cannot remove.
#
# It changes nothing outside its own mount namespace and temporary
# directory: the user exists only in a private copy of /etc/passwd, group,
# shadow and sudoers.d, bind-mounted in a namespace made by unshare, and the
# toolchain is this machine's, bind-mounted read-only into the user's home.
# To keep CI short, the demo is asked for its help (which still builds the
# release binary as the user and runs it as root), and the suite for one
# small test target.
#
# Usage (as root): tests/first_contact.sh
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "first_contact: needs root (a mount namespace and sudo)" >&2
  exit 2
fi
command -v sudo >/dev/null || { echo "first_contact: sudo is not installed" >&2; exit 2; }
toolchain=$(rustup which cargo 2>/dev/null) || toolchain=$(command -v cargo)
toolchain=$(dirname "$(dirname "$(readlink -f "$toolchain")")")
if ! [ -x "$toolchain/bin/cargo" ] || ! [ -x "$toolchain/bin/rustc" ]; then
  echo "first_contact: no toolchain found beside $(command -v cargo)" >&2
  exit 2
fi

if [ "${1:-}" != --inside ]; then
  # Everything else runs in a private mount namespace: its mounts go with it.
  tmp=$(mktemp -d /tmp/kh-first-contact.XXXXXX)
  chmod 755 "$tmp"
  rc=0
  unshare --mount --propagation private -- "$0" --inside "$tmp" "$toolchain" || rc=$?
  rm -rf --one-file-system "$tmp"
  exit "$rc"
fi
tmp=$2
toolchain=$3
user=khfirst
uid=4242
home="$tmp/home"

# The user: private copies of the account databases and of sudoers.d.
mkdir -p "$tmp/etc/sudoers.d"
cp /etc/passwd /etc/group /etc/shadow "$tmp/etc/"
echo "$user:x:$uid:$uid:kubeharden first contact:$home:/bin/bash" >>"$tmp/etc/passwd"
echo "$user:x:$uid:" >>"$tmp/etc/group"
echo "$user:!:19000:0:99999:7:::" >>"$tmp/etc/shadow"
echo "$user ALL=(ALL) NOPASSWD: ALL" >"$tmp/etc/sudoers.d/khfirst"
chmod 0440 "$tmp/etc/sudoers.d/khfirst"
for f in passwd group shadow; do mount --bind "$tmp/etc/$f" "/etc/$f"; done
mount --bind "$tmp/etc/sudoers.d" /etc/sudoers.d

# Their Rust, where rustup puts it: cargo and rustc in ~/.cargo/bin, the
# toolchain in ~/.rustup. The crates already downloaded here are copied in so
# that the build does not fetch them again.
mkdir -p "$home/.cargo/bin" "$home/.rustup/toolchains/ci"
ln -s "$home/.rustup/toolchains/ci/bin/cargo" "$home/.cargo/bin/cargo"
ln -s "$home/.rustup/toolchains/ci/bin/rustc" "$home/.cargo/bin/rustc"
if [ -d "${CARGO_HOME:-$HOME/.cargo}/registry" ]; then
  cp -a "${CARGO_HOME:-$HOME/.cargo}/registry" "$home/.cargo/"
fi

# Their clone: the files git tracks, as they are in this checkout.
mkdir -p "$home/kubeharden"
(cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) \
  | tar -C "$home/kubeharden" -xf -
chown -R "$uid:$uid" "$home"
mount --bind -o ro "$toolchain" "$home/.rustup/toolchains/ci"

as_user() {
  runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" \
    PATH="$home/.cargo/bin:/usr/local/bin:/usr/bin:/bin" TERM=dumb \
    bash -c "cd '$home/kubeharden' && $1"
}

fail=0
check() {
  if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1" >&2; fail=1; fi
}

# The user's shell finds cargo; sudo's does not.
check "cargo is on the user's PATH" "as_user 'command -v cargo' >/dev/null"
check "cargo is not on sudo's PATH" "! as_user 'sudo sh -c \"command -v cargo\"' >/dev/null"

echo "== sudo scripts/demo --help (as $user)"
out=$(as_user 'sudo scripts/demo --help' 2>&1) || { echo "$out" >&2; fail=1; }
check "the demo ran" "grep -q 'Usage: kubeharden demo' <<<\"\$out\""
check "the release binary is the user's" \
  "[ \"\$(stat -c %U '$home/kubeharden/target/release/kubeharden')\" = $user ]"

echo "== sudo scripts/test --test architecture (as $user)"
out=$(as_user 'sudo scripts/test --test architecture' 2>&1) || { echo "$out" >&2; fail=1; }
check "the tests ran" "grep -q 'test result: ok' <<<\"\$out\""

left=$(find "$home/kubeharden" "$home/.cargo" -path "$home/.cargo/bin" -prune -o -user 0 -print | head -5)
check "nothing in the clone or ~/.cargo belongs to root" "[ -z \"\$left\" ]" || true
[ -z "$left" ] || echo "  root-owned: $left" >&2

umount "$home/.rustup/toolchains/ci"
exit $fail
