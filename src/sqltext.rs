//! Just enough lexing of statement text to read each statement's leading keywords.
//!
//! pg_stat_activity cuts statements at track_activity_query_size, so the text may end in
//! the middle of a string or comment; this lexer never fails, it just stops.

/// The first `n` bare words of each statement, upper-cased. Comments, string literals
/// (plain, E'', dollar-quoted) and quoted identifiers are skipped, and punctuation such
/// as `(` is ignored, so `VACUUM (FULL) t` reads as VACUUM FULL T.
pub fn statement_heads(sql: &str, n: usize) -> Vec<Vec<String>> {
    let bytes = sql.as_bytes();
    let mut heads: Vec<Vec<String>> = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b';' => {
                if heads.last().is_some_and(|h| !h.is_empty()) {
                    heads.push(Vec::new());
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find_from(bytes, i, b"\n").map_or(bytes.len(), |p| p + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'\'' => i = skip_quoted(bytes, i + 1, b'\'', false),
            b'"' => {
                // A quoted identifier is still a word of the statement head.
                let end = skip_quoted(bytes, i + 1, b'"', false);
                push_word(&mut heads, n, "\"IDENT\"");
                i = end;
            }
            b'$' => i = skip_dollar(bytes, i),
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                let word = &sql[start..i];
                let escape_string = (word == "E" || word == "e") && bytes.get(i) == Some(&b'\'');
                if escape_string {
                    i = skip_quoted(bytes, i + 1, b'\'', true);
                } else if heads.last().is_some_and(|h| h.len() < n) {
                    // Every session's statement is read on every poll: upper-case only
                    // the words that are kept.
                    push_word(&mut heads, n, &word.to_ascii_uppercase());
                }
            }
            _ => i += 1,
        }
    }
    heads.retain(|h| !h.is_empty());
    heads
}

fn push_word(heads: &mut [Vec<String>], n: usize, word: &str) {
    if let Some(h) = heads.last_mut()
        && h.len() < n
    {
        h.push(word.to_string());
    }
}

pub(crate) fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Block comments nest in PostgreSQL.
pub(crate) fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Skips to just past the closing quote; a doubled quote is an escaped quote.
pub(crate) fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, backslash_escapes: bool) -> usize {
    while i < bytes.len() {
        let c = bytes[i];
        if backslash_escapes && c == b'\\' {
            i += 2;
        } else if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// `$tag$ ... $tag$`; a lone `$1` parameter is just skipped.
pub(crate) fn skip_dollar(bytes: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'$') || bytes[i + 1..j].first().is_some_and(u8::is_ascii_digit) {
        return j;
    }
    let tag = &bytes[i..=j];
    find_from(bytes, j + 1, tag).map_or(bytes.len(), |p| p + tag.len())
}

#[cfg(test)]
mod tests {
    use super::statement_heads;

    fn heads(sql: &str) -> Vec<String> {
        statement_heads(sql, 3)
            .into_iter()
            .map(|h| h.join(" "))
            .collect()
    }

    #[test]
    fn reads_past_comments_and_literals() {
        assert_eq!(
            heads("/* flyway /* nested */ */ -- hi\n alter table t add c int"),
            vec!["ALTER TABLE T"]
        );
        assert_eq!(
            heads("SET lock_timeout = '5s'; ALTER TABLE \"Orders\" ADD x int"),
            vec!["SET LOCK_TIMEOUT", "ALTER TABLE \"IDENT\""]
        );
        assert_eq!(
            heads("vacuum (full, verbose) t"),
            vec!["VACUUM FULL VERBOSE"]
        );
        assert_eq!(
            heads("select $q$ ; drop table x $q$; select E'\\'; drop' ; drop table y"),
            vec!["SELECT", "SELECT", "DROP TABLE Y"]
        );
        assert_eq!(
            heads("select $1, $2; truncate t"),
            vec!["SELECT", "TRUNCATE T"]
        );
    }

    #[test]
    fn truncated_text_never_fails() {
        assert_eq!(
            heads("ALTER TABLE t ADD c text DEFAULT 'abc"),
            vec!["ALTER TABLE T"]
        );
        assert_eq!(heads("select 1 /* open"), vec!["SELECT"]);
        assert_eq!(heads("select $a$ open"), vec!["SELECT"]);
        assert_eq!(heads(""), Vec::<String>::new());
        assert_eq!(heads("select E'\\"), vec!["SELECT"]);
    }
}
