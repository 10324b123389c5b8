//! A Snapshot with everything derived from it: the graph, the migrations, the findings and
//! the one-sentence headline. Built once per poll, read by every renderer.
use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::diagnose::{self, Finding};
use crate::graph::{self, WaitGraph};
use crate::humanize::{age, first_line, opt_age, plural};
use crate::migration::MigrationRules;
use crate::model::{Session, Snapshot, age_s};

#[derive(Debug, Clone)]
pub struct Options {
    pub rules: MigrationRules,
    /// A blocker whose transaction is at least this old (seconds) is a long transaction.
    pub long_xact_s: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rules: MigrationRules::default(),
            long_xact_s: 60.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub snapshot: Snapshot,
    pub graph: WaitGraph,
    /// pid -> why it counts as a migration
    pub migrations: BTreeMap<i32, String>,
    pub findings: Vec<Finding>,
    index: HashMap<i32, usize>,
}

pub fn analyze(snapshot: Snapshot, opts: &Options) -> Analysis {
    let graph = graph::build(&snapshot);
    let migrations = opts.rules.reasons(&snapshot, &graph);
    let index = snapshot
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.pid, i))
        .collect();
    let mut analysis = Analysis {
        snapshot,
        graph,
        migrations,
        findings: Vec::new(),
        index,
    };
    analysis.findings = diagnose::findings(&analysis, opts);
    analysis
}

impl Analysis {
    pub fn session(&self, pid: i32) -> Option<&Session> {
        self.index.get(&pid).map(|&i| &self.snapshot.sessions[i])
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

    pub fn waiting_count(&self) -> usize {
        self.snapshot
            .sessions
            .iter()
            .filter(|s| self.graph.is_waiting(s.pid))
            .count()
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
        if let Some(app) = s.application_name.as_deref().filter(|a| !a.is_empty()) {
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
            parts.push(format!("holds {mode}"));
        }
        // How long the lock will last is what the engineer weighs against cancelling.
        if let Some(p) = &s.progress {
            parts.push(p.describe());
        }
        format!("pid {pid} ({})", parts.join(", "))
    }

    /// What is wrong, in one sentence an engineer can act on.
    pub fn headline(&self) -> String {
        if let Some(&m) = self.blocked_migrations().first() {
            return self.migration_headline(m);
        }
        if let Some(cycle) = self.graph.cycles.first() {
            let pids: Vec<String> = cycle.iter().map(i32::to_string).collect();
            return format!(
                "DEADLOCK: pids {} wait on each other; PostgreSQL breaks it only after deadlock_timeout.",
                pids.join(", ")
            );
        }
        let waiting = self.waiting_count();
        if let Some(root) = self.graph.roots.first() {
            return format!(
                "{} waiting on locks. Root blocker: {}, {} behind it.",
                plural(waiting, "session", "sessions"),
                self.describe_blocker(root.pid),
                root.waiting_total
            );
        }
        if let Some((&m, _)) = self.migrations.iter().next() {
            let s = self.session(m);
            let progress = s
                .and_then(|s| s.progress.as_ref())
                .map(|p| format!(" {}.", p.describe()))
                .unwrap_or_default();
            return format!(
                "Migration pid {m} running for {}; nobody is waiting on locks.{progress}",
                opt_age(s.and_then(|s| self.query_age(s)))
            );
        }
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

    fn migration_headline(&self, m: i32) -> String {
        let Some(s) = self.session(m) else {
            return format!("MIGRATION BLOCKED: pid {m}.");
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
            "MIGRATION BLOCKED {}: pid {m}{query}{wanted}.",
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
}
