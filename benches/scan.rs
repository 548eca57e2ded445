//! Scan speed against the lab: kubeharden's whole scan (collection over SSH
//! and evaluation) beside the practical floor, OpenSSH running one `true` on
//! every node in parallel, both with and without added link latency.
//!
//! Run as root: `cargo bench --bench scan` (50 nodes), or with
//! `KHBENCH_NODES=N`. It builds a lab of N worker nodes with
//! `tests/lab/lab.sh up --bench N`, and tears it down at the end.
//!
//! Latency: this kernel has no `tc netem`, so a delaying TCP proxy on
//! loopback sits in front of each node's sshd and holds every chunk 10 ms in
//! each direction (20 ms more round-trip time). Both clients go through the
//! same proxies. Key exchange dominates on 2 cores, so both use
//! curve25519-sha256.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does nothing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kubeharden::collect::CollectOptions;
use kubeharden::facts::ScanStatus;
use kubeharden::inventory::{NodeSpec, SshConfig};
use kubeharden::scan::{ScanPlan, Via, scan};
use kubeharden::transport::ssh::SshOptions;

const DELAY: Duration = Duration::from_millis(10);

/// Copies `from` to `to`, delivering each chunk `delay` after it arrived.
fn delayed_copy(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = thread::spawn(move || {
        for (at, chunk) in rx {
            let due = at + delay;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}

/// A loopback proxy to `target` adding `delay` each way; returns its address.
fn delaying_proxy(target: SocketAddr, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || delayed_copy(client, server, delay));
            thread::spawn(move || delayed_copy(s2, c2, delay));
        }
    });
    addr
}

fn lab_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh")
}

struct Lab(PathBuf);

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(lab_sh())
            .arg("down")
            .arg(&self.0)
            .status();
    }
}

/// `ssh ... true` on every target at once; the wall time until all are done.
fn openssh_floor(targets: &[(String, u16)], state: &Path, known_hosts: &Path) -> Duration {
    let started = Instant::now();
    let children: Vec<_> = targets
        .iter()
        .map(|(host, port)| {
            Command::new("ssh")
                .args([
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "KexAlgorithms=curve25519-sha256",
                ])
                .arg("-o")
                .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
                .args(["-o", "StrictHostKeyChecking=yes"])
                .arg("-i")
                .arg(state.join("id_ed25519"))
                .arg("-p")
                .arg(port.to_string())
                .arg(format!("root@{host}"))
                .arg("true")
                .spawn()
                .expect("ssh runs")
        })
        .collect();
    for mut c in children {
        let s = c.wait().unwrap();
        assert!(s.success(), "ssh true failed");
    }
    started.elapsed()
}

fn rusage() -> (Duration, u64) {
    // SAFETY: getrusage fills the struct we pass; no other preconditions.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    (t(u.ru_utime) + t(u.ru_stime), u.ru_maxrss as u64)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("the scan bench builds a lab in network namespaces: run it as root");
        std::process::exit(2);
    }
    let n: usize = std::env::var("KHBENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lab");
    let t = Instant::now();
    let ok = Command::new("bash")
        .arg(lab_sh())
        .args(["up"])
        .arg(&state)
        .args(["--bench", &n.to_string()])
        .status()
        .unwrap();
    let _lab = Lab(state.clone());
    assert!(ok.success(), "lab.sh up --bench failed");
    println!("lab of {n} nodes up in {:.1?}", t.elapsed());

    let inventory =
        kubeharden::inventory::load(&state.join("inventory.toml"), &SshConfig::default()).unwrap();
    let bench = kubeharden::bench::load_builtin("cis-1.12").unwrap();
    // Host keys by node address, to list them again under proxy addresses.
    let keys: Vec<(String, String)> = std::fs::read_to_string(state.join("known_hosts"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (host, key) = l.split_once(' ')?;
            Some((
                host.trim_matches(|c| c == '[' || c == ']')
                    .split("]:")
                    .next()?
                    .to_string(),
                key.to_string(),
            ))
        })
        .collect();

    for (label, delay, probes, probe_sessions) in [
        ("no added latency, no probes", None, false, 0),
        ("no added latency, with probes", None, true, 0),
        ("+20 ms RTT, no probes", Some(DELAY), false, 0),
        ("+20 ms RTT, with probes", Some(DELAY), true, 0),
        (
            "+20 ms RTT, with probes over 2 extra sessions",
            Some(DELAY),
            true,
            2,
        ),
    ] {
        let mut specs: Vec<NodeSpec> = Vec::new();
        let mut targets = Vec::new();
        let known = state.join(format!("known_hosts_{}", delay.is_some()));
        let mut known_text = String::new();
        for spec in &inventory {
            let real: SocketAddr = format!("{}:{}", spec.address, spec.port.unwrap_or(22))
                .parse()
                .unwrap();
            let addr = match delay {
                Some(d) => delaying_proxy(real, d),
                None => real,
            };
            targets.push((addr.ip().to_string(), addr.port()));
            let key = &keys
                .iter()
                .find(|(h, _)| *h == spec.address)
                .expect("host key of the node")
                .1;
            let host = match addr.port() {
                22 => addr.ip().to_string(),
                p => format!("[{}]:{p}", addr.ip()),
            };
            known_text.push_str(&format!("{host} {key}\n"));
            specs.push(NodeSpec {
                address: addr.ip().to_string(),
                port: Some(addr.port()),
                known_hosts: Some(known.clone()),
                ..spec.clone()
            });
        }
        std::fs::write(&known, known_text).unwrap();
        let floor = openssh_floor(&targets, &state, &known);
        let plan = ScanPlan {
            nodes: specs,
            via: Via::Ssh(SshOptions::default()),
            concurrency: n.min(64),
            collect: CollectOptions::default(),
            probes,
            probe_sessions,
            probe_from_here: false,
            platform: None,
        };
        let (cpu0, _) = rusage();
        let started = Instant::now();
        let outcomes = scan(&plan, &|_| {});
        let mut node_times: Vec<Duration> = outcomes.iter().map(|o| o.elapsed).collect();
        node_times.sort();
        let median_node = node_times[node_times.len() / 2];
        let facts: Vec<_> = outcomes.into_iter().map(|o| o.facts).collect();
        let report = kubeharden::engine::evaluate(&bench, &facts, "bench");
        let wall = started.elapsed();
        let (cpu1, maxrss_kib) = rusage();
        let bad = facts
            .iter()
            .filter(|f| f.scan_status != ScanStatus::Ok)
            .count();
        assert_eq!(
            bad,
            0,
            "nodes failed: {:?}",
            facts
                .iter()
                .filter_map(|f| f.error.as_ref())
                .collect::<Vec<_>>()
        );
        println!(
            "{label}: kubeharden scan+eval {wall:.2?} vs OpenSSH `true` floor {floor:.2?} (ratio {:.2}); median node {median_node:.2?} (collection and its own ports' probes); {} findings; CPU {:.1} ms/node; peak RSS {} MiB",
            wall.as_secs_f64() / floor.as_secs_f64(),
            report.summary.counts.total,
            (cpu1 - cpu0).as_secs_f64() * 1000.0 / n as f64,
            maxrss_kib / 1024
        );
    }
}
