//! Every statement other than ALTER TABLE: index builds, maintenance, DROP/TRUNCATE/LOCK,
//! triggers, DML, and the session statements (SET, BEGIN) a preflight needs to see.
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::alter::rename;
use super::docs::{self, Doc};
use super::syntax::{child, children, has_token, ident, name, path, rel, rel_from_parts, rel_of};
use super::{
    Control, RelName, Statement, Step, Target, Work, alter, head, maintenance, step, with_steps,
};
use crate::lockmode::LockMode::{self, *};

pub(super) fn classify(sql: &str, node: &SyntaxNode) -> Statement {
    match node.kind() {
        K::ALTER_TABLE => alter::classify(sql, node, "ALTER TABLE"),
        K::ALTER_FOREIGN_TABLE => alter::classify(sql, node, "ALTER FOREIGN TABLE"),
        K::ALTER_INDEX => alter::classify(sql, node, "ALTER INDEX"),
        K::ALTER_VIEW => alter::classify(sql, node, "ALTER VIEW"),
        K::ALTER_MATERIALIZED_VIEW => alter::classify(sql, node, "ALTER MATERIALIZED VIEW"),
        K::ALTER_SEQUENCE => alter::classify(sql, node, "ALTER SEQUENCE"),
        K::ALTER_TRIGGER => match (
            rel_of(node, K::ON_RELATION),
            child(node, K::TRIGGER_RENAME_TO),
        ) {
            (Some(table), Some(_)) => rename(sql, "ALTER TRIGGER RENAME", table),
            _ => Statement::not_modelled(sql, head(sql)),
        },
        K::CREATE_INDEX => maintenance::create_index(sql, node),
        K::DROP_TABLE
        | K::DROP_VIEW
        | K::DROP_MATERIALIZED_VIEW
        | K::DROP_FOREIGN_TABLE
        | K::DROP_SEQUENCE
        | K::DROP_INDEX
        | K::DROP_TRIGGER => maintenance::drop(sql, node),
        K::REINDEX => maintenance::reindex(sql, node),
        K::VACUUM | K::ANALYZE => maintenance::vacuum(sql, node),
        K::TRUNCATE => {
            let rels = child(node, K::TABLE_LIST)
                .map(|l| rels_below(&l, K::TABLE_RELATION_NAME))
                .unwrap_or_default();
            each_rel(
                sql,
                "TRUNCATE",
                rels,
                AccessExclusive,
                Work::None,
                docs::TRUNCATE,
            )
        }
        K::LOCK => {
            let mode = match child(node, K::LOCK_MODE_CLAUSE) {
                None => AccessExclusive,
                Some(clause) => match clause.children().next().map(|m| m.kind()) {
                    Some(K::ACCESS_SHARE) => AccessShare,
                    Some(K::ROW_SHARE) => RowShare,
                    Some(K::ROW_EXCLUSIVE) => RowExclusive,
                    Some(K::SHARE_UPDATE_EXCLUSIVE) => ShareUpdateExclusive,
                    Some(K::SHARE) => Share,
                    Some(K::SHARE_ROW_EXCLUSIVE) => ShareRowExclusive,
                    Some(K::EXCLUSIVE) => Exclusive,
                    Some(K::ACCESS_EXCLUSIVE) => AccessExclusive,
                    _ => return Statement::not_modelled(sql, "LOCK"),
                },
            };
            let rels = child(node, K::RELATION_LIST)
                .map(|l| rels_below(&l, K::RELATION_NAME))
                .unwrap_or_default();
            each_rel(sql, "LOCK", rels, mode, Work::None, docs::LOCK)
        }
        K::CLUSTER => match rel_of(node, K::TABLE_NAME_REF) {
            Some(r) => with_steps(
                sql,
                "CLUSTER",
                vec![
                    step(
                        "CLUSTER",
                        Target::named(r),
                        AccessExclusive,
                        Work::Rewrite,
                        docs::CLUSTER,
                    )
                    .safer("pg_repack (or pg_squeeze) reorders the table online".into()),
                ],
            ),
            None => Statement::not_modelled(sql, "CLUSTER"),
        },
        K::REFRESH => {
            let Some(view) = rel_of(node, K::VIEW_REF) else {
                return Statement::not_modelled(sql, "REFRESH MATERIALIZED VIEW");
            };
            if has_token(node, K::CONCURRENTLY_KW) {
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
        K::CREATE_TRIGGER => match rel_of(node, K::ON_RELATION) {
            Some(r) => with_steps(
                sql,
                "CREATE TRIGGER",
                vec![step(
                    format!(
                        "CREATE TRIGGER {}",
                        child(node, K::TRIGGER)
                            .map(|t| name(&t))
                            .unwrap_or_default()
                    ),
                    Target::named(r),
                    ShareRowExclusive,
                    Work::None,
                    docs::CREATE_TRIGGER,
                )],
            ),
            None => Statement::not_modelled(sql, "CREATE TRIGGER"),
        },
        K::CREATE_TABLE => create_table(sql, node),
        K::CREATE_VIEW => match (rel_of(node, K::VIEW), child(node, K::OR_REPLACE)) {
            (Some(v), Some(_)) => with_steps(
                sql,
                "CREATE OR REPLACE VIEW",
                vec![step(
                    "CREATE OR REPLACE VIEW",
                    Target::named(v),
                    AccessExclusive,
                    Work::None,
                    docs::CREATE_OR_REPLACE_VIEW,
                )],
            ),
            _ => Statement::new(sql, "CREATE VIEW"),
        },
        K::INSERT => dml(sql, "INSERT", rel_of(node, K::RELATION_NAME_REF)),
        K::UPDATE => dml(sql, "UPDATE", rel_of(node, K::RELATION_NAME)),
        K::DELETE => dml(sql, "DELETE", rel_of(node, K::RELATION_NAME)),
        K::MERGE => dml(sql, "MERGE", rel_of(node, K::TABLE_RELATION_NAME)),
        K::SELECT | K::COMPOUND_SELECT | K::PAREN_SELECT | K::SELECT_INTO => select(sql, node),
        K::CREATE_STATISTICS => {
            let rels = child(node, K::FROM_TABLE).and_then(|f| rel(&f));
            each_rel(
                sql,
                "CREATE STATISTICS",
                rels.into_iter().collect(),
                ShareUpdateExclusive,
                Work::None,
                docs::VACUUM,
            )
        }
        K::COMMENT_ON => comment(sql, node),
        K::SET => set(sql, node),
        K::RESET => Statement {
            control: child(node, K::CONFIG_PARAMETER_REF)
                .map(|p| Control::Reset { name: name(&p) }),
            ..Statement::new(sql, "RESET")
        },
        K::BEGIN => control(sql, Some(Control::Begin)),
        K::COMMIT_TRANSACTION => control(sql, Some(Control::Commit)),
        K::ROLLBACK_TRANSACTION => control(sql, Some(Control::Rollback)),
        K::SAVEPOINT_CREATE
        | K::RELEASE_SAVEPOINT
        | K::ROLLBACK_TO_SAVEPOINT
        | K::PREPARE_TRANSACTION
        | K::COMMIT_PREPARED
        | K::ROLLBACK_PREPARED => control(sql, None),
        // New objects that no running query can be using yet.
        K::CREATE_SEQUENCE
        | K::CREATE_FUNCTION
        | K::CREATE_PROCEDURE
        | K::CREATE_SCHEMA
        | K::CREATE_TYPE
        | K::CREATE_DOMAIN
        | K::SHOW => Statement::new(sql, head(sql)),
        _ => Statement::not_modelled(sql, head(sql)),
    }
}

fn control(sql: &str, control: Option<Control>) -> Statement {
    Statement {
        control,
        ..Statement::new(sql, head(sql))
    }
}

/// The relations named by the `kind` children of a list.
fn rels_below(list: &SyntaxNode, kind: K) -> Vec<RelName> {
    children(list, kind).filter_map(|n| rel(&n)).collect()
}

fn each_rel(
    sql: &str,
    kind: &str,
    rels: Vec<RelName>,
    mode: LockMode,
    work: Work,
    doc: Doc,
) -> Statement {
    let steps = rels
        .into_iter()
        .map(|r| step(kind, Target::named(r), mode, work, doc))
        .collect();
    with_steps(sql, kind, steps)
}

fn dml(sql: &str, kind: &str, relation: Option<RelName>) -> Statement {
    let steps = relation
        .map(|r| {
            vec![step(
                kind,
                Target::named(r),
                RowExclusive,
                Work::None,
                docs::DML,
            )]
        })
        .unwrap_or_default();
    with_steps(sql, kind, steps)
}

/// A SELECT takes ACCESS SHARE on what it reads (ROW SHARE with FOR UPDATE/SHARE).
fn select(sql: &str, node: &SyntaxNode) -> Statement {
    let mode = if child(node, K::LOCKING_CLAUSE).is_some() {
        RowShare
    } else {
        AccessShare
    };
    let ctes: Vec<String> = node
        .descendants()
        .filter(|n| n.kind() == K::CTE_NAME)
        .map(|n| name(&n))
        .collect();
    let mut steps: Vec<Step> = Vec::new();
    for item in node
        .descendants()
        .filter(|n| n.kind() == K::RELATION_FROM_ITEM)
    {
        let Some(name) = rel_of(&item, K::RELATION_NAME_REF) else {
            continue;
        };
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
    with_steps(sql, "SELECT", steps)
}

fn create_table(sql: &str, node: &SyntaxNode) -> Statement {
    let mut steps = Vec::new();
    if let Some(parent) = child(node, K::PARTITION_OF).and_then(|p| rel(&p)) {
        steps.push(step(
            format!("CREATE TABLE ... PARTITION OF {parent}"),
            Target::named(parent),
            AccessExclusive,
            Work::None,
            docs::CREATE_PARTITION_OF,
        ).safer("CREATE TABLE ... (LIKE parent INCLUDING ALL), then ALTER TABLE parent ATTACH PARTITION (SHARE UPDATE EXCLUSIVE on the parent)".into()));
    }
    let args = child(node, K::TABLE_ARG_LIST);
    let column_refs = args
        .iter()
        .flat_map(|a| children(a, K::COLUMN))
        .flat_map(|c| children(&c, K::REFERENCES_CONSTRAINT));
    let table_fks = args
        .iter()
        .flat_map(|a| children(a, K::FOREIGN_KEY_CONSTRAINT));
    for c in column_refs.chain(table_fks) {
        if let Some(pk) = rel_of(&c, K::TABLE_NAME_REF)
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

fn comment(sql: &str, node: &SyntaxNode) -> Statement {
    let target = node.children().find_map(|object| match object.kind() {
        K::OBJECT_TABLE | K::OBJECT_VIEW | K::OBJECT_MATERIALIZED_VIEW | K::OBJECT_INDEX => {
            rel(&object)
        }
        K::OBJECT_COLUMN => {
            let mut parts = path(&object);
            parts.pop();
            rel_from_parts(parts)
        }
        _ => None,
    });
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

/// A SET value as the server stores it: string literals without their quotes.
fn config_value(n: &SyntaxNode) -> String {
    let text = n.text().to_string();
    if n.kind() == K::LITERAL
        && let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\''))
    {
        return inner.replace("\'\'", "\'");
    }
    if n.kind() == K::CONFIG_VALUE_NAME {
        return ident(text.trim());
    }
    text.trim().to_string()
}

fn set(sql: &str, node: &SyntaxNode) -> Statement {
    let local = child(node, K::LOCAL_SCOPE).is_some();
    let control = child(node, K::SET_CONFIG).and_then(|c| {
        let name = name(&child(&c, K::CONFIG_PARAMETER_REF)?);
        let value = child(&c, K::TO_CONFIG_VALUE)?;
        if has_token(&value, K::DEFAULT_KW) {
            return Some(Control::Reset { name });
        }
        let value = value
            .children()
            .map(|v| config_value(&v))
            .collect::<Vec<_>>()
            .join(", ");
        Some(Control::Set { name, value, local })
    });
    Statement {
        control,
        ..Statement::new(sql, "SET")
    }
}
