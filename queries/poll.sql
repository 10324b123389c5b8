-- One poll: every session worth showing, who blocks whom, and the locks of the sessions
-- involved, in ONE statement, so that pg_stat_activity, pg_blocking_pids and pg_locks
-- describe the same moment and the poll costs a single round trip.
--
-- Why it is written this way:
-- * pg_blocking_pids() briefly takes the lock manager's partition locks, so it is called
--   only for backends whose wait_event_type is 'Lock' (as pganalyze's collector does), and
--   for the rows that show no wait event but may wait (see `waiting` below).
-- * Nothing here opens a relation: no pg_relation_size() and friends, no pg_get_indexdef(),
--   no 'x'::regclass on user tables. Those queue behind a pending AccessExclusiveLock and
--   would make the monitor part of the pile-up. Names and sizes come from pg_class and
--   pg_namespace (catalog reads that take no lock on the relation), and only for relations
--   of the current database, because other databases' OIDs mean nothing here.
-- * waitstart exists from PostgreSQL 14 only; reading it through to_jsonb(l) makes the same
--   text work on 13 (the key is simply absent). On 14 and later the monitor swaps that one
--   expression for l.waitstart (db/poll_sql.rs), as the conversion costs a few microseconds per
--   row. It is NULL for granted locks, so on 13 only the awaited lock pays for it.
-- * Locks come back as plain rows after the sessions' rows. Building a JSON object per lock
--   cost the server more than reading pg_stat_activity itself (about 10 ms for 850 locks).
-- * pg_locks is restricted to the sessions involved in a wait (and their parallel workers),
--   so a busy server with thousands of idle locks costs no more JSON than a quiet one.
-- * Prepared transactions hold locks with pid NULL and are reported by pg_blocking_pids as
--   pid 0; they become one pseudo-session 0, named from pg_prepared_xacts.
-- * The monitor's own backend is left out everywhere.
-- * Progress (pg_stat_progress_*) is joined to the listed sessions only. The views take no
--   lock and read the same backend-status copy as pg_stat_activity; a row exists only while
--   an index build, rewrite, vacuum, analyze or COPY runs, so there are a handful at most.
--   For VACUUM and ANALYZE, age(relfrozenxid) and the applicable autovacuum_freeze_max_age
--   come from pg_class (a catalog read, no lock on the table) to tell an anti-wraparound
--   autovacuum's urgency. pg_stat_progress_copy exists from 14: on 13 the monitor cuts its
--   branch out (db/poll_sql.rs).
-- * Advisory locks are read for every session, not only those in a wait: a migration tool
--   that lost its client still holds its lock, and try-lock tools (Flyway, Rails) never
--   show up as waiters. There are rarely more than a few.
--
-- $1: a database name to restrict the listing to, or NULL for every database. Waiters are
--     taken from that database only; their blockers are shown wherever they are.
WITH act AS MATERIALIZED (
    SELECT a.pid, a.leader_pid, a.usename::text AS usename, a.datname::text AS datname,
           a.application_name, host(a.client_addr) AS client_addr, a.backend_type,
           a.state, a.wait_event_type, a.wait_event, a.query, a.backend_start,
           a.xact_start, a.query_start, a.state_change, a.usesysid
    FROM pg_stat_activity a
    WHERE a.pid <> pg_backend_pid()
),
-- Who waits on a lock. A row whose wait event says Lock does. Two kinds of row have no wait
-- event and may still wait; each is asked pg_blocking_pids() and kept only if something
-- blocks it:
-- * without pg_read_all_stats, other roles' rows (their query reads '<insufficient
--   privilege>'). Asking each of them costs about 1.5 us per row; the alternative, finding
--   their ungranted rows in pg_locks, copied the whole lock table a second time (22 ms with
--   50,000 locks);
-- * a waiter between two waits: it wakes once, deadlock_timeout after its wait began, to
--   check for a deadlock (and to log the wait under log_lock_waits), and meanwhile shows
--   'active' with no wait event. In a pile-up staged in one go every waiter does that within
--   the same second, and a one-shot snapshot missed one of 300 waiters (CI, PostgreSQL 13).
--   So active statements older than deadlock_timeout without a wait event are asked too.
waiting AS MATERIALIZED (
    SELECT w.pid, w.blocked_by
    FROM (
        SELECT a.pid, pg_blocking_pids(a.pid) AS blocked_by, a.wait_event_type IS NULL AS unsure
        FROM act a
        WHERE (a.wait_event_type = 'Lock'
               OR (a.wait_event_type IS NULL AND a.query = '<insufficient privilege>')
               OR (a.wait_event_type IS NULL AND a.state = 'active'
                   AND a.query_start < statement_timestamp() - current_setting('deadlock_timeout')::interval))
          AND ($1::text IS NULL OR a.datname = $1)
    ) w
    WHERE NOT w.unsure OR cardinality(w.blocked_by) > 0
),
involved AS MATERIALIZED (
    SELECT pid FROM waiting
    UNION
    SELECT unnest(blocked_by) FROM waiting
),
involved_all AS MATERIALIZED (
    SELECT pid FROM involved
    UNION
    SELECT a.pid FROM act a JOIN involved i ON a.leader_pid = i.pid
),
here AS (
    SELECT oid FROM pg_database WHERE datname = current_database()
),
progress AS (
    SELECT v.pid, v.datid, v.relid, 'VACUUM' AS command, v.phase,
           CASE WHEN v.phase = 'vacuuming heap' THEN v.heap_blks_vacuumed ELSE v.heap_blks_scanned END AS done,
           v.heap_blks_total AS total, 'blocks' AS unit,
           NULL::int8 AS lockers_done, NULL::int8 AS lockers_total, NULL::int8 AS current_locker_pid
    FROM pg_stat_progress_vacuum v
    UNION ALL
    SELECT v.pid, v.datid, v.relid, 'ANALYZE', v.phase, v.sample_blks_scanned, v.sample_blks_total,
           'blocks', NULL, NULL, NULL
    FROM pg_stat_progress_analyze v
    UNION ALL
    SELECT v.pid, v.datid, v.relid, v.command, v.phase,
           CASE WHEN v.blocks_total > 0 THEN v.blocks_done ELSE v.tuples_done END,
           CASE WHEN v.blocks_total > 0 THEN v.blocks_total ELSE v.tuples_total END,
           CASE WHEN v.blocks_total > 0 THEN 'blocks' ELSE 'tuples' END,
           v.lockers_done, v.lockers_total, v.current_locker_pid
    FROM pg_stat_progress_create_index v
    UNION ALL
    SELECT v.pid, v.datid, v.relid, v.command, v.phase,
           CASE WHEN v.heap_blks_total > 0 THEN v.heap_blks_scanned ELSE v.heap_tuples_written END,
           CASE WHEN v.heap_blks_total > 0 THEN v.heap_blks_total END,
           CASE WHEN v.heap_blks_total > 0 THEN 'blocks' ELSE 'tuples' END,
           NULL, NULL, NULL
    FROM pg_stat_progress_cluster v
    UNION ALL
    SELECT v.pid, v.datid, v.relid, 'COPY ' || v.command, v.type,
           CASE WHEN v.bytes_total > 0 THEN v.bytes_processed ELSE v.tuples_processed END,
           CASE WHEN v.bytes_total > 0 THEN v.bytes_total END,
           CASE WHEN v.bytes_total > 0 THEN 'bytes' ELSE 'tuples' END,
           NULL, NULL, NULL
    FROM pg_stat_progress_copy v
),
-- Names and ages for the few running commands only: a lateral lookup by oid per progress
-- row, rather than a hash of all of pg_class on every poll.
progress_named AS MATERIALIZED (
    SELECT p.*, rel.relation, rel.xid_age, rel.freeze_max_age,
           CASE WHEN p.command IN ('VACUUM', 'ANALYZE') THEN current_setting('deadlock_timeout') END AS deadlock_timeout
    FROM progress p
    LEFT JOIN LATERAL (
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS relation,
               CASE WHEN p.command IN ('VACUUM', 'ANALYZE') AND c.relfrozenxid <> '0'::xid
                    THEN age(c.relfrozenxid)::int8 END AS xid_age,
               CASE WHEN p.command IN ('VACUUM', 'ANALYZE') THEN least(
                   current_setting('autovacuum_freeze_max_age')::int8,
                   (SELECT o.option_value::int8 FROM pg_options_to_table(c.reloptions) o
                    WHERE o.option_name = 'autovacuum_freeze_max_age')) END AS freeze_max_age
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = p.relid AND p.datid = (SELECT oid FROM here)
    ) rel ON true
),
-- The involved sessions' locks, read once (pg_lock_status is volatile), narrowed to what is
-- listed. A session can hold tens of thousands of locks (advisory locks taken in a loop, a
-- transaction over thousands of partitions): each session's locks are counted (held), and a
-- session over 200 gets its ungranted locks, those on a contested target (one that some
-- session waits for: the wait graph needs them) and 200 others. Everything here is hashing,
-- no sort: sorting 50,000 lock rows for a window cost the server more than the rest of the
-- poll. Keep the 200 in step with LOCKS_LISTED_PER_SESSION in db/poll.rs.
lk AS MATERIALIZED (
    SELECT coalesce(l.pid, 0) AS pid, l.locktype, l.mode, l.granted, l.database, l.relation,
           l.page, l.tuple, l.virtualxid, l.transactionid::text AS transactionid, l.classid,
           l.objid, l.objsubid,
           CASE WHEN NOT l.granted THEN (to_jsonb(l) ->> 'waitstart')::timestamptz END AS waitstart
    FROM pg_locks l
    WHERE l.pid IN (SELECT pid FROM involved_all)
       OR (l.locktype = 'advisory' AND l.pid IS NOT NULL)
       OR (l.pid IS NULL AND l.virtualtransaction LIKE '-1/%'
           AND EXISTS (SELECT 1 FROM involved WHERE pid = 0))
),
held AS MATERIALIZED (
    SELECT pid, count(*) AS n FROM lk GROUP BY pid
),
-- NULLs made comparable so that the target match hashes.
awaited AS MATERIALIZED (
    SELECT DISTINCT coalesce(l.relation, l.objid, 0) AS anchor, l.locktype, coalesce(l.database, 0) AS database, coalesce(l.relation, 0) AS relation,
           coalesce(l.page, -1) AS page, coalesce(l.tuple, -1) AS tuple,
           coalesce(l.virtualxid, '') AS virtualxid, coalesce(l.transactionid, '') AS transactionid,
           coalesce(l.classid, 0) AS classid, coalesce(l.objid, 0) AS objid, coalesce(l.objsubid, -1) AS objsubid
    FROM lk l
    WHERE NOT l.granted
)
-- Sessions first, then one row per lock (lock_locktype set) to be attached by pid. Rows
-- rather than aggregates: grouping the locks cost the server a sort and an aggregate. The
-- two halves are subqueries, not CTEs: pg_prepared_xact() and pg_lock_status() are volatile,
-- so as CTEs both were materialized and then read again (about 1 ms of a 10 ms poll).
SELECT s.*,
       NULL::text AS lock_locktype, NULL::text AS lock_mode, NULL::bool AS lock_granted,
       NULL::int8 AS lock_database, NULL::int8 AS lock_relation, NULL::text AS lock_relation_name,
       NULL::int8 AS lock_page, NULL::int8 AS lock_tuple, NULL::text AS lock_virtualxid,
       NULL::text AS lock_transactionid, NULL::int8 AS lock_classid, NULL::int8 AS lock_objid,
       NULL::int8 AS lock_objsubid, NULL::timestamptz AS lock_waitstart,
       NULL::real AS lock_reltuples, NULL::int8 AS lock_relpages, NULL::int8 AS lock_held,
       statement_timestamp() AS taken_at
FROM (
    SELECT a.pid, a.leader_pid, a.usename, a.datname, a.application_name, a.client_addr,
           a.backend_type, a.state, a.wait_event_type, a.wait_event, a.query,
           a.backend_start, a.xact_start, a.query_start, a.state_change,
           coalesce(r.rolsuper, false) AS is_superuser, w.blocked_by,
           p.command AS progress_command, p.phase AS progress_phase,
           p.relation AS progress_relation,
           p.done::int8 AS progress_done, p.total::int8 AS progress_total, p.unit AS progress_unit,
           p.lockers_done::int8 AS progress_lockers_done, p.lockers_total::int8 AS progress_lockers_total,
           p.current_locker_pid::int8 AS progress_current_locker_pid,
           p.xid_age AS progress_xid_age, p.freeze_max_age AS progress_freeze_max_age,
           p.deadlock_timeout AS progress_deadlock_timeout
    FROM act a
    LEFT JOIN waiting w ON w.pid = a.pid
    LEFT JOIN pg_roles r ON r.oid = a.usesysid
    LEFT JOIN progress_named p ON p.pid = a.pid
    -- A hidden row (no pg_read_all_stats) has backend_type NULL; one with a role is a
    -- client backend or a role's background worker, either way a session to show.
    WHERE (a.backend_type = 'client backend' OR w.pid IS NOT NULL
           OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL)
           OR a.pid IN (SELECT pid FROM involved_all))
      AND ($1::text IS NULL OR a.datname = $1 OR a.pid IN (SELECT pid FROM involved_all))
    UNION ALL
    SELECT 0, NULL, string_agg(p.owner::text, ', '), min(p.database::text),
           string_agg(p.gid, ', '), NULL, 'prepared transaction', 'prepared', NULL, NULL,
           'PREPARE TRANSACTION ' || string_agg(quote_literal(p.gid), ', '),
           min(p.prepared), min(p.prepared), NULL, min(p.prepared), false, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM pg_prepared_xacts p
    WHERE EXISTS (SELECT 1 FROM involved WHERE pid = 0)
    HAVING count(*) > 0
) s
UNION ALL
SELECT lr.pid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       lr.locktype, lr.mode, lr.granted, lr.database, lr.relation, lr.relation_name, lr.page,
       lr.tuple, lr.virtualxid, lr.transactionid, lr.classid, lr.objid, lr.objsubid,
       lr.waitstart, lr.reltuples, lr.relpages, lr.held,
       statement_timestamp()
FROM (
    SELECT l.pid, l.held,
           l.locktype, l.mode, l.granted, l.database::int8 AS database,
           l.relation::int8 AS relation,
           CASE
               WHEN c.oid IS NOT NULL THEN quote_ident(n.nspname) || '.' || quote_ident(c.relname)
               WHEN l.relation IS NOT NULL THEN 'db ' || coalesce(d.datname::text, l.database::text) || ', oid ' || l.relation
           END AS relation_name,
           l.page::int8 AS page, l.tuple::int8 AS tuple, l.virtualxid,
           l.transactionid, l.classid::int8 AS classid,
           l.objid::int8 AS objid, l.objsubid::int8 AS objsubid,
           l.waitstart,
           c.reltuples, c.relpages::int8 AS relpages
    FROM (
        -- One pass over lk for every session: all the locks of one with at most 200, and a
        -- larger holder's ungranted and contested ones. Two passes (one per case) cost about
        -- 5 ms more with 50,000 locks.
        SELECT l.*, h.n AS held FROM lk l JOIN held h ON h.pid = l.pid
        WHERE h.n <= 200 OR NOT l.granted
           OR coalesce(l.relation, l.objid, 0) IN (SELECT anchor FROM awaited) AND (coalesce(l.relation, l.objid, 0), l.locktype, coalesce(l.database, 0), coalesce(l.relation, 0), coalesce(l.page, -1),
                 coalesce(l.tuple, -1), coalesce(l.virtualxid, ''), coalesce(l.transactionid, ''),
                 coalesce(l.classid, 0), coalesce(l.objid, 0), coalesce(l.objsubid, -1))
                IN (SELECT * FROM awaited)
        UNION ALL
        SELECT x.*, h.n
        FROM held h
        CROSS JOIN LATERAL (
            SELECT * FROM lk l
            WHERE l.pid = h.pid AND l.granted
              AND NOT (coalesce(l.relation, l.objid, 0), l.locktype, coalesce(l.database, 0), coalesce(l.relation, 0), coalesce(l.page, -1),
                 coalesce(l.tuple, -1), coalesce(l.virtualxid, ''), coalesce(l.transactionid, ''),
                 coalesce(l.classid, 0), coalesce(l.objid, 0), coalesce(l.objsubid, -1))
                IN (SELECT * FROM awaited)
            LIMIT 200
        ) x
        WHERE h.n > 200
    ) l
    LEFT JOIN pg_class c
           ON c.oid = l.relation AND (l.database = 0 OR l.database = (SELECT oid FROM here))
    LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_database d ON d.oid = l.database
) lr
