//! The file's values as clap defaults, and named servers as connection strings.
use std::collections::BTreeMap;
use std::sync::OnceLock;

use clap::{Arg, Command};

use super::Config;

/// Every argument (in every subcommand) whose id matches a key of `[defaults]` gets the
/// file's value as its default. A flag on the command line still wins; `--help` shows it.
pub fn apply(cmd: Command, config: &Config) -> Command {
    let d = &config.defaults;
    let mut values: Vec<(&str, String)> = Vec::new();
    if let Some(v) = &d.interval {
        values.push(("interval", v.get_ref().clone()));
    }
    if let Some(v) = &d.long_xact {
        values.push(("long_xact", v.get_ref().clone()));
    }
    if let Some(v) = &d.migration_app {
        values.push(("migration_app", v.clone()));
    }
    if let Some(v) = &d.snapshot_dir {
        values.push(("snapshot_dir", v.clone()));
    }
    if let Some(v) = d.read_only {
        values.push(("read_only", v.to_string()));
    }
    if let Some(v) = &d.theme {
        values.push(("theme", v.get_ref().clone()));
    }
    if let Some(v) = d.large_table {
        values.push(("large_table", v.to_string()));
    }
    if let Some(v) = d.feedback_xmin_age {
        values.push(("feedback_xmin_age", v.to_string()));
    }
    let _ = SERVERS.set(
        config
            .servers
            .iter()
            .map(|(name, s)| (name.clone(), s.conn.get_ref().clone()))
            .collect(),
    );
    with_defaults(cmd, &values)
}

fn with_defaults(cmd: Command, values: &[(&str, String)]) -> Command {
    let set = |arg: Arg| match values.iter().find(|(id, _)| arg.get_id() == *id) {
        Some((_, v)) => arg.default_value(v.clone()),
        None => arg,
    };
    cmd.mut_args(set)
        .mut_subcommands(|sub| with_defaults(sub, values))
}

static SERVERS: OnceLock<BTreeMap<String, String>> = OnceLock::new();

/// `prod` becomes `servers.prod.conn` from the config file; a URI or conninfo string (or
/// a name the file does not define) is passed through untouched.
pub fn resolve_server(conn: Option<&str>) -> Option<String> {
    let conn = conn?;
    Some(match SERVERS.get() {
        Some(servers) => named(servers, conn),
        None => conn.to_string(),
    })
}

fn named(servers: &BTreeMap<String, String>, conn: &str) -> String {
    let looks_like_conninfo = conn.contains('=') || conn.contains("://");
    match servers.get(conn) {
        Some(c) if !looks_like_conninfo => c.clone(),
        _ => conn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::cli::{Cli, Command as Sub};

    fn cli(file: &str, args: &[&str]) -> Cli {
        let config = super::super::parse(file).unwrap();
        let cmd = apply(Cli::command(), &config);
        let m = cmd
            .try_get_matches_from(std::iter::once("pglocks").chain(args.iter().copied()))
            .unwrap();
        Cli::from_arg_matches(&m).unwrap()
    }

    const FILE: &str = "[defaults]\ninterval = \"3s\"\nlong_xact = \"5m\"\nmigration_app = \"deployer\"\nread_only = true\nlarge_table = 500\nfeedback_xmin_age = 2500\ntheme = \"light\"\n";

    #[test]
    fn the_file_beats_built_in_defaults_everywhere() {
        let c = cli(FILE, &[]);
        assert_eq!(c.tui.interval, std::time::Duration::from_secs(3));
        assert_eq!(c.analysis.long_xact, std::time::Duration::from_secs(300));
        assert_eq!(c.analysis.migration_app, "deployer");
        assert!(c.tui.read_only);
        assert_eq!(c.tui.theme, crate::tui::theme::Theme::Light);
        let Some(Sub::Preflight(p)) = cli(FILE, &["preflight", "-c", "SELECT 1"]).command else {
            panic!("not preflight")
        };
        assert_eq!(p.large_table, 500);
        let Some(Sub::Snapshot(s)) = cli(FILE, &["snapshot"]).command else {
            panic!("not snapshot")
        };
        assert_eq!(s.analysis.long_xact, std::time::Duration::from_secs(300));
        assert_eq!(s.analysis.options().feedback_xmin_age, 2500);
        assert_eq!(c.analysis.feedback_xmin_age, Some(2500));
        let Some(Sub::Report(r)) = cli(FILE, &["report", "x.jsonl"]).command else {
            panic!("not report")
        };
        assert_eq!(r.reanalysis.options().feedback_xmin_age, 2500);
        let built_in = cli("", &["snapshot"]);
        assert_eq!(built_in.analysis.options().feedback_xmin_age, 10_000);
    }

    #[test]
    fn flags_beat_the_file() {
        let c = cli(FILE, &["--interval", "250ms", "--long-xact", "10s"]);
        assert_eq!(c.tui.interval, std::time::Duration::from_millis(250));
        assert_eq!(c.analysis.long_xact, std::time::Duration::from_secs(10));
        assert_eq!(c.analysis.migration_app, "deployer");
    }

    #[test]
    fn named_servers_resolve_and_conninfo_passes_through() {
        let servers: BTreeMap<String, String> =
            [("prod".to_string(), "host=db1 dbname=app".to_string())].into();
        assert_eq!(named(&servers, "prod"), "host=db1 dbname=app");
        assert_eq!(named(&servers, "host=db2"), "host=db2");
        assert_eq!(named(&servers, "postgres://db3/app"), "postgres://db3/app");
        assert_eq!(named(&servers, "staging"), "staging");
    }

    #[test]
    fn built_in_defaults_without_a_file() {
        let c = cli("", &[]);
        assert_eq!(c.tui.interval, std::time::Duration::from_secs(1));
        assert_eq!(
            c.analysis.migration_app,
            crate::migration::DEFAULT_MIGRATION_APPS
        );
        assert!(!c.tui.read_only);
    }
}
