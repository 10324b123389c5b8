//! `pglocks replay`: the analysis at one moment of a recording, or the TUI stepping
//! through all of it.
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

use super::{check_output, emit, warn};
use crate::args::{ReanalysisArgs, parse_format};
use crate::record::read_back::{Moment, find_on};
use crate::report::{self, Format};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// A recording made by `pglocks record` or `pglocks --record`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The moment: an RFC 3339 time, HH:MM:SS (UTC), +DURATION from the start, or
    /// first, worst or last
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// In a recording of several servers, the one to show (its name)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    #[command(flatten)]
    pub reanalysis: ReanalysisArgs,
    /// The stepping view's colours, as the live view's (NO_COLOR also selects mono) [env: PGLOCKS_THEME]
    #[arg(long, value_enum, default_value_t = crate::tui::theme::Theme::Dark)]
    pub theme: crate::tui::theme::Theme,
    /// The config file's key bindings (set by main after parsing; no flag).
    #[arg(skip)]
    pub keys: crate::tui::keys::Keymap,
}

pub async fn run(args: &Args) -> Result<()> {
    let Some(at) = args.at.as_deref() else {
        // No moment: step through the whole recording in the TUI.
        let (replay, warnings) = crate::tui::replay::Replay::load_server(
            &args.file,
            args.reanalysis.options(),
            args.reanalysis.redact.enabled,
            args.server.as_deref(),
        )?;
        warn(warnings);
        return crate::tui::app::run_replay(
            replay,
            args.reanalysis.long_xact.as_secs_f64(),
            args.theme,
            args.keys.clone(),
        )
        .await;
    };
    let moment: Moment = at.parse().map_err(anyhow::Error::msg)?;
    check_output(args.output.as_deref())?;
    let (doc, actions, warnings) = find_on(&args.file, &moment, args.server.as_deref())?;
    warn(warnings);
    let analysis = crate::record::analysis_of(
        &doc,
        &args.reanalysis.options(),
        args.reanalysis.redact.enabled,
    );
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Markdown
    } else {
        Format::Json
    });
    let text = report::render_named(format, &analysis, &actions, args.server.as_deref())?;
    emit(args.output.as_deref(), &text)
}
