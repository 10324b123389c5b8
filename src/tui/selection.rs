//! Where the cursor is: kept on its pid or group across polls, moved by keys, wheel and
//! clicks. Plain functions of the state, shared by update.rs, groups.rs and mouse.rs.
use super::state::{PaneLine, State};

/// Starts the cursor on the root blocker with the greatest impact (the first row), keeps
/// it on its pid (or group) while that exists, moves it onto the group that a pid has
/// joined, and to the nearest row when it is gone.
pub(super) fn ensure_selection(state: &mut State) {
    let lines = state.lines();
    let (index, cursor) = match state.selected_index(&lines) {
        Some(i) => (i, None),
        None if state.selected.is_none()
            && state.selected_group.is_none()
            && state.selected_tail.is_none() =>
        {
            (0, Some(lines.first().map(PaneLine::cursor)))
        }
        None => {
            let joined = state.selected.and_then(|pid| {
                lines.iter().position(|l| {
                    l.group
                        .as_ref()
                        .is_some_and(|g| !g.expanded && g.members.contains(&pid))
                })
            });
            let i = joined.unwrap_or(state.cursor_hint.min(lines.len().saturating_sub(1)));
            (i, Some(lines.get(i).map(PaneLine::cursor)))
        }
    };
    drop(lines);
    state.cursor_hint = index;
    if let Some(c) = cursor {
        state.set_cursor(c);
    }
}

/// Moves the cursor `delta` rows, stopping at the first and the last.
pub(super) fn move_selection(state: &mut State, delta: i32) {
    let lines = state.lines();
    if lines.is_empty() {
        return;
    }
    let current = state.selected_index(&lines).unwrap_or(0) as i64;
    let next = (current + i64::from(delta)).clamp(0, lines.len() as i64 - 1) as usize;
    let cursor = lines[next].cursor();
    drop(lines);
    state.set_cursor(Some(cursor));
    state.cursor_hint = next;
}
