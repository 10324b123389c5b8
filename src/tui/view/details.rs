//! The details popup of one session: who it is, what it waits on, whom it blocks and why,
//! what ending it frees, its locks and its full statement.
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::popups::popup;
use super::table::tags;
use crate::analysis::Analysis;
use crate::graph::EdgeKind;
use crate::humanize::{count, inert, opt_age, plural};
use crate::model::Session;
use crate::tui::state::State;
use crate::words;

const MAX_DETAIL_CHARS: usize = 64 * 1024;

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

pub(super) fn draw_details(frame: &mut Frame<'_>, area: Rect, state: &State, scroll: u16) {
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
