//! `pglocks preflight`: before a migration runs, what each statement will lock, how big the
//! tables are, and who would block it right now. A deploy gate: exit 0 when it can run,
//! 2 when it would wait or rewrite a large table under a write-blocking lock (or, with
//! --strict, when there is any warning), 1 on error (including a statement that does not
//! parse: a gate must not pass what it cannot read).
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args as ClapArgs;

use crate::args::{ConnArgs, Redact, parse_format};
use crate::db::conninfo::ProcessEnv;
use crate::ddl;
use crate::output::write_new;
use crate::preflight::{Report, Settings, advice, evaluate, markdown, refuse_unknown};
use crate::report::Format;

/// Exit 0: it can run now; 2: a statement would wait, or would scan or rewrite a large table
/// under a lock that blocks writes (with --strict, also any warning); 1: error.
#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("migration").required(true).args(["sql", "command"])))]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The migration file to check ("-" reads stdin)
    #[arg(long, value_name = "FILE")]
    pub sql: Option<PathBuf>,
    /// The statement(s) to check, separated by semicolons
    #[arg(short = 'c', long = "command", value_name = "STATEMENT")]
    pub command: Option<String>,
    /// json or markdown [default: markdown on a terminal, json otherwise]
    #[arg(long, short = 'f', value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this new file instead of stdout (never overwrites)
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Fail (exit 2) on warnings too: no lock_timeout, an index without CONCURRENTLY, ...
    #[arg(long)]
    pub strict: bool,
    /// Tables with more estimated rows than this are large: scanning or rewriting one under
    /// a lock that blocks writes fails the check [env: PGLOCKS_LARGE_TABLE]
    #[arg(long, value_name = "ROWS", default_value_t = 1_000_000)]
    pub large_table: u64,
    #[command(flatten)]
    pub redact: Redact,
}

/// The check ran and failed: the report is out, the process exits 2.
#[derive(Debug, thiserror::Error)]
#[error("preflight failed: {0}")]
pub struct GateClosed(pub String);

fn read_input(args: &Args) -> Result<(String, String)> {
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

pub async fn run(args: &Args) -> Result<()> {
    if let Some(path) = &args.output {
        crate::output::check_new(path)?;
    }
    let (source, text) = read_input(args)?;
    let statements = ddl::classify(&text);
    if statements.is_empty() {
        bail!("{source}: no SQL statement to check");
    }
    refuse_unknown(&source, &statements)?;
    let params = args.conn.resolve()?;
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
