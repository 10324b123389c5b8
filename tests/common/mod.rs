//! The test harness: a real PostgreSQL for every test that touches a database.
//!
//! Each test gets its own throwaway cluster (initdb + pg_ctl, as an unprivileged user when
//! run as root), or, with PGLOCKS_TEST_DSN set, its own new database on that server. The
//! monitor then filters to that database, so tests running in parallel never see each
//! other's sessions. Without either, a test fails and says how to get a server.
#![allow(dead_code)]

pub mod bin;
pub mod fixture;
pub mod roles;
pub mod tmux;
pub mod tui_state;

use std::sync::atomic::{AtomicU32, Ordering};

use pglocks::analysis::{Analysis, Options, analyze};
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{self, Host, Overrides, ProcessEnv};
use pglocks::db::{self, Connection};
use pglocks::stage::Stage;

pub struct TestDb {
    cluster: Option<Cluster>,
    base: String,
    pub dbname: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

const NO_SERVER: &str = "no PostgreSQL to test against. Install server binaries (apt-get install postgresql, or set PGLOCKS_PG_BINDIR), or point PGLOCKS_TEST_DSN at a server you own, e.g. `docker compose up -d` and PGLOCKS_TEST_DSN='host=127.0.0.1 port=54329 user=postgres password=pglocks'";

/// A conninfo string without dbname, for the server named in PGLOCKS_TEST_DSN.
fn external_base(dsn: &str) -> String {
    let p = conninfo::resolve(Some(dsn), &Overrides::default(), &ProcessEnv)
        .unwrap_or_else(|e| panic!("PGLOCKS_TEST_DSN is not a valid connection string: {e}"));
    let host = match p.hosts.first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Socket(dir)) => dir.display().to_string(),
        None => "localhost".into(),
    };
    let mut base = format!(
        "host='{host}' port={} user='{}' sslmode={}",
        p.port,
        p.user,
        p.sslmode.as_str()
    );
    if let Some(pw) = &p.password {
        base.push_str(&format!(" password='{}'", pw.expose().replace('\'', "\\'")));
    }
    base
}

impl TestDb {
    pub async fn new() -> TestDb {
        Self::with_settings(&[]).await
    }

    /// `settings` are `name=value` server options for a throwaway cluster; with an external
    /// server they cannot be applied, and the test says so if it needs them.
    pub async fn with_settings(settings: &'static [&'static str]) -> TestDb {
        match std::env::var("PGLOCKS_TEST_DSN") {
            Ok(dsn) if !dsn.is_empty() => Self::on(None, external_base(&dsn)).await,
            _ => Self::throwaway(settings).await,
        }
    }

    /// A database on a throwaway cluster of our own, even when PGLOCKS_TEST_DSN is set, for
    /// a test that needs the server's processes, files or settings; `why` says which.
    /// None when no server binaries are installed (the test then failed, or was skipped
    /// under PGLOCKS_TEST_ALLOW_SKIP=1, with the reason).
    pub async fn local(why: &str, settings: &'static [&'static str]) -> Option<TestDb> {
        if !local_binaries(why) {
            return None;
        }
        Some(Self::throwaway(settings).await)
    }

    async fn throwaway(settings: &'static [&'static str]) -> TestDb {
        let cluster = tokio::task::spawn_blocking(move || Cluster::start(settings))
            .await
            .expect("cluster thread")
            .unwrap_or_else(|e| panic!("{e:#}\n{NO_SERVER}"));
        let base = format!(
            "host=127.0.0.1 port={} user=postgres sslmode=disable",
            cluster.port
        );
        Self::on(Some(cluster), base).await
    }

    async fn on(cluster: Option<Cluster>, base: String) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dbname = format!("pglocks_t_{}_{n}", std::process::id());
        let (admin, conn) =
            tokio_postgres::connect(&format!("{base} dbname=postgres"), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}\n{NO_SERVER}"));
        let task = tokio::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE {dbname}"))
            .await
            .expect("create the test database");
        drop(admin);
        let _ = task.await;
        TestDb {
            cluster,
            base,
            dbname,
        }
    }

    pub fn dsn(&self) -> String {
        format!("{} dbname={}", self.base, self.dbname)
    }

    pub fn dsn_for(&self, dbname: &str) -> String {
        format!("{} dbname={dbname}", self.base)
    }

    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    pub async fn stage(&self) -> Stage {
        Stage::new(&self.dsn()).await.expect("stage sessions")
    }

    /// The monitor's connection, made exactly as the pglocks binary makes it.
    pub async fn monitor(&self) -> Connection {
        let params = conninfo::resolve(Some(&self.dsn()), &Overrides::default(), &ProcessEnv)
            .expect("test dsn parses");
        db::connect(&params, &ProcessEnv)
            .await
            .expect("monitor connects")
    }

    /// One poll of this test's database, analysed with `opts`.
    pub async fn analyze_with(&self, opts: &Options) -> Analysis {
        let conn = self.monitor().await;
        let snap = conn.poll(Some(&self.dbname)).await.expect("poll");
        analyze(snap, opts)
    }

    pub async fn analyze(&self) -> Analysis {
        self.analyze_with(&Options::default()).await
    }
}

/// A test that cannot run here fails and says why; with PGLOCKS_TEST_ALLOW_SKIP=1 it says
/// SKIPPED and why instead, and the caller returns. Never a silent pass.
pub fn cannot_run(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    if std::env::var("PGLOCKS_TEST_ALLOW_SKIP").is_ok_and(|v| v == "1") {
        // Straight to stderr: eprintln! in a passing test is captured and never shown.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
        return;
    }
    panic!("{test} cannot run: {why} (set PGLOCKS_TEST_ALLOW_SKIP=1 to skip it instead)");
}

/// Whether this test may start clusters of its own (server binaries are installed); if
/// not, it fails or, under PGLOCKS_TEST_ALLOW_SKIP=1, is skipped, with the reason.
pub fn local_binaries(why: &str) -> bool {
    match pglocks::cluster::find_bindir() {
        Ok(_) => true,
        Err(e) => {
            cannot_run(&format!("{why}, which needs local server binaries: {e:#}"));
            false
        }
    }
}

pub fn codes(a: &Analysis) -> Vec<&str> {
    a.findings.iter().map(|f| f.code.as_str()).collect()
}

pub fn root_pids(a: &Analysis) -> Vec<i32> {
    a.graph.roots.iter().map(|r| r.pid).collect()
}

pub fn edge(a: &Analysis, waiter: i32, blocker: i32) -> &pglocks::graph::Edge {
    a.graph
        .edges
        .iter()
        .find(|e| e.waiter == waiter && e.blocker == blocker)
        .unwrap_or_else(|| panic!("no edge {waiter} -> {blocker}; edges: {:?}", a.graph.edges))
}

/// Whether pg_stat_activity lists `pid`.
pub async fn listed(client: &tokio_postgres::Client, pid: i32) -> bool {
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .await
        .unwrap_or_else(|e| panic!("reading pg_stat_activity: {e}"))
        .get(0);
    n > 0
}

/// Waits for `pid` to leave pg_stat_activity: pg_terminate_backend only sends the signal,
/// and the backend exits a moment later. False if it is still listed after `within`.
pub async fn gone_within(
    client: &tokio_postgres::Client,
    pid: i32,
    within: std::time::Duration,
) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if !listed(client, pid).await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
