//! Several servers at once: each has its own poller thread and deadline, so one frozen
//! server (SIGSTOP on its postmaster and backends) leaves the others updating and is shown
//! as stale. Always on throwaway clusters: freezing an outside server is not ours to do.
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pglocks::analysis::Options;
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{self, Overrides, ProcessEnv};
use pglocks::fleet::Fleet;
use pglocks::poller::PollerConfig;

fn config(c: &Cluster) -> PollerConfig {
    PollerConfig {
        params: conninfo::resolve(Some(&c.dsn("postgres")), &Overrides::default(), &ProcessEnv)
            .expect("dsn parses"),
        interval: Duration::from_millis(300),
        database: None,
        options: Options::default(),
        redact: false,
        record: None,
        pins: None,
    }
}

/// The postmaster and its children (backends, background processes).
fn server_processes(postmaster: i32) -> Vec<i32> {
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(postmaster) {
            pids.push(pid);
        }
    }
    pids
}

fn signal_all(pids: &[i32], signal: Signal) {
    for &p in pids {
        let _ = kill(Pid::from_raw(p), signal);
    }
}

/// Thaws the frozen server even when an assertion fails, so that its cluster can stop.
struct Thaw(Vec<i32>);

impl Drop for Thaw {
    fn drop(&mut self) {
        signal_all(&self.0, Signal::SIGCONT);
    }
}

#[test]
fn one_frozen_server_of_three_goes_stale_while_the_others_keep_updating() {
    let clusters: Vec<Cluster> = (0..3)
        .map(|_| Cluster::start(&[]).unwrap_or_else(|e| panic!("{e:#}")))
        .collect();
    let mut fleet = Fleet::spawn(
        ["a", "b", "frozen"]
            .iter()
            .zip(&clusters)
            .map(|(n, c)| (n.to_string(), config(c)))
            .collect(),
    );
    let all_polled = Instant::now() + Duration::from_secs(15);
    loop {
        fleet.drain(Instant::now());
        if fleet.servers.iter().all(|s| s.analysis.is_some()) {
            break;
        }
        assert!(Instant::now() < all_polled, "not every server was polled");
        std::thread::sleep(Duration::from_millis(50));
    }

    let frozen = server_processes(clusters[2].postmaster_pid().expect("postmaster pid"));
    assert!(frozen.len() > 2, "the backends were found: {frozen:?}");
    let thaw = Thaw(frozen);
    signal_all(&thaw.0, Signal::SIGSTOP);
    let frozen_at = Instant::now();

    // Three seconds later: the frozen server's poll is stuck in its deadline, the others
    // have kept polling every 300 ms.
    let mut updates = [0u32; 3];
    let mut last = [None; 3];
    while frozen_at.elapsed() < Duration::from_secs(3) {
        fleet.drain(Instant::now());
        for (i, s) in fleet.servers.iter().enumerate() {
            if s.last_update != last[i] {
                updates[i] += 1;
                last[i] = s.last_update;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let now = Instant::now();
    assert!(updates[0] >= 5 && updates[1] >= 5, "updates {updates:?}");
    assert!(!fleet.servers[0].is_stale(now, fleet.interval));
    assert!(!fleet.servers[1].is_stale(now, fleet.interval));
    assert!(
        fleet.servers[2].is_stale(now, fleet.interval),
        "updates {updates:?}"
    );
    let strip = pglocks::tui::strip::line(&fleet.servers, 0, now, fleet.interval);
    let text: String = strip.spans.iter().map(|s| s.content.as_ref()).collect();
    assert!(text.contains("3 frozen primary STALE"), "{text}");
    assert!(!text.contains("a primary STALE"), "{text}");

    drop(thaw);
    let recovered = Instant::now() + Duration::from_secs(15);
    loop {
        fleet.drain(Instant::now());
        if !fleet.servers[2].is_stale(Instant::now(), fleet.interval) {
            break;
        }
        assert!(
            Instant::now() < recovered,
            "the thawed server never updated again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
