//! Components embedded in a supervisor, from what the supervisor logged.
//!
//! k3s runs the API server, controller-manager, scheduler, kubelet,
//! kube-proxy and etcd inside one process, and hides its own flags from
//! `/proc` (gspt overwrites its command line). What each component runs
//! with is only in the line k3s logs when it starts it
//! (`Running kube-apiserver --advertise-address=... --profiling=false ...`,
//! `k3s:pkg/daemons/control/server.go`, flags sorted and joined with
//! spaces by `config.ArgString`). The layout says which line belongs to
//! which component (`logged`) and which line starts the supervisor
//! (`started`).
//!
//! Only the running process's lines count: the journal is read by the
//! supervisor's pid in this boot, and a log file from its last start line
//! on. When the supervisor logged its start but no line of a component,
//! the component was not started (k3s's `--disable-*`). When its start is
//! not in the log either (the journal rotated it away, k3s#13223), nothing
//! is known of what its components run with, and each of them carries an
//! error that says so: a check of their settings is then an `error`, never
//! a guess.

use crate::facts::{
    CollectionError, ComponentFacts, ComponentKind, LoggedArgv, NodeFacts, ProcessFacts,
};
use crate::k8s::layout::{self, Launch, Layout};

/// One supervisor log the collector answered: `journal:<pid>` or a file.
#[derive(Debug, Default)]
pub struct LogAnswer {
    pub key: String,
    /// The kept lines, in order.
    pub lines: Vec<String>,
    /// What the collector said beside them (journalctl's complaints).
    pub notes: Vec<String>,
}

impl LogAnswer {
    pub fn parse(key: &str, payload: &str) -> LogAnswer {
        let mut out = LogAnswer {
            key: key.to_string(),
            ..Default::default()
        };
        for l in payload.lines() {
            if let Some(x) = l.strip_prefix("line ") {
                out.lines.push(x.to_string());
            } else if let Some(x) = l.strip_prefix("note ") {
                out.notes.push(crate::util::cap(x, 300));
            }
        }
        out
    }

    fn pid(&self) -> Option<u32> {
        self.key.strip_prefix("journal:")?.parse().ok()
    }

    /// Where the lines were read, for people.
    fn place(&self) -> String {
        if self.pid().is_some() {
            "journal".into()
        } else {
            self.key.clone()
        }
    }
}

/// A logrus text line: `time="..." level=info msg="..."`, the message
/// unquoted; any other line is its own message.
#[derive(Debug, PartialEq, Eq)]
pub struct LogLine {
    pub time: Option<String>,
    pub msg: String,
}

/// Reads one logrus text-formatter line (quoted values use Go's `%q`).
pub fn parse_line(line: &str) -> LogLine {
    let field = |name: &str| -> Option<String> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        let rest = &line[start..];
        if let Some(q) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(out),
                    '\\' => match chars.next()? {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        other => out.push(other),
                    },
                    c => out.push(c),
                }
            }
            Some(out)
        } else {
            Some(rest.split(' ').next().unwrap_or("").to_string())
        }
    };
    let time_at = line.starts_with("time=");
    match (time_at, field("msg")) {
        (true, Some(msg)) => LogLine {
            time: field("time"),
            msg,
        },
        _ => LogLine {
            time: None,
            msg: line.to_string(),
        },
    }
}

/// The lines of the running process's last start, when the log shows it.
fn last_start<'a>(lines: &'a [LogLine], started: Option<&str>) -> Option<&'a [LogLine]> {
    let started = started?;
    let i = lines.iter().rposition(|l| l.msg.starts_with(started))?;
    Some(&lines[i..])
}

/// Turns the supervisor logs into the embedded components' facts.
pub fn apply(facts: &mut NodeFacts, answers: &[LogAnswer]) {
    let Some(layout) = facts.layout.as_ref().and_then(|f| layout::find(&f.name)) else {
        return;
    };
    let Some(sup) = &layout.supervisor else {
        return;
    };
    let procs: Vec<ProcessFacts> = facts
        .processes
        .iter()
        .filter(|p| sup.processes.contains(&p.name))
        .cloned()
        .collect();
    for p in procs {
        let Some(pid) = p.pid else { continue };
        let parsed = |a: &LogAnswer| a.lines.iter().map(|l| parse_line(l)).collect::<Vec<_>>();
        // Its own journal entries first: they are this process's alone.
        let journal = answers.iter().find(|a| a.pid() == Some(pid));
        let mut chosen: Option<(&LogAnswer, Vec<LogLine>, bool)> = journal.and_then(|a| {
            let lines = parsed(a);
            match last_start(&lines, sup.started.as_deref()) {
                Some(s) => {
                    let s: Vec<LogLine> = s.iter().map(clone_line).collect();
                    Some((a, s, true))
                }
                None if !lines.is_empty() => Some((a, lines, false)),
                None => None,
            }
        });
        if chosen.is_none() {
            // A log file holds every start: only the last one's lines.
            chosen = answers.iter().filter(|a| a.pid().is_none()).find_map(|a| {
                let lines = parsed(a);
                last_start(&lines, sup.started.as_deref())
                    .map(|s| (a, s.iter().map(clone_line).collect(), true))
            });
        }
        let embedded: Vec<(ComponentKind, &layout::ComponentLayout)> = layout
            .components
            .iter()
            .filter(|(_, c)| c.launch == Launch::Embedded && c.by.contains(&p.name))
            .map(|(k, c)| (*k, c))
            .collect();
        match chosen {
            Some((answer, lines, complete)) => {
                if complete {
                    version(facts, &p, answer, &lines[0]);
                }
                for (kind, c) in embedded {
                    logged(facts, layout, &p, answer, &lines, complete, kind, c);
                }
            }
            None => {
                let notes: Vec<String> = answers
                    .iter()
                    .filter(|a| a.pid() == Some(pid))
                    .flat_map(|a| a.notes.clone())
                    .collect();
                let files = if sup.log_files.is_empty() {
                    String::new()
                } else {
                    format!(" nor in {}", sup.log_files.join(", "))
                };
                let why = format!(
                    "{} (pid {pid}) runs it inside itself, and its flags are only in the line {} logs when it starts it; neither that line nor the start of this process is in its journal entries of this boot{files} (the journal may have rotated them away, or the collector may not read the journal){}",
                    p.name,
                    p.name,
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!("; journalctl said: {}", notes.join("; "))
                    }
                );
                for (kind, _) in embedded {
                    let e = facts.components.entry(kind).or_default();
                    if !e.running && e.error.is_none() {
                        e.pid = Some(pid);
                        e.error = Some(why.clone());
                    }
                }
            }
        }
    }
}

fn clone_line(l: &LogLine) -> LogLine {
    LogLine {
        time: l.time.clone(),
        msg: l.msg.clone(),
    }
}

/// `Starting k3s v1.32.5+k3s1 (8e8f2a47)`: the Kubernetes version, when
/// nothing else gave one.
fn version(facts: &mut NodeFacts, p: &ProcessFacts, answer: &LogAnswer, start: &LogLine) {
    if facts.node.kubernetes_version.is_some() {
        return;
    }
    let Some(tag) = start.msg.split(' ').find(|w| {
        w.strip_prefix('v')
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    }) else {
        return;
    };
    let v = tag.split(['+', '-']).next().unwrap_or(tag);
    facts.node.kubernetes_version = Some(crate::util::cap(v, 40));
    facts.node.kubernetes_version_source = Some(crate::util::cap(
        &format!(
            "logged by {} (pid {}) in the {}{}: {}",
            p.name,
            p.pid.unwrap_or(0),
            answer.place(),
            start
                .time
                .as_ref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default(),
            start.msg
        ),
        300,
    ));
}

#[allow(clippy::too_many_arguments)]
fn logged(
    facts: &mut NodeFacts,
    layout: &Layout,
    p: &ProcessFacts,
    answer: &LogAnswer,
    lines: &[LogLine],
    complete: bool,
    kind: ComponentKind,
    c: &layout::ComponentLayout,
) {
    let Some(text) = &c.logged else { return };
    if facts.components.get(&kind).is_some_and(|e| e.running) {
        facts.errors.push(CollectionError {
            item: format!("component:{kind}"),
            message: format!(
                "a {} process runs beside the {} that {} runs inside {}; its own process is judged",
                kind.binary(),
                kind.binary(),
                layout.title,
                p.name
            ),
        });
        return;
    }
    let Some(line) = lines
        .iter()
        .rev()
        .find(|l| l.msg.starts_with(text.as_str()))
    else {
        if !complete {
            // Lines of this process, but not its start: whether the
            // component was started is not known.
            let e = facts.components.entry(kind).or_default();
            e.pid = p.pid;
            e.error = Some(format!(
                "{} (pid {}) runs it inside itself; its {} holds lines of this process but neither its start nor a line {text:?}, so what it runs with is not known",
                p.name,
                p.pid.unwrap_or(0),
                answer.place()
            ));
        }
        return;
    };
    let mut argv = vec![kind.binary().to_string()];
    if c.runs_with.is_empty() {
        let flags = line.msg[text.len()..].trim();
        argv.extend(flags.split(' ').filter(|a| !a.is_empty()).map(String::from));
    } else {
        argv.extend(c.runs_with.iter().cloned());
    }
    let shown = if c.runs_with.is_empty() {
        text.clone()
    } else {
        crate::util::cap(&line.msg, 200)
    };
    facts.components.insert(
        kind,
        ComponentFacts {
            running: true,
            pid: p.pid,
            argv,
            logged: Some(LoggedArgv {
                supervisor: p.name.clone(),
                log: answer.place(),
                line: shown,
                at: line.time.clone(),
            }),
            ..Default::default()
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::LayoutFacts;

    #[test]
    fn logrus_lines_are_unquoted() {
        let l = parse_line(
            r#"time="2025-06-02T09:14:21Z" level=info msg="Running kube-proxy --a=\"b c\" --d=e\\f""#,
        );
        assert_eq!(l.time.as_deref(), Some("2025-06-02T09:14:21Z"));
        assert_eq!(l.msg, r#"Running kube-proxy --a="b c" --d=e\f"#);
        let raw = parse_line("I0305 20:00:01.029378 9269 options.go:305] msg=x");
        assert_eq!(raw.time, None);
        assert!(raw.msg.starts_with("I0305"));
    }

    fn k3s_node(procs: &[(&str, u32)]) -> NodeFacts {
        NodeFacts {
            layout: Some(LayoutFacts {
                name: "k3s".into(),
                ..Default::default()
            }),
            processes: procs
                .iter()
                .map(|(n, pid)| ProcessFacts {
                    name: n.to_string(),
                    pid: Some(*pid),
                    argv: vec![format!("/usr/local/bin/k3s {}", &n[4..])],
                })
                .collect(),
            ..Default::default()
        }
    }

    fn answer(key: &str, msgs: &[&str]) -> LogAnswer {
        LogAnswer {
            key: key.into(),
            lines: msgs
                .iter()
                .map(|m| format!(r#"time="2026-01-02T03:04:05Z" level=info msg="{m}""#))
                .collect(),
            notes: vec![],
        }
    }

    #[test]
    fn the_last_starts_lines_become_the_components_argv() {
        let mut f = k3s_node(&[("k3s-server", 812)]);
        apply(
            &mut f,
            &[answer(
                "journal:812",
                &[
                    "Starting k3s v1.32.5+k3s1 (8e8f2a47)",
                    "Running kube-apiserver --anonymous-auth=false --profiling=false",
                    "Running kubelet --config-dir=/var/lib/rancher/k3s/agent/etc/kubelet.conf.d",
                    "Managed etcd cluster bootstrap already complete and initialized",
                ],
            )],
        );
        let a = &f.components[&ComponentKind::ApiServer];
        assert!(a.running);
        assert_eq!(a.pid, Some(812));
        assert_eq!(
            a.argv,
            [
                "kube-apiserver",
                "--anonymous-auth=false",
                "--profiling=false"
            ]
        );
        let l = a.logged.as_ref().unwrap();
        assert_eq!(
            (l.supervisor.as_str(), l.log.as_str(), l.at.as_deref()),
            ("k3s-server", "journal", Some("2026-01-02T03:04:05Z"))
        );
        let e = &f.components[&ComponentKind::Etcd];
        assert_eq!(
            e.argv,
            [
                "etcd",
                "--config-file=/var/lib/rancher/k3s/server/db/etcd/config"
            ]
        );
        // Not started by this process: not a component of the node.
        assert!(!f.components.contains_key(&ComponentKind::Scheduler));
        assert_eq!(f.node.kubernetes_version.as_deref(), Some("v1.32.5"));
        assert!(
            f.node
                .kubernetes_version_source
                .as_deref()
                .unwrap()
                .contains("Starting k3s v1.32.5+k3s1")
        );
    }

    #[test]
    fn a_log_file_counts_from_its_last_start_and_lost_lines_are_errors() {
        let mut f = k3s_node(&[("k3s-agent", 90)]);
        apply(
            &mut f,
            &[
                LogAnswer {
                    key: "journal:90".into(),
                    lines: vec![],
                    notes: vec!["No journal files were found.".into()],
                },
                answer(
                    "/var/log/k3s-agent.log",
                    &[
                        "Starting k3s agent v1.31.1+k3s1 (aaa)",
                        "Running kubelet --read-only-port=10255",
                        "Starting k3s agent v1.32.5+k3s1 (bbb)",
                        "Running kube-proxy --proxy-mode=iptables",
                    ],
                ),
            ],
        );
        // The kubelet line is an earlier start's: not this process's.
        assert!(!f.components.contains_key(&ComponentKind::Kubelet));
        let kp = &f.components[&ComponentKind::KubeProxy];
        assert_eq!(kp.logged.as_ref().unwrap().log, "/var/log/k3s-agent.log");
        // An agent never runs the API server.
        assert!(!f.components.contains_key(&ComponentKind::ApiServer));

        let mut f = k3s_node(&[("k3s-server", 812)]);
        apply(&mut f, &[answer("journal:812", &[])]);
        let a = &f.components[&ComponentKind::ApiServer];
        assert!(!a.running);
        assert!(
            a.error
                .as_deref()
                .unwrap()
                .contains("journal may have rotated"),
            "{a:?}"
        );
    }
}
