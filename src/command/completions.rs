//! `pglocks completions SHELL`: shell completions, generated from the clap definitions so
//! they never drift from the flags.
use anyhow::Result;
use clap::{Args as ClapArgs, CommandFactory};

use super::write_stdout;
use crate::cli::Cli;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The shell to write completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: &Args) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "pglocks", &mut out);
    write_stdout(&out)
}
