//! Small readers over the parse tree: names, and whether a DEFAULT expression is volatile.
use pg_query::NodeEnum;
use pg_query::protobuf::{Node, RangeVar};

use super::RelName;

pub(super) fn rel(r: &RangeVar) -> RelName {
    RelName {
        schema: Some(r.schemaname.clone()).filter(|s| !s.is_empty()),
        name: r.relname.clone(),
    }
}

/// The strings of a name list such as `public.orders` or a function name.
pub(super) fn strings(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// A qualified name list as a relation: `[schema, name]` or `[name]`.
pub(super) fn rel_from_list(nodes: &[Node]) -> Option<RelName> {
    let mut parts = strings(nodes);
    let name = parts.pop()?;
    Some(RelName {
        schema: parts.pop(),
        name,
    })
}

/// `rel_from_list` for names already read as strings.
pub(super) fn rel_from_list_strs(parts: &[String]) -> Option<RelName> {
    let nodes: Vec<Node> = parts
        .iter()
        .map(|p| Node {
            node: Some(NodeEnum::String(pg_query::protobuf::String {
                sval: p.clone(),
            })),
        })
        .collect();
    rel_from_list(&nodes)
}

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
pub(super) fn volatility(expr: &Node) -> Volatility {
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

fn walk(node: &Node, worst: &mut Volatility) {
    let Some(n) = &node.node else { return };
    let each = |nodes: &[Node], worst: &mut Volatility| nodes.iter().for_each(|n| walk(n, worst));
    match n {
        NodeEnum::AConst(_) | NodeEnum::SqlvalueFunction(_) | NodeEnum::ParamRef(_) => {}
        NodeEnum::TypeCast(c) => {
            if let Some(arg) = &c.arg {
                walk(arg, worst);
            }
        }
        NodeEnum::AExpr(e) => {
            for side in [&e.lexpr, &e.rexpr].into_iter().flatten() {
                walk(side, worst);
            }
        }
        NodeEnum::BoolExpr(b) => each(&b.args, worst),
        NodeEnum::CoalesceExpr(c) => each(&c.args, worst),
        NodeEnum::MinMaxExpr(m) => each(&m.args, worst),
        NodeEnum::AArrayExpr(a) => each(&a.elements, worst),
        NodeEnum::RowExpr(r) => each(&r.args, worst),
        NodeEnum::List(l) => each(&l.items, worst),
        NodeEnum::NullTest(t) => {
            if let Some(arg) = &t.arg {
                walk(arg, worst);
            }
        }
        NodeEnum::CaseExpr(c) => {
            each(&c.args, worst);
            for e in [&c.arg, &c.defresult].into_iter().flatten() {
                walk(e, worst);
            }
        }
        NodeEnum::CaseWhen(w) => {
            for e in [&w.expr, &w.result].into_iter().flatten() {
                walk(e, worst);
            }
        }
        NodeEnum::FuncCall(f) => {
            let name = strings(&f.funcname);
            let base = name
                .last()
                .map(|s| s.to_ascii_lowercase())
                .unwrap_or_default();
            let shown = format!("{}()", name.join("."));
            if VOLATILE.contains(&base.as_str()) {
                note(worst, Volatility::Volatile(shown));
            } else if NOT_VOLATILE.contains(&base.as_str()) {
                each(&f.args, worst);
            } else {
                note(worst, Volatility::Unknown(shown));
            }
        }
        NodeEnum::SubLink(_) => note(worst, Volatility::Unknown("a subquery".into())),
        _ => note(worst, Volatility::Unknown("the expression".into())),
    }
}
