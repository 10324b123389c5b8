-- The lock_timeout and statement_timeout a new session of role $1 in this database gets,
-- level by level (ALTER ROLE ... IN DATABASE, ALTER ROLE, ALTER DATABASE, the server), as
-- PostgreSQL applies them: the first non-NULL one wins. pg_db_role_setting is readable by
-- every role. The server level is this session's reset value, which is postgresql.conf's
-- unless the monitor's own role has a setting of its own.
WITH names(name) AS (VALUES ('lock_timeout'), ('statement_timeout')),
     me AS (SELECT oid FROM pg_database WHERE datname = current_database()),
     who AS (SELECT oid FROM pg_roles WHERE rolname = $1::text),
     settings AS (
         SELECT s.setdatabase, s.setrole, split_part(c, '=', 1) AS name,
                substr(c, strpos(c, '=') + 1) AS value
           FROM pg_db_role_setting s, unnest(s.setconfig) AS c
     )
SELECT n.name,
       (SELECT value FROM settings s WHERE s.name = n.name
           AND s.setdatabase = (SELECT oid FROM me) AND s.setrole = (SELECT oid FROM who)) AS role_in_database,
       (SELECT value FROM settings s WHERE s.name = n.name
           AND s.setdatabase = 0 AND s.setrole = (SELECT oid FROM who)) AS role,
       (SELECT value FROM settings s WHERE s.name = n.name
           AND s.setdatabase = (SELECT oid FROM me) AND s.setrole = 0) AS database,
       (SELECT reset_val || coalesce(unit, '') FROM pg_settings p WHERE p.name = n.name) AS server
  FROM names n
 ORDER BY n.name
