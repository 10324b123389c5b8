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
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// Plain text; renderers escape it for their format.
    pub text: String,
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
#[derive(Debug, Clone)]
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
}
