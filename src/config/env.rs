//! The environment level, between the flags and the config file: PGLOCKS_* variables for
//! the same options the file's `[defaults]` holds, and PGLOCKS_CONFIG for the file itself.
//!
//! Not clap's `env` attribute: clap would report a bad value as a bad `--interval`, which
//! sends the user looking at a command line that has no such flag. Each value is checked
//! here, with the flag's own parser, and an error names the variable. The checked values
//! then go in as clap defaults, above the file's (config::apply), so a flag still wins.
use std::path::PathBuf;

use clap::ValueEnum;

/// The variables and the argument id each one sets, in the order they are checked.
pub const VARIABLES: &[(&str, &str)] = &[
    ("PGLOCKS_INTERVAL", "interval"),
    ("PGLOCKS_LONG_XACT", "long_xact"),
    ("PGLOCKS_MIGRATION_APP", "migration_app"),
    ("PGLOCKS_SNAPSHOT_DIR", "snapshot_dir"),
    ("PGLOCKS_READ_ONLY", "read_only"),
    ("PGLOCKS_THEME", "theme"),
    ("PGLOCKS_LARGE_TABLE", "large_table"),
];

/// `--config FILE` when absent from the command line.
pub const CONFIG_VARIABLE: &str = "PGLOCKS_CONFIG";

/// What the environment sets: argument defaults by id, and the config file's path.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Environment {
    pub config_file: Option<PathBuf>,
    pub values: Vec<(&'static str, String)>,
}

/// Reads and checks the PGLOCKS_* variables through `lookup` (the process environment in
/// main, a table in tests). An empty variable counts as unset, as NO_COLOR's convention
/// has it. The error is one line: "PGLOCKS_X=\"value\": what is wrong".
pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Environment, String> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let mut env = Environment {
        config_file: get(CONFIG_VARIABLE).map(PathBuf::from),
        values: Vec::new(),
    };
    for &(name, id) in VARIABLES {
        let Some(raw) = get(name) else { continue };
        let value = check(id, raw.trim()).map_err(|e| format!("{name}=\"{raw}\": {e}"))?;
        env.values.push((id, value));
    }
    Ok(env)
}

/// The value as clap's default for argument `id` takes it, or why it is not one.
fn check(id: &str, v: &str) -> Result<String, String> {
    match id {
        "interval" => crate::args::parse_interval(v).map(|_| v.to_string()),
        "long_xact" => crate::args::parse_long_xact(v).map(|_| v.to_string()),
        "theme" => crate::tui::theme::Theme::from_str(v, true)
            .map(|_| v.to_ascii_lowercase())
            .map_err(|_| "not a theme (dark, light or mono)".to_string()),
        "read_only" => boolean(v).map(|b| b.to_string()),
        "large_table" => v
            .parse::<u64>()
            .map(|n| n.to_string())
            .map_err(|_| "not a whole number of rows".to_string()),
        _ => Ok(v.to_string()),
    }
}

/// The spellings shells and container files use for a switch.
fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("not a boolean (true or false, 1 or 0, yes or no, on or off)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_variable_is_read_and_normalised() {
        let vars = [
            ("PGLOCKS_INTERVAL", "2s"),
            ("PGLOCKS_LONG_XACT", "30s"),
            ("PGLOCKS_MIGRATION_APP", "deployer"),
            ("PGLOCKS_SNAPSHOT_DIR", "/var/tmp"),
            ("PGLOCKS_READ_ONLY", "yes"),
            ("PGLOCKS_THEME", "Light"),
            ("PGLOCKS_LARGE_TABLE", "42"),
            ("PGLOCKS_CONFIG", "/etc/pglocks.toml"),
            ("PGLOCKS_UNRELATED", "x"),
        ];
        let env = from_env(&lookup(&vars)).unwrap();
        assert_eq!(env.config_file, Some(PathBuf::from("/etc/pglocks.toml")));
        assert_eq!(
            env.values,
            vec![
                ("interval", "2s".to_string()),
                ("long_xact", "30s".to_string()),
                ("migration_app", "deployer".to_string()),
                ("snapshot_dir", "/var/tmp".to_string()),
                ("read_only", "true".to_string()),
                ("theme", "light".to_string()),
                ("large_table", "42".to_string()),
            ]
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let env = from_env(&lookup(&[("PGLOCKS_THEME", ""), ("PGLOCKS_CONFIG", "")])).unwrap();
        assert_eq!(env, Environment::default());
    }

    #[test]
    fn a_bad_value_is_one_line_naming_the_variable() {
        for (name, value, why) in [
            ("PGLOCKS_INTERVAL", "soon", "invalid duration"),
            ("PGLOCKS_INTERVAL", "10ms", "the interval must be between"),
            (
                "PGLOCKS_LONG_XACT",
                "0",
                "the long-transaction threshold must be",
            ),
            ("PGLOCKS_THEME", "solarized", "not a theme"),
            ("PGLOCKS_READ_ONLY", "maybe", "not a boolean"),
            ("PGLOCKS_LARGE_TABLE", "-5", "not a whole number"),
        ] {
            let e = from_env(&lookup(&[(name, value)])).unwrap_err();
            assert!(
                e.starts_with(&format!("{name}=\"{value}\": {why}")),
                "{name}: {e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
