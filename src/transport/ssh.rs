//! SSH transport (libssh2 through the `ssh2` crate).
//!
//! One TCP connection and one authenticated session per node, reused for the
//! collector's round trips; each round trip is one `exec` channel running
//! `sh -s` (or `sudo -n sh -s` for a non-root user) with the script on stdin.
//!
//! Host keys are checked strictly against known_hosts: an unknown host or a
//! changed key is a node error, never a silent connect. Accepting new keys is
//! an explicit opt-in ([`HostKeyPolicy::AcceptNew`]) that records what it
//! accepted. Every blocking step runs under the node's deadline, so a node
//! that accepts TCP and then says nothing is abandoned on time.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ssh2::{CheckResult, ErrorCode, HashType, KnownHostFileKind, Session};

use super::{Conversation, Exchange, Limits, Next, Transport, TransportError, Waiting};
use crate::inventory::NodeSpec;
use crate::probe::plan::{self, ProbeTask, Ready};

/// What to do with a host key that known_hosts does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse unknown hosts and changed keys (the default).
    Strict,
    /// Accept and record keys of hosts not in known_hosts; still refuse a
    /// changed key.
    AcceptNew,
}

/// A host key accepted under [`HostKeyPolicy::AcceptNew`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedKey {
    pub node: String,
    pub host: String,
    pub fingerprint: String,
}

/// Options shared by every node of a scan.
#[derive(Clone)]
pub struct SshOptions {
    pub host_keys: HostKeyPolicy,
    /// Passphrase for encrypted identity files.
    pub passphrase: Option<String>,
    /// Keys accepted under `AcceptNew`, for the report.
    pub accepted: Arc<Mutex<Vec<AcceptedKey>>>,
    /// Key exchange algorithms offered, most preferred first.
    pub kex: Option<String>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            host_keys: HostKeyPolicy::Strict,
            passphrase: None,
            accepted: Arc::new(Mutex::new(Vec::new())),
            kex: Some("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256".into()),
        }
    }
}

/// The session's end of a `ProxyCommand`: one end of a socket pair whose
/// other end is the command's stdin and stdout (libssh2 needs a socket, not
/// pipes). It owns the command, so the command lives exactly as long as the
/// session that reads through it, and is stopped with it.
struct ProxyStream {
    sock: UnixStream,
    proxy: Proxy,
}

/// A running `ProxyCommand`, and what it printed on stderr (capped).
#[derive(Clone)]
struct Proxy {
    command: String,
    child: Arc<Mutex<std::process::Child>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    /// How it ended, or that it runs, and its stderr: for an error message.
    fn describe(&self) -> String {
        // A command that fails usually exits at once; give it a moment.
        let mut status = None;
        for _ in 0..20 {
            status = self
                .child
                .lock()
                .ok()
                .and_then(|mut c| c.try_wait().ok().flatten());
            if status.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let err = self.stderr.lock().map(|e| e.clone()).unwrap_or_default();
        let err = String::from_utf8_lossy(&err);
        format!(
            "ProxyCommand `{}` {}{}",
            crate::util::cap(&self.command, 200),
            match status {
                Some(s) => format!("exited ({s})"),
                None => "is still running".into(),
            },
            if err.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", crate::util::cap(err.trim(), 400))
            }
        )
    }
}

impl std::os::fd::AsRawFd for ProxyStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}

impl Drop for ProxyStream {
    fn drop(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        if let Ok(mut c) = self.proxy.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Serialises appends to a known_hosts file shared by parallel connections.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

pub struct SshTransport {
    spec: NodeSpec,
    opts: SshOptions,
    session: Option<Session>,
    /// The node's sshd refused a `direct-tcpip` channel: probes go through
    /// a shell on the node instead (see `relay`).
    no_forwarding: bool,
    /// Extra sessions to open for the network probes (see `run_probes`).
    probe_sessions: usize,
    /// Those sessions, connecting in the background while the collector
    /// runs on the main one.
    extra: Vec<std::thread::JoinHandle<Result<Session, TransportError>>>,
    /// Probe channels whose close was sent but not yet confirmed; dropped
    /// (freed) with the transport, before `spare`.
    lingering: Vec<ssh2::Channel>,
    /// The extra probe sessions, once used.
    spare: Vec<Session>,
}

impl SshTransport {
    pub fn new(spec: NodeSpec, opts: SshOptions) -> SshTransport {
        SshTransport {
            spec,
            opts,
            session: None,
            no_forwarding: false,
            probe_sessions: 0,
            extra: Vec::new(),
            lingering: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Opens `n` more sessions for the network probes, in the background,
    /// once the main session is up (so a host key accepted with
    /// `accept-new` is recorded once, by the main session). libssh2 opens
    /// one channel at a time per session, one round trip each; spreading
    /// the probes' channels over several sessions opens them side by side.
    pub fn with_probe_sessions(mut self, n: usize) -> SshTransport {
        self.probe_sessions = n;
        self
    }

    fn start_probe_sessions(&mut self) {
        if self.probe_sessions == 0 || !self.extra.is_empty() {
            return;
        }
        for _ in 0..self.probe_sessions {
            let (spec, opts) = (self.spec.clone(), self.opts.clone());
            self.extra.push(std::thread::spawn(move || {
                SshTransport::new(spec, opts).connect()
            }));
        }
    }

    /// Tries `host:port` through a shell on the node (for when its sshd
    /// forbids forwarding).
    fn reach_by_shell(
        &mut self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> (crate::facts::ReachOutcome, Option<String>) {
        use crate::facts::ReachOutcome;
        let sess = match self.session() {
            Ok(s) => s,
            Err(e) => return (ReachOutcome::Error, Some(e.to_string())),
        };
        sess.set_timeout((timeout + Duration::from_secs(10)).as_millis() as u32);
        let run = || -> Result<String, ssh2::Error> {
            let mut ch = sess.channel_session()?;
            ch.exec(&super::relay::reach_script(host, port, timeout))?;
            let mut out = String::new();
            let _ = (&mut ch).take(4096).read_to_string(&mut out);
            let _ = ch.wait_close();
            Ok(out)
        };
        match run() {
            Ok(out) => {
                let (o, d) = super::relay::parse_reach(&out);
                (
                    o,
                    Some(format!(
                        "sshd forbids forwarding; {}",
                        d.unwrap_or_else(|| "tried by a shell on the node".into())
                    )),
                )
            }
            Err(e) => (
                ReachOutcome::Error,
                Some(format!(
                    "sshd forbids forwarding, and a shell on the node could not try either: {}",
                    e.message()
                )),
            ),
        }
    }

    fn user(&self) -> String {
        self.spec
            .user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into())
    }

    fn port(&self) -> u16 {
        self.spec.port.unwrap_or(22)
    }

    fn known_hosts_path(&self) -> PathBuf {
        self.spec
            .known_hosts
            .clone()
            .unwrap_or_else(|| crate::inventory::expand_home("~/.ssh/known_hosts"))
    }

    fn err_unreachable(&self, reason: impl Into<String>) -> TransportError {
        TransportError::Unreachable {
            node: self.spec.name.clone(),
            reason: reason.into(),
        }
    }

    fn timeout(&self, d: Duration, what: String) -> TransportError {
        TransportError::Timeout {
            node: self.spec.name.clone(),
            seconds: d.as_secs().max(1),
            what,
        }
    }

    fn tcp(&self) -> Result<TcpStream, TransportError> {
        let connect_timeout = self.spec.connect_timeout;
        let target = format!(
            "{}:{}",
            self.spec.address.trim_matches(|c| c == '[' || c == ']'),
            self.port()
        );
        let addrs: Vec<_> = target
            .to_socket_addrs()
            .map_err(|e| {
                self.err_unreachable(format!("cannot resolve {}: {e}", self.spec.address))
            })?
            .collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, connect_timeout) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            // Not refused, not unreachable: the SYNs went unanswered (a
            // firewall that drops them, or no host at that address).
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut => self.timeout(
                connect_timeout,
                format!("no answer to a TCP connect to {target} (a firewall dropping it, or no host there)"),
            ),
            Some(e) => self.err_unreachable(format!("connect to {target}: {e}")),
            None => self.err_unreachable(format!("{target} resolves to no address")),
        })
    }

    /// A stream to the node through the jump host: an authenticated session
    /// to the jump host (host key checked like any node), a direct-tcpip
    /// channel to the node, and a thread pumping bytes between that channel
    /// and one end of a socket pair; the other end carries our session.
    /// `ProxyJump a,b` reaches the node from `b`, which is reached from `a`.
    fn through_jump(&self, jump: &str) -> Result<UnixStream, TransportError> {
        let (earlier, first) = match jump.rsplit_once(',') {
            Some((e, last)) => (Some(e.to_string()), last),
            None => (None, jump),
        };
        let (user, hostport) = match first.split_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (self.spec.user.clone(), first),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
            _ => (hostport.to_string(), None),
        };
        let jump_spec = NodeSpec {
            name: format!("{} (jump host {first})", self.spec.name),
            address: host,
            port,
            user,
            proxy_jump: earlier,
            // The node's ProxyCommand is the node's, not the jump host's
            // (and ssh uses one or the other, never both).
            ssh: crate::inventory::SshHostOptions {
                proxy_command: None,
                ..self.spec.ssh.clone()
            },
            ..self.spec.clone()
        };
        let mut jump_t = SshTransport::new(jump_spec, self.opts.clone());
        let jsess = jump_t.connect()?;
        let target = self
            .spec
            .address
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let channel = jsess
            .channel_direct_tcpip(&target, self.port(), None)
            .map_err(|e| {
                self.err_unreachable(format!(
                    "jump host {first} cannot open a connection to {target}:{}: {}",
                    self.port(),
                    e.message()
                ))
            })?;
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| self.err_unreachable(format!("socket pair: {e}")))?;
        std::thread::spawn(move || pump(jsess, channel, theirs));
        Ok(ours)
    }

    /// Starts the node's `ProxyCommand` (`%h`, `%p`, `%r` expanded; run by
    /// `sh -c` as ssh does) with its stdin and stdout on a socket.
    fn through_command(&self, command: &str) -> Result<ProxyStream, TransportError> {
        use std::os::fd::OwnedFd;
        use std::process::{Command, Stdio};
        let port = self.port().to_string();
        let user = self.user();
        let host = self.spec.address.trim_matches(|c| c == '[' || c == ']');
        let line = crate::inventory::ssh_config::expand_tokens(
            command,
            &[('h', host), ('p', port.as_str()), ('r', user.as_str())],
        );
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| self.err_unreachable(format!("socket pair: {e}")))?;
        let out: OwnedFd = theirs
            .try_clone()
            .map_err(|e| self.err_unreachable(format!("socket pair: {e}")))?
            .into();
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("exec {line}"))
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(out))
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                self.err_unreachable(format!("ProxyCommand `{line}`: cannot start: {e}"))
            })?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut err) = child.stderr.take() {
            let keep = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut k) = keep.lock() {
                        if k.len() < 4096 {
                            k.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            });
        }
        Ok(ProxyStream {
            sock: ours,
            proxy: Proxy {
                command: line,
                child: Arc::new(Mutex::new(child)),
                stderr,
            },
        })
    }

    fn connect(&mut self) -> Result<Session, TransportError> {
        if let Some(jump) = self.spec.proxy_jump.clone() {
            let stream = self.through_jump(&jump)?;
            return self.handshake(stream, None);
        }
        if let Some(cmd) = self.spec.ssh.proxy_command.clone() {
            let stream = self.through_command(&cmd)?;
            let proxy = stream.proxy.clone();
            return self.handshake(stream, Some(&proxy));
        }
        let tcp = self.tcp()?;
        self.handshake(tcp, None)
    }

    fn handshake<S: 'static + std::os::fd::AsRawFd>(
        &self,
        stream: S,
        proxy: Option<&Proxy>,
    ) -> Result<Session, TransportError> {
        let connect_timeout = self.spec.connect_timeout;
        let started = Instant::now();
        let target = format!("{}:{}", self.spec.address, self.port());
        let mut sess = Session::new().map_err(|e| self.err_unreachable(e.to_string()))?;
        sess.set_tcp_stream(stream);
        if let Some(kex) = &self.opts.kex {
            // Offer fast key exchange first; fall back to whatever the
            // server supports among the rest.
            let _ = sess.method_pref(ssh2::MethodType::Kex, kex);
        }
        let remaining = connect_timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(100));
        sess.set_timeout(remaining.as_millis() as u32);
        if let Err(e) = sess.handshake() {
            return Err(match proxy {
                Some(p) => self.err_unreachable(format!(
                    "SSH handshake with {target} through its ProxyCommand failed ({}): {}",
                    e.message(),
                    p.describe()
                )),
                None if is_timeout(&e) => self.timeout(
                    connect_timeout,
                    format!(
                        "{target} took the TCP connection but did not complete the SSH handshake"
                    ),
                ),
                None => {
                    self.err_unreachable(format!("SSH handshake with {target}: {}", e.message()))
                }
            });
        }
        self.check_host_key(&sess)?;
        self.authenticate(&sess)?;
        Ok(sess)
    }

    /// The host key policy for this node: `StrictHostKeyChecking` in
    /// `~/.ssh/config` when it says something, else `--host-keys`. It never
    /// goes below accept-new (a changed key is always refused): `no` and
    /// `off` count as accept-new, and `ask`, which cannot be asked here,
    /// as strict.
    fn host_key_policy(&self) -> HostKeyPolicy {
        use crate::inventory::ssh_config::StrictHostKeys;
        match self.spec.ssh.strict_host_keys {
            None => self.opts.host_keys,
            Some(StrictHostKeys::Yes | StrictHostKeys::Ask) => HostKeyPolicy::Strict,
            Some(StrictHostKeys::AcceptNew | StrictHostKeys::No) => HostKeyPolicy::AcceptNew,
        }
    }

    fn check_host_key(&self, sess: &Session) -> Result<(), TransportError> {
        let node = self.spec.name.clone();
        let host_err = |reason: String| TransportError::HostKey {
            node: node.clone(),
            reason,
        };
        let (key, key_type) = sess
            .host_key()
            .ok_or_else(|| host_err("the server sent no host key".into()))?;
        let fingerprint = sess
            .host_key_hash(HashType::Sha256)
            .map(|h| format!("SHA256:{}", base64_nopad(h)))
            .unwrap_or_else(|| "unknown".into());
        let path = self.known_hosts_path();
        let mut kh = sess.known_hosts().map_err(|e| host_err(e.to_string()))?;
        if path.exists() {
            kh.read_file(&path, KnownHostFileKind::OpenSSH)
                .map_err(|e| {
                    host_err(format!("cannot read {}: {}", path.display(), e.message()))
                })?;
        }
        let host = self
            .spec
            .address
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        match kh.check_port(&host, self.port(), key) {
            CheckResult::Match => Ok(()),
            CheckResult::Mismatch => Err(host_err(format!(
                "the host key of {host} ({fingerprint}) does not match {}: possible man-in-the-middle, or the node was rebuilt",
                path.display()
            ))),
            CheckResult::NotFound if self.host_key_policy() == HostKeyPolicy::AcceptNew => {
                let entry = if self.port() == 22 {
                    host.clone()
                } else {
                    format!("[{host}]:{}", self.port())
                };
                let _guard = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
                append_known_host(&path, &entry, key_type, key).map_err(|e| {
                    host_err(format!(
                        "cannot record the new host key in {}: {e}",
                        path.display()
                    ))
                })?;
                self.opts
                    .accepted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(AcceptedKey {
                        node: self.spec.name.clone(),
                        host: entry,
                        fingerprint,
                    });
                Ok(())
            }
            CheckResult::NotFound if self.spec.ssh.strict_host_keys.is_some() => {
                Err(host_err(format!(
                    "{host} ({fingerprint}) is not in {}, and StrictHostKeyChecking in the SSH config refuses unknown hosts for it; add its key",
                    path.display()
                )))
            }
            CheckResult::NotFound => Err(host_err(format!(
                "{host} ({fingerprint}) is not in {}; add its key, or pass --host-keys accept-new to trust it on first use",
                path.display()
            ))),
            CheckResult::Failure => Err(host_err(format!(
                "could not check {host} against {}",
                path.display()
            ))),
        }
    }

    /// The user certificate to present with the identity file's key:
    /// `CertificateFile`, else `<identity file>-cert.pub` when it exists.
    fn certificate(&self, id: &Path) -> Option<PathBuf> {
        self.spec.ssh.certificate_file.clone().or_else(|| {
            let mut p = id.as_os_str().to_owned();
            p.push("-cert.pub");
            let p = PathBuf::from(p);
            p.is_file().then_some(p)
        })
    }

    /// Authenticates as ssh would with these settings: the identity file's
    /// key with its certificate, then the key alone, then the agent's keys
    /// (only the identity file's one under `IdentitiesOnly`; the agent
    /// `IdentityAgent` names, if any). Every attempt that failed is in the
    /// error.
    fn authenticate(&self, sess: &Session) -> Result<(), TransportError> {
        let user = self.user();
        let mut tried = Vec::new();
        let timed_out = |what: String| self.timeout(self.spec.connect_timeout, what);
        if let Some(id) = &self.spec.identity_file {
            if let Some(cert) = self.certificate(id) {
                match sess.userauth_pubkey_file(
                    &user,
                    Some(&cert),
                    id,
                    self.opts.passphrase.as_deref(),
                ) {
                    Ok(()) if sess.authenticated() => return Ok(()),
                    Ok(()) => tried.push(format!("certificate {}: not accepted", cert.display())),
                    Err(e) if is_timeout(&e) => {
                        return Err(timed_out(format!(
                            "no answer to the certificate authentication as {user}"
                        )));
                    }
                    Err(e) => tried.push(format!(
                        "certificate {}: {} (if libssh2 cannot present this certificate type, scan through OpenSSH with --exec 'ssh {{node}} sh')",
                        cert.display(),
                        e.message()
                    )),
                }
            }
            match sess.userauth_pubkey_file(&user, None, id, self.opts.passphrase.as_deref()) {
                Ok(()) if sess.authenticated() => return Ok(()),
                Ok(()) => tried.push(format!("key {}: not accepted", id.display())),
                Err(e) if is_timeout(&e) => {
                    return Err(timed_out(format!(
                        "no answer to the key authentication as {user}"
                    )));
                }
                Err(e) => tried.push(format!("key {}: {}", id.display(), e.message())),
            }
        }
        use crate::inventory::ssh_config::IdentityAgent;
        let socket = match &self.spec.ssh.identity_agent {
            Some(IdentityAgent::None) => None,
            Some(IdentityAgent::Socket(p)) => Some(p.clone()),
            None => std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
        };
        if let Some(socket) = socket {
            self.agent_auth(sess, &user, &socket, &mut tried)?;
            if sess.authenticated() {
                return Ok(());
            }
        }
        if tried.is_empty() {
            tried.push(match self.spec.ssh.identity_agent {
                Some(IdentityAgent::None) => "no identity_file, and IdentityAgent none".into(),
                _ => "no identity_file and no ssh-agent".into(),
            });
        }
        Err(TransportError::AuthFailed {
            node: self.spec.name.clone(),
            reason: format!("as {user}: {}", tried.join("; ")),
        })
    }

    /// Tries the keys of the agent at `socket`; failures go to `tried`.
    fn agent_auth(
        &self,
        sess: &Session,
        user: &str,
        socket: &Path,
        tried: &mut Vec<String>,
    ) -> Result<(), TransportError> {
        let shown = format!("ssh-agent {}", socket.display());
        let mut agent = match sess.agent() {
            Ok(a) => a,
            Err(e) => {
                tried.push(format!("{shown}: {}", e.message()));
                return Ok(());
            }
        };
        if let Err(e) = agent
            .set_identity_path(socket)
            .and_then(|_| agent.connect())
            .and_then(|_| agent.list_identities())
        {
            tried.push(format!("{shown}: {}", e.message()));
            return Ok(());
        }
        let mut keys = agent.identities().unwrap_or_default();
        if self.spec.ssh.identities_only {
            // Only the identity file's key, recognised by its public half.
            let wanted = self
                .spec
                .identity_file
                .as_ref()
                .and_then(|id| public_blob(id));
            keys.retain(|k| wanted.as_deref() == Some(k.blob()));
            if keys.is_empty() {
                tried.push(format!(
                    "{shown}: IdentitiesOnly, and the agent holds no key of the identity file"
                ));
                return Ok(());
            }
        }
        if keys.is_empty() {
            tried.push(format!("{shown}: holds no key"));
        }
        for k in &keys {
            match agent.userauth(user, k) {
                Ok(()) if sess.authenticated() => break,
                Ok(()) => {}
                Err(e) if is_timeout(&e) => {
                    return Err(self.timeout(
                        self.spec.connect_timeout,
                        format!("no answer to the agent authentication as {user}"),
                    ));
                }
                Err(_) => {}
            }
        }
        if !sess.authenticated() && !keys.is_empty() {
            tried.push(format!("{shown}: none of its {} keys accepted", keys.len()));
        }
        let _ = agent.disconnect();
        Ok(())
    }
}

/// The public key blob of an identity file, from `<file>.pub`.
fn public_blob(id: &Path) -> Option<Vec<u8>> {
    let mut p = id.as_os_str().to_owned();
    p.push(".pub");
    let text = std::fs::read_to_string(PathBuf::from(p)).ok()?;
    let b64 = text.split_whitespace().nth(1)?;
    base64_decode(b64)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = A.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Writes all of `data` to a non-blocking writer; false when it fails.
fn write_all_nonblocking(w: &mut impl Write, data: &[u8]) -> bool {
    let mut off = 0;
    while off < data.len() {
        match w.write(&data[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(_) => return false,
        }
    }
    true
}

/// Copies bytes both ways between a jump host's channel and our end of a
/// socket pair until either side closes.
fn pump(sess: Session, mut channel: ssh2::Channel, mut sock: UnixStream) {
    sess.set_blocking(false);
    if sock.set_nonblocking(true).is_err() {
        return;
    }
    let mut buf = [0u8; 32 * 1024];
    loop {
        let mut idle = true;
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                idle = false;
                if !write_all_nonblocking(&mut channel, &buf[..n]) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        match channel.read(&mut buf) {
            Ok(0) if channel.eof() => break,
            Ok(0) => {}
            Ok(n) => {
                idle = false;
                if !write_all_nonblocking(&mut sock, &buf[..n]) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let _ = channel.close();
}

fn io_timed_out(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut || e.to_string().contains("timed out")
}

/// One channel of [`multiplex`].
struct Open {
    idx: usize,
    ch: ssh2::Channel,
    pending: Vec<u8>,
    since: Instant,
    /// The job is done; our close is to be sent.
    closing: bool,
    /// Our close has gone out; the peer's is not waited for.
    close_sent: bool,
    /// A relay's output until its ready line (`None`: a direct channel).
    ready: Option<Vec<u8>>,
}

fn would_block(e: &ssh2::Error) -> bool {
    // LIBSSH2_ERROR_EAGAIN
    matches!(e.code(), ErrorCode::Session(-37))
}

/// A session's one channel open in progress (libssh2 opens one at a time
/// per session).
#[derive(Default)]
struct Opening {
    idx: Option<usize>,
    since: Option<Instant>,
    /// Relay mode: a session channel waiting for its exec to be accepted.
    exec_pending: Option<ssh2::Channel>,
    /// An open was abandoned half-way: the session's state is unknown.
    broken: bool,
}

/// Drives `tasks` over `sessions` in non-blocking mode, from this one
/// thread, until every job is done and its close sent, or time is up.
/// What may start and when is `probe::plan`'s decision; this only opens
/// channels (one at a time per session, each a round trip), moves bytes
/// and closes. Channels whose close was sent go to `lingering` (freed
/// with the transport). Returns, per session, whether it is still clean,
/// and whether sshd forbade forwarding (relays were used).
fn multiplex(
    sessions: &[Session],
    tasks: &mut [ProbeTask],
    timeout: Duration,
    mut relay: bool,
    lingering: &mut Vec<ssh2::Channel>,
) -> (Vec<bool>, bool) {
    use std::io::ErrorKind;
    for s in sessions {
        s.set_blocking(false);
    }
    let started = Instant::now();
    // A bound on the whole run, whatever happens: every open may take a
    // timeout, then every conversation one more.
    let hard_stop = started + timeout * (tasks.len() as u32 + 1);
    let mut queued: Vec<bool> = vec![true; tasks.len()];
    let mut opening: Vec<Opening> = sessions.iter().map(|_| Opening::default()).collect();
    let mut open: Vec<Open> = Vec::new();
    let mut rtt: Option<Duration> = None;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let now = Instant::now();
        let quiet = plan::silence(rtt);
        let mut progress = false;
        // 1. Each free session takes the next task that may open.
        for o in opening.iter_mut().filter(|o| o.idx.is_none() && !o.broken) {
            for i in 0..tasks.len() {
                if !queued[i] {
                    continue;
                }
                match plan::may_open(tasks, i, now, quiet) {
                    Ready::Go => {
                        queued[i] = false;
                        o.idx = Some(i);
                        o.since = Some(now);
                        break;
                    }
                    Ready::Drop(why) => {
                        queued[i] = false;
                        tasks[i].job.fail(why);
                    }
                    Ready::Wait => {}
                }
            }
        }
        // 2. Each session pushes its open along.
        for (s, o) in opening.iter_mut().enumerate() {
            let Some(i) = o.idx else { continue };
            let sess = &sessions[s];
            let since = o.since.unwrap_or(now);
            let t = &mut tasks[i];
            let mut opened: Option<(ssh2::Channel, Option<Vec<u8>>)> = None;
            if relay {
                if o.exec_pending.is_none() {
                    match sess.channel_session() {
                        Ok(ch) => o.exec_pending = Some(ch),
                        Err(e) if would_block(&e) => {}
                        Err(e) => {
                            t.job.fail(format!(
                                "sshd forbids forwarding, and no shell channel either: {}",
                                e.message()
                            ));
                            o.idx = None;
                        }
                    }
                }
                if let Some(ch) = o.exec_pending.as_mut() {
                    let script = super::relay::relay_script(&t.host, t.port, timeout);
                    match ch.exec(&script) {
                        Ok(()) => {
                            opened = o.exec_pending.take().map(|ch| (ch, Some(Vec::new())));
                        }
                        Err(e) if would_block(&e) => {}
                        Err(e) => {
                            t.job.fail(format!(
                                "could not start a relay on the node: {}",
                                e.message()
                            ));
                            o.exec_pending = None;
                            o.idx = None;
                        }
                    }
                }
            } else {
                match sess.channel_direct_tcpip(&t.host, t.port, None) {
                    Ok(ch) => {
                        let took = now.duration_since(since);
                        rtt = Some(rtt.map_or(took, |r| r.min(took)));
                        opened = Some((ch, None));
                    }
                    Err(e) if would_block(&e) => {}
                    Err(e) => {
                        let msg = e.message().to_string();
                        if msg.contains("prohibited") {
                            // AllowTcpForwarding no: this task and the
                            // rest go through a relay run by a shell on the
                            // node.
                            relay = true;
                            o.since = Some(now);
                        } else {
                            t.job
                                .fail(format!("could not connect from the node: {msg}"));
                            o.idx = None;
                        }
                        progress = true;
                    }
                }
            }
            if let Some((ch, ready)) = opened {
                open.push(Open {
                    idx: i,
                    ch,
                    pending: Vec::new(),
                    since: now,
                    closing: false,
                    close_sent: false,
                    ready,
                });
                o.idx = None;
                o.since = None;
                progress = true;
            } else if o.idx.is_some() && (now.duration_since(since) >= timeout || now >= hard_stop)
            {
                tasks[i].job.fail(if relay {
                    format!(
                        "the node's sshd did not start a relay within {} ms",
                        timeout.as_millis()
                    )
                } else {
                    format!(
                        "the node's sshd did not open a connection within {} ms",
                        timeout.as_millis()
                    )
                });
                o.idx = None;
                o.exec_pending = None;
                o.broken = true;
            }
        }
        // 3. Every open channel's conversation.
        for o in open.iter_mut() {
            if o.close_sent {
                continue;
            }
            if o.closing {
                match o.ch.close() {
                    Err(e) if would_block(&e) && now < hard_stop => {}
                    _ => {
                        o.close_sent = true;
                        progress = true;
                    }
                }
                continue;
            }
            let i = o.idx;
            plan::settle(tasks, i);
            if !tasks[i].job.done() {
                match plan::may_send(tasks, i, now, quiet) {
                    Ready::Go => {}
                    Ready::Drop(why) => tasks[i].job.fail(why),
                    Ready::Wait if now.duration_since(o.since) < timeout => continue,
                    Ready::Wait => tasks[i]
                        .job
                        .fail("its port's TLS probe never finished".into()),
                }
            }
            let job = &mut tasks[i].job;
            if let Some(pre) = o.ready.as_mut().filter(|_| !job.done()) {
                // A relay: nothing goes to the job before the ready line.
                match o.ch.read(&mut buf) {
                    Ok(0) if o.ch.eof() => job.fail("the relay ended before it started".into()),
                    Ok(n) => {
                        pre.extend_from_slice(&buf[..n]);
                        match super::relay::take_ready(pre) {
                            Some(Ok(())) => {
                                let rest = std::mem::take(pre);
                                o.ready = None;
                                let took = now.duration_since(o.since);
                                rtt = Some(rtt.map_or(took, |r| r.min(took)));
                                if !rest.is_empty() {
                                    job.input(&rest, now);
                                }
                            }
                            Some(Err(e)) => job.fail(e),
                            None => {}
                        }
                        progress |= n > 0;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => job.fail(format!("the relay broke: {e}")),
                }
                if !job.done() && o.ready.is_some() {
                    if now.duration_since(o.since) >= timeout {
                        job.fail("the relay did not start in time".into());
                    } else {
                        continue;
                    }
                }
            }
            if !job.done() {
                o.pending.extend(job.output());
            }
            if !o.pending.is_empty() {
                match o.ch.write(&o.pending) {
                    Ok(n) => {
                        o.pending.drain(..n);
                        progress |= n > 0;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => job.fail(format!("the connection broke: {e}")),
                }
            }
            if !job.done() {
                match o.ch.read(&mut buf) {
                    Ok(0) if o.ch.eof() => job.eof(now),
                    Ok(0) => job.idle(now),
                    Ok(n) => {
                        job.input(&buf[..n], now);
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => job.idle(now),
                    Err(e) => job.fail(format!("the connection broke: {e}")),
                }
                if !job.done() && now.duration_since(o.since) >= timeout {
                    job.fail(format!("no answer within {} ms", timeout.as_millis()));
                }
            }
            if job.done() {
                // Flush what the job still has to say (a close_notify).
                o.pending.extend(job.output());
                if !o.pending.is_empty() {
                    let _ = o.ch.write(&o.pending);
                    o.pending.clear();
                }
                o.closing = true;
                progress = true;
            }
        }
        let idle = opening.iter().all(|o| o.idx.is_none());
        let waiting = queued.iter().any(|q| *q);
        if idle && !waiting && open.iter().all(|o| o.close_sent) {
            // Every job is done and every close sent: the peers' answers to
            // the closes are not waited for (the channels linger with the
            // transport; see `run_probes`).
            break;
        }
        if idle && waiting && opening.iter().all(|o| o.broken) {
            for (i, q) in queued.iter_mut().enumerate() {
                if *q {
                    tasks[i]
                        .job
                        .fail("no SSH session left to open a connection on".into());
                    *q = false;
                }
            }
        }
        if now >= hard_stop {
            for o in open.iter().filter(|o| !o.closing && !o.close_sent) {
                tasks[o.idx].job.fail("the probes ran out of time".into());
            }
            for (i, q) in queued.iter().enumerate() {
                if *q {
                    tasks[i].job.fail("the probes ran out of time".into());
                }
            }
            for o in opening.iter_mut() {
                if let Some(i) = o.idx.take() {
                    tasks[i].job.fail("the probes ran out of time".into());
                    o.broken = true;
                }
            }
            break;
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    lingering.extend(open.into_iter().map(|o| o.ch));
    (opening.iter().map(|o| !o.broken).collect(), relay)
}

fn is_timeout(e: &ssh2::Error) -> bool {
    // LIBSSH2_ERROR_TIMEOUT
    matches!(e.code(), ErrorCode::Session(-9))
}

fn base64_nopad(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn key_type_name(t: ssh2::HostKeyType) -> &'static str {
    match t {
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Dss => "ssh-dss",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        ssh2::HostKeyType::Unknown => "unknown",
    }
}

fn append_known_host(
    path: &Path,
    host: &str,
    t: ssh2::HostKeyType,
    key: &[u8],
) -> std::io::Result<()> {
    let mut b64 = base64_nopad(key);
    while b64.len() % 4 != 0 {
        b64.push('=');
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{host} {} {b64}", key_type_name(t))
}

impl SshTransport {
    fn limits(&self) -> Limits {
        Limits {
            command_timeout: self.spec.command_timeout,
            start_timeout: self.spec.connect_timeout,
            max_output: Limits::default().max_output,
        }
    }

    fn session(&mut self) -> Result<&Session, TransportError> {
        if self.session.is_none() {
            self.session = Some(self.connect()?);
        }
        Ok(self.session.as_ref().expect("connected above"))
    }

    fn shell_command(&self) -> &'static str {
        if self.user() == "root" {
            "sh -s"
        } else {
            "sudo -n sh -s"
        }
    }

    /// The collector had not started in time; `printed` is what the login
    /// printed meanwhile.
    fn not_started(&self, printed: &[u8]) -> TransportError {
        TransportError::not_started(
            &self.spec.name,
            &format!(
                "the SSH login as {} (`{}`)",
                self.user(),
                self.shell_command()
            ),
            self.spec.connect_timeout,
            "a ForceCommand in the node's sshd_config (or a command= in authorized_keys) that runs something else and waits, a login profile script that waits, an unreachable home directory (a hung automount or NFS), sudo waiting on a directory service (LDAP, SSSD)",
            printed,
        )
    }

    /// Why a shell ended before answering, from what it printed on stderr.
    fn ended_early(&self, stderr: &[u8], status: Option<i32>, started: bool) -> TransportError {
        let err = String::from_utf8_lossy(stderr);
        if self.user() != "root"
            && (err.contains("password is required") || err.contains("a terminal is required"))
        {
            return TransportError::AuthFailed {
                node: self.spec.name.clone(),
                reason: format!(
                    "{} is not root and `sudo -n` needs a password: allow NOPASSWD sudo for the collector's `sh`, or connect as root",
                    self.user()
                ),
            };
        }
        TransportError::Other {
            node: self.spec.name.clone(),
            reason: format!(
                "`{}` ended (status {}) before {}: {}",
                self.shell_command(),
                status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                if started {
                    "answering"
                } else {
                    "the collector started"
                },
                crate::util::cap(err.trim(), 300)
            ),
        }
    }
}

/// One `sh -s` (or `sudo -n sh -s`) on one channel for all round trips.
struct SshConversation<'a> {
    t: &'a SshTransport,
    sess: &'a Session,
    ch: ssh2::Channel,
    buf: Vec<u8>,
    limits: Limits,
    /// When the session channel was asked for: the start deadline runs
    /// from here.
    opened: Instant,
    /// The node was given up on: its connection is cut (see [`sever`]).
    abandoned: bool,
}

/// Cuts the session's connection (both ways), so nothing waits on it any
/// more: libssh2 would otherwise wait for the peer's close of a channel
/// whose command never ends (sshd closes a session channel only once its
/// command has exited), when the channel is closed and again when it is
/// freed. The node's sshd sees the connection end and cleans up.
fn sever(sess: &Session) {
    use std::os::fd::AsRawFd;
    // SAFETY: shutdown(2) on the session's own socket, which it still
    // owns; no memory is involved.
    unsafe {
        libc::shutdown(sess.as_raw_fd(), libc::SHUT_RDWR);
    }
}

impl SshConversation<'_> {
    /// Gives up on the node: what its login printed on stderr so far is
    /// read without waiting, then the connection is cut.
    fn abandon(&mut self) -> Vec<u8> {
        self.abandoned = true;
        let mut stderr = Vec::new();
        self.sess.set_blocking(false);
        let mut chunk = [0u8; 4096];
        while stderr.len() < 4096 {
            match self.ch.stderr().read(&mut chunk) {
                Ok(n) if n > 0 => stderr.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        sever(self.sess);
        self.sess.set_blocking(true);
        stderr
    }

    fn late(&mut self, started: bool) -> TransportError {
        let stderr = self.abandon();
        if started {
            TransportError::Timeout {
                node: self.t.spec.name.clone(),
                seconds: self.limits.command_timeout.as_secs().max(1),
                what: format!(
                    "the collector started (`{}`) but did not finish its round trip",
                    self.t.shell_command()
                ),
            }
        } else {
            let mut printed = std::mem::take(&mut self.buf);
            printed.push(b'\n');
            printed.extend_from_slice(&stderr);
            self.t.not_started(&printed)
        }
    }
}

impl Conversation for SshConversation<'_> {
    fn exchange(
        &mut self,
        text: &str,
        start: Option<&str>,
        marker: &str,
    ) -> Result<Exchange, TransportError> {
        let mut wait = Waiting::new(start, self.opened, self.limits, marker);
        let set_timeout = |sess: &Session, left: Duration| {
            sess.set_timeout(left.as_millis().clamp(1, u32::MAX as u128) as u32);
        };
        // The channel's window (2 MiB from OpenSSH) takes the whole script
        // even from a command that never reads it; a write that times out
        // all the same is judged like a read that does.
        let bound = match wait.next(&mut self.buf, Instant::now()) {
            Next::Wait(left) => left,
            _ => Duration::from_millis(1),
        };
        set_timeout(self.sess, bound);
        if let Err(e) = self
            .ch
            .write_all(text.as_bytes())
            .and_then(|_| self.ch.flush())
        {
            if !io_timed_out(&e) {
                return Err(self.channel_broke(e));
            }
            if let Next::NotStarted = wait.next(&mut self.buf, Instant::now()) {
                return Err(self.late(false));
            }
            return Err(self.late(wait.started()));
        }
        let mut chunk = [0u8; 32 * 1024];
        loop {
            let left = match wait.next(&mut self.buf, Instant::now()) {
                Next::Answer(answer) => return Ok(answer),
                Next::NotStarted => return Err(self.late(false)),
                Next::TimedOut => return Err(self.late(true)),
                Next::Wait(left) => left,
            };
            set_timeout(self.sess, left);
            match self.ch.read(&mut chunk) {
                Ok(0) => {
                    let mut stderr = Vec::new();
                    let _ = self.ch.stderr().take(64 * 1024).read_to_end(&mut stderr);
                    let _ = self.ch.wait_close();
                    return Err(self.t.ended_early(
                        &stderr,
                        self.ch.exit_status().ok(),
                        wait.started(),
                    ));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                // The deadlines are looked at again above.
                Err(e) if io_timed_out(&e) => {}
                Err(e) => return Err(self.channel_broke(e)),
            }
        }
    }
}

impl SshConversation<'_> {
    fn channel_broke(&self, e: std::io::Error) -> TransportError {
        TransportError::Other {
            node: self.t.spec.name.clone(),
            reason: format!("SSH channel: {e}"),
        }
    }
}

impl Drop for SshConversation<'_> {
    fn drop(&mut self) {
        if self.abandoned {
            // The connection is cut: closing fails at once.
            let _ = self.ch.close();
            return;
        }
        self.sess.set_timeout(2000);
        let _ = self.ch.send_eof();
        let _ = self.ch.close();
    }
}

impl Transport for SshTransport {
    /// A `direct-tcpip` channel: the node's sshd opens the connection, so it
    /// really originates on the node. The channel is closed at once; nothing
    /// is sent over it.
    fn reach(
        &mut self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Option<(crate::facts::ReachOutcome, Option<String>)> {
        use crate::facts::ReachOutcome;
        if self.no_forwarding {
            return Some(self.reach_by_shell(host, port, timeout));
        }
        let sess = match self.session() {
            Ok(s) => s,
            Err(e) => return Some((ReachOutcome::Error, Some(e.to_string()))),
        };
        sess.set_timeout(timeout.as_millis().max(1) as u32);
        let result = sess.channel_direct_tcpip(host, port, None);
        match result {
            Ok(mut ch) => {
                let _ = ch.close();
                Some((ReachOutcome::Reachable, None))
            }
            Err(e) if is_timeout(&e) => {
                // A late answer could confuse this session: start afresh
                // for the next attempt.
                self.session = None;
                Some((
                    ReachOutcome::Filtered,
                    Some(format!("no answer within {} ms", timeout.as_millis())),
                ))
            }
            Err(e) => {
                let msg = e.message().to_string();
                if msg.contains("prohibited") {
                    self.no_forwarding = true;
                    return Some(self.reach_by_shell(host, port, timeout));
                }
                Some((ReachOutcome::Refused, Some(msg)))
            }
        }
    }

    /// Every probe at once over this session (and the extra probe
    /// sessions, if any), from one thread. libssh2 opens one channel at a
    /// time per session, so opens follow each other (one round trip each),
    /// but every open channel's conversation goes on meanwhile: the probes
    /// of a node cost about one round trip per connection, not one per
    /// exchange. Closes are pipelined too.
    fn run_probes(&mut self, tasks: &mut [ProbeTask], timeout: Duration) -> bool {
        let sess = match self.session() {
            Ok(s) => s.clone(),
            Err(e) => {
                for t in tasks.iter_mut() {
                    t.job.fail(e.to_string());
                }
                return true;
            }
        };
        let mut sessions = vec![sess];
        for h in self.extra.drain(..) {
            // A session that could not be had leaves its share to the others.
            if let Ok(Ok(s)) = h.join() {
                sessions.push(s);
            }
        }
        let mut left = Vec::new();
        let (clean, relay) = multiplex(&sessions, tasks, timeout, self.no_forwarding, &mut left);
        for s in &sessions {
            s.set_blocking(true);
            // Dropping a channel waits for the peer's close, which is on
            // its way: a short wait at most.
            s.set_timeout(2000);
        }
        self.lingering.extend(left);
        // The extra sessions go with the transport, after their channels.
        self.spare.extend(sessions.drain(1..));
        self.no_forwarding |= relay;
        if !clean.first().copied().unwrap_or(true) {
            // An open was abandoned half-way: do not reuse the session.
            self.session = None;
        }
        true
    }

    fn open(&mut self) -> Result<Box<dyn Conversation + '_>, TransportError> {
        let limits = self.limits();
        self.session()?;
        self.start_probe_sessions();
        let this: &SshTransport = self;
        let sess = this.session.as_ref().expect("connected above");
        // The start deadline covers the session channel and the exec
        // request too: sshd answers both before the login's own work
        // (PAM session, the shell, its profile) can hang.
        let opened = Instant::now();
        let fail = |e: ssh2::Error| {
            if is_timeout(&e) {
                sever(sess);
                this.not_started(b"")
            } else {
                TransportError::Other {
                    node: this.spec.name.clone(),
                    reason: format!("SSH: {}", e.message()),
                }
            }
        };
        sess.set_timeout(limits.start_timeout.as_millis().max(1) as u32);
        let mut ch = sess.channel_session().map_err(fail)?;
        let left = limits.start_timeout.saturating_sub(opened.elapsed());
        sess.set_timeout(left.as_millis().max(1) as u32);
        ch.exec(this.shell_command()).map_err(fail)?;
        Ok(Box::new(SshConversation {
            t: this,
            sess,
            ch,
            buf: Vec::new(),
            limits,
            opened,
            abandoned: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_unpadded_base64() {
        assert_eq!(base64_nopad(b"abc"), "YWJj");
        assert_eq!(base64_nopad(b"ab"), "YWI");
        assert_eq!(base64_nopad(b"a"), "YQ");
    }

    #[test]
    fn nothing_listening_is_unreachable_not_a_pass() {
        // Port 1 on loopback: nothing listens there.
        let spec = NodeSpec {
            name: "n".into(),
            address: "127.0.0.1".into(),
            roles: vec![],
            user: Some("root".into()),
            port: Some(1),
            identity_file: None,
            known_hosts: None,
            proxy_jump: None,
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
            ssh: Default::default(),
        };
        let mut t = SshTransport::new(spec, SshOptions::default());
        let e = t.open().err().expect("nothing listens on port 1");
        assert!(matches!(e, TransportError::Unreachable { .. }), "{e}");
    }
}
