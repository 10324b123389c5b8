//! The pile-up the benchmark measures: about 1,200 real sessions, about 300 of them waiting
//! on locks. Migration pile-ups (a transaction holds AccessShareLock, ALTER TABLE queues for
//! AccessExclusiveLock, readers and writers queue behind it) and row-lock chains (UPDATEs of
//! one row queue on the transaction and the tuple lock ahead of them), among idle, active
//! and idle-in-transaction bystanders.
use std::time::Instant;

use anyhow::{Context, Result, bail};
use pglocks::stage::{Actor, Stage};
use tokio::task::{JoinHandle, JoinSet};
use tokio_postgres::{Config, NoTls};

/// Migration pile-ups; the rest of the waiters (a fifth) queue in row-lock chains.
const PILEUPS: usize = 4;
const CHAIN_WAITERS: usize = 6;
/// Connections opened at once: enough to be quick, few enough not to flood the postmaster.
const CONNECT_BATCH: usize = 64;

pub struct Pileup {
    /// Dropping it closes every staged session, which ends the incident.
    _stage: Stage,
    /// The idle-in-transaction root blockers of the migration pile-ups.
    pub holders: Vec<i32>,
    pub waiters: Vec<i32>,
    /// Client backends opened here, the stage's own session included.
    pub sessions: usize,
    pub staged_in: std::time::Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Pileup {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Stages `sessions` client backends (counting the stage's own and `reserved` others that
/// the caller opens), of which `waiters` wait on locks.
/// With `many_locks` > 0, two of the bystanders become a session holding that many
/// session-level advisory locks and a session waiting for the first of them.
pub async fn stage(
    dsn: &str,
    sessions: usize,
    waiters: usize,
    reserved: usize,
    many_locks: usize,
) -> Result<Pileup> {
    let started = Instant::now();
    let chains = (waiters / 5 / CHAIN_WAITERS).max(1);
    let chain_waiters = chains * CHAIN_WAITERS;
    if waiters < chain_waiters + PILEUPS * 2 {
        bail!("--waiters {waiters} is too few for {PILEUPS} pile-ups and {chains} chains");
    }
    let queued = waiters - chain_waiters - PILEUPS;
    let holders = PILEUPS + chains;
    let bystanders = sessions
        .checked_sub(waiters + holders + 1 + reserved)
        .context("--sessions is smaller than the waiters and their blockers")?;

    let mut stage = Stage::new(dsn).await?;
    let mut setup = String::new();
    for p in 0..PILEUPS {
        setup.push_str(&format!(
            "DROP TABLE IF EXISTS pollbench_orders_{p};
             CREATE TABLE pollbench_orders_{p} (id bigserial PRIMARY KEY, customer int NOT NULL, total numeric(10,2) NOT NULL);
             INSERT INTO pollbench_orders_{p} (customer, total) SELECT g % 500, g % 9973 / 100.0 FROM generate_series(1, 10000) g;
             ANALYZE pollbench_orders_{p};"
        ));
    }
    setup.push_str(
        "DROP TABLE IF EXISTS pollbench_rows;
         CREATE TABLE pollbench_rows (id int PRIMARY KEY, v int NOT NULL);
         INSERT INTO pollbench_rows SELECT g, 0 FROM generate_series(1, 1000) g;",
    );
    stage.exec(&setup).await?;

    let mut tasks = Vec::new();
    let mut apps: Vec<&'static str> = Vec::new();
    apps.extend(std::iter::repeat_n("metabase", PILEUPS));
    apps.extend(std::iter::repeat_n("flyway", PILEUPS));
    apps.extend(std::iter::repeat_n("checkout-api", queued));
    apps.extend(std::iter::repeat_n(
        "billing-worker",
        chains * (1 + CHAIN_WAITERS),
    ));
    apps.extend((0..bystanders).map(|i| ["web", "sidekiq", "psql", "reporting"][i % 4]));
    let mut actors = connect_all(dsn, &apps, &mut tasks).await?.into_iter();
    let mut next = || {
        actors
            .next()
            .context("fewer sessions connected than asked for")
    };

    let mut pile_holders = Vec::new();
    let mut migrations = Vec::new();
    for p in 0..PILEUPS {
        let a = next()?;
        let sql = format!("BEGIN; SELECT count(*) FROM pollbench_orders_{p};");
        pile_holders.push(stage.hold(a, &sql).await?);
    }
    for p in 0..PILEUPS {
        let sql =
            format!("ALTER TABLE pollbench_orders_{p} ADD COLUMN region int NOT NULL DEFAULT 0;");
        migrations.push(stage.block(next()?, &sql));
    }
    stage.wait_for_lock_waits(&migrations).await?;
    let mut all_waiters = migrations.clone();
    for i in 0..queued {
        let p = i % PILEUPS;
        let sql = if i % 4 == 3 {
            format!("INSERT INTO pollbench_orders_{p} (customer, total) VALUES (42, 9.99);")
        } else {
            format!("SELECT * FROM pollbench_orders_{p} WHERE id = {};", 1 + i)
        };
        all_waiters.push(stage.block(next()?, &sql));
    }
    for c in 0..chains {
        let row = c + 1;
        let sql = format!("UPDATE pollbench_rows SET v = v + 1 WHERE id = {row};");
        stage.hold(next()?, &format!("BEGIN; {sql}")).await?;
        for _ in 0..CHAIN_WAITERS {
            let pid = stage.block(next()?, &sql);
            // One at a time, so that each queues behind the one before it.
            stage.wait_for_lock_waits(&[pid]).await?;
            all_waiters.push(pid);
        }
    }
    let mut bystanders = bystanders;
    if many_locks > 0 {
        bystanders = bystanders
            .checked_sub(2)
            .context("--sessions leaves no room for the lock holder and its waiter")?;
        let sql =
            format!("SELECT count(pg_advisory_lock(g)) FROM generate_series(1, {many_locks}) g;");
        stage.hold(next()?, &sql).await?;
        let pid = stage.block(next()?, "SELECT pg_advisory_lock(1);");
        stage.wait_for_lock_waits(&[pid]).await?;
        all_waiters.push(pid);
    }
    for i in 0..bystanders {
        let a = next()?;
        match i % 10 {
            // A fifth are running something long (not a lock wait).
            0 | 1 => {
                stage.block(a, "SELECT pg_sleep(3600);");
            }
            2 => {
                stage.hold(a, "BEGIN; SELECT 1;").await?;
            }
            _ => {
                stage.keep(a);
            }
        }
    }
    stage.wait_for_lock_waits(&all_waiters).await?;
    Ok(Pileup {
        _stage: stage,
        holders: pile_holders,
        waiters: all_waiters,
        sessions: apps.len() + 1,
        staged_in: started.elapsed(),
        tasks,
    })
}

/// Opens one session per application name, CONNECT_BATCH at a time, in order.
async fn connect_all(
    dsn: &str,
    apps: &[&'static str],
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<Vec<Actor>> {
    let base: Config = dsn.parse().context("the connection string")?;
    let mut out = Vec::with_capacity(apps.len());
    for chunk in apps.chunks(CONNECT_BATCH) {
        let mut set = JoinSet::new();
        for (i, app) in chunk.iter().enumerate() {
            let mut cfg = base.clone();
            cfg.application_name(*app);
            set.spawn(async move {
                let (client, conn) = cfg.connect(NoTls).await?;
                let task = tokio::spawn(async move {
                    let _ = conn.await;
                });
                let pid: i32 = client
                    .query_one("SELECT pg_backend_pid()", &[])
                    .await?
                    .get(0);
                Ok::<_, tokio_postgres::Error>((i, Actor { client, pid }, task))
            });
        }
        let mut batch: Vec<(usize, Actor)> = Vec::with_capacity(chunk.len());
        while let Some(joined) = set.join_next().await {
            let (i, actor, task) = joined
                .context("a connecting task failed")?
                .context("opening a staged session (is max_connections high enough?)")?;
            tasks.push(task);
            batch.push((i, actor));
        }
        batch.sort_by_key(|(i, _)| *i);
        out.extend(batch.into_iter().map(|(_, a)| a));
    }
    Ok(out)
}
