//! Which sessions are migrations. Pure: statement text, locks, names and the user's pins.
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::graph::WaitGraph;
use crate::lockmode::LockMode;
use crate::model::{Lock, Session, Snapshot};
use crate::sqltext::statement_heads;

/// application_name fragments of common migration tools, matched case-insensitively.
pub const DEFAULT_MIGRATION_APPS: &str =
    "flyway,liquibase,alembic,rails,sqitch,goose,diesel,sqlx,prisma,knex,django,migrat";

#[derive(Debug, Clone)]
pub struct MigrationRules {
    /// Lower-cased fragments; a session whose application_name contains one is a migration.
    pub app_fragments: Vec<String>,
    pub pinned_pids: Vec<i32>,
}

impl Default for MigrationRules {
    fn default() -> Self {
        MigrationRules::new(DEFAULT_MIGRATION_APPS, Vec::new())
    }
}

impl MigrationRules {
    pub fn new(apps: &str, pinned_pids: Vec<i32>) -> Self {
        MigrationRules {
            app_fragments: apps
                .split([',', '|'])
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            pinned_pids,
        }
    }

    /// Why `s` counts as a migration, or None. The strongest evidence is named first.
    pub fn reason(&self, s: &Session, snapshot: &Snapshot, graph: &WaitGraph) -> Option<String> {
        self.reason_among(s, &Context::new(snapshot), graph)
    }

    /// Every migration of the snapshot, with its reason.
    pub fn reasons(&self, snapshot: &Snapshot, graph: &WaitGraph) -> BTreeMap<i32, String> {
        // One context for all sessions: building the list of awaited locks per blocker made
        // the analysis quadratic in the number of sessions.
        let ctx = Context::new(snapshot);
        snapshot
            .sessions
            .iter()
            .filter_map(|s| self.reason_among(s, &ctx, graph).map(|r| (s.pid, r)))
            .collect()
    }

    fn reason_among<'a>(
        &self,
        s: &'a Session,
        ctx: &Context<'a>,
        graph: &WaitGraph,
    ) -> Option<String> {
        if self.pinned_pids.contains(&s.pid) {
            return Some("pinned with --migration-pid".into());
        }
        if s.is_prepared_xact() {
            return None;
        }
        let in_transaction = s.xact_start.is_some() || s.state.as_deref() == Some("active");
        if in_transaction && let Some(kind) = s.query.as_deref().and_then(|q| ctx.ddl_kind(q)) {
            return Some(format!("runs DDL ({kind})"));
        }
        if let Some(app) = s.application_name.as_deref().filter(|_| in_transaction)
            && let Some(f) = ctx.app_fragment(self, app)
        {
            return Some(format!("application_name \"{app}\" matches \"{f}\""));
        }
        strong_lock_reason(s, ctx, graph)
    }
}

/// What the rules need from the whole snapshot, worked out once per analysis. Pools run the
/// same statement and application_name on many backends, so each text is lexed and matched
/// once; the awaited locks are collected only if a rule asks.
struct Context<'a> {
    snapshot: &'a Snapshot,
    awaited: OnceCell<Vec<&'a Lock>>,
    ddl: RefCell<HashMap<&'a str, Option<String>>>,
    apps: RefCell<HashMap<&'a str, Option<usize>>>,
}

impl<'a> Context<'a> {
    fn new(snapshot: &'a Snapshot) -> Self {
        Context {
            snapshot,
            awaited: OnceCell::new(),
            ddl: RefCell::default(),
            apps: RefCell::default(),
        }
    }

    fn ddl_kind(&self, query: &'a str) -> Option<String> {
        self.ddl
            .borrow_mut()
            .entry(query)
            .or_insert_with(|| ddl_kind(query))
            .clone()
    }

    /// The first of the rules' fragments that `app` contains, case-insensitively.
    fn app_fragment<'r>(&self, rules: &'r MigrationRules, app: &'a str) -> Option<&'r str> {
        let found = *self.apps.borrow_mut().entry(app).or_insert_with(|| {
            let lower = app.to_ascii_lowercase();
            rules
                .app_fragments
                .iter()
                .position(|f| lower.contains(f.as_str()))
        });
        found
            .and_then(|i| rules.app_fragments.get(i))
            .map(String::as_str)
    }

    fn any_awaited_on_same_target(&self, held: &Lock) -> bool {
        self.awaited
            .get_or_init(|| {
                self.snapshot
                    .sessions
                    .iter()
                    .filter_map(Session::awaited_lock)
                    // Only relation locks are ever compared, and same_target needs equal types.
                    .filter(|l| l.locktype == "relation")
                    .collect()
            })
            .iter()
            .any(|a| a.same_target(held))
    }
}

/// The DDL keywords that open a statement, such as "ALTER TABLE", if any statement in the
/// text is DDL that takes a heavy lock.
pub fn ddl_kind(query: &str) -> Option<String> {
    statement_heads(query, 4).into_iter().find_map(|h| {
        let w = |i: usize| h.get(i).map(String::as_str).unwrap_or("");
        let kind = match w(0) {
            "ALTER" | "DROP" => format!("{} {}", w(0), w(1)),
            "TRUNCATE" | "REINDEX" | "CLUSTER" | "LOCK" => w(0).to_string(),
            "VACUUM" if h.iter().any(|x| x == "FULL") => "VACUUM FULL".into(),
            "REFRESH" if w(1) == "MATERIALIZED" => "REFRESH MATERIALIZED VIEW".into(),
            "CREATE" => match (w(1), w(2)) {
                ("TEMP" | "TEMPORARY" | "ROLE" | "USER" | "DATABASE" | "SCHEMA", _) => {
                    return None;
                }
                ("UNIQUE", "INDEX") => "CREATE UNIQUE INDEX".into(),
                ("OR", _) => return None,
                (obj, _) => format!("CREATE {obj}"),
            },
            _ => return None,
        };
        Some(kind.trim().to_string())
    })
}

fn is_strong(mode: &str) -> bool {
    matches!(
        LockMode::parse(mode),
        Some(LockMode::AccessExclusive | LockMode::Share | LockMode::ShareRowExclusive)
    )
}

/// A strong relation lock only counts while someone waits for it or on it: any transaction
/// that creates a temp table holds AccessExclusiveLock on it, and that is no migration.
fn strong_lock_reason(s: &Session, ctx: &Context<'_>, graph: &WaitGraph) -> Option<String> {
    if !s.is_client_backend() && s.backend_type.is_some() {
        return None;
    }
    let relation_lock = |l: &&Lock| l.locktype == "relation" && is_strong(&l.mode);
    if let Some(l) = s.awaited_lock().filter(relation_lock) {
        return Some(format!("waits for {} on {}", l.mode, l.target_label()));
    }
    if !graph.waiters_of(s.pid).any(|_| true) {
        return None;
    }
    s.held_locks()
        .filter(relation_lock)
        .find(|l| ctx.any_awaited_on_same_target(l))
        .map(|l| format!("holds {} on {}", l.mode, l.target_label()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_kinds() {
        let cases = [
            (
                "ALTER TABLE orders ADD COLUMN region int",
                Some("ALTER TABLE"),
            ),
            ("create index on t(x)", Some("CREATE INDEX")),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY i ON t(x)",
                Some("CREATE UNIQUE INDEX"),
            ),
            ("drop index i", Some("DROP INDEX")),
            ("truncate t", Some("TRUNCATE")),
            ("REINDEX TABLE t", Some("REINDEX")),
            ("cluster t using i", Some("CLUSTER")),
            ("VACUUM (FULL) t", Some("VACUUM FULL")),
            ("vacuum t", None),
            ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", Some("LOCK")),
            (
                "refresh materialized view mv",
                Some("REFRESH MATERIALIZED VIEW"),
            ),
            ("BEGIN; ALTER TABLE t ADD c int", Some("ALTER TABLE")),
            ("create temp table x(a int)", None),
            ("select * from alter_log", None),
            ("-- ALTER TABLE t\nselect 1", None),
            (
                "ALTER TABLE t ADD c text DEFAULT 'cut in the mid",
                Some("ALTER TABLE"),
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(ddl_kind(sql).as_deref(), want, "{sql}");
        }
    }

    #[test]
    fn app_fragments_are_case_insensitive() {
        let rules = MigrationRules::new("Flyway, my-migrator", vec![]);
        assert_eq!(rules.app_fragments, vec!["flyway", "my-migrator"]);
    }
}
