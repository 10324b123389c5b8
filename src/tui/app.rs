//! The loop: drain input and poller messages, update, then draw once. It never awaits the
//! database; signals and polls go to the poller task as commands.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use crossterm::event::{self, Event, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::state::State;
use super::update::{Effect, Msg, update};
use super::{terminal, view};
use crate::args::{AnalysisArgs, TuiArgs};
use crate::db::conninfo::ConnParams;
use crate::output::{WriteError, write_new};
use crate::poller::{self, PollerCommand, PollerConfig, PollerEvent};
use crate::report::{self, Format};

enum Input {
    Key(crossterm::event::KeyEvent),
    Mouse(crossterm::event::MouseEvent),
    Resize,
}

pub async fn run(params: ConnParams, analysis: &AnalysisArgs, tui: &TuiArgs) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the live view needs a terminal; for scripts use `pglocks snapshot`");
    }
    let mut state = State::new(
        params.describe(),
        tui.read_only,
        tui.snapshot_dir.clone(),
        analysis.long_xact.as_secs_f64(),
    );
    state.theme = tui.theme.with_env();
    state.mouse = !tui.no_mouse;
    state.keys = tui.keys.clone();
    // Declared before the terminal guard, so it is closed after the terminal is restored.
    let recorder = crate::record::session::open_for_tui(
        tui.record.as_deref(),
        params.describe(),
        tui.interval,
        analysis.database.clone(),
        analysis.redact.enabled,
    )?;
    state.recording = recorder.as_ref().map(|r| r.path().display().to_string());
    let (polls, commands) = poller::spawn(PollerConfig {
        record: recorder.as_ref().map(crate::record::Recorder::sink),
        ..analysis.poller(params, tui.interval)
    });
    event_loop(
        state,
        Some(polls),
        Some(commands),
        Duration::from_secs(1),
        None,
        None,
    )
    .await
}

/// What the guarded view shows besides the server: the guard's recording, where `s`
/// writes, and the user's colours and keys.
pub struct GuardedView {
    pub recording: String,
    pub snapshot_dir: PathBuf,
    pub theme: super::theme::Theme,
    pub keys: super::keys::Keymap,
}

/// `pglocks guard --tui`: the live view on the guard's server, with the command's backends
/// pinned as the migration and the guard's rows below. Returns when the guard has ended
/// (its result is then in `link.result`) or when the user left the view (it is None).
pub async fn run_guarded(
    params: ConnParams,
    interval: Duration,
    redact: bool,
    view: GuardedView,
    link: &mut super::guarded::Link,
) -> Result<()> {
    let mut state = State::new(
        params.describe(),
        false,
        view.snapshot_dir,
        crate::analysis::Options::default().long_xact_s,
    );
    state.theme = view.theme.with_env();
    state.keys = view.keys;
    state.recording = Some(view.recording);
    let (polls, commands) = poller::spawn(PollerConfig {
        params,
        interval,
        database: None,
        options: crate::analysis::Options::default(),
        redact,
        // The guard records; a second recording of the same polls would say nothing new.
        record: None,
        pins: Some(link.pins.clone()),
    });
    event_loop(
        state,
        Some(polls),
        Some(commands),
        Duration::from_secs(1),
        None,
        Some(link),
    )
    .await
}

/// `pglocks CONN --server [NAME=]CONN ...`: the same screen with the strip on top; number
/// keys and Tab switch the tree between servers.
pub async fn run_fleet(
    servers: Vec<(String, ConnParams)>,
    analysis: &AnalysisArgs,
    tui: &TuiArgs,
) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the live view needs a terminal; for scripts use `pglocks snapshot`");
    }
    if tui.record.is_some() {
        bail!(
            "--record with --server is not supported in the live view; run `pglocks record CONN --server ...` beside it"
        );
    }
    let names: Vec<String> = servers.iter().map(|(n, _)| n.clone()).collect();
    let mut state = State::new(
        names.join(", "),
        tui.read_only,
        tui.snapshot_dir.clone(),
        analysis.long_xact.as_secs_f64(),
    );
    state.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    state.keys = tui.keys.clone();
    let configs = servers
        .into_iter()
        .map(|(name, params)| (name, analysis.poller(params, tui.interval)))
        .collect();
    let (mux, polls, commands) = super::multi::Mux::spawn(configs);
    event_loop(
        state,
        Some(polls),
        Some(commands),
        Duration::from_secs(1),
        Some(&mux),
        None,
    )
    .await
}

/// `pglocks replay FILE`: the same screen over a recording, with no server at all.
pub async fn run_replay(
    replay: super::replay::Replay,
    long_xact_s: f64,
    theme: super::theme::Theme,
    keys: super::keys::Keymap,
) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the replay view needs a terminal; for scripts use `pglocks replay FILE --at TIME`");
    }
    let mut state = State::new(replay.source.clone(), true, PathBuf::from("."), long_xact_s);
    state.theme = theme.with_env();
    state.keys = keys;
    state.replay = Some(replay);
    super::update::show_replay_frame(&mut state);
    // Playback needs a finer clock than the live view's data-age second.
    event_loop(state, None, None, Duration::from_millis(100), None, None).await
}

/// Waits for the next poller event, or forever when there is no poller (replay).
async fn next_poll(polls: &mut Option<mpsc::Receiver<PollerEvent>>) -> Option<PollerEvent> {
    match polls {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// What the guard says, or forever when there is no guard.
async fn next_guard(link: &mut Option<&mut super::guarded::Link>) -> super::guarded::Event {
    match link {
        Some(l) => l.next().await,
        None => std::future::pending().await,
    }
}

async fn event_loop(
    mut state: State,
    mut polls: Option<mpsc::Receiver<PollerEvent>>,
    commands: Option<mpsc::Sender<PollerCommand>>,
    tick: Duration,
    fleet: Option<&super::multi::Mux>,
    mut guarded: Option<&mut super::guarded::Link>,
) -> Result<()> {
    // Under the guard, SIGINT and SIGTERM are the guard's to forward to the command; the
    // view stays until the command has exited and the guard with it.
    let own_signals = guarded.is_none();
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    // Raw mode turns Ctrl-C into a key, but `kill -INT` still arrives as a signal, and its
    // default action would end the process with the terminal raw and the screen switched.
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut guard = terminal::enter().context("preparing the terminal")?;
    // Dropped before `guard`: mouse reporting is off before the screen is restored.
    let _mouse = if state.mouse {
        super::mouse::Capture::enable()
    } else {
        None
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut inputs = spawn_input(stop.clone());
    let mut clock = tokio::time::interval(tick);
    let mut dirty = true;
    // What the clock alone changes on screen, as last drawn.
    let mut drawn_clock = String::new();
    let result: Result<()> = loop {
        if dirty {
            let now = Utc::now();
            let panel = guarded.as_deref().map(|l| &l.panel);
            let drawn = guard.terminal.draw(|f| match (fleet, panel) {
                (Some(m), _) => super::strip::draw(f, &state, now, m.strip(), m.not_polled()),
                (None, Some(p)) => super::guarded::draw_with_view(f, &state, now, p),
                (None, None) => view::draw(f, &state, now),
            });
            if let Err(e) = drawn {
                break Err(e).context("drawing");
            }
            drawn_clock = view::clock_status(&state, now).content.into_owned();
            dirty = false;
        }
        let first = tokio::select! {
            Some(ev) = next_poll(&mut polls) => Some(Msg::Poller(ev)),
            Some(input) = inputs.recv() => input_msg(input, &mut dirty),
            _ = clock.tick() => {
                if let Some(l) = guarded.as_deref_mut() {
                    dirty |= l.refresh();
                }
                Some(Msg::Tick)
            }
            ev = next_guard(&mut guarded) => {
                let Some(l) = guarded.as_deref_mut() else { continue };
                match ev {
                    super::guarded::Event::Note(n) => l.panel.apply(n),
                    super::guarded::Event::Done(r) => {
                        l.result = Some(r);
                        break Ok(());
                    }
                }
                // The pins move with the guard's lines ("backend pid N is the command's").
                l.refresh();
                dirty = true;
                None
            }
            _ = sigterm.recv(), if own_signals => break Ok(()),
            _ = sighup.recv() => break Ok(()),
            _ = sigint.recv(), if own_signals => break Ok(()),
        };
        // Drain whatever else is queued, then draw once.
        let mut msgs: Vec<Msg> = first.into_iter().collect();
        while let Some(Ok(ev)) = polls.as_mut().map(mpsc::Receiver::try_recv) {
            msgs.push(Msg::Poller(ev));
        }
        while let Ok(input) = inputs.try_recv() {
            msgs.extend(input_msg(input, &mut dirty));
        }
        let mut quit = false;
        for msg in msgs {
            if let (Some(l), Msg::Key(k)) = (guarded.as_deref_mut(), &msg)
                && super::guarded::on_key(k) == super::guarded::GuardKey::Interrupt
            {
                // The terminal is raw: Ctrl-C is a key here, not a signal. The guard's
                // own SIGINT handler forwards it to the command, as it would any SIGINT.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::this(),
                    nix::sys::signal::Signal::SIGINT,
                );
                l.panel.interrupted = true;
                dirty = true;
                continue;
            }
            // A quiet tick draws nothing: the data-age text moves by whole seconds, so most
            // ticks of the live view leave the screen as it is. Playback always moves.
            if let (Some(m), Msg::Key(k), super::state::Mode::Tree) = (fleet, &msg, &state.mode)
                && let Some(i) = m.server_for_key(k)
            {
                m.select(i);
                dirty = true;
                continue;
            }
            let tick = matches!(msg, Msg::Tick);
            dirty = dirty
                || !tick
                || state.replay.is_some()
                || view::clock_status(&state, Utc::now()).content != drawn_clock;
            for effect in update(&mut state, msg, Utc::now()) {
                match effect {
                    Effect::Quit => quit = true,
                    Effect::Signal {
                        signal,
                        pid,
                        backend_start,
                    } => {
                        let cmd = PollerCommand::Signal {
                            signal,
                            pid,
                            backend_start,
                        };
                        let sent = commands.as_ref().is_some_and(|c| c.try_send(cmd).is_ok());
                        if !sent {
                            state.status = Some(
                                "busy: the previous command is still running; try again".into(),
                            );
                        }
                    }
                    Effect::Refresh => {
                        if let Some(c) = &commands {
                            let _ = c.try_send(PollerCommand::Refresh);
                        }
                    }
                    Effect::WriteSnapshot => {
                        let written = write_snapshot(&state);
                        update(&mut state, Msg::SnapshotWritten(written), Utc::now());
                    }
                }
            }
        }
        if quit {
            break Ok(());
        }
    };
    stop.store(true, Ordering::Relaxed);
    drop(guard);
    result
}

fn input_msg(input: Input, dirty: &mut bool) -> Option<Msg> {
    match input {
        Input::Key(k) => Some(Msg::Key(k)),
        Input::Mouse(m) => Some(Msg::Mouse(m)),
        Input::Resize => {
            *dirty = true;
            None
        }
    }
}

/// crossterm's reader blocks, so it gets its own thread; it checks `stop` between polls.
/// Four wake-ups a second, not ten: each costs crossterm's event machinery some CPU
/// (a tenth of an idle refresh at 10 Hz), and a quarter second is soon enough to stop.
fn spawn_input(stop: Arc<AtomicBool>) -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(250)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let input = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Input::Key(k),
                Ok(Event::Resize(_, _)) => Input::Resize,
                Ok(Event::Mouse(m)) => Input::Mouse(m),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.blocking_send(input).is_err() {
                return;
            }
        }
    });
    rx
}

/// Markdown and JSON of what is on screen, plus the action log, to new files.
fn write_snapshot(state: &State) -> Result<Vec<String>, String> {
    let Some(a) = state.shown() else {
        return Err("no data yet".into());
    };
    let stamp = a.snapshot.taken_at.format("%Y%m%d-%H%M%S").to_string();
    let mut written = Vec::new();
    for format in [Format::Markdown, Format::Json] {
        let text = report::render(format, a, &state.actions).map_err(|e| e.to_string())?;
        let path = write_unique(
            &state.snapshot_dir,
            &stamp,
            format.extension(),
            text.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        written.push(path.display().to_string());
    }
    // The minutes around now, told as an incident report; a replay has its own recording.
    let options = crate::analysis::Options {
        long_xact_s: state.long_xact_s,
        ..crate::analysis::Options::default()
    };
    if state.replay.is_none()
        && let Some(story) = state.ring.story(&options)
    {
        let text = crate::report::incident::render(&story);
        let path = write_unique(&state.snapshot_dir, &stamp, "timeline.md", text.as_bytes())
            .map_err(|e| e.to_string())?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// pglocks-STAMP.ext, or pglocks-STAMP-2.ext and so on: never over an existing file.
pub fn write_unique(
    dir: &std::path::Path,
    stamp: &str,
    ext: &str,
    contents: &[u8],
) -> Result<PathBuf, WriteError> {
    let mut last = None;
    for n in 1..=100 {
        let name = if n == 1 {
            format!("pglocks-{stamp}.{ext}")
        } else {
            format!("pglocks-{stamp}-{n}.{ext}")
        };
        let path = dir.join(name);
        match write_new(&path, contents) {
            Ok(()) => return Ok(path),
            Err(e @ WriteError::Exists(_)) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| WriteError::NoDirectory(dir.to_path_buf())))
}
