//! Least privilege: the monitor logs in as roles with exactly (a) nothing special,
//! (b) pg_monitor, (c) pg_monitor + pg_signal_backend and (d) superuser, against a real
//! migration pile-up whose sessions run as an ordinary application role, as on a managed
//! service. With too little privilege the graph is still whole (pg_locks is readable by
//! everyone), statements are marked hidden and the missing grant is named; a signal the
//! role may not send is reported as such, never as success, a crash or a silent no-op.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::roles::{Grant, PASSWORD};
use common::{TestDb, codes, edge, root_pids};
use pglocks::analysis::{Analysis, Options, analyze};
use pglocks::db::conninfo::{self, Overrides, ProcessEnv};
use pglocks::db::{self, Connection, Signal, SignalOutcome};
use pglocks::graph::EdgeKind;
use pglocks::stage::{MigrationPileup, Stage, migration_pileup};
use tokio_postgres::{Client, NoTls};

const QUEUED: usize = 4;

/// A pile-up whose sessions all run as `app`, plus one idle superuser session.
struct Scene {
    db: TestDb,
    admin: Client,
    app: String,
    pileup: MigrationPileup,
    superuser_pid: i32,
    _superuser_session: Client,
    _stage: Stage,
}

async fn client(dsn: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(dsn, NoTls).await.unwrap();
    tokio::spawn(conn);
    c
}

fn dsn_as(db: &TestDb, role: &str) -> String {
    format!("{} user={role} password={PASSWORD}", db.dsn())
}

async fn scene() -> Scene {
    let db = TestDb::new().await;
    let admin = client(&db.dsn()).await;
    // Roles are cluster-wide; the database name keeps them apart on a shared server.
    let app = format!("{}_app", db.dbname);
    admin
        .batch_execute(&format!(
            "CREATE ROLE {app} LOGIN PASSWORD '{PASSWORD}';
             GRANT ALL ON SCHEMA public TO {app};"
        ))
        .await
        .unwrap();
    let mut stage = Stage::new(&dsn_as(&db, &app)).await.unwrap();
    // The blocker is running a statement: a cancel that got through would end it (and a
    // refused one must not), which an idle-in-transaction blocker would not show.
    let pileup = migration_pileup(&mut stage, QUEUED, true).await.unwrap();
    let superuser_session = client(&format!("{} application_name=dba-console", db.dsn())).await;
    let superuser_pid: i32 = superuser_session
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    Scene {
        db,
        admin,
        app,
        pileup,
        superuser_pid,
        _superuser_session: superuser_session,
        _stage: stage,
    }
}

impl Scene {
    async fn role(&self, grant: Grant) -> String {
        let role = format!("{}_{}", self.db.dbname, grant.suffix());
        self.admin
            .batch_execute(&grant.create(&role))
            .await
            .unwrap();
        role
    }

    /// The monitor's connection as `role`, made exactly as the binary makes it.
    async fn monitor_as(&self, role: &str) -> Connection {
        let params = conninfo::resolve(
            Some(&dsn_as(&self.db, role)),
            &Overrides::default(),
            &ProcessEnv,
        )
        .unwrap();
        let conn = db::connect(&params, &ProcessEnv).await.unwrap();
        assert_eq!(
            conn.privileges.role, role,
            "logged in as the role under test"
        );
        conn
    }

    async fn analyze_as(&self, conn: &Connection) -> Analysis {
        let snap = conn.poll(Some(&self.db.dbname)).await.unwrap();
        analyze(snap, &Options::default())
    }

    /// The backend's start time as the superuser sees it: the less privileged roles may
    /// not see it, and the signal must still be refused for the right reason.
    async fn backend_start(&self, pid: i32) -> DateTime<Utc> {
        self.admin
            .query_one(
                "SELECT backend_start FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0)
    }

    async fn alive(&self, pid: i32) -> bool {
        common::listed(&self.admin, pid).await
    }

    /// What a delivered cancel or terminate would change: the session, its statement's
    /// state and start, and whether it still holds its lock on orders.
    async fn footprint(&self, pid: i32) -> Option<(Option<String>, Option<DateTime<Utc>>, bool)> {
        self.admin
            .query_opt(
                "SELECT a.state, a.query_start,
                        EXISTS (SELECT 1 FROM pg_locks l
                                 WHERE l.pid = a.pid AND l.granted
                                   AND l.relation = 'orders'::regclass)
                   FROM pg_stat_activity a WHERE a.pid = $1",
                &[&pid],
            )
            .await
            .unwrap()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
    }

    async fn signal(&self, conn: &Connection, signal: Signal, pid: i32) -> SignalOutcome {
        let start = self.backend_start(pid).await;
        conn.signal(signal, pid, start).await.unwrap()
    }

    /// Sessions still waiting on a lock among the migration and the queue.
    async fn still_waiting(&self) -> i64 {
        let mut pids = vec![self.pileup.migration];
        pids.extend(&self.pileup.queued);
        self.admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock'",
                &[&pids],
            )
            .await
            .unwrap()
            .get(0)
    }
}

/// What every role sees, and what only some roles see.
fn check_snapshot(s: &Scene, grant: Grant, conn: &Connection, a: &Analysis) {
    let p = &s.pileup;
    assert_eq!(
        conn.privileges.can_read_all_stats,
        grant.sees_all(),
        "{grant:?}"
    );
    assert_eq!(
        conn.privileges.can_signal,
        matches!(
            grant,
            Grant::MonitorAndSignal | Grant::SignalOnly | Grant::Superuser
        ),
        "{grant:?}"
    );
    assert_eq!(conn.privileges.is_superuser, grant == Grant::Superuser);

    // The shape comes from pg_locks and pg_blocking_pids, which every role may read.
    assert_eq!(root_pids(a), vec![p.blocker], "{grant:?}");
    assert_eq!(a.graph.waiting_total(p.blocker), QUEUED + 1, "{grant:?}");
    assert_eq!(edge(a, p.migration, p.blocker).kind, EdgeKind::Holds);
    for &q in &p.queued {
        assert_eq!(
            edge(a, q, p.migration).kind,
            EdgeKind::QueuedAhead,
            "{grant:?} pid {q}"
        );
    }
    assert!(
        a.is_migration(p.migration),
        "{grant:?}: lock modes alone reveal the migration"
    );
    assert!(
        codes(a).contains(&"migration_blocked"),
        "{grant:?}: {:?}",
        codes(a)
    );

    let staged: Vec<i32> = [p.blocker, p.migration]
        .into_iter()
        .chain(p.queued.iter().copied())
        .collect();
    let hidden_finding = a
        .findings
        .iter()
        .find(|f| f.code == "insufficient_privilege");
    if grant.sees_all() {
        for &pid in &staged {
            let sess = a.session(pid).unwrap();
            assert!(
                !sess.query_hidden(),
                "{grant:?} pid {pid}: {:?}",
                sess.query
            );
            assert!(sess.backend_start.is_some(), "{grant:?} pid {pid}");
        }
        assert!(
            a.session(p.blocker)
                .and_then(|b| b.query.as_deref())
                .is_some_and(|q| q.contains("FROM orders")),
            "{grant:?} sees the blocker's statement"
        );
        assert!(hidden_finding.is_none(), "{grant:?}: {hidden_finding:?}");
    } else {
        for &pid in &staged {
            let sess = a.session(pid).unwrap();
            assert!(sess.query_hidden(), "{grant:?} pid {pid}: {:?}", sess.query);
            assert_eq!(
                sess.user.as_deref(),
                Some(s.app.as_str()),
                "the owner is still named"
            );
        }
        let f = hidden_finding
            .unwrap_or_else(|| panic!("{grant:?}: no insufficient_privilege in {:?}", codes(a)));
        assert!(f.pids.contains(&p.blocker), "{f:?}");
        assert!(
            f.advice.contains("pg_read_all_stats") && f.advice.contains("pg_monitor"),
            "{}",
            f.advice
        );
    }
}

/// Refused signals name the missing grant and leave the target alive.
async fn check_refused(s: &Scene, conn: &Connection, signal: Signal, pid: i32, phrases: &[&str]) {
    let before = s.footprint(pid).await;
    assert!(before.is_some(), "pid {pid} is there to begin with");
    let outcome = s.signal(conn, signal, pid).await;
    let SignalOutcome::NotPermitted(_) = &outcome else {
        panic!(
            "{} pid {pid} as {}: expected NotPermitted, got {outcome:?}",
            signal.verb(),
            conn.privileges.role
        );
    };
    let text = outcome.describe();
    eprintln!("{} as {}: {text}", signal.verb(), conn.privileges.role);
    assert!(text.starts_with("not permitted: "), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    for phrase in phrases {
        assert!(text.contains(phrase), "{text:?} should mention {phrase:?}");
    }
    // Time for a signal that did get through to land.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.footprint(pid).await,
        before,
        "a refused {} must leave pid {pid} running its statement, holding its lock",
        signal.verb()
    );
}

async fn check_terminates(s: &Scene, conn: &Connection) {
    let p = &s.pileup;
    let outcome = s.signal(conn, Signal::Terminate, p.blocker).await;
    assert_eq!(outcome, SignalOutcome::Terminated, "{}", outcome.describe());
    assert!(!s.alive(p.blocker).await);
    // The point of the kill: the migration and the queue behind it move on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while s.still_waiting().await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue never drained"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = s.analyze_as(conn).await;
    assert!(after.graph.edges.is_empty(), "{:?}", after.graph.edges);
    assert!(!after.graph.is_waiting(p.migration));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_nothing_special_sees_the_shape_and_may_not_signal() {
    let s = scene().await;
    let role = s.role(Grant::Nothing).await;
    let conn = s.monitor_as(&role).await;
    let a = s.analyze_as(&conn).await;
    check_snapshot(&s, Grant::Nothing, &conn, &a);

    let wanted = format!("needs pg_signal_backend or membership in role {}", s.app);
    for signal in [Signal::Terminate, Signal::Cancel] {
        check_refused(
            &s,
            &conn,
            signal,
            s.pileup.blocker,
            &[&wanted, "pg_read_all_stats"],
        )
        .await;
    }
    check_refused(
        &s,
        &conn,
        Signal::Terminate,
        s.superuser_pid,
        &["superuser", "pg_signal_backend"],
    )
    .await;
    assert_eq!(s.still_waiting().await, QUEUED as i64 + 1, "nothing moved");

    // pg_signal_backend alone is not enough either: without pg_read_all_stats the pid
    // cannot be re-checked against its start time, so pglocks refuses and says why.
    let sigonly = s.role(Grant::SignalOnly).await;
    let conn = s.monitor_as(&sigonly).await;
    check_snapshot(&s, Grant::SignalOnly, &conn, &s.analyze_as(&conn).await);
    check_refused(
        &s,
        &conn,
        Signal::Terminate,
        s.pileup.blocker,
        &["pg_read_all_stats", "re-check"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_monitor_sees_everything_but_may_not_signal() {
    let s = scene().await;
    let role = s.role(Grant::Monitor).await;
    let conn = s.monitor_as(&role).await;
    let a = s.analyze_as(&conn).await;
    check_snapshot(&s, Grant::Monitor, &conn, &a);

    let wanted = format!("needs pg_signal_backend or membership in role {}", s.app);
    for signal in [Signal::Terminate, Signal::Cancel] {
        // The server refuses this one itself; its words are kept after ours.
        check_refused(
            &s,
            &conn,
            signal,
            s.pileup.blocker,
            &[&wanted, "the server said:"],
        )
        .await;
    }
    check_refused(
        &s,
        &conn,
        Signal::Terminate,
        s.superuser_pid,
        &["superuser", "pg_signal_backend"],
    )
    .await;
    assert_eq!(s.still_waiting().await, QUEUED as i64 + 1, "nothing moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_monitor_with_pg_signal_backend_terminates_but_not_a_superuser() {
    let s = scene().await;
    let role = s.role(Grant::MonitorAndSignal).await;
    let conn = s.monitor_as(&role).await;
    let a = s.analyze_as(&conn).await;
    check_snapshot(&s, Grant::MonitorAndSignal, &conn, &a);

    check_refused(
        &s,
        &conn,
        Signal::Terminate,
        s.superuser_pid,
        &["superuser", "pg_signal_backend"],
    )
    .await;
    check_terminates(&s, &conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superuser_may_signal_anyone() {
    let s = scene().await;
    let role = s.role(Grant::Superuser).await;
    let conn = s.monitor_as(&role).await;
    let a = s.analyze_as(&conn).await;
    check_snapshot(&s, Grant::Superuser, &conn, &a);

    let outcome = s.signal(&conn, Signal::Terminate, s.superuser_pid).await;
    assert_eq!(outcome, SignalOutcome::Terminated, "{}", outcome.describe());
    check_terminates(&s, &conn).await;
}
