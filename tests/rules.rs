//! The runbook rules and renderers on hand-built snapshots (no database needed).
mod common;

use common::fixture::{ago, client, orders_lock, pileup, waiting};
use pglocks::analysis::{Options, analyze};
use pglocks::diagnose::Severity;
use pglocks::migration::MigrationRules;

fn codes(a: &pglocks::analysis::Analysis) -> Vec<&str> {
    a.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn pileup_findings_and_headline() {
    let a = analyze(pileup(), &Options::default());
    assert_eq!(
        codes(&a),
        vec![
            "migration_blocked",
            "lock_queue_behind_migration",
            "long_transaction_blocker"
        ]
    );
    let blocked = &a.findings[0];
    assert_eq!(blocked.pids, vec![4711, 3020]);
    assert_eq!(blocked.severity, Severity::Critical);
    assert!(
        blocked.advice.contains("pg_terminate_backend(3020)"),
        "{}",
        blocked.advice
    );
    assert!(blocked.advice.contains("lock_timeout"));
    assert_eq!(a.findings[1].pids, vec![4711, 5001, 5002, 5003]);
    assert_eq!(
        a.headline(),
        "MIGRATION BLOCKED 4m12s: pid 4711 ALTER TABLE orders ADD COLUMN region int NOT NULL DEFAULT 0 waits for AccessExclusiveLock on public.orders. Root blocker: pid 3020 (metabase, active 25m, holds AccessShareLock). 3 sessions queued behind the migration."
    );
}

#[test]
fn long_transaction_threshold_is_an_option() {
    let opts = Options {
        long_xact_s: 3600.0,
        ..Options::default()
    };
    let a = analyze(pileup(), &opts);
    assert!(!codes(&a).contains(&"long_transaction_blocker"));
}

#[test]
fn migration_by_app_name_and_pin() {
    let mut snap = pileup();
    // A hidden statement: only the application name or a pin can tell.
    snap.sessions[1].query = Some("<insufficient privilege>".into());
    let a = analyze(snap.clone(), &Options::default());
    assert!(a.migrations[&4711].contains("flyway"), "{:?}", a.migrations);
    assert!(codes(&a).contains(&"insufficient_privilege"));

    snap.sessions[1].application_name = Some("deployer".into());
    let a = analyze(snap.clone(), &Options::default());
    // Still a migration: it waits for AccessExclusiveLock on a relation.
    assert!(a.migrations[&4711].starts_with("waits for AccessExclusiveLock"));

    let opts = Options {
        rules: MigrationRules::new("deployer", vec![5002]),
        ..Options::default()
    };
    let a = analyze(snap, &opts);
    assert!(a.migrations[&4711].contains("deployer"));
    assert_eq!(a.migrations[&5002], "pinned with --migration-pid");
}

#[test]
fn idle_in_transaction_root_gets_terminate_advice() {
    let mut holder = client(
        7,
        "rails",
        "idle in transaction",
        "UPDATE orders SET total = 1 WHERE id = 1",
        900,
    );
    holder.application_name = Some("web".into());
    holder.locks.push(orders_lock("RowExclusiveLock", true));
    let index = waiting(
        client(
            8,
            "deploy",
            "active",
            "CREATE INDEX orders_c ON orders (customer)",
            30,
        ),
        &[7],
        orders_lock("ShareLock", false),
        30,
    );
    let snap = pglocks::model::Snapshot {
        sessions: vec![holder, index],
        ..pileup()
    };
    let a = analyze(snap, &Options::default());
    let c = codes(&a);
    assert!(c.contains(&"idle_in_transaction_blocker"), "{c:?}");
    assert!(c.contains(&"non_concurrent_index_build"), "{c:?}");
    assert!(
        !c.contains(&"long_transaction_blocker"),
        "one finding per blocker: {c:?}"
    );
    let idle = a
        .findings
        .iter()
        .find(|f| f.code == "idle_in_transaction_blocker")
        .unwrap();
    assert!(
        idle.title.contains("idle in transaction for 15m"),
        "{}",
        idle.title
    );
}

#[test]
fn json_document_has_the_public_fields() {
    let a = analyze(pileup(), &Options::default());
    let text = pglocks::report::json::render(&a, &[]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "pglocks.snapshot/1");
    let s = v["sessions"].as_array().unwrap();
    let m = s.iter().find(|s| s["pid"] == 4711).unwrap();
    assert_eq!(m["is_migration"], true);
    assert_eq!(m["wait_age_s"], 252.0);
    assert_eq!(m["xact_age_s"], 252.0);
    assert_eq!(m["blocked_by"], serde_json::json!([3020]));
    assert_eq!(m["waiting_total"], 3);
    assert_eq!(m["wait_start"], serde_json::json!(ago(252)));
    let root = s.iter().find(|s| s["pid"] == 3020).unwrap();
    assert_eq!(root["waiting_total"], 4);
    assert_eq!(root["wait_start"], serde_json::Value::Null);
    assert_eq!(
        v["roots"],
        serde_json::json!([{"pid": 3020, "waiting_total": 4, "in_cycle": false}])
    );
    let e = &v["edges"].as_array().unwrap()[0];
    assert_eq!(e["kind"], "holds");
    assert_eq!(e["lock"]["mode_held"], "AccessShareLock");
    assert!(
        v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "queued_ahead")
    );
    // A document reads back into the same data (recordings rely on this).
    let doc: pglocks::report::json::SnapshotDoc = serde_json::from_str(&text).unwrap();
    assert_eq!(doc.sessions.len(), a.snapshot.sessions.len());
    assert_eq!(doc.sessions[1].session, a.snapshot.sessions[1]);
}

#[test]
fn markdown_reads_like_an_incident_note() {
    let a = analyze(pileup(), &Options::default());
    let md = pglocks::report::markdown::render(&a, &[]);
    insta::assert_snapshot!(md);
}

#[test]
fn markdown_collapses_hundreds_of_siblings() {
    // Different statements: no two are identical, so the tree says how many it leaves out.
    let mut snap = pileup();
    let template = snap.sessions[2].clone();
    for pid in 10_000..10_040 {
        let mut s = template.clone();
        s.pid = pid;
        s.query = Some(format!("SELECT c{pid} FROM orders").into());
        snap.sessions.push(s);
    }
    let a = analyze(snap, &Options::default());
    let md = pglocks::report::markdown::render(&a, &[]);
    assert!(
        md.contains("- … and 28 more (the JSON lists them all)"),
        "{md}"
    );
}

#[test]
fn markdown_groups_identical_waiters_and_keeps_their_pids() {
    // The same statement with other literals: one line, every pid on it, nothing cut.
    let mut snap = pileup();
    let template = snap.sessions[2].clone();
    for pid in 10_000..10_040 {
        let mut s = template.clone();
        s.pid = pid;
        s.query = Some(format!("SELECT * FROM orders WHERE id = {pid}").into());
        snap.sessions.push(s);
    }
    let a = analyze(snap, &Options::default());
    let md = pglocks::report::markdown::render(&a, &[]);
    let line = md
        .lines()
        .find(|l| l.contains("identical sessions"))
        .unwrap_or_else(|| panic!("no group line\n{md}"));
    assert!(line.contains("**× 40 identical sessions**"), "{line}");
    assert!(
        line.contains("`SELECT * FROM orders WHERE id = ?`"),
        "{line}"
    );
    assert!(line.contains("10000") && line.contains("10039"), "{line}");
    assert!(!md.contains("… and"), "{md}");
    // 5001 and 5002 run `id = $1`: a different statement, so they keep their own rows.
    assert!(
        md.contains("**pid 5001**") && md.contains("**pid 5002**"),
        "{md}"
    );
}
