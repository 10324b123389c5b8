//! The popups that ask or tell before the table comes back: the confirmation of a
//! terminate or cancel, and the help; `popup` places any of them, the details too.
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::screen::{MIN_HEIGHT, MIN_WIDTH, palette};
use crate::graph::EdgeKind;
use crate::humanize::age;
use crate::tui::state::{Confirm, State};
use crate::words::{self, Tag};

pub(super) fn popup(area: Rect, width_pct: u16, height_pct: u16) -> Rect {
    let w = (area.width * width_pct / 100).max(MIN_WIDTH.min(area.width));
    let h = (area.height * height_pct / 100).max(MIN_HEIGHT.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub(super) fn draw_confirm(frame: &mut Frame<'_>, area: Rect, state: &State, c: &Confirm) {
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

pub(super) fn draw_help(frame: &mut Frame<'_>, area: Rect, state: &State) {
    // The keys as bound: the config file's [keys] can move them.
    let mut text: Vec<TextLine<'_>> = crate::tui::keys::help_rows(&state.keys)
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
