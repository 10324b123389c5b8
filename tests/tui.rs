//! The TUI's pure parts: update() as a plain function, view() into a TestBackend with
//! insta snapshots, and an injected clock so that ages never drift.
mod common;

use chrono::Duration as ChronoDuration;
use common::fixture::{pileup, t0};
use common::tui_state::{connected_and_polled, polled};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::analysis::Options;
use pglocks::db::{Privileges, Signal, SignalOutcome};
use pglocks::poller::PollerEvent;
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

fn state() -> State {
    connected_and_polled("app@db.internal:5432/shop", pileup())
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
        Msg::Poller(PollerEvent::Signalled {
            signal: Signal::Terminate,
            pid: 3020,
            outcome: SignalOutcome::Terminated,
            at: t0(),
        }),
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
        Msg::Poller(PollerEvent::Failed(
            "the server did not answer within 5s".into(),
        )),
        t0(),
    );
    update(
        &mut s,
        Msg::Poller(PollerEvent::Failed("connection refused".into())),
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

/// The config file's [keys] moved terminate to T, down to e and quit to x.
fn remapped() -> State {
    use pglocks::tui::keys::{Action, Keymap};
    let mut s = state();
    s.keys = Keymap::with(&[
        (Action::Terminate, vec![KeyCode::Char('T')]),
        (Action::Down, vec![KeyCode::Char('e'), KeyCode::Down]),
        (Action::Quit, vec![KeyCode::Char('x')]),
    ])
    .expect("no two actions on one key");
    s
}

#[test]
fn remapped_keys_do_their_action_and_the_old_keys_nothing() {
    let mut s = remapped();
    assert!(update(&mut s, key('K'), t0()).is_empty());
    assert_eq!(s.mode, Mode::Tree, "K is no longer terminate");
    update(&mut s, key('T'), t0());
    let Mode::Confirm(c) = &s.mode else {
        panic!("T did not ask: {:?}", s.mode)
    };
    assert_eq!((c.signal, c.pid), (Signal::Terminate, 3020));
    update(&mut s, key('e'), t0());
    assert_eq!(s.mode, Mode::Tree, "any key but y aborts, as before");
    update(&mut s, key('j'), t0());
    assert_eq!(s.selected, Some(3020), "j is unbound now");
    update(&mut s, key('e'), t0());
    assert_eq!(s.selected, Some(4711));
    update(&mut s, code(KeyCode::Down), t0());
    assert_ne!(s.selected, Some(4711), "the arrow was kept in the list");
    assert!(update(&mut s, key('q'), t0()).is_empty());
    assert_eq!(update(&mut s, key('x'), t0()), vec![Effect::Quit]);
    // Unchanged actions keep their keys, in every mode: help closes, then x quits from it.
    update(&mut s, key('?'), t0());
    assert_eq!(s.mode, Mode::Help);
    assert_eq!(update(&mut s, key('x'), t0()), vec![Effect::Quit]);
}

#[test]
fn view_help_remapped() {
    let mut s = remapped();
    update(&mut s, key('?'), t0());
    let t = render(&s, 100, 24);
    let text = screen_rows(&t).join("\n");
    assert!(text.contains("e or Down / k or Up  move"), "{text}");
    assert!(text.contains("T  terminate the selected backend"), "{text}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn footer_names_the_bound_keys() {
    let s = remapped();
    let t = render(&s, 160, 24);
    let last = screen_row(&t, 23);
    assert!(
        last.starts_with("e/k move · Enter details · T terminate · C cancel"),
        "{last}"
    );
    assert!(last.contains("x quit"), "{last}");
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
        Msg::Poller(PollerEvent::Signalled {
            signal: Signal::Terminate,
            pid: 3020,
            outcome: SignalOutcome::Terminated,
            at: t0() + ChronoDuration::seconds(1),
        }),
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

fn scene() -> State {
    let mut s = state();
    update(&mut s, polled(common::fixture::three_incidents()), t0());
    s
}

/// The text of one screen row.
fn screen_row(t: &Terminal<TestBackend>, y: u16) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol())
        .collect::<String>()
}

fn screen_rows(t: &Terminal<TestBackend>) -> Vec<String> {
    (0..t.backend().buffer().area.height)
        .map(|y| screen_row(t, y))
        .collect()
}

#[test]
fn three_incidents_fit_the_first_screen_with_the_relation_whole() {
    let s = scene();
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let rows = screen_rows(&render(&s, w, h));
        // Every root and both migrations have a row, and the migrations' relations are whole.
        for pid in [
            "3020 ROOT",
            "3100 ROOT",
            "3200 ROOT",
            "4711 MIGRATION",
            "4800 MIGRATION",
        ] {
            assert!(
                rows.iter().any(|r| r.contains(pid)),
                "{w}x{h}: no row for {pid}\n{}",
                rows.join("\n")
            );
        }
        let row_of = |pid: &str| rows.iter().find(|r| r.contains(pid)).unwrap().clone();
        assert!(
            row_of("4711 MIGRATION").contains("public.orders "),
            "{w}x{h}"
        );
        assert!(
            row_of("4800 MIGRATION").contains("public.accounts "),
            "{w}x{h}"
        );
        // The 60 reads and the 20 writers are one row each.
        assert!(rows.iter().any(|r| r.contains("× 60")), "{w}x{h}");
        assert!(rows.iter().any(|r| r.contains("× 20")), "{w}x{h}");
    }
}

#[test]
fn view_three_incidents_80x24() {
    insta::assert_snapshot!(render(&scene(), 80, 24).backend());
}

#[test]
fn view_three_incidents_120x40() {
    insta::assert_snapshot!(render(&scene(), 120, 40).backend());
}

#[test]
fn view_three_incidents_200x60() {
    insta::assert_snapshot!(render(&scene(), 200, 60).backend());
}

#[test]
fn incidents_out_of_view_are_named_in_one_line() {
    let mut s = scene();
    // Open both queues: 80 more rows push the second and third incidents off screen.
    update(&mut s, code(KeyCode::Down), t0());
    update(&mut s, code(KeyCode::Down), t0());
    update(&mut s, code(KeyCode::Right), t0());
    let rows = screen_rows(&render(&s, 120, 40));
    let summary = rows
        .iter()
        .find(|r| r.contains("more incidents below"))
        .unwrap_or_else(|| panic!("no summary line\n{}", rows.join("\n")));
    assert!(
        summary.contains(
            "2 more incidents below: accounts (CREATE INDEX blocked, 20 queued), items (row lock chain)"
        ),
        "{summary}"
    );
}

/// Dozens of separate incidents: the line counts them all but names only the first few,
/// so a frame of a huge pile-up does not label every root.
#[test]
fn many_incidents_out_of_view_are_counted_and_the_first_named() {
    let mut snap = common::fixture::three_incidents();
    let template = snap.sessions[0].clone();
    for i in 0..40 {
        let (root, waiter) = (50_000 + 2 * i, 50_001 + 2 * i);
        snap.sessions.push(pglocks::model::Session {
            pid: root,
            blocked_by: vec![],
            ..template.clone()
        });
        snap.sessions.push(pglocks::model::Session {
            pid: waiter,
            blocked_by: vec![root],
            wait_event_type: Some("Lock".into()),
            ..template.clone()
        });
    }
    let mut s = state();
    update(&mut s, polled(snap), t0());
    let rows = screen_rows(&render(&s, 400, 30));
    let summary = rows
        .iter()
        .find(|r| r.contains("more incidents below"))
        .unwrap_or_else(|| panic!("no summary line\n{}", rows.join("\n")));
    let count: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(count > 12, "{summary}");
    assert!(summary.trim_end().ends_with(", …"), "{summary}");
    assert_eq!(
        summary.matches(" waiting)").count()
            + summary.matches(" queued)").count()
            + summary.matches("(row lock chain)").count(),
        12,
        "{summary}"
    );
}

fn group_key_at(s: &State) -> Option<pglocks::tree::GroupKey> {
    s.selected_group.clone()
}

#[test]
fn a_group_opens_closes_and_keeps_the_cursor_across_polls() {
    let mut s = scene();
    let pids: Vec<i32> = s.lines().iter().map(|l| l.pid).collect();
    assert_eq!(
        pids,
        vec![
            3020, 4711, 10_059, 3100, 4800, 11_019, 3200, 5201, 5202, 5203
        ],
        "group rows stand at their longest-waiting member"
    );
    update(&mut s, key('j'), t0());
    update(&mut s, key('j'), t0());
    let key60 = group_key_at(&s).expect("the cursor is on the group row");
    assert_eq!(s.selected, None);
    assert_eq!(key60.parent, 4711);
    // A poll with the sessions in another order (and other literals) keeps the group.
    let mut snap = common::fixture::three_incidents();
    snap.sessions.reverse();
    update(&mut s, polled(snap), t0());
    assert_eq!(group_key_at(&s).as_ref(), Some(&key60));
    // Enter opens it, and the cursor stays on its row; j walks into the members.
    update(&mut s, code(KeyCode::Enter), t0());
    assert_eq!(
        s.mode,
        Mode::Tree,
        "Enter on a group opens it, not the details"
    );
    assert_eq!(s.lines().len(), 70);
    assert_eq!(group_key_at(&s).as_ref(), Some(&key60));
    update(&mut s, key('j'), t0());
    assert_eq!(s.selected, Some(10_059));
    // The open group survives a poll too.
    update(&mut s, polled(common::fixture::three_incidents()), t0());
    assert_eq!(s.lines().len(), 70);
    assert_eq!(s.selected, Some(10_059));
    // Left on a member closes its group and puts the cursor on the group row.
    update(&mut s, code(KeyCode::Left), t0());
    assert_eq!(s.lines().len(), 10);
    assert_eq!(group_key_at(&s).as_ref(), Some(&key60));
    // Right opens, left closes, from the group row.
    update(&mut s, code(KeyCode::Right), t0());
    assert_eq!(s.lines().len(), 70);
    update(&mut s, code(KeyCode::Left), t0());
    assert_eq!(s.lines().len(), 10);
}

#[test]
fn signal_keys_on_a_group_signal_nobody_and_say_what_helps() {
    let mut s = scene();
    update(&mut s, key('j'), t0());
    update(&mut s, key('j'), t0());
    for k in ['K', 'C'] {
        assert!(update(&mut s, key(k), t0()).is_empty());
        assert_eq!(s.mode, Mode::Tree);
        let status = s.status.clone().unwrap();
        assert!(
            status.contains("cancelling the migration frees them all")
                && status.contains("pid 4711"),
            "{status}"
        );
    }
    // A group that does not queue behind a migration: expand to pick one.
    let mut snap = common::fixture::three_incidents();
    for x in &mut snap.sessions {
        if x.pid >= 11_000 {
            x.blocked_by = vec![3100];
        }
    }
    let mut s = state();
    update(&mut s, polled(snap), t0());
    let at = s
        .lines()
        .iter()
        .position(|l| l.group.as_ref().is_some_and(|g| g.key.parent == 3100))
        .unwrap();
    for _ in 0..at {
        update(&mut s, key('j'), t0());
    }
    update(&mut s, key('K'), t0());
    assert_eq!(s.mode, Mode::Tree);
    assert!(
        s.status.as_deref().unwrap().contains("expands it"),
        "{:?}",
        s.status
    );
}

#[test]
fn a_session_that_joins_a_group_takes_the_cursor_with_it() {
    let mut s = scene();
    let mut snap = common::fixture::three_incidents();
    // Only three reads at first: no group, each has a row.
    snap.sessions.retain(|x| !(10_003..10_060).contains(&x.pid));
    update(&mut s, polled(snap), t0());
    s.selected = Some(10_001);
    s.selected_group = None;
    update(&mut s, polled(common::fixture::three_incidents()), t0());
    let key = group_key_at(&s).expect("the cursor followed 10001 into its group");
    assert_eq!(key.parent, 4711);
}

#[test]
fn markdown_and_json_of_the_pile_up() {
    let s = scene();
    let a = s.shown().unwrap();
    let md = pglocks::report::markdown::render(a, &[]);
    assert!(md.contains("**× 60 identical sessions**"), "{md}");
    assert!(md.contains("**× 20 identical sessions**"), "{md}");
    assert!(
        md.contains("`SELECT * FROM orders WHERE id = ?`"),
        "the statement without its literals\n{md}"
    );
    assert!(!md.contains("… and"), "nobody is cut from the tree\n{md}");
    // Every member's pid is in the note.
    for pid in 10_000..10_060 {
        assert!(md.contains(&pid.to_string()), "{pid}");
    }
    let json = pglocks::report::json::render(a, &[]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["sessions"].as_array().unwrap().len(),
        a.snapshot.sessions.len(),
        "the JSON keeps every session"
    );
}

/// The scene with 60 different reads: nothing to group, so the first incident's tail folds.
fn scene_with_distinct_reads() -> State {
    let mut snap = common::fixture::three_incidents();
    for x in &mut snap.sessions {
        if (10_000..10_060).contains(&x.pid) {
            x.query = Some(format!("SELECT c{} FROM orders", x.pid).into());
        }
    }
    let mut s = state();
    update(&mut s, polled(snap), t0());
    s
}

#[test]
fn a_long_tail_folds_so_that_every_incident_has_a_row() {
    let mut s = scene_with_distinct_reads();
    let lines = s.lines();
    assert_eq!(
        lines.len(),
        14,
        "{:?}",
        lines.iter().map(|l| l.pid).collect::<Vec<_>>()
    );
    assert_eq!(
        lines[6].tail,
        Some(56),
        "3020, 4711 and four reads, then the fold"
    );
    drop(lines);
    let rows = screen_rows(&render(&s, 120, 40));
    for pid in [
        "3020 ROOT",
        "3100 ROOT",
        "3200 ROOT",
        "4711 MIGRATION",
        "4800 MIGRATION",
    ] {
        assert!(
            rows.iter().any(|r| r.contains(pid)),
            "{pid}\n{}",
            rows.join("\n")
        );
    }
    assert!(
        rows.iter().any(|r| r.contains("… 56 more ▸")),
        "{}",
        rows.join("\n")
    );
    // K on the fold signals nobody; → opens it, ← on one of its rows folds it again.
    for _ in 0..6 {
        update(&mut s, key('j'), t0());
    }
    assert_eq!(s.selected_tail, Some(3020));
    update(&mut s, key('K'), t0());
    assert_eq!(s.mode, Mode::Tree);
    assert!(
        s.status.as_deref().unwrap().contains("folded"),
        "{:?}",
        s.status
    );
    update(&mut s, code(KeyCode::Right), t0());
    assert_eq!(s.lines().len(), 69);
    assert!(
        s.selected.is_some(),
        "the cursor is on the first row the fold hid"
    );
    update(&mut s, key('j'), t0());
    update(&mut s, code(KeyCode::Left), t0());
    assert_eq!(s.lines().len(), 14);
    assert_eq!(s.selected_tail, Some(3020));
    // The fold survives a poll.
    update(&mut s, key('k'), t0());
    let before = s.selected;
    let mut snap = common::fixture::three_incidents();
    for x in &mut snap.sessions {
        if (10_000..10_060).contains(&x.pid) {
            x.query = Some(format!("SELECT c{} FROM orders", x.pid).into());
        }
    }
    update(&mut s, polled(snap), t0());
    assert_eq!(s.selected, before);
}

#[test]
fn one_incident_never_folds() {
    let mut snap = common::fixture::three_incidents();
    snap.sessions
        .retain(|x| x.pid < 3100 || (10_000..10_060).contains(&x.pid));
    for x in &mut snap.sessions {
        x.query = Some(format!("SELECT c{} FROM orders", x.pid).into());
    }
    let mut s = state();
    update(&mut s, polled(snap), t0());
    assert!(s.lines().iter().all(|l| l.tail.is_none()));
}
