//! Replication as one poll sees it: replication.sql on every poll, standby.sql only on a
//! standby. Both are sent beside poll.sql, pipelined on the same connection, so a poll stays
//! one round trip: standby.sql goes along when the last poll found a standby (a promotion
//! or the first poll of a standby costs one more trip, once). A failure here leaves the
//! wait tree as it was and the replication unknown.
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::{Client, Row, Statement};

use super::DbError;
use super::statement::{bounded, column};
use crate::model::{Lock, ReplayWait, ReplicaLink, Replication, Session, StandbyStatus, Text};

pub(super) struct Statements {
    replication: Statement,
    standby: Statement,
    /// What the last poll found, to decide whether standby.sql rides along with the next.
    was_standby: AtomicBool,
}

impl Statements {
    pub(super) async fn prepare(client: &Client) -> Result<Statements, DbError> {
        Ok(Statements {
            replication: bounded(client.prepare(include_str!("../../queries/replication.sql")))
                .await?,
            standby: bounded(client.prepare(include_str!("../../queries/standby.sql"))).await?,
            was_standby: AtomicBool::new(false),
        })
    }

    pub(super) async fn read(&self, client: &Client) -> Result<Replication, DbError> {
        let expect_standby = self.was_standby.load(Ordering::Relaxed);
        let standby = async {
            if expect_standby {
                Some(bounded(client.query_one(&self.standby, &[])).await)
            } else {
                None
            }
        };
        let (rows, standby_row) =
            tokio::join!(bounded(client.query(&self.replication, &[])), standby);
        let rows = rows?;
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
        self.was_standby.store(out.in_recovery, Ordering::Relaxed);
        if out.in_recovery {
            let row: Row = match standby_row {
                Some(row) => row?,
                None => bounded(client.query_one(&self.standby, &[])).await?,
            };
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
/// process) hang below it. poll.sql and standby.sql are two statements: when replay
/// began to wait between them, the poll has no row for the startup process, and one is
/// made from what standby.sql saw.
pub(super) fn attach_replay_wait(sessions: &mut Vec<Session>, replication: &Replication) {
    let Some(wait) = replication.replay_wait() else {
        return;
    };
    match sessions.iter_mut().find(|s| s.pid == wait.pid) {
        Some(s) if s.blocked_by.is_empty() => s.blocked_by = wait.holders.clone(),
        Some(_) => {}
        None => sessions.push(Session {
            pid: wait.pid,
            backend_type: Some("startup".into()),
            wait_event_type: Some("Lock".into()),
            wait_event: Some("relation".into()),
            blocked_by: wait.holders.clone(),
            locks: vec![Lock {
                locktype: "relation".into(),
                mode: wait.mode.clone(),
                granted: false,
                relation: wait.relation,
                relation_name: wait.relation_name.clone(),
                waitstart: wait.waitstart,
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting_replay() -> Replication {
        Replication {
            in_recovery: true,
            standby: Some(StandbyStatus {
                replay_wait: Some(ReplayWait {
                    pid: 40,
                    mode: "AccessExclusiveLock".into(),
                    relation: Some(16384),
                    relation_name: Some("public.t".into()),
                    waitstart: None,
                    holders: vec![7],
                }),
                ..Default::default()
            }),
            downstream: Vec::new(),
        }
    }

    #[test]
    fn the_holders_become_the_startup_process_blockers() {
        let mut sessions = vec![Session {
            pid: 40,
            backend_type: Some("startup".into()),
            ..Default::default()
        }];
        attach_replay_wait(&mut sessions, &waiting_replay());
        assert_eq!(sessions[0].blocked_by, vec![7]);
    }

    #[test]
    fn a_startup_process_the_poll_missed_is_added_from_standby_sql() {
        let mut sessions = Vec::new();
        attach_replay_wait(&mut sessions, &waiting_replay());
        assert_eq!(sessions.len(), 1);
        assert!(sessions[0].is_startup_process());
        assert_eq!(sessions[0].blocked_by, vec![7]);
        let lock = sessions[0].awaited_lock().expect("its awaited lock");
        assert_eq!(lock.relation_name.as_deref(), Some("public.t"));
    }
}
