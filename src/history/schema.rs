//! The store's schema and its versioned migrations, the same for SQLite
//! and PostgreSQL (only the auto-increment column differs). `open` runs the
//! migrations a store lacks, in one transaction, and refuses a store whose
//! schema is newer than this build knows. docs/history.md describes every
//! table.

use super::HistoryError;
use super::db::{Conn, Dialect, Value};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Version 1: runs, their nodes and sections, findings and other report
/// items as intervals of runs, and open streaks of findings.
fn v1(d: Dialect) -> String {
    let serial = match d {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    format!(
        "CREATE TABLE kh_runs (
            id {serial},
            cluster TEXT NOT NULL,
            generated_at TEXT NOT NULL,
            unix_time BIGINT NOT NULL,
            tool_version TEXT NOT NULL,
            benchmark TEXT NOT NULL,
            node_count BIGINT NOT NULL,
            complete BIGINT NOT NULL,
            header TEXT NOT NULL
        );
        CREATE INDEX kh_runs_cluster ON kh_runs (cluster, id);
        CREATE TABLE kh_run_nodes (
            run_id BIGINT NOT NULL,
            node TEXT NOT NULL,
            ord BIGINT NOT NULL,
            scan_status TEXT NOT NULL,
            score BIGINT,
            open_count BIGINT NOT NULL,
            meta TEXT NOT NULL,
            PRIMARY KEY (run_id, node)
        );
        CREATE TABLE kh_run_sections (
            run_id BIGINT NOT NULL,
            section TEXT NOT NULL,
            pass BIGINT NOT NULL,
            fail BIGINT NOT NULL,
            warn BIGINT NOT NULL,
            error BIGINT NOT NULL,
            waived BIGINT NOT NULL,
            open_count BIGINT NOT NULL,
            PRIMARY KEY (run_id, section)
        );
        CREATE TABLE kh_items (
            id {serial},
            cluster TEXT NOT NULL,
            kind TEXT NOT NULL,
            node TEXT NOT NULL,
            item_key TEXT NOT NULL,
            ord BIGINT NOT NULL,
            hash TEXT NOT NULL,
            data TEXT NOT NULL,
            first_run BIGINT NOT NULL,
            last_run BIGINT
        );
        CREATE INDEX kh_items_current ON kh_items (cluster, last_run);
        CREATE INDEX kh_items_first ON kh_items (cluster, first_run);
        CREATE TABLE kh_streaks (
            id {serial},
            cluster TEXT NOT NULL,
            node TEXT NOT NULL,
            check_id TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            first_run BIGINT NOT NULL,
            first_time TEXT NOT NULL,
            first_unix BIGINT NOT NULL,
            closed_run BIGINT,
            closed_time TEXT
        );
        CREATE INDEX kh_streaks_check ON kh_streaks (cluster, check_id, node);
        CREATE INDEX kh_streaks_open ON kh_streaks (cluster, closed_run);"
    )
}

/// Version 2: each run's score and open findings on its row, so `list`
/// and `trend` read one row per run; filled for the runs already there
/// from their totals row in `kh_run_sections`.
const V2: &str = "ALTER TABLE kh_runs ADD COLUMN score BIGINT;
    ALTER TABLE kh_runs ADD COLUMN open_count BIGINT NOT NULL DEFAULT 0;
    UPDATE kh_runs SET
      score = (SELECT CASE WHEN s.pass + s.fail + s.warn + s.error > 0
                      THEN (s.pass * 100) / (s.pass + s.fail + s.warn + s.error) END
               FROM kh_run_sections s WHERE s.run_id = kh_runs.id AND s.section = ''),
      open_count = COALESCE((SELECT s.open_count FROM kh_run_sections s
                             WHERE s.run_id = kh_runs.id AND s.section = ''), 0);";

fn migration(version: i64, d: Dialect) -> String {
    match version {
        1 => v1(d),
        2 => V2.to_string(),
        _ => unreachable!("no migration {version}"),
    }
}

fn current(conn: &mut Conn) -> Result<i64, HistoryError> {
    let rows = conn.query(
        "SELECT value FROM kh_meta WHERE name = 'schema_version'",
        &[],
    )?;
    match rows.first().and_then(|r| r.first()) {
        None => Ok(0),
        Some(v) => v
            .text()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| HistoryError::Corrupt(format!("schema_version is {v:?}"))),
    }
}

/// Brings the store to [`SCHEMA_VERSION`]; returns the version it had
/// (0 for a new store).
pub fn migrate(conn: &mut Conn, store: &str) -> Result<i64, HistoryError> {
    if conn.dialect() == Dialect::Postgres {
        // Two first opens at once would both create kh_meta: PostgreSQL's
        // CREATE TABLE IF NOT EXISTS is not safe against that race, so
        // opens of one database take turns (a session lock, released below).
        conn.batch("SELECT pg_advisory_lock(7265430181)")?;
        let r = migrate_locked(conn, store);
        let unlocked = conn.batch("SELECT pg_advisory_unlock(7265430181)");
        return r.and_then(|v| unlocked.map(|_| v));
    }
    migrate_locked(conn, store)
}

fn migrate_locked(conn: &mut Conn, store: &str) -> Result<i64, HistoryError> {
    conn.batch("CREATE TABLE IF NOT EXISTS kh_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
    // A quick look first, so a newer store is refused without locking it.
    let seen = current(conn)?;
    if seen > SCHEMA_VERSION {
        return Err(HistoryError::NewerSchema {
            store: store.to_string(),
            found: seen,
            known: SCHEMA_VERSION,
        });
    }
    if seen == SCHEMA_VERSION {
        return Ok(seen);
    }
    match conn.dialect() {
        Dialect::Sqlite => conn.batch("BEGIN IMMEDIATE")?,
        Dialect::Postgres => conn.batch("BEGIN; LOCK TABLE kh_meta IN ACCESS EXCLUSIVE MODE")?,
    }
    let result = (|| {
        // Another process may have migrated meanwhile.
        let from = current(conn)?;
        if from > SCHEMA_VERSION {
            return Err(HistoryError::NewerSchema {
                store: store.to_string(),
                found: from,
                known: SCHEMA_VERSION,
            });
        }
        for v in from + 1..=SCHEMA_VERSION {
            conn.batch(&migration(v, conn.dialect()))?;
        }
        conn.exec("DELETE FROM kh_meta WHERE name = 'schema_version'", &[])?;
        conn.exec(
            "INSERT INTO kh_meta (name, value) VALUES ('schema_version', ?)",
            &[Value::Text(SCHEMA_VERSION.to_string())],
        )?;
        Ok(from)
    })();
    match result {
        Ok(from) => {
            conn.commit()?;
            Ok(from)
        }
        Err(e) => {
            conn.rollback();
            Err(e)
        }
    }
}
