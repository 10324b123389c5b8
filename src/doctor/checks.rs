//! The doctor's judgements: plain functions of what the server said, so each rule is
//! unit-tested without a server (the facts themselves are read from real ones in
//! tests/doctor.rs).
use super::{Check, Status};
use crate::db::{DoctorFacts, Privileges, TimeoutLevels};
use crate::model::ServerInfo;

/// The versions pglocks is built and tested for.
const OLDEST: i32 = 130_000;
const NEWEST_MAJOR: i32 = 18;
/// Below this, DDL long enough to matter is often cut in pg_stat_activity.
const SHORT_QUERY_SIZE: i32 = 4096;
/// A lock_timeout above this still lets a blocked migration stall everyone behind it.
const LONG_LOCK_TIMEOUT_MS: f64 = 10_000.0;
/// A poll slower than the default interval makes the live view lag.
const SLOW_POLL_MS: f64 = 1000.0;

pub fn checks(
    server: &ServerInfo,
    me: &Privileges,
    facts: &DoctorFacts,
    migration_role: Option<&str>,
) -> Vec<Check> {
    let mut out = vec![version(server), visibility(me), signalling(me, facts)];
    if server.version_num >= 180_000 {
        out.push(autovacuum_signal(me, facts));
    }
    out.push(query_size(server));
    for levels in &facts.timeouts {
        out.push(migration_timeout(levels, facts, migration_role));
    }
    out.push(lock_table(server, facts));
    out.push(statements_extension(facts));
    out.push(poll(facts));
    out
}

fn check(item: &'static str, status: Status, finding: String, action: Option<String>) -> Check {
    Check {
        item,
        status,
        finding,
        action,
    }
}

fn version(server: &ServerInfo) -> Check {
    let v = &server.version;
    let n = server.version_num;
    if n < OLDEST {
        check(
            "server version",
            Status::Degraded,
            format!(
                "PostgreSQL {v} is older than pglocks supports (13 to {NEWEST_MAJOR}); the poll may fail"
            ),
            Some("use psql and pg_locks by hand on this server".into()),
        )
    } else if n < 140_000 {
        check(
            "server version",
            Status::Degraded,
            format!(
                "PostgreSQL {v}: no wait durations (pg_locks.waitstart is 14+), no COPY progress, and terminate cannot wait for the backend to exit"
            ),
            Some("nothing to configure; upgrading to 14 or later lifts these limits".into()),
        )
    } else if n / 10_000 > NEWEST_MAJOR {
        check(
            "server version",
            Status::Note,
            format!("PostgreSQL {v} is newer than pglocks was tested with (up to {NEWEST_MAJOR})"),
            Some("check that `pglocks snapshot` works here before you need it".into()),
        )
    } else {
        check(
            "server version",
            Status::Ok,
            format!("PostgreSQL {v}: every feature works"),
            None,
        )
    }
}

fn visibility(me: &Privileges) -> Check {
    let role = &me.role;
    if me.is_superuser || me.can_read_all_stats {
        let why = if me.is_superuser {
            "superuser"
        } else {
            "pg_read_all_stats"
        };
        check(
            "visibility",
            Status::Ok,
            format!("role {role} sees every session's statement and state ({why})"),
            None,
        )
    } else {
        check(
            "visibility",
            Status::Degraded,
            format!(
                "role {role} cannot see other roles' statements, states or start times: the lock graph is whole, but statements show as hidden and pids cannot be re-checked before a signal"
            ),
            Some(format!("GRANT pg_monitor TO {role};")),
        )
    }
}

fn signalling(me: &Privileges, facts: &DoctorFacts) -> Check {
    let role = &me.role;
    if me.is_superuser {
        return check(
            "signals",
            Status::Ok,
            format!("role {role} may cancel and terminate every backend (superuser)"),
            None,
        );
    }
    if !me.can_signal {
        return check(
            "signals",
            Status::Degraded,
            format!("role {role} may cancel or terminate only its own role's backends"),
            Some(format!("GRANT pg_signal_backend TO {role};")),
        );
    }
    if facts.superuser_logins > 0 {
        check(
            "signals",
            Status::Note,
            format!(
                "role {role} may cancel and terminate other roles' backends, but not a superuser's ({} superuser role(s) can log in)",
                facts.superuser_logins
            ),
            Some("a blocker running as a superuser needs a superuser to end it: know who that is before the incident".into()),
        )
    } else {
        check(
            "signals",
            Status::Ok,
            format!(
                "role {role} may cancel and terminate other roles' backends (pg_signal_backend)"
            ),
            None,
        )
    }
}

fn autovacuum_signal(me: &Privileges, facts: &DoctorFacts) -> Check {
    let role = &me.role;
    if me.is_superuser || facts.can_signal_autovacuum == Some(true) {
        check(
            "autovacuum workers",
            Status::Ok,
            format!("role {role} may cancel an autovacuum worker that blocks a migration"),
            None,
        )
    } else {
        check(
            "autovacuum workers",
            Status::Degraded,
            format!(
                "on 18, role {role} cannot cancel an autovacuum worker that blocks a migration"
            ),
            Some(format!("GRANT pg_signal_autovacuum_worker TO {role};")),
        )
    }
}

fn query_size(server: &ServerInfo) -> Check {
    let Some(size) = server.query_size else {
        return check(
            "statement length",
            Status::Note,
            "track_activity_query_size unknown".into(),
            None,
        );
    };
    if size < SHORT_QUERY_SIZE {
        check(
            "statement length",
            Status::Note,
            format!("track_activity_query_size is {size} bytes: longer statements are cut, and a cut DDL statement may not be classified"),
            Some("track_activity_query_size = 16kB in postgresql.conf (takes effect at the next restart)".into()),
        )
    } else {
        check(
            "statement length",
            Status::Ok,
            format!("track_activity_query_size is {size} bytes"),
            None,
        )
    }
}

fn migration_timeout(
    levels: &TimeoutLevels,
    facts: &DoctorFacts,
    migration_role: Option<&str>,
) -> Check {
    let item = if levels.name == "lock_timeout" {
        "migration lock_timeout"
    } else {
        "migration statement_timeout"
    };
    let name = &levels.name;
    let (value, from) = levels.effective().unwrap_or(("0", "built-in"));
    let whose = match migration_role {
        Some(r) if !facts.migration_role_exists => {
            return check(
                item,
                Status::Note,
                format!("there is no role named {r}"),
                Some("pass the role your migrations log in as to --migration-role".into()),
            );
        }
        Some(r) => format!("new sessions of role {r}"),
        None => "new sessions in this database".into(),
    };
    let ms = timeout_ms(value);
    let disabled = ms == Some(0.0);
    let role_hint = migration_role.unwrap_or("ROLE");
    let finding = if disabled {
        format!("{whose} get no {name} (from {from})")
    } else {
        format!("{whose} get {name} = {value} (from {from})")
    };
    if name == "lock_timeout" && (disabled || ms.is_some_and(|ms| ms > LONG_LOCK_TIMEOUT_MS)) {
        let how_long = if disabled { "forever" } else { "that long" };
        let mut action = format!(
            "a blocked ALTER waits {how_long} and queues every query on the table behind it: SET lock_timeout = '5s' in the migration, or ALTER ROLE {role_hint} SET lock_timeout = '5s';"
        );
        if migration_role.is_none() {
            action.push_str(" (pass --migration-role to see that role's own setting)");
        }
        return check(item, Status::Note, finding, Some(action));
    }
    let action = migration_role
        .is_none()
        .then(|| "pass --migration-role to see the migration role's own setting".to_string());
    check(item, Status::Ok, finding, action)
}

fn lock_table(server: &ServerInfo, facts: &DoctorFacts) -> Check {
    let per = facts.max_locks_per_transaction;
    let slots = i64::from(per)
        * (i64::from(server.max_connections) + i64::from(facts.max_prepared_transactions));
    let finding = format!(
        "max_locks_per_transaction is {per}: the shared lock table holds about {slots} locks; a migration on a partitioned table takes one per partition and index"
    );
    if per < 64 {
        check(
            "lock table",
            Status::Note,
            finding,
            Some("below the default 64: a large migration may fail with \"out of shared memory\"; raise it (restart)".into()),
        )
    } else {
        check("lock table", Status::Ok, finding, None)
    }
}

fn statements_extension(facts: &DoctorFacts) -> Check {
    if facts.has_pg_stat_statements {
        check(
            "pg_stat_statements",
            Status::Ok,
            "installed in this database".into(),
            None,
        )
    } else {
        check(
            "pg_stat_statements",
            Status::Note,
            "not installed in this database; pglocks does not need it, but it tells how often a blocked statement runs".into(),
            Some("CREATE EXTENSION pg_stat_statements; (the library must be in shared_preload_libraries)".into()),
        )
    }
}

fn poll(facts: &DoctorFacts) -> Check {
    match (facts.poll_ms, &facts.poll_error) {
        (_, Some(e)) => check(
            "poll",
            Status::Degraded,
            format!("the poll failed: {e}"),
            Some("run `pglocks snapshot` with the same connection to see it fail in full".into()),
        ),
        (Some(ms), None) if ms > SLOW_POLL_MS => check(
            "poll",
            Status::Note,
            format!("one poll took {ms:.0} ms, more than the default 1s interval"),
            Some(format!("use --interval {}s", (ms / 1000.0).ceil() + 1.0)),
        ),
        (Some(ms), None) => check(
            "poll",
            Status::Ok,
            format!("one poll took {ms:.1} ms round trip"),
            None,
        ),
        (None, None) => check("poll", Status::Degraded, "no poll ran".into(), None),
    }
}

/// A timeout as PostgreSQL writes it ("0", "5s", "1500ms", "2min"), in milliseconds; a bare
/// number is milliseconds, as for lock_timeout and statement_timeout.
pub fn timeout_ms(value: &str) -> Option<f64> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(version_num: i32, query_size: i32) -> ServerInfo {
        ServerInfo {
            version: format!("{}.2", version_num / 10_000),
            version_num,
            max_connections: 100,
            query_size: Some(query_size),
        }
    }

    fn me(superuser: bool, stats: bool, signal: bool) -> Privileges {
        Privileges {
            role: "watcher".into(),
            is_superuser: superuser,
            can_read_all_stats: stats,
            can_signal: signal,
        }
    }

    fn facts(lock_timeout_role: Option<&str>) -> DoctorFacts {
        DoctorFacts {
            can_signal_autovacuum: None,
            superuser_logins: 1,
            max_locks_per_transaction: 64,
            max_prepared_transactions: 0,
            has_pg_stat_statements: true,
            migration_role_exists: true,
            timeouts: vec![TimeoutLevels {
                name: "lock_timeout".into(),
                role_in_database: None,
                role: lock_timeout_role.map(Into::into),
                database: None,
                server: Some("0ms".into()),
            }],
            poll_ms: Some(3.0),
            poll_error: None,
        }
    }

    fn status(cs: &[Check], item: &str) -> Status {
        cs.iter()
            .find(|c| c.item == item)
            .map(|c| c.status)
            .unwrap_or_else(|| panic!("no item {item}"))
    }

    #[test]
    fn pg_monitor_and_signal_backend_work_fully_on_15() {
        let cs = checks(
            &server(150_004, 4096),
            &me(false, true, true),
            &facts(None),
            None,
        );
        assert!(cs.iter().all(|c| c.status != Status::Degraded), "{cs:#?}");
        // Superusers' backends stay out of reach: said, not counted as degraded.
        assert_eq!(status(&cs, "signals"), Status::Note);
        assert!(!cs.iter().any(|c| c.item == "autovacuum workers"));
    }

    #[test]
    fn a_plain_role_is_degraded_and_told_what_to_grant() {
        let cs = checks(
            &server(150_004, 4096),
            &me(false, false, false),
            &facts(None),
            None,
        );
        let vis = cs.iter().find(|c| c.item == "visibility").unwrap();
        assert_eq!(vis.status, Status::Degraded);
        assert_eq!(vis.action.as_deref(), Some("GRANT pg_monitor TO watcher;"));
        assert_eq!(status(&cs, "signals"), Status::Degraded);
    }

    #[test]
    fn on_18_autovacuum_needs_its_own_role() {
        let mut f = facts(None);
        f.can_signal_autovacuum = Some(false);
        let cs = checks(&server(180_001, 4096), &me(false, true, true), &f, None);
        assert_eq!(status(&cs, "autovacuum workers"), Status::Degraded);
        f.can_signal_autovacuum = Some(true);
        let cs = checks(&server(180_001, 4096), &me(false, true, true), &f, None);
        assert_eq!(status(&cs, "autovacuum workers"), Status::Ok);
    }

    #[test]
    fn version_limits() {
        let f = facts(None);
        let me = me(true, true, true);
        assert_eq!(
            status(
                &checks(&server(130_020, 4096), &me, &f, None),
                "server version"
            ),
            Status::Degraded
        );
        assert_eq!(
            status(
                &checks(&server(120_000, 4096), &me, &f, None),
                "server version"
            ),
            Status::Degraded
        );
        assert_eq!(
            status(
                &checks(&server(190_000, 4096), &me, &f, None),
                "server version"
            ),
            Status::Note
        );
        assert_eq!(
            status(
                &checks(&server(170_000, 4096), &me, &f, None),
                "server version"
            ),
            Status::Ok
        );
    }

    #[test]
    fn migration_lock_timeout_levels() {
        let me = me(true, true, true);
        let cs = checks(
            &server(150_000, 4096),
            &me,
            &facts(Some("5s")),
            Some("deploy"),
        );
        let lt = cs
            .iter()
            .find(|c| c.item == "migration lock_timeout")
            .unwrap();
        assert_eq!(lt.status, Status::Ok);
        assert!(
            lt.finding
                .contains("role deploy get lock_timeout = 5s (from ALTER ROLE)"),
            "{}",
            lt.finding
        );
        let cs = checks(&server(150_000, 4096), &me, &facts(None), Some("deploy"));
        let lt = cs
            .iter()
            .find(|c| c.item == "migration lock_timeout")
            .unwrap();
        assert_eq!(lt.status, Status::Note);
        assert!(
            lt.finding.contains("get no lock_timeout (from server)"),
            "{}",
            lt.finding
        );
        assert!(
            lt.action
                .as_deref()
                .unwrap()
                .contains("ALTER ROLE deploy SET lock_timeout")
        );
        let cs = checks(
            &server(150_000, 4096),
            &me,
            &facts(Some("1min")),
            Some("deploy"),
        );
        assert_eq!(status(&cs, "migration lock_timeout"), Status::Note);
    }

    #[test]
    fn short_query_size_and_failed_poll() {
        let mut f = facts(None);
        f.poll_ms = None;
        f.poll_error = Some("canceling statement due to statement timeout".into());
        let cs = checks(&server(150_000, 1024), &me(true, true, true), &f, None);
        assert_eq!(status(&cs, "statement length"), Status::Note);
        assert_eq!(status(&cs, "poll"), Status::Degraded);
    }

    #[test]
    fn timeouts_in_postgres_units() {
        assert_eq!(timeout_ms("0"), Some(0.0));
        assert_eq!(timeout_ms("0ms"), Some(0.0));
        assert_eq!(timeout_ms("5s"), Some(5000.0));
        assert_eq!(timeout_ms("2min"), Some(120_000.0));
        assert_eq!(timeout_ms("1500"), Some(1500.0));
        assert_eq!(timeout_ms("soon"), None);
    }
}
