//! Generated snapshots for the benches, shaped like the incidents pglocks exists for: about
//! 30% of the sessions wait on locks, in migration pile-ups, row-lock chains, index builds
//! held up by two writers with writers queued behind them, and the odd deadlock. The rest
//! are idle, running or idle in transaction, with no locks listed (the poll reads pg_locks
//! only for sessions involved in a wait). Deterministic: the same size gives the same
//! snapshot, so runs compare.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use pglocks::model::{Lock, ServerInfo, Session, Snapshot};

pub const SIZES: [usize; 4] = [100, 1_000, 10_000, 100_000];

/// The poll's clock; every age in a generated snapshot is measured from it.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 14, 30, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn ago(secs: u64) -> Option<DateTime<Utc>> {
    Some(t0() - Duration::milliseconds((secs * 1000) as i64))
}

/// xorshift64*: enough randomness for shapes, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn pct(&mut self) -> u64 {
        self.below(100)
    }
}

struct Gen {
    rng: Rng,
    next_pid: i32,
    tables: u64,
    sessions: Vec<Session>,
    waiters: usize,
}

const APPS: [&str; 6] = [
    "checkout-api",
    "billing-worker",
    "metabase",
    "sidekiq",
    "psql",
    "reporting",
];

impl Gen {
    fn pid(&mut self) -> i32 {
        self.next_pid += 1;
        self.next_pid
    }

    fn table(&mut self) -> (i64, String) {
        let t = self.rng.below(self.tables);
        (16_400 + t as i64, format!("public.orders_{t}"))
    }

    fn client(&mut self, app: &str, state: &str, query: String, xact_s: Option<u64>) -> Session {
        let pid = self.pid();
        let query_s = xact_s.map(|x| x / 2);
        Session {
            pid,
            user: Some("app".into()),
            database: Some("shop".into()),
            application_name: Some(app.into()),
            client_addr: Some(format!("10.0.{}.{}", pid % 250, pid % 200).into()),
            backend_type: Some("client backend".into()),
            state: Some(state.into()),
            query: Some(query.into()),
            backend_start: ago(3_600 + u64::from(pid.unsigned_abs() % 7_200)),
            xact_start: xact_s.and_then(ago),
            query_start: query_s.and_then(ago).or(ago(5)),
            state_change: query_s.and_then(ago).or(ago(5)),
            ..Default::default()
        }
    }

    fn rel(oid: i64, name: &str, mode: &str, granted: bool, wait_s: Option<u64>) -> Lock {
        Lock {
            locktype: "relation".into(),
            mode: mode.into(),
            granted,
            database: Some(16_384),
            relation: Some(oid),
            relation_name: Some(name.into()),
            waitstart: if granted { None } else { wait_s.and_then(ago) },
            reltuples: Some(2_000_000.0),
            relpages: Some(25_000),
            ..Default::default()
        }
    }

    fn xid(xid: u64, mode: &str, granted: bool, wait_s: Option<u64>) -> Lock {
        Lock {
            locktype: "transactionid".into(),
            mode: mode.into(),
            granted,
            transactionid: Some(xid.to_string().into()),
            waitstart: if granted { None } else { wait_s.and_then(ago) },
            ..Default::default()
        }
    }

    fn wait(&mut self, mut s: Session, blocked_by: Vec<i32>, lock: Lock) -> Session {
        s.wait_event_type = Some("Lock".into());
        s.wait_event = Some(if lock.locktype == "relation" {
            "relation".into()
        } else {
            "transactionid".into()
        });
        s.blocked_by = blocked_by;
        s.locks.push(lock);
        self.waiters += 1;
        s
    }

    /// A transaction holds AccessShareLock, ALTER TABLE queues for AccessExclusiveLock,
    /// and readers and writers queue behind the ALTER.
    fn migration_pileup(&mut self, queued: usize) {
        let (oid, name) = self.table();
        let xact = 60 + self.rng.below(3_000);
        let idle = self.rng.pct() < 50;
        let mut holder = if idle {
            self.client(
                "metabase",
                "idle in transaction",
                format!("SELECT customer, sum(total) FROM {name} GROUP BY 1"),
                Some(xact),
            )
        } else {
            self.client(
                "metabase",
                "active",
                format!("SELECT customer, sum(total)\n  FROM {name}\n GROUP BY 1 ORDER BY 2 DESC"),
                Some(xact),
            )
        };
        holder
            .locks
            .push(Self::rel(oid, &name, "AccessShareLock", true, None));
        let holder_pid = holder.pid;
        self.sessions.push(holder);
        let wait_m = 5 + self.rng.below(600);
        let mut m = self.client(
            "flyway",
            "active",
            format!("ALTER TABLE {name} ADD COLUMN region int NOT NULL DEFAULT 0"),
            Some(wait_m),
        );
        m.locks
            .push(Self::rel(oid, &name, "RowExclusiveLock", true, None));
        let m = self.wait(
            m,
            vec![holder_pid],
            Self::rel(oid, &name, "AccessExclusiveLock", false, Some(wait_m)),
        );
        let m_pid = m.pid;
        self.sessions.push(m);
        for i in 0..queued {
            let w = self.rng.below(wait_m);
            let (mode, q) = if i % 4 == 3 {
                (
                    "RowExclusiveLock",
                    format!("INSERT INTO {name} (customer, total) VALUES ($1, $2)"),
                )
            } else {
                (
                    "AccessShareLock",
                    format!("SELECT o.id, o.total, o.created_at FROM {name} o WHERE o.id = $1"),
                )
            };
            let s = self.client(APPS[i % 2], "active", q, Some(w));
            let s = self.wait(s, vec![m_pid], Self::rel(oid, &name, mode, false, Some(w)));
            self.sessions.push(s);
        }
    }

    /// UPDATEs of the same row: each waits on the transaction ahead of it.
    fn row_chain(&mut self, len: usize) {
        let (oid, name) = self.table();
        let base_xid = 700_000 + self.rng.below(1_000_000);
        let mut prev: Option<(i32, u64)> = None;
        for i in 0..len {
            let xid = base_xid + i as u64;
            let xact = 10 + self.rng.below(900);
            let state = if i == 0 && self.rng.pct() < 60 {
                "idle in transaction"
            } else {
                "active"
            };
            let mut s = self.client(
                "billing-worker",
                state,
                format!("UPDATE {name} SET total = total + $1 WHERE id = {}", 42 + i),
                Some(xact),
            );
            s.locks
                .push(Self::rel(oid, &name, "RowExclusiveLock", true, None));
            s.locks.push(Self::xid(xid, "ExclusiveLock", true, None));
            let s = match prev {
                Some((blocker, blocker_xid)) => self.wait(
                    s,
                    vec![blocker],
                    Self::xid(blocker_xid, "ShareLock", false, Some(xact / 2)),
                ),
                None => s,
            };
            prev = Some((s.pid, xid));
            self.sessions.push(s);
        }
    }

    /// CREATE INDEX (ShareLock) waits for two writers; later writers queue behind it.
    fn index_build(&mut self, queued: usize) {
        let (oid, name) = self.table();
        let mut holders = Vec::new();
        for _ in 0..2 {
            let xact = 30 + self.rng.below(300);
            let mut w = self.client(
                "sidekiq",
                "idle in transaction",
                format!("UPDATE {name} SET done = true WHERE id = $1"),
                Some(xact),
            );
            w.locks
                .push(Self::rel(oid, &name, "RowExclusiveLock", true, None));
            holders.push(w.pid);
            self.sessions.push(w);
        }
        let wait_i = 5 + self.rng.below(200);
        let ix = self.client(
            "psql",
            "active",
            format!("CREATE INDEX orders_customer_idx ON {name} (customer)"),
            Some(wait_i),
        );
        let ix = self.wait(
            ix,
            holders,
            Self::rel(oid, &name, "ShareLock", false, Some(wait_i)),
        );
        let ix_pid = ix.pid;
        self.sessions.push(ix);
        for _ in 0..queued {
            let w = self.rng.below(wait_i);
            let s = self.client(
                "checkout-api",
                "active",
                format!("INSERT INTO {name} (customer, total) VALUES ($1, $2)"),
                Some(w),
            );
            let s = self.wait(
                s,
                vec![ix_pid],
                Self::rel(oid, &name, "RowExclusiveLock", false, Some(w)),
            );
            self.sessions.push(s);
        }
    }

    /// Two transactions each waiting for the other (deadlock_timeout set long).
    fn deadlock(&mut self) {
        let xid = 2_000_000 + self.rng.below(1_000_000);
        let a = self.client(
            "billing-worker",
            "active",
            "UPDATE accounts SET balance = balance - 10 WHERE id = 2".into(),
            Some(20),
        );
        let b = self.client(
            "billing-worker",
            "active",
            "UPDATE accounts SET balance = balance + 10 WHERE id = 1".into(),
            Some(20),
        );
        let (pa, pb) = (a.pid, b.pid);
        let mut a = self.wait(a, vec![pb], Self::xid(xid + 1, "ShareLock", false, Some(9)));
        a.locks.push(Self::xid(xid, "ExclusiveLock", true, None));
        let mut b = self.wait(b, vec![pa], Self::xid(xid, "ShareLock", false, Some(9)));
        b.locks
            .push(Self::xid(xid + 1, "ExclusiveLock", true, None));
        self.sessions.push(a);
        self.sessions.push(b);
    }

    fn bystander(&mut self) {
        let r = self.rng.pct();
        let app = APPS[self.rng.below(APPS.len() as u64) as usize];
        let table = self.rng.below(self.tables);
        let (state, query, xact) = if r < 60 {
            ("idle", "COMMIT".to_string(), None)
        } else if r < 90 {
            (
                "active",
                format!(
                    "SELECT c.id, c.name, count(o.*)\n  FROM customers c\n  JOIN orders_{} o ON o.customer = c.id\n WHERE c.id = $1\n GROUP BY 1, 2",
                    table
                ),
                Some(self.rng.below(5)),
            )
        } else {
            (
                "idle in transaction",
                "SELECT * FROM carts WHERE id = $1 FOR UPDATE".to_string(),
                Some(self.rng.below(120)),
            )
        };
        let s = self.client(app, state, query, xact);
        self.sessions.push(s);
    }
}

/// `n` sessions, about 30% of them waiting on locks in mixed shapes.
pub fn snapshot(n: usize) -> Snapshot {
    let mut g = Gen {
        rng: Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64),
        next_pid: 1_000,
        tables: (n as u64 / 50).max(10),
        sessions: Vec::with_capacity(n),
        waiters: 0,
    };
    let target = n * 3 / 10;
    while g.waiters < target {
        let room = target - g.waiters;
        let r = g.rng.pct();
        if r < 40 {
            let q = g.rng.below(40.min(room as u64)) as usize;
            g.migration_pileup(q);
        } else if r < 75 {
            // Mostly short chains, now and then a long one.
            let len = if g.rng.pct() < 5 {
                20 + g.rng.below(40)
            } else {
                2 + g.rng.below(8)
            };
            g.row_chain((len as usize).min(room + 1).max(2));
        } else if r < 97 || room < 2 {
            let q = g.rng.below(20.min(room as u64)) as usize;
            g.index_build(q);
        } else {
            g.deadlock();
        }
    }
    while g.sessions.len() < n {
        g.bystander();
    }
    // pg_stat_activity lists backends by slot, not by incident.
    for i in (1..g.sessions.len()).rev() {
        let j = g.rng.below(i as u64 + 1) as usize;
        g.sessions.swap(i, j);
    }
    Snapshot {
        taken_at: t0(),
        server: ServerInfo {
            version: "15.18".into(),
            version_num: 150_018,
            max_connections: (n as i32).max(100),
            query_size: None,
        },
        sessions: g.sessions,
        replication: None,
    }
}

/// The worst shape for the graph walks: one chain of `n` sessions, each waiting on the
/// one before it.
pub fn chain(n: usize) -> Snapshot {
    let mut g = Gen {
        rng: Rng(7),
        next_pid: 1_000,
        tables: 10,
        sessions: Vec::with_capacity(n),
        waiters: 0,
    };
    g.row_chain(n);
    Snapshot {
        taken_at: t0(),
        server: ServerInfo {
            version: "15.18".into(),
            version_num: 150_018,
            max_connections: (n as i32).max(100),
            query_size: None,
        },
        sessions: g.sessions,
        replication: None,
    }
}

/// `snapshot(n)` plus one idle-in-transaction session holding `held` advisory locks, of
/// which the poll lists `listed` (the rest counted in `locks_unlisted`, as poll.sql does),
/// and one session waiting for the first of them: the 50,000-lock case of the details pane.
pub fn many_locks(n: usize, held: u64, listed: usize) -> (Snapshot, i32) {
    let mut snap = snapshot(n);
    let holder = 900;
    let advisory = |key: u64, granted: bool| Lock {
        locktype: "advisory".into(),
        mode: "ExclusiveLock".into(),
        granted,
        database: Some(16_384),
        classid: Some(0),
        objid: Some(key as i64),
        objsubid: Some(1),
        waitstart: if granted { None } else { ago(40) },
        ..Default::default()
    };
    let mut g = Gen {
        rng: Rng(11),
        next_pid: holder - 1,
        tables: 10,
        sessions: Vec::new(),
        waiters: 0,
    };
    let mut h = g.client(
        "batch-import",
        "idle in transaction",
        "SELECT pg_advisory_lock(k) FROM generate_series(1, 50000) k".into(),
        Some(600),
    );
    h.locks = (0..listed as u64).map(|k| advisory(k, true)).collect();
    h.locks_unlisted = held - listed as u64;
    let w = g.client(
        "checkout-api",
        "active",
        "SELECT pg_advisory_lock(0)".into(),
        Some(40),
    );
    let w = g.wait(w, vec![holder], advisory(0, false));
    snap.sessions.push(h);
    snap.sessions.push(w);
    (snap, holder)
}
