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
