//! `pglocks snapshot`: connect, poll once, analyse, print or write, exit. With `--server`,
//! every server at once (fleet.rs).
use std::io::IsTerminal;

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::args::{AnalysisArgs, ConnArgs, parse_format};
use crate::db::conninfo::ProcessEnv;
use crate::output::write_new;
use crate::pipeline::analysed;
use crate::report::{self, Format};

mod fleet;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Also read Liquibase's and Knex's lock tables (the only user-table read; opt-in)
    #[arg(long)]
    pub check_tool_locks: bool,
}

pub async fn run(args: &Args) -> Result<()> {
    if !args.conn.servers.is_empty() {
        return fleet::run(args).await;
    }
    // Refuse a bad output path before touching the server.
    if let Some(path) = &args.output {
        crate::output::check_new(path)?;
    }
    let params = args.conn.resolve()?;
    let conn = crate::db::connect(&params, &ProcessEnv).await?;
    let snapshot = conn.poll(args.analysis.database.as_deref()).await?;
    let mut analysis = analysed(
        snapshot,
        &args.analysis.options(),
        args.analysis.redact.enabled,
        &[],
    );
    if args.check_tool_locks {
        let mut rows = conn.tool_lock_rows().await?;
        if args.analysis.redact.enabled {
            // Liquibase's lockedby is "host (address)": the same secret as client_addr.
            for r in &mut rows {
                r.locked_by = r.locked_by.as_ref().map(|_| "(hidden)".into());
            }
        }
        analysis
            .findings
            .extend(crate::diagnose::lock_rows::stale_rows(&rows));
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Markdown
    } else {
        Format::Json
    });
    let text = report::render(format, &analysis, &[])?;
    match &args.output {
        Some(path) => write_new(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}
