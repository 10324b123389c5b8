//! ALTER TABLE ... ADD COLUMN and ADD CONSTRAINT: what they cost depends on the default,
//! the constraint kind and NOT VALID.
use pg_query::NodeEnum;
use pg_query::protobuf::{ColumnDef, ConstrType, Constraint, Node};

use super::docs::{self, Doc};
use super::expr::{Volatility, rel, strings, volatility};
use super::{RelName, Step, Target, Work, step};
use crate::lockmode::LockMode::*;

/// What ADD COLUMN costs depends on its default and constraints; the dearest effect wins.
pub(super) fn add_column(table: &RelName, c: &ColumnDef) -> Vec<Step> {
    let col = &c.colname;
    let action = format!("ADD COLUMN {col}");
    let mut effects: Vec<Effect> = Vec::new();
    let mut not_null = c.is_not_null;
    let mut default: Option<&Node> = c.raw_default.as_deref();
    let mut extra = Vec::new();
    let type_name = c
        .type_name
        .as_ref()
        .map(|t| strings(&t.names))
        .and_then(|n| n.last().cloned())
        .unwrap_or_default()
        .to_ascii_lowercase();
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
    for con in c.constraints.iter().filter_map(constraint) {
        match ConstrType::try_from(con.contype) {
            Ok(ConstrType::ConstrNotnull) => not_null = true,
            Ok(ConstrType::ConstrDefault) => default = con.raw_expr.as_deref(),
            Ok(ConstrType::ConstrIdentity) => effects.push(Effect::rewrite(
                "an identity column fills every existing row from a sequence".into(),
                docs::ADD_COLUMN_REWRITE,
                backfill.clone(),
            )),
            // PostgreSQL 18 makes generated columns VIRTUAL by default: computed on read.
            Ok(ConstrType::ConstrGenerated) if con.generated_kind != "v" => {
                effects.push(Effect::rewrite(
                    "a stored generated column is computed for every existing row".into(),
                    docs::ADD_COLUMN_REWRITE,
                    "add a plain column, backfill it in batches, and keep it current with a trigger".into(),
                ))
            }
            Ok(ConstrType::ConstrCheck) if !con.skip_validation => effects.push(Effect::scan(
                "the CHECK constraint is verified on every row",
                docs::ADD_CHECK,
                "add the column first, then ADD CONSTRAINT ... CHECK (...) NOT VALID and VALIDATE CONSTRAINT separately".into(),
            )),
            Ok(ConstrType::ConstrPrimary | ConstrType::ConstrUnique) => effects.push(Effect::scan(
                "the new index is built from every row",
                docs::ADD_INDEX_CONSTRAINT,
                format!("add the column, CREATE UNIQUE INDEX CONCURRENTLY on it, then ALTER TABLE {table} ADD CONSTRAINT ... UNIQUE USING INDEX ..."),
            )),
            Ok(ConstrType::ConstrForeign) => {
                if !con.skip_validation {
                    effects.push(Effect::scan(
                        "the foreign key is verified on every row",
                        docs::ADD_FOREIGN_KEY,
                        "add the column, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and VALIDATE CONSTRAINT separately".into(),
                    ));
                }
                if let Some(pk) = con.pktable.as_ref().map(rel) {
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
    match default.map(volatility) {
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

fn constraint(n: &Node) -> Option<&Constraint> {
    match &n.node {
        Some(NodeEnum::Constraint(c)) => Some(c),
        _ => None,
    }
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

pub(super) fn add_constraint(table: &RelName, c: &Constraint) -> Option<Vec<Step>> {
    let t = Target::named(table.clone());
    let name = if c.conname.is_empty() {
        String::new()
    } else {
        format!(" {}", c.conname)
    };
    let validate = |what: &str| {
        format!(
            "ALTER TABLE {table} ADD CONSTRAINT{name} {what} NOT VALID; then ALTER TABLE {table} VALIDATE CONSTRAINT{name} (SHARE UPDATE EXCLUSIVE: reads and writes go on during the scan)"
        )
    };
    let scan_unless_not_valid = if c.skip_validation {
        Work::None
    } else {
        Work::Scan
    };
    let steps = match ConstrType::try_from(c.contype).ok()? {
        ConstrType::ConstrCheck | ConstrType::ConstrNotnull => {
            let what = if c.contype == ConstrType::ConstrCheck as i32 {
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
            vec![if c.skip_validation {
                s
            } else {
                s.safer(validate(&format!("{what} (...)")))
            }]
        }
        ConstrType::ConstrForeign => {
            let mut s = step(
                format!("ADD CONSTRAINT{name} FOREIGN KEY"),
                t,
                ShareRowExclusive,
                scan_unless_not_valid,
                docs::ADD_FOREIGN_KEY,
            );
            if !c.skip_validation {
                s = s.safer(validate("FOREIGN KEY (...) REFERENCES ..."));
            }
            let mut steps = vec![s];
            if let Some(pk) = c.pktable.as_ref().map(rel) {
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
        ConstrType::ConstrPrimary | ConstrType::ConstrUnique => {
            let what = if c.contype == ConstrType::ConstrPrimary as i32 {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            if c.indexname.is_empty() {
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
            } else {
                let mut s = step(
                    format!("ADD CONSTRAINT{name} {what} USING INDEX {}", c.indexname),
                    t,
                    AccessExclusive,
                    Work::None,
                    docs::USING_INDEX,
                );
                if what == "PRIMARY KEY" {
                    s = s.when("PRIMARY KEY also sets NOT NULL on its columns, which scans the table unless they are NOT NULL already".into());
                }
                vec![s]
            }
        }
        ConstrType::ConstrExclusion => vec![step(
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
