//! The wait graph flattened into display rows: roots first, each waiter under each of its
//! blockers. A session reached a second time is shown but not expanded again, so cycles
//! and diamonds stay finite.
use foldhash::{HashSet, HashSetExt};

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
    // An explicit stack, not recursion: a chain can be as deep as max_connections.
    let mut stack: Vec<(i32, Option<&Edge>, usize)> = Vec::new();
    for root in &a.graph.roots {
        stack.push((root.pid, None, 0));
        while let Some((pid, edge, depth)) = stack.pop() {
            let repeat = !expanded.insert(pid);
            out.push(TreeRow {
                pid,
                depth,
                edge,
                repeat,
            });
            if !repeat {
                // Reversed, so that the first child is the next one popped.
                let children = children(a, pid);
                stack.extend(
                    children
                        .into_iter()
                        .rev()
                        .map(|e| (e.waiter, Some(e), depth + 1)),
                );
            }
        }
    }
    out
}

/// The waiters of `pid` in display order: most waiting behind them, then longest wait.
fn children(a: &Analysis, pid: i32) -> Vec<&Edge> {
    // Keys first: the tree is rebuilt for every frame, and looking sessions up inside the
    // comparison did it a dozen times per waiter.
    let mut keyed: Vec<(usize, f64, &Edge)> = a
        .graph
        .waiters_of(pid)
        .map(|e| {
            let wait = a
                .session(e.waiter)
                .and_then(|s| a.wait_age(s))
                .unwrap_or(0.0);
            (a.graph.waiting_total(e.waiter), wait, e)
        })
        .collect();
    keyed.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(y.1.total_cmp(&x.1))
            .then(x.2.waiter.cmp(&y.2.waiter))
    });
    keyed.into_iter().map(|(_, _, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, analyze};
    use crate::model::{ServerInfo, Session, Snapshot};

    fn snapshot(pairs: &[(i32, i32)], pids: i32) -> Snapshot {
        let mut sessions: Vec<Session> = (1..=pids)
            .map(|pid| Session {
                pid,
                wait_event_type: Some("Lock".into()),
                // Waits of a few distinct lengths, so that ties on impact break by wait.
                query_start: Some(
                    chrono::DateTime::UNIX_EPOCH
                        - chrono::Duration::seconds(i64::from(pid * 7 % 5)),
                ),
                ..Default::default()
            })
            .collect();
        for &(w, b) in pairs {
            sessions[w as usize - 1].blocked_by.push(b);
        }
        Snapshot {
            taken_at: chrono::DateTime::UNIX_EPOCH,
            server: ServerInfo {
                version: "15.0".into(),
                version_num: 150000,
                max_connections: 100,
                query_size: None,
            },
            sessions,
        }
    }

    /// The recursive walk that rows() replaced: the order it must keep.
    fn recursive(a: &Analysis) -> Vec<(i32, usize, bool)> {
        fn walk(
            a: &Analysis,
            pid: i32,
            depth: usize,
            seen: &mut HashSet<i32>,
            out: &mut Vec<(i32, usize, bool)>,
        ) {
            let repeat = !seen.insert(pid);
            out.push((pid, depth, repeat));
            if !repeat {
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
                    walk(a, e.waiter, depth + 1, seen, out);
                }
            }
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for r in &a.graph.roots {
            walk(a, r.pid, 0, &mut seen, &mut out);
        }
        out
    }

    #[test]
    fn rows_keep_the_depth_first_order() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as i32
        };
        for _ in 0..300 {
            let pids = 2 + next(20);
            let pairs: Vec<(i32, i32)> = (0..next(3 * pids as u64))
                .map(|_| (1 + next(pids as u64), 1 + next(pids as u64)))
                .collect();
            let a = analyze(snapshot(&pairs, pids), &Options::default());
            let got: Vec<(i32, usize, bool)> = rows(&a)
                .iter()
                .map(|r| (r.pid, r.depth, r.repeat))
                .collect();
            assert_eq!(got, recursive(&a), "{pairs:?}");
        }
    }

    #[test]
    fn a_chain_deeper_than_the_stack_is_listed() {
        let n = 100_000;
        let pairs: Vec<(i32, i32)> = (2..=n).map(|p| (p, p - 1)).collect();
        let a = analyze(snapshot(&pairs, n), &Options::default());
        let rows = rows(&a);
        assert_eq!(rows.len(), n as usize);
        assert_eq!(
            rows.last().map(|r| (r.pid, r.depth)),
            Some((n, n as usize - 1))
        );
    }
}
