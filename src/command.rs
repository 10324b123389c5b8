//! One file per command, its clap `Args` next to its `run`. main.rs dispatches to them;
//! nothing else imports a command. A command may use anything below it.
pub mod completions;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod guard;
pub mod live;
pub mod man;
pub mod preflight;
pub mod record;
pub mod replay;
pub mod report;
pub mod snapshot;

use std::path::Path;

use std::io::Write;

use anyhow::{Context, Result};

/// Refuses an output path that cannot be written before any work is done.
fn check_output(path: Option<&Path>) -> Result<()> {
    if let Some(path) = path {
        crate::output::check_new(path)?;
    }
    Ok(())
}

/// Writes to the new file, or prints.
fn emit(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => crate::output::write_new(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}

fn warn(warnings: Vec<String>) {
    for w in warnings {
        eprintln!("pglocks: warning: {w}");
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // `pglocks man | head` closes the pipe early; that is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
