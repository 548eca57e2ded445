//! Unix permission bits, written in JSON the way people read them: `"0640"`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Permission bits of a file (the low 12 bits of `st_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mode(pub u32);

impl Mode {
    /// Parses octal text such as `600`, `0600` or `0o600`.
    pub fn parse_octal(s: &str) -> Option<Mode> {
        let t = s.trim();
        let t = t.strip_prefix("0o").unwrap_or(t);
        if t.is_empty() || t.len() > 5 {
            return None;
        }
        let bits = u32::from_str_radix(t, 8).ok()?;
        (bits <= 0o7777).then_some(Mode(bits))
    }

    /// True when no bit outside `limit` is set: `0600` is at most `0644`,
    /// `0660` is not at most `0600`.
    pub fn is_at_most(self, limit: Mode) -> bool {
        self.0 & !limit.0 == 0
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Mode::parse_octal(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid file mode {s:?}: expected octal like \"0640\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_at_most_is_a_bitmask_not_a_number_compare() {
        let limit = Mode(0o600);
        assert!(Mode(0o600).is_at_most(limit));
        assert!(Mode(0o400).is_at_most(limit));
        assert!(Mode(0o000).is_at_most(limit));
        // 0o500 < 0o600 numerically, but the execute bit is outside the mask.
        assert!(!Mode(0o500).is_at_most(limit));
        assert!(!Mode(0o640).is_at_most(limit));
        assert!(!Mode(0o4600).is_at_most(limit));
    }

    #[test]
    fn mode_parses_and_prints_octal() {
        assert_eq!(Mode::parse_octal("0644"), Some(Mode(0o644)));
        assert_eq!(Mode::parse_octal("644"), Some(Mode(0o644)));
        assert_eq!(Mode::parse_octal("0o700"), Some(Mode(0o700)));
        assert_eq!(Mode::parse_octal("0689"), None);
        assert_eq!(Mode::parse_octal("77777"), None);
        assert_eq!(Mode(0o600).to_string(), "0600");
    }
}
