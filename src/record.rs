//! Recordings: every poll (and every action) of an incident appended to a JSON Lines file,
//! read back later for the incident report or to look at one moment again.
pub mod format;
pub use crate::document::guard;
pub mod fleet;
pub mod read_back;
pub mod reader;
pub mod session;
pub mod timeline;
pub mod writer;

use crate::analysis::{Analysis, Options};
use crate::model::Snapshot;
use crate::pipeline::{self, Pin};
use crate::report::json::SnapshotDoc;

pub use format::{ActionLine, Entry, Header};
pub use reader::{ReadError, Reader};
pub use writer::{RecordSink, Recorder, Summary};

/// The Snapshot a recorded document was made from: its sessions carry every raw field.
pub fn snapshot_of(doc: &SnapshotDoc) -> Snapshot {
    Snapshot {
        taken_at: doc.taken_at,
        server: doc.server.clone(),
        sessions: doc.sessions.iter().map(|s| s.session.clone()).collect(),
        replication: doc.replication.clone(),
    }
}

/// The recorded moment analysed again, with today's rules and `opts`. Sessions the
/// recorder took for migrations stay migrations (it may have had --migration-pid), with
/// the reason it gave.
pub fn analysis_of(doc: &SnapshotDoc, opts: &Options, redact: bool) -> Analysis {
    let pins: Vec<Pin> = doc
        .sessions
        .iter()
        .filter(|s| s.is_migration)
        .map(|s| Pin {
            pid: s.session.pid,
            reason: s.migration_reason.clone(),
            beside_rules: None,
        })
        .collect();
    pipeline::analysed(snapshot_of(doc), opts, redact, &pins)
}
