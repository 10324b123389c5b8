//! Real lock incidents staged with real sessions, then read back through the same poll,
//! graph and rules that the binary uses.
mod common;

use common::{TestDb, codes, edge, root_pids};
use pglocks::analysis::Options;
use pglocks::graph::EdgeKind;
use pglocks::stage::migration_pileup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_transaction_blocks_migration_and_readers_queue_behind_it() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 6, false).await.unwrap();
    let opts = Options {
        long_xact_s: 0.0,
        ..Options::default()
    };
    let a = db.analyze_with(&opts).await;

    assert_eq!(
        root_pids(&a),
        vec![p.blocker],
        "only the long transaction is a root"
    );
    assert_eq!(a.graph.waiting_total(p.blocker), 7);
    assert_eq!(a.graph.waiting_total(p.migration), 6);
    let e = edge(&a, p.migration, p.blocker);
    assert_eq!(e.kind, EdgeKind::Holds);
    assert_eq!(e.lock.mode_wanted.as_deref(), Some("AccessExclusiveLock"));
    assert_eq!(e.lock.mode_held.as_deref(), Some("AccessShareLock"));
    assert_eq!(e.lock.relation.as_deref(), Some("public.orders"));
    for &q in &p.queued {
        let e = edge(&a, q, p.migration);
        assert_eq!(e.kind, EdgeKind::QueuedAhead, "pid {q}");
        assert_eq!(
            a.graph.blockers_of(q).count(),
            1,
            "readers wait only on the migration"
        );
    }
    assert!(a.is_migration(p.migration));
    assert!(a.migrations[&p.migration].contains("ALTER TABLE"));
    assert!(!a.is_migration(p.blocker));
    let c = codes(&a);
    for code in [
        "migration_blocked",
        "lock_queue_behind_migration",
        "idle_in_transaction_blocker",
    ] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    let queue = a
        .findings
        .iter()
        .find(|f| f.code == "lock_queue_behind_migration")
        .unwrap();
    assert_eq!(queue.pids.len(), 7, "the migration and the six queued");
    let headline = a.headline();
    assert!(headline.starts_with("MIGRATION BLOCKED"), "{headline}");
    assert!(
        headline.contains(&format!("Root blocker: pid {}", p.blocker)),
        "{headline}"
    );
    assert!(headline.contains("6 sessions queued"), "{headline}");
    // The monitor leaves itself out.
    let me = db.monitor().await;
    let snap = me.poll(Some(&db.dbname)).await.unwrap();
    assert!(snap.sessions.iter().all(|s| s.pid != me.monitor_pid));
    assert!(
        snap.sessions
            .iter()
            .all(|s| s.application_name.as_deref() != Some("pglocks"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_update_blocks_create_index_and_inserts_queue() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage
        .exec("CREATE TABLE orders (id int PRIMARY KEY, customer int, total numeric); INSERT INTO orders SELECT g, g % 10, g FROM generate_series(1, 1000) g;")
        .await
        .unwrap();
    let a = stage.actor("billing-worker").await.unwrap();
    let holder = stage
        .hold(
            a,
            "BEGIN; UPDATE orders SET total = total + 1 WHERE id = 1;",
        )
        .await
        .unwrap();
    let b = stage.actor("deploy").await.unwrap();
    let index = stage.block(b, "CREATE INDEX orders_customer_idx ON orders (customer);");
    stage.wait_for_lock_waits(&[index]).await.unwrap();
    let mut inserts = Vec::new();
    for i in 0..3 {
        let c = stage.actor("checkout-api").await.unwrap();
        inserts.push(stage.block(
            c,
            &format!("INSERT INTO orders VALUES ({}, 1, 1);", 5000 + i),
        ));
    }
    stage.wait_for_lock_waits(&inserts).await.unwrap();

    let a = db.analyze().await;
    assert_eq!(root_pids(&a), vec![holder]);
    let e = edge(&a, index, holder);
    assert_eq!(e.kind, EdgeKind::Holds);
    assert_eq!(e.lock.mode_wanted.as_deref(), Some("ShareLock"));
    assert_eq!(e.lock.mode_held.as_deref(), Some("RowExclusiveLock"));
    for &i in &inserts {
        assert_eq!(edge(&a, i, index).kind, EdgeKind::QueuedAhead);
    }
    assert_eq!(a.graph.waiting_total(holder), 4);
    assert!(a.is_migration(index), "CREATE INDEX counts as a migration");
    let c = codes(&a);
    for code in [
        "migration_blocked",
        "lock_queue_behind_migration",
        "idle_in_transaction_blocker",
        "non_concurrent_index_build",
    ] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    let idle = a
        .findings
        .iter()
        .find(|f| f.code == "idle_in_transaction_blocker")
        .unwrap();
    assert_eq!(idle.pids, vec![holder]);
    assert!(idle.advice.contains("idle_in_transaction_session_timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_deep_row_lock_chain() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage
        .exec("CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 100), (2, 100);")
        .await
        .unwrap();
    let a = stage.actor("app-a").await.unwrap();
    let first = stage
        .hold(
            a,
            "BEGIN; UPDATE accounts SET balance = balance - 1 WHERE id = 1;",
        )
        .await
        .unwrap();
    let b = stage.actor("app-b").await.unwrap();
    let second = stage.block(b, "UPDATE accounts SET balance = balance - 2 WHERE id = 1;");
    stage.wait_for_lock_waits(&[second]).await.unwrap();
    let c = stage.actor("app-c").await.unwrap();
    let third = stage.block(c, "UPDATE accounts SET balance = balance - 3 WHERE id = 1;");
    stage.wait_for_lock_waits(&[third]).await.unwrap();

    let a = db.analyze().await;
    assert_eq!(root_pids(&a), vec![first]);
    assert_eq!(a.graph.waiting_total(first), 2);
    let e = edge(&a, second, first);
    assert_eq!(e.kind, EdgeKind::Holds);
    assert_eq!(e.lock.locktype.as_deref(), Some("transactionid"));
    let e = edge(&a, third, second);
    assert_eq!(e.kind, EdgeKind::Holds);
    assert_eq!(e.lock.locktype.as_deref(), Some("tuple"));
    assert_eq!(a.graph.depth(third), Some(2));
    assert!(
        a.migrations.is_empty(),
        "row locks are no migration: {:?}",
        a.migrations
    );
    let c = codes(&a);
    assert!(c.contains(&"idle_in_transaction_blocker"), "{c:?}");
    assert!(!c.contains(&"migration_blocked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_session_cycle_is_reported_not_looped() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage
        .exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0), (2, 0);")
        .await
        .unwrap();
    let a = stage.actor("left").await.unwrap();
    let b = stage.actor("right").await.unwrap();
    // A long deadlock_timeout keeps the server from breaking the cycle while we look.
    stage
        .run(
            &a,
            "SET deadlock_timeout = '1h'; BEGIN; UPDATE t SET v = 1 WHERE id = 1;",
        )
        .await
        .unwrap();
    stage
        .run(
            &b,
            "SET deadlock_timeout = '1h'; BEGIN; UPDATE t SET v = 2 WHERE id = 2;",
        )
        .await
        .unwrap();
    let left = stage.block(a, "UPDATE t SET v = 1 WHERE id = 2;");
    stage.wait_for_lock_waits(&[left]).await.unwrap();
    let right = stage.block(b, "UPDATE t SET v = 2 WHERE id = 1;");
    stage.wait_for_lock_waits(&[left, right]).await.unwrap();

    let a = db.analyze().await;
    let mut cycle = vec![left, right];
    cycle.sort();
    assert_eq!(a.graph.cycles, vec![cycle.clone()]);
    assert_eq!(a.graph.roots.len(), 1);
    assert!(a.graph.roots[0].in_cycle);
    assert_eq!(a.graph.waiting_total(left), 1);
    assert_eq!(a.graph.waiting_total(right), 1);
    let dl = a
        .findings
        .iter()
        .find(|f| f.code == "deadlock_cycle")
        .unwrap();
    assert_eq!(dl.pids, cycle);
    assert!(a.headline().starts_with("DEADLOCK"), "{}", a.headline());
    // Every renderer terminates on the cycle.
    let md = pglocks::report::markdown::render(&a, &[]);
    assert!(md.contains("DEADLOCK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_contention_at_all() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage
        .exec("CREATE TABLE t (id int); INSERT INTO t VALUES (1);")
        .await
        .unwrap();
    let a = stage.actor("reader").await.unwrap();
    let reader = stage.hold(a, "BEGIN; SELECT * FROM t;").await.unwrap();
    let b = stage.actor("idle").await.unwrap();
    let idle = stage.keep(b);

    let a = db.analyze().await;
    assert!(a.graph.edges.is_empty());
    assert!(a.graph.roots.is_empty());
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert!(a.migrations.is_empty());
    let pids: Vec<i32> = a.snapshot.sessions.iter().map(|s| s.pid).collect();
    assert!(
        pids.contains(&reader) && pids.contains(&idle),
        "client backends are listed: {pids:?}"
    );
    assert!(
        a.headline().starts_with("No lock waits"),
        "{}",
        a.headline()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_transaction_holding_a_lock_is_named() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage
        .exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0);")
        .await
        .unwrap();
    let gid = format!("pglocks-test-{}", db.dbname);
    let p = stage.actor("two-phase").await.unwrap();
    stage
        .run(
            &p,
            &format!("BEGIN; UPDATE t SET v = 1 WHERE id = 1; PREPARE TRANSACTION '{gid}';"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#} (the server needs max_prepared_transactions > 0)"));
    let w = stage.actor("app").await.unwrap();
    let waiter = stage.block(w, "UPDATE t SET v = 2 WHERE id = 1;");
    stage.wait_for_lock_waits(&[waiter]).await.unwrap();

    let a = db.analyze().await;
    assert_eq!(root_pids(&a), vec![0]);
    let prepared = a.session(0).expect("a pseudo-session for pid 0");
    assert_eq!(prepared.application_name.as_deref(), Some(gid.as_str()));
    assert!(prepared.query.as_deref().unwrap_or("").contains(&gid));
    assert_eq!(edge(&a, waiter, 0).kind, EdgeKind::Holds);
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "prepared_transaction_blocker")
        .expect("prepared_transaction_blocker");
    assert!(f.advice.contains(&format!("ROLLBACK PREPARED '{gid}'")));
    stage
        .exec(&format!("ROLLBACK PREPARED '{gid}'"))
        .await
        .unwrap();
}
