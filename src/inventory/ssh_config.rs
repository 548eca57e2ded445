//! The parts of `~/.ssh/config` an OpenSSH user expects us to honour for a
//! host alias: HostName, User, Port, IdentityFile, ProxyJump and
//! UserKnownHostsFile, with OpenSSH's rules: `Host` patterns with `*`, `?`
//! and `!negation`, and the first value obtained for an option wins.
//! `Match` blocks are skipped (their options apply to no host here).

use std::path::{Path, PathBuf};

use super::expand_home;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    pub proxy_jump: Option<String>,
    pub known_hosts: Option<PathBuf>,
}

/// One `Host` block: its patterns and its `(lowercased key, value)` options.
type Block = (Vec<String>, Vec<(String, String)>);

#[derive(Clone, Debug, Default)]
pub struct SshConfig {
    /// Blocks in file order; the options before any `Host` line belong to
    /// every host.
    blocks: Vec<Block>,
}

fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn matches(patterns: &[String], host: &str) -> bool {
    let mut any = false;
    for pat in patterns {
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(neg, host) {
                return false;
            }
        } else if glob(pat, host) {
            any = true;
        }
    }
    any
}

impl SshConfig {
    pub fn parse(text: &str) -> SshConfig {
        let mut blocks = vec![(vec!["*".to_string()], Vec::new())];
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
                Some((k, v)) => (
                    k.to_ascii_lowercase(),
                    v.trim_start_matches(|c: char| c.is_whitespace() || c == '=')
                        .trim(),
                ),
                None => continue,
            };
            let value = value.trim_matches('"').to_string();
            match key.as_str() {
                "host" => blocks.push((
                    value.split_whitespace().map(String::from).collect(),
                    Vec::new(),
                )),
                // Match criteria are not evaluated: its options apply to no host.
                "match" => blocks.push((Vec::new(), Vec::new())),
                _ => blocks.last_mut().expect("non-empty").1.push((key, value)),
            }
        }
        SshConfig { blocks }
    }

    /// Reads `~/.ssh/config`; a missing file is an empty config.
    pub fn load_default() -> SshConfig {
        Self::load(&expand_home("~/.ssh/config"))
    }

    pub fn load(path: &Path) -> SshConfig {
        crate::util::read_text(path)
            .map(|t| SshConfig::parse(&t))
            .unwrap_or_default()
    }

    /// The options that apply to `alias`.
    pub fn resolve(&self, alias: &str) -> HostConfig {
        let mut h = HostConfig::default();
        for (patterns, opts) in &self.blocks {
            if !matches(patterns, alias) {
                continue;
            }
            for (k, v) in opts {
                match k.as_str() {
                    "hostname" if h.host_name.is_none() => {
                        h.host_name = Some(v.replace("%h", alias))
                    }
                    "user" if h.user.is_none() => h.user = Some(v.clone()),
                    "port" if h.port.is_none() => h.port = v.parse().ok(),
                    "identityfile" if h.identity_file.is_none() => {
                        h.identity_file = Some(expand_home(v))
                    }
                    "proxyjump" if h.proxy_jump.is_none() && v != "none" => {
                        h.proxy_jump = Some(v.clone())
                    }
                    "userknownhostsfile" if h.known_hosts.is_none() => {
                        h.known_hosts = v.split_whitespace().next().map(expand_home)
                    }
                    _ => {}
                }
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
User fallback
Host cp1 cp2
  HostName 10.0.0.11
  Port 2222
  IdentityFile ~/.ssh/k8s
Host *.prod !bastion.prod
  ProxyJump bastion.prod
  User ops
Host *
  User everyone
  Port 22
Match host cp1
  User never
";

    #[test]
    fn first_obtained_value_wins_as_in_openssh() {
        let c = SshConfig::parse(CONFIG);
        let cp1 = c.resolve("cp1");
        assert_eq!(cp1.host_name.as_deref(), Some("10.0.0.11"));
        assert_eq!(cp1.port, Some(2222));
        // The global User before any Host line comes first.
        assert_eq!(cp1.user.as_deref(), Some("fallback"));
        assert!(cp1.identity_file.unwrap().ends_with(".ssh/k8s"));
        let w = c.resolve("w1.prod");
        assert_eq!(w.proxy_jump.as_deref(), Some("bastion.prod"));
        assert_eq!(w.port, Some(22));
        assert_eq!(c.resolve("bastion.prod").proxy_jump, None);
    }

    #[test]
    fn globs_match_like_ssh() {
        assert!(glob("*.prod", "a.prod"));
        assert!(glob("w?", "w1"));
        assert!(!glob("w?", "w10"));
        assert!(glob("*", "anything"));
        assert!(glob("CP*", "cp1"));
    }
}
