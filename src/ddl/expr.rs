//! Whether a DEFAULT expression is volatile, read from squawk's syntax tree.
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::syntax::name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Volatility {
    /// Constants, casts, operators and stable functions such as now(): evaluated once.
    Stable,
    /// random(), gen_random_uuid(), clock_timestamp(), nextval(): evaluated per row.
    Volatile(String),
    /// A function or construct whose volatility only the catalog knows.
    Unknown(String),
}

/// Functions a DEFAULT commonly calls that are volatile (pg_proc.provolatile = 'v').
const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "setseed",
    "txid_current",
    "pg_current_xact_id",
];

/// Functions a DEFAULT commonly calls that are immutable or stable.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "transaction_timestamp",
    "statement_timestamp",
    "current_setting",
    "lower",
    "upper",
    "btrim",
    "concat",
    "length",
    "abs",
    "date_trunc",
    "make_date",
    "make_interval",
    "to_timestamp",
    "to_date",
    "to_char",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "timezone",
    "int4",
    "int8",
    "numeric",
    "text",
    "bool",
];

/// How often PostgreSQL evaluates `expr` as a column default: once (stable) or per row.
pub(super) fn volatility(expr: &SyntaxNode) -> Volatility {
    let mut worst = Volatility::Stable;
    walk(expr, &mut worst);
    worst
}

fn note(worst: &mut Volatility, v: Volatility) {
    let rank = |v: &Volatility| match v {
        Volatility::Stable => 0,
        Volatility::Unknown(_) => 1,
        Volatility::Volatile(_) => 2,
    };
    if rank(&v) > rank(worst) {
        *worst = v;
    }
}

/// Functions the grammar spells as keywords, evaluated from their arguments only.
const TRANSPARENT: &[&str] = &["coalesce", "greatest", "least", "nullif"];

fn walk(node: &SyntaxNode, worst: &mut Volatility) {
    let each = |worst: &mut Volatility| node.children().for_each(|n| walk(&n, worst));
    match node.kind() {
        K::LITERAL => {}
        // Types in casts and array bounds are no evaluation.
        K::PATH_TYPE
        | K::ARRAY_TYPE
        | K::CHARACTER_TYPE
        | K::VARCHAR_TYPE
        | K::BIT_TYPE
        | K::BIT_VARYING_TYPE
        | K::DOUBLE_TYPE
        | K::TIME_TYPE
        | K::TIMESTAMP_TYPE
        | K::INTERVAL_TYPE
        | K::PERCENT_TYPE
        | K::COLON_COLON => {}
        K::CAST_EXPR
        | K::BIN_EXPR
        | K::PREFIX_EXPR
        | K::POSTFIX_EXPR
        | K::ARRAY_EXPR
        | K::TUPLE_EXPR
        | K::CASE_EXPR
        | K::WHEN_CLAUSE_LIST
        | K::WHEN_CLAUSE
        | K::ELSE_CLAUSE
        | K::ARG_LIST
        | K::ARG => each(worst),
        K::PAREN_EXPR => {
            if node
                .children()
                .any(|c| matches!(c.kind(), K::SELECT | K::COMPOUND_SELECT))
            {
                note(worst, Volatility::Unknown("a subquery".into()));
            } else {
                each(worst);
            }
        }
        // CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_USER, LOCALTIME...: stable, evaluated once.
        K::NAME_REF
            if node
                .first_token()
                .is_some_and(|t| t.kind() != K::IDENT && t.kind().is_keyword()) => {}
        K::CALL_EXPR => {
            let Some(callee) = node.children().find(|c| c.kind() != K::ARG_LIST) else {
                return note(worst, Volatility::Unknown("the expression".into()));
            };
            let shown_name = name(&callee);
            let base = shown_name
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_string();
            let shown = format!("{shown_name}()");
            if VOLATILE.contains(&base.as_str()) {
                note(worst, Volatility::Volatile(shown));
            } else if NOT_VOLATILE.contains(&base.as_str()) || TRANSPARENT.contains(&base.as_str())
            {
                node.children()
                    .filter(|c| c.kind() == K::ARG_LIST)
                    .for_each(|a| walk(&a, worst));
            } else {
                note(worst, Volatility::Unknown(shown));
            }
        }
        _ => note(worst, Volatility::Unknown("the expression".into())),
    }
}
