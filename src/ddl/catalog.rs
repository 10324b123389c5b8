//! Which relations a statement creates, drops or renames, so that a migration file can be
//! followed statement by statement: a later statement may use what an earlier one created.
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::syntax::{child, name, rel, rel_of};
use super::{Catalog, RelName};

/// The name of the relation a CREATE defines.
const DEFINED: &[K] = &[K::TABLE_NAME, K::VIEW, K::SEQUENCE];

/// The names a DROP lists.
const DROPPED: &[K] = &[
    K::TABLE_NAME_REF,
    K::VIEW_REF,
    K::SEQUENCE_REF,
    K::INDEX_REF,
];

/// The relation an ALTER names.
const ALTERED: &[K] = &[
    K::TABLE_RELATION_NAME,
    K::INDEX_REF,
    K::VIEW_REF,
    K::SEQUENCE_REF,
];

const RENAME_TO: &[K] = &[
    K::TABLE_RENAME_TO,
    K::VIEW_RENAME_TO,
    K::INDEX_RENAME_TO,
    K::SEQUENCE_RENAME_TO,
];

fn first_of(n: &SyntaxNode, kinds: &[K]) -> Option<SyntaxNode> {
    n.children().find(|c| kinds.contains(&c.kind()))
}

pub(super) fn of(node: &SyntaxNode) -> Catalog {
    let mut c = Catalog {
        if_exists: child(node, K::IF_EXISTS).is_some(),
        ..Catalog::default()
    };
    match node.kind() {
        K::CREATE_TABLE
        | K::CREATE_TABLE_AS
        | K::CREATE_FOREIGN_TABLE
        | K::CREATE_VIEW
        | K::CREATE_MATERIALIZED_VIEW
        | K::CREATE_SEQUENCE => {
            c.creates
                .extend(first_of(node, DEFINED).and_then(|n| rel(&n)));
        }
        // An index lives in its table's schema.
        K::CREATE_INDEX => {
            if let (Some(index), Some(table)) =
                (child(node, K::INDEX), rel_of(node, K::TABLE_RELATION_NAME))
            {
                c.creates.push(RelName {
                    schema: table.schema,
                    name: name(&index),
                });
            }
        }
        K::DROP_TABLE
        | K::DROP_VIEW
        | K::DROP_MATERIALIZED_VIEW
        | K::DROP_FOREIGN_TABLE
        | K::DROP_SEQUENCE
        | K::DROP_INDEX => {
            c.drops = node
                .children()
                .filter(|n| DROPPED.contains(&n.kind()))
                .filter_map(|n| rel(&n))
                .collect();
        }
        K::ALTER_TABLE
        | K::ALTER_FOREIGN_TABLE
        | K::ALTER_VIEW
        | K::ALTER_MATERIALIZED_VIEW
        | K::ALTER_INDEX
        | K::ALTER_SEQUENCE => {
            if let (Some(old), Some(to)) = (
                first_of(node, ALTERED).and_then(|n| rel(&n)),
                first_of(node, RENAME_TO),
            ) && let Some(new) = rel(&to)
            {
                let new = RelName {
                    schema: old.schema.clone(),
                    name: new.name,
                };
                c.renames.push((old, new));
            }
        }
        _ => {}
    }
    c
}
