//! Arguments of the commands that set pglocks up on a machine rather than look at a server:
//! shell completions, the man page and `doctor`.
use std::path::PathBuf;

use clap::Args;

use super::ConnArgs;
use crate::report::Format;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Exit 0: pglocks can fully work with this role on this server; 2: it works only in part
/// (every item that is not ok says what to do); 1: error (e.g. cannot connect).
#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The role the migrations run as: report the lock_timeout and statement_timeout its
    /// new sessions get [default: only the database's and the server's defaults]
    #[arg(long, value_name = "ROLE")]
    pub migration_role: Option<String>,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = super::parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Doctor shows no statements; --redact hides the server's address in its report
    #[command(flatten)]
    pub redact: super::Redact,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print a commented config file with every key at its built-in value
    #[arg(long)]
    pub default: bool,
}
