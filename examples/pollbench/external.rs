//! A monitor as people run it: in a terminal (tmux, 200x60), measured from the outside
//! through /proc (CPU, peak RSS) and pg_stat_statements (server time), over a window.
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::measure::{self, Bench, Kind};

pub struct Window {
    pub tool: String,
    pub seconds: f64,
    pub refreshes: i64,
    pub server_ms_per_refresh: f64,
    pub cpu_ms_per_refresh: f64,
    pub peak_rss_kb: u64,
    /// The first non-blank line on screen at the end, to show it was really working.
    pub screen: String,
}

/// Private tmux servers (a socket of our own per tool), so that no other tmux session is
/// touched, and one tool's server shutting down cannot race the next one's start.
pub struct Tmux {
    prefix: String,
}

pub fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Tmux {
    pub fn new() -> Result<Tmux> {
        if !tmux_installed() {
            bail!("tmux is not installed");
        }
        Ok(Tmux {
            prefix: format!("pollbench-{}", std::process::id()),
        })
    }

    fn tmux(&self, name: &str) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &format!("{}-{name}", self.prefix)]);
        c
    }

    /// Runs `argv` in a new 200x60 session and returns the pid of the program.
    pub fn start(&self, name: &str, argv: &[String]) -> Result<String> {
        let out = self
            .tmux(name)
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "200",
                "-y",
                "60",
                "-P",
                "-F",
            ])
            .arg("#{pane_pid}")
            .args(argv)
            .output()
            .context("starting tmux")?;
        if !out.status.success() {
            bail!(
                "tmux new-session: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    pub fn screen(&self, name: &str) -> String {
        self.tmux(name)
            .args(["capture-pane", "-p", "-t", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    pub fn stop(&self, name: &str) {
        let _ = self.tmux(name).arg("kill-server").output();
    }

    /// Runs the tool for `warmup` (connect, first frames), then measures it for `window`.
    /// A refresh is counted as one call of the tool's most frequent statement.
    pub async fn measure(
        &self,
        bench: &Bench,
        tool: &str,
        argv: &[String],
        warmup: Duration,
        window: Duration,
    ) -> Result<Window> {
        let name = tool.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let pid = self.start(&name, argv)?;
        let result = self.observe(bench, tool, &name, &pid, warmup, window).await;
        self.stop(&name);
        result
    }

    async fn observe(
        &self,
        bench: &Bench,
        tool: &str,
        name: &str,
        pid: &str,
        warmup: Duration,
        window: Duration,
    ) -> Result<Window> {
        tokio::time::sleep(warmup).await;
        bench.reset().await?;
        let cpu0 = measure::proc_cpu(pid)
            .with_context(|| format!("{tool} exited early: {}", self.screen(name)))?;
        let t0 = Instant::now();
        tokio::time::sleep(window).await;
        let cpu1 =
            measure::proc_cpu(pid).with_context(|| format!("{tool} exited during the window"))?;
        let seconds = t0.elapsed().as_secs_f64();
        let peak_rss_kb = measure::peak_rss_kb(pid).unwrap_or(0);
        let stats = bench.statements().await?;
        // Only the tool under test ran statements in the window; the staged sessions are
        // all blocked or idle.
        let refreshes = if tool.starts_with("pglocks") {
            stats
                .iter()
                .filter(|r| Kind::of_query(&r.query) == Some(Kind::Pglocks))
                .map(|r| r.calls)
                .sum()
        } else {
            stats.iter().map(|r| r.calls).max().unwrap_or(0)
        };
        let server_ms: f64 = stats.iter().map(|r| r.exec_ms + r.plan_ms).sum();
        // Which statements the server time went to, so a gap can be explained.
        for r in &stats {
            println!(
                "  {tool}: {} calls, {:.2} ms exec + {:.2} ms plan per call: {}",
                r.calls,
                r.exec_ms / r.calls.max(1) as f64,
                r.plan_ms / r.calls.max(1) as f64,
                r.query
                    .chars()
                    .take(70)
                    .collect::<String>()
                    .replace('\n', " ")
            );
        }
        let cpu_ms = measure::ms(cpu1.saturating_sub(cpu0));
        let per = |x: f64| {
            if refreshes > 0 {
                x / refreshes as f64
            } else {
                f64::NAN
            }
        };
        let screen = self
            .screen(name)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .chars()
            .take(120)
            .collect();
        Ok(Window {
            tool: tool.to_string(),
            seconds,
            refreshes,
            server_ms_per_refresh: per(server_ms),
            cpu_ms_per_refresh: per(cpu_ms),
            peak_rss_kb,
            screen,
        })
    }
}
