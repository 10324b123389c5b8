//! Hostile input for the pure core: arbitrary snapshots (random, duplicate and zero pids,
//! self-loops, cycles, blockers missing from the session list, junk locks and texts) go
//! through the graph builder, the analysis and both renderers. Whatever the server or a
//! tampered recording hands us, the tool must not panic, must not lose a waiter and must
//! count `waiting_total` exactly as the edges say.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pglocks::analysis::{Options, analyze};
use pglocks::graph::{self, Edge, EdgeKind, EdgeLock, WaitGraph};
use pglocks::model::Snapshot;
use pglocks::report::{Format, render};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

#[path = "prop_graph/strategies.rs"]
mod strategies;
use strategies::{options, pid, snapshot};

/// Per property. Enough to find shape bugs (the two fixed in graph.rs and markdown.rs
/// showed up within the first few hundred); about 2 s and 6 s of CPU in a debug build.
const CASES: u32 = 2_000;

/// A renderer that takes longer than this on a few dozen sessions is looping.
const RENDER_LIMIT: Duration = Duration::from_secs(10);

/// Every (a, b) such that a waits on b directly or transitively: a plain depth-first walk
/// from each pid over the pairs alone, sharing nothing with the graph module's own walks.
fn naive_closure(pairs: &BTreeSet<(i32, i32)>) -> BTreeSet<(i32, i32)> {
    let mut blockers: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for &(w, b) in pairs {
        blockers.entry(w).or_default().push(b);
    }
    let mut reach = BTreeSet::new();
    for &start in blockers.keys() {
        let mut stack = vec![start];
        while let Some(p) = stack.pop() {
            for &b in blockers.get(&p).into_iter().flatten() {
                if reach.insert((start, b)) {
                    stack.push(b);
                }
            }
        }
    }
    reach
}

/// `pid -> number of other pids that wait on it, directly or transitively`.
fn naive_waiting_totals(pairs: &BTreeSet<(i32, i32)>) -> BTreeMap<i32, usize> {
    let mut totals = BTreeMap::new();
    for &(w, b) in &naive_closure(pairs) {
        if w != b {
            *totals.entry(b).or_insert(0) += 1;
        }
    }
    totals
}

fn edge_pairs(g: &WaitGraph) -> BTreeSet<(i32, i32)> {
    g.edges.iter().map(|e| (e.waiter, e.blocker)).collect()
}

fn check_graph(g: &WaitGraph) -> Result<(), TestCaseError> {
    let pairs = edge_pairs(g);
    prop_assert_eq!(pairs.len(), g.edges.len(), "edges are deduplicated");
    prop_assert!(
        g.edges.iter().all(|e| e.waiter != e.blocker),
        "no self-loop survives"
    );

    let totals = naive_waiting_totals(&pairs);
    let pids: BTreeSet<i32> = pairs.iter().flat_map(|&(w, b)| [w, b]).collect();
    for &p in &pids {
        prop_assert_eq!(
            g.waiting_total(p),
            totals.get(&p).copied().unwrap_or(0),
            "waiting_total of pid {}",
            p
        );
    }

    let order: Vec<usize> = g.roots.iter().map(|r| r.waiting_total).collect();
    prop_assert!(
        order.windows(2).all(|w| w[0] >= w[1]),
        "roots ordered by waiting_total: {:?}",
        g.roots
    );
    for r in &g.roots {
        prop_assert_eq!(r.waiting_total, g.waiting_total(r.pid));
        if r.in_cycle {
            prop_assert!(g.in_cycle(r.pid), "cycle root {} is in a cycle", r.pid);
        } else {
            prop_assert!(!g.is_waiting(r.pid), "plain root {} waits on nobody", r.pid);
        }
    }
    let root_pids: BTreeSet<i32> = g.roots.iter().map(|r| r.pid).collect();
    prop_assert_eq!(root_pids.len(), g.roots.len(), "no root listed twice");
    // Every blocker that waits for nothing is a root.
    for &(_, b) in &pairs {
        if !g.is_waiting(b) {
            prop_assert!(root_pids.contains(&b), "blocker {} is a root", b);
        }
    }
    // Every session in the graph hangs below some root, so the tree shows it.
    for &p in &pids {
        prop_assert!(g.depth(p).is_some(), "pid {} has no depth: unreachable", p);
    }
    // A cycle stands in as a root only when nothing outside it is upstream; otherwise its
    // members would be shown twice, once as a root and once under the real root.
    for r in g.roots.iter().filter(|r| r.in_cycle) {
        let upstream = g.upstream(r.pid);
        let cycle = g
            .cycles
            .iter()
            .find(|c| c.contains(&r.pid))
            .cloned()
            .unwrap_or_default();
        prop_assert!(
            upstream.iter().all(|p| cycle.contains(p)),
            "cycle root {} also waits on {:?} outside its cycle {:?}",
            r.pid,
            upstream,
            cycle
        );
    }
    let closure = naive_closure(&pairs);
    for c in &g.cycles {
        prop_assert!(c.len() >= 2, "a cycle has two or more members");
        for &p in c {
            prop_assert!(
                closure.contains(&(p, p)),
                "cycle member {} waits on itself",
                p
            );
        }
    }
    // And every session that waits on itself through others is in a reported cycle.
    for &(a, b) in &closure {
        if a == b {
            prop_assert!(
                g.in_cycle(a),
                "pid {} is in a cycle that is not reported",
                a
            );
        }
    }
    Ok(())
}

fn check_snapshot(snap: Snapshot, opts: Options) -> Result<(), TestCaseError> {
    let g = graph::build(&snap);
    check_graph(&g)?;
    let pairs = edge_pairs(&g);
    // Every waiter is accounted for: each non-self blocker becomes an edge, and no edge is
    // invented.
    let mut wanted = BTreeSet::new();
    for s in &snap.sessions {
        for &b in &s.blocked_by {
            if b != s.pid {
                wanted.insert((s.pid, b));
            }
        }
    }
    prop_assert_eq!(&pairs, &wanted);
    for s in &snap.sessions {
        if s.blocked_by.iter().any(|&b| b != s.pid) {
            prop_assert!(g.is_waiting(s.pid), "pid {} is a waiter", s.pid);
        }
    }

    let analysis = analyze(snap, &opts);
    prop_assert_eq!(edge_pairs(&analysis.graph), pairs);
    let tree: BTreeSet<i32> = pglocks::tree::rows(&analysis)
        .iter()
        .map(|r| r.pid)
        .collect();
    for &(w, b) in &edge_pairs(&analysis.graph) {
        prop_assert!(
            tree.contains(&w) && tree.contains(&b),
            "{} and {} in the tree",
            w,
            b
        );
    }
    let _ = analysis.headline();

    let (tx, rx) = mpsc::channel();
    let sessions = analysis.snapshot.sessions.len();
    std::thread::spawn(move || {
        let md = render(Format::Markdown, &analysis, &[]);
        let json = render(Format::Json, &analysis, &[]);
        let _ = tx.send((md, json));
    });
    let (md, json) = match rx.recv_timeout(RENDER_LIMIT) {
        Ok(out) => out,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(TestCaseError::fail("a renderer did not terminate"));
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(TestCaseError::fail("a renderer panicked"));
        }
    };
    let md = md.map_err(|e| TestCaseError::fail(format!("markdown: {e}")))?;
    let json = json.map_err(|e| TestCaseError::fail(format!("json: {e}")))?;
    prop_assert!(md.starts_with("# pglocks snapshot"));
    prop_assert!(
        !md.contains('\u{1b}') && !md.contains('\u{7}'),
        "terminal control characters reach the Markdown"
    );
    let doc: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| TestCaseError::fail(format!("JSON does not parse: {e}")))?;
    prop_assert_eq!(doc["format"].as_str(), Some("pglocks.snapshot/1"));
    prop_assert_eq!(
        doc["sessions"].as_array().map(Vec::len),
        Some(sessions),
        "every session in the JSON"
    );
    Ok(())
}

fn plain_edge(waiter: i32, blocker: i32, queued: bool) -> Edge {
    Edge {
        waiter,
        blocker,
        kind: if queued {
            EdgeKind::QueuedAhead
        } else {
            EdgeKind::Holds
        },
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

fn run<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let executed = std::sync::atomic::AtomicU32::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |v| {
        executed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        test(v)
    });
    let n = executed.into_inner();
    match result {
        Ok(()) => println!(
            "{name}: {n} cases passed in {:.2}s",
            started.elapsed().as_secs_f64()
        ),
        Err(TestError::Fail(why, minimal)) => {
            panic!("{name}: {why}\nminimal failing input: {minimal:#?}")
        }
        Err(e) => panic!("{name}: {e}"),
    }
    assert!(n >= CASES, "{name}: only {n} of {CASES} cases ran");
}

#[test]
fn arbitrary_snapshots_build_analyse_and_render() {
    run("snapshots", (snapshot(), options()), |(snap, opts)| {
        check_snapshot(snap, opts)
    });
}

#[test]
fn arbitrary_edge_sets_keep_the_graph_invariants() {
    let edges = prop::collection::vec((pid(), pid(), any::<bool>()), 0..40);
    run("edge sets", edges, |edges| {
        let edges: Vec<Edge> = edges
            .into_iter()
            .map(|(w, b, q)| plain_edge(w, b, q))
            .collect();
        let wanted: BTreeSet<(i32, i32)> = edges
            .iter()
            .filter(|e| e.waiter != e.blocker)
            .map(|e| (e.waiter, e.blocker))
            .collect();
        let g = graph::from_edges(edges);
        prop_assert_eq!(edge_pairs(&g), wanted);
        check_graph(&g)
    });
}

/// The naive count is only a fair oracle if it is right on cases worked by hand.
#[test]
fn the_naive_oracle_counts_by_hand() {
    let pairs: BTreeSet<(i32, i32)> = [(2, 1), (3, 2), (1, 3), (4, 1), (5, 6)].into();
    let t = naive_waiting_totals(&pairs);
    assert_eq!(t.get(&1), Some(&3)); // 2, 3 and 4
    assert_eq!(t.get(&2), Some(&3)); // 3, 1 and 4
    assert_eq!(t.get(&6), Some(&1));
    assert_eq!(t.get(&4), None);
}
