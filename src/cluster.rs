//! A throwaway PostgreSQL cluster for `pglocks demo` and for the tests: initdb, pg_ctl,
//! a free port, and an unprivileged OS user when we run as root (initdb refuses root).
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

mod standby;

/// The role that tests use to check password authentication (scram over TCP).
pub const PASSWORD_ROLE: &str = "pglocks_pw";

pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
    bindir: PathBuf,
    run_as: Option<String>,
    running: bool,
    settings: Vec<String>,
}

const HOW_TO_GET_ONE: &str = "apt-get install postgresql (or dnf install postgresql-server, brew install postgresql), or fetch them with scripts/pg-binaries.sh and set PGLOCKS_PG_BINDIR to their bin directory; tests can use PGLOCKS_TEST_DSN instead (see docs/testing.md)";

/// Where initdb and pg_ctl are: $PGLOCKS_PG_BINDIR, `pg_config --bindir`, PATH, then the
/// newest /usr/lib/postgresql/*/bin.
pub fn find_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PGLOCKS_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
        bail!(
            "PGLOCKS_PG_BINDIR={} has no initdb: {HOW_TO_GET_ONE}",
            dir.display()
        );
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(dir);
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| anyhow!("no PostgreSQL server binaries (initdb) found: {HOW_TO_GET_ONE}"))
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

impl Cluster {
    /// initdb and start a new cluster. `settings` are extra `-c name=value` server options.
    pub fn start(settings: &[&str]) -> Result<Cluster> {
        Self::start_with_files(settings, &[])
    }

    /// As [`Cluster::start`], with `(file name, contents)` written into the data directory
    /// before the server starts: a TLS key and certificate, or a pg_hba.conf replacing
    /// ours. They belong to the server's account with mode 0600, as PostgreSQL demands of
    /// a private key.
    pub fn start_with_files(settings: &[&str], files: &[(&str, &[u8])]) -> Result<Cluster> {
        let bindir = find_bindir()?;
        let run_as = unprivileged_user()?;
        let dir = tempfile::Builder::new()
            .prefix("pglocks-pg-")
            .tempdir()
            .context("creating a directory for the throwaway cluster")?;
        if let Some(user) = &run_as {
            chown_to(dir.path(), user)?;
        }
        let mut cluster = Cluster {
            dir,
            port: 0,
            bindir,
            run_as,
            running: false,
            settings: settings.iter().map(|s| s.to_string()).collect(),
        };
        cluster.initdb()?;
        cluster.write_files(files)?;
        let mut last = None;
        for _ in 0..3 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    cluster.running = true;
                    return Ok(cluster);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("could not start PostgreSQL")))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, program: &str) -> Command {
        let bin = self.bindir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    fn initdb(&self) -> Result<()> {
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "-N",
            ])
            .output()
            .context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // Password auth for one role over TCP, so that tests can check a wrong password.
        // Scram needs a scram-stored password: the server stores them so (see pg_ctl_start)
        // even on 13, whose default password_encryption is md5.
        let hba = format!(
            "local all all trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\nhost all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
        );
        std::fs::write(self.data().join("pg_hba.conf"), hba).context("writing pg_hba.conf")?;
        Ok(())
    }

    fn write_files(&self, files: &[(&str, &[u8])]) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for (name, contents) in files {
            if name.contains('/') || name.starts_with('.') {
                bail!("{name:?} is not a plain file name for the data directory");
            }
            let path = self.data().join(name);
            std::fs::write(&path, contents)
                .with_context(|| format!("writing {}", path.display()))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("making {} private", path.display()))?;
            if let Some(user) = &self.run_as {
                chown_to(&path, user)?;
            }
        }
        Ok(())
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let mut opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=500 -c max_prepared_transactions=10 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB -c password_encryption=scram-sha-256",
            self.port,
            self.socket_dir().display()
        );
        for s in &self.settings {
            opts.push_str(" -c ");
            opts.push_str(s);
        }
        let log = self.dir.path().join("server.log");
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "30", "-o", &opts, "start"])
            .output()
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            bail!(
                "PostgreSQL did not start on port {}: {}",
                self.port,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        Ok(())
    }

    /// A libpq conninfo string for `database` as the bootstrap superuser, over TCP.
    pub fn dsn(&self, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={database} sslmode=disable",
            self.port
        )
    }

    /// Stops the server but keeps its data and port: what a monitor sees during a restart.
    pub fn pause(&mut self) -> Result<()> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .context("running pg_ctl stop")?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.running = false;
        Ok(())
    }

    /// Starts a paused server again on the same port.
    pub fn resume(&mut self) -> Result<()> {
        self.pg_ctl_start()?;
        self.running = true;
        Ok(())
    }

    /// Stops the server at once; the data is thrown away anyway.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// initdb refuses to run as root, so as root we run the server as `postgres` (or
/// `nobody`); $PGLOCKS_PG_USER picks another account.
fn unprivileged_user() -> Result<Option<String>> {
    if !nix::unistd::Uid::effective().is_root() {
        return Ok(None);
    }
    let candidates = std::env::var("PGLOCKS_PG_USER")
        .map(|u| vec![u])
        .unwrap_or_else(|_| vec!["postgres".into(), "nobody".into()]);
    for name in candidates {
        if let Ok(Some(_)) = nix::unistd::User::from_name(&name) {
            return Ok(Some(name));
        }
    }
    bail!(
        "running as root and no unprivileged user (postgres, nobody) exists to run PostgreSQL; set PGLOCKS_PG_USER"
    )
}

fn chown_to(path: &Path, user: &str) -> Result<()> {
    let u =
        nix::unistd::User::from_name(user)?.ok_or_else(|| anyhow!("user {user} does not exist"))?;
    nix::unistd::chown(path, Some(u.uid), Some(u.gid))
        .with_context(|| format!("giving {} to {user}", path.display()))?;
    Ok(())
}
