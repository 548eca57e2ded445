//! Which conversations each port gets, and when each may start: the one
//! scheduling policy that every transport's probe driver follows.
//!
//! A port gets up to four conversations, each on its own connection:
//!
//! 1. a rustls handshake ([`Job::Tls`]), at once;
//! 2. a plain `GET / HTTP/1.0` ([`Job::Get`]), only when the handshake has
//!    heard nothing for a few round trips ([`silence`]), or ended without a
//!    byte. Go's `net/http` reads a request line up to a newline and a
//!    ClientHello usually holds none, so a plaintext Go server (kubelet
//!    healthz, kube-proxy metrics, the read-only port, an insecure API
//!    port) says nothing to a ClientHello and waits. Once the `GET` is
//!    answered in clear, the silent handshake is ended at once
//!    ([`settled`]);
//! 3. and 4. two hand-built ClientHellos ([`Job::Hello`]), only once the
//!    port is known to speak TLS: a ClientHello to a plaintext port tells
//!    nothing. An `eager` hello (a port that usually speaks TLS) may open
//!    its connection before that is known, since opening costs a round
//!    trip; it sends nothing until it is.
//!
//! Nothing else is ever sent. The drivers (`transport::ssh`,
//! `transport::threads`) do the I/O; every decision about what may start,
//! what must wait and what is no longer needed is made here, from the jobs'
//! own state, so every transport probes the same way.

use std::time::{Duration, Instant};

use super::hello::HelloKind;
use super::job::{GetJob, HelloJob, Job, TlsJob};
use crate::facts::TlsProbe;
use crate::k8s::ports::{KUBELET_ANONYMOUS_PATH, KUBELET_PORT, USUALLY_PLAINTEXT};

/// One conversation to have from a node: connect to `host:port` from the
/// node and drive `job` over the connection, when `gate` allows.
pub struct ProbeTask {
    pub host: String,
    pub port: u16,
    pub job: Job,
    pub gate: Gate,
}

/// When a task may start, in terms of its port's TLS task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// At once (the TLS handshake).
    Now,
    /// Once task `of` has found the port to speak TLS. `eager`: the
    /// connection may be opened before that is known (once task `of` has
    /// its own); nothing is sent until it is.
    IfTls { of: usize, eager: bool },
    /// Once task `of` (the TLS handshake) has heard nothing for the
    /// silence bound, or has ended without a byte.
    IfSilent { of: usize },
}

/// What a driver may do with a task now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ready {
    /// Go ahead.
    Go,
    /// Not yet; ask again.
    Wait,
    /// Never: fail the job with this reason and move on.
    Drop(String),
}

/// The least a silent handshake is given before the plain `GET` goes out:
/// a TLS server answers a ClientHello within a round trip and a signature,
/// but a busy node can take longer, and a `GET` that reaches a slow TLS
/// server costs nothing but a `400` (the handshake goes on meanwhile).
pub const MIN_SILENCE: Duration = Duration::from_millis(100);
/// The most it is given, however slow the link.
pub const MAX_SILENCE: Duration = Duration::from_millis(1500);

/// How long a handshake may hear nothing before the plain `GET` goes out:
/// four round trips of the link the probes run over (measured by the
/// driver, e.g. a channel open), at least [`MIN_SILENCE`].
pub fn silence(rtt: Option<Duration>) -> Duration {
    rtt.map(|r| r * 4)
        .unwrap_or(MIN_SILENCE)
        .clamp(MIN_SILENCE, MAX_SILENCE)
}

/// The conversations of every `(address, port)` target: every TLS task
/// first (their conversations are the longest), then the plaintext
/// fallbacks, then the hellos. Ports that usually speak TLS come first.
/// `etcd_ports`: ports whose insistence on client certificates is judged.
pub fn port_tasks(targets: &[(String, u16)], etcd_ports: &[u16]) -> Vec<ProbeTask> {
    let mut order: Vec<&(String, u16)> = targets.iter().collect();
    order.sort_by_key(|(_, port)| USUALLY_PLAINTEXT.contains(port));
    let mut tls = Vec::new();
    let mut gets = Vec::new();
    let mut hellos = Vec::new();
    for (host, port) in order {
        let of = tls.len();
        let eager = !USUALLY_PLAINTEXT.contains(port);
        let task = |job, gate| ProbeTask {
            host: host.clone(),
            port: *port,
            job,
            gate,
        };
        let get = (*port == KUBELET_PORT).then_some(KUBELET_ANONYMOUS_PATH);
        let etcd = etcd_ports.contains(port);
        tls.push(task(
            Job::Tls(Box::new(TlsJob::new(host, get, etcd))),
            Gate::Now,
        ));
        gets.push(task(
            Job::Get(GetJob::new(host, *port)),
            Gate::IfSilent { of },
        ));
        for kind in [HelloKind::Legacy, HelloKind::WeakSuites] {
            hellos.push(task(
                Job::Hello(HelloJob::new(kind, host)),
                Gate::IfTls { of, eager },
            ));
        }
    }
    tls.extend(gets);
    tls.extend(hellos);
    tls
}

/// The probe result of every target, from the tasks [`port_tasks`] made
/// for them (in any order).
pub fn results(targets: &[(String, u16)], tasks: Vec<ProbeTask>) -> Vec<TlsProbe> {
    let mut by_target: Vec<Vec<Job>> = targets.iter().map(|_| Vec::new()).collect();
    for t in tasks {
        if let Some(i) = targets
            .iter()
            .position(|(a, p)| *a == t.host && *p == t.port)
        {
            by_target[i].push(t.job);
        }
    }
    targets
        .iter()
        .zip(by_target)
        .map(|((a, p), jobs)| super::assemble(a, *p, jobs))
        .collect()
}

fn tls_job(tasks: &[ProbeTask], of: usize) -> Option<&Job> {
    tasks
        .get(of)
        .map(|t| &t.job)
        .filter(|j| matches!(j, Job::Tls(_)))
}

/// Whether task `i`'s connection may be opened now. `silence`: the bound
/// of [`silence`] for this link.
pub fn may_open(tasks: &[ProbeTask], i: usize, now: Instant, silence: Duration) -> Ready {
    match tasks[i].gate {
        Gate::Now => Ready::Go,
        Gate::IfTls { of, eager } => match tls_job(tasks, of).and_then(Job::speaks_tls) {
            Some(true) => Ready::Go,
            Some(false) => Ready::Drop("not asked: the port does not speak TLS".into()),
            None if tls_job(tasks, of).is_none() => {
                Ready::Drop("not asked: the port's TLS probe is missing".into())
            }
            // After the handshake's own connection, so that a server that
            // takes one connection at a time meets the ClientHello first.
            None if eager && tls_job(tasks, of).and_then(Job::sent_at).is_some() => Ready::Go,
            None => Ready::Wait,
        },
        Gate::IfSilent { of } => {
            let Some(Job::Tls(t)) = tls_job(tasks, of) else {
                return Ready::Drop("not asked: the port's TLS probe is missing".into());
            };
            if t.heard() {
                return Ready::Drop("not needed: the port answered the ClientHello".into());
            }
            match t.sent_at() {
                // Never connected: a second connection would fare no
                // better, once the first has given up.
                None if tasks[of].job.done() => Ready::Drop(
                    "not asked: the connection for the ClientHello could not be made".into(),
                ),
                None => Ready::Wait,
                Some(_) if tasks[of].job.done() => Ready::Go,
                Some(at) if now.duration_since(at) >= silence => Ready::Go,
                Some(_) => Ready::Wait,
            }
        }
    }
}

/// Whether task `i`, its connection open, may send now. Only an eager
/// hello ever waits here (for its port to be known to speak TLS).
pub fn may_send(tasks: &[ProbeTask], i: usize, now: Instant, silence: Duration) -> Ready {
    match tasks[i].gate {
        Gate::IfTls { of, .. } => match tls_job(tasks, of).and_then(Job::speaks_tls) {
            Some(true) => Ready::Go,
            Some(false) => Ready::Drop("not asked: the port does not speak TLS".into()),
            None if tasks[of].job.done() => {
                Ready::Drop("not asked: its port's TLS probe never finished".into())
            }
            None => Ready::Wait,
        },
        _ => match may_open(tasks, i, now, silence) {
            // Once opened, a task's own conversation goes on.
            Ready::Drop(_) | Ready::Wait => Ready::Go,
            go => go,
        },
    }
}

/// For a TLS task still in its handshake: the reason to end it now,
/// because its port's plain `GET` was answered in clear while the
/// ClientHello met silence.
pub fn settled(tasks: &[ProbeTask], i: usize) -> Option<String> {
    if tasks[i].gate != Gate::Now || tasks[i].job.done() {
        return None;
    }
    tasks.iter().find_map(|t| match (&t.gate, &t.job) {
        (Gate::IfSilent { of }, Job::Get(g)) if *of == i && g.plaintext() => Some(
            "no answer to a TLS ClientHello, and the port answered a plain GET in clear".into(),
        ),
        _ => None,
    })
}

/// Applies [`settled`] to task `i`; true when it ended the job.
pub fn settle(tasks: &mut [ProbeTask], i: usize) -> bool {
    match settled(tasks, i) {
        Some(reason) => {
            tasks[i].job.settle_plaintext(reason);
            tasks[i].job.done()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Vec<(String, u16)> {
        vec![
            ("127.0.0.1".to_string(), 10248),
            ("10.0.0.5".to_string(), 10250),
        ]
    }

    #[test]
    fn tls_tasks_come_first_then_fallbacks_then_hellos_likely_tls_ports_first() {
        let tasks = port_tasks(&targets(), &[]);
        let shape: Vec<(u16, &str, Gate)> = tasks
            .iter()
            .map(|t| {
                let kind = match t.job {
                    Job::Tls(_) => "tls",
                    Job::Get(_) => "get",
                    Job::Hello(_) => "hello",
                };
                (t.port, kind, t.gate)
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (10250, "tls", Gate::Now),
                (10248, "tls", Gate::Now),
                (10250, "get", Gate::IfSilent { of: 0 }),
                (10248, "get", Gate::IfSilent { of: 1 }),
                (10250, "hello", Gate::IfTls { of: 0, eager: true }),
                (10250, "hello", Gate::IfTls { of: 0, eager: true }),
                (
                    10248,
                    "hello",
                    Gate::IfTls {
                        of: 1,
                        eager: false
                    }
                ),
                (
                    10248,
                    "hello",
                    Gate::IfTls {
                        of: 1,
                        eager: false
                    }
                ),
            ]
        );
    }

    #[test]
    fn the_plain_get_waits_for_silence_and_settles_the_silent_handshake() {
        let mut tasks = port_tasks(&targets(), &[]);
        let quiet = silence(None);
        let t0 = Instant::now();
        // Nothing sent yet: the fallback waits.
        assert_eq!(may_open(&tasks, 3, t0, quiet), Ready::Wait);
        // The ClientHello goes out; the server says nothing.
        assert!(!tasks[1].job.output().is_empty());
        let sent = Instant::now();
        assert_eq!(may_open(&tasks, 3, sent, quiet), Ready::Wait);
        assert_eq!(may_open(&tasks, 3, sent + quiet, quiet), Ready::Go);
        // The plain GET is answered in clear: the handshake is ended, the
        // hellos are dropped.
        assert!(tasks[3].job.output().starts_with(b"GET / HTTP/1.0\r\n"));
        tasks[3].job.input(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n",
            sent,
        );
        assert!(tasks[3].job.done());
        assert!(settled(&tasks, 1).is_some());
        assert!(settle(&mut tasks, 1));
        assert_eq!(tasks[1].job.speaks_tls(), Some(false));
        assert!(matches!(may_open(&tasks, 6, sent, quiet), Ready::Drop(_)));
        let probes = results(&targets(), tasks);
        let p = &probes[0];
        assert_eq!(p.state, super::super::PortState::Plaintext, "{p:?}");
        let detail = p.detail.as_deref().unwrap();
        assert!(detail.contains("HTTP/1.1 404 Not Found"), "{detail}");
        assert!(
            detail.contains("no answer to a TLS ClientHello"),
            "{detail}"
        );
    }

    #[test]
    fn a_port_that_answers_the_client_hello_needs_no_fallback() {
        let mut tasks = port_tasks(&targets(), &[]);
        let quiet = silence(None);
        let now = Instant::now();
        let _ = tasks[1].job.output();
        // A plaintext server whose reading of the ClientHello met a newline.
        tasks[1].job.input(b"HTTP/1.1 400 Bad Request\r\n\r\n", now);
        tasks[1].job.eof(now);
        assert!(matches!(
            may_open(&tasks, 3, now + quiet, quiet),
            Ready::Drop(_)
        ));
        assert!(settled(&tasks, 1).is_none());
    }

    #[test]
    fn a_go_tls_servers_answer_to_the_plain_get_is_told_apart() {
        let mut tasks = port_tasks(&targets(), &[]);
        let now = Instant::now();
        let _ = tasks[3].job.output();
        tasks[3].job.input(b"HTTP/1.0 400 Bad Request\r\n\r\n", now);
        // A 400 waits for its body.
        assert!(!tasks[3].job.done());
        tasks[3]
            .job
            .input(b"Client sent an HTTP request to an HTTPS server.\n", now);
        tasks[3].job.eof(now);
        assert!(tasks[3].job.done());
        assert!(settled(&tasks, 1).is_none());
        let Job::Get(g) = &tasks[3].job else { panic!() };
        assert_eq!(
            g.result.as_ref().unwrap().outcome,
            super::super::GetOutcome::TlsServer
        );
        // A plaintext server's own 400 (to a request it dislikes) is plain.
        let mut tasks = port_tasks(&targets(), &[]);
        let _ = tasks[3].job.output();
        tasks[3].job.input(
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request",
            now,
        );
        tasks[3].job.eof(now);
        assert!(settled(&tasks, 1).is_some());
    }

    #[test]
    fn a_port_that_answers_neither_is_an_error_naming_both_attempts() {
        let mut tasks = port_tasks(&targets(), &[]);
        let _ = tasks[1].job.output();
        tasks[1].job.fail("no answer within 5000 ms".into());
        assert_eq!(
            may_open(&tasks, 3, Instant::now(), silence(None)),
            Ready::Go
        );
        let _ = tasks[3].job.output();
        tasks[3].job.eof(Instant::now());
        let probes = results(&targets(), tasks);
        let p = &probes[0];
        assert_eq!(p.state, super::super::PortState::Error);
        let detail = p.detail.as_deref().unwrap();
        assert!(detail.starts_with("answered neither"), "{detail}");
        assert!(detail.contains("GET / HTTP/1.0"), "{detail}");
        assert!(detail.contains("5000 ms"), "{detail}");
    }

    #[test]
    fn no_connection_for_the_handshake_means_no_fallback_either() {
        let mut tasks = port_tasks(&targets(), &[]);
        tasks[1]
            .job
            .fail("could not connect from the node: refused".into());
        assert!(matches!(
            may_open(&tasks, 3, Instant::now(), silence(None)),
            Ready::Drop(_)
        ));
    }

    #[test]
    fn the_silence_bound_is_a_few_round_trips_within_limits() {
        assert_eq!(silence(None), MIN_SILENCE);
        assert_eq!(silence(Some(Duration::from_millis(1))), MIN_SILENCE);
        assert_eq!(
            silence(Some(Duration::from_millis(100))),
            Duration::from_millis(400)
        );
        assert_eq!(silence(Some(Duration::from_secs(3))), MAX_SILENCE);
    }
}
