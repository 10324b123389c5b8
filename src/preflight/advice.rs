//! The runbook's advice before a migration runs: a lock_timeout, CONCURRENTLY, NOT NULL in
//! steps, no rewrite of a big table under a long lock. Warnings keep exit 0 unless --strict.
pub use super::document::Advice;
use super::document::StatementReport;
use super::facts::ServerFacts;
use crate::ddl::{Control, Outcome, Work};
use crate::lockmode::LockMode;

fn warning(code: &'static str, statement: Option<usize>, message: String) -> Advice {
    Advice {
        severity: "warning",
        code,
        statement,
        message,
    }
}

/// "0", "0ms", "0s" and friends all mean "wait forever".
fn is_zero(value: &str) -> bool {
    let digits = value
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse::<f64>().is_ok_and(|v| v == 0.0)
}

pub fn advise(reports: &[StatementReport], facts: &ServerFacts) -> Vec<Advice> {
    let mut out = Vec::new();
    lock_timeout(reports, facts, &mut out);
    let mut in_block = false;
    for r in reports {
        let st = &r.statement;
        match st.control {
            Some(Control::Begin) => in_block = true,
            Some(Control::Commit | Control::Rollback) => in_block = false,
            _ => {}
        }
        if st.no_transaction_block && in_block {
            out.push(warning(
                "concurrently_in_transaction",
                Some(r.index),
                format!(
                    "statement {} ({}) cannot run inside BEGIN ... COMMIT: PostgreSQL will refuse it. Run it on its own, outside the transaction (most migration tools have a per-migration \"no transaction\" switch).",
                    r.index, st.kind
                ),
            ));
        }
        if st.outcome == Outcome::NotModelled {
            out.push(warning(
                "not_modelled",
                Some(r.index),
                format!(
                    "statement {} ({}) is valid SQL, but pglocks does not model its locks: check its documentation before running it on a busy server.",
                    r.index, st.kind
                ),
            ));
        }
        step_advice(r, &mut out);
    }
    out
}

fn lock_timeout(reports: &[StatementReport], facts: &ServerFacts, out: &mut Vec<Advice>) {
    let mut set = false;
    for r in reports {
        match &r.statement.control {
            Some(Control::Set { name, value, .. }) if name == "lock_timeout" => {
                set = !is_zero(value);
            }
            Some(Control::Reset { name }) if name == "lock_timeout" || name == "all" => {
                set = false;
            }
            _ => {}
        }
        if r.statement.steps.is_empty() || set {
            continue;
        }
        let default = if is_zero(&facts.lock_timeout_default) {
            "New sessions of this role start with lock_timeout = 0 (wait forever).".to_string()
        } else {
            format!(
                "New sessions of this role start with lock_timeout = {}, which helps if the migration runs as this role.",
                facts.lock_timeout_default
            )
        };
        out.push(warning(
            "lock_timeout_missing",
            Some(r.index),
            format!(
                "No SET lock_timeout before statement {}: if a session holds a conflicting lock, the migration waits indefinitely and every later query on the table queues behind it. Start the file with SET lock_timeout = '5s' and retry on failure. {default}",
                r.index
            ),
        ));
        return;
    }
}

/// One warning per step that holds a lock longer, or stronger, than it has to.
fn step_advice(r: &StatementReport, out: &mut Vec<Advice>) {
    let st = &r.statement;
    for step in &st.steps {
        let Some(safer) = &step.safer else { continue };
        let lock = r.locks.iter().find(|l| l.target == step.target.to_string());
        let relation = lock
            .and_then(|l| l.relation.clone())
            .unwrap_or_else(|| step.target.to_string());
        let n = crate::humanize::estimated_rows(lock.and_then(|l| l.rows));
        let mode = step.mode.name();
        let (code, what) = if st.kind.contains("INDEX") && step.mode == LockMode::Share {
            (
                "index_without_concurrently",
                format!(
                    "builds an index without CONCURRENTLY: {mode} blocks every INSERT, UPDATE and DELETE on {relation} (~{n} rows) for the whole build"
                ),
            )
        } else if step.action.contains("NOT NULL") && step.work == Work::Scan {
            (
                "not_null_in_one_step",
                format!(
                    "adds NOT NULL in one step: {mode} on {relation} while all ~{n} rows are scanned, blocking reads and writes"
                ),
            )
        } else if step.work == Work::Rewrite {
            (
                "table_rewrite",
                format!("rewrites {relation} (~{n} rows) under {mode}"),
            )
        } else if step.work == Work::Scan {
            (
                "long_lock",
                format!(
                    "{}: holds {mode} on {relation} while all ~{n} rows are scanned",
                    step.action
                ),
            )
        } else {
            (
                "strong_lock",
                format!("{}: takes {mode} on {relation}", step.action),
            )
        };
        out.push(warning(
            code,
            Some(r.index),
            format!("statement {} {what}. Safer: {safer}.", r.index),
        ));
    }
}
