//! `pglocks record`: the poller without a screen, every poll appended to the recording,
//! until SIGINT or SIGTERM. Made for a background job during a risky deploy. With
//! `--server`, every server into the same file (record/fleet.rs).
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use tokio::signal::unix::{SignalKind, signal};

use crate::args::{AnalysisArgs, ConnArgs, parse_interval};
use crate::poller::PollerConfig;
use crate::record::session;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// The new recording file (never overwrites)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Poll period: 500ms, 1s, or a bare number of seconds (200ms to 1h)
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
}

pub async fn run(args: &Args) -> Result<()> {
    let (path, summary) = if args.conn.servers.is_empty() {
        record_one(args).await?
    } else {
        record_several(args).await?
    };
    let size = std::fs::metadata(&path).map_or(summary.bytes, |m| m.len());
    eprintln!(
        "pglocks record: stopped; {} in {} ({})",
        crate::humanize::plural(summary.snapshots as usize, "poll", "polls"),
        path.display(),
        bytes(size)
    );
    if summary.dropped > 0 {
        eprintln!(
            "pglocks record: {} not recorded because the disk fell behind",
            crate::humanize::plural(summary.dropped as usize, "poll was", "polls were")
        );
    }
    if let Some(e) = summary.error {
        bail!("recording {}: {e}", path.display());
    }
    Ok(())
}

async fn record_one(args: &Args) -> Result<(PathBuf, crate::record::Summary)> {
    let params = args.conn.resolve()?;
    let recorder = session::open(
        &args.output,
        params.describe(),
        args.interval,
        args.analysis.database.clone(),
        args.analysis.redact.enabled,
    )?;
    let stop = stop_signal()?;
    let config = poller_config(args, params);
    let config = PollerConfig {
        record: Some(recorder.sink()),
        ..config
    };
    let path = recorder.path().to_path_buf();
    Ok((path, session::run(config, recorder, stop).await?))
}

/// One file for all servers, each snapshot line naming its server: the recording format
/// stays the one every reader knows (docs/standby.md).
async fn record_several(args: &Args) -> Result<(PathBuf, crate::record::Summary)> {
    let servers = crate::fleet::resolve_servers(&args.conn)?;
    let names: Vec<String> = servers.iter().map(|(n, _)| n.clone()).collect();
    if let Some(dup) = names
        .iter()
        .enumerate()
        .find(|(i, n)| names[..*i].contains(n))
        .map(|(_, n)| n)
    {
        bail!("two servers are called {dup}: name them (--server NAME=CONN)");
    }
    let recorder = crate::record::fleet::open(
        &args.output,
        &names,
        args.interval,
        args.analysis.database.clone(),
        args.analysis.redact.enabled,
    )?;
    let stop = stop_signal()?;
    let configs = servers
        .into_iter()
        .map(|(name, params)| (name, poller_config(args, params)))
        .collect();
    let path = recorder.path().to_path_buf();
    Ok((
        path,
        crate::record::fleet::run(configs, recorder, stop).await?,
    ))
}

fn poller_config(args: &Args, params: crate::db::conninfo::ConnParams) -> PollerConfig {
    args.analysis.poller(params, args.interval)
}

fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    })
}

fn bytes(n: u64) -> String {
    match n {
        0..10_000 => format!("{n} bytes"),
        10_000..10_000_000 => format!("{} kB", n / 1000),
        _ => format!("{} MB", n / 1_000_000),
    }
}
