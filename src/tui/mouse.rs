//! The mouse: the wheel scrolls the tree (by moving the selection) and the details; a left
//! click on a row selects it. The view records where the rows are; this maps a click there.
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, MouseEvent, MouseEventKind};
use crossterm::execute;

use super::selection::move_selection;
use super::state::{Mode, State};

/// Rows per wheel notch.
const WHEEL: i32 = 3;

/// The mouse only moves the cursor or scrolls: it never asks for an effect.
pub fn on_mouse(state: &mut State, ev: MouseEvent) {
    // crossterm decodes a mouse report even when capture is off (a terminal may still send
    // one); --no-mouse means none of them acts.
    if !state.mouse {
        return;
    }
    let delta = match ev.kind {
        MouseEventKind::ScrollDown => WHEEL,
        MouseEventKind::ScrollUp => -WHEEL,
        MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
            if matches!(state.mode, Mode::Tree | Mode::Filter) {
                click(state, ev.row);
            }
            return;
        }
        _ => return,
    };
    match state.mode {
        Mode::Details { scroll } => {
            let scroll = if delta > 0 {
                scroll.saturating_add(WHEEL as u16)
            } else {
                scroll.saturating_sub(WHEEL as u16)
            };
            state.mode = Mode::Details { scroll };
        }
        Mode::Tree | Mode::Filter => move_selection(state, delta),
        _ => {}
    }
}

fn click(state: &mut State, y: u16) {
    let Some(rows) = state.rows_on_screen.get() else {
        return;
    };
    if y < rows.top || usize::from(y - rows.top) >= rows.count {
        return;
    }
    let target = rows.first + usize::from(y - rows.top);
    let current = {
        let lines = state.lines();
        state.selected_index(&lines).unwrap_or(0)
    };
    let delta = target as i64 - current as i64;
    move_selection(state, i32::try_from(delta).unwrap_or(0));
}

/// Mouse reporting on while it lives; the terminal's own restore (terminal.rs) runs after.
pub struct Capture;

impl Capture {
    pub fn enable() -> Option<Capture> {
        execute!(std::io::stdout(), EnableMouseCapture)
            .ok()
            .map(|()| Capture)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
}
