//! A migration tool's lock row (Liquibase, Knex), read only on request.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolLockRow {
    /// "Liquibase" or "Knex".
    pub tool: String,
    /// Schema-qualified, quoted as PostgreSQL quotes identifiers.
    pub lock_table: String,
    pub locked: bool,
    /// Liquibase's lockgranted (Knex records no time).
    pub granted_at: Option<DateTime<Utc>>,
    /// Liquibase's lockedby: "host (address)".
    pub locked_by: Option<String>,
    /// What releases the row by hand; pglocks only shows it.
    pub clear_statement: String,
    /// A session from the lock owner's address, or naming the tool, is connected.
    pub tool_connected: bool,
    pub taken_at: DateTime<Utc>,
}
