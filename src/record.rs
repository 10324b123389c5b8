//! Recordings: every poll (and every action) of an incident appended to a JSON Lines file,
//! read back later for the incident report or to look at one moment again.
pub mod format;
pub mod headless;
pub mod reader;
pub mod replay;
pub mod timeline;
pub mod writer;

use crate::analysis::{Analysis, Options, analyze};
use crate::model::Snapshot;
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
    let mut snapshot = snapshot_of(doc);
    if redact {
        snapshot = crate::redact::snapshot(snapshot);
    }
    let first = analyze(snapshot.clone(), opts);
    let missing: Vec<(i32, Option<String>)> = doc
        .sessions
        .iter()
        .filter(|s| s.is_migration && !first.is_migration(s.session.pid))
        .map(|s| (s.session.pid, s.migration_reason.clone()))
        .collect();
    if missing.is_empty() {
        return first;
    }
    let mut pinned = opts.clone();
    pinned
        .rules
        .pinned_pids
        .extend(missing.iter().map(|(pid, _)| *pid));
    let mut again = analyze(snapshot, &pinned);
    for (pid, reason) in missing {
        if let Some(reason) = reason {
            again.migrations.insert(pid, reason);
        }
    }
    again
}
