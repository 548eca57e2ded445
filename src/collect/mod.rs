//! Collection: run the collector script on a node through a transport, in at
//! most three round trips, and build its `NodeFacts`.
//!
//! The script (`collector.sh`) is POSIX sh and read-only. Rust decides what to
//! ask for ([`plan`]), the script answers in frames ([`frames`]), and
//! [`assemble`] turns the answers into facts. No per-check commands: the cost
//! per node is one shell (one `sudo` for non-root users) kept open for at
//! most three round trips, whatever the benchmark.

pub mod api;
pub mod api_client;
pub mod assemble;
pub mod frames;
pub mod logs;
pub mod plan;

use std::time::SystemTime;

use crate::facts::{CollectionError, FACTS_SCHEMA_VERSION, NodeFacts, NodeIdentity, ScanStatus};
use crate::transport::{Conversation, Transport};
use frames::Request;

/// Limits of one collection.
#[derive(Clone, Copy, Debug)]
pub struct CollectOptions {
    /// Most bytes read from any one file on the node.
    pub file_cap: usize,
    /// The layout given with `--layout` (a built-in layout's name); `None`
    /// detects each node's.
    pub layout: Option<&'static str>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            file_cap: 1024 * 1024,
            layout: None,
        }
    }
}

/// Runs one round trip; `Err` ends the node's scan.
fn round_trip(
    conv: &mut dyn Conversation,
    facts: &mut NodeFacts,
    requests: &[Request],
    first: bool,
    opts: CollectOptions,
) -> Result<(), crate::transport::TransportError> {
    let nonce = frames::nonce();
    for r in requests {
        if let Some(p) = r.path().filter(|p| !frames::acceptable_path(p)) {
            facts.errors.push(CollectionError {
                item: crate::util::cap(p, 200),
                message: "path not requested: not absolute, too long, or holds a line break".into(),
            });
        }
    }
    let text = frames::trip(&nonce, opts.file_cap, requests, first);
    // The first trip carries the collector itself, which says it has
    // started before anything else: that is what the start deadline waits
    // for.
    let start = first.then(|| frames::start_marker(&nonce));
    let out = conv.exchange(&text, start.as_deref(), &frames::done_marker(&nonce))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (frames, incomplete) = frames::parse(&nonce, &stdout);
    assemble::apply(facts, &frames, opts.file_cap);
    if out.truncated || incomplete {
        facts.errors.push(CollectionError {
            item: "collector".into(),
            message: if out.truncated {
                "the node's answer exceeded the output cap and was cut".into()
            } else {
                "the node's answer ended inside a frame".into()
            },
        });
    }
    // Paths asked for but not answered are errors, so they can never be
    // mistaken for files that do not exist.
    for r in requests {
        if let Some(p) = r.path() {
            let recorded = assemble::record_path(p);
            if frames::acceptable_path(p) && !facts.files.contains_key(&recorded) {
                facts.errors.push(CollectionError {
                    item: recorded,
                    message: "no answer from the collector for this path".into(),
                });
            }
        }
    }
    if out.truncated {
        return Err(crate::transport::TransportError::Other {
            node: facts.node.name.clone(),
            reason: "the node's answer exceeded the output cap".into(),
        });
    }
    Ok(())
}

/// Collects the facts of one node. Transport failures end the scan of this
/// node only, and are recorded in its `scan_status` and `error`.
pub fn collect(t: &mut dyn Transport, identity: NodeIdentity, opts: CollectOptions) -> NodeFacts {
    let mut facts = NodeFacts {
        schema_version: FACTS_SCHEMA_VERSION,
        node: identity,
        ..Default::default()
    };
    let trips: [fn(&NodeFacts) -> Vec<Request>; 3] = [
        |_| plan::discovery(),
        |f| [plan::from_layout(f), plan::from_command_lines(f)].concat(),
        |f| {
            [
                plan::from_config_files(f),
                plan::certificates(f),
                // Flags learnt in the second trip (a supervisor's log of
                // the components it runs inside itself) name files too.
                plan::not_yet_answered(f, plan::from_command_lines(f)),
            ]
            .concat()
        },
    ];
    let result = t.open().and_then(|mut conv| {
        let mut first = true;
        for (i, next) in trips.into_iter().enumerate() {
            let mut requests = next(&facts);
            requests.sort();
            requests.dedup();
            if !requests.is_empty() {
                round_trip(conv.as_mut(), &mut facts, &requests, first, opts)?;
                first = false;
            }
            if i == 0 {
                // What the node is decides what to read next.
                facts.layout = Some(match opts.layout.map(crate::k8s::layout::forced) {
                    Some(Ok(l)) => l,
                    _ => crate::k8s::layout::detect(&facts),
                });
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        facts.scan_status = e.scan_status();
        facts.error = Some(e.to_string());
    }
    if facts.scan_status == ScanStatus::Ok {
        facts.collected_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    }
    facts
}
