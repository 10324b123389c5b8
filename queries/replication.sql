-- Every poll, after poll.sql: is this server a standby, and which servers stream from it.
-- The pg_stat_replication view reads pg_stat_get_activity(NULL), every backend's row, to
-- join the walsenders: 3-4 ms per refresh at 1,200 backends, 32 ms at 4,000, on a primary
-- that has no standby at all. Starting from the walsenders and reading each one's activity
-- row by pid is the view's inner join, with nothing to read when there is no walsender
-- (0.1-0.3 ms at 1,200 backends). Without pg_read_all_stats the detail columns read NULL,
-- as they do in the view.
SELECT r.in_recovery,
       s.application_name, host(s.client_addr) AS client_addr, s.state, s.sync_state,
       s.backend_xmin::text AS backend_xmin, age(s.backend_xmin)::int8 AS xmin_age,
       extract(epoch FROM s.replay_lag)::float8 AS replay_lag_s,
       pg_wal_lsn_diff(s.sent_lsn, s.replay_lsn)::int8 AS replay_lag_bytes
FROM (SELECT pg_is_in_recovery() AS in_recovery) r
LEFT JOIN (
    SELECT a.application_name, a.client_addr, a.backend_xmin, w.state, w.sync_state,
           w.replay_lag, w.sent_lsn, w.replay_lsn
    FROM pg_stat_get_wal_senders() w
    CROSS JOIN LATERAL pg_stat_get_activity(w.pid) a
) s ON true
ORDER BY s.application_name, s.client_addr
