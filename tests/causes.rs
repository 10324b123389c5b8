//! The causes the classic runbook misses, each staged on a real server and read back
//! through the poll, the rules, the reports and the screen.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::bin::{Run, pglocks};
use common::{TestDb, codes};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::analysis::Analysis;
use pglocks::db::Privileges;
use pglocks::diagnose::Finding;
use pglocks::poller::PollerEvent;
use pglocks::report::{self, Format};
use pglocks::stage::causes;
use pglocks::tui::state::State;
use pglocks::tui::update::{Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn finding<'a>(a: &'a Analysis, code: &str) -> &'a Finding {
    a.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} among {:?}", codes(a)))
}

/// The screen with the details of `pid` open, as text.
fn details_screen(a: Analysis, pid: i32) -> String {
    let now = a.snapshot.taken_at;
    let mut s = State::new("test".into(), false, PathBuf::from("."), 60.0);
    update(
        &mut s,
        Msg::Poller(PollerEvent::Connected {
            target: "test".into(),
            privileges: Privileges {
                role: "postgres".into(),
                is_superuser: true,
                can_read_all_stats: true,
                can_signal: true,
            },
            monitor_pid: 0,
        }),
        now,
    );
    update(
        &mut s,
        Msg::Poller(PollerEvent::Polled {
            analysis: Box::new(a),
            latency: Duration::from_millis(1),
        }),
        now,
    );
    s.selected = Some(pid);
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        now,
    );
    let mut t = Terminal::new(TestBackend::new(200, 60)).unwrap();
    t.draw(|f| view::draw(f, &s, now)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The same cause in every form a person or a script reads it.
fn named_everywhere(a: &Analysis, code: &str, pid: i32) {
    let json = report::render(Format::Json, a, &[]).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == code && f["pids"][0] == pid),
        "{code} for pid {pid} missing from the JSON findings"
    );
    let md = report::render(Format::Markdown, a, &[]).unwrap();
    assert!(
        md.contains(&format!("`{code}`")),
        "{code} missing from:\n{md}"
    );
    let screen = details_screen(a.clone(), pid);
    assert!(
        screen.contains(code),
        "{code} missing from the details of {pid}:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anti_wraparound_autovacuum_holds_the_migration_past_deadlock_timeout() {
    let db = TestDb::with_settings(causes::WRAPAROUND_SETTINGS).await;
    assert!(
        db.cluster().is_some(),
        "this test needs autovacuum_naptime = 1, which only the throwaway cluster sets (unset PGLOCKS_TEST_DSN)"
    );
    let started = std::time::Instant::now();
    let mut stage = db.stage().await;
    let w = causes::wraparound(&mut stage, 20_000).await.unwrap();
    eprintln!("wraparound staged in {:?}", started.elapsed());
    // Past deadlock_timeout (1s): an ordinary autovacuum would have been cancelled by now.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let a = db.analyze().await;

    assert_eq!(
        a.snapshot
            .sessions
            .iter()
            .find(|s| s.pid == w.migration)
            .unwrap()
            .blocked_by,
        vec![w.worker]
    );
    let f = finding(&a, "autovacuum_wraparound_blocker");
    assert_eq!(f.pids[0], w.worker);
    assert!(f.pids.contains(&w.migration), "{:?}", f.pids);
    assert!(f.title.contains("public.frozen"), "{}", f.title);
    assert!(f.title.contains("the migration among them"), "{}", f.title);
    assert!(
        f.title.contains("autovacuum_freeze_max_age 100,000")
            || f.title.contains("autovacuum_freeze_max_age 100k"),
        "{}",
        f.title
    );
    assert!(
        f.advice.contains("futile") && f.advice.contains("Do not disable autovacuum"),
        "{}",
        f.advice
    );
    assert!(
        f.advice.contains("from 16 a running worker picks that up")
            == (a.snapshot.server.version_num >= 160_000),
        "{}",
        f.advice
    );
    assert_eq!(
        f.advice.contains("pg_signal_autovacuum_worker"),
        a.snapshot.server.version_num >= 180_000,
        "{}",
        f.advice
    );
    assert!(!codes(&a).contains(&"autovacuum_not_yielding"));
    assert!(!codes(&a).contains(&"long_transaction_blocker"));

    let worker = a.session(w.worker).unwrap();
    let p = worker
        .progress
        .as_ref()
        .expect("the worker's vacuum progress");
    assert!(p.command == "VACUUM" || p.command == "ANALYZE", "{p:?}");
    assert_eq!(p.freeze_max_age, Some(100_000));
    assert!(p.xid_age.unwrap() > 100_000, "{p:?}");
    assert_eq!(p.deadlock_timeout_ms, Some(1000));
    assert!(
        f.advice.contains("Progress: VACUUM public.frozen") || p.command == "ANALYZE",
        "{}",
        f.advice
    );

    let headline = a.headline();
    assert!(
        headline.contains("autovacuum to prevent wraparound"),
        "{headline}"
    );
    named_everywhere(&a, "autovacuum_wraparound_blocker", w.worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tools_advisory_lock_is_named_with_its_holder() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let locks = causes::tool_locks(&mut stage, &db.dbname).await.unwrap();
    let opts = pglocks::analysis::Options {
        long_xact_s: 0.0,
        ..Default::default()
    };
    // The idle holders' state_change must be in the past for an age to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = db.analyze_with(&opts).await;
    for l in &locks {
        let tool_findings: Vec<&Finding> = a
            .findings
            .iter()
            .filter(|f| {
                f.code == "migration_tool_lock"
                    && f.title.contains(&format!("{}'s migration lock", l.tool))
            })
            .collect();
        match l.waiter {
            Some(w) => {
                let f = tool_findings
                    .iter()
                    .find(|f| f.pids == vec![w, l.holder])
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: no finding for waiter {w} and holder {}: {:?}",
                            l.tool, l.holder, a.findings
                        )
                    });
                assert!(
                    f.title.contains(&format!("held by pid {}", l.holder)),
                    "{}",
                    f.title
                );
                assert!(f.title.contains("idle for"), "{}", f.title);
                assert!(f.title.contains("client seems gone"), "{}", f.title);
                assert!(
                    f.advice
                        .contains(&format!("pg_terminate_backend({})", l.holder)),
                    "{}",
                    f.advice
                );
                named_everywhere(&a, "migration_tool_lock", w);
            }
            None => {
                let f = tool_findings
                    .iter()
                    .find(|f| f.pids == vec![l.holder])
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: no finding for holder {}: {:?}",
                            l.tool, l.holder, a.findings
                        )
                    });
                let state = if l.tool == "Flyway" {
                    "idle in transaction for"
                } else {
                    "idle for"
                };
                assert!(f.title.contains(state), "{}", f.title);
            }
        }
    }
    assert!(
        !codes(&a).contains(&"advisory_lock_wait"),
        "{:?}",
        a.findings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_advisory_key_is_shown_with_the_key() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let h = stage.actor("worker").await.unwrap();
    let holder = stage
        .hold(h, "SELECT pg_advisory_lock(4242);")
        .await
        .unwrap();
    let w = stage.actor("worker").await.unwrap();
    let waiter = stage.block(w, "SELECT pg_advisory_lock(4242);");
    stage.wait_for_lock_waits(&[waiter]).await.unwrap();
    let a = db.analyze().await;
    let f = finding(&a, "advisory_lock_wait");
    assert_eq!(f.pids, vec![waiter, holder]);
    assert!(f.title.contains("advisory lock 4242"), "{}", f.title);
    assert!(!codes(&a).contains(&"migration_tool_lock"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_build_waits_for_an_idle_transaction_that_never_touched_the_table() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let w = causes::cic_snapshot(&mut stage).await.unwrap();
    let a = db.analyze().await;
    let f = finding(&a, "concurrent_build_waiting_for_snapshots");
    assert_eq!(f.pids, vec![w.build, w.idle]);
    assert!(f.title.contains("waiting for old snapshots"), "{}", f.title);
    assert!(
        f.title.contains(&format!(
            "pid {} (nightly-report, idle in transaction",
            w.idle
        )),
        "{}",
        f.title
    );
    assert!(
        f.advice.contains("need not touch the table"),
        "{}",
        f.advice
    );
    assert!(
        f.advice
            .contains(&format!("pg_terminate_backend({})", w.idle)),
        "{}",
        f.advice
    );
    let p = a.session(w.build).unwrap().progress.as_ref().unwrap();
    assert_eq!(p.command, "CREATE INDEX CONCURRENTLY");
    assert_eq!(p.current_locker_pid, Some(w.idle));
    // The idle session holds no lock on the table at all.
    let idle = a.session(w.idle).unwrap();
    assert!(
        idle.locks
            .iter()
            .all(|l| l.relation_name.as_deref() != Some("public.cic_orders"))
    );
    named_everywhere(&a, "concurrent_build_waiting_for_snapshots", w.build);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_index_build_shows_phase_progress_rate_and_eta() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let r = causes::slow_index_build(&mut stage, 3000).await.unwrap();
    let conn = db.monitor().await;
    let mut tracker = pglocks::model::ProgressTracker::default();
    // Until two polls in a row see the counter move (PostgreSQL 17 was seen restarting it
    // once early in the phase).
    let mut first = conn.poll(Some(&db.dbname)).await.unwrap();
    tracker.update(&mut first);
    let mut second = first.clone();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        first = second;
        second = conn.poll(Some(&db.dbname)).await.unwrap();
        tracker.update(&mut second);
        let done = |s: &pglocks::model::Snapshot| {
            s.sessions
                .iter()
                .find(|s| s.pid == r.build)
                .and_then(|s| s.progress.as_ref())
                .and_then(|p| p.done)
        };
        if done(&second) > done(&first) {
            break;
        }
    }
    let p0 = first
        .sessions
        .iter()
        .find(|s| s.pid == r.build)
        .unwrap()
        .progress
        .clone()
        .unwrap();
    let p1 = second
        .sessions
        .iter()
        .find(|s| s.pid == r.build)
        .unwrap()
        .progress
        .clone()
        .unwrap();
    assert_eq!(p1.command, "CREATE INDEX");
    assert_eq!(p1.phase, "building index: scanning table");
    assert_eq!(p1.relation.as_deref(), Some("public.big_orders"));
    assert_eq!(p1.unit, "blocks");
    assert!(p1.done > p0.done, "{p0:?} then {p1:?}");
    assert!(p1.rate_per_s.unwrap() > 0.0 && p1.eta_s.is_some(), "{p1:?}");
    let a = pglocks::analysis::analyze(second, &Default::default());
    let headline = a.headline();
    assert!(
        headline.contains(&format!("Root blocker: pid {}", r.build))
            && headline.contains("CREATE INDEX public.big_orders: building index: scanning table")
            && headline.contains("ETA"),
        "{headline}"
    );
    let json = report::render(Format::Json, &a, &[]).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let s = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["pid"] == r.build)
        .unwrap();
    assert_eq!(s["progress"]["phase"], "building index: scanning table");
    assert!(s["progress"]["eta_s"].is_number());
    // A recording line is this document: replay reads the progress back.
    let back: pglocks::report::json::SnapshotDoc = serde_json::from_str(&json).unwrap();
    let replayed = back
        .sessions
        .iter()
        .find(|d| d.session.pid == r.build)
        .unwrap();
    assert_eq!(
        replayed.session.progress.as_ref(),
        a.session(r.build).unwrap().progress.as_ref()
    );
    let md = report::render(Format::Markdown, &a, &[]).unwrap();
    assert!(
        md.contains("CREATE INDEX public.big\\_orders: building index: scanning table"),
        "{md}"
    );
    let screen = details_screen(a, r.build);
    assert!(
        screen.contains("progress: CREATE INDEX public.big_orders"),
        "{screen}"
    );
    assert!(r.writer > 0);
}

/// The real binary, as a deploy pipeline or an engineer runs it.
fn run(args: &[&str]) -> Run {
    pglocks(args.iter().copied()).run_blocking()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_liquibase_and_knex_lock_rows_are_reported_with_the_statement_that_clears_them() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    causes::stale_lock_rows(&mut stage).await.unwrap();
    let dsn = db.dsn();
    let clear = "UPDATE public.databasechangeloglock SET locked = false, lockgranted = NULL, lockedby = NULL WHERE id = 1;";

    // Opt-in for snapshot: without the flag the table is not read.
    let plain = run(&["snapshot", &dsn, "-f", "json"]);
    assert!(plain.status.success(), "{}", plain.stderr);
    assert!(!plain.stdout.contains("stale_migration_lock_row"));
    let out = run(&["snapshot", &dsn, "-f", "json", "--check-tool-locks"]);
    assert!(out.status.success(), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["code"] == "stale_migration_lock_row"
                && f["title"].as_str().unwrap().starts_with("Liquibase")
        })
        .unwrap_or_else(|| panic!("{doc}"));
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains(
            "Liquibase's lock row in public.databasechangeloglock is set by deploy-7f9c (10.1.2.3)"
        ),
        "{title}"
    );
    assert!(
        title.contains("(2h00m ago)") || title.contains("(1h59m ago)"),
        "{title}"
    );
    assert!(f["advice"].as_str().unwrap().contains(clear), "{f}");
    let knex = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["code"] == "stale_migration_lock_row"
                && f["title"].as_str().unwrap().starts_with("Knex")
        })
        .unwrap_or_else(|| panic!("{doc}"));
    assert!(
        knex["title"]
            .as_str()
            .unwrap()
            .contains("deploy.knex_migrations_lock is set (Knex records no time)"),
        "{knex}"
    );
    assert!(
        knex["advice"]
            .as_str()
            .unwrap()
            .contains("UPDATE deploy.knex_migrations_lock SET is_locked = 0;"),
        "{knex}"
    );
    let redacted = run(&[
        "snapshot",
        &dsn,
        "-f",
        "json",
        "--check-tool-locks",
        "--redact",
    ]);
    let redacted = redacted.stdout;
    assert!(
        redacted.contains("stale_migration_lock_row") && !redacted.contains("10.1.2.3"),
        "{redacted}"
    );
    let md = run(&["snapshot", &dsn, "-f", "markdown", "--check-tool-locks"]);
    assert!(md.stdout.contains("`stale_migration_lock_row`"));

    // Preflight closes the gate on it.
    let pre = run(&[
        "preflight",
        &dsn,
        "-c",
        "ALTER TABLE databasechangeloglock ADD COLUMN note text",
        "-f",
        "json",
    ]);
    assert_eq!(pre.status.code(), Some(2), "{}", pre.stderr);
    let report: serde_json::Value = serde_json::from_str(&pre.stdout).unwrap();
    assert!(
        report["advice"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "stale_migration_lock_row"
                && a["message"].as_str().unwrap().contains(clear)),
        "{report}"
    );

    // Never cleared by pglocks.
    let locked: bool = stage
        .monitor()
        .query_one("SELECT locked FROM databasechangeloglock", &[])
        .await
        .unwrap()
        .get(0);
    assert!(locked);
}

/// An autovacuum worker on public.orders that the flyway ALTER has waited on for `wait_s`.
fn autovacuum_fixture(query: &str, wait_s: i64, version_num: i32) -> pglocks::model::Snapshot {
    use common::fixture::{client, orders_lock, pileup, waiting};
    let mut snap = pileup();
    snap.server.version_num = version_num;
    snap.server.version = format!("{}.2", version_num / 10000);
    let mut worker = client(3100, "", "active", query, 40);
    worker.user = None;
    worker.application_name = None;
    worker.client_addr = None;
    worker.backend_type = Some("autovacuum worker".into());
    worker
        .locks
        .push(orders_lock("ShareUpdateExclusiveLock", true));
    worker.progress = Some(Box::new(pglocks::model::Progress {
        command: "VACUUM".into(),
        phase: "scanning heap".into(),
        relation: Some("public.orders".into()),
        unit: "blocks".into(),
        done: Some(6_250),
        total: Some(25_000),
        xid_age: Some(210_000_000),
        freeze_max_age: Some(200_000_000),
        deadlock_timeout_ms: Some(1000),
        rate_per_s: Some(125.0),
        eta_s: Some(150.0),
        ..Default::default()
    }));
    let migration = waiting(
        client(
            4711,
            "flyway",
            "active",
            "ALTER TABLE orders ADD COLUMN region int",
            wait_s,
        ),
        &[3100],
        orders_lock("AccessExclusiveLock", false),
        wait_s,
    );
    snap.sessions.retain(|s| s.pid != 3020 && s.pid != 4711);
    snap.sessions.insert(0, worker);
    snap.sessions.insert(1, migration);
    snap
}

#[test]
fn an_ordinary_autovacuum_is_odd_only_once_deadlock_timeout_has_passed() {
    let opts = pglocks::analysis::Options::default();
    let q = "autovacuum: VACUUM public.orders";
    let early = pglocks::analysis::analyze(autovacuum_fixture(q, 2, 150018), &opts);
    assert!(
        !codes(&early).contains(&"autovacuum_not_yielding"),
        "{:?}",
        codes(&early)
    );
    let late = pglocks::analysis::analyze(autovacuum_fixture(q, 30, 150018), &opts);
    let f = finding(&late, "autovacuum_not_yielding");
    assert_eq!(f.pids, vec![3100]);
    assert!(
        f.title.contains("longer than deadlock_timeout (1s)"),
        "{}",
        f.title
    );
    assert!(!codes(&late).contains(&"autovacuum_wraparound_blocker"));
    assert!(!codes(&late).contains(&"long_transaction_blocker"));
}

#[test]
fn view_wraparound_details_on_18() {
    let snap = autovacuum_fixture(
        "autovacuum: VACUUM public.orders (to prevent wraparound)",
        30,
        180002,
    );
    let a = pglocks::analysis::analyze(snap, &Default::default());
    let mut s = State::new(
        "app@db.internal:5432/shop".into(),
        false,
        PathBuf::from("."),
        60.0,
    );
    let now = a.snapshot.taken_at;
    update(
        &mut s,
        Msg::Poller(PollerEvent::Polled {
            analysis: Box::new(a),
            latency: Duration::from_millis(3),
        }),
        now,
    );
    s.selected = Some(3100);
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        now,
    );
    let mut t = Terminal::new(TestBackend::new(120, 34)).unwrap();
    t.draw(|f| view::draw(f, &s, now)).unwrap();
    insta::assert_snapshot!(t.backend());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vacuum_full_shows_its_phase_while_readers_queue_behind_it() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let r = causes::vacuum_full(&mut stage, 4000).await.unwrap();
    let a = db.analyze().await;
    let p = a
        .session(r.build)
        .unwrap()
        .progress
        .clone()
        .expect("VACUUM FULL progress");
    assert_eq!(p.command, "VACUUM FULL");
    assert_eq!(p.relation.as_deref(), Some("public.vf_orders"));
    assert!(
        [
            "seq scanning heap",
            "writing new heap",
            "rebuilding index",
            "sorting tuples"
        ]
        .contains(&p.phase.as_str()),
        "{p:?}"
    );
    assert_eq!(a.session(r.writer).unwrap().blocked_by, vec![r.build]);
    let headline = a.headline();
    assert!(
        headline.contains("VACUUM FULL public.vf_orders: "),
        "{headline}"
    );
    let md = report::render(Format::Markdown, &a, &[]).unwrap();
    assert!(md.contains("VACUUM FULL public.vf\\_orders: "), "{md}");
}
