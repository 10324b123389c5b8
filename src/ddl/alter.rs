//! ALTER TABLE (and ALTER INDEX/VIEW/...) subcommands: the docs' lock table, with
//! `AlterTableGetLockLevel()` where the docs are silent. The statement takes the strongest
//! lock of its subcommands, and one pass over the table serves all of them.
use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableCmd, AlterTableStmt, AlterTableType as T, ObjectType};

use super::alter_add;
use super::docs::{self, Doc};
use super::expr::rel;
use super::{RelName, Statement, Step, Target, Work, step};
use crate::lockmode::LockMode::{self, *};

pub(super) fn classify(sql: &str, stmt: &AlterTableStmt) -> Statement {
    let kind = match ObjectType::try_from(stmt.objtype) {
        Ok(ObjectType::ObjectIndex) => "ALTER INDEX",
        Ok(ObjectType::ObjectView) => "ALTER VIEW",
        Ok(ObjectType::ObjectMatview) => "ALTER MATERIALIZED VIEW",
        Ok(ObjectType::ObjectForeignTable) => "ALTER FOREIGN TABLE",
        Ok(ObjectType::ObjectSequence) => "ALTER SEQUENCE",
        Ok(ObjectType::ObjectTable) => "ALTER TABLE",
        _ => return Statement::not_modelled(sql, "ALTER TYPE"),
    };
    let Some(relation) = &stmt.relation else {
        return Statement::not_modelled(sql, kind);
    };
    let table = rel(relation);
    let mut st = Statement::new(sql, kind);
    for cmd in &stmt.cmds {
        let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node else {
            return Statement::not_modelled(sql, kind);
        };
        match subcommand(&table, cmd) {
            Some(steps) => st.steps.extend(steps),
            None => return Statement::not_modelled(sql, kind),
        }
        if T::try_from(cmd.subtype) == Ok(T::AtDetachPartition) && partition_cmd(cmd).1 {
            st.no_transaction_block = true;
        }
    }
    st
}

fn def(cmd: &AlterTableCmd) -> Option<&NodeEnum> {
    cmd.def.as_ref().and_then(|d| d.node.as_ref())
}

/// The partition named by ATTACH/DETACH PARTITION, and whether CONCURRENTLY was given.
fn partition_cmd(cmd: &AlterTableCmd) -> (Option<RelName>, bool) {
    match def(cmd) {
        Some(NodeEnum::PartitionCmd(p)) => (p.name.as_ref().map(rel), p.concurrent),
        _ => (None, false),
    }
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

fn subcommand(table: &RelName, cmd: &AlterTableCmd) -> Option<Vec<Step>> {
    let t = || Target::named(table.clone());
    let col = &cmd.name;
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
    match T::try_from(cmd.subtype).ok()? {
        T::AtAddColumn | T::AtAddColumnToView => match def(cmd) {
            Some(NodeEnum::ColumnDef(c)) => Some(alter_add::add_column(table, c)),
            _ => None,
        },
        T::AtAddConstraint => match def(cmd) {
            Some(NodeEnum::Constraint(c)) => alter_add::add_constraint(table, c),
            _ => None,
        },
        T::AtDropColumn => default(&format!("DROP COLUMN {col}")),
        T::AtColumnDefault => match cmd.def {
            Some(_) => default(&format!("SET DEFAULT on {col}")),
            None => default(&format!("DROP DEFAULT on {col}")),
        },
        T::AtDropNotNull => default(&format!("DROP NOT NULL on {col}")),
        T::AtSetNotNull => Some(vec![
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
        T::AtSetStatistics => one(
            format!("SET STATISTICS on {col}"),
            ShareUpdateExclusive,
            Work::None,
            docs::SET_STATISTICS,
        ),
        T::AtSetOptions | T::AtResetOptions => one(
            format!("SET/RESET attribute options on {col}"),
            ShareUpdateExclusive,
            Work::None,
            docs::ATTRIBUTE_OPTIONS,
        ),
        T::AtSetStorage => default(&format!("SET STORAGE on {col}")),
        T::AtSetCompression => default(&format!("SET COMPRESSION on {col}")),
        T::AtAlterColumnType => Some(vec![
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
        T::AtValidateConstraint => one(
            format!("VALIDATE CONSTRAINT {col}"),
            ShareUpdateExclusive,
            Work::Scan,
            docs::VALIDATE_CONSTRAINT,
        ),
        T::AtDropConstraint => default(&format!("DROP CONSTRAINT {col}")),
        T::AtAlterConstraint => default("ALTER CONSTRAINT"),
        T::AtChangeOwner => default("OWNER TO"),
        T::AtClusterOn => one(
            format!("CLUSTER ON {col}"),
            ShareUpdateExclusive,
            Work::None,
            docs::CLUSTER_ON,
        ),
        T::AtDropCluster => one(
            "SET WITHOUT CLUSTER".into(),
            ShareUpdateExclusive,
            Work::None,
            docs::CLUSTER_ON,
        ),
        T::AtSetLogged | T::AtSetUnLogged | T::AtSetTableSpace | T::AtSetAccessMethod => {
            let action = match T::try_from(cmd.subtype).ok()? {
                T::AtSetLogged => "SET LOGGED".to_string(),
                T::AtSetUnLogged => "SET UNLOGGED".to_string(),
                T::AtSetTableSpace => format!("SET TABLESPACE {col}"),
                _ => "SET ACCESS METHOD".to_string(),
            };
            one(action, AccessExclusive, Work::Rewrite, docs::MOVES_DATA)
        }
        T::AtSetRelOptions | T::AtResetRelOptions => {
            let params: Vec<String> = match def(cmd) {
                Some(NodeEnum::List(l)) => l
                    .items
                    .iter()
                    .filter_map(|n| match &n.node {
                        Some(NodeEnum::DefElem(d)) if d.defnamespace.is_empty() => {
                            Some(d.defname.clone())
                        }
                        Some(NodeEnum::DefElem(d)) => {
                            Some(format!("{}.{}", d.defnamespace, d.defname))
                        }
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let light = !params.is_empty() && params.iter().all(|p| light_param(p));
            let mode = if light { ShareUpdateExclusive } else { AccessExclusive };
            one(
                format!("SET ({})", params.join(", ")),
                mode,
                Work::None,
                docs::STORAGE_PARAMS,
            )
        }
        T::AtEnableTrig
        | T::AtEnableAlwaysTrig
        | T::AtEnableReplicaTrig
        | T::AtDisableTrig
        | T::AtEnableTrigAll
        | T::AtDisableTrigAll
        | T::AtEnableTrigUser
        | T::AtDisableTrigUser => one(
            "ENABLE/DISABLE TRIGGER".into(),
            ShareRowExclusive,
            Work::None,
            docs::TRIGGERS,
        ),
        T::AtSetExpression => one(
            format!("ALTER COLUMN {col} SET EXPRESSION"),
            AccessExclusive,
            Work::Rewrite,
            docs::ADD_COLUMN_REWRITE,
        ),
        T::AtEnableRule
        | T::AtEnableAlwaysRule
        | T::AtEnableReplicaRule
        | T::AtDisableRule
        | T::AtAddInherit
        | T::AtDropInherit
        | T::AtAddOf
        | T::AtDropOf
        | T::AtReplicaIdentity
        | T::AtEnableRowSecurity
        | T::AtDisableRowSecurity
        | T::AtForceRowSecurity
        | T::AtNoForceRowSecurity
        | T::AtGenericOptions
        | T::AtAlterColumnGenericOptions
        | T::AtAddIdentity
        | T::AtSetIdentity
        | T::AtDropIdentity
        | T::AtDropExpression => {
            let name = T::try_from(cmd.subtype).ok()?.as_str_name();
            default(name.trim_start_matches("AT_"))
        }
        T::AtAttachPartition => {
            let (part, _) = partition_cmd(cmd);
            let part = part?;
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
        T::AtDetachPartition => {
            let (part, concurrent) = partition_cmd(cmd);
            let part = part?;
            let action = format!("DETACH PARTITION {part}");
            if concurrent {
                Some(vec![
                    step(action.clone(), t(), ShareUpdateExclusive, Work::None, docs::DETACH_PARTITION)
                        .waits_for(AccessExclusive),
                    step(action, Target::named(part), ShareUpdateExclusive, Work::None, docs::DETACH_PARTITION)
                        .waits_for(AccessExclusive),
                ])
            } else {
                Some(vec![
                    step(action.clone(), t(), AccessExclusive, Work::None, docs::DETACH_PARTITION)
                        .safer(format!("ALTER TABLE {table} DETACH PARTITION {part} CONCURRENTLY (PostgreSQL 14+, outside a transaction block)")),
                    step(action, Target::named(part), AccessExclusive, Work::None, docs::DETACH_PARTITION),
                ])
            }
        }
        T::AtDetachPartitionFinalize => one(
            "DETACH PARTITION FINALIZE".into(),
            ShareUpdateExclusive,
            Work::None,
            docs::DETACH_PARTITION,
        ),
        _ => None,
    }
}
