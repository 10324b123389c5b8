//! `IN (1, 2, 3)` and `ARRAY['a', 'b']` of nothing but literals shrink to one placeholder
//! and a count, the way PostgreSQL 18's pg_stat_statements squashes them: a list of 5,000
//! ids says nothing more than its length, and a short statement reads better.
use super::lexer::{Kind, LITERAL, Piece};

pub fn squash(pieces: Vec<Piece<'_>>) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::with_capacity(pieces.len());
    let mut i = 0;
    while i < pieces.len() {
        if let Some((open, close, values)) = literal_list_at(&pieces, i) {
            out.extend(pieces[i..=open].iter().cloned());
            out.push(Piece {
                kind: Kind::Literal,
                text: if values == 1 {
                    LITERAL.into()
                } else {
                    format!("{LITERAL} /* {values} values */").into()
                },
                word: None,
            });
            out.push(pieces[close].clone());
            i = close + 1;
        } else {
            out.push(pieces[i].clone());
            i += 1;
        }
    }
    out
}

/// If `IN (` or `ARRAY[` starts at `i` and its list holds only literals: the index of the
/// opening bracket, of the closing one, and how many values the list has.
fn literal_list_at(pieces: &[Piece<'_>], i: usize) -> Option<(usize, usize, usize)> {
    let (open_sym, close_sym) = match pieces[i].word.as_deref()? {
        "IN" => ("(", ")"),
        "ARRAY" => ("[", "]"),
        _ => return None,
    };
    let open = next_solid(pieces, i + 1)?;
    if !pieces[open].is(open_sym) {
        return None;
    }
    let mut depth = 0usize;
    let mut values = 1;
    let mut literals = 0;
    let mut after_cast = false;
    for (k, p) in pieces.iter().enumerate().skip(open + 1) {
        match p.kind {
            Kind::Blank => continue,
            Kind::Literal => literals += 1,
            // A type name after `::`, as in '2024-01-01'::date.
            Kind::Word if after_cast => {}
            Kind::Word => return None,
            Kind::Symbol => {
                let t = p.text.as_ref();
                if depth == 0 && t == close_sym {
                    return (literals > 0).then_some((open, k, values));
                }
                match t {
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth = depth.checked_sub(1)?,
                    "," if depth == 0 => values += 1,
                    "," | "-" | "+" | "::" => {}
                    _ => return None,
                }
            }
        }
        after_cast = p.is("::");
    }
    None
}

fn next_solid(pieces: &[Piece<'_>], from: usize) -> Option<usize> {
    (from..pieces.len()).find(|&k| pieces[k].kind != Kind::Blank)
}

#[cfg(test)]
mod tests {
    use super::super::lexer::pieces;
    use super::*;

    fn run(sql: &str) -> String {
        squash(pieces(sql))
            .iter()
            .map(|p| p.text.as_ref())
            .collect()
    }

    #[test]
    fn literal_lists_collapse() {
        assert_eq!(
            run("select * from t where id in (1, 2, -3) and s IN ('a','b')"),
            "select * from t where id in (? /* 3 values */) and s IN (? /* 2 values */)"
        );
        assert_eq!(
            run("where d in ('2024-01-01'::date) or x = any(ARRAY[1,2,3]::int[])"),
            "where d in (?) or x = any(ARRAY[? /* 3 values */]::int[])"
        );
        assert_eq!(
            run("where (a, b) in ((1, 'x'), (2, 'y'))"),
            "where (a, b) in (? /* 2 values */)"
        );
    }

    #[test]
    fn lists_with_more_than_literals_keep_their_shape() {
        assert_eq!(
            run("where id in (select id from u where n = 5) or k in (a, 1) or j in ($1, $2)"),
            "where id in (select id from u where n = ?) or k in (a, ?) or j in ($1, $2)"
        );
        assert_eq!(run("where id in (1, 2"), "where id in (?, ?");
        assert_eq!(run("where id in"), "where id in");
    }
}
