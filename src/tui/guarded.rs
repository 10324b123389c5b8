//! `pglocks guard --tui`: the guard's rows under the live view. The guard runs on a thread
//! of its own and sends its lines and live status here (`guard::status::Note`), never
//! waiting on the view; the view reads the command's output file for its last line.
//! Plain state and pure functions, except `last_line_of`, which reads the file.
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use tokio::sync::{mpsc, oneshot};

use crate::guard::status::Note;
use crate::pipeline::Pin;

/// Rows the guard takes under the view: a rule with the keys, the migration's backends,
/// the live status, the last two lines of the guard's and the command's last output line.
pub const ROWS: u16 = 6;
const LOG_ROWS: usize = 2;

/// What the guard's rows show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    pub command: String,
    /// The file the command's stdout and stderr go to.
    pub output: PathBuf,
    /// Every `pglocks:` line of the guard's, in order: printed again on stderr when the
    /// terminal is restored.
    pub log: Vec<String>,
    pub status: Option<String>,
    pub last_output: Option<String>,
    pub pins: Vec<Pin>,
    /// Set once the user pressed Ctrl-C, so the rows say where it went.
    pub interrupted: bool,
}

impl Panel {
    pub fn new(command: String, output: PathBuf) -> Panel {
        Panel {
            command,
            output,
            ..Panel::default()
        }
    }

    pub fn apply(&mut self, note: Note) {
        match note {
            Note::Line(l) => {
                // A line of the guard's ends the wait its status described, as on stderr.
                self.status = None;
                self.log.push(l);
            }
            Note::Status(s) => self.status = s,
        }
    }

    /// The rows' text, top to bottom, below the rule.
    pub fn rows(&self) -> Vec<String> {
        let migration = if self.pins.is_empty() {
            "migration: no backend of the command's on the server yet".to_string()
        } else {
            let each: Vec<String> = self
                .pins
                .iter()
                .map(|p| match &p.reason {
                    Some(r) => format!("pid {} ({})", p.pid, r),
                    None => format!("pid {}", p.pid),
                })
                .collect();
            format!("migration: {}", each.join(", "))
        };
        let status = match (&self.status, self.interrupted) {
            (Some(s), _) => format!("now: {s}"),
            (None, true) => "now: Ctrl-C sent to the command; waiting for it to exit".into(),
            (None, false) => "now: no lock wait of the command's".into(),
        };
        let mut rows = vec![migration, status];
        let skip = self.log.len().saturating_sub(LOG_ROWS);
        rows.extend(self.log.iter().skip(skip).map(|l| format!("pglocks: {l}")));
        rows.resize(2 + LOG_ROWS, String::new());
        rows.push(format!(
            "output ({}): {}",
            self.output.display(),
            self.last_output.as_deref().unwrap_or("(nothing yet)")
        ));
        rows
    }

    /// The rule above the rows: what runs, and the keys that differ from the live view's.
    pub fn title(&self) -> String {
        format!(
            " guard: {} · q leaves the view, the guard goes on · Ctrl-C interrupts the command ",
            self.command
        )
    }
}

/// What a key means under the guard before the live view sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKey {
    /// Ctrl-C: the terminal is raw, so no SIGINT reaches anyone; the guard forwards it.
    Interrupt,
    /// Anything else is the live view's; its quit means leaving the view.
    View,
}

pub fn on_key(key: &KeyEvent) -> GuardKey {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        GuardKey::Interrupt
    } else {
        GuardKey::View
    }
}

/// How the view and the guard's thread talk: notes in, the guard's result at the end.
pub struct Link {
    pub notes: mpsc::UnboundedReceiver<Note>,
    pub done: oneshot::Receiver<Result<u8, String>>,
    pub pins: tokio::sync::watch::Receiver<Vec<Pin>>,
    pub panel: Panel,
    /// The guard's result, once it has ended while the view was open.
    pub result: Option<Result<u8, String>>,
}

pub enum Event {
    Note(Note),
    Done(Result<u8, String>),
}

impl Link {
    pub async fn next(&mut self) -> Event {
        tokio::select! {
            Some(n) = self.notes.recv() => Event::Note(n),
            r = &mut self.done => Event::Done(
                r.unwrap_or_else(|_| Err("the guard stopped unexpectedly".into())),
            ),
        }
    }

    /// Reads what changed outside the notes (pins, the output file); whether it did.
    pub fn refresh(&mut self) -> bool {
        let pins = self.pins.borrow().clone();
        let last = last_line_of(&self.panel.output);
        let changed = pins != self.panel.pins || last != self.panel.last_output;
        self.panel.pins = pins;
        self.panel.last_output = last;
        changed
    }
}

/// The last non-empty line of `path`, from its last 4 KiB, made safe to draw.
pub fn last_line_of(path: &Path) -> Option<String> {
    const TAIL: u64 = 4096;
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut buf = Vec::new();
    f.take(TAIL).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(crate::humanize::inert(line.trim_end()).replace('\t', " "))
}

/// The live view with the guard's rows under it (at most a third of the screen).
pub fn draw_with_view(
    frame: &mut Frame<'_>,
    state: &super::state::State,
    now: chrono::DateTime<chrono::Utc>,
    panel: &Panel,
) {
    let area = frame.area();
    let rows = ROWS.min(area.height / 3);
    let [top, bottom] =
        ratatui::layout::Layout::vertical([Constraint::Min(1), Constraint::Length(rows)])
            .areas(area);
    super::view::draw_in(frame, top, state, now);
    draw(frame, bottom, panel);
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, panel: &Panel) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(panel.title())
        .title_style(Style::default().add_modifier(Modifier::BOLD));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line<'_>> = panel.rows().into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
