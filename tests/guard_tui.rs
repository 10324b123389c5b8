//! `guard --tui`'s own state: the guard's rows under the live view, its keys, the last line
//! of the command's output, and the routing of the guard's lines away from the terminal
//! while the view owns it. Plain functions; the tmux run is in tests/guard.rs.
#![allow(clippy::unwrap_used)]
mod common;

use std::io::Write;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::guard::status::{self, Note};
use pglocks::pipeline::Pin;
use pglocks::tui::guarded::{GuardKey, Panel, draw, last_line_of, on_key};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn panel() -> Panel {
    Panel::new(
        "psql -X -f migration.sql".into(),
        PathBuf::from("pglocks-guard-x.output.log"),
    )
}

#[test]
fn a_line_of_the_guards_is_kept_and_ends_the_status_it_followed() {
    let mut p = panel();
    p.apply(Note::Line("attempt 1: started psql".into()));
    p.apply(Note::Status(Some("attempt 1: pid 7 waits 0.4s".into())));
    assert_eq!(p.rows()[1], "now: attempt 1: pid 7 waits 0.4s");
    p.apply(Note::Line(
        "breaker cancelled the statement of pid 7".into(),
    ));
    assert_eq!(p.status, None);
    assert_eq!(p.rows()[1], "now: no lock wait of the command's");
    p.apply(Note::Line("attempt 2: started psql".into()));
    // All kept, for stderr afterwards; the last two shown.
    assert_eq!(p.log.len(), 3);
    let rows = p.rows();
    assert_eq!(
        rows[2..4],
        [
            "pglocks: breaker cancelled the statement of pid 7",
            "pglocks: attempt 2: started psql"
        ]
    );
    p.apply(Note::Status(None));
    assert_eq!(p.status, None);
}

#[test]
fn the_rows_name_the_pinned_backends_with_how_they_were_found() {
    let mut p = panel();
    assert_eq!(
        p.rows()[0],
        "migration: no backend of the command's on the server yet"
    );
    p.pins = vec![
        Pin {
            pid: 41,
            reason: Some("run by pglocks guard (found by PGAPPNAME)".into()),
            beside_rules: None,
        },
        Pin {
            pid: 42,
            reason: None,
            beside_rules: None,
        },
    ];
    let rows = p.rows();
    assert_eq!(
        rows[0],
        "migration: pid 41 (run by pglocks guard (found by PGAPPNAME)), pid 42"
    );
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(
        rows[4],
        "output (pglocks-guard-x.output.log): (nothing yet)"
    );
    p.last_output = Some("ALTER TABLE".into());
    assert_eq!(
        p.rows()[4],
        "output (pglocks-guard-x.output.log): ALTER TABLE"
    );
}

#[test]
fn after_ctrl_c_the_rows_say_where_it_went() {
    let mut p = panel();
    p.interrupted = true;
    assert_eq!(
        p.rows()[1],
        "now: Ctrl-C sent to the command; waiting for it to exit"
    );
}

#[test]
fn ctrl_c_is_the_commands_and_every_other_key_the_views() {
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(on_key(&ctrl_c), GuardKey::Interrupt);
    for k in [
        KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT),
    ] {
        assert_eq!(on_key(&k), GuardKey::View, "{k:?}");
    }
}

#[test]
fn the_last_output_line_is_the_last_non_empty_one_made_safe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    assert_eq!(last_line_of(&path), None, "no file yet");
    std::fs::write(&path, "").unwrap();
    assert_eq!(last_line_of(&path), None);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    // More than the 4 KiB it reads: only the tail matters.
    for i in 0..500 {
        writeln!(f, "NOTICE:  line {i}").unwrap();
    }
    writeln!(
        f,
        "ERROR:  canceling statement\x1b[2J\tdue to user request\n\n"
    )
    .unwrap();
    assert_eq!(
        last_line_of(&path).unwrap(),
        "ERROR:  canceling statement\u{241b}[2J due to user request"
    );
}

#[test]
fn the_guards_rows_render() {
    let mut p = panel();
    p.pins = vec![Pin {
        pid: 4711,
        reason: Some("run by pglocks guard (found by its TCP connection (/proc))".into()),
        beside_rules: None,
    }];
    p.apply(Note::Line(
        "attempt 1: started psql -X -f migration.sql (pid 900)".into(),
    ));
    p.apply(Note::Line(
        "attempt 1: backend pid 4711 is the command's (found by its TCP connection (/proc))".into(),
    ));
    p.apply(Note::Status(Some(
        "attempt 1: pid 4711 waits 1.2s for AccessExclusiveLock on public.orders behind pid 3020 (metabase, active, xact 25m); 3 queued behind it".into(),
    )));
    p.last_output = Some("psql:migration.sql:1: NOTICE:  starting".into());
    let mut t = Terminal::new(TestBackend::new(110, 6)).unwrap();
    t.draw(|f| draw(f, f.area(), &p)).unwrap();
    insta::assert_debug_snapshot!("guard_tui_rows", t.backend());
}

/// The only test here that routes the guard's lines (the route is process-wide).
#[test]
fn while_the_view_owns_the_terminal_the_guards_lines_go_to_it_then_back_in_order() {
    let mut rx = status::to_view();
    pglocks::guard::say("attempt 1: started psql");
    pglocks::guard::say("pid 9 waits\x1b[2J");
    assert_eq!(
        rx.try_recv().unwrap(),
        Note::Line("attempt 1: started psql".into())
    );
    let mut handed = Vec::new();
    status::to_stderr(&mut rx, |queued| handed = queued);
    // The line still queued when the view closed is handed back, made inert.
    assert_eq!(handed, vec![Note::Line("pid 9 waits\u{241b}[2J".into())]);
    // Afterwards the lines go to stderr, not to the (closed) route.
    pglocks::guard::say("exit 0");
    assert!(rx.try_recv().is_err());
}

/// The guard's pin on a backend the rules already take (its DDL) adds how it was found to
/// the rules' reason; on a backend they do not take, the pin's own reason stands alone.
#[test]
fn a_pin_beside_the_rules_adds_how_the_guard_found_the_backend() {
    use pglocks::analysis::Options;
    let snapshot = common::fixture::pileup();
    let rules_only = pglocks::pipeline::analysed(snapshot.clone(), &Options::default(), false, &[]);
    let rules = rules_only.migrations.get(&4711).cloned().unwrap();
    assert!(!rules_only.migrations.contains_key(&3020));
    let found = "run by pglocks guard (found by PGAPPNAME)";
    let pins = [4711, 3020].map(|pid| Pin {
        pid,
        reason: Some(found.into()),
        beside_rules: Some(found.into()),
    });
    let a = pglocks::pipeline::analysed(snapshot, &Options::default(), false, &pins);
    assert_eq!(a.migrations[&4711], format!("{rules}; {found}"));
    assert_eq!(a.migrations[&3020], found);
    assert!(a.is_migration(3020));
}

/// Without a terminal `--tui` refuses at once, in one line, and the command never runs.
#[test]
fn without_a_terminal_tui_refuses_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pglocks"))
        .args([
            "guard",
            "--tui",
            "--record",
            "guard.jsonl",
            "--",
            "touch",
            "ran",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "pglocks: --tui needs a terminal; without it the guard prints its lines to stderr\n"
    );
    assert!(!dir.path().join("ran").exists());
    assert!(!dir.path().join("guard.output.log").exists());
}

/// The output file is never overwritten: one already there stops the guard before the
/// server is even contacted, and the command never runs.
#[tokio::test]
async fn an_existing_output_file_stops_the_guard_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("guard.output.log"), "earlier run\n").unwrap();
    let command = format!(
        "cd {} && {} guard --tui --record guard.jsonl -- touch ran; echo GUARD-EXIT=$?; sleep 60",
        dir.path().display(),
        env!("CARGO_BIN_EXE_pglocks"),
    );
    let t = common::tmux::Tmux::start(&command, 160, 20);
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            std::time::Duration::from_secs(10),
        )
        .await;
    assert!(screen.contains("GUARD-EXIT=1"), "{screen}");
    assert!(
        screen.contains("cannot create") && screen.contains("guard.output.log"),
        "{screen}"
    );
    assert!(!dir.path().join("ran").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("guard.output.log")).unwrap(),
        "earlier run\n"
    );
}

/// No server to watch: the view never opens, the command never runs, and the output file
/// created for it is gone again.
#[tokio::test]
async fn with_no_server_the_view_never_opens_and_no_output_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "cd {} && {} guard --tui --record guard.jsonl 'host=127.0.0.1 port=1 user=x dbname=x connect_timeout=2' -- touch ran; echo GUARD-EXIT=$?; sleep 60",
        dir.path().display(),
        env!("CARGO_BIN_EXE_pglocks"),
    );
    let t = common::tmux::Tmux::start(&command, 160, 20);
    let screen = t
        .wait_for(
            "the guard's exit",
            |s| s.contains("GUARD-EXIT="),
            std::time::Duration::from_secs(15),
        )
        .await;
    assert!(screen.contains("GUARD-EXIT=1"), "{screen}");
    assert!(
        screen.contains("the guard cannot watch the server, so the command was not started"),
        "{screen}"
    );
    assert!(!dir.path().join("ran").exists());
    assert!(!dir.path().join("guard.output.log").exists());
}
