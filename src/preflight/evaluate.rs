//! From classified statements and the server's facts to the preflight report. Pure.
use chrono::{DateTime, Utc};

use super::advice;
pub use super::document::{Blocker, LockReport, Report, SessionReport, StatementReport};
use super::facts::{RelationFacts, ServerFacts, SessionFacts};
use crate::ddl::{Statement, Target, Work};
use crate::lockmode::LockMode;
use crate::model::{ServerInfo, age_s};

pub const FORMAT: &str = "pglocks.preflight/1";

#[derive(Debug, Clone)]
pub struct Settings {
    /// Estimated rows above which a scan or rewrite under a write-blocking lock fails.
    pub large_table: u64,
    /// Warnings fail the check too.
    pub strict: bool,
}

fn session(pid: i32, s: &SessionFacts, gid: Option<String>, now: DateTime<Utc>) -> SessionReport {
    SessionReport {
        pid,
        application_name: s.application_name.clone(),
        user: s.usename.clone(),
        state: s.state.clone(),
        xact_age_s: age_s(s.xact_start, now),
        query_age_s: age_s(s.query_start, now),
        state_age_s: age_s(s.state_change, now),
        query: s.query.clone(),
        gid,
    }
}

/// Every distinct target of the statements, in order: what the server is asked about.
pub fn targets(statements: &[Statement]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for st in statements {
        for (t, _) in st.locks() {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

pub struct Context<'a> {
    pub server: ServerInfo,
    pub target: String,
    pub source: String,
    pub settings: &'a Settings,
}

/// `facts.relations` answers `targets(statements)` in the same order.
pub fn evaluate(statements: Vec<Statement>, facts: &ServerFacts, cx: Context<'_>) -> Report {
    let asked = targets(&statements);
    let now = facts.taken_at;
    let fact_of = |t: &Target| -> Option<&RelationFacts> {
        asked
            .iter()
            .position(|a| a == t)
            .and_then(|i| facts.relations.get(i))
    };
    let mut reasons = Vec::new();
    let mut reports = Vec::new();
    for (i, st) in statements.into_iter().enumerate() {
        let index = i + 1;
        let mut locks = Vec::new();
        for (target, mode) in st.locks() {
            let fact = fact_of(target);
            let oid = fact.and_then(|f| f.oid);
            let waits_for = st
                .steps
                .iter()
                .filter(|s| &s.target == target)
                .filter_map(|s| s.waits_for_lockers)
                .max();
            let blockers = blockers(facts, oid, mode, waits_for, now);
            let rows = fact.and_then(|f| f.reltuples).filter(|r| *r >= 0.0);
            let work = st.work_on(target);
            let large = rows.is_some_and(|r| r > cx.settings.large_table as f64);
            let deciding = st.deciding_step(target);
            let worker = st.working_step(target).or(deciding);
            if large && work != Work::None && mode.blocks_writes() {
                reasons.push(format!(
                    "statement {index} would {} {} (~{} rows, more than --large-table {}) while holding {}, which blocks writes",
                    work.as_str(),
                    fact.and_then(|f| f.qualified.clone()).unwrap_or_else(|| target.to_string()),
                    crate::humanize::estimated_rows(rows),
                    cx.settings.large_table,
                    mode.name()
                ));
            }
            if let Some(b) = blockers.first() {
                reasons.push(format!(
                    "statement {index} needs {} on {} and would wait now: pid {} {} {}",
                    mode.name(),
                    fact.and_then(|f| f.qualified.clone())
                        .unwrap_or_else(|| target.to_string()),
                    b.session.pid,
                    b.kind,
                    b.mode
                ));
            }
            locks.push(LockReport {
                target: target.to_string(),
                relation: fact.and_then(|f| f.qualified.clone()),
                mode: mode.name().to_string(),
                work,
                why: deciding
                    .map(|s| format!("{}: {}", s.action, s.lock_doc().rule))
                    .unwrap_or_default(),
                doc_url: deciding.map(|s| s.lock_doc().url()).unwrap_or_default(),
                work_rule: worker
                    .filter(|s| s.doc != s.lock_doc())
                    .map(|s| s.doc.rule.to_string()),
                rows,
                bytes: fact
                    .and_then(|f| f.relpages)
                    .map(|p| p.saturating_mul(facts.block_size)),
                large,
                blockers,
            });
        }
        let snapshot_waits: Vec<SessionReport> = if st.waits_for_old_snapshots {
            facts
                .snapshot_holders
                .iter()
                .map(|h| session(h.pid, &h.session, None, now))
                .collect()
        } else {
            Vec::new()
        };
        if let Some(h) = snapshot_waits.first() {
            reasons.push(format!(
                "statement {index} ({}) would wait for {} holding a snapshot, starting with pid {}",
                st.kind,
                crate::humanize::plural(snapshot_waits.len(), "session", "sessions"),
                h.pid
            ));
        }
        let would_wait = !snapshot_waits.is_empty() || locks.iter().any(|l| !l.blockers.is_empty());
        reports.push(StatementReport {
            index,
            statement: st,
            locks,
            snapshot_waits,
            would_wait,
        });
    }
    let (mut advice, missing) = super::existence::check(&reports);
    reasons.extend(missing);
    advice.extend(advice::advise(&reports, facts));
    if cx.settings.strict {
        let warnings = advice.iter().filter(|a| a.severity == "warning").count();
        if warnings > 0 {
            reasons.push(format!(
                "--strict: {}",
                crate::humanize::plural(warnings, "warning", "warnings")
            ));
        }
    }
    let pass = reasons.is_empty();
    Report {
        format: FORMAT,
        taken_at: now,
        server: cx.server,
        target: cx.target,
        source: cx.source,
        verdict: if pass { "pass" } else { "fail" },
        exit_code: if pass { 0 } else { 2 },
        reasons,
        large_table: cx.settings.large_table,
        strict: cx.settings.strict,
        lock_timeout_default: facts.lock_timeout_default.clone(),
        statements: reports,
        advice,
    }
}

/// Sessions that would make a request for `mode` wait: holders of a conflicting granted
/// lock, and sessions queued ahead with a conflicting request (lock queues are served in
/// order). A CONCURRENTLY form also waits for holders conflicting with `waits_for`.
fn blockers(
    facts: &ServerFacts,
    oid: Option<i64>,
    mode: LockMode,
    waits_for: Option<LockMode>,
    now: DateTime<Utc>,
) -> Vec<Blocker> {
    let Some(oid) = oid else { return Vec::new() };
    let mut out: Vec<Blocker> = Vec::new();
    for l in facts.lockers.iter().filter(|l| l.relation == oid) {
        let Some(held) = LockMode::parse(&l.mode) else {
            continue;
        };
        let conflicts = held.conflicts_with(mode)
            || (l.granted && waits_for.is_some_and(|w| held.conflicts_with(w)));
        if !conflicts {
            continue;
        }
        let kind = if l.granted { "holds" } else { "queued" };
        match out.iter_mut().find(|b| b.session.pid == l.pid) {
            // One entry per session: a held lock explains more than a queued one.
            Some(b) if b.kind == "queued" && l.granted => {
                b.kind = kind;
                b.mode = l.mode.clone();
            }
            Some(_) => {}
            None => out.push(Blocker {
                kind,
                mode: l.mode.clone(),
                session: session(l.pid, &l.session, l.gid.clone(), now),
            }),
        }
    }
    // The longest transaction first: it is the one to look at.
    out.sort_by(|a, b| {
        b.session
            .xact_age_s
            .unwrap_or(0.0)
            .total_cmp(&a.session.xact_age_s.unwrap_or(0.0))
    });
    out
}
