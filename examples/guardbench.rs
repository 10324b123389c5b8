//! The guard's decision latency, measured on a real server: from the moment a migration's
//! lock wait crosses --max-lock-wait (pg_locks.waitstart + the limit, by the server's clock)
//! to the moment the breaker sends the cancel (the guard's clock; same host). The target is
//! at most one poll interval plus 100 ms.
//!
//! Each round runs `pglocks guard --retries 0 -- psql -c 'ALTER TABLE ...'` in this process
//! behind a session that holds AccessShareLock, and reads `latency_ms` from the round's
//! recording. `cargo run --release --example guardbench [ROUNDS]` (default 8 per interval).
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use pglocks::cli::{Cli, Command};
use pglocks::cluster::Cluster;
use pglocks::stage::Stage;

fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(Ok(8), |s| s.parse().context("argument: [ROUNDS]"))?;
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&[])).await??;
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await?;
    stage
        .exec("CREATE TABLE orders (id int); INSERT INTO orders VALUES (1);")
        .await?;
    let blocker = stage.actor("analytics").await?;
    stage
        .hold(blocker, "BEGIN; SELECT count(*) FROM orders;")
        .await?;
    let dir = tempfile::tempdir()?;
    println!("interval  rounds  latency ms (min / median / max)  target ms  met");
    for interval in ["200ms", "500ms", "1s"] {
        let mut latencies = Vec::new();
        for round in 0..rounds {
            let record = dir.path().join(format!("{interval}-{round}.jsonl"));
            let record = record.display().to_string();
            let argv = [
                "pglocks",
                "guard",
                &dsn,
                "--max-lock-wait",
                "300ms",
                "--interval",
                interval,
                "--retries",
                "0",
                "--record",
                &record,
                "--",
                "psql",
                &dsn,
                "-X",
                "-q",
                "-c",
                "ALTER TABLE orders ADD COLUMN x int",
            ];
            let Some(Command::Guard(args)) = Cli::try_parse_from(argv)?.command else {
                bail!("not a guard command line");
            };
            pglocks::command::guard::run(&args).await;
            let text = std::fs::read_to_string(&record)?;
            let latency = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["event"] == "decision" && v["action"] == "cancel")
                .and_then(|v| v["latency_ms"].as_f64())
                .with_context(|| format!("round {round}: no cancel recorded in {record}"))?;
            latencies.push(latency);
        }
        let target = pglocks::args::parse_duration(interval)
            .map_err(anyhow::Error::msg)?
            .as_secs_f64()
            * 1000.0
            + 100.0;
        let max = percentile(&latencies, 1.0);
        println!(
            "{interval:>8}  {rounds:>6}  {:>8.1} / {:>8.1} / {:>8.1}       {target:>6.0}  {}",
            percentile(&latencies, 0.0),
            percentile(&latencies, 0.5),
            max,
            if max <= target { "yes" } else { "NO" }
        );
    }
    drop(stage);
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}
