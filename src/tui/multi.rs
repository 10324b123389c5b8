//! The live view over several servers: one poller per server (fleet.rs), and a switch in
//! front of the single-server screen. The selected server's events go to the screen as
//! if it were the only one; the others only update the strip. Commands (signals,
//! refresh) go to the selected server's poller alone.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;
use tokio::sync::mpsc;

use crate::fleet::ServerStatus;
use crate::poller::{self, PollerCommand, PollerConfig, PollerEvent};

pub struct Mux {
    statuses: Arc<Mutex<Vec<ServerStatus>>>,
    hellos: Arc<Mutex<Vec<Option<PollerEvent>>>>,
    selected: Arc<AtomicUsize>,
    to_screen: mpsc::Sender<PollerEvent>,
    interval: Duration,
}

impl Mux {
    /// Starts every poller; returns the mux and the screen's ends of the two channels.
    pub fn spawn(
        servers: Vec<(String, PollerConfig)>,
    ) -> (
        Mux,
        mpsc::Receiver<PollerEvent>,
        mpsc::Sender<PollerCommand>,
    ) {
        let interval = servers
            .iter()
            .map(|(_, c)| c.interval)
            .min()
            .unwrap_or(Duration::from_secs(1));
        let (to_screen, screen_rx) = mpsc::channel(16);
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<PollerCommand>(8);
        let n = servers.len();
        let statuses = Arc::new(Mutex::new(
            servers
                .iter()
                .map(|(name, _)| ServerStatus::new(name.clone()))
                .collect::<Vec<_>>(),
        ));
        let hellos = Arc::new(Mutex::new((0..n).map(|_| None).collect::<Vec<_>>()));
        let selected = Arc::new(AtomicUsize::new(0));
        let mut commands = Vec::new();
        for (i, (_, config)) in servers.into_iter().enumerate() {
            let (mut events, cmds) = poller::spawn(config);
            commands.push(cmds);
            let (statuses, hellos, selected, to_screen) = (
                statuses.clone(),
                hellos.clone(),
                selected.clone(),
                to_screen.clone(),
            );
            tokio::spawn(async move {
                while let Some(ev) = events.recv().await {
                    let shown = selected.load(Ordering::Relaxed) == i;
                    let copy = match &ev {
                        PollerEvent::Polled { analysis, latency } => Some(PollerEvent::Polled {
                            analysis: analysis.clone(),
                            latency: *latency,
                        }),
                        PollerEvent::Failed(why) => Some(PollerEvent::Failed(why.clone())),
                        PollerEvent::Connected {
                            target,
                            privileges,
                            monitor_pid,
                        } => {
                            lock(&hellos)[i] = Some(PollerEvent::Connected {
                                target: target.clone(),
                                privileges: privileges.clone(),
                                monitor_pid: *monitor_pid,
                            });
                            None
                        }
                        PollerEvent::Signalled { .. } => None,
                    };
                    if let Some(copy) = copy {
                        lock(&statuses)[i].apply(copy, Instant::now());
                    }
                    if shown && to_screen.send(ev).await.is_err() {
                        return;
                    }
                }
            });
        }
        let chosen = selected.clone();
        tokio::spawn(async move {
            while let Some(cmd) = cmd_rx.recv().await {
                if let Some(c) = commands.get(chosen.load(Ordering::Relaxed)) {
                    let _ = c.send(cmd).await;
                }
            }
        });
        (
            Mux {
                statuses,
                hellos,
                selected,
                to_screen,
                interval,
            },
            screen_rx,
            cmd_tx,
        )
    }

    /// Number keys 1-9 pick a server, Tab the next one; None for every other key.
    pub fn server_for_key(&self, key: &KeyEvent) -> Option<usize> {
        let n = lock(&self.statuses).len();
        let current = self.selected.load(Ordering::Relaxed);
        match key.code {
            KeyCode::Tab => Some((current + 1) % n.max(1)),
            KeyCode::BackTab => Some((current + n.max(1) - 1) % n.max(1)),
            KeyCode::Char(c @ '1'..='9') if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let i = c as usize - '1' as usize;
                (i < n).then_some(i)
            }
            _ => None,
        }
    }

    /// Shows server `i`: its connection and its latest analysis reach the screen at once.
    pub fn select(&self, i: usize) {
        self.selected.store(i, Ordering::Relaxed);
        let hello = lock(&self.hellos)[i].as_ref().map(|h| match h {
            PollerEvent::Connected {
                target,
                privileges,
                monitor_pid,
            } => PollerEvent::Connected {
                target: target.clone(),
                privileges: privileges.clone(),
                monitor_pid: *monitor_pid,
            },
            _ => PollerEvent::Failed(String::new()),
        });
        let latest = lock(&self.statuses)[i]
            .analysis
            .clone()
            .map(|analysis| PollerEvent::Polled {
                analysis,
                latency: Duration::ZERO,
            });
        for ev in hello.into_iter().chain(latest) {
            let _ = self.to_screen.try_send(ev);
        }
    }

    /// For a selected server that has never answered: what to show instead of the tree
    /// of the server shown before it.
    pub fn not_polled(&self) -> Option<String> {
        let statuses = lock(&self.statuses);
        let s = statuses.get(self.selected.load(Ordering::Relaxed))?;
        if s.analysis.is_some() {
            return None;
        }
        Some(format!(
            "{}: no poll yet{}",
            s.name,
            s.last_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ))
    }

    pub fn strip(&self) -> Line<'static> {
        super::strip::line(
            &lock(&self.statuses),
            self.selected.load(Ordering::Relaxed),
            Instant::now(),
            self.interval,
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
