//! What one refresh of pglocks costs the server and the client, side by side with the bare
//! statements it is built from, the classic pg_locks self-join, and (if installed)
//! pg_activity, on a staged pile-up of about 1,200 sessions with about 300 waiting.
//!
//! ```sh
//! cargo build --release && cargo run --release --example pollbench
//! cargo run --release --example pollbench -- 'host=... dbname=... user=...' --pg-activity ~/.local/bin/pg_activity
//! ```
//!
//! Without CONN it starts a throwaway cluster with pg_stat_statements preloaded and
//! max_connections = 1500. With CONN (a key=value connection string, no TLS) the server must
//! have pg_stat_statements in shared_preload_libraries for server times, and the benchmark
//! creates (and drops first) tables named pollbench_* in that database.
//!
//! `--interference SECONDS` and `--lock-manager SECONDS` measure what watching costs the
//! workload (pgbench) instead; `--quick` runs a small version of every part, as CI does.
mod external;
mod interference;
mod lock_manager;
mod measure;
mod pileup;
mod rounds;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use pglocks::analysis::{Options, analyze};
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{self, Overrides, ProcessEnv};
use pglocks::db::{self, Connection, Signal};
use pglocks::poller::PollerEvent;
use pglocks::tui::state::State;
use pglocks::tui::update::{Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use measure::{Bench, Kind, median, ms, quantile};
use rounds::Samples;

const USAGE: &str = "usage: pollbench [CONN] [--rounds N] [--paced-rounds N] [--cpu-polls N] [--sessions N] [--waiters N] [--window SECONDS] [--pglocks PATH] [--pg-activity PATH] [--no-tmux] [--hold SECONDS] [--many-locks N] [--interference SECONDS [--interference-reps N]] [--lock-manager SECONDS [--lock-manager-reps N]] [--pgbench-clients N] [--quick]";

struct Args {
    conn: Option<String>,
    rounds: usize,
    /// Rounds spread over a second each (0: none).
    paced_rounds: usize,
    cpu_polls: usize,
    sessions: usize,
    waiters: usize,
    window: Duration,
    pglocks: Option<PathBuf>,
    pg_activity: Option<PathBuf>,
    tmux: bool,
    /// Keep the staged pile-up up this long before measuring, e.g. to EXPLAIN by hand.
    hold: Duration,
    /// One more session holding this many advisory locks, with a waiter on one of them.
    many_locks: usize,
    /// Workload interference instead of the rest: pgbench windows of this length.
    interference: Option<Duration>,
    interference_reps: usize,
    /// What the lock-manager reads cost other backends instead of the rest: windows of this
    /// length.
    lock_manager: Option<Duration>,
    lock_manager_reps: usize,
    pgbench_clients: usize,
    /// `pgbench -i -s` for the interference windows.
    pgbench_scale: u32,
    /// A monitor in tmux runs this long before its interference window.
    warmup: Duration,
    /// Every part, small and short, and the workload modes after the rest: for CI.
    quick: bool,
}

impl Args {
    fn full() -> Args {
        Args {
            conn: None,
            rounds: 30,
            paced_rounds: 30,
            cpu_polls: 100,
            sessions: 1213,
            waiters: 304,
            window: Duration::from_secs(30),
            pglocks: None,
            pg_activity: None,
            tmux: true,
            hold: Duration::ZERO,
            many_locks: 0,
            interference: None,
            interference_reps: 3,
            lock_manager: None,
            lock_manager_reps: 3,
            pgbench_clients: 8,
            pgbench_scale: 10,
            warmup: Duration::from_secs(3),
            quick: false,
        }
    }

    /// About a minute on 2 cores; the figures only show that every part runs.
    fn quick() -> Args {
        Args {
            rounds: 5,
            paced_rounds: 0,
            cpu_polls: 10,
            sessions: 300,
            waiters: 100,
            window: Duration::from_secs(3),
            many_locks: 5000,
            interference: Some(Duration::from_secs(2)),
            interference_reps: 1,
            lock_manager: Some(Duration::from_secs(2)),
            lock_manager_reps: 1,
            pgbench_clients: 4,
            pgbench_scale: 1,
            warmup: Duration::from_secs(1),
            quick: true,
            ..Args::full()
        }
    }
}

fn parse_args() -> Result<Args> {
    // --quick sets the defaults wherever it stands; the other options still apply.
    let quick = std::env::args().any(|a| a == "--quick");
    let mut a = if quick { Args::quick() } else { Args::full() };
    let mut waiters_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--rounds" => a.rounds = value()?.parse()?,
            "--paced-rounds" => a.paced_rounds = value()?.parse()?,
            "--cpu-polls" => a.cpu_polls = value()?.parse()?,
            "--sessions" => a.sessions = value()?.parse()?,
            "--waiters" => {
                a.waiters = value()?.parse()?;
                waiters_given = true;
            }
            "--window" => a.window = Duration::from_secs(value()?.parse()?),
            "--pglocks" => a.pglocks = Some(value()?.into()),
            "--pg-activity" => a.pg_activity = Some(value()?.into()),
            "--no-tmux" => a.tmux = false,
            "--hold" => a.hold = Duration::from_secs(value()?.parse()?),
            "--many-locks" => a.many_locks = value()?.parse()?,
            "--interference" => {
                a.interference = Some(Duration::from_secs(value()?.parse()?));
            }
            "--interference-reps" => a.interference_reps = value()?.parse()?,
            "--lock-manager" => {
                a.lock_manager = Some(Duration::from_secs(value()?.parse()?));
            }
            "--lock-manager-reps" => a.lock_manager_reps = value()?.parse()?,
            "--pgbench-clients" => a.pgbench_clients = value()?.parse()?,
            "--quick" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown option {s}\n{USAGE}"),
            s if a.conn.is_none() => a.conn = Some(s.to_string()),
            s => bail!("unexpected argument {s}\n{USAGE}"),
        }
    }
    if a.interference.is_some_and(|w| w.is_zero()) || a.interference_reps == 0 {
        bail!("--interference and --interference-reps must be at least 1");
    }
    if a.lock_manager.is_some_and(|w| w.is_zero()) || a.lock_manager_reps == 0 {
        bail!("--lock-manager and --lock-manager-reps must be at least 1");
    }
    if a.lock_manager.is_some() && !waiters_given && !quick {
        // The lock-manager comparison is specified on a 100-waiter pile-up.
        a.waiters = 100;
    }
    if quick && !external::tmux_installed() {
        println!("! tmux is not installed: the windows in tmux are skipped");
        a.tmux = false;
    }
    if a.rounds == 0 || a.cpu_polls == 0 {
        bail!("--rounds and --cpu-polls must be at least 1");
    }
    Ok(a)
}

fn new_state() -> State {
    State::new("pollbench".into(), true, PathBuf::from("."), 60.0)
}

fn connected(state: &mut State, conn: &Connection) {
    update(
        state,
        Msg::Poller(PollerEvent::Connected {
            target: conn.target.clone(),
            privileges: conn.privileges.clone(),
            monitor_pid: conn.monitor_pid,
        }),
        Utc::now(),
    );
}

fn terminal() -> Result<Terminal<TestBackend>> {
    Ok(Terminal::new(TestBackend::new(200, 60))?)
}

/// One refresh of the TUI without a terminal: poll, analyse, update, draw into 200x60.
async fn refresh(
    conn: &Connection,
    state: &mut State,
    term: &mut Terminal<TestBackend>,
) -> Result<[Duration; 4]> {
    let t = Instant::now();
    let snap = conn.poll(None).await?;
    let polled = t.elapsed();
    let analysis = analyze(snap, &Options::default());
    let analysed = t.elapsed();
    update(
        state,
        Msg::Poller(PollerEvent::Polled {
            analysis: Box::new(analysis),
            latency: polled,
        }),
        Utc::now(),
    );
    let updated = t.elapsed();
    term.draw(|f| view::draw(f, state, Utc::now()))?;
    let drawn = t.elapsed();
    Ok([
        polled,
        analysed - polled,
        updated - analysed,
        drawn - updated,
    ])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // On Ctrl-C or SIGTERM the run is dropped, and with it the cluster and the sessions.
    tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}

async fn run(args: Args) -> Result<()> {
    if let Some(p) = args.pglocks.as_ref().filter(|p| !p.is_file()) {
        bail!("--pglocks {}: no such file", p.display());
    }
    if args.quick && pglocks_bin(&args).is_none() {
        bail!(
            "the pglocks binary is not next to this example: cargo build (or pass --pglocks PATH)"
        );
    }
    let cluster;
    let dsn = match &args.conn {
        Some(c) => c.clone(),
        None => {
            println!("starting a throwaway PostgreSQL (pg_stat_statements, max_connections=1500)…");
            // The shared lock table holds max_locks_per_transaction x max_connections locks.
            let max_connections = (args.sessions + 300).max(1500);
            let per_xact = (args.many_locks * 2 / max_connections).max(64);
            let mut settings = vec![
                "shared_preload_libraries=pg_stat_statements".to_string(),
                "pg_stat_statements.track_planning=on".to_string(),
                format!("max_connections={max_connections}"),
                format!("max_locks_per_transaction={per_xact}"),
            ];
            if args.interference.is_some() {
                // No checkpoint in the middle of a pgbench window.
                settings.push("checkpoint_timeout=1h".into());
                settings.push("max_wal_size=8GB".into());
            }
            cluster = tokio::task::spawn_blocking(move || {
                let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
                Cluster::start(&settings)
            })
            .await??;
            let (admin, conn) =
                tokio_postgres::connect(&cluster.dsn("postgres"), tokio_postgres::NoTls).await?;
            let task = tokio::spawn(conn);
            admin.batch_execute("CREATE DATABASE pollbench").await?;
            drop(admin);
            let _ = task.await;
            cluster.dsn("pollbench")
        }
    };
    let bench = Bench::connect(&dsn).await?;
    if !bench.pgss {
        println!("! pg_stat_statements is not available: server times are not measured");
    }
    let params = conninfo::resolve(Some(&dsn), &Overrides::default(), &ProcessEnv)?;
    if args.interference.is_some() && args.tmux {
        println!("pgbench -i -s {}…", args.pgbench_scale);
        interference::init(&dsn, args.pgbench_scale)?;
    }
    println!(
        "staging {} sessions, {} waiting on locks…",
        args.sessions, args.waiters
    );
    // The bench session and pglocks' monitor are two of the sessions.
    let pile = pileup::stage(&dsn, args.sessions, args.waiters, 2, args.many_locks).await?;
    let conn = db::connect(&params, &ProcessEnv).await?;
    let row = bench
        .client
        .query_one(
            "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), count(*) FILTER (WHERE wait_event_type = 'Lock'), current_setting('server_version'), (SELECT count(*) FROM pg_locks) FROM pg_stat_activity",
            &[],
        )
        .await?;
    let (backends, waiting, version, lock_rows): (i64, i64, String, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    println!(
        "staged {} sessions ({} of them waiting) in {:.1}s; the server counts {backends} client backends, {waiting} waiting on locks, {lock_rows} rows in pg_locks; PostgreSQL {version}",
        pile.sessions,
        pile.waiters.len(),
        pile.staged_in.as_secs_f64()
    );

    if !args.hold.is_zero() {
        println!(
            "holding the pile-up for {}s: psql '{dsn}'",
            args.hold.as_secs()
        );
        tokio::time::sleep(args.hold).await;
    }

    if !args.quick && (args.interference.is_some() || args.lock_manager.is_some()) {
        workload_modes(&args, &dsn, &bench, &conn, &pile).await?;
        drop(conn);
        drop(pile);
        return Ok(());
    }

    // 1. Side by side, in rotating order, with pg_stat_statements reset every round: back
    // to back, then paced over a second per round as a 1 s refresh would run them.
    let side = rounds::run(&bench, &conn, &Kind::ALL, args.rounds, None).await?;
    let compared = [Kind::Pglocks, Kind::Activity, Kind::Blocking];
    let paced = if args.paced_rounds > 0 {
        println!(
            "pacing {} rounds of the compared statements over 1 s each…",
            args.paced_rounds
        );
        Some(
            rounds::run(
                &bench,
                &conn,
                &compared,
                args.paced_rounds,
                Some(Duration::from_secs(1)),
            )
            .await?,
        )
    } else {
        None
    };

    // 2. Client CPU per refresh: poll (decode), analysis, update and draw, back to back.
    let mut state = new_state();
    connected(&mut state, &conn);
    let mut term = terminal()?;
    refresh(&conn, &mut state, &mut term).await?;
    let mut parts: [Vec<f64>; 4] = Default::default();
    bench.reset().await?;
    let cpu0 = measure::self_cpu().context("reading /proc/self")?;
    for _ in 0..args.cpu_polls {
        let times = refresh(&conn, &mut state, &mut term).await?;
        for (v, t) in parts.iter_mut().zip(times) {
            v.push(ms(t));
        }
    }
    let cpu1 = measure::self_cpu().context("reading /proc/self")?;
    let cpu_per_poll = ms(cpu1.saturating_sub(cpu0)) / args.cpu_polls as f64;
    // The same statement's server time when polls follow each other with nothing between.
    let alone_exec = bench
        .statements()
        .await?
        .iter()
        .filter(|r| Kind::of_query(&r.query) == Some(Kind::Pglocks))
        .map(|r| (r.exec_ms + r.plan_ms) / r.calls.max(1) as f64)
        .next();

    // 3. Time from connection-up to the first frame with data.
    let mut first_frame = Vec::new();
    let mut connect_ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let c = db::connect(&params, &ProcessEnv).await?;
        connect_ms.push(ms(t.elapsed()));
        let t = Instant::now();
        let mut s = new_state();
        connected(&mut s, &c);
        let mut term = terminal()?;
        refresh(&c, &mut s, &mut term).await?;
        first_frame.push(ms(t.elapsed()));
    }

    // 4. The real TUI, and pg_activity, in tmux.
    let mut windows = Vec::new();
    if args.tmux {
        let tmux = external::Tmux::new()?;
        match pglocks_bin(&args) {
            Some(bin) => {
                let argv = vec![
                    bin.display().to_string(),
                    dsn.clone(),
                    "--interval".into(),
                    "1s".into(),
                ];
                println!(
                    "measuring the pglocks TUI in tmux for {}s…",
                    args.window.as_secs()
                );
                windows.push(
                    tmux.measure(
                        &bench,
                        "pglocks TUI",
                        &argv,
                        Duration::from_secs(3),
                        args.window,
                    )
                    .await?,
                );
            }
            None => println!(
                "! the pglocks binary was not found next to this example: run `cargo build --release` first (or pass --pglocks PATH); the TUI window is skipped"
            ),
        }
        match pg_activity_bin(&args) {
            Some(bin) => {
                let argv = vec![
                    bin.display().to_string(),
                    "--refresh".into(),
                    "1".into(),
                    dsn.clone(),
                ];
                println!(
                    "measuring pg_activity in tmux for {}s…",
                    args.window.as_secs()
                );
                windows.push(
                    tmux.measure(
                        &bench,
                        "pg_activity",
                        &argv,
                        Duration::from_secs(5),
                        args.window,
                    )
                    .await?,
                );
            }
            None => println!(
                "! no pg_activity (pip install pg-activity, or pass --pg-activity PATH; a quick run takes it only when given): its comparison is skipped"
            ),
        }
    } else {
        println!("! --no-tmux: the TUI and pg_activity windows are skipped");
    }

    if args.quick {
        workload_modes(&args, &dsn, &bench, &conn, &pile).await?;
    }

    // 5. A confirmed terminate: signal, verify, poll again and draw. Last, as it breaks up
    // one pile-up.
    let terminate = if conn.server.version_num >= 140_000 {
        let holder = pile.holders[0];
        let snap = conn.poll(None).await?;
        let start = snap
            .sessions
            .iter()
            .find(|s| s.pid == holder)
            .and_then(|s| s.backend_start)
            .context("the staged blocker is not visible")?;
        let t = Instant::now();
        let outcome = conn.signal(Signal::Terminate, holder, start).await?;
        let signalled = t.elapsed();
        refresh(&conn, &mut state, &mut term).await?;
        let total = t.elapsed();
        let gone = state
            .live
            .as_ref()
            .is_some_and(|a| a.session(holder).is_none());
        Some((outcome.describe(), ms(signalled), ms(total), gone))
    } else {
        None
    };
    let own_rss = measure::peak_rss_kb("self").unwrap_or(0);
    let capped: Vec<(i32, usize, u64)> = state
        .live
        .as_ref()
        .map(|a| {
            a.snapshot
                .sessions
                .iter()
                .filter(|s| s.locks_unlisted > 0)
                .map(|s| (s.pid, s.locks.len(), s.locks_unlisted))
                .collect()
        })
        .unwrap_or_default();

    // The report.
    let med = |k: Kind, f: fn(&Samples) -> &Vec<f64>| side.median(k, f);
    println!();
    println!(
        "## pollbench: {backends} client backends, {waiting} waiting on locks; PostgreSQL {version}; {} rounds",
        args.rounds
    );
    println!(
        "pglocks saw {} sessions, {} waiting (its own session excluded)",
        side.seen.0, side.seen.1
    );
    println!();
    print_rounds(&side);
    let sum_exec = med(Kind::Activity, |s| &s.exec) + med(Kind::Blocking, |s| &s.exec);
    let sum_server = sum_exec + med(Kind::Activity, |s| &s.plan) + med(Kind::Blocking, |s| &s.plan);
    let sum_rt = med(Kind::Activity, |s| &s.round_trip) + med(Kind::Blocking, |s| &s.round_trip);
    println!();
    println!(
        "ratio pglocks / (bare activity + blocking pids): exec {:.2}x, exec+plan {:.2}x, round trip {:.2}x (target: server time at most 1.5x)",
        med(Kind::Pglocks, |s| &s.exec) / sum_exec,
        (med(Kind::Pglocks, |s| &s.exec) + med(Kind::Pglocks, |s| &s.plan)) / sum_server,
        med(Kind::Pglocks, |s| &s.round_trip) / sum_rt
    );
    println!(
        "  median of the rounds' own ratios (server time): {:.2}x",
        side.median_round_ratio()
    );
    let lock_count = med(Kind::LockCount, |s| &s.exec) + med(Kind::LockCount, |s| &s.plan);
    println!(
        "ratio pglocks / (bare activity + blocking pids + count(*) over pg_locks), server time: {:.2}x (pg_locks copied once: {lock_count:.2} ms)",
        (med(Kind::Pglocks, |s| &s.exec) + med(Kind::Pglocks, |s| &s.plan))
            / (sum_server + lock_count)
    );
    if let Some(x) = alone_exec {
        println!(
            "pglocks poll alone, back to back ({} polls): {x:.2} ms server time (exec + plan) per poll, {:.2}x the bare statements' median sum",
            args.cpu_polls,
            x / sum_server
        );
    }
    if let Some(paced) = &paced {
        println!();
        println!(
            "paced, each statement once a second as a 1 s refresh runs it ({} rounds):",
            args.paced_rounds
        );
        print_rounds(paced);
        println!(
            "ratio pglocks / (bare activity + blocking pids), paced: server time {:.2}x of the medians, median of the rounds' ratios {:.2}x (target: at most 1.5x)",
            paced.server_ratio(),
            paced.median_round_ratio()
        );
    }
    if !bench.plans {
        println!("(pg_stat_statements.track_planning is off: plan times read as 0)");
    }
    println!();
    println!(
        "client CPU per refresh (poll + decode + analysis + update + draw 200x60), {} refreshes: {:.2} ms (target: at most 5 ms)",
        args.cpu_polls, cpu_per_poll
    );
    println!(
        "  medians, wall: poll round trip {:.2} ms, analysis {:.2} ms, update {:.2} ms, draw {:.2} ms",
        median(&parts[0]),
        median(&parts[1]),
        median(&parts[2]),
        median(&parts[3])
    );
    println!(
        "time from connection-up to the first frame: median {:.1} ms of 5 (connect itself: {:.1} ms) (target: under 100 ms)",
        median(&first_frame),
        median(&connect_ms)
    );
    match terminate {
        Some((outcome, signalled, total, gone)) => println!(
            "confirmed terminate: {outcome} in {signalled:.0} ms; verified gone from the next poll: {gone}; screen updated {total:.0} ms after the confirm (target: within 1 s)"
        ),
        None => println!("confirmed terminate: not measured (PostgreSQL before 14)"),
    }
    for (pid, listed, unlisted) in &capped {
        println!("session {pid}: {listed} locks listed, {unlisted} more not listed (the cap)");
    }
    println!(
        "this process's peak RSS: {:.1} MB (it also holds the {} staged sessions; see the TUI's below)",
        own_rss as f64 / 1024.0,
        pile.sessions
    );
    if !windows.is_empty() {
        println!();
        println!(
            "| in tmux 200x60, refresh 1 s, {}s window | refreshes | server time per refresh | client CPU per refresh | peak RSS |",
            args.window.as_secs()
        );
        println!("|---|---|---|---|---|");
        for w in &windows {
            println!(
                "| {} | {} | {:.2} ms | {:.2} ms | {:.1} MB |",
                w.tool,
                w.refreshes,
                w.server_ms_per_refresh,
                w.cpu_ms_per_refresh,
                w.peak_rss_kb as f64 / 1024.0
            );
        }
        for w in &windows {
            println!(
                "{} ({:.1}s measured) screen: {}",
                w.tool, w.seconds, w.screen
            );
        }
    }
    drop(conn);
    drop(pile);
    Ok(())
}

/// What watching costs the workload: the interference windows (the monitors in tmux), then
/// the lock manager's.
async fn workload_modes(
    args: &Args,
    dsn: &str,
    bench: &Bench,
    conn: &Connection,
    pile: &pileup::Pileup,
) -> Result<()> {
    if let Some(window) = args.interference {
        if args.tmux {
            let pglocks = pglocks_bin(args).context(
                "the pglocks binary is not next to this example: cargo build --release (or pass --pglocks PATH)",
            )?;
            let opts = interference::Options {
                window,
                warmup: args.warmup,
                reps: args.interference_reps,
                clients: args.pgbench_clients,
                pglocks,
                pg_activity: pg_activity_bin(args),
            };
            interference::run(dsn, &opts).await?;
        } else {
            println!("! no tmux: the interference windows (monitors in tmux) are skipped");
        }
    }
    if let Some(window) = args.lock_manager {
        let opts = lock_manager::Options {
            window,
            reps: args.lock_manager_reps,
            clients: args.pgbench_clients,
        };
        lock_manager::run(dsn, bench, conn, &pile.waiters, &opts).await?;
    }
    Ok(())
}

/// `--pglocks`, else the binary next to this example (release or debug, as it was built).
fn pglocks_bin(args: &Args) -> Option<PathBuf> {
    match &args.pglocks {
        Some(p) => Some(p.clone()),
        None => std::env::current_exe()
            .ok()?
            .parent()
            .and_then(|examples| examples.parent())
            .map(|dir| dir.join("pglocks"))
            .filter(|p| p.is_file()),
    }
}

/// `--pg-activity`, else the first on PATH (not in a quick run: only when given).
fn pg_activity_bin(args: &Args) -> Option<PathBuf> {
    if args.quick {
        return args.pg_activity.clone();
    }
    args.pg_activity.clone().or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("pg_activity"))
                .find(|p| p.is_file())
        })
    })
}

fn print_rounds(r: &rounds::Rounds) {
    println!(
        "| statement | rows | server exec (median) | server plan (median) | round trip (median) | round trip p90 |"
    );
    println!("|---|---|---|---|---|---|");
    for (kind, s) in &r.samples {
        println!(
            "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            kind.label(),
            s.rows,
            median(&s.exec),
            median(&s.plan),
            median(&s.round_trip),
            quantile(&s.round_trip, 0.9)
        );
    }
}
