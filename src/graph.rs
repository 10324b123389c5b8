//! The wait-for graph: a pure function of a Snapshot.
//!
//! pg_blocking_pids names holders and sessions queued ahead alike; pg_locks tells them
//! apart, and the remedy differs (kill a holder; cancel and retry a queued migration).
use std::collections::VecDeque;

use foldhash::{HashMap, HashMapExt, HashSet};

use serde::{Deserialize, Serialize};

use crate::lockmode::modes_conflict;
use crate::model::{Lock, Session, Snapshot, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The blocker holds a granted lock that conflicts with the one wanted.
    Holds,
    /// The blocker holds nothing in the way but waits ahead in the same lock queue.
    QueuedAhead,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeLock {
    pub locktype: Option<Text>,
    pub mode_wanted: Option<Text>,
    /// The conflicting mode the blocker holds (kind `holds`).
    pub mode_held: Option<Text>,
    /// The conflicting mode the blocker itself waits for (kind `queued_ahead`).
    pub blocker_mode_wanted: Option<Text>,
    pub relation: Option<Text>,
    /// What is locked, in words: a relation, a row, a transaction id.
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub waiter: i32,
    pub blocker: i32,
    pub kind: EdgeKind,
    pub lock: EdgeLock,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Root {
    pub pid: i32,
    pub waiting_total: usize,
    /// A cycle has no session that waits for nothing; one member stands in as its root.
    #[serde(default)]
    pub in_cycle: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitGraph {
    pub edges: Vec<Edge>,
    /// Ordered by waiting_total, largest first.
    pub roots: Vec<Root>,
    pub cycles: Vec<Vec<i32>>,
    waiting_total: HashMap<i32, usize>,
    depth: HashMap<i32, usize>,
    by_waiter: HashMap<i32, Vec<usize>>,
    by_blocker: HashMap<i32, Vec<usize>>,
    /// The pids of `roots` and `cycles`, for lookups once per row or per blocker.
    root_pids: HashSet<i32>,
    cycle_pids: HashSet<i32>,
}

impl WaitGraph {
    /// Sessions that wait on `pid`, directly or transitively.
    pub fn waiting_total(&self, pid: i32) -> usize {
        self.waiting_total.get(&pid).copied().unwrap_or(0)
    }

    /// Distance from the nearest root; None for sessions outside any wait.
    pub fn depth(&self, pid: i32) -> Option<usize> {
        self.depth.get(&pid).copied()
    }

    pub fn blockers_of(&self, pid: i32) -> impl Iterator<Item = &Edge> {
        self.edges_at(&self.by_waiter, pid)
    }

    pub fn waiters_of(&self, pid: i32) -> impl Iterator<Item = &Edge> {
        self.edges_at(&self.by_blocker, pid)
    }

    fn edges_at<'a>(
        &'a self,
        index: &'a HashMap<i32, Vec<usize>>,
        pid: i32,
    ) -> impl Iterator<Item = &'a Edge> {
        index
            .get(&pid)
            .into_iter()
            .flatten()
            .map(move |&i| &self.edges[i])
    }

    pub fn is_waiting(&self, pid: i32) -> bool {
        self.by_waiter.contains_key(&pid)
    }

    pub fn is_root(&self, pid: i32) -> bool {
        self.root_pids.contains(&pid)
    }

    pub fn in_cycle(&self, pid: i32) -> bool {
        self.cycle_pids.contains(&pid)
    }

    /// Every session `pid` waits on, directly or transitively, nearest first.
    pub fn upstream(&self, pid: i32) -> Vec<i32> {
        self.reach(pid, &self.by_waiter, |e| e.blocker)
    }

    /// Every session that waits on `pid`, directly or transitively, nearest first.
    pub fn downstream(&self, pid: i32) -> Vec<i32> {
        self.reach(pid, &self.by_blocker, |e| e.waiter)
    }

    fn reach(
        &self,
        start: i32,
        index: &HashMap<i32, Vec<usize>>,
        next: impl Fn(&Edge) -> i32,
    ) -> Vec<i32> {
        let mut seen = HashSet::from_iter([start]);
        let mut out = Vec::new();
        let mut queue = VecDeque::from([start]);
        while let Some(p) = queue.pop_front() {
            for &i in index.get(&p).into_iter().flatten() {
                let n = next(&self.edges[i]);
                if seen.insert(n) {
                    out.push(n);
                    queue.push_back(n);
                }
            }
        }
        out
    }
}

pub fn build(snapshot: &Snapshot) -> WaitGraph {
    let by_pid: HashMap<i32, &Session> = snapshot.sessions.iter().map(|s| (s.pid, s)).collect();
    let mut edges = Vec::new();
    for waiter in &snapshot.sessions {
        let wanted = waiter.awaited_lock();
        for &blocker in &waiter.blocked_by {
            if blocker == waiter.pid {
                continue;
            }
            edges.push(classify_edge(
                waiter.pid,
                wanted,
                blocker,
                by_pid.get(&blocker),
            ));
        }
    }
    from_edges(edges)
}

fn classify_edge(
    waiter: i32,
    wanted: Option<&Lock>,
    blocker: i32,
    blocker_session: Option<&&Session>,
) -> Edge {
    let blocker_locks: &[Lock] = blocker_session.map(|s| s.locks.as_slice()).unwrap_or(&[]);
    let conflicting = |granted: bool| {
        wanted.and_then(|w| {
            blocker_locks.iter().find(|l| {
                l.granted == granted && l.same_target(w) && modes_conflict(&l.mode, &w.mode)
            })
        })
    };
    let held = conflicting(true);
    let queued = if held.is_none() {
        conflicting(false)
    } else {
        None
    };
    // Without evidence of a queue position, pg_blocking_pids' word stands: it holds.
    let kind = if queued.is_some() {
        EdgeKind::QueuedAhead
    } else {
        EdgeKind::Holds
    };
    Edge {
        waiter,
        blocker,
        kind,
        lock: EdgeLock {
            locktype: wanted.map(|w| w.locktype.clone()),
            mode_wanted: wanted.map(|w| w.mode.clone()),
            mode_held: held.map(|l| l.mode.clone()),
            blocker_mode_wanted: queued.map(|l| l.mode.clone()),
            relation: wanted.and_then(|w| w.relation_name.clone()),
            target: wanted.map(Lock::target_label),
        },
    }
}

/// Everything but the edge classification, so that arbitrary edge sets can be tested.
pub fn from_edges(mut edges: Vec<Edge>) -> WaitGraph {
    edges.retain(|e| e.waiter != e.blocker);
    edges.sort_by_key(|e| (e.waiter, e.blocker));
    edges.dedup_by_key(|e| (e.waiter, e.blocker));

    let mut by_waiter: HashMap<i32, Vec<usize>> = HashMap::new();
    let mut by_blocker: HashMap<i32, Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        by_waiter.entry(e.waiter).or_default().push(i);
        by_blocker.entry(e.blocker).or_default().push(i);
    }

    let dense = Dense::new(&edges);
    let waiting_total = dense.waiting_totals();
    let cycles = dense.cycles();

    let mut roots: Vec<Root> = by_blocker
        .keys()
        .filter(|p| !by_waiter.contains_key(p))
        .map(|&pid| Root {
            pid,
            waiting_total: waiting_total.get(&pid).copied().unwrap_or(0),
            in_cycle: false,
        })
        .collect();
    for cycle in &cycles {
        // A cycle that also waits on someone outside it hangs below that blocker; only a
        // closed cycle needs a stand-in root, or its members would be listed twice.
        let members: HashSet<i32> = cycle.iter().copied().collect();
        let closed = cycle.iter().all(|p| {
            by_waiter
                .get(p)
                .into_iter()
                .flatten()
                .all(|&i| members.contains(&edges[i].blocker))
        });
        if closed {
            let pid = cycle.iter().copied().min().unwrap_or_default();
            roots.push(Root {
                pid,
                waiting_total: waiting_total.get(&pid).copied().unwrap_or(0),
                in_cycle: true,
            });
        }
    }
    let depth = bfs_depth(&roots, &edges, &by_blocker);
    roots.sort_by(|a, b| {
        b.waiting_total
            .cmp(&a.waiting_total)
            .then(a.pid.cmp(&b.pid))
    });

    let root_pids = roots.iter().map(|r| r.pid).collect();
    let cycle_pids = cycles.iter().flatten().copied().collect();
    WaitGraph {
        edges,
        roots,
        cycles,
        waiting_total,
        depth,
        by_waiter,
        by_blocker,
        root_pids,
        cycle_pids,
    }
}

fn bfs_depth(
    roots: &[Root],
    edges: &[Edge],
    by_blocker: &HashMap<i32, Vec<usize>>,
) -> HashMap<i32, usize> {
    let mut depth: HashMap<i32, usize> = roots.iter().map(|r| (r.pid, 0)).collect();
    let mut queue: VecDeque<i32> = roots.iter().map(|r| r.pid).collect();
    while let Some(p) = queue.pop_front() {
        let d = depth.get(&p).copied().unwrap_or(0);
        for &i in by_blocker.get(&p).into_iter().flatten() {
            let w = edges[i].waiter;
            if let std::collections::hash_map::Entry::Vacant(slot) = depth.entry(w) {
                slot.insert(d + 1);
                queue.push_back(w);
            }
        }
    }
    depth
}

/// A walk down the waiters of one session, with a stamp array so that no walk allocates.
struct Walk {
    stamp: Vec<usize>,
    queue: Vec<usize>,
}

impl Walk {
    fn count(&mut self, g: &Dense, start: usize, tree: &[bool], total: &[usize]) -> usize {
        self.stamp[start] = start;
        self.queue.clear();
        self.queue.push(start);
        let mut count = 0;
        while let Some(v) = self.queue.pop() {
            for &w in &g.waiters[v] {
                if self.stamp[w] != start {
                    self.stamp[w] = start;
                    count += 1;
                    if tree[w] {
                        count += total[w];
                    } else {
                        self.queue.push(w);
                    }
                }
            }
        }
        count
    }
}

/// The graph over dense indices, for the two whole-graph walks.
struct Dense {
    pids: Vec<i32>,
    /// blocker index -> waiter indices
    waiters: Vec<Vec<usize>>,
    /// waiter index -> blocker indices
    blockers: Vec<Vec<usize>>,
}

impl Dense {
    fn new(edges: &[Edge]) -> Dense {
        let mut index: HashMap<i32, usize> = HashMap::new();
        let mut pids = Vec::new();
        let mut id = |pid: i32, pids: &mut Vec<i32>| {
            *index.entry(pid).or_insert_with(|| {
                pids.push(pid);
                pids.len() - 1
            })
        };
        let pairs: Vec<(usize, usize)> = edges
            .iter()
            .map(|e| (id(e.waiter, &mut pids), id(e.blocker, &mut pids)))
            .collect();
        let mut waiters = vec![Vec::new(); pids.len()];
        let mut blockers = vec![Vec::new(); pids.len()];
        for (w, b) in pairs {
            waiters[b].push(w);
            blockers[w].push(b);
        }
        Dense {
            pids,
            waiters,
            blockers,
        }
    }

    /// How many sessions wait on each blocker, directly or transitively.
    ///
    /// A walk from every blocker costs O(V*E), which is quadratic on a long chain. So the
    /// sessions are visited waiters first (Kahn's order): where everything below a session
    /// waits on one session only (a tree), its count is the sum over its waiters, and a
    /// session with one waiter counts one more than it. Only sessions with several waiters
    /// above a diamond, or in or above a cycle, are counted by a walk, and that walk does
    /// not descend into the trees it meets.
    fn waiting_totals(&self) -> HashMap<i32, usize> {
        let n = self.pids.len();
        let mut total = vec![0usize; n];
        // Every session below this one waits on exactly one session, so it can only be
        // reached through this one.
        let mut tree = vec![false; n];
        let mut done = vec![false; n];
        let mut pending: Vec<usize> = self.waiters.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..n).filter(|&v| pending[v] == 0).collect();
        let mut walk = Walk {
            stamp: vec![usize::MAX; n],
            queue: Vec::new(),
        };
        let single = |w: usize| self.blockers[w].len() == 1;
        while let Some(v) = ready.pop() {
            let ws = &self.waiters[v];
            if ws.iter().all(|&w| single(w) && tree[w]) {
                tree[v] = true;
                total[v] = ws.iter().map(|&w| 1 + total[w]).sum();
            } else if let [w] = ws[..] {
                // One waiter: v's waiters are w and w's. Kahn's order never reaches a
                // cycle, so neither v nor w is among w's.
                total[v] = 1 + total[w];
            } else {
                total[v] = walk.count(self, v, &tree, &total);
            }
            done[v] = true;
            for &b in &self.blockers[v] {
                pending[b] -= 1;
                if pending[b] == 0 {
                    ready.push(b);
                }
            }
        }
        for v in 0..n {
            if !done[v] && !self.waiters[v].is_empty() {
                total[v] = walk.count(self, v, &tree, &total);
            }
        }
        (0..n)
            .filter(|&v| !self.waiters[v].is_empty())
            .map(|v| (self.pids[v], total[v]))
            .collect()
    }

    /// Strongly connected components of two or more sessions (Tarjan's algorithm, with an
    /// explicit stack so that a chain of thousands cannot overflow ours).
    fn cycles(&self) -> Vec<Vec<i32>> {
        let n = self.pids.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next_index = 0;
        let mut out = Vec::new();
        for start in 0..n {
            if index[start] != usize::MAX {
                continue;
            }
            let mut call: Vec<(usize, usize)> = vec![(start, 0)];
            index[start] = next_index;
            low[start] = next_index;
            next_index += 1;
            stack.push(start);
            on_stack[start] = true;
            while let Some(&mut (v, ref mut child)) = call.last_mut() {
                if let Some(&w) = self.blockers[v].get(*child) {
                    *child += 1;
                    if index[w] == usize::MAX {
                        index[w] = next_index;
                        low[w] = next_index;
                        next_index += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        call.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(self.pids[w]);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort_unstable();
                        out.push(component);
                    }
                }
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(waiter: i32, blocker: i32) -> Edge {
        Edge {
            waiter,
            blocker,
            kind: EdgeKind::Holds,
            lock: EdgeLock {
                locktype: None,
                mode_wanted: None,
                mode_held: None,
                blocker_mode_wanted: None,
                relation: None,
                target: None,
            },
        }
    }

    fn rel_lock(mode: &str, granted: bool) -> Lock {
        Lock {
            locktype: "relation".into(),
            mode: mode.into(),
            granted,
            database: Some(5),
            relation: Some(16384),
            relation_name: Some("public.orders".into()),
            ..Default::default()
        }
    }

    fn session(pid: i32, blocked_by: &[i32], locks: Vec<Lock>) -> Session {
        Session {
            pid,
            wait_event_type: (!blocked_by.is_empty()).then(|| "Lock".into()),
            blocked_by: blocked_by.to_vec(),
            locks,
            ..Default::default()
        }
    }

    fn snapshot(sessions: Vec<Session>) -> Snapshot {
        Snapshot {
            taken_at: chrono::DateTime::UNIX_EPOCH,
            server: crate::model::ServerInfo {
                version: "15.0".into(),
                version_num: 150000,
                max_connections: 100,
                query_size: None,
            },
            sessions,
            replication: None,
        }
    }

    #[test]
    fn migration_pileup_is_holds_then_queued_ahead() {
        let snap = snapshot(vec![
            session(1, &[], vec![rel_lock("AccessShareLock", true)]),
            session(2, &[1], vec![rel_lock("AccessExclusiveLock", false)]),
            session(3, &[2], vec![rel_lock("AccessShareLock", false)]),
            session(4, &[2], vec![rel_lock("RowExclusiveLock", false)]),
        ]);
        let g = build(&snap);
        assert_eq!(g.roots.len(), 1);
        assert_eq!(g.roots[0].pid, 1);
        assert_eq!(g.roots[0].waiting_total, 3);
        assert_eq!(g.waiting_total(2), 2);
        let e12 = g.blockers_of(2).next().unwrap();
        assert_eq!(e12.kind, EdgeKind::Holds);
        assert_eq!(e12.lock.mode_held.as_deref(), Some("AccessShareLock"));
        assert_eq!(e12.lock.relation.as_deref(), Some("public.orders"));
        let e32 = g.blockers_of(3).next().unwrap();
        assert_eq!(e32.kind, EdgeKind::QueuedAhead);
        assert_eq!(
            e32.lock.blocker_mode_wanted.as_deref(),
            Some("AccessExclusiveLock")
        );
        assert_eq!(g.depth(1), Some(0));
        assert_eq!(g.depth(3), Some(2));
        assert!(g.cycles.is_empty());
        assert_eq!(g.downstream(1), vec![2, 3, 4]);
        assert_eq!(g.upstream(3), vec![2, 1]);
    }

    #[test]
    fn a_different_target_is_not_evidence() {
        let mut other = rel_lock("AccessExclusiveLock", true);
        other.relation = Some(99);
        let snap = snapshot(vec![
            session(1, &[], vec![other]),
            session(2, &[1], vec![rel_lock("AccessShareLock", false)]),
        ]);
        let g = build(&snap);
        let e = g.blockers_of(2).next().unwrap();
        assert_eq!(e.kind, EdgeKind::Holds);
        assert_eq!(e.lock.mode_held, None);
    }

    #[test]
    fn cycles_are_found_and_rooted_once() {
        let g = from_edges(vec![edge(1, 2), edge(2, 1), edge(3, 1)]);
        assert_eq!(g.cycles, vec![vec![1, 2]]);
        assert_eq!(g.roots.len(), 1);
        assert_eq!(g.roots[0].pid, 1);
        assert!(g.roots[0].in_cycle);
        // 1 is waited on by 2 and 3; 2 by 1 and 3.
        assert_eq!(g.waiting_total(1), 2);
        assert_eq!(g.waiting_total(2), 2);
        assert_eq!(g.depth(3), Some(1));
    }

    #[test]
    fn a_cycle_waiting_on_another_cycle_is_not_a_root() {
        // Found by tests/prop_graph.rs: {1,2} waits on {5,6}, so only {5,6} is rooted.
        let g = from_edges(vec![
            edge(1, 2),
            edge(2, 1),
            edge(1, 5),
            edge(5, 6),
            edge(6, 5),
        ]);
        assert_eq!(g.cycles, vec![vec![1, 2], vec![5, 6]]);
        assert_eq!(g.roots.iter().map(|r| r.pid).collect::<Vec<_>>(), vec![5]);
        assert_eq!(g.depth(6), Some(1));
        assert_eq!(g.depth(1), Some(1));
        assert_eq!(g.depth(2), Some(2));
    }

    #[test]
    fn multiple_blockers_and_diamonds_count_each_waiter_once() {
        let g = from_edges(vec![
            edge(2, 1),
            edge(3, 1),
            edge(4, 2),
            edge(4, 3),
            edge(5, 4),
            edge(5, 4),
            edge(6, 6),
        ]);
        assert_eq!(g.waiting_total(1), 4);
        assert_eq!(g.roots.iter().map(|r| r.pid).collect::<Vec<_>>(), vec![1]);
        assert_eq!(g.depth(5), Some(3));
        assert_eq!(g.edges.len(), 5);
        assert!(!g.is_waiting(6));
    }

    #[test]
    fn roots_order_by_impact_then_pid() {
        let g = from_edges(vec![edge(2, 9), edge(3, 1), edge(4, 1), edge(5, 7)]);
        let order: Vec<i32> = g.roots.iter().map(|r| r.pid).collect();
        assert_eq!(order, vec![1, 7, 9]);
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let edges: Vec<Edge> = (1..3_000).map(|i| edge(i + 1, i)).collect();
        let g = from_edges(edges);
        assert_eq!(g.roots[0].pid, 1);
        assert_eq!(g.depth(3_000), Some(2_999));
        assert_eq!(g.waiting_total(1), 2_999);
        let ring: Vec<Edge> = (0..2_000).map(|i| edge(i, (i + 1) % 2_000)).collect();
        let g = from_edges(ring);
        assert_eq!(g.cycles.len(), 1);
        assert_eq!(g.cycles[0].len(), 2_000);
    }

    /// What waiting_totals' shortcuts must agree with: a plain walk from every blocker.
    fn walked_totals(pairs: &[(i32, i32)]) -> HashMap<i32, usize> {
        let mut waiters: HashMap<i32, Vec<i32>> = HashMap::new();
        for &(w, b) in pairs {
            if w != b {
                waiters.entry(b).or_default().push(w);
            }
        }
        waiters
            .keys()
            .map(|&start| {
                let mut seen = HashSet::from_iter([start]);
                let mut stack = vec![start];
                while let Some(v) = stack.pop() {
                    for &w in waiters.get(&v).into_iter().flatten() {
                        if seen.insert(w) {
                            stack.push(w);
                        }
                    }
                }
                (start, seen.len() - 1)
            })
            .collect()
    }

    fn assert_totals(pairs: &[(i32, i32)]) {
        let g = from_edges(pairs.iter().map(|&(w, b)| edge(w, b)).collect());
        let want = walked_totals(pairs);
        for (&pid, &n) in &want {
            assert_eq!(g.waiting_total(pid), n, "pid {pid} in {pairs:?}");
        }
        let pids = pairs.iter().flat_map(|&(w, b)| [w, b]);
        for pid in pids.filter(|p| !want.contains_key(p)) {
            assert_eq!(g.waiting_total(pid), 0, "pid {pid} in {pairs:?}");
        }
    }

    #[test]
    fn shortcut_totals_match_a_walk_from_every_blocker() {
        // A chain above a diamond; a tree below a diamond; a chain above a cycle with a tree
        // below it; two trees sharing one waiter; a chain whose link also waits elsewhere.
        let shapes: [&[(i32, i32)]; 5] = [
            &[(2, 1), (3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (7, 6)],
            &[
                (2, 1),
                (3, 1),
                (4, 2),
                (4, 3),
                (5, 4),
                (6, 4),
                (7, 6),
                (8, 6),
            ],
            &[(2, 1), (3, 2), (4, 3), (3, 4), (5, 4), (6, 5), (7, 5)],
            &[(2, 1), (3, 1), (4, 10), (5, 10), (3, 10), (6, 3)],
            &[(2, 1), (3, 2), (4, 3), (3, 9), (5, 4)],
        ];
        for pairs in shapes {
            assert_totals(pairs);
        }
        // And arbitrary graphs, dense enough for diamonds and cycles at every depth.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as i32
        };
        for _ in 0..2_000 {
            let nodes = 2 + next(30) as u64;
            let edges = next(2 * nodes) as usize;
            let pairs: Vec<(i32, i32)> = (0..edges).map(|_| (next(nodes), next(nodes))).collect();
            assert_totals(&pairs);
        }
    }
}
