//! Small readers over squawk's lossless syntax tree: children of a kind, keywords present,
//! and names folded as PostgreSQL folds them (unquoted to lower case, quoted kept).
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::RelName;

pub(super) fn child(n: &SyntaxNode, kind: K) -> Option<SyntaxNode> {
    n.children().find(|c| c.kind() == kind)
}

pub(super) fn children(n: &SyntaxNode, kind: K) -> impl Iterator<Item = SyntaxNode> + use<> {
    n.children().filter(move |c| c.kind() == kind)
}

/// Whether `n` itself carries the keyword (or punctuation) token `kind`.
pub(super) fn has_token(n: &SyntaxNode, kind: K) -> bool {
    n.children_with_tokens()
        .any(|e| e.as_token().is_some_and(|t| t.kind() == kind))
}

/// An identifier as PostgreSQL reads it: `"Mixed ""Case"""` keeps its case and inner
/// quotes, anything else is folded to lower case.
pub(super) fn ident(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => text.to_ascii_lowercase(),
    }
}

/// The name a node spells: its words, each folded, without trivia.
pub(super) fn name(n: &SyntaxNode) -> String {
    n.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| !t.kind().is_trivia())
        .map(|t| match t.kind() {
            K::DOT => ".".to_string(),
            _ => ident(t.text()),
        })
        .collect()
}

/// The parts of a dotted name (`schema.table`, `table.column`) below `n`.
pub(super) fn path(n: &SyntaxNode) -> Vec<String> {
    n.descendants()
        .filter(|d| matches!(d.kind(), K::PATH_SEGMENT | K::PATH_SEGMENT_REF))
        .map(|d| name(&d))
        .collect()
}

/// A qualified name as a relation: `[schema, name]` or `[name]`.
pub(super) fn rel_from_parts(mut parts: Vec<String>) -> Option<RelName> {
    let name = parts.pop().filter(|n| !n.is_empty())?;
    Some(RelName {
        schema: parts.pop(),
        name,
    })
}

/// The relation named by the first dotted name below `n`.
pub(super) fn rel(n: &SyntaxNode) -> Option<RelName> {
    let first = if matches!(n.kind(), K::PATH | K::PATH_REF) {
        n.clone()
    } else {
        n.descendants()
            .find(|d| matches!(d.kind(), K::PATH | K::PATH_REF))?
    };
    rel_from_parts(path(&first))
}

/// The relation named by the first child of `kind`.
pub(super) fn rel_of(n: &SyntaxNode, kind: K) -> Option<RelName> {
    rel(&child(n, kind)?)
}
