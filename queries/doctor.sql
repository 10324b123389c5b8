-- `pglocks doctor`, beside server_info.sql: the powers and settings that limit pglocks.
-- Settings, role membership and catalogs only; nothing here touches a user relation.
-- pg_signal_autovacuum_worker exists from 18 only: looked up by oid, so that older servers
-- answer NULL instead of "role does not exist".
SELECT (SELECT pg_has_role(current_user, r.oid, 'USAGE')
          FROM pg_roles r WHERE r.rolname = 'pg_signal_autovacuum_worker') AS can_signal_autovacuum,
       (SELECT count(*) FROM pg_roles WHERE rolsuper AND rolcanlogin)::int AS superuser_logins,
       current_setting('max_locks_per_transaction')::int AS max_locks_per_transaction,
       current_setting('max_prepared_transactions')::int AS max_prepared_transactions,
       EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_pg_stat_statements,
       ($1::text IS NULL OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1::text)) AS migration_role_exists
