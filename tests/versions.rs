//! Version-specific SQL, one test per variant, against whatever server the harness starts.
//! `scripts/matrix.sh` runs this file once per major (13 to 18) with PGLOCKS_PG_BINDIR
//! and PGLOCKS_EXPECT_MAJOR set, so each variant meets the versions it was written for.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use chrono::{DateTime, Utc};
use common::TestDb;
use pglocks::db::{Signal, SignalOutcome};
use pglocks::stage::migration_pileup;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

const TERMINATE_PG14: &str = include_str!("../queries/signal_terminate.sql");
const TERMINATE_PG13: &str = include_str!("../queries/signal_terminate_pg13.sql");

async fn client(dsn: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(dsn, NoTls).await.unwrap();
    tokio::spawn(conn);
    c
}

async fn version_num(c: &Client) -> i32 {
    c.query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0)
}

/// A fresh idle session and its (pid, backend_start).
async fn victim(db: &TestDb) -> (Client, i32, DateTime<Utc>) {
    let c = client(&format!("{} application_name=victim", db.dsn())).await;
    let row = c
        .query_one(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    (c, row.get(0), row.get(1))
}

/// Still there a second after the signal (which a terminated backend would not be).
async fn alive(admin: &Client, pid: i32) -> bool {
    !common::gone_within(admin, pid, std::time::Duration::from_secs(1)).await
}

/// The matrix must not pass by testing the machine's 15 six times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_is_the_major_under_test() {
    let db = TestDb::new().await;
    let conn = db.monitor().await;
    let num = conn.server.version_num;
    assert!(num >= 130000, "PostgreSQL 13 or later, got {num}");
    assert!(
        conn.server.version.starts_with(&(num / 10000).to_string()),
        "{} vs {num}",
        conn.server.version
    );
    if let Ok(major) = std::env::var("PGLOCKS_EXPECT_MAJOR") {
        assert_eq!(
            num / 10000,
            major.parse::<i32>().unwrap(),
            "PGLOCKS_EXPECT_MAJOR"
        );
    }
    eprintln!("testing against PostgreSQL {} ({num})", conn.server.version);
}

/// queries/signal_terminate_pg13.sql: no timeout argument, so it runs on every major.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_variant_for_pg13_signals_only_the_same_backend() {
    let db = TestDb::new().await;
    let admin = client(&db.dsn()).await;
    let (_victim, pid, start) = victim(&db).await;

    // A stale backend_start (the pid was reused) signals nothing.
    let stale = start - chrono::Duration::seconds(1);
    let row = admin
        .query_one(TERMINATE_PG13, &[&pid, &stale, &1500i64])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<bool>>(0), None);
    assert!(alive(&admin, pid).await, "a stale start time must not kill");

    let row = admin
        .query_one(TERMINATE_PG13, &[&pid, &start, &1500i64])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<bool>>(0), Some(true));
    assert!(!alive(&admin, pid).await, "pid {pid} should be gone");
}

/// queries/signal_terminate.sql: pg_terminate_backend(pid, timeout) exists from 14 on; on
/// 13 the call must fail as an unknown function, which is why the pg13 variant exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_variant_for_pg14_waits_for_the_exit() {
    let db = TestDb::new().await;
    let admin = client(&db.dsn()).await;
    let (_victim, pid, start) = victim(&db).await;

    let result = admin
        .query_one(TERMINATE_PG14, &[&pid, &start, &1500i64])
        .await;
    if version_num(&admin).await < 140000 {
        let err = result.expect_err("pg_terminate_backend(int, bigint) does not exist on 13");
        assert_eq!(err.code(), Some(&SqlState::UNDEFINED_FUNCTION), "{err}");
        assert!(alive(&admin, pid).await);
        return;
    }
    assert_eq!(result.unwrap().get::<_, Option<bool>>(0), Some(true));
    // With a timeout the server waited for the exit: gone at the first look.
    assert!(
        !common::listed(&admin, pid).await,
        "pid {pid} still listed after a waited terminate"
    );
}

/// The variant the monitor picks from server_version_num works on this server, and the
/// cancel statement (one text for every major) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_picks_a_variant_that_works_here() {
    let db = TestDb::new().await;
    let admin = client(&db.dsn()).await;
    let conn = db.monitor().await;

    let (_a, pid, start) = victim(&db).await;
    let out = conn.signal(Signal::Terminate, pid, start).await.unwrap();
    assert_eq!(out, SignalOutcome::Terminated, "{}", out.describe());
    let out = conn.signal(Signal::Terminate, pid, start).await.unwrap();
    assert_eq!(out, SignalOutcome::AlreadyGone, "{}", out.describe());

    let (b, pid, start) = victim(&db).await;
    // The client comes back from the task so that the session outlives its statement.
    let running = tokio::spawn(async move {
        let r = b.batch_execute("SELECT pg_sleep(30)").await;
        (b, r)
    });
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let state: Option<String> = admin
            .query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        if state.as_deref() == Some("active") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sleep never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let out = conn.signal(Signal::Cancel, pid, start).await.unwrap();
    assert!(
        matches!(&out, SignalOutcome::Cancelled { state_after: Some(s) } if s == "idle"),
        "{out:?}"
    );
    let (_b, result) = running.await.unwrap();
    let err = result.expect_err("the sleep was cancelled");
    assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED), "{err}");
}

/// pg_locks.waitstart exists from 14 on; poll.sql reads it through to_jsonb so the same
/// statement runs on 13, where the wait start falls back to the statement start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_start_comes_from_pg_locks_where_it_exists() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 2, false).await.unwrap();
    let conn = db.monitor().await;
    let snap = conn.poll(Some(&db.dbname)).await.unwrap();
    let m = snap.sessions.iter().find(|s| s.pid == p.migration).unwrap();
    let awaited = m.awaited_lock().expect("the migration waits for a lock");
    assert_eq!(awaited.mode, "AccessExclusiveLock");
    if conn.server.version_num >= 140000 {
        let ws = awaited.waitstart.expect("waitstart on 14+");
        assert!(
            ws >= m.query_start.unwrap(),
            "the wait began after the statement"
        );
        assert_eq!(m.wait_start(), Some(ws));
    } else {
        assert_eq!(awaited.waitstart, None, "13 has no pg_locks.waitstart");
        assert_eq!(m.wait_start(), m.query_start);
    }
}

/// queries/replication.sql reads the walsender function and each walsender's activity row
/// directly (not the pg_stat_replication view). The poll treats a failed replication read as
/// unknown, so only this check shows that the statement runs on every major.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replication_read_runs_here() {
    let db = TestDb::new().await;
    let conn = db.monitor().await;
    let snap = conn.poll(None).await.unwrap();
    let r = snap
        .replication
        .expect("replication.sql ran: a primary with no standby reads one row");
    assert!(!r.in_recovery);
    assert!(r.downstream.is_empty(), "{:?}", r.downstream);
}
