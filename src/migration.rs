//! Which sessions are migrations. Pure: statement text, locks, names and the user's pins.
use std::cell::OnceCell;
use std::collections::BTreeMap;

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
        self.reason_among(s, &Awaited::new(snapshot), graph)
    }

    /// Every migration of the snapshot, with its reason.
    pub fn reasons(&self, snapshot: &Snapshot, graph: &WaitGraph) -> BTreeMap<i32, String> {
        // One list of awaited locks for all sessions: building it per blocker made the
        // analysis quadratic in the number of sessions.
        let awaited = Awaited::new(snapshot);
        snapshot
            .sessions
            .iter()
            .filter_map(|s| self.reason_among(s, &awaited, graph).map(|r| (s.pid, r)))
            .collect()
    }

    fn reason_among(
        &self,
        s: &Session,
        awaited: &Awaited<'_>,
        graph: &WaitGraph,
    ) -> Option<String> {
        if self.pinned_pids.contains(&s.pid) {
            return Some("pinned with --migration-pid".into());
        }
        if s.is_prepared_xact() {
            return None;
        }
        let in_transaction = s.xact_start.is_some() || s.state.as_deref() == Some("active");
        if in_transaction && let Some(kind) = s.query.as_deref().and_then(ddl_kind) {
            return Some(format!("runs DDL ({kind})"));
        }
        if let Some(app) = s.application_name.as_deref().filter(|_| in_transaction) {
            let lower = app.to_ascii_lowercase();
            if let Some(f) = self
                .app_fragments
                .iter()
                .find(|f| lower.contains(f.as_str()))
            {
                return Some(format!("application_name \"{app}\" matches \"{f}\""));
            }
        }
        strong_lock_reason(s, awaited, graph)
    }
}

/// The relation locks that sessions wait for, collected once and only if a rule asks.
struct Awaited<'a> {
    snapshot: &'a Snapshot,
    locks: OnceCell<Vec<&'a Lock>>,
}

impl<'a> Awaited<'a> {
    fn new(snapshot: &'a Snapshot) -> Self {
        Awaited {
            snapshot,
            locks: OnceCell::new(),
        }
    }

    fn any_on_same_target(&self, held: &Lock) -> bool {
        self.locks
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
fn strong_lock_reason(s: &Session, awaited: &Awaited<'_>, graph: &WaitGraph) -> Option<String> {
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
        .find(|l| awaited.any_on_same_target(l))
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
