//! The last minutes of the live view, kept in memory so that the snapshot key can write
//! the incident's timeline even when nobody started a recording.
//!
//! Only polls whose wait graph differs from the previous one are kept, and only with the
//! sessions involved in a wait: a pile-up that sits still for ten minutes costs one entry,
//! and a server with a thousand idle backends costs nothing.
use std::collections::VecDeque;

use chrono::Duration;

use crate::analysis::{Analysis, Options};
use crate::graph::EdgeKind;
use crate::model::ActionRecord;
use crate::record::timeline::{self, Story};
use crate::record::{ActionLine, Entry};
use crate::report::json::document_where;

/// Bytes of `value` as JSON, counted without building the text.
fn json_size<T: serde::Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a value that cannot be encoded counts as nothing.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Enough for the minutes around a typical incident; the oldest states go first.
const MAX_STATES: usize = 240;

/// And never more than this many bytes of entries (measured as their JSON, which is what
/// the snapshot key writes out): a churning pile-up of a thousand sessions changes shape
/// on every poll, and 240 of its states would otherwise hold tens of megabytes.
pub const MAX_BYTES: usize = 4 << 20;

pub struct Ring {
    /// Each entry with its size in bytes.
    entries: VecDeque<(Entry, usize)>,
    states: usize,
    bytes: usize,
    last_shape: Option<Vec<(i32, i32, EdgeKind)>>,
    window: Duration,
    budget: usize,
}

impl Default for Ring {
    fn default() -> Self {
        Ring::new(Duration::minutes(10))
    }
}

impl Ring {
    pub fn new(window: Duration) -> Ring {
        Ring::with_budget(window, MAX_BYTES)
    }

    pub fn with_budget(window: Duration, budget: usize) -> Ring {
        Ring {
            entries: VecDeque::new(),
            states: 0,
            bytes: 0,
            last_shape: None,
            window,
            budget,
        }
    }

    /// What the entries take, as counted against the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn push_poll(&mut self, a: &Analysis) {
        let shape: Vec<(i32, i32, EdgeKind)> = a
            .graph
            .edges
            .iter()
            .map(|e| (e.waiter, e.blocker, e.kind))
            .collect();
        if self.last_shape.as_ref() == Some(&shape) {
            return;
        }
        self.last_shape = Some(shape);
        let doc = document_where(a, &[], |s| {
            a.graph.depth(s.pid).is_some() || a.is_migration(s.pid)
        });
        let size = json_size(&doc);
        self.push(Entry::Snapshot(Box::new(doc)), size);
        self.prune(a.snapshot.taken_at);
    }

    pub fn push_action(&mut self, action: &ActionRecord) {
        let line = ActionLine::new(action.clone(), None);
        let size = json_size(&line);
        self.push(Entry::Action(line), size);
        let now = action.at;
        self.prune(now);
    }

    fn push(&mut self, entry: Entry, size: usize) {
        if matches!(entry, Entry::Snapshot(_)) {
            self.states += 1;
        }
        self.bytes += size;
        self.entries.push_back((entry, size));
    }

    fn prune(&mut self, now: chrono::DateTime<chrono::Utc>) {
        while self.entries.len() > 1
            && (self.states > MAX_STATES
                || self.bytes > self.budget
                || self
                    .entries
                    .front()
                    .is_some_and(|(e, _)| now - e.at() > self.window))
        {
            if let Some((entry, size)) = self.entries.pop_front() {
                self.bytes -= size;
                if matches!(entry, Entry::Snapshot(_)) {
                    self.states -= 1;
                }
            }
        }
    }

    /// The timeline of what the ring holds, told as an incident report tells a recording.
    pub fn story(&self, opts: &Options) -> Option<Story> {
        let entries = self.entries.iter().map(|(e, _)| Ok(e.clone()));
        timeline::build(entries, opts, false)
            .ok()
            .filter(|s| s.polls > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::model::{Lock, ServerInfo, Session, Snapshot};

    fn lock(granted: bool) -> Lock {
        Lock {
            locktype: "relation".into(),
            mode: if granted {
                "AccessShareLock"
            } else {
                "AccessExclusiveLock"
            }
            .into(),
            granted,
            database: Some(1),
            relation: Some(16400),
            relation_name: Some("public.orders".into()),
            ..Default::default()
        }
    }

    /// A pile-up of `waiters` sessions with long statements whose pids change every poll:
    /// a new shape, so a new state, each time.
    fn churning(poll: i32, waiters: i32) -> Analysis {
        let t0 = chrono::DateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut root = Session {
            pid: 1,
            state: Some("active".into()),
            query: Some("SELECT count(*) FROM orders".into()),
            ..Default::default()
        };
        root.locks.push(lock(true));
        let mut sessions = vec![root];
        for i in 0..waiters {
            let mut s = Session {
                pid: 1000 + (poll * waiters + i) % 30_000,
                state: Some("active".into()),
                wait_event_type: Some("Lock".into()),
                blocked_by: vec![1],
                query: Some(
                    format!(
                        "UPDATE orders SET note = '{}' WHERE id = {i}",
                        "x".repeat(400)
                    )
                    .into(),
                ),
                ..Default::default()
            };
            s.locks.push(lock(false));
            sessions.push(s);
        }
        let snap = Snapshot {
            taken_at: t0 + Duration::seconds(poll.into()),
            server: ServerInfo {
                version: "15.18".into(),
                version_num: 150018,
                max_connections: 100,
                query_size: None,
            },
            sessions,
            replication: None,
        };
        analyze(snap, &Options::default())
    }

    /// Issue 13.8: bounded by a count and a time only, 240 states of a churning pile-up of
    /// 50 waiters held about 25 MB of JSON. The counted bytes stay within the budget, the count
    /// agrees with the entries, and the newest states are the ones kept.
    #[test]
    fn a_churning_pile_up_stays_within_the_byte_budget() {
        let mut ring = Ring::default();
        for poll in 0..300 {
            ring.push_poll(&churning(poll, 50));
            assert!(
                ring.bytes() <= MAX_BYTES,
                "poll {poll}: {} bytes",
                ring.bytes()
            );
        }
        let counted: usize = ring
            .entries
            .iter()
            .map(|(e, _)| match e {
                Entry::Snapshot(d) => json_size(d),
                Entry::Action(a) => json_size(a),
                Entry::Guard(g) => json_size(g),
                Entry::Server(s) => json_size(s),
                Entry::Header(h) => json_size(h),
            })
            .sum();
        assert_eq!(counted, ring.bytes());
        assert!(ring.len() > 10, "{} states kept", ring.len());
        assert!(
            ring.len() < MAX_STATES,
            "the bytes, not the count, limited it"
        );
        let newest = ring.entries.back().map(|(e, _)| e.at());
        assert_eq!(newest, Some(churning(299, 1).snapshot.taken_at));
    }
}
