//! Command-line definitions. Dispatch lives in main.rs; nothing else happens here.
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::report::Format;

pub mod setup;

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
    /// The config file [default: $XDG_CONFIG_HOME/pglocks/config.toml, if it exists]
    // Taken out of the arguments before clap runs (config::split_args); declared for --help,
    // the man page and completions.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll once and print (or write) the analysis, then exit.
    Snapshot(SnapshotArgs),
    /// Start a throwaway PostgreSQL, stage a stalled migration, and open the TUI on it.
    Demo(DemoArgs),
    /// Record every poll to a JSON Lines file, without a screen, until SIGINT or SIGTERM.
    Record(RecordArgs),
    /// Turn a recording into a Markdown incident report.
    Report(ReportArgs),
    /// Print the analysis at one moment of a recording.
    Replay(ReplayArgs),
    /// Before a migration runs: the lock each statement needs and who would block it now.
    Preflight(PreflightArgs),
    /// Run a migration command under a circuit breaker: cancel its statement when it waits
    /// too long for a lock or too many sessions queue behind it, then retry.
    Guard(crate::guard::GuardArgs),
    /// Check, before you need it, what pglocks can see and do with this role on this server.
    Doctor(setup::DoctorArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish) to stdout.
    Completions(setup::CompletionsArgs),
    /// Print the man page (roff) to stdout.
    Man,
    /// Check the config file and say which one is used; --default prints a commented one.
    Config(setup::ConfigArgs),
}

/// Exit 0: it can run now; 2: a statement would wait, or would scan or rewrite a large table
/// under a lock that blocks writes (with --strict, also any warning); 1: error.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("migration").required(true).args(["sql", "command"])))]
pub struct PreflightArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The migration file to check ("-" reads stdin)
    #[arg(long, value_name = "FILE")]
    pub sql: Option<PathBuf>,
    /// The statement(s) to check, separated by semicolons
    #[arg(short = 'c', long = "command", value_name = "STATEMENT")]
    pub command: Option<String>,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Fail (exit 2) on warnings too: no lock_timeout, an index without CONCURRENTLY, ...
    #[arg(long)]
    pub strict: bool,
    /// Tables with more estimated rows than this are large: scanning or rewriting one under
    /// a lock that blocks writes fails the check
    #[arg(long, value_name = "ROWS", default_value_t = 1_000_000)]
    pub large_table: u64,
    #[command(flatten)]
    pub redact: Redact,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// The new recording file (never overwrites)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Poll period: 500ms, 1s, or a bare number of seconds (200ms to 1h)
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
}

/// How a recording is analysed again when it is read back.
#[derive(Debug, Args, Clone)]
pub struct ReanalysisArgs {
    #[command(flatten)]
    pub redact: Redact,
    /// A blocking transaction at least this old is a long transaction (e.g. 30s, 5m)
    #[arg(long = "long-xact", default_value = "1m", value_parser = parse_long_xact)]
    pub long_xact: Duration,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A recording made by `pglocks record` or `pglocks --record`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub reanalysis: ReanalysisArgs,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording made by `pglocks record` or `pglocks --record`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The moment: an RFC 3339 time, HH:MM:SS (UTC), +DURATION from the start, or
    /// first, worst or last
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub reanalysis: ReanalysisArgs,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Also read Liquibase's and Knex's lock tables (the only user-table read; opt-in)
    #[arg(long)]
    pub check_tool_locks: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Pileup,
    Wraparound,
    ToolLock,
    CicSnapshot,
    Rewrite,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many sessions queue behind the stalled migration (0 to 90: the demo server has 100 connections)
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(0..=90))]
    pub queued: u16,
    /// What to stage: pileup (a migration behind a long query), wraparound (behind an
    /// anti-wraparound autovacuum), tool-lock (migration tools' advisory locks), cic-snapshot
    /// (CREATE INDEX CONCURRENTLY waiting for an old snapshot), rewrite (an index build
    /// with progress, writes queued behind it)
    #[arg(long, value_enum, default_value_t = Scenario::Pileup)]
    pub scenario: Scenario,
    #[command(flatten)]
    pub redact: Redact,
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// Where to connect, as psql takes it: a URI or conninfo string, -h -p -U -d, or PG* variables.
#[derive(Debug, Args, Default, Clone)]
pub struct ConnArgs {
    /// postgres://user@host:port/db URI, or a "host=... dbname=..." conninfo string
    #[arg(value_name = "CONN")]
    pub conn: Option<String>,
    /// Server host or Unix socket directory [env: PGHOST]
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Server port [env: PGPORT]
    #[arg(short = 'p', long)]
    pub port: Option<String>,
    /// User name [env: PGUSER]
    #[arg(short = 'U', long = "username")]
    pub user: Option<String>,
    /// Database to connect to [env: PGDATABASE]
    #[arg(short = 'd', long = "dbname")]
    pub dbname: Option<String>,
    /// Another server in the same snapshot: [NAME=]CONN (repeatable). Its password comes
    /// from CONN, PGPASSWORD or .pgpass; pglocks never guesses credentials
    #[arg(long = "server", value_name = "[NAME=]CONN")]
    pub servers: Vec<String>,
}

#[derive(Debug, Args, Default, Clone)]
pub struct AnalysisArgs {
    /// Show only this database's sessions (blockers elsewhere still appear)
    #[arg(long)]
    pub database: Option<String>,
    /// Treat this pid as the migration (repeatable)
    #[arg(long = "migration-pid")]
    pub migration_pids: Vec<i32>,
    /// Comma-separated application_name fragments that mark a migration
    #[arg(long = "migration-app", default_value = crate::migration::DEFAULT_MIGRATION_APPS)]
    pub migration_app: String,
    /// A blocking transaction at least this old is a long transaction (e.g. 30s, 5m)
    #[arg(long = "long-xact", default_value = "1m", value_parser = parse_long_xact)]
    pub long_xact: Duration,
    #[command(flatten)]
    pub redact: Redact,
}

/// `--redact`, one definition for every command, so that none can lack it.
#[derive(Debug, Args, Default, Clone, Copy)]
pub struct Redact {
    /// Hide literals in statements (strings, numbers, IN lists) and client addresses, in
    /// every output: the screen, JSON, Markdown, reports and recordings
    #[arg(long = "redact")]
    pub enabled: bool,
}

#[derive(Debug, Args, Default, Clone)]
pub struct TuiArgs {
    /// Poll period: 500ms, 1s, or a bare number of seconds (200ms to 1h)
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Never signal a backend: the terminate and cancel keys are disabled
    #[arg(long)]
    pub read_only: bool,
    /// Where the snapshot key writes its files
    #[arg(long, default_value = ".")]
    pub snapshot_dir: PathBuf,
    /// Also append every poll and every action to this new JSON Lines file
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Colours for a dark or a light terminal, or none (NO_COLOR also selects mono)
    #[arg(long, value_enum, default_value_t = crate::tui::theme::Theme::Dark)]
    pub theme: crate::tui::theme::Theme,
    /// Leave the mouse to the terminal (text selection) instead of wheel and click
    #[arg(long)]
    pub no_mouse: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// `500ms`, `1s`, `2m`, or a bare `2` meaning seconds. Any input gives a duration or a
/// one-line error (never a panic: `Duration::from_secs_f64(1e20)` would).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let shown: String = s.chars().take(40).collect();
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| *d <= MAX_DURATION)
            .ok_or_else(|| format!("invalid duration \"{shown}\""));
    }
    match humantime::parse_duration(s) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        Ok(_) => Err(format!("invalid duration \"{shown}\": longer than a year")),
        Err(e) => Err(format!("invalid duration \"{shown}\": {e}")),
    }
}

/// Nothing pglocks times is longer; also keeps every later sum and conversion in range.
const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The poll period. Below 200 ms the monitor would poll about as fast as round trips allow
/// and become a load on the server it is watching; above an hour it shows nothing live.
pub const MIN_INTERVAL: Duration = Duration::from_millis(200);
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

pub fn parse_interval(s: &str) -> Result<Duration, String> {
    within(
        parse_duration(s)?,
        MIN_INTERVAL,
        MAX_INTERVAL,
        "the interval",
    )
}

/// The long-transaction threshold: under a second every transaction would be "long", and
/// nothing waits for more than a week in an incident.
pub const MIN_LONG_XACT: Duration = Duration::from_secs(1);
pub const MAX_LONG_XACT: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn parse_long_xact(s: &str) -> Result<Duration, String> {
    within(
        parse_duration(s)?,
        MIN_LONG_XACT,
        MAX_LONG_XACT,
        "the long-transaction threshold",
    )
}

fn within(d: Duration, min: Duration, max: Duration, what: &str) -> Result<Duration, String> {
    if d < min || d > max {
        return Err(format!(
            "{what} must be between {} and {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

impl AnalysisArgs {
    pub fn options(&self) -> crate::analysis::Options {
        crate::analysis::Options {
            rules: crate::migration::MigrationRules::new(
                &self.migration_app,
                self.migration_pids.clone(),
            ),
            long_xact_s: self.long_xact.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("1e20").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("199ms").is_err());
        assert_eq!(parse_interval("200ms").unwrap(), MIN_INTERVAL);
        assert!(parse_long_xact("0").is_err());
        assert!(parse_long_xact("8d").is_err());
    }

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
