//! `pglocks guard [CONN] [options] -- COMMAND...`: run a migration under a circuit breaker.
//! The command runs as a child process; the guard finds its backends on the server, and
//! when one of them waits too long for a lock, or too many sessions queue behind it, it
//! cancels that statement from outside (whatever tool, driver or pooler the command uses),
//! then retries the command once the blockers it saw are gone. The command line and the
//! evidence files are `command::guard`.
pub mod attempt;
pub mod backends;
pub mod breaker;
pub mod proc_net;
pub mod retry;
pub mod status;

use std::time::Duration;

/// The breaker cancelled every attempt: the command never got through. (EX_TEMPFAIL: try
/// again later.) Any other exit code is the command's own.
pub const EXIT_RETRIES_EXHAUSTED: u8 = 75;

/// What the guard is told to do, whatever asked for it (the command line today).
#[derive(Debug)]
pub struct Plan {
    /// The migration command and its arguments.
    pub command: Vec<String>,
    pub limits: breaker::Limits,
    pub interval: Duration,
    pub retries: u32,
    pub backoff: retry::Backoff,
    pub blocker_wait: Duration,
    pub dry_run: bool,
    pub redact: bool,
    pub migration_app: Option<String>,
    pub migration_user: Option<String>,
    /// `--tui`: the file the command's stdout and stderr go to (created, 0600, new), and
    /// the command's stdin is /dev/null; None: they are the guard's own.
    pub output: Option<(std::path::PathBuf, std::fs::File)>,
}

/// Clears the live status line, so that a last error stands on a line of its own.
pub fn clear_status() {
    status::clear();
}

/// Prints the guard's own line on stderr, clearing the live status first.
pub fn say(text: &str) {
    status::line(text);
}
