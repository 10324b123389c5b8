//! `pglocks preflight`: before a migration runs, what each statement will lock, how big the
//! tables are, and who would block it right now. A deploy gate: exit 0 when it can run,
//! 2 when it would wait or rewrite a large table under a write-blocking lock (or, with
//! --strict, when there is any warning), 1 on error (including a statement that does not
//! parse: a gate must not pass what it cannot read).
pub mod advice;
pub mod document;
pub mod evaluate;
pub mod existence;
pub use crate::model::preflight as facts;
pub mod markdown;

use std::io::{IsTerminal, Read};

use anyhow::{Context as _, Result, bail};

use crate::cli::PreflightArgs;
use crate::db::conninfo::ProcessEnv;
use crate::ddl::{self, Outcome, Statement};
use crate::humanize::first_line;
use crate::output::write_new;
use crate::report::Format;
pub use evaluate::{Report, Settings};

/// The check ran and failed: the report is out, the process exits 2.
#[derive(Debug, thiserror::Error)]
#[error("preflight failed: {0}")]
pub struct GateClosed(pub String);

fn read_input(args: &PreflightArgs) -> Result<(String, String)> {
    match (&args.sql, &args.command) {
        (_, Some(c)) => Ok(("-c".into(), c.clone())),
        (Some(path), None) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the migration from stdin")?;
            Ok(("stdin".into(), text))
        }
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the migration", path.display()))?;
            Ok((path.display().to_string(), text))
        }
        (None, None) => bail!("give the migration with --sql FILE or -c STATEMENT"),
    }
}

/// A Liquibase or Knex lock row left set makes the deploy wait forever: the gate closes,
/// with the statement that clears it. The only user-table read pglocks makes.
async fn tool_lock_rows(conn: &crate::db::Connection, report: &mut Report) -> Result<()> {
    let rows = conn
        .tool_lock_rows()
        .await
        .context("reading the Liquibase and Knex lock tables")?;
    for f in crate::diagnose::lock_rows::stale_rows(&rows) {
        report.reasons.push(f.title.clone());
        report.advice.push(advice::Advice {
            severity: "warning",
            code: "stale_migration_lock_row",
            statement: None,
            message: format!("{} {}", f.title, f.advice),
        });
        report.verdict = "fail";
        report.exit_code = 2;
    }
    Ok(())
}

/// Statements PostgreSQL cannot read fail the check before anything is asked of the server:
/// each is named by its number, the line and column where the parser stopped, and the
/// parser's message.
pub fn refuse_unknown(source: &str, statements: &[Statement]) -> Result<()> {
    let bad: Vec<String> = statements
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.outcome {
            Outcome::Unknown { reason, position } => Some(format!(
                "{source}{}: statement {} `{}` is not valid PostgreSQL ({reason})",
                position
                    .map(|p| format!(":{}:{}", p.line, p.column))
                    .unwrap_or_default(),
                i + 1,
                first_line(&s.sql, 80)
            )),
            _ => None,
        })
        .collect();
    if !bad.is_empty() {
        bail!("{}", bad.join("; "));
    }
    Ok(())
}

pub async fn run(args: &PreflightArgs) -> Result<()> {
    if let Some(path) = &args.output {
        crate::output::check_new(path)?;
    }
    let (source, text) = read_input(args)?;
    let statements = ddl::classify(&text);
    if statements.is_empty() {
        bail!("{source}: no SQL statement to check");
    }
    refuse_unknown(&source, &statements)?;
    let params = crate::headless::conn_params(&args.conn)?;
    let conn = crate::db::connect(&params, &ProcessEnv).await?;
    let names: Vec<(Option<String>, String, bool)> = evaluate::targets(&statements)
        .into_iter()
        .map(|t| (t.relation.schema, t.relation.name, t.table_of_index))
        .collect();
    let facts = conn.preflight_facts(&names).await?;
    let settings = Settings {
        large_table: args.large_table,
        strict: args.strict,
    };
    let mut report = evaluate::evaluate(
        statements,
        &facts,
        evaluate::Context {
            server: conn.server.clone(),
            target: conn.target.clone(),
            source,
            settings: &settings,
        },
    );
    tool_lock_rows(&conn, &mut report).await?;
    if args.redact.enabled {
        report.redact();
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Markdown
    } else {
        Format::Json
    });
    let rendered = match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
        Format::Markdown => markdown::render(&report),
    };
    match &args.output {
        Some(path) => write_new(path, rendered.as_bytes())?,
        None => print!("{rendered}"),
    }
    if report.exit_code != 0 {
        return Err(GateClosed(report.reasons.join("; ")).into());
    }
    Ok(())
}
