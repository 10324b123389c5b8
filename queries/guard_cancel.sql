-- pglocks guard's breaker: cancel a statement only while it is the very statement that was
-- judged, still waiting on a lock: same backend (pid, backend_start), same statement
-- (query_start). A statement that got its lock between the poll and now, or the next
-- statement of the migration, is left alone. $1 pid, $2 backend_start, $3 query_start.
-- NULL: gone, changed or no longer waiting; nothing was signalled.
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                         WHERE pid = $1 AND backend_start = $2 AND query_start = $3
                           AND wait_event_type = 'Lock')
            THEN pg_cancel_backend($1) END AS signalled
