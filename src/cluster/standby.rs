//! A streaming hot standby of a throwaway cluster: `pg_basebackup -R` from the running
//! primary into a new directory, started on a port of its own. The migration's
//! AccessExclusiveLock is replayed there, which is what the standby tests need to see.
use std::process::Stdio;

use anyhow::{Context, Result, anyhow, bail};

use super::{Cluster, chown_to, free_port};

impl Cluster {
    /// A hot standby streaming from this (running) cluster. `settings` are its own extra
    /// `-c name=value` options (hot_standby_feedback, max_standby_streaming_delay, ...);
    /// the primary's are repeated first, as a standby refuses max_connections and
    /// max_prepared_transactions lower than its primary's.
    pub fn standby(&self, settings: &[&str]) -> Result<Cluster> {
        if !self.running {
            bail!("the primary is not running; a standby cannot be copied from it");
        }
        let dir = tempfile::Builder::new()
            .prefix("pglocks-standby-")
            .tempdir()
            .context("creating a directory for the standby")?;
        if let Some(user) = &self.run_as {
            chown_to(dir.path(), user)?;
        }
        let mut all = self.settings.clone();
        all.extend(settings.iter().map(|s| s.to_string()));
        let mut standby = Cluster {
            dir,
            port: 0,
            bindir: self.bindir.clone(),
            run_as: self.run_as.clone(),
            running: false,
            settings: all,
        };
        // -c fast: an immediate checkpoint instead of a spread one, which would take
        // checkpoint_timeout * checkpoint_completion_target on a quiet server.
        let out = standby
            .command("pg_basebackup")
            .arg("-D")
            .arg(standby.data())
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-R", "-X", "stream", "-c", "fast"])
            .stdout(Stdio::null())
            .output()
            .context("running pg_basebackup")?;
        if !out.status.success() {
            bail!(
                "pg_basebackup failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut last = None;
        for _ in 0..3 {
            standby.port = free_port()?;
            match standby.pg_ctl_start() {
                Ok(()) => {
                    standby.running = true;
                    return Ok(standby);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("could not start the standby")))
    }

    /// The server's pid (postmaster.pid's first line), to freeze it with SIGSTOP in tests
    /// of a server that stops answering.
    pub fn postmaster_pid(&self) -> Result<i32> {
        let text = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .context("reading postmaster.pid")?;
        text.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| anyhow!("postmaster.pid has no pid"))
    }
}
