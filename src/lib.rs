//! kubeharden: an agentless CIS Kubernetes Benchmark auditor.
//!
//! The pipeline runs one way: collection produces [`facts::NodeFacts`]; the
//! [`engine`] evaluates them against a [`bench::Benchmark`] into a
//! [`report::Report`]; reporters write it. Facts serialise to JSON, so a saved
//! scan can be evaluated again offline.

pub mod bench;
pub mod certs;
pub mod collect;
pub mod engine;
pub mod facts;
pub mod inventory;
pub mod kind;
pub mod probe;
pub mod report;
pub mod scan;
pub mod transport;
pub mod yaml;
