//! The replay view: stepping, jumping, playing, and the timeline bar, as plain update()
//! calls and TestBackend snapshots over hand-built and checked-in recordings.
mod common;

use std::path::Path;

use chrono::Duration;
use common::fixture::{pileup, t0};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::analysis::{Options, analyze};
use pglocks::model::{ActionRecord, Snapshot};
use pglocks::report::json::{SnapshotDoc, document};
use pglocks::tui::replay::Replay;
use pglocks::tui::state::{Mode, State};
use pglocks::tui::update::{Msg, show_replay_frame, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn frame(snap: Snapshot, secs: i64) -> SnapshotDoc {
    let mut snap = snap;
    snap.taken_at = t0() + Duration::seconds(secs);
    document(&analyze(snap, &Options::default()), &[])
}

fn quiet() -> Snapshot {
    let mut s = pileup();
    s.sessions.retain(|x| x.pid >= 6000);
    s
}

/// Quiet, blocked, blocked, then quiet again after a terminate at +2.5 s.
fn replay_state() -> State {
    let frames = vec![
        frame(quiet(), 0),
        frame(pileup(), 1),
        frame(pileup(), 2),
        frame(quiet(), 3),
    ];
    let actions = vec![ActionRecord {
        at: t0() + Duration::milliseconds(2500),
        action: "terminate".into(),
        pid: 3020,
        result: "terminated".into(),
    }];
    let replay = Replay::new(
        "incident.jsonl".into(),
        frames,
        actions,
        Options::default(),
        false,
    );
    let mut s = State::new("incident.jsonl".into(), true, ".".into(), 60.0);
    s.replay = Some(replay);
    show_replay_frame(&mut s);
    s
}

fn index(s: &State) -> usize {
    s.replay.as_ref().expect("a replay").index
}

#[test]
fn step_jump_and_signal_keys() {
    let mut s = replay_state();
    assert_eq!(index(&s), 0);
    assert!(s.lines().is_empty(), "the first poll is quiet");
    update(&mut s, key('b'), t0());
    assert_eq!(index(&s), 1, "b jumps to the first blocked state");
    assert_eq!(s.selected, Some(3020));
    update(&mut s, key(']'), t0());
    assert_eq!(index(&s), 2);
    update(&mut s, key('['), t0());
    update(&mut s, key('['), t0());
    update(&mut s, key('['), t0());
    assert_eq!(index(&s), 0, "stepping stops at the first poll");
    update(&mut s, key('}'), t0());
    assert_eq!(index(&s), 3, "and at the last");
    update(&mut s, key('{'), t0());
    assert_eq!(index(&s), 0);

    update(&mut s, key('n'), t0());
    assert_eq!(index(&s), 3, "n shows the first poll after the next action");
    assert_eq!(
        s.status.as_deref(),
        Some("terminate pid 3020 at 14:30:02: terminated")
    );
    assert_eq!(
        s.actions.len(),
        1,
        "the action log follows the replayed moment"
    );
    update(&mut s, key('n'), t0());
    assert_eq!(
        s.status.as_deref(),
        Some("no later action in this recording")
    );

    update(&mut s, key('b'), t0());
    update(&mut s, key('K'), t0());
    assert_eq!(s.mode, Mode::Tree, "no confirmation in a replay");
    assert_eq!(s.status.as_deref(), Some("replay: signalling is disabled"));
    assert!(s.actions.is_empty(), "before the action, the log is empty");
}

#[test]
fn playback_follows_the_recorded_clock_and_speed() {
    let mut s = replay_state();
    let wall = t0() + Duration::days(1);
    update(&mut s, key('p'), wall);
    update(&mut s, Msg::Tick, wall + Duration::milliseconds(900));
    assert_eq!(index(&s), 0);
    update(&mut s, Msg::Tick, wall + Duration::milliseconds(1200));
    assert_eq!(index(&s), 1);
    // Twice as fast from here: one more wall second covers two recorded seconds.
    update(&mut s, key('+'), wall + Duration::milliseconds(1200));
    assert_eq!(s.replay.as_ref().unwrap().speed(), 2.0);
    update(&mut s, Msg::Tick, wall + Duration::milliseconds(2300));
    assert_eq!(index(&s), 3);
    assert!(
        s.replay.as_ref().unwrap().playing.is_none(),
        "playback stops at the end"
    );
    update(&mut s, key('-'), wall);
    assert_eq!(s.replay.as_ref().unwrap().speed(), 1.0);
}

#[test]
fn view_replay_with_timeline() {
    let mut s = replay_state();
    update(&mut s, key('b'), t0());
    let mut t = Terminal::new(TestBackend::new(120, 16)).unwrap();
    t.draw(|f| view::draw(f, &s, t0())).unwrap();
    insta::assert_snapshot!(t.backend());
}

#[test]
fn the_checked_in_sample_replays() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recording-v1.jsonl");
    let (replay, warnings) = Replay::load(&path, Options::default(), false).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(replay.frames.len() > 1);
    let mut s = State::new(replay.source.clone(), true, ".".into(), 60.0);
    s.replay = Some(replay);
    show_replay_frame(&mut s);
    update(&mut s, key('b'), t0());
    assert!(!s.lines().is_empty(), "the sample contains a blocked state");
}
