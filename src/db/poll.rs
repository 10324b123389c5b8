//! One poll: one prepared statement, one round trip, rows into a Snapshot.
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Json, Type};

use super::DbError;
use super::connect::{Connection, bounded};
use crate::model::{Lock, Session, Snapshot, fold_parallel_workers};

impl Connection {
    /// `database` restricts the listing (not the graph) to one database's sessions.
    pub async fn poll(&self, database: Option<&str>) -> Result<Snapshot, DbError> {
        let rows = bounded(self.client.query(&self.poll, &[&database])).await?;
        let mut taken_at: Option<DateTime<Utc>> = None;
        let mut sessions = Vec::with_capacity(rows.len());
        for row in &rows {
            taken_at.get_or_insert_with(|| row.get("taken_at"));
            let mut s =
                decode(row).map_err(|e| DbError::Query(format!("unexpected poll row: {e}")))?;
            // The monitor can appear as a blocker of catalog waits; it is never the story.
            s.blocked_by.retain(|&p| p != self.monitor_pid);
            sessions.push(s);
        }
        Ok(Snapshot {
            // With no rows there are no ages to measure, so the local clock will do.
            taken_at: taken_at.unwrap_or_else(Utc::now),
            server: self.server.clone(),
            sessions: fold_parallel_workers(sessions),
        })
    }
}

/// Text that may not be valid UTF-8: a SQL_ASCII database passes client bytes through
/// unchecked, and one odd statement must not make every poll fail.
struct Lossy(String);

impl<'a> FromSql<'a> for Lossy {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Lossy(String::from_utf8_lossy(raw).into_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR)
    }
}

fn text(row: &Row, column: &str) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(row.try_get::<_, Option<Lossy>>(column)?.map(|Lossy(s)| s))
}

fn decode(row: &Row) -> Result<Session, tokio_postgres::Error> {
    let locks: Option<Json<Vec<Lock>>> = row.try_get("locks")?;
    let blocked_by: Option<Vec<i32>> = row.try_get("blocked_by")?;
    Ok(Session {
        pid: row.try_get("pid")?,
        leader_pid: row.try_get("leader_pid")?,
        user: text(row, "usename")?,
        database: text(row, "datname")?,
        application_name: text(row, "application_name")?,
        client_addr: text(row, "client_addr")?,
        backend_type: text(row, "backend_type")?,
        state: text(row, "state")?,
        wait_event_type: text(row, "wait_event_type")?,
        wait_event: text(row, "wait_event")?,
        query: text(row, "query")?,
        backend_start: row.try_get("backend_start")?,
        xact_start: row.try_get("xact_start")?,
        query_start: row.try_get("query_start")?,
        state_change: row.try_get("state_change")?,
        is_superuser: row.try_get("is_superuser")?,
        blocked_by: blocked_by.unwrap_or_default(),
        locks: locks.map(|Json(l)| l).unwrap_or_default(),
        parallel_workers: 0,
    })
}
