//! The fuzz targets' bodies: one function per parser of untrusted input.
//!
//! Each takes the fuzzer's bytes and must never panic, hang or use memory
//! out of proportion to its input, whatever they are. The same functions
//! run in two places:
//! - `fuzz/fuzz_targets/<name>.rs`, under libFuzzer (nightly, `scripts/fuzz`);
//! - `tests/fuzz_replay.rs`, on stable in the normal suite, which replays the
//!   committed corpus (`fuzz/corpus/<name>/`) and every input that once
//!   crashed or hung (`fuzz/regressions/<name>/`), each with a time limit.
//!
//! Where the input has structure, an `Arbitrary` target builds it from the
//! bytes (a command line of known flag names with arbitrary values, a
//! kubelet configuration with arbitrary field types), so the fuzzer spends
//! its time past the first syntax check.
//!
//! This file is compiled both as the fuzz crate's library and, through
//! `#[path]`, as a module of the replay test: it may use only `kubeharden`,
//! `arbitrary` and std.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use kubeharden::bench::{Benchmark, load_builtin};
use kubeharden::collect::{CollectOptions, collect};
use kubeharden::engine::evaluate;
use kubeharden::facts::{
    ComponentKind, FileFacts, FileKind, Mode, NodeFacts, NodeIdentity, parse_facts,
};
use kubeharden::k8s::argv::{parse_argv, split_command_line};
use kubeharden::k8s::effective::NodeCtx;
use kubeharden::k8s::known::{FLAGS, KUBE_PROXY, KUBELET};
use kubeharden::probe::hello::{HelloKind, read_answer};
use kubeharden::probe::job::{GetJob, HelloJob, Job, TlsJob};
use kubeharden::report::{Gate, Report};
use kubeharden::transport::{Conversation, Exchange, Transport, TransportError};

/// A fuzz target: its name (the directory of its corpus) and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target. `scripts/fuzz` and the replay test both go by this list,
/// and a test checks that each has a `fuzz_targets/<name>.rs`.
pub const TARGETS: &[Target] = &[
    Target {
        name: "argv",
        run: argv,
    },
    Target {
        name: "argv_structured",
        run: argv_structured,
    },
    Target {
        name: "yaml",
        run: yaml,
    },
    Target {
        name: "node_config",
        run: node_config,
    },
    Target {
        name: "kubelet_config_structured",
        run: kubelet_config_structured,
    },
    Target {
        name: "collect",
        run: collect_answers,
    },
    Target {
        name: "pem",
        run: pem,
    },
    Target {
        name: "api_answer",
        run: api_answer,
    },
    Target {
        name: "hello_answer",
        run: hello_answer,
    },
    Target {
        name: "tls_stream",
        run: tls_stream,
    },
    Target {
        name: "http_status",
        run: http_status,
    },
    Target {
        name: "inventory",
        run: inventory,
    },
    Target {
        name: "ssh_config",
        run: ssh_config,
    },
    Target {
        name: "waivers",
        run: waivers,
    },
    Target {
        name: "facts",
        run: facts,
    },
    Target {
        name: "report",
        run: report,
    },
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn bench() -> &'static Benchmark {
    static B: OnceLock<Benchmark> = OnceLock::new();
    B.get_or_init(|| load_builtin("cis-1.12").expect("the built-in benchmark loads"))
}

const NOW: &str = "2026-12-01T00:00:00Z";

/// A kubeadm control plane as the collector records it (a fixture).
fn control_plane() -> &'static NodeFacts {
    static N: OnceLock<NodeFacts> = OnceLock::new();
    N.get_or_init(|| {
        let text = include_str!("../../tests/fixtures/kubeadm-default/cp1.json");
        parse_facts(Path::new("cp1.json"), text)
            .expect("the fixture loads")
            .remove(0)
    })
}

/// Renders a report in every format; none may fail on any report.
fn render_all(r: &Report) {
    let _ = kubeharden::report::text::render(r, kubeharden::report::text::Color::Always);
    let _ = kubeharden::report::markdown::render(r, None);
    let _ = kubeharden::report::junit::render(r, Gate::Warn);
    let _ = kubeharden::report::metrics::render(r);
    let mut json = Vec::new();
    kubeharden::report::json::write(r, &mut json).expect("a report serialises");
    kubeharden::report::html::render(r, &Default::default()).expect("a report renders");
}

// ---------------------------------------------------------------------------
// command lines

/// Words separated by NUL, as in `/proc/<pid>/cmdline`, read by every
/// component's flag parser; and the whole text as a `sh -c` line.
pub fn argv(data: &[u8]) {
    let t = text(data);
    let words: Vec<String> = t.split('\0').map(str::to_string).collect();
    for kind in ComponentKind::ALL {
        let _ = parse_argv(kind, &words);
    }
    let _ = split_command_line(&t);
    let wrapped = vec!["/bin/sh".to_string(), "-c".to_string(), t];
    let _ = parse_argv(ComponentKind::ApiServer, &wrapped);
}

#[derive(Arbitrary, Debug)]
enum Word {
    /// A known flag of the component, as `--name=value`.
    Inline(u16, String),
    /// A known flag and its value as two words.
    Split(u16, String),
    /// A known flag alone.
    Bare(u16),
    /// Anything else.
    Other(String),
    DoubleDash,
}

/// A command line built from the component's known flag names with
/// arbitrary values: what a node could really run. Every flag given is
/// found, with its last value unless it is a list.
pub fn argv_structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((which, words)) = <(u8, Vec<Word>)>::arbitrary(&mut u) else {
        return;
    };
    let kind = ComponentKind::ALL[usize::from(which) % ComponentKind::ALL.len()];
    let names: Vec<&str> = FLAGS
        .iter()
        .filter(|f| f.component == kind)
        .map(|f| f.name)
        .collect();
    if names.is_empty() {
        return;
    }
    let name = |i: u16| names[usize::from(i) % names.len()];
    let mut argv = vec![kind.binary().to_string()];
    let mut ended = false;
    let mut given = Vec::new();
    for w in &words {
        match w {
            Word::Inline(i, v) => {
                argv.push(format!("{}={v}", name(*i)));
                if !ended {
                    given.push(name(*i));
                }
            }
            Word::Split(i, v) => {
                argv.push(name(*i).to_string());
                argv.push(v.clone());
            }
            Word::Bare(i) => argv.push(name(*i).to_string()),
            Word::Other(v) => argv.push(v.clone()),
            Word::DoubleDash => {
                argv.push("--".into());
                ended = true;
            }
        }
    }
    let args = parse_argv(kind, &argv);
    // `--name=value` before `--` is always read as that flag; a flag taken
    // as another flag's value is the only way one can vanish, and an
    // inline one never can be.
    for n in given {
        let _ = args.get(n);
    }
}

// ---------------------------------------------------------------------------
// YAML and component configuration

/// The YAML loader (with its alias budget), and lookups into what it made.
pub fn yaml(data: &[u8]) {
    let t = text(data);
    if let Ok(v) = kubeharden::yaml::parse(&t) {
        for spec in KUBELET.iter().chain(KUBE_PROXY) {
            if let Some(x) = kubeharden::yaml::lookup(&v, spec.path) {
                let _ = kubeharden::yaml::scalar_text(x);
            }
        }
    }
    let _ = kubeharden::yaml::parse_with_lines(&t);
}

/// Configuration files as a control plane holds them: the bytes, split at
/// `\n---8<---\n`, become in turn the content of every file the fixture
/// control plane has read (manifests, kubeconfigs, the kubelet's config),
/// and of the API server's authentication, authorization, encryption and
/// admission configuration files; then the whole benchmark judges the node.
pub fn node_config(data: &[u8]) {
    let t = text(data);
    let pieces: Vec<&str> = t.split("\n---8<---\n").collect();
    let mut n = control_plane().clone();
    const EXTRA: [(&str, &str); 4] = [
        ("--authentication-config", "/etc/kubernetes/authn.yaml"),
        ("--authorization-config", "/etc/kubernetes/authz.yaml"),
        ("--encryption-provider-config", "/etc/kubernetes/enc.yaml"),
        (
            "--admission-control-config-file",
            "/etc/kubernetes/admission.yaml",
        ),
    ];
    if let Some(api) = n.components.get_mut(&ComponentKind::ApiServer) {
        for (flag, path) in EXTRA {
            api.argv.push(format!("{flag}={path}"));
        }
    }
    for (_, path) in EXTRA {
        n.files.insert(
            path.to_string(),
            FileFacts {
                exists: true,
                kind: Some(FileKind::File),
                mode: Some(Mode(0o600)),
                content: Some(String::new()),
                ..Default::default()
            },
        );
    }
    let paths: Vec<String> = n
        .files
        .iter()
        .filter(|(_, f)| f.content.is_some())
        .map(|(p, _)| p.clone())
        .collect();
    for (i, p) in paths.iter().enumerate() {
        let piece = pieces[i % pieces.len()];
        if let Some(f) = n.files.get_mut(p) {
            f.content = Some(piece.to_string());
        }
    }
    let r = evaluate(bench(), &[n], NOW);
    let _ = kubeharden::report::junit::render(&r, Gate::Fail);
}

#[derive(Arbitrary, Debug)]
enum Yv {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Null,
    List(Vec<Yv>),
    Map(Vec<(String, Yv)>),
}

fn render_yaml(v: &Yv, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Yv::Bool(b) => out.push_str(&format!(" {b}\n")),
        Yv::Int(i) => out.push_str(&format!(" {i}\n")),
        Yv::Float(f) => out.push_str(&format!(" {f}\n")),
        Yv::Str(s) => out.push_str(&format!(" {}\n", quoted(s))),
        Yv::Null => out.push_str(" null\n"),
        Yv::List(items) if depth < 6 => {
            out.push('\n');
            for it in items.iter().take(8) {
                out.push_str(&format!("{pad}-"));
                render_yaml(it, depth + 1, out);
            }
        }
        Yv::Map(entries) if depth < 6 => {
            out.push('\n');
            for (k, it) in entries.iter().take(8) {
                out.push_str(&format!("{pad}{}:", quoted(k)));
                render_yaml(it, depth + 1, out);
            }
        }
        _ => out.push_str(" []\n"),
    }
}

fn quoted(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32 & 0xffff)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A kubelet and a kube-proxy configuration whose known fields hold values
/// of arbitrary types (a list where a bool belongs, a map for a duration):
/// every setting resolves to a value or an error, never a panic.
pub fn kubelet_config_structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(values) = Vec::<(u8, Yv)>::arbitrary(&mut u) else {
        return;
    };
    let mut kubelet =
        String::from("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    let mut proxy = String::from(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n",
    );
    for (i, v) in values.iter().take(32) {
        let (doc, specs) = if i % 2 == 0 {
            (&mut kubelet, KUBELET)
        } else {
            (&mut proxy, KUBE_PROXY)
        };
        let spec = &specs[usize::from(*i / 2) % specs.len()];
        // `a.b.c` as nested maps.
        let parts: Vec<&str> = spec.path.split('.').collect();
        for (d, p) in parts.iter().enumerate() {
            doc.push_str(&"  ".repeat(d));
            doc.push_str(p);
            doc.push(':');
            if d + 1 < parts.len() {
                doc.push('\n');
            }
        }
        render_yaml(v, parts.len(), doc);
    }
    let mut n = NodeFacts {
        schema_version: 1,
        ..Default::default()
    };
    n.node.name = "w1".into();
    for (kind, path, content) in [
        (
            ComponentKind::Kubelet,
            "/var/lib/kubelet/config.yaml",
            kubelet,
        ),
        (
            ComponentKind::KubeProxy,
            "/var/lib/kube-proxy/config.conf",
            proxy,
        ),
    ] {
        n.components.insert(
            kind,
            kubeharden::facts::ComponentFacts {
                running: true,
                pid: Some(7),
                argv: vec![kind.binary().to_string(), format!("--config={path}")],
                ..Default::default()
            },
        );
        n.files.insert(
            path.into(),
            FileFacts {
                exists: true,
                kind: Some(FileKind::File),
                mode: Some(Mode(0o600)),
                content: Some(content),
                ..Default::default()
            },
        );
    }
    let ctx = NodeCtx::new(&n);
    for spec in KUBELET {
        let _ = ctx.setting(ComponentKind::Kubelet, spec);
    }
    for spec in KUBE_PROXY {
        let _ = ctx.setting(ComponentKind::KubeProxy, spec);
    }
    let _ = evaluate(bench(), &[n], NOW);
}

// ---------------------------------------------------------------------------
// the collector's answers

/// A node that answers each of the collector's round trips with the next
/// piece of the input (pieces split at a line `=====TRIP=====`). The frame
/// nonce in the input is written `fz`, and becomes the trip's real nonce,
/// so that the fuzzer can reach the frames' contents.
struct Replay {
    trips: Vec<String>,
}

struct ReplayConv<'a> {
    trips: &'a mut Vec<String>,
}

impl Conversation for ReplayConv<'_> {
    fn exchange(
        &mut self,
        _text: &str,
        start: Option<&str>,
        marker: &str,
    ) -> Result<Exchange, TransportError> {
        if self.trips.is_empty() {
            return Err(TransportError::Other {
                node: "fuzz".into(),
                reason: "no more answers".into(),
            });
        }
        let nonce = marker
            .strip_prefix("@@")
            .and_then(|m| m.strip_suffix(" DONE"))
            .unwrap_or("");
        let mut out = String::new();
        if let Some(s) = start {
            out.push_str(s);
            out.push('\n');
        }
        out.push_str(
            &self
                .trips
                .remove(0)
                .replace("@@fz ", &format!("@@{nonce} ")),
        );
        out.push('\n');
        out.push_str(marker);
        out.push('\n');
        Ok(Exchange {
            stdout: out.into_bytes(),
            truncated: false,
        })
    }
}

impl Transport for Replay {
    fn open(&mut self) -> Result<Box<dyn Conversation + '_>, TransportError> {
        Ok(Box::new(ReplayConv {
            trips: &mut self.trips,
        }))
    }
}

/// The whole collection of one node, from framing to facts (stat lines,
/// `find` output, process tables, environment blocks, file contents,
/// certificates, log lines, layout detection), then judged.
pub fn collect_answers(data: &[u8]) {
    let facts = collected(data);
    let _ = serde_json::to_string(&facts);
    let _ = evaluate(bench(), &[facts], NOW);
}

/// The cluster's objects as a control-plane node's kubectl answer gives
/// them (frames written with the nonce `fz`), then judged by every API
/// check, and saved and read back as `--save-facts` would.
pub fn api_answer(data: &[u8]) {
    let mut transport = Replay {
        trips: vec![text(data).to_string()],
    };
    let read = kubeharden::collect::api::ApiRead {
        kubectl: vec!["kubectl".into()],
        kubeconfig: vec!["/etc/kubernetes/admin.conf".into()],
    };
    let api = kubeharden::collect::api::read(&mut transport, "fuzz-cp", &read);
    let json = serde_json::to_string(&api).expect("cluster facts serialise");
    let back: kubeharden::facts::api::ClusterFacts =
        serde_json::from_str(&json).expect("cluster facts read back");
    assert_eq!(back, api);
    let now = NOW;
    let _ = kubeharden::engine::evaluate_cluster(
        bench(),
        &[],
        Some(&api),
        now,
        &kubeharden::engine::EvalOptions::at(now),
    );
}

/// The facts a node answering with `data` gives.
pub fn collected(data: &[u8]) -> NodeFacts {
    let t = text(data);
    let mut transport = Replay {
        trips: t.split("\n=====TRIP=====\n").map(str::to_string).collect(),
    };
    let identity = NodeIdentity {
        name: "fuzz-node".into(),
        address: "10.0.0.1".into(),
        ..Default::default()
    };
    collect(
        &mut transport,
        identity,
        CollectOptions {
            file_cap: 64 * 1024,
            layout: None,
        },
    )
}

// ---------------------------------------------------------------------------
// certificates and probes

/// PEM splitting and x509 extraction: the text as a PEM file, and the bytes
/// as the DER of one certificate (as from the wire), every pair of
/// neighbours checked for the self-generated shape.
pub fn pem(data: &[u8]) {
    let certs = kubeharden::certs::parse_pem(&text(data));
    let ok: Vec<_> = certs.into_iter().filter_map(Result::ok).collect();
    for w in ok.windows(2) {
        let _ = kubeharden::certs::self_generated(&w[0], &w[1]);
        let _ = w[0].issued_by(&w[1]);
        let _ = w[0].covers("localhost");
        let _ = w[0].days_left(0);
    }
    let der = base64(data);
    let wrapped = format!("-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----\n");
    let _ = kubeharden::certs::parse_pem(&wrapped);
}

fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 16 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Feeds `data` to a job in pieces (the first byte sets the piece size), as
/// a server's answer arrives over a channel, then closes.
fn drive(job: &mut Job, data: &[u8]) {
    let now = std::time::Instant::now();
    let _ = job.output();
    let (size, rest) = match data.split_first() {
        Some((s, r)) => (usize::from(*s).max(1), r),
        None => (1, data),
    };
    for piece in rest.chunks(size) {
        if job.done() {
            break;
        }
        job.input(piece, now);
        let _ = job.output();
        job.idle(now + Duration::from_millis(100));
    }
    job.eof(now + Duration::from_secs(2));
    let _ = job.speaks_tls();
}

/// The answers to the hand-built ClientHellos: the record reader, the
/// ServerHello and alert parser, fed whole and in pieces.
pub fn hello_answer(data: &[u8]) {
    let _ = read_answer(data);
    for kind in [HelloKind::Legacy, HelloKind::WeakSuites] {
        drive(&mut Job::Hello(HelloJob::new(kind, "10.0.0.1")), data);
    }
}

/// A server's side of a rustls handshake, and of the one `GET` after it.
pub fn tls_stream(data: &[u8]) {
    drive(
        &mut Job::Tls(Box::new(TlsJob::new("10.0.0.1", Some("/pods"), true))),
        data,
    );
}

/// The answer to the plain `GET / HTTP/1.0` that tells plaintext from TLS,
/// and the status-line reader of the kubelet's anonymous check (which reads
/// the same kind of line after a handshake).
pub fn http_status(data: &[u8]) {
    drive(&mut Job::Get(GetJob::new("10.0.0.1", 10255)), data);
    let _ = kubeharden::probe::job::read_status_line(data.get(1..).unwrap_or_default());
}

// ---------------------------------------------------------------------------
// files people write: inventories, ssh_config, waivers

/// Inventories: kubeharden's TOML, Ansible INI and YAML, `vagrant
/// ssh-config` output.
pub fn inventory(data: &[u8]) {
    let t = text(data);
    let ssh = kubeharden::inventory::ssh_config::SshConfig::default();
    let _ = kubeharden::inventory::parse("inventory.toml", &t, &ssh);
    for kind in [
        kubeharden::inventory::ansible::Kind::Ini,
        kubeharden::inventory::ansible::Kind::Yaml,
    ] {
        let _ = kubeharden::inventory::ansible::parse("hosts", &t, kind, &ssh);
    }
    let _ = kubeharden::inventory::vagrant::parse_ssh_config("vagrant ssh-config", &t);
}

/// `~/.ssh/config`, and resolving a few aliases through it.
pub fn ssh_config(data: &[u8]) {
    // Includes are taken from a directory that does not exist, so that the
    // fuzzer never reads the machine's own files.
    let cfg = kubeharden::inventory::ssh_config::SshConfig::parse_at(
        &text(data),
        "fuzz",
        Path::new("/nonexistent-kubeharden-fuzz"),
    );
    for alias in ["cp1", "worker-1", "10.0.0.1", "*", ""] {
        let _ = cfg.resolve(alias);
    }
}

/// Waiver files, against every id a waiver may name.
pub fn waivers(data: &[u8]) {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    let ids = IDS.get_or_init(|| kubeharden::report::waivers::waivable_ids(bench()));
    let _ = kubeharden::report::waivers::parse("waivers.toml", &text(data), ids);
}

// ---------------------------------------------------------------------------
// files passed around: facts and reports

/// Facts files given to `eval`: loaded, judged and rendered.
pub fn facts(data: &[u8]) {
    let Ok(mut nodes) = parse_facts(Path::new("facts.json"), &text(data)) else {
        return;
    };
    nodes.truncate(4);
    let r = evaluate(bench(), &nodes, NOW);
    render_all(&r);
}

/// JSON reports given to `diff` and `--baseline`: read, compared with
/// themselves and with a real report, and rendered.
pub fn report(data: &[u8]) {
    let Ok(r) = kubeharden::report::json::parse("report.json", &text(data)) else {
        return;
    };
    static BASE: OnceLock<Report> = OnceLock::new();
    let base = BASE.get_or_init(|| evaluate(bench(), &[control_plane().clone()], NOW));
    for d in [
        kubeharden::report::diff::diff(&r, &r),
        kubeharden::report::diff::diff(base, &r),
        kubeharden::report::diff::diff(&r, base),
    ] {
        let _ = kubeharden::report::diff::render_text(&d);
        let _ = kubeharden::report::diff::render_markdown(&d);
        let _ = kubeharden::report::diff::render_json(&d);
    }
    // Merged with a real report, in both orders: partial scans come from
    // anywhere.
    for pair in [
        vec![
            ("a".to_string(), r.clone()),
            ("b".to_string(), base.clone()),
        ],
        vec![
            ("b".to_string(), base.clone()),
            ("a".to_string(), r.clone()),
        ],
    ] {
        let _ = kubeharden::engine::merge::merge_reports(pair, NOW);
    }
    if r.nodes.len() <= 16 {
        render_all(&r);
    }
}
