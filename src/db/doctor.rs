//! The facts `pglocks doctor` judges, read over the monitor's own (harmless) connection.
use std::time::Instant;

use serde::Serialize;

use super::statement::{bounded, column};
use super::{Connection, DbError};

#[derive(Debug, Clone, Serialize)]
pub struct DoctorFacts {
    pub can_signal_autovacuum: Option<bool>,
    pub superuser_logins: i32,
    pub max_locks_per_transaction: i32,
    pub max_prepared_transactions: i32,
    pub has_pg_stat_statements: bool,
    pub migration_role_exists: bool,
    pub timeouts: Vec<TimeoutLevels>,
    /// One poll as the live view runs it: its round trip, or why it failed.
    pub poll_ms: Option<f64>,
    pub poll_error: Option<String>,
}

/// One setting at each level a new session picks it up from; the first `Some` wins.
#[derive(Debug, Clone, Serialize)]
pub struct TimeoutLevels {
    pub name: String,
    pub role_in_database: Option<String>,
    pub role: Option<String>,
    pub database: Option<String>,
    pub server: Option<String>,
}

impl TimeoutLevels {
    /// The value and where it comes from.
    pub fn effective(&self) -> Option<(&str, &'static str)> {
        [
            (&self.role_in_database, "ALTER ROLE ... IN DATABASE"),
            (&self.role, "ALTER ROLE"),
            (&self.database, "ALTER DATABASE"),
            (&self.server, "server"),
        ]
        .into_iter()
        .find_map(|(v, from)| v.as_deref().map(|v| (v, from)))
    }
}

impl Connection {
    pub async fn doctor_facts(&self, migration_role: Option<&str>) -> Result<DoctorFacts, DbError> {
        let row = bounded(
            self.client
                .query_one(include_str!("../../queries/doctor.sql"), &[&migration_role]),
        )
        .await?;
        let rows = bounded(self.client.query(
            include_str!("../../queries/doctor_timeouts.sql"),
            &[&migration_role],
        ))
        .await?;
        let timeouts = rows
            .iter()
            .map(|r| {
                Ok(TimeoutLevels {
                    name: column(r, "name")?,
                    role_in_database: column(r, "role_in_database")?,
                    role: column(r, "role")?,
                    database: column(r, "database")?,
                    server: column(r, "server")?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        let started = Instant::now();
        let (poll_ms, poll_error) = match self.poll(None).await {
            Ok(_) => (Some(started.elapsed().as_secs_f64() * 1000.0), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(DoctorFacts {
            can_signal_autovacuum: column(&row, "can_signal_autovacuum")?,
            superuser_logins: column(&row, "superuser_logins")?,
            max_locks_per_transaction: column(&row, "max_locks_per_transaction")?,
            max_prepared_transactions: column(&row, "max_prepared_transactions")?,
            has_pg_stat_statements: column(&row, "has_pg_stat_statements")?,
            migration_role_exists: column(&row, "migration_role_exists")?,
            timeouts,
            poll_ms,
            poll_error,
        })
    }
}
