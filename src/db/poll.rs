//! One poll: one prepared statement, one round trip, rows into a Snapshot.
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::Json;

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

fn decode(row: &Row) -> Result<Session, tokio_postgres::Error> {
    let locks: Option<Json<Vec<Lock>>> = row.try_get("locks")?;
    let blocked_by: Option<Vec<i32>> = row.try_get("blocked_by")?;
    Ok(Session {
        pid: row.try_get("pid")?,
        leader_pid: row.try_get("leader_pid")?,
        user: row.try_get("usename")?,
        database: row.try_get("datname")?,
        application_name: row.try_get("application_name")?,
        client_addr: row.try_get("client_addr")?,
        backend_type: row.try_get("backend_type")?,
        state: row.try_get("state")?,
        wait_event_type: row.try_get("wait_event_type")?,
        wait_event: row.try_get("wait_event")?,
        query: row.try_get("query")?,
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
