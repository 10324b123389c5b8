//! The incident report of a recording of several servers: what happened on each, one
//! timeline across them (each event naming its server), then each server's worst moment.
use std::fmt::Write;

use super::{Clock, escape, provenance, summary, timeline, title, worst};
use crate::document::story::{EventKind, Story};
use crate::humanize::plural;

pub(super) fn render(out: &mut String, story: &Story, clock: &Clock) {
    let _ = writeln!(out, "# {}\n", fleet_title(story));
    for one in &story.servers {
        let name = one.server.as_deref().unwrap_or("?");
        let text = if one.polls == 0 {
            "never answered during the recording.".to_string()
        } else {
            let mut text = summary(one, clock);
            let stale = one
                .events
                .iter()
                .filter(|e| e.kind == EventKind::ServerStale)
                .count();
            if stale > 0 {
                text.push_str(&format!(
                    " It stopped answering {} (see the timeline).",
                    plural(stale, "time", "times")
                ));
            }
            text
        };
        let _ = writeln!(
            out,
            "**{}**{}: {}\n",
            escape(name),
            role(one),
            escape(&text)
        );
    }
    provenance(out, story, clock);
    timeline(out, story, clock);
    super::super::guard::section(out, &story.guard);
    for one in &story.servers {
        let name = one.server.as_deref().unwrap_or("?");
        let _ = writeln!(out, "# Server {}{}\n", escape(name), role(one));
        if one.polls == 0 {
            let _ = writeln!(out, "Never answered during the recording.\n");
            continue;
        }
        worst(out, one, clock);
    }
}

fn role(one: &Story) -> String {
    one.role.map(|r| format!(" ({r})")).unwrap_or_default()
}

/// The first server whose migration was blocked names the report; else the servers where
/// sessions waited.
pub(super) fn fleet_title(story: &Story) -> String {
    if let Some(one) = story.servers.iter().find(|s| s.migration.is_some()) {
        return format!(
            "{} (server {})",
            title(one),
            escape(one.server.as_deref().unwrap_or("?"))
        );
    }
    let waited: Vec<&str> = story
        .servers
        .iter()
        .filter(|s| s.worst.is_some())
        .filter_map(|s| s.server.as_deref())
        .collect();
    if !waited.is_empty() {
        return format!(
            "Incident report: sessions waiting on locks on {}",
            escape(&waited.join(", "))
        );
    }
    format!(
        "pglocks recording of {}: no lock waits",
        plural(story.servers.len(), "server", "servers")
    )
}
