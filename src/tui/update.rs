//! Keys and poller messages in, effects out. No I/O here, so every key is testable.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::groups::{close_tail, group_signal_hint, open_group};
use super::keys::Action;
use super::selection::{ensure_selection, move_selection};
use super::state::{Confirm, Mode, State};
use crate::analysis::Analysis;
use crate::db::Signal;
use crate::humanize::{first_line, plural};
use crate::model::ActionRecord;
use crate::poller::PollerEvent;
use crate::words;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(crossterm::event::MouseEvent),
    /// What the poller reports, as it reported it.
    Poller(PollerEvent),
    SnapshotWritten(Result<Vec<String>, String>),
    /// The clock, for replay playback.
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    Signal {
        signal: Signal,
        pid: i32,
        backend_start: DateTime<Utc>,
    },
    WriteSnapshot,
    Refresh,
}

pub fn update(state: &mut State, msg: Msg, now: DateTime<Utc>) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key, now),
        Msg::Mouse(ev) => {
            super::mouse::on_mouse(state, ev);
            Vec::new()
        }
        Msg::Poller(PollerEvent::Connected {
            target,
            privileges,
            monitor_pid,
        }) => {
            state.target = target;
            state.privileges = Some(privileges);
            state.monitor_pid = Some(monitor_pid);
            Vec::new()
        }
        Msg::Poller(PollerEvent::Polled { analysis, latency }) => {
            state.failing = None;
            // Kept even while paused: the timeline is about the server, not the screen.
            state.ring.push_poll(&analysis);
            if !state.paused {
                state.latency = Some(latency);
                state.received_at = Some(now);
                state.live = Some(analysis);
                ensure_selection(state);
            }
            Vec::new()
        }
        Msg::Poller(PollerEvent::Failed(reason)) => {
            let since = state.failing.as_ref().map(|f| f.0).unwrap_or(now);
            state.failing = Some((since, reason));
            Vec::new()
        }
        Msg::Poller(PollerEvent::Signalled {
            signal,
            pid,
            outcome,
            at,
        }) => {
            let result = outcome.describe();
            state.status = Some(format!("{} pid {pid}: {result}", signal.verb()));
            let record = ActionRecord {
                at,
                action: signal.verb().into(),
                pid,
                result,
            };
            state.ring.push_action(&record);
            state.actions.push(record);
            Vec::new()
        }
        Msg::Tick => {
            if state.replay.as_mut().is_some_and(|r| r.tick(now)) {
                show_replay_frame(state);
            }
            Vec::new()
        }
        Msg::SnapshotWritten(result) => {
            state.status = Some(match result {
                Ok(paths) => format!("snapshot written: {}", paths.join(", ")),
                Err(e) => format!("snapshot failed: {e}"),
            });
            Vec::new()
        }
    }
}

fn on_key(state: &mut State, key: KeyEvent, now: DateTime<Utc>) -> Vec<Effect> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return vec![Effect::Quit];
    }
    match state.mode.clone() {
        Mode::Confirm(c) => {
            state.mode = Mode::Tree;
            state.frozen = None;
            if key.code == KeyCode::Char('y') {
                state.status = Some(format!("{}ing pid {}…", verb_ing(c.signal), c.pid));
                return vec![Effect::Signal {
                    signal: c.signal,
                    pid: c.pid,
                    backend_start: c.backend_start,
                }];
            }
            state.status = Some(format!("{} of pid {} aborted", c.signal.verb(), c.pid));
            Vec::new()
        }
        Mode::Filter => {
            match key.code {
                KeyCode::Enter => state.mode = Mode::Tree,
                KeyCode::Esc => {
                    state.filter.clear();
                    state.mode = Mode::Tree;
                }
                KeyCode::Backspace => {
                    state.filter.pop();
                }
                KeyCode::Char(c) => state.filter.push(c),
                _ => {}
            }
            ensure_selection(state);
            Vec::new()
        }
        Mode::Help => {
            state.mode = Mode::Tree;
            if state.keys.action(key.code) == Some(Action::Quit) {
                return vec![Effect::Quit];
            }
            Vec::new()
        }
        Mode::Details { scroll } => match state.keys.action(key.code) {
            Some(Action::Down) => {
                state.mode = Mode::Details {
                    scroll: scroll.saturating_add(1),
                };
                Vec::new()
            }
            Some(Action::Up) => {
                state.mode = Mode::Details {
                    scroll: scroll.saturating_sub(1),
                };
                Vec::new()
            }
            Some(Action::Back | Action::Open) => {
                state.mode = Mode::Tree;
                Vec::new()
            }
            _ if key.code == KeyCode::Backspace => {
                state.mode = Mode::Tree;
                Vec::new()
            }
            _ => tree_key(state, key, now),
        },
        Mode::Tree => match replay_key(state, key, now) {
            Some(effects) => effects,
            None => tree_key(state, key, now),
        },
    }
}

/// Puts the replay's current poll on screen, as a live poll would be.
pub fn show_replay_frame(state: &mut State) {
    let Some(r) = &state.replay else { return };
    state.live = Some(Box::new(r.analysis()));
    state.actions = r.actions_so_far();
    state.received_at = Some(r.at());
    ensure_selection(state);
}

/// Keys that mean something else in a replay; None lets the ordinary keymap handle it.
fn replay_key(state: &mut State, key: KeyEvent, now: DateTime<Utc>) -> Option<Vec<Effect>> {
    let action = state.keys.action(key.code)?;
    let r = state.replay.as_mut()?;
    let moved = match action {
        Action::StepBack => {
            r.step(-1);
            true
        }
        Action::StepForward => {
            r.step(1);
            true
        }
        Action::JumpBack => {
            r.step(-10);
            true
        }
        Action::JumpForward => {
            r.step(10);
            true
        }
        Action::FirstBlocked => {
            if !r.first_blocked() {
                state.status = Some("nobody waits on a lock anywhere in this recording".into());
            }
            true
        }
        Action::NextAction => {
            let found = r.next_action().map(|a| {
                format!(
                    "{} pid {} at {}: {}",
                    a.action,
                    a.pid,
                    a.at.format("%H:%M:%S"),
                    a.result
                )
            });
            state.status =
                Some(found.unwrap_or_else(|| "no later action in this recording".into()));
            true
        }
        Action::Pause => {
            r.toggle_play(now);
            false
        }
        Action::Faster => {
            r.change_speed(true, now);
            false
        }
        Action::Slower => {
            r.change_speed(false, now);
            false
        }
        Action::Terminate | Action::Cancel => {
            state.status = Some("replay: signalling is disabled".into());
            return Some(Vec::new());
        }
        Action::Refresh => return Some(Vec::new()),
        _ => return None,
    };
    if moved {
        show_replay_frame(state);
    }
    Some(Vec::new())
}

fn verb_ing(signal: Signal) -> &'static str {
    match signal {
        Signal::Terminate => "terminat",
        Signal::Cancel => "cancell",
    }
}

fn tree_key(state: &mut State, key: KeyEvent, _now: DateTime<Utc>) -> Vec<Effect> {
    let Some(action) = state.keys.action(key.code) else {
        return Vec::new();
    };
    let on_group = state.selected_group.is_some();
    let on_tail = state.selected_tail.is_some();
    match action {
        Action::Quit => return vec![Effect::Quit],
        Action::Back => {
            state.mode = Mode::Tree;
            state.status = None;
        }
        Action::Down => move_selection(state, 1),
        Action::Up => move_selection(state, -1),
        Action::PageDown => move_selection(state, 20),
        Action::PageUp => move_selection(state, -20),
        Action::First => move_selection(state, i32::MIN / 2),
        Action::Last => move_selection(state, i32::MAX / 2),
        Action::Open | Action::Expand if on_group => {
            open_group(state, true);
        }
        Action::Open | Action::Expand if on_tail => {
            if let Some(root) = state.selected_tail {
                state.open_tails.insert(root);
                ensure_selection(state);
            }
        }
        Action::Collapse => {
            // A group closes first; outside one, the root's opened tail folds again.
            let closed_group = open_group(state, false);
            if !closed_group {
                close_tail(state);
            }
        }
        Action::Open if state.selected_session().is_some() => {
            state.mode = Mode::Details { scroll: 0 };
        }
        Action::Terminate | Action::Cancel if on_group => {
            state.status = group_signal_hint(state);
        }
        Action::Terminate | Action::Cancel if on_tail => {
            state.status = Some("this row stands for folded rows: Enter or → shows them".into());
        }
        Action::Terminate => return ask_signal(state, Signal::Terminate),
        Action::Cancel => return ask_signal(state, Signal::Cancel),
        Action::Snapshot => return vec![Effect::WriteSnapshot],
        Action::Pause => {
            state.paused = !state.paused;
            state.status = Some(if state.paused {
                format!(
                    "paused: the display is frozen, press {} to resume",
                    state.keys.first(Action::Pause)
                )
            } else {
                "resumed".into()
            });
            if !state.paused {
                return vec![Effect::Refresh];
            }
        }
        Action::Filter => state.mode = Mode::Filter,
        Action::Help => state.mode = Mode::Help,
        Action::Others => {
            state.show_others = !state.show_others;
            ensure_selection(state);
        }
        Action::Refresh => return vec![Effect::Refresh],
        _ => {}
    }
    Vec::new()
}

/// Opens the confirmation, or says in the status line why signalling is not possible.
fn ask_signal(state: &mut State, signal: Signal) -> Vec<Effect> {
    if state.read_only {
        state.status =
            Some("read-only mode (--read-only): cancel and terminate are disabled".into());
        return Vec::new();
    }
    let Some(a) = state.shown() else {
        return Vec::new();
    };
    let Some(s) = state.selected_session() else {
        state.status = Some("select a session first".into());
        return Vec::new();
    };
    let pid = s.pid;
    if Some(pid) == state.monitor_pid {
        state.status = Some("that is pglocks' own backend; it is never signalled".into());
        return Vec::new();
    }
    if s.is_startup_process() {
        state.status = Some(format!(
            "pid {pid}: {}",
            crate::model::STARTUP_NOT_SIGNALLED
        ));
        return Vec::new();
    }
    if s.is_prepared_xact() {
        state.status = Some(format!(
            "a prepared transaction has no backend to signal: run COMMIT PREPARED or ROLLBACK PREPARED {}",
            s.application_name.as_deref().unwrap_or("'gid'")
        ));
        return Vec::new();
    }
    if let Some(why) = unavailable(state, s) {
        state.status = Some(why);
        return Vec::new();
    }
    let Some(backend_start) = s.backend_start else {
        state.status = Some(format!(
            "pid {pid}: its backend start time is hidden from this role, so it cannot be re-checked before signalling; grant pg_read_all_stats"
        ));
        return Vec::new();
    };
    let downstream = a.graph.downstream(pid);
    let frees_migration = downstream.iter().any(|p| a.is_migration(*p));
    let mut frees = if downstream.is_empty() {
        "nobody waits on it".to_string()
    } else {
        format!(
            "frees {}",
            words::freed(
                plural(downstream.len(), "waiting session", "waiting sessions"),
                frees_migration
            )
        )
    };
    if signal == Signal::Cancel && !downstream.is_empty() {
        frees = format!("if the transaction ends: {frees}");
    }
    let warnings = signal_warnings(state, a, s, signal);
    let query = s
        .query
        .as_deref()
        .map(|q| first_line(q, 200))
        .unwrap_or_default();
    state.frozen = state.live.clone();
    state.mode = Mode::Confirm(Confirm {
        signal,
        pid,
        backend_start,
        query,
        frees,
        warnings,
    });
    Vec::new()
}

fn signal_warnings(
    state: &State,
    a: &Analysis,
    s: &crate::model::Session,
    signal: Signal,
) -> Vec<String> {
    let mut w = Vec::new();
    if signal == Signal::Cancel && s.is_idle_in_transaction() {
        w.push(
            "It is idle in transaction: cancel cannot release its locks. Terminate instead."
                .to_string(),
        );
    }
    let query = s.query.as_deref().unwrap_or("").to_ascii_uppercase();
    if signal == Signal::Terminate && query.contains("CONCURRENTLY") && query.contains("INDEX") {
        w.push(
            "It builds an index CONCURRENTLY: terminating leaves an INVALID index to drop.".into(),
        );
    }
    if a.is_migration(s.pid) {
        w.push("This is the migration itself.".into());
    }
    if s.is_superuser {
        w.push("It is a superuser backend.".into());
    }
    if !s.is_client_backend() {
        w.push(format!(
            "It is not a client backend ({}).",
            s.backend_type.as_deref().unwrap_or("unknown type")
        ));
    }
    let _ = state;
    w
}

/// Why this role cannot signal that backend at all, so the keys say so up front instead of
/// asking for a confirmation the server will refuse.
fn unavailable(state: &State, s: &crate::model::Session) -> Option<String> {
    let p = state.privileges.as_ref()?;
    if p.is_superuser {
        return None;
    }
    let pid = s.pid;
    if s.is_superuser {
        return Some(format!(
            "K/C unavailable for pid {pid}: it is a superuser backend, and role {} is not a superuser",
            p.role
        ));
    }
    let own = s.user.as_deref() == Some(p.role.as_str());
    if !p.can_signal && !own {
        return Some(format!(
            "K/C unavailable for pid {pid}: role {} needs pg_signal_backend (GRANT pg_signal_backend TO {}) or membership in role {}",
            p.role,
            p.role,
            s.user.as_deref().unwrap_or("of that session")
        ));
    }
    None
}
