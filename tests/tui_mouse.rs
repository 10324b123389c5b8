//! The mouse through update(): a click selects the row under it (where the view last drew
//! the rows), the wheel moves through the tree and scrolls the details. The real terminal
//! path (crossterm decoding SGR reports) is crossterm's; this covers what pglocks does with
//! the events.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use chrono::Duration as ChronoDuration;
use common::fixture::t0;
use common::tui_state::pileup_state;
use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use pglocks::tui::state::{Mode, State};
use pglocks::tui::update::{Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn mouse(kind: MouseEventKind, row: u16) -> Msg {
    Msg::Mouse(MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

/// Draws the screen and returns the row on which `pid` is shown.
fn draw_and_find(s: &State, pid: i32) -> u16 {
    let mut t = Terminal::new(TestBackend::new(150, 14)).unwrap();
    t.draw(|f| view::draw(f, s, t0() + ChronoDuration::seconds(2)))
        .unwrap();
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .find(|&y| {
            let line: String = (0..10).map(|x| buf[(x, y)].symbol()).collect();
            line.contains(&pid.to_string())
        })
        .unwrap_or_else(|| panic!("pid {pid} not on screen"))
}

#[test]
fn a_click_selects_the_row_under_it() {
    let mut s = pileup_state();
    assert_eq!(s.selected, Some(3020));
    let y = draw_and_find(&s, 5002);
    update(
        &mut s,
        mouse(MouseEventKind::Down(MouseButton::Left), y),
        t0(),
    );
    assert_eq!(s.selected, Some(5002));
    // A click above the rows (the headline) changes nothing.
    update(
        &mut s,
        mouse(MouseEventKind::Down(MouseButton::Left), 0),
        t0(),
    );
    assert_eq!(s.selected, Some(5002));
}

#[test]
fn no_mouse_ignores_clicks_and_the_wheel() {
    let mut s = pileup_state();
    s.mouse = false;
    let y = draw_and_find(&s, 5002);
    update(
        &mut s,
        mouse(MouseEventKind::Down(MouseButton::Left), y),
        t0(),
    );
    update(&mut s, mouse(MouseEventKind::ScrollDown, y), t0());
    assert_eq!(s.selected, Some(3020));
}

#[test]
fn a_click_before_any_drawing_is_ignored() {
    let mut s = pileup_state();
    update(
        &mut s,
        mouse(MouseEventKind::Down(MouseButton::Left), 8),
        t0(),
    );
    assert_eq!(s.selected, Some(3020));
}

#[test]
fn the_wheel_moves_through_the_tree_and_scrolls_details() {
    let mut s = pileup_state();
    update(&mut s, mouse(MouseEventKind::ScrollDown, 5), t0());
    // Three rows down from the root: 3020, 4711, 5001, 5002.
    assert_eq!(s.selected, Some(5002));
    update(&mut s, mouse(MouseEventKind::ScrollUp, 5), t0());
    assert_eq!(s.selected, Some(3020));
    s.mode = Mode::Details { scroll: 0 };
    update(&mut s, mouse(MouseEventKind::ScrollDown, 5), t0());
    assert_eq!(s.mode, Mode::Details { scroll: 3 });
    update(&mut s, mouse(MouseEventKind::ScrollUp, 5), t0());
    update(&mut s, mouse(MouseEventKind::ScrollUp, 5), t0());
    assert_eq!(s.mode, Mode::Details { scroll: 0 });
    assert_eq!(
        s.selected,
        Some(3020),
        "the wheel in details leaves the tree alone"
    );
}
