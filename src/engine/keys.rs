//! Keys and rotation: kubeharden's own checks of how old the keys that
//! protect the cluster are, and whether rotation really happens.
//!
//! | id | warns when |
//! |---|---|
//! | `keys.encryption` | the API server's EncryptionConfiguration has not changed for longer than `key_max_age_days` while a local key (aescbc, aesgcm, secretbox) is active; or old keys are still listed more than `old_key_grace_days` after its last change |
//! | `keys.service-account` | the service-account signing key file is older than `key_max_age_days` |
//! | `keys.ca` | a CA in use has fewer than `ca_warn_days` left |
//! | `keys.kubelet-rotation` | the kubelet rotates its certificates, but the current one is past 90 % of its validity (client-go rotates at 70–90 %) |
//!
//! Only metadata is used: key names (the secrets were redacted on the
//! node), file modification times, certificate dates. Nothing here reads a
//! clock: "now" is [`KeyOptions::now`].

use crate::certs::CertInfo;
use crate::facts::ComponentKind;
use crate::k8s::effective::{NodeCtx, Unresolved};
use crate::k8s::keys::{ProviderKind, store_stamp};
use crate::util::cap;
use crate::verdict::{Finding, KeyInfo, Status};

use super::{EVIDENCE_CAP, own_finding};

/// Thresholds for the key checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyOptions {
    pub now: i64,
    pub key_max_age_days: i64,
    pub old_key_grace_days: i64,
    pub ca_warn_days: i64,
}

const DAY: i64 = 86_400;

use crate::util::rfc3339;

fn day(t: i64) -> String {
    rfc3339(t)[..10].to_string()
}

fn finding(id: &str, status: Status) -> Finding {
    own_finding(id, status)
}

fn unresolved(id: &str, u: Unresolved, expected: String) -> Finding {
    let (status, reason) = match u {
        Unresolved::NotApplicable(r) => (Status::Skip, format!("not applicable: {r}")),
        Unresolved::Unreadable(r) => (Status::Error, r),
    };
    Finding {
        reason: Some(cap(&reason, EVIDENCE_CAP)),
        expected,
        ..finding(id, status)
    }
}

/// The key table's order, the same for one scan and for merged partial
/// scans: by node name, and within a node in the order the node lists its
/// keys (an encryption provider's first key is the one that writes, so that
/// order is kept rather than sorted by name).
pub fn order_rows(rows: &mut [KeyInfo]) {
    rows.sort_by(|a, b| a.node.cmp(&b.node));
}

/// The key findings of one node, and its rows of the keys table.
pub fn key_findings(ctx: &NodeCtx<'_>, opts: KeyOptions) -> (Vec<Finding>, Vec<KeyInfo>) {
    let mut rows = Vec::new();
    let node = ctx.facts.node.name.clone();
    let mut row = |kind: &str, name: &str, role: &str, path: &str| KeyInfo {
        node: node.clone(),
        kind: kind.into(),
        name: cap(name, 256),
        role: role.into(),
        path: cap(path, 512),
        since: None,
        age_days: None,
        not_after: None,
        days_left: None,
    };
    let out = vec![
        encryption(ctx, opts, &mut rows, &mut row),
        service_account(ctx, opts, &mut rows, &mut row),
        cas(ctx, opts, &mut rows, &mut row),
        kubelet_rotation(ctx, opts, &mut rows, &mut row),
    ];
    (out, rows)
}

type RowFn<'r> = dyn FnMut(&str, &str, &str, &str) -> KeyInfo + 'r;

fn dated(mut r: KeyInfo, since: Option<i64>, now: i64) -> KeyInfo {
    if let Some(t) = since {
        r.since = Some(rfc3339(t));
        r.age_days = Some(now.saturating_sub(t).div_euclid(DAY));
    }
    r
}

fn encryption(
    ctx: &NodeCtx<'_>,
    o: KeyOptions,
    rows: &mut Vec<KeyInfo>,
    row: &mut RowFn<'_>,
) -> Finding {
    const ID: &str = "keys.encryption";
    let expected = format!(
        "the active encryption key replaced within {} days (--key-max-age); old keys dropped within {} days of a rotation (--old-key-grace-days)",
        o.key_max_age_days, o.old_key_grace_days
    );
    let cfg = match ctx.encryption_config() {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Finding {
                reason: Some(
                    "not applicable: kube-apiserver runs without --encryption-provider-config, so Secrets are stored unencrypted and there is no key to rotate (1.2.27 judges that)"
                        .into(),
                ),
                expected,
                source: "kube-apiserver command line".into(),
                ..finding(ID, Status::Skip)
            };
        }
        Err(u) => return unresolved(ID, u, expected),
    };
    let source = format!(
        "{}: providers and key names (secrets redacted on the node), and the file's modification time",
        cfg.shown
    );
    let Some(mtime) = cfg.file.mtime else {
        return Finding {
            reason: Some(format!(
                "the modification time of {} was not collected (facts saved by an older kubeharden?), so when the keys last changed is not known",
                cfg.shown
            )),
            expected,
            source,
            ..finding(ID, Status::Error)
        };
    };
    let age = o.now.saturating_sub(mtime).div_euclid(DAY);
    let mut described = Vec::new();
    let mut too_old = Vec::new();
    let mut lingering = Vec::new();
    let mut kms = Vec::new();
    let mut unencrypted = Vec::new();
    for e in &cfg.entries {
        let what = format!("resources[{}] ({})", e.index, e.resources.join(", "));
        let at = format!("{} resources[{}]", cfg.shown, e.index);
        let Some((p, key)) = e.active() else {
            continue;
        };
        let old = e.old_keys();
        described.push(format!(
            "{what}: writes with {}{}{}",
            p.kind.as_str(),
            key.map(|k| format!(" key {k}")).unwrap_or_default(),
            if old.is_empty() {
                String::new()
            } else {
                format!(", also lists {}", old.join(", "))
            }
        ));
        match &p.kind {
            k if k.local_keys() => {
                let name = key.unwrap_or("(no key)");
                rows.push(dated(
                    row("encryption", name, "active", &at),
                    Some(mtime),
                    o.now,
                ));
                if age > o.key_max_age_days {
                    too_old.push(format!("{name} ({} of {what})", k.as_str()));
                }
            }
            k if k.is_kms() => {
                let name = key.unwrap_or("(unnamed plugin)");
                rows.push(row("encryption", name, "kms", &at));
                kms.push(format!(
                    "{what}: {} plugin {name} keeps its key outside the file{}",
                    k.as_str(),
                    if *k == ProviderKind::KmsV1 {
                        " (KMS v1 is deprecated: move to v2, which rotates its key itself)"
                    } else {
                        ""
                    }
                ));
            }
            _ => unencrypted.push(format!("{what}: written unencrypted ({})", p.kind.as_str())),
        }
        for k in &old {
            rows.push(row("encryption", k, "old", &at));
        }
        if !old.is_empty() && age > o.old_key_grace_days {
            lingering.push(format!("{} in {what}", old.join(", ")));
        }
    }
    let mut actual = vec![format!(
        "{} last changed {} ({age} days ago)",
        cfg.shown,
        day(mtime)
    )];
    actual.extend(described);
    actual.extend(kms.iter().cloned());
    let mut f = finding(ID, Status::Pass);
    f.expected = expected;
    f.source = cap(&source, EVIDENCE_CAP);
    if !too_old.is_empty() {
        f.status = Status::Warn;
        actual.push(format!(
            "active key not rotated for {age} days, more than {}: {}",
            o.key_max_age_days,
            too_old.join("; ")
        ));
    }
    if !lingering.is_empty() {
        f.status = Status::Warn;
        actual.push(format!(
            "old keys still listed {age} days after the last change (more than {}): {}; once Secrets are re-encrypted (kubectl get secrets -A -o json | kubectl replace -f -), drop them",
            o.old_key_grace_days,
            lingering.join("; ")
        ));
    }
    if f.status == Status::Pass && too_old.is_empty() && rows_local(&cfg.entries) == 0 {
        // Nothing in the file to age: KMS or identity only.
        if kms.is_empty() {
            f.status = Status::Skip;
            f.reason = Some(format!(
                "not applicable: no resource is written with a key ({}); 1.2.27 and 1.2.28 judge that",
                unencrypted.join("; ")
            ));
        }
    }
    f.actual = cap(&actual.join("; "), EVIDENCE_CAP);
    f
}

fn rows_local(entries: &[crate::k8s::keys::EncryptionEntry]) -> usize {
    entries
        .iter()
        .filter(|e| e.active().is_some_and(|(p, _)| p.kind.local_keys()))
        .count()
}

/// The keys a public-key file holds, from the labels of its PEM blocks
/// (the API server reads keys and certificates from it:
/// client-go `util/keyutil.ParsePublicKeysPEM`).
fn pem_keys(labels: &[String]) -> usize {
    labels
        .iter()
        .filter(|l| l.ends_with("KEY") || l.as_str() == "CERTIFICATE")
        .count()
}

fn service_account(
    ctx: &NodeCtx<'_>,
    o: KeyOptions,
    rows: &mut Vec<KeyInfo>,
    row: &mut RowFn<'_>,
) -> Finding {
    const ID: &str = "keys.service-account";
    let expected = format!(
        "the service-account signing key replaced within {} days (--key-max-age), the old public key kept for verification meanwhile",
        o.key_max_age_days
    );
    let (comp, args) = match ctx.running(ComponentKind::ApiServer) {
        Ok(r) => r,
        Err(u) => return unresolved(ID, u, expected),
    };
    let mut files: Vec<(&str, String)> = Vec::new();
    if let Some(p) = args.value("--service-account-signing-key-file") {
        files.push(("signing", p.to_string()));
    }
    for p in args
        .value("--service-account-key-file")
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        files.push(("verification", p.to_string()));
    }
    let source = format!(
        "--service-account-signing-key-file and --service-account-key-file on kube-apiserver{}; file modification times (the keys are never read)",
        comp.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    );
    if files.is_empty() {
        return Finding {
            reason: Some("kube-apiserver names no service-account key file".into()),
            expected,
            source,
            ..finding(ID, Status::Error)
        };
    }
    let mut actual = Vec::new();
    let mut problems = Vec::new();
    let mut old_signing = Vec::new();
    let mut verification_keys = 0usize;
    let mut signing_age: Option<i64> = None;
    for (role, path) in &files {
        let shown = ctx.shown_path(path);
        let f = match ctx.file(path) {
            Ok(f) if f.exists => f,
            Ok(_) => {
                problems.push(format!("{shown} does not exist"));
                continue;
            }
            Err(Unresolved::Unreadable(r) | Unresolved::NotApplicable(r)) => {
                problems.push(r);
                continue;
            }
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        rows.push(dated(
            row("service-account", name, role, path),
            f.mtime,
            o.now,
        ));
        let Some(mtime) = f.mtime else {
            problems.push(format!(
                "the modification time of {shown} was not collected"
            ));
            continue;
        };
        let age = o.now.saturating_sub(mtime).div_euclid(DAY);
        let count = f.pem_blocks.as_deref().map(pem_keys).filter(|n| *n > 0);
        if *role == "verification" {
            verification_keys += count.unwrap_or(1);
        }
        actual.push(format!(
            "{role} key {shown} last changed {} ({age} days ago){}",
            day(mtime),
            count
                .map(|n| format!(", {n} key{}", if n == 1 { "" } else { "s" }))
                .unwrap_or_default()
        ));
        if *role == "signing" {
            signing_age = Some(age);
            if age > o.key_max_age_days {
                old_signing.push(format!("{shown}: {age} days"));
            }
        }
    }
    if !problems.is_empty() {
        return Finding {
            reason: Some(cap(&problems.join("; "), EVIDENCE_CAP)),
            expected,
            actual: cap(&actual.join("; "), EVIDENCE_CAP),
            source,
            ..finding(ID, Status::Error)
        };
    }
    if verification_keys > 1 {
        actual.push(format!(
            "{verification_keys} verification keys: a rotation is in progress or done (tokens signed by any of them are accepted; drop the old one once its tokens have expired)"
        ));
    }
    // Without a signing-key flag, the single key file is both.
    if signing_age.is_none() && verification_keys <= 1 {
        for (_, path) in &files {
            if let Some(m) = ctx.facts.files.get(path).and_then(|f| f.mtime) {
                let age = o.now.saturating_sub(m).div_euclid(DAY);
                if age > o.key_max_age_days {
                    old_signing.push(format!("{}: {age} days", ctx.shown_path(path)));
                }
            }
        }
    }
    let mut f = finding(ID, Status::Pass);
    if !old_signing.is_empty() {
        f.status = Status::Warn;
        actual.push(format!(
            "signing key older than {} days: {} (kubeadm never rotates sa.key)",
            o.key_max_age_days,
            old_signing.join("; ")
        ));
    }
    f.expected = expected;
    f.actual = cap(&actual.join("; "), EVIDENCE_CAP);
    f.source = source;
    f
}

fn cas(ctx: &NodeCtx<'_>, o: KeyOptions, rows: &mut Vec<KeyInfo>, row: &mut RowFn<'_>) -> Finding {
    const ID: &str = "keys.ca";
    let expected = format!(
        "every CA in use valid for at least {} more days (--ca-warn-days): replacing a CA takes a long lead time",
        o.ca_warn_days
    );
    let (certs, _) = super::certs::node_certs(ctx);
    // One entry per CA, with every file it is in; a component's
    // self-generated CA is tls.served-cert's business.
    let mut seen: Vec<(&CertInfo, Vec<&str>)> = Vec::new();
    for (path, c) in &certs {
        if !c.is_ca || path.contains("self-generated") {
            continue;
        }
        match seen
            .iter_mut()
            .find(|(s, _)| s.serial == c.serial && s.subject == c.subject)
        {
            // Named by a file of its own rather than a kubeconfig's copy.
            Some((_, paths)) if paths[0].contains('#') && !path.contains('#') => {
                paths.insert(0, path)
            }
            Some((_, paths)) => paths.push(path),
            None => seen.push((c, vec![path])),
        }
    }
    if seen.is_empty() {
        return Finding {
            reason: Some("not applicable: no CA certificate was collected on this node".into()),
            expected,
            ..finding(ID, Status::Skip)
        };
    }
    // What each CA is for, where the layout says (its cluster and etcd
    // CA files) or kubeadm's name says (front-proxy-ca).
    let layout = ctx.layout().ok();
    let kind_of = |paths: &[&str]| -> Option<&'static str> {
        let has = |list: &[String]| paths.iter().any(|p| list.iter().any(|l| l == p));
        match layout {
            Some(l) if has(&l.cluster_ca) => Some("cluster CA"),
            Some(l) if has(&l.etcd_ca) => Some("etcd CA"),
            _ if paths.iter().any(|p| p.contains("front-proxy-ca")) => Some("front-proxy CA"),
            _ => None,
        }
    };
    let mut actual = Vec::new();
    let mut soon = Vec::new();
    for (c, paths) in &seen {
        let left = c.days_left(o.now);
        let age = o.now.saturating_sub(c.not_before).div_euclid(DAY);
        let kind = kind_of(paths);
        let mut r = dated(
            row(
                "ca",
                &c.subject,
                kind.unwrap_or(if c.self_issued {
                    "root"
                } else {
                    "intermediate"
                }),
                paths[0],
            ),
            Some(c.not_before),
            o.now,
        );
        r.not_after = Some(rfc3339(c.not_after));
        r.days_left = Some(left);
        rows.push(r);
        let text = format!(
            "{}{} ({}{}): issued {} ({age} days ago), ends {} ({left} days left)",
            c.subject,
            kind.map(|k| format!(", the {k}")).unwrap_or_default(),
            paths[0],
            if paths.len() > 1 {
                format!(" and {} more", paths.len() - 1)
            } else {
                String::new()
            },
            day(c.not_before),
            day(c.not_after)
        );
        if left < o.ca_warn_days {
            soon.push(text.clone());
        }
        actual.push(text);
    }
    let mut f = finding(
        ID,
        if soon.is_empty() {
            Status::Pass
        } else {
            Status::Warn
        },
    );
    if !soon.is_empty() {
        actual.insert(
            0,
            format!("fewer than {} days left: {}", o.ca_warn_days, soon.len()),
        );
    }
    f.expected = expected;
    f.actual = cap(&actual.join("; "), EVIDENCE_CAP);
    f.source = format!(
        "{} CA certificate{} collected on the node (certificate dates)",
        seen.len(),
        if seen.len() == 1 { "" } else { "s" }
    );
    f
}

fn kubelet_rotation(
    ctx: &NodeCtx<'_>,
    o: KeyOptions,
    rows: &mut Vec<KeyInfo>,
    row: &mut RowFn<'_>,
) -> Finding {
    const ID: &str = "keys.kubelet-rotation";
    let expected = "where the kubelet rotates its certificates (rotateCertificates, serverTLSBootstrap), the current one younger than 90% of its validity: client-go rotates at 70-90%".to_string();
    let (comp, args) = match ctx.running(ComponentKind::Kubelet) {
        Ok(r) => r,
        Err(u) => return unresolved(ID, u, expected),
    };
    let setting = |path: &str| {
        crate::k8s::known::find_setting(ComponentKind::Kubelet, path)
            .map(|spec| ctx.setting(ComponentKind::Kubelet, spec))
    };
    let on = |path: &str| -> Result<(bool, String), Unresolved> {
        match setting(path) {
            Some(Ok(obs)) => Ok((
                obs.value
                    .as_ref()
                    .is_some_and(|v| v.text().eq_ignore_ascii_case("true")),
                format!("{path}: {} ({})", obs.describe(), obs.source),
            )),
            Some(Err(u)) => Err(u),
            None => Ok((false, format!("{path}: not known"))),
        }
    };
    // --cert-dir, else the layout's, else the kubelet's documented
    // default (cmd/kubelet/app/options: --cert-dir /var/lib/kubelet/pki).
    let dir = args
        .value("--cert-dir")
        .map(|d| d.trim_end_matches('/').to_string())
        .or_else(|| {
            ctx.layout()
                .ok()
                .and_then(|l| l.component(ComponentKind::Kubelet))
                .and_then(|c| c.pki.clone())
        })
        .unwrap_or_else(|| "/var/lib/kubelet/pki".to_string());
    let mut actual = Vec::new();
    let mut sources = vec![format!(
        "kubelet{}; {dir} (file names and certificate dates)",
        comp.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )];
    let mut stores = Vec::new();
    for (setting_path, prefix, kind) in [
        ("rotateCertificates", "kubelet-client", "kubelet-client"),
        ("serverTLSBootstrap", "kubelet-server", "kubelet-serving"),
    ] {
        match on(setting_path) {
            Ok((true, s)) => {
                sources.push(s);
                stores.push((prefix, kind));
            }
            Ok((false, s)) => sources.push(s),
            Err(u) => return unresolved(ID, u, expected),
        }
    }
    if stores.is_empty() {
        return Finding {
            reason: Some(
                "not applicable: the kubelet rotates neither its client nor its serving certificate (4.2.11 and 4.2.10 judge that)"
                    .into(),
            ),
            expected,
            source: cap(&sources.join("; "), EVIDENCE_CAP),
            ..finding(ID, Status::Skip)
        };
    }
    let (certs, _) = super::certs::node_certs(ctx);
    let entries: Vec<String> = ctx
        .facts
        .files
        .get(&dir)
        .and_then(|d| d.entries.clone())
        .unwrap_or_default();
    let mut stale = Vec::new();
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    let wanted = stores.len();
    for (prefix, kind) in stores {
        let current = format!("{dir}/{prefix}-current.pem");
        let mut history: Vec<(i64, String)> = entries
            .iter()
            .filter_map(|p| {
                let name = p.rsplit('/').next()?;
                store_stamp(name, prefix).map(|t| (t, name.to_string()))
            })
            .collect();
        history.sort();
        for (t, name) in &history {
            rows.push(dated(
                row(kind, name, "earlier", &format!("{dir}/{name}")),
                Some(*t),
                o.now,
            ));
        }
        let Some((_, cert)) = certs.iter().find(|(p, _)| *p == current) else {
            match ctx.facts.files.get(&current) {
                Some(f) if f.exists => problems.push(format!(
                    "{current} exists but its certificate was not collected"
                )),
                _ => {
                    // The kubelet's certificate manager starts from the
                    // certificate its kubeconfig names and writes the
                    // store at its first rotation: nothing to date yet.
                    skipped.push(format!(
                        "{current} does not exist: the kubelet has not rotated its {} certificate yet and still uses the one its kubeconfig (or --tls-cert-file) names",
                        if kind == "kubelet-client" { "client" } else { "serving" }
                    ));
                }
            }
            continue;
        };
        let validity = (cert.not_after - cert.not_before).max(1);
        let age = o.now.saturating_sub(cert.not_before);
        let pct = age * 100 / validity;
        let mut r = dated(
            row(kind, &cert.subject, "current", &current),
            Some(cert.not_before),
            o.now,
        );
        r.not_after = Some(rfc3339(cert.not_after));
        r.days_left = Some(cert.days_left(o.now));
        rows.push(r);
        let earlier = if history.is_empty() {
            "no dated certificate files".to_string()
        } else {
            format!(
                "{} dated certificate file{}, the newest {}",
                history.len(),
                if history.len() == 1 { "" } else { "s" },
                history.last().map(|(_, n)| n.as_str()).unwrap_or("")
            )
        };
        let text = format!(
            "{current}: issued {} ({} days ago), valid {} days, {pct}% used; {earlier}",
            day(cert.not_before),
            age.div_euclid(DAY),
            validity / DAY
        );
        if pct >= 90 {
            stale.push(format!(
                "{text}: rotation is configured but not happening{}",
                if history.len() > 1 {
                    " (it happened before: see the earlier files)"
                } else {
                    ""
                }
            ));
        } else {
            actual.push(text);
        }
    }
    let source = cap(&sources.join("; "), EVIDENCE_CAP);
    if !problems.is_empty() {
        return Finding {
            reason: Some(cap(&problems.join("; "), EVIDENCE_CAP)),
            expected,
            actual: cap(&actual.join("; "), EVIDENCE_CAP),
            source,
            ..finding(ID, Status::Error)
        };
    }
    if skipped.len() == wanted {
        return Finding {
            reason: Some(cap(
                &format!("not applicable: {}", skipped.join("; ")),
                EVIDENCE_CAP,
            )),
            expected,
            source,
            ..finding(ID, Status::Skip)
        };
    }
    let status = if stale.is_empty() {
        Status::Pass
    } else {
        Status::Warn
    };
    actual.extend(skipped);
    stale.extend(actual);
    Finding {
        expected,
        actual: cap(&stale.join("; "), EVIDENCE_CAP),
        source,
        ..finding(ID, status)
    }
}
