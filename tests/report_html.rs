//! The HTML report: its structure for the fixture clusters, that node text
//! can never become markup, that it stays within a size bound, that optional
//! sections render from data or show an empty state, and that it groups
//! instead of repeating at scale.

use std::path::{Path, PathBuf};

use kubeharden::bench::load_builtin;
use kubeharden::engine::evaluate;
use kubeharden::facts::{NodeFacts, ScanStatus, load_facts_path};
use kubeharden::report::html::{HtmlOptions, render};
use kubeharden::report::{
    CertificateInfo, EtcdReach, Gate, Report, Status, TlsPort, diff, junit, markdown,
};

fn fixture_nodes(scenario: &str) -> Vec<NodeFacts> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(scenario);
    load_facts_path(&dir).expect("fixture facts load")
}

fn report_of(nodes: &[NodeFacts]) -> Report {
    let bench = load_builtin("cis-1.12").unwrap();
    evaluate(&bench, nodes, "2026-11-24T10:15:02Z")
}

fn html(report: &Report) -> String {
    render(report, &HtmlOptions::default()).expect("the report renders")
}

/// Distinct (check id, status) pairs: the rows the report should have.
fn groups(report: &Report) -> usize {
    let mut seen = std::collections::HashSet::new();
    for (_, f) in report.findings() {
        seen.insert((f.id.clone(), f.status));
    }
    seen.len()
}

#[test]
fn misconfigured_report_has_header_scores_heatmap_checks_and_empty_states() {
    let mut report = report_of(&fixture_nodes("misconfigured"));
    report.cluster.name = Some("prod-eu-1".into());
    let page = html(&report);

    assert!(page.starts_with("<!DOCTYPE html>"));
    for part in [
        "<h1>prod-eu-1</h1>",
        "CIS Kubernetes Benchmark v1.12",
        "Scanned 2026-11-24T10:15:02Z",
        &format!("kubeharden {}", env!("CARGO_PKG_VERSION")),
        "2 of 2 nodes scanned",
        "id=\"summary\"",
        "id=\"heatmap\"",
        "id=\"checks\"",
        "id=\"nodes\"",
        "id=\"certificates\"",
        "id=\"network\"",
        "id=\"waivers\"",
        // The catalog's severity beside level and scoring (4.2.1: critical).
        "level 1 · scored · severity critical",
        "id=\"node-errors\"",
        "Score by section",
        "kube-apiserver settings",
        "fails its gate",
    ] {
        assert!(page.contains(part), "missing {part:?}");
    }
    // One row per check and status, failures first.
    assert_eq!(
        page.matches("<details class=\"check ").count(),
        groups(&report)
    );
    let first = page.find("<details class=\"check ").unwrap();
    assert!(page[first..].starts_with("<details class=\"check st-fail\""));
    let list = &page[page.find("id=\"check-list\"").unwrap()..];
    let first_pass = list.find("data-status=\"pass\"").unwrap();
    let last_fail = list.rfind("data-status=\"fail\"").unwrap();
    assert!(last_fail < first_pass, "failing checks come first");
    // A finding shows expected, actual, source and remediation.
    let row = &page[page.find("id=\"c-fail-1.2.15\"").expect("1.2.15 fails")..];
    let row = &row[..row.find("</details>").unwrap()];
    for part in [
        "kube-apiserver --profiling = false",
        "kube-apiserver --profiling: true",
        "kube-apiserver command line (pid 2101)",
        "Set --profiling=false",
    ] {
        assert!(row.contains(part), "1.2.15 lacks {part:?}: {row}");
    }
    // The heatmap has a row per distinct node and a column per judged section.
    let heat = &page[page.find("<table class=\"heat\">").unwrap()..];
    let heat = &heat[..heat.find("</table>").unwrap()];
    assert_eq!(heat.matches("<tr>").count(), 3, "header and two nodes");
    assert!(heat.contains("title=\"1.2 kube-apiserver settings\""));
    // The fixtures carry no certificates (collected, none found), and no
    // port or etcd data: the empty states say which.
    assert!(page.contains("No certificates were found on the scanned nodes."));
    assert_eq!(page.matches("Not collected.").count(), 2);
    assert!(page.contains("No waiver file was given"));
    assert!(page.contains("Every node was scanned."));
    // Statuses are counted in the tiles.
    let c = &report.summary.counts;
    assert!(page.contains(&format!(
        "<span class=\"n\">{}</span>\n        <span class=\"l\">Fail</span>",
        c.fail
    )));
}

#[test]
fn report_is_one_self_contained_file() {
    let page = html(&report_of(&fixture_nodes("kubeadm-default")));
    for banned in [
        "<link", "src=\"", "src='", "@import", "url(", "http://", "https://", "<iframe",
    ] {
        assert!(!page.contains(banned), "the page must not load {banned:?}");
    }
    assert_eq!(page.matches("<style>").count(), 1);
    assert_eq!(page.matches("<script>").count(), 1);
    assert!(page.contains("<svg"), "charts are inline SVG");
    assert!(
        page.contains("@media print"),
        "the page is styled for print"
    );
    assert!(
        page.contains("<noscript>"),
        "the page says what works without JS"
    );
}

const HOSTILE: &str = "<script>alert(\"x\")</script>'\"><img src=x onerror=alert(1)>&amp;";

/// The misconfigured fixture with hostile text wherever a node supplies it,
/// and a huge value.
fn hostile_report() -> Report {
    let mut nodes = fixture_nodes("misconfigured");
    let huge = "A".repeat(1 << 20);
    for (i, n) in nodes.iter_mut().enumerate() {
        n.node.name = format!("{HOSTILE}{i}");
        n.node.address = HOSTILE.into();
        n.node.kubernetes_version = Some(HOSTILE.into());
        for c in n.components.values_mut() {
            c.argv.push(format!("--profiling={HOSTILE}"));
            c.argv.push(format!("--anonymous-auth={HOSTILE}{huge}"));
            c.argv.push(format!("--token-auth-file={HOSTILE}{huge}"));
        }
        for f in n.files.values_mut() {
            if f.content.is_some() {
                f.content = Some(format!("{HOSTILE}: [{huge}"));
            }
        }
    }
    let mut down = nodes[1].clone();
    down.node.name = format!("{HOSTILE}down");
    down.scan_status = ScanStatus::Unreachable;
    down.error = Some(format!("{HOSTILE}{huge}"));
    nodes.push(down);
    let mut report = report_of(&nodes);
    report.cluster.name = Some(HOSTILE.into());
    let node = report.nodes[0].name.clone();
    report.certificates = Some(vec![CertificateInfo {
        node: node.clone(),
        path: HOSTILE.into(),
        subject: HOSTILE.into(),
        not_after: HOSTILE.into(),
        days_left: -3,
    }]);
    report.tls_ports = Some(vec![TlsPort {
        verdict: None,
        node: node.clone(),
        port: 10250,
        component: Some(HOSTILE.into()),
        state: HOSTILE.into(),
        detail: Some(HOSTILE.into()),
    }]);
    report.etcd_reachability = Some(vec![EtcdReach {
        from: node,
        to: HOSTILE.into(),
        reachable: false,
        expected: None,
        detail: Some(HOSTILE.into()),
        outcome: Some(HOSTILE.into()),
    }]);
    report
}

#[test]
fn hostile_node_text_is_escaped_and_the_page_stays_small() {
    let report = hostile_report();
    let page = html(&report);
    // Only the page's own script and markup: nothing from the nodes is live.
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!page.contains("<img"), "no injected element");
    assert!(!page.contains("'\"><"), "no attribute break-out");
    assert!(!page.contains("alert(\"x\")"), "quotes are escaped");
    // The text itself is shown, escaped.
    assert!(
        page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt;")
            || page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
    );
    assert!(
        page.contains("&amp;amp;"),
        "an entity in node text is shown as text"
    );
    // Evidence is capped, so 1 MiB values do not make a 1 MiB page.
    assert!(
        page.len() < 600 * 1024,
        "the page is {} bytes; node text must be capped",
        page.len()
    );
    assert!(!page.contains(&"A".repeat(3000)));
    // The other human and CI formats escape it too.
    let xml = junit::render(&report, Gate::Fail);
    assert!(!xml.contains("<script") && !xml.contains("<img"));
    let md = markdown::render(&report, None);
    assert!(!md.contains("<script") && !md.contains("<img"));
}

#[test]
fn certificates_ports_and_etcd_render_when_the_report_has_them() {
    let mut report = report_of(&fixture_nodes("kubeadm-default"));
    let cert = |node: &str, path: &str, days: i64| CertificateInfo {
        node: node.into(),
        path: path.into(),
        subject: "CN=kube-apiserver".into(),
        not_after: format!("2027-01-{:02}T00:00:00Z", (days.rem_euclid(28)) + 1),
        days_left: days,
    };
    report.certificates = Some(vec![
        cert("cp1", "/etc/kubernetes/pki/apiserver.crt", -2),
        cert("cp1", "/etc/kubernetes/pki/ca.crt", 3000),
        cert("w1", "/var/lib/kubelet/pki/kubelet.crt", 12),
    ]);
    report.tls_ports = Some(vec![
        TlsPort {
            verdict: None,
            node: "cp1".into(),
            port: 6443,
            component: Some("kube-apiserver".into()),
            state: "tls".into(),
            detail: Some("TLS 1.3".into()),
        },
        TlsPort {
            verdict: None,
            node: "w1".into(),
            port: 10255,
            component: Some("kubelet".into()),
            state: "plaintext".into(),
            detail: None,
        },
    ]);
    report.etcd_reachability = Some(vec![
        EtcdReach {
            from: "cp1".into(),
            to: "cp1:2379".into(),
            reachable: true,
            expected: Some(true),
            detail: None,
            outcome: None,
        },
        EtcdReach {
            from: "w1".into(),
            to: "cp1:2379".into(),
            reachable: true,
            expected: Some(false),
            detail: Some("a worker should not reach etcd".into()),
            outcome: Some("reachable".into()),
        },
    ]);
    let page = html(&report);
    assert!(!page.contains("Not collected."));
    assert!(page.contains("<svg class=\"timeline\""));
    assert!(page.contains("class=\"cert-expired\""));
    assert!(page.contains("class=\"cert-soon\""));
    assert!(page.contains("1 expired"));
    let certs = &page[page.find("<table class=\"certs\">").unwrap()..];
    let soonest = certs.find("apiserver.crt").unwrap();
    assert!(
        soonest < certs.find("kubelet.crt").unwrap(),
        "soonest first"
    );
    assert!(page.contains("class=\"m-plaintext\""));
    assert!(page.contains("<th>10255</th>"));
    // Coloured by meaning: the control plane reaching etcd is fine, a
    // worker reaching it is the failure.
    assert!(page.contains("class=\"m-reach-ok\""));
    assert!(page.contains("class=\"m-reach-bad\""));

    // Collected but empty is not the same as not collected.
    report.certificates = Some(Vec::new());
    report.tls_ports = Some(Vec::new());
    report.etcd_reachability = Some(Vec::new());
    let page = html(&report);
    assert!(page.contains("No certificates were found"));
    assert!(page.contains("No listening ports were probed"));
    assert!(page.contains("No etcd member was probed"));
}

#[test]
fn since_last_run_section_appears_with_a_baseline() {
    let old = report_of(&fixture_nodes("hardened"));
    let new = report_of(&fixture_nodes("misconfigured"));
    let d = diff::diff(&old, &new);
    let page = render(
        &new,
        &HtmlOptions {
            since: Some(&d),
            ..HtmlOptions::default()
        },
    )
    .unwrap();
    assert!(page.contains("id=\"since\""));
    assert!(page.contains("New failures"));
    let since = &page[page.find("id=\"since\"").unwrap()..page.find("id=\"heatmap\"").unwrap()];
    assert!(since.contains("1.2.15"), "profiling turned on since");
    assert!(
        !html(&new).contains("id=\"since\""),
        "no section without a baseline"
    );
}

#[test]
fn nodes_not_scanned_are_listed_with_their_reason() {
    let mut nodes = fixture_nodes("hardened");
    for (i, reason) in ["connection refused", "connection refused"]
        .iter()
        .enumerate()
    {
        let mut n = nodes[1].clone();
        n.node.name = format!("w{}", i + 2);
        n.scan_status = ScanStatus::Unreachable;
        n.error = Some(format!("ssh: connect: {reason}"));
        nodes.push(n);
    }
    let page = html(&report_of(&nodes));
    let errors = &page[page.find("id=\"node-errors\"").unwrap()..];
    assert!(errors.contains("ssh: connect: connection refused"));
    assert!(errors.contains("w2, w3"), "same reason, one row");
    assert_eq!(
        errors
            .matches("<td><span class=\"badge wide st-error\">unreachable")
            .count(),
        1
    );
    assert!(page.contains("2 not scanned"));
}

#[test]
fn at_scale_checks_are_grouped_and_identical_nodes_share_a_heatmap_row() {
    let templates = fixture_nodes("kubeadm-default");
    let nodes: Vec<NodeFacts> = (0..300)
        .map(|i| {
            let mut n = templates[i % 2].clone();
            n.node.name = format!("node-{i:03}");
            for c in n.components.values_mut() {
                if let Some(p) = c.pid.as_mut() {
                    *p += i as u32;
                }
            }
            n
        })
        .collect();
    let report = report_of(&nodes);
    let page = html(&report);
    assert_eq!(
        page.matches("<details class=\"check ").count(),
        groups(&report)
    );
    // 300 nodes of two kinds: two heatmap rows.
    let heat = &page[page.find("<table class=\"heat\">").unwrap()..];
    let heat = &heat[..heat.find("</table>").unwrap()];
    assert_eq!(heat.matches("<tr>").count(), 3);
    // Node sets are named, not listed, when they are a whole role.
    assert!(page.contains("every control-plane node (150)"));
    assert!(page.contains("every worker node (150)"));
    // Evidence differing only in process ids is one variant.
    let row = &page[page.find("id=\"c-fail-1.2.15\"").unwrap()..];
    let row = &row[..row.find("</details>").unwrap()];
    assert!(!row.contains("Evidence 2 of"), "{row}");
    assert!(row.contains("pid …"));
    assert!(
        page.len() < 1024 * 1024,
        "{} bytes for 300 nodes",
        page.len()
    );
    assert!(report.findings().any(|(_, f)| f.status == Status::Fail));
}

#[test]
fn template_dir_replaces_built_in_templates_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.css"), "body { color: #123456; }").unwrap();
    let report = report_of(&fixture_nodes("hardened"));
    let page = render(
        &report,
        &HtmlOptions {
            template_dir: Some(dir.path()),
            ..HtmlOptions::default()
        },
    )
    .unwrap();
    assert!(page.contains("#123456"));
    assert!(
        page.contains("id=\"checks\""),
        "report.html is still the built-in one"
    );

    std::fs::write(dir.path().join("report.html"), "{{ cluster }} {% if %}").unwrap();
    let err = render(
        &report,
        &HtmlOptions {
            template_dir: Some(dir.path()),
            ..HtmlOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    let path: PathBuf = dir.path().join("report.html");
    assert!(err.contains(&path.display().to_string()), "{err}");
}

/// Keys and rotation: a table and a timeline of every key's age, next to
/// the certificates; "not collected" when the report has no key data.
#[test]
fn keys_and_rotation_section_lists_each_key_with_its_age() {
    let r = report_of(&fixture_nodes("rke2-default"));
    let page = html(&r);
    let at = page.find("<section id=\"keys\"").expect("a keys section");
    let cert_at = page.find("<section id=\"certificates\"").unwrap();
    assert!(cert_at < at, "keys follow the certificates");
    let section = &page[at..at + page[at..].find("</section>").unwrap()];
    assert!(section.contains("<td class=\"mono\">aescbckey</td><td>active</td><td>2025-11-20</td><td class=\"num\">369</td>"), "{section}");
    assert!(
        section.contains("<td class=\"mono\">service.current.key</td><td>signing</td>"),
        "{section}"
    );
    assert_eq!(
        section.matches("<rect class=\"cb-soon\"").count(),
        3,
        "{section}"
    );
    assert!(page.contains("<a href=\"#keys\">Keys</a>"));
    let mut old = r.clone();
    old.keys = None;
    let page = html(&old);
    assert!(page.contains("This report holds no key data"));
}
