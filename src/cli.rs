//! The top-level parser: `pglocks [CONN] [options]` for the live view, or a command.
//! Each command's arguments are in its own file under command/, the shared ones in
//! args.rs. Dispatch lives in main.rs; nothing else happens here.
use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

use crate::args::{AnalysisArgs, ConnArgs, TuiArgs};

#[derive(Debug, Parser)]
#[command(
    name = "pglocks",
    version,
    about = "Who is blocking the migration, what is queued behind it, and what to do about it.",
    disable_help_flag = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub tui: TuiArgs,
    /// Print help
    #[arg(long, action = ArgAction::Help, global = true)]
    pub help: Option<bool>,
    /// The config file [env: PGLOCKS_CONFIG] [default: $XDG_CONFIG_HOME/pglocks/config.toml, if it exists]
    // Taken out of the arguments before clap runs (config::split_args); declared for --help,
    // the man page and completions.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll once and print (or write) the analysis, then exit.
    Snapshot(crate::command::snapshot::Args),
    /// Start a throwaway PostgreSQL, stage a stalled migration, and open the TUI on it.
    Demo(crate::command::demo::Args),
    /// Record every poll to a JSON Lines file, without a screen, until SIGINT or SIGTERM.
    Record(crate::command::record::Args),
    /// Turn a recording into a Markdown incident report.
    Report(crate::command::report::Args),
    /// Print the analysis at one moment of a recording.
    Replay(crate::command::replay::Args),
    /// Before a migration runs: the lock each statement needs and who would block it now.
    Preflight(crate::command::preflight::Args),
    /// Run a migration command under a circuit breaker: cancel its statement when it waits
    /// too long for a lock or too many sessions queue behind it, then retry.
    Guard(crate::command::guard::Args),
    /// Check, before you need it, what pglocks can see and do with this role on this server.
    Doctor(crate::command::doctor::Args),
    /// Print shell completions (bash, zsh, fish, powershell, elvish) to stdout.
    Completions(crate::command::completions::Args),
    /// Print the man page (roff) to stdout.
    Man,
    /// Check the config file and say which one is used; --default prints a commented one.
    Config(crate::command::config::Args),
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::report::Format;

    #[test]
    fn psql_style_flags_parse() {
        let cli = Cli::try_parse_from([
            "pglocks", "snapshot", "-h", "/tmp", "-p", "5433", "-U", "bob", "-d", "app",
            "--format", "json",
        ])
        .unwrap();
        let Some(Command::Snapshot(s)) = cli.command else {
            panic!("not a snapshot")
        };
        assert_eq!(s.conn.host.as_deref(), Some("/tmp"));
        assert_eq!(s.format, Some(Format::Json));
        assert!(Cli::try_parse_from(["pglocks", "snapshot", "--format", "xml"]).is_err());
    }
}
