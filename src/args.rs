//! The arguments several commands share: where to connect, how to analyse, the live
//! view's options, --redact, and the duration parsers behind their flags.
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::db::conninfo::{self, ConnParams, Overrides, ProcessEnv};
use crate::report::Format;

/// How a recording is analysed again when it is read back.
#[derive(Debug, Args, Clone)]
pub struct ReanalysisArgs {
    #[command(flatten)]
    pub redact: Redact,
    /// A blocking transaction at least this old is a long transaction (e.g. 30s, 5m) [env: PGLOCKS_LONG_XACT]
    #[arg(long = "long-xact", default_value = "1m", value_parser = parse_long_xact)]
    pub long_xact: Duration,
    /// A standby whose backend_xmin (hot_standby_feedback) is at least this many
    /// transactions old is reported on its primary [default: 10000]
    #[arg(long, value_name = "XIDS", value_parser = parse_feedback_xmin_age)]
    pub feedback_xmin_age: Option<i64>,
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
    /// Comma-separated application_name fragments that mark a migration [env: PGLOCKS_MIGRATION_APP]
    #[arg(long = "migration-app", default_value = crate::migration::DEFAULT_MIGRATION_APPS)]
    pub migration_app: String,
    /// A blocking transaction at least this old is a long transaction (e.g. 30s, 5m) [env: PGLOCKS_LONG_XACT]
    #[arg(long = "long-xact", default_value = "1m", value_parser = parse_long_xact)]
    pub long_xact: Duration,
    /// A standby whose backend_xmin (hot_standby_feedback) is at least this many
    /// transactions old is reported on its primary [default: 10000]
    #[arg(long, value_name = "XIDS", value_parser = parse_feedback_xmin_age)]
    pub feedback_xmin_age: Option<i64>,
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
    /// Poll period: 500ms, 1s, or a bare number of seconds (200ms to 1h) [env: PGLOCKS_INTERVAL]
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Never signal a backend: the terminate and cancel keys are disabled [env: PGLOCKS_READ_ONLY]
    #[arg(long)]
    pub read_only: bool,
    /// Where the snapshot key writes its files [env: PGLOCKS_SNAPSHOT_DIR]
    #[arg(long, default_value = ".")]
    pub snapshot_dir: PathBuf,
    /// Also append every poll and every action to this new JSON Lines file
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Colours for a dark or a light terminal, or none (NO_COLOR also selects mono) [env: PGLOCKS_THEME]
    #[arg(long, value_enum, default_value_t = crate::tui::theme::Theme::Dark)]
    pub theme: crate::tui::theme::Theme,
    /// Leave the mouse to the terminal (text selection) instead of wheel and click
    #[arg(long)]
    pub no_mouse: bool,
    /// The config file's key bindings (set by main after parsing; no flag).
    #[arg(skip)]
    pub keys: crate::tui::keys::Keymap,
}

use crate::situation::FEEDBACK_XMIN_AGE;

/// At least one transaction; xids wrap at 2^31, so an older backend_xmin cannot exist.
pub fn parse_feedback_xmin_age(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (1..=i64::from(i32::MAX)).contains(&n) => Ok(n),
        _ => Err(format!(
            "the feedback xmin age must be a number of transactions from 1 to {}",
            i32::MAX
        )),
    }
}

pub fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

pub use crate::humanize::parse_duration;

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

impl ReanalysisArgs {
    pub fn options(&self) -> crate::analysis::Options {
        crate::analysis::Options {
            long_xact_s: self.long_xact.as_secs_f64(),
            feedback_xmin_age: self.feedback_xmin_age.unwrap_or(FEEDBACK_XMIN_AGE),
            ..crate::analysis::Options::default()
        }
    }
}

impl ConnArgs {
    /// The one server to connect to, from the arguments, the config file's [servers] and
    /// the PG* environment, as psql would.
    pub fn resolve(&self) -> anyhow::Result<ConnParams> {
        if !self.servers.is_empty() {
            anyhow::bail!(
                "--server is taken by the live view, `snapshot` and `record`; this command works on one server"
            );
        }
        let overrides = Overrides {
            host: self.host.clone(),
            port: self.port.clone(),
            user: self.user.clone(),
            dbname: self.dbname.clone(),
        };
        // A name from the config file's [servers] stands for its connection string.
        let conn = crate::config::resolve_server(self.conn.as_deref());
        Ok(conninfo::resolve(conn.as_deref(), &overrides, &ProcessEnv)?)
    }
}

impl AnalysisArgs {
    pub fn options(&self) -> crate::analysis::Options {
        crate::analysis::Options {
            rules: crate::migration::MigrationRules::new(
                &self.migration_app,
                self.migration_pids.clone(),
            ),
            long_xact_s: self.long_xact.as_secs_f64(),
            feedback_xmin_age: self.feedback_xmin_age.unwrap_or(FEEDBACK_XMIN_AGE),
        }
    }

    /// A poller for one server with these options; the caller adds a recording or pins.
    pub fn poller(&self, params: ConnParams, interval: Duration) -> crate::poller::PollerConfig {
        crate::poller::PollerConfig {
            params,
            interval,
            database: self.database.clone(),
            options: self.options(),
            redact: self.redact.enabled,
            record: None,
            pins: None,
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
        assert_eq!(parse_feedback_xmin_age("500"), Ok(500));
        assert!(parse_feedback_xmin_age("0").is_err());
        assert!(parse_feedback_xmin_age("-5").is_err());
        assert!(parse_feedback_xmin_age("3000000000").is_err());
    }
}
