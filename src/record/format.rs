//! The recording's line format: JSON Lines, each line one object whose `format` field says
//! what it is and which version. Readers dispatch on it, so a new kind of line or a new
//! version can be added without breaking older recordings.
//!
//! - `pglocks.recording/1`: the first line, saying how the recording was made.
//! - `pglocks.snapshot/1`: one poll, exactly the document `pglocks snapshot --format json`
//!   prints (without its `actions`, which have lines of their own).
//! - `pglocks.action/1`: a terminate or cancel the engineer sent, with its verified result.
//! - `pglocks.guard/1`: what `pglocks guard` did (see document/guard.rs).
//! - `pglocks.server/1`: with several servers, one stopped answering or answers again.
//!
//! With several servers every snapshot line names its server (`server_name`) and the
//! header lists them (`servers`). Both are optional fields of the existing kinds, so a
//! reader that predates them still reads every poll, and skips the server lines with a
//! warning, as it does any kind it does not know.
use chrono::{DateTime, Utc};

use crate::db::SignalOutcome;
use crate::model::ActionRecord;
use crate::report::json::SnapshotDoc;

pub use crate::document::recording::{
    ACTION, ActionLine, HEADER, Header, SERVER, ServerLine, ServerState,
};
pub const SNAPSHOT: &str = crate::report::json::FORMAT;

// The constructor from a signal's outcome stays with the writer: the outcome is db's.
impl ActionLine {
    pub fn new(action: ActionRecord, outcome: Option<&SignalOutcome>) -> ActionLine {
        ActionLine {
            format: ACTION.into(),
            action,
            outcome: outcome.map(|o| outcome_code(o).into()),
            server: None,
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
    Guard(crate::document::guard::GuardLine),
    Server(ServerLine),
}

impl Entry {
    /// When it happened; the header's is when recording started.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Entry::Header(h) => h.started_at,
            Entry::Snapshot(s) => s.taken_at,
            Entry::Action(a) => a.action.at,
            Entry::Guard(g) => g.at,
            Entry::Server(s) => s.at,
        }
    }
}
