//! What recording costs, measured on a real server: a throwaway cluster with a migration
//! pile-up (300 sessions by default), polled again and again while every analysis goes to
//! a recording, as `pglocks --record` does.
//!
//! Prints medians of what the poll loop pays (the hand-over to the writer thread, and for
//! comparison the poll, the analysis and `--redact`), what the writer thread pays per line
//! off the loop, and the bytes each poll adds to the file.
//!
//! `cargo run --release --example record_overhead [QUEUED] [POLLS] [gz]` (defaults 297,
//! 200: 297 queued + blocker + migration + the staging session = 300 sessions per poll;
//! `gz` records to a compressed `.jsonl.gz`).
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pglocks::analysis::{Options, analyze};
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{Overrides, ProcessEnv, resolve};
use pglocks::record::{Header, Recorder};
use pglocks::stage::{Stage, migration_pileup};

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs.get(xs.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
}

fn arg(n: usize, default: usize) -> Result<usize> {
    std::env::args().nth(n).map_or(Ok(default), |s| {
        s.parse().context("arguments: [QUEUED] [POLLS]")
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let queued = arg(1, 297)?;
    let rounds = arg(2, 200)?;
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&[])).await??;
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await?;
    migration_pileup(&mut stage, queued, false).await?;
    let params = resolve(Some(&dsn), &Overrides::default(), &ProcessEnv)?;
    let conn = pglocks::db::connect(&params, &ProcessEnv).await?;
    let opts = Options::default();

    let dir = tempfile::tempdir()?;
    let gz = std::env::args().nth(3).is_some_and(|a| a == "gz");
    let path = dir.path().join(if gz {
        "overhead.jsonl.gz"
    } else {
        "overhead.jsonl"
    });
    let header = Header::new("bench".into(), Duration::from_millis(50), None, false);
    let recorder = Recorder::create(&path, &header)?;
    let sink = recorder.sink();
    let (mut poll, mut analysis, mut redact, mut hand_off, mut encode) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sessions = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let snap = conn.poll(None).await?;
        poll.push(t.elapsed());
        sessions = snap.sessions.len();
        let copy = snap.clone();
        let t = Instant::now();
        let redacted = pglocks::redact::snapshot(copy);
        redact.push(t.elapsed());
        drop(redacted);
        let t = Instant::now();
        let a = analyze(snap, &opts);
        analysis.push(t.elapsed());
        // What the poll loop pays for recording: a copy of the analysis handed over.
        let t = Instant::now();
        sink.snapshot(&a);
        hand_off.push(t.elapsed());
        // The writer's main work, done here again only to time it per line.
        let t = Instant::now();
        let line = serde_json::to_vec(&pglocks::report::json::document(&a, &[]))?;
        encode.push(t.elapsed());
        drop(line);
        // Paced like a fast poll interval, so the writer keeps up as it would live.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary = tokio::task::spawn_blocking(move || recorder.finish()).await?;
    let file_len = std::fs::metadata(&path)?.len();
    let mut sizes: Vec<usize> = Vec::new();
    for entry in pglocks::record::reader::open(&path)? {
        if let pglocks::record::Entry::Snapshot(doc) = entry? {
            sizes.push(serde_json::to_vec(&doc)?.len() + 1);
        }
    }
    sizes.sort_unstable();
    let lines = summary.snapshots.max(1) as f64;
    println!("sessions per poll:                 {sessions}");
    println!(
        "polls recorded:                    {} (dropped {})",
        summary.snapshots, summary.dropped
    );
    println!("poll (server round trip), median:  {:.0} us", median(poll));
    println!(
        "analyze, median:                   {:.0} us",
        median(analysis)
    );
    println!(
        "--redact of the snapshot, median:  {:.0} us",
        median(redact)
    );
    println!(
        "record hand-over in the loop, median: {:.1} us",
        median(hand_off)
    );
    println!(
        "writer: encode one line, median:   {:.0} us",
        median(encode)
    );
    println!(
        "writer: encode + write + fsync, mean: {:.0} us per line (off the loop)",
        summary.busy.as_secs_f64() * 1e6 / lines
    );
    println!(
        "JSON bytes per poll: median {} (min {}, max {})",
        sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        sizes.first().copied().unwrap_or(0),
        sizes.last().copied().unwrap_or(0),
    );
    println!(
        "file: {file_len} bytes, {:.0} bytes per poll ({})",
        file_len as f64 / lines,
        if gz { "gzip" } else { "plain" }
    );
    if let Some(e) = summary.error {
        anyhow::bail!("the recording failed: {e}");
    }
    drop(stage);
    drop(cluster);
    Ok(())
}
