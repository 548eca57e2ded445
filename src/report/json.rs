//! The JSON report: the machine-readable contract (`docs/report-schema.md`).

use std::io::{self, Write};

use super::Report;

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write(report: &Report, mut w: impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, report).map_err(io::Error::other)?;
    writeln!(w)
}

/// Why a file is not a report this build can read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: cannot read: {source}")]
    Io { file: String, source: io::Error },
    #[error("{file}: not a JSON report: {message}")]
    NotJson { file: String, message: String },
    #[error("{file}: not a kubeharden JSON report (no schema_version)")]
    NoSchema { file: String },
    #[error(
        "{file}: report schema_version {found} is not supported (this build reads {})",
        super::REPORT_SCHEMA_VERSION
    )]
    Version { file: String, found: u64 },
    #[error("{file}: not a valid kubeharden JSON report: {message}")]
    Invalid { file: String, message: String },
}

/// Reads a JSON report written by kubeharden (for `diff` and `--baseline`).
pub fn read(path: &std::path::Path) -> Result<Report, ReadError> {
    let file = path.display().to_string();
    let text = crate::util::read_text(path).map_err(|source| ReadError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

/// Parses a JSON report's text; `file` names it in errors. The text is
/// untrusted (reports are passed around), so every failure is an error,
/// never a panic, and serde_json's recursion limit bounds nesting.
pub fn parse(file: &str, text: &str) -> Result<Report, ReadError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ReadError::NotJson {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    match value.get("schema_version") {
        None => {
            return Err(ReadError::NoSchema {
                file: file.to_string(),
            });
        }
        Some(v) if v.as_u64() == Some(u64::from(super::REPORT_SCHEMA_VERSION)) => {}
        Some(v) => {
            return Err(ReadError::Version {
                file: file.to_string(),
                found: v.as_u64().unwrap_or(0),
            });
        }
    }
    serde_json::from_value(value).map_err(|e| ReadError::Invalid {
        file: file.to_string(),
        message: e.to_string(),
    })
}
