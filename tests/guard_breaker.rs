//! The breaker's judgement on hand-built snapshots (pure: no server, fixed times).
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::fixture::{ago, client, pileup, waiting};
use pglocks::analysis::{Options, analyze};
use pglocks::guard::backends::{Backend, Method};
use pglocks::guard::breaker::{Action, Limits, Trigger, judge};
use pglocks::model::{Lock, Snapshot};

fn ours(pids: &[i32]) -> BTreeMap<i32, Backend> {
    pids.iter()
        .map(|&pid| {
            (
                pid,
                Backend {
                    pid,
                    backend_start: ago(3600),
                    method: Method::Tcp,
                },
            )
        })
        .collect()
}

fn limits(wait_s: u64, queue: usize) -> Limits {
    Limits {
        max_lock_wait: Duration::from_secs(wait_s),
        max_queue: queue,
        terminate_idle: None,
    }
}

#[test]
fn a_long_wait_is_cancelled_with_everything_the_line_needs() {
    let a = analyze(pileup(), &Options::default());
    let v = judge(&a, &ours(&[4711]), &limits(3, 10));
    assert_eq!(v.len(), 1);
    let v = &v[0];
    assert_eq!(
        (v.action, v.trigger, v.pid),
        (Action::Cancel, Trigger::LockWait, 4711)
    );
    assert_eq!(v.lock.as_deref(), Some("AccessExclusiveLock"));
    assert_eq!(v.relation.as_deref(), Some("public.orders"));
    assert_eq!(
        v.root.as_deref(),
        Some("pid 3020 (metabase, active, xact 25m)")
    );
    assert_eq!(v.queue, 3);
    assert_eq!(v.longest_wait_s, Some(200.0));
    // The threshold was crossed 3 s after the wait began.
    assert_eq!(v.crossed_at, ago(252 - 3));
    assert!(v.reason.contains("--max-lock-wait 3s"), "{}", v.reason);
}

#[test]
fn the_queue_trips_it_before_the_wait_does_and_others_are_never_judged() {
    let a = analyze(pileup(), &Options::default());
    let v = judge(&a, &ours(&[4711]), &limits(3600, 2));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].trigger, Trigger::Queue);
    assert!(
        v[0].reason.contains("3 queued, --max-queue 2"),
        "{}",
        v[0].reason
    );
    assert!(judge(&a, &ours(&[4711]), &limits(3600, 3)).is_empty());
    // Sessions that are not the command's are never judged, however long they wait.
    assert!(judge(&a, &ours(&[]), &limits(1, 0)).is_empty());
    let v = judge(&a, &ours(&[5001]), &limits(1, 0));
    assert_eq!(v.iter().map(|v| v.pid).collect::<Vec<_>>(), vec![5001]);
    assert!(
        judge(&a, &ours(&[3020, 6001]), &limits(1, 0)).is_empty(),
        "not waiting"
    );
}

#[test]
fn an_active_root_is_not_terminated_an_idle_one_only_after_age() {
    let mut snap = pileup();
    let mut l = limits(3600, 100);
    l.terminate_idle = Some(Duration::from_secs(30));
    let a = analyze(snap.clone(), &Options::default());
    assert!(
        judge(&a, &ours(&[4711]), &l).is_empty(),
        "metabase is active"
    );
    // Make the root idle in transaction for 20 s: not yet.
    let root = snap.sessions.iter_mut().find(|s| s.pid == 3020).unwrap();
    root.state = Some("idle in transaction".into());
    root.state_change = ago(20);
    let a = analyze(snap.clone(), &Options::default());
    assert!(judge(&a, &ours(&[4711]), &l).is_empty());
    let root = snap.sessions.iter_mut().find(|s| s.pid == 3020).unwrap();
    root.state_change = ago(45);
    let a = analyze(snap, &Options::default());
    let v = judge(&a, &ours(&[4711]), &l);
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].action, v[0].pid), (Action::Terminate, 3020));
}

#[test]
fn a_concurrent_build_waiting_for_old_snapshots_is_only_reported() {
    let old = client(7001, "report", "idle in transaction", "SELECT 1", 600);
    let vxid = Lock {
        locktype: "virtualxid".into(),
        mode: "ShareLock".into(),
        virtualxid: Some("3/77".into()),
        ..Default::default()
    };
    let mut held = vxid.clone();
    held.mode = "ExclusiveLock".into();
    held.granted = true;
    let mut old = old;
    old.locks.push(held);
    let cic = waiting(
        client(
            7002,
            "psql",
            "active",
            "CREATE INDEX CONCURRENTLY i ON orders (total)",
            120,
        ),
        &[7001],
        vxid,
        120,
    );
    let mut snap: Snapshot = pileup();
    snap.sessions = vec![old, cic];
    let a = analyze(snap, &Options::default());
    let v = judge(&a, &ours(&[7002]), &limits(1, 0));
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        (v[0].action, v[0].trigger),
        (Action::Report, Trigger::OldSnapshots)
    );
    assert!(v[0].reason.contains("INVALID index"));
}
