//! The parts of `~/.ssh/config` an OpenSSH user expects us to honour for a
//! host alias, with OpenSSH's rules (ssh_config(5), `readconf.c`):
//!
//! - `Host` patterns with `*`, `?` and `!negation`; the first value obtained
//!   for an option wins;
//! - `Include` with globs, a relative path taken from `~/.ssh` (or from the
//!   directory of the file given with `--ssh-config`), nested at most 16
//!   deep. An `Include` inside a `Host` or `Match` block is conditional on
//!   it, and the lines after the `Include` still belong to that block;
//! - `Match host`, `Match originalhost` and `Match all`, with the same
//!   patterns. Every other criterion (`exec`, `user`, `localuser`,
//!   `canonical`, `final`, `localnetwork`, `tagged`) cannot be evaluated the
//!   way ssh would: such a block applies to no host, and a note says so in
//!   the scan log. Never silently applied;
//! - options: HostName, User, Port, IdentityFile, CertificateFile,
//!   IdentitiesOnly, IdentityAgent, ProxyJump, ProxyCommand,
//!   UserKnownHostsFile and StrictHostKeyChecking, with their `%` tokens.
//!
//! A config we cannot read is a note, not an error: ssh itself would fail,
//! but a node that does not depend on it can still be scanned.

use std::path::{Path, PathBuf};

use super::expand_home;

/// Nesting limit of `Include`, as OpenSSH's `READCONF_MAX_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Most files and bytes one configuration may read through its includes: a
/// glob such as `/etc/*/*` must not make kubeharden read half the disk.
const MAX_INCLUDED_FILES: usize = 256;
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// What `~/.ssh/config` says for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    pub proxy_jump: Option<String>,
    pub known_hosts: Option<PathBuf>,
    /// The SSH-specific settings the transport honours.
    pub ssh: SshHostOptions,
}

/// How to reach and authenticate to one host, beyond address, user, port
/// and key: what `~/.ssh/config` can say per host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SshHostOptions {
    /// `ProxyCommand`, its `%` tokens not yet expanded (the port and user
    /// are known only once the inventory's own settings are applied).
    pub proxy_command: Option<String>,
    /// `IdentitiesOnly yes`: offer only the identity file's key, also from
    /// the agent.
    pub identities_only: bool,
    /// `IdentityAgent`.
    pub identity_agent: Option<IdentityAgent>,
    /// `StrictHostKeyChecking`.
    pub strict_host_keys: Option<StrictHostKeys>,
    /// `CertificateFile`: an OpenSSH user certificate to present with the
    /// identity file's key. Without one, `<identity file>-cert.pub` is used
    /// when it exists, as ssh does.
    pub certificate_file: Option<PathBuf>,
}

/// Which agent to ask for keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityAgent {
    /// `IdentityAgent none`: no agent.
    None,
    /// A socket (a path, or the value of an environment variable).
    Socket(PathBuf),
}

/// `StrictHostKeyChecking` as ssh_config(5) spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrictHostKeys {
    Yes,
    AcceptNew,
    /// `no` or `off`. kubeharden never goes below accept-new on a config
    /// file's word (a changed key is always refused).
    No,
    /// `ask`: kubeharden cannot ask, so it refuses an unknown key.
    Ask,
}

/// Where a block applies.
#[derive(Clone, Debug)]
enum Cond {
    Host(Vec<String>),
    /// Every criterion must hold.
    Match(Vec<Criterion>),
    /// A `Match` with a criterion we cannot evaluate: applies to no host.
    Never,
}

#[derive(Clone, Debug)]
enum Criterion {
    All,
    Host(Vec<String>),
    OriginalHost(Vec<String>),
}

#[derive(Clone, Debug)]
struct Block {
    cond: Cond,
    /// `(lowercased key, value)`.
    opts: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default)]
pub struct SshConfig {
    /// Blocks in file order (includes expanded in place); the options before
    /// any `Host` line belong to every host.
    blocks: Vec<Block>,
    /// What the scan log should say: unreadable files, ignored `Match`
    /// blocks, includes that match nothing.
    pub notes: Vec<String>,
}

/// `*` and `?` glob, case-insensitive (host names).
fn glob(pattern: &str, text: &str) -> bool {
    glob_with(pattern, text, true)
}

fn glob_with(pattern: &str, text: &str, fold: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || eq(p[pi], t[ti])) {
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

/// OpenSSH's pattern lists: any positive match, and no negated one.
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

/// Splits a value into words, honouring double quotes.
fn words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// The paths an `Include` argument names: `~` expanded, relative to
/// `base`, globs expanded in every component and sorted, as glob(3) does
/// (a `*` does not match a leading dot).
fn include_paths(arg: &str, base: &Path) -> Vec<PathBuf> {
    let p = expand_home(arg);
    let p = if p.is_absolute() { p } else { base.join(p) };
    let mut found = vec![PathBuf::from("/")];
    for comp in p.components().skip(1) {
        let name = comp.as_os_str().to_string_lossy().to_string();
        let mut next = Vec::new();
        for dir in &found {
            if name.contains(['*', '?']) {
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| {
                        (!n.starts_with('.') || name.starts_with('.')) && glob_with(&name, n, false)
                    })
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
            } else {
                next.push(dir.join(&name));
            }
        }
        found = next;
    }
    found.into_iter().filter(|p| p.is_file()).collect()
}

/// Expands `%%`, `%h`, `%n`, `%r`, `%p`, `%d` and `%u` in `s` (a token
/// that is not given is left as it is).
pub fn expand_tokens(s: &str, tokens: &[(char, &str)]) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => match tokens.iter().find(|(k, _)| *k == '%') {
                // A first pass that leaves `%%` for a later one.
                Some((_, v)) => out.push_str(v),
                None => out.push('%'),
            },
            Some(t) => match tokens.iter().find(|(k, _)| *k == t) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push('%');
                    out.push(t);
                }
            },
            None => out.push('%'),
        }
    }
    out
}

fn local_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".into())
}

fn home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "~".into())
}

/// A path option: `%` tokens and `~` expanded.
fn path_value(v: &str, tokens: &[(char, &str)]) -> PathBuf {
    expand_home(&expand_tokens(v, tokens))
}

fn yes(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true")
}

struct Parser<'a> {
    cfg: &'a mut SshConfig,
    base: PathBuf,
    files: usize,
    bytes: u64,
    /// The cut was noted.
    cut: bool,
}

impl<'a> Parser<'a> {
    fn new<'c>(cfg: &'c mut SshConfig, base: &Path) -> Parser<'c> {
        Parser {
            cfg,
            base: base.to_path_buf(),
            files: 0,
            bytes: 0,
            cut: false,
        }
    }

    fn file(&mut self, path: &Path, cond: &Cond, depth: usize) {
        // Only regular files with something in them: a pseudo-file of
        // /proc or /sys says it is a regular file of size 0, and reading
        // one such as /proc/kmsg blocks forever (found by fuzzing).
        {
            let meta = match std::fs::metadata(path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) => {
                    self.cfg
                        .notes
                        .push(format!("{}: cannot read: {e}", path.display()));
                    return;
                }
            };
            if !meta.is_file() || meta.len() == 0 {
                return;
            }
            self.files += 1;
            self.bytes += meta.len();
            if self.files > MAX_INCLUDED_FILES || self.bytes > MAX_CONFIG_BYTES {
                if !self.cut {
                    self.cut = true;
                    self.cfg.notes.push(format!(
                        "{}: not read: the includes reach more than {MAX_INCLUDED_FILES} files or {MAX_CONFIG_BYTES} bytes",
                        path.display()
                    ));
                }
                return;
            }
        }
        match crate::util::read_text(path) {
            Ok(text) => self.text(&text, &path.display().to_string(), cond, depth),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && depth == 0 => {}
            Err(e) => self
                .cfg
                .notes
                .push(format!("{}: cannot read: {e}", path.display())),
        }
    }

    /// Parses `text` (named `origin` in notes); the lines before its first
    /// `Host` or `Match` belong to `cond`.
    fn text(&mut self, text: &str, origin: &str, cond: &Cond, depth: usize) {
        self.cfg.blocks.push(Block {
            cond: cond.clone(),
            opts: Vec::new(),
        });
        for (n, line) in text.lines().enumerate() {
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
            let at = format!("{origin}:{}", n + 1);
            match key.as_str() {
                "host" => self.cfg.blocks.push(Block {
                    cond: Cond::Host(words(value)),
                    opts: Vec::new(),
                }),
                "match" => {
                    let cond = self.match_cond(value, &at);
                    self.cfg.blocks.push(Block {
                        cond,
                        opts: Vec::new(),
                    })
                }
                "include" => {
                    let current = self.cfg.blocks.last().expect("non-empty").cond.clone();
                    if depth + 1 > MAX_INCLUDE_DEPTH {
                        self.cfg.notes.push(format!(
                            "{at}: Include nested more than {MAX_INCLUDE_DEPTH} deep; not followed"
                        ));
                        continue;
                    }
                    for arg in words(value) {
                        let paths = include_paths(&arg, &self.base);
                        if paths.is_empty() && !arg.contains(['*', '?']) {
                            self.cfg
                                .notes
                                .push(format!("{at}: Include {arg}: no such file"));
                        }
                        for p in paths {
                            self.file(&p, &current, depth + 1);
                        }
                    }
                    // The lines after the Include still belong to the block
                    // it was in.
                    self.cfg.blocks.push(Block {
                        cond: current,
                        opts: Vec::new(),
                    });
                }
                _ => {
                    let value = value.trim_matches('"').to_string();
                    self.cfg
                        .blocks
                        .last_mut()
                        .expect("non-empty")
                        .opts
                        .push((key, value))
                }
            }
        }
    }

    fn match_cond(&mut self, value: &str, at: &str) -> Cond {
        let w = words(value);
        let mut crit = Vec::new();
        let mut i = 0;
        while i < w.len() {
            let c = w[i].to_ascii_lowercase();
            match c.as_str() {
                "all" => {
                    crit.push(Criterion::All);
                    i += 1;
                }
                "host" | "originalhost" if i + 1 < w.len() => {
                    let pats: Vec<String> = w[i + 1].split(',').map(str::to_string).collect();
                    crit.push(if c == "host" {
                        Criterion::Host(pats)
                    } else {
                        Criterion::OriginalHost(pats)
                    });
                    i += 2;
                }
                _ => {
                    self.cfg.notes.push(format!(
                        "{at}: `Match {value}` is ignored: kubeharden evaluates only `host`, `originalhost` and `all`, so the options of this block apply to no host"
                    ));
                    return Cond::Never;
                }
            }
        }
        if crit.is_empty() {
            self.cfg
                .notes
                .push(format!("{at}: `Match` without criteria is ignored"));
            return Cond::Never;
        }
        Cond::Match(crit)
    }
}

impl SshConfig {
    /// Parses config text; relative includes are taken from `~/.ssh`.
    pub fn parse(text: &str) -> SshConfig {
        Self::parse_at(text, "ssh_config", &expand_home("~/.ssh"))
    }

    /// Parses config text named `origin`, relative includes taken from
    /// `base`.
    pub fn parse_at(text: &str, origin: &str, base: &Path) -> SshConfig {
        let mut cfg = SshConfig::default();
        Parser::new(&mut cfg, base).text(text, origin, &Cond::Host(vec!["*".into()]), 0);
        cfg
    }

    /// Reads `~/.ssh/config`; a missing file is an empty config.
    pub fn load_default() -> SshConfig {
        Self::load_user(&expand_home("~/.ssh/config"))
    }

    /// Reads a user config file (relative includes from `~/.ssh`); a
    /// missing file is an empty config, an unreadable one a note.
    pub fn load_user(path: &Path) -> SshConfig {
        Self::load_with_base(path, &expand_home("~/.ssh"))
    }

    /// Reads the config file `path`, relative includes taken from its own
    /// directory (for `--ssh-config FILE`, like `ssh -F`).
    pub fn load(path: &Path) -> SshConfig {
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::load_with_base(path, base)
    }

    fn load_with_base(path: &Path, base: &Path) -> SshConfig {
        let mut cfg = SshConfig::default();
        cfg.blocks.push(Block {
            cond: Cond::Host(vec!["*".into()]),
            opts: Vec::new(),
        });
        Parser::new(&mut cfg, base).file(path, &Cond::Host(vec!["*".into()]), 0);
        cfg
    }

    /// The options that apply to `alias`.
    pub fn resolve(&self, alias: &str) -> HostConfig {
        let mut h = HostConfig::default();
        let mut proxy_set = false;
        let mut identities_only = None;
        for b in &self.blocks {
            let applies = match &b.cond {
                Cond::Host(p) => matches(p, alias),
                Cond::Never => false,
                Cond::Match(crit) => crit.iter().all(|c| match c {
                    Criterion::All => true,
                    Criterion::OriginalHost(p) => matches(p, alias),
                    // The target host name, after a HostName substitution
                    // by an earlier block.
                    Criterion::Host(p) => matches(p, h.host_name.as_deref().unwrap_or(alias)),
                }),
            };
            if !applies {
                continue;
            }
            for (k, v) in &b.opts {
                let host = h.host_name.clone().unwrap_or_else(|| alias.to_string());
                let user = h.user.clone().unwrap_or_else(local_user);
                let (home, local) = (home(), local_user());
                let tokens = [
                    ('h', host.as_str()),
                    ('n', alias),
                    ('r', user.as_str()),
                    ('d', home.as_str()),
                    ('u', local.as_str()),
                ];
                match k.as_str() {
                    "hostname" if h.host_name.is_none() => {
                        h.host_name = Some(expand_tokens(v, &[('h', alias)]))
                    }
                    "user" if h.user.is_none() => h.user = Some(v.clone()),
                    "port" if h.port.is_none() => h.port = v.parse().ok(),
                    "identityfile" if h.identity_file.is_none() => {
                        h.identity_file = Some(path_value(v, &tokens))
                    }
                    "certificatefile" if h.ssh.certificate_file.is_none() => {
                        h.ssh.certificate_file = Some(path_value(v, &tokens))
                    }
                    "identitiesonly" if identities_only.is_none() => identities_only = Some(yes(v)),
                    "identityagent" if h.ssh.identity_agent.is_none() => {
                        h.ssh.identity_agent = Some(match v.as_str() {
                            "none" => IdentityAgent::None,
                            "SSH_AUTH_SOCK" | "$SSH_AUTH_SOCK" => {
                                match std::env::var_os("SSH_AUTH_SOCK") {
                                    Some(s) => IdentityAgent::Socket(PathBuf::from(s)),
                                    None => IdentityAgent::None,
                                }
                            }
                            v if v.starts_with('$') => match std::env::var_os(&v[1..]) {
                                Some(s) => IdentityAgent::Socket(PathBuf::from(s)),
                                None => IdentityAgent::None,
                            },
                            v => IdentityAgent::Socket(path_value(v, &tokens)),
                        })
                    }
                    // ProxyJump and ProxyCommand exclude each other: the
                    // first one given wins.
                    "proxyjump" if !proxy_set => {
                        proxy_set = true;
                        if v != "none" {
                            h.proxy_jump = Some(v.clone())
                        }
                    }
                    "proxycommand" if !proxy_set => {
                        proxy_set = true;
                        if v != "none" {
                            // %h, %p and %r are known only once the
                            // inventory's settings apply: the transport
                            // expands them.
                            let keep = [
                                ('n', alias),
                                ('d', home.as_str()),
                                ('u', local.as_str()),
                                ('%', "%%"),
                            ];
                            h.ssh.proxy_command = Some(expand_tokens(v, &keep))
                        }
                    }
                    "userknownhostsfile" if h.known_hosts.is_none() => {
                        h.known_hosts = words(v).first().map(|w| path_value(w, &tokens))
                    }
                    "stricthostkeychecking" if h.ssh.strict_host_keys.is_none() => {
                        h.ssh.strict_host_keys = match v.to_ascii_lowercase().as_str() {
                            "yes" | "true" => Some(StrictHostKeys::Yes),
                            "accept-new" => Some(StrictHostKeys::AcceptNew),
                            "no" | "off" | "false" => Some(StrictHostKeys::No),
                            "ask" => Some(StrictHostKeys::Ask),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
        }
        h.ssh.identities_only = identities_only.unwrap_or(false);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_wins_and_patterns_negate() {
        let c = SshConfig::parse(
            "User default\nHost web-* !web-db\n  HostName %h.example.net\n  User web\n  Port 2222\nHost *\n  User fallback\n  IdentityFile ~/.ssh/id_x\n",
        );
        let h = c.resolve("web-1");
        assert_eq!(h.host_name.as_deref(), Some("web-1.example.net"));
        assert_eq!(h.user.as_deref(), Some("default"));
        assert_eq!(h.port, Some(2222));
        let db = c.resolve("web-db");
        assert_eq!(db.host_name, None);
        assert_eq!(db.port, None);
        assert_eq!(db.identity_file, Some(expand_home("~/.ssh/id_x")));
    }

    #[test]
    fn match_host_and_originalhost_apply_and_other_criteria_are_noted() {
        let c = SshConfig::parse(
            "Host cp1\n  HostName 10.1.0.5\nMatch host 10.1.0.*\n  User ops\nMatch originalhost cp*,!cp9\n  Port 2200\nMatch exec \"test -f /x\"\n  User nobody\nMatch all\n  IdentitiesOnly yes\n",
        );
        let h = c.resolve("cp1");
        assert_eq!(h.user.as_deref(), Some("ops"));
        assert_eq!(h.port, Some(2200));
        assert!(h.ssh.identities_only);
        assert_eq!(c.resolve("cp9").port, None);
        assert_eq!(c.notes.len(), 1);
        assert!(c.notes[0].contains("ssh_config:7") && c.notes[0].contains("Match exec"));
        // The ignored block never applies.
        assert_ne!(c.resolve("anything").user.as_deref(), Some("nobody"));
    }

    #[test]
    fn includes_follow_globs_in_order_and_stay_in_their_block() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("conf.d")).unwrap();
        std::fs::write(d.join("conf.d/20-b.conf"), "Host b\n  User bee\n").unwrap();
        std::fs::write(d.join("conf.d/10-a.conf"), "Host b\n  User first\n").unwrap();
        std::fs::write(d.join("conf.d/.hidden"), "Host b\n  User hidden\n").unwrap();
        std::fs::write(d.join("jump.conf"), "ProxyJump bastion\n").unwrap();
        std::fs::write(
            d.join("config"),
            "Include conf.d/*.conf\nHost c\n  Include jump.conf\n  User cee\nHost d\n  Include missing.conf\n",
        )
        .unwrap();
        let c = SshConfig::load(&d.join("config"));
        assert_eq!(c.resolve("b").user.as_deref(), Some("first"));
        let cc = c.resolve("c");
        assert_eq!(cc.proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(
            cc.user.as_deref(),
            Some("cee"),
            "lines after Include stay in Host c"
        );
        assert_eq!(c.resolve("b").proxy_jump, None, "conditional include");
        assert!(
            c.notes.iter().any(|n| n.contains("missing.conf")),
            "{:?}",
            c.notes
        );
    }

    /// Found by fuzzing: `Include /proc/*` reached /proc/kmsg, a "regular
    /// file" whose read blocks forever. Pseudo-files and empty files are
    /// skipped, and a glob that reaches too many files stops with a note.
    #[test]
    fn includes_never_read_pseudo_files_nor_too_many() {
        let c = SshConfig::parse_at("Include /proc/*\nUser u\n", "cfg", Path::new("/"));
        assert_eq!(c.resolve("x").user.as_deref(), Some("u"));
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(MAX_INCLUDED_FILES + 10) {
            std::fs::write(dir.path().join(format!("{i:04}.conf")), "# nothing\n").unwrap();
        }
        let c = SshConfig::parse_at("Include *.conf\n", "cfg", dir.path());
        assert_eq!(
            c.notes.iter().filter(|n| n.contains("not read")).count(),
            1,
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn include_cycles_stop_at_the_depth_limit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("config"), "Include config\nUser u\n").unwrap();
        let c = SshConfig::load(&d.join("config"));
        assert_eq!(c.resolve("x").user.as_deref(), Some("u"));
        assert!(c.notes.iter().any(|n| n.contains("nested more than 16")));
    }

    #[test]
    fn proxy_options_exclude_each_other_and_tokens_expand() {
        let c = SshConfig::parse(
            "Host ssm-*\n  ProxyCommand aws ssm start-session --target %h --parameters portNumber=%p\n  ProxyJump ignored\nHost *\n  ProxyJump bastion\n  User admin\n  IdentityFile ~/.ssh/%r-%n\n  CertificateFile %d/.ssh/%r-cert.pub\n  StrictHostKeyChecking accept-new\n  IdentityAgent none\n",
        );
        let h = c.resolve("ssm-i-0abc");
        assert!(
            h.ssh
                .proxy_command
                .as_deref()
                .unwrap()
                .contains("--target %h")
        );
        let c2 = SshConfig::parse("Host *\n  ProxyCommand tsh proxy ssh %r@%n:%p # 100%%\n");
        assert_eq!(
            c2.resolve("node7").ssh.proxy_command.as_deref(),
            Some("tsh proxy ssh %r@node7:%p # 100%%")
        );
        assert_eq!(h.proxy_jump, None);
        assert_eq!(
            h.identity_file,
            Some(expand_home("~/.ssh/admin-ssm-i-0abc"))
        );
        assert_eq!(
            h.ssh.certificate_file,
            Some(PathBuf::from(format!("{}/.ssh/admin-cert.pub", home())))
        );
        assert_eq!(h.ssh.strict_host_keys, Some(StrictHostKeys::AcceptNew));
        assert_eq!(h.ssh.identity_agent, Some(IdentityAgent::None));
        let other = c.resolve("web");
        assert_eq!(other.proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(other.ssh.proxy_command, None);
        assert_eq!(
            expand_tokens("nc %h %p # 100%% %x", &[('h', "n1"), ('p', "22")]),
            "nc n1 22 # 100% %x"
        );
    }
}
