//! Cutting text into statements and parsing each with PostgreSQL's grammar.
//!
//! The whole text is parsed first, which gives exact statement boundaries (a function body
//! may contain semicolons). Only when that fails is the text cut at top-level semicolons by
//! a lexer that never fails, and each piece parsed on its own, so that one bad or truncated
//! statement is named without hiding the others. libpg_query's own scanner-based splitter
//! is not used for this: it silently drops pieces it cannot tokenize.
use crate::sqltext::{find_from, skip_block_comment, skip_dollar, skip_quoted};
use pg_query::NodeEnum;

pub(super) type Parsed = (String, Result<NodeEnum, String>);

pub(super) fn statements(sql: &str) -> Vec<Parsed> {
    match pg_query::parse(sql, 0) {
        Ok(result) => result
            .protobuf
            .stmts
            .into_iter()
            .filter_map(|raw| {
                let text = slice(sql, raw.stmt_location, raw.stmt_len);
                let node = raw.stmt.and_then(|n| n.node)?;
                Some((text, Ok(node)))
            })
            .collect(),
        Err(_) => pieces(sql)
            .into_iter()
            .filter_map(|piece| match pg_query::parse(piece, 0) {
                Ok(result) => {
                    let node = result.protobuf.stmts.into_iter().next()?.stmt?.node?;
                    Some((piece.trim().to_string(), Ok(node)))
                }
                Err(e) => Some((piece.trim().to_string(), Err(reason(&e)))),
            })
            .collect(),
    }
}

fn reason(e: &pg_query::Error) -> String {
    match e {
        pg_query::Error::Parse(m) | pg_query::Error::Split(m) | pg_query::Error::Scan(m) => {
            m.clone()
        }
        other => other.to_string(),
    }
}

/// A statement's text from the parser's byte offsets; a length of 0 means "to the end".
fn slice(sql: &str, location: i32, len: i32) -> String {
    let start = usize::try_from(location).unwrap_or(0);
    let end = match usize::try_from(len) {
        Ok(0) | Err(_) => sql.len(),
        Ok(n) => start.saturating_add(n).min(sql.len()),
    };
    sql.get(start..end).unwrap_or(sql).trim().to_string()
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
        assert!(got[1].1.as_ref().is_err_and(|e| e.contains("syntax error")));
    }

    #[test]
    fn offsets_outside_the_text_do_not_panic() {
        assert_eq!(slice("abc", 10, 5), "abc");
        assert_eq!(slice("héllo", 2, 1), "héllo");
        assert_eq!(slice("abc", -1, -1), "abc");
    }
}
