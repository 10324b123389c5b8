//! Raw mode and the alternate screen, undone on every path: normal exit, error, signal and
//! panic (a chained hook restores the terminal before the previous hook prints).
use std::io::{Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

static HOOK: Once = Once::new();

pub fn enter() -> std::io::Result<TerminalGuard> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    if let Err(e) = execute!(stdout(), EnterAlternateScreen, Hide) {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(stdout())) {
        Ok(terminal) => Ok(TerminalGuard { terminal }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Best effort: each step is tried even if an earlier one failed, and nothing here panics.
pub fn restore() {
    if let Err(e) = disable_raw_mode() {
        eprintln!("pglocks: could not leave raw mode: {e}");
    }
    if let Err(e) = execute!(stdout(), LeaveAlternateScreen, Show) {
        eprintln!("pglocks: could not restore the screen: {e}");
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
