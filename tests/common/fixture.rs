//! Hand-built snapshots for the pure layers (rules, view, update): the shape of the staged
//! scenarios, with fixed times so that every age is deterministic.
use chrono::{DateTime, Duration, TimeZone, Utc};
use pglocks::model::{Lock, ServerInfo, Session, Snapshot};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 14, 30, 0).unwrap()
}

pub fn ago(secs: i64) -> Option<DateTime<Utc>> {
    Some(t0() - Duration::seconds(secs))
}

pub fn orders_lock(mode: &str, granted: bool) -> Lock {
    Lock {
        locktype: "relation".into(),
        mode: mode.into(),
        granted,
        database: Some(16384),
        relation: Some(16400),
        relation_name: Some("public.orders".into()),
        waitstart: None,
        reltuples: Some(2_000_000.0),
        relpages: Some(25_000),
        ..Default::default()
    }
}

pub fn client(pid: i32, app: &str, state: &str, query: &str, xact_s: i64) -> Session {
    Session {
        pid,
        user: Some("app".into()),
        database: Some("shop".into()),
        application_name: Some(app.into()),
        client_addr: Some("10.0.0.7".into()),
        backend_type: Some("client backend".into()),
        state: Some(state.into()),
        query: Some(query.into()),
        backend_start: ago(3600),
        xact_start: ago(xact_s),
        query_start: ago(xact_s),
        state_change: ago(xact_s),
        ..Default::default()
    }
}

pub fn waiting(mut s: Session, blocked_by: &[i32], lock: Lock, wait_s: i64) -> Session {
    s.wait_event_type = Some("Lock".into());
    s.wait_event = Some("relation".into());
    s.blocked_by = blocked_by.to_vec();
    let mut lock = lock;
    lock.waitstart = ago(wait_s);
    s.locks.push(lock);
    s
}

/// The DESIGN.md incident: metabase (3020) holds AccessShareLock for 25 minutes, the
/// flyway ALTER (4711) waits 4m12s, three sessions queue behind it, two bystanders.
pub fn pileup() -> Snapshot {
    let mut root = client(
        3020,
        "metabase",
        "active",
        "SELECT customer, sum(total)\n  FROM orders GROUP BY 1",
        25 * 60,
    );
    root.locks.push(orders_lock("AccessShareLock", true));
    let migration = waiting(
        client(
            4711,
            "flyway",
            "active",
            "ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0",
            252,
        ),
        &[3020],
        orders_lock("AccessExclusiveLock", false),
        252,
    );
    let mut sessions = vec![root, migration];
    for (i, pid) in [5001, 5002, 5003].into_iter().enumerate() {
        let (mode, q) = if i == 2 {
            (
                "RowExclusiveLock",
                "INSERT INTO orders (customer, total) VALUES ($1, $2)",
            )
        } else {
            ("AccessShareLock", "SELECT * FROM orders WHERE id = $1")
        };
        sessions.push(waiting(
            client(pid, "checkout-api", "active", q, 200 - i as i64 * 30),
            &[4711],
            orders_lock(mode, false),
            200 - i as i64 * 30,
        ));
    }
    let mut idle = client(
        6001,
        "sidekiq",
        "idle in transaction",
        "UPDATE jobs SET done = true WHERE id = 9",
        40,
    );
    idle.state_change = ago(35);
    sessions.push(idle);
    let mut quiet = client(6002, "psql", "idle", "select 1", 0);
    quiet.xact_start = None;
    sessions.push(quiet);
    Snapshot {
        taken_at: t0(),
        server: ServerInfo {
            version: "15.18".into(),
            version_num: 150018,
            max_connections: 100,
            query_size: None,
        },
        sessions,
        replication: None,
    }
}

fn relation_lock(name: &str, oid: i64, mode: &str, granted: bool) -> Lock {
    Lock {
        relation_name: Some(name.into()),
        relation: Some(oid),
        ..orders_lock(mode, granted)
    }
}

/// Three incidents at once, as issue 19 saw them on a laptop terminal:
/// - analytics (3020) holds AccessShareLock on orders for 25 minutes; the flyway ALTER
///   TABLE (4711) waits behind it and 60 checkout-api reads queue behind the ALTER;
/// - an idle-in-transaction UPDATE (3100) blocks a CREATE INDEX on accounts (4800), with
///   20 billing-api writers queued behind the index build;
/// - a row-lock chain on items: 3200 updated row 42 and sits idle in transaction, 5201
///   waits for its transaction, 5202 and 5203 wait for the row behind 5201.
pub fn three_incidents() -> Snapshot {
    let mut sessions = Vec::new();
    let mut analytics = client(
        3020,
        "analytics",
        "active",
        "SELECT region, sum(total) FROM orders JOIN customers USING (customer_id) GROUP BY 1",
        25 * 60,
    );
    analytics.user = Some("analyst".into());
    analytics.locks.push(orders_lock("AccessShareLock", true));
    sessions.push(analytics);
    sessions.push(waiting(
        client(
            4711,
            "flyway",
            "active",
            "ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0",
            252,
        ),
        &[3020],
        orders_lock("AccessExclusiveLock", false),
        252,
    ));
    for i in 0..60 {
        // Different ids in each statement: the same statement once literals are stripped.
        let wait = 2 + i64::from(i) * 70 / 59;
        sessions.push(waiting(
            client(
                10_000 + i,
                "checkout-api",
                "active",
                &format!("SELECT * FROM orders WHERE id = {}", 4211 + i * 37),
                wait,
            ),
            &[4711],
            orders_lock("AccessShareLock", false),
            wait,
        ));
    }
    let accounts =
        |mode: &str, granted: bool| relation_lock("public.accounts", 16500, mode, granted);
    let mut idle = client(
        3100,
        "billing-worker",
        "idle in transaction",
        "UPDATE accounts SET balance = balance - 10 WHERE id = 7",
        9 * 60,
    );
    idle.state_change = ago(8 * 60);
    idle.locks.push(accounts("RowExclusiveLock", true));
    sessions.push(idle);
    sessions.push(waiting(
        client(
            4800,
            "migrate",
            "active",
            "CREATE INDEX accounts_email_idx ON accounts (email)",
            130,
        ),
        &[3100],
        accounts("ShareLock", false),
        130,
    ));
    for i in 0..20 {
        let wait = 1 + i64::from(i) * 5;
        sessions.push(waiting(
            client(
                11_000 + i,
                "billing-api",
                "active",
                &format!(
                    "UPDATE accounts SET last_seen = now() WHERE id = {}",
                    90 + i
                ),
                wait,
            ),
            &[4800],
            accounts("RowExclusiveLock", false),
            wait,
        ));
    }
    let xid = |mode: &str, granted: bool| Lock {
        locktype: "transactionid".into(),
        mode: mode.into(),
        granted,
        transactionid: Some("748213".into()),
        ..Default::default()
    };
    let row = |mode: &str, granted: bool| Lock {
        locktype: "tuple".into(),
        page: Some(0),
        tuple: Some(42),
        ..relation_lock("public.items", 16600, mode, granted)
    };
    let mut holder = client(
        3200,
        "inventory",
        "idle in transaction",
        "UPDATE items SET reserved = reserved + 1 WHERE id = 42",
        190,
    );
    holder.state_change = ago(185);
    holder.locks.push(xid("ExclusiveLock", true));
    sessions.push(holder);
    let mut first = waiting(
        client(
            5201,
            "shop-web",
            "active",
            "UPDATE items SET reserved = reserved + 1 WHERE id = 42",
            95,
        ),
        &[3200],
        xid("ShareLock", false),
        95,
    );
    first.wait_event = Some("transactionid".into());
    first.locks.push(row("ExclusiveLock", true));
    sessions.push(first);
    for (pid, wait) in [(5202, 60), (5203, 31)] {
        let mut s = waiting(
            client(
                pid,
                "shop-web",
                "active",
                "UPDATE items SET reserved = reserved + 1 WHERE id = 42",
                wait,
            ),
            &[5201],
            row("ExclusiveLock", false),
            wait,
        );
        s.wait_event = Some("tuple".into());
        sessions.push(s);
    }
    let mut quiet = client(6002, "psql", "idle", "select 1", 0);
    quiet.xact_start = None;
    sessions.push(quiet);
    Snapshot {
        taken_at: t0(),
        server: ServerInfo {
            version: "15.18".into(),
            version_num: 150018,
            max_connections: 200,
            query_size: None,
        },
        sessions,
        replication: None,
    }
}
