//! The live view's state after connecting and one poll: the pile-up fixture, or any
//! snapshot a test builds.
use std::path::PathBuf;
use std::time::Duration;

use pglocks::analysis::{Options, analyze};
use pglocks::db::Privileges;
use pglocks::model::Snapshot;
use pglocks::poller::PollerEvent;
use pglocks::tui::state::State;
use pglocks::tui::update::{Msg, update};

use super::fixture::{pileup, t0};

/// What the poller reports for `snap`, as if it had just been polled.
pub fn polled(snap: Snapshot) -> Msg {
    Msg::Poller(PollerEvent::Polled {
        analysis: Box::new(analyze(snap, &Options::default())),
        latency: Duration::from_millis(3),
    })
}

/// Connected to `target` as a role that sees everything and may signal, then `snap` polled.
pub fn connected_and_polled(target: &str, snap: Snapshot) -> State {
    let mut s = State::new(target.into(), false, PathBuf::from("."), 60.0);
    update(
        &mut s,
        Msg::Poller(PollerEvent::Connected {
            target: target.into(),
            privileges: Privileges {
                role: "oncall".into(),
                is_superuser: false,
                can_read_all_stats: true,
                can_signal: true,
            },
            monitor_pid: 999,
        }),
        t0(),
    );
    update(&mut s, polled(snap), t0());
    s
}

pub fn pileup_state() -> State {
    connected_and_polled("app@db:5432/shop", pileup())
}
