//! The strip above the tree when several servers are watched: per server its number key,
//! name, role, waiting count, whether a migration is blocked, and its replay lag; a server
//! with no recent poll says STALE. Standbys that a primary lists but the user did not
//! name follow as "not connected". A pure function of the fleet and the clock.
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::state::State;

use crate::fleet::{ServerStatus, not_connected};
use crate::humanize::age;

/// The screen with several servers: the strip on the top row and the selected server's
/// screen below it (its headline starts on the second row), or, for a server that has
/// never answered, why not.
pub fn draw(
    frame: &mut Frame<'_>,
    state: &State,
    now: DateTime<Utc>,
    strip: Line<'static>,
    not_polled: Option<String>,
) {
    let area = frame.area();
    let mut row = area;
    row.height = area.height.min(1);
    let mut rest = area;
    rest.y += row.height;
    rest.height -= row.height;
    frame.render_widget(Paragraph::new(strip), row);
    match not_polled {
        Some(why) => frame.render_widget(Paragraph::new(why).wrap(Wrap { trim: true }), rest),
        None => super::view::draw_in(frame, rest, state, now),
    }
}

pub fn line(
    servers: &[ServerStatus],
    selected: usize,
    now: Instant,
    interval: Duration,
) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" │ "));
        }
        let mut head = Style::default().add_modifier(Modifier::BOLD);
        if i == selected {
            head = head.add_modifier(Modifier::REVERSED);
        }
        spans.push(Span::styled(format!("{} {}", i + 1, s.name), head));
        spans.push(Span::raw(format!(" {}", s.role().unwrap_or("?"))));
        if s.is_stale(now, interval) {
            let since = s
                .last_update
                .map(|t| format!(" {}", age(now.saturating_duration_since(t).as_secs_f64())))
                .unwrap_or_default();
            spans.push(Span::styled(
                format!(" STALE{since}"),
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            ));
        }
        if let Some(n) = s.waiting() {
            spans.push(Span::raw(format!(" {n} waiting")));
        }
        if s.migration_blocked() {
            spans.push(Span::styled(
                " MIGRATION BLOCKED",
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            ));
        }
        if let Some(lag) = s.replay_lag_s() {
            spans.push(Span::raw(format!(" lag {}", age(lag))));
        }
        let replay_waits = s
            .analysis
            .as_ref()
            .and_then(|a| a.snapshot.replication.as_ref()?.replay_wait())
            .is_some_and(|w| !w.holders.is_empty());
        if replay_waits {
            spans.push(Span::styled(
                " REPLAY WAITS",
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ));
        }
    }
    for link in not_connected(servers) {
        let name = link.application_name.as_deref().unwrap_or("standby");
        let addr = link
            .client_addr
            .as_deref()
            .map(|a| format!("@{a}"))
            .unwrap_or_default();
        spans.push(Span::styled(
            format!(" │ {name}{addr} standby, not connected"),
            Style::default().fg(Color::DarkGray),
        ));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line<'_>) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_server_never_polled_says_stale_and_the_others_their_numbers() {
        let now = Instant::now();
        let mut a = ServerStatus::new("main".into());
        a.last_update = Some(now);
        let b = ServerStatus::new("replica".into());
        let l = line(&[a, b], 0, now, Duration::from_secs(1));
        assert_eq!(text(&l), "1 main ? │ 2 replica ? STALE");
    }
}
