//! The breaker's judgement, pure: one analysed poll and the command's backends in, the
//! decisions out. The loop in guard/attempt.rs acts on them.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backends::Backend;
use crate::analysis::Analysis;
use crate::humanize::age;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_lock_wait: Duration,
    pub max_queue: usize,
    /// --terminate-idle-blockers: how long a root blocker must have been idle in
    /// transaction before it is terminated.
    pub terminate_idle: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Cancel,
    Terminate,
    /// Seen and deliberately left alone.
    Report,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Cancel => "cancel",
            Action::Terminate => "terminate",
            Action::Report => "report",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    LockWait,
    Queue,
    IdleBlocker,
    OldSnapshots,
}

impl Trigger {
    pub fn word(self) -> &'static str {
        match self {
            Trigger::LockWait => "lock_wait",
            Trigger::Queue => "queue",
            Trigger::IdleBlocker => "idle_blocker",
            Trigger::OldSnapshots => "old_snapshots",
        }
    }
}

/// A transaction, exactly: (pid, backend_start, xact_start).
pub type XactKey = (i32, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub action: Action,
    pub trigger: Trigger,
    /// Whom to signal, exactly: the pid with its start time, and for a cancel, the
    /// statement's start time.
    pub pid: i32,
    pub backend_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    /// The command's backend that waits.
    pub waiter: i32,
    /// "AccessExclusiveLock"
    pub lock: Option<String>,
    /// "public.orders", or what else the lock is on
    pub relation: Option<String>,
    /// "pid 3020 (metabase, active, xact 25m)"
    pub root: Option<String>,
    /// The root blocker's (pid, backend_start, xact_start): a retry waits until that
    /// transaction has ended.
    pub root_key: Option<XactKey>,
    pub queue: usize,
    pub longest_wait_s: Option<f64>,
    pub wait_s: Option<f64>,
    /// When the threshold was crossed, by the server's clock (lock waits only).
    pub crossed_at: Option<DateTime<Utc>>,
    /// Why, in words, without the verb.
    pub reason: String,
}

/// Seconds as "0.7s" under a minute (thresholds are often sub-second), else "4m12s".
pub fn secs(s: f64) -> String {
    if s < 60.0 { format!("{s:.1}s") } else { age(s) }
}

fn limit(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Every decision this poll calls for, about the command's `backends`.
pub fn judge(a: &Analysis, backends: &BTreeMap<i32, Backend>, limits: &Limits) -> Vec<Verdict> {
    let mut out = Vec::new();
    for &pid in backends.keys() {
        let Some(s) = a.session(pid) else { continue };
        if !a.graph.is_waiting(pid) {
            continue;
        }
        let lock = s.awaited_lock();
        let wait_s = a.wait_age(s);
        let queue = a.graph.waiting_total(pid);
        let longest_wait_s = a
            .graph
            .downstream(pid)
            .iter()
            .filter_map(|&w| a.session(w).and_then(|ws| a.wait_age(ws)))
            .reduce(f64::max);
        let roots = a.root_blockers_of(pid);
        let root = roots.first().copied();
        let base = Verdict {
            action: Action::Cancel,
            trigger: Trigger::LockWait,
            pid,
            backend_start: s.backend_start,
            query_start: s.query_start,
            waiter: pid,
            lock: lock.map(|l| l.mode.to_string()),
            relation: lock.map(|l| l.target_label()),
            root: root.map(|r| root_words(a, r)),
            root_key: root
                .and_then(|r| a.session(r))
                .map(|r| (r.pid, r.backend_start, r.xact_start)),
            queue,
            longest_wait_s,
            wait_s,
            crossed_at: None,
            reason: String::new(),
        };
        let what = format!(
            "pid {pid} waits {} for {} on {}",
            wait_s.map(secs).unwrap_or_else(|| "?".into()),
            base.lock.as_deref().unwrap_or("a lock"),
            base.relation.as_deref().unwrap_or("?")
        );
        let tail = format!(
            "root blocker {}; {queue} queued behind it{}",
            base.root.as_deref().unwrap_or("unknown"),
            longest_wait_s
                .map(|w| format!(", longest wait {}", secs(w)))
                .unwrap_or_default()
        );
        // CREATE INDEX CONCURRENTLY (and the other CONCURRENTLY commands) wait for old
        // transactions through their virtualxid. Nobody queues behind that wait, and a
        // cancel would leave an INVALID index behind.
        if lock.is_some_and(|l| l.locktype == "virtualxid") {
            let holders: Vec<String> = s.blocked_by.iter().map(|&b| root_words(a, b)).collect();
            out.push(Verdict {
                action: Action::Report,
                trigger: Trigger::OldSnapshots,
                reason: format!(
                    "{what}: it waits only for older transactions to finish ({}); not cancelled, because cancelling a concurrent build leaves an INVALID index",
                    holders.join(", ")
                ),
                ..base
            });
            continue;
        }
        if let Some(min_idle) = limits.terminate_idle {
            let idle_roots: Vec<&crate::model::Session> = roots
                .iter()
                .filter(|r| !backends.contains_key(r))
                .filter_map(|&r| a.session(r))
                .filter(|r| r.is_client_backend() && r.is_idle_in_transaction())
                .filter(|r| {
                    a.age_of(r.state_change)
                        .is_some_and(|i| i >= min_idle.as_secs_f64())
                })
                .collect();
            for r in &idle_roots {
                let idle = a.age_of(r.state_change).unwrap_or_default();
                out.push(Verdict {
                    action: Action::Terminate,
                    trigger: Trigger::IdleBlocker,
                    pid: r.pid,
                    backend_start: r.backend_start,
                    query_start: None,
                    root: Some(root_words(a, r.pid)),
                    root_key: Some((r.pid, r.backend_start, r.xact_start)),
                    reason: format!(
                        "root blocker {} has been idle in transaction for {} (--terminate-idle-blockers {}); {what}; {queue} queued behind it",
                        root_words(a, r.pid),
                        secs(idle),
                        limit(min_idle)
                    ),
                    ..base.clone()
                });
            }
            if !idle_roots.is_empty() {
                continue;
            }
        }
        let max_wait = limits.max_lock_wait.as_secs_f64();
        let trigger = if wait_s.is_some_and(|w| w >= max_wait) {
            Trigger::LockWait
        } else if queue > limits.max_queue {
            Trigger::Queue
        } else {
            continue;
        };
        let why = match trigger {
            Trigger::LockWait => format!("--max-lock-wait {}", limit(limits.max_lock_wait)),
            _ => format!("{queue} queued, --max-queue {}", limits.max_queue),
        };
        let crossed_at = match trigger {
            Trigger::LockWait => s.wait_start().and_then(|t| {
                chrono::Duration::from_std(limits.max_lock_wait)
                    .ok()
                    .map(|d| t + d)
            }),
            _ => None,
        };
        out.push(Verdict {
            trigger,
            crossed_at,
            reason: format!("{what} ({why}); {tail}"),
            ..base
        });
    }
    out
}

/// "pid 3020 (metabase, active, xact 25.0s)"
pub fn root_words(a: &Analysis, pid: i32) -> String {
    let Some(s) = a.session(pid) else {
        return format!("pid {pid}");
    };
    let app = s
        .application_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .or(s.user.as_deref())
        .unwrap_or("?");
    let state = s.state.as_deref().unwrap_or("state hidden");
    let xact = a
        .xact_age(s)
        .map(|x| format!(", xact {}", secs(x)))
        .unwrap_or_default();
    format!("pid {pid} ({app}, {state}{xact})")
}
