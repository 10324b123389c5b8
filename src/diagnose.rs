//! The runbook as pure rules: from an analysed snapshot to findings with advice.
use crate::humanize::{first_line, opt_age, plural};
use crate::migration::ddl_kind;
use crate::model::Session;
use crate::situation::{Options, Situation};

pub use crate::model::{Finding, Severity};

mod autovacuum;
mod ddl_rules;
pub mod lock_rows;
pub mod replay;
mod snapshot_wait;
pub mod tool_lock;

fn finding(
    code: &str,
    severity: Severity,
    pids: Vec<i32>,
    title: String,
    advice: String,
) -> Finding {
    Finding {
        code: code.into(),
        severity,
        pids,
        title,
        advice,
    }
}

pub fn findings(a: &Situation, opts: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    let statements = ddl_rules::MigrationStatements::of(a);
    migration_rules(a, &statements, &mut out);
    ddl_rules::table_rewrite(a, &statements, &mut out);
    cycle_rules(a, &mut out);
    blocker_rules(a, opts, &mut out);
    index_rules(a, &mut out);
    autovacuum::rules(a, &mut out);
    tool_lock::rules(a, opts.long_xact_s, &mut out);
    snapshot_wait::rules(a, &mut out);
    replay::rules(a, opts.feedback_xmin_age, &mut out);
    privilege_rules(a, &mut out);
    // Stable: rules already emit in a sensible order within each severity.
    out.sort_by_key(|f| f.severity);
    out
}

fn migration_rules(
    a: &Situation,
    statements: &ddl_rules::MigrationStatements,
    out: &mut Vec<Finding>,
) {
    for m in a.blocked_migrations() {
        let Some(s) = a.session(m) else { continue };
        let roots = a.root_blockers_of(m);
        let wanted = s
            .awaited_lock()
            .map(|l| format!("{} on {}", l.mode, l.target_label()))
            .unwrap_or_else(|| "a lock".into());
        let by = roots
            .first()
            .map(|&r| format!("; root blocker {}", a.describe_blocker(r)))
            .unwrap_or_default();
        let mut pids = vec![m];
        pids.extend(&roots);
        let cancel = format!(
            "the migration (SELECT pg_cancel_backend({m})) and retry it with SET lock_timeout = '5s' so that it gives up instead of stalling traffic; check for long transactions before retrying."
        );
        let act = match roots
            .iter()
            .find(|&&r| r != crate::model::PREPARED_XACT_PID)
        {
            Some(r) => format!(
                "Terminate the root blocker (SELECT pg_terminate_backend({r})) if its work can be lost, or cancel {cancel}"
            ),
            None => format!("Cancel {cancel}"),
        };
        let why = ddl_rules::lock_reason(s, statements)
            .map(|w| format!("Why this lock: {w}. "))
            .unwrap_or_default();
        out.push(finding(
            "migration_blocked",
            Severity::Critical,
            pids,
            format!(
                "Migration pid {m} ({}) has waited {} for {wanted}{by}",
                s.query
                    .as_deref()
                    .map(|q| first_line(q, 60))
                    .unwrap_or_default(),
                opt_age(a.wait_age(s)),
            ),
            format!("{why}{act}"),
        ));

        let queued = a.graph.downstream(m);
        if !queued.is_empty() {
            let mut pids = vec![m];
            pids.extend(&queued);
            out.push(finding(
                "lock_queue_behind_migration",
                Severity::Critical,
                pids,
                format!(
                    "{} queued behind migration pid {m}'s pending {wanted}",
                    plural(queued.len(), "session", "sessions")
                ),
                format!(
                    "Lock requests are served in order, so even plain SELECTs wait behind the migration. Cancelling it (SELECT pg_cancel_backend({m})) frees them at once; ending the root blocker lets the migration run, then them."
                ),
            ));
        }
    }
}

fn cycle_rules(a: &Situation, out: &mut Vec<Finding>) {
    for cycle in &a.graph.cycles {
        let names: Vec<String> = cycle.iter().map(i32::to_string).collect();
        out.push(finding(
            "deadlock_cycle",
            Severity::Critical,
            cycle.clone(),
            format!("Deadlock: pids {} wait on each other", names.join(", ")),
            "PostgreSQL resolves this only after deadlock_timeout; if that is set long, terminate one member (the youngest transaction loses the least work) and lower deadlock_timeout back to about 1s.".into(),
        ));
    }
}

/// Every session that others wait on, root blockers first.
fn blockers(a: &Situation) -> Vec<&Session> {
    let mut pids: Vec<i32> = a.graph.edges.iter().map(|e| e.blocker).collect();
    // Each key costs two lookups; computed once per blocker, not once per comparison.
    pids.sort_by_cached_key(|&p| {
        (
            !a.graph.is_root(p),
            std::cmp::Reverse(a.graph.waiting_total(p)),
            p,
        )
    });
    pids.dedup();
    pids.iter().filter_map(|&p| a.session(p)).collect()
}

fn blocker_rules(a: &Situation, opts: &Options, out: &mut Vec<Finding>) {
    for s in blockers(a) {
        let pid = s.pid;
        let behind = plural(a.graph.waiting_total(pid), "session", "sessions");
        let severity = if a.graph.is_root(pid) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        if s.is_prepared_xact() {
            let gid = s.application_name.as_deref().unwrap_or("?");
            out.push(finding(
                "prepared_transaction_blocker",
                Severity::Critical,
                vec![pid],
                format!("Prepared transaction {gid} holds locks that {behind} wait on"),
                format!("It belongs to no backend and cannot be terminated. Ask its transaction manager, then COMMIT PREPARED '{gid}' or ROLLBACK PREPARED '{gid}'; set max_prepared_transactions = 0 where nothing uses two-phase commit."),
            ));
            continue;
        }
        // Their own rule knows better than "terminate the long transaction".
        if a.is_migration(pid) || autovacuum::is_autovacuum(s) {
            continue;
        }
        if s.is_idle_in_transaction() {
            out.push(finding(
                "idle_in_transaction_blocker",
                severity,
                vec![pid],
                format!(
                    "pid {pid} ({}) is idle in transaction for {} and blocks {behind}",
                    who(s),
                    opt_age(a.age_of(s.state_change))
                ),
                format!("Cancelling cannot release an idle transaction's locks: terminate it (SELECT pg_terminate_backend({pid})). Set idle_in_transaction_session_timeout (e.g. '60s') for its role so this cannot recur."),
            ));
        } else if a.xact_age(s).is_some_and(|age| age >= opts.long_xact_s) {
            out.push(finding(
                "long_transaction_blocker",
                severity,
                vec![pid],
                format!(
                    "pid {pid} ({}) has been in a transaction for {} and blocks {behind}",
                    who(s),
                    opt_age(a.xact_age(s))
                ),
                format!("If its work can be lost, terminate it (SELECT pg_terminate_backend({pid})); otherwise wait for it before retrying the migration. Give reporting roles a statement_timeout, and run migrations only when no long transaction is open."),
            ));
        }
    }
}

fn who(s: &Session) -> String {
    s.application_name
        .as_deref()
        .filter(|a| !a.is_empty())
        .or(s.user.as_deref())
        .unwrap_or("unknown")
        .to_string()
}

fn index_rules(a: &Situation, out: &mut Vec<Finding>) {
    // Once per distinct text: a pile-up repeats the same few statements thousands of times,
    // and lexing each of them again was a tenth of the analysis at 10,000 sessions.
    let mut plain_builds: foldhash::HashMap<&str, bool> = foldhash::HashMap::default();
    for s in &a.snapshot.sessions {
        let involved = a.graph.is_waiting(s.pid) || a.graph.waiters_of(s.pid).next().is_some();
        let Some(query) = s.query.as_deref() else {
            continue;
        };
        if !involved {
            continue;
        }
        let is_plain_build = *plain_builds.entry(query).or_insert_with(|| {
            ddl_kind(query).is_some_and(|k| k.ends_with("INDEX") && k.starts_with("CREATE"))
                && !query.to_ascii_uppercase().contains("CONCURRENTLY")
        });
        if is_plain_build {
            out.push(finding(
                "non_concurrent_index_build",
                Severity::Warning,
                vec![s.pid],
                format!("pid {} builds an index without CONCURRENTLY: writes to the table wait until it finishes", s.pid),
                "CREATE INDEX holds ShareLock, which blocks every INSERT, UPDATE and DELETE for the whole build. Use CREATE INDEX CONCURRENTLY (outside a transaction block) and check for an INVALID index if it fails.".into(),
            ));
        }
    }
}

fn privilege_rules(a: &Situation, out: &mut Vec<Finding>) {
    let hidden: Vec<i32> = a
        .snapshot
        .sessions
        .iter()
        .filter(|s| s.query_hidden())
        .map(|s| s.pid)
        .collect();
    if !hidden.is_empty() {
        out.push(finding(
            "insufficient_privilege",
            Severity::Info,
            hidden.clone(),
            format!(
                "The statements of {} are hidden from this role",
                plural(hidden.len(), "session", "sessions")
            ),
            "The wait graph is still complete (pg_locks is readable by all). To see statements, states and times: GRANT pg_read_all_stats TO <this role> (or GRANT pg_monitor).".into(),
        ));
    }
}
