//! The guard's loop: run the command, poll while it runs, act on the breaker's verdicts,
//! and between attempts back off and wait for the blockers it saw to go.
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::signal::unix::{Signal as UnixSignal, SignalKind, signal};

use super::backends::{self, Backend, Rules};
use super::breaker::{self, Action, Limits, Verdict, secs};
use super::retry::{Backoff, Jitter};
use super::{EXIT_RETRIES_EXHAUSTED, Plan, proc_net, say, status};
use crate::analysis::{Analysis, Options, Situation};
use crate::db::conninfo::{ConnParams, ProcessEnv};
use crate::db::{self, Connection, GuardCancel, Signal};
use crate::migration::MigrationRules;
use crate::record::RecordSink;
use crate::record::guard::{Decision, GuardEvent, GuardLine, exit_words};

/// A root blocker the breaker saw: (pid, backend_start, xact_start) and how it was described.
type SeenRoot = (breaker::XactKey, String);

pub struct Guard {
    command: Vec<String>,
    params: ConnParams,
    conn: Option<Connection>,
    sink: RecordSink,
    limits: Limits,
    interval: Duration,
    retries: u32,
    backoff: Backoff,
    blocker_wait: Duration,
    dry_run: bool,
    redact: bool,
    app: Option<String>,
    user: Option<String>,
    /// Set for the command unless the user set PGAPPNAME.
    appname: Option<String>,
    /// The command is in a process group of its own (stdin is not a terminal), so signals
    /// must be forwarded to that group; on a terminal, Ctrl-C reaches it directly.
    own_group: bool,
    attempt: u32,
    poll_failed: bool,
    jitter: Jitter,
    sigint: Option<UnixSignal>,
    sigterm: Option<UnixSignal>,
    /// `--tui`: the command's stdout and stderr go to this file, not onto the view.
    output: Option<(std::path::PathBuf, std::fs::File)>,
    /// `--tui`: the command's backends, for the view to pin as the migration.
    pins: Option<tokio::sync::watch::Sender<Vec<crate::pipeline::Pin>>>,
}

/// What one attempt came to.
struct Ended {
    status: ExitStatus,
    tripped: bool,
    interrupted: bool,
    roots: Vec<SeenRoot>,
}

/// What the loop keeps between polls of one attempt.
#[derive(Default)]
struct AttemptState {
    child_pid: u32,
    rules: Rules,
    /// Every backend found to be the command's, by (pid, backend_start).
    known: BTreeMap<(i32, Option<DateTime<Utc>>), Backend>,
    /// Statements, blockers and waits already acted on (or reported).
    acted: BTreeSet<(Action, i32, Option<DateTime<Utc>>)>,
    tripped: bool,
    roots: Vec<SeenRoot>,
    /// The command is stopped and the guard said so.
    said_stopped: bool,
}

fn exit_code(status: &ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(1),
        (None, Some(s)) => u8::try_from((128 + s) & 0xff).unwrap_or(1),
        _ => 1,
    }
}

impl Guard {
    /// The command as the guard prints and records it, without the passwords of any
    /// connection string among its arguments.
    fn shown_command(&self) -> Vec<String> {
        self.command
            .iter()
            .map(|a| crate::redact::command_arg(a))
            .collect()
    }

    /// What the recording keeps of a poll: the poll itself, or under --redact the same
    /// poll with literals and client addresses hidden; the breaker decides on the real one.
    fn keep(&self, a: &Analysis) {
        if !self.redact {
            return self.sink.snapshot(a);
        }
        let opts = Options {
            rules: MigrationRules::new("", a.migrations.keys().copied().collect()),
            ..Options::default()
        };
        let mut s = Situation::of(crate::redact::snapshot(a.snapshot.clone()), &opts);
        s.migrations = a.migrations.clone();
        self.sink.snapshot(&Analysis::of(s, &opts));
    }

    pub fn new(plan: Plan, params: ConnParams, conn: Connection, sink: RecordSink) -> Guard {
        let appname = match std::env::var_os("PGAPPNAME") {
            Some(_) => None,
            None => Some(format!("pglocks-guard-{}", std::process::id())),
        };
        Guard {
            command: plan.command,
            params,
            conn: Some(conn),
            sink,
            limits: plan.limits,
            interval: plan.interval,
            retries: plan.retries,
            backoff: plan.backoff,
            blocker_wait: plan.blocker_wait,
            dry_run: plan.dry_run,
            redact: plan.redact,
            app: plan.migration_app,
            user: plan.migration_user,
            appname,
            // Under --tui the view owns the terminal (raw mode: no Ctrl-C signal from it),
            // so the guard forwards every signal itself.
            own_group: plan.output.is_some() || !std::io::stdin().is_terminal(),
            attempt: 0,
            poll_failed: false,
            jitter: Jitter::seeded(),
            sigint: signal(SignalKind::interrupt()).ok(),
            sigterm: signal(SignalKind::terminate()).ok(),
            output: plan.output,
            pins: None,
        }
    }

    /// Publishes the command's backends on every poll, for the live view to pin.
    pub fn pin_to(&mut self, pins: tokio::sync::watch::Sender<Vec<crate::pipeline::Pin>>) {
        self.pins = Some(pins);
    }

    fn publish(&self, pins: &[crate::pipeline::Pin]) {
        if let Some(tx) = &self.pins {
            tx.send_if_modified(|old| {
                let changed = old.as_slice() != pins;
                if changed {
                    *old = pins.to_vec();
                }
                changed
            });
        }
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    pub fn record(&self, line: GuardLine) {
        self.sink.line(&line);
    }

    /// Runs the command until it succeeds, fails on its own, or the retries run out; the
    /// exit code and why.
    pub async fn run_all(&mut self) -> (u8, String) {
        loop {
            self.attempt += 1;
            let n = self.attempt;
            let ended = match self.run_attempt().await {
                Ok(e) => e,
                Err(e) => return (1, format!("cannot run {}: {e:#}", self.command[0])),
            };
            let code = exit_code(&ended.status);
            let words = exit_words(ended.status.code(), {
                use std::os::unix::process::ExitStatusExt;
                ended.status.signal()
            });
            if ended.status.success() {
                if ended.tripped {
                    say(
                        "warning: the breaker cancelled a statement, yet the command exited 0: make it stop on errors (psql: -v ON_ERROR_STOP=1), or check what it applied",
                    );
                }
                return (0, format!("attempt {n} succeeded"));
            }
            if ended.interrupted {
                return (code, format!("attempt {n} was interrupted ({words})"));
            }
            if !ended.tripped {
                return (
                    code,
                    format!("attempt {n} failed on its own ({words}); not retried"),
                );
            }
            if n > self.retries {
                return (
                    EXIT_RETRIES_EXHAUSTED,
                    format!(
                        "the breaker cancelled every attempt ({n} of {n}); the migration did not get through"
                    ),
                );
            }
            let wait = self.backoff.wait(n, self.jitter.unit());
            let names: Vec<String> = ended.roots.iter().map(|(_, d)| d.clone()).collect();
            say(&format!(
                "attempt {n} failed ({words}) after the breaker cancelled it; retry {n} of {} in {}{}",
                self.retries,
                secs(wait.as_secs_f64()),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(", once {} has ended its transaction", names.join(", "))
                }
            ));
            self.record(GuardLine::new(
                n,
                GuardEvent::RetryWait {
                    backoff_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    waiting_for: names,
                },
            ));
            if self.interruptible_sleep(wait).await {
                return (
                    code,
                    format!("interrupted while waiting to retry ({words})"),
                );
            }
            match self.wait_for_blockers(&ended.roots).await {
                Ok(()) => {}
                Err(BlockersStay::Interrupted) => {
                    return (
                        code,
                        format!("interrupted while waiting to retry ({words})"),
                    );
                }
                Err(BlockersStay::TooLong(who)) => {
                    return (
                        EXIT_RETRIES_EXHAUSTED,
                        format!(
                            "{who} still had its transaction open after --blocker-wait {}; not retried",
                            humantime::format_duration(self.blocker_wait)
                        ),
                    );
                }
            }
        }
    }

    /// True if SIGINT or SIGTERM arrived (the guard then stops).
    async fn interruptible_sleep(&mut self, d: Duration) -> bool {
        let sleep = tokio::time::sleep(d);
        tokio::pin!(sleep);
        tokio::select! {
            _ = &mut sleep => false,
            _ = recv(&mut self.sigint) => true,
            _ = recv(&mut self.sigterm) => true,
        }
    }

    async fn run_attempt(&mut self) -> anyhow::Result<Ended> {
        let n = self.attempt;
        // Name rules only count backends that start after this, by the server's clock.
        let first = self.poll().await;
        if let Some((a, _)) = &first {
            self.keep(a);
        }
        let since = first.as_ref().map(|(a, _)| a.snapshot.taken_at);
        let mut cmd = tokio::process::Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        if let Some(app) = &self.appname {
            cmd.env("PGAPPNAME", app);
        }
        if self.own_group {
            cmd.process_group(0);
        }
        if let Some((_, file)) = &self.output {
            use std::io::Write;
            // The command writes straight into the file: nothing of the guard's sits
            // between them, so neither a slow view nor the guard's end can stall the
            // command on a full pipe or kill it with SIGPIPE.
            let mut marker = file.try_clone()?;
            let _ = writeln!(
                marker,
                "== pglocks guard: attempt {n}: {} ==",
                self.shown_command().join(" ")
            );
            cmd.stdin(std::process::Stdio::null())
                .stdout(file.try_clone()?)
                .stderr(file.try_clone()?);
        }
        let mut child = cmd.spawn()?;
        let child_pid = child.id().unwrap_or_default();
        say(&format!(
            "attempt {n}: started {} (pid {child_pid}){}",
            self.shown_command().join(" "),
            if self.dry_run {
                "; dry run: the breaker will not signal anyone"
            } else {
                ""
            }
        ));
        self.record(GuardLine::new(
            n,
            GuardEvent::AttemptStarted {
                command: self.shown_command(),
                child_pid,
                appname: self.appname.clone(),
                output: self.output.as_ref().map(|(p, _)| p.display().to_string()),
            },
        ));
        let mut st = AttemptState {
            child_pid,
            rules: Rules {
                appname: self.appname.clone(),
                app: self.app.clone(),
                user: self.user.clone(),
                since,
            },
            ..AttemptState::default()
        };
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut interrupted = false;
        let status = loop {
            tokio::select! {
                // Signals first: on a terminal, Ctrl-C reaches the command and the guard at
                // once, and its exit must not be read as a failure of its own.
                biased;
                _ = recv(&mut self.sigint) => {
                    interrupted = true;
                    self.forward(child_pid, nix::sys::signal::Signal::SIGINT);
                }
                _ = recv(&mut self.sigterm) => {
                    interrupted = true;
                    self.forward(child_pid, nix::sys::signal::Signal::SIGTERM);
                }
                status = child.wait() => break status?,
                _ = ticks.tick() => self.tick(&mut st).await,
            }
        };
        if !interrupted {
            // The command can exit on that Ctrl-C a moment before the guard's own signal
            // is delivered; a short look tells an interrupted run from a failed one.
            tokio::select! {
                biased;
                _ = recv(&mut self.sigint) => interrupted = true,
                _ = recv(&mut self.sigterm) => interrupted = true,
                _ = tokio::time::sleep(SIGNAL_GRACE) => {}
            }
        }
        status::idle();
        // The world right after the attempt, for the report: did the queue drain?
        if let Some((a, _)) = self.poll().await {
            self.keep(&a);
        }
        let ended = Ended {
            status,
            tripped: st.tripped,
            interrupted,
            roots: st.roots,
        };
        use std::os::unix::process::ExitStatusExt;
        self.record(GuardLine::new(
            n,
            GuardEvent::AttemptEnded {
                exit_code: status.code(),
                signal: status.signal(),
                breaker_tripped: ended.tripped,
            },
        ));
        Ok(ended)
    }

    /// A command in a process group of its own that reads from the terminal (a password
    /// prompt) is stopped by SIGTTIN, and would wait for ever without a word.
    fn check_stopped(&self, st: &mut AttemptState) {
        let stopped = proc_net::stopped(st.child_pid);
        if stopped && !st.said_stopped {
            say(&format!(
                "attempt {}: the command (pid {}) is stopped: it tried to use the terminal, which it does not have here (a password prompt? use .pgpass or PGPASSWORD); Ctrl-C or SIGTERM ends it",
                self.attempt, st.child_pid
            ));
        }
        st.said_stopped = stopped;
    }

    fn forward(&self, child: u32, sig: nix::sys::signal::Signal) {
        let Ok(pid) = i32::try_from(child) else {
            return;
        };
        // On a terminal Ctrl-C already reached the command's process group.
        if !self.own_group && sig == nix::sys::signal::Signal::SIGINT {
            say("interrupted; the command got the Ctrl-C too, waiting for it to exit");
            return;
        }
        let target = nix::unistd::Pid::from_raw(if self.own_group { -pid } else { pid });
        let _ = nix::sys::signal::kill(target, sig);
        // A stopped command (SIGTTIN at a prompt) would keep the signal pending for ever.
        let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGCONT);
        say(&format!(
            "{sig} forwarded to the command; waiting for it to exit"
        ));
    }

    /// One poll, with the client endpoints of every backend; reconnects when needed.
    async fn poll(&mut self) -> Option<(Analysis, Vec<db::ClientBackend>)> {
        if self.conn.is_none() {
            match db::connect(&self.params, &ProcessEnv).await {
                Ok(c) => {
                    say("reconnected to the server");
                    self.conn = Some(c);
                }
                Err(e) => {
                    self.failed(&e.to_string());
                    return None;
                }
            }
        }
        let conn = self.conn.as_ref()?;
        let polled = async {
            let listed = conn.client_backends().await?;
            let snapshot = conn.poll(None).await?;
            Ok::<_, db::DbError>((snapshot, listed))
        }
        .await;
        match polled {
            Ok((snapshot, listed)) => {
                self.poll_failed = false;
                let a = crate::pipeline::analysed(snapshot, &Options::default(), false, &[]);
                Some((a, listed))
            }
            Err(e) => {
                if e.needs_reconnect() || conn.is_closed() {
                    self.conn = None;
                }
                self.failed(&e.to_string());
                None
            }
        }
    }

    fn failed(&mut self, why: &str) {
        if !self.poll_failed {
            say(&format!(
                "cannot poll the server ({why}); the breaker is blind until it can"
            ));
        }
        self.poll_failed = true;
    }

    async fn tick(&mut self, st: &mut AttemptState) {
        self.check_stopped(st);
        let Some((first, listed)) = self.poll().await else {
            return;
        };
        let endpoints = proc_net::command_endpoints(st.child_pid);
        let found = backends::matching(&listed, &endpoints, &st.rules);
        let present: BTreeSet<(i32, Option<DateTime<Utc>>)> =
            listed.iter().map(|b| (b.pid, b.backend_start)).collect();
        for b in found.into_values() {
            if let std::collections::btree_map::Entry::Vacant(slot) =
                st.known.entry((b.pid, b.backend_start))
            {
                say(&format!(
                    "attempt {}: backend pid {} is the command's (found by {})",
                    self.attempt,
                    b.pid,
                    b.method.describe()
                ));
                self.record(GuardLine::new(
                    self.attempt,
                    GuardEvent::Backend {
                        pid: b.pid,
                        method: b.method.describe().into(),
                    },
                ));
                slot.insert(b);
            }
        }
        let current: BTreeMap<i32, Backend> = st
            .known
            .iter()
            .filter(|(k, _)| present.contains(k))
            .map(|(_, b)| (b.pid, b.clone()))
            .collect();
        // Analysed again with the command's backends as the migration, so the recording
        // and the report tell its story.
        let pins: Vec<crate::pipeline::Pin> = current.values().map(pin).collect();
        self.publish(&pins);
        let a = if pins.is_empty() {
            first
        } else {
            crate::pipeline::analysed(first.into_snapshot(), &Options::default(), false, &pins)
        };
        self.keep(&a);
        self.show_status(&a, &current);
        let verdicts = breaker::judge(&a, &current, &self.limits);
        for v in verdicts {
            let key = (
                v.action,
                v.pid,
                match v.action {
                    Action::Terminate => v.backend_start,
                    _ => v.query_start,
                },
            );
            if st.acted.insert(key) {
                self.act(st, v).await;
            }
        }
    }

    fn show_status(&self, a: &Analysis, current: &BTreeMap<i32, Backend>) {
        let waiting = current.keys().find_map(|&p| {
            let s = a.session(p)?;
            a.graph.is_waiting(p).then_some(s)
        });
        let Some(s) = waiting else {
            status::idle();
            return;
        };
        let root = a.root_blockers_of(s.pid).first().copied();
        let lock = s
            .awaited_lock()
            .map(|l| format!("{} on {}", l.mode, l.target_label()))
            .unwrap_or_else(|| "a lock".into());
        let text = format!(
            "attempt {}: pid {} waits {} for {lock}{}; {} queued behind it",
            self.attempt,
            s.pid,
            a.wait_age(s).map(secs).unwrap_or_else(|| "?".into()),
            root.map(|r| format!(" behind {}", breaker::root_words(a, r)))
                .unwrap_or_default(),
            a.graph.waiting_total(s.pid)
        );
        let key = format!("{}:{:?}:{root:?}", s.pid, s.query_start);
        status::show(&key, &text);
    }

    async fn act(&mut self, st: &mut AttemptState, v: Verdict) {
        let n = self.attempt;
        let mut outcome: Option<String> = None;
        let mut latency_ms: Option<f64> = None;
        let line = match (v.action, self.dry_run) {
            (Action::Report, _) => format!("breaker: leaving pid {} alone: {}", v.pid, v.reason),
            (action, true) => format!(
                "breaker (dry run): would {} pid {}: {}",
                action.word(),
                v.pid,
                v.reason
            ),
            (Action::Cancel, false) => {
                let (Some(bs), Some(qs), Some(conn)) =
                    (v.backend_start, v.query_start, self.conn.as_ref())
                else {
                    return;
                };
                let sent_at = Utc::now();
                let result = conn.cancel_waiting_statement(v.pid, bs, qs).await;
                latency_ms = v
                    .crossed_at
                    .map(|c| (sent_at - c).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                let words = match result {
                    Ok(r) => {
                        if matches!(r, GuardCancel::Sent { .. }) {
                            st.tripped = true;
                            if let Some(k) = v.root_key
                                && !st.roots.iter().any(|(seen, _)| seen.0 == k.0)
                            {
                                st.roots.push((k, v.root.clone().unwrap_or_default()));
                            }
                        }
                        r.describe()
                    }
                    Err(e) => format!("failed: {e}"),
                };
                outcome = Some(words.clone());
                format!(
                    "breaker cancelled the statement of pid {} (attempt {n}): {}; result: {words}",
                    v.pid, v.reason
                )
            }
            (Action::Terminate, false) => {
                let (Some(bs), Some(conn)) = (v.backend_start, self.conn.as_ref()) else {
                    return;
                };
                let words = match conn.signal(Signal::Terminate, v.pid, bs).await {
                    Ok(o) => o.describe(),
                    Err(e) => format!("failed: {e}"),
                };
                outcome = Some(words.clone());
                format!(
                    "breaker terminated root blocker pid {} (attempt {n}): {}; result: {words}",
                    v.pid, v.reason
                )
            }
        };
        say(&line);
        self.record(GuardLine::new(
            n,
            GuardEvent::Decision(Decision {
                action: v.action.word().into(),
                dry_run: self.dry_run && v.action != Action::Report,
                pid: v.pid,
                waiter: v.waiter,
                trigger: v.trigger.word().into(),
                reason: line,
                lock: v.lock,
                relation: v.relation,
                root_blocker: v.root,
                queue: v.queue,
                longest_wait_s: v.longest_wait_s,
                wait_s: v.wait_s,
                outcome,
                latency_ms,
            }),
        ));
    }

    /// Waits until none of `roots` still has the transaction it had when the breaker saw
    /// it, the way preflight would find the road clear.
    async fn wait_for_blockers(&mut self, roots: &[SeenRoot]) -> Result<(), BlockersStay> {
        if roots.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let mut said = false;
        loop {
            if let Some((a, _)) = self.poll().await {
                self.keep(&a);
                let staying: Vec<String> = roots
                    .iter()
                    .filter(|((pid, bs, xs), _)| {
                        a.session(*pid).is_some_and(|s| {
                            s.backend_start == *bs && xs.is_some() && s.xact_start == *xs
                        })
                    })
                    .map(|((pid, _, _), _)| breaker::root_words(&a, *pid))
                    .collect();
                if staying.is_empty() {
                    status::idle();
                    if said {
                        say("the blockers are gone; retrying");
                    }
                    return Ok(());
                }
                let who = staying.join(", ");
                if started.elapsed() >= self.blocker_wait {
                    status::idle();
                    return Err(BlockersStay::TooLong(who));
                }
                if !said {
                    say(&format!(
                        "before attempt {}: waiting for {who} to end its transaction",
                        self.attempt + 1
                    ));
                    said = true;
                }
                status::live(&format!(
                    "waiting {} for {who} to end its transaction",
                    secs(started.elapsed().as_secs_f64())
                ));
            }
            if self.interruptible_sleep(self.interval).await {
                status::idle();
                return Err(BlockersStay::Interrupted);
            }
        }
    }
}

fn pin_reason(b: &Backend) -> String {
    format!("run by pglocks guard (found by {})", b.method.describe())
}

fn pin(b: &Backend) -> crate::pipeline::Pin {
    crate::pipeline::Pin {
        pid: b.pid,
        reason: Some(pin_reason(b)),
        beside_rules: Some(pin_reason(b)),
    }
}

enum BlockersStay {
    Interrupted,
    TooLong(String),
}

/// A signal stream that may not exist (the handler could not be installed): never fires.
/// How long after the command's exit a signal that arrived with it still counts.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

async fn recv(s: &mut Option<UnixSignal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
