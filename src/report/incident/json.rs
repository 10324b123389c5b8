//! `pglocks report --format json` (`pglocks.report/1`): the same story as the Markdown
//! report, for scripts. A public interface like the snapshot document: add fields, never
//! rename them. `servers` has one item per server (one, without a name, for a recording
//! of one server) and `events` is the one timeline, each event naming its server.
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Clock;
use crate::document::recording::{ActionLine, Header};
use crate::document::story::{MigrationStory, Story};
use crate::report::json::SnapshotDoc;

pub const FORMAT: &str = "pglocks.report/1";

#[derive(Serialize)]
struct ReportDoc<'a> {
    format: &'static str,
    title: String,
    recording: Option<&'a Header>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    polls: usize,
    events: Vec<EventDoc<'a>>,
    servers: Vec<ServerDoc<'a>>,
    actions: &'a [ActionLine],
}

#[derive(Serialize)]
struct EventDoc<'a> {
    at: DateTime<Utc>,
    server: Option<&'a str>,
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct ServerDoc<'a> {
    name: Option<&'a str>,
    role: Option<&'static str>,
    polls: usize,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    /// The report's paragraph about this server.
    summary: String,
    migration: Option<&'a MigrationStory>,
    worst: Option<WorstDoc>,
    waits_ended: Option<DateTime<Utc>>,
    waiting_at_end: usize,
}

#[derive(Serialize)]
struct WorstDoc {
    at: DateTime<Utc>,
    since: DateTime<Utc>,
    waiting: usize,
    behind_migration: usize,
    snapshot: SnapshotDoc,
}

pub fn render(story: &Story) -> serde_json::Result<String> {
    let clock = Clock::new(story);
    let one = std::slice::from_ref(story);
    let (servers, title) = if story.servers.is_empty() {
        (one, super::title(story))
    } else {
        (story.servers.as_slice(), super::servers::fleet_title(story))
    };
    let doc = ReportDoc {
        format: FORMAT,
        title,
        recording: story.header.as_ref(),
        first: story.first,
        last: story.last,
        polls: story.polls,
        events: story
            .events
            .iter()
            .map(|e| EventDoc {
                at: e.at,
                server: e.server.as_deref(),
                kind: e.kind.code(),
                text: &e.text,
            })
            .collect(),
        servers: servers.iter().map(|s| server(s, &clock)).collect(),
        actions: &story.actions,
    };
    let mut out = serde_json::to_string_pretty(&doc)?;
    out.push('\n');
    Ok(out)
}

fn server<'a>(s: &'a Story, clock: &Clock) -> ServerDoc<'a> {
    ServerDoc {
        name: s.server.as_deref(),
        role: s.role,
        polls: s.polls,
        first: s.first,
        last: s.last,
        summary: super::summary(s, clock),
        migration: s.migration.as_ref(),
        worst: s.worst.as_ref().map(|w| WorstDoc {
            at: w.at,
            since: w.since,
            waiting: w.waiting,
            behind_migration: w.behind_migration,
            snapshot: crate::report::json::document(&w.analysis, &[]),
        }),
        waits_ended: s.waits_ended,
        waiting_at_end: s.waiting_at_end,
    }
}
