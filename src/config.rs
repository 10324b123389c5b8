//! The config file: defaults for the flags people would otherwise type at 3 a.m., and named
//! servers. Precedence is flags > environment > this file > built-in: the file's values
//! become clap's defaults before the command line is parsed, so a flag still wins and
//! `--help` shows the value in effect.
mod apply;
mod file;

use std::path::{Path, PathBuf};

pub use apply::{apply, resolve_server};
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

/// `--config FILE` or `--config=FILE`, found before clap runs (clap's defaults depend on it).
pub fn explicit_path(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    None
}
