//! `pglocks guard [CONN] [options] -- COMMAND...`: the migration run under the circuit
//! breaker (src/guard/), with its recording and incident report as evidence.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use futures_util::FutureExt;

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
    /// Watch in the live view, the command's backends pinned as the migration; the
    /// command's output goes to a file beside the recording (q leaves the view, the guard
    /// goes on)
    #[arg(long)]
    pub tui: bool,
    /// The --tui view's colours, as the live view's (NO_COLOR also selects mono) [env: PGLOCKS_THEME]
    #[arg(long, value_enum, default_value_t = crate::tui::theme::Theme::Dark)]
    pub theme: crate::tui::theme::Theme,
    /// The config file's key bindings (set by main after parsing; no flag).
    #[arg(skip)]
    pub keys: crate::tui::keys::Keymap,
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

fn plan(args: &Args, output: Option<(PathBuf, std::fs::File)>) -> Plan {
    Plan {
        output,
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
    let result = match setup(args) {
        Ok(setup) if args.tui => with_view(setup).await,
        Ok(setup) => watch(setup, Hooks::default()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            crate::guard::clear_status();
            eprintln!("pglocks: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Where the evidence goes: the recording, the report beside it, and under --tui the
/// command's output beside them.
struct Paths {
    record: PathBuf,
    report: PathBuf,
    output: PathBuf,
}

fn evidence_paths(args: &Args) -> Paths {
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
    Paths {
        report: record.with_file_name(format!("{stem}.md")),
        output: record.with_file_name(format!("{stem}.output.log")),
        record,
    }
}

/// Everything checked and decided before the server is contacted.
struct Setup {
    plan: Plan,
    params: crate::db::conninfo::ConnParams,
    paths: Paths,
    interval: Duration,
    redact: Redact,
    evidence_dir: PathBuf,
    theme: crate::tui::theme::Theme,
    keys: crate::tui::keys::Keymap,
}

fn setup(args: &Args) -> Result<Setup> {
    if args.command.first().is_none_or(String::is_empty) {
        anyhow::bail!("no command to run: pglocks guard [CONN] [options] -- COMMAND [ARGS...]");
    }
    if args.tui && !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        anyhow::bail!("--tui needs a terminal; without it the guard prints its lines to stderr");
    }
    let paths = evidence_paths(args);
    crate::output::check_new(&paths.report)?;
    let params = args.conn.resolve()?;
    let output = if args.tui {
        let file = crate::output::create_private(&paths.output).with_context(|| {
            format!(
                "cannot create {} for the command's output",
                paths.output.display()
            )
        })?;
        Some((paths.output.clone(), file))
    } else {
        None
    };
    Ok(Setup {
        plan: plan(args, output),
        params,
        paths,
        interval: args.interval,
        redact: args.redact,
        evidence_dir: args.evidence_dir.clone(),
        theme: args.theme,
        keys: args.keys.clone(),
    })
}

/// What `--tui` hands the guard: where to publish the command's backends, and whom to
/// tell that it is watching (connected, recording) and about to start the command.
#[derive(Default)]
struct Hooks {
    pins: Option<tokio::sync::watch::Sender<Vec<crate::pipeline::Pin>>>,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn watch(setup: Setup, hooks: Hooks) -> Result<u8> {
    let Setup {
        plan,
        params,
        paths,
        interval,
        redact,
        ..
    } = setup;
    let output = plan.output.as_ref().map(|(p, _)| p.clone());
    // No server, no guard: the migration is not started unprotected.
    let conn = match crate::db::connect(&params, &ProcessEnv).await {
        Ok(c) => c,
        Err(e) => {
            // Created empty a moment ago for a command that will not run.
            if let Some(o) = &output {
                let _ = std::fs::remove_file(o);
            }
            return Err(anyhow::Error::new(e)
                .context("the guard cannot watch the server, so the command was not started"));
        }
    };
    let header = Header::new(conn.target.clone(), interval, None, false);
    let recorder = Recorder::create(&paths.record, &header)?;
    let mut guard = attempt::Guard::new(plan, params, conn, recorder.sink());
    if let Some(pins) = hooks.pins {
        guard.pin_to(pins);
    }
    if let Some(ready) = hooks.ready {
        let _ = ready.send(());
    }
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
        say(&format!("recording {}: {e}", paths.record.display()));
    }
    write_report(&paths.record, &paths.report, redact);
    if let Some(o) = output {
        say(&format!("the command's output: {}", o.display()));
    }
    Ok(code)
}

/// `--tui`: the guard on a thread and a runtime of its own, so that it never waits on the
/// view (a draw blocks its thread while the terminal is slow); the view on this one.
async fn with_view(setup: Setup) -> Result<u8> {
    let params = setup.params.clone();
    let interval = setup.interval;
    let redact = setup.redact.enabled;
    let output = setup.paths.output.clone();
    let look = crate::tui::app::GuardedView {
        recording: setup.paths.record.display().to_string(),
        snapshot_dir: setup.evidence_dir.clone(),
        theme: setup.theme,
        keys: setup.keys.clone(),
    };
    let command = setup
        .plan
        .command
        .iter()
        .map(|a| crate::redact::command_arg(a))
        .collect::<Vec<_>>()
        .join(" ");
    let (pins_tx, pins_rx) = tokio::sync::watch::channel(Vec::new());
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    // From here the guard's lines go to the view; every way out below sends them back.
    let notes = crate::guard::status::to_view();
    let hooks = Hooks {
        pins: Some(pins_tx),
        ready: Some(ready_tx),
    };
    let spawned = std::thread::Builder::new()
        .name("pglocks-guard".into())
        .spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(watch(setup, hooks)),
                Err(e) => Err(anyhow::anyhow!("cannot start the guard's runtime: {e}")),
            };
            let _ = done_tx.send(result.map_err(|e| format!("{e:#}")));
        });
    let mut link = crate::tui::guarded::Link {
        notes,
        done: done_rx,
        pins: pins_rx,
        panel: crate::tui::guarded::Panel::new(command, output.clone()),
        result: None,
    };
    if let Err(e) = spawned {
        back_to_stderr(&mut link);
        anyhow::bail!("cannot start the guard's thread: {e}");
    }
    // The view opens once the guard watches the server: a guard that cannot start says
    // so on the plain terminal, and the command never ran.
    if ready_rx.await.is_err() {
        back_to_stderr(&mut link);
        return finished(&mut link).await;
    }
    // A panic in the view must not end the process under a running migration: the hook
    // restores the terminal, and the guard goes on in plain mode.
    let view = crate::tui::app::run_guarded(params, interval, redact, look, &mut link);
    let shown = std::panic::AssertUnwindSafe(view)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("it panicked")));
    back_to_stderr(&mut link);
    if let Err(e) = shown {
        say(&format!("the live view failed ({e:#}); the guard goes on"));
    } else if link.result.is_none() {
        say(&format!(
            "left the live view; the guard goes on, Ctrl-C interrupts the command; its output goes to {}",
            output.display()
        ));
    }
    finished(&mut link).await
}

/// The lines the view showed, on stderr now that the terminal is restored, then every
/// later line straight to stderr.
fn back_to_stderr(link: &mut crate::tui::guarded::Link) {
    let log = std::mem::take(&mut link.panel.log);
    crate::guard::status::to_stderr(&mut link.notes, |queued| {
        let queued = queued.into_iter().filter_map(|n| match n {
            crate::guard::status::Note::Line(l) => Some(l),
            crate::guard::status::Note::Status(_) => None,
        });
        for line in log.into_iter().chain(queued) {
            crate::guard::status::print_line(&line);
        }
    });
}

async fn finished(link: &mut crate::tui::guarded::Link) -> Result<u8> {
    let result = match link.result.take() {
        Some(r) => r,
        None => (&mut link.done)
            .await
            .unwrap_or_else(|_| Err("the guard stopped unexpectedly".into())),
    };
    result.map_err(|e| anyhow::anyhow!(e))
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
