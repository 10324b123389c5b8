//! What a poll saw of replication: on a standby, how far replay is behind and whether the
//! startup process (which replays WAL, including the migration's AccessExclusiveLock)
//! waits on standby queries; on a primary, its standbys as pg_stat_replication lists them.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Session, Text};

/// Why pglocks never cancels or terminates the startup process, in the TUI and in the
/// signal path alike.
pub const STARTUP_NOT_SIGNALLED: &str = "that is the standby's startup process, which replays WAL: it is not a client session, and stopping it stops replication on this standby. Cancel the standby queries it waits on instead (they are its blockers), or let max_standby_streaming_delay cancel them";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Replication {
    /// pg_is_in_recovery(): this server is a standby.
    pub in_recovery: bool,
    /// Only on a standby.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<StandbyStatus>,
    /// pg_stat_replication: the servers streaming from this one (a primary, or a cascading
    /// standby). Listed for the strip as "not connected" unless the user named them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downstream: Vec<ReplicaLink>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StandbyStatus {
    /// pg_last_wal_receive_lsn() and pg_last_wal_replay_lsn(), as text.
    pub receive_lsn: Option<Text>,
    pub replay_lsn: Option<Text>,
    /// Received but not yet replayed WAL, in bytes.
    pub replay_lag_bytes: Option<i64>,
    /// pg_last_xact_replay_timestamp(): the primary's commit time of the last replayed
    /// transaction. Its age is the replay lag in time while the primary keeps writing.
    pub last_replay_at: Option<DateTime<Utc>>,
    /// max_standby_streaming_delay in milliseconds; -1 waits forever.
    pub max_standby_streaming_delay_ms: Option<i64>,
    pub hot_standby_feedback: bool,
    /// pg_stat_database_conflicts summed over databases: queries cancelled by replay.
    pub conflicts_lock: i64,
    pub conflicts_snapshot: i64,
    pub conflicts_other: i64,
    /// The startup process, when it waits on a lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_wait: Option<ReplayWait>,
}

/// The startup process waiting to replay a lock. pg_blocking_pids() returns an empty
/// array for it, so `holders` come from pg_locks: granted locks of other processes on the
/// same object (replay only ever takes AccessExclusiveLock, which conflicts with all).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReplayWait {
    pub pid: i32,
    pub mode: Text,
    pub relation: Option<i64>,
    pub relation_name: Option<Text>,
    /// pg_locks.waitstart (PostgreSQL 14 and later).
    pub waitstart: Option<DateTime<Utc>>,
    pub holders: Vec<i32>,
}

/// One row of pg_stat_replication. The credentials to reach that server are never
/// guessed: the user names it with --server to connect.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReplicaLink {
    pub application_name: Option<Text>,
    pub client_addr: Option<Text>,
    pub state: Option<Text>,
    pub sync_state: Option<Text>,
    /// Set with hot_standby_feedback: the standby's oldest xmin, which holds back vacuum
    /// here. `xmin_age` is age(backend_xmin) in transactions.
    pub backend_xmin: Option<Text>,
    pub xmin_age: Option<i64>,
    /// replay_lag as the primary measures it, in seconds.
    pub replay_lag_s: Option<f64>,
    /// sent_lsn minus replay_lsn, in bytes.
    pub replay_lag_bytes: Option<i64>,
}

impl Replication {
    pub fn role(&self) -> &'static str {
        if self.in_recovery {
            "standby"
        } else {
            "primary"
        }
    }

    pub fn replay_wait(&self) -> Option<&ReplayWait> {
        self.standby.as_ref()?.replay_wait.as_ref()
    }
}

impl StandbyStatus {
    /// Seconds since the last replayed transaction's commit on the primary, at `now`.
    pub fn replay_delay_s(&self, now: DateTime<Utc>) -> Option<f64> {
        super::age_s(self.last_replay_at, now)
    }
}

/// What the app column says for the standby's startup process, which has no
/// application_name and no user.
pub const STARTUP_LABEL: &str = "startup (replay)";

impl Session {
    pub fn is_startup_process(&self) -> bool {
        self.backend_type.as_deref() == Some("startup")
    }

    /// The application_name, or for the startup process what it is: the name every view
    /// and document shows in the app column.
    pub fn app_label(&self) -> Option<&str> {
        match self.application_name.as_deref().filter(|a| !a.is_empty()) {
            Some(app) => Some(app),
            None if self.is_startup_process() => Some(STARTUP_LABEL),
            None => None,
        }
    }

    /// pg_stat_activity.state, which is NULL for processes that are not client backends;
    /// the startup process is "replaying" rather than "?".
    pub fn state_label(&self) -> &str {
        match self.state.as_deref() {
            Some(state) => state,
            None if self.is_startup_process() => "replaying",
            None => "?",
        }
    }
}
