//! The DDL classifier applied to the running migration: why it needs the lock it waits
//! for, and whether it will rewrite a table once it gets it (`table_rewrite`).
use foldhash::HashMap;

use crate::ddl::{self, RelName, Statement, Target, Work};
use crate::humanize::{count, first_line};
use crate::model::{Lock, Session};
use crate::situation::Situation;

use super::{Finding, Severity, finding};

/// `public.orders` or `"My Schema"."Orders"` (quote_ident output) as (schema, name).
fn split_label(label: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    let name = cur;
    (parts.pop(), name)
}

/// Whether the classifier's relation is the one a pg_locks row names. An unqualified
/// name matches any schema: the migration's search_path is not known here.
fn same_relation(rel: &RelName, lock: &Lock) -> bool {
    let Some(label) = lock.relation_name.as_deref() else {
        return false;
    };
    let (schema, name) = split_label(label);
    name == rel.name && (rel.schema.is_none() || rel.schema == schema)
}

/// The session's own lock row on `target`, which carries pg_class's estimates.
fn lock_on<'a>(s: &'a Session, target: &Target) -> Option<&'a Lock> {
    if target.table_of_index {
        return None;
    }
    s.locks
        .iter()
        .find(|l| l.locktype == "relation" && same_relation(&target.relation, l))
}

/// Each migration's statement, classified once per analysis: both rules below need it, and
/// parsing each statement was the largest single cost of the analysis.
pub(super) struct MigrationStatements(HashMap<i32, Result<Option<Statement>, String>>);

impl MigrationStatements {
    pub(super) fn of(a: &Situation) -> MigrationStatements {
        MigrationStatements(
            a.migrations
                .keys()
                .filter_map(|&m| {
                    a.session(m)
                        .map(|s| (m, statement_for(s, a.snapshot.server.query_size)))
                })
                .collect(),
        )
    }

    fn get(&self, pid: i32) -> Result<Option<&Statement>, &str> {
        match self.0.get(&pid) {
            Some(Ok(st)) => Ok(st.as_ref()),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }
}

/// The statement of the migration's text that explains its awaited lock: the one naming
/// that relation, else the first that takes a lock. None when nothing parses.
fn statement_for(s: &Session, query_size: Option<i32>) -> Result<Option<Statement>, String> {
    let query = s.query.as_deref().unwrap_or_default();
    let all = ddl::classify_activity(query, query_size);
    if let Some(unknown) = all.iter().find(|st| st.is_unknown())
        && !all.iter().any(|st| !st.steps.is_empty())
    {
        return Err(match &unknown.outcome {
            ddl::Outcome::Unknown { reason, .. } if reason == ddl::TRUNCATED => reason.clone(),
            _ => first_line(&unknown.sql, 40),
        });
    }
    let awaited = s.awaited_lock();
    let matching = all.iter().position(|st| {
        awaited.is_some_and(|l| {
            st.locks()
                .iter()
                .any(|(t, _)| same_relation(&t.relation, l))
        })
    });
    let chosen = matching.or_else(|| all.iter().position(|st| !st.steps.is_empty()));
    Ok(chosen.and_then(|i| all.into_iter().nth(i)))
}

/// One sentence for the migration_blocked finding: what lock the statement needs and the
/// rule behind it, or that its statement cannot be read.
pub(super) fn lock_reason(s: &Session, statements: &MigrationStatements) -> Option<String> {
    let st = match statements.get(s.pid) {
        Ok(Some(st)) => st,
        Ok(None) => return None,
        Err(e) if e == ddl::TRUNCATED => {
            return Some(format!(
                "{e}: pg_stat_activity cut the text at track_activity_query_size, so why it needs this lock is not known."
            ));
        }
        Err(_) => {
            return Some(
                "pglocks cannot parse its statement (cut at track_activity_query_size?), so why it needs this lock is unknown."
                    .into(),
            );
        }
    };
    let awaited = s.awaited_lock();
    let (target, mode) = st
        .locks()
        .into_iter()
        .find(|(t, _)| awaited.is_some_and(|l| same_relation(&t.relation, l)))
        .or_else(|| st.strongest())?;
    let step = st.deciding_step(target)?;
    let doc = step.lock_doc();
    Some(format!(
        "{} needs {} on {target}: {} ({})",
        step.action,
        mode.name(),
        doc.rule.trim_end_matches('.'),
        doc.url()
    ))
}

/// A migration that will rewrite (or is rewriting) a table: the lock lasts as long as the
/// copy, and everything queued behind it waits that long.
pub(super) fn table_rewrite(
    a: &Situation,
    statements: &MigrationStatements,
    out: &mut Vec<Finding>,
) {
    for &m in a.migrations.keys() {
        let Some(s) = a.session(m) else { continue };
        let Ok(Some(st)) = statements.get(m) else {
            continue;
        };
        for (target, mode) in st.locks() {
            if st.work_on(target) != Work::Rewrite {
                continue;
            }
            let Some(step) = st.working_step(target) else {
                continue;
            };
            let lock = lock_on(s, target);
            let relation = lock
                .and_then(|l| l.relation_name.as_deref().map(str::to_string))
                .unwrap_or_else(|| target.to_string());
            let rows = lock
                .and_then(|l| l.reltuples)
                .filter(|r| *r >= 0.0)
                .map(|r| format!("~{} rows", count(r)))
                .unwrap_or_else(|| "size unknown".into());
            let when = if a.graph.is_waiting(m) {
                "will rewrite"
            } else {
                "may be rewriting"
            };
            let condition = step
                .condition
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let safer = step
                .safer
                .as_deref()
                .map(|p| format!(" Next time: {p}."))
                .unwrap_or_default();
            out.push(finding(
                "table_rewrite",
                Severity::Warning,
                vec![m],
                format!(
                    "Migration pid {m} {when} {relation} ({rows}) under {}: {}{condition}",
                    mode.name(),
                    step.action
                ),
                format!(
                    "The table stays locked for the whole rewrite and every query on it waits that long ({}).{safer}",
                    step.doc.url()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_labels_split_like_quote_ident_wrote_them() {
        assert_eq!(
            split_label("public.orders"),
            (Some("public".into()), "orders".into())
        );
        assert_eq!(
            split_label("\"My.Schema\".\"Or\"\"ders\""),
            (Some("My.Schema".into()), "Or\"ders".into())
        );
        assert_eq!(split_label("orders"), (None, "orders".into()));
    }
}
