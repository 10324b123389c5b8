//! An autovacuum worker that others wait on. An ordinary one is cancelled by the server once
//! a lock request has waited deadlock_timeout on it (proc.c, "sending cancel to blocking
//! autovacuum"); one running "to prevent wraparound" is not, and comes back if cancelled.
use crate::humanize::{count, opt_age, plural};
use crate::model::Session;
use crate::situation::Situation;

use super::{Finding, Severity, finding};

/// The marker autovacuum.c appends to a worker's activity text when it vacuums a table
/// whose relfrozenxid (or relminmxid) is older than autovacuum_freeze_max_age.
const WRAPAROUND: &str = "(to prevent wraparound)";

pub(super) fn is_autovacuum(s: &Session) -> bool {
    s.backend_type.as_deref() == Some("autovacuum worker")
        || s.query
            .as_deref()
            .is_some_and(|q| q.starts_with("autovacuum:"))
}

fn is_wraparound(s: &Session) -> bool {
    s.query.as_deref().is_some_and(|q| q.contains(WRAPAROUND))
}

/// "public.t" from "autovacuum: VACUUM ANALYZE public.t (to prevent wraparound)".
fn table_of(s: &Session) -> Option<String> {
    if let Some(r) = s.progress.as_ref().and_then(|p| p.relation.as_deref()) {
        return Some(r.to_string());
    }
    let q = s.query.as_deref()?.strip_prefix("autovacuum: ")?;
    let q = q.trim_end_matches(WRAPAROUND).trim_end();
    q.split_whitespace().last().map(str::to_string)
}

pub(super) fn rules(a: &Situation, out: &mut Vec<Finding>) {
    for s in &a.snapshot.sessions {
        if !is_autovacuum(s) || a.graph.waiters_of(s.pid).next().is_none() {
            continue;
        }
        if is_wraparound(s) {
            out.push(wraparound(a, s));
        } else if let Some(f) = not_yielding(a, s) {
            out.push(f);
        }
    }
}

fn wraparound(a: &Situation, s: &Session) -> Finding {
    let pid = s.pid;
    let table = table_of(s).unwrap_or_else(|| "its table".into());
    let waiting = a.graph.downstream(pid);
    let migration = waiting.iter().any(|&p| a.is_migration(p));
    let progress = s.progress.as_ref();
    let age = match progress.and_then(|p| p.xid_age.zip(p.freeze_max_age)) {
        Some((age, max)) => format!(
            "; age(relfrozenxid) {} against autovacuum_freeze_max_age {}",
            count(age as f64),
            count(max as f64)
        ),
        None => String::new(),
    };
    let doing = progress
        .map(|p| format!(" Progress: {}.", p.describe()))
        .unwrap_or_default();
    let version = a.snapshot.server.version_num;
    let signal = if version >= 180_000 {
        " On PostgreSQL 18 a role other than a superuser needs pg_signal_autovacuum_worker to cancel it."
    } else {
        ""
    };
    let speed = if version >= 160_000 {
        "To hurry it, lower autovacuum_vacuum_cost_delay (or raise autovacuum_vacuum_cost_limit) in postgresql.conf and reload: from 16 a running worker picks that up, unless the table sets its own values"
    } else {
        "A running worker keeps the cost settings it started the table with (before 16), so a reload will not hurry it"
    };
    finding(
        "autovacuum_wraparound_blocker",
        Severity::Critical,
        std::iter::once(pid)
            .chain(waiting.iter().copied())
            .collect(),
        format!(
            "Autovacuum pid {pid} runs to prevent wraparound on {table} for {} and blocks {}{}{age}",
            opt_age(a.query_age(s)),
            plural(waiting.len(), "session", "sessions"),
            if migration {
                ", the migration among them"
            } else {
                ""
            },
        ),
        format!(
            "It does not yield to the migration after deadlock_timeout the way an ordinary autovacuum does, and cancelling it is futile: it starts again within autovacuum_naptime. Best: let it finish and retry then.{doing} {speed}. If the migration cannot wait, cancel the worker (SELECT pg_cancel_backend({pid})) only while the migration is already queued: the next worker queues behind it, so the migration runs first, and then let the vacuum finish. Do not disable autovacuum or set autovacuum_enabled = off: the wraparound vacuum runs regardless, and postponing it brings the server closer to refusing writes.{signal}"
        ),
    )
}

/// An ordinary autovacuum is cancelled after deadlock_timeout; one that others have waited
/// on for longer is not behaving as expected (the waiter set a long deadlock_timeout, or it
/// is not a lock the server breaks: e.g. a wait behind a waiter queued after it).
fn not_yielding(a: &Situation, s: &Session) -> Option<Finding> {
    let timeout_s = s
        .progress
        .as_ref()
        .and_then(|p| p.deadlock_timeout_ms)
        .unwrap_or(1_000) as f64
        / 1000.0;
    let longest = a
        .graph
        .waiters_of(s.pid)
        .filter_map(|e| a.session(e.waiter).and_then(|w| a.wait_age(w)))
        .fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w))))?;
    // A poll or two of slack: the cancel is sent when the waiter's timer fires.
    if longest <= timeout_s + 2.0 {
        return None;
    }
    let pid = s.pid;
    Some(finding(
        "autovacuum_not_yielding",
        Severity::Warning,
        vec![pid],
        format!(
            "Autovacuum pid {pid} ({}) has blocked others for {}, longer than deadlock_timeout ({})",
            table_of(s).unwrap_or_else(|| "a table".into()),
            opt_age(Some(longest)),
            opt_age(Some(timeout_s))
        ),
        format!(
            "An ordinary autovacuum is cancelled by the server once a lock request has waited deadlock_timeout on it, so this is unusual: check the waiter's own deadlock_timeout and whether the worker's activity text is hidden from this role. Cancelling it is safe (SELECT pg_cancel_backend({pid})); it will vacuum the table again later."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_comes_from_the_activity_text() {
        let s = Session {
            query: Some("autovacuum: VACUUM ANALYZE public.t (to prevent wraparound)".into()),
            ..Default::default()
        };
        assert_eq!(table_of(&s).as_deref(), Some("public.t"));
        assert!(is_wraparound(&s) && is_autovacuum(&s));
    }
}
