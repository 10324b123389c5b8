//! ALTER TABLE ... ADD COLUMN and ADD CONSTRAINT: what they cost depends on the default,
//! the constraint kind and NOT VALID.
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::docs::{self, Doc};
use super::expr::{Volatility, volatility};
use super::syntax::{child, name, path, rel_of};
use super::{RelName, Step, Target, Work, step};
use crate::lockmode::LockMode::*;

/// What ADD COLUMN costs depends on its default and constraints; the dearest effect wins.
pub(super) fn add_column(table: &RelName, c: &SyntaxNode) -> Vec<Step> {
    let col = child(c, K::COLUMN_NAME)
        .map(|n| name(&n))
        .unwrap_or_default();
    let action = format!("ADD COLUMN {col}");
    let mut effects: Vec<Effect> = Vec::new();
    let mut not_null = false;
    let mut default: Option<SyntaxNode> = None;
    let mut extra = Vec::new();
    let type_name = child(c, K::PATH_TYPE)
        .and_then(|t| path(&t).pop())
        .unwrap_or_default();
    let backfill = format!(
        "ADD COLUMN {col} without that default, then SET DEFAULT for new rows and backfill the existing rows in batches"
    );
    if matches!(
        type_name.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    ) {
        effects.push(Effect::rewrite(
            format!("{type_name} fills every existing row from a sequence"),
            docs::ADD_COLUMN_REWRITE,
            backfill.clone(),
        ));
    }
    for con in c.children() {
        let not_valid = child(&con, K::NOT_VALID).is_some();
        match con.kind() {
            K::NOT_NULL_CONSTRAINT => not_null = true,
            K::DEFAULT_CONSTRAINT => {
                default = con.children().find(|e| e.kind() != K::CONSTRAINT_NAME_CLAUSE)
            }
            K::GENERATED_CONSTRAINT if child(&con, K::GENERATED_IDENTITY).is_some() => {
                effects.push(Effect::rewrite(
                    "an identity column fills every existing row from a sequence".into(),
                    docs::ADD_COLUMN_REWRITE,
                    backfill.clone(),
                ))
            }
            // PostgreSQL 18 makes generated columns VIRTUAL by default: computed on read.
            K::GENERATED_CONSTRAINT
                if con
                    .descendants_with_tokens()
                    .any(|e| e.kind() == K::STORED_KW) =>
            {
                effects.push(Effect::rewrite(
                    "a stored generated column is computed for every existing row".into(),
                    docs::ADD_COLUMN_REWRITE,
                    "add a plain column, backfill it in batches, and keep it current with a trigger".into(),
                ))
            }
            K::CHECK_CONSTRAINT if !not_valid => effects.push(Effect::scan(
                "the CHECK constraint is verified on every row",
                docs::ADD_CHECK,
                "add the column first, then ADD CONSTRAINT ... CHECK (...) NOT VALID and VALIDATE CONSTRAINT separately".into(),
            )),
            K::PRIMARY_KEY_CONSTRAINT | K::UNIQUE_CONSTRAINT => effects.push(Effect::scan(
                "the new index is built from every row",
                docs::ADD_INDEX_CONSTRAINT,
                format!("add the column, CREATE UNIQUE INDEX CONCURRENTLY on it, then ALTER TABLE {table} ADD CONSTRAINT ... UNIQUE USING INDEX ..."),
            )),
            K::REFERENCES_CONSTRAINT => {
                if !not_valid {
                    effects.push(Effect::scan(
                        "the foreign key is verified on every row",
                        docs::ADD_FOREIGN_KEY,
                        "add the column, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and VALIDATE CONSTRAINT separately".into(),
                    ));
                }
                if let Some(pk) = rel_of(&con, K::TABLE_NAME_REF) {
                    extra.push(step(
                        format!("{action} REFERENCES {pk} (the referenced table)"),
                        Target::named(pk),
                        ShareRowExclusive,
                        Work::None,
                        docs::ADD_FOREIGN_KEY,
                    ));
                }
            }
            _ => {}
        }
    }
    match default.as_ref().map(volatility) {
        Some(Volatility::Volatile(f)) => effects.push(Effect::rewrite(
            format!("the default {f} is volatile, so it is evaluated for every existing row"),
            docs::ADD_COLUMN_REWRITE,
            backfill.clone(),
        )),
        Some(Volatility::Unknown(f)) => effects.push(Effect {
            condition: Some(format!(
                "rewrites only if {f} is volatile; a constant or stable default is stored once"
            )),
            ..Effect::rewrite(String::new(), docs::ADD_COLUMN_REWRITE, backfill.clone())
        }),
        Some(Volatility::Stable) => effects.push(Effect {
            work: Work::None,
            condition: None,
            doc: docs::ADD_COLUMN_FAST_DEFAULT,
            safer: None,
        }),
        None if not_null => effects.push(Effect::scan(
            "NOT NULL without a DEFAULT: every row is checked, and the statement fails if the table has rows",
            docs::ADD_NOT_NULL_SCAN,
            "give it a constant DEFAULT (stored once, no scan), or add it nullable and SET NOT NULL later through a validated CHECK".into(),
        )),
        None => {}
    }
    let main = effects
        .into_iter()
        .max_by_key(|e| e.work)
        .unwrap_or(Effect {
            work: Work::None,
            condition: None,
            doc: docs::ALTER_DEFAULT,
            safer: None,
        });
    let mut s = step(
        action,
        Target::named(table.clone()),
        AccessExclusive,
        main.work,
        main.doc,
    );
    s.condition = main.condition;
    s.safer = main.safer;
    let mut steps = vec![s];
    steps.extend(extra);
    steps
}

struct Effect {
    work: Work,
    condition: Option<String>,
    doc: Doc,
    safer: Option<String>,
}

impl Effect {
    fn rewrite(why: String, doc: Doc, safer: String) -> Effect {
        Effect {
            work: Work::Rewrite,
            condition: Some(why).filter(|w| !w.is_empty()),
            doc,
            safer: Some(safer),
        }
    }

    fn scan(why: &str, doc: Doc, safer: String) -> Effect {
        Effect {
            work: Work::Scan,
            condition: Some(why.to_string()),
            doc,
            safer: Some(safer),
        }
    }
}

pub(super) fn add_constraint(table: &RelName, c: SyntaxNode) -> Option<Vec<Step>> {
    let t = Target::named(table.clone());
    let name =
        match child(&c, K::CONSTRAINT_NAME_CLAUSE).and_then(|n| child(&n, K::CONSTRAINT_NAME)) {
            Some(n) => format!(" {}", super::syntax::name(&n)),
            None => String::new(),
        };
    let skip_validation = child(&c, K::NOT_VALID).is_some();
    let validate = |what: &str| {
        format!(
            "ALTER TABLE {table} ADD CONSTRAINT{name} {what} NOT VALID; then ALTER TABLE {table} VALIDATE CONSTRAINT{name} (SHARE UPDATE EXCLUSIVE: reads and writes go on during the scan)"
        )
    };
    let scan_unless_not_valid = if skip_validation {
        Work::None
    } else {
        Work::Scan
    };
    let steps = match c.kind() {
        K::CHECK_CONSTRAINT | K::NOT_NULL_CONSTRAINT => {
            let what = if c.kind() == K::CHECK_CONSTRAINT {
                "CHECK"
            } else {
                "NOT NULL"
            };
            let s = step(
                format!("ADD CONSTRAINT{name} {what}"),
                t,
                AccessExclusive,
                scan_unless_not_valid,
                docs::ADD_CHECK,
            );
            vec![if skip_validation {
                s
            } else {
                s.safer(validate(&format!("{what} (...)")))
            }]
        }
        K::FOREIGN_KEY_CONSTRAINT => {
            let mut s = step(
                format!("ADD CONSTRAINT{name} FOREIGN KEY"),
                t,
                ShareRowExclusive,
                scan_unless_not_valid,
                docs::ADD_FOREIGN_KEY,
            );
            if !skip_validation {
                s = s.safer(validate("FOREIGN KEY (...) REFERENCES ..."));
            }
            let mut steps = vec![s];
            if let Some(pk) = rel_of(&c, K::TABLE_NAME_REF) {
                steps.push(step(
                    format!("ADD CONSTRAINT{name} FOREIGN KEY (the referenced table {pk})"),
                    Target::named(pk),
                    ShareRowExclusive,
                    Work::None,
                    docs::ADD_FOREIGN_KEY,
                ));
            }
            steps
        }
        K::PRIMARY_KEY_CONSTRAINT | K::UNIQUE_CONSTRAINT => {
            let what = if c.kind() == K::PRIMARY_KEY_CONSTRAINT {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            let using = child(&c, K::USING_INDEX_NAME)
                .and_then(|u| child(&u, K::INDEX_REF))
                .map(|i| super::syntax::name(&i));
            if let Some(index) = using {
                let mut s = step(
                    format!("ADD CONSTRAINT{name} {what} USING INDEX {index}"),
                    t,
                    AccessExclusive,
                    Work::None,
                    docs::USING_INDEX,
                );
                if what == "PRIMARY KEY" {
                    s = s.when("PRIMARY KEY also sets NOT NULL on its columns, which scans the table unless they are NOT NULL already".into());
                }
                vec![s]
            } else {
                vec![step(
                    format!("ADD CONSTRAINT{name} {what}"),
                    t,
                    AccessExclusive,
                    Work::Scan,
                    docs::ADD_INDEX_CONSTRAINT,
                )
                .safer(format!(
                    "CREATE UNIQUE INDEX CONCURRENTLY {idx} ON {table} (...); then ALTER TABLE {table} ADD CONSTRAINT{name} {what} USING INDEX {idx}",
                    idx = format!("{}_new_idx", table.name)
                ))]
            }
        }
        K::EXCLUDE_CONSTRAINT => vec![step(
            format!("ADD CONSTRAINT{name} EXCLUDE"),
            t,
            AccessExclusive,
            Work::Scan,
            docs::ADD_INDEX_CONSTRAINT,
        )],
        _ => return None,
    };
    Some(steps)
}
