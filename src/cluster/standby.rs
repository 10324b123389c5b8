//! A streaming hot standby of a throwaway cluster: `pg_basebackup -R` from the running
//! primary into a new directory, started on a port of its own. The migration's
//! AccessExclusiveLock is replayed there, which is what the standby tests need to see.
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

use super::{Cluster, chown_to, free_port};

impl Cluster {
    /// A hot standby streaming from this (running) cluster. `settings` are its own extra
    /// `-c name=value` options (hot_standby_feedback, max_standby_streaming_delay, ...);
    /// the primary's are repeated first, as a standby refuses max_connections and
    /// max_prepared_transactions lower than its primary's.
    pub fn standby(&mut self, settings: &[&str]) -> Result<Cluster> {
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
        if self.bindir.join("pg_basebackup").is_file() {
            self.basebackup_into(&standby)?;
        } else {
            self.cold_copy_into(&mut standby)?;
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

    fn basebackup_into(&self, standby: &Cluster) -> Result<()> {
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
        Ok(())
    }

    /// The server-only builds of scripts/pg-binaries.sh have no pg_basebackup, and an
    /// older client cannot copy a newer server: a copy of the cleanly stopped primary is
    /// an equally valid base (it starts from the shutdown checkpoint), configured as
    /// `pg_basebackup -R` would. The primary restarts on its port, well under a second.
    fn cold_copy_into(&mut self, standby: &mut Cluster) -> Result<()> {
        self.pause()?;
        let mut cp = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "cp"]);
                c
            }
            None => Command::new("cp"),
        };
        let copied = cp
            .arg("-a")
            .arg(self.data())
            .arg(standby.data())
            .stdin(Stdio::null())
            .output()
            .context("copying the primary's data directory");
        self.resume()?;
        let out = copied?;
        if !out.status.success() {
            bail!(
                "copying the primary's data directory failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let conninfo = format!(
            "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres'\n",
            self.port
        );
        let auto = standby.data().join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
        text.push_str(&conninfo);
        standby.write_files(&[
            ("postgresql.auto.conf", text.as_bytes()),
            ("standby.signal", b""),
        ])
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
