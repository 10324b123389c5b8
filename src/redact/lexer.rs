//! Statement text cut into pieces by sqlparser's tokenizer (PostgreSQL dialect), each piece
//! either kept verbatim or marked as a literal to hide.
//!
//! Anything the tokenizer cannot read (pg_stat_activity cuts statements in the middle of a
//! string at track_activity_query_size) is hidden from the point where reading failed to
//! the end: an unreadable tail may be the inside of a string, so none of it is shown.
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

/// What stands in for one literal.
pub const LITERAL: &str = "?";
/// What stands in for text the tokenizer could not read, usually a cut-off literal.
pub const UNREADABLE_TAIL: &str = "?…";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string, number or anything else that may carry data: shown as a placeholder.
    Literal,
    /// A keyword or an identifier (quoted or not).
    Word,
    /// Spaces, newlines and (hidden) comments: they separate tokens but say nothing.
    Blank,
    /// Operators and punctuation.
    Symbol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    pub kind: Kind,
    /// The text to show: the original for kept pieces, a placeholder for the rest.
    pub text: std::borrow::Cow<'a, str>,
    /// Upper-cased for unquoted words, so that `in` and `IN` compare equal.
    pub word: Option<String>,
}

impl<'a> Piece<'a> {
    fn kept(kind: Kind, text: &'a str) -> Self {
        Piece {
            kind,
            text: text.into(),
            word: None,
        }
    }

    fn hidden(text: &'static str) -> Self {
        Piece {
            kind: Kind::Literal,
            text: text.into(),
            word: None,
        }
    }

    pub fn is(&self, symbol: &str) -> bool {
        self.kind == Kind::Symbol && self.text == symbol
    }
}

/// The statement as pieces whose texts, joined, are the redacted statement.
pub fn pieces(sql: &str) -> Vec<Piece<'_>> {
    let dialect = PostgreSqlDialect {};
    let mut tokens: Vec<TokenWithSpan> = Vec::new();
    // On error, `tokens` still holds every token read before the failure.
    let failed = Tokenizer::new(&dialect, sql)
        .with_unescape(false)
        .tokenize_with_location_into_buf(&mut tokens)
        .is_err();
    let mut offsets = Offsets::new(sql);
    let mut out = Vec::with_capacity(tokens.len() + 1);
    let mut done = 0;
    for t in &tokens {
        let (Some(start), Some(end)) = (offsets.at(t.span.start), offsets.at(t.span.end)) else {
            break;
        };
        if start < done || end < start {
            break;
        }
        if start > done {
            // The tokenizer skipped text: show it only if it cannot carry data.
            out.push(gap(&sql[done..start]));
        }
        out.push(classify(&t.token, &sql[start..end]));
        done = end;
    }
    if done < sql.len() {
        let rest = &sql[done..];
        if failed || !rest.trim().is_empty() {
            out.push(Piece::hidden(UNREADABLE_TAIL));
        }
    }
    out
}

fn gap(text: &str) -> Piece<'_> {
    if text.chars().all(char::is_whitespace) {
        Piece::kept(Kind::Blank, text)
    } else {
        Piece::hidden(LITERAL)
    }
}

fn classify<'a>(token: &Token, text: &'a str) -> Piece<'a> {
    match token {
        Token::Word(w) => Piece {
            kind: Kind::Word,
            text: text.into(),
            word: w
                .quote_style
                .is_none()
                .then(|| w.value.to_ascii_uppercase()),
        },
        Token::Whitespace(Whitespace::SingleLineComment { .. }) => Piece {
            kind: Kind::Blank,
            // Comments can quote anything, so only their shape stays.
            text: if text.ends_with('\n') {
                "-- ?\n".into()
            } else {
                "-- ?".into()
            },
            word: None,
        },
        Token::Whitespace(Whitespace::MultiLineComment(_)) => Piece {
            kind: Kind::Blank,
            text: "/* ? */".into(),
            word: None,
        },
        Token::Whitespace(_) => Piece::kept(Kind::Blank, text),
        // Bind parameters ($1) carry no data; anything else the tokenizer calls a
        // placeholder might.
        Token::Placeholder(p) if is_bind_parameter(p) => Piece::kept(Kind::Symbol, text),
        Token::Number(..) | Token::Placeholder(_) => Piece::hidden(LITERAL),
        // Every other token is an operator or punctuation, or a kind of string (there are
        // many, and new versions add more): only pure symbols are shown.
        _ if text.chars().all(is_symbol) => Piece::kept(Kind::Symbol, text),
        _ => Piece::hidden(LITERAL),
    }
}

fn is_bind_parameter(p: &str) -> bool {
    p.strip_prefix('$')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_symbol(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '\'' | '"' | '$' | '`')
}

/// Byte offsets of tokenizer locations, which count lines from 1 and characters within a
/// line from 1, exactly as sqlparser's tokenizer advances. Locations arrive in order, so
/// one forward walk serves them all.
struct Offsets<'a> {
    chars: std::str::CharIndices<'a>,
    len: usize,
    line: u64,
    column: u64,
    byte: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets {
            chars: text.char_indices(),
            len: text.len(),
            line: 1,
            column: 1,
            byte: 0,
        }
    }

    fn at(&mut self, loc: Location) -> Option<usize> {
        while (self.line, self.column) < (loc.line, loc.column) {
            let (i, c) = self.chars.next()?;
            self.byte = i + c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        if (self.line, self.column) == (loc.line, loc.column) {
            Some(self.byte.min(self.len))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(sql: &str) -> String {
        pieces(sql).iter().map(|p| p.text.as_ref()).collect()
    }

    #[test]
    fn kept_text_is_the_original_text() {
        let sql = "SELECT \"Ünïcode col\", t.x\n\tFROM  public.\"T\" t WHERE a >= $1 AND b <> $2";
        assert_eq!(joined(sql), sql);
    }

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            joined("select 'a', E'b\\'c', 42, 1.5e3, x'ff', b'01', U&'d\\0061t' from t"),
            "select ?, ?, ?, ?, ?, ?, ? from t"
        );
    }

    #[test]
    fn offsets_follow_multibyte_text_across_lines() {
        let sql = "select 'ä'\n, \"ö\" -- ü\n, 'ß' ;";
        assert_eq!(joined(sql), "select ?\n, \"ö\" -- ?\n, ? ;");
    }
}
