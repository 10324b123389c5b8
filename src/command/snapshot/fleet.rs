//! `pglocks snapshot CONN --server [NAME=]CONN ...`: every server polled at once, each
//! under its own deadline, one document per server saying which server it describes. A
//! server that cannot be read gets a document with its error; the others are still
//! written, and the exit status says that one failed.
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Result, bail};

use super::Args;
use crate::analysis::Analysis;
use crate::db::conninfo::{ConnParams, ProcessEnv};
use crate::report::{Format, json};

/// Connecting (with its own timeouts) and one poll: past this a server is reported as
/// unreachable rather than holding up the others' documents.
const SERVER_DEADLINE: Duration = Duration::from_secs(15);

struct Read {
    name: String,
    outcome: Result<Analysis, String>,
}

pub async fn run(args: &Args) -> Result<()> {
    if let Some(path) = &args.output {
        crate::output::check_new(path)?;
    }
    let targets = crate::fleet::resolve_servers(&args.conn)?;
    let reads =
        futures_util::future::join_all(targets.into_iter().map(|(name, params)| async move {
            let read = tokio::time::timeout(SERVER_DEADLINE, read_one(&params, args)).await;
            let outcome = match read {
                Ok(r) => r.map_err(|e| format!("{e:#}")),
                Err(_) => Err(format!("no answer within {}s", SERVER_DEADLINE.as_secs())),
            };
            Read { name, outcome }
        }))
        .await;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Markdown
    } else {
        Format::Json
    });
    let text = render(format, &reads)?;
    match &args.output {
        Some(path) => crate::output::write_new(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    let failed: Vec<&str> = reads
        .iter()
        .filter(|r| r.outcome.is_err())
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("could not read {}", failed.join(", "));
    }
    Ok(())
}

async fn read_one(params: &ConnParams, args: &Args) -> Result<Analysis> {
    let conn = crate::db::connect(params, &ProcessEnv).await?;
    let snapshot = conn.poll(args.analysis.database.as_deref()).await?;
    Ok(crate::pipeline::analysed(
        snapshot,
        &args.analysis.options(),
        args.analysis.redact.enabled,
        &[],
    ))
}

fn render(format: Format, reads: &[Read]) -> Result<String> {
    Ok(match format {
        Format::Json => {
            let docs = reads
                .iter()
                .map(|r| match &r.outcome {
                    Ok(a) => {
                        let mut doc = json::document(a, &[]);
                        doc.server_name = Some(r.name.clone());
                        serde_json::to_value(doc)
                    }
                    Err(e) => Ok(serde_json::json!({ "server_name": r.name, "error": e })),
                })
                .collect::<serde_json::Result<Vec<_>>>()?;
            let mut out = serde_json::to_string_pretty(&docs)?;
            out.push('\n');
            out
        }
        Format::Markdown => {
            let mut out = String::new();
            for r in reads {
                match &r.outcome {
                    Ok(a) => out.push_str(&crate::report::render_named(
                        Format::Markdown,
                        a,
                        &[],
                        Some(&r.name),
                    )?),
                    Err(e) => out.push_str(&format!("# Server {}\n\nNot read: {e}\n", r.name)),
                }
                out.push('\n');
            }
            out
        }
    })
}
