-- Terminate only if the pid still belongs to the same backend (pids are reused), checked in
-- the same statement as the signal so that nothing can slip in between. On 14+ the second
-- argument makes the server wait up to $3 ms for the backend to exit.
-- $1 pid, $2 backend_start, $3 timeout in ms. NULL means the session is gone or changed.
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2)
            THEN pg_terminate_backend($1, $3::int8) END AS signalled
