//! The classifier in the live view and `snapshot`: the migration_blocked finding says which
//! lock the running statement needs and why, and `table_rewrite` warns when it will
//! rewrite a table of N rows once it gets the lock. Hand-built snapshots first, then a real
//! stalled migration on a real server.
#![allow(clippy::unwrap_used)]

mod common;

use common::fixture::pileup;
use pglocks::analysis::{Options, analyze};
use pglocks::diagnose::Severity;
use pglocks::stage::Stage;

fn with_migration_query(query: &str) -> pglocks::model::Snapshot {
    let mut snap = pileup();
    let m = snap.sessions.iter_mut().find(|s| s.pid == 4711).unwrap();
    m.query = Some(query.into());
    snap
}

#[test]
fn migration_blocked_says_which_lock_and_why() {
    let a = analyze(pileup(), &Options::default());
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap();
    assert!(
        f.advice.starts_with("Why this lock: ADD COLUMN region needs AccessExclusiveLock on orders: An ACCESS EXCLUSIVE lock is acquired unless explicitly noted (https://www.postgresql.org/docs/current/sql-altertable.html)."),
        "{}",
        f.advice
    );
    // A constant default is stored once: nothing to rewrite.
    assert!(!a.findings.iter().any(|f| f.code == "table_rewrite"));
}

#[test]
fn a_rewrite_names_the_table_and_its_rows() {
    let a = analyze(
        with_migration_query(
            "SET lock_timeout = '5s'; ALTER TABLE orders ALTER COLUMN total TYPE bigint",
        ),
        &Options::default(),
    );
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "table_rewrite")
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.pids, vec![4711]);
    assert!(
        f.title.starts_with("Migration pid 4711 will rewrite public.orders (~2.0M rows) under AccessExclusiveLock: ALTER COLUMN total TYPE"),
        "{}",
        f.title
    );
    assert!(
        f.advice.contains("Next time: add a new column"),
        "{}",
        f.advice
    );
    let blocked = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap();
    assert!(
        blocked
            .advice
            .contains("ALTER COLUMN total TYPE needs AccessExclusiveLock on orders"),
        "{}",
        blocked.advice
    );
}

#[test]
fn a_truncated_statement_is_shown_as_unknown() {
    // pg_stat_activity cut the text at track_activity_query_size, inside a literal.
    let a = analyze(
        with_migration_query("ALTER TABLE orders ADD COLUMN note text DEFAULT 'a very long def"),
        &Options::default(),
    );
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap();
    assert!(
        f.advice
            .starts_with("Why this lock: pglocks cannot parse its statement"),
        "{}",
        f.advice
    );
    assert!(
        !a.findings.iter().any(|f| f.code == "table_rewrite"),
        "no guess"
    );
}

#[tokio::test]
async fn a_real_stalled_rewrite_is_reported_with_pg_class_rows() {
    let db = common::TestDb::new().await;
    let mut stage: Stage = db.stage().await;
    stage
        .exec(
            "CREATE TABLE orders (id bigserial PRIMARY KEY, total numeric NOT NULL);
               INSERT INTO orders (total) SELECT g FROM generate_series(1, 30000) g;
               ANALYZE orders;",
        )
        .await
        .unwrap();
    let reader = stage.actor("metabase").await.unwrap();
    stage
        .hold(reader, "BEGIN; SELECT count(*) FROM orders;")
        .await
        .unwrap();
    let m = stage.actor("flyway").await.unwrap();
    let migration = stage.block(
        m,
        "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    );
    stage.wait_for_lock_waits(&[migration]).await.unwrap();

    let a = db.analyze().await;
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "table_rewrite")
        .unwrap_or_else(|| panic!("{:#?}", a.findings));
    assert_eq!(f.pids, vec![migration]);
    assert!(
        f.title.starts_with(&format!("Migration pid {migration} will rewrite public.orders (~30k rows) under AccessExclusiveLock: ADD COLUMN token (the default gen_random_uuid() is volatile")),
        "{}",
        f.title
    );
    let blocked = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap();
    assert!(
        blocked
            .advice
            .contains("ADD COLUMN token needs AccessExclusiveLock on orders"),
        "{}",
        blocked.advice
    );
    // The same findings reach the snapshot JSON.
    let json = pglocks::report::render(pglocks::report::Format::Json, &a, &[]).unwrap();
    assert!(json.contains("\"table_rewrite\""));
}

/// A migration whose text is longer than track_activity_query_size (1024 bytes by default):
/// pg_stat_activity shows its first 1023 bytes, which here still parse, as a plain ADD
/// COLUMN. The rest (a volatile default) makes it a rewrite, so the cut text must not be
/// classified: the finding says the statement was truncated and no lock class is claimed.
fn cut_migration() -> String {
    let tail = "ALTER TABLE orders ADD COLUMN note text";
    let filler = "x".repeat(1023 - "/*  */ ".len() - tail.len());
    format!("/* {filler} */ {tail} DEFAULT gen_random_uuid()::text")
}

#[test]
fn a_text_cut_where_it_still_parses_is_not_classified() {
    let query = cut_migration();
    let shown = &query[..1023];
    assert!(
        pglocks::ddl::classify(shown)[0].steps.len() == 1,
        "the cut text parses"
    );
    let a = analyze(with_migration_query(shown), &Options::default());
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap();
    assert!(
        f.advice
            .starts_with("Why this lock: statement truncated, lock class unknown"),
        "{}",
        f.advice
    );
    // The same text, shorter than the limit a server reports, is read as it is.
    let mut snap = with_migration_query(shown);
    snap.server.query_size = Some(4096);
    let a = analyze(snap, &Options::default());
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap();
    assert!(f.advice.contains("ADD COLUMN note needs"), "{}", f.advice);
}

#[tokio::test]
async fn a_real_truncated_migration_is_named_truncated() {
    let db = common::TestDb::new().await;
    let mut stage: Stage = db.stage().await;
    stage
        .exec("CREATE TABLE orders (id bigserial PRIMARY KEY, total numeric NOT NULL);")
        .await
        .unwrap();
    let reader = stage.actor("metabase").await.unwrap();
    stage
        .hold(reader, "BEGIN; SELECT count(*) FROM orders;")
        .await
        .unwrap();
    let m = stage.actor("flyway").await.unwrap();
    let migration = stage.block(m, &cut_migration());
    stage.wait_for_lock_waits(&[migration]).await.unwrap();

    let a = db.analyze().await;
    assert_eq!(a.snapshot.server.query_size, Some(1024));
    let shown = a.session(migration).unwrap().query.clone().unwrap();
    assert_eq!(shown.len(), 1023, "the server cut the text");
    let blocked = a
        .findings
        .iter()
        .find(|f| f.code == "migration_blocked")
        .unwrap_or_else(|| panic!("{:#?}", a.findings));
    assert!(
        blocked
            .advice
            .contains("statement truncated, lock class unknown"),
        "{}",
        blocked.advice
    );
    assert!(
        !blocked.advice.contains("ADD COLUMN note needs"),
        "no lock from the cut text: {}",
        blocked.advice
    );
}
