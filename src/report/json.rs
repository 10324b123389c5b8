//! `pglocks.snapshot/1`: a public interface. Add fields, never rename them.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::diagnose::Finding;
use crate::graph::{Edge, Root};
use crate::model::{ActionRecord, ServerInfo, Session};

pub const FORMAT: &str = "pglocks.snapshot/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotDoc {
    pub format: String,
    pub taken_at: DateTime<Utc>,
    pub headline: String,
    pub server: ServerInfo,
    pub sessions: Vec<SessionDoc>,
    pub edges: Vec<Edge>,
    pub roots: Vec<Root>,
    pub cycles: Vec<Vec<i32>>,
    pub findings: Vec<Finding>,
    pub actions: Vec<ActionRecord>,
    /// Standby or primary, replay lag and what replay waits on (docs/standby.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<crate::model::Replication>,
    /// With several servers (--server), the name of the one this document describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

impl SnapshotDoc {
    /// Sessions waiting in this recorded poll, counted as the analysis counts them.
    pub fn waiting_count(&self) -> usize {
        crate::model::waiting_count(self.sessions.iter().map(|s| &s.session))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    #[serde(flatten)]
    pub session: Session,
    pub wait_start: Option<DateTime<Utc>>,
    pub xact_age_s: Option<f64>,
    pub query_age_s: Option<f64>,
    pub wait_age_s: Option<f64>,
    pub waiting_total: usize,
    pub depth: Option<usize>,
    pub is_migration: bool,
    pub migration_reason: Option<String>,
}

pub fn document(a: &Analysis, actions: &[ActionRecord]) -> SnapshotDoc {
    document_where(a, actions, |_| true)
}

/// The document with only the sessions `keep` accepts; the others are never copied, which
/// matters on a server with a thousand backends and a handful in the wait.
pub fn document_where(
    a: &Analysis,
    actions: &[ActionRecord],
    keep: impl Fn(&Session) -> bool,
) -> SnapshotDoc {
    let sessions = a
        .snapshot
        .sessions
        .iter()
        .filter(|s| keep(s))
        .map(|s| SessionDoc {
            session: s.clone(),
            wait_start: s.wait_start(),
            xact_age_s: a.xact_age(s),
            query_age_s: a.query_age(s),
            wait_age_s: a.wait_age(s),
            waiting_total: a.graph.waiting_total(s.pid),
            depth: a.graph.depth(s.pid),
            is_migration: a.is_migration(s.pid),
            migration_reason: a.migrations.get(&s.pid).cloned(),
        })
        .collect();
    SnapshotDoc {
        format: FORMAT.into(),
        taken_at: a.snapshot.taken_at,
        headline: a.headline(),
        server: a.snapshot.server.clone(),
        sessions,
        edges: a.graph.edges.clone(),
        roots: a.graph.roots.clone(),
        cycles: a.graph.cycles.clone(),
        findings: a.findings.clone(),
        actions: actions.to_vec(),
        replication: a.snapshot.replication.clone(),
        server_name: None,
    }
}

pub fn render(a: &Analysis, actions: &[ActionRecord]) -> serde_json::Result<String> {
    let mut out = serde_json::to_string_pretty(&document(a, actions))?;
    out.push('\n');
    Ok(out)
}
