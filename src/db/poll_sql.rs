//! The poll's SQL (queries/poll.sql), shaped for the server's version. connect.rs prepares
//! it once per connection; poll.rs runs it and decodes the rows.
use std::borrow::Cow;

/// poll.sql reads pg_locks.waitstart through to_jsonb(l), so that one text also runs on
/// PostgreSQL 13, which lacks the column. Turning a lock row into JSON costs the server a few
/// microseconds per waiting session, so 14 and later read the column itself.
const WAITSTART_PG13: &str = "(to_jsonb(l) ->> 'waitstart')::timestamptz";
const WAITSTART: &str = "l.waitstart";

/// pg_stat_progress_copy appeared in PostgreSQL 14; poll.sql's branch for it is cut on 13.
const COPY_PROGRESS: &str = "    UNION ALL
    SELECT v.pid, v.datid, v.relid, 'COPY ' || v.command, v.type,
           CASE WHEN v.bytes_total > 0 THEN v.bytes_processed ELSE v.tuples_processed END,
           CASE WHEN v.bytes_total > 0 THEN v.bytes_total END,
           CASE WHEN v.bytes_total > 0 THEN 'bytes' ELSE 'tuples' END,
           NULL, NULL, NULL
    FROM pg_stat_progress_copy v
";

/// The poll statement for a server version (`server_version_num`).
pub fn poll_statement(version_num: i32) -> Cow<'static, str> {
    let sql = include_str!("../../queries/poll.sql");
    if version_num >= 140_000 {
        Cow::Owned(sql.replace(WAITSTART_PG13, WAITSTART))
    } else {
        Cow::Owned(sql.replace(COPY_PROGRESS, ""))
    }
}

#[cfg(test)]
mod tests {
    use super::{COPY_PROGRESS, WAITSTART, WAITSTART_PG13, poll_statement};

    #[test]
    fn the_waitstart_read_is_swapped_for_14_and_later() {
        let sql = include_str!("../../queries/poll.sql");
        assert_eq!(
            sql.matches(WAITSTART_PG13).count(),
            1,
            "poll.sql must read waitstart once, as {WAITSTART_PG13}"
        );
        let old = poll_statement(130_013);
        assert!(old.contains(WAITSTART_PG13));
        let new = poll_statement(140_000);
        assert!(!new.contains(WAITSTART_PG13) && new.contains(WAITSTART));
    }

    #[test]
    fn copy_progress_is_read_from_14_only() {
        let sql = include_str!("../../queries/poll.sql");
        assert_eq!(sql.matches(COPY_PROGRESS).count(), 1);
        assert!(!poll_statement(130_013).contains("FROM pg_stat_progress_copy"));
        assert!(poll_statement(140_000).contains(COPY_PROGRESS));
    }
}
