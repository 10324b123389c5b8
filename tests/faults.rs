//! Faults around the monitor: its backend killed, its database dropped, no free
//! connection slot, a server that stops answering, and a server that makes it wait on a
//! lock. The poller must report each as data and carry on; nothing may hang or crash.
// The whole file is test code, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::TestDb;
use common::bin::pglocks;
use pglocks::analysis::Options;
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{Overrides, ProcessEnv, resolve};
use pglocks::db::{Signal, SignalOutcome};
use pglocks::poller::{self, PollerCommand, PollerConfig, PollerEvent};
use tokio::sync::mpsc::Receiver;

fn config(dsn: &str, database: Option<String>) -> PollerConfig {
    PollerConfig {
        params: resolve(Some(dsn), &Overrides::default(), &ProcessEnv).expect("a valid dsn"),
        interval: Duration::from_millis(200),
        database,
        options: Options::default(),
        redact: false,
        record: None,
        pins: None,
    }
}

/// The next event that `pick` accepts, within `within`; panics with what was seen.
async fn next<T>(
    events: &mut Receiver<PollerEvent>,
    within: Duration,
    mut pick: impl FnMut(&PollerEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                if let Some(t) = pick(&ev) {
                    return t;
                }
                seen.push(format!("{ev:?}").chars().take(200).collect::<String>());
            }
            Ok(None) => panic!("the poller stopped; saw {seen:#?}"),
            Err(_) => panic!("nothing matched within {within:?}; saw {seen:#?}"),
        }
    }
}

fn connected(ev: &PollerEvent) -> Option<i32> {
    match ev {
        PollerEvent::Connected { monitor_pid, .. } => Some(*monitor_pid),
        _ => None,
    }
}

fn polled(ev: &PollerEvent) -> Option<usize> {
    match ev {
        PollerEvent::Polled { analysis, .. } => Some(analysis.snapshot.sessions.len()),
        _ => None,
    }
}

fn failed(ev: &PollerEvent) -> Option<String> {
    match ev {
        PollerEvent::Failed(why) => Some(why.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_backend_terminated_from_outside_reconnects() {
    let db = TestDb::new().await;
    let (mut events, _commands) = poller::spawn(config(&db.dsn(), Some(db.dbname.clone())));
    let first = next(&mut events, Duration::from_secs(10), connected).await;
    next(&mut events, Duration::from_secs(5), polled).await;
    let stage = db.stage().await;
    stage
        .exec(&format!("SELECT pg_terminate_backend({first})"))
        .await
        .unwrap();
    let why = next(&mut events, Duration::from_secs(10), failed).await;
    assert!(!why.is_empty());
    let second = next(&mut events, Duration::from_secs(15), connected).await;
    assert_ne!(first, second, "a new backend");
    next(&mut events, Duration::from_secs(5), polled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitored_database_dropped_is_reported_not_fatal() {
    let db = TestDb::new().await;
    let victim = format!("{}_victim", db.dbname);
    let stage = db.stage().await;
    stage
        .exec(&format!("CREATE DATABASE {victim}"))
        .await
        .unwrap();
    let (mut events, _commands) = poller::spawn(config(&db.dsn_for(&victim), None));
    next(&mut events, Duration::from_secs(10), connected).await;
    next(&mut events, Duration::from_secs(5), polled).await;
    stage
        .exec(&format!("DROP DATABASE {victim} WITH (FORCE)"))
        .await
        .unwrap();
    let why = next(&mut events, Duration::from_secs(15), |ev| {
        failed(ev).filter(|w| w.contains("does not exist"))
    })
    .await;
    assert!(why.contains(&victim), "{why}");
    assert!(!why.contains('\n'), "one line: {why}");
    // It keeps trying, and keeps saying why, without piling up connections.
    next(&mut events, Duration::from_secs(15), failed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_free_connection_slot_is_a_clear_error_then_a_retry() {
    if !common::local_binaries("it sets max_connections on a server of its own") {
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::start(&["max_connections=6", "superuser_reserved_connections=2"])
    })
    .await
    .unwrap()
    .unwrap();
    let admin = cluster.dsn("postgres");
    let setup = pglocks::stage::Stage::new(&admin).await.unwrap();
    setup.exec("CREATE ROLE app LOGIN").await.unwrap();
    let app = format!(
        "host=127.0.0.1 port={} user=app dbname=postgres sslmode=disable",
        cluster.port
    );
    // Four ordinary slots: the superuser setup session, the app stage and two app actors.
    let mut fill = pglocks::stage::Stage::new(&app).await.unwrap();
    for _ in 0..2 {
        let a = fill.actor("filler").await.unwrap();
        fill.keep(a);
    }
    let out = pglocks(["snapshot", app.as_str(), "--format", "json"])
        .run()
        .await;
    let stderr = out.stderr;
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("superuser_reserved_connections"),
        "{stderr}"
    );

    let (mut events, _commands) = poller::spawn(config(&app, None));
    let why = next(&mut events, Duration::from_secs(10), failed).await;
    assert!(why.contains("slot") || why.contains("too many"), "{why}");
    drop(fill);
    next(&mut events, Duration::from_secs(20), connected).await;
    next(&mut events, Duration::from_secs(5), polled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_lock_times_the_poll_out_and_polling_goes_on() {
    let db = TestDb::new().await;
    let (mut events, _commands) = poller::spawn(config(&db.dsn(), Some(db.dbname.clone())));
    next(&mut events, Duration::from_secs(10), connected).await;
    next(&mut events, Duration::from_secs(5), polled).await;
    // A superuser locks a catalog the poll reads: the monitor's lock_timeout must fire
    // instead of the monitor joining the queue.
    let mut stage = db.stage().await;
    let locker = stage.actor("catalog-locker").await.unwrap();
    stage
        .run(
            &locker,
            "BEGIN; LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE;",
        )
        .await
        .unwrap();
    let why = next(&mut events, Duration::from_secs(10), failed).await;
    assert!(why.contains("lock timeout"), "{why}");
    stage.run(&locker, "ROLLBACK").await.unwrap();
    next(&mut events, Duration::from_secs(10), polled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_hits_the_client_deadline() {
    let Some(db) = TestDb::local("it freezes the monitor's backend with SIGSTOP", &[]).await else {
        return;
    };
    let (mut events, _commands) = poller::spawn(config(&db.dsn(), Some(db.dbname.clone())));
    let backend = next(&mut events, Duration::from_secs(10), connected).await;
    next(&mut events, Duration::from_secs(5), polled).await;
    // SIGSTOP freezes the monitor's backend: the server cannot enforce statement_timeout.
    let stop = Command::new("kill")
        .args(["-STOP", &backend.to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let started = Instant::now();
    let why = next(&mut events, Duration::from_secs(15), failed).await;
    let waited = started.elapsed();
    let _ = Command::new("kill")
        .args(["-CONT", &backend.to_string()])
        .status();
    assert!(why.contains("did not answer"), "{why}");
    assert!(waited < Duration::from_secs(10), "gave up after {waited:?}");
    let again = next(&mut events, Duration::from_secs(15), connected).await;
    assert_ne!(again, backend);
    next(&mut events, Duration::from_secs(5), polled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_stays_harmless_under_a_1000_session_pileup() {
    if !common::local_binaries("it sets max_connections=1100 on a server of its own") {
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&["max_connections=1100"]))
        .await
        .unwrap()
        .unwrap();
    let dsn = cluster.dsn("postgres");
    let mut stage = pglocks::stage::Stage::new(&dsn).await.unwrap();
    // 400 queued behind the migration's AccessExclusiveLock request, 600 bystanders.
    let p = pglocks::stage::migration_pileup(&mut stage, 398, false)
        .await
        .unwrap();
    for _ in 0..600 {
        let a = stage.actor("bystander").await.unwrap();
        stage.keep(a);
    }
    let monitor = pglocks::db::connect(
        &resolve(Some(&dsn), &Overrides::default(), &ProcessEnv).unwrap(),
        &ProcessEnv,
    )
    .await
    .unwrap();
    // Ask the server itself, not our filtered view, whether anyone waits on us, and ask
    // while the polls run: between polls an idle autocommit session holds nothing, so a
    // check made then could never fail.
    let polling = std::sync::atomic::AtomicBool::new(true);
    let polls = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let started = Instant::now();
            let snap = monitor.poll(None).await.expect("the poll completes");
            slowest = slowest.max(started.elapsed());
            assert!(
                snap.sessions.len() >= 1000,
                "{} sessions",
                snap.sessions.len()
            );
        }
        polling.store(false, std::sync::atomic::Ordering::SeqCst);
        slowest
    };
    let watch = async {
        let mut during_a_poll = 0;
        while polling.load(std::sync::atomic::Ordering::SeqCst) {
            let row = stage
                .monitor()
                .query_one(
                    "SELECT (SELECT count(*) FROM pg_stat_activity a
                              WHERE a.wait_event_type = 'Lock'
                                AND $1 = ANY(pg_blocking_pids(a.pid))),
                            (SELECT state = 'active' FROM pg_stat_activity WHERE pid = $1)",
                    &[&monitor.monitor_pid],
                )
                .await
                .unwrap();
            let on_us: i64 = row.get(0);
            assert_eq!(on_us, 0, "pglocks appears in someone's blocked_by");
            if row.get::<_, Option<bool>>(1) == Some(true) {
                during_a_poll += 1;
            }
        }
        during_a_poll
    };
    let (slowest, during_a_poll) = tokio::join!(polls, watch);
    assert!(
        during_a_poll > 0,
        "the check never ran while a poll was in progress"
    );
    let a = pglocks::analysis::analyze(monitor.poll(None).await.unwrap(), &Options::default());
    assert_eq!(a.graph.waiting_total(p.blocker), 399);
    // statement_timeout is 3 s; a poll near it would be a failure waiting to happen.
    assert!(slowest < Duration::from_secs(2), "slowest poll {slowest:?}");
    eprintln!(
        "1000 sessions, 399 waiting: slowest of 10 polls {slowest:?}; checked {during_a_poll} times during a poll"
    );
}

/// Issue 13.1: a terminate sent while the server has stopped answering. Before the fix the
/// signal had no client-side deadline and the poller waited for ever: no event, no poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_to_a_frozen_server_is_unknown_and_the_poller_reconnects() {
    let Some(db) = TestDb::local("it freezes the monitor's backend with SIGSTOP", &[]).await else {
        return;
    };
    let mut stage = db.stage().await;
    let target = stage.actor("victim").await.unwrap();
    let backend_start: chrono::DateTime<chrono::Utc> = stage
        .monitor()
        .query_one(
            "SELECT backend_start FROM pg_stat_activity WHERE pid = $1",
            &[&target.pid],
        )
        .await
        .unwrap()
        .get(0);
    let victim = target.pid;
    stage.keep(target);
    let (mut events, commands) = poller::spawn(config(&db.dsn(), Some(db.dbname.clone())));
    let backend = next(&mut events, Duration::from_secs(10), connected).await;
    next(&mut events, Duration::from_secs(5), polled).await;
    let frozen = Frozen::stop(backend);
    commands
        .send(PollerCommand::Signal {
            signal: Signal::Terminate,
            pid: victim,
            backend_start,
        })
        .await
        .unwrap();
    let started = Instant::now();
    let outcome = next(&mut events, Duration::from_secs(12), |ev| match ev {
        PollerEvent::Signalled { outcome, .. } => Some(outcome.clone()),
        _ => None,
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome, SignalOutcome::Unknown, "{}", outcome.describe());
    assert!(
        outcome
            .describe()
            .starts_with("unknown: the server did not answer")
    );
    // It re-opens its connection on its own, while the old backend is still frozen.
    let again = next(&mut events, Duration::from_secs(10), connected).await;
    assert_ne!(again, backend);
    next(&mut events, Duration::from_secs(5), polled).await;
    drop(frozen);
}

/// SIGSTOP on a backend, SIGCONT when dropped, so a failed assertion never leaves a frozen
/// process behind.
struct Frozen(i32);

impl Frozen {
    fn stop(pid: i32) -> Frozen {
        let stop = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(stop.success());
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}
