//! Statement text cut into pieces by squawk's PostgreSQL lexer (the same front end as the
//! DDL classifier), each piece either kept verbatim or marked as a literal to hide.
//!
//! Anything the lexer cannot read (pg_stat_activity cuts statements in the middle of a
//! string at track_activity_query_size; an unterminated comment, quoted identifier or
//! dollar body; a character PostgreSQL does not lex) is hidden from that point to the end:
//! an unreadable tail may be the inside of a string, so none of it is shown.
use squawk_lexer::{LiteralKind, TokenKind, tokenize};

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
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut start = 0usize;
    for token in tokenize(sql) {
        let end = start.saturating_add(token.len as usize).min(sql.len());
        let Some(text) = sql.get(start..end) else {
            break;
        };
        match piece(token.kind, text) {
            Some(p) => {
                // `::` comes as two colons; the list squasher reads it as one cast symbol.
                if p.is(":") && out.last().is_some_and(|l| l.is(":")) {
                    out.pop();
                    out.push(Piece::kept(Kind::Symbol, &sql[end - 2..end]));
                } else {
                    out.push(p);
                }
            }
            None => {
                out.push(Piece::hidden(UNREADABLE_TAIL));
                return out;
            }
        }
        start = end;
    }
    if start < sql.len() {
        out.push(Piece::hidden(UNREADABLE_TAIL));
    }
    out
}

/// The piece for one token, or None when reading must stop here (unterminated or unknown).
fn piece(kind: TokenKind, text: &str) -> Option<Piece<'_>> {
    Some(match kind {
        TokenKind::Whitespace => Piece::kept(Kind::Blank, text),
        // Comments can quote anything, so only their shape stays.
        TokenKind::LineComment => Piece {
            kind: Kind::Blank,
            text: "-- ?".into(),
            word: None,
        },
        TokenKind::BlockComment { terminated: true } => Piece {
            kind: Kind::Blank,
            text: "/* ? */".into(),
            word: None,
        },
        TokenKind::Ident => Piece {
            kind: Kind::Word,
            text: text.into(),
            word: Some(text.to_ascii_uppercase()),
        },
        TokenKind::QuotedIdent {
            terminated: true, ..
        } => Piece::kept(Kind::Word, text),
        TokenKind::Literal { kind } if terminated(kind) => Piece::hidden(LITERAL),
        // Bind parameters ($1) carry no data.
        TokenKind::PositionalParam { .. } if is_bind_parameter(text) => {
            Piece::kept(Kind::Symbol, text)
        }
        TokenKind::PositionalParam { .. } => Piece::hidden(LITERAL),
        TokenKind::Unknown
        | TokenKind::Eof
        | TokenKind::Literal { .. }
        | TokenKind::BlockComment { .. }
        | TokenKind::QuotedIdent { .. } => return None,
        // Operators and punctuation: shown only if they are pure symbols.
        _ if text.chars().all(is_symbol) => Piece::kept(Kind::Symbol, text),
        _ => return None,
    })
}

/// Whether a literal ends where PostgreSQL would end it (numbers always do).
fn terminated(kind: LiteralKind) -> bool {
    match kind {
        LiteralKind::Int { .. } | LiteralKind::Numeric { .. } => true,
        LiteralKind::Str { terminated }
        | LiteralKind::NationalStr { terminated }
        | LiteralKind::ByteStr { terminated }
        | LiteralKind::BitStr { terminated }
        | LiteralKind::DollarQuotedString { terminated }
        | LiteralKind::UnicodeEscStr { terminated }
        | LiteralKind::EscStr { terminated } => terminated,
    }
}

fn is_bind_parameter(p: &str) -> bool {
    p.strip_prefix('$')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_symbol(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '\'' | '"' | '$' | '`')
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
    fn cut_or_unknown_text_hides_the_rest() {
        for (sql, shown) in [
            ("select 'cut here", "select ?…"),
            ("select E'a\\' b' , 'cut", "select ? , ?…"),
            ("select $t$ body; 'x' $t", "select ?…"),
            ("select 1 /* a /* nested */ still comment", "select ? ?…"),
            ("select U&'d\\0061t' , \"cut", "select ? , ?…"),
            ("select 1 \\ secret", "select ? ?…"),
        ] {
            assert_eq!(joined(sql), shown, "{sql}");
        }
        assert_eq!(
            joined("select /* a /* b */ c */ 1, E'x\\'y', $$z$$ from t"),
            "select /* ? */ ?, ?, ? from t"
        );
    }

    #[test]
    fn offsets_follow_multibyte_text_across_lines() {
        let sql = "select 'ä'\n, \"ö\" -- ü\n, 'ß' ;";
        assert_eq!(joined(sql), "select ?\n, \"ö\" -- ?\n, ? ;");
    }
}
