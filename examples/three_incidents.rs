//! Stages three lock incidents at once on a throwaway cluster and keeps them until Enter
//! (or end of input), so that pglocks can be pointed at a real pile-up from another
//! terminal. The README's screen capture is this scene at 120 columns.
//!
//! - analytics holds AccessShareLock on `orders` in a long query; a flyway `ALTER TABLE
//!   orders` waits for AccessExclusiveLock, and 60 checkout-api reads queue behind it;
//! - a billing-worker UPDATE sits idle in transaction on `accounts`; a `CREATE INDEX`
//!   waits for ShareLock, and 20 billing-api writers queue behind it;
//! - a row-lock chain on `items`: one session updated row 42 and sits idle in transaction,
//!   three more wait to update the same row.
//!
//! `cargo run --release --example three_incidents`, then in another terminal
//! `pglocks "DSN"` with the conninfo string it prints.
use anyhow::{Context, Result};
use pglocks::cluster::Cluster;
use pglocks::stage::Stage;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&["max_connections=200"]))
        .await
        .context("starting the cluster")??;
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await?;
    stage
        .exec(
            "CREATE TABLE orders (id bigserial PRIMARY KEY, customer int NOT NULL, total numeric(10,2) NOT NULL);
             INSERT INTO orders (customer, total) SELECT g % 500, (g % 9973) / 100.0 FROM generate_series(1, 20000) g;
             CREATE TABLE accounts (id int PRIMARY KEY, email text, balance numeric NOT NULL DEFAULT 0, last_seen timestamptz);
             INSERT INTO accounts (id, email) SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 5000) g;
             CREATE TABLE items (id int PRIMARY KEY, reserved int NOT NULL DEFAULT 0);
             INSERT INTO items (id) SELECT generate_series(1, 100);
             ANALYZE;",
        )
        .await?;

    // 1. A long analytics query, the migration behind it, 60 reads behind the migration.
    let analytics = stage.actor("analytics").await?;
    let root = analytics.pid;
    stage.block(
        analytics,
        "BEGIN; SELECT count(*), pg_sleep(86400) FROM orders;",
    );
    wait_for_lock(&stage, root, "orders").await?;
    let flyway = stage.actor("flyway").await?;
    let alter = stage.block(
        flyway,
        "ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0;",
    );
    stage.wait_for_lock_waits(&[alter]).await?;
    let mut reads = Vec::new();
    for i in 0..60 {
        let a = stage.actor("checkout-api").await?;
        let id = 4211 + i * 37;
        reads.push(stage.block(a, &format!("SELECT * FROM orders WHERE id = {id};")));
    }
    stage.wait_for_lock_waits(&reads).await?;

    // 2. An UPDATE idle in transaction, the index build behind it, 20 writers behind that.
    let worker = stage.actor("billing-worker").await?;
    stage
        .hold(
            worker,
            "BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id = 7;",
        )
        .await?;
    let migrate = stage.actor("migrate").await?;
    let index = stage.block(
        migrate,
        "CREATE INDEX accounts_email_idx ON accounts (email);",
    );
    stage.wait_for_lock_waits(&[index]).await?;
    let mut writes = Vec::new();
    for i in 0..20 {
        let a = stage.actor("billing-api").await?;
        let id = 90 + i;
        writes.push(stage.block(
            a,
            &format!("UPDATE accounts SET last_seen = now() WHERE id = {id};"),
        ));
    }
    stage.wait_for_lock_waits(&writes).await?;

    // 3. A row-lock chain: the first waiter waits for the transaction, the others for the row.
    let holder = stage.actor("inventory").await?;
    stage
        .hold(
            holder,
            "BEGIN; UPDATE items SET reserved = reserved + 1 WHERE id = 42;",
        )
        .await?;
    let mut chain = Vec::new();
    for _ in 0..3 {
        let a = stage.actor("shop-web").await?;
        chain.push(stage.block(a, "UPDATE items SET reserved = reserved + 1 WHERE id = 42;"));
        stage.wait_for_lock_waits(&chain).await?;
    }

    println!("{dsn}");
    eprintln!("three incidents staged; Enter ends them and removes the cluster");
    let mut line = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await??;
    drop(stage);
    drop(cluster);
    Ok(())
}

/// Waits until `pid` holds a lock on `table`: the long query has started.
async fn wait_for_lock(stage: &Stage, pid: i32, table: &str) -> Result<()> {
    for _ in 0..500 {
        let n: i64 = stage
            .monitor()
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND granted AND relation = to_regclass($2)",
                &[&pid, &table],
            )
            .await?
            .get(0);
        if n > 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    anyhow::bail!("staging: pid {pid} never locked {table}")
}
