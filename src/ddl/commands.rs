//! Every statement other than ALTER TABLE: index builds, maintenance, DROP/TRUNCATE/LOCK,
//! triggers, DML, and the session statements (SET, BEGIN) a preflight needs to see.
use pg_query::protobuf::{
    ConstrType, Node, ObjectType, RangeVar, RenameStmt, TransactionStmtKind, VariableSetKind,
    VariableSetStmt,
};
use pg_query::{NodeEnum, NodeRef};

use super::docs::{self, Doc};
use super::expr::{rel, rel_from_list_strs, strings};
use super::{Control, RelName, Statement, Step, Target, Work, alter, maintenance, step};
use crate::lockmode::LockMode::{self, *};
use crate::sqltext::statement_heads;

pub(super) fn classify(sql: &str, node: &NodeEnum) -> Statement {
    match node {
        NodeEnum::AlterTableStmt(s) => alter::classify(sql, s),
        NodeEnum::IndexStmt(s) => maintenance::create_index(sql, s),
        NodeEnum::DropStmt(s) => maintenance::drop(sql, s),
        NodeEnum::ReindexStmt(s) => maintenance::reindex(sql, s),
        NodeEnum::VacuumStmt(s) => maintenance::vacuum(sql, s),
        NodeEnum::TruncateStmt(s) => each_rel(
            sql,
            "TRUNCATE",
            &s.relations,
            AccessExclusive,
            Work::None,
            docs::TRUNCATE,
        ),
        NodeEnum::LockStmt(s) => {
            // LockStmt.mode is PostgreSQL's LOCKMODE: 1 = AccessShareLock ... 8 = AccessExclusiveLock.
            let Some(mode) = lock_mode(s.mode) else {
                return Statement::not_modelled(sql, "LOCK");
            };
            each_rel(sql, "LOCK", &s.relations, mode, Work::None, docs::LOCK)
        }
        NodeEnum::ClusterStmt(s) => match &s.relation {
            Some(r) => with_steps(
                sql,
                "CLUSTER",
                vec![
                    step(
                        "CLUSTER",
                        Target::named(rel(r)),
                        AccessExclusive,
                        Work::Rewrite,
                        docs::CLUSTER,
                    )
                    .safer("pg_repack (or pg_squeeze) reorders the table online".into()),
                ],
            ),
            None => Statement::not_modelled(sql, "CLUSTER"),
        },
        NodeEnum::RefreshMatViewStmt(s) => {
            let Some(r) = &s.relation else {
                return Statement::not_modelled(sql, "REFRESH MATERIALIZED VIEW");
            };
            let view = rel(r);
            if s.concurrent {
                with_steps(
                    sql,
                    "REFRESH MATERIALIZED VIEW CONCURRENTLY",
                    vec![step(
                        "REFRESH CONCURRENTLY",
                        Target::named(view),
                        Exclusive,
                        Work::Scan,
                        docs::REFRESH,
                    )],
                )
            } else {
                with_steps(
                    sql,
                    "REFRESH MATERIALIZED VIEW",
                    vec![
                        step("REFRESH", Target::named(view.clone()), AccessExclusive, Work::Rewrite, docs::REFRESH)
                            .safer(format!("REFRESH MATERIALIZED VIEW CONCURRENTLY {view} (needs a unique index on the view): reads go on")),
                    ],
                )
            }
        }
        NodeEnum::RenameStmt(s) => rename(sql, s),
        NodeEnum::CreateTrigStmt(s) => match &s.relation {
            Some(r) => with_steps(
                sql,
                "CREATE TRIGGER",
                vec![step(
                    format!("CREATE TRIGGER {}", s.trigname),
                    Target::named(rel(r)),
                    ShareRowExclusive,
                    Work::None,
                    docs::CREATE_TRIGGER,
                )],
            ),
            None => Statement::not_modelled(sql, "CREATE TRIGGER"),
        },
        NodeEnum::CreateStmt(s) => create_table(sql, s),
        NodeEnum::ViewStmt(s) => match (&s.view, s.replace) {
            (Some(v), true) => with_steps(
                sql,
                "CREATE OR REPLACE VIEW",
                vec![step(
                    "CREATE OR REPLACE VIEW",
                    Target::named(rel(v)),
                    AccessExclusive,
                    Work::None,
                    docs::CREATE_OR_REPLACE_VIEW,
                )],
            ),
            _ => Statement::new(sql, "CREATE VIEW"),
        },
        NodeEnum::InsertStmt(s) => dml(sql, "INSERT", s.relation.as_ref()),
        NodeEnum::UpdateStmt(s) => dml(sql, "UPDATE", s.relation.as_ref()),
        NodeEnum::DeleteStmt(s) => dml(sql, "DELETE", s.relation.as_ref()),
        NodeEnum::MergeStmt(s) => dml(sql, "MERGE", s.relation.as_ref()),
        NodeEnum::SelectStmt(_) => select(sql, node),
        NodeEnum::CreateStatsStmt(s) => each_rel(
            sql,
            "CREATE STATISTICS",
            &s.relations,
            ShareUpdateExclusive,
            Work::None,
            docs::VACUUM,
        ),
        NodeEnum::CommentStmt(s) => comment(sql, s.objtype, s.object.as_deref()),
        NodeEnum::VariableSetStmt(s) => set(sql, s),
        NodeEnum::TransactionStmt(s) => {
            let control = match TransactionStmtKind::try_from(s.kind) {
                Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart) => {
                    Some(Control::Begin)
                }
                Ok(TransactionStmtKind::TransStmtCommit) => Some(Control::Commit),
                Ok(TransactionStmtKind::TransStmtRollback) => Some(Control::Rollback),
                _ => None,
            };
            Statement {
                control,
                ..Statement::new(sql, head(sql))
            }
        }
        // New objects that no running query can be using yet.
        NodeEnum::CreateSeqStmt(_)
        | NodeEnum::CreateFunctionStmt(_)
        | NodeEnum::CreateSchemaStmt(_)
        | NodeEnum::CreateEnumStmt(_)
        | NodeEnum::CompositeTypeStmt(_)
        | NodeEnum::CreateDomainStmt(_)
        | NodeEnum::VariableShowStmt(_) => Statement::new(sql, head(sql)),
        _ => Statement::not_modelled(sql, head(sql)),
    }
}

/// The statement's first two keywords, for statements this module does not model.
pub(super) fn head(sql: &str) -> String {
    statement_heads(sql, 2)
        .into_iter()
        .next()
        .map(|h| h.join(" "))
        .unwrap_or_else(|| "statement".into())
}

pub(super) fn with_steps(sql: &str, kind: &str, steps: Vec<Step>) -> Statement {
    Statement {
        steps,
        ..Statement::new(sql, kind)
    }
}

fn lock_mode(n: i32) -> Option<LockMode> {
    Some(match n {
        1 => AccessShare,
        2 => RowShare,
        3 => RowExclusive,
        4 => ShareUpdateExclusive,
        5 => Share,
        6 => ShareRowExclusive,
        7 => Exclusive,
        8 => AccessExclusive,
        _ => return None,
    })
}

fn range_vars(nodes: &[Node]) -> Vec<RelName> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::RangeVar(r)) => Some(rel(r)),
            _ => None,
        })
        .collect()
}

fn each_rel(
    sql: &str,
    kind: &str,
    nodes: &[Node],
    mode: LockMode,
    work: Work,
    doc: Doc,
) -> Statement {
    let steps = range_vars(nodes)
        .into_iter()
        .map(|r| step(kind, Target::named(r), mode, work, doc))
        .collect();
    with_steps(sql, kind, steps)
}

fn dml(sql: &str, kind: &str, relation: Option<&RangeVar>) -> Statement {
    let steps = relation
        .map(|r| {
            vec![step(
                kind,
                Target::named(rel(r)),
                RowExclusive,
                Work::None,
                docs::DML,
            )]
        })
        .unwrap_or_default();
    with_steps(sql, kind, steps)
}

/// A SELECT takes ACCESS SHARE on what it reads (ROW SHARE with FOR UPDATE/SHARE).
fn select(sql: &str, node: &NodeEnum) -> Statement {
    let NodeEnum::SelectStmt(s) = node else {
        return Statement::not_modelled(sql, "SELECT");
    };
    let mode = if s.locking_clause.is_empty() {
        AccessShare
    } else {
        RowShare
    };
    let ctes: Vec<String> = s
        .with_clause
        .iter()
        .flat_map(|w| &w.ctes)
        .filter_map(|c| match &c.node {
            Some(NodeEnum::CommonTableExpr(c)) => Some(c.ctename.clone()),
            _ => None,
        })
        .collect();
    let mut steps: Vec<Step> = Vec::new();
    for (n, ..) in node.nodes() {
        if let NodeRef::RangeVar(r) = n {
            let name = rel(r);
            let is_cte = name.schema.is_none() && ctes.contains(&name.name);
            if !is_cte && !steps.iter().any(|s| s.target.relation == name) {
                steps.push(step(
                    "SELECT",
                    Target::named(name),
                    mode,
                    Work::None,
                    docs::SELECT,
                ));
            }
        }
    }
    with_steps(sql, "SELECT", steps)
}

fn create_table(sql: &str, s: &pg_query::protobuf::CreateStmt) -> Statement {
    let mut steps = Vec::new();
    if s.partbound.is_some() {
        for parent in range_vars(&s.inh_relations) {
            steps.push(step(
                format!("CREATE TABLE ... PARTITION OF {parent}"),
                Target::named(parent),
                AccessExclusive,
                Work::None,
                docs::CREATE_PARTITION_OF,
            ).safer("CREATE TABLE ... (LIKE parent INCLUDING ALL), then ALTER TABLE parent ATTACH PARTITION (SHARE UPDATE EXCLUSIVE on the parent)".into()));
        }
    }
    let column_constraints = s.table_elts.iter().flat_map(|e| match &e.node {
        Some(NodeEnum::ColumnDef(c)) => c.constraints.iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    let table_constraints = s.table_elts.iter().chain(&s.constraints);
    for n in column_constraints.chain(table_constraints) {
        let Some(NodeEnum::Constraint(c)) = &n.node else {
            continue;
        };
        if ConstrType::try_from(c.contype) != Ok(ConstrType::ConstrForeign) {
            continue;
        }
        if let Some(pk) = c.pktable.as_ref().map(rel)
            && !steps.iter().any(|s: &Step| s.target.relation == pk)
        {
            steps.push(step(
                format!("REFERENCES {pk}"),
                Target::named(pk),
                ShareRowExclusive,
                Work::None,
                docs::CREATE_TABLE_REFERENCES,
            ));
        }
    }
    with_steps(sql, "CREATE TABLE", steps)
}

fn comment(sql: &str, objtype: i32, object: Option<&Node>) -> Statement {
    let parts = match object.and_then(|o| o.node.as_ref()) {
        Some(NodeEnum::List(l)) => strings(&l.items),
        _ => Vec::new(),
    };
    let target = match ObjectType::try_from(objtype) {
        Ok(
            ObjectType::ObjectTable
            | ObjectType::ObjectView
            | ObjectType::ObjectMatview
            | ObjectType::ObjectIndex,
        ) => rel_from_list_strs(&parts),
        Ok(ObjectType::ObjectColumn) => {
            rel_from_list_strs(parts.get(..parts.len().saturating_sub(1)).unwrap_or(&[]))
        }
        _ => None,
    };
    let steps = target
        .map(|t| {
            vec![step(
                "COMMENT ON",
                Target::named(t),
                ShareUpdateExclusive,
                Work::None,
                docs::COMMENT,
            )]
        })
        .unwrap_or_default();
    with_steps(sql, "COMMENT", steps)
}

fn set(sql: &str, s: &VariableSetStmt) -> Statement {
    let value = s
        .args
        .iter()
        .filter_map(|a| match &a.node {
            Some(NodeEnum::AConst(c)) => c.val.as_ref().map(|v| match v {
                pg_query::protobuf::a_const::Val::Sval(s) => s.sval.clone(),
                pg_query::protobuf::a_const::Val::Ival(i) => i.ival.to_string(),
                pg_query::protobuf::a_const::Val::Fval(f) => f.fval.clone(),
                pg_query::protobuf::a_const::Val::Boolval(b) => b.boolval.to_string(),
                pg_query::protobuf::a_const::Val::Bsval(b) => b.bsval.clone(),
            }),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ");
    let name = s.name.to_ascii_lowercase();
    let control = match VariableSetKind::try_from(s.kind) {
        Ok(VariableSetKind::VarSetValue) => Some(Control::Set {
            name,
            value,
            local: s.is_local,
        }),
        Ok(VariableSetKind::VarSetDefault | VariableSetKind::VarReset) => {
            Some(Control::Reset { name })
        }
        _ => None,
    };
    Statement {
        control,
        ..Statement::new(
            sql,
            if s.kind == VariableSetKind::VarReset as i32 {
                "RESET"
            } else {
                "SET"
            },
        )
    }
}

/// RENAME of a table, column, constraint or trigger takes ACCESS EXCLUSIVE on the table;
/// an index rename only SHARE UPDATE EXCLUSIVE on the index.
fn rename(sql: &str, s: &RenameStmt) -> Statement {
    let Some(r) = &s.relation else {
        return Statement::not_modelled(sql, "RENAME");
    };
    let target = Target::named(rel(r));
    let (kind, mode, doc) = match ObjectType::try_from(s.rename_type) {
        Ok(ObjectType::ObjectIndex) => (
            "ALTER INDEX RENAME",
            ShareUpdateExclusive,
            docs::RENAME_INDEX,
        ),
        Ok(ObjectType::ObjectColumn) => ("RENAME COLUMN", AccessExclusive, docs::ALTER_DEFAULT),
        Ok(ObjectType::ObjectTabconstraint) => {
            ("RENAME CONSTRAINT", AccessExclusive, docs::ALTER_DEFAULT)
        }
        Ok(ObjectType::ObjectTrigger) => {
            ("ALTER TRIGGER RENAME", AccessExclusive, docs::ALTER_DEFAULT)
        }
        Ok(
            ObjectType::ObjectTable
            | ObjectType::ObjectView
            | ObjectType::ObjectMatview
            | ObjectType::ObjectSequence
            | ObjectType::ObjectForeignTable,
        ) => ("RENAME", AccessExclusive, docs::ALTER_DEFAULT),
        _ => return Statement::not_modelled(sql, "RENAME"),
    };
    with_steps(sql, kind, vec![step(kind, target, mode, Work::None, doc)])
}
