//! The TUI's pure parts: update() as a plain function, view() into a TestBackend with
//! insta snapshots, and an injected clock so that ages never drift.
mod common;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use common::fixture::{pileup, t0};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::analysis::{Options, analyze};
use pglocks::db::{Privileges, Signal, SignalOutcome};
use pglocks::tui::state::{Mode, State};
use pglocks::tui::update::{Effect, Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(k: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(k, KeyModifiers::NONE))
}

fn polled(snap: pglocks::model::Snapshot) -> Msg {
    Msg::Polled {
        analysis: Box::new(analyze(snap, &Options::default())),
        latency: Duration::from_millis(3),
    }
}

fn state() -> State {
    let mut s = State::new(
        "app@db.internal:5432/shop".into(),
        false,
        PathBuf::from("."),
        60.0,
    );
    update(
        &mut s,
        Msg::Connected {
            target: "app@db.internal:5432/shop".into(),
            privileges: Privileges {
                role: "oncall".into(),
                is_superuser: false,
                can_read_all_stats: true,
                can_signal: true,
            },
            monitor_pid: 999,
        },
        t0(),
    );
    update(&mut s, polled(pileup()), t0());
    s
}

fn render(s: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, s, t0() + ChronoDuration::seconds(2)))
        .unwrap();
    t
}

#[test]
fn cursor_starts_on_the_root_blocker_and_moves_by_pid() {
    let mut s = state();
    assert_eq!(s.selected, Some(3020));
    update(&mut s, key('j'), t0());
    assert_eq!(s.selected, Some(4711));
    // A re-poll with the sessions in another order keeps the same pid selected.
    let mut snap = pileup();
    snap.sessions.reverse();
    update(&mut s, polled(snap), t0());
    assert_eq!(s.selected, Some(4711));
    update(&mut s, code(KeyCode::End), t0());
    assert_eq!(s.selected, Some(5003));
    update(&mut s, key('j'), t0());
    assert_eq!(s.selected, Some(5003), "the cursor stops at the last row");
    update(&mut s, key('o'), t0());
    update(&mut s, code(KeyCode::End), t0());
    assert_eq!(
        s.selected,
        Some(6002),
        "o lists the other sessions below the tree"
    );
}

#[test]
fn terminate_asks_freezes_and_sends_the_backend_start() {
    let mut s = state();
    assert!(update(&mut s, key('K'), t0()).is_empty());
    let Mode::Confirm(c) = &s.mode else {
        panic!("no confirmation: {:?}", s.mode)
    };
    assert_eq!(c.pid, 3020);
    assert_eq!(c.frees, "frees 4 waiting sessions, including the migration");
    // Polls go on while the pop-up is open, but the screen keeps what the user saw.
    let mut quiet = pileup();
    quiet.sessions.retain(|x| x.pid == 6002);
    update(&mut s, polled(quiet), t0());
    assert_eq!(s.shown().unwrap().snapshot.sessions.len(), 7);
    assert_eq!(s.live.as_ref().unwrap().snapshot.sessions.len(), 1);
    let effects = update(&mut s, key('y'), t0());
    assert_eq!(
        effects,
        vec![Effect::Signal {
            signal: Signal::Terminate,
            pid: 3020,
            backend_start: common::fixture::ago(3600).unwrap(),
        }]
    );
    assert_eq!(s.mode, Mode::Tree);
    assert!(s.frozen.is_none());
    update(
        &mut s,
        Msg::Signalled {
            signal: Signal::Terminate,
            pid: 3020,
            outcome: SignalOutcome::Terminated,
            at: t0(),
        },
        t0(),
    );
    assert_eq!(s.status.as_deref(), Some("terminate pid 3020: terminated"));
    assert_eq!(s.actions.len(), 1);
    assert_eq!(s.actions[0].result, "terminated");
}

#[test]
fn any_other_key_aborts_the_confirmation() {
    let mut s = state();
    update(&mut s, key('C'), t0());
    assert!(matches!(s.mode, Mode::Confirm(_)));
    assert!(update(&mut s, key('n'), t0()).is_empty());
    assert_eq!(s.mode, Mode::Tree);
    assert!(s.actions.is_empty());
}

#[test]
fn warnings_where_they_are_due() {
    let mut s = state();
    update(&mut s, key('j'), t0());
    update(&mut s, key('K'), t0());
    let Mode::Confirm(c) = &s.mode else { panic!() };
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("the migration itself")),
        "{:?}",
        c.warnings
    );
    update(&mut s, key('n'), t0());
    // The idle-in-transaction bystander: cancel cannot help.
    update(&mut s, key('o'), t0());
    s.selected = Some(6001);
    update(&mut s, key('C'), t0());
    let Mode::Confirm(c) = &s.mode else { panic!() };
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("cancel cannot release")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn read_only_and_own_backend_are_refused_with_a_reason() {
    let mut s = state();
    s.read_only = true;
    assert!(update(&mut s, key('K'), t0()).is_empty());
    assert_eq!(s.mode, Mode::Tree);
    assert!(s.status.as_deref().unwrap().contains("read-only"));
    s.read_only = false;
    s.monitor_pid = Some(3020);
    update(&mut s, key('K'), t0());
    assert_eq!(s.mode, Mode::Tree);
    assert!(s.status.as_deref().unwrap().contains("own backend"));
}

#[test]
fn quit_and_snapshot_are_effects() {
    let mut s = state();
    assert_eq!(update(&mut s, key('s'), t0()), vec![Effect::WriteSnapshot]);
    assert_eq!(update(&mut s, key('q'), t0()), vec![Effect::Quit]);
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(update(&mut s, ctrl_c, t0()), vec![Effect::Quit]);
}

#[test]
fn filter_narrows_the_rows() {
    let mut s = state();
    update(&mut s, key('/'), t0());
    for c in "flyway".chars() {
        update(&mut s, key(c), t0());
    }
    update(&mut s, code(KeyCode::Enter), t0());
    let pids: Vec<i32> = s.lines().iter().map(|l| l.pid).collect();
    assert_eq!(pids, vec![4711]);
    assert_eq!(s.selected, Some(4711));
}

#[test]
fn view_tree() {
    let s = state();
    insta::assert_snapshot!(render(&s, 160, 16).backend());
}

#[test]
fn view_details() {
    let mut s = state();
    update(&mut s, code(KeyCode::Enter), t0());
    insta::assert_snapshot!(render(&s, 120, 30).backend());
}

#[test]
fn view_confirm() {
    let mut s = state();
    update(&mut s, key('j'), t0());
    update(&mut s, key('K'), t0());
    insta::assert_snapshot!(render(&s, 100, 20).backend());
}

#[test]
fn view_stale_after_failed_polls() {
    let mut s = state();
    update(
        &mut s,
        Msg::PollFailed("the server did not answer within 5s".into()),
        t0(),
    );
    update(
        &mut s,
        Msg::PollFailed("connection refused".into()),
        t0() + ChronoDuration::seconds(1),
    );
    let t = render(&s, 140, 10);
    let text = format!("{:?}", t.backend());
    assert!(
        text.contains("stale 2s, reconnecting: connection refused"),
        "{text}"
    );
}

#[test]
fn view_small_terminals_never_panic() {
    let s = state();
    insta::assert_snapshot!("view_40x10", render(&s, 40, 10).backend());
    let t = render(&s, 39, 10);
    assert!(format!("{:?}", t.backend()).contains("terminal too small"));
    let t = render(&s, 12, 3);
    assert!(format!("{:?}", t.backend()).contains("termin"));
    let mut s = state();
    update(&mut s, key('K'), t0());
    let t = render(&s, 40, 10);
    assert!(format!("{:?}", t.backend()).contains("Terminate pid 3020?"));
}

#[test]
fn no_color_keeps_meaning_in_text() {
    let mut s = state();
    s.no_color = true;
    let t = render(&s, 160, 16);
    let buf = t.backend().buffer();
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset)
    );
    let text = format!("{:?}", t.backend());
    assert!(text.contains("ROOT") && text.contains("MIGRATION"));
}

#[test]
fn a_vanished_pid_moves_the_cursor_to_the_nearest_row() {
    let mut s = state();
    update(&mut s, code(KeyCode::Down), t0());
    update(&mut s, code(KeyCode::Down), t0());
    assert_eq!(s.selected, Some(5001));
    let mut snap = pileup();
    snap.sessions.retain(|x| x.pid != 5001);
    update(&mut s, polled(snap), t0());
    assert_eq!(s.selected, Some(5002), "the row that took its place");
    let mut snap = pileup();
    snap.sessions.retain(|x| x.pid < 5002);
    update(&mut s, polled(snap), t0());
    assert_eq!(
        s.selected,
        Some(5001),
        "the last row when the cursor fell off the end"
    );
}

#[test]
fn filter_matches_relation_names() {
    let mut s = state();
    s.filter = "public.orders".into();
    assert_eq!(s.lines().len(), 5);
    s.filter = "no-such-thing".into();
    assert!(s.lines().is_empty());
}

#[test]
fn view_help() {
    let mut s = state();
    s.read_only = true;
    update(&mut s, key('?'), t0());
    insta::assert_snapshot!(render(&s, 100, 24).backend());
}

#[test]
fn view_no_contention() {
    let mut s = state();
    let mut snap = pileup();
    snap.sessions.retain(|x| x.pid >= 6000);
    update(&mut s, polled(snap), t0());
    insta::assert_snapshot!(render(&s, 100, 10).backend());
}

#[test]
fn hostile_and_huge_statements_render_inert() {
    let mut snap = pileup();
    snap.sessions[0].query = Some(
        format!(
            "SELECT '\u{1b}]52;c;ZXZpbA==\u{7}' /* \u{1b}[2J */ {}",
            "x".repeat(1_000_000)
        )
        .into(),
    );
    snap.sessions[0].application_name = Some("evil\u{1b}[31m\r\napp".into());
    let mut s = state();
    update(&mut s, polled(snap), t0());
    for mode in [None, Some(KeyCode::Enter)] {
        if let Some(k) = mode {
            update(&mut s, code(k), t0());
        }
        let t = render(&s, 160, 40);
        let cells = t.backend().buffer().content();
        assert!(
            cells.iter().all(|c| !c.symbol().contains('\u{1b}')),
            "an ESC reached the terminal"
        );
        assert!(
            cells
                .iter()
                .all(|c| !c.symbol().chars().any(char::is_control))
        );
    }
    let a = s.shown().unwrap();
    let md = pglocks::report::markdown::render(a, &[]);
    assert!(
        !md.contains('\u{1b}') && !md.contains('\u{7}'),
        "markdown carries no escape"
    );
}

#[test]
fn the_ring_keeps_changes_and_tells_the_timeline() {
    let mut s = state();
    // The same pile-up three more times: one state, not four.
    for _ in 0..3 {
        update(&mut s, polled(pileup()), t0());
    }
    assert_eq!(s.ring.len(), 1);
    update(
        &mut s,
        Msg::Signalled {
            signal: Signal::Terminate,
            pid: 3020,
            outcome: SignalOutcome::Terminated,
            at: t0() + ChronoDuration::seconds(1),
        },
        t0(),
    );
    let mut quiet = pileup();
    quiet.sessions.retain(|x| x.pid >= 6000);
    quiet.taken_at = t0() + ChronoDuration::seconds(2);
    update(&mut s, polled(quiet), t0());
    assert_eq!(s.ring.len(), 3, "two states and the action");
    let story = s.ring.story(&Options::default()).expect("a story");
    assert_eq!(story.polls, 2);
    let report = pglocks::report::incident::render(&story);
    assert!(report.contains("3020"), "{report}");
    assert!(report.contains("terminate"), "{report}");
}

#[test]
fn signal_keys_say_why_they_are_unavailable() {
    let mut s = state();
    s.privileges = Some(Privileges {
        role: "oncall".into(),
        is_superuser: false,
        can_read_all_stats: true,
        can_signal: false,
    });
    update(&mut s, key('K'), t0());
    assert_eq!(
        s.mode,
        Mode::Tree,
        "no confirmation the server would refuse"
    );
    let why = s.status.clone().unwrap();
    assert!(
        why.contains("needs pg_signal_backend")
            && why.contains("GRANT pg_signal_backend TO oncall"),
        "{why}"
    );
    let t = render(&s, 160, 16);
    assert!(format!("{:?}", t.backend()).contains("K/C unavailable for pid 3020"));

    // A superuser backend needs a superuser, whatever else the role has.
    let mut s = state();
    let mut snap = pileup();
    snap.sessions[0].is_superuser = true;
    update(&mut s, polled(snap), t0());
    update(&mut s, key('C'), t0());
    assert_eq!(s.mode, Mode::Tree);
    assert!(s.status.as_deref().unwrap().contains("superuser backend"));
    // The role's own sessions stay signalable without pg_signal_backend.
    let mut s = state();
    s.privileges = Some(Privileges {
        role: "app".into(),
        is_superuser: false,
        can_read_all_stats: true,
        can_signal: false,
    });
    update(&mut s, key('K'), t0());
    assert!(matches!(s.mode, Mode::Confirm(_)), "{:?}", s.status);
}
