//! Several servers at once: each has its own poller thread and deadline, so one frozen
//! server (SIGSTOP on its postmaster and backends) leaves the others updating and is shown
//! as stale. Always on throwaway clusters: freezing an outside server is not ours to do.
mod common;

use std::path::Path;
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

/// Stops the recorder when an assertion fails before the test stops it itself.
struct Recording(Option<std::process::Child>);

impl Drop for Recording {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn client(c: &Cluster, app: &str) -> tokio_postgres::Client {
    let dsn = format!("{} application_name={app}", c.dsn("postgres"));
    let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

/// The recording's lines, as JSON values (a line still being written is left out).
fn lines(path: &Path) -> Vec<serde_json::Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn polls_of(lines: &[serde_json::Value], server: &str) -> usize {
    lines
        .iter()
        .filter(|l| l["format"] == "pglocks.snapshot/1" && l["server_name"] == server)
        .count()
}

fn server_line(lines: &[serde_json::Value], server: &str, state: &str) -> bool {
    lines
        .iter()
        .any(|l| l["format"] == "pglocks.server/1" && l["server"] == server && l["state"] == state)
}

async fn wait_for(path: &Path, what: &str, check: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if check(&lines(path)) {
            return;
        }
        if Instant::now() >= deadline {
            let seen: Vec<String> = lines(path)
                .iter()
                .map(|l| {
                    let codes: Vec<&str> = l["findings"]
                        .as_array()
                        .map(|f| f.iter().filter_map(|f| f["code"].as_str()).collect())
                        .unwrap_or_default();
                    format!("{} {} {codes:?}", l["format"], l["server_name"])
                })
                .collect();
            panic!("the recording never showed {what}:\n{}", seen.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `record` over two servers while a migration is blocked on one of them; the other is
/// frozen for a while. One file, each poll naming its server; the frozen one is recorded
/// as stale and the other keeps being polled; the report tells both on one timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_two_servers_is_one_timeline_and_a_frozen_one_is_stale() {
    let clusters: Vec<Cluster> = tokio::task::spawn_blocking(|| {
        (0..2)
            .map(|_| Cluster::start(&[]).unwrap_or_else(|e| panic!("{e:#}")))
            .collect()
    })
    .await
    .expect("cluster thread");
    let blocker = client(&clusters[0], "billing").await;
    blocker
        .batch_execute("CREATE TABLE orders (id int)")
        .await
        .expect("table");
    blocker
        .batch_execute("BEGIN; SELECT count(*) FROM orders;")
        .await
        .expect("blocker");
    let migration = client(&clusters[0], "rails_migration").await;
    let altered = tokio::spawn(async move {
        migration
            .batch_execute("ALTER TABLE orders ADD COLUMN note text")
            .await
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("two.jsonl");
    let a = format!("a={}", clusters[0].dsn("postgres"));
    let b = format!("b={}", clusters[1].dsn("postgres"));
    let path_arg = path.display().to_string();
    let mut cmd = common::bin::pglocks([
        "record",
        &a,
        "--server",
        &b,
        "--interval",
        "300ms",
        "-o",
        &path_arg,
    ])
    .command(dir.path());
    let mut child = Recording(Some(cmd.spawn().expect("pglocks record starts")));
    wait_for(&path, "the migration blocked on a, and b polled", |l| {
        polls_of(l, "b") >= 2
            && l.iter().any(|d| {
                d["server_name"] == "a"
                    && d["findings"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|f| f["code"] == "migration_blocked"))
            })
    })
    .await;

    let frozen = server_processes(clusters[1].postmaster_pid().expect("postmaster pid"));
    let thaw = Thaw(frozen);
    signal_all(&thaw.0, Signal::SIGSTOP);
    let a_before = polls_of(&lines(&path), "a");
    wait_for(&path, "b recorded as stale", |l| {
        server_line(l, "b", "stale")
    })
    .await;
    let during = lines(&path);
    assert!(
        polls_of(&during, "a") >= a_before + 4,
        "a kept being polled while b was frozen: {a_before} -> {}",
        polls_of(&during, "a")
    );
    drop(thaw);
    wait_for(&path, "b answering again", |l| {
        server_line(l, "b", "answering")
    })
    .await;

    blocker.batch_execute("COMMIT").await.expect("commit");
    altered
        .await
        .expect("task")
        .expect("the ALTER goes through");
    wait_for(&path, "the migration no longer blocked", |l| {
        l.last().is_some_and(|d| d["server_name"] == "a") && {
            let last_a = l.iter().rev().find(|d| d["server_name"] == "a");
            last_a.is_some_and(|d| d["findings"].as_array().is_some_and(|f| f.is_empty()))
        }
    })
    .await;
    let child = child.0.take().expect("the recorder");
    nix::sys::signal::kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("wait thread")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("b: no poll for"), "{stderr}");

    let file = path.to_str().expect("utf-8 path");
    let md = common::bin::pglocks(["report", file]).run_blocking();
    md.success();
    let md = md.stdout;
    assert!(md.contains("| time | server | event |"), "{md}");
    assert!(md.contains("| a | **Migration pid"), "{md}");
    assert!(
        md.contains("| b | **Stopped answering: no poll for"),
        "{md}"
    );
    assert!(md.contains("| b | Answers again after"), "{md}");
    assert!(md.contains("**a** (primary): Migration pid"), "{md}");
    assert!(md.contains("**b** (primary):"), "{md}");
    assert!(md.contains("# Server a (primary)"), "{md}");

    let json = common::bin::pglocks(["report", "--format", "json", file]).run_blocking();
    json.success();
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("the report is JSON");
    assert_eq!(json["format"], "pglocks.report/1");
    let names: Vec<&str> = json["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let events = json["events"].as_array().expect("events");
    let has = |server: &str, kind: &str| {
        events
            .iter()
            .any(|e| e["server"] == server && e["kind"] == kind)
    };
    assert!(has("a", "migration_blocked"), "{events:?}");
    assert!(
        has("b", "server_stale") && has("b", "server_back"),
        "{events:?}"
    );
    let times: Vec<&str> = events.iter().filter_map(|e| e["at"].as_str()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "one timeline: {times:?}"
    );

    // A moment of one server: the recording holds two, so replay asks which.
    let mixed = common::bin::pglocks(["replay", file, "--at", "last"]).run_blocking();
    mixed.one_line_error(&["several servers", "--server NAME"]);
    let one = common::bin::pglocks([
        "replay", file, "--at", "last", "--server", "b", "-f", "json",
    ])
    .run_blocking();
    assert_eq!(one.success().json()["server_name"], "b");
}
