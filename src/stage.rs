//! Staging real lock incidents with real sessions, for `pglocks demo` and the tests.
//! Every session is an ordinary tokio-postgres connection; a blocked statement runs in its
//! own task, and dropping the Stage closes every connection, which ends the incident.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls};

pub mod causes;

pub struct Stage {
    dsn: String,
    monitor: Client,
    idle: Vec<Client>,
    running: Vec<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

/// A connected session of the stage, before its statement is sent.
pub struct Actor {
    pub client: Client,
    pub pid: i32,
}

impl Stage {
    pub async fn new(dsn: &str) -> Result<Stage> {
        let (monitor, task) = connect(dsn, "pglocks-stage").await?;
        Ok(Stage {
            dsn: dsn.to_string(),
            monitor,
            idle: Vec::new(),
            running: Vec::new(),
            tasks: vec![task],
        })
    }

    async fn connect_raw(&mut self, app: &str) -> Result<Client> {
        let (client, task) = connect(&self.dsn, app).await?;
        self.tasks.push(task);
        Ok(client)
    }

    /// A new session with this application_name.
    pub async fn actor(&mut self, app: &str) -> Result<Actor> {
        let client = self.connect_raw(app).await?;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await?
            .get(0);
        Ok(Actor { client, pid })
    }

    /// Runs statements that complete on the actor's session.
    pub async fn run(&self, actor: &Actor, sql: &str) -> Result<()> {
        actor
            .client
            .batch_execute(sql)
            .await
            .with_context(|| format!("staging: {sql}"))
    }

    /// Keeps the session open (and any transaction in it) until the stage is dropped.
    pub fn keep(&mut self, actor: Actor) -> i32 {
        self.idle.push(actor.client);
        actor.pid
    }

    /// Runs statements that complete, then keeps the session (and any open transaction).
    pub async fn hold(&mut self, actor: Actor, sql: &str) -> Result<i32> {
        self.run(&actor, sql).await?;
        Ok(self.keep(actor))
    }

    /// Sends statements that are expected to block; they run until the stage is dropped.
    pub fn block(&mut self, actor: Actor, sql: &str) -> i32 {
        let sql = sql.to_string();
        let client = actor.client;
        self.running.push(tokio::spawn(async move {
            let _ = client.batch_execute(&sql).await;
        }));
        actor.pid
    }

    /// Runs setup SQL on the stage's own session.
    pub async fn exec(&self, sql: &str) -> Result<()> {
        self.monitor
            .batch_execute(sql)
            .await
            .with_context(|| format!("staging: {sql}"))
    }

    /// Waits until every pid waits on a lock; staging is asynchronous on the server side.
    pub async fn wait_for_lock_waits(&self, pids: &[i32]) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let row = self
                .monitor
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock'",
                    &[&pids],
                )
                .await?;
            let n: i64 = row.get(0);
            if n as usize == pids.len() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "staging: only {n} of {} sessions reached a lock wait",
                    pids.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn monitor(&self) -> &Client {
        &self.monitor
    }
}

async fn connect(dsn: &str, app: &str) -> Result<(Client, JoinHandle<()>)> {
    let dsn = format!("{dsn} application_name='{}'", app.replace('\'', ""));
    let (client, conn) = tokio_postgres::connect(&dsn, NoTls)
        .await
        .with_context(|| format!("staging session {app}"))?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok((client, task))
}

impl Drop for Stage {
    fn drop(&mut self) {
        for t in self.running.drain(..).chain(self.tasks.drain(..)) {
            t.abort();
        }
    }
}

/// The incident pglocks exists for: a long transaction holds AccessShareLock on orders,
/// `ALTER TABLE orders ADD COLUMN ... NOT NULL` queues for AccessExclusiveLock, and
/// `queued` readers and writers queue behind the migration.
pub struct MigrationPileup {
    pub blocker: i32,
    pub migration: i32,
    pub queued: Vec<i32>,
}

pub async fn migration_pileup(
    stage: &mut Stage,
    queued: usize,
    blocker_active: bool,
) -> Result<MigrationPileup> {
    stage
        .exec(
            "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer int NOT NULL, total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO orders (customer, total) SELECT g % 500, (g % 9973) / 100.0 FROM generate_series(1, 20000) g;
             ANALYZE orders;",
        )
        .await?;
    let a = stage.actor("metabase").await?;
    let blocker = if blocker_active {
        // An analytics query still running: it holds AccessShareLock while it sleeps.
        let pid = a.pid;
        stage.block(a, "BEGIN; SELECT count(*), pg_sleep(86400) FROM orders;");
        pid
    } else {
        stage.hold(a, "BEGIN; SELECT count(*) FROM orders;").await?
    };
    if blocker_active {
        wait_until_active(stage, blocker).await?;
    }
    let m = stage.actor("flyway").await?;
    let migration = stage.block(
        m,
        "ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0;",
    );
    stage.wait_for_lock_waits(&[migration]).await?;
    let mut pids = Vec::new();
    for i in 0..queued {
        let r = stage.actor("checkout-api").await?;
        let sql = if i % 4 == 3 {
            "INSERT INTO orders (customer, total) VALUES (42, 9.99);"
        } else {
            "SELECT * FROM orders WHERE id = 1;"
        };
        pids.push(stage.block(r, sql));
    }
    stage.wait_for_lock_waits(&pids).await?;
    Ok(MigrationPileup {
        blocker,
        migration,
        queued: pids,
    })
}

async fn wait_until_active(stage: &Stage, pid: i32) -> Result<()> {
    for _ in 0..500 {
        let row = stage
            .monitor()
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND mode = 'AccessShareLock' AND relation = 'orders'::regclass",
                &[&pid],
            )
            .await?;
        if row.get::<_, i64>(0) > 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("staging: the long query never took its lock")
}
