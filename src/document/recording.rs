//! The recording's header and action lines (the snapshot lines are the snapshot
//! document, report::json): plain data, written by record/ and read by the report.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::ActionRecord;

pub const HEADER: &str = "pglocks.recording/1";
pub const ACTION: &str = "pglocks.action/1";

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
}
