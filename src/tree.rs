//! The wait graph flattened into display rows: roots first, each waiter under each of its
//! blockers. A session reached a second time is shown but not expanded again, so cycles
//! and diamonds stay finite.
//!
//! A pile-up is mostly the same request many times over. [`items`] draws identical
//! waiters (see [`GroupKey`]) as one row when there are more than [`GROUP_OVER`] of them;
//! grouping is presentation only, and the JSON keeps every session.
use std::rc::Rc;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::analysis::Analysis;
use crate::graph::{Edge, EdgeKind};
use crate::humanize::age;

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

/// Up to this many identical siblings keep a row each; more become one group row.
pub const GROUP_OVER: usize = 3;

/// What makes waiters identical: siblings under one parent, waiting the same way for the
/// same lock on the same object, from the same application and user, running the same
/// statement once its literals are stripped. The parent is part of the key, so an
/// expanded group stays expanded across polls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub parent: i32,
    pub kind: EdgeKind,
    pub mode: String,
    pub target: String,
    pub application: String,
    pub user: String,
    /// The statement with its literals replaced by placeholders (the `--redact` lexer).
    pub statement: String,
}

/// Identical waiters, in the order their rows would have had.
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    pub key: GroupKey,
    pub depth: usize,
    /// The first member's edge to the parent; every member's has the same kind and lock.
    pub edge: &'a Edge,
    pub members: Vec<i32>,
    pub expanded: bool,
}

impl Group<'_> {
    /// "2s–1m12s", or one age when the shortest and the longest read the same.
    pub fn wait_span(&self, a: &Analysis) -> String {
        match self.wait_range(a) {
            Some((lo, hi)) if age(lo) != age(hi) => format!("{}–{}", age(lo), age(hi)),
            Some((lo, _)) => age(lo),
            None => "-".into(),
        }
    }

    /// The shortest and the longest wait among the members, in seconds.
    pub fn wait_range(&self, a: &Analysis) -> Option<(f64, f64)> {
        self.members
            .iter()
            .filter_map(|&p| a.session(p).and_then(|s| a.wait_age(s)))
            .fold(None, |acc, w| match acc {
                None => Some((w, w)),
                Some((lo, hi)) => Some((f64::min(lo, w), f64::max(hi, w))),
            })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    Row(TreeRow<'a>),
    /// Identical waiters as one row; when expanded, their rows follow as `Member`s.
    Group(Rc<Group<'a>>),
    Member(TreeRow<'a>, Rc<Group<'a>>),
}

/// The rows of [`rows`] with identical waiters grouped; `expanded` says which groups show
/// their members too.
pub fn items<'a>(a: &'a Analysis, expanded: &dyn Fn(&GroupKey) -> bool) -> Vec<Item<'a>> {
    let rows = rows(a);
    // Each row's parent row, from the depth-first order: the last row one level up.
    let mut parents: Vec<Option<usize>> = Vec::with_capacity(rows.len());
    let mut path: Vec<usize> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        path.truncate(r.depth);
        parents.push(path.last().copied());
        path.push(i);
    }
    // Only leaves are grouped: a waiter that others wait on keeps its row and its subtree.
    let mut by_key: HashMap<GroupKey, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let (Some(edge), Some(parent)) = (r.edge, parents[i]) else {
            continue;
        };
        if a.graph.waiting_total(r.pid) > 0 {
            continue;
        }
        if let Some(key) = group_key(a, rows[parent].pid, edge, r.pid) {
            by_key.entry(key).or_default().push(i);
        }
    }
    // Row index of a group's first member -> the group; other members' rows are dropped
    // there, or moved up behind it when expanded (they are leaves, so nothing else moves).
    let mut first: HashMap<usize, (Rc<Group<'a>>, Vec<usize>)> = HashMap::new();
    let mut absorbed: HashSet<usize> = HashSet::new();
    for (key, idx) in by_key {
        if idx.len() <= GROUP_OVER {
            continue;
        }
        let head = &rows[idx[0]];
        let Some(edge) = head.edge else { continue };
        absorbed.extend(idx.iter().copied());
        let group = Group {
            depth: head.depth,
            edge,
            members: idx.iter().map(|&i| rows[i].pid).collect(),
            expanded: expanded(&key),
            key,
        };
        first.insert(idx[0], (Rc::new(group), idx));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if let Some((g, idx)) = first.get(&i) {
            out.push(Item::Group(g.clone()));
            if g.expanded {
                out.extend(
                    idx.iter()
                        .map(|&m| Item::Member(rows[m].clone(), g.clone())),
                );
            }
        } else if !absorbed.contains(&i) {
            out.push(Item::Row(r.clone()));
        }
    }
    out
}

fn group_key(a: &Analysis, parent: i32, edge: &Edge, pid: i32) -> Option<GroupKey> {
    let s = a.session(pid)?;
    Some(GroupKey {
        parent,
        kind: edge.kind,
        mode: edge.lock.mode_wanted.as_deref().unwrap_or("").to_string(),
        target: edge.lock.target.clone().unwrap_or_default(),
        application: s.application_name.as_deref().unwrap_or("").to_string(),
        user: s.user.as_deref().unwrap_or("").to_string(),
        statement: a.statement_shape(pid)?.to_string(),
    })
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
            replication: None,
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
    fn groups_take_more_than_three_identical_leaves_and_lose_no_row() {
        // Star: 1 blocks 2..=9, and 10 waits on 2, so 2 is not a leaf.
        let mut pairs: Vec<(i32, i32)> = (2..=9).map(|p| (p, 1)).collect();
        pairs.push((10, 2));
        let a = analyze(snapshot(&pairs, 10), &Options::default());
        let closed = items(&a, &|_| false);
        let groups: Vec<&Group<'_>> = closed
            .iter()
            .filter_map(|i| match i {
                Item::Group(g) => Some(g.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(groups.len(), 1, "{closed:?}");
        assert_eq!(groups[0].key.parent, 1);
        let mut members = groups[0].members.clone();
        members.sort_unstable();
        assert_eq!(
            members,
            vec![3, 4, 5, 6, 7, 8, 9],
            "2 has a waiter, so keeps its row"
        );
        // Opened, every row of the ungrouped tree is there once more.
        let open = items(&a, &|_| true);
        let mut pids: Vec<i32> = open
            .iter()
            .filter_map(|i| match i {
                Item::Row(r) | Item::Member(r, _) => Some(r.pid),
                Item::Group(_) => None,
            })
            .collect();
        let mut all: Vec<i32> = rows(&a).iter().map(|r| r.pid).collect();
        pids.sort_unstable();
        all.sort_unstable();
        assert_eq!(pids, all);
        // Three identical leaves are not a group.
        let a = analyze(snapshot(&[(2, 1), (3, 1), (4, 1)], 4), &Options::default());
        assert!(
            items(&a, &|_| false)
                .iter()
                .all(|i| matches!(i, Item::Row(_)))
        );
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
