//! Following the migration file statement by statement: a relation that does not exist on
//! the server now must be created (or renamed into place) by an earlier statement of the
//! same file, else the statement will fail at deploy. A relation an earlier statement drops
//! or renames away is gone for the statements after it.
use super::document::{Advice, StatementReport};
use crate::ddl::{Outcome, RelName};

enum Event {
    Created(usize),
    Gone(usize, &'static str),
}

/// Advice for every lock target whose existence the file decides, and the reasons that
/// fail the check (statements that will fail).
pub fn check(reports: &[StatementReport]) -> (Vec<Advice>, Vec<String>) {
    let mut events: Vec<(RelName, Event)> = Vec::new();
    let mut opaque: Option<usize> = None;
    let mut advice = Vec::new();
    let mut reasons = Vec::new();
    for r in reports {
        let st = &r.statement;
        for ((target, _), lock) in st.locks().into_iter().zip(&r.locks) {
            let last = events
                .iter()
                .rev()
                .find(|(n, _)| n.may_be(&target.relation))
                .map(|(_, e)| e);
            let what = &lock.target;
            let missing = match last {
                Some(Event::Created(k)) => {
                    if lock.relation.is_none() {
                        advice.push(note(
                            "info",
                            "relation_created_earlier",
                            r.index,
                            format!("{what} does not exist now; statement {k} of this migration creates it, so nobody can be holding a lock on it."),
                        ));
                    }
                    None
                }
                Some(Event::Gone(k, how)) => Some(format!(
                    "statement {} uses {what}, which statement {k} {how}: it will fail",
                    r.index
                )),
                None if lock.relation.is_some() => None,
                None => Some(format!(
                    "statement {} uses {what}, which does not exist and no earlier statement of this migration creates: it will fail",
                    r.index
                )),
            };
            let Some(message) = missing else { continue };
            if st.catalog.if_exists {
                continue;
            }
            match opaque {
                // A DO block or another statement pglocks does not model may create it.
                Some(k) => advice.push(note(
                    "warning",
                    "relation_missing",
                    r.index,
                    format!("{message}, unless statement {k} (not modelled) creates it."),
                )),
                None => {
                    advice.push(note(
                        "error",
                        "relation_missing",
                        r.index,
                        format!("{message}."),
                    ));
                    reasons.push(message);
                }
            }
        }
        if st.outcome == Outcome::NotModelled && opaque.is_none() {
            opaque = Some(r.index);
        }
        let c = &st.catalog;
        events.extend(
            c.drops
                .iter()
                .map(|n| (n.clone(), Event::Gone(r.index, "drops"))),
        );
        for (old, new) in &c.renames {
            events.push((old.clone(), Event::Gone(r.index, "renames")));
            events.push((new.clone(), Event::Created(r.index)));
        }
        events.extend(
            c.creates
                .iter()
                .map(|n| (n.clone(), Event::Created(r.index))),
        );
    }
    (advice, reasons)
}

fn note(severity: &'static str, code: &'static str, statement: usize, message: String) -> Advice {
    Advice {
        severity,
        code,
        statement: Some(statement),
        message,
    }
}
