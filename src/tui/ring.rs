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

/// Enough for the minutes around a typical incident; the oldest states go first.
const MAX_STATES: usize = 240;

pub struct Ring {
    entries: VecDeque<Entry>,
    last_shape: Option<Vec<(i32, i32, EdgeKind)>>,
    window: Duration,
}

impl Default for Ring {
    fn default() -> Self {
        Ring::new(Duration::minutes(10))
    }
}

impl Ring {
    pub fn new(window: Duration) -> Ring {
        Ring {
            entries: VecDeque::new(),
            last_shape: None,
            window,
        }
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
        self.entries.push_back(Entry::Snapshot(Box::new(doc)));
        self.prune(a.snapshot.taken_at);
    }

    pub fn push_action(&mut self, action: &ActionRecord) {
        self.entries
            .push_back(Entry::Action(ActionLine::new(action.clone(), None)));
    }

    fn prune(&mut self, now: chrono::DateTime<chrono::Utc>) {
        let states =
            |e: &VecDeque<Entry>| e.iter().filter(|x| matches!(x, Entry::Snapshot(_))).count();
        while self.entries.len() > 1
            && (states(&self.entries) > MAX_STATES
                || self
                    .entries
                    .front()
                    .is_some_and(|e| now - e.at() > self.window))
        {
            self.entries.pop_front();
        }
    }

    /// The timeline of what the ring holds, told as an incident report tells a recording.
    pub fn story(&self, opts: &Options) -> Option<Story> {
        let entries = self.entries.iter().cloned().map(Ok);
        timeline::build(entries, opts, false)
            .ok()
            .filter(|s| s.polls > 0)
    }
}
