//! ALTER TABLE (and ALTER INDEX/VIEW/...) subcommands: the docs' lock table, with
//! `AlterTableGetLockLevel()` where the docs are silent. The statement takes the strongest
//! lock of its subcommands, and one pass over the table serves all of them.
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::alter_add;
use super::docs::{self, Doc};
use super::syntax::{child, name, rel};
use super::{RelName, Statement, Step, Target, Work, step, with_steps};
use crate::lockmode::LockMode::{self, *};

/// The node naming the altered relation, by statement.
const RELATION: &[K] = &[
    K::TABLE_RELATION_NAME,
    K::INDEX_REF,
    K::VIEW_REF,
    K::SEQUENCE_REF,
];

pub(super) fn classify(sql: &str, node: &SyntaxNode, kind: &str) -> Statement {
    let Some(relation) = node.children().find(|c| RELATION.contains(&c.kind())) else {
        return Statement::not_modelled(sql, kind);
    };
    let Some(table) = rel(&relation) else {
        return Statement::not_modelled(sql, kind);
    };
    let actions: Vec<SyntaxNode> = node
        .children()
        .skip_while(|c| c != &relation)
        .skip(1)
        .collect();
    if let [only] = actions.as_slice() {
        let renamed = match only.kind() {
            K::TABLE_RENAME_TO | K::VIEW_RENAME_TO | K::SEQUENCE_RENAME_TO => Some("RENAME"),
            K::INDEX_RENAME_TO => Some("ALTER INDEX RENAME"),
            K::RENAME_COLUMN => Some("RENAME COLUMN"),
            K::RENAME_CONSTRAINT => Some("RENAME CONSTRAINT"),
            _ => None,
        };
        if let Some(renamed) = renamed {
            return rename(sql, renamed, table);
        }
    }
    if actions.is_empty() {
        return Statement::not_modelled(sql, kind);
    }
    let mut st = Statement::new(sql, kind);
    for action in &actions {
        match subcommand(&table, action) {
            Some(steps) => st.steps.extend(steps),
            None => return Statement::not_modelled(sql, kind),
        }
        if action.kind() == K::DETACH_PARTITION && child(action, K::DETACH_CONCURRENTLY).is_some() {
            st.no_transaction_block = true;
        }
    }
    st
}

/// The name in the first child of `kind`, folded ("" when absent).
fn named(n: &SyntaxNode, kind: K) -> String {
    child(n, kind).map(|c| name(&c)).unwrap_or_default()
}

/// The storage parameters a SET (...) or RESET (...) names, `namespace.name`.
fn params(n: &SyntaxNode) -> Vec<String> {
    n.descendants()
        .filter(|d| d.kind() == K::ATTRIBUTE_OPTION)
        .map(|o| {
            let param = named(&o, K::ATTRIBUTE_NAME);
            match child(&o, K::ATTRIBUTE_NAMESPACE) {
                Some(ns) => format!("{}.{param}", name(&ns)),
                None => param,
            }
        })
        .collect()
}

/// Storage parameters that ALTER TABLE ... SET (...) changes under SHARE UPDATE EXCLUSIVE;
/// every other parameter takes ACCESS EXCLUSIVE (AlterTableGetRelOptionsLockLevel).
fn light_param(name: &str) -> bool {
    let name = name.strip_prefix("toast.").unwrap_or(name);
    name.starts_with("autovacuum_")
        || name.starts_with("toast_")
        || matches!(
            name,
            "fillfactor"
                | "parallel_workers"
                | "vacuum_index_cleanup"
                | "vacuum_truncate"
                | "log_autovacuum_min_duration"
        )
}

fn subcommand(table: &RelName, action: &SyntaxNode) -> Option<Vec<Step>> {
    let t = || Target::named(table.clone());
    let one = |action: String, mode: LockMode, work: Work, doc: Doc| {
        Some(vec![step(action, t(), mode, work, doc)])
    };
    let default = |action: &str| {
        one(
            action.into(),
            AccessExclusive,
            Work::None,
            docs::ALTER_DEFAULT,
        )
    };
    match action.kind() {
        K::ADD_COLUMN => Some(alter_add::add_column(table, action)),
        K::ADD_CONSTRAINT => alter_add::add_constraint(table, action.children().next()?),
        K::DROP_COLUMN => default(&format!(
            "DROP COLUMN {}",
            named(action, K::COLUMN_NAME_REF)
        )),
        K::ALTER_COLUMN => column(table, action),
        K::VALIDATE_CONSTRAINT => one(
            format!(
                "VALIDATE CONSTRAINT {}",
                named(action, K::CONSTRAINT_NAME_REF)
            ),
            ShareUpdateExclusive,
            Work::Scan,
            docs::VALIDATE_CONSTRAINT,
        ),
        K::DROP_CONSTRAINT => default(&format!(
            "DROP CONSTRAINT {}",
            named(action, K::CONSTRAINT_NAME_REF)
        )),
        K::ALTER_CONSTRAINT => default("ALTER CONSTRAINT"),
        K::OWNER_TO => default("OWNER TO"),
        K::CLUSTER_ON => one(
            format!("CLUSTER ON {}", named(action, K::INDEX_REF)),
            ShareUpdateExclusive,
            Work::None,
            docs::CLUSTER_ON,
        ),
        K::SET_WITHOUT_CLUSTER => one(
            "SET WITHOUT CLUSTER".into(),
            ShareUpdateExclusive,
            Work::None,
            docs::CLUSTER_ON,
        ),
        K::SET_LOGGED | K::SET_UNLOGGED | K::SET_TABLESPACE | K::SET_ACCESS_METHOD => {
            let what = match action.kind() {
                K::SET_LOGGED => "SET LOGGED".to_string(),
                K::SET_UNLOGGED => "SET UNLOGGED".to_string(),
                K::SET_TABLESPACE => format!("SET TABLESPACE {}", named(action, K::TABLESPACE_REF)),
                _ => "SET ACCESS METHOD".to_string(),
            };
            one(what, AccessExclusive, Work::Rewrite, docs::MOVES_DATA)
        }
        K::SET_OPTIONS | K::RESET_OPTIONS => {
            let params = params(action);
            let light = !params.is_empty() && params.iter().all(|p| light_param(p));
            let mode = if light {
                ShareUpdateExclusive
            } else {
                AccessExclusive
            };
            one(
                format!("SET ({})", params.join(", ")),
                mode,
                Work::None,
                docs::STORAGE_PARAMS,
            )
        }
        K::ENABLE_TRIGGER
        | K::ENABLE_ALWAYS_TRIGGER
        | K::ENABLE_REPLICA_TRIGGER
        | K::DISABLE_TRIGGER => one(
            "ENABLE/DISABLE TRIGGER".into(),
            ShareRowExclusive,
            Work::None,
            docs::TRIGGERS,
        ),
        // Named as AlterTableGetLockLevel's AT_* subcommands: all ACCESS EXCLUSIVE.
        K::ENABLE_RULE => default("EnableRule"),
        K::ENABLE_ALWAYS_RULE => default("EnableAlwaysRule"),
        K::ENABLE_REPLICA_RULE => default("EnableReplicaRule"),
        K::DISABLE_RULE => default("DisableRule"),
        K::INHERIT_TABLE => default("AddInherit"),
        K::NO_INHERIT_TABLE => default("DropInherit"),
        K::OF_TYPE => default("AddOf"),
        K::NOT_OF => default("DropOf"),
        K::REPLICA_IDENTITY => default("ReplicaIdentity"),
        K::ENABLE_RLS => default("EnableRowSecurity"),
        K::DISABLE_RLS => default("DisableRowSecurity"),
        K::FORCE_RLS => default("ForceRowSecurity"),
        K::NO_FORCE_RLS => default("NoForceRowSecurity"),
        K::ALTER_OPTION_LIST => default("GenericOptions"),
        K::ATTACH_PARTITION => {
            let part = rel(&child(action, K::TABLE_NAME_REF)?)?;
            Some(vec![
                step(
                    format!("ATTACH PARTITION {part}"),
                    t(),
                    ShareUpdateExclusive,
                    Work::None,
                    docs::ATTACH_PARTITION,
                ),
                step(
                    format!("ATTACH PARTITION {part} (the partition)"),
                    Target::named(part.clone()),
                    AccessExclusive,
                    Work::Scan,
                    docs::ATTACH_PARTITION,
                )
                .when("no scan if a valid CHECK constraint on the partition implies its bound".into())
                .safer(format!("ALTER TABLE {part} ADD CONSTRAINT ... CHECK (<the partition bound>) NOT VALID; VALIDATE CONSTRAINT; then ATTACH PARTITION skips the scan")),
            ])
        }
        K::DETACH_PARTITION => {
            if child(action, K::DETACH_FINALIZE).is_some() {
                return one(
                    "DETACH PARTITION FINALIZE".into(),
                    ShareUpdateExclusive,
                    Work::None,
                    docs::DETACH_PARTITION,
                );
            }
            let part = rel(&child(action, K::TABLE_NAME_REF)?)?;
            let what = format!("DETACH PARTITION {part}");
            if child(action, K::DETACH_CONCURRENTLY).is_some() {
                Some(vec![
                    step(
                        what.clone(),
                        t(),
                        ShareUpdateExclusive,
                        Work::None,
                        docs::DETACH_PARTITION,
                    )
                    .waits_for(AccessExclusive),
                    step(
                        what,
                        Target::named(part),
                        ShareUpdateExclusive,
                        Work::None,
                        docs::DETACH_PARTITION,
                    )
                    .waits_for(AccessExclusive),
                ])
            } else {
                Some(vec![
                    step(what.clone(), t(), AccessExclusive, Work::None, docs::DETACH_PARTITION)
                        .safer(format!("ALTER TABLE {table} DETACH PARTITION {part} CONCURRENTLY (PostgreSQL 14+, outside a transaction block)")),
                    step(what, Target::named(part), AccessExclusive, Work::None, docs::DETACH_PARTITION),
                ])
            }
        }
        _ => None,
    }
}

/// ALTER COLUMN subcommands.
fn column(table: &RelName, action: &SyntaxNode) -> Option<Vec<Step>> {
    let t = || Target::named(table.clone());
    let col = named(action, K::COLUMN_NAME_REF);
    let one = |action: String, mode: LockMode, work: Work, doc: Doc| {
        Some(vec![step(action, t(), mode, work, doc)])
    };
    let default = |action: &str| {
        one(
            action.into(),
            AccessExclusive,
            Work::None,
            docs::ALTER_DEFAULT,
        )
    };
    let option = action.children().find(|c| c.kind() != K::COLUMN_NAME_REF)?;
    match option.kind() {
        K::SET_DEFAULT => default(&format!("SET DEFAULT on {col}")),
        K::DROP_DEFAULT => default(&format!("DROP DEFAULT on {col}")),
        K::DROP_NOT_NULL => default(&format!("DROP NOT NULL on {col}")),
        K::SET_NOT_NULL => Some(vec![
            step(
                format!("SET NOT NULL on {col}"),
                t(),
                AccessExclusive,
                Work::Scan,
                docs::SET_NOT_NULL,
            )
            .when(format!(
                "no scan if a valid CHECK ({col} IS NOT NULL) constraint exists (PostgreSQL 12+)"
            ))
            .safer(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name}_{col}_not_null CHECK ({col} IS NOT NULL) NOT VALID; ALTER TABLE {table} VALIDATE CONSTRAINT {name}_{col}_not_null; then SET NOT NULL skips the scan, and the CHECK can be dropped",
                name = table.name
            )),
        ]),
        K::SET_STATISTICS => one(
            format!("SET STATISTICS on {col}"),
            ShareUpdateExclusive,
            Work::None,
            docs::SET_STATISTICS,
        ),
        K::SET_OPTIONS | K::RESET_OPTIONS => one(
            format!("SET/RESET attribute options on {col}"),
            ShareUpdateExclusive,
            Work::None,
            docs::ATTRIBUTE_OPTIONS,
        ),
        K::SET_STORAGE => default(&format!("SET STORAGE on {col}")),
        K::SET_COMPRESSION => default(&format!("SET COMPRESSION on {col}")),
        K::SET_TYPE => Some(vec![
            step(
                format!("ALTER COLUMN {col} TYPE"),
                t(),
                AccessExclusive,
                Work::Rewrite,
                docs::ALTER_TYPE_REWRITE,
            )
            .when("no rewrite if the old type is binary coercible to the new one (e.g. varchar(n) to text or a longer varchar) and USING keeps the values; indexes on the column are still rebuilt".into())
            .safer(format!("add a new column of the new type, backfill it in batches, then swap the names in one short transaction (ALTER TABLE {table} RENAME COLUMN ...)")),
        ]),
        K::SET_EXPRESSION => one(
            format!("ALTER COLUMN {col} SET EXPRESSION"),
            AccessExclusive,
            Work::Rewrite,
            docs::ADD_COLUMN_REWRITE,
        ),
        K::ADD_GENERATED => default("AddIdentity"),
        K::SET_GENERATED | K::SET_GENERATED_OPTIONS | K::SET_SEQUENCE_OPTION | K::RESTART => {
            default("SetIdentity")
        }
        K::DROP_IDENTITY => default("DropIdentity"),
        K::DROP_EXPRESSION => default("DropExpression"),
        K::SET_OPTIONS_LIST => default("AlterColumnGenericOptions"),
        _ => None,
    }
}

/// RENAME of a table, column, constraint or trigger takes ACCESS EXCLUSIVE on the table;
/// an index rename only SHARE UPDATE EXCLUSIVE on the index.
pub(super) fn rename(sql: &str, kind: &str, relation: RelName) -> Statement {
    let (mode, doc) = if kind == "ALTER INDEX RENAME" {
        (ShareUpdateExclusive, docs::RENAME_INDEX)
    } else {
        (AccessExclusive, docs::ALTER_DEFAULT)
    };
    let target = Target::named(relation);
    with_steps(sql, kind, vec![step(kind, target, mode, Work::None, doc)])
}
