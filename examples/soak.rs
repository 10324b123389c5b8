//! Soak: the live view for a long time against a churning pile-up, to see that its memory
//! stays flat and what a refresh costs as the incident moves.
//!
//! A throwaway cluster; a long transaction holds AccessShareLock on `orders`, a migration
//! waits behind it for AccessExclusiveLock, and behind the migration about WAITERS sessions
//! come and go every second: half are new connections (new backends, new pids) that give up
//! after a few seconds, half are a fixed pool whose sessions wait, give up, idle and wait
//! again (the same pids leaving and re-entering the tree). `pglocks` (the release binary,
//! `--interval 1s`) runs in a detached tmux window of 160x50; every minute this prints the
//! process's resident memory and the CPU it used per refresh over that minute.
//!
//! `cargo build --release && cargo run --release --example soak [MINUTES] [WAITERS]`
//! (defaults 15 and 50). PGLOCKS_BIN overrides the binary (default target/release/pglocks).
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pglocks::cluster::Cluster;
use pglocks::stage::{Stage, migration_pileup};
use tokio_postgres::NoTls;

fn arg(n: usize, default: u64) -> Result<u64> {
    std::env::args().nth(n).map_or(Ok(default), |s| {
        s.parse().context("arguments: [MINUTES] [WAITERS]")
    })
}

/// One queued statement on a connection of its own that gives up after `patience`.
async fn wait_once(dsn: &str, patience: Duration) -> Result<()> {
    let (client, conn) =
        tokio_postgres::connect(&format!("{dsn} application_name=churn"), NoTls).await?;
    let task = tokio::spawn(conn);
    let sql = format!(
        "SET statement_timeout = {}; SELECT * FROM orders WHERE id = 1",
        patience.as_millis()
    );
    let _ = client.batch_execute(&sql).await;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// A pooled session: waits, gives up, idles, waits again, on the same backend.
async fn pooled(dsn: String, seed: u64) -> Result<()> {
    let (client, conn) =
        tokio_postgres::connect(&format!("{dsn} application_name=pool"), NoTls).await?;
    tokio::spawn(conn);
    let mut n = seed;
    loop {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let wait_ms = 1000 + (n >> 33) % 4000;
        let idle_ms = 500 + (n >> 17) % 2500;
        let sql = format!("SET statement_timeout = {wait_ms}; SELECT * FROM orders WHERE id = 1");
        let _ = client.batch_execute(&sql).await;
        tokio::time::sleep(Duration::from_millis(idle_ms)).await;
    }
}

/// (resident bytes, CPU seconds used so far) of `pid`.
fn usage(pid: &str) -> Result<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?.unwrap_or(100) as f64;
    Ok((rss_kb * 1024, ticks / hz))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let minutes = arg(1, 15)?;
    let waiters = arg(2, 50)?;
    let bin = std::env::var("PGLOCKS_BIN").unwrap_or_else(|_| "target/release/pglocks".into());
    if !std::path::Path::new(&bin).is_file() {
        bail!("{bin} not found: run `cargo build --release` first, or set PGLOCKS_BIN");
    }
    let cluster =
        tokio::task::spawn_blocking(|| Cluster::start(&["max_connections=300"])).await??;
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await?;
    migration_pileup(&mut stage, 0, true).await?;

    let pool = waiters / 2;
    for i in 0..pool {
        let dsn = dsn.clone();
        tokio::spawn(pooled(dsn, i + 1));
    }
    // New connections: about WAITERS/2 alive at a time, each waiting 3 to 7 s.
    let fresh_per_second = (waiters - pool).div_ceil(5).max(1);
    let churn_dsn = dsn.clone();
    tokio::spawn(async move {
        let mut n = 0u64;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            for _ in 0..fresh_per_second {
                n += 1;
                let dsn = churn_dsn.clone();
                let patience = Duration::from_millis(3000 + (n * 7919) % 4000);
                tokio::spawn(async move { wait_once(&dsn, patience).await });
            }
        }
    });

    let socket = format!("pglocks-soak-{}", std::process::id());
    let status = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "new-session",
            "-d",
            "-s",
            "soak",
            "-x",
            "160",
            "-y",
            "50",
        ])
        .arg(format!("exec {bin} '{dsn}' --interval 1s"))
        .env_remove("TMUX")
        .status()
        .context("tmux is needed")?;
    if !status.success() {
        bail!("tmux new-session failed");
    }
    let out = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "display-message",
            "-p",
            "-t",
            "soak",
            "#{pane_pid}",
        ])
        .output()?;
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    println!(
        "soak: pglocks pid {pid}, {waiters} churning waiters ({pool} pooled, {fresh_per_second}/s new), {minutes} min, 1 refresh/s"
    );
    println!("minute  rss_MB  cpu_ms_per_refresh  waiting_now");
    let started = Instant::now();
    let (mut last_rss, mut last_cpu) = usage(&pid)?;
    println!(
        "{:>6}  {:>6.1}  {:>18}  {:>11}",
        0,
        last_rss as f64 / 1e6,
        "-",
        "-"
    );
    let mut peak = last_rss;
    for minute in 1..=minutes {
        let next = started + Duration::from_secs(60 * minute);
        tokio::time::sleep_until(next.into()).await;
        let (rss, cpu) = usage(&pid).with_context(|| format!("pglocks ({pid}) has exited"))?;
        let waiting: i64 = stage
            .monitor()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                &[],
            )
            .await?
            .get(0);
        println!(
            "{minute:>6}  {:>6.1}  {:>18.2}  {waiting:>11}",
            rss as f64 / 1e6,
            (cpu - last_cpu) * 1000.0 / 60.0
        );
        peak = peak.max(rss);
        last_rss = rss;
        last_cpu = cpu;
    }
    println!(
        "soak: final RSS {:.1} MB, peak {:.1} MB",
        last_rss as f64 / 1e6,
        peak as f64 / 1e6
    );
    let _ = Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .status();
    Ok(())
}
