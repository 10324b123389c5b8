//! The lines that frame the table: the headline and the facts above it, the replay
//! timeline and the key hints below it.
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::screen::palette;
use crate::humanize::{opt_age, plural, truncate};
use crate::tui::state::{Mode, State};

/// The headline wraps on narrow terminals; give it the rows it needs, within reason.
pub(super) fn header_height(state: &State, width: u16, height: u16) -> u16 {
    let Some(a) = state.shown() else {
        return 2;
    };
    let w = usize::from(width.max(1));
    let headline = a.headline().chars().count().div_ceil(w);
    // The facts line is about 110 characters.
    let facts = (110 + state.target.len()).div_ceil(w);
    // On a short terminal the tree matters more than the rest of the sentence.
    (headline + facts).clamp(2, usize::from(height / 3).clamp(2, 6)) as u16
}

/// The status at the end of the facts line: the only text on screen that the clock alone
/// changes. The loop redraws on a clock tick only when this text differs from the last frame.
pub fn clock_status(state: &State, now: DateTime<Utc>) -> Span<'static> {
    match &state.failing {
        _ if state.replay.is_some() => replay_status(state),
        Some((since, why)) => {
            let stale = (now - *since).num_seconds().max(0);
            Span::styled(
                format!("stale {stale}s, reconnecting: {}", truncate(why, 80)),
                palette(state, Color::Yellow).add_modifier(Modifier::BOLD),
            )
        }
        None if state.paused => Span::styled(
            "PAUSED",
            palette(state, Color::Yellow).add_modifier(Modifier::BOLD),
        ),
        None => Span::raw(format!("data {} old", opt_age(state.data_age(now)))),
    }
}

pub(super) fn draw_header(frame: &mut Frame<'_>, area: Rect, state: &State, now: DateTime<Utc>) {
    let Some(a) = state.shown() else {
        let text = match &state.failing {
            Some((_, why)) => format!("cannot reach {}: {why} (retrying)", state.target),
            None => format!("connecting to {}…", state.target),
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    };
    let headline = a.headline();
    let head_style = if a.concern().is_alarm() {
        palette(state, Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    let mut facts = vec![format!("PostgreSQL {}", a.snapshot.server.version)];
    if state.replay.is_none() {
        facts.push(state.target.clone());
    }
    facts.push(plural(a.snapshot.sessions.len(), "session", "sessions"));
    facts.push(format!("{} waiting", a.waiting_count()));
    if let Some(l) = state.latency {
        facts.push(format!("poll {}ms", l.as_millis()));
    }
    let status = clock_status(state, now);
    let mut second = vec![Span::raw(facts.join(" · ")), Span::raw(" · "), status];
    if state.read_only && state.replay.is_none() {
        second.push(Span::raw(" · read-only"));
    }
    if let Some(path) = &state.recording {
        second.push(Span::styled(
            format!(" · ● REC {path}"),
            palette(state, Color::Red),
        ));
    }
    // The facts line (staleness above all) keeps its row; the headline wraps above it.
    let [top, bottom] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(headline, head_style)).wrap(Wrap { trim: true }),
        top,
    );
    frame.render_widget(Paragraph::new(TextLine::from(second)), bottom);
}

fn replay_status(state: &State) -> Span<'static> {
    let Some(r) = &state.replay else {
        return Span::raw("");
    };
    let play = match r.playing {
        Some(_) => format!("▶ playing {}x", r.speed()),
        None => format!("paused ({}x)", r.speed()),
    };
    Span::styled(
        format!(
            "REPLAY {} · poll {}/{} · {} UTC · {play}",
            r.source,
            r.index + 1,
            r.frames.len(),
            r.at().format("%Y-%m-%d %H:%M:%S")
        ),
        palette(state, Color::Cyan).add_modifier(Modifier::BOLD),
    )
}

/// Waiting sessions over the whole recording, with the current poll highlighted.
pub(super) fn draw_timeline(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let Some(r) = &state.replay else { return };
    if area.height == 0 {
        return;
    }
    let label = format!(" waiting (max {}) ", r.waiting.iter().max().unwrap_or(&0));
    let width = usize::from(area.width).saturating_sub(label.chars().count());
    let (bar, at) = crate::tui::replay::timeline_bar(&r.waiting, r.index, width);
    let chars: Vec<char> = bar.chars().collect();
    let before: String = chars[..at.min(chars.len())].iter().collect();
    // The current poll is a marker of its own: a reversed block alone vanishes in a tall bar.
    let here = String::from("▲");
    let after: String = chars
        .get(at + 1..)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let line = TextLine::from(vec![
        Span::raw(label),
        Span::styled(before, palette(state, Color::Yellow)),
        Span::styled(here, Style::default().add_modifier(Modifier::REVERSED)),
        Span::styled(after, palette(state, Color::Yellow)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

pub(super) fn draw_footer(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let text = if state.mode == Mode::Filter {
        format!("filter: {}▏ (Enter keeps, Esc clears)", state.filter)
    } else if let Some(s) = &state.status {
        s.clone()
    } else if state.replay.is_some() {
        let k = |a| state.keys.first(a);
        use crate::tui::keys::Action::*;
        format!(
            "{} {} step · {} {} ±10 · {} first blocked · {} next action · {} play/pause · {}/{} speed · {} details · {} quit",
            k(StepBack),
            k(StepForward),
            k(JumpBack),
            k(JumpForward),
            k(FirstBlocked),
            k(NextAction),
            k(Pause),
            k(Faster),
            k(Slower),
            k(Open),
            k(Quit)
        )
    } else {
        let own_only = state
            .privileges
            .as_ref()
            .is_some_and(|p| !p.is_superuser && !p.can_signal);
        let k = |a| state.keys.first(a);
        use crate::tui::keys::Action::*;
        let signal = if state.read_only {
            "read-only".to_string()
        } else if own_only {
            format!(
                "{}/{} own sessions only (no pg_signal_backend)",
                k(Terminate),
                k(Cancel)
            )
        } else {
            format!("{} terminate · {} cancel", k(Terminate), k(Cancel))
        };
        let filter = if state.filter.is_empty() {
            String::new()
        } else {
            format!(" · filter \"{}\"", state.filter)
        };
        format!(
            "{}/{} move · {} details · {signal} · {} snapshot · {} pause · {} filter · {} help · {} quit{filter}",
            k(Down),
            k(Up),
            k(Open),
            k(Snapshot),
            k(Pause),
            k(Filter),
            k(Help),
            k(Quit)
        )
    };
    frame.render_widget(Paragraph::new(text), area);
}
