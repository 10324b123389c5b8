//! `pglocks doctor`: will pglocks work for this role on this server when it is needed?
//! Each item says what it found and what to do about it; the verdict is the exit code.
mod checks;
mod render;

use std::io::IsTerminal;

use anyhow::Result;
use serde::Serialize;

pub use checks::{checks, timeout_ms};

use crate::cli::setup::DoctorArgs;
use crate::db::conninfo::ProcessEnv;
use crate::output::write_new;
use crate::report::Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Worth knowing or fixing, but pglocks works fully.
    Note,
    /// pglocks works only in part until this is fixed.
    Degraded,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub item: &'static str,
    pub status: Status,
    pub finding: String,
    /// What to do about it; None when nothing needs doing.
    pub action: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub role: String,
    pub server_version: String,
    pub degraded: bool,
    pub checks: Vec<Check>,
}

/// The report is out and says what is missing; this only sets the exit code (2).
#[derive(Debug, thiserror::Error)]
#[error("pglocks works here only in part: {0} item(s) degraded")]
pub struct Degraded(pub usize);

pub async fn run(args: &DoctorArgs) -> Result<()> {
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
