//! `pglocks doctor`: will pglocks work for this role on this server when it is needed?
//! The verdict is the exit code.
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::args::{ConnArgs, Redact, parse_format};
use crate::db::conninfo::ProcessEnv;
use crate::doctor::{Report, Status, checks, render};
use crate::output::write_new;
use crate::report::Format;

/// Exit 0: pglocks can fully work with this role on this server; 2: it works only in part
/// (every item that is not ok says what to do); 1: error (e.g. cannot connect).
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The role the migrations run as: report the lock_timeout and statement_timeout its
    /// new sessions get [default: only the database's and the server's defaults]
    #[arg(long, value_name = "ROLE")]
    pub migration_role: Option<String>,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Doctor shows no statements; --redact hides the server's address in its report
    #[command(flatten)]
    pub redact: Redact,
}

/// The report is out and says what is missing; this only sets the exit code (2).
#[derive(Debug, thiserror::Error)]
#[error("pglocks works here only in part: {0} item(s) degraded")]
pub struct Degraded(pub usize);

pub async fn run(args: &Args) -> Result<()> {
    if let Some(path) = &args.output {
        crate::output::check_new(path)?;
    }
    let params = args.conn.resolve()?;
    let conn = crate::db::connect(&params, &ProcessEnv).await?;
    let facts = conn.doctor_facts(args.migration_role.as_deref()).await?;
    let checks = checks(
        &conn.server,
        &conn.privileges,
        &facts,
        args.migration_role.as_deref(),
    );
    let degraded = checks
        .iter()
        .filter(|c| c.status == Status::Degraded)
        .count();
    let report = Report {
        target: if args.redact.enabled {
            crate::redact::HIDDEN_ADDRESS.to_string()
        } else {
            conn.target.clone()
        },
        role: conn.privileges.role.clone(),
        server_version: conn.server.version.clone(),
        degraded: degraded > 0,
        checks,
    };
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Markdown
    } else {
        Format::Json
    });
    let text = match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
        Format::Markdown => render::markdown(&report),
    };
    match &args.output {
        Some(path) => write_new(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    if degraded > 0 {
        return Err(Degraded(degraded).into());
    }
    Ok(())
}
