//! The story of a recording, as the incident report tells it: when waits began, when the
//! migration got stuck, the worst moment, each action and what the next poll saw after
//! it, and when it was over. record/timeline.rs builds it; report/incident.rs renders it.
use chrono::{DateTime, Utc};

use super::guard::GuardLine;
use super::recording::{ActionLine, Header};
use crate::analysis::Analysis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Started,
    WaitsBegin,
    MigrationBlocked,
    Peak,
    Action,
    BlockerGone,
    MigrationMoved,
    WaitsEnd,
    Stopped,
    /// What `pglocks guard` did: an attempt, a breaker decision, the command's exit.
    Guard,
    /// With several servers: one stopped answering.
    ServerStale,
    /// With several servers: one answers again after being stale.
    ServerBack,
}

impl EventKind {
    /// A stable word for the JSON report.
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::WaitsBegin => "waits_begin",
            EventKind::MigrationBlocked => "migration_blocked",
            EventKind::Peak => "peak",
            EventKind::Action => "action",
            EventKind::BlockerGone => "blocker_gone",
            EventKind::MigrationMoved => "migration_moved",
            EventKind::WaitsEnd => "waits_end",
            EventKind::Stopped => "stopped",
            EventKind::Guard => "guard",
            EventKind::ServerStale => "server_stale",
            EventKind::ServerBack => "server_back",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// Plain text; renderers escape it for their format.
    pub text: String,
    /// With several servers, the one it happened on.
    pub server: Option<String>,
}

/// The moment with the most sessions waiting on locks: the last poll at that count, when
/// the waits had gone on longest.
#[derive(Debug, Clone)]
pub struct Worst {
    pub at: DateTime<Utc>,
    /// The first poll that saw this many waiting.
    pub since: DateTime<Utc>,
    pub waiting: usize,
    /// Sessions queued behind a blocked migration, directly or transitively.
    pub behind_migration: usize,
    pub analysis: Box<Analysis>,
}

/// The first migration seen blocked, from its start to its release.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStory {
    pub pid: i32,
    pub query: Option<String>,
    /// "AccessExclusiveLock on public.orders"
    pub wanted: Option<String>,
    /// When its wait began: pg_locks.waitstart (14+), else when the recording first saw it.
    pub since: DateTime<Utc>,
    /// The first poll that saw it no longer waiting.
    pub until: Option<DateTime<Utc>>,
    /// Its root blocker as the last poll before its release described it.
    pub root: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Story {
    pub header: Option<Header>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub polls: usize,
    pub events: Vec<Event>,
    pub worst: Option<Worst>,
    pub actions: Vec<ActionLine>,
    pub migration: Option<MigrationStory>,
    /// When waits last ended, if they did before the recording stopped.
    pub waits_ended: Option<DateTime<Utc>>,
    pub waiting_at_end: usize,
    /// The `pglocks.guard/1` lines, in order, when `pglocks guard` made the recording.
    pub guard: Vec<GuardLine>,
    /// With several servers, the server this story is of (in `servers`).
    pub server: Option<String>,
    /// A recording of several servers: each one's own story, in the header's order. Then
    /// `events` is every server's, on one timeline, and the fields that describe one
    /// server's polls (worst, migration, ...) are left empty here.
    pub servers: Vec<Story>,
    /// Primary or standby, as its last poll said; None if it never answered.
    pub role: Option<&'static str>,
}
