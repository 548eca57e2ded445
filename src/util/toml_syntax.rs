//! TOML syntax errors in words a person editing the file can act on.
//!
//! The toml parser reports what it expected in grammar terms ("invalid
//! float, expected nothing"), often several times for one typo. Every file
//! loader (inventories, benchmarks, waivers) reports them through here: one
//! problem per line, the offending text quoted, and what was expected said
//! plainly.

use std::ops::Range;

/// The longest piece of offending text quoted.
const QUOTE_MAX: usize = 40;

/// One message per line with a syntax error (the first; the others on that
/// line follow from it), with the byte span it starts at.
pub fn syntax_errors(text: &str, errors: &[toml::de::Error]) -> Vec<(Range<usize>, String)> {
    let mut out: Vec<(Range<usize>, String)> = Vec::new();
    let mut lines_seen = Vec::new();
    for e in errors {
        let span = e.span().unwrap_or(0..0);
        let line = text[..span.start.min(text.len())].matches('\n').count();
        if lines_seen.contains(&line) {
            continue;
        }
        lines_seen.push(line);
        out.push((span.clone(), describe(text, span, e.message())));
    }
    out
}

/// "TOML syntax at `22.x`: invalid float: unexpected text after the value".
pub fn describe(text: &str, span: Range<usize>, message: &str) -> String {
    let message = message.trim().replace('\n', " ");
    let (what, expected) = match message.split_once(", expected ") {
        Some((w, e)) => (w.to_string(), Some(e.to_string())),
        None => (message.clone(), None),
    };
    let expected = expected.map(|e| match e.as_str() {
        "nothing" => "unexpected text after the value".to_string(),
        "literal string" => "a value was expected: a \"quoted string\", a number, true or false, [an, array] or {an = \"inline table\"}".to_string(),
        other => format!("expected {other}"),
    });
    let mut out = String::from("TOML syntax");
    if let Some(q) = offending(text, span) {
        out.push_str(&format!(" at `{q}`"));
    }
    out.push_str(": ");
    out.push_str(&what);
    if let Some(e) = expected {
        out.push_str(": ");
        out.push_str(&e);
    }
    out
}

/// The text from the error's start to the end of its token: the span when it
/// has a width, else up to the next space, comma or bracket on the line.
fn offending(text: &str, span: Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    // The parser often points just after the token it gave up on: quote the
    // whole token around the position.
    let is_token = |c: char| !c.is_whitespace() && !"=,[]{}".contains(c);
    let mut s = start;
    while s > line_start {
        let c = text[..s].chars().next_back()?;
        if !is_token(c) {
            break;
        }
        s -= c.len_utf8();
    }
    let mut e = span.end.clamp(start, line_end);
    while e < line_end {
        let c = text[e..].chars().next()?;
        if !is_token(c) {
            break;
        }
        e += c.len_utf8();
    }
    let q = text[s..e].trim();
    if q.is_empty() {
        let rest = text[line_start..line_end].trim();
        return (!rest.is_empty()).then(|| crate::util::cap(rest, QUOTE_MAX));
    }
    Some(crate::util::cap(q, QUOTE_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        let (_, errs) = toml::de::DeTable::parse_recoverable(text);
        syntax_errors(text, &errs)
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    }

    #[test]
    fn a_bad_number_is_one_problem_that_quotes_it() {
        let e = errors("port = 22.x\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("TOML syntax at `22.x`: "), "{e:?}");
        assert!(!e[0].contains("expected nothing"), "{e:?}");
    }

    #[test]
    fn an_unquoted_string_says_what_a_value_looks_like() {
        let e = errors("user = root\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("`root`"), "{e:?}");
        assert!(e[0].contains("string values must be quoted"), "{e:?}");
        assert!(e[0].contains("\"quoted string\""), "{e:?}");
    }

    #[test]
    fn errors_on_different_lines_are_kept() {
        let e = errors("a = 1.x\nb = [1,\n");
        assert_eq!(e.len(), 2, "{e:?}");
    }
}
