-- Why a signal was refused or skipped: which role owns this pid, whether that role is a
-- superuser (then only a superuser may signal it), and whether this role can see the
-- backend's start time at all: without pg_read_all_stats or membership in the owner's
-- role it reads NULL, so the pid cannot be re-checked before signalling. Catalog and
-- pg_stat_activity reads only; pg_roles is readable by every role. $1 pid.
SELECT a.usename::text AS owner,
       coalesce(r.rolsuper, false) AS owner_is_superuser,
       a.backend_type,
       a.backend_start IS NULL AS start_hidden
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid = $1
