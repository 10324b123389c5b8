//! `pglocks config`: which config file is in effect and whether it is valid; with
//! --default, a commented file to start from.
use std::path::Path;

use anyhow::Result;
use clap::Args as ClapArgs;

use super::write_stdout;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Print a commented config file with every key at its built-in value
    #[arg(long)]
    pub default: bool,
}

/// `pglocks config`: which file is in effect and whether it is valid; with --default, a
/// commented file to start from.
pub fn run(args: &Args, explicit: Option<&Path>) -> Result<()> {
    if args.default {
        return write_stdout(crate::config::DEFAULT_FILE.as_bytes());
    }
    match crate::config::load(explicit)? {
        Some((path, _)) => println!("{}: ok", path.display()),
        None => match crate::config::default_path() {
            Some(p) => println!(
                "no config file ({} does not exist; `pglocks config --default > {}` writes one)",
                p.display(),
                p.display()
            ),
            None => println!("no config file (neither XDG_CONFIG_HOME nor HOME is set)"),
        },
    }
    // The level above the file: which PGLOCKS_* variables override it, or the bad one.
    let env = crate::config::from_env(&|k| std::env::var(k).ok()).map_err(anyhow::Error::msg)?;
    let set: Vec<&str> = crate::config::VARIABLES
        .iter()
        .filter(|(_, id)| env.values.iter().any(|(v, _)| v == id))
        .map(|(name, _)| *name)
        .collect();
    if !set.is_empty() {
        println!("environment: {} (over the file)", set.join(", "));
    }
    Ok(())
}
