//! The story of a recording: read once, poll by poll, into what an incident report needs
//! (when waits began, when the migration got stuck, the worst moment, each action and what
//! the next poll saw after it, and when it was over). Pure: entries in, a Story out.
use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};

use super::format::{ActionLine, Entry, ServerLine, ServerState};
use super::reader::ReadError;
use crate::analysis::{Analysis, Options};
use crate::humanize::{first_line, plural};

pub use crate::document::story::{Event, EventKind, MigrationStory, Story, Worst};

/// Polls kept to place an action between the poll before it and the one after: the
/// recorder may write a poll taken while a signal was on its way before the action line.
const RECENT: usize = 4;

/// Per-poll bookkeeping between one snapshot and the next.
struct Walk {
    story: Story,
    /// The latest polls, oldest first.
    recent: VecDeque<Analysis>,
    prev_blocked: BTreeSet<i32>,
    /// Action events still waiting for the next poll to say what changed, with the number
    /// of sessions waiting before the action.
    pending: Vec<(usize, usize)>,
    /// Root blockers that vanished between two polls: told as "ended outside pglocks"
    /// unless an action on them was sent before the poll that missed them (the action line
    /// can reach the file a poll or two after that poll).
    vanished: Vec<(i32, usize)>,
    /// Events found to be wrong later (a vanished blocker that an action explains).
    retracted: BTreeSet<usize>,
    ever_waited: bool,
}

pub fn build<I>(entries: I, opts: &Options, redact: bool) -> Result<Story, ReadError>
where
    I: IntoIterator<Item = Result<Entry, ReadError>>,
{
    // Lines without a server (a recording of one server, guard lines) go to `main`; with
    // several servers each has a walk of its own, and the stories meet on one timeline.
    let mut main = Walk::new();
    let mut named: Vec<(String, Walk)> = Vec::new();
    for entry in entries {
        match entry? {
            Entry::Header(h) => {
                for name in &h.servers {
                    walk_of(&mut named, name);
                }
                if main.story.header.is_none() {
                    main.story.header = Some(h);
                }
            }
            Entry::Action(a) => match a.server.clone() {
                Some(name) => walk_of(&mut named, &name).action(a),
                None => main.action(a),
            },
            Entry::Guard(g) => {
                if let Some(text) = g.timeline_text() {
                    main.event(g.at, EventKind::Guard, text);
                }
                main.story.guard.push(g);
            }
            Entry::Server(line) => walk_of(&mut named, &line.server).server_line(&line),
            Entry::Snapshot(doc) => {
                let a = super::analysis_of(&doc, opts, redact);
                match &doc.server_name {
                    Some(name) => walk_of(&mut named, name).poll(a),
                    None => main.poll(a),
                }
            }
        }
    }
    if named.is_empty() {
        return Ok(main.finish());
    }
    let mut story = main.finish();
    for (name, walk) in named {
        let mut one = walk.finish();
        one.server = Some(name.clone());
        story.polls += one.polls;
        story.first = min_some(story.first, one.first);
        story.last = story.last.max(one.last);
        story.events.extend(one.events.iter().cloned().map(|mut e| {
            e.server = Some(name.clone());
            e
        }));
        story.actions.extend(one.actions.iter().cloned());
        story.servers.push(one);
    }
    story.events.sort_by_key(|e| e.at);
    story.actions.sort_by_key(|a| a.action.at);
    Ok(story)
}

fn walk_of<'a>(named: &'a mut Vec<(String, Walk)>, name: &str) -> &'a mut Walk {
    let i = match named.iter().position(|(n, _)| n == name) {
        Some(i) => i,
        None => {
            named.push((name.to_string(), Walk::new()));
            named.len() - 1
        }
    };
    &mut named[i].1
}

fn min_some(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Walk {
    fn new() -> Walk {
        Walk {
            story: Story::default(),
            recent: VecDeque::new(),
            prev_blocked: BTreeSet::new(),
            pending: Vec::new(),
            vanished: Vec::new(),
            retracted: BTreeSet::new(),
            ever_waited: false,
        }
    }

    fn event(&mut self, at: DateTime<Utc>, kind: EventKind, text: String) {
        self.story.events.push(Event {
            at,
            kind,
            text,
            server: None,
        });
    }

    fn server_line(&mut self, line: &ServerLine) {
        let silent = crate::humanize::age(line.silent_s);
        let (kind, mut text) = match line.state {
            ServerState::Stale => (
                EventKind::ServerStale,
                format!("Stopped answering: no poll for {silent}"),
            ),
            ServerState::Answering => (
                EventKind::ServerBack,
                format!("Answers again after {silent} without a poll"),
            ),
        };
        if let Some(e) = &line.error {
            text.push_str(&format!(" ({})", first_line(e, 120)));
        }
        self.event(line.at, kind, text);
    }

    fn action(&mut self, line: ActionLine) {
        let act = &line.action;
        let before = self
            .recent
            .iter()
            .rev()
            .find(|a| a.snapshot.taken_at <= act.at);
        let after = self.recent.iter().find(|a| a.snapshot.taken_at > act.at);
        let who = before
            .or(self.recent.back())
            .map(|a| a.describe_blocker(act.pid))
            .unwrap_or_else(|| format!("pid {}", act.pid));
        let mut text = format!("{} {who}: {}", capitalise(&act.action), act.result);
        let waiting_before = before.map_or(0, |a| a.waiting_count());
        match after {
            Some(a) => text.push_str(&next_poll(waiting_before, a.waiting_count())),
            None => self.pending.push((self.story.events.len(), waiting_before)),
        }
        for &(pid, i) in &self.vanished {
            if pid == act.pid && self.story.events.get(i).is_some_and(|e| e.at >= act.at) {
                self.retracted.insert(i);
            }
        }
        self.event(act.at, EventKind::Action, text);
        self.story.actions.push(line);
    }

    fn poll(&mut self, a: Analysis) {
        let at = a.snapshot.taken_at;
        let waiting = a.waiting_count();
        let prev_waiting = self.recent.back().map_or(0, |a| a.waiting_count());
        if self.story.polls == 0 {
            self.story.first = Some(at);
            self.event(
                at,
                EventKind::Started,
                format!(
                    "Recording started: {}, {waiting} waiting on locks",
                    plural(a.snapshot.sessions.len(), "session", "sessions")
                ),
            );
        }
        self.story.polls += 1;
        self.story.last = Some(at);
        for (i, before) in std::mem::take(&mut self.pending) {
            if let Some(e) = self.story.events.get_mut(i) {
                e.text.push_str(&next_poll(before, waiting));
            }
        }
        if let Some(prev) = self.recent.back() {
            let gone: Vec<(i32, String)> = prev
                .graph
                .roots
                .iter()
                .filter(|r| a.session(r.pid).is_none())
                .filter(|r| {
                    !self
                        .story
                        .actions
                        .iter()
                        .any(|l| l.action.pid == r.pid && l.action.at <= at)
                })
                .map(|r| {
                    let text = format!(
                        "Root blocker {} is gone (ended outside pglocks)",
                        prev.describe_blocker(r.pid)
                    );
                    (r.pid, text)
                })
                .collect();
            for (pid, text) in gone {
                self.vanished.push((pid, self.story.events.len()));
                self.event(at, EventKind::BlockerGone, text);
            }
        }
        if waiting > 0 && prev_waiting == 0 {
            let first = if self.ever_waited {
                "Lock waits again"
            } else {
                "First lock wait seen"
            };
            self.ever_waited = true;
            let root = a
                .graph
                .roots
                .first()
                .map(|r| format!("; root blocker {}", a.describe_blocker(r.pid)))
                .unwrap_or_default();
            self.event(
                at,
                EventKind::WaitsBegin,
                format!("{first}: {waiting} waiting on locks{root}"),
            );
        }
        let blocked: BTreeSet<i32> = a.blocked_migrations().into_iter().collect();
        let newly: Vec<i32> = blocked.difference(&self.prev_blocked).copied().collect();
        let released: Vec<i32> = self.prev_blocked.difference(&blocked).copied().collect();
        for m in newly {
            self.migration_blocked(&a, m);
        }
        for m in released {
            let text = match a.session(m) {
                Some(s) => format!(
                    "Migration pid {m} no longer waits (now {})",
                    s.state.as_deref().unwrap_or("state hidden")
                ),
                None => format!("Migration pid {m} has left (finished, or its session ended)"),
            };
            self.event(at, EventKind::MigrationMoved, text);
            if let Some(story) = self.story.migration.as_mut().filter(|s| s.pid == m) {
                story.until.get_or_insert(at);
            }
        }
        if waiting == 0 && prev_waiting > 0 {
            self.story.waits_ended = Some(at);
            self.event(
                at,
                EventKind::WaitsEnd,
                "No session waits on a lock any more".into(),
            );
        }
        let behind = blocked
            .iter()
            .map(|&m| a.graph.waiting_total(m))
            .max()
            .unwrap_or(0);
        let since = match &self.story.worst {
            Some(w) if w.waiting == waiting => Some(w.since),
            Some(w) if w.waiting > waiting => None,
            _ => Some(at),
        };
        if let Some(since) = since.filter(|_| waiting > 0) {
            self.story.worst = Some(Worst {
                at,
                since,
                waiting,
                behind_migration: behind,
                analysis: Box::new(a.clone()),
            });
        }
        if let Some(story) = self.story.migration.as_mut()
            && blocked.contains(&story.pid)
            && let Some(&r) = a.root_blockers_of(story.pid).first()
        {
            story.root = Some(a.describe_blocker(r));
        }
        self.story.waiting_at_end = waiting;
        self.story.role = a.snapshot.replication.as_ref().map(|r| r.role());
        self.prev_blocked = blocked;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(a);
    }

    fn migration_blocked(&mut self, a: &Analysis, m: i32) {
        let at = a.snapshot.taken_at;
        let s = a.session(m);
        let since = s.and_then(|s| s.wait_start()).unwrap_or(at).min(at);
        let wanted = s
            .and_then(|s| s.awaited_lock())
            .map(|l| format!("{} on {}", l.mode, l.target_label()));
        let root = a
            .root_blockers_of(m)
            .first()
            .map(|&r| a.describe_blocker(r));
        let query = s.and_then(|s| s.query.as_deref().map(str::to_string));
        let mut text = format!("Migration pid {m} blocked");
        if let Some(q) = &query {
            text.push_str(&format!(": {}", first_line(q, 80)));
        }
        if let Some(w) = &wanted {
            text.push_str(&format!(" waits for {w}"));
        }
        text.push_str(&format!(" (waiting since {})", since.format("%H:%M:%S")));
        if let Some(r) = &root {
            text.push_str(&format!("; root blocker {r}"));
        }
        self.event(at, EventKind::MigrationBlocked, text);
        if self.story.migration.is_none() {
            self.story.migration = Some(MigrationStory {
                pid: m,
                query,
                wanted,
                since,
                until: None,
                root,
            });
        }
    }

    fn finish(mut self) -> Story {
        let retracted = std::mem::take(&mut self.retracted);
        let mut i = 0;
        self.story.events.retain(|_| {
            i += 1;
            !retracted.contains(&(i - 1))
        });
        if let Some(w) = &self.story.worst {
            let mut text = format!("Peak: {} waiting on locks", w.waiting);
            if w.behind_migration > 0 {
                text.push_str(&format!(
                    ", {} queued behind the migration",
                    w.behind_migration
                ));
            }
            if w.at > w.since {
                text.push_str(&format!(" (until {})", w.at.format("%H:%M:%S")));
            }
            let (at, kind) = (w.since, EventKind::Peak);
            self.event(at, kind, text);
        }
        if let Some(last) = self.story.last {
            let waiting = self.story.waiting_at_end;
            let text = if waiting > 0 {
                format!("Recording stopped (last poll) with {waiting} still waiting on locks")
            } else {
                "Recording stopped (last poll)".into()
            };
            self.event(last, EventKind::Stopped, text);
        }
        // Stable: events of the same moment keep the order they happened in.
        self.story.events.sort_by_key(|e| e.at);
        self.story
    }
}

fn next_poll(before: usize, after: usize) -> String {
    format!(". Next poll: {before} → {after} waiting")
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::analysis::analyze;
    use crate::model::{Lock, ServerInfo, Session, Snapshot};
    use crate::report::json::document;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 14, 30, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn lock(mode: &str, granted: bool) -> Lock {
        Lock {
            locktype: "relation".into(),
            mode: mode.into(),
            granted,
            database: Some(1),
            relation: Some(10),
            relation_name: Some("public.t".into()),
            ..Default::default()
        }
    }

    /// pid 1 holds the table while it is there; pid 2, a migration, waits on it.
    fn poll(at: i64, blocker: bool) -> Result<Entry, ReadError> {
        let mut sessions = vec![Session {
            pid: 2,
            application_name: Some("flyway".into()),
            state: Some("active".into()),
            query: Some("ALTER TABLE t ADD c int".into()),
            xact_start: Some(t(0)),
            query_start: Some(t(0)),
            ..Default::default()
        }];
        if blocker {
            sessions[0].wait_event_type = Some("Lock".into());
            sessions[0].blocked_by = vec![1];
            sessions[0].locks = vec![lock("AccessExclusiveLock", false)];
            sessions.push(Session {
                pid: 1,
                application_name: Some("report".into()),
                state: Some("idle in transaction".into()),
                xact_start: Some(t(-60)),
                locks: vec![lock("AccessShareLock", true)],
                ..Default::default()
            });
        }
        let snap = Snapshot {
            taken_at: t(at),
            server: ServerInfo {
                version: "15.18".into(),
                version_num: 150018,
                max_connections: 100,
                query_size: None,
            },
            sessions,
            replication: None,
        };
        let a = analyze(snap, &Options::default());
        Ok(Entry::Snapshot(Box::new(document(&a, &[]))))
    }

    fn kinds(story: &Story) -> Vec<EventKind> {
        story.events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn a_blocker_that_ends_by_itself_is_told_as_such() {
        let entries = vec![poll(0, true), poll(1, true), poll(2, false)];
        let story = build(entries, &Options::default(), false).unwrap();
        use EventKind::*;
        assert_eq!(
            kinds(&story),
            vec![
                Started,
                WaitsBegin,
                MigrationBlocked,
                Peak,
                BlockerGone,
                MigrationMoved,
                WaitsEnd,
                Stopped
            ]
        );
        let gone = &story.events[4].text;
        assert!(
            gone.starts_with("Root blocker pid 1 (report, idle in transaction 1m0"),
            "{gone}"
        );
        let m = story.migration.as_ref().unwrap();
        assert_eq!((m.pid, m.since, m.until), (2, t(0), Some(t(2))));
        let w = story.worst.as_ref().unwrap();
        assert_eq!((w.since, w.at, w.waiting), (t(0), t(1), 1));
        assert_eq!(story.waits_ended, Some(t(2)));
    }

    #[test]
    fn an_action_before_the_poll_that_misses_the_blocker_explains_it() {
        let action = ActionLine::new(
            crate::model::ActionRecord {
                at: t(1) + chrono::Duration::milliseconds(500),
                action: "terminate".into(),
                pid: 1,
                result: "terminated".into(),
            },
            None,
        );
        // As the recorder may write it: the poll taken during the signal comes first.
        let entries = vec![
            poll(0, true),
            poll(1, true),
            poll(2, false),
            Ok(Entry::Action(action)),
        ];
        let story = build(entries, &Options::default(), false).unwrap();
        assert!(
            !kinds(&story).contains(&EventKind::BlockerGone),
            "{:?}",
            story.events
        );
        let act = story
            .events
            .iter()
            .find(|e| e.kind == EventKind::Action)
            .unwrap();
        assert_eq!(act.at, t(1) + chrono::Duration::milliseconds(500));
        assert!(
            act.text.ends_with("terminated. Next poll: 1 → 0 waiting"),
            "{}",
            act.text
        );
    }

    #[test]
    fn a_quiet_recording_has_no_worst_moment() {
        let story = build(
            vec![poll(0, false), poll(5, false)],
            &Options::default(),
            false,
        )
        .unwrap();
        assert!(story.worst.is_none() && story.migration.is_none());
        assert_eq!(kinds(&story), vec![EventKind::Started, EventKind::Stopped]);
        assert_eq!(story.polls, 2);
    }
}
