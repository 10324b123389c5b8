//! What pglocks' reads of the lock manager cost OTHER backends. pg_lock_status() (once per
//! poll) and pg_blocking_pids() (once per waiter) hold all 16 lock-manager partition locks in
//! shared mode while they copy; meanwhile a backend that needs one of them in exclusive mode
//! (a lock that does not fit its 16 fast-path slots) waits. pgbench runs transactions that
//! each lock TABLES tables, so that TABLES - 16 of their locks go through the partitions, on
//! the staged pile-up, in interleaved windows: no monitor (twice), the poll at 1 s, at
//! 200 ms, back to back (the stress rate, to lift an effect above the noise), and a control:
//! `SELECT * FROM pg_stat_activity` back to back, which costs the server CPU but takes no
//! partition lock. Throughout every window a sampler reads, 20 times a second, how many of
//! pgbench's backends wait on the lock manager's LWLocks (wait_event LockManager, the
//! partition locks, or LockFastPath, a backend's fast-path slots, which pg_lock_status also
//! takes in turn): that share rises with the monitor's partition-lock holds and not with its
//! CPU, which TPS cannot tell apart on 2 shared cores. The two functions are also timed
//! alone, server-side, which bounds how long one call holds the partition locks, and so the
//! duty cycle at 1 s and 200 ms.
use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pglocks::db::Connection;
use tokio_postgres::Statement;

use crate::interference::{Sample, load_average, run_pgbench, spread};
use crate::measure::{self, Bench, Kind, median, ms, quantile};

/// Relations each pgbench transaction locks: 16 take the fast-path slots, the rest the
/// shared lock table through the partition locks (exclusive to acquire and to release).
const TABLES: usize = 32;
const LOCK_STATUS: &str = "SELECT count(*) FROM pg_lock_status()";
const BLOCKING: &str = "SELECT sum(cardinality(pg_blocking_pids(p))) FROM unnest($1::int4[]) p";
/// Calls of each function alone, for the hold times.
const TIMED_CALLS: usize = 50;
/// pgbench's backends, and how many of them wait on a lock-manager LWLock right now: over a
/// window, the share of their time spent so. Reads only the backend-status array: no
/// lock-manager lock of its own.
const LWLOCK_WAITS: &str = "SELECT count(*), count(*) FILTER (WHERE wait_event IN ('LockManager', 'LockFastPath')) FROM pg_stat_activity WHERE application_name = 'pgbench'";
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

pub struct Options {
    pub window: Duration,
    pub reps: usize,
    pub clients: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Monitor {
    None,
    Poll1s,
    Poll200ms,
    PollStress,
    ActivityStress,
}

impl Monitor {
    fn label(self) -> &'static str {
        match self {
            Monitor::None => "no monitor",
            Monitor::Poll1s => "pglocks poll, 1 s",
            Monitor::Poll200ms => "pglocks poll, 200 ms",
            Monitor::PollStress => "pglocks poll, back to back",
            Monitor::ActivityStress => "control: pg_stat_activity, back to back",
        }
    }
}

/// One repetition's order before rotation: the no-monitor window twice, as in interference.
const ORDER: [Monitor; 6] = [
    Monitor::None,
    Monitor::Poll1s,
    Monitor::PollStress,
    Monitor::None,
    Monitor::Poll200ms,
    Monitor::ActivityStress,
];

struct Window {
    sample: Sample<Monitor>,
    calls_per_s: f64,
    /// Of the sampled pgbench backends, the share waiting on a lock-manager LWLock.
    lwlock_share: f64,
    /// (waiting, seen): pgbench backends over every sample of the window.
    waits: (i64, i64),
    /// The monitor's statements' server time (exec + plan) per second of the window.
    server_ms_per_s: f64,
}

/// Backends seen and those of them waiting on a lock-manager LWLock, over a window.
#[derive(Default)]
struct Waits {
    seen: Cell<i64>,
    waiting: Cell<i64>,
}

/// Server time per call of the two functions alone (pg_stat_statements' mean execution
/// time, else the client's round trip): an upper bound on how long a call holds the
/// partition locks, as the function copies under them and does the rest after.
struct Holds {
    lock_status_ms: f64,
    blocking_ms_per_waiter: f64,
    lock_rows: i64,
    source: &'static str,
}

pub async fn run(
    dsn: &str,
    bench: &Bench,
    conn: &Connection,
    waiters: &[i32],
    opts: &Options,
) -> Result<()> {
    let dir = tempfile::tempdir().context("a directory for pgbench's script and logs")?;
    let script = dir.path().join("lock_many.sql");
    setup(bench, &script).await?;
    let holds = hold_times(bench, waiters).await?;
    let sampler = Bench::connect(dsn)
        .await
        .context("the LWLock-wait sampler")?;
    let sample = sampler.client.prepare(LWLOCK_WAITS).await?;
    println!(
        "lock manager: {} repetitions x {} windows of {}s, pgbench -c {} -j 2 -f (BEGIN; LOCK TABLE {TABLES} tables IN ACCESS SHARE MODE; COMMIT), {} waiters",
        opts.reps,
        ORDER.len(),
        opts.window.as_secs(),
        opts.clients,
        waiters.len()
    );
    let script_arg = format!("--file={}", script.display());
    let mut windows: Vec<Window> = Vec::new();
    for rep in 0..opts.reps {
        for i in 0..ORDER.len() {
            let monitor = ORDER[(i + rep) % ORDER.len()];
            let prefix = dir.path().join(format!("w{}", windows.len()));
            let watchers = Watchers {
                bench,
                conn,
                sampler: &sampler,
                sample: &sample,
            };
            let w = window(dsn, &watchers, opts, &script_arg, monitor, rep, &prefix).await?;
            println!(
                "  rep {} {:<40} {:>8.0} tps  p99 {:>7.2} ms  {:>7.1} calls/s  server {:>6.1} ms/s  LWLock waits {:>6.3}% ({} of {} sampled)  pollbench CPU {:>6.1} ms/s  load {:.2}",
                rep + 1,
                monitor.label(),
                w.sample.tps,
                w.sample.p99_ms,
                w.calls_per_s,
                w.server_ms_per_s,
                w.lwlock_share * 100.0,
                w.waits.0,
                w.waits.1,
                w.sample.monitor_cpu_ms_per_s.unwrap_or(f64::NAN),
                w.sample.load1
            );
            windows.push(w);
        }
    }
    report(&windows, &holds, waiters.len());
    Ok(())
}

/// The tables and the pgbench script; checks that the script's transactions really go
/// through the partition locks (some of their locks are not fast-path).
async fn setup(bench: &Bench, script: &Path) -> Result<()> {
    let names: Vec<String> = (1..=TABLES).map(|i| format!("pollbench_lm_{i}")).collect();
    let mut ddl = String::new();
    for n in &names {
        ddl.push_str(&format!(
            "DROP TABLE IF EXISTS {n}; CREATE TABLE {n} (id int PRIMARY KEY);"
        ));
    }
    bench.client.batch_execute(&ddl).await?;
    let lock = format!("LOCK TABLE {} IN ACCESS SHARE MODE;", names.join(", "));
    std::fs::write(script, format!("BEGIN;\n{lock}\nCOMMIT;\n"))
        .context("writing pgbench's script")?;
    bench
        .client
        .batch_execute(&format!("BEGIN; {lock}"))
        .await?;
    let counted = bench
        .client
        .query_one(
            "SELECT count(*) FILTER (WHERE fastpath), count(*) FILTER (WHERE NOT fastpath) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation IN (SELECT oid FROM pg_class WHERE relname LIKE 'pollbench\\_lm\\_%')",
            &[],
        )
        .await;
    bench.client.batch_execute("ROLLBACK").await?;
    let row = counted?;
    let (fast, shared): (i64, i64) = (row.get(0), row.get(1));
    println!(
        "one transaction of the workload: {fast} relation locks on the fast path, {shared} through the partition locks"
    );
    if shared == 0 {
        bail!(
            "the workload's locks all fit the fast path: it would not exercise the partition locks"
        );
    }
    Ok(())
}

async fn hold_times(bench: &Bench, waiters: &[i32]) -> Result<Holds> {
    let lock_rows: i64 = bench
        .client
        .query_one("SELECT count(*) FROM pg_locks WHERE NOT fastpath", &[])
        .await?
        .get(0);
    let status = bench.client.prepare(LOCK_STATUS).await?;
    let blocking = bench.client.prepare(BLOCKING).await?;
    // Once each first, so the timed calls find the plans and catalogs cached.
    bench.client.query_one(&status, &[]).await?;
    bench.client.query_one(&blocking, &[&waiters]).await?;
    bench.reset().await?;
    let mut rt = (Vec::new(), Vec::new());
    for _ in 0..TIMED_CALLS {
        let t = Instant::now();
        bench.client.query_one(&status, &[]).await?;
        rt.0.push(ms(t.elapsed()));
        let t = Instant::now();
        bench.client.query_one(&blocking, &[&waiters]).await?;
        rt.1.push(ms(t.elapsed()));
    }
    let per_waiter = |total: f64| total / waiters.len().max(1) as f64;
    let stats = bench.statements().await?;
    let mean = |sql: &str| {
        stats
            .iter()
            .find(|r| r.query.trim() == sql)
            .map(|r| r.exec_ms / r.calls.max(1) as f64)
    };
    let holds = match (mean(LOCK_STATUS), mean(BLOCKING)) {
        (Some(s), Some(b)) => Holds {
            lock_status_ms: s,
            blocking_ms_per_waiter: per_waiter(b),
            lock_rows,
            source: "server execution time, pg_stat_statements",
        },
        _ => Holds {
            lock_status_ms: median(&rt.0),
            blocking_ms_per_waiter: per_waiter(median(&rt.1)),
            lock_rows,
            source: "client round trip (no pg_stat_statements)",
        },
    };
    println!(
        "alone, {TIMED_CALLS} calls each ({}): pg_lock_status() {:.3} ms per call ({} rows outside the fast path), pg_blocking_pids() {:.4} ms per call ({} waiters per statement)",
        holds.source,
        holds.lock_status_ms,
        holds.lock_rows,
        holds.blocking_ms_per_waiter,
        waiters.len()
    );
    Ok(holds)
}

/// The sessions a window runs besides pgbench: the monitor's and the sampler's.
struct Watchers<'a> {
    bench: &'a Bench,
    conn: &'a Connection,
    sampler: &'a Bench,
    sample: &'a Statement,
}

async fn window(
    dsn: &str,
    watchers: &Watchers<'_>,
    opts: &Options,
    script_arg: &str,
    monitor: Monitor,
    rep: usize,
    log_prefix: &Path,
) -> Result<Window> {
    let calls = Cell::new(0u64);
    let waits = Waits::default();
    watchers.bench.reset().await?;
    let cpu0 = measure::self_cpu().context("reading /proc/self")?;
    let t = Instant::now();
    let extra = [script_arg];
    let bench_run = run_pgbench(dsn, opts.clients, opts.window, &extra, log_prefix);
    let (tps, p99_ms) = tokio::select! {
        r = bench_run => r?,
        r = watch(watchers.bench, watchers.conn, monitor, &calls) => {
            r?;
            bail!("{} stopped", monitor.label())
        }
        r = sample_waits(watchers.sampler, watchers.sample, &waits) => {
            r?;
            bail!("the LWLock-wait sampler stopped")
        }
    };
    let seconds = t.elapsed().as_secs_f64();
    let cpu1 = measure::self_cpu().context("reading /proc/self")?;
    // Everything but pgbench's statements and the sampler's is the monitor's.
    let server_ms = watchers
        .bench
        .statements()
        .await?
        .iter()
        .filter(|r| {
            let q = r.query.trim_start();
            !["BEGIN", "COMMIT", "LOCK TABLE"]
                .iter()
                .any(|p| q.starts_with(p))
                && !q.contains("wait_event IN")
        })
        // A fold from +0: an empty f64 sum is -0, printed as "-0.0".
        .fold(0.0, |sum, r| sum + r.exec_ms + r.plan_ms);
    if waits.seen.get() == 0 {
        bail!("the sampler never saw pgbench's backends");
    }
    Ok(Window {
        sample: Sample {
            monitor,
            rep,
            tps,
            p99_ms,
            monitor_cpu_ms_per_s: Some(ms(cpu1.saturating_sub(cpu0)) / seconds),
            load1: load_average()?,
        },
        calls_per_s: calls.get() as f64 / seconds,
        lwlock_share: waits.waiting.get() as f64 / waits.seen.get() as f64,
        waits: (waits.waiting.get(), waits.seen.get()),
        server_ms_per_s: server_ms / seconds,
    })
}

/// Samples pgbench's backends' wait events until dropped (or it fails).
async fn sample_waits(sampler: &Bench, sample: &Statement, waits: &Waits) -> Result<()> {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let row = sampler.client.query_one(sample, &[]).await?;
        let (seen, waiting): (i64, i64) = (row.get(0), row.get(1));
        waits.seen.set(waits.seen.get() + seen);
        waits.waiting.set(waits.waiting.get() + waiting);
    }
}

/// The monitor of a window, until it is dropped (or fails).
async fn watch(
    bench: &Bench,
    conn: &Connection,
    monitor: Monitor,
    calls: &Cell<u64>,
) -> Result<()> {
    let interval = match monitor {
        Monitor::None => return std::future::pending().await,
        Monitor::Poll1s => Some(Duration::from_secs(1)),
        Monitor::Poll200ms => Some(Duration::from_millis(200)),
        Monitor::PollStress | Monitor::ActivityStress => None,
    };
    loop {
        let t = Instant::now();
        if monitor == Monitor::ActivityStress {
            bench.run(Kind::Activity).await?;
        } else {
            conn.poll(None).await?;
        }
        calls.set(calls.get() + 1);
        if let Some(i) = interval {
            tokio::time::sleep(i.saturating_sub(t.elapsed())).await;
        }
    }
}

fn report(windows: &[Window], holds: &Holds, waiters: usize) {
    let samples: Vec<Sample<Monitor>> = windows.iter().map(|w| w.sample.clone()).collect();
    let of = |m: Monitor| windows.iter().filter(move |w| w.sample.monitor == m);
    println!();
    println!(
        "| monitor | windows | calls per s | monitor's server time per s | TPS / no monitor, median (range) | p99 / no monitor, median (range) | TPS | p99 | pgbench backends in lock-manager LWLock waits, median (range) | pollbench CPU per s | load avg 1 min |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for m in [
        Monitor::None,
        Monitor::Poll1s,
        Monitor::Poll200ms,
        Monitor::PollStress,
        Monitor::ActivityStress,
    ] {
        let (tps, p99) = Sample::ratios(&samples, m, Monitor::None);
        let col = |f: fn(&Window) -> f64| of(m).map(f).collect::<Vec<f64>>();
        let load = col(|w| w.sample.load1);
        let lw = col(|w| w.lwlock_share * 100.0);
        println!(
            "| {} | {} | {:.1} | {:.1} ms | {} | {} | {:.0} | {:.2} ms | {:.3}% ({:.3}-{:.3}%) | {:.1} ms | {:.2}-{:.2} |",
            m.label(),
            tps.len(),
            median(&col(|w| w.calls_per_s)),
            median(&col(|w| w.server_ms_per_s)),
            spread(&tps),
            spread(&p99),
            median(&col(|w| w.sample.tps)),
            median(&col(|w| w.sample.p99_ms)),
            median(&lw),
            quantile(&lw, 0.0),
            quantile(&lw, 1.0),
            median(&col(|w| w.sample.monitor_cpu_ms_per_s.unwrap_or(f64::NAN))),
            quantile(&load, 0.0),
            quantile(&load, 1.0)
        );
    }

    // Per poll: one pg_lock_status() and one pg_blocking_pids() per waiter, each holding
    // all 16 partition locks for at most its own time.
    let hold_ms = holds.lock_status_ms + waiters as f64 * holds.blocking_ms_per_waiter;
    println!();
    println!(
        "partition locks held per poll, at most: {:.3} ms (pg_lock_status {:.3} ms + {waiters} x pg_blocking_pids {:.4} ms); duty cycle at 1 s {:.3}%, at 200 ms {:.3}%",
        hold_ms,
        holds.lock_status_ms,
        holds.blocking_ms_per_waiter,
        hold_ms / 1000.0 * 100.0,
        hold_ms / 200.0 * 100.0
    );

    // Per poll in the stress windows, each against its repetition's no-monitor windows:
    // transactions lost (CPU and locks together), and the added share of pgbench's backends
    // waiting on lock-manager LWLocks (the locks alone).
    let base = |rep: usize, f: fn(&Window) -> f64| {
        let v: Vec<f64> = of(Monitor::None)
            .filter(|w| w.sample.rep == rep)
            .map(f)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let per = |m: Monitor, f: fn(&Window) -> f64, unit: fn(&Window) -> f64| -> Vec<f64> {
        of(m)
            .filter(|w| unit(w) > 0.0)
            .filter_map(|w| Some((base(w.sample.rep, f)? - f(w)) / unit(w)))
            .collect()
    };
    let per_poll = |f: fn(&Window) -> f64| per(Monitor::PollStress, f, |w| w.calls_per_s);
    let none_tps = median(&of(Monitor::None).map(|w| w.sample.tps).collect::<Vec<_>>());
    let lost = per_poll(|w| w.sample.tps);
    // Negated: more waiting is a cost.
    let waits: Vec<f64> = per_poll(|w| w.lwlock_share * 100.0)
        .iter()
        .map(|x| -x)
        .collect();
    if lost.is_empty() {
        return;
    }
    let (l, wt) = (median(&lost), median(&waits));
    println!(
        "per poll a second, from the back-to-back windows against no monitor ({waiters} waiters): {l:.2} transactions a second lost (range {:.2}-{:.2}), {wt:.4} percentage points more of pgbench's backends' time in lock-manager LWLock waits (range {:.4}-{:.4})",
        quantile(&lost, 0.0),
        quantile(&lost, 1.0),
        quantile(&waits, 0.0),
        quantile(&waits, 1.0)
    );
    println!(
        "extrapolated: at 1 s {:.3}% of {none_tps:.0} TPS and +{:.4} points of LWLock waits; at 200 ms {:.3}% and +{:.4} points",
        l / none_tps * 100.0,
        wt,
        l * 5.0 / none_tps * 100.0,
        wt * 5.0
    );
    // The same losses per ms of server time a second, the poll against the control: if the
    // poll's partition-lock holds cost beyond its CPU, its figures are the larger.
    for m in [Monitor::PollStress, Monitor::ActivityStress] {
        let tps = per(m, |w| w.sample.tps, |w| w.server_ms_per_s);
        let lw: Vec<f64> = per(m, |w| w.lwlock_share * 100.0, |w| w.server_ms_per_s)
            .iter()
            .map(|x| -x)
            .collect();
        if tps.is_empty() {
            continue;
        }
        println!(
            "{}: per ms of server time a second, {:.2} transactions a second lost (range {:.2}-{:.2}), +{:.4} points of LWLock waits (range {:.4}-{:.4})",
            m.label(),
            median(&tps),
            quantile(&tps, 0.0),
            quantile(&tps, 1.0),
            median(&lw),
            quantile(&lw, 0.0),
            quantile(&lw, 1.0)
        );
    }
}
