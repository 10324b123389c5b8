//! End to end through a real terminal: the pglocks binary in tmux, against a real server
//! with the staged migration incident. Keys go in with send-keys; the screen comes back
//! with capture-pane.

// The whole file is test code, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use pglocks::cluster::Cluster;
use pglocks::stage::{Stage, migration_pileup};

use common::tmux::Tmux;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_the_root_blocker_snapshot_and_survive_a_restart() {
    if !common::local_binaries("it runs a server of its own in tmux") {
        return;
    }
    // This test restarts the server, so it always uses a throwaway cluster of its own.
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(&[]))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}: the end-to-end test needs PostgreSQL server binaries"));
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await.unwrap();
    let p = migration_pileup(&mut stage, 5, true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec_dir = tempfile::tempdir().unwrap();
    let recording = rec_dir.path().join("incident.jsonl");

    let cmd = format!(
        "{} '{dsn}' --interval 300ms --record {} --snapshot-dir {}; echo EXITED=$?; sleep 60",
        env!("CARGO_BIN_EXE_pglocks"),
        recording.display(),
        dir.path().display()
    );
    let tmux = Tmux::start(&cmd, 180, 40);
    let root = format!("▶{} ROOT", p.blocker);
    let screen = tmux
        .wait_for(
            "the root blocker, selected",
            |s| s.contains(&root),
            Duration::from_secs(15),
        )
        .await;
    assert!(screen.contains("MIGRATION BLOCKED"), "{screen}");
    assert!(
        screen.contains(&format!("{} MIGRATION", p.migration)),
        "{screen}"
    );

    tmux.keys("K");
    let prompt = format!("Terminate pid {}?", p.blocker);
    let screen = tmux
        .wait_for(
            "the confirmation",
            |s| s.contains(&prompt),
            Duration::from_secs(5),
        )
        .await;
    assert!(screen.contains("including the migration"), "{screen}");
    tmux.keys("y");
    let done = format!("terminate pid {}: terminated", p.blocker);
    tmux.wait_for(
        "the outcome",
        |s| s.contains(&done),
        Duration::from_secs(10),
    )
    .await;

    // The server agrees: the blocker is gone and the ALTER went through.
    let monitor = stage.monitor();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let gone: i64 = monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                &[&p.blocker],
            )
            .await
            .unwrap()
            .get(0);
        let altered: i64 = monitor
            .query_one(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'region'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if gone == 0 && altered == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blocker alive: {gone}, column added: {altered}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tmux.wait_for(
        "the pile-up to clear",
        |s| s.contains("No lock waits"),
        Duration::from_secs(10),
    )
    .await;

    tmux.keys("s");
    tmux.wait_for(
        "the snapshot paths",
        |s| s.contains("snapshot written"),
        Duration::from_secs(5),
    )
    .await;
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let md = files
        .iter()
        .find(|p| {
            p.extension().is_some_and(|e| e == "md")
                && !p.display().to_string().ends_with(".timeline.md")
        })
        .expect("a .md file");
    let json = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a .json file");
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains(&format!("| terminate | {} | terminated |", p.blocker)),
        "{md}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(doc["actions"][0]["pid"], p.blocker);
    assert_eq!(doc["actions"][0]["action"], "terminate");

    // A server restart: the view goes stale, keeps the last picture, then recovers.
    drop(stage);
    tokio::task::block_in_place(|| cluster.pause()).unwrap();
    tmux.wait_for(
        "stale",
        |s| s.contains("reconnecting"),
        Duration::from_secs(10),
    )
    .await;
    tokio::task::block_in_place(|| cluster.resume()).unwrap();
    let resumed = chrono::Utc::now();
    tmux.wait_for(
        "recovery",
        |s| !s.contains("reconnecting") && s.contains("data ") && s.contains(" old"),
        Duration::from_secs(20),
    )
    .await;

    tmux.keys("q");
    let screen = tmux
        .wait_for(
            "a clean exit",
            |s| s.contains("EXITED=0"),
            Duration::from_secs(10),
        )
        .await;
    assert!(
        !screen.contains("wait tree"),
        "the alternate screen was left: {screen}"
    );
    // The recorder rode through the restart: every line reads back, with polls from before
    // the server stopped, the action, and polls from after it came back.
    let entries: Vec<pglocks::record::Entry> = pglocks::record::reader::open(&recording)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let times: Vec<_> = entries
        .iter()
        .filter_map(|e| match e {
            pglocks::record::Entry::Snapshot(doc) => Some(doc.taken_at),
            _ => None,
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "polls in order");
    let action = entries
        .iter()
        .find_map(|e| match e {
            pglocks::record::Entry::Action(a) => Some(a.action.clone()),
            _ => None,
        })
        .expect("the terminate is recorded");
    assert_eq!(action.pid, p.blocker);
    assert!(times.iter().any(|t| *t < action.at) && times.iter().any(|t| *t > action.at));
    assert!(
        times.iter().any(|t| *t > resumed),
        "a poll after the server came back: {times:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_during_confirm_then_sigterm_restores_the_terminal_and_flushes_the_recording() {
    if !common::local_binaries("it runs a server of its own in tmux") {
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&[]))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}: the end-to-end test needs PostgreSQL server binaries"));
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await.unwrap();
    let p = migration_pileup(&mut stage, 3, false).await.unwrap();
    // A unique argument lets us find the pglocks process to signal it.
    let marker = tempfile::tempdir().unwrap();
    let recording = marker.path().join("incident.jsonl");
    let cmd = format!(
        "{} '{dsn}' --interval 300ms --record {} --snapshot-dir {}; echo EXITED=$?; sleep 60",
        env!("CARGO_BIN_EXE_pglocks"),
        recording.display(),
        marker.path().display()
    );
    let tmux = Tmux::start(&cmd, 40, 10);
    tmux.wait_for(
        "the tree at 40x10",
        |s| s.contains(&format!("{} ROOT", p.blocker)),
        Duration::from_secs(15),
    )
    .await;
    tmux.keys("K");
    let prompt = format!("Terminate pid {}?", p.blocker);
    tmux.wait_for(
        "the confirmation",
        |s| s.contains(&prompt),
        Duration::from_secs(5),
    )
    .await;

    // Resized while the pop-up is open: too small, then large again, and it is still there.
    let resize = |w: &str, h: &str| {
        let ok = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "resize-window",
                "-t",
                "e2e",
                "-x",
                w,
                "-y",
                h,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    resize("30", "8");
    tmux.wait_for(
        "the too-small notice",
        |s| s.contains("too small"),
        Duration::from_secs(5),
    )
    .await;
    resize("120", "30");
    tmux.wait_for(
        "the confirmation again",
        |s| s.contains(&prompt),
        Duration::from_secs(5),
    )
    .await;
    tmux.keys("n");
    let aborted = format!("terminate of pid {} aborted", p.blocker);
    tmux.wait_for(
        "the abort",
        |s| s.contains(&aborted),
        Duration::from_secs(5),
    )
    .await;

    let pgrep = Command::new("pgrep")
        .args(["-f", &marker.path().display().to_string()])
        .output()
        .unwrap();
    let pids: Vec<String> = String::from_utf8_lossy(&pgrep.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pglocks_pid = pids
        .iter()
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "pglocks")
        })
        .unwrap_or_else(|| panic!("no pglocks process among {pids:?}"));
    let term = Command::new("kill")
        .args(["-TERM", pglocks_pid])
        .status()
        .unwrap();
    assert!(term.success());
    let screen = tmux
        .wait_for(
            "a clean exit on SIGTERM",
            |s| s.contains("EXITED=0"),
            Duration::from_secs(10),
        )
        .await;
    // Exit status 0 says the SIGTERM path (restore, then flush) ran to its end; that the
    // screen comes back as it was is the 20-run test below.
    assert!(screen.contains("EXITED=0"));
    assert!(!screen.contains(&prompt), "{screen}");
    // The recording was flushed: every line reads back, and it saw the pile-up.
    let entries: Vec<_> = pglocks::record::reader::open(&recording)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let blocked = entries.iter().any(|e| match e {
        pglocks::record::Entry::Snapshot(doc) => doc.roots.iter().any(|r| r.pid == p.blocker),
        _ => false,
    });
    assert!(blocked, "the recording holds the blocked state");
}

/// Issue 13.4: the terminal is given back exactly as it was, whatever ends the live view
/// (SIGTERM, SIGINT, SIGHUP, q, and in the last run q after the server was lost) after
/// the window was resized under it, 20 runs of 20.
/// Each run starts from a screen with one line on it and no scroll-back, ends at another
/// window size than it began with (the case that left the last frame on screen), and the
/// screen afterwards must be that line, the shell's newline and the exit status: nothing
/// of pglocks' frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_is_restored_on_every_exit_path_after_resizes_20_of_20() {
    if !common::local_binaries("it runs the server pglocks watches in tmux") {
        return;
    }
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(&[]))
        .await
        .unwrap()
        .unwrap();
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await.unwrap();
    let p = migration_pileup(&mut stage, 2, false).await.unwrap();
    const RUNS: u32 = 20;
    let cmd = format!(
        "for i in $(seq 1 {RUNS}); do clear; echo BEFORE-$i; read x; {} '{dsn}' --interval 200ms; echo EXITED-$i=$?; read x; done; sleep 60",
        env!("CARGO_BIN_EXE_pglocks"),
    );
    let tmux = Tmux::start(&cmd, 80, 24);
    let shell: String = tmux
        .tmux(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
        .trim()
        .to_string();
    let root = format!("{} ROOT", p.blocker);
    let sizes = [(80, 24), (100, 30)];
    let mut failures = Vec::new();
    for run in 1..=RUNS {
        let marker = format!("BEFORE-{run}");
        tmux.wait_for("the shell", |s| s.contains(&marker), Duration::from_secs(5))
            .await;
        tmux.tmux(&["clear-history", "-t", "e2e"]);
        let before = tmux.screen();
        tmux.keys("Enter");
        tmux.wait_for("the tree", |s| s.contains(&root), Duration::from_secs(10))
            .await;
        tmux.resize(30, 8);
        tmux.wait_for(
            "too small",
            |s| s.contains("too small"),
            Duration::from_secs(5),
        )
        .await;
        // Wide enough in the last run for the facts line to show "stale" whole.
        let (w, h) = if run == RUNS {
            (170, 30)
        } else {
            sizes[run as usize % 2]
        };
        tmux.resize(w, h);
        tmux.wait_for(
            "the tree again",
            |s| s.contains(&root),
            Duration::from_secs(5),
        )
        .await;
        // The last run loses the server first, then quits: the stale screen is left too.
        let how = if run == RUNS {
            "lost server, then q"
        } else {
            ["TERM", "INT", "HUP", "q"][run as usize % 4]
        };
        if how == "lost server, then q" {
            cluster.pause().unwrap();
            tmux.wait_for("stale", |s| s.contains("stale"), Duration::from_secs(15))
                .await;
            tmux.keys("q");
        } else if how == "q" {
            tmux.keys("q");
        } else {
            let pgrep = Command::new("pgrep")
                .args(["-x", "pglocks", "-P", &shell])
                .output()
                .unwrap();
            let pid = String::from_utf8_lossy(&pgrep.stdout).trim().to_string();
            assert!(!pid.is_empty(), "run {run}: no pglocks under the shell");
            let sent = Command::new("kill")
                .args([&format!("-{how}"), &pid])
                .status()
                .unwrap();
            assert!(sent.success());
        }
        let exited = format!("EXITED-{run}=");
        let after = tmux
            .wait_for("the exit", |s| s.contains(&exited), Duration::from_secs(10))
            .await;
        let expected = format!("{}\n\nEXITED-{run}=0", before.trim_end());
        if after.trim_end() != expected {
            failures.push(format!("run {run} ({how}):\n{after}"));
        }
        tmux.keys("Enter");
    }
    assert!(
        failures.is_empty(),
        "{} of {RUNS} runs left the screen changed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// SIGSTOP on a list of processes, SIGCONT when dropped (also when an assertion fails).
struct Frozen(Vec<String>);

impl Frozen {
    fn stop(pids: Vec<String>) -> Frozen {
        for pid in &pids {
            assert!(
                Command::new("kill")
                    .args(["-STOP", pid])
                    .status()
                    .unwrap()
                    .success()
            );
        }
        Frozen(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill").args(["-CONT", pid]).status();
        }
    }
}

/// Issue 13.1 on screen: the server freezes (the monitor's backend and the postmaster,
/// SIGSTOP) right as a terminate is confirmed. The view keeps answering keys, says the
/// outcome is unknown once the client-side deadline passes, says the data is stale while
/// it cannot reconnect, and comes back when the server is resumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_frozen_during_a_terminate_leaves_the_view_answering_and_it_recovers() {
    if !common::local_binaries("it freezes the server's processes with SIGSTOP") {
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&[]))
        .await
        .unwrap()
        .unwrap();
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await.unwrap();
    let p = migration_pileup(&mut stage, 2, true).await.unwrap();
    let cmd = format!(
        "{} '{dsn} connect_timeout=2' --interval 300ms; sleep 60",
        env!("CARGO_BIN_EXE_pglocks")
    );
    let tmux = Tmux::start(&cmd, 120, 30);
    let selected = format!("▶{} ROOT", p.blocker);
    tmux.wait_for(
        "the root, selected",
        |s| s.contains(&selected),
        Duration::from_secs(15),
    )
    .await;
    let monitor: i32 = stage
        .monitor()
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'pglocks'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let postmaster = std::fs::read_to_string(cluster.socket_dir().join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    tmux.keys("K");
    let prompt = format!("Terminate pid {}?", p.blocker);
    tmux.wait_for(
        "the confirmation",
        |s| s.contains(&prompt),
        Duration::from_secs(5),
    )
    .await;
    let frozen = Frozen::stop(vec![monitor.to_string(), postmaster]);
    tmux.keys("y");
    // The terminate is stuck on the frozen backend; the view moves the selection anyway.
    tmux.keys("j");
    tmux.wait_for(
        "the selection to move while the terminate hangs",
        |s| !s.contains(&selected) && s.contains(&format!("{} ROOT", p.blocker)),
        Duration::from_secs(3),
    )
    .await;
    tmux.wait_for(
        "the unknown outcome",
        |s| s.contains("unknown: the server did not answer"),
        Duration::from_secs(12),
    )
    .await;
    tmux.wait_for(
        "the stale banner",
        |s| s.contains("stale"),
        Duration::from_secs(15),
    )
    .await;
    drop(frozen);
    tmux.wait_for(
        "fresh data after the server is resumed",
        |s| !s.contains("stale"),
        Duration::from_secs(20),
    )
    .await;
    tmux.keys("q");
}
