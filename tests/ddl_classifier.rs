//! The DDL classifier, table-driven: for each statement form, the lock on each relation,
//! the work done on the table (none, scan, rewrite), whether a safer pattern is offered, and
//! the documentation rule that decides it.
//!
//! The same table is then replayed against a real PostgreSQL: each statement that may run
//! in a transaction block runs inside BEGIN ... ROLLBACK, and the locks it really took (from
//! pg_locks) and whether it really rewrote the table (a new relfilenode) must match what
//! the classifier said, so the table cannot drift from the server's behaviour.
#![allow(clippy::unwrap_used)]

mod common;

use pglocks::ddl::{self, Control, Outcome, Statement, Work};

/// How a case is checked against the server.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// Cannot run in a transaction block (CONCURRENTLY, VACUUM): classifier only.
    No,
    /// The locks pg_locks shows must match.
    Locks,
    /// The locks must match, and a "rewrite" must give the target a new relfilenode
    /// (and anything else must not).
    LocksAndFile,
}
use Server::*;

struct Case {
    sql: &'static str,
    kind: &'static str,
    /// (target as the classifier names it, strongest lock mode on it)
    locks: &'static [(&'static str, &'static str)],
    work: Work,
    /// A fragment of the safer pattern offered, or None when there is none.
    safer: Option<&'static str>,
    /// The documentation page and a fragment of the rule it states.
    doc: (&'static str, &'static str),
    server: Server,
}

const AEL: &str = "AccessExclusiveLock";
const SUE: &str = "ShareUpdateExclusiveLock";
const SRE: &str = "ShareRowExclusiveLock";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // sql-altertable: ADD COLUMN. A non-volatile default is stored once (PostgreSQL 11+).
    Case { sql: "ALTER TABLE orders ADD COLUMN region int", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "ACCESS EXCLUSIVE lock is acquired unless explicitly noted"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "non-volatile DEFAULT is specified"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now()", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "non-volatile DEFAULT is specified"), server: LocksAndFile },
    // sql-altertable: a volatile default, identity, serial or stored generated column rewrites.
    Case { sql: "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("backfill the existing rows in batches"),
        doc: ("sql-altertable", "volatile DEFAULT"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ADD COLUMN seq bigserial", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("backfill"),
        doc: ("sql-altertable", "volatile DEFAULT"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("backfill"),
        doc: ("sql-altertable", "identity"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ADD COLUMN double_total numeric GENERATED ALWAYS AS (total * 2) STORED", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("trigger"),
        doc: ("sql-altertable", "stored generated"), server: LocksAndFile },
    // sql-altertable: adding NOT NULL requires scanning the table.
    Case { sql: "ALTER TABLE orders ADD COLUMN flag int NOT NULL", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Scan, safer: Some("constant DEFAULT"),
        doc: ("sql-altertable", "requires scanning the table"), server: LocksAndFile },
    // sql-altertable: ADD COLUMN ... REFERENCES also locks the referenced table.
    Case { sql: "ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES customers (id)", kind: "ALTER TABLE",
        locks: &[("orders", AEL), ("customers", SRE)], work: Work::Scan, safer: Some("NOT VALID"),
        doc: ("sql-altertable", "SHARE ROW EXCLUSIVE lock on the referenced table"), server: Locks },
    Case { sql: "ALTER TABLE orders DROP COLUMN note", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'n/a'", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: LocksAndFile },
    // sql-altertable: changing a column's type rewrites the table and its indexes.
    Case { sql: "ALTER TABLE orders ALTER COLUMN total TYPE bigint", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("add a new column"),
        doc: ("sql-altertable", "Changing the type of an existing column"), server: LocksAndFile },
    // sql-altertable: SET NOT NULL scans unless a valid CHECK proves it.
    Case { sql: "ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Scan, safer: Some("IS NOT NULL) NOT VALID"),
        doc: ("sql-altertable", "SET NOT NULL is checked by scanning the entire table"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders ALTER COLUMN customer_id DROP NOT NULL", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: Locks },
    // sql-altertable: SET STATISTICS and attribute options take SHARE UPDATE EXCLUSIVE.
    Case { sql: "ALTER TABLE orders ALTER COLUMN customer_id SET STATISTICS 500", kind: "ALTER TABLE",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "SET STATISTICS acquires a SHARE UPDATE EXCLUSIVE lock"), server: Locks },
    Case { sql: "ALTER TABLE orders ALTER COLUMN customer_id SET (n_distinct = 100)", kind: "ALTER TABLE",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "per-attribute options"), server: Locks },
    // sql-altertable: CHECK scans and locks out writes; NOT VALID skips the scan.
    Case { sql: "ALTER TABLE orders ADD CONSTRAINT positive_total CHECK (total > 0)", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Scan, safer: Some("NOT VALID; then ALTER TABLE orders VALIDATE CONSTRAINT positive_total"),
        doc: ("sql-altertable", "NOT VALID skips the scan"), server: Locks },
    Case { sql: "ALTER TABLE orders ADD CONSTRAINT positive_total CHECK (total > 0) NOT VALID", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "NOT VALID skips the scan"), server: Locks },
    // sql-altertable: VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE only.
    Case { sql: "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check", kind: "ALTER TABLE",
        locks: &[("orders", SUE)], work: Work::Scan, safer: None,
        doc: ("sql-altertable", "acquires only a SHARE UPDATE EXCLUSIVE lock"), server: Locks },
    // sql-altertable: a foreign key takes SHARE ROW EXCLUSIVE on both tables.
    Case { sql: "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)", kind: "ALTER TABLE",
        locks: &[("orders", SRE), ("customers", SRE)], work: Work::Scan, safer: Some("NOT VALID"),
        doc: ("sql-altertable", "SHARE ROW EXCLUSIVE lock on the referenced table"), server: Locks },
    Case { sql: "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID", kind: "ALTER TABLE",
        locks: &[("orders", SRE), ("customers", SRE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "SHARE ROW EXCLUSIVE lock on the referenced table"), server: Locks },
    // sql-altertable: UNIQUE builds an index under ACCESS EXCLUSIVE; USING INDEX adopts one.
    Case { sql: "ALTER TABLE orders ADD CONSTRAINT orders_note_uniq UNIQUE (note)", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::Scan, safer: Some("CREATE UNIQUE INDEX CONCURRENTLY"),
        doc: ("sql-altertable", "builds its index under ACCESS EXCLUSIVE"), server: Locks },
    Case { sql: "ALTER TABLE orders ADD CONSTRAINT orders_note_key UNIQUE USING INDEX orders_note_idx", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "existing unique index"), server: Locks },
    Case { sql: "ALTER TABLE orders DROP CONSTRAINT orders_total_check", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: Locks },
    // sql-altertable: storage parameters: fillfactor/autovacuum take SHARE UPDATE EXCLUSIVE.
    Case { sql: "ALTER TABLE orders SET (fillfactor = 70, autovacuum_enabled = false)", kind: "ALTER TABLE",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "fillfactor, toast and autovacuum"), server: Locks },
    Case { sql: "ALTER TABLE orders ENABLE TRIGGER orders_noop", kind: "ALTER TABLE",
        locks: &[("orders", SRE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "TRIGGER acquires a SHARE ROW EXCLUSIVE lock"), server: Locks },
    Case { sql: "ALTER TABLE orders CLUSTER ON orders_pkey", kind: "ALTER TABLE",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "CLUSTER ON"), server: Locks },
    Case { sql: "ALTER TABLE scratch SET UNLOGGED", kind: "ALTER TABLE",
        locks: &[("scratch", AEL)], work: Work::Rewrite, safer: None,
        doc: ("sql-altertable", "write the table's data anew"), server: LocksAndFile },
    Case { sql: "ALTER TABLE orders OWNER TO CURRENT_USER", kind: "ALTER TABLE",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: Locks },
    // sql-altertable: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, ACCESS EXCLUSIVE on the partition.
    Case { sql: "ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')", kind: "ALTER TABLE",
        locks: &[("events", SUE), ("events_2025", AEL)], work: Work::Scan, safer: Some("CHECK"),
        doc: ("sql-altertable", "Attaching a partition acquires a SHARE UPDATE EXCLUSIVE lock"), server: Locks },
    Case { sql: "ALTER TABLE events DETACH PARTITION events_2024", kind: "ALTER TABLE",
        locks: &[("events", AEL), ("events_2024", AEL)], work: Work::None, safer: Some("CONCURRENTLY"),
        doc: ("sql-altertable", "DETACH PARTITION takes ACCESS EXCLUSIVE"), server: Locks },
    Case { sql: "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY", kind: "ALTER TABLE",
        locks: &[("events", SUE), ("events_2024", SUE)], work: Work::None, safer: None,
        doc: ("sql-altertable", "with CONCURRENTLY only SHARE UPDATE EXCLUSIVE"), server: No },
    // Renames: tables, columns and triggers ACCESS EXCLUSIVE; indexes SHARE UPDATE EXCLUSIVE.
    Case { sql: "ALTER TABLE orders RENAME COLUMN note TO memo", kind: "RENAME COLUMN",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: Locks },
    Case { sql: "ALTER TABLE orders RENAME TO purchases", kind: "RENAME",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: Locks },
    Case { sql: "ALTER INDEX orders_customer_idx RENAME TO orders_buyer_idx", kind: "ALTER INDEX RENAME",
        locks: &[("orders_customer_idx", SUE)], work: Work::None, safer: None,
        doc: ("sql-alterindex", "SHARE UPDATE EXCLUSIVE on the index"), server: Locks },
    // sql-createindex: SHARE lock and one scan; CONCURRENTLY: SHARE UPDATE EXCLUSIVE, waits.
    Case { sql: "CREATE INDEX orders_total_idx ON orders (total)", kind: "CREATE INDEX",
        locks: &[("orders", "ShareLock")], work: Work::Scan, safer: Some("CREATE INDEX CONCURRENTLY orders_total_idx ON orders"),
        doc: ("sql-createindex", "locks the table to be indexed against writes"), server: LocksAndFile },
    Case { sql: "CREATE UNIQUE INDEX orders_memo_idx ON public.orders (note)", kind: "CREATE UNIQUE INDEX",
        locks: &[("public.orders", "ShareLock")], work: Work::Scan, safer: Some("CREATE UNIQUE INDEX CONCURRENTLY"),
        doc: ("sql-createindex", "locks the table to be indexed against writes"), server: Locks },
    Case { sql: "CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total)", kind: "CREATE INDEX CONCURRENTLY",
        locks: &[("orders", SUE)], work: Work::Scan, safer: None,
        doc: ("sql-createindex", "must wait for all existing transactions"), server: No },
    // sql-dropindex: ACCESS EXCLUSIVE on the table; CONCURRENTLY waits instead.
    Case { sql: "DROP INDEX orders_customer_idx", kind: "DROP INDEX",
        locks: &[("the table of index orders_customer_idx", AEL), ("orders_customer_idx", AEL)], work: Work::None, safer: Some("DROP INDEX CONCURRENTLY orders_customer_idx"),
        doc: ("sql-dropindex", "ACCESS EXCLUSIVE lock on the table"), server: Locks },
    Case { sql: "DROP INDEX CONCURRENTLY orders_customer_idx", kind: "DROP INDEX CONCURRENTLY",
        locks: &[("the table of index orders_customer_idx", SUE)], work: Work::None, safer: None,
        doc: ("sql-dropindex", "waits until conflicting transactions have completed"), server: No },
    // sql-reindex: SHARE on the table, ACCESS EXCLUSIVE on the index.
    Case { sql: "REINDEX INDEX orders_customer_idx", kind: "REINDEX",
        locks: &[("the table of index orders_customer_idx", "ShareLock"), ("orders_customer_idx", AEL)], work: Work::Scan, safer: Some("REINDEX INDEX CONCURRENTLY"),
        doc: ("sql-reindex", "locks out writes but not reads"), server: Locks },
    Case { sql: "REINDEX TABLE CONCURRENTLY orders", kind: "REINDEX CONCURRENTLY",
        locks: &[("orders", SUE)], work: Work::Scan, safer: None,
        doc: ("sql-reindex", "CONCURRENTLY"), server: No },
    // sql-vacuum / sql-cluster: both rewrite under ACCESS EXCLUSIVE; plain VACUUM does not block.
    Case { sql: "VACUUM FULL orders", kind: "VACUUM FULL",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("pg_repack"),
        doc: ("sql-vacuum", "rewrites the entire contents of the table"), server: No },
    Case { sql: "VACUUM (VERBOSE) orders", kind: "VACUUM",
        locks: &[("orders", SUE)], work: Work::Scan, safer: None,
        doc: ("explicit-locking", "VACUUM (without FULL)"), server: No },
    Case { sql: "ANALYZE orders", kind: "ANALYZE",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("explicit-locking", "ANALYZE"), server: Locks },
    Case { sql: "CLUSTER orders USING orders_pkey", kind: "CLUSTER",
        locks: &[("orders", AEL)], work: Work::Rewrite, safer: Some("pg_repack"),
        doc: ("sql-cluster", "an ACCESS EXCLUSIVE lock is acquired"), server: LocksAndFile },
    // sql-truncate, explicit-locking (DROP TABLE), sql-lock.
    Case { sql: "TRUNCATE orders, customers", kind: "TRUNCATE",
        locks: &[("orders", AEL), ("customers", AEL)], work: Work::None, safer: None,
        doc: ("sql-truncate", "ACCESS EXCLUSIVE lock on each table"), server: Locks },
    Case { sql: "DROP TABLE scratch", kind: "DROP TABLE",
        locks: &[("scratch", AEL)], work: Work::None, safer: None,
        doc: ("explicit-locking", "DROP TABLE"), server: Locks },
    Case { sql: "LOCK TABLE orders IN SHARE MODE", kind: "LOCK",
        locks: &[("orders", "ShareLock")], work: Work::None, safer: None,
        doc: ("sql-lock", "takes the mode given"), server: Locks },
    Case { sql: "LOCK orders", kind: "LOCK",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-lock", "ACCESS EXCLUSIVE is used"), server: Locks },
    // sql-refreshmaterializedview: ACCESS EXCLUSIVE, or EXCLUSIVE with CONCURRENTLY.
    Case { sql: "REFRESH MATERIALIZED VIEW order_totals", kind: "REFRESH MATERIALIZED VIEW",
        locks: &[("order_totals", AEL)], work: Work::Rewrite, safer: Some("CONCURRENTLY order_totals"),
        doc: ("sql-refreshmaterializedview", "under ACCESS EXCLUSIVE"), server: LocksAndFile },
    Case { sql: "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals", kind: "REFRESH MATERIALIZED VIEW CONCURRENTLY",
        locks: &[("order_totals", "ExclusiveLock")], work: Work::Scan, safer: None,
        doc: ("sql-refreshmaterializedview", "with CONCURRENTLY it takes EXCLUSIVE"), server: Locks },
    // explicit-locking: CREATE TRIGGER takes SHARE ROW EXCLUSIVE; DROP TRIGGER ACCESS EXCLUSIVE.
    Case { sql: "CREATE TRIGGER orders_audit AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION noop()", kind: "CREATE TRIGGER",
        locks: &[("orders", SRE)], work: Work::None, safer: None,
        doc: ("explicit-locking", "CREATE TRIGGER"), server: Locks },
    Case { sql: "DROP TRIGGER orders_noop ON orders", kind: "DROP TRIGGER",
        locks: &[("orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-altertable", "unless explicitly noted"), server: Locks },
    // sql-createtable: REFERENCES locks the referenced table; PARTITION OF locks the parent.
    Case { sql: "CREATE TABLE payments (id int PRIMARY KEY, order_id bigint REFERENCES orders (id))", kind: "CREATE TABLE",
        locks: &[("orders", SRE)], work: Work::None, safer: None,
        doc: ("sql-createtable", "SHARE ROW EXCLUSIVE"), server: Locks },
    Case { sql: "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')", kind: "CREATE TABLE",
        locks: &[("events", AEL)], work: Work::None, safer: Some("ATTACH PARTITION"),
        doc: ("sql-createtable", "PARTITION OF takes ACCESS EXCLUSIVE on the parent"), server: Locks },
    Case { sql: "CREATE OR REPLACE VIEW big_orders AS SELECT * FROM customers WHERE id > 200", kind: "CREATE OR REPLACE VIEW",
        locks: &[("big_orders", AEL)], work: Work::None, safer: None,
        doc: ("sql-createview", "ACCESS EXCLUSIVE"), server: Locks },
    // explicit-locking: DML takes ROW EXCLUSIVE; SELECT ACCESS SHARE, FOR UPDATE ROW SHARE.
    Case { sql: "UPDATE orders SET total = 0 WHERE id = 1", kind: "UPDATE",
        locks: &[("orders", "RowExclusiveLock")], work: Work::None, safer: None,
        doc: ("explicit-locking", "ROW EXCLUSIVE on the target table"), server: Locks },
    Case { sql: "SELECT * FROM orders WHERE id = 1 FOR UPDATE", kind: "SELECT",
        locks: &[("orders", "RowShareLock")], work: Work::None, safer: None,
        doc: ("explicit-locking", "ROW SHARE"), server: Locks },
    Case { sql: "COMMENT ON TABLE orders IS 'what customers bought'", kind: "COMMENT",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("explicit-locking", "COMMENT ON"), server: Locks },
    Case { sql: "CREATE STATISTICS orders_stats ON customer_id, total FROM orders", kind: "CREATE STATISTICS",
        locks: &[("orders", SUE)], work: Work::None, safer: None,
        doc: ("explicit-locking", "CREATE STATISTICS"), server: Locks },
];

fn check(case: &Case) -> Statement {
    let mut all = ddl::classify(case.sql);
    assert_eq!(all.len(), 1, "{}: one statement", case.sql);
    let st = all.remove(0);
    assert_eq!(st.outcome, Outcome::Classified, "{}", case.sql);
    assert_eq!(st.kind, case.kind, "{}", case.sql);
    let locks: Vec<(String, &str)> = st
        .locks()
        .into_iter()
        .map(|(t, m)| (t.to_string(), m.name()))
        .collect();
    let want: Vec<(String, &str)> = case
        .locks
        .iter()
        .map(|(t, m)| (t.to_string(), *m))
        .collect();
    assert_eq!(locks, want, "{}: locks", case.sql);
    let work = st.steps.iter().map(|s| s.work).max().unwrap_or(Work::None);
    assert_eq!(work, case.work, "{}: work", case.sql);
    let safer: Vec<&str> = st.steps.iter().filter_map(|s| s.safer.as_deref()).collect();
    match case.safer {
        Some(frag) => assert!(
            safer.iter().any(|s| s.contains(frag)),
            "{}: safer pattern should mention {frag:?}, got {safer:?}",
            case.sql
        ),
        None => assert!(
            safer.is_empty(),
            "{}: no safer pattern expected, got {safer:?}",
            case.sql
        ),
    }
    let (page, rule) = case.doc;
    assert!(
        st.steps
            .iter()
            .any(|s| s.doc.page == page && s.doc.rule.contains(rule)),
        "{}: should cite {page}: {rule:?}; cites {:?}",
        case.sql,
        st.steps.iter().map(|s| s.doc).collect::<Vec<_>>()
    );
    st
}

#[test]
fn the_classifier_table() {
    assert!(CASES.len() >= 25, "at least 25 statement forms");
    let kinds: std::collections::BTreeSet<&str> = CASES.iter().map(|c| c.kind).collect();
    assert!(
        kinds.len() >= 20,
        "many different commands, not one command 25 times: {kinds:?}"
    );
    for case in CASES {
        check(case);
    }
}

#[test]
fn concurrently_forms_wait_for_old_transactions_and_refuse_transaction_blocks() {
    let cic = check(
        &CASES[CASES
            .iter()
            .position(|c| c.kind == "CREATE INDEX CONCURRENTLY")
            .unwrap()],
    );
    assert!(cic.waits_for_old_snapshots && cic.no_transaction_block);
    assert_eq!(
        cic.steps[0].waits_for_lockers.map(|m| m.name()),
        Some("ShareLock")
    );
    let plain = &ddl::classify("CREATE INDEX i ON orders (total)")[0];
    assert!(!plain.waits_for_old_snapshots && !plain.no_transaction_block);
    let drop = &ddl::classify("DROP INDEX CONCURRENTLY i")[0];
    assert!(drop.no_transaction_block && !drop.waits_for_old_snapshots);
    assert!(ddl::classify("VACUUM orders")[0].no_transaction_block);
}

#[test]
fn volatility_of_a_default_decides_the_rewrite() {
    let work = |sql: &str| ddl::classify(sql)[0].steps[0].clone();
    // clock_timestamp() is volatile, now() and CURRENT_TIMESTAMP are stable.
    assert_eq!(
        work("ALTER TABLE t ADD c timestamptz DEFAULT clock_timestamp()").work,
        Work::Rewrite
    );
    assert_eq!(
        work("ALTER TABLE t ADD c timestamptz DEFAULT CURRENT_TIMESTAMP").work,
        Work::None
    );
    assert_eq!(
        work("ALTER TABLE t ADD c jsonb DEFAULT '{}'::jsonb").work,
        Work::None
    );
    assert_eq!(
        work("ALTER TABLE t ADD c int DEFAULT (1 + 2) * 3").work,
        Work::None
    );
    assert_eq!(
        work("ALTER TABLE t ADD c float DEFAULT coalesce(random(), 0)").work,
        Work::Rewrite
    );
    // A function the classifier does not know: it says so instead of guessing.
    let unknown = work("ALTER TABLE t ADD c int DEFAULT my_func()");
    assert_eq!(unknown.work, Work::Rewrite);
    assert!(
        unknown
            .condition
            .unwrap()
            .contains("only if my_func() is volatile")
    );
    // PostgreSQL 18's virtual generated columns are computed on read.
    assert_eq!(
        work("ALTER TABLE t ADD c int GENERATED ALWAYS AS (a * 2) VIRTUAL").work,
        Work::None
    );
}

#[test]
fn one_alter_table_takes_the_strongest_lock_of_its_subcommands() {
    let st = &ddl::classify(
        "ALTER TABLE orders ALTER COLUMN a SET STATISTICS 100, ADD COLUMN b int DEFAULT random(), VALIDATE CONSTRAINT c",
    )[0];
    assert_eq!(st.steps.len(), 3);
    let (target, mode) = st.strongest().unwrap();
    assert_eq!((target.to_string(), mode.name()), ("orders".into(), AEL));
    assert_eq!(st.work_on(target), Work::Rewrite);
    assert!(
        st.deciding_step(target)
            .unwrap()
            .action
            .contains("ADD COLUMN b")
    );
    // Storage parameters other than the light ones take ACCESS EXCLUSIVE.
    let heavy = &ddl::classify("ALTER VIEW v SET (security_barrier = true)")[0];
    assert_eq!(heavy.strongest().unwrap().1.name(), AEL);
}

#[test]
fn unparseable_text_is_unknown_and_never_a_guess() {
    for sql in [
        "ALTER TABLE orders ADD COLUMN",
        "ALTER TABL orders ADD x int",
        // Cut by track_activity_query_size in the middle of a literal, a comment, a body.
        "ALTER TABLE orders ADD COLUMN note text DEFAULT 'abc",
        "ALTER TABLE orders ADD COLUMN x int /* the rest was cut",
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT",
        "ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0\u{0}",
        "ALTER TABLE \"orders",
    ] {
        let all = ddl::classify(sql);
        assert_eq!(all.len(), 1, "{sql}");
        let st = &all[0];
        assert!(st.is_unknown(), "{sql}: {st:?}");
        assert_eq!(st.kind, "unknown");
        assert!(st.steps.is_empty(), "{sql}: no guessed locks");
        assert!(ddl::first_locking(sql).is_none());
    }
    assert!(ddl::classify("").is_empty());
    assert!(ddl::classify("  -- nothing but a comment\n").is_empty());
}

#[test]
fn a_bad_statement_among_good_ones_is_named_alone() {
    let all = ddl::classify(
        "SET lock_timeout = '3s';\nALTER TABLE orders ADD COLUMN region int;\nALTER TABLE orders ADD CONSTRAINT c CHEK (x > 0);\nCREATE INDEX CONCURRENTLY i ON orders (region);",
    );
    let kinds: Vec<&str> = all.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["SET", "ALTER TABLE", "unknown", "CREATE INDEX CONCURRENTLY"]
    );
    assert_eq!(
        all[2].sql,
        "ALTER TABLE orders ADD CONSTRAINT c CHEK (x > 0)"
    );
    let Outcome::Unknown { reason, position } = &all[2].outcome else {
        panic!("unknown")
    };
    assert!(
        reason.starts_with("syntax error at or near \"CHEK\""),
        "{reason}"
    );
    // Where the parser stopped: right after the constraint name, on line 3 of the text.
    let at = position.expect("a position");
    assert_eq!((at.line, at.column), (3, 36), "{reason}");
}

#[test]
fn session_statements_are_seen() {
    let all = ddl::classify(
        "BEGIN; SET LOCAL lock_timeout TO 5000; SET statement_timeout = '1min'; RESET lock_timeout; COMMIT",
    );
    let controls: Vec<Control> = all.iter().filter_map(|s| s.control.clone()).collect();
    assert_eq!(
        controls,
        vec![
            Control::Begin,
            Control::Set {
                name: "lock_timeout".into(),
                value: "5000".into(),
                local: true
            },
            Control::Set {
                name: "statement_timeout".into(),
                value: "1min".into(),
                local: false
            },
            Control::Reset {
                name: "lock_timeout".into()
            },
            Control::Commit,
        ]
    );
    assert!(all.iter().all(|s| s.steps.is_empty()));
}

#[test]
fn valid_statements_that_are_not_modelled_say_so() {
    for (sql, kind) in [
        (
            "ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0)",
            "ALTER DOMAIN",
        ),
        ("DO $$ BEGIN PERFORM 1; END $$", "DO"),
        ("ALTER TYPE mood ADD VALUE 'meh'", "ALTER TYPE"),
        ("VACUUM FULL", "VACUUM FULL"),
    ] {
        let st = &ddl::classify(sql)[0];
        assert_eq!(st.outcome, Outcome::NotModelled, "{sql}");
        assert_eq!(st.kind, kind, "{sql}");
        assert!(st.steps.is_empty());
    }
    // New objects nobody can be using yet take no lock worth reporting.
    for sql in [
        "CREATE TABLE t (id int)",
        "CREATE SEQUENCE s",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ] {
        let st = &ddl::classify(sql)[0];
        assert_eq!(st.outcome, Outcome::Classified, "{sql}");
        assert!(st.steps.is_empty(), "{sql}");
    }
}

#[test]
fn the_json_form_names_modes_and_rules() {
    let st = &ddl::classify("ALTER TABLE orders ALTER COLUMN email SET NOT NULL")[0];
    let v = serde_json::to_value(st).unwrap();
    assert_eq!(v["classification"], "classified");
    assert_eq!(v["steps"][0]["mode"], "AccessExclusiveLock");
    assert_eq!(v["steps"][0]["work"], "scan");
    assert_eq!(v["steps"][0]["doc"]["page"], "sql-altertable");
    assert_eq!(
        st.steps[0].doc.url(),
        "https://www.postgresql.org/docs/current/sql-altertable.html"
    );
}

const SCHEMA: &str = "
CREATE TABLE customers (id bigint PRIMARY KEY, email text);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint, total numeric, note varchar(20),
                     created_at timestamptz DEFAULT now());
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE UNIQUE INDEX orders_note_idx ON orders (note);
ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;
CREATE TABLE scratch (a int);
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 (id int, at date);
-- Views read customers, so that orders' columns can change type or go away.
CREATE MATERIALIZED VIEW order_totals AS SELECT id AS customer_id, count(*) AS n FROM customers GROUP BY 1;
CREATE UNIQUE INDEX order_totals_idx ON order_totals (customer_id);
CREATE VIEW big_orders AS SELECT * FROM customers WHERE id > 100;
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER orders_noop BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION noop();
INSERT INTO customers VALUES (1, 'a@example.com');
";

/// The strongest mode this backend holds on the relation with this oid.
async fn held(client: &tokio_postgres::Client, oid: u32) -> Option<String> {
    let rows = client
        .query(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'
               AND granted AND relation = $1",
            &[&oid],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .max_by_key(|m| pglocks::lockmode::LockMode::parse(m))
}

async fn filenode(client: &tokio_postgres::Client, oid: u32) -> Option<u32> {
    client
        .query_one("SELECT pg_relation_filenode($1::oid)::oid", &[&oid])
        .await
        .unwrap()
        .get(0)
}

/// The oid of what a target names; "the table of index i" is resolved as the server does.
async fn resolve(client: &tokio_postgres::Client, target: &pglocks::ddl::Target) -> u32 {
    let sql = if target.table_of_index {
        "SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass($1)"
    } else {
        "SELECT to_regclass($1)::oid"
    };
    let row = client
        .query_one(sql, &[&target.relation.to_string()])
        .await
        .unwrap();
    row.get::<_, Option<u32>>(0)
        .unwrap_or_else(|| panic!("{target} does not exist in the test schema"))
}

#[tokio::test]
async fn the_table_matches_what_the_server_does() {
    let db = common::TestDb::new().await;
    let (client, conn) = tokio_postgres::connect(&db.dsn(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute(SCHEMA).await.unwrap();
    let mut checked = 0;
    for case in CASES.iter().filter(|c| c.server != No) {
        let st = check(case);
        let mut targets = Vec::new();
        for (target, mode) in st.locks() {
            let oid = resolve(&client, target).await;
            let before = filenode(&client, oid).await;
            targets.push((
                target.to_string(),
                oid,
                before,
                mode.name(),
                st.work_on(target),
            ));
        }
        client.batch_execute("BEGIN").await.unwrap();
        if let Err(e) = client.batch_execute(case.sql).await {
            panic!("{}: the server refused it: {e:?}", case.sql);
        }
        for (name, oid, before, mode, work) in &targets {
            assert_eq!(
                held(&client, *oid).await.as_deref(),
                Some(*mode),
                "{}: the server's strongest lock on {name}",
                case.sql
            );
            if case.server == LocksAndFile {
                let after = filenode(&client, *oid).await;
                assert_eq!(
                    after != *before,
                    *work == Work::Rewrite,
                    "{}: {name} rewritten? classifier says {work:?}",
                    case.sql
                );
            }
        }
        client.batch_execute("ROLLBACK").await.unwrap();
        checked += 1;
    }
    assert!(
        checked >= 40,
        "most forms are checked against the server, got {checked}"
    );
}
