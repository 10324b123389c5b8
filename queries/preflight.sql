-- Preflight: for the relations a migration will lock, what they are, how big pg_class says
-- they are, who holds or waits for a lock on them right now, and which sessions hold a
-- snapshot that CREATE INDEX CONCURRENTLY would wait for. ONE statement, so that every
-- part describes the same moment.
--
-- Why it is written this way (the same discipline as poll.sql):
-- * Names are resolved with to_regclass(), which takes no lock on the relation, so this
--   answers even while an AccessExclusiveLock is queued on the table. No pg_relation_size()
--   and friends: they open the relation and would queue behind that very lock. Sizes are
--   pg_class.reltuples and relpages (catalog reads), and reltuples is -1 for a table never
--   vacuumed or analyzed (PostgreSQL 14+), which the client reports as "unknown".
-- * DROP INDEX and REINDEX lock the index's table too: pg_index.indrelid names it.
-- * pg_locks is read only for the resolved relations of this database.
-- * Snapshot holders: CREATE INDEX CONCURRENTLY waits (WaitForOlderSnapshots) for every
--   transaction of the same database whose backend_xmin is set, i.e. that holds a snapshot:
--   a running query or a REPEATABLE READ transaction, but not a READ COMMITTED session idle
--   between statements. Autovacuum is exempt, and so is this preflight's own backend.
-- * reset_val is the lock_timeout a new session of this role and database starts with,
--   before the SET of session_setup.sql.
--
-- $1: relation names, each quoted as an identifier ("public"."orders").
-- $2: for each name, true when the lock is on the table of the index so named.
WITH wanted AS (
    SELECT w.ord, w.name, w.table_of_index, to_regclass(w.name) AS named_oid
    FROM unnest($1::text[], $2::bool[]) WITH ORDINALITY AS w(name, table_of_index, ord)
),
resolved AS (
    SELECT w.ord, w.name, w.table_of_index,
           CASE WHEN w.table_of_index THEN i.indrelid ELSE w.named_oid END AS oid
    FROM wanted w
    LEFT JOIN pg_index i ON w.table_of_index AND i.indexrelid = w.named_oid
),
rels AS (
    SELECT r.ord, r.name, r.table_of_index, r.oid::int8 AS oid,
           quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qualified,
           c.relkind::text AS relkind, c.reltuples::float8 AS reltuples, c.relpages::int8 AS relpages
    FROM resolved r
    LEFT JOIN pg_class c ON c.oid = r.oid
    LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
),
here AS (
    SELECT oid FROM pg_database WHERE datname = current_database()
),
lockers AS (
    SELECT l.relation::int8 AS relation, l.mode, l.granted,
           coalesce(a.leader_pid, l.pid, 0) AS pid,
           a.state, a.application_name, a.usename::text AS usename, a.backend_type, a.query,
           coalesce(a.xact_start, p.prepared) AS xact_start, a.query_start, a.state_change,
           p.gid
    FROM pg_locks l
    LEFT JOIN pg_stat_activity a ON a.pid = l.pid
    LEFT JOIN pg_prepared_xacts p
           ON l.pid IS NULL AND p.transaction::text = split_part(l.virtualtransaction, '/', 2)
    WHERE l.locktype = 'relation'
      AND l.database = (SELECT oid FROM here)
      AND l.relation IN (SELECT oid FROM rels WHERE oid IS NOT NULL)
      AND l.pid IS DISTINCT FROM pg_backend_pid()
),
snapshot_holders AS (
    SELECT a.pid, a.state, a.application_name, a.usename::text AS usename, a.backend_type,
           a.query, a.xact_start, a.query_start, a.state_change
    FROM pg_stat_activity a
    WHERE a.datname = current_database()
      AND a.backend_xmin IS NOT NULL
      AND a.pid <> pg_backend_pid()
      AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
      AND (a.leader_pid IS NULL OR a.leader_pid = a.pid)
)
SELECT (SELECT coalesce(json_agg(r ORDER BY r.ord), '[]') FROM rels r) AS relations,
       (SELECT coalesce(json_agg(l), '[]') FROM lockers l) AS lockers,
       (SELECT coalesce(json_agg(s), '[]') FROM snapshot_holders s) AS snapshot_holders,
       (SELECT reset_val FROM pg_settings WHERE name = 'lock_timeout') AS lock_timeout_default,
       current_setting('block_size')::int8 AS block_size,
       statement_timestamp() AS taken_at
