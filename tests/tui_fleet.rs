//! The live view over several servers, drawn into a TestBackend: the strip on the top row,
//! the selected server's screen below it with its headline intact, and a standby's
//! startup process named in the app column.
mod common;

use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use common::fixture::{client, orders_lock, pileup, t0, waiting};
use common::tui_state::connected_and_polled;
use pglocks::analysis::{Options, analyze};
use pglocks::fleet::ServerStatus;
use pglocks::model::{Replication, Session, Snapshot};
use pglocks::tui::state::State;
use pglocks::tui::strip;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A hot standby where replay (the startup process, pid 8002) waits on a `reports` query
/// and a reader queues behind the replayed lock.
fn standby() -> Snapshot {
    let mut snap = pileup();
    let reports = client(
        8173,
        "reports",
        "active",
        "SELECT count(*) FROM orders",
        200,
    );
    let mut reports = reports;
    reports.locks.push(orders_lock("AccessShareLock", true));
    let startup = Session {
        pid: 8002,
        backend_type: Some("startup".into()),
        ..Default::default()
    };
    let startup = waiting(
        startup,
        &[8173],
        orders_lock("AccessExclusiveLock", false),
        190,
    );
    let reader = waiting(
        client(8243, "web", "active", "SELECT * FROM orders LIMIT 1", 180),
        &[8002],
        orders_lock("AccessShareLock", false),
        180,
    );
    snap.sessions = vec![reports, startup, reader];
    snap.replication = Some(Replication {
        in_recovery: true,
        ..Default::default()
    });
    snap
}

fn primary() -> Snapshot {
    let mut snap = pileup();
    snap.replication = Some(Replication::default());
    snap
}

fn status(name: &str, snap: Snapshot, now: Instant) -> ServerStatus {
    let mut s = ServerStatus::new(name.into());
    s.analysis = Some(Box::new(analyze(snap, &Options::default())));
    s.last_update = Some(now);
    s
}

fn render(state: &State, selected: usize) -> Terminal<TestBackend> {
    let now = Instant::now();
    let servers = [
        status("main", primary(), now),
        status("replica", standby(), now),
        ServerStatus::new("shard-b".into()),
    ];
    let line = strip::line(&servers, selected, now, Duration::from_secs(1));
    let mut t = Terminal::new(TestBackend::new(130, 14)).unwrap();
    t.draw(|f| strip::draw(f, state, t0() + ChronoDuration::seconds(2), line, None))
        .unwrap();
    t
}

#[test]
fn the_strip_sits_above_the_primarys_headline() {
    let s = connected_and_polled("postgres@10.0.0.1:5432/shop", primary());
    let t = render(&s, 0);
    let row = |y: u16| -> String {
        (0..130)
            .map(|x| t.backend().buffer()[(x, y)].symbol().to_string())
            .collect()
    };
    assert!(row(0).starts_with("1 main primary"), "{}", row(0));
    assert!(row(1).starts_with("MIGRATION BLOCKED"), "{}", row(1));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn a_standbys_startup_process_is_named_in_the_tree() {
    let s = connected_and_polled("postgres@10.0.0.2:5432/shop", standby());
    let t = render(&s, 1);
    insta::assert_snapshot!(t.backend());
}
