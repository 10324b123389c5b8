//! Cutting text into statements and parsing each with squawk's PostgreSQL grammar.
//!
//! The whole text is parsed first, which gives exact statement boundaries (a function body
//! may contain semicolons). When the parser reports any error, the text is cut at top-level
//! semicolons by a lexer that never fails and each piece is parsed on its own, so that one
//! bad or truncated statement is named (with the parser's message and where it stopped)
//! without hiding the others. The parser recovers from errors, so a tree that came with an
//! error is never classified: that would be a guess.
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};

use crate::sqltext::{find_from, skip_block_comment, skip_dollar, skip_quoted};

/// Why a statement could not be read, and the byte offset in the whole text where the
/// parser stopped.
pub(super) struct Failure {
    pub reason: String,
    pub offset: usize,
}

pub(super) type Parsed = (String, Result<SyntaxNode, Failure>);

fn is_statement(n: &SyntaxNode) -> bool {
    !matches!(n.kind(), SyntaxKind::EMPTY_STMT)
}

pub(super) fn statements(sql: &str) -> Vec<Parsed> {
    let parse = SourceFile::parse(sql);
    if parse.errors().is_empty() {
        let mut out = Vec::new();
        for node in parse.syntax_node().children().filter(is_statement) {
            // From the first token, as PostgreSQL reports a statement: comments before it
            // are not part of it.
            let start = node
                .descendants_with_tokens()
                .filter_map(|e| e.into_token())
                .find(|t| !t.kind().is_trivia())
                .map_or(usize::from(node.text_range().start()), |t| {
                    usize::from(t.text_range().start())
                });
            let end = usize::from(node.text_range().end()).min(sql.len());
            let text = sql.get(start..end).unwrap_or_default().trim();
            let text = text.strip_suffix(';').unwrap_or(text).trim();
            if text.is_empty() {
                continue;
            }
            let parsed = match refused(&node) {
                Some(reason) => Err(Failure {
                    reason,
                    offset: usize::from(node.text_range().end()),
                }),
                None => Ok(node),
            };
            out.push((text.to_string(), parsed));
        }
        return out;
    }
    pieces(sql)
        .into_iter()
        .filter_map(|piece| {
            let base = piece.as_ptr() as usize - sql.as_ptr() as usize;
            let parse = SourceFile::parse(piece);
            let text = piece.trim().to_string();
            match parse.errors().into_iter().next() {
                Some(e) => {
                    let offset = usize::from(e.range().start());
                    Some((
                        text,
                        Err(Failure {
                            reason: reason(piece, offset, e.message()),
                            offset: base + offset,
                        }),
                    ))
                }
                None => {
                    let node = parse.syntax_node().children().find(is_statement)?;
                    let parsed = match refused(&node) {
                        Some(reason) => Err(Failure {
                            reason,
                            offset: base + usize::from(node.text_range().end()),
                        }),
                        None => Ok(node),
                    };
                    Some((text, parsed))
                }
            }
        })
        .collect()
}

/// The parser's message with what PostgreSQL would name: the text where reading stopped.
/// squawk reports the position right after the last token it accepted.
fn reason(piece: &str, offset: usize, message: &str) -> String {
    let message = message.replace("_KW", "");
    let rest = piece.get(offset..).unwrap_or_default().trim_start();
    let near: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(30)
        .collect();
    if near.is_empty() {
        format!("syntax error at end of input: {message}")
    } else {
        format!("syntax error at or near \"{near}\": {message}")
    }
}

/// Statements squawk's parser accepts but PostgreSQL's grammar refuses, found by the
/// golden corpus: a guess at their locks would be wrong, so they are refused here too.
fn refused(node: &SyntaxNode) -> Option<String> {
    use SyntaxKind as K;
    let has = |kind: K| node.children().any(|c| c.kind() == kind);
    let missing = "syntax error at end of input: the statement names no relation or action";
    match node.kind() {
        K::DROP_TABLE | K::DROP_VIEW | K::DROP_MATERIALIZED_VIEW | K::DROP_SEQUENCE
            if !node
                .children()
                .any(|c| matches!(c.kind(), K::TABLE_NAME_REF | K::VIEW_REF | K::SEQUENCE_REF)) =>
        {
            Some(missing.into())
        }
        K::DROP_INDEX if !has(K::INDEX_REF) => Some(missing.into()),
        K::ALTER_TABLE | K::ALTER_FOREIGN_TABLE
            if !node
                .children()
                .skip_while(|c| c.kind() != K::TABLE_RELATION_NAME)
                .any(|c| c.kind() != K::TABLE_RELATION_NAME) =>
        {
            Some(missing.into())
        }
        _ if node.descendants().any(|d| {
            d.kind() == K::NOT_VALID
                && d.parent()
                    .and_then(|c| c.parent())
                    .is_some_and(|p| matches!(p.kind(), K::ADD_COLUMN | K::COLUMN))
        }) =>
        {
            Some("a column constraint cannot be marked NOT VALID".into())
        }
        _ => None,
    }
}

/// Top-level pieces between semicolons, skipping comments, quoted strings and identifiers,
/// and dollar-quoted bodies. An unterminated quote or comment runs to the end of the text,
/// which is what a statement cut by track_activity_query_size looks like. Pieces that hold
/// nothing but whitespace and comments are dropped.
pub(super) fn pieces(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut has_code = false;
    let mut i = 0;
    while i < bytes.len() {
        let next = match bytes[i] {
            b';' => {
                if has_code {
                    out.push(&sql[start..i]);
                }
                start = i + 1;
                has_code = false;
                i + 1
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                find_from(bytes, i, b"\n").map_or(bytes.len(), |p| p + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            c => {
                has_code |= !c.is_ascii_whitespace();
                match c {
                    b'\'' => {
                        let escapes = i > 0 && matches!(bytes[i - 1], b'E' | b'e');
                        skip_quoted(bytes, i + 1, b'\'', escapes)
                    }
                    b'"' => skip_quoted(bytes, i + 1, b'"', false),
                    b'$' => skip_dollar(bytes, i),
                    _ => i + 1,
                }
            }
        };
        i = next.max(i + 1);
    }
    if has_code {
        out.push(&sql[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_respect_quotes_comments_and_dollar_bodies() {
        let sql = "select ';' ; /* ; */ select $f$ ; $f$; -- ;\n select \"a;b\"; select E'\\';'";
        let p: Vec<&str> = pieces(sql).into_iter().map(str::trim).collect();
        assert_eq!(
            p,
            vec![
                "select ';'",
                "/* ; */ select $f$ ; $f$",
                "-- ;\n select \"a;b\"",
                "select E'\\';'"
            ]
        );
        assert!(pieces(" ; -- only a comment\n ;").is_empty());
    }

    #[test]
    fn a_truncated_tail_is_its_own_piece() {
        let p = pieces("SET lock_timeout = '1s'; ALTER TABLE t ADD c text DEFAULT 'ab");
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].trim(), "ALTER TABLE t ADD c text DEFAULT 'ab");
    }

    #[test]
    fn parse_failure_names_only_the_bad_statement() {
        let got = statements("SELECT 1; ALTER TABLE t ADD COLUMN; SELECT 2");
        assert_eq!(got.len(), 3);
        assert!(got[0].1.is_ok() && got[2].1.is_ok());
        assert_eq!(got[1].0, "ALTER TABLE t ADD COLUMN");
        let Err(e) = &got[1].1 else {
            panic!("parsed");
        };
        assert!(!e.reason.is_empty());
        // Where the parser stopped, in the whole text: after "ADD COLUMN".
        assert!((24..36).contains(&e.offset), "{}", e.offset);
    }
}
