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
    }
}
