//! The migration's lock on a real streaming hot standby (pg_basebackup -R from a throwaway
//! primary): replay waiting on a standby query, standby readers queued behind a replayed
//! lock, and hot_standby_feedback seen from the primary. These always make their own pair
//! of servers, with PGLOCKS_TEST_DSN set or not: an outside server has no standby to test.
mod common;

use std::time::{Duration, Instant};

use pglocks::analysis::{Analysis, Options, analyze};
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{self, Overrides, ProcessEnv};
use pglocks::db::{self, Connection, Signal, SignalOutcome};
use pglocks::diagnose::Finding;

const NO_SERVER: &str = "these tests need PostgreSQL server binaries with pg_basebackup (apt-get install postgresql, or PGLOCKS_PG_BINDIR)";

/// A primary and a hot standby streaming from it; `standby_settings` are the standby's.
async fn pair(standby_settings: &'static [&'static str]) -> (Cluster, Cluster) {
    tokio::task::spawn_blocking(move || {
        let mut primary = Cluster::start(&[]).unwrap_or_else(|e| panic!("{e:#}\n{NO_SERVER}"));
        let standby = primary
            .standby(standby_settings)
            .unwrap_or_else(|e| panic!("{e:#}\n{NO_SERVER}"));
        (primary, standby)
    })
    .await
    .expect("cluster thread")
}

async fn client(c: &Cluster) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&c.dsn("postgres"), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

async fn pid(c: &tokio_postgres::Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

async fn monitor(c: &Cluster) -> Connection {
    let params = conninfo::resolve(Some(&c.dsn("postgres")), &Overrides::default(), &ProcessEnv)
        .expect("dsn parses");
    db::connect(&params, &ProcessEnv)
        .await
        .expect("monitor connects")
}

async fn analysis(m: &Connection) -> Analysis {
    analyze(m.poll(None).await.expect("poll"), &Options::default())
}

/// Polls until `check` holds, or fails with the last analysis.
async fn until(m: &Connection, what: &str, check: impl Fn(&Analysis) -> bool) -> Analysis {
    // Generous: on a loaded two-core machine WAL shipping and replay can lag seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = analysis(m).await;
        if check(&a) {
            return a;
        }
        if Instant::now() > deadline {
            panic!(
                "{what}: not seen within 30 s; replication {:#?}\nfindings {:#?}",
                a.snapshot.replication, a.findings
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the standby has replayed everything the primary has written so far.
async fn caught_up(primary: &tokio_postgres::Client, standby: &tokio_postgres::Client) {
    flush_wal(primary).await;
    let lsn: String = primary
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .await
        .expect("lsn")
        .get(0);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let done: bool = standby
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&lsn],
            )
            .await
            .expect("replay lsn")
            .get(0);
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "the standby did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn found<'a>(a: &'a Analysis, code: &str) -> Option<&'a Finding> {
    a.findings.iter().find(|f| f.code == code)
}

/// A commit with synchronous_commit on flushes the WAL before it, so the walsender ships
/// records (a lock, an uncommitted ALTER) that asynchronous commits would leave buffered.
async fn flush_wal(primary: &tokio_postgres::Client) {
    primary
        .batch_execute("SET synchronous_commit = on; CREATE TEMP TABLE IF NOT EXISTS flush_wal(); DROP TABLE flush_wal;")
        .await
        .expect("flush WAL");
}

#[tokio::test]
async fn replay_waits_on_a_standby_query_then_a_replayed_lock_queues_standby_readers() {
    let (primary_cluster, standby_cluster) = pair(&["max_standby_streaming_delay=5min"]).await;
    let primary = client(&primary_cluster).await;
    let standby = client(&standby_cluster).await;
    primary
        .batch_execute(
            "CREATE TABLE t AS SELECT generate_series(1, 10) AS id; CREATE TABLE u (n int);",
        )
        .await
        .expect("tables");
    caught_up(&primary, &standby).await;
    let m = monitor(&standby_cluster).await;

    // A long transaction on the standby reads t; the migration on the primary commits.
    let reader = client(&standby_cluster).await;
    let reader_pid = pid(&reader).await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM t;")
        .await
        .expect("standby reader");
    primary
        .batch_execute("ALTER TABLE t ADD COLUMN x int")
        .await
        .expect("alter on the primary");

    let a = until(&m, "replay waiting on the reader", |a| {
        found(a, "replay_blocked_by_query").is_some()
    })
    .await;
    let r = a.snapshot.replication.as_ref().expect("replication read");
    assert!(r.in_recovery);
    let wait = r.replay_wait().expect("replay waits");
    assert_eq!(wait.holders, vec![reader_pid]);
    assert_eq!(wait.mode, "AccessExclusiveLock");
    assert_eq!(wait.relation_name.as_deref(), Some("public.t"));
    let f = found(&a, "replay_blocked_by_query").expect("finding");
    assert!(f.pids.contains(&reader_pid), "{f:?}");
    // The headline (and the alarm colour) says it, not only the findings.
    assert!(a.concern().is_alarm(), "{:?}", a.concern());
    assert!(
        a.headline().starts_with("REPLAY BLOCKED")
            && a.headline().contains("AccessExclusiveLock on public.t")
            && a.headline().contains(&format!("pid {reader_pid}")),
        "{}",
        a.headline()
    );
    assert!(f.title.contains("public.t"), "{}", f.title);
    assert!(
        f.advice.contains("max_standby_streaming_delay = 5m00s"),
        "{}",
        f.advice
    );
    assert!(
        f.advice
            .contains(&format!("SELECT pg_cancel_backend({reader_pid})")),
        "{}",
        f.advice
    );
    // The tree shows replay waiting on the reader, though pg_blocking_pids() is empty.
    let startup = wait.pid;
    assert!(
        a.graph
            .edges
            .iter()
            .any(|e| e.waiter == startup && e.blocker == reader_pid),
        "{:?}",
        a.graph.edges
    );

    // One snapshot of both servers (and a third that is down): a document per server,
    // each naming its server; the down one has its error, and the exit status says so.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pglocks"));
    cmd.arg("snapshot")
        .arg(primary_cluster.dsn("postgres"))
        .args([
            "--server",
            &format!("replica={}", standby_cluster.dsn("postgres")),
        ])
        .args([
            "--server",
            &format!("gone=host=127.0.0.1 port={dead} user=postgres connect_timeout=2"),
        ])
        .args(["--format", "json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("thread")
        .expect("run pglocks snapshot");
    assert!(!out.status.success(), "one server was down");
    let docs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let docs = docs.as_array().expect("array");
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!(docs[0]["replication"]["in_recovery"], false);
    assert_eq!(docs[1]["server_name"], "replica");
    assert_eq!(docs[1]["replication"]["in_recovery"], true);
    assert!(
        docs[1]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "replay_blocked_by_query"),
        "{}",
        docs[1]
    );
    assert_eq!(docs[2]["server_name"], "gone");
    assert!(docs[2]["error"].is_string(), "{}", docs[2]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not read gone"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The lag grows while the primary keeps writing.
    let behind = |a: &Analysis| {
        a.snapshot
            .replication
            .as_ref()
            .and_then(|r| r.standby.as_ref())
            .and_then(|s| s.replay_lag_bytes)
            .unwrap_or(0)
    };
    let before = behind(&a);
    primary
        .batch_execute("INSERT INTO u SELECT generate_series(1, 20000)")
        .await
        .expect("writes on the primary");
    flush_wal(&primary).await;
    let later = until(&m, "the lag growing", |l| behind(l) > before + 100_000).await;
    assert!(found(&later, "replay_blocked_by_query").is_some());

    // A second standby reader queues behind the pending replayed lock.
    let queued = client(&standby_cluster).await;
    let queued_pid = pid(&queued).await;
    let read = tokio::spawn(async move { queued.query_one("SELECT count(*) FROM t", &[]).await });
    let a = until(&m, "a reader queued behind replay", |a| {
        found(a, "queries_blocked_by_replay").is_some_and(|f| f.pids.contains(&queued_pid))
    })
    .await;
    let f = found(&a, "queries_blocked_by_replay").expect("finding");
    assert_eq!(f.pids.first(), Some(&startup), "{f:?}");

    // pglocks refuses to signal the startup process, and says why.
    let start = a
        .session(startup)
        .and_then(|s| s.backend_start)
        .expect("the startup process is listed with its start time");
    let outcome = m
        .signal(Signal::Cancel, startup, start)
        .await
        .expect("signal");
    assert!(
        matches!(&outcome, SignalOutcome::Refused(why) if why.contains("startup process")),
        "{outcome:?}"
    );

    // Ending the standby transaction lets replay go on; the queued reader gets its rows.
    standby
        .query_one("SELECT pg_terminate_backend($1)", &[&reader_pid])
        .await
        .expect("terminate the reader");
    let rows = tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("the queued reader finishes once replay goes on")
        .expect("task")
        .expect("the queued reader's query");
    assert_eq!(rows.get::<_, i64>(0), 10);
    let a = until(&m, "replay no longer waiting", |a| {
        found(a, "replay_blocked_by_query").is_none()
    })
    .await;
    assert!(
        a.snapshot
            .replication
            .as_ref()
            .and_then(|r| r.standby.as_ref())
            .is_some_and(|s| s.conflicts_lock == 0),
        "nothing was cancelled by the server: {:?}",
        a.snapshot.replication
    );

    // The reverse: the migration holds its lock, uncommitted, on the primary; the replayed
    // lock is granted to the startup process and standby readers queue behind it.
    let migration = client(&primary_cluster).await;
    migration
        .batch_execute("BEGIN; ALTER TABLE t ADD COLUMN y int;")
        .await
        .expect("migration holds its lock");
    flush_wal(&primary).await;
    let reader = client(&standby_cluster).await;
    let reader_pid = pid(&reader).await;
    let read = tokio::spawn(async move { reader.query_one("SELECT count(*) FROM t", &[]).await });
    let a = until(&m, "a reader queued behind the replayed lock", |a| {
        found(a, "queries_blocked_by_replay").is_some_and(|f| f.pids.contains(&reader_pid))
    })
    .await;
    assert!(
        found(&a, "replay_blocked_by_query").is_none(),
        "{:?}",
        a.findings
    );
    let waiter = a.session(reader_pid).expect("reader listed");
    assert_eq!(waiter.blocked_by, vec![startup]);
    migration.batch_execute("ROLLBACK").await.expect("rollback");
    flush_wal(&primary).await;
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("the reader finishes once the primary rolls back")
        .expect("task")
        .expect("the reader's query");
}

#[tokio::test]
async fn hot_standby_feedback_holding_xmin_is_reported_on_the_primary() {
    let (primary_cluster, standby_cluster) =
        pair(&["hot_standby_feedback=on", "wal_receiver_status_interval=1"]).await;
    let primary = client(&primary_cluster).await;
    let standby = client(&standby_cluster).await;
    primary
        .batch_execute("CREATE TABLE t AS SELECT 1 AS id")
        .await
        .expect("table");
    caught_up(&primary, &standby).await;
    let m = monitor(&primary_cluster).await;

    let a = until(&m, "the standby listed on the primary", |a| {
        a.snapshot
            .replication
            .as_ref()
            .is_some_and(|r| !r.in_recovery && r.downstream.len() == 1)
    })
    .await;
    assert!(
        found(&a, "standby_feedback_holds_xmin").is_none(),
        "an idle standby holds nothing back: {:?}",
        a.findings
    );

    standby
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;")
        .await
        .expect("standby snapshot");
    // Transactions on the primary age the standby's xmin, which its feedback holds.
    primary
        .batch_execute(
            "DO $$ BEGIN FOR i IN 1..10100 LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$",
        )
        .await
        .expect("burn xids");
    let a = until(&m, "the feedback finding", |a| {
        found(a, "standby_feedback_holds_xmin").is_some()
    })
    .await;
    let f = found(&a, "standby_feedback_holds_xmin").expect("finding");
    let link = &a
        .snapshot
        .replication
        .as_ref()
        .expect("replication")
        .downstream[0];
    assert!(link.xmin_age.is_some_and(|age| age >= 10_000), "{link:?}");
    assert!(f.title.contains("127.0.0.1"), "{}", f.title);

    // Once the standby's transaction ends its feedback moves on, and so does the finding.
    standby.batch_execute("COMMIT").await.expect("commit");
    until(&m, "the finding gone", |a| {
        found(a, "standby_feedback_holds_xmin").is_none()
    })
    .await;
}

/// The live view over both servers in a real terminal: the strip names them with their
/// roles and says that replay waits, `2` shows the standby's tree, Tab goes back.
#[tokio::test]
async fn the_strip_shows_both_servers_and_number_keys_switch_the_tree() {
    let (primary_cluster, standby_cluster) = pair(&["max_standby_streaming_delay=5min"]).await;
    let primary = client(&primary_cluster).await;
    let standby = client(&standby_cluster).await;
    primary
        .batch_execute("CREATE TABLE t AS SELECT 1 AS id")
        .await
        .expect("table");
    caught_up(&primary, &standby).await;
    let reader = client(&standby_cluster).await;
    let reader_pid = pid(&reader).await;
    reader
        .batch_execute("SET application_name = 'reports'; BEGIN; SELECT count(*) FROM t;")
        .await
        .expect("standby reader");
    primary
        .batch_execute("ALTER TABLE t ADD COLUMN x int")
        .await
        .expect("alter");

    let cmd = format!(
        "{} 'main={}' --server 'replica={}' --interval 300ms",
        env!("CARGO_BIN_EXE_pglocks"),
        primary_cluster.dsn("postgres"),
        standby_cluster.dsn("postgres")
    );
    let tmux = common::tmux::Tmux::start(&cmd, 160, 20);
    let wait = Duration::from_secs(15);
    tmux.wait_for(
        "the strip with both servers and replay waiting",
        |s| {
            s.contains("1 main primary")
                && s.contains("2 replica standby")
                && s.contains("REPLAY WAITS")
        },
        wait,
    )
    .await;
    tmux.keys("2");
    let standby_port = format!("127.0.0.1:{}", standby_cluster.port);
    let screen = tmux
        .wait_for(
            "the standby's tree",
            |s| s.contains(&standby_port) && s.contains(&reader_pid.to_string()),
            wait,
        )
        .await;
    assert!(screen.contains("reports"), "{screen}");
    assert!(screen.contains("wants AccessExclusive"), "{screen}");
    // The startup process has no application_name and no user: it says what it is.
    assert!(screen.contains("startup (replay)"), "{screen}");
    tmux.keys("Tab");
    let primary_port = format!("127.0.0.1:{}", primary_cluster.port);
    tmux.wait_for(
        "the primary's screen again",
        |s| s.contains(&primary_port),
        wait,
    )
    .await;
    tmux.keys("q");
}
