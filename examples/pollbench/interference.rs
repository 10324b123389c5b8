//! Does watching the server slow its workload? pgbench (select-only and tpcb-like, enough
//! clients to keep the cores busy) runs on the staged pile-up in interleaved windows: no
//! monitor, the pglocks live view at 1 s and at 200 ms, `pglocks record` at 1 s, and
//! pg_activity at 1 s. Each window's TPS and p99 latency are compared with the windows
//! without a monitor in the same repetition; the no-monitor windows against each other show
//! the noise. The 1-minute load average is printed beside every figure: on a shared machine
//! it says how far to trust them.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::external::Tmux;
use crate::measure::{median, proc_cpu, quantile};

pub struct Options {
    pub window: Duration,
    /// A monitor runs this long before its window starts.
    pub warmup: Duration,
    pub reps: usize,
    pub clients: usize,
    pub pglocks: PathBuf,
    pub pg_activity: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Monitor {
    None,
    Live1s,
    Live200ms,
    Record1s,
    PgActivity,
}

impl Monitor {
    fn label(self) -> &'static str {
        match self {
            Monitor::None => "no monitor",
            Monitor::Live1s => "pglocks live view, 1 s",
            Monitor::Live200ms => "pglocks live view, 200 ms",
            Monitor::Record1s => "pglocks record, 1 s",
            Monitor::PgActivity => "pg_activity, 1 s",
        }
    }
}

/// One repetition's order before rotation: the no-monitor window twice, so that each
/// repetition has its own baseline and its own noise.
const ORDER: [Monitor; 6] = [
    Monitor::None,
    Monitor::Live1s,
    Monitor::Record1s,
    Monitor::None,
    Monitor::Live200ms,
    Monitor::PgActivity,
];

#[derive(Debug, Clone, Copy)]
enum Workload {
    SelectOnly,
    TpcbLike,
}

impl Workload {
    fn label(self) -> &'static str {
        match self {
            Workload::SelectOnly => "select-only",
            Workload::TpcbLike => "tpcb-like",
        }
    }
}

/// One pgbench window under one monitor (or none).
#[derive(Clone)]
pub struct Sample<M> {
    pub monitor: M,
    pub rep: usize,
    pub tps: f64,
    pub p99_ms: f64,
    /// The monitor's own CPU over the window, per second.
    pub monitor_cpu_ms_per_s: Option<f64>,
    pub load1: f64,
}

impl<M: Copy + PartialEq> Sample<M> {
    /// The windows of `monitor`, each against the mean of its own repetition's `baseline`
    /// windows: (TPS ratios, p99 ratios).
    pub fn ratios(samples: &[Sample<M>], monitor: M, baseline: M) -> (Vec<f64>, Vec<f64>) {
        let mean = |rep: usize, f: fn(&Sample<M>) -> f64| {
            let v: Vec<f64> = samples
                .iter()
                .filter(|s| s.rep == rep && s.monitor == baseline)
                .map(f)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        samples
            .iter()
            .filter(|s| s.monitor == monitor)
            .map(|s| {
                (
                    s.tps / mean(s.rep, |b| b.tps),
                    s.p99_ms / mean(s.rep, |b| b.p99_ms),
                )
            })
            .unzip()
    }
}

/// "median (min-max)".
pub fn spread(v: &[f64]) -> String {
    format!(
        "{:.3} ({:.3}-{:.3})",
        median(v),
        quantile(v, 0.0),
        quantile(v, 1.0)
    )
}

/// The pgbench tables next to the pile-up's (scale 10: a million accounts, a few seconds).
pub fn init(dsn: &str, scale: u32) -> Result<()> {
    let out = Command::new(pgbench_program())
        .args(["-i", "-q", "-s", &scale.to_string(), dsn])
        .output()
        .context("running pgbench -i (is pgbench installed?)")?;
    if !out.status.success() {
        bail!(
            "pgbench -i: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub async fn run(dsn: &str, opts: &Options) -> Result<()> {
    let tmux = Tmux::new()?;
    let logs = tempfile::tempdir().context("a directory for pgbench's logs")?;
    let monitors: Vec<Monitor> = ORDER
        .into_iter()
        .filter(|m| *m != Monitor::PgActivity || opts.pg_activity.is_some())
        .collect();
    if opts.pg_activity.is_none() {
        println!(
            "! no pg_activity (pip install pg_activity, or pass --pg-activity PATH): its windows are left out"
        );
    }
    println!(
        "interference: {} repetitions x 2 workloads x {} windows of {}s, pgbench -c {} -j 2",
        opts.reps,
        monitors.len(),
        opts.window.as_secs(),
        opts.clients
    );
    let mut results: Vec<(Workload, Vec<Sample<Monitor>>)> = vec![
        (Workload::SelectOnly, Vec::new()),
        (Workload::TpcbLike, Vec::new()),
    ];
    let mut n = 0;
    for rep in 0..opts.reps {
        for (workload, samples) in &mut results {
            for i in 0..monitors.len() {
                let monitor = monitors[(i + rep) % monitors.len()];
                n += 1;
                let s = window(
                    &tmux,
                    dsn,
                    opts,
                    *workload,
                    monitor,
                    rep,
                    &logs.path().join(format!("w{n}")),
                )
                .await?;
                println!(
                    "  rep {} {:<11} {:<26} {:>8.0} tps  p99 {:>7.2} ms  monitor CPU {:>6}  load {:.2}",
                    rep + 1,
                    workload.label(),
                    monitor.label(),
                    s.tps,
                    s.p99_ms,
                    s.monitor_cpu_ms_per_s
                        .map_or("-".to_string(), |c| format!("{c:.1} ms/s")),
                    s.load1
                );
                samples.push(s);
            }
        }
    }
    println!();
    println!(
        "| workload | monitor | windows | TPS / no monitor, median (range) | p99 / no monitor, median (range) | TPS | p99 | monitor CPU per s | load avg 1 min |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    const ROWS: [Monitor; 5] = [
        Monitor::None,
        Monitor::Live1s,
        Monitor::Live200ms,
        Monitor::Record1s,
        Monitor::PgActivity,
    ];
    for (workload, samples) in &results {
        for m in ROWS.iter().filter(|m| monitors.contains(m)) {
            print_row(*workload, *m, samples);
        }
    }
    Ok(())
}

fn print_row(workload: Workload, monitor: Monitor, samples: &[Sample<Monitor>]) {
    let (tps, p99) = Sample::ratios(samples, monitor, Monitor::None);
    let mine: Vec<&Sample<Monitor>> = samples.iter().filter(|s| s.monitor == monitor).collect();
    let abs_tps: Vec<f64> = mine.iter().map(|s| s.tps).collect();
    let abs_p99: Vec<f64> = mine.iter().map(|s| s.p99_ms).collect();
    let cpu: Vec<f64> = mine.iter().filter_map(|s| s.monitor_cpu_ms_per_s).collect();
    let load: Vec<f64> = mine.iter().map(|s| s.load1).collect();
    println!(
        "| {} | {} | {} | {} | {} | {:.0} | {:.2} ms | {} | {:.2}-{:.2} |",
        workload.label(),
        monitor.label(),
        mine.len(),
        spread(&tps),
        spread(&p99),
        median(&abs_tps),
        median(&abs_p99),
        if cpu.is_empty() {
            "-".to_string()
        } else {
            format!("{:.1} ms", median(&cpu))
        },
        quantile(&load, 0.0),
        quantile(&load, 1.0)
    );
}

/// The monitor's command line, run in a 200x60 tmux pane.
fn monitor_argv(monitor: Monitor, dsn: &str, opts: &Options, logs: &Path) -> Option<Vec<String>> {
    let pglocks = opts.pglocks.display().to_string();
    let v = |args: &[&str]| Some(args.iter().map(|s| s.to_string()).collect());
    match monitor {
        Monitor::None => None,
        Monitor::Live1s => v(&[&pglocks, dsn, "--interval", "1s"]),
        Monitor::Live200ms => v(&[&pglocks, dsn, "--interval", "200ms"]),
        Monitor::Record1s => {
            let name = logs.file_name()?.to_string_lossy();
            let out = logs.with_file_name(format!("record-{name}.jsonl"));
            v(&[
                &pglocks,
                "record",
                dsn,
                "--interval",
                "1s",
                "--output",
                &out.display().to_string(),
            ])
        }
        Monitor::PgActivity => {
            let bin = opts.pg_activity.as_ref()?.display().to_string();
            v(&[&bin, "--refresh", "1", dsn])
        }
    }
}

async fn window(
    tmux: &Tmux,
    dsn: &str,
    opts: &Options,
    workload: Workload,
    monitor: Monitor,
    rep: usize,
    log_prefix: &Path,
) -> Result<Sample<Monitor>> {
    // A tmux server of its own per window: one shutting down cannot race the next's start.
    let name = format!(
        "interference-{}",
        log_prefix
            .file_name()
            .map_or("w".into(), |n| n.to_string_lossy())
    );
    let pid = match monitor_argv(monitor, dsn, opts, log_prefix) {
        Some(argv) => {
            let pid = tmux.start(&name, &argv)?;
            // Connected, first frames drawn (pg_activity's Python takes the longest).
            tokio::time::sleep(opts.warmup).await;
            Some(pid)
        }
        None => None,
    };
    let cpu0 = pid.as_deref().and_then(proc_cpu);
    let bench = pgbench(dsn, opts, workload, log_prefix).await;
    let cpu1 = pid.as_deref().and_then(proc_cpu);
    let screen = tmux.screen(&name);
    if pid.is_some() {
        tmux.stop(&name);
    }
    let (tps, p99_ms) = bench?;
    if pid.is_some() && (cpu0.is_none() || cpu1.is_none()) {
        bail!(
            "{} was not running through the window: {}",
            monitor.label(),
            screen.trim()
        );
    }
    let monitor_cpu_ms_per_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => {
            Some(b.saturating_sub(a).as_secs_f64() * 1000.0 / opts.window.as_secs_f64())
        }
        _ => None,
    };
    Ok(Sample {
        monitor,
        rep,
        tps,
        p99_ms,
        monitor_cpu_ms_per_s,
        load1: load_average()?,
    })
}

/// One pgbench window: TPS from its summary, p99 from its per-transaction log.
async fn pgbench(
    dsn: &str,
    opts: &Options,
    workload: Workload,
    log_prefix: &Path,
) -> Result<(f64, f64)> {
    let extra: &[&str] = match workload {
        Workload::SelectOnly => &["--select-only"],
        Workload::TpcbLike => &[],
    };
    run_pgbench(dsn, opts.clients, opts.window, extra, log_prefix).await
}

/// Runs `pgbench -n -j 2 -l` for `window` with `clients` and the `extra` arguments;
/// returns its TPS (summary) and p99 latency in ms (per-transaction log).
pub async fn run_pgbench(
    dsn: &str,
    clients: usize,
    window: Duration,
    extra: &[&str],
    log_prefix: &Path,
) -> Result<(f64, f64)> {
    let mut cmd = tokio::process::Command::new(pgbench_program());
    cmd.args(["-n", "-j", "2", "-l"])
        .arg(format!("--log-prefix={}", log_prefix.display()))
        .arg(format!("--client={clients}"))
        .arg(format!("--time={}", window.as_secs()))
        .args(extra)
        // A window given up (a failed monitor, Ctrl-C) must not leave pgbench running.
        .kill_on_drop(true);
    let out = cmd.arg(dsn).output().await.context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench's output: {stdout}"))?;
    let latencies = read_latencies(log_prefix)?;
    if latencies.is_empty() {
        bail!(
            "pgbench wrote no transaction log under {}",
            log_prefix.display()
        );
    }
    Ok((tps, quantile(&latencies, 0.99)))
}

/// The pgbench next to the server binaries the cluster runs (Debian keeps it there, with
/// only a wrapper on PATH that needs the client package), else the one on PATH.
fn pgbench_program() -> PathBuf {
    pglocks::cluster::find_bindir()
        .ok()
        .map(|dir| dir.join("pgbench"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("pgbench"))
}

/// Per-transaction latencies in ms from every thread's log (`PREFIX.PID[.THREAD]`), which
/// are removed after reading. The third field of a line is the latency in microseconds.
fn read_latencies(prefix: &Path) -> Result<Vec<f64>> {
    let dir = prefix.parent().context("the log prefix has no directory")?;
    let stem = format!(
        "{}.",
        prefix
            .file_name()
            .context("the log prefix has no name")?
            .to_string_lossy()
    );
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&stem));
        if !is_log {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        out.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2))
                .filter_map(|v| v.parse::<f64>().ok())
                .map(|us| us / 1000.0),
        );
        std::fs::remove_file(&path)?;
    }
    Ok(out)
}

pub fn load_average() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").context("reading /proc/loadavg")?;
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("unexpected /proc/loadavg")
}
