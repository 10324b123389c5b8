//! The opt-in read of migration tools' lock tables (queries/tool_lock_rows.sql).
use super::DbError;
use super::connect::Connection;
use super::statement::{bounded, column};
use crate::model::ToolLockRow;

impl Connection {
    /// Liquibase's and Knex's lock rows in this database. A lock table that someone holds
    /// exclusively makes this fail after lock_timeout rather than wait.
    pub async fn tool_lock_rows(&self) -> Result<Vec<ToolLockRow>, DbError> {
        let rows = bounded(
            self.client
                .query(include_str!("../../queries/tool_lock_rows.sql"), &[]),
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ToolLockRow {
                    tool: column(r, "tool")?,
                    lock_table: column(r, "lock_table")?,
                    locked: column(r, "locked")?,
                    granted_at: column(r, "granted_at")?,
                    locked_by: column(r, "locked_by")?,
                    clear_statement: column(r, "clear_statement")?,
                    tool_connected: column(r, "tool_connected")?,
                    taken_at: column(r, "taken_at")?,
                })
            })
            .collect()
    }
}
