//! `pglocks snapshot`: connect, poll once, analyse, print or write, exit.
use std::io::IsTerminal;

use anyhow::Result;

use crate::cli::{ConnArgs, SnapshotArgs};
use crate::db::conninfo::{self, ConnParams, Overrides, ProcessEnv};
use crate::output::write_new;
use crate::pipeline::analysed;
use crate::report::{self, Format};

pub fn conn_params(args: &ConnArgs) -> Result<ConnParams> {
    if !args.servers.is_empty() {
        anyhow::bail!(
            "--server is read by `pglocks snapshot` only so far; the live view, record and preflight watch one server"
        );
    }
    let overrides = Overrides {
        host: args.host.clone(),
        port: args.port.clone(),
        user: args.user.clone(),
        dbname: args.dbname.clone(),
    };
    // A name from the config file's [servers] stands for its connection string.
    let conn = crate::config::resolve_server(args.conn.as_deref());
    Ok(conninfo::resolve(conn.as_deref(), &overrides, &ProcessEnv)?)
}

pub async fn snapshot(args: &SnapshotArgs) -> Result<()> {
    if !args.conn.servers.is_empty() {
        return crate::fleet::snapshot(args).await;
    }
    // Refuse a bad output path before touching the server.
    if let Some(path) = &args.output {
        crate::output::check_new(path)?;
    }
    let params = conn_params(&args.conn)?;
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
