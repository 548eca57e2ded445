//! Which files a file ref means on a given node (judging their mode and
//! owner is the engine's: `engine::files`).
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
use super::layout::{Launch, Layout};
use crate::facts::{ComponentKind, FileFacts, FileKind};

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
    pub fn of(files: FileSet<'a>) -> Selection<'a> {
        Selection {
            files,
            ..Default::default()
        }
    }
}

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

/// A unit file (`kubelet.service`) in a unit directory.
pub fn unit_file(dir: &str, unit: &str) -> String {
    format!("{dir}/{unit}")
}

/// A unit's drop-in directory in a unit directory.
pub fn dropin_dir(dir: &str, unit: &str) -> String {
    format!("{dir}/{unit}.d")
}

/// Why a component has no spec file of its own on this layout.
fn launch_text(layout: &Layout, kind: ComponentKind, launch: Launch) -> String {
    let by = layout
        .component(kind)
        .map(|c| c.by_text())
        .unwrap_or_else(|| "its supervisor".into());
    match launch {
        Launch::Supervised => format!(
            "{} starts {} from the {by} process, with flags: it has no unit, drop-in or manifest of its own",
            layout.title,
            kind.binary()
        ),
        Launch::Embedded => format!(
            "{} runs {} inside the {by} process: it has no unit, drop-in or manifest of its own",
            layout.title,
            kind.binary()
        ),
        Launch::Pod => format!(
            "{} runs {} as a DaemonSet's pod: its specification lives in the cluster, not in a file on the node",
            layout.title,
            kind.binary()
        ),
        Launch::StaticPod => format!("{} runs {} as a static pod", layout.title, kind.binary()),
        Launch::Systemd => format!(
            "{} runs {} as a systemd service",
            layout.title,
            kind.binary()
        ),
    }
}

/// What a file in a PKI directory holds, by its name: kubeadm's `*.crt` and
/// `*.key`, and the `*.pem` / `*-key.pem` pairs of cfssl and openssl
/// scripts (kubespray's etcd certificates: `member-<host>.pem` and
/// `member-<host>-key.pem`). Anything else (`sa.pub`, an encryption
/// config) is neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PemRole {
    Certificate,
    Key,
}

/// The role of a PKI file, from its name.
pub fn pki_role(path: &str) -> Option<PemRole> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".key") || name.ends_with("-key.pem") || name == "key.pem" {
        Some(PemRole::Key)
    } else if name.ends_with(".crt") || name.ends_with(".pem") {
        Some(PemRole::Certificate)
    } else {
        None
    }
}

/// Whether two paths are one file (same device and inode).
pub fn same_file(a: &FileFacts, b: &FileFacts) -> bool {
    a.dev_ino.is_some() && a.dev_ino == b.dev_ino
}

impl<'a> NodeCtx<'a> {
    /// Resolves a file ref to the existing files it names on this node.
    pub fn file_set(&self, r: FileRef) -> Resolution<FileSet<'a>> {
        self.select_files(r).map(|s| s.files)
    }

    /// Resolves a file ref, with the files reported beside it.
    pub fn select_files(&self, r: FileRef) -> Resolution<Selection<'a>> {
        match r {
            FileRef::KubeletService => self.service_files(ComponentKind::Kubelet, false),
            FileRef::Manifest(kind) => self.spec_files(kind),
            _ => self.plain_files(r).map(Selection::of),
        }
    }

    /// What defines how a component runs, for the "pod specification
    /// file" checks: its static-pod manifest, or, where the layout runs it
    /// as a systemd service, its unit, drop-ins and environment files.
    fn spec_files(&self, kind: ComponentKind) -> Resolution<Selection<'a>> {
        let layout = self.layout()?;
        let Some(c) = layout.component(kind) else {
            return Err(Unresolved::NotApplicable(format!(
                "{} does not run {} as a component of its own",
                layout.title,
                kind.binary()
            )));
        };
        // The manifest the collector found the component's pod in: what
        // the node really runs, whatever the layout's usual way is
        // (kubespray runs etcd from a manifest with `etcd_deployment_type:
        // kubeadm`, as a service otherwise).
        let observed = self
            .facts
            .component(kind)
            .and_then(|c| c.manifest.as_ref())
            .map(|m| m.path.clone());
        if let (Some(path), false) = (&observed, c.launch == Launch::StaticPod) {
            let mut sel = Selection::of(self.existing(
                std::slice::from_ref(path),
                &format!("no static-pod manifest for {}", kind.binary()),
            )?);
            sel.remarks.push(format!(
                "this node runs {} as a static pod ({path}), not as {}'s usual {}",
                kind.binary(),
                layout.title,
                c.launch.as_str()
            ));
            return Ok(sel);
        }
        match c.launch {
            Launch::StaticPod => {
                let path = observed.or_else(|| c.manifest.clone()).unwrap_or_default();
                self.existing(
                    &[path],
                    &format!("no static-pod manifest for {}", kind.binary()),
                )
                .map(Selection::of)
            }
            Launch::Systemd => self.service_files(kind, true),
            other => Err(Unresolved::NotApplicable(launch_text(layout, kind, other))),
        }
    }

    fn plain_files(&self, r: FileRef) -> Resolution<FileSet<'a>> {
        match r {
            FileRef::Cni => {
                let mut files = Vec::new();
                let mut looked = Vec::new();
                for dir in &self.layout()?.cni {
                    looked.push(dir.as_str());
                    files.extend(self.tree(dir, |_| true)?);
                }
                // The files, as CIS audits them (`find ... -type f`): a
                // directory in the tree (host-local's
                // /var/lib/cni/networks/<network>) needs its x bits and is
                // not a file to hold to 600.
                files.retain(|(_, f)| f.kind != Some(FileKind::Dir));
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
                &self.layout()?.admin_kubeconfigs,
                "no admin kubeconfig on this node",
            ),
            FileRef::SchedulerKubeconfig => {
                self.flag_path(ComponentKind::Scheduler, "--kubeconfig")
            }
            FileRef::ControllerManagerKubeconfig => {
                self.flag_path(ComponentKind::ControllerManager, "--kubeconfig")
            }
            FileRef::Pki => {
                let layout = self.layout()?;
                let mut all = Vec::new();
                for dir in &layout.pki {
                    let files = self.tree(dir, |_| true)?;
                    if !files.is_empty() {
                        all.extend(self.existing(std::slice::from_ref(dir), "")?);
                        all.extend(files);
                    }
                }
                if all.is_empty() {
                    return Err(Unresolved::NotApplicable(format!(
                        "{} does not exist",
                        layout.pki.join(" or ")
                    )));
                }
                Ok(all)
            }
            FileRef::PkiCrt | FileRef::PkiKey => {
                let want = if r == FileRef::PkiCrt {
                    PemRole::Certificate
                } else {
                    PemRole::Key
                };
                let layout = self.layout()?;
                let mut files = Vec::new();
                for dir in &layout.pki {
                    files.extend(self.tree(dir, |p| pki_role(p) == Some(want))?);
                }
                if files.is_empty() {
                    Err(Unresolved::NotApplicable(format!(
                        "no {} under {}",
                        match want {
                            PemRole::Certificate => "*.crt or *.pem certificate files",
                            PemRole::Key => "*.key or *-key.pem key files",
                        },
                        layout.pki.join(" or ")
                    )))
                } else {
                    Ok(files)
                }
            }
            FileRef::KubeletService | FileRef::Manifest(_) => self.select_files(r).map(|s| s.files),
            FileRef::KubeProxyKubeconfig => {
                let spec = crate::k8s::known::find_setting(
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
            FileRef::KubeletConfig => self.kubelet_config_files(),
            FileRef::KubeletClientCa => {
                let spec = crate::k8s::known::find_setting(
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

    /// The drop-ins systemd loads for a component's unit, or its unit file
    /// when it has none (see the module documentation); with `env`, the
    /// unit, its drop-ins and its environment files all together (what
    /// stands for a pod specification when the layout runs the component
    /// as a service).
    fn service_files(&self, kind: ComponentKind, env: bool) -> Resolution<Selection<'a>> {
        let layout = self.layout()?;
        let c = match layout.component(kind) {
            Some(c) if c.launch == Launch::Systemd => c,
            Some(c) => {
                return Err(Unresolved::NotApplicable(launch_text(
                    layout, kind, c.launch,
                )));
            }
            None => {
                return Err(Unresolved::NotApplicable(format!(
                    "{} does not run {} as a component of its own",
                    layout.title,
                    kind.binary()
                )));
            }
        };
        let unit_name = c.unit.clone().unwrap_or_default();
        // Drop-ins: one per file name, from the highest-priority directory;
        // a file already seen by another path is not looked at again.
        let mut chosen: Vec<(String, String, &'a FileFacts)> = Vec::new();
        let mut seen: Vec<(String, &'a FileFacts)> = Vec::new();
        let mut sel = Selection::default();
        for dir in SYSTEMD_UNIT_DIRS {
            let d = dropin_dir(dir, &unit_name);
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
            let path = unit_file(dir, &unit_name);
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
        if env {
            let mut files = dropins;
            if let Some((path, f)) = unit {
                files.insert(0, (path, f));
            }
            for e in &c.env_files {
                let f = self.file(e)?;
                if f.exists {
                    files.push((e.clone(), f));
                }
            }
            if files.is_empty() {
                return Err(Unresolved::NotApplicable(format!(
                    "no {unit_name} unit, drop-in or environment file: looked in {looked} and for {}",
                    c.env_files.join(", ")
                )));
            }
            sel.remarks.push(format!(
                "{} runs {} as the systemd service {unit_name}: its unit, drop-ins and environment files stand for a pod specification",
                layout.title,
                kind.binary()
            ));
            sel.files = files;
            return Ok(sel);
        }
        match (dropins.is_empty(), unit) {
            (false, Some((path, f))) => {
                sel.context.push((
                    path,
                    f,
                    format!(
                        "the unit file, not judged: CIS audits the drop-in that configures the {}",
                        kind.binary()
                    ),
                ));
                sel.files = dropins;
            }
            (false, None) => {
                sel.remarks
                    .push(format!("no {unit_name} unit file in {looked}"));
                sel.files = dropins;
            }
            (true, Some((path, f))) => {
                sel.remarks
                    .push(format!("no {unit_name}.d drop-in: the unit file is judged"));
                sel.files = vec![(path, f)];
            }
            (true, None) => {
                return Err(Unresolved::NotApplicable(format!(
                    "no {unit_name} unit or drop-in: looked for {unit_name} and {unit_name}.d/*.conf in {looked}"
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

    /// The kubelet's configuration files: the one `--config` names, and
    /// the `*.conf` drop-ins of `--config-dir`, which the kubelet reads
    /// after it (k3s since 1.32 passes only `--config-dir`, with
    /// `00-k3s-defaults.conf` in it).
    fn kubelet_config_files(&self) -> Resolution<FileSet<'a>> {
        let (comp, args) = self.running(ComponentKind::Kubelet)?;
        let config = args.value("--config").filter(|p| !p.is_empty());
        let dir = args.value("--config-dir").filter(|p| !p.is_empty());
        let mut out = match config {
            Some(_) => self.flag_path(ComponentKind::Kubelet, "--config")?,
            None => Vec::new(),
        };
        if let Some(d) = dir {
            out.extend(self.dropins(d.trim_end_matches('/'))?);
        }
        if out.is_empty() {
            return Err(Unresolved::NotApplicable(match (config, dir) {
                (None, None) => format!(
                    "kubelet runs without --config or --config-dir{}",
                    comp.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                ),
                _ => format!(
                    "the kubelet's --config-dir {} holds no *.conf drop-in",
                    dir.unwrap_or("")
                ),
            }));
        }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAttr {
    Mode,
    Owner,
}

/// A file, or set of files, CIS names. Resolution to paths (from flags,
/// manifests and well-known locations) is the engine's job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileRef {
    Manifest(ComponentKind),
    Cni,
    EtcdDataDir,
    AdminConf,
    SchedulerKubeconfig,
    ControllerManagerKubeconfig,
    Pki,
    PkiCrt,
    PkiKey,
    KubeletService,
    KubeProxyKubeconfig,
    KubeletKubeconfig,
    KubeletClientCa,
    KubeletConfig,
}

impl FileRef {
    pub const ALL: [FileRef; 17] = [
        FileRef::Manifest(ComponentKind::ApiServer),
        FileRef::Manifest(ComponentKind::ControllerManager),
        FileRef::Manifest(ComponentKind::Scheduler),
        FileRef::Manifest(ComponentKind::Etcd),
        FileRef::Cni,
        FileRef::EtcdDataDir,
        FileRef::AdminConf,
        FileRef::SchedulerKubeconfig,
        FileRef::ControllerManagerKubeconfig,
        FileRef::Pki,
        FileRef::PkiCrt,
        FileRef::PkiKey,
        FileRef::KubeletService,
        FileRef::KubeProxyKubeconfig,
        FileRef::KubeletKubeconfig,
        FileRef::KubeletClientCa,
        FileRef::KubeletConfig,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileRef::Manifest(ComponentKind::ApiServer) => "apiserver.manifest",
            FileRef::Manifest(ComponentKind::ControllerManager) => "controller-manager.manifest",
            FileRef::Manifest(ComponentKind::Scheduler) => "scheduler.manifest",
            FileRef::Manifest(ComponentKind::Etcd) => "etcd.manifest",
            FileRef::Manifest(ComponentKind::Kubelet) => "kubelet.manifest",
            FileRef::Manifest(ComponentKind::KubeProxy) => "kube-proxy.manifest",
            FileRef::Cni => "cni",
            FileRef::EtcdDataDir => "etcd.data-dir",
            FileRef::AdminConf => "admin.conf",
            FileRef::SchedulerKubeconfig => "scheduler.kubeconfig",
            FileRef::ControllerManagerKubeconfig => "controller-manager.kubeconfig",
            FileRef::Pki => "pki",
            FileRef::PkiCrt => "pki.crt",
            FileRef::PkiKey => "pki.key",
            FileRef::KubeletService => "kubelet.service",
            FileRef::KubeProxyKubeconfig => "kube-proxy.kubeconfig",
            FileRef::KubeletKubeconfig => "kubelet.kubeconfig",
            FileRef::KubeletClientCa => "kubelet.client-ca",
            FileRef::KubeletConfig => "kubelet.config",
        }
    }

    pub fn parse(s: &str) -> Option<FileRef> {
        FileRef::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What the file is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            FileRef::Manifest(ComponentKind::ApiServer) => "kube-apiserver static-pod manifest",
            FileRef::Manifest(ComponentKind::ControllerManager) => {
                "kube-controller-manager static-pod manifest"
            }
            FileRef::Manifest(ComponentKind::Scheduler) => "kube-scheduler static-pod manifest",
            FileRef::Manifest(ComponentKind::Etcd) => "etcd static-pod manifest",
            FileRef::Manifest(_) => "static-pod manifest",
            FileRef::Cni => "CNI configuration files",
            FileRef::EtcdDataDir => "etcd data directory",
            FileRef::AdminConf => "admin kubeconfig files",
            FileRef::SchedulerKubeconfig => "kube-scheduler kubeconfig",
            FileRef::ControllerManagerKubeconfig => "kube-controller-manager kubeconfig",
            FileRef::Pki => "Kubernetes PKI directory and files",
            FileRef::PkiCrt => "Kubernetes PKI certificate files",
            FileRef::PkiKey => "Kubernetes PKI key files",
            FileRef::KubeletService => "kubelet systemd unit files",
            FileRef::KubeProxyKubeconfig => "kube-proxy kubeconfig",
            FileRef::KubeletKubeconfig => "kubelet kubeconfig",
            FileRef::KubeletClientCa => "kubelet client CA file",
            FileRef::KubeletConfig => "kubelet config file",
        }
    }
}
