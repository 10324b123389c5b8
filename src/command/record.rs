//! `pglocks record`: the poller without a screen, every poll appended to the recording,
//! until SIGINT or SIGTERM. Made for a background job during a risky deploy.
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
    let params = args.conn.resolve()?;
    let recorder = session::open(
        &args.output,
        params.describe(),
        args.interval,
        args.analysis.database.clone(),
        args.analysis.redact.enabled,
    )?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let stop = async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    };
    let config = PollerConfig {
        params,
        interval: args.interval,
        database: args.analysis.database.clone(),
        options: args.analysis.options(),
        redact: args.analysis.redact.enabled,
        record: Some(recorder.sink()),
        pins: None,
    };
    let path = recorder.path().to_path_buf();
    let summary = session::run(config, recorder, stop).await?;
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

fn bytes(n: u64) -> String {
    match n {
        0..10_000 => format!("{n} bytes"),
        10_000..10_000_000 => format!("{} kB", n / 1000),
        _ => format!("{} MB", n / 1_000_000),
    }
}
