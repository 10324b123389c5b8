//! The config file: defaults for the flags people would otherwise type at 3 a.m., and named
//! servers. Precedence is flags > environment (PGLOCKS_*) > this file > built-in: the
//! environment's and the file's values become clap's defaults before the command line is
//! parsed, so a flag still wins and `--help` shows the value in effect.
mod apply;
mod env;
mod file;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use apply::{apply, resolve_server};
pub use env::{CONFIG_VARIABLE, Environment, VARIABLES, from_env};
pub use file::{Config, DEFAULT_FILE, Defaults, parse};

/// `--config FILE` if given, else `$XDG_CONFIG_HOME/pglocks/config.toml` (or
/// `~/.config/pglocks/config.toml`) if it exists. An explicit file that is missing is an
/// error; the default one is optional.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Option<(PathBuf, Config)>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
    let config = parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    Ok(Some((path, config)))
}

pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("pglocks").join("config.toml"))
}

/// `--config FILE` (or `--config=FILE`) taken out of the arguments before clap runs: clap's
/// defaults depend on the file, and a top-level option would otherwise conflict with the
/// subcommand that follows it.
pub fn split_args(args: Vec<OsString>) -> (Option<PathBuf>, Vec<OsString>) {
    let mut explicit = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    let mut passthrough = false;
    while let Some(a) = it.next() {
        if passthrough {
            rest.push(a);
            continue;
        }
        let s = a.to_string_lossy();
        if s == "--" {
            passthrough = true;
            rest.push(a);
        } else if s == "--config" {
            match it.next() {
                Some(p) => explicit = Some(PathBuf::from(p)),
                // Left for clap to report as a missing value.
                None => rest.push(a),
            }
        } else if let Some(p) = s.strip_prefix("--config=") {
            explicit = Some(PathBuf::from(p));
        } else {
            rest.push(a);
        }
    }
    (explicit, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_flag_is_taken_out_anywhere_before_double_dash() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let (p, rest) = split_args(args(&["pglocks", "--config", "a.toml", "snapshot", "prod"]));
        assert_eq!(p, Some(PathBuf::from("a.toml")));
        assert_eq!(rest, args(&["pglocks", "snapshot", "prod"]));
        let (p, rest) = split_args(args(&["pglocks", "snapshot", "--config=b.toml"]));
        assert_eq!(p, Some(PathBuf::from("b.toml")));
        assert_eq!(rest, args(&["pglocks", "snapshot"]));
        let (p, _) = split_args(args(&["pglocks", "--", "--config", "c"]));
        assert_eq!(p, None);
    }
}
