-- pglocks guard: every client backend with the address and port it was connected from, so
-- the guarded command's own TCP connections can be recognised. Reads pg_stat_activity only.
SELECT pid, backend_start, host(client_addr) AS client_addr, client_port,
       application_name, usename::text AS usename
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
