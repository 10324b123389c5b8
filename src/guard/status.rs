//! The one-line live status on stderr while the command waits. On a terminal it is
//! rewritten in place; elsewhere (a CI log) a line is printed only when what it says
//! changes, never once per poll.
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static SHOWN: AtomicBool = AtomicBool::new(false);
static LAST_KEY: Mutex<String> = Mutex::new(String::new());

fn tty() -> bool {
    std::io::stderr().is_terminal()
}

/// `key` says what changed; `text` is the line, with ages that move on every poll.
pub fn show(key: &str, text: &str) {
    let text = crate::humanize::inert(text);
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
        eprintln!("pglocks: {text}");
    }
}

/// A status that only a terminal shows: elsewhere a line of the guard's already said it.
pub fn live(text: &str) {
    if tty() {
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
    clear();
    if let Ok(mut last) = LAST_KEY.lock() {
        last.clear();
    }
}
