#!/usr/bin/env python3
"""Seeds the fuzz corpus from the project's real inputs: the fixtures' facts
(argv, file contents, certificates), the example and fixture inventories,
the example waivers, and a JSON report of a fixture cluster. Each seed is
named after where it came from, so the corpus says what it holds.

Run from the repository root: python3 fuzz/seeds/from_fixtures.py REPORT.json
(REPORT.json: `kubeharden eval tests/fixtures/misconfigured --json REPORT.json`).
Seeds from the lab and from real TLS servers come from fuzz/seeds/capture.sh.
"""
import glob, json, os, sys

ROOT = os.getcwd()
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SPLIT = "\n---8<---\n"


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    safe = name.replace("/", "_").strip("_")[:100]
    with open(os.path.join(d, safe), "wb") as f:
        f.write(data)


for path in sorted(glob.glob("tests/fixtures/*/*.json")):
    scen = path.split("/")[-2]
    node = os.path.basename(path)[:-5]
    text = open(path).read()
    put("facts", f"{scen}-{node}.json", text)
    facts = json.loads(text)
    for kind, c in sorted(facts.get("components", {}).items()):
        if c.get("argv"):
            put("argv", f"{scen}-{node}-{kind}", "\0".join(c["argv"]))
    configs = []
    for p, f in sorted(facts.get("files", {}).items()):
        content = f.get("content")
        if not content:
            continue
        if p.endswith((".yaml", ".yml", ".conf", "config")):
            put("yaml", f"{scen}-{node}-{p}", content)
            configs.append(content)
    if configs:
        put("node_config", f"{scen}-{node}", SPLIT.join(configs))
    for c in facts.get("certificates", []):
        put("pem", f"{scen}-{node}-{c['path']}", c["pem"])

for path in sorted(glob.glob("tests/fixtures/inventories/*")) + ["examples/inventory.toml"]:
    put("inventory", os.path.basename(path), open(path).read())
put("ssh_config", "vagrant-ssh-config.txt", open("tests/fixtures/inventories/vagrant-ssh-config.txt").read())
put("ssh_config", "typical", """Host bastion
    HostName 10.0.0.5
    User ops
    IdentityFile ~/.ssh/id_ed25519

Host cp1 worker-*
    HostName %h.cluster.internal
    User root
    Port 2222
    ProxyJump bastion
    StrictHostKeyChecking yes
    UserKnownHostsFile ~/.ssh/known_hosts.d/cluster

Match host 10.0.0.*
    User admin

Host *
    ServerAliveInterval 30
    IdentitiesOnly yes
""")
put("waivers", "example", open("examples/waivers.toml").read())
put("waivers", "globs", """[[waiver]]
check = "1.2.*"
nodes = "cp*"
reason = "tracked in OPS-12"
owner = "platform"
expires = "2027-01-31"

[[waiver]]
check = "4.2.?"
nodes = "worker"
reason = "r"
owner = "o"
expires = 2026-12-31
""")
put("yaml", "alias-bomb", "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d]\n")
put("yaml", "anchors-and-tags", "%YAML 1.2\n---\n!!map\n? complex key\n: &x !!str value\nother: *x\nlist:\n- |\n  block\n  text\n- >-\n  folded\n...\n")
put("report", "misconfigured.json", open(sys.argv[1]).read())
for t, seeds in {
    "argv_structured": [b"\x00\x03" + b"\x00\x01\x00x=1\x01\x02\x00/etc/a\x04", b"\x02\x05\x02\x01\x00\x03ab"],
    "kubelet_config_structured": [b"\x04\x00\x01\x01\x02\x03hi\x05", b"\x03\x02\x06\x02\x00a\x01\x00"],
}.items():
    for i, s in enumerate(seeds):
        put(t, f"seed-{i}", s)
