//! Reading a component's command line the way its flag parser does.
//!
//! Kubernetes components use pflag and etcd uses Go's `flag`; both accept
//! `--flag=value` and `--flag value`, and `-flag` for Go's `flag`. A boolean
//! flag never takes the next word as its value (`--profiling false` sets
//! profiling to true and leaves a stray `false`), while any other flag always
//! does. So telling the two apart needs to know the flag's type: kube-bench's
//! regex reads `--audit-log-maxage 30` as an empty value, which is exactly the
//! kind of false result we exist to avoid.
//!
//! A repeated flag keeps its last value, except list flags, which pflag
//! appends to. Commands wrapped in `sh -c "..."` (some installers do this in
//! static-pod manifests) are split with shell quoting rules first.

use std::collections::BTreeMap;

use super::known::{ValueKind, flag_kind};
use crate::facts::ComponentKind;

/// One flag as the component would see it after parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagValue {
    pub value: String,
    /// How many times the flag appeared.
    pub occurrences: usize,
    /// True when the flag was given without a value (a bare boolean).
    pub bare: bool,
}

/// The parsed flags of one command line, keyed by `--name`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub flags: BTreeMap<String, FlagValue>,
    /// Words that are not flags or flag values (normally none).
    pub positional: Vec<String>,
}

impl Args {
    pub fn get(&self, name: &str) -> Option<&FlagValue> {
        self.flags.get(name)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(|f| f.value.as_str())
    }
}

/// Parses `argv` (with `argv[0]`) for `component`.
pub fn parse_argv(component: ComponentKind, argv: &[String]) -> Args {
    let words = unwrap_shell(argv);
    let mut args = Args::default();
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if word == "--" {
            args.positional.extend(words[i..].iter().cloned());
            break;
        }
        let Some(body) = flag_body(word) else {
            args.positional.push(word.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
            None => (format!("--{body}"), None),
        };
        let kind = flag_kind(component, &name);
        let (value, bare) = match inline {
            Some(v) => (v, false),
            None => match kind {
                Some(ValueKind::Bool) => ("true".to_string(), true),
                // A known non-boolean flag takes the next word, whatever it is.
                Some(_) if i < words.len() => {
                    i += 1;
                    (words[i - 1].clone(), false)
                }
                Some(_) => (String::new(), true),
                // Unknown flag: take the next word unless it looks like a flag
                // or is the `--` that ends the flags.
                None if i < words.len() && words[i] != "--" && flag_body(&words[i]).is_none() => {
                    i += 1;
                    (words[i - 1].clone(), false)
                }
                None => ("true".to_string(), true),
            },
        };
        match args.flags.get_mut(&name) {
            Some(existing) => {
                existing.occurrences += 1;
                if kind == Some(ValueKind::List) && !existing.value.is_empty() {
                    existing.value.push(',');
                    existing.value.push_str(&value);
                } else {
                    existing.value = value;
                }
                existing.bare = bare;
            }
            None => {
                args.flags.insert(
                    name,
                    FlagValue {
                        value,
                        occurrences: 1,
                        bare,
                    },
                );
            }
        }
    }
    args
}

/// The flag name (and `=value`) of a word that is a flag, without dashes.
fn flag_body(word: &str) -> Option<&str> {
    let body = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
    let first = body.chars().next()?;
    // `-1` is a negative number, not a flag.
    (first.is_ascii_alphabetic()).then_some(body)
}

/// `sh -c "exec kube-apiserver --a=b ..."` becomes `kube-apiserver --a=b ...`.
fn unwrap_shell(argv: &[String]) -> Vec<String> {
    let is_shell = argv.first().is_some_and(|a| {
        let base = a.rsplit('/').next().unwrap_or(a);
        matches!(base, "sh" | "bash" | "dash" | "ash")
    });
    if is_shell && argv.len() >= 3 && argv[1] == "-c" {
        if let Ok(mut words) = split_command_line(&argv[2]) {
            if words.first().is_some_and(|w| w == "exec") {
                words.remove(0);
            }
            // Drop redirections such as `1>>/var/log/x.log 2>&1`.
            words.retain(|w| !is_redirection(w));
            if !words.is_empty() {
                return words;
            }
        }
    }
    argv.to_vec()
}

fn is_redirection(w: &str) -> bool {
    let rest = w.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.starts_with('>') || rest.starts_with('<')
}

/// Why a command line could not be split.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unterminated {0} quote")]
    Unterminated(char),
    #[error("trailing backslash")]
    TrailingBackslash,
}

/// Splits a command line with POSIX shell quoting: single quotes are literal,
/// double quotes allow `\"`, `\\`, `\$` and `` \` `` escapes, and a backslash
/// outside quotes escapes the next character. No expansion is performed.
pub fn split_command_line(s: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(SplitError::Unterminated('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some('\n') => {}
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err(SplitError::Unterminated('"')),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(SplitError::Unterminated('"')),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(x) => {
                    in_word = true;
                    cur.push(x);
                }
                None => return Err(SplitError::TrailingBackslash),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn equals_and_space_separated_values_read_the_same() {
        let a = parse_argv(
            ComponentKind::ApiServer,
            &argv(&[
                "kube-apiserver",
                "--audit-log-maxage",
                "30",
                "--audit-log-maxbackup=10",
            ]),
        );
        assert_eq!(a.value("--audit-log-maxage"), Some("30"));
        assert_eq!(a.value("--audit-log-maxbackup"), Some("10"));
    }

    #[test]
    fn a_bare_boolean_does_not_swallow_the_next_word() {
        let a = parse_argv(
            ComponentKind::ApiServer,
            &argv(&[
                "kube-apiserver",
                "--profiling",
                "stray",
                "--secure-port",
                "6443",
            ]),
        );
        assert_eq!(a.value("--profiling"), Some("true"));
        assert!(a.get("--profiling").unwrap().bare);
        assert_eq!(a.positional, vec!["stray"]);
        assert_eq!(a.value("--secure-port"), Some("6443"));
    }

    #[test]
    fn a_known_string_flag_takes_a_dash_leading_value() {
        // pflag gives the next word to a string flag even if it starts with '-'.
        let a = parse_argv(
            ComponentKind::ApiServer,
            &argv(&[
                "kube-apiserver",
                "--token-auth-file",
                "-weird",
                "--profiling=false",
            ]),
        );
        assert_eq!(a.value("--token-auth-file"), Some("-weird"));
        assert_eq!(a.value("--profiling"), Some("false"));
    }

    #[test]
    fn unknown_flags_take_the_next_word_only_when_it_is_not_a_flag() {
        let a = parse_argv(
            ComponentKind::ApiServer,
            &argv(&["kube-apiserver", "--v", "2", "--allow-privileged", "--x=y"]),
        );
        assert_eq!(a.value("--v"), Some("2"));
        assert_eq!(a.value("--allow-privileged"), Some("true"));
        assert_eq!(a.value("--x"), Some("y"));
    }

    #[test]
    fn a_repeated_flag_keeps_the_last_value_and_lists_append() {
        let a = parse_argv(
            ComponentKind::ApiServer,
            &argv(&[
                "kube-apiserver",
                "--profiling=false",
                "--profiling=true",
                "--enable-admission-plugins=NodeRestriction",
                "--enable-admission-plugins=AlwaysPullImages",
            ]),
        );
        let p = a.get("--profiling").unwrap();
        assert_eq!((p.value.as_str(), p.occurrences), ("true", 2));
        assert_eq!(
            a.value("--enable-admission-plugins"),
            Some("NodeRestriction,AlwaysPullImages")
        );
    }

    #[test]
    fn single_dash_go_flags_are_read_for_etcd() {
        let a = parse_argv(
            ComponentKind::Etcd,
            &argv(&["etcd", "-client-cert-auth", "-cert-file", "/p/server.crt"]),
        );
        assert_eq!(a.value("--client-cert-auth"), Some("true"));
        assert_eq!(a.value("--cert-file"), Some("/p/server.crt"));
    }

    #[test]
    fn sh_c_wrappers_are_unquoted() {
        let a = parse_argv(
            ComponentKind::ApiServer,
            &argv(&[
                "/bin/sh",
                "-c",
                "exec /usr/local/bin/kube-apiserver --profiling=false --audit-policy-file='/etc/k 8s/audit.yaml' --token-auth-file \"/x/\\\"y\\\"\" 1>>/var/log/kube-apiserver.log 2>&1",
            ]),
        );
        assert_eq!(a.value("--profiling"), Some("false"));
        assert_eq!(a.value("--audit-policy-file"), Some("/etc/k 8s/audit.yaml"));
        assert_eq!(a.value("--token-auth-file"), Some("/x/\"y\""));
        assert!(a.positional.is_empty(), "{:?}", a.positional);
    }

    #[test]
    fn split_reports_unterminated_quotes() {
        assert_eq!(
            split_command_line("a 'b"),
            Err(SplitError::Unterminated('\''))
        );
        assert_eq!(
            split_command_line("a \"b"),
            Err(SplitError::Unterminated('"'))
        );
        assert_eq!(
            split_command_line("a\\"),
            Err(SplitError::TrailingBackslash)
        );
        assert_eq!(
            split_command_line(" a  b\\ c ''").unwrap(),
            vec!["a", "b c", ""]
        );
    }

    #[test]
    fn negative_numbers_are_values_not_flags() {
        let a = parse_argv(
            ComponentKind::Kubelet,
            &argv(&["kubelet", "--pod-max-pids", "-1"]),
        );
        assert_eq!(a.value("--pod-max-pids"), Some("-1"));
    }
}
