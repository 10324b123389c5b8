//! What a statement will do to the tables it touches, before it runs: the lock mode on each
//! relation, whether it scans or rewrites the table, and the safer pattern when there is one.
//!
//! Pure. Statements are read with squawk's PostgreSQL parser (pure Rust, written for
//! reading migrations); text that does not parse (a typo, or a statement cut at
//! track_activity_query_size) is `Unknown`, with the parser's message and where it
//! stopped, never a guess. Statements that parse but whose locks are not modelled here say so
//! (`NotModelled`) instead of claiming they are harmless.
//!
//! The rules follow the PostgreSQL documentation (each [`Step`] cites its page) and, where
//! the docs are silent, `AlterTableGetLockLevel()` in src/backend/commands/tablecmds.c.
mod alter;
mod alter_add;
mod catalog;
mod commands;
pub mod docs;
mod expr;
mod maintenance;
mod parse;
mod syntax;

use std::fmt;

use serde::{Serialize, Serializer};

use crate::lockmode::LockMode;
pub use docs::Doc;

/// A relation as the statement names it; the schema is resolved by the server's search_path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RelName {
    pub schema: Option<String>,
    pub name: String,
}

impl fmt::Display for RelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// What a lock is taken on: the named relation, or the table that a named index belongs to
/// (DROP INDEX and REINDEX lock the table too, and only the server knows which one it is).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Target {
    pub relation: RelName,
    pub table_of_index: bool,
}

impl Target {
    fn named(relation: RelName) -> Target {
        Target {
            relation,
            table_of_index: false,
        }
    }

    fn table_of(index: RelName) -> Target {
        Target {
            relation: index,
            table_of_index: true,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.table_of_index {
            write!(f, "the table of index {}", self.relation)
        } else {
            write!(f, "{}", self.relation)
        }
    }
}

/// What happens to the table's data while the lock is held, from cheapest to dearest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// Catalog change only: the lock is held for milliseconds once granted.
    None,
    /// Every row is read (to verify a constraint or build an index).
    Scan,
    /// The table (and its indexes) is written anew.
    Rewrite,
}

impl Work {
    pub fn as_str(self) -> &'static str {
        match self {
            Work::None => "none",
            Work::Scan => "scan",
            Work::Rewrite => "rewrite",
        }
    }
}

/// One thing a statement does to one relation, with the rule it follows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// "ADD COLUMN region", "SET NOT NULL on email", ...
    pub action: String,
    pub target: Target,
    #[serde(serialize_with = "mode_name")]
    pub mode: LockMode,
    pub work: Work,
    /// When the work depends on what only the catalog knows, e.g. "unless the old type is
    /// binary-coercible to the new one".
    pub condition: Option<String>,
    /// CONCURRENTLY forms: besides taking `mode`, the statement waits for every transaction
    /// holding a lock on the relation that conflicts with this mode.
    #[serde(serialize_with = "opt_mode_name")]
    pub waits_for_lockers: Option<LockMode>,
    pub doc: Doc,
    /// How to get the same result without the long lock, when there is a known way.
    pub safer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "classification", rename_all = "snake_case")]
pub enum Outcome {
    /// The locks below are what the statement takes (possibly none).
    Classified,
    /// A valid statement whose locks pglocks does not model; check its documentation.
    NotModelled,
    /// PostgreSQL's grammar does not accept the text (or it was cut short).
    Unknown {
        reason: String,
        /// Where the parser stopped, in the text given to [`classify`].
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<Position>,
    },
}

/// A place in a text, both counted from 1; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text` (clamped to the text).
    pub fn of(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// Session-level statements that matter to a migration's safety.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    Begin,
    Commit,
    Rollback,
    Set {
        name: String,
        value: String,
        local: bool,
    },
    Reset {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// The statement's own text, without the separator.
    pub sql: String,
    /// "ALTER TABLE", "CREATE INDEX CONCURRENTLY", "SET", ... or "unknown".
    pub kind: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub steps: Vec<Step>,
    /// CREATE INDEX CONCURRENTLY and friends wait for every transaction in the database
    /// whose snapshot is older than theirs, not only for lockers of the table.
    pub waits_for_old_snapshots: bool,
    /// CONCURRENTLY forms and VACUUM cannot run inside BEGIN ... COMMIT.
    pub no_transaction_block: bool,
    pub control: Option<Control>,
    /// The relations it creates, drops or renames (for following a migration file).
    #[serde(skip)]
    pub catalog: Catalog,
}

/// What a statement does to the set of relations that exist.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    pub creates: Vec<RelName>,
    pub drops: Vec<RelName>,
    /// (old name, new name); the new name keeps the old one's schema.
    pub renames: Vec<(RelName, RelName)>,
    /// IF EXISTS: a missing relation is no error.
    pub if_exists: bool,
}

impl RelName {
    /// Whether two names can denote the same relation: equal names, and equal schemas
    /// when both give one (an unqualified name resolves through the search_path).
    pub fn may_be(&self, other: &RelName) -> bool {
        self.name == other.name
            && match (&self.schema, &other.schema) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl Statement {
    fn new(sql: &str, kind: impl Into<String>) -> Statement {
        Statement {
            sql: sql.to_string(),
            kind: kind.into(),
            outcome: Outcome::Classified,
            steps: Vec::new(),
            waits_for_old_snapshots: false,
            no_transaction_block: false,
            control: None,
            catalog: Catalog::default(),
        }
    }

    fn unknown(sql: &str, reason: String, position: Option<Position>) -> Statement {
        Statement {
            outcome: Outcome::Unknown { reason, position },
            ..Statement::new(sql, "unknown")
        }
    }

    fn not_modelled(sql: &str, kind: impl Into<String>) -> Statement {
        Statement {
            outcome: Outcome::NotModelled,
            ..Statement::new(sql, kind)
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.outcome, Outcome::Unknown { .. })
    }

    /// The strongest mode taken on each target, in the order the statement names them.
    pub fn locks(&self) -> Vec<(&Target, LockMode)> {
        let mut out: Vec<(&Target, LockMode)> = Vec::new();
        for s in &self.steps {
            match out.iter_mut().find(|(t, _)| *t == &s.target) {
                Some((_, m)) => *m = (*m).max(s.mode),
                None => out.push((&s.target, s.mode)),
            }
        }
        out
    }

    /// The strongest lock of the statement, if it takes any.
    pub fn strongest(&self) -> Option<(&Target, LockMode)> {
        self.locks().into_iter().max_by_key(|(_, m)| *m)
    }

    /// The dearest work done on `target` while its lock is held.
    pub fn work_on(&self, target: &Target) -> Work {
        self.steps
            .iter()
            .filter(|s| &s.target == target)
            .map(|s| s.work)
            .max()
            .unwrap_or(Work::None)
    }

    /// The step that decides the lock on `target` (the first with the strongest mode),
    /// which is the one to quote when explaining why the lock is needed.
    pub fn deciding_step(&self, target: &Target) -> Option<&Step> {
        let mode = self.locks().into_iter().find(|(t, _)| *t == target)?.1;
        self.steps
            .iter()
            .find(|s| &s.target == target && s.mode == mode)
    }

    /// The step that does the dearest work on `target`, if it does any.
    pub fn working_step(&self, target: &Target) -> Option<&Step> {
        let work = self.work_on(target);
        if work == Work::None {
            return None;
        }
        self.steps
            .iter()
            .find(|s| &s.target == target && s.work == work)
    }
}

/// The statement's first two keywords, for statements this module does not model.
fn head(sql: &str) -> String {
    crate::sqltext::statement_heads(sql, 2)
        .into_iter()
        .next()
        .map(|h| h.join(" "))
        .unwrap_or_else(|| "statement".into())
}

fn with_steps(sql: &str, kind: &str, steps: Vec<Step>) -> Statement {
    Statement {
        steps,
        ..Statement::new(sql, kind)
    }
}

fn step(action: impl Into<String>, target: Target, mode: LockMode, work: Work, doc: Doc) -> Step {
    Step {
        action: action.into(),
        target,
        mode,
        work,
        condition: None,
        waits_for_lockers: None,
        doc,
        safer: None,
    }
}

impl Step {
    fn when(mut self, condition: String) -> Step {
        self.condition = Some(condition);
        self
    }

    fn safer(mut self, pattern: String) -> Step {
        self.safer = Some(pattern);
        self
    }

    /// The rule that decides the lock mode, which is not always the rule quoted for the
    /// work (ADD COLUMN cites the default-value rule; its lock is ALTER TABLE's default).
    pub fn lock_doc(&self) -> Doc {
        let names_lock = self.doc.rule.contains("EXCLUSIVE") || self.doc.rule.contains("SHARE");
        if self.doc.page == docs::ALTER_DEFAULT.page
            && self.mode == LockMode::AccessExclusive
            && !names_lock
        {
            docs::ALTER_DEFAULT
        } else {
            self.doc
        }
    }

    fn waits_for(mut self, mode: LockMode) -> Step {
        self.waits_for_lockers = Some(mode);
        self
    }
}

fn mode_name<S: Serializer>(mode: &LockMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(mode.name())
}

fn opt_mode_name<S: Serializer>(mode: &Option<LockMode>, s: S) -> Result<S::Ok, S::Error> {
    match mode {
        Some(m) => s.serialize_str(m.name()),
        None => s.serialize_none(),
    }
}

/// Every statement in `sql`, classified. Never fails: text that does not parse becomes one
/// `Unknown` statement per piece between semicolons.
pub fn classify(sql: &str) -> Vec<Statement> {
    parse::statements(sql)
        .into_iter()
        .map(|(text, node)| match node {
            Ok(node) => Statement {
                catalog: catalog::of(&node),
                ..commands::classify(&text, &node)
            },
            Err(e) => Statement::unknown(&text, e.reason, Some(Position::of(sql, e.offset))),
        })
        .collect()
}

/// Why a statement cut by track_activity_query_size is not classified.
pub const TRUNCATED: &str = "statement truncated, lock class unknown";

/// The statements of a query text as pg_stat_activity shows it, which holds at most
/// `query_size - 1` bytes (track_activity_query_size, cut at a character boundary). A text
/// of that length was probably cut: its last statement is `Unknown` even when what is left
/// parses, because the rest (a second subcommand, a volatile default) may change the lock.
pub fn classify_activity(sql: &str, query_size: Option<i32>) -> Vec<Statement> {
    let mut all = classify(sql);
    if is_truncated(sql, query_size)
        && let Some(last) = all.last_mut()
    {
        *last = Statement::unknown(&last.sql, TRUNCATED.into(), None);
    }
    all
}

/// Whether pg_stat_activity's text may have been cut: its length is within one character
/// (up to 4 bytes in UTF-8) of the limit. Without the setting, the server default, 1024.
pub fn is_truncated(sql: &str, query_size: Option<i32>) -> bool {
    let limit = usize::try_from(query_size.unwrap_or(1024).saturating_sub(1)).unwrap_or(0);
    limit > 0 && sql.len() <= limit && sql.len() + 4 > limit
}

/// The first statement of `sql` that takes a relation lock, e.g. the DDL inside a
/// migration tool's `BEGIN; SET ...; ALTER TABLE ...` batch.
pub fn first_locking(sql: &str) -> Option<Statement> {
    classify(sql).into_iter().find(|s| !s.steps.is_empty())
}
