//! What is on screen. Plain data, owned by the UI loop; the poller only sends messages.
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::analysis::Analysis;
use crate::db::{Privileges, Signal};
use crate::model::{ActionRecord, Session};
use crate::tree::{self, Group, GroupKey, Item};

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Tree,
    Details { scroll: u16 },
    Confirm(Confirm),
    Help,
    Filter,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub signal: Signal,
    pub pid: i32,
    pub backend_start: DateTime<Utc>,
    pub query: String,
    pub frees: String,
    pub warnings: Vec<String>,
}

pub struct State {
    /// The newest analysis from the poller.
    pub live: Option<Box<Analysis>>,
    /// What stays on screen while the user confirms a signal; polling goes on meanwhile.
    pub frozen: Option<Box<Analysis>>,
    pub received_at: Option<DateTime<Utc>>,
    pub latency: Option<Duration>,
    /// Set while polls fail: since when, and why.
    pub failing: Option<(DateTime<Utc>, String)>,
    pub target: String,
    pub privileges: Option<Privileges>,
    pub monitor_pid: Option<i32>,
    /// Selection is by pid so that it survives re-polls and re-sorts.
    pub selected: Option<i32>,
    /// Set (and `selected` None) while the cursor is on a group row: a group is selected by
    /// its key, which survives polls as a pid does.
    pub selected_group: Option<GroupKey>,
    /// Groups the user opened with Enter or the right arrow.
    pub expanded: HashSet<GroupKey>,
    /// Set (and `selected` None) while the cursor is on the fold row of a root's tail.
    pub selected_tail: Option<i32>,
    /// Roots whose long tail the user opened.
    pub open_tails: HashSet<i32>,
    /// Where the cursor was, so that when its pid disappears it lands on the nearest row.
    pub cursor_hint: usize,
    pub mode: Mode,
    pub show_others: bool,
    pub paused: bool,
    pub filter: String,
    pub status: Option<String>,
    pub actions: Vec<ActionRecord>,
    pub read_only: bool,
    pub snapshot_dir: PathBuf,
    pub long_xact_s: f64,
    pub no_color: bool,
    pub theme: super::theme::Theme,
    /// Mouse reporting on (off with --no-mouse).
    pub mouse: bool,
    /// Which key does what: built-in, or the config file's `[keys]`.
    pub keys: super::keys::Keymap,
    /// Written by the view, read by a click: where the tree's rows are on screen.
    pub rows_on_screen: std::cell::Cell<Option<RowsOnScreen>>,
    /// Set when the screen replays a recording instead of watching a server.
    pub replay: Option<super::replay::Replay>,
    /// The last minutes of changes, for the timeline the snapshot key writes.
    pub ring: super::ring::Ring,
    /// `--record FILE`: shown in the header so nobody wonders whether it is on.
    pub recording: Option<String>,
}

/// A line of the main pane: a tree row or, below it, one of the other sessions.
/// Written by the view, read by a click: where the tree's rows were last drawn: the screen row of the first one, the index of the
/// line shown there, and how many are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowsOnScreen {
    pub top: u16,
    pub first: usize,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaneLine<'a> {
    pub pid: i32,
    pub depth: usize,
    pub edge: Option<&'a crate::graph::Edge>,
    pub repeat: bool,
    pub in_tree: bool,
    /// Some on a group row: identical waiters drawn as one. `pid` is then its first member.
    pub group: Option<Rc<Group<'a>>>,
    /// Some on a member row of an expanded group: the group it belongs to.
    pub member_of: Option<Rc<Group<'a>>>,
    /// Some on the row that stands for the folded tail of root `pid`: how many rows it hides.
    pub tail: Option<usize>,
}

/// With more than one root, each root's subtree shows this many rows (plus its migrations
/// and the rows above them) before the rest folds into one row, so that every incident gets
/// a row before any incident's long tail takes the screen.
pub const TAIL_AFTER: usize = 6;

/// What the cursor is on, owned, so that it can be set after the lines are dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    Pid(i32),
    Group(GroupKey),
    /// The fold row of this root's tail.
    Tail(i32),
}

impl PaneLine<'_> {
    pub fn cursor(&self) -> Cursor {
        match (&self.group, self.tail) {
            (Some(g), _) => Cursor::Group(g.key.clone()),
            (None, Some(_)) => Cursor::Tail(self.pid),
            (None, None) => Cursor::Pid(self.pid),
        }
    }

    /// Whether the cursor is on this line.
    fn is_selected(&self, state: &State) -> bool {
        match (&self.group, self.tail) {
            (Some(g), _) => state.selected_group.as_ref() == Some(&g.key),
            (None, Some(_)) => state.selected_tail == Some(self.pid),
            (None, None) => state.selected == Some(self.pid),
        }
    }
}

impl State {
    pub fn new(target: String, read_only: bool, snapshot_dir: PathBuf, long_xact_s: f64) -> State {
        State {
            live: None,
            frozen: None,
            received_at: None,
            latency: None,
            failing: None,
            target,
            privileges: None,
            monitor_pid: None,
            selected: None,
            selected_group: None,
            expanded: HashSet::new(),
            selected_tail: None,
            open_tails: HashSet::new(),
            cursor_hint: 0,
            mode: Mode::Tree,
            show_others: false,
            paused: false,
            filter: String::new(),
            status: None,
            actions: Vec::new(),
            read_only,
            snapshot_dir,
            long_xact_s,
            no_color: false,
            theme: super::theme::Theme::Dark,
            mouse: true,
            keys: super::keys::Keymap::default(),
            rows_on_screen: std::cell::Cell::new(None),
            replay: None,
            ring: super::ring::Ring::default(),
            recording: None,
        }
    }

    /// What the screen shows: the frozen analysis while confirming, else the live one.
    pub fn shown(&self) -> Option<&Analysis> {
        self.frozen.as_deref().or(self.live.as_deref())
    }

    pub fn selected_session(&self) -> Option<&Session> {
        let a = self.shown()?;
        a.session(self.selected?)
    }

    /// The rows of the main pane, in order: the wait tree, then (if shown) the rest.
    pub fn lines(&self) -> Vec<PaneLine<'_>> {
        let Some(a) = self.shown() else {
            return Vec::new();
        };
        let matches = |pid: i32| self.matches_filter(a, pid);
        let open = |k: &GroupKey| self.expanded.contains(k);
        let tree_lines: Vec<PaneLine<'_>> = tree::items(a, &open)
            .into_iter()
            .filter_map(|item| {
                let (r, group, member_of) = match item {
                    Item::Row(r) => (r, None, None),
                    Item::Member(r, g) => (r, None, Some(g)),
                    Item::Group(g) => {
                        if !g.members.iter().any(|&p| matches(p)) {
                            return None;
                        }
                        let r = tree::TreeRow {
                            pid: g.members[0],
                            depth: g.depth,
                            edge: Some(g.edge),
                            repeat: false,
                        };
                        (r, Some(g), None)
                    }
                };
                (group.is_some() || matches(r.pid)).then_some(PaneLine {
                    pid: r.pid,
                    depth: r.depth,
                    edge: r.edge,
                    repeat: r.repeat,
                    in_tree: true,
                    group,
                    member_of,
                    tail: None,
                })
            })
            .collect();
        let mut out = self.fold_tails(a, tree_lines);
        if self.show_others {
            // Ages computed once, not twice per comparison of the sort.
            let mut others: Vec<(f64, i32)> = a
                .snapshot
                .sessions
                .iter()
                .filter(|s| a.graph.depth(s.pid).is_none() && matches(s.pid))
                .map(|s| (a.xact_age(s).unwrap_or(-1.0), s.pid))
                .collect();
            // Oldest transactions first: the next blocker is usually among them.
            others.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            out.extend(others.into_iter().map(|(_, pid)| PaneLine {
                pid,
                depth: 0,
                edge: None,
                repeat: false,
                in_tree: false,
                group: None,
                member_of: None,
                tail: None,
            }));
        }
        out
    }

    /// With several roots, each root's rows past [`TAIL_AFTER`] fold into one row, except
    /// migrations and the rows above them; a root the user opened keeps all its rows.
    fn fold_tails<'a>(&self, a: &Analysis, lines: Vec<PaneLine<'a>>) -> Vec<PaneLine<'a>> {
        let roots = lines.iter().filter(|l| l.depth == 0).count();
        if roots < 2 {
            return lines;
        }
        let mut out = Vec::with_capacity(lines.len());
        let mut rest = lines.into_iter().peekable();
        while let Some(root) = rest.next() {
            let mut subtree = vec![root];
            while let Some(l) = rest.next_if(|l| l.depth > 0) {
                subtree.push(l);
            }
            let pid = subtree[0].pid;
            // Opening a group inside it opens the tail too: the user asked for those rows.
            let opened =
                self.open_tails.contains(&pid) || subtree.iter().any(|l| l.member_of.is_some());
            if subtree.len() <= TAIL_AFTER + 1 || opened {
                out.extend(subtree);
                continue;
            }
            // A migration deep in the tail keeps its row, and so do the rows above it.
            let mut keep: Vec<bool> = (0..subtree.len()).map(|i| i < TAIL_AFTER).collect();
            for i in (TAIL_AFTER..subtree.len()).rev() {
                if a.is_migration(subtree[i].pid) && subtree[i].group.is_none() {
                    let mut depth = subtree[i].depth;
                    keep[i] = true;
                    for j in (0..i).rev() {
                        if subtree[j].depth < depth {
                            keep[j] = true;
                            depth = subtree[j].depth;
                        }
                    }
                }
            }
            let hidden = keep.iter().filter(|k| !**k).count();
            out.extend(
                subtree
                    .into_iter()
                    .zip(keep)
                    .filter_map(|(l, k)| k.then_some(l)),
            );
            out.push(PaneLine {
                pid,
                depth: 1,
                edge: None,
                repeat: false,
                in_tree: true,
                group: None,
                member_of: None,
                tail: Some(hidden),
            });
        }
        out
    }

    fn matches_filter(&self, a: &Analysis, pid: i32) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let needle = self.filter.to_lowercase();
        let Some(s) = a.session(pid) else {
            return false;
        };
        pid.to_string().contains(&needle)
            || [
                &s.application_name,
                &s.user,
                &s.query,
                &s.state,
                &s.database,
            ]
            .iter()
            .any(|f| {
                f.as_deref()
                    .is_some_and(|v| v.to_lowercase().contains(&needle))
            })
            || s.locks.iter().any(|l| {
                l.relation_name
                    .as_deref()
                    .is_some_and(|r| r.to_lowercase().contains(&needle))
            })
    }

    pub fn selected_index(&self, lines: &[PaneLine<'_>]) -> Option<usize> {
        lines.iter().position(|l| l.is_selected(self))
    }

    /// Puts the cursor on a pid or a group.
    pub fn set_cursor(&mut self, cursor: Option<Cursor>) {
        (self.selected, self.selected_group, self.selected_tail) = match cursor {
            Some(Cursor::Pid(p)) => (Some(p), None, None),
            Some(Cursor::Group(k)) => (None, Some(k), None),
            Some(Cursor::Tail(root)) => (None, None, Some(root)),
            None => (None, None, None),
        };
    }

    /// Seconds since the data on screen was read, for the header.
    pub fn data_age(&self, now: DateTime<Utc>) -> Option<f64> {
        self.received_at
            .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
    }
}
