//! Small helpers every layer may use: capping untrusted text, listing
//! evidence, and the problem records that file loaders (benchmarks,
//! layouts, inventories, waivers) report with their file and line.
//!
//! This module depends on nothing else in the crate, so that transport,
//! collection, probes and reports can share these without reaching into
//! one another.

mod problem;
pub mod toml_syntax;

pub use problem::Problem;

/// Cuts untrusted text to at most `max` bytes on a character boundary,
/// saying how much was cut.
/// The last second RFC 3339 can write (9999-12-31T23:59:59Z).
pub const MAX_RFC3339_SECS: i64 = 253_402_300_799;

/// Seconds since the Unix epoch as RFC 3339, clamped to what the format can
/// write: a node's file time can be anything (a fuzzer found one past the
/// year 9999), and a date must never panic a report.
pub fn rfc3339(secs: i64) -> String {
    let t = secs.clamp(0, MAX_RFC3339_SECS) as u64;
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t))
        .to_string()
}

pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &text[..end], text.len() - end)
}

/// Joins evidence items with "; ", at most `max` of them, then says how
/// many more there were.
pub fn listing(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > max {
        s.push_str(&format!("; and {} more", items.len() - max));
    }
    s
}

/// Most bytes read from a file a person wrote (inventory, waivers,
/// `~/.ssh/config`, a benchmark) or passed along (a JSON report). Far above
/// any real one, and far below what would exhaust memory.
pub const MAX_INPUT_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a text file of at most [`MAX_INPUT_FILE_BYTES`]; a larger one is
/// an error that says so (`InvalidData`), before anything is read.
pub fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let size = f.metadata()?.len();
    if size > MAX_INPUT_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("file is {size} bytes, larger than the {MAX_INPUT_FILE_BYTES}-byte limit"),
        ));
    }
    let mut text = String::new();
    // A file that grows while it is read (or a FIFO) stops at the limit too.
    f.take(MAX_INPUT_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_INPUT_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("file is larger than the {MAX_INPUT_FILE_BYTES}-byte limit"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_keeps_short_text_and_cuts_long_text_on_char_boundaries() {
        assert_eq!(cap("abc", 10), "abc");
        assert_eq!(cap("ééé", 3), "é… [4 more bytes]");
    }

    #[test]
    fn listing_says_how_many_more() {
        let items: Vec<String> = (1..=4).map(|i| i.to_string()).collect();
        assert_eq!(listing(&items, 2), "1; 2; and 2 more");
        assert_eq!(listing(&items, 4), "1; 2; 3; 4");
    }
}

#[cfg(test)]
mod rfc3339_tests {
    #[test]
    fn dates_beyond_the_format_are_clamped_not_a_panic() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
    }
}
