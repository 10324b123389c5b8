//! Every word pglocks uses for a session's role, a wait-graph edge, a finding's severity
//! and what ending a session frees: defined once, with the short form the screen shows
//! next to the long form documents (Markdown, Mermaid, the incident report) use.
use crate::graph::EdgeKind;
use crate::model::Severity;

/// What a session is in the wait graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Blocks others and waits for nothing.
    Root,
    /// Runs the schema change.
    Migration,
    /// Part of a wait cycle: a deadlock PostgreSQL has not broken yet.
    Cycle,
}

impl Tag {
    /// On screen, where columns are narrow.
    pub fn short(self) -> &'static str {
        match self {
            Tag::Root => "ROOT",
            Tag::Migration => "MIGRATION",
            Tag::Cycle => "CYCLE",
        }
    }

    /// In documents, where the reader may not know the screen.
    pub fn long(self) -> &'static str {
        match self {
            Tag::Root => "ROOT BLOCKER",
            Tag::Migration => "MIGRATION",
            Tag::Cycle => "DEADLOCK",
        }
    }
}

/// The tags of a session, in the order they are shown: root, migration, cycle.
pub fn tags(root: bool, migration: bool, cycle: bool) -> Vec<Tag> {
    [
        (root, Tag::Root),
        (migration, Tag::Migration),
        (cycle, Tag::Cycle),
    ]
    .into_iter()
    .filter_map(|(on, tag)| on.then_some(tag))
    .collect()
}

/// The headline's opening words when a migration waits: the incident pglocks exists for.
pub const MIGRATION_BLOCKED: &str = "MIGRATION BLOCKED";
/// On a standby: the startup process waits to replay a lock behind standby queries.
pub const REPLAY_BLOCKED: &str = "REPLAY BLOCKED";

/// An edge seen from its blocker: "holds" a conflicting lock, or is "queued ahead".
pub fn edge_verb(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Holds => "holds",
        EdgeKind::QueuedAhead => "queued ahead",
    }
}

/// `edge_verb` where a table column has room for one word.
pub fn edge_short(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Holds => "holds",
        EdgeKind::QueuedAhead => "queued",
    }
}

/// An edge seen from its waiter, as a document's tree reads downwards.
pub fn edge_from_waiter(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Holds => "waits on holder",
        EdgeKind::QueuedAhead => "queued behind",
    }
}

/// "CRITICAL", "WARNING", "INFO".
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

/// The label of what ending a session frees.
pub const ENDING_IT_FREES: &str = "ending it frees";

/// "3 waiting sessions, including the migration": `sessions` already counted in words.
pub fn freed(sessions: String, includes_migration: bool) -> String {
    if includes_migration {
        format!("{sessions}, including the migration")
    } else {
        sessions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_their_order_and_both_forms() {
        let all = tags(true, true, true);
        let short: Vec<_> = all.iter().map(|t| t.short()).collect();
        let long: Vec<_> = all.iter().map(|t| t.long()).collect();
        assert_eq!(short, ["ROOT", "MIGRATION", "CYCLE"]);
        assert_eq!(long, ["ROOT BLOCKER", "MIGRATION", "DEADLOCK"]);
        assert!(tags(false, false, false).is_empty());
    }

    #[test]
    fn freed_names_the_migration_only_when_it_is_freed() {
        assert_eq!(freed("2 sessions".into(), false), "2 sessions");
        assert_eq!(
            freed("2 sessions".into(), true),
            "2 sessions, including the migration"
        );
    }
}
