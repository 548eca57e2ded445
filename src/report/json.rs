//! The JSON report: the machine-readable contract (`docs/report-schema.md`).

use std::io::{self, Write};

use super::Report;

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write(report: &Report, mut w: impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, report).map_err(io::Error::other)?;
    writeln!(w)
}
