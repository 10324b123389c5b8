-- As signal_terminate.sql, for PostgreSQL 13, where pg_terminate_backend takes no timeout;
-- the caller then checks that the pid is gone. $3 is accepted and ignored to keep one call.
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2)
            THEN pg_terminate_backend($1) END AS signalled
  WHERE $3::int8 IS NOT NULL OR true
