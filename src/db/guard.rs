//! What `pglocks guard` asks the server beyond the poll: where each backend's client
//! connected from, and a cancel that re-checks the statement as well as the backend.
use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;

use super::DbError;
use super::connect::Connection;
use super::statement::{bounded, column};

/// A client backend as pg_stat_activity lists it, with its client's endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientBackend {
    pub pid: i32,
    pub backend_start: Option<DateTime<Utc>>,
    /// Without a client address (a Unix socket) this is None.
    pub client_addr: Option<std::net::IpAddr>,
    /// -1 for a Unix socket, None when hidden.
    pub client_port: Option<i32>,
    pub application_name: Option<String>,
    pub user: Option<String>,
}

/// What a guarded cancel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardCancel {
    /// Sent; the session's state 100 ms later, None if it has gone.
    Sent {
        state_after: Option<String>,
    },
    /// The statement was no longer the one judged (finished, got its lock, or the backend
    /// is gone): nothing was signalled.
    Moved,
    NotPermitted(String),
}

impl GuardCancel {
    pub fn describe(&self) -> String {
        match self {
            GuardCancel::Sent { state_after } => match state_after {
                Some(s) => format!("cancel sent; session now {s}"),
                None => "cancel sent; session has ended".into(),
            },
            GuardCancel::Moved => {
                "the statement had moved on (got its lock, ended, or the backend is gone); nothing signalled".into()
            }
            GuardCancel::NotPermitted(m) => format!("not permitted: {m}"),
        }
    }
}

impl Connection {
    pub async fn client_backends(&self) -> Result<Vec<ClientBackend>, DbError> {
        let rows = bounded(
            self.client
                .query(include_str!("../../queries/guard_backends.sql"), &[]),
        )
        .await?;
        rows.iter()
            .map(|r| {
                let addr: Option<String> = column(r, "client_addr")?;
                Ok(ClientBackend {
                    pid: column(r, "pid")?,
                    backend_start: column(r, "backend_start")?,
                    client_addr: addr.and_then(|a| a.parse().ok()),
                    client_port: column(r, "client_port")?,
                    application_name: column(r, "application_name")?,
                    user: column(r, "usename")?,
                })
            })
            .collect()
    }

    /// pg_cancel_backend, only if `pid` is still the same backend running the same
    /// statement and still waiting on a lock.
    pub async fn cancel_waiting_statement(
        &self,
        pid: i32,
        backend_start: DateTime<Utc>,
        query_start: DateTime<Utc>,
    ) -> Result<GuardCancel, DbError> {
        if pid == self.monitor_pid {
            return Ok(GuardCancel::NotPermitted(
                "that is pglocks' own backend".into(),
            ));
        }
        let row = tokio::time::timeout(
            super::statement::CLIENT_DEADLINE,
            self.client.query_opt(
                include_str!("../../queries/guard_cancel.sql"),
                &[&pid, &backend_start, &query_start],
            ),
        )
        .await
        .map_err(|_| DbError::Deadline(super::statement::CLIENT_DEADLINE))?;
        let signalled: Option<bool> = match row {
            Ok(row) => row.map(|r| column(&r, "signalled")).transpose()?.flatten(),
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                return Ok(GuardCancel::NotPermitted(DbError::from_pg(&e)));
            }
            Err(e) => return Err(DbError::query(&e)),
        };
        match signalled {
            None => Ok(GuardCancel::Moved),
            Some(false) => Ok(GuardCancel::NotPermitted(format!(
                "the server did not signal pid {pid}"
            ))),
            Some(true) => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let row = bounded(self.client.query_opt(
                    include_str!("../../queries/backend_alive.sql"),
                    &[&pid, &backend_start],
                ))
                .await?;
                let state_after = row
                    .map(|r| column::<Option<String>>(&r, "state"))
                    .transpose()?
                    .map(|s| s.unwrap_or_else(|| "state hidden".into()));
                Ok(GuardCancel::Sent { state_after })
            }
        }
    }
}
