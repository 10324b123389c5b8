//! `pglocks guard` end to end: the real binary runs a real migration command (psql)
//! against a real server while staged sessions block it and pile up behind it.
#![allow(clippy::unwrap_used)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::TestDb;
use pglocks::db::conninfo::{self, Host, Overrides, ProcessEnv};
use serde_json::Value;
use tokio_postgres::{Client, NoTls};

const PSQL: &str = "/usr/bin/psql";

struct Guarded {
    code: i32,
    stderr: String,
    /// The `pglocks.guard/1` lines of the recording.
    guard: Vec<Value>,
    recording: PathBuf,
    report: String,
    _dir: tempfile::TempDir,
}

impl Guarded {
    fn decisions(&self, action: &str) -> Vec<&Value> {
        self.events("decision")
            .into_iter()
            .filter(|d| d["action"] == action)
            .collect()
    }

    fn events(&self, kind: &str) -> Vec<&Value> {
        self.guard.iter().filter(|l| l["event"] == kind).collect()
    }
}

/// Where the test server is, as libpq variables for psql (and for the guard's CONN).
fn pg_env(db: &TestDb) -> Vec<(String, String)> {
    let p = conninfo::resolve(Some(&db.dsn()), &Overrides::default(), &ProcessEnv).unwrap();
    let host = match p.hosts.first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Socket(d)) => d.display().to_string(),
        None => "127.0.0.1".into(),
    };
    let mut env = vec![
        ("PGHOST".into(), host),
        ("PGPORT".into(), p.port.to_string()),
        ("PGUSER".into(), p.user.clone()),
        ("PGDATABASE".into(), p.dbname.clone()),
        ("PGSSLMODE".into(), "disable".into()),
    ];
    if let Some(pw) = &p.password {
        env.push(("PGPASSWORD".into(), pw.expose().to_string()));
    }
    env
}

/// Runs `pglocks guard ARGS -- COMMAND` with the server in PG* variables (which psql also
/// reads), in a new directory that receives the evidence.
async fn guard(env: &[(String, String)], args: &[&str], command: &[&str]) -> Guarded {
    let (child, dir) = start_guard(env, args, command);
    finish(child, dir).await
}

fn start_guard(
    env: &[(String, String)],
    args: &[&str],
    command: &[&str],
) -> (tokio::process::Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_pglocks"));
    cmd.arg("guard")
        .args(args)
        .arg("--record")
        .arg(dir.path().join("guard.jsonl"))
        .arg("--")
        .args(command)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("PGAPPNAME")
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.spawn().unwrap(), dir)
}

async fn finish(child: tokio::process::Child, dir: tempfile::TempDir) -> Guarded {
    let recording = dir.path().join("guard.jsonl");
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the guard finishes within a minute")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // Shown when a test fails (or with --nocapture).
    eprintln!("{stderr}");
    let text = std::fs::read_to_string(&recording)
        .unwrap_or_else(|e| panic!("no recording ({e}); stderr:\n{stderr}"));
    let guard = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["format"] == "pglocks.guard/1")
        .collect();
    let report = std::fs::read_to_string(dir.path().join("guard.md")).unwrap_or_default();
    Guarded {
        code: out.status.code().unwrap_or(-1),
        stderr,
        guard,
        recording,
        report,
        _dir: dir,
    }
}

async fn session(db: &TestDb, app: &str) -> (Client, i32) {
    let (client, conn) =
        tokio_postgres::connect(&format!("{} application_name={app}", db.dsn()), NoTls)
            .await
            .unwrap();
    tokio::spawn(conn);
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    (client, pid)
}

async fn setup(db: &TestDb) -> Client {
    let (c, _) = session(db, "setup").await;
    c.batch_execute(
        "CREATE TABLE orders (id int PRIMARY KEY, total int);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;",
    )
    .await
    .unwrap();
    c
}

/// The analytics blocker: a session ("analytics") inside a transaction that has read
/// orders, so it holds AccessShareLock until it ends.
async fn reading_orders(db: &TestDb) -> (Client, i32) {
    let (c, pid) = session(db, "analytics").await;
    c.batch_execute("BEGIN; SELECT count(*) FROM orders;")
        .await
        .unwrap();
    (c, pid)
}

/// An analytics transaction that reads orders and keeps its AccessShareLock until the
/// migration has waited `hold` for it, then commits; its result says whether anybody
/// signalled it. The hold is counted from the migration's wait, not from the start: a
/// guard slow to start on a loaded machine must not find the blocker already gone.
async fn analytics(
    db: &TestDb,
    hold: Duration,
) -> (i32, tokio::task::JoinHandle<Result<(), String>>) {
    let (c, pid) = reading_orders(db).await;
    let (watch, _) = session(db, "test-watch").await;
    let task = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let waiting: i64 = watch
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%ALTER TABLE%'",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            if waiting > 0 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.batch_execute(&format!("SELECT pg_sleep({}); COMMIT;", hold.as_secs_f64()))
            .await
            .map_err(|e| e.to_string())
    });
    (pid, task)
}

/// Waits until `app`'s backend (the guarded psql) waits on a lock, then starts `n`
/// readers of orders, which queue behind it. Their results say whether each got through.
async fn readers_behind(
    db: &TestDb,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Result<Duration, String>>> {
    let (watch, _) = session(db, "test-watch").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%ALTER TABLE%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the migration never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut out = Vec::new();
    for i in 0..n {
        let (c, _) = session(db, &format!("reader-{i}")).await;
        out.push(tokio::spawn(async move {
            let t = Instant::now();
            c.batch_execute("SELECT count(*) FROM orders")
                .await
                .map(|()| t.elapsed())
                .map_err(|e| e.to_string())
        }));
    }
    out
}

fn psql(sql: &str) -> Vec<String> {
    [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn psql_file(dir: &Path, sql: &str) -> Vec<String> {
    let file = dir.join("migration.sql");
    std::fs::write(&file, sql).unwrap();
    vec![
        PSQL.into(),
        "-X".into(),
        "-q".into(),
        "-v".into(),
        "ON_ERROR_STOP=1".into(),
        "-1".into(),
        "-f".into(),
        file.display().to_string(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

const FAST: &[&str] = &[
    "--max-lock-wait",
    "500ms",
    "--interval",
    "200ms",
    "--backoff",
    "200ms..400ms",
];

async fn has_column(c: &Client, column: &str) -> bool {
    c.query_opt(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = $1",
        &[&column],
    )
    .await
    .unwrap()
    .is_some()
}

#[tokio::test]
async fn psql_file_migration_is_cancelled_then_retried_once_the_blocker_ends() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let env = pg_env(&db);
    let files = tempfile::tempdir().unwrap();
    let cmd = psql_file(files.path(), "ALTER TABLE orders ADD COLUMN region int;\n");
    let (blocker, blocker_done) = analytics(&db, Duration::from_millis(2500)).await;
    let run = tokio::spawn({
        let env = env.clone();
        async move { guard(&env, FAST, &strs(&cmd)).await }
    });
    let readers = readers_behind(&db, 4).await;
    let g = run.await.unwrap();
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert!(
        has_column(&c, "region").await,
        "the retry applied the migration"
    );

    let cancels = g.decisions("cancel");
    assert!(!cancels.is_empty(), "{}", g.stderr);
    let first = cancels[0];
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["trigger"], "lock_wait");
    assert!(
        first["outcome"]
            .as_str()
            .unwrap()
            .starts_with("cancel sent")
    );
    assert_eq!(first["relation"], "public.orders");
    assert_eq!(first["lock"], "AccessExclusiveLock");
    let root = first["root_blocker"].as_str().unwrap();
    assert!(
        root.starts_with(&format!("pid {blocker} (analytics")),
        "{root}"
    );
    assert!(first["queue"].as_u64().unwrap() >= 1, "{first}");
    // Within the threshold plus a poll (and slack for a loaded machine).
    let waited = first["wait_s"].as_f64().unwrap();
    assert!((0.5..=0.5 + 0.2 + 1.0).contains(&waited), "{waited}");
    let line = g
        .stderr
        .lines()
        .find(|l| l.starts_with("pglocks: breaker cancelled"))
        .unwrap_or_else(|| panic!("{}", g.stderr));
    for part in [
        "AccessExclusiveLock on public.orders",
        "root blocker pid",
        "queued behind it",
        "longest wait",
    ] {
        assert!(line.contains(part), "{part}: {line}");
    }
    // The queue drained at once: every reader got through, none was cancelled.
    for r in readers {
        let took = r.await.unwrap().expect("reader was not signalled");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    // The blocker was never signalled: its transaction committed.
    blocker_done
        .await
        .unwrap()
        .expect("the analytics transaction was not signalled");
    assert_eq!(g.decisions("terminate").len(), 0);
    let attempts = g.events("attempt_started");
    assert_eq!(attempts.len(), 2, "{}", g.stderr);
    assert!(
        g.events("backend")
            .iter()
            .all(|b| b["method"].as_str().unwrap().contains("TCP"))
    );
    assert!(!g.events("retry_wait").is_empty());
    assert!(g.stderr.contains("incident report:"), "{}", g.stderr);
    // The report tells the guard's story.
    assert!(g.report.contains("## Guarded run"), "{}", g.report);
    assert!(
        g.report.contains("breaker cancelled the statement of pid"),
        "{}",
        g.report
    );
    assert!(g.report.contains("attempt 2 succeeded"), "{}", g.report);
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_pglocks"))
        .arg("report")
        .arg(&g.recording)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("Guard: attempt 1 started"), "{text}");
    assert!(
        text.contains("Guard: attempt 2 ended: exit code 0"),
        "{text}"
    );
}

#[tokio::test]
async fn a_migration_with_lock_timeout_0_and_its_own_application_name_is_still_caught() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let env = pg_env(&db);
    let cmd = psql(
        "SET lock_timeout = 0; SET application_name = 'deploy-bot'; ALTER TABLE orders ADD COLUMN note text",
    );
    let (_, blocker_done) = analytics(&db, Duration::from_millis(2000)).await;
    let run = tokio::spawn({
        let env = env.clone();
        async move { guard(&env, FAST, &strs(&cmd)).await }
    });
    let readers = readers_behind(&db, 3).await;
    let g = run.await.unwrap();
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert!(has_column(&c, "note").await);
    assert!(!g.decisions("cancel").is_empty(), "{}", g.stderr);
    // Its application_name is its own, so only the TCP match could find it.
    let backends = g.events("backend");
    assert!(!backends.is_empty());
    assert!(
        backends
            .iter()
            .all(|b| b["method"].as_str().unwrap().contains("TCP"))
    );
    for r in readers {
        r.await.unwrap().expect("reader was not signalled");
    }
    blocker_done
        .await
        .unwrap()
        .expect("blocker was not signalled");
}

#[tokio::test]
async fn retries_run_out_with_exit_75_and_a_failure_of_its_own_is_not_retried() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let env = pg_env(&db);
    // A reader holds orders; once the breaker has cancelled attempt 1, a second reader
    // takes the lock before the first lets go, so the retry finds a new blocker. Driven by
    // what the server shows, not by timing.
    let (first, _) = session(&db, "busy-0").await;
    first
        .batch_execute("BEGIN; LOCK TABLE orders IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let mut args = FAST.to_vec();
    args.extend(["--retries", "1"]);
    let cmd = psql("ALTER TABLE orders ADD COLUMN never int");
    let run = tokio::spawn({
        let env = env.clone();
        async move { guard(&env, &args, &strs(&cmd)).await }
    });
    let cancelled = waiting_alter(&db).await;
    let (watch, _) = session(&db, "test-watch").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while watch
        .query_opt(
            "SELECT 1 FROM pg_stat_activity WHERE pid = $1",
            &[&cancelled],
        )
        .await
        .unwrap()
        .is_some()
    {
        assert!(Instant::now() < deadline, "attempt 1 was never cancelled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (second, _) = session(&db, "busy-1").await;
    second
        .batch_execute("BEGIN; LOCK TABLE orders IN ACCESS SHARE MODE")
        .await
        .unwrap();
    first.batch_execute("COMMIT").await.unwrap();
    let g = run.await.unwrap();
    second.batch_execute("COMMIT").await.unwrap();
    assert_eq!(g.code, 75, "{}", g.stderr);
    assert_eq!(g.events("attempt_started").len(), 2);
    assert_eq!(g.decisions("cancel").len(), 2, "{}", g.stderr);
    assert!(
        g.stderr
            .contains("the breaker cancelled every attempt (2 of 2)"),
        "{}",
        g.stderr
    );
    assert!(!has_column(&c, "never").await);

    // A syntax error is the command's own failure: its exit code, once.
    let g = guard(
        &env,
        FAST,
        &strs(&psql("ALTER TABLEE orders ADD COLUMN x int")),
    )
    .await;
    assert_eq!(g.code, 1, "psql -c exits 1 on an error: {}", g.stderr);
    assert_eq!(g.events("attempt_started").len(), 1);
    assert!(g.decisions("cancel").is_empty());
    assert!(g.stderr.contains("failed on its own"), "{}", g.stderr);
}

#[tokio::test]
async fn dry_run_signals_nobody() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let env = pg_env(&db);
    let (_, blocker_done) = analytics(&db, Duration::from_millis(1500)).await;
    let mut args = FAST.to_vec();
    args.push("--dry-run");
    let cmd = psql("ALTER TABLE orders ADD COLUMN dry int");
    let run = tokio::spawn({
        let env = env.clone();
        async move { guard(&env, &args, &strs(&cmd)).await }
    });
    let readers = readers_behind(&db, 2).await;
    let g = run.await.unwrap();
    assert_eq!(g.code, 0, "{}", g.stderr);
    let would = g.decisions("cancel");
    assert_eq!(would.len(), 1, "{}", g.stderr);
    assert_eq!(would[0]["dry_run"], true);
    assert!(would[0]["outcome"].is_null());
    assert!(
        g.stderr.contains("breaker (dry run): would cancel pid"),
        "{}",
        g.stderr
    );
    assert_eq!(g.events("attempt_started").len(), 1);
    assert!(has_column(&c, "dry").await, "the migration waited it out");
    for r in readers {
        r.await.unwrap().expect("reader was not signalled");
    }
    blocker_done
        .await
        .unwrap()
        .expect("blocker was not signalled");
}

#[tokio::test]
async fn terminate_idle_blockers_ends_the_idle_blocker_and_nobody_else() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let env = pg_env(&db);
    let (idle, idle_pid) = session(&db, "forgotten").await;
    idle.batch_execute("BEGIN; SELECT count(*) FROM orders;")
        .await
        .unwrap();
    // Idle in transaction too, but blocking nobody.
    let (bystander, bystander_pid) = session(&db, "bystander").await;
    bystander.batch_execute("BEGIN; SELECT 1;").await.unwrap();
    let args = [
        "--max-lock-wait",
        "20s",
        "--terminate-idle-blockers",
        "300ms",
        "--interval",
        "200ms",
    ];
    let g = guard(
        &env,
        &args,
        &strs(&psql("ALTER TABLE orders ADD COLUMN freed int")),
    )
    .await;
    assert_eq!(g.code, 0, "{}", g.stderr);
    let t = g.decisions("terminate");
    assert_eq!(t.len(), 1, "{}", g.stderr);
    assert_eq!(t[0]["pid"], idle_pid);
    assert_eq!(t[0]["outcome"], "terminated");
    assert!(g.decisions("cancel").is_empty());
    assert!(has_column(&c, "freed").await);
    assert!(!common::listed(&c, idle_pid).await);
    assert!(
        common::listed(&c, bystander_pid).await,
        "the bystander was left alone"
    );
    bystander
        .batch_execute("COMMIT")
        .await
        .expect("bystander's transaction intact");
}

#[tokio::test]
async fn a_concurrent_index_build_waiting_for_old_snapshots_is_reported_not_cancelled() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    c.batch_execute("CREATE TABLE other (x int); INSERT INTO other VALUES (1);")
        .await
        .unwrap();
    let env = pg_env(&db);
    let (old, _) = session(&db, "old-snapshot").await;
    old.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;")
        .await
        .unwrap();
    let ender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        old.batch_execute("COMMIT").await
    });
    let args = ["--max-lock-wait", "300ms", "--interval", "200ms"];
    let g = guard(
        &env,
        &args,
        &strs(&psql(
            "CREATE INDEX CONCURRENTLY orders_total ON orders (total)",
        )),
    )
    .await;
    ender.await.unwrap().unwrap();
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert!(g.decisions("cancel").is_empty(), "{}", g.stderr);
    let reported = g.decisions("report");
    assert!(!reported.is_empty(), "{}", g.stderr);
    assert_eq!(reported[0]["trigger"], "old_snapshots");
    assert!(g.stderr.contains("INVALID index"), "{}", g.stderr);
    let valid: bool = c
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_total'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(valid);
}

/// PgBouncer in transaction mode in front of the test server, run by the server's account
/// when we are root (it refuses root too). Killed when dropped.
struct Bouncer {
    port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pgbouncer(server_port: &str) -> Bouncer {
    let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("pgbouncer is not installed: apt-get install pgbouncer (.ci/run installs it)");
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.path().display();
    std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").unwrap();
    std::fs::write(
        dir.path().join("pgbouncer.ini"),
        format!(
            "[databases]\n* = host=127.0.0.1 port={server_port}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {d}/users.txt\npool_mode = transaction\nignore_startup_parameters = extra_float_digits\nlogfile = {d}/pgbouncer.log\n"
        ),
    )
    .unwrap();
    for f in ["users.txt", "pgbouncer.ini"] {
        std::fs::set_permissions(dir.path().join(f), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    let ini = dir.path().join("pgbouncer.ini");
    let mut cmd = std::process::Command::new(bin);
    // Started as the server's account itself (not through runuser, which would outlive a
    // kill and leave PgBouncer running), so dropping the Bouncer ends it.
    if nix::unistd::Uid::effective().is_root() {
        use std::os::unix::process::CommandExt;
        let user = nix::unistd::User::from_name("postgres")
            .unwrap()
            .expect("a postgres account to run PgBouncer as");
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    let child = cmd
        .arg(&ini)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "pgbouncer did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Bouncer {
        port,
        child,
        _dir: dir,
    }
}

#[tokio::test]
async fn behind_pgbouncer_in_transaction_mode_the_breaker_still_works() {
    let db = TestDb::new().await;
    if db.cluster().is_none() {
        panic!(
            "this test needs a throwaway cluster (trust authentication for PgBouncer); unset PGLOCKS_TEST_DSN"
        );
    }
    let c = setup(&db).await;
    let direct = pg_env(&db);
    let server_port = direct
        .iter()
        .find(|(k, _)| k == "PGPORT")
        .unwrap()
        .1
        .clone();
    let bouncer = pgbouncer(&server_port);
    // psql talks to PgBouncer; the guard watches the server itself.
    let env: Vec<(String, String)> = direct
        .iter()
        .map(|(k, v)| match k.as_str() {
            "PGPORT" => (k.clone(), bouncer.port.to_string()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let conn = format!(
        "host=127.0.0.1 port={server_port} user=postgres dbname={}",
        db.dbname
    );
    let mut args = vec![conn.as_str()];
    args.extend(FAST);
    let (_, blocker_done) = analytics(&db, Duration::from_millis(2000)).await;
    // A session setting would not survive here: the SET and the ALTER may run on
    // different server connections, so only a breaker outside the connection helps.
    let cmd = psql("ALTER TABLE orders ADD COLUMN pooled int");
    let run = tokio::spawn({
        let env = env.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move { guard(&env, &strs(&args), &strs(&cmd)).await }
    });
    let readers = readers_behind(&db, 2).await;
    let g = run.await.unwrap();
    assert_eq!(g.code, 0, "{}", g.stderr);
    assert!(has_column(&c, "pooled").await);
    assert!(!g.decisions("cancel").is_empty(), "{}", g.stderr);
    // PgBouncer's server connection is not the command's socket: PGAPPNAME found it.
    let backends = g.events("backend");
    assert!(!backends.is_empty());
    assert!(
        backends
            .iter()
            .all(|b| b["method"].as_str().unwrap().contains("PGAPPNAME")),
        "{backends:?}"
    );
    for r in readers {
        r.await.unwrap().expect("reader was not signalled");
    }
    blocker_done
        .await
        .unwrap()
        .expect("blocker was not signalled");
    drop(bouncer);
}

#[tokio::test]
async fn sigterm_reaches_the_command_and_nothing_is_retried() {
    let db = TestDb::new().await;
    let _c = setup(&db).await;
    let env = pg_env(&db);
    let (_blocker, _) = reading_orders(&db).await;
    let args = ["--max-lock-wait", "30s", "--interval", "200ms"];
    let (child, dir) = start_guard(
        &env,
        &args,
        &strs(&psql("ALTER TABLE orders ADD COLUMN t int")),
    );
    let guard_pid = child.id().unwrap();
    let _ = readers_behind(&db, 0).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(guard_pid).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let g = finish(child, dir).await;
    assert_eq!(
        g.code,
        128 + 15,
        "psql died of the forwarded SIGTERM: {}",
        g.stderr
    );
    assert_eq!(g.events("attempt_started").len(), 1);
    let ended = g.events("attempt_ended");
    assert_eq!(ended[0]["signal"], 15, "{ended:?}");
    assert!(g.stderr.contains("SIGTERM forwarded"), "{}", g.stderr);
    assert!(g.decisions("cancel").is_empty());
}

#[tokio::test]
async fn on_a_terminal_the_status_is_one_live_line_and_ctrl_c_is_not_retried() {
    let db = TestDb::new().await;
    let _c = setup(&db).await;
    let (blocker, blocker_pid) = reading_orders(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<String> = pg_env(&db)
        .iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    let command = format!(
        "cd {} && env -u PGAPPNAME {} {} guard --max-lock-wait 30s --interval 200ms -- {PSQL} -X -c 'ALTER TABLE orders ADD COLUMN tty int'; echo GUARD-EXIT=$?; sleep 60",
        dir.path().display(),
        env.join(" "),
        env!("CARGO_BIN_EXE_pglocks"),
    );
    let t = common::tmux::Tmux::start(&command, 200, 20);
    let status = format!("behind pid {blocker_pid} (analytics, idle in transaction");
    let screen = t
        .wait_for(
            "the live status",
            |s| s.contains(&status),
            Duration::from_secs(20),
        )
        .await;
    // Rewritten in place: one status line, however many polls went by.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let screen2 = t.screen();
    assert_eq!(screen2.matches("waits").count(), 1, "{screen2}");
    assert_ne!(screen, screen2, "the wait's age moves on");
    t.keys("C-c");
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            Duration::from_secs(20),
        )
        .await;
    assert!(screen.contains("was interrupted"), "{screen}");
    assert!(!screen.contains("attempt 2"), "{screen}");
    assert!(
        screen.contains("GUARD-EXIT=1"),
        "psql exits 1 after Ctrl-C: {screen}"
    );
    // Nobody else was signalled: the blocker's transaction is intact.
    blocker.batch_execute("COMMIT").await.unwrap();
}

/// `guard --tui`: the live view on the guard's server, the command's backend pinned as the
/// migration, the breaker's lines inside the view; the retry succeeds once the blocker
/// ends, and the terminal comes back with the guard's lines printed on it.
#[tokio::test]
async fn with_tui_the_view_pins_the_command_and_the_breaker_still_decides() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let (blocker, blocker_pid) = reading_orders(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let command = tui_command(
        &db,
        dir.path(),
        "--max-lock-wait 1500ms",
        "ALTER TABLE orders ADD COLUMN tui int",
    );
    let t = common::tmux::Tmux::start(&command, 160, 40);
    let migration = waiting_alter(&db).await;
    let pinned = |s: &str| {
        s.lines()
            .any(|l| l.contains(&migration.to_string()) && l.contains("MIGRATION"))
            && s.contains(&format!(
                "migration: pid {migration} (run by pglocks guard (found by"
            ))
    };
    let screen = t
        .wait_for(
            "the command's backend pinned",
            pinned,
            Duration::from_secs(10),
        )
        .await;
    assert!(
        screen.contains(&blocker_pid.to_string()),
        "the blocker is in the tree: {screen}"
    );
    assert!(t.has_colour(), "the default theme has colours:\n{screen}");
    // The breaker's line, inside the view: nothing scribbled over it.
    let screen = t
        .wait_for(
            "the breaker's line in the view",
            |s| s.contains("breaker cancelled the statement"),
            Duration::from_secs(10),
        )
        .await;
    assert!(screen.contains("guard:"), "still the live view: {screen}");
    blocker.batch_execute("COMMIT").await.unwrap();
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            Duration::from_secs(20),
        )
        .await;
    assert!(screen.contains("GUARD-EXIT=0"), "{screen}");
    // The terminal is back: the view's rows are gone, the guard's lines are printed.
    assert!(!screen.contains("q leaves the view"), "{screen}");
    let lines: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with("pglocks: "))
        .collect();
    let at = |what: &str| lines.iter().position(|l| l.contains(what));
    let order = [
        at("attempt 1: started"),
        at("breaker cancelled the statement"),
        at("attempt 2: started"),
        at("exit 0: attempt 2 succeeded"),
        at("the command's output:"),
    ];
    assert!(order.iter().all(Option::is_some), "{screen}");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{screen}");
    assert!(has_column(&c, "tui").await);
    let out = dir.path().join("guard.output.log");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("canceling statement due to user request"),
        "{text}"
    );
    assert!(text.contains("ALTER TABLE"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let recording = std::fs::read_to_string(dir.path().join("guard.jsonl")).unwrap();
    assert!(
        recording.contains("\"output\":"),
        "the recording names the output file"
    );
}

/// `guard --tui` in tmux on an ALTER that waits (30 s before the breaker would act), once
/// the view shows the command's backend: the screen and the migration's pid.
async fn open_guarded_view(db: &TestDb, dir: &Path, extra: &str) -> (common::tmux::Tmux, i32) {
    let command = tui_command(
        db,
        dir,
        &format!("--max-lock-wait 30s {extra}"),
        "ALTER TABLE orders ADD COLUMN tui int",
    );
    let t = common::tmux::Tmux::start(&command, 160, 40);
    let migration = waiting_alter(db).await;
    t.wait_for(
        "the view",
        |s| s.contains(&format!("migration: pid {migration}")),
        Duration::from_secs(10),
    )
    .await;
    (t, migration)
}

/// `pglocks guard --tui ARGS -- psql -c SQL` in DIR, for tmux; the guard's exit code is
/// echoed after it as GUARD-EXIT=N.
fn tui_command(db: &TestDb, dir: &Path, args: &str, sql: &str) -> String {
    tui_guarding(
        db,
        dir,
        args,
        &format!("{PSQL} -X -v ON_ERROR_STOP=1 -c '{sql}'"),
    )
}

/// `pglocks guard --tui ARGS -- COMMAND` in DIR, for tmux, then GUARD-EXIT=N.
fn tui_guarding(db: &TestDb, dir: &Path, args: &str, command: &str) -> String {
    let env: Vec<String> = pg_env(db)
        .iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    format!(
        "cd {} && env -u PGAPPNAME -u NO_COLOR -u PGLOCKS_THEME -u PGLOCKS_CONFIG {} {} guard --tui --record guard.jsonl --interval 200ms --backoff 200ms..400ms {args} -- {command}; echo GUARD-EXIT=$?; sleep 60",
        dir.display(),
        env.join(" "),
        env!("CARGO_BIN_EXE_pglocks"),
    )
}

/// The pid of the backend whose ALTER TABLE waits on a lock (the guarded psql's).
async fn waiting_alter(db: &TestDb) -> i32 {
    let (watch, _) = session(db, "test-watch").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = watch
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE%'",
                &[],
            )
            .await
            .unwrap();
        if let Some(r) = row {
            return r.get(0);
        }
        assert!(Instant::now() < deadline, "the migration never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// In the view the terminal is raw, so Ctrl-C is a key: the guard forwards it to the
/// command as SIGINT, does not retry, and the view closes when the command has exited.
/// SIGTERM to the guard likewise.
#[tokio::test]
async fn with_tui_ctrl_c_and_sigterm_reach_the_command_and_are_not_retried() {
    let db = TestDb::new().await;
    let _c = setup(&db).await;
    let (blocker, _) = reading_orders(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let (t, migration) = open_guarded_view(&db, dir.path(), "").await;
    // The details of the command's backend say how the guard found it. The guard's rows
    // can name it before the view's own poll has it in the tree: move only once it is there.
    let row = format!("{migration} MIGRATION");
    t.wait_for(
        "the migration's row in the tree",
        |s| s.contains(&row),
        Duration::from_secs(10),
    )
    .await;
    t.keys("j");
    t.wait_for(
        "the cursor on the migration",
        |s| s.lines().any(|l| l.contains(&row) && l.contains('▶')),
        Duration::from_secs(10),
    )
    .await;
    t.keys("Enter");
    t.wait_for(
        "the migration's details",
        |s| {
            s.contains(
                "migration: runs DDL (ALTER TABLE); run by pglocks guard (found by its TCP connection (/proc))",
            )
        },
        Duration::from_secs(10),
    )
    .await;
    t.keys("Escape");
    t.keys("C-c");
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            Duration::from_secs(20),
        )
        .await;
    assert!(
        screen.contains("SIGINT forwarded to the command"),
        "{screen}"
    );
    assert!(screen.contains("was interrupted"), "{screen}");
    assert!(!screen.contains("attempt 2"), "{screen}");
    assert!(
        screen.contains("GUARD-EXIT=1"),
        "psql exits 1 after Ctrl-C: {screen}"
    );
    assert!(!screen.contains("q leaves the view"), "{screen}");
    drop(t);

    // SIGTERM to the guard: forwarded too, and the view stays until the command has
    // exited. Same server, same blocker.
    let dir = tempfile::tempdir().unwrap();
    let (t, migration) = open_guarded_view(&db, dir.path(), "").await;
    // The guard's pid, from the PGAPPNAME it gave psql.
    let (watch, _) = session(&db, "test-watch").await;
    let app: String = watch
        .query_one(
            "SELECT application_name FROM pg_stat_activity WHERE pid = $1",
            &[&migration],
        )
        .await
        .unwrap()
        .get(0);
    let guard_pid: i32 = app.strip_prefix("pglocks-guard-").unwrap().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(guard_pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            Duration::from_secs(20),
        )
        .await;
    assert!(
        screen.contains("SIGTERM forwarded to the command"),
        "{screen}"
    );
    assert!(screen.contains("was interrupted"), "{screen}");
    assert!(!screen.contains("attempt 2"), "{screen}");
    assert!(!screen.contains("q leaves the view"), "{screen}");
    // Nobody else was signalled: the blocker's transaction is intact.
    blocker.batch_execute("COMMIT").await.unwrap();
}

/// q leaves the view and nothing else: the guard and the migration go on in plain mode.
#[tokio::test]
async fn with_tui_q_leaves_the_view_and_the_guard_goes_on() {
    let db = TestDb::new().await;
    let c = setup(&db).await;
    let (blocker, _) = reading_orders(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let (t, migration) = open_guarded_view(&db, dir.path(), "--theme mono").await;
    // The view takes the user's theme, as the live view does: mono has no colour at all.
    assert!(!t.has_colour(), "mono has no colours:\n{}", t.screen());
    t.keys("q");
    t.wait_for(
        "the plain terminal",
        |s| s.contains("left the live view; the guard goes on") && !s.contains("q leaves the view"),
        Duration::from_secs(10),
    )
    .await;
    // The migration still waits: leaving the view signalled nobody.
    assert_eq!(waiting_alter(&db).await, migration);
    blocker.batch_execute("COMMIT").await.unwrap();
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            Duration::from_secs(20),
        )
        .await;
    assert!(screen.contains("GUARD-EXIT=0"), "{screen}");
    assert!(screen.contains("exit 0: attempt 1 succeeded"), "{screen}");
    assert!(has_column(&c, "tui").await);
}

/// A command that reads from the terminal (a password prompt) under --tui has none: the
/// terminal stops it (SIGTTIN). The guard says so instead of waiting without a word, and
/// Ctrl-C still ends it (the signal is followed by SIGCONT, or it would stay pending).
#[tokio::test]
async fn with_tui_a_command_stopped_at_a_prompt_is_reported_and_ctrl_c_ends_it() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let command = tui_guarding(
        &db,
        dir.path(),
        "",
        // tmux's panes ignore SIGTTIN (a read then fails with EIO instead); a login
        // shell's jobs do not.
        "env --default-signal sh -c \"echo password: ; read x < /dev/tty; echo never\"",
    );
    let t = common::tmux::Tmux::start(&command, 160, 40);
    t.wait_for(
        "the stopped command reported in the view",
        |s| {
            s.contains("is stopped: it tried to use the terminal")
                && s.contains("q leaves the view")
        },
        Duration::from_secs(15),
    )
    .await;
    t.keys("C-c");
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            Duration::from_secs(15),
        )
        .await;
    assert!(screen.contains("was interrupted"), "{screen}");
    assert!(screen.contains("GUARD-EXIT=130"), "{screen}");
    let out = std::fs::read_to_string(dir.path().join("guard.output.log")).unwrap();
    assert!(out.lines().any(|l| l == "password:"), "{out}");
    assert!(!out.lines().any(|l| l == "never"), "{out}");
}
