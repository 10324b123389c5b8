//! `pglocks man`: the man page, generated from the clap definitions so it never drifts
//! from the flags.
use std::io::Write;

use anyhow::{Context, Result};

use super::write_stdout;

/// `cli` is the whole command line (`Cli::command()`), handed in by main.rs.
pub fn run(cli: clap::Command) -> Result<()> {
    write_stdout(&man_page(cli)?)
}

/// pglocks(1), one page with every subcommand's options in it: the page people reach for
/// on a jump host is the one `man pglocks` opens.
pub fn man_page(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render(&mut out).context("cannot render the man page")?;
    for sub in cmd.get_subcommands() {
        write_subcommand(&mut out, sub)?;
    }
    Ok(out)
}

/// A section per subcommand (clap_mangen's own sections would repeat SYNOPSIS and OPTIONS
/// headings for each one).
fn write_subcommand(out: &mut Vec<u8>, sub: &clap::Command) -> Result<()> {
    writeln!(out, ".SH \"PGLOCKS {}\"", sub.get_name().to_uppercase())?;
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        writeln!(out, "{}", roff_text(&about.to_string()))?;
    }
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let mut names = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("\\fB\\-{s}\\fR"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("\\fB\\-\\-{}\\fR", roff_text(l)));
        }
        if names.is_empty() {
            names.push(format!("\\fI{}\\fR", arg.get_id()));
        }
        writeln!(out, ".TP\n{}", names.join(", "))?;
        if let Some(help) = arg.get_long_help().or(arg.get_help()) {
            writeln!(out, "{}", roff_text(&help.to_string()))?;
        }
    }
    Ok(())
}

/// Text safe inside a roff paragraph: backslashes and hyphens escaped, no line starting
/// with a control character.
fn roff_text(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
