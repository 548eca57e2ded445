//! Property tests: laws that must hold for every input, not only for the
//! examples the other tests spell out. Each runs a bounded number of cases
//! (64 by default; `PROPTEST_CASES=N` for more), so the suite stays fast, and
//! proptest shrinks any counterexample to a small one before it reports it.
//!
//! The laws:
//! - argv: `--flag=value` and `--flag value` read the same; a repeated scalar
//!   flag keeps its last value; `sh -c "exec ..."` reads like the bare command;
//!   POSIX quoting round-trips through `split_command_line`;
//! - kubelet precedence: a flag beats the drop-ins, which beat the config
//!   file, which beats the default; a default never overrides a set value;
//! - `diff(a, a)` is empty;
//! - a waiver never turns a `pass` into anything else;
//! - no string can break out of its HTML, JUnit or Markdown context.
//!
//! Three bugs were found by these properties and fixed: an unknown flag took
//! the `--` that ends the flags as its value (`src/k8s/argv.rs`); control
//! characters from node output reached the HTML report raw (`escape_text` in
//! `src/report/html.rs`); DEL and the C1 controls reached the JUnit XML raw
//! (`src/report/junit.rs`).

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;

use kubeharden::facts::{ComponentFacts, ComponentKind, FileFacts, FileKind, Mode, NodeFacts};
use kubeharden::k8s::argv::{parse_argv, split_command_line};
use kubeharden::k8s::effective::NodeCtx;
use kubeharden::k8s::known::{KUBELET, SettingSpec, ValueKind, find_flag};
use kubeharden::k8s::value::Value;
use kubeharden::report::diff::diff;
use kubeharden::report::waivers::{Date, Waiver, apply};
use kubeharden::report::{Gate, Report, Status};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// argv

/// kube-apiserver flags that take a single (non-boolean, non-list) value.
const SCALAR_FLAGS: &[&str] = &[
    "--audit-log-path",
    "--audit-log-maxage",
    "--audit-log-maxbackup",
    "--audit-log-maxsize",
    "--authorization-mode",
    "--client-ca-file",
    "--etcd-cafile",
    "--etcd-certfile",
    "--etcd-keyfile",
    "--kubelet-certificate-authority",
    "--secure-port",
    "--service-account-lookup",
    "--tls-cert-file",
    "--tls-private-key-file",
    "--tls-min-version",
    "--request-timeout",
];

fn scalar_flags() -> Vec<&'static str> {
    SCALAR_FLAGS
        .iter()
        .copied()
        .filter(|f| {
            find_flag(ComponentKind::ApiServer, f)
                .is_some_and(|s| !matches!(s.kind, ValueKind::Bool | ValueKind::List))
        })
        .collect()
}

/// A flag value: any text without NUL, including spaces, quotes, `=`, and
/// words that look like flags.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9/._:,=-]{0,24}",
        "[ -~]{0,24}",
        Just("--".to_string()),
        Just("-v".to_string()),
        Just("--other=1".to_string()),
    ]
}

/// POSIX single-quoting of one word.
fn sh_quote(w: &str) -> String {
    format!("'{}'", w.replace('\'', "'\\''"))
}

fn to_strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn equals_and_space_forms_read_the_same(
        picks in proptest::collection::vec((0usize..64, value()), 0..8)
    ) {
        let flags = scalar_flags();
        prop_assume!(!flags.is_empty());
        let mut eq = vec!["kube-apiserver".to_string()];
        let mut sp = vec!["kube-apiserver".to_string()];
        let mut last: BTreeMap<&str, String> = BTreeMap::new();
        for (i, v) in &picks {
            let f = flags[i % flags.len()];
            eq.push(format!("{f}={v}"));
            sp.push(f.to_string());
            sp.push(v.clone());
            last.insert(f, v.clone());
        }
        let a = parse_argv(ComponentKind::ApiServer, &eq);
        let b = parse_argv(ComponentKind::ApiServer, &sp);
        prop_assert_eq!(&a.flags, &b.flags);
        prop_assert!(a.positional.is_empty());
        prop_assert!(b.positional.is_empty(), "stray words: {:?}", b.positional);
        for (f, v) in &last {
            prop_assert_eq!(a.value(f), Some(v.as_str()), "{} keeps its last value", f);
        }
        prop_assert_eq!(a.flags.len(), last.len());
    }

    #[test]
    fn quoting_round_trips(words in proptest::collection::vec("[^\\x00]{0,16}", 0..8)) {
        let line = words.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(split_command_line(&line).unwrap(), words);
    }

    #[test]
    fn sh_c_reads_like_the_bare_command(
        picks in proptest::collection::vec((0usize..64, value()), 0..8),
        extra in proptest::collection::vec("--[a-z]{1,8}(=[a-z0-9]{0,4})?", 0..3),
    ) {
        let flags = scalar_flags();
        let mut argv = vec!["kube-apiserver".to_string()];
        for (i, v) in &picks {
            argv.push(format!("{}={v}", flags[i % flags.len()]));
        }
        argv.extend(extra);
        let line = format!(
            "exec {} 1>>/var/log/kube-apiserver.log 2>&1",
            argv.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" ")
        );
        let wrapped = to_strings(&["/bin/sh", "-c", &line]);
        prop_assert_eq!(
            parse_argv(ComponentKind::ApiServer, &wrapped),
            parse_argv(ComponentKind::ApiServer, &argv)
        );
    }

    #[test]
    fn double_dash_ends_the_flags(
        unknown in "--[a-z]{1,10}",
        rest in proptest::collection::vec("[a-z-]{0,8}", 0..4),
    ) {
        let mut argv = to_strings(&["kube-apiserver", &unknown, "--"]);
        argv.extend(rest.iter().cloned());
        let a = parse_argv(ComponentKind::ApiServer, &argv);
        prop_assert_eq!(&a.positional, &rest);
        prop_assert_eq!(a.value(&unknown), Some("true"));
    }
}

// ---------------------------------------------------------------------------
// kubelet precedence

const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
const DROPIN_DIR: &str = "/etc/kubernetes/kubelet.conf.d";

/// A value of `kind` that the component accepts, as text.
fn valid(kind: ValueKind, n: u8) -> String {
    match kind {
        ValueKind::Bool => (n % 2 == 0).to_string(),
        ValueKind::Int => format!("{}", 1 + u32::from(n)),
        ValueKind::Duration => format!("{}m", 1 + u32::from(n)),
        _ => format!("v{n}"),
    }
}

/// A config document that sets `path` to `value`, quoted when a string.
fn yaml_at(path: &str, value: &str, kind: ValueKind) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out =
        String::from("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    for (depth, p) in parts.iter().enumerate() {
        let indent = "  ".repeat(depth);
        if depth + 1 == parts.len() {
            if kind == ValueKind::Str {
                out.push_str(&format!("{indent}{p}: \"{value}\"\n"));
            } else {
                out.push_str(&format!("{indent}{p}: {value}\n"));
            }
        } else {
            out.push_str(&format!("{indent}{p}:\n"));
        }
    }
    out
}

fn file(content: Option<String>, kind: FileKind) -> FileFacts {
    FileFacts {
        exists: true,
        kind: Some(kind),
        mode: Some(Mode(if kind == FileKind::Dir { 0o755 } else { 0o600 })),
        content,
        ..Default::default()
    }
}

/// A kubelet node with the given sources set (None = left out).
fn kubelet_node(
    spec: &SettingSpec,
    flag: Option<&str>,
    config: Option<Option<&str>>,
    dropin: Option<&str>,
) -> NodeFacts {
    let mut n = NodeFacts {
        schema_version: 1,
        ..Default::default()
    };
    n.node.name = "w1".into();
    let mut argv = vec!["/usr/bin/kubelet".to_string()];
    if let Some(cfg) = config {
        argv.push(format!("--config={KUBELET_CONFIG}"));
        let text = match cfg {
            Some(v) => yaml_at(spec.path, v, spec.kind),
            None => {
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n".into()
            }
        };
        n.files
            .insert(KUBELET_CONFIG.into(), file(Some(text), FileKind::File));
        if let Some(v) = dropin {
            argv.push(format!("--config-dir={DROPIN_DIR}"));
            let mut dir = file(None, FileKind::Dir);
            dir.entries = Some(vec![format!("{DROPIN_DIR}/50-hardening.conf")]);
            n.files.insert(DROPIN_DIR.into(), dir);
            n.files.insert(
                format!("{DROPIN_DIR}/50-hardening.conf"),
                file(Some(yaml_at(spec.path, v, spec.kind)), FileKind::File),
            );
        }
    }
    if let (Some(f), Some(v)) = (spec.flag, flag) {
        argv.push(format!("{f}={v}"));
    }
    n.components.insert(
        ComponentKind::Kubelet,
        ComponentFacts {
            running: true,
            pid: Some(4242),
            argv,
            ..Default::default()
        },
    );
    n
}

fn scalar(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::Scalar(s)) => Some(s.clone()),
        Some(Value::List(l)) => Some(l.join(",")),
        None => None,
    }
}

/// Kubelet settings with a flag and a scalar value.
fn settings() -> Vec<&'static SettingSpec> {
    KUBELET
        .iter()
        .filter(|s| s.flag.is_some() && s.kind != ValueKind::List && !s.zero_is_default)
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_later_source_wins_and_a_default_never_overrides(
        which in 0usize..64,
        flag in proptest::option::of(any::<u8>()),
        cfg in proptest::option::of(proptest::option::of(any::<u8>())),
        dropin in proptest::option::of(any::<u8>()),
    ) {
        let all = settings();
        let spec = all[which % all.len()];
        let fv = flag.map(|n| valid(spec.kind, n));
        let cv = cfg.map(|c| c.map(|n| valid(spec.kind, n.wrapping_add(1))));
        let dv = dropin.map(|n| valid(spec.kind, n.wrapping_add(2)));
        let n = kubelet_node(
            spec,
            fv.as_deref(),
            cv.as_ref().map(|c| c.as_deref()),
            dv.as_deref(),
        );
        let ctx = NodeCtx::new(&n);
        let got = ctx.setting(ComponentKind::Kubelet, spec).expect("resolves");
        let has_config = cv.is_some();
        let dropin_used = has_config && dv.is_some();
        let (want, explicit) = if let Some(f) = &fv {
            (Some(f.clone()), true)
        } else if dropin_used {
            (dv.clone(), true)
        } else if let Some(Some(c)) = &cv {
            (Some(c.clone()), true)
        } else if has_config {
            (spec.config_default.map(str::to_string), false)
        } else {
            (spec.flag_default.map(str::to_string), false)
        };
        prop_assert_eq!(got.explicit, explicit, "{}: {}", spec.path, got.source);
        if explicit {
            prop_assert_eq!(scalar(&got.value), want, "{}: {}", spec.path, got.source);
        } else {
            prop_assert_eq!(scalar(&got.value), want, "{}: {}", spec.path, got.source);
        }
    }
}

// ---------------------------------------------------------------------------
// reports: diff, waivers, escaping

fn statuses() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Pass),
        Just(Status::Fail),
        Just(Status::Warn),
        Just(Status::Error),
        Just(Status::Skip),
        Just(Status::Manual),
    ]
}

fn base() -> Report {
    common::fixture_report("misconfigured")
}

/// The fixture report with some statuses and evidence changed.
fn mutated(changes: &[(usize, Status, String)]) -> Report {
    let mut r = base();
    let total: usize = r.nodes.iter().map(|n| n.results.len()).sum();
    for (i, status, actual) in changes {
        let mut k = i % total;
        for n in &mut r.nodes {
            if k < n.results.len() {
                n.results[k].status = *status;
                n.results[k].actual = actual.clone();
                break;
            }
            k -= n.results.len();
        }
    }
    r
}

/// Globs over check ids and node names, from exact to very broad.
fn glob() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        "[0-9]\\.[0-9*]{1,3}\\*?",
        "1\\.2\\.[0-9]{1,2}",
        "(tls|cert|drift|presence)\\.\\*",
        "[a-z?*.-]{1,6}",
    ]
}

/// Hostile text: markup, quotes, table and code syntax, CDATA ends, control
/// characters and non-ASCII, around a marker tag.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<".to_string()),
        Just(">".to_string()),
        Just("&".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("|".to_string()),
        Just("`".to_string()),
        Just("]]>".to_string()),
        Just("</script>".to_string()),
        Just("-->".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\u{2028}".to_string()),
        Just("#".to_string()),
        "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]",
        "[a-zé日 ]{1,4}",
    ];
    (
        proptest::collection::vec(piece.clone(), 0..6),
        proptest::collection::vec(piece, 0..6),
    )
        .prop_map(|(a, b)| format!("{}<kh-evil x=\"1\">{}", a.concat(), b.concat()))
}

/// The report with hostile text in every untrusted field of some findings.
fn hostile_report(evil: &[String]) -> Report {
    let mut r = base();
    for (k, e) in evil.iter().enumerate() {
        let n = k % r.nodes.len();
        let node = &mut r.nodes[n];
        if k == 0 {
            // Prefixed, so that the node keeps its place in name order.
            node.name = format!("node-{e}");
            node.error = Some(e.clone());
        }
        let len = node.results.len();
        let f = &mut node.results[(k * 7) % len];
        f.actual = e.clone();
        f.source = e.clone();
        f.status = Status::Fail;
        f.reason = Some(e.clone());
    }
    r
}

fn no_breakout(out: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !out.to_ascii_lowercase().contains("<kh-evil"),
        "{what}: the marker tag came through raw"
    );
    let bad = out
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    prop_assert!(bad.is_none(), "{what}: raw control character {bad:?}");
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn diff_of_a_report_with_itself_is_empty(
        changes in proptest::collection::vec((any::<usize>(), statuses(), "[ -~]{0,12}"), 0..12)
    ) {
        let r = mutated(&changes);
        let d = diff(&r, &r);
        prop_assert!(d.new_failures.is_empty());
        prop_assert!(d.fixed.is_empty());
        prop_assert!(d.changed_evidence.is_empty());
        prop_assert!(d.status_changed.is_empty());
        prop_assert!(d.nodes_added.is_empty() && d.nodes_removed.is_empty());
        prop_assert!(d.nodes_scan_changed.is_empty());
    }

    #[test]
    fn a_waiver_never_changes_a_pass(
        changes in proptest::collection::vec((any::<usize>(), statuses(), "[a-z]{0,4}"), 0..12),
        waivers in proptest::collection::vec((glob(), glob(), 0u8..3), 1..6),
    ) {
        let before = mutated(&changes);
        let list: Vec<Waiver> = waivers
            .iter()
            .enumerate()
            .map(|(i, (check, nodes, when))| Waiver {
                check: check.clone(),
                nodes: nodes.clone(),
                reason: "accepted risk".into(),
                owner: "platform".into(),
                // expired, today, in the future
                expires: Date::new(2026, 11, 23 + *when).unwrap(),
                origin: format!("waivers.toml:{}", i + 1),
            })
            .collect();
        let mut after = before.clone();
        apply(&mut after, &list, Date::new(2026, 11, 24).unwrap());
        for (nb, na) in before.nodes.iter().zip(&after.nodes) {
            for (fb, fa) in nb.results.iter().zip(&na.results) {
                prop_assert_eq!(&fb.id, &fa.id);
                if fb.status == Status::Pass {
                    prop_assert_eq!(fa.status, Status::Pass, "{} on {}", fb.id, nb.name);
                }
                if fa.status != fb.status {
                    prop_assert_eq!(fa.status, Status::Waived);
                }
            }
        }
    }

    #[test]
    fn no_text_breaks_out_of_html(evil in proptest::collection::vec(hostile(), 1..4)) {
        let r = hostile_report(&evil);
        let html = kubeharden::report::html::render(&r, &Default::default()).unwrap();
        no_breakout(&html, "HTML")?;
        let scripts = html.to_ascii_lowercase().matches("</script").count();
        let clean = kubeharden::report::html::render(&base(), &Default::default()).unwrap();
        prop_assert_eq!(scripts, clean.to_ascii_lowercase().matches("</script").count());
    }

    #[test]
    fn no_text_breaks_out_of_junit(evil in proptest::collection::vec(hostile(), 1..4)) {
        let r = hostile_report(&evil);
        let xml = kubeharden::report::junit::render(&r, Gate::Fail);
        no_breakout(&xml, "JUnit")?;
        let doc = roxmltree::Document::parse(&xml);
        prop_assert!(doc.is_ok(), "not well-formed XML: {:?}", doc.err());
        let doc = doc.unwrap();
        prop_assert!(!doc.descendants().any(|n| n.has_tag_name("kh-evil")));
    }

    #[test]
    fn no_text_breaks_out_of_markdown(evil in proptest::collection::vec(hostile(), 1..4)) {
        let r = hostile_report(&evil);
        let md = kubeharden::report::markdown::render(&r, None);
        no_breakout(&md, "Markdown")?;
        // The same report with harmless text has the same lines, and each
        // line the same number of table cells: nothing added a row or a cell.
        let tame: Vec<String> = (0..evil.len()).map(|k| format!("<kh-evil x=\"{k}\">")).collect();
        let reference = kubeharden::report::markdown::render(&hostile_report(&tame), None);
        let cells = |s: &str| -> Vec<usize> {
            s.lines()
                .map(|l| {
                    let b = l.as_bytes();
                    (0..b.len()).filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\')).count()
                })
                .collect()
        };
        prop_assert_eq!(cells(&md), cells(&reference));
    }
}
