//! CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY take no lock that queues others, but
//! after each phase they wait for the virtual transaction of every transaction in the
//! database whose snapshot is older than theirs (WaitForOlderSnapshots in indexcmds.c),
//! whether or not it ever touched the table.
use crate::humanize::{first_line, opt_age, plural};
use crate::model::Session;
use crate::situation::Situation;

use super::{Finding, Severity, finding};

fn is_concurrent_build(s: &Session) -> bool {
    if let Some(p) = &s.progress {
        return p.command.ends_with("CONCURRENTLY");
    }
    s.query.as_deref().is_some_and(|q| {
        let q = q.to_ascii_uppercase();
        (q.contains("CREATE") || q.contains("REINDEX"))
            && q.contains("INDEX")
            && q.contains("CONCURRENTLY")
    })
}

pub(super) fn rules(a: &Situation, out: &mut Vec<Finding>) {
    for s in &a.snapshot.sessions {
        let waits_for_snapshots = s.awaited_lock().is_some_and(|l| l.locktype == "virtualxid");
        if !waits_for_snapshots || !is_concurrent_build(s) {
            continue;
        }
        let older: Vec<&Session> = s.blocked_by.iter().filter_map(|&p| a.session(p)).collect();
        let listed = older
            .iter()
            .map(|o| {
                format!(
                    "pid {} ({}, {} {}, transaction {}: {})",
                    o.pid,
                    o.application_name
                        .as_deref()
                        .filter(|x| !x.is_empty())
                        .or(o.user.as_deref())
                        .unwrap_or("?"),
                    o.state.as_deref().unwrap_or("state hidden"),
                    opt_age(a.age_of(o.state_change)),
                    opt_age(a.xact_age(o)),
                    first_line(o.query.as_deref().unwrap_or("?"), 50)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let phase = s
            .progress
            .as_ref()
            .map(|p| {
                let mut t = format!(" in phase \"{}\"", p.phase);
                if let (Some(d), Some(n)) = (p.lockers_done, p.lockers_total)
                    && n > 0
                {
                    t.push_str(&format!(", {d} of {n} waited for"));
                }
                t
            })
            .unwrap_or_default();
        let idle: Vec<String> = older
            .iter()
            .filter(|o| o.is_idle_in_transaction())
            .map(|o| format!("SELECT pg_terminate_backend({})", o.pid))
            .collect();
        let end = if idle.is_empty() {
            "Let them finish or end them from their clients".to_string()
        } else {
            format!(
                "Commit or roll them back from their clients, or terminate the idle ones ({})",
                idle.join("; ")
            )
        };
        let mut pids = vec![s.pid];
        pids.extend(older.iter().map(|o| o.pid));
        out.push(finding(
            "concurrent_build_waiting_for_snapshots",
            Severity::Warning,
            pids,
            format!(
                "pid {} ({}) waits {}{phase} for {} older than its snapshot: {}",
                s.pid,
                first_line(s.query.as_deref().unwrap_or("a concurrent index build"), 50),
                opt_age(a.wait_age(s)),
                plural(older.len(), "transaction", "transactions"),
                if listed.is_empty() { "hidden from this role".into() } else { listed }
            ),
            format!(
                "Those sessions need not touch the table: a concurrent index build waits for every transaction in this database whose snapshot is older than its own (a repeatable-read or serializable transaction, pg_dump, a long report, even an idle one). {end}. Do not cancel the build unless you must: that leaves an INVALID index to drop. Next time run it when no long transaction is open, and set idle_in_transaction_session_timeout."
            ),
        ));
    }
}
