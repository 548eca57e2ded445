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
