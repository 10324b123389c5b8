//! Database errors as one line an engineer can act on. No message ever includes a password:
//! they are built from the target's description and the server's or OS's words.
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    ConnInfo(#[from] super::conninfo::ConnInfoError),
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("connecting to {target} timed out after {}s", .after.as_secs_f64())]
    ConnectTimeout { target: String, after: Duration },
    #[error("the server did not answer within {}s; the connection will be re-opened", .0.as_secs_f64())]
    Deadline(Duration),
    #[error("{0}")]
    Query(String),
    #[error("the connection to the server was lost: {0}")]
    Closed(String),
}

impl DbError {
    /// The server's own message, with the hint a person needs for the common cases.
    pub fn from_pg(e: &tokio_postgres::Error) -> String {
        use tokio_postgres::error::SqlState;
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            let hint = if *code == SqlState::TOO_MANY_CONNECTIONS {
                " (every slot is taken; a superuser can still use superuser_reserved_connections, and pglocks will retry)"
            } else if *code == SqlState::INVALID_PASSWORD {
                " (check PGPASSWORD, the connection string or ~/.pgpass)"
            } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                " (signalling needs superuser, the same role, or membership in pg_signal_backend)"
            } else {
                ""
            };
            return format!("{}{hint}", db.message());
        }
        // The chain of causes, e.g. "error connecting to server: Connection refused".
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        // rustls names the failure by its enum variant; say what it means for sslrootcert.
        if text.contains("UnknownIssuer") {
            text.push_str(" (the server's certificate is not signed by a CA in sslrootcert)");
        }
        text
    }

    pub fn query(e: &tokio_postgres::Error) -> DbError {
        if e.is_closed() {
            DbError::Closed(DbError::from_pg(e))
        } else {
            DbError::Query(DbError::from_pg(e))
        }
    }

    /// Whether the connection is unusable and must be re-opened.
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, DbError::Closed(_) | DbError::Deadline(_))
    }
}
