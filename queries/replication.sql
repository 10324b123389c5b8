-- Every poll, after poll.sql: is this server a standby, and which servers stream from it.
-- On a primary with no standbys this is one row from a function call; pg_stat_replication
-- has a row per walsender only. Without pg_read_all_stats its detail columns read NULL.
SELECT r.in_recovery,
       s.application_name, host(s.client_addr) AS client_addr, s.state, s.sync_state,
       s.backend_xmin::text AS backend_xmin, age(s.backend_xmin)::int8 AS xmin_age,
       extract(epoch FROM s.replay_lag)::float8 AS replay_lag_s,
       pg_wal_lsn_diff(s.sent_lsn, s.replay_lsn)::int8 AS replay_lag_bytes
FROM (SELECT pg_is_in_recovery() AS in_recovery) r
LEFT JOIN pg_stat_replication s ON true
ORDER BY s.application_name, s.client_addr
