//! A pure draw of the state: no I/O, no clock but the one passed in.
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::state::{Mode, State};
use super::table::{draw_table, tags};
use crate::analysis::Analysis;
use crate::graph::EdgeKind;
use crate::humanize::{age, count, inert, opt_age, plural, truncate};
use crate::model::Session;
use crate::words::{self, Tag};

/// Below this the layout cannot say anything useful.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
const MAX_DETAIL_CHARS: usize = 64 * 1024;

pub fn draw(frame: &mut Frame<'_>, state: &State, now: DateTime<Utc>) {
    draw_in(frame, frame.area(), state, now);
}

/// The screen in `area` (below the strip, with several servers).
pub fn draw_in(frame: &mut Frame<'_>, area: Rect, state: &State, now: DateTime<Utc>) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small ({}x{}); need {MIN_WIDTH}x{MIN_HEIGHT}. q quits.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let header_lines = header_height(state, area.width, area.height);
    let bar_lines = u16::from(state.replay.is_some());
    let [header, main, bar, footer] = Layout::vertical([
        Constraint::Length(header_lines),
        Constraint::Min(1),
        Constraint::Length(bar_lines),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, state, now);
    draw_table(frame, main, state);
    draw_timeline(frame, bar, state);
    draw_footer(frame, footer, state);
    match &state.mode {
        Mode::Details { scroll } => draw_details(frame, area, state, *scroll),
        Mode::Confirm(c) => draw_confirm(frame, area, state, c),
        Mode::Help => draw_help(frame, area, state),
        Mode::Tree | Mode::Filter => {}
    }
}

/// The headline wraps on narrow terminals; give it the rows it needs, within reason.
fn header_height(state: &State, width: u16, height: u16) -> u16 {
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

pub(super) fn palette(state: &State, color: Color) -> Style {
    let theme = if state.no_color {
        super::theme::Theme::Mono
    } else {
        state.theme
    };
    theme.style(color)
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

fn draw_header(frame: &mut Frame<'_>, area: Rect, state: &State, now: DateTime<Utc>) {
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
fn draw_timeline(frame: &mut Frame<'_>, area: Rect, state: &State) {
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

fn draw_footer(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let text = if state.mode == Mode::Filter {
        format!("filter: {}▏ (Enter keeps, Esc clears)", state.filter)
    } else if let Some(s) = &state.status {
        s.clone()
    } else if state.replay.is_some() {
        "[ ] step · { } ±10 · b first blocked · n next action · p play/pause · +/- speed · Enter details · q quit".into()
    } else {
        let own_only = state
            .privileges
            .as_ref()
            .is_some_and(|p| !p.is_superuser && !p.can_signal);
        let signal = if state.read_only {
            "read-only"
        } else if own_only {
            "K/C own sessions only (no pg_signal_backend)"
        } else {
            "K terminate · C cancel"
        };
        let filter = if state.filter.is_empty() {
            String::new()
        } else {
            format!(" · filter \"{}\"", state.filter)
        };
        format!(
            "j/k move · Enter details · {signal} · s snapshot · p pause · / filter · ? help · q quit{filter}"
        )
    };
    frame.render_widget(Paragraph::new(text), area);
}

fn popup(area: Rect, width_pct: u16, height_pct: u16) -> Rect {
    let w = (area.width * width_pct / 100).max(MIN_WIDTH.min(area.width));
    let h = (area.height * height_pct / 100).max(MIN_HEIGHT.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Why `pid` blocks others, in words, one line per distinct reason.
pub fn why_it_blocks(a: &Analysis, pid: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let edges: Vec<_> = a.graph.waiters_of(pid).collect();
    for e in edges.iter().take(8) {
        let wanted = e.lock.mode_wanted.as_deref().unwrap_or("a lock");
        let on = e.lock.target.as_deref().unwrap_or("the same object");
        lines.push(match e.kind {
            EdgeKind::Holds => format!(
                "{} held on {on} conflicts with {wanted} wanted by {}",
                e.lock.mode_held.as_deref().unwrap_or("a lock"),
                e.waiter
            ),
            EdgeKind::QueuedAhead => format!(
                "{} {} on {on} conflicts with {wanted} wanted by {}",
                e.lock.blocker_mode_wanted.as_deref().unwrap_or("a lock"),
                words::edge_verb(e.kind),
                e.waiter
            ),
        });
    }
    if edges.len() > 8 {
        lines.push(format!("… and {} more", edges.len() - 8));
    }
    lines
}

fn details_text(state: &State, a: &Analysis, s: &Session) -> Vec<TextLine<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut out: Vec<TextLine<'static>> = Vec::new();
    let mut push = |label: &str, value: String| {
        out.push(TextLine::from(vec![
            Span::styled(format!("{label}: "), bold),
            Span::raw(inert(&value).into_owned()),
        ]));
    };
    push(
        "who",
        format!(
            "{} on {} · application {} · client {}",
            s.user.as_deref().unwrap_or("?"),
            s.database.as_deref().unwrap_or("?"),
            s.application_name.as_deref().unwrap_or(""),
            s.client_addr.as_deref().unwrap_or("local socket")
        ),
    );
    push(
        "backend",
        format!(
            "{} · started {} ({} ago){}",
            s.backend_type.as_deref().unwrap_or("?"),
            s.backend_start
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "?".into()),
            opt_age(a.age_of(s.backend_start)),
            if s.parallel_workers > 0 {
                format!(" · {} parallel workers", s.parallel_workers)
            } else {
                String::new()
            }
        ),
    );
    push(
        "state",
        format!(
            "{} · transaction {} · query {} · wait {} ({})",
            s.state.as_deref().unwrap_or("hidden"),
            opt_age(a.xact_age(s)),
            opt_age(a.query_age(s)),
            opt_age(a.wait_age(s)),
            match (&s.wait_event_type, &s.wait_event) {
                (Some(t), Some(e)) => format!("{t}/{e}"),
                _ => "not waiting".into(),
            }
        ),
    );
    if let Some(reason) = a.migrations.get(&s.pid) {
        push("migration", reason.clone());
    }
    if let Some(p) = &s.progress {
        push("progress", p.describe());
    }
    // The runbook's word on this session: findings that are about it (it comes first).
    for f in a.findings.iter().filter(|f| f.pids.first() == Some(&s.pid)) {
        push(&f.code, format!("{} → {}", f.title, f.advice));
    }
    for e in a.graph.blockers_of(s.pid) {
        push(
            "waits on",
            format!(
                "pid {} ({}) for {} on {}",
                e.blocker,
                match e.kind {
                    EdgeKind::Holds => format!(
                        "{} {}",
                        words::edge_verb(e.kind),
                        e.lock.mode_held.as_deref().unwrap_or("a conflicting lock")
                    ),
                    EdgeKind::QueuedAhead => format!(
                        "{} for {}",
                        words::edge_verb(e.kind),
                        e.lock.blocker_mode_wanted.as_deref().unwrap_or("a lock")
                    ),
                },
                e.lock.mode_wanted.as_deref().unwrap_or("a lock"),
                e.lock.target.as_deref().unwrap_or("?")
            ),
        );
    }
    for why in why_it_blocks(a, s.pid) {
        push("blocks", why);
    }
    let downstream = a.graph.downstream(s.pid);
    if !downstream.is_empty() {
        let migration = downstream.iter().any(|p| a.is_migration(*p));
        push(
            words::ENDING_IT_FREES,
            words::freed(plural(downstream.len(), "session", "sessions"), migration),
        );
    }
    for l in &s.locks {
        let size = match (l.reltuples, l.relpages) {
            (Some(t), Some(p)) if t >= 0.0 => format!(" (~{} rows, {p} pages)", count(t)),
            _ => String::new(),
        };
        push(
            if l.granted { "holds" } else { "WAITS FOR" },
            format!("{} on {}{size}", l.mode, l.target_label()),
        );
    }
    if s.locks_unlisted > 0 {
        push(
            "holds",
            format!(
                "{} more locks, not listed (the poll lists {} per session, and every lock another session waits for)",
                s.locks_unlisted,
                crate::model::LOCKS_LISTED_PER_SESSION
            ),
        );
    }
    if state
        .privileges
        .as_ref()
        .is_some_and(|p| !p.can_read_all_stats)
        && s.query_hidden()
    {
        push(
            "hidden",
            "this role cannot see the statement: GRANT pg_read_all_stats (or pg_monitor) to reveal it".into(),
        );
    }
    out.push(TextLine::from(Span::styled("query:", bold)));
    let query = s.query.as_deref().unwrap_or("");
    // pg_stat_activity allows 1 MB statements; wrapping that on every frame is not worth it.
    let shown: String = query.chars().take(MAX_DETAIL_CHARS).collect();
    for l in inert(&shown).lines() {
        out.push(TextLine::from(l.to_string()));
    }
    if shown.len() < query.len() {
        out.push(TextLine::from(format!(
            "… {} more bytes not shown",
            query.len() - shown.len()
        )));
    }
    out
}

fn draw_details(frame: &mut Frame<'_>, area: Rect, state: &State, scroll: u16) {
    let (Some(a), Some(s)) = (state.shown(), state.selected_session()) else {
        return;
    };
    let rect = popup(area, 90, 85);
    let title = format!(
        " pid {}{} · Esc closes · j/k scroll ",
        s.pid,
        tags(a, s.pid)
    );
    let p = Paragraph::new(details_text(state, a, s))
        .block(Block::default().borders(Borders::ALL).title(title))
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    frame.render_widget(Clear, rect);
    frame.render_widget(p, rect);
}

fn draw_confirm(frame: &mut Frame<'_>, area: Rect, state: &State, c: &super::state::Confirm) {
    let verb = match c.signal {
        crate::db::Signal::Terminate => "Terminate",
        crate::db::Signal::Cancel => "Cancel the query of",
    };
    let mut text = vec![
        TextLine::from(Span::styled(
            format!("{verb} pid {}?", c.pid),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        TextLine::from(format!("query: {}", c.query)),
        TextLine::from(c.frees.clone()),
    ];
    for w in &c.warnings {
        text.push(TextLine::from(Span::styled(
            format!("! {w}"),
            palette(state, Color::Yellow).add_modifier(Modifier::BOLD),
        )));
    }
    text.push(TextLine::from(""));
    text.push(TextLine::from(
        "y confirms · any other key aborts · the display is frozen meanwhile",
    ));
    let rect = popup(area, 70, 50);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text)
            .block(Block::default().borders(Borders::ALL).title(" confirm "))
            .wrap(Wrap { trim: true }),
        rect,
    );
}

pub const HELP: &[(&str, &str)] = &[
    ("j / k, arrows", "move (PgUp/PgDn, g/G jump)"),
    ("Enter", "details: full query, locks, why it blocks"),
    ("K", "terminate the selected backend (asks first)"),
    ("C", "cancel its current query (asks first)"),
    (
        "s",
        "write a Markdown and a JSON snapshot to --snapshot-dir",
    ),
    ("p or space", "pause the display (polling goes on)"),
    (
        "/",
        "filter by pid, application, user, state, query or relation",
    ),
    ("o", "show or hide sessions outside the wait tree"),
    ("r", "poll now"),
    ("[ ] { }", "replay: step one poll, or ten"),
    ("b / n", "replay: first blocked state / next action"),
    ("p, + / -", "replay: play or pause, faster / slower"),
    ("?", "this help"),
    ("q", "quit"),
];

fn draw_help(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let mut text: Vec<TextLine<'_>> = HELP
        .iter()
        .map(|(k, v)| TextLine::from(format!("{k:>14}  {v}")))
        .collect();
    if state.read_only {
        text.push(TextLine::from(""));
        text.push(TextLine::from(
            "read-only (--read-only): K and C are disabled.",
        ));
    }
    text.push(TextLine::from(""));
    text.push(TextLine::from(format!(
        "Rows: {} blocks others and waits for nothing; {} is the DDL; '{}' = the parent holds a conflicting lock, '{}' = it waits ahead in the queue. Ages: {} = 45 s.",
        Tag::Root.short(),
        Tag::Migration.short(),
        words::edge_short(EdgeKind::Holds),
        words::edge_short(EdgeKind::QueuedAhead),
        age(45.0)
    )));
    let rect = popup(area, 80, 70);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" help · any key closes "),
            )
            .wrap(Wrap { trim: false }),
        rect,
    );
}
