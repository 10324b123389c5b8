//! `pglocks guard [CONN] [options] -- COMMAND...`: the migration run under the circuit
//! breaker (src/guard/), with its recording and incident report as evidence.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;

use crate::args::{ConnArgs, ReanalysisArgs, Redact, parse_duration, parse_interval};
use crate::db::conninfo::ProcessEnv;
use crate::guard::breaker::Limits;
use crate::guard::retry::{Backoff, parse_backoff};
use crate::guard::{Plan, attempt, say};
use crate::record::guard::{GuardEvent, GuardLine};
use crate::record::{Header, Recorder};

/// Exit codes: the command's own; 75 when every attempt was cancelled by the breaker (or
/// its blockers never went away); 1 when the guard itself could not start.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Cancel the command's statement once it has waited this long for a lock
    #[arg(long, default_value = "3s", value_parser = parse_duration, value_name = "DURATION")]
    pub max_lock_wait: Duration,
    /// Cancel it once more than this many sessions queue behind its pending lock
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_queue: usize,
    /// Run the command again at most this many times after the breaker cancelled it
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,
    /// Wait before a retry: exponential from the first bound, capped at the second, with
    /// jitter
    #[arg(long, default_value = "1s..60s", value_parser = parse_backoff, value_name = "MIN..MAX")]
    pub backoff: Backoff,
    /// Before a retry, wait at most this long for the blockers the breaker saw to end
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub blocker_wait: Duration,
    /// Terminate a root blocker of the command that has been idle in transaction at least
    /// this long (and nothing else); off by default
    #[arg(long, value_parser = parse_duration, value_name = "AGE")]
    pub terminate_idle_blockers: Option<Duration>,
    /// Also count backends whose application_name contains this, started after the attempt
    #[arg(long, value_name = "NAME")]
    pub migration_app: Option<String>,
    /// Also count backends of this role, started after the attempt
    #[arg(long, value_name = "ROLE")]
    pub migration_user: Option<String>,
    /// Poll period
    #[arg(long, default_value = "500ms", value_parser = parse_interval)]
    pub interval: Duration,
    /// Say what the breaker would do, and never signal anyone
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub redact: Redact,
    /// The recording to write [default: pglocks-guard-TIME-PID.jsonl in --evidence-dir]; the
    /// incident report goes beside it as .md
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Where the recording and the incident report go
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub evidence_dir: PathBuf,
    /// The migration command and its arguments, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

fn plan(args: &Args) -> Plan {
    Plan {
        command: args.command.clone(),
        limits: Limits {
            max_lock_wait: args.max_lock_wait,
            max_queue: args.max_queue,
            terminate_idle: args.terminate_idle_blockers,
        },
        interval: args.interval,
        retries: args.retries,
        backoff: args.backoff,
        blocker_wait: args.blocker_wait,
        dry_run: args.dry_run,
        redact: args.redact.enabled,
        migration_app: args.migration_app.clone(),
        migration_user: args.migration_user.clone(),
    }
}

pub async fn run(args: &Args) -> ExitCode {
    match guard(args).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            crate::guard::clear_status();
            eprintln!("pglocks: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn evidence_paths(args: &Args) -> (PathBuf, PathBuf) {
    let record = args.record.clone().unwrap_or_else(|| {
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        args.evidence_dir.join(format!(
            "pglocks-guard-{stamp}-{}.jsonl",
            std::process::id()
        ))
    });
    let name = record
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".jsonl.gz")
        .or_else(|| name.strip_suffix(".jsonl"))
        .unwrap_or(&name);
    let report = record.with_file_name(format!("{stem}.md"));
    (record, report)
}

async fn guard(args: &Args) -> Result<u8> {
    if args.command.first().is_none_or(String::is_empty) {
        anyhow::bail!("no command to run: pglocks guard [CONN] [options] -- COMMAND [ARGS...]");
    }
    let (record_path, report_path) = evidence_paths(args);
    crate::output::check_new(&report_path)?;
    let params = args.conn.resolve()?;
    // No server, no guard: the migration is not started unprotected.
    let conn = crate::db::connect(&params, &ProcessEnv)
        .await
        .context("the guard cannot watch the server, so the command was not started")?;
    let header = Header::new(conn.target.clone(), args.interval, None, false);
    let recorder = Recorder::create(&record_path, &header)?;
    let mut guard = attempt::Guard::new(plan(args), params, conn, recorder.sink());
    let (code, why) = guard.run_all().await;
    guard.record(GuardLine::new(
        guard.attempts(),
        GuardEvent::Exit {
            code: i32::from(code),
            why: why.clone(),
        },
    ));
    drop(guard);
    say(&format!("exit {code}: {why}"));
    let summary = tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .unwrap_or_default();
    if let Some(e) = summary.error {
        say(&format!("recording {}: {e}", record_path.display()));
    }
    write_report(&record_path, &report_path, args.redact);
    Ok(code)
}

fn write_report(record: &Path, report: &Path, redact: Redact) {
    let args = ReanalysisArgs {
        redact,
        long_xact: Duration::from_secs(60),
        feedback_xmin_age: None,
    };
    let written = crate::record::read_back::report_text(record, &args.options(), redact.enabled)
        .and_then(|(text, _)| Ok(crate::output::write_new(report, text.as_bytes())?));
    match written {
        Ok(()) => say(&format!(
            "recording: {}; incident report: {}",
            record.display(),
            report.display()
        )),
        Err(e) => say(&format!(
            "recording: {}; no incident report: {e:#}",
            record.display()
        )),
    }
}
