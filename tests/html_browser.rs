//! The HTML report in a real browser: headless Chromium loads the report of
//! the misconfigured fixture with no console message at all (errors
//! included), the status filters and the search work from the URL hash, the
//! page still lists everything without JavaScript, and a screenshot is taken.
//!
//! Needs Debian's `chromium` package (or KUBEHARDEN_CHROMIUM=/path/to/it).
//! Set KUBEHARDEN_SCREENSHOT=FILE to keep the screenshot, e.g.
//! `KUBEHARDEN_SCREENSHOT=docs/report-screenshot.png cargo test --test html_browser`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kubeharden::bench::load_builtin;
use kubeharden::engine::evaluate;
use kubeharden::facts::load_facts_path;
use kubeharden::report::html::{HtmlOptions, render};

const TIMEOUT: Duration = Duration::from_secs(120);

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("KUBEHARDEN_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed: install Debian's chromium package (scripts/test does), or set KUBEHARDEN_CHROMIUM"
    );
}

struct Page {
    dom: String,
    /// Console messages the page produced (any level), one per line.
    console: Vec<String>,
}

/// Loads `url` in a fresh headless Chromium and returns what it printed.
fn chromium_run(url: &str, extra: &[&str]) -> Page {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("stdout");
    let err = tmp.path().join("stderr");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {stderr}");
    Page {
        dom: std::fs::read_to_string(&out).unwrap_or_default(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .map(str::to_string)
            .collect(),
    }
}

fn report_file(dir: &Path) -> PathBuf {
    report_file_with(dir, None)
}

fn report_file_with(dir: &Path, template_dir: Option<&Path>) -> PathBuf {
    let facts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/misconfigured");
    let nodes = load_facts_path(&facts).unwrap();
    let bench = load_builtin("cis-1.12").unwrap();
    let mut report = evaluate(&bench, &nodes, "2026-11-24T10:15:02Z");
    report.cluster.name = Some("misconfigured".into());
    let page = render(
        &report,
        &HtmlOptions {
            template_dir,
            ..HtmlOptions::default()
        },
    )
    .unwrap();
    let path = dir.join("report.html");
    std::fs::write(&path, page).unwrap();
    path
}

fn url(path: &Path, hash: &str) -> String {
    format!("file://{}{hash}", path.display())
}

/// The check rows of a dumped DOM: (status, hidden, the row's markup).
fn rows(dom: &str) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find("<details class=\"check ") {
        rest = &rest[i..];
        let tag_end = rest.find('>').unwrap();
        let tag = &rest[..tag_end];
        let status = tag
            .split("data-status=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("")
            .to_string();
        let end = rest[1..]
            .find("<details class=\"check ")
            .map(|e| e + 1)
            .unwrap_or(rest.len());
        out.push((status, tag.contains(" hidden"), rest[..end].to_string()));
        rest = &rest[tag_end..];
    }
    out
}

#[test]
fn console_messages_are_detected() {
    // Guards the test below: if Chromium stopped logging console messages
    // this way, "no console errors" would pass without meaning anything.
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary.html");
    std::fs::write(
        &canary,
        "<!DOCTYPE html><p>x</p><script>console.error('canary');undefinedFunction();</script>",
    )
    .unwrap();
    let page = chromium_run(&url(&canary, ""), &["--dump-dom"]);
    assert!(
        page.console.iter().any(|l| l.contains("canary")),
        "console.error not seen: {:?}",
        page.console
    );
    assert!(page.console.iter().any(|l| l.contains("Uncaught")));
}

#[test]
fn report_loads_without_console_messages_and_filters_work() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_file(dir.path());

    // Unfiltered: the script ran, showed the filter bar and hid nothing.
    let page = chromium_run(&url(&report, ""), &["--dump-dom"]);
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    assert!(page.dom.contains("data-ready=\"1\""), "the script ran");
    assert!(!page.dom.contains("id=\"filters\" class=\"filters\" hidden"));
    let all = rows(&page.dom);
    assert!(all.len() > 100, "{} rows", all.len());
    assert!(all.iter().all(|r| !r.1), "nothing hidden without a filter");
    let fails = all.iter().filter(|r| r.0 == "fail").count();

    // #status=fail shows the failing checks only.
    let page = chromium_run(&url(&report, "#status=fail"), &["--dump-dom"]);
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    let shown: Vec<_> = rows(&page.dom).into_iter().filter(|r| !r.1).collect();
    assert_eq!(shown.len(), fails);
    assert!(shown.iter().all(|r| r.0 == "fail"));
    assert!(
        page.dom
            .contains(&format!("{fails} of {} checks shown", all.len()))
    );
    assert!(page.dom.contains("aria-pressed=\"true\""));

    // Two statuses and a search.
    let page = chromium_run(
        &url(&report, "#status=fail,warn&q=kubelet"),
        &["--dump-dom"],
    );
    let shown: Vec<_> = rows(&page.dom).into_iter().filter(|r| !r.1).collect();
    let fail_or_warn = all
        .iter()
        .filter(|r| r.0 == "fail" || r.0 == "warn")
        .count();
    assert!(
        !shown.is_empty() && shown.len() < fail_or_warn,
        "the search narrows"
    );
    assert!(shown.iter().all(|r| r.0 == "fail" || r.0 == "warn"));
    assert!(shown.iter().any(|r| r.0 == "warn"));
    assert!(shown.iter().all(|r| r.2.to_lowercase().contains("kubelet")));

    // A node's name finds the rows that name a set it belongs to
    // ("every worker node") without listing it.
    let page = chromium_run(&url(&report, "#status=pass&q=w1"), &["--dump-dom"]);
    let shown: Vec<_> = rows(&page.dom).into_iter().filter(|r| !r.1).collect();
    assert!(
        shown
            .iter()
            .any(|r| !r.2.contains("w1") && r.2.contains("data-sets=\"all")),
        "a row for every scanned node is found by a node name"
    );
    assert!(shown.iter().all(|r| r.0 == "pass"));
    assert!(
        shown
            .iter()
            .all(|r| r.2.contains("w1") || !r.2.contains("data-sets=\"\"")),
        "rows that list other nodes only stay hidden"
    );

    // A search that matches nothing says so.
    let page = chromium_run(&url(&report, "#q=no-such-check-anywhere"), &["--dump-dom"]);
    assert!(rows(&page.dom).iter().all(|r| r.1));
    assert!(page.dom.contains("<p id=\"no-match\" class=\"empty\">"));
}

#[test]
fn report_lists_everything_without_javascript() {
    // Chromium's --dump-dom needs scripting, so the page is rendered with an
    // empty report.js instead: the same page as a browser without JS shows.
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(templates.join("report.js"), "").unwrap();
    let report = report_file_with(dir.path(), Some(&templates));
    let page = chromium_run(&url(&report, "#status=fail"), &["--dump-dom"]);
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    assert!(!page.dom.contains("data-ready"), "no script ran");
    let all = rows(&page.dom);
    assert!(all.len() > 100);
    assert!(all.iter().all(|r| !r.1), "every check is listed");
    assert!(page.dom.contains("id=\"filters\" class=\"filters\" hidden"));
}

#[test]
fn screenshot_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_file(dir.path());
    let png = dir.path().join("report.png");
    let page = chromium_run(
        &url(&report, ""),
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,2000",
        ],
    );
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    let bytes = std::fs::read(&png).expect("a screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(bytes.len() > 50_000, "{} bytes: a blank page?", bytes.len());
    if let Some(keep) = std::env::var_os("KUBEHARDEN_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
