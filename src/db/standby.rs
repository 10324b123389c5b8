//! Replication as one poll sees it: replication.sql on every poll, standby.sql only on a
//! standby. Read after poll.sql, under the same client-side deadline; a failure here
//! leaves the wait tree as it was and the replication unknown.
use tokio_postgres::{Client, Statement};

use super::DbError;
use super::connect::{bounded, column};
use crate::model::{ReplayWait, ReplicaLink, Replication, Session, StandbyStatus, Text};

pub(super) struct Statements {
    replication: Statement,
    standby: Statement,
}

impl Statements {
    pub(super) async fn prepare(client: &Client) -> Result<Statements, DbError> {
        Ok(Statements {
            replication: bounded(client.prepare(include_str!("../../queries/replication.sql")))
                .await?,
            standby: bounded(client.prepare(include_str!("../../queries/standby.sql"))).await?,
        })
    }

    pub(super) async fn read(&self, client: &Client) -> Result<Replication, DbError> {
        let rows = bounded(client.query(&self.replication, &[])).await?;
        let mut out = Replication::default();
        for row in &rows {
            out.in_recovery = column(row, "in_recovery")?;
            if column::<Option<String>>(row, "state")?.is_none()
                && column::<Option<String>>(row, "application_name")?.is_none()
            {
                continue;
            }
            out.downstream.push(ReplicaLink {
                application_name: text(row, "application_name")?,
                client_addr: text(row, "client_addr")?,
                state: text(row, "state")?,
                sync_state: text(row, "sync_state")?,
                backend_xmin: text(row, "backend_xmin")?,
                xmin_age: column(row, "xmin_age")?,
                replay_lag_s: column(row, "replay_lag_s")?,
                replay_lag_bytes: column(row, "replay_lag_bytes")?,
            });
        }
        if out.in_recovery {
            let row = bounded(client.query_one(&self.standby, &[])).await?;
            let replay_wait = match column::<Option<i32>>(&row, "wait_pid")? {
                Some(pid) => Some(ReplayWait {
                    pid,
                    mode: text(&row, "wait_mode")?.unwrap_or_default(),
                    relation: column(&row, "wait_relation")?,
                    relation_name: text(&row, "wait_relation_name")?,
                    waitstart: column(&row, "wait_start")?,
                    holders: column::<Option<Vec<i32>>>(&row, "wait_holders")?.unwrap_or_default(),
                }),
                None => None,
            };
            out.standby = Some(StandbyStatus {
                receive_lsn: text(&row, "receive_lsn")?,
                replay_lsn: text(&row, "replay_lsn")?,
                replay_lag_bytes: column(&row, "replay_lag_bytes")?,
                last_replay_at: column(&row, "last_replay_at")?,
                max_standby_streaming_delay_ms: column(&row, "max_delay_ms")?,
                hot_standby_feedback: column(&row, "hot_standby_feedback")?,
                conflicts_lock: column(&row, "confl_lock")?,
                conflicts_snapshot: column(&row, "confl_snapshot")?,
                conflicts_other: column(&row, "confl_other")?,
                replay_wait,
            });
        }
        Ok(out)
    }
}

fn text(row: &tokio_postgres::Row, name: &str) -> Result<Option<Text>, DbError> {
    Ok(column::<Option<&str>>(row, name)?.map(Text::from))
}

/// pg_blocking_pids() is empty for the startup process: the holders found in pg_locks
/// stand in, so that the tree shows replay waiting on the standby queries, and the
/// queries queued behind the replayed lock (whose pg_blocking_pids does name the startup
/// process) hang below it.
pub(super) fn attach_replay_wait(sessions: &mut [Session], replication: &Replication) {
    let Some(wait) = replication.replay_wait() else {
        return;
    };
    if let Some(s) = sessions
        .iter_mut()
        .find(|s| s.pid == wait.pid && s.blocked_by.is_empty())
    {
        s.blocked_by = wait.holders.clone();
    }
}
