//! Strategies for arbitrary snapshots: colliding pids, junk locks, hostile texts.
use chrono::{DateTime, TimeZone, Utc};
use pglocks::analysis::Options;
use pglocks::migration::MigrationRules;
use pglocks::model::{Lock, ServerInfo, Session, Snapshot, Text};
use proptest::prelude::*;

pub fn taken_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A small pool so that pids collide (duplicates, self-loops, cycles), with 0 (prepared
/// transactions), negatives and the extremes thrown in.
pub fn pid() -> impl Strategy<Value = i32> {
    prop_oneof![
        8 => 0..12i32,
        1 => Just(0),
        1 => prop_oneof![Just(i32::MAX), Just(i32::MIN), Just(-1), 100_000..100_010i32],
    ]
}

const TEXTS: &[&str] = &[
    "<insufficient privilege>",
    "ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0;",
    "CREATE INDEX orders_customer ON orders (customer)",
    "CREATE INDEX CONCURRENTLY i ON t (x)",
    "VACUUM FULL orders",
    "\u{1b}[2J\u{1b}[31mred\u{1b}]52;c;ZXZpbA==\u{7}",
    "| a | b |\n## heading\n`tick` *star* _u_ [l](x)",
    "表表表表表表表表表表表表表表表表表表表表表表表表表表表表表表表表表",
    "",
    "   \n\n\t",
    "SELECT * FROM orders WHERE id = 1; -- \u{9b}2J \u{2028} \u{202e}rtl",
    "idle in transaction",
];
const APPS: &[&str] = &[
    "flyway",
    "metabase",
    "checkout-api",
    "liquibase",
    "pglocks",
    "\u{1b}]0;title\u{7}app",
];
const BACKEND_TYPES: &[&str] = &[
    "client backend",
    "autovacuum worker",
    "walsender",
    "parallel worker",
];
const STATES: &[&str] = &[
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
];
const WAIT_TYPES: &[&str] = &["Lock", "LWLock", "Client", "IO", "Timeout"];
const MODES: &[&str] = &[
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];
const LOCKTYPES: &[&str] = &[
    "relation",
    "transactionid",
    "virtualxid",
    "tuple",
    "advisory",
    "object",
    "page",
    "extend",
];

/// Draws the many scalar fields of a session or lock from one random word. Generating each
/// field with its own strategy made a debug build spend seconds on generation alone; the
/// graph invariants live in the pids, which keep their own strategies and shrink well.
struct Bits(u64);

impl Bits {
    fn take(&mut self, n: u64) -> u64 {
        let v = self.0 % n;
        self.0 = (self.0 / n) ^ self.0.rotate_left(29);
        v
    }

    fn flag(&mut self) -> bool {
        self.take(2) == 1
    }

    /// None about one time in `1 / none_in`.
    fn pick<'a>(&mut self, from: &[&'a str], none_in: u64) -> Option<&'a str> {
        if self.take(none_in) == 0 {
            return None;
        }
        Some(from[self.take(from.len() as u64) as usize])
    }

    /// A hostile text, or now and then arbitrary characters, or a very long statement.
    fn text(&mut self) -> Option<Text> {
        match self.take(64) {
            0..=3 => None,
            4 => Some("x".repeat(3_000).into()),
            5..=8 => {
                let n = self.take(40);
                Some(
                    (0..n)
                        .map(|_| char::from_u32(self.take(0x11_0000) as u32).unwrap_or('\u{fffd}'))
                        .collect::<String>()
                        .into(),
                )
            }
            _ => self.pick(TEXTS, u64::MAX).map(Text::from),
        }
    }

    /// Times around the poll, some in its future (clock skew, tampered recordings).
    fn time(&mut self) -> Option<DateTime<Utc>> {
        match self.take(8) {
            0 => None,
            1 => Some(taken_at() + chrono::Duration::seconds(self.take(5_000) as i64)),
            _ => Some(taken_at() - chrono::Duration::seconds(self.take(200_000) as i64)),
        }
    }
}

fn lock() -> impl Strategy<Value = Lock> {
    (any::<bool>(), prop::option::of(1..4i64), any::<u64>()).prop_map(
        |(granted, relation, seed)| {
            let mut b = Bits(seed);
            let locktype = match b.take(10) {
                0 => b.text().unwrap_or_default(),
                _ => LOCKTYPES[b.take(LOCKTYPES.len() as u64) as usize].into(),
            };
            let mode = match b.take(10) {
                0 => b.text().unwrap_or_default(),
                _ => MODES[b.take(MODES.len() as u64) as usize].into(),
            };
            let small = |b: &mut Bits| b.flag().then(|| b.take(3) as i64);
            let page = small(&mut b);
            let tuple = small(&mut b);
            Lock {
                locktype,
                mode,
                granted,
                database: small(&mut b),
                relation,
                relation_name: b.text(),
                page,
                tuple,
                virtualxid: b
                    .flag()
                    .then(|| format!("{}/{}", b.take(9), b.take(9)).into()),
                transactionid: b.flag().then(|| b.take(999).to_string().into()),
                classid: page,
                objid: tuple,
                objsubid: None,
                waitstart: b.time(),
                reltuples: b.flag().then(|| f64::from_bits(b.take(u64::MAX))),
                relpages: b.flag().then(|| b.take(u64::MAX) as i64),
            }
        },
    )
}

fn session() -> impl Strategy<Value = Session> {
    (
        pid(),
        prop::option::of(pid()),
        prop::collection::vec(pid(), 0..5),
        prop::collection::vec(lock(), 0..4),
        any::<u64>(),
    )
        .prop_map(|(pid, leader_pid, blocked_by, locks, seed)| {
            let mut b = Bits(seed);
            Session {
                pid,
                leader_pid,
                user: b.text(),
                database: b.text(),
                application_name: b.pick(APPS, 5).map(Text::from),
                client_addr: None,
                backend_type: b.pick(BACKEND_TYPES, 5).map(Text::from),
                state: b.pick(STATES, 5).map(Text::from),
                wait_event_type: b.pick(WAIT_TYPES, 3).map(Text::from),
                wait_event: b.text(),
                query: b.text(),
                backend_start: b.time(),
                xact_start: b.time(),
                query_start: b.time(),
                state_change: b.time(),
                is_superuser: b.flag(),
                blocked_by,
                locks,
                locks_unlisted: 0,
                parallel_workers: b.take(3) as u32,
                progress: None,
            }
        })
}

pub fn snapshot() -> impl Strategy<Value = Snapshot> {
    (
        prop_oneof![
            9 => prop::collection::vec(session(), 0..10),
            1 => prop::collection::vec(session(), 10..30),
        ],
        prop::sample::select(vec![130_000, 140_000, 150_018, 180_004]),
    )
        .prop_map(|(sessions, version_num)| Snapshot {
            taken_at: taken_at(),
            server: ServerInfo {
                version: format!("{}.0", version_num / 10_000),
                version_num,
                max_connections: 100,
                query_size: None,
            },
            sessions,
            replication: None,
        })
}

pub fn options() -> impl Strategy<Value = Options> {
    (
        prop::collection::vec(pid(), 0..3),
        any::<bool>(),
        0.0..10_000f64,
    )
        .prop_map(|(pinned, odd_apps, long_xact_s)| Options {
            rules: MigrationRules::new(if odd_apps { ",,metabase," } else { "" }, pinned),
            long_xact_s,
            feedback_xmin_age: 10_000,
        })
}
