//! kubeharden: an agentless CIS Kubernetes Benchmark auditor.
//!
//! The pipeline runs one way: inventory, transport, collection into
//! [`facts::NodeFacts`], the [`engine`] judging them against a
//! [`bench::Benchmark`] into a [`verdict::Report`], the reporters writing it.
//! Kubernetes knowledge sits in [`k8s`]. Facts serialise to JSON, so a saved
//! scan can be evaluated again offline. `docs/architecture.md` lists which
//! module may use which; `tests/architecture.rs` holds the code to it.

pub mod bench;
pub mod certs;
pub mod collect;
pub mod engine;
pub mod facts;
pub mod history;
pub mod inventory;
pub mod k8s;
pub mod kind;
pub mod probe;
pub mod report;
pub mod scan;
pub mod transport;
pub mod util;
pub mod verdict;
pub mod yaml;
