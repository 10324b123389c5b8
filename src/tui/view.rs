//! A pure draw of the state: no I/O, no clock but the one passed in. This file lays the
//! screen out; each part draws itself: `header` (the lines around the table), `table`
//! (the wait tree), `details` (one session) and `popups` (confirm, help), on what `screen`
//! gives them all: the smallest size and the palette.
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use super::state::{Mode, State};
use details::draw_details;
use header::{draw_footer, draw_header, draw_timeline, header_height};
use popups::{draw_confirm, draw_help};
use table::draw_table;

mod details;
mod header;
mod popups;
mod screen;
mod table;

pub use details::why_it_blocks;
pub use header::clock_status;
pub use screen::{MIN_HEIGHT, MIN_WIDTH};

pub fn draw(frame: &mut Frame<'_>, state: &State, now: DateTime<Utc>) {
    draw_in(frame, frame.area(), state, now);
}

/// The screen in `area`: below the strip with several servers, above the guard's rows
/// under `guard --tui`.
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
