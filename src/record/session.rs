//! A recording session: the recording file opened before anything else, and the poller
//! run without a screen, every poll appended, until told to stop.
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::format::Header;
use super::writer::{Recorder, Summary};
use crate::poller::{self, PollerConfig, PollerEvent};

/// Creates the recording for a live session: before anything else, so that an existing
/// file or a missing directory is a plain one-line error.
pub fn open(
    path: &Path,
    target: String,
    interval: Duration,
    database: Option<String>,
    redact: bool,
) -> Result<Recorder> {
    let header = Header::new(target, interval, database, redact);
    Ok(Recorder::create(path, &header)?)
}

/// The TUI's `--record FILE`, if given.
pub fn open_for_tui(
    path: Option<&Path>,
    target: String,
    interval: Duration,
    database: Option<String>,
    redact: bool,
) -> Result<Option<Recorder>> {
    path.map(|p| open(p, target, interval, database, redact))
        .transpose()
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
