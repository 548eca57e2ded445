//! `kubeharden scan --kind` end to end, with everything real but the
//! container engine. A fake `docker` (and a fake `kind`), generated into a
//! temporary directory put first on PATH, answer `kind get nodes`,
//! `docker ps` and `docker inspect` as kind and docker do, and route
//! `docker exec -i <container> sh` into a node of the lab
//! (tests/lab/lab.sh): `kind-control-plane` is the kubeadm-default control
//! plane, `kind-worker` its worker. So discovery, the exec transport, the
//! collector, the engine's kind explanations and the reports all run for
//! real, and the verdicts must be the kubeadm-default fixture's, apart from
//! what kind decides (1.1.12, net.etcd-firewall).
//!
//! `kind_scan_of_the_lab` needs root and the lab's packages, like
//! tests/lab_scan.rs. The discovery errors need neither.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::lab::{Lab, lab_sh};
use kubeharden::bench::load_builtin;
use kubeharden::facts::{NodeFacts, Platform, Role, ScanStatus};
use kubeharden::report::{Finding, Report, Status};

/// The two lab nodes a kind cluster is made of.
const LAB_NODES: &str = "kubeadm-default-cp1,kubeadm-default-w1";

/// The fake container engine and kind, in `with_kind/` (docker and kind)
/// and `no_kind/` (docker only). Every call is logged, one line of
/// arguments each, to `log`.
struct Fakes {
    dir: tempfile::TempDir,
    log: PathBuf,
}

/// Where the fake docker sends `exec` (a lab and its node addresses).
struct Route<'a> {
    state: &'a Path,
    cp_address: String,
    w_address: String,
}

/// The fake docker (also installed as podman, which answers the same):
/// docker 28's answers for kind clusters
/// - `kind`: kind-control-plane and kind-worker, which are lab nodes;
/// - `half`: half-control-plane (the lab's control plane) and half-worker,
///   a stopped container;
/// - `lbonly`: only an external load balancer.
///
/// Arguments it does not expect are an error (exit 125), so the formats
/// kubeharden sends are checked exactly. `KH_FAKE_DOCKER_DOWN=1` answers
/// every call as docker does when its daemon is not running.
fn docker_script(log: &Path, route: Option<&Route<'_>>) -> String {
    let (lab_sh, state, cp, w) = match route {
        Some(r) => (
            lab_sh().display().to_string(),
            r.state.display().to_string(),
            r.cp_address.clone(),
            r.w_address.clone(),
        ),
        None => (
            String::new(),
            String::new(),
            "172.18.0.3".into(),
            "172.18.0.2".into(),
        ),
    };
    format!(
        r#"#!/bin/sh
# Fake docker for tests/kind_scan.rs.
LAB_SH='{lab_sh}'
STATE='{state}'
printf '%s %s\n' "${{0##*/}}" "$*" >> '{log}'
unexpected() {{ echo "fake ${{0##*/}}: unexpected arguments: $*" >&2; exit 125; }}
if [ -n "$KH_FAKE_DOCKER_DOWN" ]; then
  echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2
  exit 1
fi
case $1 in
ps)
  [ $# -eq 6 ] && [ "$2" = -a ] && [ "$3" = --filter ] && [ "$5" = --format ] || unexpected "$@"
  case $4 in
    label=io.x-k8s.kind.cluster)
      [ "$6" = '{{{{.Label "io.x-k8s.kind.cluster"}}}}' ] || unexpected "$@"
      printf 'half\nhalf\nlbonly\nkind\nkind\n' ;;
    label=io.x-k8s.kind.cluster=*)
      [ "$6" = '{{{{.Names}}}}' ] || unexpected "$@"
      # Newest first, as docker lists them.
      case ${{4#label=io.x-k8s.kind.cluster=}} in
        kind) printf 'kind-worker\nkind-control-plane\n' ;;
        half) printf 'half-worker\nhalf-control-plane\n' ;;
        lbonly) printf 'lbonly-external-load-balancer\n' ;;
      esac ;;
    *) unexpected "$@" ;;
  esac ;;
inspect)
  [ "$2" = --type ] && [ "$3" = container ] && [ "$4" = --format ] || unexpected "$@"
  [ "$5" = '{{{{.Name}}}}	{{{{index .Config.Labels "io.x-k8s.kind.role"}}}}	{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}} {{{{end}}}}' ] || unexpected "$@"
  shift 5
  rc=0
  for c in "$@"; do
    case $c in
      kind-control-plane|half-control-plane) printf '/%s\tcontrol-plane\t{cp} \n' "$c" ;;
      kind-worker) printf '/kind-worker\tworker\t{w} \n' ;;
      half-worker) printf '/half-worker\tworker\t\n' ;;
      lbonly-external-load-balancer) printf '/%s\texternal-load-balancer\t172.18.0.9 \n' "$c" ;;
      *) echo "Error: No such container: $c" >&2; rc=1 ;;
    esac
  done
  exit $rc ;;
exec)
  [ $# -eq 4 ] && [ "$2" = -i ] && [ "$4" = sh ] || unexpected "$@"
  case $3 in
    kind-control-plane|half-control-plane) node=kubeadm-default-cp1 ;;
    kind-worker) node=kubeadm-default-w1 ;;
    half-worker)
      echo "Error response from daemon: container 5c0ffee0 is not running" >&2
      exit 1 ;;
    *)
      echo "Error response from daemon: No such container: $3" >&2
      exit 1 ;;
  esac
  [ -n "$STATE" ] || {{ echo "fake docker: no lab" >&2; exit 125; }}
  exec bash "$LAB_SH" exec "$STATE" "$node" sh ;;
*) unexpected "$@" ;;
esac
"#,
        log = log.display()
    )
}

/// The fake kind: `kind get nodes --name CLUSTER` lists the cluster's
/// containers through docker, and says so on stderr when there are none,
/// as kind v0.2x does.
fn kind_script(log: &Path) -> String {
    format!(
        r#"#!/bin/sh
# Fake kind for tests/kind_scan.rs.
printf 'kind %s\n' "$*" >> '{log}'
[ $# -eq 4 ] && [ "$1 $2 $3" = "get nodes --name" ] || {{ echo "fake kind: unexpected arguments: $*" >&2; exit 1; }}
if ! out=$(docker ps -a --filter "label=io.x-k8s.kind.cluster=$4" --format '{{{{.Names}}}}' 2>&1); then
  printf 'ERROR: failed to list nodes: command "docker ps -a --filter label=io.x-k8s.kind.cluster=%s --format '\''{{{{.Names}}}}'\''" failed with error: exit status 1\nCommand Output: %s\n' "$4" "$out" >&2
  exit 1
fi
if [ -z "$out" ]; then
  printf 'No kind nodes found for cluster "%s".\n' "$4" >&2
  exit 0
fi
printf '%s\n' "$out"
"#,
        log = log.display()
    )
}

impl Fakes {
    fn new(route: Option<&Route<'_>>) -> Fakes {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        for (sub, files) in [
            ("with_kind", &["docker", "kind"][..]),
            ("no_kind", &["docker", "podman"][..]),
        ] {
            let d = dir.path().join(sub);
            std::fs::create_dir(&d).unwrap();
            for f in files {
                let text = match *f {
                    "kind" => kind_script(&log),
                    _ => docker_script(&log, route),
                };
                let p = d.join(f);
                std::fs::write(&p, text).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        Fakes { dir, log }
    }

    /// PATH with the fakes first. The rest of PATH keeps the tools the lab
    /// needs, minus any real kind (and, for `Bare`, any docker).
    fn path(&self, which: Which) -> OsString {
        let first = self.dir.path().join(match which {
            Which::WithKind => "with_kind",
            Which::NoKind => "no_kind",
            Which::Bare => "empty",
        });
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let rest = std::env::split_paths(&rest).filter(|d| {
            let engine = matches!(which, Which::Bare) && d.join("docker").exists();
            !d.join("kind").exists() && !engine
        });
        std::env::join_paths(std::iter::once(first).chain(rest)).unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn clear_calls(&self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

#[derive(Clone, Copy)]
enum Which {
    WithKind,
    NoKind,
    Bare,
}

fn kubeharden(path: &OsString, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubeharden"));
    c.args(args)
        .env("PATH", path)
        .env_remove("KIND_EXPERIMENTAL_PROVIDER")
        .env_remove("KIND_CLUSTER_NAME")
        .env_remove("KH_FAKE_DOCKER_DOWN");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn finding<'a>(report: &'a Report, node: &str, id: &str) -> &'a Finding {
    report
        .nodes
        .iter()
        .find(|n| n.name == node)
        .unwrap_or_else(|| panic!("no node {node}"))
        .results
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("{node}: no {id}"))
}

fn cluster_finding<'a>(report: &'a Report, id: &str) -> &'a Finding {
    report
        .cluster
        .results
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no cluster finding {id}"))
}

/// Verdicts that differ from the kubeadm-default fixture, and why.
fn overrides(node: &str) -> BTreeMap<String, Status> {
    let mut o = BTreeMap::new();
    // The lab has a real PKI (tests/lab_scan.rs); the fixtures carry none.
    // Its CAs are fresh ten-year ones: keys.ca passes.
    let mut certs = vec![
        "cert.expiry",
        "cert.key-strength",
        "cert.signature",
        "keys.ca",
    ];
    if node == "kind-control-plane" {
        certs.extend(["cert.chain", "cert.apiserver-san"]);
        // kind: etcd runs as root and there is no etcd user.
        o.insert("1.1.12".to_string(), Status::Warn);
    }
    for id in certs {
        o.insert(id.to_string(), Status::Pass);
    }
    // The ports, probed through relays the node containers run (as in
    // tests/lab_scan.rs for the kubeadm-default nodes): metrics in clear on
    // loopback, Go's default CBC suites, and the serving pairs the kubelet,
    // controller-manager and scheduler generate for themselves.
    o.insert("tls.plaintext".into(), Status::Warn);
    o.insert("tls.min-version".into(), Status::Pass);
    o.insert("tls.kubelet-anonymous".into(), Status::Pass);
    o.insert("tls.weak-ciphers".into(), Status::Warn);
    o.insert("tls.served-cert".into(), Status::Warn);
    if node == "kind-control-plane" {
        o.insert("tls.etcd-client-cert".into(), Status::Pass);
    }
    o
}

#[test]
fn kind_scan_of_the_lab() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "the lab needs root");
    let lab = Lab::up(Some(LAB_NODES));
    let route = Route {
        state: &lab.state,
        cp_address: lab.address("kubeadm-default-cp1"),
        w_address: lab.address("kubeadm-default-w1"),
    };
    let fakes = Fakes::new(Some(&route));
    let before: Vec<String> = LAB_NODES.split(',').map(|n| lab.hash(n)).collect();
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("kind.json");
    let html = out_dir.path().join("kind.html");
    let facts_dir = out_dir.path().join("facts");

    let out = kubeharden(
        &fakes.path(Which::WithKind),
        &[
            "scan",
            "--kind",
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--save-facts",
            facts_dir.to_str().unwrap(),
            "--color",
            "never",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    // The README's sample output comes from here.
    if let Some(sample) = std::env::var_os("KH_KIND_SAMPLE") {
        std::fs::write(sample, format!("{stderr}{stdout}")).unwrap();
    }
    // kubeadm defaults fail some checks (4.1.1...), so the run fails.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "kind cluster \"kind\": kind-control-plane (control-plane), kind-worker (worker) through `docker exec -i {node} sh`"
        ),
        "{stderr}"
    );
    // Discovery went through kind, then one inspect; each node got one
    // docker exec for its collection, and more for the probes' relays.
    let calls = fakes.calls();
    assert_eq!(
        calls[..3],
        [
            "kind get nodes --name kind",
            "docker ps -a --filter label=io.x-k8s.kind.cluster=kind --format {{.Names}}",
            "docker inspect --type container --format {{.Name}}\t{{index .Config.Labels \"io.x-k8s.kind.role\"}}\t{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}} kind-worker kind-control-plane",
        ],
        "{calls:?}"
    );
    let mut execs = calls[3..].to_vec();
    assert!(execs.len() > 2, "no probe went through a relay: {calls:?}");
    execs.sort();
    execs.dedup();
    assert_eq!(
        execs,
        [
            "docker exec -i kind-control-plane sh",
            "docker exec -i kind-worker sh"
        ],
        "{calls:?}"
    );

    let report: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report.cluster.name.as_deref(), Some("kind-kind"));
    let nodes: Vec<(&str, &str, &[Role], ScanStatus)> = report
        .nodes
        .iter()
        .map(|n| {
            (
                n.name.as_str(),
                n.address.as_str(),
                n.roles.as_slice(),
                n.scan_status,
            )
        })
        .collect();
    assert_eq!(
        nodes,
        vec![
            (
                "kind-control-plane",
                route.cp_address.as_str(),
                &[Role::ControlPlane, Role::Etcd][..],
                ScanStatus::Ok
            ),
            (
                "kind-worker",
                route.w_address.as_str(),
                &[Role::Worker][..],
                ScanStatus::Ok
            ),
        ]
    );

    // The kubeadm-default verdicts, check by check.
    let bench = load_builtin("cis-1.12").unwrap();
    let expected = common::expected("kubeadm-default");
    let mut wrong = Vec::new();
    for (name, fixture_node) in [("kind-control-plane", "cp1"), ("kind-worker", "w1")] {
        let node = report.nodes.iter().find(|n| n.name == name).unwrap();
        let table = expected[fixture_node].as_table().unwrap();
        for line in common::compare(&bench, node, table, &overrides(name)) {
            wrong.push(format!("{name}: {line}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // What kind decides, with its reasons.
    let data_dir = finding(&report, "kind-control-plane", "1.1.12");
    assert_eq!(data_dir.status, Status::Warn);
    assert!(data_dir.actual.contains("root:root"), "{data_dir:?}");
    assert!(
        data_dir
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("kind node image has no etcd user"),
        "{data_dir:?}"
    );
    let firewall = cluster_finding(&report, "net.etcd-firewall");
    assert_eq!(firewall.status, Status::Warn, "{firewall:?}");
    assert!(
        firewall
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("kind cannot isolate etcd: every node container of a kind cluster is attached to the same container-engine bridge network"),
        "{firewall:?}"
    );
    assert!(
        firewall.actual.contains(&format!(
            "etcd on kind-control-plane listens on https://127.0.0.1:2379,https://{}:2379 (clients)",
            route.cp_address
        )),
        "{}",
        firewall.actual
    );
    assert!(stdout.contains("kind cannot isolate etcd"), "{stdout}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("kind cannot isolate etcd"), "HTML report");

    // The facts keep the platform, so evaluating them again offline gives
    // the same verdicts and reasons.
    let cp_facts: NodeFacts = serde_json::from_str(
        &std::fs::read_to_string(facts_dir.join("kind-control-plane.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cp_facts.platform, Some(Platform::Kind));
    let again = out_dir.path().join("again.json");
    let out = kubeharden(
        &fakes.path(Which::Bare),
        &[
            "eval",
            facts_dir.to_str().unwrap(),
            "--json",
            again.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let again: Report = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(finding(&again, "kind-control-plane", "1.1.12"), data_dir);
    assert_eq!(cluster_finding(&again, "net.etcd-firewall"), firewall);

    // Without kind on PATH, docker lists the containers by kind's label, and
    // the scan is the same.
    fakes.clear_calls();
    let json2 = out_dir.path().join("docker-ps.json");
    let out = kubeharden(
        &fakes.path(Which::NoKind),
        &[
            "scan",
            "--kind",
            "kind",
            "--format",
            "json",
            "--output",
            json2.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = fakes.calls();
    assert_eq!(
        calls[0],
        "docker ps -a --filter label=io.x-k8s.kind.cluster=kind --format {{.Names}}"
    );
    assert!(!calls.iter().any(|c| c.starts_with("kind ")), "{calls:?}");
    let report2: Report = serde_json::from_str(&std::fs::read_to_string(&json2).unwrap()).unwrap();
    let statuses = |r: &Report| -> Vec<(String, String, Status)> {
        r.nodes
            .iter()
            .flat_map(|n| {
                n.results
                    .iter()
                    .map(|f| (n.name.clone(), f.id.clone(), f.status))
            })
            .collect()
    };
    assert_eq!(statuses(&report2), statuses(&report));

    // A stopped node container: that node is reported unreachable, with
    // docker's words; the other one is still scanned.
    let json3 = out_dir.path().join("half.json");
    let out = kubeharden(
        &fakes.path(Which::WithKind),
        &["scan", "--kind", "half", "--json", json3.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let half: Report = serde_json::from_str(&std::fs::read_to_string(&json3).unwrap()).unwrap();
    let worker = half.nodes.iter().find(|n| n.name == "half-worker").unwrap();
    assert_eq!(worker.scan_status, ScanStatus::Unreachable);
    let error = worker.error.as_deref().unwrap_or("");
    assert!(
        error.starts_with("half-worker: ")
            && error.contains("docker exec -i half-worker sh")
            && error.contains("container 5c0ffee0 is not running"),
        "{error}"
    );
    let cp = half
        .nodes
        .iter()
        .find(|n| n.name == "half-control-plane")
        .unwrap();
    assert_eq!(cp.scan_status, ScanStatus::Ok);

    // Read-only: the nodes' files are as they were.
    for (node, before) in LAB_NODES.split(',').zip(before) {
        assert_eq!(lab.hash(node), before, "{node} changed during the scan");
    }
}

/// Runs `kubeharden scan --kind CLUSTER` through the fakes; returns the
/// exit code and stderr. An empty `cluster` gives a bare `--kind`.
fn discover(fakes: &Fakes, which: Which, cluster: &str, env: &[(&str, &str)]) -> (i32, String) {
    let mut args = vec!["scan", "--kind"];
    if !cluster.is_empty() {
        args.push(cluster);
    }
    let out = kubeharden(&fakes.path(which), &args, env);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[test]
fn kind_discovery_errors_are_clear_and_scan_nothing() {
    let fakes = Fakes::new(None);
    let down = [("KH_FAKE_DOCKER_DOWN", "1")];
    let daemon = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";
    for which in [Which::WithKind, Which::NoKind] {
        assert_eq!(
            discover(&fakes, which, "nope", &[]),
            (
                2,
                "kubeharden: no kind cluster named \"nope\" (kind clusters found: half, kind, lbonly)"
                    .to_string()
            )
        );
        assert_eq!(
            discover(&fakes, which, "lbonly", &[]),
            (
                2,
                "kubeharden: kind cluster \"lbonly\" has no node containers (only lbonly-external-load-balancer)"
                    .to_string()
            )
        );
        let (code, err) = discover(&fakes, which, "kind", &down);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.starts_with("kubeharden: listing the node containers of kind cluster \"kind\": `")
                && err.contains(daemon),
            "{err}"
        );
    }
    // Through kind, kind's own message (which quotes docker's) is shown.
    let (_, err) = discover(&fakes, Which::WithKind, "kind", &down);
    assert!(
        err.contains(
            "kind get nodes --name kind` failed (exit status: 1): ERROR: failed to list nodes"
        ),
        "{err}"
    );
    let (_, err) = discover(&fakes, Which::NoKind, "kind", &down);
    assert!(err.contains("docker ps -a --filter label=io.x-k8s.kind.cluster=kind --format '{{.Names}}'` failed (exit status: 1): Cannot connect"), "{err}");
    assert_eq!(
        discover(&fakes, Which::Bare, "kind", &[]),
        (
            2,
            "kubeharden: docker not found on PATH: kind's node containers are reached with `docker exec`; install Docker, or set KIND_EXPERIMENTAL_PROVIDER=podman for a podman cluster"
                .to_string()
        )
    );
    assert_eq!(
        discover(
            &fakes,
            Which::NoKind,
            "kind",
            &[("KIND_EXPERIMENTAL_PROVIDER", "lxc")]
        ),
        (
            2,
            "kubeharden: KIND_EXPERIMENTAL_PROVIDER=\"lxc\" is not a container engine kubeharden can use (docker, podman or nerdctl)"
                .to_string()
        )
    );
    let (code, err) = discover(&fakes, Which::NoKind, "a;b", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("\"a;b\" is not a kind cluster name"), "{err}");
    // A bare --kind means kind's own default cluster.
    let (code, err) = discover(&fakes, Which::WithKind, "", &[("KIND_CLUSTER_NAME", "dev")]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("kubeharden: no kind cluster named \"dev\""),
        "{err}"
    );
    // Nothing was ever executed in a container.
    let calls = fakes.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("docker exec")),
        "{calls:?}"
    );

    // KIND_EXPERIMENTAL_PROVIDER=podman: podman finds the nodes and execs.
    // (Its exec has no lab behind it here, so both nodes are unreachable.)
    fakes.clear_calls();
    let out = kubeharden(
        &fakes.path(Which::NoKind),
        &["scan", "--kind"],
        &[("KIND_EXPERIMENTAL_PROVIDER", "podman")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("through `podman exec -i {node} sh`")
            && err.contains("kind-worker              unreachable"),
        "{err}"
    );
    let mut calls = fakes.calls();
    calls.sort();
    assert!(
        calls.len() == 4
            && calls[..2]
                == [
                    "podman exec -i kind-control-plane sh",
                    "podman exec -i kind-worker sh",
                ]
            && calls[2].starts_with("podman inspect --type container --format ")
            && calls[3]
                == "podman ps -a --filter label=io.x-k8s.kind.cluster=kind --format {{.Names}}",
        "{calls:?}"
    );
}
