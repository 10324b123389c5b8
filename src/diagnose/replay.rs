//! The migration's lock on the standbys. Its AccessExclusiveLock is WAL-logged and taken
//! again by each hot standby's startup process: there replay either waits on standby
//! queries (lag grows until max_standby_streaming_delay cancels them), or standby queries
//! queue behind the replayed lock. On the primary, hot_standby_feedback lets a standby's
//! oldest query hold back vacuum.
use crate::humanize::{age, count, first_line, opt_age, plural};
use crate::model::{ReplayWait, ReplicaLink, StandbyStatus};
use crate::situation::Situation;

use super::{Finding, Severity, finding};

pub(super) fn rules(a: &Situation, feedback_xmin_age: i64, out: &mut Vec<Finding>) {
    let Some(r) = &a.snapshot.replication else {
        return;
    };
    if let Some(standby) = &r.standby
        && let Some(wait) = standby
            .replay_wait
            .as_ref()
            .filter(|w| !w.holders.is_empty())
    {
        out.push(replay_blocked(a, standby, wait));
    }
    queued_behind_replay(a, out);
    for link in &r.downstream {
        if link.xmin_age.is_some_and(|age| age >= feedback_xmin_age) {
            out.push(feedback_holds_xmin(link));
        }
    }
}

/// "replay lag 12s, 3.1 MB received and not yet replayed".
pub fn lag_text(standby: &StandbyStatus, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut parts = Vec::new();
    if let Some(s) = standby.replay_delay_s(now) {
        parts.push(format!("last replayed commit {} ago", age(s)));
    }
    if let Some(b) = standby.replay_lag_bytes.filter(|&b| b > 0) {
        parts.push(format!("{} of WAL received and not yet replayed", bytes(b)));
    }
    if parts.is_empty() {
        "no replay lag measured".into()
    } else {
        parts.join(", ")
    }
}

fn bytes(b: i64) -> String {
    match b {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

fn replay_blocked(a: &Situation, standby: &StandbyStatus, wait: &ReplayWait) -> Finding {
    let target = wait
        .relation_name
        .as_deref()
        .map(str::to_string)
        .or_else(|| wait.relation.map(|oid| format!("relation {oid}")))
        .unwrap_or_else(|| "a relation".into());
    let waited = a.age_of(wait.waitstart);
    let holders: Vec<String> = wait
        .holders
        .iter()
        .map(|&p| match a.session(p) {
            Some(s) => format!(
                "pid {p} ({}, {})",
                s.query
                    .as_deref()
                    .map(|q| first_line(q, 50))
                    .unwrap_or_default(),
                match s.xact_start {
                    Some(_) => format!("transaction open {}", opt_age(a.xact_age(s))),
                    None => "no transaction".into(),
                }
            ),
            None => format!("pid {p}"),
        })
        .collect();
    let cancel_at = match standby.max_standby_streaming_delay_ms {
        Some(-1) => "max_standby_streaming_delay = -1: the standby never cancels them, so replay waits as long as they run and the lag has no bound".to_string(),
        Some(ms) => {
            let delay = ms as f64 / 1000.0;
            match waited {
                Some(w) => format!(
                    "max_standby_streaming_delay = {}: the standby cancels them (\"User was holding a relation lock for too long\") in at most {}",
                    age(delay),
                    age((delay - w).max(0.0))
                ),
                None => format!(
                    "max_standby_streaming_delay = {}: the standby cancels them (\"User was holding a relation lock for too long\") at most that long after receiving the WAL",
                    age(delay)
                ),
            }
        }
        None => "the standby cancels them once max_standby_streaming_delay has passed".into(),
    };
    let cancels: Vec<String> = wait
        .holders
        .iter()
        .map(|p| format!("SELECT pg_cancel_backend({p})"))
        .collect();
    let mut pids = vec![wait.pid];
    pids.extend(&wait.holders);
    finding(
        "replay_blocked_by_query",
        Severity::Critical,
        pids,
        format!(
            "Replay on this standby has waited {} for {} on {target}, held by {}; {}",
            opt_age(waited),
            wait.mode,
            holders.join(", "),
            lag_text(standby, a.snapshot.taken_at)
        ),
        format!(
            "The primary has already done this; until replay passes, this standby serves ever older data and the lag grows. {cancel_at}. To let replay go on now, cancel them here ({}). pg_blocking_pids() is empty for the startup process (pid {}); these holders come from pg_locks. Never signal the startup process: it replays WAL.",
            cancels.join("; "),
            wait.pid
        ),
    )
}

fn queued_behind_replay(a: &Situation, out: &mut Vec<Finding>) {
    for startup in a
        .snapshot
        .sessions
        .iter()
        .filter(|s| s.is_startup_process())
    {
        let queued = a.graph.downstream(startup.pid);
        if queued.is_empty() {
            continue;
        }
        let target = queued
            .iter()
            .filter_map(|&p| a.session(p)?.awaited_lock())
            .map(|l| l.target_label())
            .next()
            .unwrap_or_else(|| "a relation".into());
        let longest = queued
            .iter()
            .filter_map(|&p| a.session(p).and_then(|s| a.wait_age(s)))
            .fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w))));
        let mut pids = vec![startup.pid];
        pids.extend(&queued);
        out.push(finding(
            "queries_blocked_by_replay",
            Severity::Critical,
            pids,
            format!(
                "{} on this standby {} behind the replayed AccessExclusiveLock on {target} (startup process pid {}), the longest for {}",
                plural(queued.len(), "session", "sessions"),
                if queued.len() == 1 { "waits" } else { "wait" },
                startup.pid,
                opt_age(longest)
            ),
            "The lock belongs to a transaction on the primary (a migration's ALTER, LOCK TABLE, TRUNCATE, DROP, or VACUUM truncating the table), replayed here; these readers wait until that transaction ends on the primary and the standby replays its end. Ending or finishing the migration on the primary frees them; run it with SET lock_timeout there so that it cannot hold the table for long. Never signal the startup process: it replays WAL.".into(),
        ));
    }
}

fn feedback_holds_xmin(link: &ReplicaLink) -> Finding {
    let name = link
        .application_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("unnamed");
    let addr = link
        .client_addr
        .as_deref()
        .map(|a| format!(" at {a}"))
        .unwrap_or_default();
    finding(
        "standby_feedback_holds_xmin",
        Severity::Warning,
        Vec::new(),
        format!(
            "Standby {name}{addr} holds back vacuum here: its backend_xmin {} is {} transactions old (hot_standby_feedback)",
            link.backend_xmin.as_deref().unwrap_or("?"),
            count(link.xmin_age.unwrap_or_default() as f64)
        ),
        format!(
            "A long query or transaction on that standby keeps this server from removing dead rows, so tables and indexes bloat while it runs. Find it on the standby (pglocks --server {name}=<its connection string>, or its pg_stat_activity by age(backend_xmin)) and cancel it, or give its role a statement_timeout. Turning hot_standby_feedback off trades this for cancelled standby queries."
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::analysis::{Options, analyze};
    use crate::model::{ReplicaLink, Replication, ServerInfo, Snapshot};

    fn primary_with_standby_xmin_age(age: i64) -> Snapshot {
        Snapshot {
            taken_at: chrono::Utc::now(),
            server: ServerInfo {
                version: "15.18".into(),
                version_num: 150018,
                max_connections: 100,
                query_size: None,
            },
            sessions: Vec::new(),
            replication: Some(Replication {
                in_recovery: false,
                standby: None,
                downstream: vec![ReplicaLink {
                    application_name: Some("replica".into()),
                    backend_xmin: Some("7400".into()),
                    xmin_age: Some(age),
                    ..Default::default()
                }],
            }),
        }
    }

    fn raised(age: i64, opts: &Options) -> bool {
        analyze(primary_with_standby_xmin_age(age), opts)
            .findings
            .iter()
            .any(|f| f.code == "standby_feedback_holds_xmin")
    }

    #[test]
    fn the_feedback_threshold_is_an_option_with_the_old_default() {
        let default = Options::default();
        assert!(!raised(9_999, &default));
        assert!(raised(10_000, &default));
        let low = Options {
            feedback_xmin_age: 600,
            ..Options::default()
        };
        assert!(!raised(599, &low));
        assert!(raised(600, &low));
    }
}
