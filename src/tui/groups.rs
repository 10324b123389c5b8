//! Keys on the rows that stand for others: a `× N` group of identical waiters and the
//! `… N more` fold of a root's long tail. Opening and closing them, and what K/C say there.
use super::selection::ensure_selection;
use super::state::{Cursor, State};
use crate::graph::EdgeKind;

/// Right (or Enter) opens the group under the cursor; left closes it, from its row or
/// from any of its members, and leaves the cursor on the group row.
pub(super) fn open_group(state: &mut State, open: bool) -> bool {
    let lines = state.lines();
    let Some(line) = state.selected_index(&lines).map(|i| &lines[i]) else {
        return false;
    };
    let group = match (open, &line.group, &line.member_of) {
        (true, Some(g), _) => g.key.clone(),
        (false, Some(g), _) | (false, None, Some(g)) if g.expanded => g.key.clone(),
        _ => return false,
    };
    drop(lines);
    if open {
        state.expanded.insert(group);
    } else {
        state.expanded.remove(&group);
        state.set_cursor(Some(Cursor::Group(group)));
    }
    ensure_selection(state);
    true
}

/// Left on a row of a root's opened tail folds it again, with the cursor on the fold row.
pub(super) fn close_tail(state: &mut State) {
    let lines = state.lines();
    let Some(i) = state.selected_index(&lines) else {
        return;
    };
    let Some(root) = lines[..=i].iter().rev().find(|l| l.depth == 0 && l.in_tree) else {
        return;
    };
    let root = root.pid;
    drop(lines);
    if state.open_tails.remove(&root) {
        state.set_cursor(Some(Cursor::Tail(root)));
        ensure_selection(state);
    }
}

/// K or C on a group row signals nobody: it says what would help instead.
pub(super) fn group_signal_hint(state: &State) -> Option<String> {
    let key = state.selected_group.as_ref()?;
    let a = state.shown()?;
    let lines = state.lines();
    let n = lines
        .iter()
        .find_map(|l| l.group.as_ref().filter(|g| g.key == *key))
        .map_or(0, |g| g.members.len());
    if key.kind == EdgeKind::QueuedAhead && a.is_migration(key.parent) {
        return Some(format!(
            "{n} sessions queue behind migration pid {}: cancelling the migration frees them all (select it, then C); Enter or → expands the group to signal one",
            key.parent
        ));
    }
    Some(format!(
        "a group of {n} identical sessions: Enter or → expands it, then select the one to signal"
    ))
}
