//! One connection to the store, SQLite or PostgreSQL, behind the few
//! operations the history needs: statements with `?` placeholders (turned
//! into `$n` for PostgreSQL), queries returning integers and text, batched
//! inserts, and a write transaction that serialises writers.

use super::HistoryError;

/// A value bound to, or read from, a statement. The schema uses only
/// 64-bit integers and text, in both databases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// PostgreSQL statements take at most 65,535 parameters.
const PG_MAX_PARAMS: usize = 30_000;

fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

type PgParam = Box<dyn postgres::types::ToSql + Sync>;

/// A value as the type PostgreSQL inferred for its parameter.
fn pg_param(v: &Value, ty: &postgres::types::Type) -> PgParam {
    use postgres::types::Type;
    match (v, ty) {
        (Value::Int(i), t) if *t == Type::INT4 => Box::new(*i as i32),
        (Value::Int(i), t) if *t == Type::TEXT || *t == Type::VARCHAR => Box::new(i.to_string()),
        (Value::Int(i), _) => Box::new(*i),
        (Value::Text(s), _) => Box::new(s.clone()),
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Value::Null, _) => Box::new(None::<String>),
    }
}

fn pg_row(row: &postgres::Row) -> Result<Vec<Value>, postgres::Error> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, c) in row.columns().iter().enumerate() {
        let t = c.type_();
        let v = if *t == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.into()
        } else if *t == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(i64::from).into()
        } else if *t == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?.map(i64::from).into()
        } else {
            row.try_get::<_, Option<String>>(i)?.into()
        };
        out.push(v);
    }
    Ok(out)
}

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn sqlite_row(row: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Vec<Value>> {
    use rusqlite::types::ValueRef;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Int(i),
            ValueRef::Real(f) => Value::Int(f as i64),
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                Value::Text(String::from_utf8_lossy(t).into_owned())
            }
        });
    }
    Ok(out)
}

impl Conn {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs statements without parameters (DDL, transaction control).
    pub fn batch(&mut self, sql: &str) -> Result<(), HistoryError> {
        match self {
            Conn::Sqlite(c) => c.execute_batch(sql).map_err(|e| db(sql, e)),
            Conn::Postgres(c) => c.batch_execute(sql).map_err(|e| db(sql, e)),
        }
    }

    pub fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, HistoryError> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(sql).map_err(|e| db(sql, e))?;
                let n = st
                    .execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                    .map_err(|e| db(sql, e))?;
                Ok(n as u64)
            }
            Conn::Postgres(c) => {
                let q = pg_sql(sql);
                let st = c.prepare(&q).map_err(|e| db(sql, e))?;
                let boxed: Vec<PgParam> = params
                    .iter()
                    .zip(st.params())
                    .map(|(v, t)| pg_param(v, t))
                    .collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                c.execute(&st, &refs).map_err(|e| db(sql, e))
            }
        }
    }

    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, HistoryError> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(sql).map_err(|e| db(sql, e))?;
                let n = st.column_count();
                let rows = st
                    .query_map(
                        rusqlite::params_from_iter(params.iter().map(sqlite_value)),
                        |r| sqlite_row(r, n),
                    )
                    .map_err(|e| db(sql, e))?;
                rows.collect::<Result<Vec<_>, _>>().map_err(|e| db(sql, e))
            }
            Conn::Postgres(c) => {
                let q = pg_sql(sql);
                let st = c.prepare(&q).map_err(|e| db(sql, e))?;
                let boxed: Vec<PgParam> = params
                    .iter()
                    .zip(st.params())
                    .map(|(v, t)| pg_param(v, t))
                    .collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                let rows = c.query(&st, &refs).map_err(|e| db(sql, e))?;
                rows.iter()
                    .map(pg_row)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| db(sql, e))
            }
        }
    }

    /// Inserts many rows into `table` (`cols` each): one prepared
    /// statement per row in SQLite (in the caller's transaction, that is
    /// fast), multi-row statements in PostgreSQL (one round trip per
    /// thousands of rows).
    pub fn insert_rows(
        &mut self,
        table: &str,
        cols: &[&str],
        rows: &[Vec<Value>],
    ) -> Result<(), HistoryError> {
        if rows.is_empty() {
            return Ok(());
        }
        let one = format!("({})", vec!["?"; cols.len()].join(","));
        let head = format!("INSERT INTO {table} ({}) VALUES ", cols.join(","));
        match self {
            Conn::Sqlite(c) => {
                let sql = format!("{head}{one}");
                let mut st = c.prepare_cached(&sql).map_err(|e| db(&sql, e))?;
                for r in rows {
                    st.execute(rusqlite::params_from_iter(r.iter().map(sqlite_value)))
                        .map_err(|e| db(&sql, e))?;
                }
                Ok(())
            }
            Conn::Postgres(_) => {
                let per = (PG_MAX_PARAMS / cols.len()).max(1);
                for chunk in rows.chunks(per) {
                    let sql = format!("{head}{}", vec![one.as_str(); chunk.len()].join(","));
                    let flat: Vec<Value> = chunk.iter().flatten().cloned().collect();
                    self.exec(&sql, &flat)?;
                }
                Ok(())
            }
        }
    }

    /// Starts the write transaction: one writer at a time per store
    /// (SQLite's `BEGIN IMMEDIATE` takes the database's write lock, waiting
    /// up to the busy timeout; PostgreSQL locks the runs table against
    /// other writers, not readers).
    pub fn begin_write(&mut self) -> Result<(), HistoryError> {
        match self.dialect() {
            Dialect::Sqlite => self.batch("BEGIN IMMEDIATE"),
            Dialect::Postgres => {
                self.batch("BEGIN; LOCK TABLE kh_runs IN SHARE ROW EXCLUSIVE MODE")
            }
        }
    }

    pub fn commit(&mut self) -> Result<(), HistoryError> {
        self.batch("COMMIT")
    }

    /// Rolls back after an error; its own failure is secondary and ignored
    /// (the connection is dropped, which rolls back too).
    pub fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK");
    }
}

fn db(sql: &str, e: impl std::fmt::Display) -> HistoryError {
    let first = sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    HistoryError::Db {
        what: first,
        message: e.to_string(),
    }
}
