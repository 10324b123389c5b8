//! The thread that owns the monitor's connection: one analysed Snapshot per tick on a
//! bounded channel, reconnecting after failures, and running signals when asked. The UI
//! never waits on it; everything it says arrives as a message.
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::analysis::{Analysis, Options};
use crate::db::conninfo::{ConnParams, ProcessEnv};
use crate::db::{self, Connection, DbError, Privileges, Signal, SignalOutcome};

#[derive(Debug)]
pub enum PollerEvent {
    Connected {
        target: String,
        privileges: Privileges,
        monitor_pid: i32,
    },
    Polled {
        analysis: Box<Analysis>,
        latency: Duration,
    },
    Failed(String),
    Signalled {
        signal: Signal,
        pid: i32,
        outcome: SignalOutcome,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone)]
pub enum PollerCommand {
    Signal {
        signal: Signal,
        pid: i32,
        backend_start: DateTime<Utc>,
    },
    /// Poll now instead of at the next tick (after a signal, or on the user's request).
    Refresh,
}

/// Past this without a poll a server is stale (down, frozen or slow): three intervals,
/// at least two seconds. The strip and the recording of several servers both use it.
pub fn stale_after(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(2))
}

pub struct PollerConfig {
    pub params: ConnParams,
    pub interval: Duration,
    pub database: Option<String>,
    pub options: Options,
    /// `--redact`: every snapshot is redacted before anything else sees it.
    pub redact: bool,
    /// `--record`: every analysis and every signal's outcome is appended to the recording.
    pub record: Option<crate::record::RecordSink>,
    /// Sessions another part of pglocks knows to be the migration (`guard --tui`: the
    /// command's backends), read afresh for every poll.
    pub pins: Option<tokio::sync::watch::Receiver<Vec<crate::pipeline::Pin>>>,
}

/// The poller gets its own thread and a single-threaded runtime. The connection's task and
/// the poll that reads its rows then share one thread: on a multi-threaded runtime every
/// batch of rows woke the other thread, and at 1,200 sessions those wake-ups and context
/// switches cost a quarter of the client's CPU per refresh (examples/pollbench). It also
/// keeps decoding and analysis, which grow with the server, off the UI's thread.
pub fn spawn(config: PollerConfig) -> (mpsc::Receiver<PollerEvent>, mpsc::Sender<PollerCommand>) {
    let (events_tx, events_rx) = mpsc::channel(8);
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let on_failure = events_tx.clone();
    let started = std::thread::Builder::new()
        .name("pglocks-poller".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(run(config, events_tx, cmd_rx)),
                Err(e) => {
                    let why = format!("cannot start the poller's runtime: {e}");
                    let _ = events_tx.blocking_send(PollerEvent::Failed(why));
                }
            }
        });
    if let Err(e) = started {
        let _ = on_failure.try_send(PollerEvent::Failed(format!(
            "cannot start the poller's thread: {e}"
        )));
    }
    (events_rx, cmd_tx)
}

async fn run(
    config: PollerConfig,
    events: mpsc::Sender<PollerEvent>,
    mut commands: mpsc::Receiver<PollerCommand>,
) {
    let mut conn: Option<Connection> = None;
    let mut failures: u32 = 0;
    let mut progress = crate::model::ProgressTracker::default();
    loop {
        if conn.is_none() {
            match db::connect(&config.params, &ProcessEnv).await {
                Ok(c) => {
                    failures = 0;
                    let hello = PollerEvent::Connected {
                        target: c.target.clone(),
                        privileges: c.privileges.clone(),
                        monitor_pid: c.monitor_pid,
                    };
                    if events.send(hello).await.is_err() {
                        return;
                    }
                    conn = Some(c);
                }
                Err(e) => {
                    failures += 1;
                    if events
                        .send(PollerEvent::Failed(e.to_string()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        if let Some(c) = &conn {
            let started = Instant::now();
            let event = match c.poll(config.database.as_deref()).await {
                Ok(mut snapshot) => {
                    let latency = started.elapsed();
                    progress.update(&mut snapshot);
                    let pins = config
                        .pins
                        .as_ref()
                        .map(|p| p.borrow().clone())
                        .unwrap_or_default();
                    let analysis = Box::new(crate::pipeline::analysed(
                        snapshot,
                        &config.options,
                        config.redact,
                        &pins,
                    ));
                    if let Some(record) = &config.record {
                        record.snapshot(&analysis);
                    }
                    PollerEvent::Polled { analysis, latency }
                }
                Err(e) => {
                    if e.needs_reconnect() || c.is_closed() {
                        conn = None;
                    }
                    PollerEvent::Failed(e.to_string())
                }
            };
            if events.send(event).await.is_err() {
                return;
            }
        }
        // Back off while the server is unreachable, but never longer than 5 s.
        let wait = if conn.is_some() {
            config.interval
        } else {
            config
                .interval
                .max(Duration::from_millis(500 * u64::from(failures.min(10))))
                .min(Duration::from_secs(5))
        };
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        tokio::select! {
            _ = &mut sleep => {}
            cmd = commands.recv() => match cmd {
                None => return,
                Some(PollerCommand::Refresh) => {}
                Some(PollerCommand::Signal { signal, pid, backend_start }) => {
                    let outcome = match &conn {
                        Some(c) => c.signal(signal, pid, backend_start).await,
                        None => Err(DbError::Closed("not connected".into())),
                    };
                    let outcome = match outcome {
                        Ok(o) => o,
                        Err(e) => {
                            if e.needs_reconnect() {
                                conn = None;
                            }
                            // Past the deadline the request may have reached the server:
                            // "refused" would claim that nothing happened.
                            if matches!(e, DbError::Deadline(_)) {
                                SignalOutcome::Unknown
                            } else {
                                SignalOutcome::Refused(e.to_string())
                            }
                        }
                    };
                    let at = Utc::now();
                    if let Some(record) = &config.record {
                        record.action(crate::record::ActionLine::new(
                            crate::model::ActionRecord {
                                at,
                                action: signal.verb().into(),
                                pid,
                                result: outcome.describe(),
                            },
                            Some(&outcome),
                        ));
                    }
                    let done = PollerEvent::Signalled { signal, pid, outcome, at };
                    if events.send(done).await.is_err() {
                        return;
                    }
                    // Falls through to the next poll: show the world after the signal at once.
                }
            },
        }
    }
}
