-- After a signal: is this exact backend (pid and start time) still there, and what is it
-- doing? Reads pg_stat_activity only.
SELECT state, wait_event_type
FROM pg_stat_activity
WHERE pid = $1 AND backend_start = $2
