//! A setting's value as a component reads it, and where it came from
//! ([`Observed`]), with Go's own readings of booleans and durations: `True`,
//! `1` and `true` are the same boolean to `strconv.ParseBool`; `0s`, `0` and
//! `0m0s` are the same duration. Comparing values with what a rule expects
//! is the engine's (`engine::ops`).

use std::net::IpAddr;

use super::known::ValueKind;

/// A setting as resolved for one node.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// The value, or `None` when unset with no default.
    pub value: Option<Value>,
    /// Set on purpose (flag, env, config file, drop-in), not a default.
    pub explicit: bool,
    /// Where the value came from, for the report.
    pub source: String,
    pub kind: ValueKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(String),
    List(Vec<String>),
}

impl Value {
    /// The value as a list: list values as they are, scalars split on commas.
    pub fn items(&self) -> Vec<String> {
        match self {
            Value::List(items) => items.clone(),
            Value::Scalar(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Value::Scalar(s) => s.clone(),
            Value::List(items) => items.join(","),
        }
    }
}

impl Observed {
    /// Text for the report's `actual` field.
    pub fn describe(&self) -> String {
        match &self.value {
            None => "not set".to_string(),
            Some(v) => {
                let t = v.text();
                let t = if t.is_empty() { "\"\"".to_string() } else { t };
                if self.explicit {
                    t
                } else {
                    format!("{t} (default)")
                }
            }
        }
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `time.ParseDuration`, in nanoseconds. A bare `0` is accepted, as Go does.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    Some(if neg { -total } else { total })
}

pub fn is_loopback_address(addr: &str) -> bool {
    let a = addr.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if a.matches(':').count() == 1 {
        a.split(':').next().unwrap_or("")
    } else {
        a
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_recognised() {
        for a in [
            "127.0.0.1",
            "127.0.0.1:10249",
            "[::1]:10249",
            "::1",
            "localhost:1",
            "127.5.0.1",
        ] {
            assert!(is_loopback_address(a), "{a}");
        }
        for a in [
            "0.0.0.0",
            "0.0.0.0:10249",
            "10.0.0.1",
            "[::]:10249",
            "",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_address(a), "{a}");
        }
    }
}
