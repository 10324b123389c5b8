//! What the server said at the moment of the preflight: plain data, filled in by
//! `db::Connection::preflight_facts` and read by the pure evaluation.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationFacts {
    /// The name as sent to to_regclass (quoted).
    pub name: String,
    pub table_of_index: bool,
    /// None when the relation does not exist (yet): created earlier in the same migration.
    pub oid: Option<i64>,
    pub qualified: Option<String>,
    pub relkind: Option<String>,
    /// pg_class.reltuples; negative means never analyzed.
    pub reltuples: Option<f64>,
    pub relpages: Option<i64>,
}

/// A session holding or waiting for a lock on one of the relations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locker {
    pub relation: i64,
    pub mode: String,
    pub granted: bool,
    /// 0 for a prepared transaction (named by `gid`).
    pub pid: i32,
    #[serde(flatten)]
    pub session: SessionFacts,
    pub gid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionFacts {
    pub state: Option<String>,
    pub application_name: Option<String>,
    pub usename: Option<String>,
    pub backend_type: Option<String>,
    pub query: Option<String>,
    pub xact_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    pub state_change: Option<DateTime<Utc>>,
}

/// A session of the same database holding a snapshot: CREATE INDEX CONCURRENTLY waits for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHolder {
    pub pid: i32,
    #[serde(flatten)]
    pub session: SessionFacts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFacts {
    pub taken_at: DateTime<Utc>,
    pub relations: Vec<RelationFacts>,
    pub lockers: Vec<Locker>,
    pub snapshot_holders: Vec<SnapshotHolder>,
    /// What a new session of this role starts with ("0" = wait forever).
    pub lock_timeout_default: String,
    pub block_size: i64,
}
