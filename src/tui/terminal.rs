//! Raw mode and the alternate screen, undone on every path: normal exit, error, signal and
//! panic (a chained hook restores the terminal before the previous hook prints).
use std::io::{Stdout, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

static HOOK: Once = Once::new();

/// Whether the terminal is ours (raw, alternate screen): restoring twice, or after a panic
/// that happens once the screen is back, would write escapes into the user's shell.
static ACTIVE: AtomicBool = AtomicBool::new(false);

pub fn enter() -> std::io::Result<TerminalGuard> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    ACTIVE.store(true, Ordering::SeqCst);
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
///
/// The alternate screen is blanked, with the cursor home, before it is left. A terminal
/// that was resized while it showed the alternate screen may fit that screen back to the
/// size the main screen had before leaving it: tmux does, pushing the rows above the
/// cursor into its history, and pulls them back onto the restored main screen when it
/// grows it to the current size again. The last frame then showed under the shell's
/// prompt, whenever the cursor had been left low on the screen by the last draw.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    if let Err(e) = disable_raw_mode() {
        eprintln!("pglocks: could not leave raw mode: {e}");
    }
    if let Err(e) = execute!(
        stdout(),
        Clear(ClearType::All),
        MoveTo(0, 0),
        LeaveAlternateScreen,
        Show
    ) {
        eprintln!("pglocks: could not restore the screen: {e}");
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
