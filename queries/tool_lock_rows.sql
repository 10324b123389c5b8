-- The lock rows of migration tools that keep one in a table instead of an advisory lock:
-- Liquibase's databasechangeloglock (id, locked, lockgranted, lockedby) and Knex's
-- knex_migrations_lock (index, is_locked). A crash leaves the row set, and every later
-- deploy waits for it forever.
--
-- This is the only statement of pglocks that reads user tables, so it runs only where the
-- user asked (preflight, snapshot --check-tool-locks). Reading takes AccessShareLock on the
-- lock table: the session's lock_timeout (100ms) makes it fail instead of queueing. Tables
-- are found in the catalog (no lock) in every schema; their names reach the inner query
-- through format('%I'), the server's own identifier quoting, and query_to_xml runs it.
-- The statement that clears a row is built the same way, to be shown, never run.
WITH tables AS (
    SELECT n.nspname, c.relname,
           CASE WHEN c.relname = 'databasechangeloglock' THEN 'Liquibase' ELSE 'Knex' END AS tool
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND c.relname IN ('databasechangeloglock', 'knex_migrations_lock')
      AND has_table_privilege(c.oid, 'SELECT')
),
rows AS (
    SELECT t.*,
           query_to_xml(
               CASE t.tool
                   WHEN 'Liquibase' THEN format('SELECT locked::text AS locked, lockgranted::timestamptz::text AS granted, lockedby::text AS locked_by FROM %I.%I WHERE id = 1', t.nspname, t.relname)
                   ELSE format('SELECT (is_locked <> 0)::text AS locked FROM %I.%I LIMIT 1', t.nspname, t.relname)
               END, false, true, '') AS x
    FROM tables t
),
fields AS (
    SELECT r.tool, quote_ident(r.nspname) || '.' || quote_ident(r.relname) AS lock_table,
           (xpath('/row/locked/text()', r.x))[1]::text = 'true' AS locked,
           (xpath('/row/granted/text()', r.x))[1]::text::timestamptz AS granted_at,
           (xpath('/row/locked_by/text()', r.x))[1]::text AS locked_by,
           CASE r.tool
               WHEN 'Liquibase' THEN format('UPDATE %I.%I SET locked = false, lockgranted = NULL, lockedby = NULL WHERE id = 1;', r.nspname, r.relname)
               ELSE format('UPDATE %I.%I SET is_locked = 0;', r.nspname, r.relname)
           END AS clear_statement
    FROM rows r
)
-- Whether the tool may still be at work: Liquibase writes "host (address)" into lockedby,
-- so a session from that address counts; for both, a session whose application_name
-- names the tool.
SELECT f.tool, f.lock_table, coalesce(f.locked, false) AS locked, f.granted_at, f.locked_by,
       f.clear_statement,
       EXISTS (
           SELECT 1 FROM pg_stat_activity a
           WHERE a.pid <> pg_backend_pid()
             AND a.datname = current_database()
             AND (a.application_name ILIKE '%' || f.tool || '%'
                  OR host(a.client_addr) = substring(f.locked_by FROM '\(([^()]*)\)\s*$'))
       ) AS tool_connected,
       statement_timestamp() AS taken_at
FROM fields f
ORDER BY f.lock_table
