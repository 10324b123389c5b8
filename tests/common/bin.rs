//! The one way tests run the `pglocks` binary: arguments, extra environment, an optional
//! HOME (a fresh directory otherwise, also the working directory), a hang guard, and
//! stdout, stderr and the exit status captured.
//!
//! Every child runs with the `PG*` variables removed, so the developer's own environment
//! and `~/.pgpass` cannot leak in.
// The whole file is test code (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Variables the binary reads; removed explicitly even if the test process lacks them.
const PG_VARS: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGSERVICE",
    "PGSERVICEFILE",
];

/// No single run of the binary may take longer than this; past it the child is killed.
const HANG_GUARD: Duration = Duration::from_secs(60);

pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// How to run the binary: arguments, extra environment, and an optional HOME.
#[derive(Default, Clone)]
pub struct Invocation {
    args: Vec<String>,
    env: Vec<(String, String)>,
    home: Option<PathBuf>,
}

pub fn pglocks<I, S>(args: I) -> Invocation
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Invocation {
        args: args.into_iter().map(Into::into).collect(),
        ..Invocation::default()
    }
}

impl Invocation {
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn home(mut self, dir: &Path) -> Self {
        self.home = Some(dir.to_path_buf());
        self
    }

    /// Runs the binary on a blocking thread, so the test's runtime (and the staged
    /// sessions on it) keeps running meanwhile.
    pub async fn run(self) -> Run {
        tokio::task::spawn_blocking(move || self.run_blocking())
            .await
            .unwrap()
    }

    /// The process, not started: no stdin, piped output, none of the test's own PG*
    /// variables, HOME (and the working directory) at `home`.
    pub fn command(&self, home: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pglocks"));
        cmd.args(&self.args)
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(&key);
            }
        }
        for key in PG_VARS {
            cmd.env_remove(key);
        }
        cmd.env("HOME", home);
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    pub fn run_blocking(self) -> Run {
        let scratch = tempfile::tempdir().unwrap();
        let home = self
            .home
            .clone()
            .unwrap_or_else(|| scratch.path().to_path_buf());
        let mut cmd = self.command(&home);

        let start = Instant::now();
        let mut child = cmd.spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        // Readers on their own threads: a large JSON document would fill the pipe.
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).unwrap();
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            err.read_to_string(&mut s).unwrap();
            s
        });
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > HANG_GUARD {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "pglocks {:?} did not finish within {HANG_GUARD:?}",
                    self.args
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = start.elapsed();
        Run {
            status,
            stdout: out_reader.join().unwrap(),
            stderr: err_reader.join().unwrap(),
            elapsed,
        }
    }
}

impl Run {
    /// Asserts a failure reported as exactly one `pglocks: ` line that contains every
    /// phrase (case-insensitively); returns that line.
    pub fn one_line_error(&self, phrases: &[&str]) -> &str {
        assert!(
            !self.status.success(),
            "expected a failure, got {}; stdout: {}; stderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "pglocks panicked: {}",
            self.stderr
        );
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or(self.stderr.as_str());
        assert!(
            !line.is_empty() && !line.contains('\n'),
            "stderr must be exactly one line, got: {:?}",
            self.stderr
        );
        assert!(
            line.starts_with("pglocks: "),
            "stderr must start with `pglocks: `: {line}"
        );
        eprintln!("{line}");
        let lower = line.to_lowercase();
        for phrase in phrases {
            assert!(
                lower.contains(&phrase.to_lowercase()),
                "stderr should mention {phrase:?}: {line}"
            );
        }
        assert!(
            self.stdout.is_empty(),
            "nothing on stdout after an error: {}",
            self.stdout
        );
        line
    }

    pub fn success(&self) -> &Self {
        assert!(
            self.status.success(),
            "pglocks failed with {}: {}",
            self.status,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "pglocks panicked: {}",
            self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        self.success();
        let doc: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout));
        assert_eq!(doc["format"], "pglocks.snapshot/1");
        doc
    }
}
