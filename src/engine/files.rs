//! Which files a file ref means on a given node, and testing their mode and
//! owner.
//!
//! Paths come from what the node really runs (`--kubeconfig`, `--config`,
//! `--data-dir`, the manifest path the collector found) before well-known
//! kubeadm locations. A file that legitimately does not exist (super-admin.conf
//! on a joined control-plane node, scheduler.conf with an external scheduler,
//! kubelet unit files in an unusual place) makes the check a skip, naming the
//! path looked for: kube-bench fails such checks, which is a false result.

use super::effective::{NodeCtx, Resolution, Unresolved};
use super::known::find_flag;
use crate::bench::{FileAttr, FileRef};
use crate::facts::{ComponentKind, FileFacts, FileKind, Mode};

/// The files a ref resolved to on this node: `(path, facts)`, existing ones only.
pub type FileSet<'a> = Vec<(String, &'a FileFacts)>;

pub const PKI_DIR: &str = "/etc/kubernetes/pki";
pub const CNI_DIRS: [&str; 2] = ["/etc/cni/net.d", "/var/lib/cni/networks"];
pub const ADMIN_CONFS: [&str; 2] = [
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/super-admin.conf",
];
/// Where distributions and kubeadm put the kubelet unit and its drop-in.
pub const KUBELET_UNITS: [&str; 6] = [
    "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/etc/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
];

pub fn default_manifest_path(kind: ComponentKind) -> String {
    format!("/etc/kubernetes/manifests/{}.yaml", kind.binary())
}

impl<'a> NodeCtx<'a> {
    /// Resolves a file ref to the existing files it names on this node.
    pub fn file_set(&self, r: FileRef) -> Resolution<FileSet<'a>> {
        match r {
            FileRef::Manifest(kind) => {
                let path = self
                    .facts
                    .component(kind)
                    .and_then(|c| c.manifest.as_ref())
                    .map(|m| m.path.clone())
                    .unwrap_or_else(|| default_manifest_path(kind));
                self.existing(
                    &[path],
                    &format!("no static-pod manifest for {}", kind.binary()),
                )
            }
            FileRef::Cni => {
                let mut files = Vec::new();
                let mut looked = Vec::new();
                for dir in CNI_DIRS {
                    looked.push(dir);
                    files.extend(self.tree(dir, |_| true)?);
                }
                if files.is_empty() {
                    Err(Unresolved::NotApplicable(format!(
                        "no CNI files under {}",
                        looked.join(" or ")
                    )))
                } else {
                    Ok(files)
                }
            }
            FileRef::EtcdDataDir => {
                let spec = find_flag(ComponentKind::Etcd, "--data-dir").expect("known flag");
                let obs = self.flag(spec)?;
                let Some(dir) = obs.value.map(|v| v.text()).filter(|d| !d.is_empty()) else {
                    return Err(Unresolved::Unreadable(format!(
                        "the etcd data directory is not set ({}); etcd then uses <name>.etcd relative to its working directory, which cannot be located",
                        obs.source
                    )));
                };
                self.existing(&[dir], "the etcd data directory does not exist")
            }
            FileRef::AdminConf => self.existing(
                &ADMIN_CONFS.map(String::from),
                "no admin kubeconfig on this node",
            ),
            FileRef::SchedulerKubeconfig => {
                self.flag_path(ComponentKind::Scheduler, "--kubeconfig")
            }
            FileRef::ControllerManagerKubeconfig => {
                self.flag_path(ComponentKind::ControllerManager, "--kubeconfig")
            }
            FileRef::Pki => {
                let files = self.tree(PKI_DIR, |_| true)?;
                if files.is_empty() {
                    return Err(Unresolved::NotApplicable(format!(
                        "{PKI_DIR} does not exist"
                    )));
                }
                let mut all = self.existing(&[PKI_DIR.to_string()], "")?;
                all.extend(files);
                Ok(all)
            }
            FileRef::PkiCrt | FileRef::PkiKey => {
                let ext = if r == FileRef::PkiCrt { ".crt" } else { ".key" };
                let files = self.tree(PKI_DIR, |p| p.ends_with(ext))?;
                if files.is_empty() {
                    Err(Unresolved::NotApplicable(format!(
                        "no *{ext} files under {PKI_DIR}"
                    )))
                } else {
                    Ok(files)
                }
            }
            FileRef::KubeletService => self.existing(
                &KUBELET_UNITS.map(String::from),
                "no kubelet systemd unit in the usual places",
            ),
            FileRef::KubeProxyKubeconfig => {
                let spec = crate::engine::known::find_setting(
                    ComponentKind::KubeProxy,
                    "clientConnection.kubeconfig",
                )
                .expect("known setting");
                let obs = self.setting(ComponentKind::KubeProxy, spec)?;
                match obs.value.map(|v| v.text()).filter(|p| !p.is_empty()) {
                    Some(p) => {
                        self.existing(&[p], "the kube-proxy kubeconfig does not exist on the node")
                    }
                    None => Err(Unresolved::NotApplicable(format!(
                        "kube-proxy names no kubeconfig file ({}); it uses in-cluster credentials",
                        obs.source
                    ))),
                }
            }
            FileRef::KubeletKubeconfig => self.flag_path(ComponentKind::Kubelet, "--kubeconfig"),
            FileRef::KubeletConfig => self.flag_path(ComponentKind::Kubelet, "--config"),
            FileRef::KubeletClientCa => {
                let spec = crate::engine::known::find_setting(
                    ComponentKind::Kubelet,
                    "authentication.x509.clientCAFile",
                )
                .expect("known setting");
                let obs = self.setting(ComponentKind::Kubelet, spec)?;
                match obs.value.map(|v| v.text()).filter(|p| !p.is_empty()) {
                    Some(p) => self.existing(&[p], "the kubelet client CA file does not exist"),
                    None => Err(Unresolved::NotApplicable(format!(
                        "the kubelet has no client CA file configured ({})",
                        obs.source
                    ))),
                }
            }
        }
    }

    /// The file named by a component's flag; skip when the flag is not used.
    fn flag_path(&self, kind: ComponentKind, flag: &str) -> Resolution<FileSet<'a>> {
        let (comp, args) = self.running(kind)?;
        match args.value(flag).filter(|p| !p.is_empty()) {
            Some(p) => self.existing(
                &[p.to_string()],
                &format!("the file named by {} {flag} does not exist", kind.binary()),
            ),
            None => Err(Unresolved::NotApplicable(format!(
                "{} runs without {flag}{}",
                kind.binary(),
                comp.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ))),
        }
    }

    /// The existing files among `paths`; a skip naming them when none exists.
    fn existing(&self, paths: &[String], none_msg: &str) -> Resolution<FileSet<'a>> {
        let mut out = Vec::new();
        for p in paths {
            let f = self.file(p)?;
            if f.exists {
                out.push((p.clone(), f));
            }
        }
        if out.is_empty() {
            return Err(Unresolved::NotApplicable(format!(
                "{none_msg}: looked for {}",
                paths.join(", ")
            )));
        }
        Ok(out)
    }

    /// Every entry under `dir` (recursively, as collected) whose path matches.
    /// An absent directory yields nothing; an uncollected one is an error.
    fn tree(&self, dir: &str, keep: impl Fn(&str) -> bool) -> Resolution<FileSet<'a>> {
        let d = self.file(dir)?;
        if !d.exists {
            return Ok(Vec::new());
        }
        let Some(entries) = &d.entries else {
            return Err(Unresolved::Unreadable(format!(
                "the contents of {dir} were not listed"
            )));
        };
        let mut out = Vec::new();
        for p in entries.iter().filter(|p| keep(p)) {
            let f = self.file(p)?;
            if f.exists {
                out.push((p.clone(), f));
            }
        }
        Ok(out)
    }
}

/// Most files listed by name in evidence; the rest are counted.
const LIST_MAX: usize = 8;

/// Tests every file of a set. Returns (passed, actual, source).
pub fn test_files(
    set: &FileSet<'_>,
    attr: FileAttr,
    expected: &str,
) -> Result<(bool, String, String), String> {
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for (path, f) in set {
        let (ok, shown) = match attr {
            FileAttr::Mode => {
                let limit = Mode::parse_octal(expected).ok_or("invalid mode in rule")?;
                let mode = f
                    .mode
                    .ok_or_else(|| format!("{path}: mode not collected"))?;
                (mode.is_at_most(limit), mode.to_string())
            }
            FileAttr::Owner => {
                let owner = f
                    .owner()
                    .ok_or_else(|| format!("{path}: owner not collected"))?;
                (owner_matches(f, expected), owner)
            }
        };
        let kind = if f.kind == Some(FileKind::Dir) {
            "/"
        } else {
            ""
        };
        let entry = format!("{path}{kind} {shown}");
        if ok {
            good.push(entry)
        } else {
            bad.push(entry)
        }
    }
    let passed = bad.is_empty();
    let actual = if set.len() == 1 {
        bad.first().or(good.first()).cloned().unwrap_or_default()
    } else if passed {
        format!("all {} files comply: {}", set.len(), list(&good))
    } else {
        format!(
            "{} of {} files do not comply: {}",
            bad.len(),
            set.len(),
            list(&bad)
        )
    };
    let paths: Vec<String> = set.iter().map(|(p, _)| p.clone()).collect();
    let source = format!("stat {}", list(&paths));
    Ok((passed, actual, source))
}

fn list(items: &[String]) -> String {
    let mut out: Vec<&str> = items.iter().take(LIST_MAX).map(String::as_str).collect();
    let more;
    if items.len() > LIST_MAX {
        more = format!("and {} more", items.len() - LIST_MAX);
        out.push(&more);
    }
    out.join("; ")
}

/// `root:root` matches by name, or by id 0 when names were not resolved.
fn owner_matches(f: &FileFacts, expected: &str) -> bool {
    let Some((user, group)) = expected.split_once(':') else {
        return false;
    };
    let side = |name: &Option<String>, id: Option<u32>, want: &str| match name {
        Some(n) => n == want,
        None => id.is_some_and(|i| i.to_string() == want || (want == "root" && i == 0)),
    };
    side(&f.user, f.uid, user) && side(&f.group, f.gid, group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(mode: u32, user: &str, group: &str) -> FileFacts {
        FileFacts {
            exists: true,
            kind: Some(FileKind::File),
            mode: Some(Mode(mode)),
            uid: Some(0),
            gid: Some(0),
            user: Some(user.into()),
            group: Some(group.into()),
            ..Default::default()
        }
    }

    #[test]
    fn one_bad_file_fails_the_set_and_is_named() {
        let a = file(0o600, "root", "root");
        let b = file(0o644, "root", "root");
        let set = vec![("/k/a.key".to_string(), &a), ("/k/b.key".to_string(), &b)];
        let (ok, actual, _) = test_files(&set, FileAttr::Mode, "600").unwrap();
        assert!(!ok);
        assert_eq!(actual, "1 of 2 files do not comply: /k/b.key 0644");
    }

    #[test]
    fn owners_match_by_name_or_by_root_id() {
        let named = file(0o600, "etcd", "etcd");
        assert!(owner_matches(&named, "etcd:etcd"));
        assert!(!owner_matches(&named, "root:root"));
        let numeric = FileFacts {
            user: None,
            group: None,
            ..file(0o600, "", "")
        };
        assert!(owner_matches(&numeric, "root:root"));
        assert!(!owner_matches(&numeric, "etcd:etcd"));
    }
}
