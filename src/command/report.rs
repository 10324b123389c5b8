//! `pglocks report`: a recording turned into a Markdown incident report.
use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

use super::{check_output, emit, warn};
use crate::args::ReanalysisArgs;
use crate::record::read_back::report_text;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// A recording made by `pglocks record` or `pglocks --record`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub reanalysis: ReanalysisArgs,
}

pub fn run(args: &Args) -> Result<()> {
    check_output(args.output.as_deref())?;
    let (text, warnings) = report_text(
        &args.file,
        &args.reanalysis.options(),
        args.reanalysis.redact.enabled,
    )?;
    warn(warnings);
    emit(args.output.as_deref(), &text)
}
