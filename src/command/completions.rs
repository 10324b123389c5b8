//! `pglocks completions SHELL`: shell completions, generated from the clap definitions so
//! they never drift from the flags.
use anyhow::Result;
use clap::Args as ClapArgs;

use super::write_stdout;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The shell to write completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cli` is the whole command line (`Cli::command()`), handed in by main.rs.
pub fn run(args: &Args, mut cli: clap::Command) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "pglocks", &mut out);
    write_stdout(&out)
}
