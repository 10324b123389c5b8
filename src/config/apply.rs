//! The file's values as clap defaults, and named servers as connection strings.
use std::collections::BTreeMap;
use std::sync::OnceLock;

use clap::{Arg, Command};

use super::{Config, Environment};

/// Every argument (in every subcommand) whose id matches a key of `[defaults]` or a
/// PGLOCKS_* variable gets that value as its default, the environment's over the file's.
/// A flag on the command line still wins; `--help` shows the value in effect.
pub fn apply(cmd: Command, config: Option<&Config>, env: &Environment) -> Command {
    // First match wins in with_defaults: the environment goes first.
    let mut values: Vec<(&str, String)> = env.values.clone();
    if let Some(config) = config {
        values.extend(file_values(config));
        let _ = SERVERS.set(
            config
                .servers
                .iter()
                .map(|(name, s)| (name.clone(), s.conn.get_ref().clone()))
                .collect(),
        );
    }
    with_defaults(cmd, &values)
}

fn file_values(config: &Config) -> Vec<(&'static str, String)> {
    let d = &config.defaults;
    let mut values: Vec<(&'static str, String)> = Vec::new();
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
    values
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
        cli_env(file, &[], args)
    }

    /// The whole chain: built-in < `file` < `vars` (the environment) < `args` (flags).
    fn cli_env(file: &str, vars: &[(&str, &str)], args: &[&str]) -> Cli {
        let config = super::super::parse(file).unwrap();
        let lookup = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        let env = super::super::from_env(&lookup).unwrap();
        let cmd = apply(Cli::command(), Some(&config), &env);
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
    fn the_environment_beats_the_file_and_flags_beat_the_environment() {
        use std::time::Duration;
        let vars = [
            ("PGLOCKS_INTERVAL", "2s"),
            ("PGLOCKS_THEME", "mono"),
            ("PGLOCKS_READ_ONLY", "false"),
            ("PGLOCKS_LARGE_TABLE", "7"),
            ("PGLOCKS_SNAPSHOT_DIR", "/evidence"),
        ];
        let c = cli_env(FILE, &vars, &[]);
        assert_eq!(c.tui.interval, Duration::from_secs(2), "env over file");
        assert_eq!(c.tui.theme, crate::tui::theme::Theme::Mono);
        assert!(
            !c.tui.read_only,
            "PGLOCKS_READ_ONLY=false over the file's true"
        );
        assert_eq!(c.tui.snapshot_dir, std::path::PathBuf::from("/evidence"));
        // Not in the environment: the file's value stays.
        assert_eq!(c.analysis.long_xact, Duration::from_secs(300));
        assert_eq!(c.analysis.migration_app, "deployer");
        let Some(Sub::Preflight(p)) =
            cli_env(FILE, &vars, &["preflight", "-c", "SELECT 1"]).command
        else {
            panic!("not preflight")
        };
        assert_eq!(p.large_table, 7, "env reaches subcommands too");
        let c = cli_env(
            FILE,
            &vars,
            &["--interval", "750ms", "--theme", "dark", "--read-only"],
        );
        assert_eq!(c.tui.interval, Duration::from_millis(750), "flag over env");
        assert_eq!(c.tui.theme, crate::tui::theme::Theme::Dark);
        assert!(c.tui.read_only);
        // With no file, the environment is over the built-in defaults.
        let c = cli_env("", &[("PGLOCKS_LONG_XACT", "45s")], &[]);
        assert_eq!(c.analysis.long_xact, Duration::from_secs(45));
        assert_eq!(c.tui.interval, Duration::from_secs(1));
    }

    #[test]
    fn replay_takes_the_theme_from_the_file_the_environment_and_its_flag() {
        use crate::tui::theme::Theme;
        let theme = |file: &str, vars: &[(&str, &str)], flags: &[&str]| {
            let args: Vec<&str> = ["replay", "rec.jsonl"]
                .iter()
                .chain(flags)
                .copied()
                .collect();
            match cli_env(file, vars, &args).command {
                Some(Sub::Replay(r)) => r.theme,
                other => panic!("not replay: {other:?}"),
            }
        };
        assert_eq!(theme("", &[], &[]), Theme::Dark);
        assert_eq!(theme(FILE, &[], &[]), Theme::Light);
        assert_eq!(theme(FILE, &[("PGLOCKS_THEME", "mono")], &[]), Theme::Mono);
        assert_eq!(
            theme(FILE, &[("PGLOCKS_THEME", "mono")], &["--theme", "dark"]),
            Theme::Dark
        );
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
