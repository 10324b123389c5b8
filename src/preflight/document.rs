//! What `pglocks preflight` reports: plain data, rendered as Markdown or JSON and made by
//! `evaluate`, `advice` and `existence`.
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ddl::{Statement, Work};
use crate::model::ServerInfo;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub taken_at: DateTime<Utc>,
    pub server: ServerInfo,
    /// Where the check ran (never the password).
    pub target: String,
    /// The migration file, or "-c".
    pub source: String,
    /// "pass" or "fail".
    pub verdict: &'static str,
    /// 0 pass, 2 fail (1 is an error, which produces no report).
    pub exit_code: u8,
    /// Why the check fails, one sentence each.
    pub reasons: Vec<String>,
    pub large_table: u64,
    pub strict: bool,
    /// The lock_timeout a new session of this role starts with.
    pub lock_timeout_default: String,
    pub statements: Vec<StatementReport>,
    pub advice: Vec<Advice>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    /// 1-based, in file order.
    pub index: usize,
    #[serde(flatten)]
    pub statement: Statement,
    pub locks: Vec<LockReport>,
    /// Sessions whose snapshot a CONCURRENTLY build would wait for.
    pub snapshot_waits: Vec<SessionReport>,
    pub would_wait: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockReport {
    /// As the statement names it ("orders", or "the table of index i").
    pub target: String,
    /// The relation the server resolved it to, if it exists now.
    pub relation: Option<String>,
    pub mode: String,
    pub work: Work,
    /// The subcommand that decides the lock and the documentation rule behind it.
    pub why: String,
    pub doc_url: String,
    /// The rule that decides the work (scan, rewrite or none), when it is another one.
    pub work_rule: Option<String>,
    pub rows: Option<f64>,
    pub bytes: Option<i64>,
    /// More estimated rows than --large-table.
    pub large: bool,
    /// Sessions holding or queued for a conflicting lock right now.
    pub blockers: Vec<Blocker>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    /// "holds" a granted lock, or is "queued" ahead with a conflicting request.
    pub kind: &'static str,
    pub mode: String,
    #[serde(flatten)]
    pub session: SessionReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionReport {
    pub pid: i32,
    pub application_name: Option<String>,
    pub user: Option<String>,
    pub state: Option<String>,
    pub xact_age_s: Option<f64>,
    pub query_age_s: Option<f64>,
    pub state_age_s: Option<f64>,
    pub query: Option<String>,
    /// A prepared transaction's gid (pid 0).
    pub gid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// "error" (the statement will fail), "warning" or "info".
    pub severity: &'static str,
    pub code: &'static str,
    /// The statement it is about (1-based), or None for the whole file.
    pub statement: Option<usize>,
    pub message: String,
}

impl Report {
    /// `--redact`: the other sessions' statements lose their literals, as in every other
    /// command's output. The migration's own statements are the caller's and stay readable.
    pub fn redact(&mut self) {
        for st in &mut self.statements {
            let blockers = st.locks.iter_mut().flat_map(|l| &mut l.blockers);
            let sessions = st
                .snapshot_waits
                .iter_mut()
                .chain(blockers.map(|b| &mut b.session));
            for s in sessions {
                if let Some(q) = s.query.as_mut() {
                    *q = crate::redact::query(q);
                }
            }
        }
    }
}
