//! The wait graph flattened into display rows: roots first, each waiter under each of its
//! blockers. A session reached a second time is shown but not expanded again, so cycles
//! and diamonds stay finite.
use std::collections::HashSet;

use crate::analysis::Analysis;
use crate::graph::Edge;

#[derive(Debug, Clone, PartialEq)]
pub struct TreeRow<'a> {
    pub pid: i32,
    pub depth: usize,
    /// The edge from the parent row: how this session waits on it. None for roots.
    pub edge: Option<&'a Edge>,
    /// Already shown (and expanded) higher up.
    pub repeat: bool,
}

pub fn rows(a: &Analysis) -> Vec<TreeRow<'_>> {
    let mut out = Vec::new();
    let mut expanded = HashSet::new();
    for root in &a.graph.roots {
        walk(a, root.pid, None, 0, &mut expanded, &mut out);
    }
    out
}

fn walk<'a>(
    a: &'a Analysis,
    pid: i32,
    edge: Option<&'a Edge>,
    depth: usize,
    expanded: &mut HashSet<i32>,
    out: &mut Vec<TreeRow<'a>>,
) {
    let repeat = !expanded.insert(pid);
    out.push(TreeRow {
        pid,
        depth,
        edge,
        repeat,
    });
    if repeat {
        return;
    }
    let mut children: Vec<&Edge> = a.graph.waiters_of(pid).collect();
    children.sort_by(|x, y| {
        let wait = |e: &Edge| {
            a.session(e.waiter)
                .and_then(|s| a.wait_age(s))
                .unwrap_or(0.0)
        };
        a.graph
            .waiting_total(y.waiter)
            .cmp(&a.graph.waiting_total(x.waiter))
            .then(wait(y).total_cmp(&wait(x)))
            .then(x.waiter.cmp(&y.waiter))
    });
    for e in children {
        walk(a, e.waiter, Some(e), depth + 1, expanded, out);
    }
}
