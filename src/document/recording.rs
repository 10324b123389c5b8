//! The recording's header, action and server lines (the snapshot lines are the snapshot
//! document, report::json): plain data, written by record/ and read by the report.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::ActionRecord;

pub const HEADER: &str = "pglocks.recording/1";
pub const ACTION: &str = "pglocks.action/1";
/// With several servers: one of them stopped answering, or answers again.
pub const SERVER: &str = "pglocks.server/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub started_at: DateTime<Utc>,
    /// The pglocks version that wrote the file.
    pub pglocks: String,
    /// user@host:port/db, or "redacted"; never a password.
    pub target: String,
    pub interval_ms: u64,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub redacted: bool,
    /// With several servers (`--server`), their names; each snapshot line's
    /// `server_name` is one of them. Empty for a recording of one server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
}

impl Header {
    pub fn new(
        target: String,
        interval: std::time::Duration,
        database: Option<String>,
        redacted: bool,
    ) -> Header {
        Header {
            format: HEADER.into(),
            started_at: Utc::now(),
            pglocks: env!("CARGO_PKG_VERSION").into(),
            target: if redacted { "redacted".into() } else { target },
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            database,
            redacted,
            servers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionLine {
    pub format: String,
    #[serde(flatten)]
    pub action: ActionRecord,
    /// The result as a stable word for scripts: terminated, cancelled, still_alive,
    /// not_permitted, already_gone, refused, not_sent or unknown. `result` says it in a sentence.
    #[serde(default)]
    pub outcome: Option<String>,
    /// With several servers, the one the signal went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// A server of several that stopped answering (no poll for three intervals, at least
/// 2 s: down, frozen or slow), or that answers again. Its polls simply stop in the
/// recording; this line says so, so that a report does not read silence as calm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerLine {
    pub format: String,
    pub at: DateTime<Utc>,
    pub server: String,
    pub state: ServerState,
    /// Seconds since its last poll (or since recording started, if it never answered).
    pub silent_s: f64,
    /// The poller's last error, if it had one (never a password: connection errors name
    /// user@host:port/db only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    Stale,
    Answering,
}

impl ServerLine {
    pub fn new(
        server: &str,
        state: ServerState,
        silent: std::time::Duration,
        error: Option<String>,
    ) -> ServerLine {
        ServerLine {
            format: SERVER.into(),
            at: Utc::now(),
            server: server.into(),
            state,
            silent_s: silent.as_secs_f64(),
            error,
        }
    }
}
