//! Recording a real incident while it is resolved, then reading it back: the sequence in
//! the file, the incident report made from it, the `record`, `report` and `replay`
//! commands as a user runs them, and a checked-in recording that must stay readable.
// The whole file is test code, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::TestDb;
use pglocks::args::{AnalysisArgs, ReanalysisArgs};
use pglocks::db::conninfo::{self, Overrides, ProcessEnv};
use pglocks::db::{Signal, SignalOutcome};
use pglocks::model::ActionRecord;
use pglocks::poller::PollerConfig;
use pglocks::record::read_back::{self, Moment};
use pglocks::record::{ActionLine, Entry, reader, session};
use pglocks::report::json::SnapshotDoc;
use pglocks::stage::{MigrationPileup, migration_pileup};

const INTERVAL: Duration = Duration::from_millis(200);
const QUEUED: usize = 5;

fn analysis_args(db: &TestDb) -> AnalysisArgs {
    AnalysisArgs {
        database: Some(db.dbname.clone()),
        migration_app: pglocks::migration::DEFAULT_MIGRATION_APPS.into(),
        long_xact: Duration::from_secs(60),
        ..AnalysisArgs::default()
    }
}

fn reanalysis() -> ReanalysisArgs {
    ReanalysisArgs {
        redact: pglocks::args::Redact::default(),
        long_xact: Duration::from_secs(60),
        feedback_xmin_age: None,
    }
}

/// Every entry of a recording that may still be being written (a torn last line is
/// skipped by the reader).
fn entries(path: &Path) -> Vec<Entry> {
    reader::open(path).unwrap().map(|e| e.unwrap()).collect()
}

fn snapshot(e: &Entry) -> Option<&SnapshotDoc> {
    match e {
        Entry::Snapshot(d) => Some(d),
        _ => None,
    }
}

fn migration_blocked(doc: &SnapshotDoc, p: &MigrationPileup) -> bool {
    let marked = doc
        .sessions
        .iter()
        .any(|s| s.session.pid == p.migration && s.is_migration);
    let waits = doc
        .edges
        .iter()
        .any(|e| e.waiter == p.migration && e.blocker == p.blocker);
    marked && waits
}

fn nobody_waits(doc: &SnapshotDoc, p: &MigrationPileup) -> bool {
    doc.edges.is_empty() && doc.sessions.iter().all(|s| s.session.pid != p.blocker)
}

async fn wait_for(path: &Path, what: &str, done: impl Fn(&[Entry]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if path.exists() && done(&entries(path)) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Records the staged pile-up through the library form of `pglocks record` while a
/// terminate resolves it. The headless recorder has no signal path (nothing to press),
/// so the test signals with `Connection::signal` and records the action through the
/// recorder's sink, exactly as the TUI's poller does.
async fn record_resolved_incident(db: &TestDb, dir: &Path) -> (PathBuf, MigrationPileup) {
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, QUEUED, true).await.unwrap();
    // Connected before recording starts, so every poll sees the same sessions.
    let signaller = db.monitor().await;
    let path = dir.join("incident.jsonl");
    let args = analysis_args(db);
    let recorder =
        session::open(&path, "test".into(), INTERVAL, args.database.clone(), false).unwrap();
    let sink = recorder.sink();
    let config = PollerConfig {
        params: conninfo::resolve(Some(&db.dsn()), &Overrides::default(), &ProcessEnv).unwrap(),
        interval: INTERVAL,
        database: args.database.clone(),
        options: args.options(),
        redact: false,
        record: Some(recorder.sink()),
        pins: None,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(session::run(config, recorder, async move {
        let _ = stop_rx.await;
    }));

    wait_for(&path, "two polls of the blocked migration", |e| {
        e.iter()
            .filter_map(snapshot)
            .filter(|d| migration_blocked(d, &p))
            .count()
            >= 2
    })
    .await;
    let now = signaller.poll(Some(&db.dbname)).await.unwrap();
    let backend_start = now
        .sessions
        .iter()
        .find(|s| s.pid == p.blocker)
        .and_then(|s| s.backend_start)
        .unwrap();
    let sent_at = Utc::now();
    let outcome = signaller
        .signal(Signal::Terminate, p.blocker, backend_start)
        .await
        .unwrap();
    assert_eq!(outcome, SignalOutcome::Terminated);
    sink.action(ActionLine::new(
        ActionRecord {
            at: sent_at,
            action: Signal::Terminate.verb().into(),
            pid: p.blocker,
            result: outcome.describe(),
        },
        Some(&outcome),
    ));
    wait_for(&path, "a poll after the action with nobody waiting", |e| {
        let action = e.iter().position(|e| matches!(e, Entry::Action(_)));
        action.is_some_and(|i| {
            e[i..]
                .iter()
                .filter_map(snapshot)
                .any(|d| nobody_waits(d, &p))
        })
    })
    .await;
    stop_tx.send(()).unwrap();
    let summary = task.await.unwrap().unwrap();
    assert_eq!(summary.error, None);
    assert_eq!(summary.dropped, 0);
    assert_eq!(summary.actions, 1);
    assert!(summary.snapshots >= 3, "{summary:?}");
    (path, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_shows_blocked_then_terminate_then_unblocked() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, p) = record_resolved_incident(&db, dir.path()).await;

    let all = entries(&path);
    let Entry::Header(header) = &all[0] else {
        panic!("the first line is the header: {:?}", all[0])
    };
    assert_eq!(header.format, "pglocks.recording/1");
    assert_eq!(header.interval_ms, 200);
    assert!(!header.redacted);
    let blocked = all
        .iter()
        .position(|e| snapshot(e).is_some_and(|d| migration_blocked(d, &p)))
        .expect("a poll with the migration blocked");
    let action = all
        .iter()
        .position(|e| matches!(e, Entry::Action(a) if a.action.pid == p.blocker))
        .expect("the terminate");
    let Entry::Action(line) = &all[action] else {
        unreachable!()
    };
    assert_eq!(line.format, "pglocks.action/1");
    assert_eq!(line.action.action, "terminate");
    assert_eq!(line.outcome.as_deref(), Some("terminated"));
    let unblocked = all
        .iter()
        .skip(action)
        .position(|e| snapshot(e).is_some_and(|d| nobody_waits(d, &p)))
        .map(|i| i + action)
        .expect("a poll with nobody waiting after the terminate");
    assert!(
        blocked < action && action < unblocked,
        "{blocked} {action} {unblocked}"
    );
    let last = all.iter().rev().find_map(snapshot).unwrap();
    assert!(nobody_waits(last, &p), "the recording ends unblocked");
    for doc in all.iter().filter_map(snapshot) {
        assert_eq!(doc.format, "pglocks.snapshot/1");
        assert!(doc.actions.is_empty(), "actions have lines of their own");
    }

    let (report, warnings) = read_back::report_text(&path, &reanalysis().options(), false).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    check_mermaid(&report);
    let mut settings = insta::Settings::clone_current();
    let names = [("blocker", p.blocker), ("migration", p.migration)]
        .into_iter()
        .map(|(n, pid)| (n.to_string(), pid))
        .chain(
            p.queued
                .iter()
                .enumerate()
                .map(|(i, &pid)| (format!("queued{}", i + 1), pid)),
        );
    for (name, pid) in names {
        settings.add_filter(&format!(r"\b{pid}\b"), format!("[{name}]"));
    }
    for (pattern, with) in VOLATILE {
        settings.add_filter(pattern, *with);
    }
    settings.bind(|| insta::assert_snapshot!("incident_report", report));
}

/// What differs between two runs of the same incident: clock times, ages, how many polls
/// fell into each phase, and the exact moment the first poll after the action landed.
const VOLATILE: &[(&str, &str)] = &[
    (r"\d{4}-\d\d-\d\d", "[date]"),
    (r"\d\d:\d\d:\d\d(\.\d+)?", "[time]"),
    (r"\b(\d+d\d\dh|\d+h(\d\dm)?|\d+m(\d\ds)?|\d+s)\b", "[age]"),
    (r"\b\d+ polls\b", "[n] polls"),
    (
        r"Next poll: \d+ → \d+ waiting",
        "Next poll: [n] → [n] waiting",
    ),
    (
        r"no longer waits \(now [a-z ]+\)|has left \(finished, or its session ended\)",
        "[moved on]",
    ),
    (r"pglocks\\_t\\_\d+\\_\d+", "[test database]"),
    (r"pglocks \d+\.\d+\.\d+", "pglocks [version]"),
];

/// The Mermaid block parses as a graph, at least structurally: it opens with `graph`,
/// every line is a node, an edge or a style line, labels are quoted without stray
/// quotes, and every edge joins declared nodes.
fn check_mermaid(report: &str) {
    let start = report.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let body = &report[start..start + report[start..].find("```").unwrap()];
    let mut lines = body.lines();
    assert!(lines.next().unwrap().starts_with("graph "), "{body}");
    let mut nodes = std::collections::HashSet::new();
    let mut edges = Vec::new();
    for line in lines {
        let line = line.trim();
        if let Some((id, rest)) = line.split_once("[\"") {
            assert!(rest.ends_with("\"]"), "unterminated label: {line}");
            let inner = &rest[..rest.len() - 2];
            assert!(!inner.contains('"'), "a quote inside a label: {line}");
            assert!(is_id(id), "node id {id:?}");
            nodes.insert(id.to_string());
        } else if line.starts_with("classDef ") {
        } else if let Some(rest) = line.strip_prefix("class ") {
            let id = rest.split_whitespace().next().unwrap();
            edges.push((id.to_string(), id.to_string()));
        } else {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let arrow = parts
                .iter()
                .position(|p| p.starts_with("-->") || p.starts_with("-.->"));
            let arrow = arrow.unwrap_or_else(|| panic!("not a node, edge or style: {line}"));
            let from = parts[..arrow].join(" ");
            let to = parts.last().unwrap().to_string();
            if let Some(label) = line.split_once('|').map(|(_, r)| r) {
                let label = label.rsplit_once('|').unwrap().0;
                assert!(label.starts_with('"') && label.ends_with('"'), "{line}");
                assert!(!label[1..label.len() - 1].contains('"'), "{line}");
            }
            edges.push((from, to));
        }
    }
    assert!(!edges.is_empty(), "no edges in {body}");
    for (from, to) in edges {
        assert!(nodes.contains(&from), "edge from undeclared {from}: {body}");
        assert!(nodes.contains(&to), "edge to undeclared {to}: {body}");
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A recording written by an earlier build: every later build must still read it.
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/recording-v1.jsonl");

#[test]
fn the_checked_in_recording_stays_readable() {
    let all = entries(Path::new(SAMPLE));
    assert!(matches!(all[0], Entry::Header(_)));
    assert_eq!(
        all.iter().filter(|e| matches!(e, Entry::Action(_))).count(),
        1
    );
    assert!(all.iter().filter_map(snapshot).count() >= 3);
    let (report, warnings) =
        read_back::report_text(Path::new(SAMPLE), &reanalysis().options(), false).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    check_mermaid(&report);
    insta::assert_snapshot!("sample_report", report);
}

#[test]
fn replay_finds_the_moment_asked_for() {
    let path = Path::new(SAMPLE);
    let (worst, _, _) = read_back::find(path, &Moment::Worst).unwrap();
    assert!(!worst.edges.is_empty());
    let (first, none, _) = read_back::find(path, &Moment::First).unwrap();
    let (last, actions, _) = read_back::find(path, &Moment::Last).unwrap();
    assert!(first.taken_at < last.taken_at);
    assert!(none.is_empty(), "no action before the first poll");
    assert_eq!(actions.len(), 1);
    assert!(last.edges.is_empty(), "the sample ends resolved");
    let (same, _, _) = read_back::find(path, &Moment::At(worst.taken_at)).unwrap();
    assert_eq!(same.taken_at, worst.taken_at);
    let before = first.taken_at - chrono::Duration::seconds(1);
    let err = read_back::find(path, &Moment::At(before)).unwrap_err();
    assert!(err.to_string().contains("before the first poll"), "{err}");
}

/// The binary, with the PG* environment removed so the developer's cannot leak in.
fn pglocks(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pglocks"));
    cmd.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Runs `cmd` under `umask`: the files pglocks writes must be 0600 whatever it is.
fn with_umask(mut cmd: Command, umask: u32) -> Command {
    use std::os::unix::process::CommandExt;
    let mask = nix::sys::stat::Mode::from_bits_truncate(umask);
    // SAFETY: umask(2) is async-signal-safe and touches nothing but the child's mask.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::stat::umask(mask);
            Ok(())
        });
    }
    cmd
}

fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn written_files_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    for umask in [0o000, 0o022, 0o277] {
        let report = dir.path().join(format!("report-{umask:o}.md"));
        let at = dir.path().join(format!("worst-{umask:o}.json"));
        for args in [
            vec!["report", SAMPLE, "-o", report.to_str().unwrap()],
            vec![
                "replay",
                SAMPLE,
                "--at",
                "worst",
                "--format",
                "json",
                "-o",
                at.to_str().unwrap(),
            ],
        ] {
            let run = output(with_umask(pglocks(&args), umask));
            assert!(
                run.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
        }
        assert_eq!(file_mode(&report), 0o600, "report under umask {umask:o}");
        assert_eq!(file_mode(&at), 0o600, "replay -o under umask {umask:o}");
    }
}

fn output(mut cmd: Command) -> std::process::Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_command_runs_until_sigint_and_never_overwrites() {
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 2, true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let path_s = path.to_str().unwrap().to_string();
    // A role with a real password, given in the connection string: it must not come back.
    let role = format!("{}_pw", db.dbname);
    let secret = "Rec0rdSecret7731";
    stage
        .exec(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{secret}' IN ROLE pg_monitor"
        ))
        .await
        .unwrap();
    // That statement stays the staging session's last query in pg_stat_activity: the
    // recording carries it, and the password literal must not come with it (no --redact).
    let dsn = format!("{} user={role} password={secret}", db.dsn());
    let args = [
        "record",
        dsn.as_str(),
        "--database",
        db.dbname.as_str(),
        "-o",
        path_s.as_str(),
        "--interval",
        "200ms",
    ];
    // A permissive umask: the recording must still be readable by its owner only.
    let child = with_umask(pglocks(&args), 0o000)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&path, "three polls", |e| {
        e.iter()
            .filter_map(snapshot)
            .filter(|d| migration_blocked(d, &p))
            .count()
            >= 3
    })
    .await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("pglocks record: stopped;"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    let polls = entries(&path).iter().filter_map(snapshot).count();
    assert!(stderr.contains(&format!("{polls} polls in")), "{stderr}");
    let bytes = std::fs::read(&path).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "every line is complete after SIGINT"
    );
    assert_eq!(file_mode(&path), 0o600, "the recording is private");

    let again = output(pglocks(&args));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the recording is untouched"
    );

    let report = output(pglocks(&["report", path_s.as_str()]));
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let md = String::from_utf8(report.stdout).unwrap();
    assert!(
        md.starts_with("# Incident report: migration blocked on public.orders\n"),
        "{md}"
    );
    assert!(
        md.contains(&format!("Migration pid {}", p.migration)),
        "{md}"
    );
    check_mermaid(&md);
    let out_md = dir.path().join("report.md");
    let written = output(pglocks(&[
        "report",
        path_s.as_str(),
        "-o",
        out_md.to_str().unwrap(),
    ]));
    assert!(written.status.success());
    assert_eq!(std::fs::read_to_string(&out_md).unwrap(), md);

    let replayed = output(pglocks(&[
        "replay",
        path_s.as_str(),
        "--at",
        "worst",
        "--format",
        "json",
    ]));
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(doc["format"], "pglocks.snapshot/1");
    assert!(
        doc["headline"]
            .as_str()
            .unwrap()
            .starts_with("MIGRATION BLOCKED")
    );

    for (bad, phrase) in [
        (
            vec!["replay", path_s.as_str(), "--at", "soon"],
            "invalid --at",
        ),
        (vec!["replay", path_s.as_str()], "--at"),
        (vec!["report", "/nonexistent/rec.jsonl"], "no such file"),
        (
            vec!["report", SAMPLE, "-o", path_s.as_str()],
            "already exists",
        ),
    ] {
        let run = output(pglocks(&bad));
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(err.to_lowercase().contains(phrase), "{bad:?}: {err}");
    }
}

#[test]
fn a_file_that_is_not_a_recording_is_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "line one\nline two\n").unwrap();
    let run = output(pglocks(&["report", path.to_str().unwrap()]));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("notes.txt:1: not a pglocks recording line"),
        "{err}"
    );
}

/// Issue 13.6: a SIGKILL in the middle of an incident loses at most the poll in flight.
/// "Acknowledged" is read on the server: the recorder is frozen (SIGSTOP) at a moment when
/// its backend is idle, so the server has answered its last poll, whose start time is the
/// backend's query_start and, in the file, that poll's taken_at (both are PostgreSQL's
/// statement_timestamp()). Then SIGKILL. Polls start an interval apart, so the file must
/// reach back to within two intervals of that last answered poll: the one before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_an_incident_loses_at_most_the_last_poll() {
    use nix::sys::signal::{Signal::*, kill};
    let db = TestDb::new().await;
    let mut stage = db.stage().await;
    let p = migration_pileup(&mut stage, 3, true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.jsonl");
    let dsn = db.dsn();
    let mut child = pglocks(&[
        "record",
        dsn.as_str(),
        "--database",
        db.dbname.as_str(),
        "-o",
        path.to_str().unwrap(),
        "--interval",
        "200ms",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    wait_for(&path, "five polls of the blocked migration", |e| {
        e.iter()
            .filter_map(snapshot)
            .filter(|d| migration_blocked(d, &p))
            .count()
            >= 5
    })
    .await;
    let mut last_answered = None;
    for _ in 0..100 {
        kill(pid, SIGSTOP).unwrap();
        let row = stage
            .monitor()
            .query_opt(
                "SELECT state, query_start FROM pg_stat_activity
                  WHERE datname = $1 AND application_name = 'pglocks'",
                &[&db.dbname],
            )
            .await
            .unwrap();
        if let Some(row) = row
            && row.get::<_, Option<String>>(0).as_deref() == Some("idle")
        {
            last_answered = row.get::<_, Option<chrono::DateTime<Utc>>>(1);
            break;
        }
        kill(pid, SIGCONT).unwrap();
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    kill(pid, SIGKILL).unwrap();
    let _ = child.wait();
    let last_answered = last_answered.expect("the recorder's backend was idle at some point");
    let recorded: Vec<_> = entries(&path)
        .iter()
        .filter_map(snapshot)
        .map(|d| d.taken_at)
        .collect();
    let last_in_file = *recorded.last().unwrap();
    let gap = last_answered - last_in_file;
    assert!(
        gap < chrono::Duration::from_std(INTERVAL * 2).unwrap(),
        "{} polls in the file; the last is {gap} older than the last poll the server answered",
        recorded.len()
    );
}
