//! The wait-tree table: one row per line, columns sized to what they hold, and a width
//! budget that never cuts the relation. When the screen is short of columns the lock mode
//! is abbreviated first, then the application and the statement give way; at 80 columns
//! the lock cell keeps the relation and drops the mode.
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line as TextLine;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

use super::screen::palette;
use crate::analysis::Analysis;
use crate::graph::EdgeKind;
use crate::humanize::{first_line, inert, opt_age};
use crate::lockmode::LockMode;
use crate::model::Session;
use crate::tree::Group;
use crate::tui::state::{PaneLine, RowsOnScreen, State};
use crate::words;

/// The statement keeps this much in the layouts with an application column...
const STATEMENT_WIDE: usize = 16;
/// ...and this much in the narrowest, where only the relation is worth more.
const STATEMENT_MIN: usize = 12;
/// The tree column is cut to this on the smallest screens, before the relation is.
const PID_MIN: usize = 6;
/// The application column shrinks to this before a narrower layout is chosen.
const WHO_MIN: usize = 10;
/// Between columns, and the selection marker before the first.
const SPACING: usize = 1;
const MARKER: usize = 1;

pub(super) fn tags(a: &Analysis, pid: i32) -> String {
    a.tags(pid)
        .iter()
        .map(|t| format!(" {}", t.short()))
        .collect()
}

fn row_style(state: &State, a: &Analysis, s: &Session) -> Style {
    if a.graph.is_root(s.pid) {
        palette(state, Color::Red).add_modifier(Modifier::BOLD)
    } else if a.is_migration(s.pid) {
        palette(state, Color::Magenta).add_modifier(Modifier::BOLD)
    } else if s.is_idle_in_transaction() {
        palette(state, Color::Yellow)
    } else if a.xact_age(s).is_some_and(|x| x >= state.long_xact_s) {
        palette(state, Color::LightRed)
    } else {
        Style::default()
    }
}

/// How much of the lock cell fits, longest first.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Level {
    /// wants AccessExclusive public.orders
    Full,
    /// wants AccessExcl public.orders
    Abbreviated,
    /// AccessExcl public.orders
    Terse,
    /// public.orders
    Relation,
}

#[derive(Debug, Default)]
struct LockCell {
    verb: &'static str,
    mode: String,
    target: String,
}

impl LockCell {
    fn wanted(mode: &str, target: String) -> LockCell {
        LockCell {
            verb: "wants",
            mode: mode.to_string(),
            target,
        }
    }

    fn of(a: &Analysis, s: &Session) -> LockCell {
        if let Some(l) = s.awaited_lock() {
            return LockCell::wanted(&l.mode, l.target_label());
        }
        match a
            .graph
            .waiters_of(s.pid)
            .find(|e| e.lock.mode_held.is_some())
        {
            Some(e) => LockCell {
                verb: words::edge_verb(EdgeKind::Holds),
                mode: e.lock.mode_held.as_deref().unwrap_or("").to_string(),
                target: e.lock.target.clone().unwrap_or_default(),
            },
            None => LockCell::default(),
        }
    }

    fn render(&self, level: Level) -> String {
        if self.verb.is_empty() {
            return String::new();
        }
        let long = self.mode.strip_suffix("Lock").unwrap_or(&self.mode);
        let short = LockMode::parse(&self.mode).map_or(long, |m| m.abbreviation());
        let target = inert(&self.target);
        match level {
            Level::Full => format!("{} {long} {target}", self.verb),
            Level::Abbreviated => format!("{} {short} {target}", self.verb),
            Level::Terse => format!("{short} {target}"),
            Level::Relation => target.into_owned(),
        }
    }
}

fn short_state(state: &str) -> &str {
    match state {
        "idle in transaction" => "idle in xact",
        "idle in transaction (aborted)" => "idle aborted",
        s => s,
    }
}

/// "app/user", and the application alone for when the column is too narrow for both.
fn who(app: Option<&str>, user: Option<&str>) -> (String, String) {
    let (both, one) = match (app.filter(|x| !x.is_empty()), user) {
        (Some(app), Some(u)) => (format!("{app}/{u}"), app.to_string()),
        (Some(app), None) => (app.to_string(), app.to_string()),
        (None, Some(u)) => (u.to_string(), u.to_string()),
        (None, None) => ("?".into(), "?".into()),
    };
    (inert(&both).into_owned(), inert(&one).into_owned())
}

/// A row's text before it is fitted to the columns.
struct Cells {
    tree: String,
    edge: &'static str,
    who: (String, String),
    state: String,
    xact: String,
    query: String,
    wait: String,
    lock: LockCell,
    statement: String,
    style: Style,
}

impl Cells {
    fn empty() -> Cells {
        Cells {
            tree: String::new(),
            edge: "",
            who: (String::new(), String::new()),
            state: String::new(),
            xact: String::new(),
            query: String::new(),
            wait: String::new(),
            lock: LockCell::default(),
            statement: String::new(),
            style: Style::default(),
        }
    }
}

fn edge_word(line: &PaneLine<'_>) -> &'static str {
    match line.edge.map(|e| e.kind) {
        Some(kind) => words::edge_short(kind),
        None if !line.in_tree => "·",
        None => "",
    }
}

fn indent(depth: usize) -> String {
    let pad = "  ".repeat(depth.saturating_sub(1));
    let glyph = if depth > 0 { "└" } else { "" };
    format!("{pad}{glyph}")
}

fn cells(state: &State, a: &Analysis, line: &PaneLine<'_>) -> Cells {
    if let Some(g) = &line.group {
        return group_cells(a, line, g);
    }
    if let Some(hidden) = line.tail {
        return Cells {
            tree: format!("{}… {hidden} more ▸", indent(line.depth)),
            statement: "→ shows the rest of this incident".into(),
            style: Style::default().add_modifier(Modifier::DIM),
            ..Cells::empty()
        };
    }
    let Some(s) = a.session(line.pid) else {
        return Cells {
            tree: format!("{} (gone)", line.pid),
            ..Cells::empty()
        };
    };
    // Members of an open group sit one level under its row.
    let depth = line.depth + usize::from(line.member_of.is_some());
    Cells {
        tree: format!("{}{}{}", indent(depth), line.pid, tags(a, line.pid)),
        edge: edge_word(line),
        who: who(s.app_label(), s.user.as_deref()),
        state: short_state(s.state_label()).to_string(),
        xact: opt_age(a.xact_age(s)),
        query: opt_age(a.query_age(s)),
        wait: opt_age(a.wait_age(s)),
        lock: LockCell::of(a, s),
        statement: if line.repeat {
            "(shown above)".to_string()
        } else {
            first_line(s.query.as_deref().unwrap_or(""), 200)
        },
        style: row_style(state, a, s),
    }
}

/// `× 57  queued  checkout-api  wants AccessShare public.orders  2s–1m12s  SELECT … = ?`
fn group_cells(a: &Analysis, line: &PaneLine<'_>, g: &Group<'_>) -> Cells {
    let first = a.session(g.members[0]);
    Cells {
        tree: format!(
            "{}× {} {}",
            indent(line.depth),
            g.members.len(),
            if g.expanded { "▾" } else { "▸" }
        ),
        edge: edge_word(line),
        who: who(Some(&g.key.application), Some(&g.key.user)),
        state: short_state(first.map_or("?", Session::state_label)).to_string(),
        xact: String::new(),
        query: String::new(),
        wait: g.wait_span(a),
        lock: LockCell::wanted(&g.key.mode, g.key.target.clone()),
        statement: first_line(&g.key.statement, 200),
        style: Style::default().add_modifier(Modifier::DIM),
    }
}

/// Characters, not bytes: the glyphs in these cells are all one column wide.
fn width(s: &str) -> usize {
    s.chars().count()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    Pid,
    Edge,
    Who,
    State,
    Xact,
    Query,
    Wait,
    Lock,
}

/// The layouts, widest first; the statement follows the last column of each.
const WIDE: &[Col] = &[
    Col::Pid,
    Col::Edge,
    Col::Who,
    Col::State,
    Col::Xact,
    Col::Query,
    Col::Wait,
    Col::Lock,
];
const MEDIUM: &[Col] = &[
    Col::Pid,
    Col::Edge,
    Col::Who,
    Col::State,
    Col::Xact,
    Col::Wait,
    Col::Lock,
];
const NARROW: &[Col] = &[Col::Pid, Col::Edge, Col::Wait, Col::Lock];

impl Col {
    fn name(self) -> &'static str {
        match self {
            Col::Pid => "pid",
            Col::Edge => "edge",
            Col::Who => "app/user",
            Col::State => "state",
            Col::Xact => "xact",
            Col::Query => "query",
            Col::Wait => "wait",
            Col::Lock => "lock",
        }
    }

    /// Widest a column grows; the lock column has no cap, so the relation is never cut.
    fn cap(self) -> usize {
        match self {
            Col::Pid => 24,
            Col::Edge => 6,
            Col::Who => 22,
            Col::State => 12,
            Col::Xact | Col::Query => 9,
            Col::Wait => 13,
            Col::Lock => usize::MAX,
        }
    }

    fn text(self, c: &Cells, level: Level) -> String {
        match self {
            Col::Pid => c.tree.clone(),
            Col::Edge => c.edge.to_string(),
            Col::Who => c.who.0.clone(),
            Col::State => c.state.clone(),
            Col::Xact => c.xact.clone(),
            Col::Query => c.query.clone(),
            Col::Wait => c.wait.clone(),
            Col::Lock => c.lock.render(level),
        }
    }

    fn width(self, rows: &[Cells], level: Level) -> usize {
        rows.iter()
            .map(|c| width(&self.text(c, level)))
            .fold(width(self.name()), usize::max)
            .min(self.cap())
    }
}

/// The columns for the rows on screen, their widths (the statement takes what is left),
/// and how much of the lock cell they leave room for.
struct Fit {
    cols: &'static [Col],
    widths: Vec<usize>,
    level: Level,
}

/// The widest layout and the longest lock cell that leave the statement its minimum:
/// first the mode is abbreviated, then the application column gives way, then the
/// columns of ages and state go; at the narrowest the relation outlasts the mode.
fn fit(rows: &[Cells], total: usize) -> Fit {
    // Without the query-age column the lock cell may lose its verb too: the edge column
    // still says which rows wait.
    let wider: [(&'static [Col], &[Level]); 2] = [
        (WIDE, &[Level::Full, Level::Abbreviated]),
        (MEDIUM, &[Level::Full, Level::Abbreviated, Level::Terse]),
    ];
    for (cols, levels) in wider {
        // The mode is shortened before the application column gives way.
        for squeeze in [false, true] {
            for &level in levels {
                if let Some(f) = place(rows, total, cols, level, STATEMENT_WIDE, squeeze) {
                    return f;
                }
            }
        }
    }
    for level in [Level::Full, Level::Abbreviated, Level::Terse] {
        if let Some(f) = place(rows, total, NARROW, level, STATEMENT_MIN, false) {
            return f;
        }
    }
    // Too narrow for anything else: the relation alone, the tree column cut before it,
    // and the statement gets what is left.
    let mut widths: Vec<usize> = NARROW
        .iter()
        .map(|c| c.width(rows, Level::Relation))
        .collect();
    let available = total.saturating_sub(MARKER + NARROW.len() * SPACING);
    let over = widths.iter().sum::<usize>().saturating_sub(available);
    widths[0] = widths[0].saturating_sub(over).max(PID_MIN);
    Fit {
        cols: NARROW,
        widths,
        level: Level::Relation,
    }
}

/// The widths of `cols` if they leave the statement `statement` columns. With `squeeze`
/// the application column may shrink to [`WHO_MIN`]; it gets what the statement can spare.
fn place(
    rows: &[Cells],
    total: usize,
    cols: &'static [Col],
    level: Level,
    statement: usize,
    squeeze: bool,
) -> Option<Fit> {
    let available = total.saturating_sub(MARKER + cols.len() * SPACING);
    let mut widths: Vec<usize> = cols.iter().map(|c| c.width(rows, level)).collect();
    let squeezed: usize = cols
        .iter()
        .zip(&widths)
        .map(|(c, &w)| {
            if *c == Col::Who && squeeze {
                w.min(WHO_MIN)
            } else {
                w
            }
        })
        .sum();
    let spare = available.checked_sub(squeezed + statement)?;
    for (c, w) in cols.iter().zip(widths.iter_mut()) {
        if *c == Col::Who {
            let counted = if squeeze { (*w).min(WHO_MIN) } else { *w };
            *w = (*w).min(counted + spare);
        }
    }
    Some(Fit {
        cols,
        widths,
        level,
    })
}

fn row<'a>(c: &Cells, fit: &Fit) -> Row<'a> {
    let mut cells: Vec<Cell<'a>> = fit
        .cols
        .iter()
        .zip(&fit.widths)
        .map(|(col, &w)| match col {
            // A cut "analytics/post" says less than "analytics".
            Col::Who if width(&c.who.0) > w => Cell::from(c.who.1.clone()),
            _ => Cell::from(col.text(c, fit.level)),
        })
        .collect();
    cells.push(Cell::from(c.statement.clone()));
    Row::new(cells).style(c.style)
}

pub(super) fn draw_table(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let Some(a) = state.shown() else {
        return;
    };
    let lines = state.lines();
    state.rows_on_screen.set(None);
    let title = if state.show_others {
        " wait tree + other sessions (o hides) "
    } else {
        " wait tree (o shows other sessions) "
    };
    let block = Block::default().borders(Borders::TOP).title(title);
    if lines.is_empty() {
        let msg = if state.filter.is_empty() {
            "Nobody is waiting on a lock. Press o to list every session."
        } else {
            "No session matches the filter. / edits it, Esc clears it."
        };
        frame.render_widget(Paragraph::new(msg).block(block), area);
        return;
    }
    let selected = state.selected_index(&lines);
    // Block title and column header take two rows.
    let mut height = usize::from(area.height).saturating_sub(2);
    let mut below = incidents_below(a, &lines, window(selected, height), height);
    if below.count > 0 {
        height = height.saturating_sub(1);
        below = incidents_below(a, &lines, window(selected, height), height);
    }
    // Only rows near the selection can be on screen, and formatting every row of a large
    // pile-up was most of a frame's cost. With a fresh TableState, ratatui scrolls just far
    // enough to show the selected row, which leaves it on the bottom line once it is past
    // the first screen; so the screenful ending at the selection draws the same picture.
    let first = window(selected, height);
    let visible: Vec<Cells> = lines
        .iter()
        .skip(first)
        .take(height)
        .map(|l| cells(state, a, l))
        .collect();
    state.rows_on_screen.set(Some(RowsOnScreen {
        top: area.y + 2,
        first,
        count: visible.len(),
    }));
    let fit = fit(&visible, usize::from(area.width));
    let mut names: Vec<&str> = fit.cols.iter().map(|c| c.name()).collect();
    names.push("statement");
    let mut widths: Vec<Constraint> = fit
        .widths
        .iter()
        .map(|&w| Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX)))
        .collect();
    widths.push(Constraint::Fill(1));
    let rows: Vec<Row<'_>> = visible.iter().map(|c| row(c, &fit)).collect();
    let header = Row::new(names).style(Style::default().add_modifier(Modifier::UNDERLINED));
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(SPACING as u16)
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶");
    let mut ts = TableState::default().with_selected(selected.map(|i| i - first));
    let (table_area, summary) = if below.count == 0 {
        (area, None)
    } else {
        let [t, s] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        (t, Some(s))
    };
    frame.render_stateful_widget(table, table_area, &mut ts);
    if let Some(s) = summary {
        let more = if below.count > below.labels.len() {
            ", …"
        } else {
            ""
        };
        let text = format!(
            "{} below: {}{more}",
            crate::humanize::plural(below.count, "more incident", "more incidents"),
            below.labels.join(", ")
        );
        frame.render_widget(
            Paragraph::new(TextLine::styled(
                inert(&text).into_owned(),
                palette(state, Color::Yellow).add_modifier(Modifier::BOLD),
            )),
            s,
        );
    }
}

/// The first line drawn: 0 until the selection passes the screen, then the screenful
/// that ends on it.
fn window(selected: Option<usize>, height: usize) -> usize {
    (selected.unwrap_or(0) + 1).saturating_sub(height.max(1))
}

/// The incidents the user cannot see: roots whose row is below the window.
struct Below {
    count: usize,
    /// Labels of the first few only: one line of the screen cannot show more, and a label
    /// walks its root's waiters, which is the whole pile-up when summed over every root.
    labels: Vec<String>,
}

const BELOW_LABELLED: usize = 12;

fn incidents_below(a: &Analysis, lines: &[PaneLine<'_>], first: usize, height: usize) -> Below {
    let mut below = Below {
        count: 0,
        labels: Vec::new(),
    };
    let roots = lines
        .iter()
        .skip(first + height)
        .filter(|l| l.in_tree && l.depth == 0 && a.graph.is_root(l.pid));
    for l in roots {
        below.count += 1;
        if below.labels.len() < BELOW_LABELLED {
            below.labels.push(a.incident_label(l.pid));
        }
    }
    below
}
