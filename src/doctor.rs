//! The doctor's checks: will pglocks work for this role on this server when it is needed?
//! Each item says what it found and what to do about it. The command is `command::doctor`.
mod checks;
pub mod render;

use serde::Serialize;

pub use checks::{checks, timeout_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Worth knowing or fixing, but pglocks works fully.
    Note,
    /// pglocks works only in part until this is fixed.
    Degraded,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub item: &'static str,
    pub status: Status,
    pub finding: String,
    /// What to do about it; None when nothing needs doing.
    pub action: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub role: String,
    pub server_version: String,
    pub degraded: bool,
    pub checks: Vec<Check>,
}
