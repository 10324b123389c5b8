//! Recording several servers into one file: one poller per server, each on its own thread
//! with its own connection and client-side deadline, all writing to the same recording
//! through sinks that name their server. A server that stops answering is written down
//! as stale (a `pglocks.server/1` line), and again when it answers, instead of its polls
//! simply thinning out.
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::mpsc;

use super::format::{Header, ServerLine, ServerState};
use super::writer::{RecordSink, Recorder, Summary};
use crate::poller::{self, PollerConfig, PollerEvent};

/// Creates the recording of several servers; the header lists their names.
pub fn open(
    path: &Path,
    servers: &[String],
    interval: Duration,
    database: Option<String>,
    redact: bool,
) -> Result<Recorder> {
    let mut header = Header::new(servers.join(", "), interval, database, redact);
    header.servers = servers.to_vec();
    Ok(Recorder::create(path, &header)?)
}

/// One server's recording state, as the loop sees it.
struct Watch {
    name: String,
    connected: bool,
    last_poll: Option<Instant>,
    last_error: Option<String>,
    /// A stale line has been written and no poll has come since.
    stale: bool,
}

/// Records every `(name, config)` until `stop` resolves. Each config's `record` is set
/// here, to `recorder`'s sink for that server. Ends with an error when every server has
/// failed before any connected; otherwise a server that never answers is recorded as
/// stale.
pub async fn run(
    servers: Vec<(String, PollerConfig)>,
    recorder: Recorder,
    stop: impl Future<Output = ()>,
) -> Result<Summary> {
    let interval = servers
        .iter()
        .map(|(_, c)| c.interval)
        .min()
        .unwrap_or(Duration::from_secs(1));
    let limit = poller::stale_after(interval);
    let sink = recorder.sink();
    let started = Instant::now();
    let (merged_tx, mut merged) = mpsc::channel::<(usize, PollerEvent)>(64);
    let mut watches = Vec::new();
    let mut commands = Vec::new();
    for (i, (name, mut config)) in servers.into_iter().enumerate() {
        config.record = Some(sink.for_server(&name));
        let (mut events, cmd) = poller::spawn(config);
        commands.push(cmd);
        let tx = merged_tx.clone();
        // Forwards one poller's events; each poller runs on its own thread, so a server
        // that hangs holds up only its own forwarder.
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if tx.send((i, e)).await.is_err() {
                    break;
                }
            }
        });
        watches.push(Watch {
            name,
            connected: false,
            last_poll: None,
            last_error: None,
            stale: false,
        });
    }
    drop(merged_tx);
    eprintln!(
        "pglocks record: recording {} to {} until SIGINT or SIGTERM",
        watches
            .iter()
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        recorder.path().display()
    );
    let mut tick = tokio::time::interval((interval / 2).max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = merged.recv() => match event {
                None => break,
                Some((i, event)) => {
                    if let Some(line) = watches[i].apply(event, started) {
                        write(&sink, line).await;
                    }
                    // As with one server: when none can be reached from the start, a
                    // wrong address or password is said at once, not recorded as stale.
                    if watches.iter().all(|w| !w.connected && w.last_error.is_some()) {
                        break;
                    }
                }
            },
            _ = tick.tick() => {
                for w in &mut watches {
                    if let Some(line) = w.check(started, limit) {
                        write(&sink, line).await;
                    }
                }
            }
        }
    }
    drop(commands);
    let unreachable: Vec<String> = watches
        .iter()
        .filter(|w| !w.connected)
        .map(|w| {
            format!(
                "{}: {}",
                w.name,
                w.last_error.as_deref().unwrap_or("no answer")
            )
        })
        .collect();
    let path = recorder.path().to_path_buf();
    drop(sink);
    let summary = tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .context("closing the recording")?;
    if unreachable.len() == watches.len() {
        if summary.snapshots == 0 {
            let _ = std::fs::remove_file(&path);
        }
        bail!("no server could be reached: {}", unreachable.join("; "));
    }
    Ok(summary)
}

impl Watch {
    /// Takes one event; returns the line to write when it ends a stale spell.
    fn apply(&mut self, event: PollerEvent, started: Instant) -> Option<ServerLine> {
        match event {
            PollerEvent::Connected { target, .. } => {
                self.connected = true;
                eprintln!("pglocks record: {}: connected to {target}", self.name);
                None
            }
            PollerEvent::Polled { .. } => {
                let now = Instant::now();
                let silent = now.saturating_duration_since(self.last_poll.unwrap_or(started));
                self.last_poll = Some(now);
                self.last_error = None;
                if !std::mem::take(&mut self.stale) {
                    return None;
                }
                eprintln!("pglocks record: {}: answering again", self.name);
                Some(ServerLine::new(
                    &self.name,
                    ServerState::Answering,
                    silent,
                    None,
                ))
            }
            PollerEvent::Failed(why) => {
                if self.last_error.as_deref() != Some(why.as_str()) {
                    eprintln!("pglocks record: {}: {why}; retrying", self.name);
                }
                self.last_error = Some(why);
                None
            }
            PollerEvent::Signalled { .. } => None,
        }
    }

    /// The stale line, once, when no poll has come for `limit`.
    fn check(&mut self, started: Instant, limit: Duration) -> Option<ServerLine> {
        let silent = Instant::now().saturating_duration_since(self.last_poll.unwrap_or(started));
        if self.stale || silent <= limit {
            return None;
        }
        self.stale = true;
        eprintln!(
            "pglocks record: {}: no poll for {}s; recorded as stale",
            self.name,
            silent.as_secs()
        );
        Some(ServerLine::new(
            &self.name,
            ServerState::Stale,
            silent,
            self.last_error.clone(),
        ))
    }
}

/// A server line is never dropped (unlike a poll when the disk is slow): it waits for the
/// writer, off the async threads.
async fn write(sink: &RecordSink, line: ServerLine) {
    let sink = sink.clone();
    let _ = tokio::task::spawn_blocking(move || sink.line_always(&line)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_server_is_stale_once_and_answering_again_once() {
        let started = Instant::now() - Duration::from_secs(5);
        let mut w = Watch {
            name: "b".into(),
            connected: true,
            last_poll: Some(started),
            last_error: Some("deadline".into()),
            stale: false,
        };
        let line = w.check(started, Duration::from_secs(2)).expect("stale");
        assert_eq!(
            (line.state, line.server.as_str(), line.error.as_deref()),
            (ServerState::Stale, "b", Some("deadline"))
        );
        assert!(line.silent_s >= 5.0);
        assert!(w.check(started, Duration::from_secs(2)).is_none(), "once");
        let failed = PollerEvent::Failed("deadline".into());
        assert!(w.apply(failed, started).is_none());
        let snapshot = crate::model::Snapshot {
            taken_at: chrono::Utc::now(),
            server: crate::model::ServerInfo {
                version: "15".into(),
                version_num: 150000,
                max_connections: 100,
                query_size: None,
            },
            sessions: Vec::new(),
            replication: None,
        };
        let polled = PollerEvent::Polled {
            analysis: Box::new(crate::analysis::analyze(
                snapshot,
                &crate::analysis::Options::default(),
            )),
            latency: Duration::ZERO,
        };
        let back = w.apply(polled, started).expect("answering");
        assert_eq!(back.state, ServerState::Answering);
        assert!(w.check(started, Duration::from_secs(2)).is_none());
    }
}
