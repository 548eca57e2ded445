//! Kubernetes knowledge, in one layer: which flags and config-file fields
//! each component has, their types and documented defaults
//! ([`known`]), how a command line is parsed the way pflag parses it
//! ([`argv`]), what a component effectively runs with and where each value
//! came from ([`effective`]), and which files CIS's file references mean on
//! a node ([`files`]).
//!
//! Everything here is a pure function of one node's facts. Collection uses
//! it to decide which files to read (so collection and evaluation can never
//! disagree about a path), the engine to judge, the scan to find etcd's
//! ports. It uses none of them.

pub mod argv;
pub mod audit;
pub mod effective;
pub mod files;
pub mod keys;
pub mod known;
pub mod layout;
pub mod ports;
pub mod rbac;
pub mod supervisor;
pub mod system;
pub mod value;
