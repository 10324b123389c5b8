//! Index builds and drops, REINDEX and VACUUM: the statements whose CONCURRENTLY forms
//! trade a weaker lock for waiting on other transactions.
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::docs;
use super::syntax::{child, children, has_token, name, rel, rel_of};
use super::{RelName, Statement, Target, Work, head, step, with_steps};
use crate::lockmode::LockMode::*;

pub(super) fn create_index(sql: &str, s: &SyntaxNode) -> Statement {
    let Some(table) = rel_of(s, K::TABLE_RELATION_NAME) else {
        return Statement::not_modelled(sql, "CREATE INDEX");
    };
    let unique = if has_token(s, K::UNIQUE_KW) {
        "UNIQUE "
    } else {
        ""
    };
    let name = match child(s, K::INDEX) {
        Some(i) => format!(" {}", name(&i)),
        None => String::new(),
    };
    if has_token(s, K::CONCURRENTLY_KW) {
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

pub(super) fn drop(sql: &str, s: &SyntaxNode) -> Statement {
    let (kind, names) = match s.kind() {
        K::DROP_TABLE => ("DROP TABLE", K::TABLE_NAME_REF),
        K::DROP_VIEW => ("DROP VIEW", K::VIEW_REF),
        K::DROP_MATERIALIZED_VIEW => ("DROP MATERIALIZED VIEW", K::VIEW_REF),
        K::DROP_FOREIGN_TABLE => ("DROP FOREIGN TABLE", K::TABLE_NAME_REF),
        K::DROP_SEQUENCE => ("DROP SEQUENCE", K::SEQUENCE_REF),
        K::DROP_INDEX => return drop_index(sql, s),
        K::DROP_TRIGGER => {
            let steps = rel_of(s, K::ON_RELATION)
                .map(|t| {
                    step(
                        "DROP TRIGGER",
                        Target::named(t),
                        AccessExclusive,
                        Work::None,
                        docs::ALTER_DEFAULT,
                    )
                })
                .into_iter()
                .collect();
            return with_steps(sql, "DROP TRIGGER", steps);
        }
        _ => return Statement::not_modelled(sql, head(sql)),
    };
    let steps = children(s, names)
        .filter_map(|n| rel(&n))
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

fn drop_index(sql: &str, s: &SyntaxNode) -> Statement {
    let concurrent = has_token(s, K::CONCURRENTLY_KW);
    let mut steps = Vec::new();
    for index in children(s, K::INDEX_REF).filter_map(|n| rel(&n)) {
        if concurrent {
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
    let kind = if concurrent {
        "DROP INDEX CONCURRENTLY"
    } else {
        "DROP INDEX"
    };
    Statement {
        no_transaction_block: concurrent,
        ..with_steps(sql, kind, steps)
    }
}

pub(super) fn reindex(sql: &str, s: &SyntaxNode) -> Statement {
    let Some(target) = s
        .children()
        .find(|c| matches!(c.kind(), K::REINDEX_TARGET_INDEX | K::REINDEX_TARGET_TABLE))
    else {
        return Statement::not_modelled(sql, "REINDEX");
    };
    let concurrent = has_token(&target, K::CONCURRENTLY_KW)
        || child(s, K::REINDEX_OPTION_LIST)
            .is_some_and(|o| child(&o, K::REINDEX_OPTION_CONCURRENTLY).is_some());
    let Some(name) = rel(&target) else {
        return Statement::not_modelled(sql, "REINDEX");
    };
    let index = target.kind() == K::REINDEX_TARGET_INDEX;
    let steps = match (index, concurrent) {
        (true, false) => vec![
            step(format!("REINDEX INDEX {name}"), Target::table_of(name.clone()), Share, Work::Scan, docs::REINDEX)
                .safer(format!("REINDEX INDEX CONCURRENTLY {name} (PostgreSQL 12+)")),
            step(format!("REINDEX INDEX {name}"), Target::named(name), AccessExclusive, Work::Scan, docs::REINDEX),
        ],
        (false, false) => vec![
            step(format!("REINDEX TABLE {name}"), Target::named(name.clone()), Share, Work::Scan, docs::REINDEX)
                .when("each index is also locked ACCESS EXCLUSIVE while it is rebuilt, which blocks queries planned on the table".into())
                .safer(format!("REINDEX TABLE CONCURRENTLY {name} (PostgreSQL 12+)")),
        ],
        (true, true) => vec![
            step(format!("REINDEX INDEX CONCURRENTLY {name}"), Target::table_of(name), ShareUpdateExclusive, Work::Scan, docs::REINDEX_CONCURRENTLY)
                .waits_for(Share),
        ],
        (false, true) => vec![
            step(format!("REINDEX TABLE CONCURRENTLY {name}"), Target::named(name), ShareUpdateExclusive, Work::Scan, docs::REINDEX_CONCURRENTLY)
                .waits_for(Share),
        ],
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

/// VACUUM and ANALYZE; FULL may be a keyword or an option in parentheses.
pub(super) fn vacuum(sql: &str, s: &SyntaxNode) -> Statement {
    let rels: Vec<RelName> = child(s, K::TABLE_AND_COLUMNS_LIST)
        .map(|l| {
            children(&l, K::TABLE_AND_COLUMNS)
                .filter_map(|t| rel_of(&t, K::TABLE_RELATION_NAME))
                .collect()
        })
        .unwrap_or_default();
    let is_vacuumcmd = s.kind() == K::VACUUM;
    let full = has_token(s, K::FULL_KW)
        || child(s, K::VACUUM_OPTION_LIST).is_some_and(|l| {
            children(&l, K::VACUUM_OPTION).any(|o| {
                let named = child(&o, K::VACUUM_OPTION_NAME).map(|n| name(&n));
                let off = child(&o, K::VACUUM_OPTION_VALUE).is_some_and(|v| {
                    matches!(
                        v.text().to_string().trim().to_ascii_lowercase().as_str(),
                        "false" | "off" | "0"
                    )
                });
                named.as_deref() == Some("full") && !off
            })
        });
    let kind = match (is_vacuumcmd, full) {
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
        .map(|r| match (is_vacuumcmd, full) {
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
        no_transaction_block: is_vacuumcmd,
        ..with_steps(sql, kind, steps)
    }
}
