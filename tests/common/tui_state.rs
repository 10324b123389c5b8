//! The live view's state after connecting and one poll of the pile-up fixture.
use std::path::PathBuf;
use std::time::Duration;

use pglocks::analysis::{Options, analyze};
use pglocks::db::Privileges;
use pglocks::poller::PollerEvent;
use pglocks::tui::state::State;
use pglocks::tui::update::{Msg, update};

use super::fixture::{pileup, t0};

pub fn pileup_state() -> State {
    let mut s = State::new("app@db:5432/shop".into(), false, PathBuf::from("."), 60.0);
    update(
        &mut s,
        Msg::Poller(PollerEvent::Connected {
            target: "app@db:5432/shop".into(),
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
    update(
        &mut s,
        Msg::Poller(PollerEvent::Polled {
            analysis: Box::new(analyze(pileup(), &Options::default())),
            latency: Duration::from_millis(3),
        }),
        t0(),
    );
    s
}
