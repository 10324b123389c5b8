//! The recording's line format: JSON Lines, each line one object whose `format` field says
//! what it is and which version. Readers dispatch on it, so a new kind of line or a new
//! version can be added without breaking older recordings.
//!
//! - `pglocks.recording/1`: the first line, saying how the recording was made.
//! - `pglocks.snapshot/1`: one poll, exactly the document `pglocks snapshot --format json`
//!   prints (without its `actions`, which have lines of their own).
//! - `pglocks.action/1`: a terminate or cancel the engineer sent, with its verified result.
//! - `pglocks.guard/1`: what `pglocks guard` did (see record/guard.rs).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::SignalOutcome;
use crate::model::ActionRecord;
use crate::report::json::SnapshotDoc;

pub const HEADER: &str = "pglocks.recording/1";
pub const SNAPSHOT: &str = crate::report::json::FORMAT;
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

impl ActionLine {
    pub fn new(action: ActionRecord, outcome: Option<&SignalOutcome>) -> ActionLine {
        ActionLine {
            format: ACTION.into(),
            action,
            outcome: outcome.map(|o| outcome_code(o).into()),
        }
    }
}

pub fn outcome_code(o: &SignalOutcome) -> &'static str {
    match o {
        SignalOutcome::Terminated => "terminated",
        SignalOutcome::Cancelled { .. } => "cancelled",
        SignalOutcome::StillAlive => "still_alive",
        SignalOutcome::NotPermitted(_) => "not_permitted",
        SignalOutcome::AlreadyGone => "already_gone",
        SignalOutcome::Refused(_) => "refused",
        SignalOutcome::NotSent => "not_sent",
        SignalOutcome::Unknown => "unknown",
    }
}

/// One line of a recording, as read back.
#[derive(Debug, Clone)]
pub enum Entry {
    Header(Header),
    Snapshot(Box<SnapshotDoc>),
    Action(ActionLine),
    Guard(super::guard::GuardLine),
}

impl Entry {
    /// When it happened; the header's is when recording started.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Entry::Header(h) => h.started_at,
            Entry::Snapshot(s) => s.taken_at,
            Entry::Action(a) => a.action.at,
            Entry::Guard(g) => g.at,
        }
    }
}
