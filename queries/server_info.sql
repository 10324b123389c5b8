-- Once per connection: what the server is and what this role may see and do. Settings
-- and role membership only; nothing here touches a user relation.
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_num,
       current_setting('max_connections')::int AS max_connections,
       pg_size_bytes(current_setting('track_activity_query_size'))::int AS query_size,
       pg_backend_pid() AS monitor_pid,
       current_user::text AS role,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS is_superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS can_read_all_stats,
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS can_signal
