//! `pglocks doctor`, run as the binary, logged in as the four privilege levels of
//! tests/privileges.rs (nothing, pg_monitor, pg_monitor + pg_signal_backend, superuser) on
//! one real server: the exit code says whether pglocks can fully work, each item says what
//! to grant, and the migration role's timeouts are read level by level as PostgreSQL
//! applies them.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use std::process::Command;

use common::TestDb;
use common::roles::{Grant, PASSWORD};
use serde_json::Value;
use tokio_postgres::NoTls;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn doctor(dsn: &str, extra: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pglocks"));
    cmd.arg("doctor").arg(dsn).args(extra);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn item<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == name)
        .unwrap_or_else(|| panic!("no item {name} in {report:#}"))
}

#[tokio::test]
async fn four_privilege_levels_and_the_migration_roles_timeouts() {
    let db = TestDb::new().await;
    let (admin, conn) = tokio_postgres::connect(&db.dsn(), NoTls).await.unwrap();
    tokio::spawn(conn);
    let deploy = format!("{}_deploy", db.dbname);
    // Role level, database level and role-in-database level, so each wins somewhere.
    admin
        .batch_execute(&format!(
            "CREATE ROLE {deploy} LOGIN;
             ALTER ROLE {deploy} SET lock_timeout = '4s';
             ALTER DATABASE {db} SET statement_timeout = '2min';
             ALTER ROLE {deploy} IN DATABASE {db} SET statement_timeout = '30s';",
            db = db.dbname
        ))
        .await
        .unwrap();
    let levels = [
        (Grant::Nothing, "degraded", "degraded"),
        (Grant::Monitor, "ok", "degraded"),
        // The cluster's own superuser can log in: its backends stay out of reach.
        (Grant::MonitorAndSignal, "ok", "note"),
        (Grant::Superuser, "ok", "ok"),
    ];
    let major: i32 = admin
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for (grant, visibility, signals) in levels {
        let role = format!("{}_{}", db.dbname, grant.suffix());
        admin.batch_execute(&grant.create(&role)).await.unwrap();
        let dsn = format!("{} user={role} password={PASSWORD}", db.dsn());
        let run = doctor(&dsn, &["--format", "json", "--migration-role", &deploy]);
        // 13 lacks features (degraded for everyone); 18 also wants pg_signal_autovacuum_worker.
        let autovacuum = (major >= 18).then_some(if grant == Grant::Superuser {
            "ok"
        } else {
            "degraded"
        });
        let degraded = major == 13
            || visibility == "degraded"
            || signals == "degraded"
            || autovacuum == Some("degraded");
        let code = Some(if degraded { 2 } else { 0 });
        assert_eq!(run.code, code, "{grant:?}: {}\n{}", run.stderr, run.stdout);
        assert!(!run.stdout.contains(PASSWORD), "no password in the report");
        assert!(!run.stderr.contains(PASSWORD), "no password on stderr");
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["role"], role.as_str());
        assert_eq!(report["degraded"], degraded, "{grant:?}");
        assert_eq!(
            item(&report, "visibility")["status"],
            visibility,
            "{grant:?}"
        );
        assert_eq!(item(&report, "signals")["status"], signals, "{grant:?}");
        let av = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["item"] == "autovacuum workers")
            .map(|c| c["status"].as_str().unwrap().to_string());
        assert_eq!(av.as_deref(), autovacuum, "{grant:?} on {major}");
        if signals == "degraded" {
            assert_eq!(
                item(&report, "signals")["action"],
                format!("GRANT pg_signal_backend TO {role};").as_str()
            );
        }
        if visibility == "degraded" {
            assert_eq!(
                item(&report, "visibility")["action"],
                format!("GRANT pg_monitor TO {role};").as_str()
            );
        }
        // What pg_db_role_setting says is readable by every role alike.
        let lock = item(&report, "migration lock_timeout");
        assert_eq!(lock["status"], "ok");
        assert!(
            lock["finding"]
                .as_str()
                .unwrap()
                .contains("lock_timeout = 4s (from ALTER ROLE)"),
            "{lock}"
        );
        let stmt = item(&report, "migration statement_timeout");
        assert!(
            stmt["finding"]
                .as_str()
                .unwrap()
                .contains("statement_timeout = 30s (from ALTER ROLE ... IN DATABASE)"),
            "{stmt}"
        );
        let poll = item(&report, "poll");
        assert_eq!(poll["status"], "ok", "{poll}");
    }

    // Without --migration-role: the database's setting, and the server's (none) for locks.
    let run = doctor(&db.dsn(), &["--format", "markdown"]);
    assert_eq!(
        run.code,
        Some(if major == 13 { 2 } else { 0 }),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(
            "new sessions in this database get statement_timeout = 2min (from ALTER DATABASE)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "**NOTE** migration lock_timeout: new sessions in this database get no lock_timeout"
        ),
        "{}",
        run.stdout
    );
    if major > 13 {
        assert!(run.stdout.contains("Verdict: pglocks can fully work here."));
    }

    // A role that does not exist is named, not mistaken for "no timeout".
    let run = doctor(
        &db.dsn(),
        &["--format", "json", "--migration-role", "nobody_here"],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        item(&report, "migration lock_timeout")["finding"]
            .as_str()
            .unwrap()
            .contains("no role named nobody_here")
    );
}

#[test]
fn unreachable_server_is_one_line_and_exit_1() {
    let run = doctor(
        "host=127.0.0.1 port=1 user=x dbname=x connect_timeout=2",
        &["--format", "json"],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}
