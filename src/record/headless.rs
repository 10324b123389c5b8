//! `pglocks record`: the poller without a screen, every poll appended to the recording,
//! until SIGINT or SIGTERM. Made for a background job during a risky deploy.
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::signal::unix::{SignalKind, signal};

use super::format::Header;
use super::writer::{Recorder, Summary};
use crate::cli::{AnalysisArgs, RecordArgs};
use crate::poller::{self, PollerConfig, PollerEvent};

/// Creates the recording for a live session: before anything else, so that an existing
/// file or a missing directory is a plain one-line error.
pub fn open(
    path: &Path,
    target: String,
    interval: Duration,
    analysis: &AnalysisArgs,
) -> Result<Recorder> {
    let header = Header::new(
        target,
        interval,
        analysis.database.clone(),
        analysis.redact.enabled,
    );
    Ok(Recorder::create(path, &header)?)
}

/// The TUI's `--record FILE`, if given.
pub fn open_for_tui(
    path: Option<&Path>,
    target: String,
    interval: Duration,
    analysis: &AnalysisArgs,
) -> Result<Option<Recorder>> {
    path.map(|p| open(p, target, interval, analysis))
        .transpose()
}

pub async fn record(args: &RecordArgs) -> Result<()> {
    let params = crate::headless::conn_params(&args.conn)?;
    let recorder = open(
        &args.output,
        params.describe(),
        args.interval,
        &args.analysis,
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
    };
    let path = recorder.path().to_path_buf();
    let summary = run(config, recorder, stop).await?;
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

/// Records until `stop` resolves; the library form of `pglocks record`. `config.record`
/// should be `recorder`'s sink. A connection that fails before ever succeeding ends the
/// recording with that error (and removes the empty file); later failures are retried.
pub async fn run(
    config: PollerConfig,
    recorder: Recorder,
    stop: impl Future<Output = ()>,
) -> Result<Summary> {
    let (mut events, commands) = poller::spawn(config);
    tokio::pin!(stop);
    let mut connected = false;
    let mut failing: Option<String> = None;
    let mut first_failure: Option<String> = None;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => match event {
                None => break,
                Some(PollerEvent::Connected { target, .. }) => {
                    connected = true;
                    failing = None;
                    eprintln!(
                        "pglocks record: connected to {target}; recording to {} until SIGINT or SIGTERM",
                        recorder.path().display()
                    );
                }
                Some(PollerEvent::Polled { .. }) => {
                    if failing.take().is_some() {
                        eprintln!("pglocks record: polling again");
                    }
                }
                Some(PollerEvent::Failed(why)) => {
                    if !connected {
                        first_failure = Some(why);
                        break;
                    }
                    if failing.as_deref() != Some(why.as_str()) {
                        eprintln!("pglocks record: {why}; retrying");
                    }
                    failing = Some(why);
                }
                Some(PollerEvent::Signalled { .. }) => {}
            },
        }
    }
    // Closing the command channel ends the poller at its next turn.
    drop(commands);
    drop(events);
    let path = recorder.path().to_path_buf();
    let summary = tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .context("closing the recording")?;
    if let Some(why) = first_failure {
        if summary.snapshots == 0 {
            let _ = std::fs::remove_file(&path);
        }
        bail!("{why}");
    }
    Ok(summary)
}

fn bytes(n: u64) -> String {
    match n {
        0..10_000 => format!("{n} bytes"),
        10_000..10_000_000 => format!("{} kB", n / 1000),
        _ => format!("{} MB", n / 1_000_000),
    }
}
