//! The statements compared with pglocks' poll, server time from pg_stat_statements, and
//! CPU and memory from /proc.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls, Statement};

pub const BARE_ACTIVITY: &str = "SELECT * FROM pg_stat_activity";
/// pg_blocking_pids only for the backends that wait on a lock, as pglocks' poll calls it.
pub const WAITERS_ONLY: &str =
    "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
pub const WIKI: &str = include_str!("wiki_lock_query.sql");
/// The lock table copied once, the floor of any poll that reads pg_locks.
pub const LOCK_COUNT: &str = "SELECT count(*) FROM pg_locks";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pglocks,
    Activity,
    Blocking,
    Wiki,
    LockCount,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Pglocks,
        Kind::Activity,
        Kind::Blocking,
        Kind::Wiki,
        Kind::LockCount,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Pglocks => "pglocks poll (queries/poll.sql)",
            Kind::Activity => "bare SELECT * FROM pg_stat_activity",
            Kind::Blocking => "pg_blocking_pids for waiters only",
            Kind::Wiki => "classic pg_locks self-join (wiki)",
            Kind::LockCount => "SELECT count(*) FROM pg_locks",
        }
    }

    /// Which measured statement a pg_stat_statements entry is.
    pub fn of_query(text: &str) -> Option<Kind> {
        if text.contains("WITH act AS MATERIALIZED") {
            Some(Kind::Pglocks)
        } else if text.contains("blocked_locks") {
            Some(Kind::Wiki)
        } else if text.contains("pg_blocking_pids(pid) FROM pg_stat_activity") {
            Some(Kind::Blocking)
        } else if text.trim() == LOCK_COUNT {
            Some(Kind::LockCount)
        } else if text.trim() == BARE_ACTIVITY {
            Some(Kind::Activity)
        } else {
            None
        }
    }
}

pub struct PgssRow {
    pub query: String,
    pub calls: i64,
    pub exec_ms: f64,
    pub plan_ms: f64,
}

/// The benchmark's own session: runs the compared statements and reads the statistics.
pub struct Bench {
    pub client: Client,
    statements: Vec<(Kind, Statement)>,
    /// pg_stat_statements is loaded and readable here.
    pub pgss: bool,
    /// pg_stat_statements.track_planning is on, so plan times are real.
    pub plans: bool,
    task: JoinHandle<()>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Bench {
    pub async fn connect(dsn: &str) -> Result<Bench> {
        let mut cfg: tokio_postgres::Config = dsn.parse().context("the connection string")?;
        cfg.application_name("pollbench");
        let (client, conn) = cfg.connect(NoTls).await.context("connecting")?;
        let task = tokio::spawn(async move {
            let _ = conn.await;
        });
        let pgss = client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .await
            .is_ok()
            && client
                .batch_execute("SELECT pg_stat_statements_reset()")
                .await
                .is_ok();
        let plans = pgss
            && client
                .query_one(
                    "SELECT current_setting('pg_stat_statements.track_planning')",
                    &[],
                )
                .await
                .map(|r| r.get::<_, String>(0) == "on")
                .unwrap_or(false);
        let mut statements = Vec::new();
        for (kind, sql) in [
            (Kind::Activity, BARE_ACTIVITY),
            (Kind::Blocking, WAITERS_ONLY),
            (Kind::Wiki, WIKI),
            (Kind::LockCount, LOCK_COUNT),
        ] {
            statements.push((kind, client.prepare(sql).await?));
        }
        Ok(Bench {
            client,
            statements,
            pgss,
            plans,
            task,
        })
    }

    /// One execution, rows received and decoded into tokio-postgres rows: the round trip.
    pub async fn run(&self, kind: Kind) -> Result<(Duration, usize)> {
        let stmt = self
            .statements
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| s)
            .context("not a bare statement")?;
        let t = Instant::now();
        let rows = self.client.query(stmt, &[]).await?;
        Ok((t.elapsed(), rows.len()))
    }

    pub async fn reset(&self) -> Result<()> {
        if self.pgss {
            self.client
                .batch_execute("SELECT pg_stat_statements_reset()")
                .await?;
        }
        Ok(())
    }

    /// Everything pg_stat_statements saw since the last reset, but our own reads of it.
    pub async fn statements(&self) -> Result<Vec<PgssRow>> {
        if !self.pgss {
            return Ok(Vec::new());
        }
        let rows = self
            .client
            .query(
                "SELECT query, calls, total_exec_time, total_plan_time FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PgssRow {
                query: r.get(0),
                calls: r.get(1),
                exec_ms: r.get(2),
                plan_ms: r.get(3),
            })
            .collect())
    }
}

pub fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU time of this process so far, every thread: the scheduler's nanosecond counts where
/// the kernel keeps them, else utime + stime.
pub fn self_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
        .filter(|d| !d.is_zero())
        .or_else(|| proc_cpu("self"))
}

/// utime + stime of a process (threads that have exited included), from /proc/PID/stat.
pub fn proc_cpu(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).ok()?;
    // The command name may contain spaces; the fields after it do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Peak resident set size (VmHWM) in kB.
pub fn peak_rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid).join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
