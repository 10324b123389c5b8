//! The one-line live status on stderr while the command waits. On a terminal it is
//! rewritten in place; elsewhere (a CI log) a line is printed only when what it says
//! changes, never once per poll. Under `--tui` the lines and the status go to the live
//! view instead (`route`), which must not be scribbled over.
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

static SHOWN: AtomicBool = AtomicBool::new(false);
static LAST_KEY: Mutex<String> = Mutex::new(String::new());
/// Set while the live view owns the terminal: the guard's words go there. Unbounded and
/// never awaited, so the guard never waits on the view.
static VIEW: Mutex<Option<UnboundedSender<Note>>> = Mutex::new(None);

/// What the guard says, as the live view receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A `pglocks:` line (without the prefix).
    Line(String),
    /// The live status, or None when nothing waits.
    Status(Option<String>),
}

/// From now on the guard's lines and status go to the returned receiver, not to stderr.
pub fn to_view() -> UnboundedReceiver<Note> {
    let (tx, rx) = unbounded_channel();
    if let Ok(mut v) = VIEW.lock() {
        *v = Some(tx);
    }
    rx
}

/// Back to stderr. `backlog` runs before any later line can be printed, so the lines the
/// view showed come out on stderr first, in order; the notes still queued in `rx` are
/// handed to it too.
pub fn to_stderr(rx: &mut UnboundedReceiver<Note>, backlog: impl FnOnce(Vec<Note>)) {
    let Ok(mut v) = VIEW.lock() else {
        return;
    };
    *v = None;
    let mut queued = Vec::new();
    while let Ok(n) = rx.try_recv() {
        queued.push(n);
    }
    backlog(queued);
}

fn viewing() -> bool {
    VIEW.lock().is_ok_and(|v| v.is_some())
}

/// Sends `note` to the view if it owns the terminal.
fn to_view_if_shown(note: impl FnOnce() -> Note) -> bool {
    match VIEW.lock() {
        Ok(v) => match v.as_ref() {
            Some(tx) => {
                let _ = tx.send(note());
                true
            }
            None => false,
        },
        Err(_) => false,
    }
}

/// Prints a line of the guard's (or hands it to the view).
pub fn line(text: &str) {
    let text = crate::humanize::inert(text).into_owned();
    if to_view_if_shown(|| Note::Line(text.clone())) {
        return;
    }
    clear();
    print_line(&text);
}

/// `eprintln!` panics when stderr is gone (the terminal hung up); the guard must go on
/// guarding, and its recording keeps what it would have said.
pub fn print_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "pglocks: {text}");
}

fn tty() -> bool {
    std::io::stderr().is_terminal()
}

/// `key` says what changed; `text` is the line, with ages that move on every poll.
pub fn show(key: &str, text: &str) {
    let text = crate::humanize::inert(text);
    if to_view_if_shown(|| Note::Status(Some(text.to_string()))) {
        return;
    }
    if tty() {
        let line = crate::humanize::truncate(&format!("pglocks: {text}"), 160);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
        SHOWN.store(true, Ordering::Relaxed);
        return;
    }
    let Ok(mut last) = LAST_KEY.lock() else {
        return;
    };
    if *last != key {
        *last = key.to_string();
        print_line(&text);
    }
}

/// A status that only a terminal shows: elsewhere a line of the guard's already said it.
pub fn live(text: &str) {
    if tty() || viewing() {
        show("", text);
    }
}

/// Removes the status line (before a line of the guard's or when the wait is over).
pub fn clear() {
    if SHOWN.swap(false, Ordering::Relaxed) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}

/// Nothing is waiting any more: the next wait is news again.
pub fn idle() {
    to_view_if_shown(|| Note::Status(None));
    clear();
    if let Ok(mut last) = LAST_KEY.lock() {
        last.clear();
    }
}
