//! `pglocks report`: a recording told as an incident document for someone who was not
//! there. What happened in one paragraph, when (a timeline), what it looked like at its
//! worst (the wait tree, as a list and as a Mermaid graph), what to do about it (the
//! findings), and who was involved.
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::markdown::{self, cell, escape};
use super::mermaid;
use crate::document::story::{EventKind, Story};
use crate::humanize::{age, first_line, plural};

pub mod json;
mod servers;

pub fn render(story: &Story) -> String {
    let clock = Clock::new(story);
    let mut out = String::new();
    if !story.servers.is_empty() {
        servers::render(&mut out, story, &clock);
        return out;
    }
    let _ = writeln!(out, "# {}\n", title(story));
    let _ = writeln!(out, "{}\n", escape(&summary(story, &clock)));
    provenance(&mut out, story, &clock);
    timeline(&mut out, story, &clock);
    super::guard::section(&mut out, &story.guard);
    worst(&mut out, story, &clock);
    out
}

/// The worst moment: its wait tree (as a list and as a graph), findings and sessions.
fn worst(out: &mut String, story: &Story, clock: &Clock) {
    match &story.worst {
        Some(w) => {
            let _ = writeln!(
                out,
                "The sections below show the worst moment, {} UTC, when {} waiting on locks.\n",
                clock.at(w.at),
                plural(w.waiting, "session was", "sessions were")
            );
            markdown::wait_tree(out, &w.analysis);
            if let Some(block) = mermaid::block(&w.analysis) {
                out.push_str(&block);
                out.push('\n');
            }
            markdown::findings(out, &w.analysis);
            markdown::sessions_table(out, &w.analysis);
        }
        None => {
            let _ = writeln!(out, "No session waited on a lock during the recording.\n");
        }
    }
}

fn title(story: &Story) -> String {
    if let Some(m) = &story.migration {
        let on = m
            .wanted
            .as_deref()
            .and_then(|w| w.split(" on ").nth(1))
            .map(|t| format!(" on {t}"))
            .unwrap_or_default();
        return format!("Incident report: migration blocked{}", escape(&on));
    }
    if story.worst.is_some() {
        return "Incident report: sessions waiting on locks".into();
    }
    "pglocks recording: no lock waits".into()
}

/// Times as HH:MM:SS, with the date when the recording spans more than one day.
struct Clock {
    with_date: bool,
}

impl Clock {
    fn new(story: &Story) -> Clock {
        let with_date = match (story.first, story.last) {
            (Some(a), Some(b)) => a.date_naive() != b.date_naive(),
            _ => false,
        };
        Clock { with_date }
    }

    fn at(&self, t: DateTime<Utc>) -> String {
        if self.with_date {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            t.format("%H:%M:%S").to_string()
        }
    }
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    age((to - from).num_milliseconds().max(0) as f64 / 1000.0)
}

/// One paragraph: what was stuck, behind what, how bad it got, what was done, and how it
/// ended.
fn summary(story: &Story, clock: &Clock) -> String {
    let (Some(first), Some(last)) = (story.first, story.last) else {
        return "The recording holds no polls.".into();
    };
    let Some(worst) = &story.worst else {
        return format!(
            "No session waited on a lock from {} to {} UTC ({}).",
            clock.at(first),
            clock.at(last),
            plural(story.polls, "poll", "polls")
        );
    };
    let mut parts = Vec::new();
    if let Some(m) = &story.migration {
        let end = m.until.unwrap_or(last);
        let mut s = format!("Migration pid {}", m.pid);
        if let Some(q) = &m.query {
            s.push_str(&format!(" ({})", first_line(q, 60)));
        }
        s.push_str(&format!(
            " {} {}",
            if m.until.is_some() {
                "was blocked for"
            } else {
                "had been blocked for"
            },
            span(m.since, end)
        ));
        if let Some(w) = &m.wanted {
            s.push_str(&format!(" waiting for {w}"));
        }
        if let Some(r) = &m.root {
            s.push_str(&format!(", behind root blocker {r}"));
        }
        s.push('.');
        parts.push(s);
        let mut peak = format!(
            "At the worst moment, {} UTC, {} waiting on locks",
            clock.at(worst.at),
            plural(worst.waiting, "session was", "sessions were")
        );
        if worst.behind_migration > 0 {
            peak.push_str(&format!(
                ", {} of them queued behind the migration",
                worst.behind_migration
            ));
        }
        peak.push('.');
        parts.push(peak);
    } else {
        let root = worst
            .analysis
            .graph
            .roots
            .first()
            .map(|r| {
                format!(
                    " behind root blocker {}",
                    worst.analysis.describe_blocker(r.pid)
                )
            })
            .unwrap_or_default();
        parts.push(format!(
            "At the worst moment, {} UTC, {} waiting on locks{root}.",
            clock.at(worst.at),
            plural(worst.waiting, "session was", "sessions were")
        ));
    }
    for line in &story.actions {
        let a = &line.action;
        parts.push(format!(
            "At {} UTC the engineer asked pglocks to {} pid {}; result: {}.",
            clock.at(a.at),
            a.action,
            a.pid,
            a.result
        ));
    }
    parts.push(match (story.waits_ended, story.waiting_at_end) {
        (Some(t), 0) => {
            let after = story
                .actions
                .iter()
                .rev()
                .map(|l| l.action.at)
                .find(|&at| at <= t)
                .map(|at| format!(", {} after the last action", span(at, t)))
                .unwrap_or_default();
            format!(
                "No session was waiting any more at {} UTC{after}.",
                clock.at(t)
            )
        }
        (_, waiting) => format!(
            "When the recording stopped at {} UTC, {} still waiting.",
            clock.at(last),
            plural(waiting, "session was", "sessions were")
        ),
    });
    parts.join(" ")
}

fn provenance(out: &mut String, story: &Story, clock: &Clock) {
    let (Some(first), Some(last)) = (story.first, story.last) else {
        return;
    };
    let mut line = format!(
        "Recorded {} from {} to {} UTC, {}",
        first.format("%Y-%m-%d"),
        clock.at(first),
        clock.at(last),
        plural(story.polls, "poll", "polls")
    );
    if let Some(h) = &story.header {
        line.push_str(&format!(
            ", every {} by pglocks {} on {}",
            interval(h.interval_ms),
            h.pglocks,
            h.target
        ));
        if let Some(db) = &h.database {
            line.push_str(&format!(", database {db} only"));
        }
        if h.redacted {
            line.push_str(", with literals and client addresses redacted");
        }
    }
    let _ = writeln!(out, "{}.\n", escape(&line));
}

fn interval(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        age(ms as f64 / 1000.0)
    }
}

fn timeline(out: &mut String, story: &Story, clock: &Clock) {
    let several = !story.servers.is_empty();
    if several {
        let _ = writeln!(
            out,
            "## Timeline (UTC)\n\n| time | server | event |\n|---|---|---|"
        );
    } else {
        let _ = writeln!(out, "## Timeline (UTC)\n\n| time | event |\n|---|---|");
    }
    for e in &story.events {
        let text = match e.kind {
            EventKind::MigrationBlocked
            | EventKind::Peak
            | EventKind::Action
            | EventKind::Guard
            | EventKind::ServerStale => {
                format!("**{}**", cell(&e.text))
            }
            _ => cell(&e.text),
        };
        if several {
            let server = cell(e.server.as_deref().unwrap_or("-"));
            let _ = writeln!(out, "| {} | {server} | {text} |", clock.at(e.at));
        } else {
            let _ = writeln!(out, "| {} | {text} |", clock.at(e.at));
        }
    }
    out.push('\n');
}
