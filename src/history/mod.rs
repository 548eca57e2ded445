//! The run history (`--store`): every run of `scan` and `eval` recorded in
//! a database, SQLite (an embedded file, the default) or PostgreSQL (a
//! shared server), through one schema with versioned migrations
//! ([`schema`]). From it come each finding's age, what is new and fixed
//! since the previous run, trends, and any past run rendered again.
//!
//! It sits above the verdict model and the renderers: it reads reports
//! and fills their `history` parts; nothing below uses it.
//! docs/history.md describes the tables and how much a run adds.

pub mod db;
mod read;
mod record;
pub mod render;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use read::{FindingHistory, Point, Prune, RunSummary, Streak, Trend, TrendRun};

use crate::verdict::{Report, Status};
use db::Conn;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("--store {0:?}: not a store (use sqlite:PATH, a file path, or postgres://...)")]
    BadUrl(String),
    #[error("{store}: cannot open the history store: {message}")]
    Open { store: String, message: String },
    #[error(
        "{store}: the history store's schema is version {found}, newer than this kubeharden knows (version {known}); use the newer kubeharden that wrote it, or another --store"
    )]
    NewerSchema {
        store: String,
        found: i64,
        known: i64,
    },
    #[error("history store: {what}: {message}")]
    Db { what: String, message: String },
    #[error("history store: unreadable content: {0}")]
    Corrupt(String),
    #[error("history store: no run {0} (see `kubeharden history list`)")]
    NoRun(i64),
    #[error("history store holds several clusters ({0}): choose one with --cluster")]
    WhichCluster(String),
    #[error("history store: report time {0:?} is not RFC 3339")]
    BadTime(String),
    #[error("run {run} was recorded, but reading its history back failed: {source}")]
    Annotate {
        run: i64,
        #[source]
        source: Box<HistoryError>,
    },
}

/// Findings that count as open: they did not hold, could not be shown to,
/// or were accepted by a waiver for now.
pub fn is_open(s: Status) -> bool {
    matches!(
        s,
        Status::Fail | Status::Error | Status::Warn | Status::Waived
    )
}

/// The cluster a report is recorded under: its `--cluster-name`, or ""
/// (an unnamed cluster).
pub fn cluster_key(report: &Report) -> String {
    report.cluster.name.clone().unwrap_or_default()
}

fn unix_of(rfc3339: &str) -> Result<i64, HistoryError> {
    humantime::parse_rfc3339_weak(rfc3339)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .ok_or_else(|| HistoryError::BadTime(rfc3339.to_string()))
}

/// Where the default store lives: `$XDG_DATA_HOME/kubeharden/history.db`,
/// else `~/.local/share/kubeharden/history.db`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/share")
        }
    };
    Some(base.join("kubeharden").join("history.db"))
}

/// Where a `--store` value points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(s: &str) -> Result<Location, HistoryError> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Location::Postgres(s.to_string()))
        } else if let Some(p) = s.strip_prefix("sqlite://") {
            Ok(Location::Sqlite(PathBuf::from(p)))
        } else if let Some(p) = s.strip_prefix("sqlite:") {
            if p.is_empty() {
                return Err(HistoryError::BadUrl(s.to_string()));
            }
            Ok(Location::Sqlite(PathBuf::from(p)))
        } else if s.is_empty() || s.contains("://") {
            Err(HistoryError::BadUrl(s.to_string()))
        } else {
            Ok(Location::Sqlite(PathBuf::from(s)))
        }
    }

    /// How errors name the store: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite:{}", p.display()),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A PostgreSQL URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = match auth.rsplit_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    // A password may also come as a query parameter.
    if let Some(i) = out.find("password=") {
        let end = out[i..].find('&').map(|e| i + e).unwrap_or(out.len());
        out.replace_range(i..end, "password=***");
    }
    out
}

/// An open store, migrated to this build's schema.
pub struct Store {
    conn: Conn,
    name: String,
}

/// How long a writer waits for another one to finish (SQLite).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

fn open_sqlite(path: &Path, name: &str) -> Result<Conn, HistoryError> {
    let fail = |message: String| HistoryError::Open {
        store: name.to_string(),
        message,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    let c = rusqlite::Connection::open(path).map_err(|e| fail(e.to_string()))?;
    c.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| fail(e.to_string()))?;
    // WAL: readers never wait for the writer, and a writer killed half-way
    // leaves frames that no commit marks, which the next open ignores.
    let mode: String = c
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| fail(e.to_string()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(fail(format!(
            "cannot use write-ahead logging (journal mode {mode})"
        )));
    }
    c.execute_batch("PRAGMA synchronous = NORMAL")
        .map_err(|e| fail(e.to_string()))?;
    Ok(Conn::Sqlite(c))
}

fn open_postgres(url: &str, name: &str) -> Result<Conn, HistoryError> {
    let c = postgres::Client::connect(url, postgres::NoTls).map_err(|e| HistoryError::Open {
        store: name.to_string(),
        message: e.to_string(),
    })?;
    Ok(Conn::Postgres(Box::new(c)))
}

impl Store {
    /// Opens (creating a new SQLite file) and migrates the store.
    pub fn open(location: &Location) -> Result<Store, HistoryError> {
        let name = location.display();
        let mut conn = match location {
            Location::Sqlite(p) => open_sqlite(p, &name)?,
            Location::Postgres(url) => open_postgres(url, &name)?,
        };
        schema::migrate(&mut conn, &name).map_err(|e| match e {
            HistoryError::Db { what, message } => HistoryError::Open {
                store: name.clone(),
                message: format!("{what}: {message}"),
            },
            other => other,
        })?;
        Ok(Store { conn, name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema version the store is at.
    pub fn schema_version(&mut self) -> Result<i64, HistoryError> {
        let rows = self.conn.query(
            "SELECT value FROM kh_meta WHERE name = 'schema_version'",
            &[],
        )?;
        Ok(rows
            .first()
            .and_then(|r| r[0].text())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0))
    }

    /// Records the report as a new run, in one transaction (all of it or
    /// nothing), then fills its finding ages and `history`. Returns the
    /// run id.
    pub fn record(&mut self, report: &mut Report) -> Result<i64, HistoryError> {
        self.conn.begin_write()?;
        let id = match record::record_in(&mut self.conn, report) {
            Ok(id) => id,
            Err(e) => {
                self.conn.rollback();
                return Err(e);
            }
        };
        self.conn.commit()?;
        read::annotate(&mut self.conn, report, id).map_err(|e| HistoryError::Annotate {
            run: id,
            source: Box::new(e),
        })?;
        Ok(id)
    }

    /// Runs, newest first.
    pub fn list(
        &mut self,
        cluster: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunSummary>, HistoryError> {
        read::list(&mut self.conn, cluster, limit.min(i64::MAX as usize) as i64)
    }

    /// Run `id` as the report it was, with its ages and changes.
    pub fn show(&mut self, id: i64) -> Result<Report, HistoryError> {
        read::show(&mut self.conn, id)
    }

    pub fn trend(&mut self, cluster: Option<&str>) -> Result<Trend, HistoryError> {
        let c = self.cluster(cluster)?;
        read::trend(&mut self.conn, &c)
    }

    pub fn finding(
        &mut self,
        cluster: Option<&str>,
        id: &str,
        node: Option<&str>,
    ) -> Result<FindingHistory, HistoryError> {
        let c = self.cluster(cluster)?;
        read::finding(&mut self.conn, &c, id, node)
    }

    /// Removes runs (of one cluster, or of each); returns how many.
    pub fn prune(&mut self, cluster: Option<&str>, how: Prune) -> Result<usize, HistoryError> {
        self.conn.begin_write()?;
        match read::prune_in(&mut self.conn, cluster, how) {
            Ok(n) => {
                self.conn.commit()?;
                Ok(n)
            }
            Err(e) => {
                self.conn.rollback();
                Err(e)
            }
        }
    }

    pub fn clusters(&mut self) -> Result<Vec<String>, HistoryError> {
        read::clusters(&mut self.conn)
    }

    /// The cluster a history command is about: the one given, else the
    /// only one the store holds.
    fn cluster(&mut self, given: Option<&str>) -> Result<String, HistoryError> {
        if let Some(c) = given {
            return Ok(c.to_string());
        }
        let all = self.clusters()?;
        match all.len() {
            0 => Ok(String::new()),
            1 => Ok(all[0].clone()),
            _ => Err(HistoryError::WhichCluster(
                all.iter()
                    .map(|c| {
                        if c.is_empty() {
                            "(unnamed)".to_string()
                        } else {
                            c.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Runs a read-only check of the store's structure (SQLite's
    /// `integrity_check`; PostgreSQL keeps its own): `ok` or the problems.
    pub fn integrity(&mut self) -> Result<String, HistoryError> {
        match self.conn.dialect() {
            db::Dialect::Sqlite => {
                let rows = self.conn.query("PRAGMA integrity_check", &[])?;
                Ok(rows
                    .into_iter()
                    .filter_map(|r| r.into_iter().next().and_then(db::Value::into_text))
                    .collect::<Vec<_>>()
                    .join("; "))
            }
            db::Dialect::Postgres => Ok("ok".into()),
        }
    }

    /// Counts rows per table, for tests and docs/history.md's growth
    /// figures: (table, rows).
    pub fn table_rows(&mut self) -> Result<Vec<(String, i64)>, HistoryError> {
        let mut out = Vec::new();
        for t in [
            "kh_runs",
            "kh_run_nodes",
            "kh_run_sections",
            "kh_items",
            "kh_streaks",
        ] {
            let n = self.conn.query(&format!("SELECT COUNT(*) FROM {t}"), &[])?;
            out.push((
                t.to_string(),
                n.first().and_then(|r| r[0].int()).unwrap_or(0),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(
            Location::parse("sqlite:/tmp/h.db").unwrap(),
            Location::Sqlite("/tmp/h.db".into())
        );
        assert_eq!(
            Location::parse("h.db").unwrap(),
            Location::Sqlite("h.db".into())
        );
        assert!(matches!(
            Location::parse("postgres://u:secret@host/db").unwrap(),
            Location::Postgres(_)
        ));
        assert!(Location::parse("mysql://x").is_err());
        assert!(Location::parse("sqlite:").is_err());
        let shown = Location::parse("postgres://u:secret@host/db?password=x&a=b")
            .unwrap()
            .display();
        assert!(
            !shown.contains("secret") && !shown.contains("=x"),
            "{shown}"
        );
    }
}
