//! A Snapshot with what the rules read: the wait graph, the migrations, lookups and the
//! one-sentence headline. The findings are made from it in one step (see `analysis`).
use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::graph::{self, EdgeKind, WaitGraph};
use crate::humanize::{age, first_line, opt_age, plural};
use crate::migration::MigrationRules;
use crate::model::{Session, Snapshot, age_s};
use crate::words::{self, MIGRATION_BLOCKED, REPLAY_BLOCKED, Tag};

#[derive(Debug, Clone)]
pub struct Options {
    pub rules: MigrationRules,
    /// A blocker whose transaction is at least this old (seconds) is a long transaction.
    pub long_xact_s: f64,
    /// A standby's pg_stat_replication.backend_xmin at least this many transactions old is
    /// reported (standby_feedback_holds_xmin).
    pub feedback_xmin_age: i64,
}

/// The default age(backend_xmin) from which a standby's feedback is reported
/// (`--feedback-xmin-age`). A busy primary moves a few thousand transactions in seconds,
/// so a smaller figure would flag every standby.
pub const FEEDBACK_XMIN_AGE: i64 = 10_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            rules: MigrationRules::default(),
            long_xact_s: 60.0,
            feedback_xmin_age: FEEDBACK_XMIN_AGE,
        }
    }
}

/// What the headline is about, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concern {
    /// A migration waits for a lock (the one holding up the most sessions).
    MigrationBlocked(i32),
    /// On a standby, the startup process waits to replay a lock (the migration's, as a
    /// rule) behind standby queries: replication lags, and readers queue behind it.
    ReplayBlocked(i32),
    /// Sessions wait on each other in a cycle.
    Deadlock(Vec<i32>),
    /// Sessions wait on this root blocker.
    Waiting(i32),
    /// A migration runs and nobody waits.
    MigrationRunning(i32),
    Quiet,
}

impl Concern {
    /// Shown in the alarm colour: a blocked migration or a deadlock.
    pub fn is_alarm(&self) -> bool {
        matches!(
            self,
            Concern::MigrationBlocked(_) | Concern::ReplayBlocked(_) | Concern::Deadlock(_)
        )
    }
}

#[derive(Debug, Clone)]
pub struct Situation {
    pub snapshot: Snapshot,
    pub graph: WaitGraph,
    /// pid -> why it counts as a migration
    pub migrations: BTreeMap<i32, String>,
    index: HashMap<i32, usize>,
    /// Each waiting session's statement without literals, made on first use: the tree
    /// groups identical waiters on every frame, and lexing hundreds of statements per
    /// frame was the cost of grouping.
    shapes: std::sync::OnceLock<HashMap<i32, String>>,
}

impl Situation {
    pub fn of(snapshot: Snapshot, opts: &Options) -> Situation {
        let graph = graph::build(&snapshot);
        let migrations = opts.rules.reasons(&snapshot, &graph);
        let index = snapshot
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.pid, i))
            .collect();
        Situation {
            snapshot,
            graph,
            migrations,
            index,
            shapes: std::sync::OnceLock::new(),
        }
    }

    pub fn session(&self, pid: i32) -> Option<&Session> {
        self.index.get(&pid).map(|&i| &self.snapshot.sessions[i])
    }

    /// The statement of a waiting session with its literals replaced by placeholders.
    pub fn statement_shape(&self, pid: i32) -> Option<&str> {
        self.shapes
            .get_or_init(|| {
                self.snapshot
                    .sessions
                    .iter()
                    .filter(|s| self.graph.is_waiting(s.pid))
                    .map(|s| {
                        (
                            s.pid,
                            crate::redact::query(s.query.as_deref().unwrap_or("")),
                        )
                    })
                    .collect()
            })
            .get(&pid)
            .map(String::as_str)
    }

    pub fn is_migration(&self, pid: i32) -> bool {
        self.migrations.contains_key(&pid)
    }

    pub fn age_of(&self, t: Option<chrono::DateTime<chrono::Utc>>) -> Option<f64> {
        age_s(t, self.snapshot.taken_at)
    }

    pub fn xact_age(&self, s: &Session) -> Option<f64> {
        self.age_of(s.xact_start)
    }

    pub fn query_age(&self, s: &Session) -> Option<f64> {
        self.age_of(s.query_start)
    }

    pub fn wait_age(&self, s: &Session) -> Option<f64> {
        self.age_of(s.wait_start())
    }

    /// Blocked migrations, the one holding up the most sessions first.
    pub fn blocked_migrations(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .migrations
            .keys()
            .copied()
            .filter(|&p| self.graph.is_waiting(p))
            .collect();
        pids.sort_by_key(|&p| (std::cmp::Reverse(self.graph.waiting_total(p)), p));
        pids
    }

    /// The roots that `pid` ultimately waits on, largest impact first.
    pub fn root_blockers_of(&self, pid: i32) -> Vec<i32> {
        let upstream = self.graph.upstream(pid);
        self.graph
            .roots
            .iter()
            .map(|r| r.pid)
            .filter(|r| upstream.contains(r))
            .collect()
    }

    /// Sessions waiting on a lock: the one count every screen and report shows.
    pub fn waiting_count(&self) -> usize {
        crate::model::waiting_count(&self.snapshot.sessions)
    }

    /// "pid 3020 (metabase, active 25m, holds AccessShareLock)"
    pub fn describe_blocker(&self, pid: i32) -> String {
        let Some(s) = self.session(pid) else {
            return format!("pid {pid} (not visible in pg_stat_activity)");
        };
        if s.is_prepared_xact() {
            return format!(
                "prepared transaction {} (prepared {} ago)",
                s.application_name.as_deref().unwrap_or("?"),
                opt_age(self.xact_age(s))
            );
        }
        let mut parts = Vec::new();
        if let Some(app) = s.app_label() {
            parts.push(app.to_string());
        } else if s.backend_type.as_deref() == Some("autovacuum worker") {
            let wraparound = s
                .query
                .as_deref()
                .is_some_and(|q| q.contains("(to prevent wraparound)"));
            parts.push(
                if wraparound {
                    "autovacuum to prevent wraparound"
                } else {
                    "autovacuum"
                }
                .into(),
            );
        } else if let Some(u) = s.user.as_deref() {
            parts.push(u.to_string());
        }
        let state = s.state.as_deref().unwrap_or("state hidden");
        let age = self.xact_age(s).map(age).unwrap_or_default();
        parts.push(format!("{state} {age}").trim().to_string());
        if let Some(mode) = self
            .graph
            .waiters_of(pid)
            .find_map(|e| e.lock.mode_held.clone())
        {
            parts.push(format!("{} {mode}", words::edge_verb(EdgeKind::Holds)));
        }
        // How long the lock will last is what the engineer weighs against cancelling.
        if let Some(p) = &s.progress {
            parts.push(p.describe());
        }
        format!("pid {pid} ({})", parts.join(", "))
    }

    /// What the headline is about, decided from the graph: the screen's alarm colour and
    /// the sentence both follow from it.
    pub fn concern(&self) -> Concern {
        if let Some(&m) = self.blocked_migrations().first() {
            return Concern::MigrationBlocked(m);
        }
        if let Some(startup) = self
            .snapshot
            .sessions
            .iter()
            .find(|s| s.is_startup_process() && self.graph.is_waiting(s.pid))
        {
            return Concern::ReplayBlocked(startup.pid);
        }
        if let Some(cycle) = self.graph.cycles.first() {
            return Concern::Deadlock(cycle.clone());
        }
        if let Some(root) = self.graph.roots.first() {
            return Concern::Waiting(root.pid);
        }
        if let Some((&m, _)) = self.migrations.iter().next() {
            return Concern::MigrationRunning(m);
        }
        Concern::Quiet
    }

    /// What is wrong, in one sentence an engineer can act on.
    pub fn headline(&self) -> String {
        match self.concern() {
            Concern::MigrationBlocked(m) => self.migration_headline(m),
            Concern::ReplayBlocked(p) => self.replay_headline(p),
            Concern::Deadlock(cycle) => {
                let pids: Vec<String> = cycle.iter().map(i32::to_string).collect();
                format!(
                    "{}: pids {} wait on each other; PostgreSQL breaks it only after deadlock_timeout.",
                    Tag::Cycle.long(),
                    pids.join(", ")
                )
            }
            Concern::Waiting(root) => format!(
                "{} waiting on locks. Root blocker: {}, {} behind it.",
                plural(self.waiting_count(), "session", "sessions"),
                self.describe_blocker(root),
                self.graph.waiting_total(root)
            ),
            Concern::MigrationRunning(m) => {
                let s = self.session(m);
                let progress = s
                    .and_then(|s| s.progress.as_ref())
                    .map(|p| format!(" {}.", p.describe()))
                    .unwrap_or_default();
                format!(
                    "Migration pid {m} running for {}; nobody is waiting on locks.{progress}",
                    opt_age(s.and_then(|s| self.query_age(s)))
                )
            }
            Concern::Quiet => {
                let sessions = self.snapshot.sessions.len();
                let in_xact = self
                    .snapshot
                    .sessions
                    .iter()
                    .filter(|s| s.xact_start.is_some())
                    .count();
                format!(
                    "No lock waits: {}, {} in a transaction.",
                    plural(sessions, "session", "sessions"),
                    in_xact
                )
            }
        }
    }

    /// The tags of `pid`, in the order they are shown.
    pub fn tags(&self, pid: i32) -> Vec<Tag> {
        words::tags(
            self.graph.is_root(pid),
            self.is_migration(pid),
            self.graph.in_cycle(pid),
        )
    }

    fn migration_headline(&self, m: i32) -> String {
        let Some(s) = self.session(m) else {
            return format!("{MIGRATION_BLOCKED}: pid {m}.");
        };
        let wanted = s
            .awaited_lock()
            .map(|l| format!(" waits for {} on {}", l.mode, l.target_label()))
            .unwrap_or_else(|| " waits for a lock".into());
        let query = s
            .query
            .as_deref()
            .map(|q| format!(" {}", first_line(q, 60)))
            .unwrap_or_default();
        let mut out = format!(
            "{MIGRATION_BLOCKED} {}: pid {m}{query}{wanted}.",
            opt_age(self.wait_age(s))
        );
        if let Some(&root) = self.root_blockers_of(m).first() {
            out.push_str(&format!(" Root blocker: {}.", self.describe_blocker(root)));
        }
        let queued = self.graph.waiting_total(m);
        out.push_str(&format!(
            " {} queued behind the migration.",
            plural(queued, "session", "sessions")
        ));
        // A build waiting for old snapshots still reports its phase; say where it stands.
        if let Some(p) = &s.progress {
            out.push_str(&format!(" {}.", p.describe()));
        }
        out
    }

    fn replay_headline(&self, startup: i32) -> String {
        let s = self.session(startup);
        let wanted = s
            .and_then(Session::awaited_lock)
            .map(|l| format!(" of {} on {}", l.mode, l.target_label()))
            .unwrap_or_default();
        let mut out = format!(
            "{REPLAY_BLOCKED} {}: replay{wanted} waits (startup process, pid {startup}); the lag grows until max_standby_streaming_delay cancels the queries.",
            opt_age(s.and_then(|s| self.wait_age(s)))
        );
        let roots = self.root_blockers_of(startup);
        if let Some(&root) = roots.first() {
            out.push_str(&format!(" Root blocker: {}.", self.describe_blocker(root)));
        }
        out.push_str(&format!(
            " {} queued behind the replayed lock.",
            plural(self.graph.waiting_total(startup), "session", "sessions")
        ));
        out
    }

    /// A root's incident in a few words, for the line that lists incidents out of view:
    /// "accounts (CREATE INDEX blocked, 20 queued)", "items (row lock chain)".
    pub fn incident_label(&self, root: i32) -> String {
        let downstream = self.graph.downstream(root);
        let awaited = || {
            downstream
                .iter()
                .filter_map(|&p| self.session(p).and_then(Session::awaited_lock))
        };
        // The blocked migration holding up the most sessions, as blocked_migrations() would
        // rank it, but found within this root's waiters: called once per root on every
        // frame, ranking all migrations each time made a large pile-up's frame quadratic.
        if let Some(m) = downstream
            .iter()
            .copied()
            .filter(|&p| self.migrations.contains_key(&p) && self.graph.is_waiting(p))
            .min_by_key(|&p| (std::cmp::Reverse(self.graph.waiting_total(p)), p))
        {
            let s = self.session(m);
            let on = s
                .and_then(Session::awaited_lock)
                .and_then(|l| l.relation_name.as_deref().map(table_name))
                .unwrap_or_else(|| format!("pid {m}"));
            let what = s
                .and_then(|s| s.query.as_deref())
                .map(statement_kind)
                .unwrap_or_else(|| "migration".into());
            return format!(
                "{on} ({what} blocked, {} queued)",
                self.graph.waiting_total(m)
            );
        }
        let on = awaited()
            .find_map(|l| l.relation_name.as_deref())
            .map(table_name)
            .unwrap_or_else(|| format!("pid {root}"));
        if awaited().any(|l| matches!(l.locktype.as_ref(), "transactionid" | "tuple")) {
            return format!("{on} (row lock chain)");
        }
        format!("{on} ({} waiting)", downstream.len())
    }
}

/// "public.orders" reads as "orders": the schema is noise in a list of incidents.
fn table_name(relation: &str) -> String {
    relation
        .strip_prefix("public.")
        .unwrap_or(relation)
        .to_string()
}

/// The statement's verb and object, as an engineer would name it: "ALTER TABLE",
/// "CREATE INDEX" (UNIQUE and CONCURRENTLY are left out).
fn statement_kind(query: &str) -> String {
    first_line(query, 200)
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .filter(|w| !matches!(w.as_str(), "UNIQUE" | "CONCURRENTLY"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}
