//! Cancelling and terminating, with the pid re-checked in the same statement as the signal
//! and the outcome verified afterwards.
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;

use super::DbError;
use tokio::time::timeout;

use super::connect::Connection;
use super::statement::{CLIENT_DEADLINE, bounded, column};

/// How long pg_terminate_backend(pid, timeout) waits for the backend to exit (PG14+).
const TERMINATE_WAIT_MS: i64 = 1_500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Terminate,
    Cancel,
}

impl Signal {
    pub fn verb(self) -> &'static str {
        match self {
            Signal::Terminate => "terminate",
            Signal::Cancel => "cancel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalOutcome {
    /// The backend is gone.
    Terminated,
    /// The cancel was delivered; the session's state afterwards, if it still exists.
    Cancelled { state_after: Option<String> },
    /// Terminate was sent but the backend had not exited when we checked.
    StillAlive,
    /// The server refused: the message says which grant is missing.
    NotPermitted(String),
    /// The pid is gone, or belongs to a different backend now: nothing was signalled.
    AlreadyGone,
    /// The monitor's own backend: never signalled.
    Refused(String),
    /// The server took the request but said the signal could not be sent (the function
    /// returned false: the process had already exited, or the kernel refused).
    NotSent,
    /// The server stopped answering mid-request: it may or may not have been signalled.
    Unknown,
}

impl SignalOutcome {
    pub fn describe(&self) -> String {
        match self {
            SignalOutcome::Terminated => "terminated".into(),
            SignalOutcome::Cancelled { state_after } => match state_after {
                Some(s) => format!("cancel sent; session now {s}"),
                None => "cancel sent; session has ended".into(),
            },
            SignalOutcome::StillAlive => "terminate sent, but the backend is still alive".into(),
            SignalOutcome::NotPermitted(m) => format!("not permitted: {m}"),
            SignalOutcome::AlreadyGone => {
                "already gone (or the pid now belongs to another session); nothing signalled".into()
            }
            SignalOutcome::Refused(m) => format!("refused: {m}"),
            SignalOutcome::NotSent => {
                "not sent: the server could not deliver the signal (the backend may have just exited)"
                    .into()
            }
            SignalOutcome::Unknown => {
                "unknown: the server did not answer (it may or may not have been signalled); reconnecting"
                    .into()
            }
        }
    }
}

/// Who owns a backend, as far as this role may see.
struct Owner {
    role: Option<String>,
    superuser: bool,
    backend_type: Option<String>,
    start_hidden: bool,
}

impl Connection {
    pub async fn signal(
        &self,
        signal: Signal,
        pid: i32,
        backend_start: DateTime<Utc>,
    ) -> Result<SignalOutcome, DbError> {
        if pid == self.monitor_pid {
            return Ok(SignalOutcome::Refused(
                "that is pglocks' own backend".into(),
            ));
        }
        if pid == crate::model::PREPARED_XACT_PID {
            return Ok(SignalOutcome::Refused(
                "a prepared transaction has no backend; use COMMIT PREPARED or ROLLBACK PREPARED"
                    .into(),
            ));
        }
        // One more round trip, for signals only: pg_cancel_backend would merely warn that
        // the startup process "is not a PostgreSQL backend process", which reads as gone.
        if self
            .owner(pid)
            .await?
            .is_some_and(|o| o.backend_type.as_deref() == Some("startup"))
        {
            return Ok(SignalOutcome::Refused(
                crate::model::STARTUP_NOT_SIGNALLED.into(),
            ));
        }
        let (sql, params): (&str, Vec<&(dyn tokio_postgres::types::ToSql + Sync)>) = match signal {
            Signal::Terminate if self.server.version_num >= 140000 => (
                include_str!("../../queries/signal_terminate.sql"),
                vec![&pid, &backend_start, &TERMINATE_WAIT_MS],
            ),
            Signal::Terminate => (
                include_str!("../../queries/signal_terminate_pg13.sql"),
                vec![&pid, &backend_start, &TERMINATE_WAIT_MS],
            ),
            Signal::Cancel => (
                include_str!("../../queries/signal_cancel.sql"),
                vec![&pid, &backend_start],
            ),
        };
        // Not `bounded`: a refusal must stay a tokio_postgres::Error to read its SQLSTATE.
        let result = match timeout(CLIENT_DEADLINE, self.client.query_opt(sql, &params)).await {
            Err(_) => return Err(DbError::Deadline(CLIENT_DEADLINE)),
            Ok(r) => r,
        };
        let signalled: Option<bool> = match result {
            Ok(Some(row)) => column(&row, "signalled")?,
            Ok(None) => None,
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                let server = e.as_db_error().map(|d| d.message().to_string());
                let owner = self.owner(pid).await?;
                return Ok(SignalOutcome::NotPermitted(self.not_permitted(
                    pid,
                    owner.as_ref(),
                    server.as_deref(),
                )));
            }
            Err(e) => return Err(DbError::query(&e)),
        };
        if signalled.is_none() {
            // Without pg_read_all_stats another role's backend_start reads NULL, so the
            // re-check matched nothing: that is a missing grant, not a vanished backend.
            return Ok(match self.owner(pid).await? {
                Some(owner) if owner.start_hidden => {
                    SignalOutcome::NotPermitted(self.not_permitted(pid, Some(&owner), None))
                }
                _ => SignalOutcome::AlreadyGone,
            });
        }
        if signalled == Some(false) {
            return Ok(SignalOutcome::NotSent);
        }
        match signal {
            Signal::Terminate => {
                // pg_terminate_backend only says the signal was sent; look for ourselves.
                for _ in 0..10 {
                    if self.alive(pid, backend_start).await?.is_none() {
                        return Ok(SignalOutcome::Terminated);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(SignalOutcome::StillAlive)
            }
            Signal::Cancel => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(SignalOutcome::Cancelled {
                    state_after: self.alive(pid, backend_start).await?,
                })
            }
        }
    }

    async fn owner(&self, pid: i32) -> Result<Option<Owner>, DbError> {
        let row = bounded(
            self.client
                .query_opt(include_str!("../../queries/backend_owner.sql"), &[&pid]),
        )
        .await?;
        row.map(|r| {
            Ok(Owner {
                role: column(&r, "owner")?,
                superuser: column(&r, "owner_is_superuser")?,
                backend_type: column(&r, "backend_type")?,
                start_hidden: column(&r, "start_hidden")?,
            })
        })
        .transpose()
    }

    /// "needs pg_signal_backend or membership in role X", with the server's own words.
    fn not_permitted(&self, pid: i32, owner: Option<&Owner>, server: Option<&str>) -> String {
        let me = &self.privileges.role;
        let role = match owner.and_then(|o| o.role.as_deref()) {
            Some(r) => format!("role {r}"),
            None => format!("the role that owns pid {pid}"),
        };
        let mut out = if owner.is_some_and(|o| o.superuser) {
            format!(
                "pid {pid} belongs to superuser {role}; only a superuser may signal it (pg_signal_backend does not cover superuser backends)"
            )
        } else if self.server.version_num >= 180000
            && owner.and_then(|o| o.backend_type.as_deref()) == Some("autovacuum worker")
        {
            format!(
                "needs pg_signal_autovacuum_worker to signal autovacuum workers (GRANT pg_signal_autovacuum_worker TO {me})"
            )
        } else if owner.is_some_and(|o| o.start_hidden) && self.privileges.can_signal {
            format!(
                "needs pg_read_all_stats (or pg_monitor): role {me} cannot see when pid {pid} started, so it cannot be re-checked before signalling (pids are reused)"
            )
        } else if owner.is_some_and(|o| o.start_hidden) {
            format!(
                "needs pg_signal_backend or membership in {role}, and pg_read_all_stats to re-check the pid before signalling (GRANT pg_monitor, pg_signal_backend TO {me})"
            )
        } else {
            format!(
                "needs pg_signal_backend or membership in {role} (GRANT pg_signal_backend TO {me})"
            )
        };
        if let Some(server) = server {
            out.push_str(&format!("; the server said: {server}"));
        }
        out
    }

    /// The state of exactly this backend, or None if it has gone.
    async fn alive(
        &self,
        pid: i32,
        backend_start: DateTime<Utc>,
    ) -> Result<Option<String>, DbError> {
        let row = bounded(self.client.query_opt(
            include_str!("../../queries/backend_alive.sql"),
            &[&pid, &backend_start],
        ))
        .await?;
        row.map(|r| {
            let state: Option<String> = column(&r, "state")?;
            Ok(state.unwrap_or_else(|| "state hidden".into()))
        })
        .transpose()
    }
}
