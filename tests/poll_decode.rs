//! The poll returns locks as plain rows after the sessions' rows (cheaper for the server than
//! a JSON object per lock). Decoded, they must say exactly what pg_locks says, read here the
//! old way, as JSON, on a staged pile-up with relation, transaction, tuple and advisory locks.
mod common;

use std::collections::HashSet;

use common::TestDb;
use pglocks::model::Lock;
use pglocks::stage::migration_pileup;
use tokio_postgres::types::Json;

const LOCKS_AS_JSON: &str = "
SELECT coalesce(l.pid, 0) AS pid,
       json_agg(json_build_object(
           'locktype', l.locktype, 'mode', l.mode, 'granted', l.granted,
           'database', l.database::int8, 'relation', l.relation::int8,
           'relation_name', CASE
               WHEN c.oid IS NOT NULL THEN quote_ident(n.nspname) || '.' || quote_ident(c.relname)
               WHEN l.relation IS NOT NULL THEN 'db ' || coalesce(d.datname::text, l.database::text) || ', oid ' || l.relation
           END,
           'page', l.page, 'tuple', l.tuple, 'virtualxid', l.virtualxid,
           'transactionid', l.transactionid::text, 'classid', l.classid::int8,
           'objid', l.objid::int8, 'objsubid', l.objsubid,
           'waitstart', to_jsonb(l) -> 'waitstart',
           'reltuples', c.reltuples, 'relpages', c.relpages)) AS locks
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
     AND (l.database = 0 OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_database d ON d.oid = l.database
WHERE l.pid = ANY($1)
GROUP BY coalesce(l.pid, 0)";

fn sorted(locks: &[Lock]) -> Vec<String> {
    let mut v: Vec<String> = locks.iter().map(|l| format!("{l:?}")).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_rows_decode_to_what_pg_locks_says() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 3, false).await.unwrap();
    // A row-lock chain (transactionid and tuple locks) and an advisory lock wait.
    stage
        .exec("CREATE TABLE accounts (id int PRIMARY KEY, v int); INSERT INTO accounts VALUES (1, 0);")
        .await
        .unwrap();
    let a = stage.actor("billing").await.unwrap();
    let holder = stage
        .hold(
            a,
            "BEGIN; UPDATE accounts SET v = v + 1 WHERE id = 1; SELECT pg_advisory_lock(7);",
        )
        .await
        .unwrap();
    let mut chain = Vec::new();
    for sql in [
        "UPDATE accounts SET v = v + 1 WHERE id = 1",
        "UPDATE accounts SET v = v + 1 WHERE id = 1",
        "SELECT pg_advisory_lock(7)",
    ] {
        let a = stage.actor("billing").await.unwrap();
        let pid = stage.block(a, sql);
        stage.wait_for_lock_waits(&[pid]).await.unwrap();
        chain.push(pid);
    }

    let conn = db.monitor().await;
    let snap = conn.poll(Some(&db.dbname)).await.unwrap();
    let mut involved = vec![p.blocker, p.migration, holder];
    involved.extend(&p.queued);
    involved.extend(&chain);

    let (client, task) = tokio_postgres::connect(&db.dsn(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(task);
    let rows = client.query(LOCKS_AS_JSON, &[&involved]).await.unwrap();
    assert_eq!(
        rows.len(),
        involved.len(),
        "every staged session holds locks"
    );
    let mut locktypes = HashSet::new();
    for row in rows {
        let pid: i32 = row.get("pid");
        let Json(want): Json<Vec<Lock>> = row.get("locks");
        let s = snap
            .sessions
            .iter()
            .find(|s| s.pid == pid)
            .unwrap_or_else(|| panic!("pid {pid} is not in the poll"));
        assert_eq!(sorted(&s.locks), sorted(&want), "locks of pid {pid}");
        locktypes.extend(want.iter().map(|l| l.locktype.clone()));
        let awaited = s.awaited_lock();
        if chain.contains(&pid) || pid == p.migration {
            let awaited = awaited.expect("it waits");
            assert_eq!(
                awaited.waitstart.is_some(),
                conn.server.version_num >= 140000,
                "waitstart of pid {pid}"
            );
        }
    }
    for t in [
        "relation",
        "transactionid",
        "tuple",
        "advisory",
        "virtualxid",
    ] {
        assert!(locktypes.contains(t), "no {t} lock staged: {locktypes:?}");
    }
}

/// The PostgreSQL 13 text (waitstart through to_jsonb) and the 14+ text (the column) must
/// return the same rows; CI's server runs both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_poll_texts_read_the_same_wait_starts() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 2, false).await.unwrap();
    let (client, task) = tokio_postgres::connect(&db.dsn(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(task);
    let mut results = Vec::new();
    for version in [130_000, 150_000] {
        let sql = pglocks::db::poll_statement(version);
        let rows = client.query(sql.as_ref(), &[&db.dbname]).await.unwrap();
        let mut waits: Vec<(i32, String, Option<chrono::DateTime<chrono::Utc>>)> = rows
            .iter()
            .filter_map(|r| {
                let locktype: Option<String> = r.get("lock_locktype");
                let mode: Option<String> = r.get("lock_mode");
                Some((
                    r.get("pid"),
                    locktype? + "/" + &mode?,
                    r.get("lock_waitstart"),
                ))
            })
            .collect();
        waits.sort();
        results.push(waits);
    }
    assert_eq!(results[0], results[1]);
    let migration_waits = results[1]
        .iter()
        .filter(|(pid, _, ws)| *pid == p.migration && ws.is_some())
        .count();
    assert_eq!(
        migration_waits, 1,
        "the migration's awaited lock has its wait start"
    );
}

/// A session holding more locks than the poll lists (advisory locks taken in a loop): its
/// list is capped and says how many more it holds, and the one lock another session waits
/// for is still listed, deep in the list as it is, so the wait edge still says what is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_many_locks_is_capped_and_the_graph_still_holds() {
    use pglocks::analysis::{Options, analyze};
    use pglocks::db::LOCKS_LISTED_PER_SESSION;

    const HELD: u64 = 1_000;
    const AWAITED_KEY: i64 = 777;
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let a = stage.actor("bulk-importer").await.unwrap();
    let holder = stage
        .hold(
            a,
            &format!("SELECT count(pg_advisory_lock(g)) FROM generate_series(1, {HELD}) g;"),
        )
        .await
        .unwrap();
    let a = stage.actor("worker").await.unwrap();
    let waiter = stage.block(a, &format!("SELECT pg_advisory_lock({AWAITED_KEY})"));
    stage.wait_for_lock_waits(&[waiter]).await.unwrap();

    let conn = db.monitor().await;
    let snap = conn.poll(Some(&db.dbname)).await.unwrap();
    let s = snap.sessions.iter().find(|s| s.pid == holder).unwrap();
    assert_eq!(
        s.locks.len() as u64,
        LOCKS_LISTED_PER_SESSION + 1,
        "the cap plus the awaited lock"
    );
    assert_eq!(s.locks.len() as u64 + s.locks_unlisted, HELD);
    assert!(
        s.locks
            .iter()
            .any(|l| l.granted && l.objid == Some(AWAITED_KEY)),
        "the awaited advisory lock is listed"
    );
    let w = snap.sessions.iter().find(|s| s.pid == waiter).unwrap();
    assert_eq!(w.locks_unlisted, 0);

    let a = analyze(snap, &Options::default());
    let edge = a
        .graph
        .edges
        .iter()
        .find(|e| e.waiter == waiter)
        .expect("the waiter has an edge");
    assert_eq!(edge.blocker, holder);
    assert_eq!(edge.lock.mode_held.as_deref(), Some("ExclusiveLock"));

    let doc = serde_json::to_value(pglocks::report::json::document(&a, &[])).unwrap();
    let session = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["pid"] == holder)
        .unwrap();
    assert_eq!(
        session["locks_unlisted"],
        HELD - LOCKS_LISTED_PER_SESSION - 1
    );
    let md = pglocks::report::markdown::render(&a, &[]);
    assert!(
        md.contains(&format!("holds {HELD} locks, 201 listed")),
        "the Markdown says the list is capped:\n{md}"
    );
}
