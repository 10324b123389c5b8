-- On a standby only (replication.sql said pg_is_in_recovery()): how far replay is behind,
-- how many standby queries replay has cancelled, and whether the startup process (which
-- replays WAL, the migration's AccessExclusiveLock included) waits on a lock.
--
-- * pg_blocking_pids() returns an empty array for the startup process, so the processes
--   it waits on are read from pg_locks: granted locks of other pids on the same object.
--   Replay only takes AccessExclusiveLock, which conflicts with every mode.
-- * pg_locks is read only while the startup process waits on a lock: the lateral
--   subqueries run once per row of `startup`, which is empty otherwise.
-- * waitstart exists from 14; to_jsonb(l) reads it where it exists (one row, no cost).
-- * The relation is named from pg_class for the current database only (no regclass cast,
--   which would take a lock).
WITH startup AS (
    SELECT a.pid FROM pg_stat_activity a
    WHERE a.backend_type = 'startup' AND a.wait_event_type = 'Lock'
),
awaited AS (
    SELECT w.*,
           (SELECT array_agg(DISTINCT h.pid ORDER BY h.pid)
            FROM pg_locks h
            WHERE h.granted AND h.pid <> w.pid AND h.locktype = w.locktype
              AND h.database IS NOT DISTINCT FROM w.database
              AND h.relation IS NOT DISTINCT FROM w.relation) AS holders
    FROM startup s
    CROSS JOIN LATERAL (
        SELECT l.pid, l.locktype, l.mode, l.database, l.relation,
               (to_jsonb(l) ->> 'waitstart')::timestamptz AS waitstart
        FROM pg_locks l
        WHERE l.pid = s.pid AND NOT l.granted
        LIMIT 1
    ) w
)
SELECT pg_last_wal_receive_lsn()::text AS receive_lsn,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::int8 AS replay_lag_bytes,
       pg_last_xact_replay_timestamp() AS last_replay_at,
       (SELECT setting::int8 FROM pg_settings WHERE name = 'max_standby_streaming_delay') AS max_delay_ms,
       current_setting('hot_standby_feedback')::bool AS hot_standby_feedback,
       c.confl_lock, c.confl_snapshot, c.confl_other,
       w.pid AS wait_pid, w.mode AS wait_mode, w.relation::int8 AS wait_relation,
       quote_ident(n.nspname) || '.' || quote_ident(cl.relname) AS wait_relation_name,
       w.waitstart AS wait_start, w.holders AS wait_holders
FROM (
    SELECT coalesce(sum(confl_lock), 0)::int8 AS confl_lock,
           coalesce(sum(confl_snapshot), 0)::int8 AS confl_snapshot,
           coalesce(sum(confl_tablespace + confl_bufferpin + confl_deadlock), 0)::int8 AS confl_other
    FROM pg_stat_database_conflicts
) c
LEFT JOIN awaited w ON true
LEFT JOIN pg_class cl ON cl.oid = w.relation
     AND w.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LEFT JOIN pg_namespace n ON n.oid = cl.relnamespace
