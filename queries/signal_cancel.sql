-- Cancel the running statement only if the pid still belongs to the same backend, checked
-- in the same statement as the signal. $1 pid, $2 backend_start. NULL: gone or changed.
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2)
            THEN pg_cancel_backend($1) END AS signalled
