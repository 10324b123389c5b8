//! Index builds and drops, REINDEX and VACUUM: the statements whose CONCURRENTLY forms
//! trade a weaker lock for waiting on other transactions.
use pg_query::NodeEnum;
use pg_query::protobuf::{
    DropStmt, IndexStmt, Node, ObjectType, ReindexObjectType, ReindexStmt, VacuumStmt,
};

use super::commands::{head, with_steps};
use super::docs;
use super::expr::{rel, rel_from_list_strs, strings};
use super::{RelName, Statement, Target, Work, step};
use crate::lockmode::LockMode::*;

pub(super) fn create_index(sql: &str, s: &IndexStmt) -> Statement {
    let Some(r) = &s.relation else {
        return Statement::not_modelled(sql, "CREATE INDEX");
    };
    let table = rel(r);
    let unique = if s.unique { "UNIQUE " } else { "" };
    let name = if s.idxname.is_empty() {
        String::new()
    } else {
        format!(" {}", s.idxname)
    };
    if s.concurrent {
        return Statement {
            waits_for_old_snapshots: true,
            no_transaction_block: true,
            ..with_steps(
                sql,
                &format!("CREATE {unique}INDEX CONCURRENTLY"),
                vec![
                    step(
                        format!("CREATE {unique}INDEX CONCURRENTLY{name}"),
                        Target::named(table),
                        ShareUpdateExclusive,
                        Work::Scan,
                        docs::CREATE_INDEX_CONCURRENTLY,
                    )
                    .waits_for(Share)
                    .when(
                        "scans the table twice; a failed build leaves an INVALID index to drop"
                            .into(),
                    ),
                ],
            )
        };
    }
    with_steps(
        sql,
        &format!("CREATE {unique}INDEX"),
        vec![step(
            format!("CREATE {unique}INDEX{name}"),
            Target::named(table.clone()),
            Share,
            Work::Scan,
            docs::CREATE_INDEX,
        )
        .safer(format!(
            "CREATE {unique}INDEX CONCURRENTLY{name} ON {table} ... (outside a transaction block): writes go on during the build"
        ))],
    )
}

pub(super) fn drop(sql: &str, s: &DropStmt) -> Statement {
    let names: Vec<Vec<String>> = s
        .objects
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::List(l)) => Some(strings(&l.items)),
            _ => None,
        })
        .collect();
    let as_rel = |parts: &[String]| rel_from_list_strs(parts);
    let kind = match ObjectType::try_from(s.remove_type) {
        Ok(ObjectType::ObjectTable) => "DROP TABLE",
        Ok(ObjectType::ObjectView) => "DROP VIEW",
        Ok(ObjectType::ObjectMatview) => "DROP MATERIALIZED VIEW",
        Ok(ObjectType::ObjectForeignTable) => "DROP FOREIGN TABLE",
        Ok(ObjectType::ObjectSequence) => "DROP SEQUENCE",
        Ok(ObjectType::ObjectIndex) => return drop_index(sql, s, &names),
        Ok(ObjectType::ObjectTrigger) => {
            // DROP TRIGGER t ON tbl: the last name is the trigger, the rest name the table.
            let steps = names
                .iter()
                .filter_map(|parts| as_rel(parts.get(..parts.len().saturating_sub(1))?))
                .map(|t| {
                    step(
                        "DROP TRIGGER",
                        Target::named(t),
                        AccessExclusive,
                        Work::None,
                        docs::ALTER_DEFAULT,
                    )
                })
                .collect();
            return with_steps(sql, "DROP TRIGGER", steps);
        }
        _ => return Statement::not_modelled(sql, head(sql)),
    };
    let steps = names
        .iter()
        .filter_map(|p| as_rel(p))
        .map(|t| {
            step(
                kind,
                Target::named(t),
                AccessExclusive,
                Work::None,
                docs::DROP_TABLE,
            )
        })
        .collect();
    with_steps(sql, kind, steps)
}

fn drop_index(sql: &str, s: &DropStmt, names: &[Vec<String>]) -> Statement {
    let mut steps = Vec::new();
    for index in names.iter().filter_map(|p| rel_from_list_strs(p)) {
        if s.concurrent {
            steps.push(
                step(
                    format!("DROP INDEX CONCURRENTLY {index}"),
                    Target::table_of(index.clone()),
                    ShareUpdateExclusive,
                    Work::None,
                    docs::DROP_INDEX_CONCURRENTLY,
                )
                .waits_for(AccessExclusive),
            );
        } else {
            steps.push(
                step(
                    format!("DROP INDEX {index}"),
                    Target::table_of(index.clone()),
                    AccessExclusive,
                    Work::None,
                    docs::DROP_INDEX,
                )
                .safer(format!(
                    "DROP INDEX CONCURRENTLY {index} (outside a transaction block)"
                )),
            );
            steps.push(step(
                format!("DROP INDEX {index}"),
                Target::named(index),
                AccessExclusive,
                Work::None,
                docs::DROP_INDEX,
            ));
        }
    }
    let kind = if s.concurrent {
        "DROP INDEX CONCURRENTLY"
    } else {
        "DROP INDEX"
    };
    Statement {
        no_transaction_block: s.concurrent,
        ..with_steps(sql, kind, steps)
    }
}

fn has_option(options: &[Node], name: &str) -> bool {
    options.iter().any(
        |n| matches!(&n.node, Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name)),
    )
}

pub(super) fn reindex(sql: &str, s: &ReindexStmt) -> Statement {
    let concurrent = has_option(&s.params, "concurrently");
    let Some(r) = &s.relation else {
        return Statement::not_modelled(sql, "REINDEX");
    };
    let name = rel(r);
    let steps = match (ReindexObjectType::try_from(s.kind), concurrent) {
        (Ok(ReindexObjectType::ReindexObjectIndex), false) => vec![
            step(format!("REINDEX INDEX {name}"), Target::table_of(name.clone()), Share, Work::Scan, docs::REINDEX)
                .safer(format!("REINDEX INDEX CONCURRENTLY {name} (PostgreSQL 12+)")),
            step(format!("REINDEX INDEX {name}"), Target::named(name), AccessExclusive, Work::Scan, docs::REINDEX),
        ],
        (Ok(ReindexObjectType::ReindexObjectTable), false) => vec![
            step(format!("REINDEX TABLE {name}"), Target::named(name.clone()), Share, Work::Scan, docs::REINDEX)
                .when("each index is also locked ACCESS EXCLUSIVE while it is rebuilt, which blocks queries planned on the table".into())
                .safer(format!("REINDEX TABLE CONCURRENTLY {name} (PostgreSQL 12+)")),
        ],
        (Ok(ReindexObjectType::ReindexObjectIndex), true) => vec![
            step(format!("REINDEX INDEX CONCURRENTLY {name}"), Target::table_of(name), ShareUpdateExclusive, Work::Scan, docs::REINDEX_CONCURRENTLY)
                .waits_for(Share),
        ],
        (Ok(ReindexObjectType::ReindexObjectTable), true) => vec![
            step(format!("REINDEX TABLE CONCURRENTLY {name}"), Target::named(name), ShareUpdateExclusive, Work::Scan, docs::REINDEX_CONCURRENTLY)
                .waits_for(Share),
        ],
        _ => return Statement::not_modelled(sql, "REINDEX"),
    };
    let kind = if concurrent {
        "REINDEX CONCURRENTLY"
    } else {
        "REINDEX"
    };
    Statement {
        waits_for_old_snapshots: concurrent,
        no_transaction_block: concurrent,
        ..with_steps(sql, kind, steps)
    }
}

pub(super) fn vacuum(sql: &str, s: &VacuumStmt) -> Statement {
    let rels: Vec<RelName> = s
        .rels
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::VacuumRelation(v)) => v.relation.as_ref().map(rel),
            _ => None,
        })
        .collect();
    let full = has_option(&s.options, "full");
    let kind = match (s.is_vacuumcmd, full) {
        (false, _) => "ANALYZE",
        (true, true) => "VACUUM FULL",
        (true, false) => "VACUUM",
    };
    if rels.is_empty() {
        // Every table of the database: too much to list, and not a migration step.
        return Statement::not_modelled(sql, kind);
    }
    let steps = rels
        .into_iter()
        .map(|r| match (s.is_vacuumcmd, full) {
            (true, true) => step(
                kind,
                Target::named(r),
                AccessExclusive,
                Work::Rewrite,
                docs::VACUUM_FULL,
            )
            .safer("pg_repack (or pg_squeeze) rebuilds the table online".into()),
            (true, false) => step(
                kind,
                Target::named(r),
                ShareUpdateExclusive,
                Work::Scan,
                docs::VACUUM,
            ),
            (false, _) => step(
                kind,
                Target::named(r),
                ShareUpdateExclusive,
                Work::None,
                docs::VACUUM,
            ),
        })
        .collect();
    Statement {
        no_transaction_block: s.is_vacuumcmd,
        ..with_steps(sql, kind, steps)
    }
}
