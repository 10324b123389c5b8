//! The table formats only the rows around the selection. What it shows must still be what
//! a table of every row shows: the first screenful while the selection is on it, then the
//! screen that ends on the selected row, never a row out of tree order.
mod common;

use common::fixture::{client, orders_lock, t0, waiting};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::model::{ServerInfo, Snapshot};
use pglocks::tui::state::State;
use pglocks::tui::update::{Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// One holder, a migration behind it, and `n` sessions queued behind the migration.
fn big_pileup(n: i32) -> Snapshot {
    let mut root = client(3020, "metabase", "active", "SELECT 1 FROM orders", 1500);
    root.locks.push(orders_lock("AccessShareLock", true));
    let mut sessions = vec![
        root,
        waiting(
            client(
                4711,
                "flyway",
                "active",
                "ALTER TABLE orders ADD c int",
                250,
            ),
            &[3020],
            orders_lock("AccessExclusiveLock", false),
            250,
        ),
    ];
    for i in 0..n {
        sessions.push(waiting(
            client(
                10_000 + i,
                "checkout-api",
                "active",
                // Distinct statements: identical waiters would be one group row.
                &format!("SELECT c{i} FROM orders"),
                200,
            ),
            &[4711],
            orders_lock("AccessShareLock", false),
            // Distinct waits give a fixed order: the longest wait first.
            200 - i64::from(i % 190),
        ));
    }
    Snapshot {
        taken_at: t0(),
        server: ServerInfo {
            version: "15.18".into(),
            version_num: 150018,
            max_connections: 500,
            query_size: None,
        },
        sessions,
        replication: None,
    }
}

fn state(snap: Snapshot) -> State {
    common::tui_state::connected_and_polled("app@db/shop", snap)
}

/// The pids of the table's rows as drawn, top to bottom, and the one marked selected.
fn drawn(s: &State, w: u16, h: u16) -> (Vec<i32>, Option<i32>) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, s, t0())).unwrap();
    let buf = t.backend().buffer().clone();
    let lines: Vec<String> = (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect();
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("pid"))
        .expect("the table header");
    let mut pids = Vec::new();
    let mut selected = None;
    // The last line is the footer.
    for l in &lines[header + 1..lines.len() - 1] {
        let cell: String = l.chars().take(20).collect();
        let digits: String = cell
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(pid) = digits.parse() else { break };
        if cell.starts_with('▶') {
            selected = Some(pid);
        }
        pids.push(pid);
    }
    (pids, selected)
}

#[test]
fn the_drawn_rows_are_the_screen_that_shows_the_selection() {
    for (w, h) in [(200, 60), (120, 30), (90, 16)] {
        let mut s = state(big_pileup(300));
        let lines: Vec<i32> = s.lines().iter().map(|l| l.pid).collect();
        assert_eq!(lines.len(), 302);
        let (first, _) = drawn(&s, w, h);
        let rows = first.len();
        assert!(rows >= 8, "{w}x{h}: only {rows} rows fit");
        for step in 0..lines.len() + 3 {
            let sel = step.min(lines.len() - 1);
            assert_eq!(s.selected, Some(lines[sel]), "{w}x{h} step {step}");
            let start = (sel + 1).saturating_sub(rows);
            let (pids, selected) = drawn(&s, w, h);
            assert_eq!(
                pids,
                lines[start..start + rows],
                "{w}x{h}, row {sel} selected"
            );
            assert_eq!(selected, Some(lines[sel]), "{w}x{h}, row {sel} selected");
            update(
                &mut s,
                Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
                t0(),
            );
        }
        // Jumping back to the top shows the first screen again.
        update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE)),
            t0(),
        );
        assert_eq!(drawn(&s, w, h).0, lines[..rows]);
    }
}
