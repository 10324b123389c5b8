//! `pglocks report`: a recording turned into an incident report (Markdown, or JSON for
//! scripts). A recording of several servers is told on one timeline.
use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

use super::{check_output, emit, warn};
use crate::args::{ReanalysisArgs, parse_format};
use crate::record::read_back::report_as;
use crate::report::Format;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// A recording made by `pglocks record` or `pglocks --record`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// markdown or json
    #[arg(long, short = 'f', default_value = "markdown", value_parser = parse_format)]
    pub format: Format,
    #[command(flatten)]
    pub reanalysis: ReanalysisArgs,
}

pub fn run(args: &Args) -> Result<()> {
    check_output(args.output.as_deref())?;
    let (text, warnings) = report_as(
        &args.file,
        args.format,
        &args.reanalysis.options(),
        args.reanalysis.redact.enabled,
    )?;
    warn(warnings);
    emit(args.output.as_deref(), &text)
}
