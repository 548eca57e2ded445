"""Runs INSIDE a lab node (lab.sh pipes it to python3 through nsenter).

    python3 - verify   < expected.json   check the node against its fixture
    python3 - hash     < paths.json      hash + stat of the node's files

verify reads {"files":..., "components":..., "volatile": [...]} and prints one
line per difference (exit 1 if any). A file the fixture says is `inside` a
component's container is checked through that process's root
(/proc/<pid>/root), and must not exist on the node's host; files with the
same `dev_ino` in the fixture must be one file on the node. hash reads a JSON list of paths (the
node's own tree) and adds everything in the overlay's writable layer, i.e.
every file anything in the node created or changed since it started.
"""

import grp
import hashlib
import json
import os
import pwd
import re
import stat
import sys

BINARY = {"apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
          "scheduler": "kube-scheduler", "etcd": "etcd", "kubelet": "kubelet",
          "kube-proxy": "kube-proxy"}
COMM_OK = {"kube-apiserver", "kube-controller", "kube-scheduler", "etcd", "kubelet", "kube-proxy"}
UPPER = "/run/khlab/upper"
# Written by the node itself without anyone asking: login records, etcd's data.
HASH_SKIP = re.compile(r"^(/var/log/(wtmp|btmp|lastlog)|/var/lib/etcd/member/.*"
                       r"|/var/lib/rancher/k3s/server/db/etcd/member/.*)$")


def name_of(fn, i):
    try:
        return fn(i)[0]
    except KeyError:
        return str(i)


def redact(text):
    """What the collector's redact_enc leaves of an encryption config: the
    value of every `secret:` (YAML) or `"secret":` (JSON), quoted values
    kept quoted."""
    def one(m):
        return m.group(1) + ('"<redacted>"' if m.group(2).startswith('"') else "<redacted>")
    text = re.sub(r'(secret"?[ \t]*:[ \t]*)("[^"\n]*"|[^,}\s"][^,}\n]*)', one, text)
    # and what its redact_cfg leaves of a supervisor's configuration (k3s's
    # config.yaml): a top-level key naming a secret keeps only its name
    # (but not k3s's secrets-encryption options, which name no secret)
    return re.sub(r'(?m)^(?!"?secrets-encryption(?:-provider)?"?[ \t]*:)'
                  r'("?[A-Za-z0-9_-]*(?:token|secret|password|passwd|endpoint|access-key|psk|vpn-auth)'
                  r'[A-Za-z0-9_-]*"?\+?[ \t]*:).*$', r'\1 <redacted>', text)


def walk(top):
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            out.append(os.path.join(dirpath, n))
    return out


def procs():
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = open(f"/proc/{d}/cmdline", "rb").read()
            comm = open(f"/proc/{d}/comm").read().strip()
            exe = os.readlink(f"/proc/{d}/exe")
            env = open(f"/proc/{d}/environ", "rb").read()
        except OSError:
            continue
        argv = [a.decode(errors="replace") for a in raw.split(b"\0")]
        if raw.endswith(b"\0"):
            argv.pop()
        envd = {}
        for kv in env.split(b"\0"):
            if b"=" in kv:
                k, v = kv.decode(errors="replace").split("=", 1)
                envd[k] = v
        yield int(d), argv, comm, exe, envd


def verify(exp):
    bad = []
    volatile = tuple(exp.get("volatile", []))
    found = {}
    for pid, argv, comm, exe, env in procs():
        for kind, c in exp["components"].items():
            if argv == c["argv"]:
                found.setdefault(kind, []).append((pid, comm, exe, env))
    same = {}  # the fixture's dev_ino -> (path, the node's device:inode)
    for path, e in sorted(exp["files"].items()):
        shown, real = path, path
        if e.get("inside"):
            comp = e["inside"]["component"]
            hits = found.get(comp, [])
            if len(hits) != 1:
                bad.append(f"{path}: inside {comp}, which does not run once")
                continue
            real = f"/proc/{hits[0][0]}/root{path}"
            shown = f"{path} inside {comp}"
            if os.path.lexists(path):
                bad.append(f"{path}: on the host too; the fixture has it inside {comp} only")
        if not e.get("exists"):
            if os.path.lexists(real):
                bad.append(f"{shown}: exists, fixture says absent")
            continue
        try:
            st = os.stat(real)
        except OSError as x:
            bad.append(f"{shown}: {x.strerror}")
            continue
        path = shown
        if e.get("dev_ino"):
            mine = f"{st.st_dev}:{st.st_ino}"
            first = same.setdefault(e["dev_ino"], (path, mine))
            if first[1] != mine:
                bad.append(f"{path}: not the same file as {first[0]}, as the fixture says")
        if e.get("error"):
            continue  # listed in known-differences.txt
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
        if e.get("kind") and kind != e["kind"]:
            bad.append(f"{path}: is a {kind}, fixture says {e['kind']}")
        mode = "%04o" % (st.st_mode & 0o7777)
        if e.get("mode") and mode != e["mode"]:
            bad.append(f"{path}: mode {mode}, fixture says {e['mode']}")
        user, group = name_of(pwd.getpwuid, st.st_uid), name_of(grp.getgrgid, st.st_gid)
        if e.get("user") and user != e["user"]:
            bad.append(f"{path}: user {user}, fixture says {e['user']}")
        if e.get("group") and group != e["group"]:
            bad.append(f"{path}: group {group}, fixture says {e['group']}")
        if "uid" in e and st.st_uid != e["uid"]:
            bad.append(f"{path}: uid {st.st_uid}, fixture says {e['uid']}")
        if "gid" in e and st.st_gid != e["gid"]:
            bad.append(f"{path}: gid {st.st_gid}, fixture says {e['gid']}")
        if "content" in e:
            text = open(real, encoding="utf-8", errors="replace").read()
            if e.get("redacted"):
                if text == e["content"]:
                    bad.append(f"{path}: holds the redacted text, not real secrets")
                text = redact(text)
            if text != e["content"]:
                bad.append(f"{path}: content differs from the fixture")
        if "entries" in e and kind == "dir":
            have = sorted(p for p in walk(real) if not p.startswith(volatile))
            want = sorted(p for p in e["entries"] if not p.startswith(volatile))
            if have != want:
                extra = sorted(set(have) - set(want))
                missing = sorted(set(want) - set(have))
                bad.append(f"{path}: entries differ: extra {extra} missing {missing}")
    for want in exp.get("processes", []):
        # a supervisor running the components inside itself (k3s): its
        # comm, its command line (gspt's single string) and its exe
        hits = [(pid, exe) for pid, argv, comm, exe, _ in procs()
                if argv == want["argv"] and comm == want["name"]]
        if len(hits) != 1:
            bad.append(f"process {want['name']}: {len(hits)} processes with comm "
                       f"{want['name']!r} and argv {want['argv']}")
        elif want.get("exe") and hits[0][1] != want["exe"]:
            bad.append(f"process {want['name']}: exe {hits[0][1]}, expected {want['exe']}")
    for kind, c in sorted(exp["components"].items()):
        hits = found.get(kind, [])
        if len(hits) != 1:
            bad.append(f"component {kind}: {len(hits)} processes with the fixture's argv")
            continue
        pid, comm, exe, env = hits[0]
        binary = BINARY[kind]
        if comm not in COMM_OK:
            bad.append(f"component {kind}: comm {comm!r} is not what the collector looks for")
        if os.path.basename(exe) != binary and os.path.basename(c["argv"][0]) != binary:
            bad.append(f"component {kind}: exe {exe} / argv[0] {c['argv'][0]} do not name {binary}")
        if kind == "etcd":
            etcd_env = {k: v for k, v in env.items() if k.startswith("ETCD_")}
            if etcd_env != c["env"]:
                bad.append(f"component etcd: ETCD_* environment {etcd_env}, fixture says {c['env']}")
    for line in bad:
        print(f"{exp.get('name', '?')}: {line}")
    return 1 if bad else 0


def hash_paths(paths):
    allp = set(paths)
    if os.path.isdir(UPPER):
        for p in walk(UPPER):
            allp.add(p[len(UPPER):])
    out = []
    for p in sorted(allp):
        if HASH_SKIP.match(p):
            continue
        try:
            st = os.lstat(p)
        except OSError:
            out.append(f"absent - - - {p}")
            continue
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 16), b""):
                    h.update(chunk)
            digest = h.hexdigest()
            kind = "file"
        elif stat.S_ISDIR(st.st_mode):
            digest, kind = "-", "dir"
        elif stat.S_ISLNK(st.st_mode):
            digest, kind = "->" + os.readlink(p), "link"
        else:
            digest, kind = "-", "other"
        owner = f"{name_of(pwd.getpwuid, st.st_uid)}:{name_of(grp.getgrgid, st.st_gid)}"
        out.append(f"{digest} {st.st_mode & 0o7777:04o} {owner} {int(st.st_mtime)} {kind} {p}")
    print("\n".join(out))
    return 0


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    data = json.load(sys.stdin)
    if mode == "verify":
        sys.exit(verify(data))
    if mode == "hash":
        sys.exit(hash_paths(data))
    sys.exit("usage: inspect_node.py verify|hash < input.json")


main()
