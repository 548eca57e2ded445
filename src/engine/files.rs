//! Testing the mode and owner of the files a file ref resolved to
//! (`k8s::files`), each file once however many paths reach it.

use crate::facts::{FileFacts, FileKind, Mode};
use crate::k8s::files::{FileAttr, Selection, same_file};

/// Most files listed by name in evidence; the rest are counted.
const LIST_MAX: usize = 8;

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
