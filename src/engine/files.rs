//! Which files a file ref means on a given node, and testing their mode and
//! owner.
//!
//! Paths come from what the node really runs (`--kubeconfig`, `--config`,
//! `--data-dir`, the manifest path the collector found) before well-known
//! kubeadm locations. A file that legitimately does not exist (super-admin.conf
//! on a joined control-plane node, scheduler.conf with an external scheduler,
//! kubelet unit files in an unusual place) makes the check a skip, naming the
//! path looked for: kube-bench fails such checks, which is a false result.
//!
//! "The kubelet service file" of CIS 4.1.1/4.1.2 is the drop-in that carries
//! kubeadm's settings (`kubelet.service.d/10-kubeadm.conf`), so the drop-ins
//! systemd loads for the kubelet are judged, from every unit directory, the
//! way systemd picks them: one file per name, the highest-priority
//! directory's. The package's `kubelet.service` is judged only when there is
//! no drop-in; otherwise its mode is reported beside the verdict, not in it.
//! A file reached by two paths (`/lib` is `/usr/lib` on merged-/usr
//! systems) is counted once, by its device and inode.

use super::effective::{NodeCtx, Resolution, Unresolved};
use super::known::find_flag;
use crate::bench::{FileAttr, FileRef};
use crate::facts::{ComponentKind, FileFacts, FileKind, Mode};

/// The files a ref resolved to on this node: `(path, facts)`, existing ones only.
pub type FileSet<'a> = Vec<(String, &'a FileFacts)>;

/// What a file ref resolved to: the files judged, files shown beside them
/// but not judged (with why), and remarks on how they were chosen.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    pub files: FileSet<'a>,
    pub context: Vec<(String, &'a FileFacts, String)>,
    pub remarks: Vec<String>,
}

impl<'a> Selection<'a> {
    fn of(files: FileSet<'a>) -> Selection<'a> {
        Selection {
            files,
            ..Default::default()
        }
    }
}

pub const PKI_DIR: &str = "/etc/kubernetes/pki";
pub const CNI_DIRS: [&str; 2] = ["/etc/cni/net.d", "/var/lib/cni/networks"];
pub const ADMIN_CONFS: [&str; 2] = [
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/super-admin.conf",
];
/// The system manager's unit directories that administrators and packages
/// use, highest priority first (systemd.unit(5), "System Unit Search Path"):
/// a unit or drop-in here overrides one of the same name further down.
/// `/lib/systemd/system` is searched on split-/usr systems; on merged-/usr
/// ones it is `/usr/lib/systemd/system` by another path.
pub const SYSTEMD_UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// `kubelet.service` in a unit directory.
pub fn kubelet_unit(dir: &str) -> String {
    format!("{dir}/kubelet.service")
}

/// The kubelet's drop-in directory in a unit directory.
pub fn kubelet_dropin_dir(dir: &str) -> String {
    format!("{dir}/kubelet.service.d")
}

pub fn default_manifest_path(kind: ComponentKind) -> String {
    format!("/etc/kubernetes/manifests/{}.yaml", kind.binary())
}

impl<'a> NodeCtx<'a> {
    /// Resolves a file ref to the existing files it names on this node.
    pub fn file_set(&self, r: FileRef) -> Resolution<FileSet<'a>> {
        self.select_files(r).map(|s| s.files)
    }

    /// Resolves a file ref, with the files reported beside it.
    pub fn select_files(&self, r: FileRef) -> Resolution<Selection<'a>> {
        if r == FileRef::KubeletService {
            return self.kubelet_unit_files();
        }
        self.plain_files(r).map(Selection::of)
    }

    fn plain_files(&self, r: FileRef) -> Resolution<FileSet<'a>> {
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
            FileRef::KubeletService => self.kubelet_unit_files().map(|s| s.files),
            FileRef::KubeProxyKubeconfig => {
                let spec = crate::engine::known::find_setting(
                    ComponentKind::KubeProxy,
                    "clientConnection.kubeconfig",
                )
                .expect("known setting");
                let obs = self.setting(ComponentKind::KubeProxy, spec)?;
                let inside = self
                    .running(ComponentKind::KubeProxy)
                    .ok()
                    .filter(|(c, _)| c.own_root == Some(true))
                    .map(|(c, _)| {
                        format!(
                            "inside the kube-proxy container{}",
                            c.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                        )
                    });
                match obs.value.map(|v| v.text()).filter(|p| !p.is_empty()) {
                    Some(p) => self.existing(
                        &[p],
                        &format!(
                            "the kube-proxy kubeconfig does not exist {}",
                            inside.as_deref().unwrap_or("on the node")
                        ),
                    ),
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

    /// The drop-ins systemd loads for the kubelet, or its unit file when it
    /// has none (see the module documentation).
    fn kubelet_unit_files(&self) -> Resolution<Selection<'a>> {
        // Drop-ins: one per file name, from the highest-priority directory;
        // a file already seen by another path is not looked at again.
        let mut chosen: Vec<(String, String, &'a FileFacts)> = Vec::new();
        let mut seen: Vec<(String, &'a FileFacts)> = Vec::new();
        let mut sel = Selection::default();
        for dir in SYSTEMD_UNIT_DIRS {
            let d = kubelet_dropin_dir(dir);
            for (path, f) in self.dropins(&d)? {
                if let Some((first, _)) = seen.iter().find(|(_, g)| same_file(f, g)) {
                    sel.remarks
                        .push(format!("{path} is {first} by another path, counted once"));
                    continue;
                }
                seen.push((path.clone(), f));
                let name = path.rsplit('/').next().unwrap_or("").to_string();
                match chosen.iter().find(|(n, _, _)| *n == name) {
                    Some((_, first, _)) => sel.remarks.push(format!(
                        "{path} is overridden by {first} and not read by systemd"
                    )),
                    // A drop-in linked to /dev/null masks the name.
                    None if f.kind == Some(FileKind::Other) => {
                        sel.remarks
                            .push(format!("{path} masks {name} (a link to /dev/null)"));
                        chosen.push((name, path, f));
                    }
                    None => chosen.push((name, path, f)),
                }
            }
        }
        let dropins: FileSet<'a> = chosen
            .into_iter()
            .filter(|(_, _, f)| f.kind != Some(FileKind::Other))
            .map(|(_, p, f)| (p, f))
            .collect();
        // The unit itself: the highest-priority kubelet.service.
        let mut unit: Option<(String, &'a FileFacts)> = None;
        for dir in SYSTEMD_UNIT_DIRS {
            let path = kubelet_unit(dir);
            let f = self.file(&path)?;
            if !f.exists {
                continue;
            }
            match &unit {
                Some((first, g)) if same_file(f, g) => sel
                    .remarks
                    .push(format!("{path} is {first} by another path, counted once")),
                Some((first, _)) => sel.remarks.push(format!(
                    "{path} is overridden by {first} and not read by systemd"
                )),
                None => unit = Some((path, f)),
            }
        }
        let looked = SYSTEMD_UNIT_DIRS.join(", ");
        match (dropins.is_empty(), unit) {
            (false, Some((path, f))) => {
                sel.context.push((
                    path,
                    f,
                    "the unit file, not judged: CIS audits the drop-in that configures the kubelet"
                        .into(),
                ));
                sel.files = dropins;
            }
            (false, None) => {
                sel.remarks
                    .push(format!("no kubelet.service unit file in {looked}"));
                sel.files = dropins;
            }
            (true, Some((path, f))) => {
                sel.remarks
                    .push("no kubelet.service.d drop-in: the unit file is judged".into());
                sel.files = vec![(path, f)];
            }
            (true, None) => {
                return Err(Unresolved::NotApplicable(format!(
                    "no kubelet systemd unit or drop-in: looked for kubelet.service and kubelet.service.d/*.conf in {looked}"
                )));
            }
        }
        Ok(sel)
    }

    /// The `*.conf` files directly in a drop-in directory, by name. A
    /// directory that was not listed is an error (facts saved before the
    /// directories were listed name single files only), never a guess.
    fn dropins(&self, dir: &str) -> Resolution<FileSet<'a>> {
        let prefix = format!("{dir}/");
        let mut out = self.tree(dir, |p| {
            p.strip_prefix(&prefix)
                .is_some_and(|name| !name.contains('/') && name.ends_with(".conf"))
        })?;
        out.retain(|(_, f)| f.kind != Some(FileKind::Dir));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
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

/// Whether two paths are one file (same device and inode).
fn same_file(a: &FileFacts, b: &FileFacts) -> bool {
    a.dev_ino.is_some() && a.dev_ino == b.dev_ino
}

/// Tests every file of a selection, each file once however many paths
/// reach it. Returns (passed, actual, source).
pub fn test_files(
    sel: &Selection<'_>,
    attr: FileAttr,
    expected: &str,
) -> Result<(bool, String, String), String> {
    let shown = |path: &str, f: &FileFacts| -> Result<String, String> {
        Ok(match attr {
            FileAttr::Mode => f
                .mode
                .ok_or_else(|| format!("{path}: mode not collected"))?
                .to_string(),
            FileAttr::Owner => f
                .owner()
                .ok_or_else(|| format!("{path}: owner not collected"))?,
        })
    };
    // One entry per file: later paths to a file already listed are aliases.
    let mut files: Vec<(&str, &FileFacts, Vec<&str>)> = Vec::new();
    for (path, f) in &sel.files {
        match files.iter_mut().find(|(_, g, _)| same_file(f, g)) {
            Some((_, _, aliases)) => aliases.push(path),
            None => files.push((path, f, Vec::new())),
        }
    }
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for (path, f, aliases) in &files {
        let value = shown(path, f)?;
        let ok = match attr {
            FileAttr::Mode => {
                let limit = Mode::parse_octal(expected).ok_or("invalid mode in rule")?;
                f.mode.is_some_and(|m| m.is_at_most(limit))
            }
            FileAttr::Owner => owner_matches(f, expected),
        };
        let kind = if f.kind == Some(FileKind::Dir) {
            "/"
        } else {
            ""
        };
        let also = if aliases.is_empty() {
            String::new()
        } else {
            format!(" (also reached as {}: the same file)", aliases.join(", "))
        };
        let entry = format!("{}{kind} {value}{also}", f.located(path));
        if ok {
            good.push(entry)
        } else {
            bad.push(entry)
        }
    }
    let passed = bad.is_empty();
    let mut actual = if files.len() == 1 {
        bad.first().or(good.first()).cloned().unwrap_or_default()
    } else if passed {
        format!("all {} files comply: {}", files.len(), list(&good))
    } else {
        format!(
            "{} of {} files do not comply: {}",
            bad.len(),
            files.len(),
            list(&bad)
        )
    };
    for (path, f, why) in &sel.context {
        actual.push_str(&format!(
            "; {} {} ({why})",
            f.located(path),
            shown(path, f)?
        ));
    }
    let paths: Vec<String> = files
        .iter()
        .map(|(p, _, _)| p.to_string())
        .chain(sel.context.iter().map(|(p, _, _)| p.clone()))
        .collect();
    let mut source = format!("stat {}", list(&paths));
    for r in &sel.remarks {
        source.push_str(&format!("; {r}"));
    }
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
        let (ok, actual, _) = test_files(&Selection::of(set), FileAttr::Mode, "600").unwrap();
        assert!(!ok);
        assert_eq!(actual, "1 of 2 files do not comply: /k/b.key 0644");
    }

    #[test]
    fn a_file_reached_by_two_paths_counts_once() {
        let a = FileFacts {
            dev_ino: Some("64768:17".into()),
            ..file(0o644, "root", "root")
        };
        let set = vec![
            ("/usr/lib/x.conf".to_string(), &a),
            ("/lib/x.conf".to_string(), &a),
        ];
        let (ok, actual, _) = test_files(&Selection::of(set), FileAttr::Mode, "600").unwrap();
        assert!(!ok);
        assert_eq!(
            actual,
            "/usr/lib/x.conf 0644 (also reached as /lib/x.conf: the same file)"
        );
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
