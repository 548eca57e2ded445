# shellcheck shell=bash
# Sourced by scripts/demo and scripts/test: finds the Rust toolchain when the
# README's commands run under sudo.
#
# rustup installs cargo in ~/.cargo/bin, and sudo replaces PATH with its
# secure_path, which does not hold that directory: `sudo scripts/test` would
# fail with "cargo: not found". So when cargo is not on PATH, the toolchain of
# the user who ran sudo (SUDO_USER) is used, and compilation runs as that user
# (so the clone's target/ and ~/.cargo stay theirs); only what needs root (the
# lab's network namespaces, apt-get) runs as root. Files that the root part
# leaves in the clone (test output, the demo's report) are given back to the
# user when the script ends.
#
# After kh_cargo_setup:
#   kh_as_user CMD...  runs CMD as the user who owns the toolchain
#   KH_TOOLCHAIN_USER  that user, or empty when cargo was found on PATH

KH_TOOLCHAIN_USER=""

kh_as_user() {
  if [ -n "$KH_TOOLCHAIN_USER" ]; then
    runuser -u "$KH_TOOLCHAIN_USER" -- env HOME="$KH_TOOLCHAIN_HOME" PATH="$PATH" \
      RUSTUP_HOME="$RUSTUP_HOME" CARGO_HOME="$CARGO_HOME" "$@"
  else
    "$@"
  fi
}

# Gives the clone's files that root created back to the toolchain's user.
kh_give_back() {
  [ -n "$KH_TOOLCHAIN_USER" ] || return 0
  local group
  group=$(id -gn "$KH_TOOLCHAIN_USER")
  find . -path ./.git -prune -o -user 0 -print0 2>/dev/null \
    | xargs -0 -r chown -h "$KH_TOOLCHAIN_USER:$group" 2>/dev/null || true
}

kh_cargo_setup() {
  local script=$1
  if command -v cargo >/dev/null 2>&1; then
    return 0
  fi
  local user="${SUDO_USER:-}" home="" bin=""
  if [ -n "$user" ]; then
    home=$(getent passwd "$user" | cut -d: -f6)
  fi
  for bin in "${home:+$home/.cargo/bin}" "${HOME:+$HOME/.cargo/bin}"; do
    [ -n "$bin" ] && [ -x "$bin/cargo" ] && break
    bin=""
  done
  if [ -z "$bin" ]; then
    echo "$script: cargo is not on PATH${home:+, nor in $home/.cargo/bin}." >&2
    echo "  Install Rust 1.85 or later with rustup (https://rustup.rs) as your own user, then run this again." >&2
    exit 127
  fi
  export PATH="$bin:$PATH"
  if [ -n "$home" ] && [ "$bin" = "$home/.cargo/bin" ]; then
    # rustup's proxies find their toolchains through RUSTUP_HOME, which
    # defaults to root's home under sudo.
    export RUSTUP_HOME="$home/.rustup" CARGO_HOME="$home/.cargo"
    # Compile as the user only when the clone is theirs: a clone owned by
    # root is built by root.
    if [ "$user" != root ] && [ "$(stat -c %U .)" = "$user" ]; then
      KH_TOOLCHAIN_USER=$user
      KH_TOOLCHAIN_HOME=$home
      trap kh_give_back EXIT
    fi
  fi
  echo "$script: using $bin/cargo${KH_TOOLCHAIN_USER:+ (building as $KH_TOOLCHAIN_USER)}" >&2
}
