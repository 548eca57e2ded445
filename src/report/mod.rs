//! The report: what the engine concluded, for every node and for the cluster,
//! and the reporters that write it: JSON for machines, text for terminals,
//! HTML for people, JUnit for CI, Markdown for tickets. Waivers and the diff
//! against an earlier run are pure functions on reports.
//!
//! The model they render (findings, statuses, the report) is
//! `crate::verdict`, re-exported here for the renderers' callers.

pub mod diff;
pub mod escape;
pub mod groups;
pub mod history_view;
pub mod html;
mod html_keys;
mod html_objects;
pub mod json;
pub mod junit;
pub mod keys;
pub mod markdown;
pub mod metrics;
pub mod text;
pub mod waivers;

pub use crate::verdict::*;
