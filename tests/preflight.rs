//! `pglocks preflight` against real PostgreSQL, run as a deploy pipeline runs it: the real
//! binary, its exit code (0 go, 2 not now, 1 error) and its `pglocks.preflight/1` JSON.
// The whole file is test code, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestDb;
use common::bin::pglocks;
use pglocks::stage::{Stage, migration_pileup};
use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Runs the binary off the test's runtime, so the staged sessions keep running, with the
/// caller's PG* variables and ~/.pgpass kept out.
async fn preflight(args: &[&str]) -> Out {
    let run = pglocks(std::iter::once("preflight").chain(args.iter().copied()))
        .run()
        .await;
    Out {
        code: run.status.code().unwrap_or(-1),
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

async fn json(db: &TestDb, sql: &str, extra: &[&str]) -> (i32, Value) {
    let dsn = db.dsn();
    let mut args = vec![dsn.as_str(), "-c", sql, "--format", "json"];
    args.extend_from_slice(extra);
    let out = preflight(&args).await;
    assert!(
        out.code == 0 || out.code == 2,
        "exit {}: {}",
        out.code,
        out.stderr
    );
    (out.code, out.json())
}

const SCHEMA: &str =
    "CREATE TABLE orders (id bigserial PRIMARY KEY, customer int NOT NULL, total numeric NOT NULL);
     INSERT INTO orders (customer, total) SELECT g % 500, g FROM generate_series(1, 20000) g;
     CREATE TABLE jobs (id int PRIMARY KEY, done bool);
     INSERT INTO jobs SELECT g, false FROM generate_series(1, 100) g;
     ANALYZE orders; ANALYZE jobs;";

fn blockers(report: &Value, statement: usize) -> Vec<(i64, String, String)> {
    report["statements"][statement]["locks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["blockers"].as_array().unwrap().clone())
        .map(|b| {
            (
                b["pid"].as_i64().unwrap(),
                b["kind"].as_str().unwrap().to_string(),
                b["mode"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn advice_codes(report: &Value) -> Vec<String> {
    report["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_gone(stage: &Stage, pid: i32) {
    assert!(
        common::gone_within(stage.monitor(), pid, Duration::from_secs(5)).await,
        "pid {pid} never went away"
    );
}

#[tokio::test]
async fn a_long_transaction_on_orders_closes_the_gate_until_it_ends() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage.exec(SCHEMA).await.unwrap();
    let reader = stage.actor("metabase").await.unwrap();
    let reader_pid = reader.pid;
    stage
        .run(&reader, "BEGIN; SELECT count(*) FROM orders;")
        .await
        .unwrap();
    let sql = "ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0";

    let (code, report) = json(&db, sql, &[]).await;
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["format"], "pglocks.preflight/1");
    assert_eq!(report["verdict"], "fail");
    let lock = &report["statements"][0]["locks"][0];
    assert_eq!(lock["mode"], "AccessExclusiveLock");
    assert_eq!(lock["relation"], "public.orders");
    assert_eq!(lock["work"], "none", "a constant default is stored once");
    let rows = lock["rows"].as_f64().unwrap();
    assert!(
        (19_000.0..=21_000.0).contains(&rows),
        "pg_class estimate: {rows}"
    );
    assert_eq!(
        blockers(&report, 0),
        vec![(
            i64::from(reader_pid),
            "holds".into(),
            "AccessShareLock".into()
        )]
    );
    let b = &lock["blockers"][0];
    assert_eq!(b["application_name"], "metabase");
    assert_eq!(b["state"], "idle in transaction");
    assert!(b["xact_age_s"].as_f64().unwrap() >= 0.0);
    assert!(
        report["reasons"][0]
            .as_str()
            .unwrap()
            .contains(&format!("pid {reader_pid} holds AccessShareLock")),
        "{}",
        report["reasons"]
    );

    // The Markdown form names the session too, and stderr says why the gate is closed.
    let dsn = db.dsn();
    let md = preflight(&[&dsn, "-c", sql, "--format", "markdown"]).await;
    assert_eq!(md.code, 2, "{}", md.stderr);
    assert!(
        md.stdout.contains(&format!(
            "would wait for pid {reader_pid} (metabase, idle in transaction"
        )),
        "{}",
        md.stdout
    );
    assert!(
        md.stderr.starts_with(
            "pglocks: preflight failed: statement 1 needs AccessExclusiveLock on public.orders"
        ),
        "{}",
        md.stderr
    );

    drop(reader);
    wait_gone(&stage, reader_pid).await;
    let (code, report) = json(&db, sql, &[]).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verdict"], "pass");
    assert!(blockers(&report, 0).is_empty());
    // Missing lock_timeout is advice, not a failure, without --strict.
    assert!(advice_codes(&report).contains(&"lock_timeout_missing".to_string()));
}

#[tokio::test]
async fn create_index_versus_create_index_concurrently_with_an_idle_transaction_elsewhere() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage.exec(SCHEMA).await.unwrap();
    // Idle in transaction on another table, holding a snapshot (REPEATABLE READ)...
    let snap = stage.actor("sidekiq").await.unwrap();
    let snap_pid = stage
        .hold(
            snap,
            "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM jobs;",
        )
        .await
        .unwrap();
    // ... and one in READ COMMITTED between statements, which holds no snapshot.
    let rc = stage.actor("worker").await.unwrap();
    let rc_pid = stage
        .hold(rc, "BEGIN; UPDATE jobs SET done = true WHERE id = 1;")
        .await
        .unwrap();

    let plain = "CREATE INDEX orders_total_idx ON orders (total)";
    let (code, report) = json(&db, plain, &[]).await;
    assert_eq!(code, 0, "nobody holds a lock on orders: {report:#}");
    let st = &report["statements"][0];
    assert_eq!(st["locks"][0]["mode"], "ShareLock");
    assert!(blockers(&report, 0).is_empty());
    assert_eq!(
        st["snapshot_waits"].as_array().unwrap().len(),
        0,
        "a plain build does not wait for snapshots"
    );
    let codes = advice_codes(&report);
    assert!(
        codes.contains(&"index_without_concurrently".to_string()),
        "{codes:?}"
    );
    let (code, _) = json(&db, plain, &["--strict"]).await;
    assert_eq!(code, 2, "--strict fails on the warning");

    let cic = "CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total)";
    let (code, report) = json(&db, cic, &[]).await;
    assert_eq!(code, 2, "{report:#}");
    let st = &report["statements"][0];
    assert_eq!(st["locks"][0]["mode"], "ShareUpdateExclusiveLock");
    let waits: Vec<i64> = st["snapshot_waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(
        waits,
        vec![i64::from(snap_pid)],
        "only the snapshot holder, not pid {rc_pid}"
    );
    assert!(!advice_codes(&report).contains(&"index_without_concurrently".to_string()));

    // What preflight predicted is what the server does: the build waits for that snapshot.
    let (client, conn) = tokio_postgres::connect(&db.dsn(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("SET statement_timeout = '1500ms'")
        .await
        .unwrap();
    let err = client.batch_execute(cic).await.unwrap_err();
    assert!(
        err.to_string().contains("statement timeout")
            || format!("{err:?}").contains("statement timeout"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_migration_file_with_and_without_lock_timeout() {
    let db = TestDb::new().await;
    let stage = db.stage().await;
    stage.exec(SCHEMA).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with.sql");
    let without = dir.path().join("without.sql");
    std::fs::write(
        &with,
        "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\n",
    )
    .unwrap();
    std::fs::write(
        &without,
        "-- V42__note.sql\nALTER TABLE orders ADD COLUMN note text;\n",
    )
    .unwrap();
    let dsn = db.dsn();
    let run = |file: std::path::PathBuf, strict: bool| {
        let dsn = dsn.clone();
        async move {
            let file = file.display().to_string();
            let mut args = vec![dsn.as_str(), "--sql", file.as_str(), "--format", "json"];
            if strict {
                args.push("--strict");
            }
            preflight(&args).await
        }
    };

    let out = run(without.clone(), false).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["source"], without.display().to_string());
    assert_eq!(advice_codes(&report), vec!["lock_timeout_missing"]);
    assert_eq!(report["advice"][0]["statement"], 1);
    assert_eq!(
        run(without, true).await.code,
        2,
        "--strict makes the warning fail the gate"
    );

    let out = run(with.clone(), false).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    assert!(advice_codes(&report).is_empty(), "{:#}", report["advice"]);
    assert_eq!(report["statements"][0]["kind"], "SET");
    assert_eq!(report["statements"][0]["control"]["control"], "set");
    assert_eq!(report["statements"][0]["control"]["value"], "5s");
    assert_eq!(run(with, true).await.code, 0, "nothing to warn about");
}

#[tokio::test]
async fn an_unparseable_statement_is_an_error_that_names_it() {
    let db = TestDb::new().await;
    let dsn = db.dsn();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.sql");
    std::fs::write(&file, "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN;\nCREATE INDEX i ON orders (id);\n").unwrap();
    let f = file.display().to_string();
    let out = preflight(&[&dsn, "--sql", &f]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "no report for a migration it cannot read"
    );
    assert!(
        out.stderr.contains(&format!(
            "{f}:2:30: statement 2 `ALTER TABLE orders ADD COLUMN` is not valid PostgreSQL (syntax error at end of input"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);

    // A statement cut short, as pg_stat_activity shows one, is refused the same way.
    let out = preflight(&[
        &dsn,
        "-c",
        "ALTER TABLE orders ADD COLUMN note text DEFAULT 'unfinished",
    ])
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("-c:1:") && out.stderr.contains("terminate the string literal"),
        "{}",
        out.stderr
    );

    let missing = dir.path().join("missing.sql").display().to_string();
    let out = preflight(&[&dsn, "--sql", &missing]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("cannot read the migration"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_queued_migration_blocks_a_build_that_the_reader_alone_would_not() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    // metabase holds AccessShareLock; flyway's ALTER is queued for AccessExclusiveLock.
    let pileup = migration_pileup(&mut stage, 0, false).await.unwrap();
    let (code, report) = json(
        &db,
        "CREATE INDEX orders_customer_idx ON orders (customer)",
        &[],
    )
    .await;
    assert_eq!(code, 2, "{report:#}");
    // ShareLock does not conflict with the reader's AccessShareLock, only with the queue.
    assert_eq!(
        blockers(&report, 0),
        vec![(
            i64::from(pileup.migration),
            "queued".into(),
            "AccessExclusiveLock".into()
        )]
    );
}

#[tokio::test]
async fn a_rewrite_of_a_large_table_under_a_write_lock_fails_the_gate() {
    let db = TestDb::new().await;
    let stage = db.stage().await;
    stage.exec(SCHEMA).await.unwrap();
    let rewrite = "SET lock_timeout = '5s'; ALTER TABLE orders ALTER COLUMN total TYPE bigint";
    let (code, report) = json(&db, rewrite, &["--large-table", "1000"]).await;
    assert_eq!(code, 2, "{report:#}");
    let reason = report["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains(
            "statement 2 would rewrite public.orders (~20k rows, more than --large-table 1000)"
        ),
        "{reason}"
    );
    assert!(advice_codes(&report).contains(&"table_rewrite".to_string()));
    // Under the default threshold the same table is small.
    let (code, _) = json(&db, rewrite, &[]).await;
    assert_eq!(code, 0);
    // A concurrent build scans the large table without blocking writes: nothing to fail.
    let (code, report) = json(
        &db,
        "CREATE INDEX CONCURRENTLY i ON orders (total)",
        &["--large-table", "1000"],
    )
    .await;
    assert_eq!(code, 0, "{report:#}");
}

/// The file is followed statement by statement: a table created (or renamed into place)
/// earlier in the file is fine; a table that exists neither on the server nor earlier in
/// the file, or that an earlier statement dropped or renamed away, fails the gate (exit 2)
/// with an error naming the statement.
#[tokio::test]
async fn a_relation_the_file_never_creates_fails_the_gate() {
    let db = TestDb::new().await;
    db.stage().await.exec(SCHEMA).await.unwrap();
    let errors = |report: &Value| -> Vec<(u64, String)> {
        report["advice"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["severity"] == "error")
            .map(|a| {
                (
                    a["statement"].as_u64().unwrap(),
                    a["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };

    let created = "SET lock_timeout = '5s';
        CREATE TABLE invoices (id int PRIMARY KEY, order_id int);
        ALTER TABLE invoices ADD CONSTRAINT invoices_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) NOT VALID;
        CREATE INDEX invoices_order_idx ON invoices (order_id);
        ALTER INDEX invoices_order_idx RENAME TO invoices_order_id_idx;
        DROP INDEX invoices_order_id_idx;
        ALTER TABLE orders RENAME TO purchases;
        ALTER TABLE purchases ADD COLUMN note text;
        DROP TABLE IF EXISTS no_such_table";
    let (code, report) = json(&db, created, &[]).await;
    assert_eq!(code, 0, "{:#}", report);
    assert!(errors(&report).is_empty(), "{:#}", report["advice"]);
    assert!(advice_codes(&report).contains(&"relation_created_earlier".to_string()));

    let (code, report) = json(
        &db,
        "SET lock_timeout = '5s'; ALTER TABLE invoicez ADD COLUMN paid_at timestamptz",
        &[],
    )
    .await;
    assert_eq!(code, 2, "{:#}", report);
    assert_eq!(
        errors(&report),
        vec![(2, "statement 2 uses invoicez, which does not exist and no earlier statement of this migration creates: it will fail.".to_string())]
    );
    assert!(
        report["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("statement 2 uses invoicez"),
        "{:#}",
        report["reasons"]
    );

    let (code, report) = json(
        &db,
        "SET lock_timeout = '5s'; ALTER TABLE orders RENAME TO purchases; ALTER TABLE orders ADD COLUMN note text; DROP TABLE jobs; TRUNCATE jobs",
        &[],
    )
    .await;
    assert_eq!(code, 2, "{:#}", report);
    let errors = errors(&report);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].1.contains("which statement 2 renames"),
        "{errors:?}"
    );
    assert!(
        errors[1].1.contains("which statement 4 drops"),
        "{errors:?}"
    );
}

/// Issue 13.9: `preflight --redact` hides the blocking sessions' literals, in JSON and in
/// Markdown, as every other command does; without it they are there.
#[tokio::test]
async fn redact_hides_the_blockers_literals() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    stage.exec(SCHEMA).await.unwrap();
    let reader = stage.actor("metabase").await.unwrap();
    stage
        .run(
            &reader,
            "BEGIN; SELECT count(*) FROM orders WHERE customer = 4242424 OR 'card-9876' = 'x';",
        )
        .await
        .unwrap();
    let sql = "ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0";
    let (_, plain) = json(&db, sql, &[]).await;
    assert!(plain.to_string().contains("4242424"), "{plain:#}");
    let (code, redacted) = json(&db, sql, &["--redact"]).await;
    assert_eq!(code, 2);
    let text = redacted.to_string();
    assert!(
        !text.contains("4242424") && !text.contains("card-9876"),
        "{redacted:#}"
    );
    let query = redacted["statements"][0]["locks"][0]["blockers"][0]["query"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        query.contains("FROM orders WHERE customer ="),
        "{redacted:#}"
    );
    let dsn = db.dsn();
    let md = preflight(&[&dsn, "-c", sql, "--format", "markdown", "--redact"]).await;
    assert_eq!(md.code, 2, "{}", md.stderr);
    assert!(md.stdout.contains("FROM orders"), "{}", md.stdout);
    assert!(!md.stdout.contains("4242424") && !md.stdout.contains("card-9876"));
}
