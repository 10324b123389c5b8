//! The `pglocks` binary, run as a user runs it, against real PostgreSQL: bad input gets
//! one line on stderr and a non-zero exit; good input gets the `pglocks.snapshot/1` JSON
//! or the Markdown report.
//!
//! Every child runs with the `PG*` variables removed and HOME pointing at a fresh
//! directory, so the developer's own environment and `~/.pgpass` cannot leak in.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::TestDb;
use common::bin::pglocks;
use pglocks::cluster::{Cluster, PASSWORD_ROLE};
use pglocks::stage::migration_pileup;
use serde_json::Value;

/// Why some tests need a cluster of their own even when PGLOCKS_TEST_DSN is set.
const OWN_CLUSTER: &str = "it needs our pg_hba.conf, our socket directory or our roles";

/// A TCP conninfo string for `user` on the cluster, without a password.
fn tcp_dsn(cluster: &Cluster, user: &str, dbname: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={user} dbname={dbname} sslmode=disable connect_timeout=5",
        cluster.port
    )
}

async fn admin_exec(db: &TestDb, sql: &str) {
    let (client, conn) = tokio_postgres::connect(&db.dsn(), tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = task.await;
}

fn session(doc: &Value, pid: i32) -> &Value {
    doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["pid"] == pid)
        .unwrap_or_else(|| {
            let pids: Vec<&Value> = doc["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| &s["pid"])
                .collect();
            panic!(
                "pid {pid} is not among the sessions {pids:?}; edges: {}",
                doc["edges"]
            )
        })
}

fn codes(doc: &Value) -> Vec<&str> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

fn finding<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {:?}", codes(doc)))
}

fn root_pids(doc: &Value) -> Vec<i64> {
    doc["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pid"].as_i64().unwrap())
        .collect()
}

fn has_keys(v: &Value, what: &str, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    for key in keys {
        assert!(obj.contains_key(*key), "{what} lacks \"{key}\": {v}");
    }
}

/// A port on 127.0.0.1 that nobody listens on (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// 1. Malformed connection strings.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_connection_strings_fail_with_one_line() {
    let cases: &[(&str, &[&str])] = &[
        ("postgres://[::1", &["invalid connection URI"]),
        (
            "host=localhost dbname='unterminated",
            &["invalid connection string", "unterminated quote", "dbname"],
        ),
        (
            "host=localhost frobnicate=yes",
            &["unknown connection option", "frobnicate"],
        ),
        ("host=localhost port=fifty", &["invalid port", "fifty"]),
    ];
    for (conn, phrases) in cases {
        let run = pglocks(["snapshot", conn, "--format", "json"]).run().await;
        run.one_line_error(phrases);
    }
}

// 2. Unknown host, refused connection, silent server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_fails_with_one_line() {
    let run = pglocks([
        "snapshot",
        "host=no-such-host.invalid port=5432 user=postgres dbname=postgres sslmode=disable connect_timeout=3",
        "--format",
        "json",
    ])
    .run()
    .await;
    let line = run.one_line_error(&["no-such-host.invalid"]);
    let lower = line.to_lowercase();
    assert!(
        lower.contains("cannot connect") || lower.contains("timed out"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_fails_with_one_line() {
    let port = free_port();
    let run = pglocks([
        "snapshot".to_string(),
        format!("host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"),
        "--format".into(),
        "json".into(),
    ])
    .run()
    .await;
    run.one_line_error(&["cannot connect", &format!("127.0.0.1:{port}"), "refused"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_quickly() {
    // A server that accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    for sslmode in ["disable", "prefer"] {
        let run = pglocks([
            "snapshot".to_string(),
            format!(
                "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode={sslmode} connect_timeout=1"
            ),
            "--format".into(),
            "json".into(),
        ])
        .run()
        .await;
        run.one_line_error(&["timed out", &format!("127.0.0.1:{port}")]);
        assert!(
            run.elapsed < Duration::from_secs(4),
            "connect_timeout=1 took {:?} with sslmode={sslmode}",
            run.elapsed
        );
    }
    silent.abort();
}

// 3. Wrong password, missing database.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_rejected_and_never_echoed() {
    let Some(db) = TestDb::local(OWN_CLUSTER, &[]).await else {
        return;
    };
    let cluster = db.cluster().expect("a local cluster");
    admin_exec(
        &db,
        &format!("CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'the-right-one'"),
    )
    .await;
    let wrong = "Wr0ng-S3cret-xyzzy";
    let base = tcp_dsn(cluster, PASSWORD_ROLE, &db.dbname);
    let runs = [
        // In a conninfo string.
        pglocks([
            "snapshot".to_string(),
            format!("{base} password={wrong}"),
            "--format".into(),
            "json".into(),
        ]),
        // In a URI.
        pglocks([
            "snapshot".to_string(),
            format!(
                "postgres://{PASSWORD_ROLE}:{wrong}@127.0.0.1:{}/{}?sslmode=disable",
                cluster.port, db.dbname
            ),
            "--format".into(),
            "json".into(),
        ]),
        // In PGPASSWORD.
        pglocks([
            "snapshot".to_string(),
            base.clone(),
            "--format".into(),
            "json".into(),
        ])
        .env("PGPASSWORD", wrong),
    ];
    for inv in runs {
        let run = inv.run().await;
        run.one_line_error(&["password authentication failed", PASSWORD_ROLE]);
        assert!(
            !run.stderr.contains(wrong) && !run.stderr.contains("xyzzy"),
            "the password leaked: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_database_is_named() {
    let db = TestDb::new().await;
    let run = pglocks([
        "snapshot".to_string(),
        db.dsn_for("no_such_database_here"),
        "--format".into(),
        "json".into(),
    ])
    .run()
    .await;
    run.one_line_error(&["no_such_database_here", "does not exist"]);
}

// 4. A role without pg_monitor.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_without_pg_monitor_still_sees_the_graph() {
    let Some(db) = TestDb::local(OWN_CLUSTER, &[]).await else {
        return;
    };
    let cluster = db.cluster().expect("a local cluster");
    admin_exec(&db, "CREATE ROLE plain_watcher LOGIN").await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 5, false).await.unwrap();

    let run = pglocks([
        "snapshot".to_string(),
        tcp_dsn(cluster, "plain_watcher", &db.dbname),
        "--format".into(),
        "json".into(),
        "--database".into(),
        db.dbname.clone(),
    ])
    .run()
    .await;
    let doc = run.json();

    // Every staged session is listed, with its statement hidden as such.
    for pid in std::iter::once(p.blocker)
        .chain([p.migration])
        .chain(p.queued.iter().copied())
    {
        let s = session(&doc, pid);
        assert_eq!(s["query"], "<insufficient privilege>", "pid {pid}: {s}");
    }
    // The graph is still whole: pg_locks is readable by everyone.
    assert_eq!(root_pids(&doc), vec![i64::from(p.blocker)]);
    assert_eq!(doc["roots"][0]["waiting_total"], p.queued.len() + 1);
    let edges = doc["edges"].as_array().unwrap();
    assert!(
        edges
            .iter()
            .any(|e| e["waiter"] == p.migration && e["blocker"] == p.blocker),
        "the migration waits on the long transaction: {edges:?}"
    );
    for &q in &p.queued {
        assert!(
            edges
                .iter()
                .any(|e| e["waiter"] == q && e["blocker"] == p.migration),
            "pid {q} waits on the migration"
        );
        assert_eq!(
            session(&doc, q)["blocked_by"],
            serde_json::json!([p.migration])
        );
    }
    // The missing grant is named.
    let f = finding(&doc, "insufficient_privilege");
    let advice = f["advice"].as_str().unwrap();
    assert!(
        advice.contains("pg_read_all_stats") && advice.contains("pg_monitor"),
        "{advice}"
    );
    let hidden = f["pids"].as_array().unwrap();
    assert!(hidden.iter().any(|v| *v == p.blocker), "{f}");
    // Lock modes alone still reveal the migration.
    assert_eq!(session(&doc, p.migration)["is_migration"], true);
}

// 5. --format and -o.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_format_is_rejected() {
    let run = pglocks(["snapshot", "host=127.0.0.1 port=1", "--format", "xml"])
        .run()
        .await;
    run.one_line_error(&["xml", "format"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_path_problems_are_refused() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = |out: &Path| {
        pglocks([
            "snapshot".to_string(),
            db.dsn(),
            "--format".into(),
            "json".into(),
            "--database".into(),
            db.dbname.clone(),
            "-o".into(),
            out.display().to_string(),
        ])
    };

    let missing = dir.path().join("no-such-dir").join("snap.json");
    let run = snapshot(&missing).run().await;
    run.one_line_error(&["no-such-dir", "does not exist"]);
    assert!(!missing.exists());
    assert!(!dir.path().join("no-such-dir").exists());

    let existing = dir.path().join("incident.json");
    std::fs::write(&existing, "keep me\n").unwrap();
    let run = snapshot(&existing).run().await;
    run.one_line_error(&["incident.json", "already exists"]);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me\n");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["incident.json"], "nothing else was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_a_new_file_writes_the_json() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    let run = pglocks([
        "snapshot".to_string(),
        db.dsn(),
        "--format".into(),
        "json".into(),
        "--database".into(),
        db.dbname.clone(),
        "-o".into(),
        path.display().to_string(),
    ])
    .run()
    .await;
    run.success();
    assert!(run.stdout.is_empty(), "-o writes nothing to stdout");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["format"], "pglocks.snapshot/1");
    assert!(doc["sessions"].is_array());

    // A relative -o lands in the working directory.
    let home = tempfile::tempdir().unwrap();
    let run = pglocks([
        "snapshot".to_string(),
        db.dsn(),
        "--format".into(),
        "markdown".into(),
        "--database".into(),
        db.dbname.clone(),
        "-o".into(),
        "report.md".into(),
    ])
    .home(home.path())
    .run()
    .await;
    run.success();
    let md = std::fs::read_to_string(home.path().join("report.md")).unwrap();
    assert!(md.starts_with("# pglocks snapshot"), "{md}");
}

// 6. The "done when": 300 sessions queued behind a blocked migration.

const SESSION_FIELDS: &[&str] = &[
    "pid",
    "user",
    "database",
    "application_name",
    "client_addr",
    "backend_type",
    "state",
    "wait_event_type",
    "wait_event",
    "query",
    "backend_start",
    "xact_start",
    "query_start",
    "state_change",
    "wait_start",
    "xact_age_s",
    "query_age_s",
    "wait_age_s",
    "blocked_by",
    "waiting_total",
    "is_migration",
    "migration_reason",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_names_the_root_behind_300_queued_sessions() {
    const QUEUED: usize = 300;
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, QUEUED, false).await.unwrap();

    let run = pglocks([
        "snapshot".to_string(),
        db.dsn(),
        "--format".into(),
        "json".into(),
        "--database".into(),
        db.dbname.clone(),
    ])
    .run()
    .await;
    eprintln!(
        "snapshot wall time with {QUEUED} queued: {} ms",
        run.elapsed.as_millis()
    );
    assert!(
        run.elapsed < Duration::from_secs(10),
        "the snapshot took {:?}",
        run.elapsed
    );
    let doc = run.json();

    // The document's shape.
    has_keys(
        &doc,
        "the document",
        &[
            "format", "taken_at", "server", "sessions", "edges", "roots", "cycles", "findings",
            "actions",
        ],
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(doc["taken_at"].as_str().unwrap()).is_ok(),
        "taken_at is RFC3339: {}",
        doc["taken_at"]
    );
    has_keys(
        &doc["server"],
        "server",
        &["version", "version_num", "max_connections"],
    );
    assert!(doc["server"]["version_num"].as_i64().unwrap() >= 130000);
    let sessions = doc["sessions"].as_array().unwrap();
    for s in sessions {
        has_keys(s, "a session", SESSION_FIELDS);
        assert!(s["blocked_by"].is_array(), "{s}");
        assert!(s["is_migration"].is_boolean(), "{s}");
        assert_ne!(s["application_name"], "pglocks", "the monitor lists itself");
    }
    let edges = doc["edges"].as_array().unwrap();
    // Which waiter has no edge, and what the server said of it, if one is ever missing
    // (PostgreSQL 13 once gave 300 edges here in CI; not reproduced).
    let waiters: Vec<i64> = edges
        .iter()
        .map(|e| e["waiter"].as_i64().unwrap())
        .collect();
    let missing: Vec<&Value> = p
        .queued
        .iter()
        .chain([&p.migration])
        .filter(|pid| !waiters.contains(&i64::from(**pid)))
        .filter_map(|pid| sessions.iter().find(|s| s["pid"] == *pid))
        .collect();
    assert_eq!(
        edges.len(),
        QUEUED + 1,
        "waiters without an edge: {missing:?}"
    );
    for e in edges {
        has_keys(e, "an edge", &["waiter", "blocker", "kind", "lock"]);
        has_keys(
            &e["lock"],
            "an edge's lock",
            &["locktype", "mode_wanted", "mode_held", "relation"],
        );
        let kind = e["kind"].as_str().unwrap();
        assert!(kind == "holds" || kind == "queued_ahead", "{e}");
    }
    for r in doc["roots"].as_array().unwrap() {
        has_keys(r, "a root", &["pid", "waiting_total"]);
    }
    assert!(doc["cycles"].as_array().unwrap().is_empty());
    for f in doc["findings"].as_array().unwrap() {
        has_keys(
            f,
            "a finding",
            &["code", "severity", "pids", "title", "advice"],
        );
        let sev = f["severity"].as_str().unwrap();
        assert!(["critical", "warning", "info"].contains(&sev), "{f}");
    }
    assert!(doc["actions"].as_array().unwrap().is_empty());

    // What it says.
    assert_eq!(
        root_pids(&doc),
        vec![i64::from(p.blocker)],
        "the long transaction is the only root"
    );
    assert_eq!(doc["roots"][0]["waiting_total"], QUEUED + 1);
    let m = session(&doc, p.migration);
    assert_eq!(m["is_migration"], true, "{m}");
    assert!(m["migration_reason"].is_string(), "{m}");
    assert_eq!(session(&doc, p.blocker)["is_migration"], false);
    let c = codes(&doc);
    for code in ["migration_blocked", "lock_queue_behind_migration"] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    let edge = edges.iter().find(|e| e["waiter"] == p.migration).unwrap();
    assert_eq!(edge["blocker"], p.blocker);
    assert_eq!(edge["kind"], "holds");
    assert_eq!(edge["lock"]["mode_wanted"], "AccessExclusiveLock");
    assert_eq!(edge["lock"]["relation"], "public.orders");
    assert_eq!(p.queued.len(), QUEUED);
    let only_migration = serde_json::json!([p.migration]);
    for &q in &p.queued {
        let s = session(&doc, q);
        assert_eq!(s["blocked_by"], only_migration, "pid {q}");
        assert_eq!(s["wait_event_type"], "Lock", "pid {q}");
    }

    // The Markdown of the same incident collapses the pile-up.
    let run = pglocks([
        "snapshot".to_string(),
        db.dsn(),
        "--format".into(),
        "markdown".into(),
        "--database".into(),
        db.dbname.clone(),
    ])
    .run()
    .await;
    run.success();
    let md = &run.stdout;
    assert!(md.contains("MIGRATION BLOCKED"), "{md}");
    assert!(md.contains(&format!("pid {}", p.blocker)), "{md}");
    // The reads and the writes queued behind the migration are one group line each, with
    // every pid; nobody is left out.
    let grouped: usize = md
        .lines()
        .filter_map(|l| l.split("**× ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(grouped, QUEUED, "{md}");
    for pid in &p.queued {
        assert!(md.contains(&pid.to_string()), "pid {pid} is missing:\n{md}");
    }
    let tree_lines = md
        .lines()
        .skip_while(|l| !l.starts_with("## Wait tree"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(
        tree_lines < 50,
        "the wait tree is collapsed, not {tree_lines} lines long:\n{md}"
    );
}

// 7. psql-style flags, PG* variables and ~/.pgpass.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_style_flags_connect() {
    let Some(db) = TestDb::local(OWN_CLUSTER, &[]).await else {
        return;
    };
    let cluster = db.cluster().expect("a local cluster");
    let socket_dir = cluster.socket_dir().display().to_string();
    let port = cluster.port.to_string();
    let run = pglocks([
        "snapshot",
        "-h",
        &socket_dir,
        "-p",
        &port,
        "-U",
        "postgres",
        "-d",
        &db.dbname,
        "--format",
        "json",
        "--database",
        &db.dbname,
    ])
    .run()
    .await;
    run.json();

    // The long forms too, over TCP.
    let run = pglocks([
        "snapshot",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--username",
        "postgres",
        "--dbname",
        &db.dbname,
        "--format",
        "json",
    ])
    .run()
    .await;
    run.json();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_environment_variables_connect() {
    let Some(db) = TestDb::local(OWN_CLUSTER, &[]).await else {
        return;
    };
    let cluster = db.cluster().expect("a local cluster");
    let run = pglocks(["snapshot", "--format", "json"])
        .env("PGHOST", cluster.socket_dir().display().to_string())
        .env("PGPORT", cluster.port.to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", db.dbname.clone())
        .run()
        .await;
    run.json();

    // PGPASSWORD for the role that must authenticate, over TCP.
    admin_exec(
        &db,
        &format!("CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'env-secret'"),
    )
    .await;
    let run = pglocks(["snapshot", "--format", "json"])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", cluster.port.to_string())
        .env("PGUSER", PASSWORD_ROLE)
        .env("PGDATABASE", db.dbname.clone())
        .env("PGSSLMODE", "disable")
        .env("PGPASSWORD", "env-secret")
        .run()
        .await;
    run.json();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgpass_supplies_the_password_only_when_private() {
    use std::os::unix::fs::PermissionsExt;

    let Some(db) = TestDb::local(OWN_CLUSTER, &[]).await else {
        return;
    };
    let cluster = db.cluster().expect("a local cluster");
    let secret = "pgpass-s3cret-plugh";
    admin_exec(
        &db,
        &format!("CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{secret}'"),
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# a comment line\notherhost:*:*:*:not-this-one\n127.0.0.1:{}:*:{PASSWORD_ROLE}:{secret}\n",
            cluster.port
        ),
    )
    .unwrap();
    let conn = tcp_dsn(cluster, PASSWORD_ROLE, &db.dbname);
    let snapshot = || pglocks(["snapshot", conn.as_str(), "--format", "json"]).home(home.path());

    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    snapshot().run().await.json();

    // Readable by others: ignored with libpq's warning, then the login fails in one line.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = snapshot().run().await;
    assert!(!run.status.success());
    assert!(!run.stderr.contains(secret), "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "a warning and an error: {:?}", run.stderr);
    assert!(
        lines[0].starts_with("pglocks: warning: password file")
            && lines[0].contains("has group or world access"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("pglocks: ") && lines[1].contains("password"),
        "{}",
        lines[1]
    );

    // PGPASSFILE names another file, with the same rule.
    let elsewhere = home.path().join("elsewhere.pgpass");
    std::fs::copy(&pgpass, &elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
    snapshot()
        .env("PGPASSFILE", elsewhere.display().to_string())
        .run()
        .await
        .json();
}

/// A machine without PostgreSQL server binaries: `demo` says in one line what to install
/// (the package, or scripts/pg-binaries.sh) and exits non-zero, before starting anything.
#[test]
fn demo_without_server_binaries_names_what_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let bin = empty.path().display().to_string();
    let run = pglocks(["demo"])
        .env("PGLOCKS_PG_BINDIR", bin.clone())
        .env("PATH", bin)
        .run_blocking();
    assert!(!run.status.success(), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("has no initdb"), "{}", run.stderr);
    assert!(
        run.stderr.contains("apt-get install postgresql"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("scripts/pg-binaries.sh"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
