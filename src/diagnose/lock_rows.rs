//! `stale_migration_lock_row`: Liquibase and Knex keep their deploy lock in a table row. A
//! crash leaves it set, and every later deploy prints "Waiting for changelog lock" forever.
use crate::humanize::opt_age;
use crate::model::{ToolLockRow, age_s};

use super::{Finding, Severity, finding};

/// One finding per lock row that is set while no session of its tool is connected.
pub fn stale_rows(rows: &[ToolLockRow]) -> Vec<Finding> {
    rows.iter()
        .filter(|r| r.locked && !r.tool_connected)
        .map(|r| {
            let age = match r.granted_at {
                Some(t) => format!(" since {} ({} ago)", t.format("%Y-%m-%d %H:%M:%S UTC"), opt_age(age_s(Some(t), r.taken_at))),
                None => " (Knex records no time)".into(),
            };
            let by = r
                .locked_by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default();
            let release = if r.tool == "Liquibase" {
                "liquibase release-locks does the same"
            } else {
                "knex migrate:unlock does the same"
            };
            finding(
                "stale_migration_lock_row",
                Severity::Warning,
                Vec::new(),
                format!(
                    "{}'s lock row in {} is set{by}{age}, and no session of {} is connected",
                    r.tool, r.lock_table, r.tool
                ),
                format!(
                    "Every deploy will wait for this row. If no deploy is running anywhere, clear it by hand: {} ({release}). pglocks never changes it.",
                    r.clear_statement
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn row(locked: bool, connected: bool) -> ToolLockRow {
        ToolLockRow {
            tool: "Knex".into(),
            lock_table: "public.knex_migrations_lock".into(),
            locked,
            granted_at: None,
            locked_by: None,
            clear_statement: "UPDATE public.knex_migrations_lock SET is_locked = 0;".into(),
            tool_connected: connected,
            taken_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn only_a_set_row_with_its_tool_gone_is_stale() {
        assert!(stale_rows(&[row(false, false), row(true, true)]).is_empty());
        let f = stale_rows(&[row(true, false)]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].title.contains("Knex records no time"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].advice.contains("SET is_locked = 0;"),
            "{}",
            f[0].advice
        );
    }
}
