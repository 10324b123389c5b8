//! Plain data read from the server. A Snapshot is what one poll saw; everything else is
//! derived from it by pure functions, so a recorded Snapshot replays exactly.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod finding;
mod lock_row;
pub mod preflight;
mod progress;
mod replication;
pub use finding::{Finding, Severity};
pub use lock_row::ToolLockRow;
pub use progress::{Progress, Tracker as ProgressTracker};
pub use replication::{ReplayWait, ReplicaLink, Replication, STARTUP_NOT_SIGNALLED, StandbyStatus};

/// Text read from pg_stat_activity and pg_locks. Most of it (states, wait events, lock
/// modes, user and database names) fits in 24 bytes, which CompactString keeps inline: a
/// poll of 1,200 sessions then makes a few thousand allocations instead of fifteen
/// thousand, and freeing the previous poll costs as little. (Already under ratatui.)
pub type Text = compact_str::CompactString;

/// Stands in for every prepared transaction: pg_blocking_pids reports them as pid 0.
pub const PREPARED_XACT_PID: i32 = 0;

/// How many of one session's locks the poll lists (poll.sql says 200 in its text): enough
/// for the details pane and a snapshot, few enough that a session holding 50,000 locks
/// costs neither the server's join nor the wire. Locks on a target some session waits for
/// are listed beyond it, as the wait graph needs them.
pub const LOCKS_LISTED_PER_SESSION: u64 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub version_num: i32,
    pub max_connections: i32,
    /// track_activity_query_size in bytes: pg_stat_activity shows at most this minus one
    /// byte of a statement. None in recordings made before it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_size: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The server's statement timestamp of the poll; every age is measured from it so that
    /// client clock skew cannot distort the picture.
    pub taken_at: DateTime<Utc>,
    pub server: ServerInfo,
    pub sessions: Vec<Session>,
    /// Replication as this server sees it; None in recordings made before it was read,
    /// and when reading it failed (the wait tree is still shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Session {
    pub pid: i32,
    #[serde(default)]
    pub leader_pid: Option<i32>,
    pub user: Option<Text>,
    pub database: Option<Text>,
    pub application_name: Option<Text>,
    pub client_addr: Option<Text>,
    pub backend_type: Option<Text>,
    pub state: Option<Text>,
    pub wait_event_type: Option<Text>,
    pub wait_event: Option<Text>,
    pub query: Option<Text>,
    pub backend_start: Option<DateTime<Utc>>,
    pub xact_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    pub state_change: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_superuser: bool,
    /// Deduplicated pg_blocking_pids, with parallel workers folded into their leader.
    #[serde(default)]
    pub blocked_by: Vec<i32>,
    /// Locks of sessions involved in a wait (waiting or blocking); empty for the others.
    /// At most LOCKS_LISTED_PER_SESSION of them, plus any on a target another session
    /// waits for (db/poll.rs); `locks_unlisted` says how many more the session holds.
    #[serde(default)]
    pub locks: Vec<Lock>,
    /// Locks the session holds that the poll did not list (the per-session cap).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub locks_unlisted: u64,
    /// Parallel workers folded into this session.
    #[serde(default)]
    pub parallel_workers: u32,
    /// pg_stat_progress_* for a running index build, rewrite, vacuum, analyze or COPY.
    /// Boxed: few sessions have one, and inline it was 40% of every Session's size, which
    /// a poll of a thousand backends holds two or three copies of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Box<Progress>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Lock {
    pub locktype: Text,
    pub mode: Text,
    pub granted: bool,
    #[serde(default)]
    pub database: Option<i64>,
    #[serde(default)]
    pub relation: Option<i64>,
    /// Schema-qualified name, or "db X, oid Y" when the relation lives in another database.
    #[serde(default)]
    pub relation_name: Option<Text>,
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub tuple: Option<i64>,
    #[serde(default)]
    pub virtualxid: Option<Text>,
    #[serde(default)]
    pub transactionid: Option<Text>,
    #[serde(default)]
    pub classid: Option<i64>,
    #[serde(default)]
    pub objid: Option<i64>,
    #[serde(default)]
    pub objsubid: Option<i64>,
    /// pg_locks.waitstart, PostgreSQL 14 and later.
    #[serde(default)]
    pub waitstart: Option<DateTime<Utc>>,
    /// pg_class estimates: catalog reads, never a size function that would queue for a lock.
    #[serde(default)]
    pub reltuples: Option<f64>,
    #[serde(default)]
    pub relpages: Option<i64>,
}

impl Lock {
    /// Two lock rows conflict only if they name the same lockable object.
    pub fn same_target(&self, other: &Lock) -> bool {
        self.locktype == other.locktype
            && self.database == other.database
            && self.relation == other.relation
            && self.page == other.page
            && self.tuple == other.tuple
            && self.virtualxid == other.virtualxid
            && self.transactionid == other.transactionid
            && self.classid == other.classid
            && self.objid == other.objid
            && self.objsubid == other.objsubid
    }

    /// What the lock is on, in words an engineer reads.
    pub fn target_label(&self) -> String {
        match self.locktype.as_str() {
            "relation" => self
                .relation_name
                .as_deref()
                .map(str::to_string)
                .or_else(|| self.relation.map(|oid| format!("oid {oid}")))
                .unwrap_or_else(|| "relation".into()),
            "transactionid" => format!(
                "transaction {}",
                self.transactionid.as_deref().unwrap_or("?")
            ),
            "virtualxid" => format!(
                "virtual transaction {}",
                self.virtualxid.as_deref().unwrap_or("?")
            ),
            "tuple" => format!(
                "row ({},{}) of {}",
                self.page.unwrap_or_default(),
                self.tuple.unwrap_or_default(),
                self.relation_name.as_deref().unwrap_or("relation")
            ),
            "advisory" => format!(
                "advisory lock {}:{}",
                self.classid.unwrap_or_default(),
                self.objid.unwrap_or_default()
            ),
            other => other.to_string(),
        }
    }
}

/// Sessions waiting on another: the one count of "waiting" that the screen, the reports,
/// the recording and replay all show.
pub fn waiting_count<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> usize {
    sessions.into_iter().filter(|s| s.is_blocked()).count()
}

impl Session {
    /// pg_blocking_pids names another session: the wait graph has an edge for exactly these.
    pub fn is_blocked(&self) -> bool {
        self.blocked_by.iter().any(|&b| b != self.pid)
    }

    pub fn is_waiting_on_lock(&self) -> bool {
        self.wait_event_type.as_deref() == Some("Lock")
    }

    /// The lock this session waits for, if any.
    pub fn awaited_lock(&self) -> Option<&Lock> {
        self.locks.iter().find(|l| !l.granted)
    }

    pub fn held_locks(&self) -> impl Iterator<Item = &Lock> {
        self.locks.iter().filter(|l| l.granted)
    }

    pub fn is_idle_in_transaction(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("idle in transaction") | Some("idle in transaction (aborted)")
        )
    }

    pub fn is_prepared_xact(&self) -> bool {
        self.pid == PREPARED_XACT_PID
    }

    /// pg_stat_activity hides other roles' statements without pg_read_all_stats.
    pub fn query_hidden(&self) -> bool {
        self.query.as_deref() == Some("<insufficient privilege>")
    }

    pub fn is_client_backend(&self) -> bool {
        self.backend_type.as_deref() == Some("client backend")
    }

    /// When the current wait began: pg_locks.waitstart on 14+, else the statement start,
    /// which bounds it from below on 13.
    pub fn wait_start(&self) -> Option<DateTime<Utc>> {
        if !self.is_waiting_on_lock() {
            return None;
        }
        self.awaited_lock()
            .and_then(|l| l.waitstart)
            .or(self.query_start)
    }
}

/// A signal the engineer sent, kept for the incident record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub at: DateTime<Utc>,
    /// "terminate" or "cancel"
    pub action: String,
    pub pid: i32,
    pub result: String,
}

/// Seconds from `from` to `now`, never negative (clocks and rounding can disagree).
pub fn age_s(from: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<f64> {
    from.map(|t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0)
}

/// Folds parallel workers into their leader, because pg_blocking_pids may name either and
/// the engineer can only act on the leader; also deduplicates every `blocked_by`.
pub fn fold_parallel_workers(sessions: Vec<Session>) -> Vec<Session> {
    use foldhash::HashMap;
    let leader_of: HashMap<i32, i32> = sessions
        .iter()
        .filter_map(|s| match s.leader_pid {
            Some(l) if l != s.pid => Some((s.pid, l)),
            _ => None,
        })
        .collect();
    // Usually there is no parallel query running: the sessions stay where they are.
    if leader_of.is_empty() {
        return sessions;
    }
    let canon = |pid: i32| leader_of.get(&pid).copied().unwrap_or(pid);
    let mut leaders: Vec<Session> = Vec::with_capacity(sessions.len());
    let mut workers: Vec<Session> = Vec::new();
    for s in sessions {
        if leader_of.contains_key(&s.pid) {
            workers.push(s);
        } else {
            leaders.push(s);
        }
    }
    let index: HashMap<i32, usize> = leaders
        .iter()
        .enumerate()
        .map(|(i, s)| (s.pid, i))
        .collect();
    for w in workers {
        let Some(&i) = index.get(&canon(w.pid)) else {
            // The leader left pg_stat_activity between rows; keep the worker as itself.
            leaders.push(w);
            continue;
        };
        let leader = &mut leaders[i];
        leader.parallel_workers += 1;
        leader.blocked_by.extend(w.blocked_by.iter().copied());
        leader.locks.extend(w.locks);
        leader.locks_unlisted += w.locks_unlisted;
        if w.wait_event_type.as_deref() == Some("Lock") && !leader.is_waiting_on_lock() {
            leader.wait_event_type = w.wait_event_type;
            leader.wait_event = w.wait_event;
        }
    }
    for s in &mut leaders {
        let me = s.pid;
        let mut blocked: Vec<i32> = s
            .blocked_by
            .iter()
            .map(|&p| canon(p))
            .filter(|&p| p != me)
            .collect();
        blocked.sort_unstable();
        blocked.dedup();
        s.blocked_by = blocked;
    }
    leaders
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_fold_into_leader_and_blockers_are_canonical() {
        let leader = Session {
            pid: 10,
            leader_pid: Some(10),
            ..Default::default()
        };
        let worker = Session {
            pid: 11,
            leader_pid: Some(10),
            wait_event_type: Some("Lock".into()),
            blocked_by: vec![20],
            locks: vec![Lock {
                locktype: "relation".into(),
                mode: "AccessShareLock".into(),
                granted: false,
                ..Default::default()
            }],
            ..Default::default()
        };
        let waiter = Session {
            pid: 30,
            wait_event_type: Some("Lock".into()),
            blocked_by: vec![11, 10, 10],
            ..Default::default()
        };
        let blocker = Session {
            pid: 20,
            ..Default::default()
        };
        let folded = fold_parallel_workers(vec![leader, worker, waiter, blocker]);
        assert_eq!(folded.len(), 3);
        let l = folded.iter().find(|s| s.pid == 10).unwrap();
        assert_eq!(l.parallel_workers, 1);
        assert_eq!(l.blocked_by, vec![20]);
        assert!(l.is_waiting_on_lock());
        let w = folded.iter().find(|s| s.pid == 30).unwrap();
        assert_eq!(w.blocked_by, vec![10]);
    }
}
