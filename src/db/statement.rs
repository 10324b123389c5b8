//! Running one of our own statements: the client-side deadline every statement gets, and
//! a column read that fails in words instead of panicking.
use std::time::Duration;

use tokio::time::timeout;

use super::DbError;

/// Every statement gets this long on the client side. The server's statement_timeout
/// (3 s) normally fires first; this covers a server that has stopped answering at all.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(5);

/// Runs `fut` under the client-side deadline, mapping both failure kinds to DbError.
pub(super) async fn bounded<T>(
    fut: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, DbError> {
    match timeout(CLIENT_DEADLINE, fut).await {
        Err(_) => Err(DbError::Deadline(CLIENT_DEADLINE)),
        Ok(r) => r.map_err(|e| DbError::query(&e)),
    }
}

/// A column of one of our own statements. `Row::get` would panic if a server (or a proxy in
/// front of it) answered with another type; this says so in one line instead.
pub(super) fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    name: &str,
) -> Result<T, DbError> {
    row.try_get(name)
        .map_err(|e| DbError::Query(format!("unexpected column {name}: {e}")))
}
