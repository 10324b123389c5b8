//! The causes beyond the classic pile-up, staged for real: an anti-wraparound autovacuum, a
//! migration tool's advisory lock, and a concurrent index build waiting for old snapshots.
use std::time::Duration;

use anyhow::{Result, bail};

use super::Stage;

/// Server settings the wraparound staging needs (a throwaway cluster's `-c` options): the
/// launcher must look at the database every second, not every minute.
pub const WRAPAROUND_SETTINGS: &[&str] = &["autovacuum_naptime=1"];

pub struct Wraparound {
    pub worker: i32,
    pub migration: i32,
}

/// An autovacuum "to prevent wraparound" on `public.frozen`, slowed by the table's own cost
/// settings, and an ALTER TABLE waiting on it. With autovacuum off for the table, only the
/// wraparound vacuum runs; its threshold is the table's autovacuum_freeze_max_age (100000 is
/// the least allowed), passed by burning that many transaction ids in a procedure that
/// commits each one. `rows` sets how long the vacuum lasts (about 50 rows per page, and the
/// cost settings allow about a page every two seconds once it freezes).
pub async fn wraparound(stage: &mut Stage, rows: i64) -> Result<Wraparound> {
    stage
        .exec(&format!(
            "CREATE TABLE frozen (id int, pad text) WITH (autovacuum_enabled = off, autovacuum_freeze_max_age = 100000, autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
             INSERT INTO frozen SELECT g, 'x' FROM generate_series(1, {rows}) g;
             CREATE PROCEDURE pglocks_burn_xids(n int) LANGUAGE plpgsql AS $$
             BEGIN FOR i IN 1..n LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$;"
        ))
        .await?;
    // On its own: a multi-statement string is one implicit transaction, where the
    // procedure's COMMIT is refused.
    stage.exec("CALL pglocks_burn_xids(100500)").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let worker = loop {
        let row = stage
            .monitor()
            .query_opt(
                "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.granted AND l.relation = 'frozen'::regclass
                 WHERE a.backend_type = 'autovacuum worker' AND a.query LIKE '%frozen (to prevent wraparound)' LIMIT 1",
                &[],
            )
            .await?;
        if let Some(row) = row {
            break row.get::<_, i32>(0);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "staging: no anti-wraparound autovacuum started on frozen within 30 s (is autovacuum on, with autovacuum_naptime = 1?)"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let m = stage.actor("flyway").await?;
    let migration = stage.block(m, "ALTER TABLE frozen ADD COLUMN region int;");
    stage.wait_for_lock_waits(&[migration]).await?;
    Ok(Wraparound { worker, migration })
}

/// A migration tool's advisory lock: a holder left idle (the previous deploy, whose client
/// is gone) and, for the tools that wait for the lock rather than try it, the next deploy
/// waiting on it.
pub struct ToolLock {
    pub tool: &'static str,
    pub holder: i32,
    pub waiter: Option<i32>,
}

/// Every tool pglocks knows, each taking its lock the way its source does, in `database`.
pub async fn tool_locks(stage: &mut Stage, database: &str) -> Result<Vec<ToolLock>> {
    use crate::diagnose::tool_lock::{PRISMA, SQITCH, flyway_key, golang_migrate_key, rails_key};
    let tools: [(&'static str, &str, String, Option<String>); 5] = [
        (
            "Flyway",
            "flyway",
            // Flyway's default: a transaction-level try-lock, held by an open transaction.
            format!(
                "BEGIN; SELECT pg_try_advisory_xact_lock({});",
                flyway_key("public", "flyway_schema_history")
            ),
            None,
        ),
        (
            "Rails (Active Record)",
            "rails",
            format!("SELECT pg_try_advisory_lock({});", rails_key(database)),
            None,
        ),
        (
            "golang-migrate",
            "migrate",
            format!(
                "SELECT pg_advisory_lock({});",
                golang_migrate_key(database, "public", "schema_migrations")
            ),
            Some(format!(
                "SELECT pg_advisory_lock({});",
                golang_migrate_key(database, "public", "schema_migrations")
            )),
        ),
        (
            "Prisma Migrate",
            "prisma-migrate",
            format!("SELECT pg_advisory_lock({PRISMA});"),
            Some(format!("SELECT pg_advisory_lock({PRISMA});")),
        ),
        (
            "Sqitch",
            "sqitch",
            format!("SELECT pg_advisory_lock({SQITCH});"),
            Some(format!("SELECT pg_advisory_lock({SQITCH});")),
        ),
    ];
    let mut out = Vec::new();
    let mut waiters = Vec::new();
    for (tool, app, hold, wait) in tools {
        let h = stage.actor(app).await?;
        let holder = stage.hold(h, &hold).await?;
        let waiter = match wait {
            Some(sql) => {
                let w = stage.actor(app).await?;
                let pid = stage.block(w, &sql);
                waiters.push(pid);
                Some(pid)
            }
            None => None,
        };
        out.push(ToolLock {
            tool,
            holder,
            waiter,
        });
    }
    stage.wait_for_lock_waits(&waiters).await?;
    Ok(out)
}

pub struct SnapshotWait {
    /// A repeatable-read transaction left idle after `SELECT 1`: it never touched the table.
    pub idle: i32,
    pub build: i32,
}

/// CREATE INDEX CONCURRENTLY on `cic_orders`, waiting for an idle transaction (in the same
/// database) whose snapshot is older than its own.
pub async fn cic_snapshot(stage: &mut Stage) -> Result<SnapshotWait> {
    stage
        .exec(
            "CREATE TABLE cic_orders (id int, customer int);
             INSERT INTO cic_orders SELECT g, g % 100 FROM generate_series(1, 10000) g;",
        )
        .await?;
    let r = stage.actor("nightly-report").await?;
    let idle = stage
        .hold(r, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;")
        .await?;
    let m = stage.actor("migrate").await?;
    let build = stage.block(
        m,
        "CREATE INDEX CONCURRENTLY cic_orders_customer ON cic_orders (customer);",
    );
    stage.wait_for_lock_waits(&[build]).await?;
    Ok(SnapshotWait { idle, build })
}

pub struct Rewrite {
    pub build: i32,
    pub writer: i32,
}

/// A CREATE INDEX (without CONCURRENTLY) slow enough to watch: its expression sleeps a
/// little per row, so the table scan's block counter moves over seconds. An INSERT queues
/// behind its ShareLock. `rows` of about 500 bytes each, 2 ms per row.
pub async fn slow_index_build(stage: &mut Stage, rows: i64) -> Result<Rewrite> {
    stage
        .exec(&format!(
            "CREATE TABLE big_orders (id int, pad text);
             INSERT INTO big_orders SELECT g, repeat('x', 500) FROM generate_series(1, {rows}) g;
             CREATE FUNCTION slow_id(int) RETURNS int IMMUTABLE LANGUAGE plpgsql
               AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN $1; END $$;"
        ))
        .await?;
    let m = stage.actor("migrate").await?;
    let build = stage.block(
        m,
        "CREATE INDEX big_orders_slow ON big_orders (slow_id(id));",
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = stage
            .monitor()
            .query_one(
                "SELECT count(*) FROM pg_stat_progress_create_index WHERE pid = $1 AND blocks_done > 0",
                &[&build],
            )
            .await?;
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("staging: the index build never started scanning");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let w = stage.actor("checkout-api").await?;
    let writer = stage.block(w, "INSERT INTO big_orders VALUES (0, 'new');");
    stage.wait_for_lock_waits(&[writer]).await?;
    Ok(Rewrite { build, writer })
}

/// Liquibase's lock row left set two hours ago by a deploy host that is gone, and Knex's
/// (in a schema of its own, as Knex's schemaName option puts it) left set too.
pub async fn stale_lock_rows(stage: &mut Stage) -> Result<()> {
    stage
        .exec(
            "CREATE TABLE databasechangeloglock (id int PRIMARY KEY, locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255));
             INSERT INTO databasechangeloglock VALUES (1, true, now() - interval '2 hours', 'deploy-7f9c (10.1.2.3)');
             CREATE SCHEMA deploy;
             CREATE TABLE deploy.knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
             INSERT INTO deploy.knex_migrations_lock (is_locked) VALUES (1);",
        )
        .await
}

/// VACUUM FULL of `vf_orders`, slowed where it rebuilds the table's index: the index's
/// expression sleeps for the time set in `pglocks.sleep`, which only the VACUUM's session
/// sets, so the setup stays quick. A SELECT queues behind its AccessExclusiveLock.
pub async fn vacuum_full(stage: &mut Stage, rows: i64) -> Result<Rewrite> {
    stage
        .exec(&format!(
            "CREATE TABLE vf_orders (id int, pad text);
             INSERT INTO vf_orders SELECT g, repeat('x', 200) FROM generate_series(1, {rows}) g;
             CREATE FUNCTION pglocks_slow(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
               PERFORM pg_sleep(coalesce(nullif(current_setting('pglocks.sleep', true), ''), '0')::float8);
               RETURN $1;
             END $$;
             CREATE INDEX vf_orders_slow ON vf_orders (pglocks_slow(id));
             DELETE FROM vf_orders WHERE id % 2 = 0;"
        ))
        .await?;
    let m = stage.actor("migrate").await?;
    // Apart: VACUUM refuses to run in the implicit transaction of a multi-statement string.
    stage.run(&m, "SET pglocks.sleep = '0.002'").await?;
    let build = stage.block(m, "VACUUM FULL vf_orders;");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = stage
            .monitor()
            .query_one(
                "SELECT count(*) FROM pg_stat_progress_cluster WHERE pid = $1",
                &[&build],
            )
            .await?;
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("staging: VACUUM FULL never started");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = stage.actor("checkout-api").await?;
    let writer = stage.block(r, "SELECT count(*) FROM vf_orders;");
    stage.wait_for_lock_waits(&[writer]).await?;
    Ok(Rewrite { build, writer })
}
